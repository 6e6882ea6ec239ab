//! `run.json`: how long a run took on the wall clock and how fast it went.
//!
//! `sim run` prints these figures in its summary; they change from run to run, so they stay
//! out of `stats.json` and `params.json` (which are byte-identical across reruns). The run
//! writes them into this small file of its folder instead, for `sim report` to show.

use std::io;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The file's name in a run's folder.
pub const FILE: &str = "run.json";

/// What `run.json` holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunTiming {
    /// Wall-clock time of the simulation proper (not loading, not writing), ns.
    pub wall_ns: u64,
    /// Events handled per wall-clock second.
    pub events_per_s: f64,
    /// Simulated seconds per wall-clock second (`× real time`).
    pub sim_per_wall: f64,
    /// How a run on several threads (`--threads`) went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<ParallelTiming>,
}

/// The figures of a run on several threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParallelTiming {
    /// Partitions, each on its thread.
    pub threads: usize,
    /// Links between partitions.
    pub cut_links: usize,
    /// The window length: the smallest delay of a cut link (plus a minimum frame's
    /// serialization), ns.
    pub lookahead_ns: u64,
    /// Windows run.
    pub windows: u64,
    /// Frames handed from one partition to another.
    pub cross_frames: u64,
    /// Wall time the first thread waited for the others at the ends of windows, ns.
    pub wait_ns: u64,
    /// Wall time spent between windows handing frames over and merging outputs, ns.
    pub serial_ns: u64,
}

impl ParallelTiming {
    /// The figures of `s`.
    pub fn of(s: &sim_stack::world::ParallelStats) -> Self {
        Self {
            threads: s.parts,
            cut_links: s.cut_links,
            lookahead_ns: s.lookahead_ns,
            windows: s.windows,
            cross_frames: s.cross_frames,
            wait_ns: s.wait_ns,
            serial_ns: s.serial_ns,
        }
    }
}

impl RunTiming {
    /// The timing of a run that handled `events` events and reached `sim_ns` of simulated
    /// time in `wall`.
    pub fn new(wall: Duration, events: u64, sim_ns: u64) -> Self {
        let wall_ns = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
        // A run too short to measure counts as 1 ns, as the summary does.
        let secs = (wall_ns.max(1)) as f64 / 1e9;
        Self {
            wall_ns,
            events_per_s: events as f64 / secs,
            sim_per_wall: sim_ns as f64 / 1e9 / secs,
            parallel: None,
        }
    }

    /// Reads `dir/run.json`: `Ok(None)` when the run has none (an older sim wrote it).
    pub fn read(dir: &Path) -> Result<Option<Self>, String> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{} is not a run's run.json: {e}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }
}

/// Writes `run.json` into `dir` (a run's partial folder), the file's errors naming it.
pub fn write(dir: &Path, timing: &RunTiming) -> io::Result<()> {
    let path = dir.join(FILE);
    let mut text = serde_json::to_string_pretty(timing).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(&path, text)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_figures_follow_from_wall_events_and_sim_time() {
        let t = RunTiming::new(Duration::from_millis(500), 1_000_000, 10_000_000_000);
        assert_eq!(t.wall_ns, 500_000_000);
        assert!((t.events_per_s - 2_000_000.0).abs() < 1e-6);
        assert!((t.sim_per_wall - 20.0).abs() < 1e-9);
        // Too fast to measure: no division by zero, no infinity.
        let z = RunTiming::new(Duration::ZERO, 44, 6_000_000_000);
        assert!(z.events_per_s.is_finite() && z.sim_per_wall.is_finite());
    }

    #[test]
    fn written_and_read_back() {
        let dir = std::env::temp_dir().join(format!("netsim-timing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(RunTiming::read(&dir).unwrap(), None);
        let t = RunTiming::new(Duration::from_micros(1234), 185, 10_000_000_000);
        write(&dir, &t).unwrap();
        let back = RunTiming::read(&dir).unwrap().unwrap();
        assert_eq!(back.wall_ns, t.wall_ns);
        assert!((back.events_per_s / t.events_per_s - 1.0).abs() < 1e-12);
        std::fs::write(dir.join(FILE), "{").unwrap();
        assert!(RunTiming::read(&dir).unwrap_err().contains("run.json"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
