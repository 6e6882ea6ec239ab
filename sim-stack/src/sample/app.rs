//! `samples/app.csv`: every chosen app's payload bytes handed to its sockets and received
//! from them so far ([`crate::apps::AppIo`]), one row per app.

use sim_core::SimTime;

use crate::config::{NodeId, Scenario};
use crate::world::World;
use crate::world::distributed::Owner;

use super::csv::Rows;

/// The header of `app.csv`.
pub const HEADER: &str = "time_ns,node,app,tx_bytes,rx_bytes\n";

/// The apps sampled (scenario order) with their `,node,key` text.
#[derive(Debug)]
pub(super) struct AppRows {
    apps: Vec<(usize, String)>,
}

impl AppRows {
    pub(super) fn new(world: &World, scenario: &Scenario, nodes: &[NodeId]) -> Self {
        let mut chosen = vec![false; world.nodes.len()];
        for ni in super::chosen_nodes(world, scenario, nodes) {
            chosen[ni] = true;
        }
        let keys = world.app_keys();
        let apps = keys
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| chosen[world.apps[i].node])
            .map(|(i, key)| {
                (
                    i,
                    format!(",{},{key}", world.nodes[world.apps[i].node].name),
                )
            })
            .collect();
        Self { apps }
    }

    /// Writes the rows of instant `at` (of the apps of the nodes `own` owns, if given);
    /// returns how many.
    pub(super) fn write(
        &self,
        world: &World,
        at: SimTime,
        own: Option<&Owner<'_>>,
        out: &mut Rows,
    ) -> u64 {
        let time = at.as_nanos();
        let mut items = 0;
        for (k, (i, prefix)) in self.apps.iter().enumerate() {
            if let Some(o) = own {
                if !o.node(world.apps[*i].node) {
                    continue;
                }
                out.item(k);
            }
            items += 1;
            let io = world.apps[*i].io;
            out.uint(time);
            out.text(prefix);
            out.int(io.tx_bytes);
            out.int(io.rx_bytes);
            out.end();
        }
        items
    }
}
