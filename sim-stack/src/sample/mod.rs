//! Time series of a run (`sim run --sample 10ms`, or the `sample` statement): at every
//! sampling instant, one CSV row per object of each kind sampled — TCP sockets as
//! `tcp_info` reports them ([`tcp`]), root qdiscs ([`qdisc`]), link directions ([`link`]),
//! apps ([`app`]).
//!
//! The [`Sampler`] is a [`sim_core::Observer`] of the [`World`]: the run loop calls it
//! between events and it only reads, so a run handles the same events in the same order with
//! or without it, and every other output stays byte-identical. Instants are 0, I, 2I, … up
//! to the end of the run; a sample at T sees every event due at or before T.

use std::io::{self, Write};
use std::ops::ControlFlow;

use sim_core::{Observer, SimDuration, SimTime};

use crate::config::{SampleConfig, Scenario};
use crate::world::World;

pub mod app;
mod csv;
pub mod link;
pub mod qdisc;
pub mod tcp;

/// A kind of time series, and its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SampleKind {
    /// `tcp.csv`: every TCP socket's `tcp_info`.
    Tcp,
    /// `qdisc.csv`: every root qdisc's backlog and counters.
    Qdisc,
    /// `link.csv`: every link direction's counters and utilization.
    Link,
    /// `app.csv`: every app's bytes sent and received.
    App,
}

impl SampleKind {
    /// Every kind, in file order.
    pub const ALL: [Self; 4] = [Self::Tcp, Self::Qdisc, Self::Link, Self::App];

    /// The file it is written to, in the output folder's `samples/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp.csv",
            Self::Qdisc => "qdisc.csv",
            Self::Link => "link.csv",
            Self::App => "app.csv",
        }
    }

    /// Its CSV header line (with the line break).
    pub fn header(self) -> &'static str {
        match self {
            Self::Tcp => tcp::HEADER,
            Self::Qdisc => qdisc::HEADER,
            Self::Link => link::HEADER,
            Self::App => app::HEADER,
        }
    }

    /// Whether `cfg` samples this kind.
    pub fn chosen(self, cfg: &SampleConfig) -> bool {
        match self {
            Self::Tcp => cfg.tcp.is_some(),
            Self::Qdisc => cfg.qdisc.is_some(),
            Self::Link => cfg.link.is_some(),
            Self::App => cfg.app.is_some(),
        }
    }
}

/// One kind's rows and where they go.
struct Series<S> {
    rows: S,
    buf: csv::Rows,
    out: Box<dyn Write>,
}

impl<S> Series<S> {
    fn new(rows: S, out: Box<dyn Write>) -> Self {
        Self {
            rows,
            buf: csv::Rows::default(),
            out,
        }
    }

    /// Writes out the rows of one sample.
    fn flush_rows(&mut self) -> io::Result<()> {
        self.out.write_all(self.buf.bytes())?;
        self.buf.clear();
        Ok(())
    }
}

