//! The network as the report draws it: nodes (hosts, routers, switches) and links, with each
//! link's rate, delay, traffic and utilization and each node's drops.
//!
//! The structure comes from `stats.json` (what ran): its `nodes`, `switches` and `links[].ends`.
//! Rates and delays are not in it; they come from the scenario, reloaded as `--replay` loads
//! it (the file and the params recorded in `params.json`). When the scenario cannot be
//! loaded, the links are drawn without them, uncoloured.

use std::collections::BTreeMap;

use sim_stack::config::{NodeKind, Scenario};
use sim_stack::link::WIRE_OVERHEAD;

use super::json::Json;

/// A host, a router or a switch.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its name in the scenario.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// Packets it dropped, by place (`qdisc`, `arp_queue`, `ip`, `switch`), non-zero only.
    pub drops: Vec<(&'static str, u64)>,
}

impl Node {
    /// All its drops.
    pub fn drop_total(&self) -> u64 {
        self.drops.iter().map(|(_, n)| n).sum()
    }
}

/// One direction of a link.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dir {
    /// Frames sent onto it (lost ones included).
    pub frames: u64,
    /// Their bytes, as the pcap counts them.
    pub bytes: u64,
    /// Frames the link lost.
    pub lost: u64,
    /// Frames too big for the link's MTU.
    pub oversize: u64,
}

/// A full-duplex link between two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The nodes at its ends (indexes into [`Topology::nodes`]).
    pub ends: [usize; 2],
    /// The interface (or switch port) at each end: `eth0`, `p1`.
    pub ports: [String; 2],
    /// Bit rate of each direction, when the scenario is known.
    pub rate_bps: Option<u64>,
    /// One-way propagation delay, ns, when the scenario is known.
    pub delay_ns: Option<u64>,
    /// Direction 0 carries frames from `ends[0]`.
    pub dirs: [Dir; 2],
}

impl Link {
    /// The fraction of the run each direction's line was busy (wire time of its frames,
    /// preamble, FCS and gap included, over the simulated time), or `None` without a rate.
    pub fn utilization(&self, sim_ns: u64) -> Option<[f64; 2]> {
        let rate = self.rate_bps.filter(|&r| r > 0)?;
        let capacity = rate as f64 * sim_ns.max(1) as f64 / 1e9;
        Some(self.dirs.map(|d| {
            let bits = (d.bytes + WIRE_OVERHEAD * d.frames) as f64 * 8.0;
            (bits / capacity).clamp(0.0, 1.0)
        }))
    }

    /// The busier direction's utilization.
    pub fn max_utilization(&self, sim_ns: u64) -> Option<f64> {
        self.utilization(sim_ns).map(|[a, b]| a.max(b))
    }

    /// Frames lost on the link, both directions, MTU drops included.
    pub fn lost(&self) -> u64 {
        self.dirs.iter().map(|d| d.lost + d.oversize).sum()
    }
}

/// The whole network.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// Nodes in scenario order (or, without the scenario, in the order the links name them).
    pub nodes: Vec<Node>,
    /// Links in scenario order.
    pub links: Vec<Link>,
    /// Simulated time of the run, ns.
    pub sim_ns: u64,
}

