//! `sim check` through the real binary: it passes exactly what `sim run` accepts, and refuses
//! the rest with the place in the file, as `sim run` does.

mod common;

use std::path::Path;
use std::process::Output;

use common::{said, scratch, sim_in, stderr};

/// A scenario using every construct with a number in it; each `@NAME@` is a hole a case fills.
const BASE: &str = r#"end @END@
host a {
    iface eth0 { ip 10.0.0.2/24 @IFACE@ }
    route default via 10.0.0.1
    resolver 10.0.1.53
    netfilter input accept proto udp @NTH@
    sysctl @SYSCTL@
}
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24 }
}
host b { iface eth0 { ip 10.0.1.53/24 }  route default via 10.0.1.1 }
link a.eth0 -- r.eth0 { rate 1Gbit  delay @DELAY@ }
link r.eth1 -- b.eth0 { rate 1Gbit  delay 10us }
app b: dns_server { record x.com A 10.0.1.53 }
app b: http_server { port 80  body 4KiB  think_time @THINK@ }
app b: udp_sink { port 9 }
app a: curl "http://x.com/"
app a: udp_cbr { to 10.0.1.53:9  payload 100B  @PACE@ }
app a: ping 10.0.1.53 { interval @PING@ } @WHEN@
"#;

/// What each hole holds when a case does not fill it.
const HOLES: &[(&str, &str)] = &[
    ("END", "20ms"),
    ("IFACE", ""),
    ("NTH", "every 1"),
    ("SYSCTL", "net.ipv4.tcp_sack = 1"),
    ("DELAY", "10us"),
    ("THINK", "2ms"),
    ("PACE", "interval 1ms"),
    ("PING", "1ms"),
    ("WHEN", ""),
];

/// The scenario with `hole` filled by `text`, and the byte offset where `text` starts.
fn fill(hole: &str, text: &str) -> (String, usize) {
    let mut src = BASE.to_string();
    for (name, default) in HOLES {
        if *name != hole {
            src = src.replace(&format!("@{name}@"), default);
        }
    }
    let at = src.find(&format!("@{hole}@")).expect("a hole of BASE");
    (src.replace(&format!("@{hole}@"), text), at)
}

/// 1-based line and column of byte `offset` of `src`.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// What `sim check` and `sim run` must both do with a case.
enum Want {
    /// Accept it.
    Accept,
    /// Refuse it with an error at the first `needle` of the filled text, whose message
    /// contains `message`.
    Refuse {
        needle: &'static str,
        message: &'static str,
    },
}
use Want::{Accept, Refuse};

const fn refuse(needle: &'static str, message: &'static str) -> Want {
    Refuse { needle, message }
}

