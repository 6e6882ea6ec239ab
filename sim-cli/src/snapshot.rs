//! `sim run --snapshot KIND,…`: text files per node, written at the end of the run into
//! `snapshots/` of the output folder, in the formats of the Linux tools people read every
//! day, so that they diff against a real machine. Each file holds the commands and what they
//! print, as a terminal shows them (`$ COMMAND`, then its output).
//!
//! * `tc`: `snapshots/NODE.tc.txt`, for each interface in name order, `$ tc -s qdisc show
//!   dev IFACE` and its output, then, when the root qdisc is classful (htb, prio), `$ tc -s
//!   class show dev IFACE` and its output ([`sim_stack::qdisc::tc_show`]).
//! * `ss`: `snapshots/NODE.ss.txt`, `$ ss -tuni`: the node's connected UDP and TCP sockets
//!   with the TCP details line ([`sim_stack::sock::ss_show`]).
//! * `ip`: `snapshots/NODE.ip.txt`, `$ ip -s link` ([`sim_stack::dev_show`]), `$ ip neigh`
//!   ([`sim_stack::neigh::neigh_show`]), `$ ip route` ([`sim_stack::ip::route_show`]), and
//!   for a node with IPv6 on an interface `$ ip -6 neigh` and `$ ip -6 route`
//!   ([`sim_stack::ipv6::route_show`]).
//! * `nstat`: `snapshots/NODE.nstat.txt`, `$ nstat -a`: the SNMP counters that are not 0
//!   ([`sim_stack::nstat`]).
//! * `iptables`: `snapshots/NODE.iptables.txt`, `$ iptables -t TABLE -L -v -n` for each
//!   table with rules or a DROP policy (filter alone when there is none), with the rules'
//!   packet and byte counters ([`sim_stack::netfilter::iptables_show`]).
//! * `conntrack`: `snapshots/NODE.conntrack.txt` for each node that tracks connections (a
//!   nat rule, a state match, …): `$ conntrack -L` (the entries, then the line conntrack
//!   writes to standard error) and `$ conntrack -S` ([`sim_stack::netfilter::conntrack_show`]).
//! * `all`: every kind.
//!
//! The files are written into the run's partial folder with everything else, so they appear
//! with the folder, whole, or not at all; `params.json` lists them. [`write_into`] writes
//! them into any folder at any instant (each file under a temporary name, then renamed).

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use sim_core::SimTime;
use sim_stack::config::{QdiscConfig, Scenario};
use sim_stack::dev::DevKind;
use sim_stack::dev_show::{LinkShow, ip_s_link};
use sim_stack::ip::route_show::ip_route;
use sim_stack::ipv6::route_show::ip6_route;
use sim_stack::neigh::neigh_show::neigh_show;
use sim_stack::netfilter::TableId;
use sim_stack::netfilter::conntrack_show::conntrack_list_summary;
use sim_stack::netfilter::iptables_show::{ListFormat, list};
use sim_stack::node::Node;
use sim_stack::nstat::nstat_show;
use sim_stack::qdisc::tc_show::{FIRST_AUTO_HANDLE, TcTree};
use sim_stack::sock::ss_show::ss_tuni;
use sim_stack::world::World;
use sim_stack::world::distributed::Owner;

/// The folder of the output folder the snapshots go into.
pub const DIR: &str = "snapshots";

/// What a snapshot shows (`--snapshot tc,ss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// `tc -s qdisc show` (and `tc -s class show` for classful roots) per interface.
    Tc,
    /// `ss -tuni`: TCP and UDP sockets with TCP's details.
    Ss,
    /// `ip -s link`, `ip neigh`, `ip route` (and `ip -6 neigh`, `ip -6 route` with IPv6).
    Ip,
    /// `nstat -a`: the SNMP counters that are not 0.
    Nstat,
    /// `iptables -L -v -n` of each table in use.
    Iptables,
    /// `conntrack -L` and `conntrack -S`, on nodes that track connections.
    Conntrack,
    /// Every kind.
    All,
}

impl SnapshotKind {
    /// The kinds that write a file (all but `all`).
    pub const FILES: [Self; 6] = [
        Self::Tc,
        Self::Ss,
        Self::Ip,
        Self::Nstat,
        Self::Iptables,
        Self::Conntrack,
    ];

