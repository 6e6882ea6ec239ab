//! The statistics of a run as one serializable tree: what `stats.json` holds and what the
//! end-of-run summary is printed from.
//!
//! The tree is keyed by the names users wrote in the scenario, so a dotted path such as
//! `nodes.r.eth1.qdisc.drops` or `nodes.a.ping.rtt_avg_ns` reaches any figure. Every map is
//! a `BTreeMap` (sorted keys) and every list follows scenario order, so the same run always
//! serializes to the same bytes. Wall-clock figures are not here: they vary from run to run
//! and live apart (see the CLI's summary).

use std::collections::BTreeMap;

use serde::Serialize;

use super::World;
use crate::apps::AppReport;
use crate::qdisc::{FqCodelStats, QdiscStats};
use crate::stats::{
    DevStats, IcmpStats, IpStats, LinkStats, NeighStats, RingStats, TcpStats, UdpStats,
};
use crate::switch::SwitchPortStats;

/// Everything counted in a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunStats {
    /// Simulated time at the end of the run, in nanoseconds.
    pub sim_time_ns: u64,
    /// Events the engine handled.
    pub events: u64,
    /// Frames serialized onto links.
    pub frames: u64,
    /// Packets dropped, per place, summed over the whole network.
    pub drops: Drops,
    /// Hosts and routers, by name.
    pub nodes: BTreeMap<String, Box<NodeStats>>,
    /// Switches, by name.
    pub switches: BTreeMap<String, BTreeMap<String, SwitchPortStats>>,
    /// Links, in scenario order.
    pub links: Vec<LinkReport>,
    /// The `dc_flows` apps' flows summed over their hosts (docs/datacenter.md), when any ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dc_flows: Option<crate::apps::dc_flows::FctSummary>,
}

/// Drops per place in the modeled path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drops {
    /// Dropped by a qdisc (`tc -s qdisc` "dropped").
    pub qdisc: u64,
    /// Dropped from a neighbour's queue while unresolved (`unresolved_discards`).
    pub arp_queue: u64,
    /// Dropped by IP: no route, TTL exceeded, bad headers, reassembly failures.
    pub ip: u64,
    /// Dropped by a netfilter DROP rule (the sum of those rules' `iptables -v` packet counts).
    pub netfilter: u64,
    /// Dropped by a switch port whose queue was full.
    pub switch: u64,
    /// Lost to a link's random loss.
    pub link_loss: u64,
    /// Too big for a link's MTU.
    pub link_mtu: u64,
}

/// One host or router.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStats {
    /// `host` or `router`.
    pub kind: &'static str,
    /// `/proc/net/snmp` `Ip:`.
    #[serde(rename = "Ip")]
    pub ip: IpStats,
    /// `/proc/net/snmp` `Icmp:`.
    #[serde(rename = "Icmp")]
    pub icmp: IcmpStats,
    /// `/proc/net/snmp` `Udp:`.
    #[serde(rename = "Udp")]
    pub udp: UdpStats,
    /// `/proc/net/snmp` `Tcp:`.
    #[serde(rename = "Tcp")]
    pub tcp: TcpStats,
    /// `/proc/net/netstat` `TcpExt:` (left out while all zero).
    #[serde(
        rename = "TcpExt",
        skip_serializing_if = "crate::stats::TcpExtStats::is_zero"
    )]
    pub tcp_ext: crate::stats::TcpExtStats,
    /// `/proc/net/stat/arp_cache`.
    pub arp: NeighStats,
    /// `/proc/net/snmp6` (nodes with IPv6 on some interface).
    #[serde(rename = "Snmp6", skip_serializing_if = "Option::is_none")]
    pub snmp6: Option<Box<crate::stats::Snmp6>>,
    /// `/proc/net/stat/ndisc_cache` (nodes with IPv6 on some interface).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ndisc: Option<NeighStats>,
    /// Connection tracking, on nodes whose rules use it: `nf_conntrack_count` at the end and
    /// the counters of `conntrack -S`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conntrack: Option<ConntrackStats>,
    /// TCP connections (open at the end, then closed ones), like `ss -ti`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tcp_connections: Vec<crate::tcp::TcpConnReport>,
    /// Interfaces, by name.
    #[serde(flatten)]
    pub ifaces: BTreeMap<String, Box<IfaceStats>>,
    /// Apps, by kind (`ping`; a second app of the same kind is `ping_2`).
    #[serde(flatten)]
    pub apps: BTreeMap<String, Box<AppReport>>,
}

/// A node's connection tracking at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct ConntrackStats {
    /// `net.netfilter.nf_conntrack_count`: live entries.
    pub count: u32,
    /// `conntrack -S`'s counters.
    #[serde(flatten)]
    pub stat: crate::netfilter::conntrack::ConntrackStat,
}

