//! `samples/link.csv`: every chosen link direction — frames, bytes and losses so far, and
//! how busy the sender's line was over the last interval — one row per direction.

use std::collections::BTreeSet;
use std::io::{self, Write};

use sim_core::{SimDuration, SimTime};

use crate::config::{LinkEnd, Scenario};
use crate::world::World;

/// The header of `link.csv`.
pub const HEADER: &str = "time_ns,from,to,rate_bps,frames,bytes,lost,util\n";

/// One direction sampled.
#[derive(Debug)]
struct Dir {
    link: usize,
    dir: usize,
    from: String,
    to: String,
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
        for (li, l) in world.links.iter().enumerate() {
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
                    from,
                    to: format!("{tn}.{ti}"),
                });
            }
        }
        let busy_before = vec![0; dirs.len()];
        Self { dirs, busy_before }
    }

    /// Writes the rows of instant `at` (`interval` after the previous one); returns how many.
    pub(super) fn write(
        &mut self,
        world: &World,
        at: SimTime,
        interval: SimDuration,
        out: &mut dyn Write,
    ) -> io::Result<u64> {
        let time = at.as_nanos();
        let span = interval.as_nanos().min(time);
        for (d, before) in self.dirs.iter().zip(&mut self.busy_before) {
            let l = &world.links[d.link];
            let s = &l.stats[d.dir];
            let busy = l.line[d.dir].busy_at(at);
            let util = if span == 0 {
                0.0
            } else {
                (busy - *before) as f64 / span as f64
            };
            *before = busy;
            writeln!(
                out,
                "{time},{},{},{},{},{},{},{}",
                d.from,
                d.to,
                l.rate_bps,
                s.frames,
                s.bytes,
                s.lost,
                Util(util),
            )?;
        }
        Ok(self.dirs.len() as u64)
    }
}

/// A fraction printed with 6 decimals, trailing zeros trimmed (`0.5`, `1`, `0.123457`).
struct Util(f64);

impl std::fmt::Display for Util {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = format!("{:.6}", self.0);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        f.write_str(s)
    }
}