/// Records the chosen time series of a [`World`] into CSV writers.
pub struct Sampler {
    interval: SimDuration,
    next: Option<SimTime>,
    end: SimTime,
    tcp: Option<Series<tcp::TcpRows>>,
    qdisc: Option<Series<qdisc::QdiscRows>>,
    link: Option<Series<link::LinkRows>>,
    app: Option<Series<app::AppRows>>,
    /// The first write error (the run stops there).
    error: Option<io::Error>,
    /// Sampling instants taken.
    pub samples: u64,
    /// Rows written, all kinds.
    pub rows: u64,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("interval", &self.interval)
            .field("next", &self.next)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl Sampler {
    /// A sampler of `world` (built from `scenario`) as `cfg` says, until `scenario.end_time`;
    /// `open` gives the writer of each kind chosen (called once per kind, in
    /// [`SampleKind::ALL`] order), and the header is written at once.
    pub fn new(
        world: &World,
        scenario: &Scenario,
        cfg: &SampleConfig,
        mut open: impl FnMut(SampleKind) -> io::Result<Box<dyn Write>>,
    ) -> io::Result<Self> {
        let mut series = |kind: SampleKind| -> io::Result<Option<Box<dyn Write>>> {
            if !kind.chosen(cfg) {
                return Ok(None);
            }
            let mut out = open(kind)?;
            out.write_all(kind.header().as_bytes())?;
            Ok(Some(out))
        };
        let tcp = series(SampleKind::Tcp)?.map(|out| {
            Series::new(
                tcp::TcpRows::new(world, scenario, cfg.tcp.as_deref().unwrap_or(&[])),
                out,
            )
        });
        let qdisc = series(SampleKind::Qdisc)?.map(|out| {
            Series::new(
                qdisc::QdiscRows::new(world, scenario, cfg.qdisc.as_deref().unwrap_or(&[])),
                out,
            )
        });
        let link = series(SampleKind::Link)?.map(|out| {
            Series::new(
                link::LinkRows::new(world, scenario, cfg.link.as_deref().unwrap_or(&[])),
                out,
            )
        });
        let app = series(SampleKind::App)?.map(|out| {
            Series::new(
                app::AppRows::new(world, scenario, cfg.app.as_deref().unwrap_or(&[])),
                out,
            )
        });
        Ok(Self {
            interval: cfg.interval.max(SimDuration::from_nanos(1)),
            next: Some(SimTime::ZERO),
            end: scenario.end_time,
            tcp,
            qdisc,
            link,
            app,
            error: None,
            samples: 0,
            rows: 0,
        })
    }

    /// Whether it records `kind`.
    pub fn has(&self, kind: SampleKind) -> bool {
        match kind {
            SampleKind::Tcp => self.tcp.is_some(),
            SampleKind::Qdisc => self.qdisc.is_some(),
            SampleKind::Link => self.link.is_some(),
            SampleKind::App => self.app.is_some(),
        }
    }

    /// Takes the sample of instant `at`.
    fn sample(&mut self, world: &World, at: SimTime) -> io::Result<()> {
        if let Some(s) = &mut self.tcp {
            self.rows += s.rows.write(world, at, &mut s.buf);
            s.flush_rows()?;
        }
        if let Some(s) = &mut self.qdisc {
            self.rows += s.rows.write(world, at, &mut s.buf);
            s.flush_rows()?;
        }
        if let Some(s) = &mut self.link {
            self.rows += s.rows.write(world, at, self.interval, &mut s.buf);
            s.flush_rows()?;
        }
        if let Some(s) = &mut self.app {
            self.rows += s.rows.write(world, at, &mut s.buf);
            s.flush_rows()?;
        }
        self.samples += 1;
        Ok(())
    }

    /// Flushes every file; returns the first error met while sampling or flushing.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for out in [
            self.tcp.as_mut().map(|s| &mut s.out),
            self.qdisc.as_mut().map(|s| &mut s.out),
            self.link.as_mut().map(|s| &mut s.out),
            self.app.as_mut().map(|s| &mut s.out),
        ]
        .into_iter()
        .flatten()
        {
            out.flush()?;
        }
        Ok(())
    }
}

impl Observer<World> for Sampler {
    fn next_at(&self) -> Option<SimTime> {
        self.next
    }

    fn observe(&mut self, world: &World, at: SimTime) -> ControlFlow<()> {
        let next = at + self.interval;
        self.next = (next <= self.end && self.error.is_none()).then_some(next);
        if let Err(e) = self.sample(world, at) {
            self.error = Some(e);
            self.next = None;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Indices in `world.nodes` of the nodes `ids` names (all hosts and routers when empty),
/// in scenario order.
fn chosen_nodes(world: &World, scenario: &Scenario, ids: &[crate::config::NodeId]) -> Vec<usize> {
    if ids.is_empty() {
        return (0..world.nodes.len()).collect();
    }
    let index: std::collections::BTreeMap<&str, usize> = world
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    ids.iter()
        .filter_map(|&id| index.get(scenario.node(id).name.as_str()).copied())
        .collect()
}
