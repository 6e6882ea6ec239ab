//! `qdisc htb …` and `qdisc prio …` with their nested classes, leaf qdiscs and filters:
//! what they lower to (tc's hex class ids, tc's defaults) and the located errors.

use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::QdiscConfig;
use sim_stack::qdisc::filter::{Filter, Match};
use sim_stack::qdisc::htb::{HtbClassConfig, HtbConfig};
use sim_stack::qdisc::prio::PrioConfig;

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

/// The root qdisc of `host a { iface e { qdisc Q } }`.
fn qdisc(q: &str) -> QdiscConfig {
    let l = load(&format!("host a {{ iface e {{ qdisc {q} }} }}"));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    l.scenario.unwrap().nodes[0].ifaces[0].qdisc.clone()
}

/// The first error of `qdisc Q`: (line, column, message).
fn error(q: &str) -> (usize, usize, String) {
    let l = load(&format!("host a {{\n  iface e {{\n    qdisc {q}\n  }}\n}}"));
    let d = l
        .errors()
        .next()
        .unwrap_or_else(|| panic!("`{q}` is accepted"));
    let (line, col) = l.line_col(d).unwrap();
    (line, col, d.message.clone())
}

/// Column of `needle` in `qdisc Q` as `error` lays it out (line 3, after 4 spaces).
fn col(q: &str, needle: &str) -> usize {
    5 + "qdisc ".len() + q.find(needle).unwrap_or_else(|| panic!("{needle}"))
}

const MBIT: u64 = 1_000_000;

#[test]
fn nested_htb_lowers_to_the_tree_tc_builds() {
    let q = qdisc(
        "htb default 20 r2q 5 direct_qlen 64 {
           class 1:1 rate 100Mbit {
             class 1:10 rate 50Mbit ceil 100Mbit burst 15KiB cburst 3000B quantum 3000 prio 1 { qdisc fq_codel }
             class 20 rate 30Mbit ceil 100Mbit
           }
           filter u32 match ip dst 10.0.2.0/24 match ip dport 80 0xffff flowid 1:10
           filter match ip src 10.0.1.7 match ip protocol 17 match ip tos 0xb8 0xfc match ip sport 0x1f90 flowid 1:20
           filter match priority 6 flowid 10
         }",
    );
    let QdiscConfig::Htb(h) = q else {
        panic!("{q:?}")
    };
    let mut c10 = HtbClassConfig::new(0x10, Some(1), 50 * MBIT);
    c10.ceil_bps = Some(100 * MBIT);
    c10.burst = Some(15 * 1024);
    c10.cburst = Some(3000);
    c10.quantum = Some(3000);
    c10.prio = 1;
    c10.leaf = Some(QdiscConfig::FqCodel(Default::default()));
    let mut c20 = HtbClassConfig::new(0x20, Some(1), 30 * MBIT);
    c20.ceil_bps = Some(100 * MBIT);
    let net = |a: [u8; 4]| u32::from_be_bytes(a);
    let want = HtbConfig {
        // tc reads `default 20` as hex: class 1:20.
        default: 0x20,
        r2q: 5,
        direct_qlen: Some(64),
        classes: vec![HtbClassConfig::new(1, None, 100 * MBIT), c10, c20],
        filters: vec![
            Filter {
                matches: vec![
                    Match::Dst {
                        addr: net([10, 0, 2, 0]),
                        len: 24,
                    },
                    Match::Dport(80),
                ],
                flowid: 0x10,
            },
            Filter {
                matches: vec![
                    Match::Src {
                        addr: net([10, 0, 1, 7]),
                        len: 32,
                    },
                    Match::Protocol(17),
                    Match::Tos {
                        value: 0xb8,
                        mask: 0xfc,
                    },
                    Match::Sport(8080),
                ],
                flowid: 0x20,
            },
            Filter {
                matches: vec![Match::Priority(6)],
                flowid: 0x10,
            },
        ],
    };
    assert_eq!(*h, want);
}

