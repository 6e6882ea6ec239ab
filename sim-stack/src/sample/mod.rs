//! Time series of a run (`sim run --sample 10ms`, or the `sample` statement): at every
//! sampling instant, one CSV row per object of each kind sampled — TCP sockets as
//! `tcp_info` reports them ([`tcp`]), root qdiscs ([`qdisc`]), link directions ([`link`]),
//! apps ([`app`]).
//!
//! The [`Sampler`] is a [`sim_core::Observer`] of the [`World`]: the run loop calls it
//! between events and it only reads, so a run handles the same events in the same order with
//! or without it, and every other output stays byte-identical. Instants are 0, I, 2I, … up
//! to the end of the run; a sample at T sees every event due at or before T.
//!
//! In a run over ranks it is a [`RankObserver`]: each rank writes the rows of what it owns
//! (its nodes' sockets, qdiscs and apps, the link directions it transmits on, whose busy
//! time it alone keeps), and rank 0 puts every rank's rows in the order a run in one
//! process writes them.

use std::io::{self, Write};
use std::ops::ControlFlow;

use sim_core::{Observer, SimDuration, SimTime};

use crate::config::{SampleConfig, Scenario};
use crate::world::World;
use crate::world::distributed::{Owner, RankObserver, put, put_bytes, take, take_bytes};

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
            self.rows += s.rows.write(world, at, None, &mut s.buf);
            s.flush_rows()?;
        }
        if let Some(s) = &mut self.qdisc {
            self.rows += s.rows.write(world, at, None, &mut s.buf);
            s.flush_rows()?;
        }
        if let Some(s) = &mut self.link {
            self.rows += s.rows.write(world, at, self.interval, None, &mut s.buf);
            s.flush_rows()?;
        }
        if let Some(s) = &mut self.app {
            self.rows += s.rows.write(world, at, None, &mut s.buf);
            s.flush_rows()?;
        }
        self.samples += 1;
        Ok(())
    }

    /// The next instant after `at`, when sampling goes on.
    fn after(&self, at: SimTime) -> Option<SimTime> {
        let next = at + self.interval;
        (next <= self.end).then_some(next)
    }

    /// A rank's share of the sample of instant `at` ([`RankObserver::share`]): each kind's
    /// row count, then its rows of what `own` owns in runs of consecutive items, each with
    /// the place of its first item in the sequential order.
    fn share_of(&mut self, world: &World, at: SimTime, own: &Owner<'_>) -> Vec<u8> {
        fn put_rows(out: &mut Vec<u8>, rows: u64, buf: &mut csv::Rows) {
            put(out, rows);
            put(out, buf.runs().count() as u64);
            for (i, bytes) in buf.runs() {
                put(out, u64::from(i));
                put_bytes(out, bytes);
            }
            buf.clear();
        }
        let mut out = Vec::new();
        if let Some(s) = &mut self.tcp {
            let rows = s.rows.write(world, at, Some(own), &mut s.buf);
            put_rows(&mut out, rows, &mut s.buf);
        }
        if let Some(s) = &mut self.qdisc {
            let rows = s.rows.write(world, at, Some(own), &mut s.buf);
            put_rows(&mut out, rows, &mut s.buf);
        }
        if let Some(s) = &mut self.link {
            let rows = s
                .rows
                .write(world, at, self.interval, Some(own), &mut s.buf);
            put_rows(&mut out, rows, &mut s.buf);
        }
        if let Some(s) = &mut self.app {
            let rows = s.rows.write(world, at, Some(own), &mut s.buf);
            put_rows(&mut out, rows, &mut s.buf);
        }
        out
    }

    /// Writes one sample from every rank's share ([`Self::share_of`]): each kind's runs of
    /// rows in the sequential order.
    fn write_shares(&mut self, shares: &[Vec<u8>]) -> io::Result<()> {
        let mut inputs: Vec<&[u8]> = shares.iter().map(Vec::as_slice).collect();
        let outs = [
            self.tcp.as_mut().map(|s| &mut s.out),
            self.qdisc.as_mut().map(|s| &mut s.out),
            self.link.as_mut().map(|s| &mut s.out),
            self.app.as_mut().map(|s| &mut s.out),
        ];
        let mut runs: Vec<(u64, &[u8])> = Vec::new();
        for out in outs.into_iter().flatten() {
            runs.clear();
            for inp in &mut inputs {
                self.rows += take(inp);
                for _ in 0..take(inp) {
                    let i = take(inp);
                    runs.push((i, take_bytes(inp)));
                }
            }
            runs.sort_unstable_by_key(|r| r.0);
            for (_, bytes) in &runs {
                out.write_all(bytes)?;
            }
        }
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
        self.next = self.after(at).filter(|_| self.error.is_none());
        if let Err(e) = self.sample(world, at) {
            self.error = Some(e);
            self.next = None;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

impl RankObserver for Sampler {
    fn next_at(&self) -> Option<SimTime> {
        self.next
    }

    fn share(&mut self, world: &World, at: SimTime, own: &Owner<'_>) -> Vec<u8> {
        // The same instants on every rank, whatever rank 0 met writing.
        self.next = self.after(at);
        self.samples += 1;
        self.share_of(world, at, own)
    }

    fn write(&mut self, _: &World, _: SimTime, shares: Vec<Vec<u8>>) -> ControlFlow<()> {
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        if let Err(e) = self.write_shares(&shares) {
            self.error = Some(e);
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
