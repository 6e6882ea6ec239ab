//! `tc -s qdisc show` / `tc -s class show` of whole runs (sim-stack's `qdisc::tc_show`, what
//! `sim run --snapshot tc` writes): every counter the text shows equals the one stats.json
//! reports for the same qdisc or class, on the RED/ECN study of scenarios/tc and on an htb
//! bottleneck with an explicit leaf, where the counters are far from zero.

mod common;

use std::collections::BTreeMap;

use common::{load, run_scenario};
use sim_stack::config::QdiscConfig;
use sim_stack::qdisc::htb::{HtbClassConfig, HtbConfig};
use sim_stack::qdisc::tc_show::{FIRST_AUTO_HANDLE, TcTree, sprint_size};
use sim_stack::world::World;

/// The counters of one `qdisc …` or `class …` block of tc's text.
#[derive(Debug, Default, PartialEq, Eq)]
struct Block {
    head: String,
    bytes: u64,
    packets: u64,
    drops: u64,
    overlimits: u64,
    requeues: u64,
    backlog: String,
    qlen: u64,
    /// `name value` pairs of the lines after (xstats).
    xstats: BTreeMap<String, i64>,
}

/// Splits tc's output into its qdisc/class blocks and reads their counters.
fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in text.lines() {
        if line.starts_with("qdisc ") || line.starts_with("class ") {
            out.push(Block {
                head: line.to_string(),
                ..Block::default()
            });
            continue;
        }
        let b = out.last_mut().expect("a block first");
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.first() == Some(&"Sent") {
            let num = |s: &str| s.trim_end_matches([',', ')']).parse::<u64>().unwrap();
            assert_eq!(
                (w[2], w[4], w[5], w[7], w[9]),
                ("bytes", "pkt", "(dropped", "overlimits", "requeues"),
                "{line}"
            );
            b.bytes = num(w[1]);
            b.packets = num(w[3]);
            b.drops = num(w[6]);
            b.overlimits = num(w[8]);
            b.requeues = num(w[10]);
        } else if w.first() == Some(&"backlog") {
            b.backlog = w[1].to_string();
            b.qlen = w[2].trim_end_matches('p').parse().unwrap();
            assert_eq!(w[4].parse::<u64>().unwrap(), b.requeues, "{line}");
        } else {
            // `marked 6 early 0 …`, `lended: 0 borrowed: 0 …`, `tokens: 2000 …`.
            for pair in w.chunks(2) {
                if let [k, v] = pair
                    && let Ok(v) = v.parse()
                {
                    b.xstats.insert(k.trim_end_matches(':').to_string(), v);
                }
            }
        }
    }
    out
}

/// The trees of a node's devices as the snapshot builds them (handles in config order).
fn show(
    world: &World,
    sc: &sim_stack::config::Scenario,
    node: &str,
) -> Vec<(String, String, String, bool)> {
    let n = world.nodes.iter().find(|n| n.name == node).unwrap();
    let cfg = sc.node(sc.node_by_name(node).unwrap());
    let mut auto = FIRST_AUTO_HANDLE;
    cfg.ifaces
        .iter()
        .map(|i| {
            let d = (0..n.devs.len())
                .filter_map(|k| n.devs.get(k))
                .find(|d| d.name == i.name)
                .unwrap();
            let t = TcTree::new(&d.qdisc, &i.qdisc, &mut auto);
            (
                i.name.clone(),
                t.qdisc_show(),
                t.class_show(),
                t.root_is_classful(),
            )
        })
        .collect()
}

#[test]
fn red_ecn_counters_equal_stats_json() {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tc/red_ecn.net"),
    )
    .unwrap();
    let sc = load(&src, &[]);
    let ran = run_scenario(&sc, None);
    let mut marked = 0;
    for node in ["a", "r", "b"] {
        for (iface, qdiscs, _, classful) in show(&ran.world, &sc, node) {
            assert!(!classful);
            let st = &ran.stats.nodes[node].ifaces[&iface].qdisc;
            let b = blocks(&qdiscs);
            assert_eq!(b.len(), 1, "{qdiscs}");
            let b = &b[0];
            let s = &st.stats;
            assert_eq!(
                (
                    b.bytes,
                    b.packets,
                    b.drops,
                    b.overlimits,
                    b.requeues,
                    b.qlen
                ),
                (
                    s.bytes,
                    s.packets,
                    s.drops,
                    s.overlimits,
                    s.requeues,
                    s.qlen
                ),
                "{node} {iface}: {qdiscs}"
            );
            assert_eq!(b.backlog, sprint_size(s.backlog));
            assert!(s.packets > 0, "{node} {iface} sent nothing");
            if let Some(red) = &st.red {
                assert!(
                    b.head.starts_with("qdisc red 8001: root refcnt 2 limit 400000b min 30000b max 90000b ecn adaptive "),
                    "{}",
                    b.head
                );
                let x = |k: &str| b.xstats[k] as u64;
                assert_eq!(
                    (x("marked"), x("early"), x("pdrop"), x("other")),
                    (red.marked, red.early, red.pdrop, red.other)
                );
                marked += red.marked;
            } else {
                assert!(b.head.starts_with("qdisc pfifo_fast 0: root refcnt 2 "));
            }
        }
    }
    assert!(
        marked > 0,
        "RED marked nothing: the test would show nothing"
    );
}

