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
use crate::node::Node;
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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

    /// The statistics of the run so far, as one tree (for the library, tests and sweeps;
    /// `sim run` streams the same bytes with [`World::stats_view`]).
    pub fn stats(&self, sim_time_ns: u64, events: u64) -> RunStats {
        let apps = AppsByNode::of(self);
        RunStats {
            sim_time_ns,
            events,
            frames: self.shared.frames_on_links,
            drops: self.drops(),
            nodes: self
                .nodes_by_name()
                .into_iter()
                .map(|ni| {
                    let n = &self.nodes[ni];
                    (
                        n.name.clone(),
                        Box::new(self.node_stats(n, apps.of_node(ni))),
                    )
                })
                .collect(),
            switches: self
                .switches
                .iter()
                .map(|sw| (sw.name.clone(), switch_ports(sw)))
                .collect(),
            links: self
                .shared
                .links
                .iter()
                .map(|l| self.link_report(l))
                .collect(),
            dc_flows: self.dc_flows_summary(&apps),
        }
    }

    /// What `stats.json` holds, made one node at a time as it is serialized: the same
    /// bytes as [`World::stats`]' tree, without holding the tree (at 10^5 hosts the tree is
    /// 2.9 KiB a host, more than a third of the run's memory).
    pub fn stats_view(&self, sim_time_ns: u64, events: u64) -> StatsView<'_> {
        let apps = AppsByNode::of(self);
        StatsView {
            totals: self.totals(sim_time_ns, events),
            dc_flows: self.dc_flows_summary(&apps),
            by_name: self.nodes_by_name(),
            apps,
            world: self,
            remote: Vec::new(),
        }
    }

    /// The run's totals: what its summary prints.
    pub fn totals(&self, sim_time_ns: u64, events: u64) -> RunTotals {
        RunTotals {
            sim_time_ns,
            events,
            frames: self.shared.frames_on_links,
            drops: self.drops(),
        }
    }

    /// The drops per place, summed over the network.
    pub fn drops(&self) -> Drops {
        let mut drops = Drops::default();
        for n in &self.nodes {
            node_drops(n, &mut drops);
        }
        self.fabric_drops(&mut drops);
        drops
    }

    /// The drops of the switches and links, added to `drops`.
    pub(super) fn fabric_drops(&self, drops: &mut Drops) {
        for sw in &self.switches {
            drops.switch += sw.ports.iter().map(|p| p.stats.drops).sum::<u64>();
        }
        for l in &self.shared.links {
            for d in &l.stats {
                drops.link_loss += d.lost;
                drops.link_mtu += d.oversize;
            }
        }
    }

    /// The nodes' indices in the order of their names (a map keyed by name keeps the last
    /// of equal names: so does this).
    pub(super) fn nodes_by_name(&self) -> Vec<usize> {
        by_name(self.nodes.len(), |i| &self.nodes[i].name)
    }

    /// One node's statistics; `apps` are its apps' indices, in scenario order.
    pub(super) fn node_stats(&self, n: &Node, apps: &[u32]) -> NodeStats {
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
            ifaces.insert(
                d.name.clone(),
                Box::new(IfaceStats {
                    link: d.stats.clone(),
                    qdisc: QdiscReport {
                        kind: d.qdisc.kind(),
                        stats: *d.qdisc.stats(),
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
        let apps = self.node_apps(n, apps, |k| ifaces.contains_key(k));
        NodeStats {
            kind: n.kind.name(),
            // /proc/net/snmp's Forwarding (1 forwarding, 2 not) and DefaultTTL are the
            // sysctls, read when the file is.
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
                    crate::sock::Socket::Tcp(t) if t.state != crate::tcp::TcpState::Listen => {
                        Some(t.report())
                    }
                    _ => None,
                })
                .chain(n.tcp_closed.iter().cloned())
                .collect(),
            ifaces,
            apps,
        }
    }

    /// A node's apps' reports by key (`ping`, `ping_2`, …; `iface` names a key taken by an
    /// interface).
    pub(super) fn node_apps(
        &self,
        n: &Node,
        apps: &[u32],
        iface: impl Fn(&str) -> bool,
    ) -> BTreeMap<String, Box<AppReport>> {
        let mut map = BTreeMap::new();
        for report in apps
            .iter()
            .map(|&i| self.apps[i as usize].app.report(n, self.now))
        {
            let key = app_key(report.kind(), |k| map.contains_key(k) || iface(k));
            map.insert(key, Box::new(report));
        }
        map
    }

    /// The keys of a node's apps in its stats.json object, in scenario order.
    pub(super) fn app_keys_of(&self, n: &Node, apps: &[u32]) -> Vec<(u32, String, AppReport)> {
        let mut taken: Vec<String> = n.devs.iter().map(|d| d.name.clone()).collect();
        apps.iter()
            .map(|&i| {
                let report = self.apps[i as usize].app.report(n, self.now);
                let key = app_key(report.kind(), |k| taken.iter().any(|t| t == k));
                taken.push(key.clone());
                (i, key, report)
            })
            .collect()
    }

    /// One link's report.
    fn link_report(&self, l: &crate::link::Link) -> LinkReport {
        let name = |p| {
            let (a, b) = self.port_names(p);
            format!("{a}.{b}")
        };
        LinkReport {
            ends: [name(l.ends[0]), name(l.ends[1])],
            dirs: l.stats.clone(),
        }
    }

    /// The `dc_flows` apps' flows summed, taken in stats.json's order (nodes by name, a
    /// node's apps by key), when any ran.
    fn dc_flows_summary(&self, apps: &AppsByNode) -> Option<crate::apps::dc_flows::FctSummary> {
        let mut reports = Vec::new();
        for ni in self.nodes_by_name() {
            let n = &self.nodes[ni];
            let mine = apps.of_node(ni);
            if mine.is_empty() {
                continue;
            }
            let ifaces: Vec<&str> = n.devs.iter().map(|d| d.name.as_str()).collect();
            for r in self
                .node_apps(n, mine, |k| ifaces.contains(&k))
                .into_values()
            {
                if let AppReport::DcFlows(d) = *r {
                    reports.push(d);
                }
            }
        }
        crate::apps::dc_flows::FctSummary::of(reports.iter().map(|d| &**d))
    }
}

/// A node's drops, added to `drops`.
pub(super) fn node_drops(n: &Node, drops: &mut Drops) {
    for d in &n.devs {
        drops.qdisc += d.qdisc.stats().drops;
    }
    drops.arp_queue += n.neigh_stats.unresolved_discards + n.ndisc_stats.unresolved_discards;
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
}

/// Indices `0..n` in the order of `name`, keeping the last of equal names (as a map keyed
/// by name does).
fn by_name<'a>(n: usize, name: impl Fn(usize) -> &'a String) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| name(a).cmp(name(b)));
    order.reverse();
    order.dedup_by(|a, b| name(*a) == name(*b));
    order.reverse();
    order
}

