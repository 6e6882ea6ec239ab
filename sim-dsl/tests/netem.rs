//! `qdisc netem …`: tc-netem(8)'s parameters, defaults and checks, and located errors.

use sim_core::SimDuration;
use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::{NetemConfig, NetemDist, NetemLoss, NetemRate, NetemSlot, QdiscConfig};

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

/// The netem of `host a { iface e { qdisc netem ARGS } }`.
fn netem(args: &str) -> NetemConfig {
    let l = load(&format!(
        "host a {{ iface e {{ qdisc netem {args}  mtu 1500 }} }}"
    ));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let s = l.scenario.unwrap();
    match &s.nodes[0].ifaces[0].qdisc {
        QdiscConfig::Netem(c) => (**c).clone(),
        q => panic!("{q:?}"),
    }
}

/// The first error of `qdisc netem ARGS`: (column, message).
fn error(args: &str) -> (usize, String) {
    let l = load(&format!("host a {{ iface e {{ qdisc netem {args} }} }}"));
    let d = l
        .errors()
        .next()
        .unwrap_or_else(|| panic!("`{args}` is accepted"));
    (l.line_col(d).unwrap().1, d.message.clone())
}

/// `get_percent`: `rint(p / 100 × UINT32_MAX)`.
fn pct(p: f64) -> u32 {
    (p / 100.0 * f64::from(u32::MAX)).round_ties_even() as u32
}

#[test]
fn tc_netem_examples() {
    let ms = SimDuration::from_millis;
    assert_eq!(netem(""), NetemConfig::default());
    assert_eq!(netem("").limit, 1000);
    let c = netem(
        "delay 100ms 10ms 25% distribution normal loss random 1% 25% duplicate 1% corrupt 0.1% reorder 25% 50% gap 5 rate 10Mbit limit 2000",
    );
    assert_eq!(
        (c.latency, c.jitter, c.delay_corr),
        (ms(100), ms(10), pct(25.0))
    );
    assert_eq!(c.distribution, NetemDist::Normal);
    assert_eq!(
        c.loss,
        NetemLoss::Random {
            p: pct(1.0),
            corr: pct(25.0)
        }
    );
    assert_eq!((c.duplicate, c.corrupt), ((pct(1.0), 0), (pct(0.1), 0)));
    assert_eq!(
        (c.reorder, c.gap, c.limit),
        ((pct(25.0), pct(50.0)), 5, 2000)
    );
    assert_eq!(c.rate.unwrap().bytes_per_sec, 1_250_000);
    // Order-free, tc's other spellings, the old loss syntax, `reorder` alone means gap 1.
    let c = netem("reorder 10% drop 3% latency 20ms");
    assert_eq!((c.latency, c.gap), (ms(20), 1));
    assert_eq!(
        c.loss,
        NetemLoss::Random {
            p: pct(3.0),
            corr: 0
        }
    );
    // tc's defaults for the Markov models.
    assert_eq!(
        netem("loss state 5%").loss,
        NetemLoss::State {
            p13: pct(5.0),
            p31: u32::MAX - pct(5.0),
            p32: 0,
            p23: u32::MAX,
            p14: 0
        }
    );
    assert_eq!(
        netem("loss gemodel 1% 10% 70% 0.1%").loss,
        NetemLoss::GilbertElliott {
            p: pct(1.0),
            r: pct(10.0),
            h: u32::MAX - pct(70.0),
            k1: pct(0.1)
        }
    );
    assert_eq!(
        netem("rate 1Mbit 20 48 -5").rate,
        Some(NetemRate {
            bytes_per_sec: 125_000,
            packet_overhead: 20,
            cell_size: 48,
            cell_overhead: -5
        })
    );
    assert_eq!(
        netem("slot 10ms 20ms packets 5 bytes 1500B").slot,
        Some(NetemSlot {
            min_delay: ms(10),
            max_delay: ms(20),
            max_packets: 5,
            max_bytes: 1500
        })
    );
    assert!(netem("loss 1% ecn").ecn);
}

#[test]
fn bad_netem_parameters_are_located() {
    // (arguments, the offending text, what the message says); the error points at the
    // offending text.
    let cases: &[(&str, &str, &str)] = &[
        ("loss 150%", "150%", "not between 0% and 100%"),
        ("loss 1", "1", "not a percentage"),
        ("delay 10ms 1ms 2x", "2x", "not a percentage"),
        (
            "delay 10ms distribution normal",
            "normal",
            "no latency and jitter",
        ),
        (
            "delay 10ms 1ms distribution gaussian",
            "gaussian",
            "unknown distribution `gaussian`",
        ),
        (
            "reorder 5%",
            "5%",
            "reordering not possible without specifying some delay",
        ),
        (
            "delay 1ms gap 5",
            "5",
            "gap specified without reorder probability",
        ),
        ("ecn", "ecn", "ecn requested without loss model"),
        ("loss markov 1%", "markov", "unknown loss model `markov`"),
        ("duplicate 1% 2% 3%", "3%", "at most 2 values"),
        ("burst 5", "burst", "`burst` is not a parameter of `netem`"),
        ("packets 5", "5", "belongs to `slot`"),
        ("rate 0bit", "0bit", "rate must be at least"),
        ("slot distribution", "distribution", "not modeled"),
        ("loss state 1% 2% 3% 4% 5% 6%", "6%", "at most 6 values"),
    ];
    for (args, bad, msg) in cases {
        let (col, m) = error(args);
        assert!(m.contains(msg), "`{args}`: {m}");
        let prefix = "host a { iface e { qdisc netem ".len();
        assert_eq!(col, prefix + args.rfind(bad).unwrap() + 1, "`{args}`: {m}");
    }
}
