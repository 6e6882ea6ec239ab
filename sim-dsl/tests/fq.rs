//! `qdisc fq …`: tc-fq(8)'s parameters, their units as tc sends them, and located errors.

use sim_core::SimDuration;
use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::QdiscConfig;
use sim_stack::qdisc::FqConfig;

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

/// The fq of `host a { iface e { qdisc fq ARGS } }`.
fn fq(args: &str) -> FqConfig {
    let l = load(&format!(
        "host a {{ iface e {{ qdisc fq {args}  mtu 1500 }} }}"
    ));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    match &l.scenario.unwrap().nodes[0].ifaces[0].qdisc {
        QdiscConfig::Fq(c) => (**c).clone(),
        q => panic!("{q:?}"),
    }
}

#[test]
fn tc_fq_parameters() {
    assert_eq!(fq(""), FqConfig::default());
    let c = fq(
        "limit 2000 flow_limit 50 quantum 3000 initial_quantum 20000 maxrate 100Mbit \
                buckets 4096 orphan_mask 255 nopacing refill_delay 10ms \
                low_rate_threshold 1Mbit ce_threshold 2ms horizon 1s horizon_cap",
    );
    assert_eq!(
        c,
        FqConfig {
            limit: 2000,
            flow_limit: 50,
            quantum: Some(3000),
            initial_quantum: Some(20000),
            // Bytes per second, as tc sends them.
            maxrate: Some(12_500_000),
            buckets_log: 12,
            orphan_mask: 255,
            pacing: false,
            refill_delay: SimDuration::from_millis(10),
            low_rate_threshold: 125_000,
            ce_threshold: Some(SimDuration::from_millis(2)),
            horizon: SimDuration::from_secs(1),
            horizon_drop: false,
        }
    );
}

#[test]
fn bad_fq_parameters_are_located() {
    let cases = [
        ("flows 5", "flows", "`flows` is not a parameter of `fq`"),
        ("buckets 1", "1", "buckets must be between"),
        (
            "initial_quantum 2000000",
            "2000000",
            "initial_quantum must be at most",
        ),
        ("pacing nopacing", "nopacing", "contradict"),
        ("maxrate 40Gbit", "40Gbit", "at most 34.3Gbit"),
        ("horizon 2h", "2h", "at most 4294967295us"),
    ];
    for (args, bad, msg) in cases {
        let l = load(&format!("host a {{ iface e {{ qdisc fq {args} }} }}"));
        let d = l
            .errors()
            .next()
            .unwrap_or_else(|| panic!("`{args}` is accepted"));
        assert!(d.message.contains(msg), "`{args}`: {}", d.message);
        let col = l.line_col(d).unwrap().1;
        let prefix = "host a { iface e { qdisc fq ".len();
        assert_eq!(
            col,
            prefix + args.rfind(bad).unwrap() + 1,
            "`{args}`: {}",
            d.message
        );
    }
}
