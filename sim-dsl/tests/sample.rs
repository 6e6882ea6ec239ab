//! `sample INTERVAL { tcp …; qdisc …; link …; app … }`: what it lowers to, and its located
//! errors.

use sim_core::SimDuration;
use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::{IfaceId, LinkEnd, NodeId, SampleConfig};

/// A host, a router with two interfaces, a switch.
const NET: &str = "
host a { iface eth0 { ip 10.0.0.1/24 } }
router r { iface eth0 { ip 10.0.0.2/24 }  iface eth1 { ip 10.0.1.1/24 } }
host b { iface eth0 { ip 10.0.1.2/24 } }
switch sw
link a.eth0 -- r.eth0 { rate 1Gbit delay 1ms }
link r.eth1 -- sw { rate 1Gbit delay 1ms }
link sw -- b.eth0 { rate 1Gbit delay 1ms }
";

fn load(sample: &str) -> Loaded {
    load_str("t.net", &format!("{NET}{sample}\n"), &Options::default())
}

fn sample(s: &str) -> Option<SampleConfig> {
    let l = load(s);
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    l.scenario.unwrap().sample
}

/// The first error: (line, column, message); the statement is on line 9.
fn error(s: &str) -> (usize, usize, String) {
    let l = load(s);
    let d = l
        .errors()
        .next()
        .unwrap_or_else(|| panic!("`{s}` is accepted"));
    let (line, col) = l.line_col(d).unwrap();
    (line, col, d.message.clone())
}

fn end(node: u32, iface: u32) -> LinkEnd {
    LinkEnd {
        node: NodeId(node),
        iface: IfaceId(iface),
    }
}

#[test]
fn without_a_statement_nothing_is_sampled() {
    assert_eq!(sample(""), None);
}

#[test]
fn without_a_body_everything_is_sampled() {
    assert_eq!(
        sample("sample 10ms"),
        Some(SampleConfig::everything(SimDuration::from_millis(10)))
    );
}

#[test]
fn a_body_chooses_kinds_and_objects() {
    let c = sample("sample 1ms { tcp a; qdisc r.eth1 a; link r; }").unwrap();
    assert_eq!(c.interval, SimDuration::from_millis(1));
    assert_eq!(c.tcp, Some(vec![NodeId(0)]));
    // `a` alone: all its interfaces, after r.eth1 as written.
    assert_eq!(c.qdisc, Some(vec![end(1, 1), end(0, 0)]));
    assert_eq!(c.link, Some(vec![end(1, 0), end(1, 1)]));
    assert_eq!(c.app, None);
    // `;` is optional; a kind without targets takes all; switch ports are link ends.
    let c = sample("sample 250us {\n  app\n  link sw.p2\n}").unwrap();
    assert_eq!(c.interval, SimDuration::from_micros(250));
    assert_eq!(c.app, Some(vec![]));
    assert_eq!(c.link, Some(vec![end(3, 1)]));
    assert_eq!((c.tcp, c.qdisc), (None, None));
}

#[test]
fn params_and_expressions_work_in_the_interval() {
    let l = load_str(
        "t.net",
        &format!("param every = 5ms\n{NET}sample $every {{ tcp }}\n"),
        &Options::default(),
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    assert_eq!(
        l.scenario.unwrap().sample.unwrap().interval,
        SimDuration::from_millis(5)
    );
}

#[test]
fn an_empty_body_records_nothing_and_says_so() {
    let l = load("sample 1ms { }");
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    assert!(
        l.render_diagnostics()
            .contains("warning: `sample` records nothing"),
        "{}",
        l.render_diagnostics()
    );
    let c = l.scenario.unwrap().sample.unwrap();
    assert_eq!((c.tcp, c.qdisc, c.link, c.app), (None, None, None, None));
}

#[test]
fn located_errors() {
    let (l, c, m) = error("sample 0ms");
    assert_eq!((l, c), (9, 8), "{m}");
    assert!(m.contains("longer than 0s"), "{m}");
    let (l, c, m) = error("sample 1ms { qdisc r.eth9 }");
    assert_eq!((l, c), (9, 22), "{m}");
    assert_eq!(m, "unknown interface `r.eth9`");
    let (l, c, m) = error("sample 1ms { tcp x }");
    assert_eq!((l, c), (9, 18), "{m}");
    assert_eq!(m, "unknown node `x`");
    let (_, c, m) = error("sample 1ms { tcp a.eth0 }");
    assert_eq!(c, 20, "{m}");
    assert!(m.contains("whole nodes"), "{m}");
    let (_, c, m) = error("sample 1ms { qdisc sw }");
    assert_eq!(c, 20, "{m}");
    assert!(m.contains("is a switch"), "{m}");
    let (_, c, m) = error("sample 1ms { tcp a; tcp b }");
    assert_eq!(c, 21, "{m}");
    assert!(m.contains("listed twice"), "{m}");
    let (l, _, m) = error("sample 1ms\nsample 2ms");
    assert_eq!(l, 10, "{m}");
    assert!(m.contains("written twice"), "{m}");
    let (_, c, m) = error("sample 1ms { udp }");
    assert_eq!(c, 14, "{m}");
    let (_, _, m) = error("for i in 0..2 { sample 1ms }");
    assert!(m.contains("inside a loop"), "{m}");
}