/// One interface.
#[derive(Debug, Clone, Serialize)]
pub struct IfaceStats {
    /// `ip -s link`.
    pub link: DevStats,
    /// The root qdisc, as `tc -s qdisc` shows it.
    pub qdisc: QdiscReport,
    /// The driver's TX ring.
    pub ring: RingStats,
    /// IPv6 on the interface, when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Box<Iface6Stats>>,
}

/// An interface's IPv6 state at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Iface6Stats {
    /// Its addresses as `ip -6 addr` lists them (`2001:db8::2/64 scope global`, with
    /// `tentative` or `dadfailed` when so).
    pub addrs: Vec<String>,
    /// `/proc/net/dev_snmp6/IFACE`.
    pub snmp6: crate::stats::Snmp6,
}

/// A root qdisc.
#[derive(Debug, Clone, Serialize)]
pub struct QdiscReport {
    /// `pfifo_fast`, `pfifo`, `tbf`, `fq_codel`, `fq`, `netem`, `red`, `htb` or `prio`.
    pub kind: &'static str,
    /// The common counters.
    #[serde(flatten)]
    pub stats: QdiscStats,
    /// fq_codel's own counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fq_codel: Option<FqCodelStats>,
    /// RED's own counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub red: Option<Box<crate::qdisc::RedStats>>,
    /// fq's own counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fq: Option<Box<crate::qdisc::FqStats>>,
    /// htb's own values (r2q, default, direct queue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub htb: Option<Box<crate::qdisc::class_report::HtbQdiscReport>>,
    /// The classes of a classful qdisc (htb, prio), as `tc -s class show` lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<crate::qdisc::class_report::ClassReport>,
}

/// One link, both directions.
#[derive(Debug, Clone, Serialize)]
pub struct LinkReport {
    /// `node.iface` of each end.
    pub ends: [String; 2],
    /// Direction 0 (from `ends[0]`) and 1.
    pub dirs: [LinkStats; 2],
}

/// An app's key in its node's `stats.json` object: its kind, or `kind_2`, `kind_3`, … when
/// `taken` (an earlier app's or an interface's key).
fn app_key(kind: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut key = kind.to_string();
    let mut k = 1;
    while taken(&key) {
        k += 1;
        key = format!("{kind}_{k}");
    }
    key
}

impl World {
    /// Every app's key in its node's `stats.json` object (`tcp_bulk`, `tcp_bulk_2`, …), in
    /// scenario order.
    pub fn app_keys(&self) -> Vec<String> {
        let mut taken: Vec<std::collections::BTreeSet<String>> = self
            .nodes
            .iter()
            .map(|n| {
                (0..n.devs.len())
                    .filter_map(|i| n.devs.get(i))
                    .map(|d| d.name.clone())
                    .collect()
            })
            .collect();
        self.apps
            .iter()
            .map(|a| {
                let n = &self.nodes[a.node];
                let kind = a.app.report(n, self.now).kind().to_string();
                let t = &mut taken[a.node];
                let key = app_key(&kind, |k| t.contains(k));
                t.insert(key.clone());
                key
            })
            .collect()
    }

    /// The report of every app, in scenario order, with the name of its node.
    pub fn app_reports(&self) -> Vec<(String, AppReport)> {
        self.apps
            .iter()
            .map(|a| {
                let n = &self.nodes[a.node];
                (n.name.clone(), a.app.report(n, self.now))
            })
            .collect()
    }