    /// The word on the command line.
    pub fn word(self) -> &'static str {
        match self {
            Self::Tc => "tc",
            Self::Ss => "ss",
            Self::Ip => "ip",
            Self::Nstat => "nstat",
            Self::Iptables => "iptables",
            Self::Conntrack => "conntrack",
            Self::All => "all",
        }
    }
}

/// The kinds that write a file for `kinds`: `all` stands for every one; in
/// [`SnapshotKind::FILES`]' order, once each.
fn expand(kinds: &[SnapshotKind]) -> Vec<SnapshotKind> {
    SnapshotKind::FILES
        .into_iter()
        .filter(|k| kinds.contains(k) || kinds.contains(&SnapshotKind::All))
        .collect()
}

/// Writes the snapshots of `kinds` for every node of `world` (built from `scenario`) into
/// `dir`'s `snapshots/` folder as they stand at `now` (the end of the run: at its time limit,
/// later than its last event, `ss`'s `lastsnd`, `lastrcv` and `lastack` count to it);
/// returns the files written, relative to `dir`, in name order.
pub fn write_at(
    dir: &Path,
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
    now: SimTime,
) -> io::Result<Vec<String>> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let sub = dir.join(DIR);
    // (It exists already when `--snapshot-at` took snapshots during the run.)
    std::fs::create_dir_all(&sub).map_err(|e| named(&sub, e))?;
    let files = write_into(&sub, kinds, world, scenario, now)?;
    Ok(files.into_iter().map(|f| format!("{DIR}/{f}")).collect())
}

/// Writes the snapshots of `kinds` for every node of `world` (built from `scenario`) as they
/// stand at `now` into the existing folder `sub`, as `NODE.KIND.txt`; returns the names of
/// the files written, in name order. Each file is written under a temporary name and
/// renamed, so that none is ever seen half-written.
pub fn write_into(
    sub: &Path,
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
    now: SimTime,
) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    each_file(kinds, world, scenario, now, None, |name, text| {
        write_file(sub, &name, &text)?;
        files.push(name);
        Ok(())
    })?;
    files.sort();
    Ok(files)
}

/// The snapshot files of `kinds` of the nodes `own` owns (a rank's share in a run over MPI),
/// as they stand at `now`: each file's name and text, in node order.
pub fn render(
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
    now: SimTime,
    own: &Owner<'_>,
) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let _ = each_file(kinds, world, scenario, now, Some(own), |name, text| {
        files.push((name, text));
        Ok(())
    });
    files
}

/// Writes files [`render`]ed (by every rank) into the existing folder `sub` as
/// [`write_into`] does; returns their names, in name order.
pub fn write_rendered(sub: &Path, files: &[(String, String)]) -> io::Result<Vec<String>> {
    let mut names = Vec::with_capacity(files.len());
    for (name, text) in files {
        write_file(sub, name, text)?;
        names.push(name.clone());
    }
    names.sort();
    Ok(names)
}

/// [`write_at`] for files [`render`]ed by every rank: into `dir`'s `snapshots/` folder.
pub fn write_rendered_at(dir: &Path, files: &[(String, String)]) -> io::Result<Vec<String>> {
    let sub = dir.join(DIR);
    std::fs::create_dir_all(&sub).map_err(|e| named(&sub, e))?;
    let names = write_rendered(&sub, files)?;
    Ok(names.into_iter().map(|f| format!("{DIR}/{f}")).collect())
}

/// Calls `f` with the name and text of each snapshot file of `kinds`, node by node (those
/// `own` owns, if given), kinds in [`SnapshotKind::FILES`] order.
fn each_file(
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
    now: SimTime,
    own: Option<&Owner<'_>>,
    mut f: impl FnMut(String, String) -> io::Result<()>,
) -> io::Result<()> {
    let kinds = expand(kinds);
    for (ni, node) in world.nodes.iter().enumerate() {
        if own.is_some_and(|o| !o.node(ni)) {
            continue;
        }
        for &kind in &kinds {
            let text = match kind {
                SnapshotKind::Tc => tc(world, scenario, &node.name),
                SnapshotKind::Ss => ss(node, now),
                SnapshotKind::Ip => ip(node, scenario),
                SnapshotKind::Nstat => nstat(node),
                SnapshotKind::Iptables => iptables(node),
                SnapshotKind::Conntrack => match conntrack(node, now) {
                    Some(t) => t,
                    None => continue,
                },
                SnapshotKind::All => continue,
            };
            f(format!("{}.{}.txt", node.name, kind.word()), text)?;
        }
    }
    Ok(())
}