const HTB: &str = r#"
end 2s
seed 3
host a { iface eth0 { ip 10.0.0.2/24 }  route default via 10.0.0.1 }
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24 }
}
host b { iface eth0 { ip 10.0.1.2/24 }  route default via 10.0.1.1 }
link a.eth0 -- r.eth0 { rate 100Mbit  delay 1ms }
link r.eth1 -- b.eth0 { rate 100Mbit  delay 5ms }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.1.2:9  bytes unlimited } at 10ms
"#;

#[test]
fn htb_class_counters_equal_stats_json() {
    let mut sc = load(HTB, &[]);
    // `tc qdisc add dev eth1 root handle 1: htb default 10`, 1:1 at 10 Mbit/s, 1:10 at 4
    // borrowing up to 10 with `handle 10: pfifo limit 30`, 1:20 at 6 (unused).
    let r = sc.node_by_name("r").unwrap();
    let class = |id, parent, rate: u64, ceil| HtbClassConfig {
        ceil_bps: Some(ceil),
        ..HtbClassConfig::new(id, parent, rate)
    };
    sc.nodes[r.0 as usize].ifaces[1].qdisc = QdiscConfig::Htb(Box::new(HtbConfig {
        default: 0x10,
        classes: vec![
            class(1, None, 10_000_000, 10_000_000),
            HtbClassConfig {
                leaf: Some(QdiscConfig::Pfifo { limit: 30 }),
                ..class(0x10, Some(1), 4_000_000, 10_000_000)
            },
            class(0x20, Some(1), 6_000_000, 6_000_000),
        ],
        ..HtbConfig::default()
    }));
    let ran = run_scenario(&sc, None);
    let shown = show(&ran.world, &sc, "r");
    let (_, qdiscs, classes, classful) = &shown[1];
    assert!(*classful);
    let st = &ran.stats.nodes["r"].ifaces["eth1"].qdisc;
    let qb = blocks(qdiscs);
    assert_eq!(qb.len(), 2, "{qdiscs}");
    assert!(
        qb[0]
            .head
            .starts_with("qdisc htb 1: root refcnt 2 r2q 10 default 0x10 ")
    );
    assert_eq!(qb[1].head, "qdisc pfifo 10: parent 1:10 limit 30p");
    let s = &st.stats;
    assert_eq!(
        (qb[0].bytes, qb[0].packets, qb[0].drops, qb[0].overlimits),
        (s.bytes, s.packets, s.drops, s.overlimits)
    );
    let cb = blocks(classes);
    assert_eq!(cb.len(), st.classes.len(), "{classes}");
    let mut lends = 0;
    for (b, c) in cb.iter().zip(&st.classes) {
        let h = c.htb.as_ref().unwrap();
        assert!(
            b.head.starts_with(&format!("class htb {} ", c.classid)),
            "{}",
            b.head
        );
        assert_eq!(
            (b.bytes, b.packets, b.drops, b.overlimits),
            (
                h.stats.bytes,
                h.stats.packets,
                h.stats.drops,
                h.stats.overlimits
            ),
            "{}",
            b.head
        );
        let x = |k: &str| b.xstats[k];
        assert_eq!(
            (x("lended") as u64, x("borrowed") as u64, x("giants") as u64),
            (h.stats.lends, h.stats.borrows, h.stats.giants)
        );
        assert_eq!((x("tokens"), x("ctokens")), (h.tokens, h.ctokens));
        if let Some(leaf) = &c.leaf {
            assert_eq!(
                (b.qlen, b.backlog.clone()),
                (leaf.stats.qlen, sprint_size(leaf.stats.backlog))
            );
        }
        lends += h.stats.lends;
    }
    // The leaf qdisc's own block equals its report in stats.json.
    let leaf = st
        .classes
        .iter()
        .find(|c| c.classid == "1:10")
        .unwrap()
        .leaf
        .as_ref()
        .unwrap();
    assert_eq!(
        (qb[1].bytes, qb[1].packets, qb[1].drops),
        (leaf.stats.bytes, leaf.stats.packets, leaf.stats.drops)
    );
    assert!(qb[1].packets > 1000 && lends > 0, "{classes}");
    assert!(
        cb[1]
            .head
            .starts_with("class htb 1:10 parent 1:1 leaf 10: prio 0 rate 4Mbit ceil 10Mbit ")
    );
    assert!(
        cb[2]
            .head
            .starts_with("class htb 1:20 parent 1:1 prio 0 rate 6Mbit ceil 6Mbit ")
    );
}