/// A switch's ports' counters, by port name.
fn switch_ports(sw: &crate::switch::Switch) -> BTreeMap<String, SwitchPortStats> {
    sw.ports
        .iter()
        .map(|p| (p.name.clone(), p.stats.clone()))
        .collect()
}

/// The apps of every node, in scenario order: two flat vectors, not a vector per node.
#[derive(Debug)]
pub(super) struct AppsByNode {
    /// App indices grouped by node.
    order: Vec<u32>,
    /// Where node `i`'s apps start in `order` (one more entry than nodes).
    start: Vec<u32>,
}

impl AppsByNode {
    pub(super) fn of(world: &World) -> Self {
        let mut start = vec![0u32; world.nodes.len() + 1];
        for a in &world.apps {
            start[a.node + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut order = vec![0u32; world.apps.len()];
        for (i, a) in world.apps.iter().enumerate() {
            order[next[a.node] as usize] = i as u32;
            next[a.node] += 1;
        }
        Self { order, start }
    }

    pub(super) fn of_node(&self, node: usize) -> &[u32] {
        &self.order[self.start[node] as usize..self.start[node + 1] as usize]
    }
}

/// The run's totals: the summary's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTotals {
    /// Simulated time at the end of the run, in nanoseconds.
    pub sim_time_ns: u64,
    /// Events the engine handled.
    pub events: u64,
    /// Frames serialized onto links.
    pub frames: u64,
    /// Packets dropped, per place.
    pub drops: Drops,
}

/// [`RunStats`] made as it is serialized ([`World::stats_view`]).
#[derive(Debug)]
pub struct StatsView<'w> {
    /// The figures at the top.
    pub totals: RunTotals,
    /// The `dc_flows` summary, when any ran.
    pub dc_flows: Option<crate::apps::dc_flows::FctSummary>,
    by_name: Vec<usize>,
    apps: AppsByNode,
    world: &'w World,
    /// In a distributed run, at rank 0: per node, its object as the rank that owns it wrote
    /// it (indented for its place), `None` for rank 0's own; empty otherwise.
    remote: Vec<Option<Box<serde_json::value::RawValue>>>,
}

