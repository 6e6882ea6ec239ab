//! `sim report` through the real binary: the page of a whole run holds every section (the
//! summary with the run's wall time, the topology drawing, plots, apps, drops, counters,
//! links, kernel paths, snapshots), is self-contained and the same for the same folder;
//! what is missing from a run is said, not failed on; bad input exits 2 with one message
//! and writes nothing. (scripts/check-report.sh opens the page in a real browser.)

mod common;

use std::fs;

use common::{listing, said, scenario, scratch, sim_in, stderr, stdout};

/// The text of the section `id` of a page.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = page[start..].find("</section>").expect("section end") + start;
    &page[start..end]
}

#[test]
fn the_flagship_page_has_every_section_and_is_self_contained() {
    let dir = scratch("report-flagship");
    let flagship = scenario("dns_then_http.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            flagship.to_str().unwrap(),
            "--trace",
            "path",
            "--snapshot",
            "tc",
            "--out",
            "run",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    // The run recorded its wall time and speed beside its outputs, and listed the file.
    let timing = common::json(&dir.join("run/run.json"));
    assert!(timing["wall_ns"].as_u64().unwrap() > 0);
    assert!(timing["events_per_s"].as_f64().unwrap() > 0.0);
    let params = common::json(&dir.join("run/params.json"));
    assert!(
        params["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "run.json")
    );

    let o = sim_in(&dir, &["report", "run"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(stdout(&o), "wrote run/report.html\n");
    assert!(stderr(&o).is_empty(), "{}", said(&o));
    let page = fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(
        !listing(&dir.join("run")).iter().any(|n| n.starts_with('.')),
        "no temporary file left"
    );

    let summary = section(&page, "summary");
    assert!(summary.contains("<b>dns_then_http</b>"), "{summary}");
    assert!(
        summary.contains("--trace path --snapshot tc --out run"),
        "{summary}"
    );
    assert!(summary.contains("<th>events</th><td>185</td>"), "{summary}");
    assert!(summary.contains("s of simulation"), "{summary}");
    assert!(summary.contains("× real time"), "{summary}");

    // The drawing: five nodes, four links labelled with the scenario's rate and delay.
    let topo = section(&page, "topology");
    assert!(topo.contains("<svg id=\"topology\""));
    assert_eq!(topo.matches("<g class=\"node\">").count(), 5, "{topo}");
    assert_eq!(topo.matches("<g class=\"link\">").count(), 4, "{topo}");
    assert_eq!(topo.matches(">10Gbit 1us<").count(), 4, "{topo}");
    for name in ["client", "r1", "sw0", "dns", "web"] {
        assert!(topo.contains(&format!(">{name}</text>")), "{name}");
    }
    assert!(
        !topo.contains("<g class=\"drops\">"),
        "the flagship drops nothing"
    );

    assert!(section(&page, "plots").contains("No samples: run with <code>--sample"));
    assert!(section(&page, "apps").contains("<td>curl</td>"));
    assert!(section(&page, "drops").contains("trace.txt shows no drop"));
    let counters = section(&page, "counters");
    assert!(counters.contains("id=\"node-r1\""));
    assert!(
        counters.contains("<td>ForwDatagrams</td><td class=\"n\">20</td>"),
        "{counters}"
    );
    assert!(section(&page, "network").contains("client.eth0 → r1.eth0"));
    // The DNS query's path, down to the device.
    let paths = section(&page, "paths");
    assert!(paths.contains("A? baidu.com."), "{paths}");
    assert!(paths.contains("<span class=\"fn l-transport\">udp_sendmsg</span>"));
    assert!(paths.contains("<span class=\"fn l-dev\">dev_hard_start_xmit</span>"));
    assert!(section(&page, "snapshots").contains("<code>snapshots/r1.tc.txt</code>"));
    assert!(section(&page, "snapshots").contains("qdisc pfifo_fast 0: root"));

    // Nothing is fetched: no script, no style sheet, image or font from elsewhere.
    for bad in ["<script", "<link", " src=", "@import", "url("] {
        assert!(!page.contains(bad), "{bad}");
    }
    // The same folder gives the same page, and --out writes it elsewhere.
    let o = sim_in(&dir, &["report", "run", "--out", "again.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(fs::read_to_string(dir.join("again.html")).unwrap(), page);
}

#[test]
fn a_bare_run_says_what_is_missing_and_how_to_get_it() {
    let dir = scratch("report-bare");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            ping.to_str().unwrap(),
            "--pcap",
            "none",
            "--trace",
            "none",
            "--out",
            "bare",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let o = sim_in(&dir, &["report", "bare", "--out", "bare.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let page = fs::read_to_string(dir.join("bare.html")).unwrap();
    assert!(section(&page, "drops").contains("--trace none"));
    assert!(section(&page, "paths").contains("--trace path"));
    assert!(section(&page, "snapshots").contains("--snapshot tc"));
    // Written where --out said, not into the run's folder.
    assert!(!dir.join("bare/report.html").exists());
}

#[test]
fn a_run_whose_scenario_changed_or_is_gone_says_so() {
    let dir = scratch("report-gone");
    let net = dir.join("q.net");
    fs::copy(scenario("ping.net"), &net).unwrap();
    let o = sim_in(&dir, &["run", "q.net", "--out", "q", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    // Changed since: drawn with the file's rates now, and said so.
    let mut text = fs::read_to_string(&net).unwrap();
    text.push_str("# edited after the run\n");
    fs::write(&net, text).unwrap();
    let o = sim_in(&dir, &["report", "q", "--out", "changed.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let page = fs::read_to_string(dir.join("changed.html")).unwrap();
    assert!(page.contains("q.net has changed since the run"), "{page}");
    assert_eq!(
        section(&page, "topology").matches(">100Mbit 1ms<").count(),
        2
    );

    fs::remove_file(&net).unwrap();
    let o = sim_in(&dir, &["report", "q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let page = fs::read_to_string(dir.join("q/report.html")).unwrap();
    let topo = section(&page, "topology");
    assert!(topo.contains("could not be loaded again"), "{topo}");
    assert_eq!(topo.matches("<g class=\"link\">").count(), 2);
    assert!(
        topo.contains("stroke-dasharray=\"5 4\"/>"),
        "dashed: rate unknown"
    );
}

#[test]
fn bad_folders_exit_2_with_one_message_and_write_nothing() {
    let dir = scratch("report-bad");
    fs::create_dir(dir.join("empty")).unwrap();
    fs::create_dir(dir.join("broken")).unwrap();
    fs::write(dir.join("broken/params.json"), "{}").unwrap();
    // A real run whose stats.json was cut short.
    let ping = scenario("ping.net");
    let o = sim_in(&dir, &["run", ping.to_str().unwrap(), "--out", "cut", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let stats = fs::read_to_string(dir.join("cut/stats.json")).unwrap();
    fs::write(dir.join("cut/stats.json"), &stats[..stats.len() / 2]).unwrap();
    for (args, says) in [
        (vec!["report", "nowhere"], "nowhere is not a folder"),
        (
            vec!["report", "empty"],
            "empty has no params.json: it is not the folder of a run",
        ),
        (
            vec!["report", "broken"],
            "broken/params.json is not a run's params.json",
        ),
        (
            vec!["report", "cut"],
            "cut/stats.json is not a run's stats.json",
        ),
    ] {
        let o = sim_in(&dir, &args);
        assert_eq!(o.status.code(), Some(2), "{}", said(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(says), "{err}");
        assert!(stdout(&o).is_empty());
    }
    assert_eq!(listing(&dir.join("empty")), Vec::<String>::new());
    assert_eq!(listing(&dir.join("broken")), ["params.json"]);
    assert!(!dir.join("cut/report.html").exists());
}
