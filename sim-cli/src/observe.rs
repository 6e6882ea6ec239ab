//! What `sim run` looks at between events: the time series (`--sample`, the `sample`
//! statement) and the snapshots at chosen instants (`--snapshot-at`). Both are one
//! [`sim_core::Observer`] of the world, so the run handles the same events in the same order
//! with them or without them.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sim_core::{Observer, SimDuration, SimTime};
use sim_stack::config::{SampleConfig, Scenario};
use sim_stack::sample::{SampleKind, Sampler};
use sim_stack::world::World;

use crate::snapshot::SnapshotKind;

/// The folder of the output folder the time series go into.
pub const SAMPLES_DIR: &str = "samples";

/// `--sample`: an interval, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleArg {
    /// Record nothing, even if the scenario has a `sample` statement.
    Off,
    /// Record every this often: what the scenario's `sample` statement chooses, or
    /// everything.
    Every(SimDuration),
}

impl SampleArg {
    /// The word on the command line (`10ms`, `off`).
    pub fn word(self) -> String {
        match self {
            Self::Off => "off".into(),
            Self::Every(d) => format!("{}ns", d.as_nanos()),
        }
    }
}

impl std::str::FromStr for SampleArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(Self::Off);
        }
        let d: SimDuration = s
            .parse()
            .map_err(|e| format!("`{s}` is not an interval such as `10ms` or `off`: {e}"))?;
        if d == SimDuration::ZERO {
            return Err("the sampling interval must be longer than 0s".into());
        }
        Ok(Self::Every(d))
    }
}

impl serde::Serialize for SampleArg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.word())
    }
}

impl<'de> serde::Deserialize<'de> for SampleArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What is sampled: the scenario's `sample` statement, with `--sample` overriding its
/// interval (or turning it off); `--sample` alone samples everything.
pub fn sample_config(arg: Option<SampleArg>, scenario: &Scenario) -> Option<SampleConfig> {
    match arg {
        Some(SampleArg::Off) => None,
        Some(SampleArg::Every(interval)) => Some(match &scenario.sample {
            Some(c) => SampleConfig {
                interval,
                ..c.clone()
            },
            None => SampleConfig::everything(interval),
        }),
        None => scenario.sample.clone(),
    }
}

/// The folder of the snapshots taken at `at`, under `snapshots/`: `at-1.500000000s`.
pub fn snapshot_folder(at: SimTime) -> String {
    format!("at-{at}s")
}

/// Snapshots at chosen instants.
#[derive(Debug)]
struct SnapshotsAt {
    instants: Vec<SimTime>,
    next: usize,
    kinds: Vec<SnapshotKind>,
    /// The run's partial folder.
    dir: PathBuf,
    /// Files written, relative to the run's folder.
    files: Vec<String>,
}

/// The sampler and the snapshots of one run.
#[derive(Debug)]
pub struct RunObserver<'a> {
    sampler: Option<Sampler>,
    snaps: Option<SnapshotsAt>,
    scenario: &'a Scenario,
    error: Option<io::Error>,
}

/// What the observer wrote.
#[derive(Debug, Default)]
pub struct Observed {
    /// Files written into `samples/` (relative to the run's folder), and rows written.
    pub samples: Option<(Vec<String>, u64)>,
    /// Snapshot files written at chosen instants (relative to the run's folder).
    pub snapshot_files: Vec<String>,
}

impl<'a> RunObserver<'a> {
    /// The observer of a run writing into the partial folder `dir`: samples as `sample`
    /// says, snapshots of `kinds` at `instants` (those after the run's end are ignored).
    pub fn new(
        dir: &Path,
        world: &World,
        scenario: &'a Scenario,
        sample: Option<&SampleConfig>,
        kinds: &[SnapshotKind],
        instants: &[SimTime],
    ) -> io::Result<Self> {
        let sampler = match sample {
            None => None,
            Some(cfg) => {
                let sub = dir.join(SAMPLES_DIR);
                std::fs::create_dir(&sub).map_err(|e| named(&sub, e))?;
                Some(Sampler::new(world, scenario, cfg, |kind| {
                    let path = sub.join(kind.file_name());
                    let f = File::create(&path).map_err(|e| named(&path, e))?;
                    Ok(Box::new(NamedWriter {
                        inner: BufWriter::with_capacity(1 << 16, f),
                        path,
                    }) as Box<dyn Write>)
                })?)
            }
        };
        let mut instants: Vec<SimTime> = instants
            .iter()
            .copied()
            .filter(|&t| t <= scenario.end_time)
            .collect();
        instants.sort();
        instants.dedup();
        let snaps = (!instants.is_empty() && !kinds.is_empty()).then(|| SnapshotsAt {
            instants,
            next: 0,
            kinds: kinds.to_vec(),
            dir: dir.to_path_buf(),
            files: Vec::new(),
        });
        Ok(Self {
            sampler,
            snaps,
            scenario,
            error: None,
        })
    }

    /// Flushes the files; returns what was written, or the first error met.
    pub fn finish(self) -> io::Result<Observed> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut done = Observed::default();
        if let Some(s) = self.sampler {
            let rows = s.rows;
            let files = SampleKind::ALL
                .into_iter()
                .filter(|&k| s.has(k))
                .map(|k| format!("{SAMPLES_DIR}/{}", k.file_name()))
                .collect();
            s.finish()?;
            done.samples = Some((files, rows));
        }
        if let Some(s) = self.snaps {
            done.snapshot_files = s.files;
        }
        Ok(done)
    }
}

impl Observer<World> for RunObserver<'_> {
    fn next_at(&self) -> Option<SimTime> {
        let a = self.sampler.as_ref().and_then(Observer::next_at);
        let b = self
            .snaps
            .as_ref()
            .and_then(|s| s.instants.get(s.next).copied());
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn observe(&mut self, world: &World, at: SimTime) -> ControlFlow<()> {
        if let Some(s) = &mut self.sampler
            && s.next_at() == Some(at)
        {
            s.observe(world, at)?;
        }
        if let Some(s) = &mut self.snaps
            && s.instants.get(s.next) == Some(&at)
        {
            s.next += 1;
            let folder = snapshot_folder(at);
            let sub = s.dir.join(crate::snapshot::DIR).join(&folder);
            let written = std::fs::create_dir_all(&sub)
                .map_err(|e| named(&sub, e))
                .and_then(|()| {
                    crate::snapshot::write_into(&sub, &s.kinds, world, self.scenario, at)
                });
            match written {
                Ok(names) => s.files.extend(
                    std::iter::once(format!("{}/{folder}", crate::snapshot::DIR)).chain(
                        names
                            .into_iter()
                            .map(|n| format!("{}/{folder}/{n}", crate::snapshot::DIR)),
                    ),
                ),
                Err(e) => {
                    self.error = Some(e);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A buffered file whose errors name it.
struct NamedWriter {
    inner: BufWriter<File>,
    path: PathBuf,
}

impl Write for NamedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| named(&self.path, e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| named(&self.path, e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| named(&self.path, e))
    }
}