impl<'w> StatsView<'w> {
    /// The view at rank 0 of a distributed run: `totals` and `dc_flows` summed over the
    /// ranks, and the nodes other ranks own as they wrote them ([`node_json`]).
    pub fn of_ranks(
        world: &'w World,
        totals: RunTotals,
        dc_flows: Option<crate::apps::dc_flows::FctSummary>,
        remote: Vec<Option<Box<serde_json::value::RawValue>>>,
    ) -> Self {
        StatsView {
            totals,
            dc_flows,
            by_name: world.nodes_by_name(),
            apps: AppsByNode::of(world),
            world,
            remote,
        }
    }
}

/// Node `ni`'s object of stats.json, as the pretty JSON writer puts it at its place (in
/// `nodes`, two levels in), for rank 0 to splice in unchanged.
pub(super) fn node_json(world: &World, ni: usize, apps: &AppsByNode) -> String {
    let n = &world.nodes[ni];
    let text = serde_json::to_string_pretty(&world.node_stats(n, apps.of_node(ni)))
        .expect("a node's statistics serialize");
    // Pretty JSON indents by two spaces a level; strings hold no raw newline.
    text.replace('\n', "\n    ")
}

impl StatsView<'_> {
    /// Serializes the fields after `drops` (`nodes`, `switches`, `links`, `dc_flows`) into
    /// `st`: for a caller that puts a field of its own first.
    pub fn serialize_rest<S: serde::ser::SerializeStruct>(
        &self,
        st: &mut S,
    ) -> Result<(), S::Error> {
        st.serialize_field("nodes", &Nodes(self))?;
        st.serialize_field("switches", &Switches(self.world))?;
        st.serialize_field("links", &Links(self.world))?;
        if let Some(d) = &self.dc_flows {
            st.serialize_field("dc_flows", d)?;
        }
        Ok(())
    }
}

impl Serialize for StatsView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // As RunStats' derived serialization: same name, length and fields.
        let RunTotals {
            sim_time_ns,
            events,
            frames,
            drops,
        } = &self.totals;
        let mut st = s.serialize_struct("RunStats", 7 + usize::from(self.dc_flows.is_some()))?;
        st.serialize_field("sim_time_ns", sim_time_ns)?;
        st.serialize_field("events", events)?;
        st.serialize_field("frames", frames)?;
        st.serialize_field("drops", drops)?;
        self.serialize_rest(&mut st)?;
        st.end()
    }
}

struct Nodes<'a, 'w>(&'a StatsView<'w>);

impl Serialize for Nodes<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let v = self.0;
        let mut map = s.serialize_map(Some(v.by_name.len()))?;
        for &ni in &v.by_name {
            let n = &v.world.nodes[ni];
            match v.remote.get(ni).and_then(Option::as_ref) {
                Some(raw) => map.serialize_entry(&n.name, raw)?,
                None => map.serialize_entry(&n.name, &v.world.node_stats(n, v.apps.of_node(ni)))?,
            }
        }
        map.end()
    }
}

struct Switches<'w>(&'w World);

impl Serialize for Switches<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let w = self.0;
        let order = by_name(w.switches.len(), |i| &w.switches[i].name);
        let mut map = s.serialize_map(Some(order.len()))?;
        for i in order {
            let sw = &w.switches[i];
            map.serialize_entry(&sw.name, &switch_ports(sw))?;
        }
        map.end()
    }
}

struct Links<'w>(&'w World);

impl Serialize for Links<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let w = self.0;
        let mut seq = s.serialize_seq(Some(w.shared.links.len()))?;
        for l in &w.shared.links {
            seq.serialize_element(&w.link_report(l))?;
        }
        seq.end()
    }
}