    /// The statistics of the run so far.
    pub fn stats(&self, sim_time_ns: u64, events: u64) -> RunStats {
        let mut drops = Drops::default();
        let mut nodes = BTreeMap::new();
        let mut apps_of: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (i, a) in self.apps.iter().enumerate() {
            apps_of[a.node].push(i);
        }
        for (ni, n) in self.nodes.iter().enumerate() {
            let mut ifaces = BTreeMap::new();
            let mut ipv6_on = false;
            for d in &n.devs {
                let ipv6 = d.inet6.as_deref().map(|i| {
                    ipv6_on = true;
                    Box::new(Iface6Stats {
                        addrs: i
                            .addrs
                            .iter()
                            .map(|a| {
                                let scope = if crate::wire::ipv6::is_link_local(a.addr()) {
                                    "link"
                                } else {
                                    "global"
                                };
                                let flag = if a.dad_failed {
                                    " tentative dadfailed"
                                } else if a.tentative {
                                    " tentative"
                                } else {
                                    ""
                                };
                                format!("{} scope {scope}{flag}", a.cidr)
                            })
                            .collect(),
                        snmp6: i.stats.clone(),
                    })
                });
                let q = d.qdisc.stats();
                drops.qdisc += q.drops;
                ifaces.insert(
                    d.name.clone(),
                    Box::new(IfaceStats {
                        link: d.stats.clone(),
                        qdisc: QdiscReport {
                            kind: d.qdisc.kind(),
                            stats: *q,
                            fq_codel: d.qdisc.fq_codel_stats(),
                            red: d.qdisc.red_stats().map(Box::new),
                            fq: d.qdisc.fq_stats().map(Box::new),
                            htb: d.qdisc.htb_report().map(Box::new),
                            classes: d.qdisc.class_reports(),
                        },
                        ring: d.ring.stats.clone(),
                        ipv6,
                    }),
                );
            }
            drops.arp_queue +=
                n.neigh_stats.unresolved_discards + n.ndisc_stats.unresolved_discards;
            drops.netfilter += n.netfilter.dropped;
            let ip = &n.snmp.ip;
            drops.ip += ip.InHdrErrors
                + ip.InAddrErrors
                + ip.InUnknownProtos
                + ip.InDiscards
                + ip.OutDiscards
                + ip.OutNoRoutes
                + ip.ReasmFails
                + ip.FragFails
                + ip.InCsumErrors
                + ip.InTruncatedPkts;
            let ip6 = &n.snmp6.ip6;
            drops.ip += ip6.Ip6InHdrErrors
                + ip6.Ip6InAddrErrors
                + ip6.Ip6InUnknownProtos
                + ip6.Ip6InDiscards
                + ip6.Ip6InNoRoutes
                + ip6.Ip6InTooBigErrors
                + ip6.Ip6InTruncatedPkts
                + ip6.Ip6OutDiscards
                + ip6.Ip6OutNoRoutes
                + ip6.Ip6FragFails;
            let mut apps = BTreeMap::new();
            for report in apps_of[ni]
                .iter()
                .map(|&i| self.apps[i].app.report(n, self.now))
            {
                let key = app_key(report.kind(), |k| {
                    apps.contains_key(k) || ifaces.contains_key(k)
                });
                apps.insert(key, Box::new(report));
            }
            nodes.insert(
                n.name.clone(),
                Box::new(NodeStats {
                    kind: n.kind.name(),
                    // /proc/net/snmp's Forwarding (1 forwarding, 2 not) and DefaultTTL are
                    // the sysctls, read when the file is.
                    ip: IpStats {
                        Forwarding: if n.forwarding { 1 } else { 2 },
                        DefaultTTL: u64::from(n.default_ttl),
                        ..n.snmp.ip.clone()
                    },
                    icmp: n.snmp.icmp.clone(),
                    udp: n.snmp.udp.clone(),
                    tcp: n.snmp.tcp.clone(),
                    tcp_ext: n.snmp.tcp_ext.clone(),
                    arp: n.neigh_stats.clone(),
                    snmp6: ipv6_on.then(|| Box::new(n.snmp6.clone())),
                    ndisc: ipv6_on.then(|| n.ndisc_stats.clone()),
                    conntrack: n.netfilter.conntrack.as_ref().map(|ct| {
                        // Counting expires entries, as the kernel's gc would have: on a copy.
                        let mut ct = ct.clone();
                        ConntrackStats {
                            count: ct.count(self.now),
                            stat: *ct.stat(),
                        }
                    }),
                    tcp_connections: n
                        .socks
                        .iter()
                        .filter_map(|(_, sk)| match sk {
                            crate::sock::Socket::Tcp(t)
                                if t.state != crate::tcp::TcpState::Listen =>
                            {
                                Some(t.report())
                            }
                            _ => None,
                        })
                        .chain(n.tcp_closed.iter().cloned())
                        .collect(),
                    ifaces,
                    apps,
                }),
            );
        }
        let mut switches = BTreeMap::new();
        for sw in &self.switches {
            let ports = sw
                .ports
                .iter()
                .map(|p| {
                    drops.switch += p.stats.drops;
                    (p.name.clone(), p.stats.clone())
                })
                .collect();
            switches.insert(sw.name.clone(), ports);
        }
        let links = self
            .links
            .iter()
            .map(|l| {
                for d in &l.stats {
                    drops.link_loss += d.lost;
                    drops.link_mtu += d.oversize;
                }
                let name = |p| {
                    let (a, b) = self.port_names(p);
                    format!("{a}.{b}")
                };
                LinkReport {
                    ends: [name(l.ends[0]), name(l.ends[1])],
                    dirs: l.stats.clone(),
                }
            })
            .collect();
        let dc_flows = crate::apps::dc_flows::FctSummary::of(
            nodes
                .values()
                .flat_map(|n| n.apps.values())
                .filter_map(|a| match &**a {
                    AppReport::DcFlows(d) => Some(&**d),
                    _ => None,
                }),
        );
        RunStats {
            sim_time_ns,
            events,
            frames: self.frames_on_links,
            drops,
            nodes,
            switches,
            links,
            dc_flows,
        }
    }
}
