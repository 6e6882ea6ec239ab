//! `sim plot` on a real run, through the binary: a dumbbell sampled and captured gives
//! every figure `docs/plots.md` lists, each an SVG document that names its axes, and a PNG
//! when asked; drawing again gives the same bytes.

mod common;

use std::fs;

use common::{listing, said, scenario, scratch, sim_in, stdout};

#[test]
fn a_sampled_dumbbell_gives_every_figure() {
    let dir = scratch("plot");
    let file = scenario("bench/dumbbell_tcp.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "--set",
            "pairs=2",
            "--set",
            "bottleneck_rate=20Mbit",
            "--until",
            "1s",
            "--pcap",
            "S0,S1",
            "--trace",
            "none",
            "--sample",
            "10ms",
            "--out",
            "o",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let o = sim_in(&dir, &["plot", "o", "--format", "svg,png"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let names = listing(&dir.join("o/plots"));
    for want in [
        "cwnd.svg",
        "rtt.svg",
        "throughput.svg",
        "qdisc-A-eth0.svg",
        "link-util.svg",
        "goodput.svg",
        "cwnd.png",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("tcpseq-S") && n.ends_with(".svg")),
        "{names:?}"
    );
    for n in names.iter().filter(|n| n.ends_with(".svg")) {
        let svg = fs::read_to_string(dir.join("o/plots").join(n)).unwrap();
        assert!(
            svg.trim_start().starts_with("<svg") || svg.starts_with("<?xml"),
            "{n}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{n}");
        assert!(svg.contains("<text"), "{n}: no axis labels");
    }
    let cwnd = fs::read_to_string(dir.join("o/plots/cwnd.svg")).unwrap();
    assert!(cwnd.contains("packets"), "cwnd's axis says its unit");
    let png = fs::read(dir.join("o/plots/cwnd.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The files printed are the files written; drawing again gives the same bytes.
    let printed = stdout(&o);
    assert_eq!(printed.lines().count(), names.len(), "{printed}");
    let again = sim_in(&dir, &["plot", "o", "--format", "svg,png"]);
    assert_eq!(again.status.code(), Some(0), "{}", said(&again));
    assert_eq!(fs::read(dir.join("o/plots/cwnd.png")).unwrap(), png);
}