/// Drops by place, non-zero only.
type Drops = Vec<(&'static str, u64)>;

/// The `Ip` counters `stats.json`'s `drops.ip` sums.
pub const IP_DROP_KEYS: [&str; 10] = [
    "InHdrErrors",
    "InAddrErrors",
    "InUnknownProtos",
    "InDiscards",
    "OutDiscards",
    "OutNoRoutes",
    "ReasmFails",
    "FragFails",
    "InCsumErrors",
    "InTruncatedPkts",
];

/// The `Snmp6` counters `stats.json`'s `drops.ip` sums.
pub const IP6_DROP_KEYS: [&str; 10] = [
    "Ip6InHdrErrors",
    "Ip6InAddrErrors",
    "Ip6InUnknownProtos",
    "Ip6InDiscards",
    "Ip6InNoRoutes",
    "Ip6InTooBigErrors",
    "Ip6InTruncatedPkts",
    "Ip6OutDiscards",
    "Ip6OutNoRoutes",
    "Ip6FragFails",
];

/// The non-zero drop counters of one node of `stats.json`, by place, as `stats.json`'s
/// `drops` sums them over the network.
pub fn node_drops(node: &Json) -> Vec<(&'static str, u64)> {
    let qdisc: u64 = node
        .members()
        .iter()
        .filter(|(_, v)| v.get("qdisc").is_object())
        .map(|(_, v)| v.get("qdisc").get("drops").u64_or_zero())
        .sum();
    let arp = node.get("arp").get("unresolved_discards").u64_or_zero()
        + node.get("ndisc").get("unresolved_discards").u64_or_zero();
    let ip = IP_DROP_KEYS
        .iter()
        .map(|k| node.get("Ip").get(k).u64_or_zero())
        .sum::<u64>()
        + IP6_DROP_KEYS
            .iter()
            .map(|k| node.get("Snmp6").get(k).u64_or_zero())
            .sum::<u64>();
    [("qdisc", qdisc), ("arp_queue", arp), ("ip", ip)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// `node.iface` split at its last dot.
fn split_end(end: &str) -> Option<(&str, &str)> {
    end.rsplit_once('.')
}

impl Topology {
    /// The network of a run's `stats.json`, with rates and delays from `scenario` when it
    /// is given and matches (the same links between the same ends).
    pub fn from_stats(stats: &Json, scenario: Option<&Scenario>) -> Result<Self, String> {
        let sim_ns = stats.get("sim_time_ns").u64_or_zero();
        // Every node by name: hosts and routers, then switches.
        let mut known: BTreeMap<&str, (NodeKind, Drops)> = BTreeMap::new();
        for (name, node) in stats.get("nodes").members() {
            let kind = match node.get("kind").as_str() {
                Some("router") => NodeKind::Router,
                _ => NodeKind::Host,
            };
            known.insert(name, (kind, node_drops(node)));
        }
        for (name, ports) in stats.get("switches").members() {
            let drops: u64 = ports
                .members()
                .iter()
                .map(|(_, p)| p.get("drops").u64_or_zero())
                .sum();
            let d = if drops > 0 {
                vec![("switch", drops)]
            } else {
                Vec::new()
            };
            known.insert(name, (NodeKind::Switch, d));
        }
        // Scenario order when the scenario names exactly these nodes; else the order in
        // which the links name them, then the unlinked ones by name.
        let mut order: Vec<&str> = Vec::new();
        match scenario {
            Some(sc)
                if sc.nodes.len() == known.len()
                    && sc.nodes.iter().all(|n| known.contains_key(n.name.as_str())) =>
            {
                order.extend(sc.nodes.iter().map(|n| n.name.as_str()));
            }
            _ => {
                let mut seen = std::collections::BTreeSet::new();
                for l in stats.get("links").items() {
                    for e in l.get("ends").items() {
                        if let Some((node, _)) = e.as_str().and_then(split_end)
                            && known.contains_key(node)
                            && seen.insert(node)
                        {
                            order.push(node);
                        }
                    }
                }
                order.extend(known.keys().filter(|k| !seen.contains(*k)));
            }
        }
        let index: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let nodes = order
            .iter()
            .map(|name| {
                let (kind, drops) = known[name].clone();
                Node {
                    name: (*name).to_string(),
                    kind,
                    drops,
                }
            })
            .collect();

        let stat_links = stats.get("links").items();
        // The scenario's links give rates when they are the same links.
        let matching = scenario.filter(|sc| {
            sc.links.len() == stat_links.len()
                && sc.links.iter().zip(stat_links).all(|(l, s)| {
                    let ends = s.get("ends");
                    ends.at(0).as_str() == Some(end_name(sc, l.a).as_str())
                        && ends.at(1).as_str() == Some(end_name(sc, l.b).as_str())
                })
        });
        let mut links = Vec::with_capacity(stat_links.len());
        for (i, l) in stat_links.iter().enumerate() {
            let mut ends = [0; 2];
            let mut ports = [String::new(), String::new()];
            for side in 0..2 {
                let text = l.get("ends").at(side).as_str().unwrap_or_default();
                let (node, port) = split_end(text)
                    .ok_or_else(|| format!("stats.json: links[{i}] has no end {side}"))?;
                ends[side] = *index.get(node).ok_or_else(|| {
                    format!("stats.json: links[{i}] names `{node}`, which is no node of the run")
                })?;
                ports[side] = port.to_string();
            }
            let dir = |d: &Json| Dir {
                frames: d.get("frames").u64_or_zero(),
                bytes: d.get("bytes").u64_or_zero(),
                lost: d.get("lost").u64_or_zero(),
                oversize: d.get("oversize").u64_or_zero(),
            };
            let cfg = matching.map(|sc| &sc.links[i]);
            links.push(Link {
                ends,
                ports,
                rate_bps: cfg.map(|c| c.rate.bits_per_sec()),
                delay_ns: cfg.map(|c| c.delay.as_nanos()),
                dirs: [dir(l.get("dirs").at(0)), dir(l.get("dirs").at(1))],
            });
        }
        Ok(Self {
            nodes,
            links,
            sim_ns,
        })
    }
}

/// `node.port` of a link end, as stats.json writes it (a switch's port by its name).
fn end_name(sc: &Scenario, end: sim_stack::config::LinkEnd) -> String {
    sc.end_name(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> Json {
        serde_json::from_str(
            r#"{
              "sim_time_ns": 1000000000,
              "nodes": {
                "a": {"kind": "host", "Ip": {"InDiscards": 2, "OutNoRoutes": 1},
                      "arp": {"unresolved_discards": 4},
                      "eth0": {"link": {}, "qdisc": {"drops": 3}}},
                "r": {"kind": "router", "Ip": {}, "arp": {}, "eth0": {"qdisc": {"drops": 0}}}
              },
              "switches": {"sw": {"p1": {"drops": 5}, "p2": {"drops": 0}}},
              "links": [
                {"ends": ["r.eth0", "a.eth0"],
                 "dirs": [{"frames": 1000, "bytes": 1226000, "lost": 0, "oversize": 0},
                          {"frames": 10, "bytes": 1000, "lost": 2, "oversize": 0}]},
                {"ends": ["r.eth1", "sw.p1"], "dirs": [{}, {}]}
              ]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn nodes_in_link_order_with_their_drops_by_place() {
        let t = Topology::from_stats(&stats(), None).unwrap();
        let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["r", "a", "sw"]);
        assert_eq!(
            t.nodes[1].drops,
            [("qdisc", 3), ("arp_queue", 4), ("ip", 3)]
        );
        assert_eq!(t.nodes[1].drop_total(), 10);
        assert_eq!(t.nodes[0].drops, []);
        assert_eq!(t.nodes[2].kind, NodeKind::Switch);
        assert_eq!(t.nodes[2].drops, [("switch", 5)]);
        assert_eq!(t.links[0].ends, [0, 1]);
        assert_eq!(t.links[1].ports, ["eth1", "p1"]);
        assert_eq!(t.links[0].lost(), 2);
        // Without the scenario: no rate, no utilization.
        assert_eq!(t.links[0].max_utilization(t.sim_ns), None);
    }

    #[test]
    fn utilization_counts_wire_time_over_the_run() {
        let mut t = Topology::from_stats(&stats(), None).unwrap();
        t.links[0].rate_bps = Some(10_000_000);
        // (1226000 + 24 × 1000) × 8 bits in 1 s at 10 Mbit/s: 100 %; the other way
        // (1000 + 24 × 10) × 8 bits: 0.0992 %.
        let [u0, u1] = t.links[0].utilization(t.sim_ns).unwrap();
        assert!((u0 - 1.0).abs() < 1e-12, "{u0}");
        assert!((u1 - 0.000992).abs() < 1e-12, "{u1}");
        assert_eq!(t.links[0].max_utilization(t.sim_ns), Some(u0));
    }

    #[test]
    fn a_link_to_an_unknown_node_is_an_error() {
        let j: Json = serde_json::from_str(
            r#"{"nodes": {"a": {"kind": "host"}}, "links": [{"ends": ["a.eth0", "zz.eth0"]}]}"#,
        )
        .unwrap();
        let e = Topology::from_stats(&j, None).unwrap_err();
        assert!(e.contains("`zz`"), "{e}");
    }
}
