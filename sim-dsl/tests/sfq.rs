//! `qdisc sfq …`: tc-sfq(8)'s parameters and located errors for what `sfq_change` refuses.

use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::QdiscConfig;
use sim_stack::qdisc::SfqConfig;

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

/// The sfq of `host a { iface e { qdisc sfq ARGS } }`.
fn sfq(args: &str) -> SfqConfig {
    let l = load(&format!("host a {{ iface e {{ qdisc sfq {args} }} }}"));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    match &l.scenario.unwrap().nodes[0].ifaces[0].qdisc {
        QdiscConfig::Sfq(c) => c.clone(),
        q => panic!("{q:?}"),
    }
}

#[test]
fn tc_sfq_parameters() {
    assert_eq!(sfq(""), SfqConfig::default());
    assert_eq!(
        sfq("perturb 10 quantum 1514 limit 127 divisor 1024 flows 128 depth 127 headdrop"),
        SfqConfig {
            limit: 127,
            quantum: 1514,
            divisor: 1024,
            flows: 128,
            depth: 127,
            perturb: 10,
            headdrop: true,
        }
    );
}

#[test]
fn bad_sfq_parameters_are_located() {
    let cases = [
        (
            "maxrate 5",
            "maxrate",
            "`maxrate` is not a parameter of `sfq`",
        ),
        ("divisor 1000", "1000", "power of two"),
        ("divisor 131072", "131072", "expected 0 to 65536"),
        ("quantum 2000000", "2000000", "expected 0 to 1048576"),
        ("perturb 9000000", "9000000", "expected 0 to 8589934"),
        ("limit 1", "1", "limit must not come to 1"),
        // depth 1 × flows 1 clamps the limit to 1: sfq_change's "invalid limit".
        ("depth 1 flows 1 limit 5", "5", "limit must not come to 1"),
    ];
    for (args, bad, msg) in cases {
        let l = load(&format!("host a {{ iface e {{ qdisc sfq {args} }} }}"));
        let d = l
            .errors()
            .next()
            .unwrap_or_else(|| panic!("`{args}` is accepted"));
        assert!(d.message.contains(msg), "`{args}`: {}", d.message);
        let col = l.line_col(d).unwrap().1;
        let prefix = "host a { iface e { qdisc sfq ".len();
        assert_eq!(
            col,
            prefix + args.rfind(bad).unwrap() + 1,
            "`{args}`: {}",
            d.message
        );
    }
}