#[test]
fn prio_bands_priomap_and_band_qdiscs() {
    let q = qdisc(
        "prio bands 4 priomap 3 2 1 0 { class 1:1 { qdisc netem delay 5ms } class 1:4 { qdisc pfifo } filter match ip dport 53 flowid 1:2 }",
    );
    let QdiscConfig::Prio(p) = q else {
        panic!("{q:?}")
    };
    let mut map = PrioConfig::default().priomap;
    map[..4].copy_from_slice(&[3, 2, 1, 0]);
    assert_eq!(p.bands, 4);
    assert_eq!(p.priomap, map, "tc keeps the default for entries not given");
    // A `pfifo` without a limit is the band's default, a pfifo of txqueuelen.
    assert_eq!(p.children.len(), 1);
    assert_eq!(p.children[0].0, 1);
    assert!(matches!(p.children[0].1, QdiscConfig::Netem(_)));
    assert_eq!(p.filters[0].flowid, 2);
    assert_eq!(qdisc("prio"), QdiscConfig::Prio(Box::default()));
}

#[test]
fn a_qdisc_value_that_is_an_expression_still_reads_as_one() {
    // `{…}` after a value is an `{expr}` continuation unless it opens a body.
    let l = load(
        "for i in 1..=1 { host h{i} { iface e { qdisc netem delay 10ms {i}ms } } }
         host a { iface e { qdisc htb { } } }",
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
}

#[test]
fn located_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "htb { class 1:10 rate 50Mbit ceil 10Mbit }",
            "10Mbit }",
            "the ceil of class 1:10 is below its rate",
        ),
        (
            "htb { class 1:10 rate 50Mbit filter match ip dport 80 flowid 1:11 }",
            "1:11",
            "no class 1:11 for this filter",
        ),
        (
            "htb default 30 { class 1:10 rate 50Mbit }",
            "30",
            "no class 1:30 for `default`",
        ),
        (
            "htb { class 1:10 rate 5Mbit class 10 rate 5Mbit }",
            "10 rate 5Mbit }",
            "class 1:10 is defined twice",
        ),
        (
            "tbf rate 1Mbit burst 10KB latency 50ms { class 1:10 rate 1Mbit }",
            "class",
            "`tbf` is classless: it has no classes or filters",
        ),
        (
            "htb bands 3",
            "bands",
            "`bands` is not a parameter of `htb`",
        ),
        (
            "htb { class 1:10 rate 5Mbit mtu 1500 }",
            "mtu",
            "`mtu` is not a parameter of an htb class",
        ),
        (
            "htb { class 1:10 rate 5Mbit filter match ip dst 10.0.0.0/33 flowid 1:10 }",
            "10.0.0.0/33",
            "",
        ),
        (
            "htb { class 1:10 rate 5Mbit filter match ip dport 70000 flowid 1:10 }",
            "70000",
            "`70000` is not a valid `dport`",
        ),
        (
            "htb { class 1:10 rate 5Mbit filter fw flowid 1:10 }",
            "fw",
            "an fw filter is `filter handle N fw flowid ID`",
        ),
        (
            "htb { class 1:10 rate 5Mbit filter handle 0x1g fw flowid 1:10 }",
            "0x1g",
            "`0x1g` is not a mark",
        ),
        (
            "htb { class 1:1 rate 5Mbit { class 1:10 rate 1Mbit } filter match ip dport 1 flowid 1:1 }",
            "1:1 }",
            "flowid 1:1 is an inner class",
        ),
        (
            "htb { class 2:10 rate 5Mbit }",
            "2:10",
            "`2:10` is not a class of this qdisc",
        ),
        (
            "htb { class 1:10 ceil 5Mbit }",
            "class",
            "class 1:10 needs a `rate`",
        ),
        (
            "prio { class 1:4 { qdisc pfifo } }",
            "1:4",
            "prio has no band 1:4",
        ),
        ("prio bands 2 priomap 1 5", "5", "out of range"),
        (
            "htb { class 1:10 rate 5Mbit { qdisc noqueue } }",
            "noqueue",
            "`noqueue` cannot be a class's qdisc",
        ),
    ];
    for (q, at, msg) in cases {
        let (line, c, m) = error(q);
        assert_eq!((line, c), (3, col(q, at)), "`{q}`: {m}");
        assert!(m.contains(msg), "`{q}`: {m}");
    }
}
