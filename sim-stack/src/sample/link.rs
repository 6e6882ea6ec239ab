//! `samples/link.csv`: every chosen link direction — frames, bytes and losses so far, and
//! how busy the sender's line was over the last interval — one row per direction.

use std::collections::BTreeSet;

use sim_core::{SimDuration, SimTime};

use crate::config::{LinkEnd, Scenario};
use crate::world::World;
use crate::world::distributed::Owner;

use super::csv::Rows;

/// The header of `link.csv`.
pub const HEADER: &str = "time_ns,from,to,rate_bps,frames,bytes,lost,util\n";

/// One direction sampled.
#[derive(Debug)]
struct Dir {
    link: usize,
    dir: usize,
    /// `,from,to`.
    names: String,
}

/// The directions sampled (scenario link order, direction 0 first), with the line's busy
/// time at the previous instant.
#[derive(Debug)]
pub(super) struct LinkRows {
    dirs: Vec<Dir>,
    busy_before: Vec<u64>,
}

impl LinkRows {
    /// Directions sent from `ends` (every direction when empty).
    pub(super) fn new(world: &World, scenario: &Scenario, ends: &[LinkEnd]) -> Self {
        let chosen: BTreeSet<String> = ends.iter().map(|&e| scenario.end_name(e)).collect();
        let mut dirs = Vec::new();
        for (li, l) in world.shared.links.iter().enumerate() {
            for dir in 0..2 {
                let (fn_, fi) = world.port_names(l.ends[dir]);
                let from = format!("{fn_}.{fi}");
                if !ends.is_empty() && !chosen.contains(&from) {
                    continue;
                }
                let (tn, ti) = world.port_names(l.ends[1 - dir]);
                dirs.push(Dir {
                    link: li,
                    dir,
                    names: format!(",{from},{tn}.{ti}"),
                });
            }
        }
        let busy_before = vec![0; dirs.len()];
        Self { dirs, busy_before }
    }

    /// Writes the rows of instant `at` (`interval` after the previous one; of the
    /// directions `own` transmits on, if given); returns how many.
    pub(super) fn write(
        &mut self,
        world: &World,
        at: SimTime,
        interval: SimDuration,
        own: Option<&Owner<'_>>,
        out: &mut Rows,
    ) -> u64 {
        let time = at.as_nanos();
        let span = interval.as_nanos().min(time);
        let mut items = 0;
        for (k, (d, before)) in self.dirs.iter().zip(&mut self.busy_before).enumerate() {
            let l = &world.shared.links[d.link];
            if let Some(o) = own {
                if !o.link_dir(l, d.dir) {
                    continue;
                }
                out.item(k);
            }
            items += 1;
            let s = &l.stats[d.dir];
            let busy = l.line[d.dir].busy_at(at);
            let util = if span == 0 {
                0
            } else {
                ((u128::from(busy - *before) * 1_000_000 + u128::from(span / 2)) / u128::from(span))
                    as u64
            };
            *before = busy;
            out.uint(time);
            out.text(&d.names);
            for v in [l.rate_bps, s.frames, s.bytes, s.lost] {
                out.int(v);
            }
            out.fraction(util);
            out.end();
        }
        items
    }
}