/// Extreme values for every numeric parameter: 0, the largest values the fields hold, one
/// more, and times near the longest a scenario may use (1000000h).
fn cases() -> Vec<(&'static str, &'static str, Want)> {
    vec![
        ("END", "1000000h", Accept),
        ("END", "1000001h", refuse("1000001h", "1000000h")),
        // tbf
        (
            "IFACE",
            "qdisc tbf rate 10Mbit burst 0B latency 50ms",
            refuse("0B", "burst"),
        ),
        (
            "IFACE",
            "qdisc tbf rate 0bit burst 32KiB latency 50ms",
            refuse("0bit", "rate"),
        ),
        (
            "IFACE",
            "qdisc tbf rate 10Mbit burst 4GiB latency 50ms",
            refuse("4GiB", "burst"),
        ),
        (
            "IFACE",
            "qdisc tbf rate 10Mbit burst 4294967295B latency 50ms",
            Accept,
        ),
        (
            "IFACE",
            "qdisc tbf rate 18446744073709551615bit burst 1B latency 1000000h",
            Accept,
        ),
        ("IFACE", "qdisc tbf rate 1bit burst 1B latency 0s", Accept),
        (
            "IFACE",
            "qdisc tbf rate 10Mbit burst 32KiB latency 1000001h",
            refuse("1000001h", "1000000h"),
        ),
        // fq_codel
        (
            "IFACE",
            "qdisc fq_codel quantum 4294967295",
            refuse("4294967295", "quantum"),
        ),
        ("IFACE", "qdisc fq_codel quantum 1048576", Accept),
        ("IFACE", "qdisc fq_codel quantum 1", Accept),
        ("IFACE", "qdisc fq_codel flows 0", refuse("0", "flows")),
        ("IFACE", "qdisc fq_codel flows 65536", Accept),
        (
            "IFACE",
            "qdisc fq_codel flows 65537",
            refuse("65537", "flows"),
        ),
        (
            "IFACE",
            "qdisc fq_codel memory_limit 4GiB",
            refuse("4GiB", "memory_limit"),
        ),
        ("IFACE", "qdisc fq_codel memory_limit 4294967295B", Accept),
        (
            "IFACE",
            "qdisc fq_codel limit 4294967295 target 1000000h interval 1000000h",
            Accept,
        ),
        (
            "IFACE",
            "qdisc fq_codel interval 1000001h",
            refuse("1000001h", "1000000h"),
        ),
        // pfifo and the interface
        ("IFACE", "qdisc pfifo limit 4294967295", Accept),
        ("IFACE", "qdisc pfifo limit 0", refuse("0", "out of range")),
        (
            "IFACE",
            "txqueuelen 4294967295  tx_ring 65536  mtu 65535",
            Accept,
        ),
        ("IFACE", "txqueuelen 0", Accept),
        ("IFACE", "tx_ring 0", refuse("0", "out of range")),
        // netfilter `every N packet P`
        ("NTH", "every 0", refuse("0", "every")),
        ("NTH", "every 5 packet 7", refuse("7", "every")),
        ("NTH", "every 4294967295 packet 4294967294", Accept),
        (
            "NTH",
            "every 4294967296",
            refuse("4294967296", "out of range"),
        ),
        ("NTH", "packet 0", refuse("packet", "every")),
        // times in sysctls
        ("SYSCTL", "net.ipv4.tcp_fin_timeout = 3600000000", Accept),
        (
            "SYSCTL",
            "net.ipv4.tcp_fin_timeout = 3600000001",
            refuse("3600000001", "1000000h"),
        ),
        (
            "SYSCTL",
            "net.ipv4.neigh.default.base_reachable_time_ms = 18446744073709551615ns",
            refuse("18446744073709551615ns", "1000000h"),
        ),
        (
            "SYSCTL",
            "net.ipv4.neigh.default.retrans_time_ms = 1000000h",
            Accept,
        ),
        // link, app times
        ("DELAY", "0s", Accept),
        ("DELAY", "1000000h", Accept),
        (
            "DELAY",
            "18446744073709551615ns",
            refuse("18446744073709551615ns", "1000000h"),
        ),
        ("THINK", "1000000h", Accept),
        (
            "THINK",
            "18446744073709551615ns",
            refuse("18446744073709551615ns", "1000000h"),
        ),
        ("PACE", "interval 1000000h", Accept),
        (
            "PACE",
            "interval 18446744073709551615ns",
            refuse("18446744073709551615ns", "1000000h"),
        ),
        ("PACE", "rate 1bit", Accept),
        ("PACE", "rate 18446744073709551615bit", Accept),
        ("PING", "1000000h", Accept),
        ("PING", "1000001h", refuse("1000001h", "1000000h")),
        ("WHEN", "at 1000000h", Accept),
        ("WHEN", "at 1ms until 1000000h", Accept),
        ("WHEN", "at 1000001h", refuse("1000001h", "1000000h")),
        ("WHEN", "until 1000001h", refuse("1000001h", "1000000h")),
    ]
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// `sim check` and `sim run` (the first 20 ms, nothing written but the folder) of `file`.
fn check_and_run(dir: &Path, file: &str) -> (Output, Output) {
    let check = sim_in(dir, &["check", file]);
    let run = sim_in(
        dir,
        &[
            "run", file, "--until", "20ms", "--pcap", "none", "--trace", "none", "--quiet",
            "--out", "out",
        ],
    );
    (check, run)
}

#[test]
fn check_passes_exactly_what_run_accepts_with_the_same_located_errors() {
    let dir = scratch("agree");
    let mut wrong = Vec::new();
    for (hole, text, want) in cases() {
        let (src, at) = fill(hole, text);
        std::fs::write(dir.join("case.net"), &src).unwrap();
        let (check, run) = check_and_run(&dir, "case.net");
        let case = format!("{hole} = `{text}`");
        match want {
            Accept => {
                if code(&check) != Some(0) || code(&run) != Some(0) {
                    wrong.push(format!(
                        "{case}: both should accept\ncheck: {}\nrun: {}",
                        said(&check),
                        said(&run)
                    ));
                }
            }
            Refuse { needle, message } => {
                let (line, col) = line_col(&src, at + text.find(needle).expect("needle"));
                let place = format!("case.net:{line}:{col}: error: ");
                let located = |o: &Output| {
                    code(o) == Some(2)
                        && stderr(o)
                            .lines()
                            .any(|l| l.starts_with(&place) && l.contains(message))
                };
                if !located(&check) || !located(&run) {
                    wrong.push(format!(
                        "{case}: both should refuse with `{place}…{message}…`\ncheck: {}\nrun: {}",
                        said(&check),
                        said(&run)
                    ));
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir.join("out"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// `sim check`, `sim run` and `sim sweep` of `file` in `dir`.
fn every_command(dir: &Path, file: &str) -> [(&'static str, Output); 3] {
    [
        ("check", sim_in(dir, &["check", file])),
        (
            "run",
            sim_in(dir, &["run", file, "--quiet", "--out", "out"]),
        ),
        (
            "sweep",
            sim_in(
                dir,
                &["sweep", file, "--vary", "seed=1..2", "--out", "rows.csv"],
            ),
        ),
    ]
}

/// Input that is not text: each command exits 2 with one error at the first bad byte, saying
/// what it found, and writes nothing.
#[test]
fn input_that_is_not_text_is_refused_at_its_first_bad_byte() {
    let dir = scratch("not-text");
    let pcap_header: &[u8] = &[
        0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    ];
    let cases: &[(&str, &[u8], &str, &str)] = &[
        // Latin-1 `é` in a comment.
        (
            "latin1.net",
            b"host a { iface eth0 { ip 10.0.0.1/24 } }\n# caf\xe9 au lait\n",
            "latin1.net:2:6: error: ",
            "byte 0xe9",
        ),
        // A UTF-8 character cut short at the end of the file.
        (
            "cut.net",
            b"host a { iface eth0 { ip 10.0.0.1/24 } }\n# \xe2\x82",
            "cut.net:2:3: error: ",
            "0xe2 0x82",
        ),
        // A capture file given as a scenario.
        (
            "capture.net",
            pcap_header,
            "capture.net:1:1: error: ",
            "byte 0xd4",
        ),
        // A NUL byte in otherwise valid text.
        (
            "nul.net",
            b"host a\x00 { iface eth0 { ip 10.0.0.1/24 } }\n",
            "nul.net:1:7: error: ",
            "NUL",
        ),
        // Through an include: the place is in the included file.
        (
            "main.net",
            b"include \"latin1.net\"\n",
            "latin1.net:2:6: error: ",
            "byte 0xe9",
        ),
    ];
    for (name, bytes, ..) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    for (name, _, place, found) in cases {
        for (command, o) in every_command(&dir, name) {
            let err = stderr(&o);
            let errors: Vec<&str> = err.lines().filter(|l| l.contains("error: ")).collect();
            assert_eq!(code(&o), Some(2), "{command} {name}: {}", said(&o));
            assert!(
                errors.len() == 1 && errors[0].starts_with(place) && errors[0].contains(found),
                "{command} {name}: want one error `{place}…{found}…`, got {}",
                said(&o)
            );
            assert!(!dir.join("out").exists() && !dir.join("rows.csv").exists());
        }
    }
}

/// A param whose default cannot be represented is an error at its definition, used or not;
/// so is a `--set` value that cannot.
#[test]
fn a_param_that_cannot_be_represented_is_an_error_where_it_is_defined() {
    let dir = scratch("param");
    let defs: &[(&str, &str)] = &[
        (
            "param rate = 99999999999999999999999999999999999Gbit",
            "too large",
        ),
        ("param size = 99999999999999999999TiB", "too large"),
        ("param wait = 99999999999999999999h", "too large"),
        ("param n = 99999999999999999999", "too large"),
        ("param half = 1.5bit", "whole number of bits"),
        ("param tiny = 0.5ns", "1 ns"),
        ("param share = 200%", "100%"),
        ("param addr = 10.0.0.300", "10.0.0.300"),
        ("param net = 10.0.0.0/33", "33"),
        ("param long = 2000000h", "1000000h"),
    ];
    let mut src = String::new();
    for (def, _) in defs {
        src.push_str(def);
        src.push('\n');
    }
    src.push_str(
        "host a { iface eth0 { ip 10.0.0.1/24 } }\nhost b { iface eth0 { ip 10.0.0.2/24 } }\n",
    );
    src.push_str("link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }\n");
    std::fs::write(dir.join("params.net"), &src).unwrap();
    for args in [
        &["check", "params.net"][..],
        &["run", "params.net", "--quiet", "--out", "out"][..],
    ] {
        let o = sim_in(&dir, args);
        let err = stderr(&o);
        assert_eq!(code(&o), Some(2), "{}", said(&o));
        for (line, (def, message)) in defs.iter().enumerate() {
            let col = def.find(" = ").unwrap() + 4;
            let place = format!("params.net:{}:{col}: error: ", line + 1);
            assert!(
                err.lines()
                    .any(|l| l.starts_with(&place) && l.contains(message)),
                "{:?}: want `{place}…{message}…` for `{def}`, got {}",
                args[0],
                said(&o)
            );
        }
        assert!(
            err.contains(&format!("has {} errors", defs.len())),
            "{}",
            said(&o)
        );
    }
    // A `--set` that cannot be represented, for a param that can.
    std::fs::write(
        dir.join("set.net"),
        "param rate = 1Gbit\nhost a { iface eth0 { ip 10.0.0.1/24 } }\n",
    )
    .unwrap();
    let o = sim_in(
        &dir,
        &[
            "check",
            "set.net",
            "--set",
            "rate=99999999999999999999999Gbit",
        ],
    );
    assert_eq!(code(&o), Some(2), "{}", said(&o));
    assert!(
        stderr(&o).contains("error: --set rate=99999999999999999999999Gbit: param type mismatch"),
        "{}",
        said(&o)
    );
}
