//! `sim run --snapshot KIND,…`: text files per node, written at the end of the run into
//! `snapshots/` of the output folder, in the formats of the Linux tools people read every
//! day, so that they diff against a real machine.
//!
//! * `tc`: `snapshots/NODE.tc.txt`, for each interface in name order, the commands and what
//!   they print as a terminal shows them: `$ tc -s qdisc show dev IFACE` and its output, then,
//!   when the root qdisc is classful (htb, prio), `$ tc -s class show dev IFACE` and its
//!   output ([`sim_stack::qdisc::tc_show`]).
//!
//! The files are written into the run's partial folder with everything else, so they appear
//! with the folder, whole, or not at all; `params.json` lists them.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use sim_stack::config::Scenario;
use sim_stack::qdisc::tc_show::{FIRST_AUTO_HANDLE, TcTree};
use sim_stack::world::World;

/// The folder of the output folder the snapshots go into.
pub const DIR: &str = "snapshots";

/// What a snapshot shows (`--snapshot tc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// `tc -s qdisc show` (and `tc -s class show` for classful roots) per interface.
    Tc,
}

impl SnapshotKind {
    /// The word on the command line.
    pub fn word(self) -> &'static str {
        match self {
            Self::Tc => "tc",
        }
    }
}

/// Writes the snapshots of `kinds` for every node of `world` (built from `scenario`) into
/// `dir`'s `snapshots/` folder; returns the files written, relative to `dir`, in name order.
pub fn write(
    dir: &Path,
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    if kinds.is_empty() {
        return Ok(files);
    }
    let sub = dir.join(DIR);
    // (It exists already when `--snapshot-at` took snapshots during the run.)
    std::fs::create_dir_all(&sub).map_err(|e| named(&sub, e))?;
    let names = write_into(&sub, kinds, world, scenario, world.now)?;
    files.extend(names.into_iter().map(|n| format!("{DIR}/{n}")));
    files.sort();
    Ok(files)
}

/// Writes the snapshots of `kinds` for every node of `world` at `now` into the existing
/// folder `sub`; returns the names of the files written, in name order.
pub fn write_into(
    sub: &Path,
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
    _now: sim_core::SimTime,
) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    for node in &world.nodes {
        for kind in kinds {
            let text = match kind {
                SnapshotKind::Tc => tc(world, scenario, &node.name),
            };
            let name = format!("{}.{}.txt", node.name, kind.word());
            let path = sub.join(&name);
            std::fs::write(&path, text).map_err(|e| named(&path, e))?;
            files.push(name);
        }
    }
    files.sort();
    Ok(files)
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
