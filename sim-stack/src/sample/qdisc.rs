//! `samples/qdisc.csv`: every chosen interface's root qdisc — its backlog now and its
//! counters so far, as `tc -s qdisc` shows them — one row per interface.

use std::collections::BTreeMap;

use sim_core::SimTime;

use crate::config::{LinkEnd, Scenario};
use crate::qdisc::Qdisc;
use crate::world::World;
use crate::world::distributed::Owner;

use super::csv::Rows;

/// The header of `qdisc.csv`.
pub const HEADER: &str = "time_ns,node,dev,kind,backlog_bytes,backlog_pkts,sent_bytes,\
sent_pkts,drops,overlimits,requeues,marks\n";

/// The (node, device) indices sampled, in scenario order, with their `,node,dev,` text.
#[derive(Debug)]
pub(super) struct QdiscRows {
    devs: Vec<(usize, usize, String)>,
}

/// Packets the qdisc CE-marked instead of dropping: fq_codel's CoDel and `ce_threshold`
/// marks, RED's marks, fq's `ce_threshold` marks; 0 for the kinds that never mark.
pub fn marks(q: &Qdisc) -> u64 {
    if let Some(s) = q.fq_codel_stats() {
        s.ecn_mark + s.ce_mark
    } else if let Some(s) = q.red_stats() {
        s.marked
    } else if let Some(s) = q.fq_stats() {
        s.ce_mark
    } else {
        0
    }
}

impl QdiscRows {
    pub(super) fn new(world: &World, scenario: &Scenario, ends: &[LinkEnd]) -> Self {
        let devs: Vec<(usize, usize)> = if ends.is_empty() {
            world
                .nodes
                .iter()
                .enumerate()
                .flat_map(|(ni, n)| (0..n.devs.len()).map(move |di| (ni, di)))
                .collect()
        } else {
            let index: BTreeMap<&str, usize> = world
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), i))
                .collect();
            ends.iter()
                .filter_map(|&e| {
                    let node = scenario.node(e.node);
                    let ni = *index.get(node.name.as_str())?;
                    let iface = &node.ifaces[e.iface.index()].name;
                    let n = &world.nodes[ni];
                    let di = (0..n.devs.len())
                        .find(|&d| n.devs.get(d).is_some_and(|d| &d.name == iface))?;
                    Some((ni, di))
                })
                .collect()
        };
        let devs = devs
            .into_iter()
            .filter_map(|(ni, di)| {
                let n = &world.nodes[ni];
                let d = n.devs.get(di)?;
                Some((ni, di, format!(",{},{},", n.name, d.name)))
            })
            .collect();
        Self { devs }
    }

    /// Writes the rows of instant `at` (of the nodes `own` owns, if given); returns how many.
    pub(super) fn write(
        &self,
        world: &World,
        at: SimTime,
        own: Option<&Owner<'_>>,
        out: &mut Rows,
    ) -> u64 {
        let time = at.as_nanos();
        let mut items = 0;
        for (k, (ni, di, prefix)) in self.devs.iter().enumerate() {
            if let Some(o) = own {
                if !o.node(*ni) {
                    continue;
                }
                out.item(k);
            }
            items += 1;
            let Some(d) = world.nodes[*ni].devs.get(*di) else {
                continue;
            };
            let s = d.qdisc.stats();
            out.uint(time);
            out.text(prefix);
            out.text(d.qdisc.kind());
            for v in [
                s.backlog,
                s.qlen,
                s.bytes,
                s.packets,
                s.drops,
                s.overlimits,
                s.requeues,
                marks(&d.qdisc),
            ] {
                out.int(v);
            }
            out.end();
        }
        items
    }
}