/// Writes `text` into `sub/name` under a temporary name, then renames it.
fn write_file(sub: &Path, name: &str, text: &str) -> io::Result<()> {
    let path = sub.join(name);
    let tmp = sub.join(format!(".{name}.partial"));
    std::fs::write(&tmp, text).map_err(|e| named(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| named(&path, e))
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// `NODE.tc.txt`: the node's interfaces in name order. Automatic handles are taken in the
/// order the scenario configures the interfaces (as the kernel would give them).
pub fn tc(world: &World, scenario: &Scenario, node: &str) -> String {
    let Some(n) = world.nodes.iter().find(|n| n.name == node) else {
        return String::new();
    };
    let Some(cfg) = scenario.node_by_name(node).map(|id| scenario.node(id)) else {
        return String::new();
    };
    let mut auto = FIRST_AUTO_HANDLE;
    let mut shown: Vec<(&str, String)> = Vec::new();
    for iface in &cfg.ifaces {
        let Some(dev) = (0..n.devs.len())
            .filter_map(|i| n.devs.get(i))
            .find(|d| d.name == iface.name)
        else {
            continue;
        };
        let tree = TcTree::new(&dev.qdisc, &iface.qdisc, &mut auto);
        let mut text = format!("$ tc -s qdisc show dev {}\n{}", dev.name, tree.qdisc_show());
        if tree.root_is_classful() {
            let _ = write!(
                text,
                "$ tc -s class show dev {}\n{}",
                dev.name,
                tree.class_show()
            );
        }
        shown.push((&dev.name, text));
    }
    shown.sort_by(|a, b| a.0.cmp(b.0));
    shown.into_iter().map(|(_, t)| t).collect()
}

/// `NODE.ss.txt`: `ss -tuni` at `now`.
pub fn ss(node: &Node, now: SimTime) -> String {
    let pacing = (
        node.sysctl.tcp_pacing_ss_ratio,
        node.sysctl.tcp_pacing_ca_ratio,
    );
    let now_j = node.jiffies(now) as u32;
    format!("$ ss -tuni\n{}", ss_tuni(&node.socks, now, now_j, pacing))
}

/// `NODE.ip.txt`: `ip -s link`, `ip neigh`, `ip route`, and with IPv6 `ip -6 neigh` and
/// `ip -6 route`. Interface indexes are Linux's: `lo` is 1 (not listed: not modeled), the
/// node's interfaces follow in the order the scenario configures them.
pub fn ip(node: &Node, scenario: &Scenario) -> String {
    let cfg = scenario
        .node_by_name(&node.name)
        .map(|id| scenario.node(id));
    let links: Vec<LinkShow<'_>> = node
        .devs
        .iter()
        .enumerate()
        .map(|(i, dev)| {
            let iface = cfg.and_then(|c| c.ifaces.get(i));
            let noqueue = iface.is_some_and(|f| matches!(f.qdisc, QdiscConfig::Noqueue));
            LinkShow {
                ifindex: i as u32 + 2,
                dev,
                qdisc: if noqueue { "noqueue" } else { dev.qdisc.kind() },
                qlen: match &dev.kind {
                    DevKind::Tun(q) => q.limit,
                    DevKind::Ether => iface.map_or(1000, |f| f.txqueuelen),
                },
            }
        })
        .collect();
    let mut text = format!("$ ip -s link\n{}", ip_s_link(&links));
    text.push_str("$ ip neigh\n");
    for dev in node.devs.iter() {
        text.push_str(&neigh_show(&dev.neigh, &dev.name));
    }
    let devs: Vec<(&str, _)> = node
        .devs
        .iter()
        .map(|d| (d.name.as_str(), d.addr))
        .collect();
    let _ = write!(text, "$ ip route\n{}", ip_route(&node.fib.routes(), &devs));
    if node.devs.iter().any(|d| d.inet6.is_some()) {
        text.push_str("$ ip -6 neigh\n");
        for dev in node.devs.iter() {
            text.push_str(&neigh_show(&dev.ndisc, &dev.name));
        }
        let names: Vec<&str> = devs.iter().map(|d| d.0).collect();
        let _ = write!(
            text,
            "$ ip -6 route\n{}",
            ip6_route(node.fib6.routes(), &names)
        );
    }
    text
}

/// `NODE.nstat.txt`: `nstat -a`.
pub fn nstat(node: &Node) -> String {
    format!("$ nstat -a\n{}", nstat_show(&node.snmp, &node.snmp6, false))
}

/// `NODE.iptables.txt`: `iptables -t TABLE -L -v -n` for each table in use, in the order
/// people look at them (filter, nat, mangle, raw); the filter table alone when no table
/// has a rule.
pub fn iptables(node: &Node) -> String {
    let rs = &node.netfilter.ruleset;
    let mut text = String::new();
    for id in [TableId::Filter, TableId::Nat, TableId::Mangle, TableId::Raw] {
        let t = rs.table(id);
        if t.is_trivial() && !(id == TableId::Filter && rs.is_empty()) {
            continue;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        let cmd = if id == TableId::Filter {
            "iptables -L -v -n".to_string()
        } else {
            format!("iptables -t {} -L -v -n", id.name())
        };
        let _ = write!(text, "$ {cmd}\n{}", list(t, ListFormat::default()));
    }
    text
}

/// `NODE.conntrack.txt`: `conntrack -L` (with the count conntrack prints on standard error)
/// and `conntrack -S` at `now`; `None` for a node that does not track connections.
pub fn conntrack(node: &Node, now: SimTime) -> Option<String> {
    // Listing expires entries as the kernel's lookups would; the world's table stays as it is.
    let mut ct = node.netfilter.conntrack.clone()?;
    let list = ct.show_list(now);
    let n = list.lines().count();
    Some(format!(
        "$ conntrack -L\n{list}{}$ conntrack -S\n{}",
        conntrack_list_summary(n),
        ct.show_stats()
    ))
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use sim_core::{Limits, SimDuration, run};
    use sim_stack::trace::Trace;
    use sim_stack::world::Outputs;

    use super::*;

    /// `write_into` at two instants of one run, into folders the caller made: every file
    /// of every node, whole, nothing else left behind, and the later one sees what happened
    /// in between.
    #[test]
    fn write_into_writes_each_instant_whole() {
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/ping.net"),
        )
        .unwrap();
        let loaded = sim_dsl::load_str("ping.net", &src, &sim_dsl::Options::default());
        let sc = loaded.scenario.expect("ping.net loads");
        let outputs = Outputs {
            trace: Trace::disabled(),
            capture: None,
            record_paths: false,
        };
        let (mut world, mut sched) = World::build(&sc, outputs).expect("builds");
        let root = std::env::temp_dir().join(format!("netsim-snapshot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut texts = Vec::new();
        for (i, ms) in [1500u64, 4500].into_iter().enumerate() {
            let until = SimTime::ZERO + SimDuration::from_millis(ms);
            let report = run(&mut world, &mut sched, Limits::until(until), |_| {
                ControlFlow::Continue(())
            });
            let sub = root.join(format!("at{i}"));
            std::fs::create_dir_all(&sub).unwrap();
            let files = write_into(
                &sub,
                &[SnapshotKind::Nstat, SnapshotKind::All],
                &world,
                &sc,
                report.now,
            )
            .unwrap();
            let mut want: Vec<String> = ["a", "b", "r"]
                .iter()
                .flat_map(|n| {
                    ["ip", "iptables", "nstat", "ss", "tc"].map(|k| format!("{n}.{k}.txt"))
                })
                .collect();
            want.sort();
            assert_eq!(files, want);
            let mut on_disk: Vec<String> = std::fs::read_dir(&sub)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            assert_eq!(on_disk, want, "no temporary file left");
            texts.push(std::fs::read_to_string(sub.join("a.nstat.txt")).unwrap());
        }
        // One echo by 1.5 s, four by 4.5 s (one a second from 1 s).
        assert!(
            texts[0].contains("\nIcmpOutEchos                    1 "),
            "{}",
            texts[0]
        );
        assert!(
            texts[1].contains("\nIcmpOutEchos                    4 "),
            "{}",
            texts[1]
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
