//! One run over several processes (MPI ranks, `mpirun -np N sim run --mpi`): each rank
//! builds the whole world from the scenario, as every process does, and owns one partition
//! of it ([`Partitioning`], one part per rank), as a thread does in [`super::parallel`].
//! What the threads share in memory goes through a [`Comm`] instead:
//!
//! - **windows**: one reduction per window agrees on the earliest pending event anywhere
//!   (or that a rank stopped, or was asked to: a signal); every rank then runs its events
//!   due before that instant plus the lookahead;
//! - **frames** sent over a cut link during a window go to the rank that owns the far end as
//!   bytes (the frame and the skb fields its receive path reads, with the order key and
//!   number it got at the sender), in one all-to-all exchange per window;
//! - **outputs**: each rank's trace lines, `tcp_probe` lines and captured frames of the
//!   window, with the marks of the events that wrote them, are gathered at rank 0 and merged
//!   in the sequential order, as the threads' are;
//! - **the end** ([`end_ranks`]): the ranks agree on the clock and send rank 0 the counters of
//!   what they own — their nodes' stats.json objects as they wrote them (spliced in
//!   unchanged), their switches' ports, the link directions they transmit on, their drops and
//!   `dc_flows` reports.
//!
//! - **observers** ([`RankObserver`]: samples, snapshots): windows end at their instants,
//!   as the threads' do; there each rank renders what it owns ([`Owner`]: its nodes'
//!   sockets, qdiscs and apps, the link directions it transmits on), tagged with each item's
//!   place in the sequential order, and rank 0 gathers the shares and writes them in that
//!   order.
//!
//! So rank 0 writes the same bytes as a run in one process.

use std::ops::ControlFlow;

use sim_core::{
    Limits, OrderKey, Progress, RunReport, Scheduler, SimDuration, SimTime, StopReason,
};

use super::parallel::{
    Maps, OutBuf, PartArena, PartModel, PartState, Partitioning, local_numbers, merge_bufs,
};
use super::report::AppsByNode;
use super::{Drops, RunTotals, StatsView, World};
use crate::apps::AppReport;
use crate::apps::dc_flows::{DcFlowsReport, FctSummary};
use crate::capture::{CaptureIf, FrameLog, LoggedFrame};
use crate::ctx::Shared;
use crate::event::Event;
use crate::link::CrossFrame;
use crate::skb::SkbPool;
use crate::stats::LinkStats;
use crate::switch::SwitchPortStats;

/// What ranks say to each other: MPI's collectives, as the run needs them.
pub trait Comm {
    /// This process's rank.
    fn rank(&self) -> usize;
    /// How many ranks.
    fn size(&self) -> usize;
    /// The smallest of every rank's `v` (`MPI_Allreduce` with `MPI_MIN`).
    fn all_min(&mut self, v: u64) -> u64;
    /// Sends `out[r]` to rank `r`; returns what each rank sent this one (`MPI_Alltoallv`).
    fn all_to_all(&mut self, out: Vec<Vec<u8>>) -> Vec<Vec<u8>>;
    /// Every rank's bytes, at rank 0 (`MPI_Gatherv`); `None` on the others.
    fn gather(&mut self, bytes: Vec<u8>) -> Option<Vec<Vec<u8>>>;
    /// Ends every rank's process with exit status `code` (`MPI_Abort`): one rank failed, and
    /// the others may be waiting for it.
    fn abort(&self, code: i32) -> !;
}

/// How a distributed run went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RankStats {
    /// Windows run.
    pub windows: u64,
    /// Frames this rank sent to others.
    pub frames_out: u64,
    /// Events this rank handled.
    pub events: u64,
    /// The code the ranks stopped with when a rank's `progress` asked to stop (the smallest
    /// asked; [`StopReason::Interrupted`]).
    pub stop_code: Option<u8>,
}

/// What one rank owns of the world in a distributed run: its partition's nodes (their
/// sockets, qdiscs, counters and apps), switches, and the link directions it transmits on.
/// Between windows the world of a rank holds these as they are; the rest as it was built.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    plan: &'a Partitioning,
    rank: usize,
}

impl<'a> Owner<'a> {
    /// What `rank` owns of a world split by `plan`.
    pub fn new(plan: &'a Partitioning, rank: usize) -> Self {
        Self { plan, rank }
    }

    /// Whether it owns node `ni` (an index in `world.nodes`), and so its apps.
    #[inline]
    pub fn node(&self, ni: usize) -> bool {
        self.plan.node_part[ni] as usize == self.rank
    }

    /// Whether it transmits on direction `dir` of `link` (from `link.ends[dir]`).
    #[inline]
    pub fn link_dir(&self, link: &crate::link::Link, dir: usize) -> bool {
        self.plan.of_port(link.ends[dir]) == self.rank
    }
}

/// An observer of a distributed run ([`run_rank`]), as [`sim_core::Observer`] is of a run in
/// one process: at each of its instants every rank renders what it owns ([`share`]), and
/// rank 0 gets every rank's share, in rank order, and writes ([`write`]). One gather per
/// instant.
///
/// Its instants must be the same on every rank, whatever [`write`] met: a rank 0 that
/// cannot write asks the run to stop ([`ControlFlow::Break`]), and every rank stops at the
/// next window, having looked at the same instants.
///
/// [`share`]: Self::share
/// [`write`]: Self::write
pub trait RankObserver {
    /// The next instant it wants to look at; `None` when it wants no more.
    fn next_at(&self) -> Option<SimTime>;
    /// This rank's share of the look at `at` (its next instant): what `own` says it owns of
    /// `world`, as bytes for rank 0. Moves on to the next instant.
    fn share(&mut self, world: &World, at: SimTime, own: &Owner<'_>) -> Vec<u8>;
    /// At rank 0: writes the look at `at` from every rank's share, in rank order.
    /// [`ControlFlow::Break`] stops the run (an output it cannot write).
    fn write(&mut self, world: &World, at: SimTime, shares: Vec<Vec<u8>>) -> ControlFlow<()>;
}

impl RankObserver for sim_core::NoObserver {
    fn next_at(&self) -> Option<SimTime> {
        None
    }
    fn share(&mut self, _: &World, _: SimTime, _: &Owner<'_>) -> Vec<u8> {
        Vec::new()
    }
    fn write(&mut self, _: &World, _: SimTime, _: Vec<Vec<u8>>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

impl<O: RankObserver> RankObserver for Option<O> {
    fn next_at(&self) -> Option<SimTime> {
        self.as_ref().and_then(RankObserver::next_at)
    }
    fn share(&mut self, world: &World, at: SimTime, own: &Owner<'_>) -> Vec<u8> {
        self.as_mut()
            .map_or_else(Vec::new, |o| o.share(world, at, own))
    }
    fn write(&mut self, world: &World, at: SimTime, shares: Vec<Vec<u8>>) -> ControlFlow<()> {
        match self {
            Some(o) => o.write(world, at, shares),
            None => ControlFlow::Continue(()),
        }
    }
}

/// Runs this rank's partition of `world` (built with `sched`, the same on every rank) in
/// windows agreed with the other ranks through `comm`, until `limits.until`, looking at it
/// with `observer` at its instants (windows end there, as in [`super::run_parallel`]).
/// Rank 0's world gets the merged trace and capture of every rank.
///
/// `progress` is called before each window with this rank's figures; when it breaks with a
/// code (a signal's number, say), every rank stops before the same window
/// ([`StopReason::Interrupted`], with the smallest code any rank gave in
/// [`RankStats::stop_code`]); the run's clock is then its last event anywhere.
pub fn run_rank<O: RankObserver>(
    world: &mut World,
    sched: Scheduler<Event>,
    plan: &Partitioning,
    limits: Limits,
    observer: &mut O,
    mut progress: impl FnMut(Progress) -> ControlFlow<u8>,
    comm: &mut dyn Comm,
) -> (RunReport, RankStats) {
    assert_eq!(plan.parts, comm.size(), "one partition per rank");
    let me = comm.rank();
    let mut sched = sched
        .split(plan.parts, |e| plan.owner(world, e))
        .into_iter()
        .nth(me)
        .expect("a queue per rank");
    let mut st = PartState::new(world, plan);
    let node_local = local_numbers(plan.node_part.iter().copied(), plan.parts);
    let switch_local = local_numbers(plan.switch_part.iter().copied(), plan.parts);
    let app_local = local_numbers(
        world.apps.iter().map(|a| plan.node_part[a.node]),
        plan.parts,
    );
    let maps = Maps {
        plan,
        node_local: &node_local,
        switch_local: &switch_local,
        app_local: &app_local,
    };
    let own = Owner::new(plan, me);
    let mut run = Windows {
        stats: RankStats::default(),
        now: SimTime::ZERO,
        until: limits.until,
        ahead: plan
            .lookahead
            .unwrap_or(SimDuration::from_millis(100))
            .max(SimDuration::from_nanos(1)),
        marking: PartState::marking(world),
    };
    let mut next_obs = observer.next_at().unwrap_or(SimTime::MAX);
    let mut observer_stopped = false;
    let reason = loop {
        let next = match run_windows(
            world,
            &mut sched,
            &mut st,
            &maps,
            &mut run,
            next_obs,
            observer_stopped,
            &mut progress,
            comm,
        ) {
            Segment::Idle(next) => next,
            Segment::Stopped if observer_stopped => break StopReason::ObserverStopped,
            Segment::Stopped => break StopReason::ModelStopped,
            Segment::Interrupted(code) => {
                run.stats.stop_code = Some(code);
                // Where the run stopped: at its last event anywhere, as a run in one
                // process stopped after as many events says.
                let last = u64::MAX - comm.all_min(u64::MAX - st.last_event.as_nanos());
                run.now = SimTime::from_nanos(last);
                break StopReason::Interrupted;
            }
        };
        // Every event due before `next` has run, on every rank: the instants before it (or
        // up to the end) can be looked at.
        let idle_upto = match next {
            Some(t) if t <= limits.until => t.as_nanos().checked_sub(1).map(SimTime::from_nanos),
            _ => (limits.until != SimTime::MAX).then_some(limits.until),
        };
        if let Some(upto) = idle_upto.filter(|&u| next_obs <= u) {
            sync_links(world, &st, &own);
            observer_stopped |=
                observe_ranks(world, observer, &mut next_obs, upto, &own, comm).is_break();
        }
        match next {
            None => {
                if limits.until != SimTime::MAX {
                    run.now = limits.until;
                }
                break StopReason::QueueEmpty;
            }
            Some(t) if t > limits.until => {
                run.now = limits.until;
                break StopReason::TimeLimit;
            }
            // An instant looked at: on to the next windows (where a stop is agreed).
            Some(_) => {}
        }
    };
    sync_links(world, &st, &own);
    world.shared.frames_on_links += st.shared.frames_on_links;
    world.shared.trace.lines += st.shared.trace.lines;
    world.shared.trace.probe_lines += st.shared.trace.probe_lines;
    world.now = st.last_event.max(world.now);
    let mut stats = run.stats;
    stats.events = st.events;
    (
        RunReport {
            reason,
            events: st.events,
            now: run.now,
        },
        stats,
    )
}

/// The state of a rank's run between segments.
struct Windows {
    stats: RankStats,
    now: SimTime,
    until: SimTime,
    ahead: SimDuration,
    marking: bool,
}

/// How a segment of windows ended ([`run_windows`]).
enum Segment {
    /// No event anywhere is due by the next instant to look at (or the end): the earliest
    /// pending one anywhere, if any.
    Idle(Option<SimTime>),
    /// A rank stopped: its model or observer asked to, or an output failed.
    Stopped,
    /// A rank's `progress` asked to stop, with this code (the smallest).
    Interrupted(u8),
}

/// What a rank says in the reduction that starts a window (the smallest wins): 0 it stopped,
/// a code from 1 to 255 it was asked to stop, or the time of its earliest event plus this
/// (`u64::MAX` for none).
const TIME_VOTE: u64 = 256;

/// Runs windows agreed with the other ranks until no event anywhere is due by `next_obs`
/// (or by the end of the run), or until a rank stops (`stop` from this one).
#[allow(clippy::too_many_arguments)]
fn run_windows(
    world: &mut World,
    sched: &mut Scheduler<Event>,
    st: &mut PartState,
    maps: &Maps<'_>,
    run: &mut Windows,
    next_obs: SimTime,
    stop: bool,
    progress: &mut impl FnMut(Progress) -> ControlFlow<u8>,
    comm: &mut dyn Comm,
) -> Segment {
    let me = comm.rank();
    let plan = maps.plan;
    let World {
        nodes,
        switches,
        apps,
        shared:
            Shared {
                links: world_links,
                trace,
                capture,
                io_error,
                ..
            },
        ..
    } = world;
    let mut arena = PartArena {
        nodes: nodes
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| plan.node_part[*i] as usize == me)
            .map(|(_, n)| n)
            .collect(),
        switches: switches
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| plan.switch_part[*i] as usize == me)
            .map(|(_, s)| s)
            .collect(),
        apps: apps
            .iter_mut()
            .filter(|a| plan.node_part[a.node] as usize == me)
            .collect(),
        maps,
    };
    loop {
        // One reduction a window: the earliest event anywhere, or that a rank stopped.
        let asked = progress(Progress {
            now: run.now,
            events: st.events,
            pending: sched.pending(),
        });
        let vote = if stop || st.stopped || st.shared.io_error.is_some() {
            0
        } else if let ControlFlow::Break(code) = asked {
            u64::from(code.max(1))
        } else {
            sched
                .next_time()
                .map_or(u64::MAX, |t| t.as_nanos().saturating_add(TIME_VOTE))
        };
        let m = comm.all_min(vote);
        if m == 0 {
            return Segment::Stopped;
        }
        if m < TIME_VOTE {
            return Segment::Interrupted(m as u8);
        }
        if m == u64::MAX {
            return Segment::Idle(None);
        }
        let t = SimTime::from_nanos(m - TIME_VOTE);
        if t > run.until || t > next_obs {
            return Segment::Idle(Some(t));
        }
        let end = SimTime::from_nanos((t + run.ahead).as_nanos() - 1)
            .min(run.until)
            .min(next_obs);
        let mut model = PartModel {
            st: &mut *st,
            arena: &mut arena,
        };
        let (events, stopped) = sim_core::run_window(&mut model, sched, end);
        st.events += events;
        st.stopped |= stopped;
        run.stats.windows += 1;
        run.now = end;
        // The frames that crossed, to their ranks.
        let mut out = vec![Vec::new(); plan.parts];
        for f in st.shared.outbox.drain(..) {
            let to = plan.of_port(world_links[f.link as usize].ends[1 - f.dir as usize]);
            encode_frame(&f, &mut out[to]);
            st.shared.pool.free(f.skb);
            run.stats.frames_out += 1;
        }
        for bytes in comm.all_to_all(out) {
            let mut inp = &bytes[..];
            while !inp.is_empty() {
                let (at, key, seq, link, dir, skb) = decode_frame(&mut inp, &mut st.shared.pool);
                let frame = st.shared.inflight.insert(skb);
                sched.schedule_keyed(
                    at,
                    key,
                    Event::Arrive {
                        link,
                        dir,
                        frame,
                        seq,
                    },
                );
            }
        }
        // The window's outputs, merged at rank 0 in the order of the events.
        if run.marking {
            let buf = OutBuf::take(st);
            let mut bytes = Vec::new();
            encode_outputs(&buf, &mut bytes);
            buf.give_back(st);
            if let Some(all) = comm.gather(bytes) {
                let mut bufs: Vec<OutBuf> = all.iter().map(|b| decode_outputs(b)).collect();
                merge_bufs(&mut bufs, trace, capture, io_error);
            }
        }
    }
}

/// Brings the link directions this rank transmits on into `world`, from its copy of the
/// links (the others' stay as built: their ranks hold them).
fn sync_links(world: &mut World, st: &PartState, own: &Owner<'_>) {
    for (i, l) in world.shared.links.iter_mut().enumerate() {
        for d in 0..2 {
            if own.link_dir(l, d) {
                l.stats[d] = st.shared.links[i].stats[d].clone();
                l.line[d] = st.shared.links[i].line[d];
            }
        }
    }
}

/// Looks at `world` with `observer` at its instants up to `upto`, on every rank: each
/// renders its share, rank 0 gathers and writes. Keeps going through the instants after a
/// rank 0 that could not write (the others do not know yet); returns whether it asked to
/// stop.
fn observe_ranks<O: RankObserver>(
    world: &World,
    observer: &mut O,
    next_obs: &mut SimTime,
    upto: SimTime,
    own: &Owner<'_>,
    comm: &mut dyn Comm,
) -> ControlFlow<()> {
    let mut flow = ControlFlow::Continue(());
    while *next_obs <= upto {
        let at = *next_obs;
        let share = observer.share(world, at, own);
        *next_obs = observer.next_at().unwrap_or(SimTime::MAX);
        debug_assert!(*next_obs > at, "an observer's instants must increase");
        if let Some(all) = comm.gather(share)
            && observer.write(world, at, all).is_break()
        {
            flow = ControlFlow::Break(());
        }
    }
    flow
}

/// Appends `v` (8 bytes, little-endian) to what a rank sends.
pub(crate) fn put(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Reads what [`put`] wrote.
pub(crate) fn take(inp: &mut &[u8]) -> u64 {
    let (head, rest) = inp.split_at(8);
    *inp = rest;
    u64::from_le_bytes(head.try_into().expect("8 bytes"))
}

/// Appends `b` with its length.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Reads what [`put_bytes`] wrote.
pub(crate) fn take_bytes<'a>(inp: &mut &'a [u8]) -> &'a [u8] {
    let n = take(inp) as usize;
    let (head, rest) = inp.split_at(n);
    *inp = rest;
    head
}

/// A frame crossing to another rank: its arrival, order key and number, link and
/// direction, then the skb ([`crate::skb::SkbData::wire_encode`]).
fn encode_frame(f: &CrossFrame, out: &mut Vec<u8>) {
    put(out, f.at.as_nanos());
    put(out, f.key.0);
    put(out, u64::from(f.seq));
    put(out, u64::from(f.link));
    put(out, u64::from(f.dir));
    f.skb.wire_encode(out);
}

fn decode_frame(
    inp: &mut &[u8],
    pool: &mut SkbPool,
) -> (SimTime, OrderKey, u32, u32, u8, crate::skb::Skb) {
    let at = SimTime::from_nanos(take(inp));
    let key = OrderKey(take(inp));
    let seq = take(inp) as u32;
    let link = take(inp) as u32;
    let dir = take(inp) as u8;
    let skb = pool.wire_decode(inp);
    (at, key, seq, link, dir, skb)
}

fn encode_outputs(b: &OutBuf, out: &mut Vec<u8>) {
    put_bytes(out, &b.lines);
    put_bytes(out, &b.probe);
    put_bytes(out, &b.log.bytes);
    put(out, b.log.frames.len() as u64);
    for f in &b.log.frames {
        put(out, u64::from(f.ifc.index()));
        put(out, f.time.as_nanos());
        put(out, f.end as u64);
        match &f.comment {
            Some(c) => {
                put(out, 1);
                put_bytes(out, c.as_bytes());
            }
            None => put(out, 0),
        }
    }
    put(out, b.marks.len() as u64);
    for m in &b.marks {
        put(out, m.time.as_nanos());
        put(out, m.key.0);
        put(out, u64::from(m.seq));
        put(out, m.trace as u64);
        put(out, m.probe as u64);
        put(out, m.cap as u64);
    }
}

fn decode_outputs(bytes: &[u8]) -> OutBuf {
    let mut inp = bytes;
    let lines = take_bytes(&mut inp).to_vec();
    let probe = take_bytes(&mut inp).to_vec();
    let log_bytes = take_bytes(&mut inp).to_vec();
    let n = take(&mut inp) as usize;
    let mut frames = Vec::with_capacity(n);
    for _ in 0..n {
        let ifc = CaptureIf::from_index(take(&mut inp) as u32);
        let time = SimTime::from_nanos(take(&mut inp));
        let end = take(&mut inp) as usize;
        let comment = (take(&mut inp) == 1).then(|| {
            String::from_utf8_lossy(take_bytes(&mut inp))
                .into_owned()
                .into_boxed_str()
        });
        frames.push(LoggedFrame {
            ifc,
            time,
            end,
            comment,
        });
    }
    let n = take(&mut inp) as usize;
    let mut marks = Vec::with_capacity(n);
    for _ in 0..n {
        marks.push(super::parallel::Mark {
            time: SimTime::from_nanos(take(&mut inp)),
            key: OrderKey(take(&mut inp)),
            seq: take(&mut inp) as u32,
            trace: take(&mut inp) as usize,
            probe: take(&mut inp) as usize,
            cap: take(&mut inp) as usize,
        });
    }
    OutBuf {
        lines,
        probe,
        log: FrameLog {
            bytes: log_bytes,
            frames,
        },
        marks,
        at: 0,
    }
}

/// Ranks as threads of one process, over channels: for tests, and to see a distributed run
/// without MPI.
pub mod local {
    use std::sync::mpsc::{Receiver, Sender, channel};

    use std::ops::ControlFlow;

    use sim_core::{Limits, RunReport, Scheduler};

    use super::{Comm, Ended, RankObserver, end_ranks, run_rank};
    use crate::event::Event;
    use crate::world::{Partitioning, World};

    /// What rank 0 holds at the end of [`run_ranks`].
    #[derive(Debug)]
    pub struct Rank0<O> {
        /// Its world: the merged trace and capture of every rank (not yet finished:
        /// [`World::finish_outputs`]), every link's and switch's counters.
        pub world: World,
        /// How the run ended (the events of every rank).
        pub report: RunReport,
        /// The rest of stats.json ([`Ended::stats_view`]).
        pub ended: Ended,
        /// Its observer, which wrote every rank's shares.
        pub observer: O,
    }

    /// Runs one world on `n` ranks joined by channels, as `mpirun -np N sim run --mpi` runs
    /// it over MPI: rank `r` builds its world with `build(r)` (on its own thread; rank 0 on
    /// the caller's) and its observer with `observe(r, &world)`, runs it with [`run_rank`]
    /// until `limits` and ends it with [`end_ranks`]. Returns what rank 0 holds, whose
    /// outputs are those of the run in one process. Panics if the world does not split into
    /// `n` partitions.
    pub fn run_ranks<O: RankObserver>(
        n: usize,
        limits: Limits,
        build: impl Fn(usize) -> (World, Scheduler<Event>) + Sync,
        observe: impl Fn(usize, &World) -> O + Sync,
    ) -> Rank0<O> {
        let run = |rank: usize, mut comm: LocalComm| {
            let (mut world, sched) = build(rank);
            let mut observer = observe(rank, &world);
            let plan = Partitioning::new(&world, n);
            assert_eq!(plan.parts, n, "the world splits into {n} partitions");
            let (report, _) = run_rank(
                &mut world,
                sched,
                &plan,
                limits,
                &mut observer,
                |_| ControlFlow::Continue(()),
                &mut comm,
            );
            let ended = end_ranks(&mut world, &plan, &report, &mut comm);
            (world, report, ended, observer)
        };
        let mut comms = ranks(n).into_iter();
        let comm0 = comms.next().expect("one rank at least");
        std::thread::scope(|s| {
            for (r, comm) in comms.enumerate() {
                let run = &run;
                s.spawn(move || {
                    run(r + 1, comm);
                });
            }
            let (world, report, ended, observer) = run(0, comm0);
            Rank0 {
                world,
                report: RunReport {
                    events: ended.as_ref().map_or(report.events, |e| e.events),
                    ..report
                },
                ended: ended.expect("rank 0 gets the end"),
                observer,
            }
        })
    }

    /// One rank's end of the channels.
    #[derive(Debug)]
    pub struct LocalComm {
        rank: usize,
        to: Vec<Sender<Vec<u8>>>,
        from: Vec<Receiver<Vec<u8>>>,
    }

    /// `n` ranks joined by channels, one end per rank.
    pub fn ranks(n: usize) -> Vec<LocalComm> {
        // chan[a][b]: from a to b.
        let mut tx: Vec<Vec<Option<Sender<Vec<u8>>>>> = (0..n).map(|_| vec![None; n]).collect();
        let mut rx: Vec<Vec<Option<Receiver<Vec<u8>>>>> =
            (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
        for a in 0..n {
            for b in 0..n {
                let (s, r) = channel();
                tx[a][b] = Some(s);
                rx[b][a] = Some(r);
            }
        }
        tx.into_iter()
            .zip(rx)
            .enumerate()
            .map(|(rank, (t, r))| LocalComm {
                rank,
                to: t.into_iter().map(|s| s.expect("made")).collect(),
                from: r.into_iter().map(|r| r.expect("made")).collect(),
            })
            .collect()
    }

    impl Comm for LocalComm {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.to.len()
        }
        fn all_min(&mut self, v: u64) -> u64 {
            let all = self.all_to_all(vec![v.to_le_bytes().to_vec(); self.size()]);
            all.iter()
                .map(|b| u64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
                .min()
                .expect("one rank at least")
        }
        fn all_to_all(&mut self, out: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
            for (s, b) in self.to.iter().zip(out) {
                s.send(b).expect("rank alive");
            }
            self.from
                .iter()
                .map(|r| r.recv().expect("rank alive"))
                .collect()
        }
        fn abort(&self, code: i32) -> ! {
            panic!("rank {} aborted the run (exit status {code})", self.rank)
        }
        fn gather(&mut self, bytes: Vec<u8>) -> Option<Vec<Vec<u8>>> {
            let n = self.size();
            let mut out = vec![Vec::new(); n];
            out[0] = bytes;
            let got = self.all_to_all(out);
            (self.rank == 0).then_some(got)
        }
    }
}

/// What a rank hands rank 0 at the end of a run: the figures of what it owns.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct RankShare {
    events: u64,
    frames: u64,
    trace_lines: u64,
    probe_lines: u64,
    node_drops: Drops,
    /// Node index and its stats.json object ([`super::report::node_json`]); none from rank 0.
    nodes: Vec<(u32, String)>,
    /// Switch index and its ports' counters.
    switches: Vec<(u32, Vec<SwitchPortStats>)>,
    /// Link, direction and its counters, for the directions it transmits on.
    links: Vec<(u32, u8, LinkStats)>,
    /// `dc_flows` reports: app index, node index, key in its node's object, report.
    dc_flows: Vec<(u32, u32, String, DcFlowsReport)>,
}

/// Rank 0's account of a distributed run's end ([`end_ranks`]).
#[derive(Debug)]
pub struct Ended {
    /// Events handled by every rank.
    pub events: u64,
    /// The run's totals.
    pub totals: RunTotals,
    /// The `dc_flows` apps' reports, in scenario order (for the summary).
    pub dc_flows: Vec<DcFlowsReport>,
    dc_summary: Option<FctSummary>,
    remote: Vec<Option<Box<serde_json::value::RawValue>>>,
}

impl Ended {
    /// What stats.json holds, with the other ranks' nodes as they wrote them.
    pub fn stats_view<'w>(&mut self, world: &'w World) -> StatsView<'w> {
        StatsView::of_ranks(
            world,
            self.totals.clone(),
            self.dc_summary.clone(),
            std::mem::take(&mut self.remote),
        )
    }
}

/// Ends a distributed run: every rank agrees on the clock (the last event anywhere) and
/// sends rank 0 the figures of what it owns; rank 0's world then holds every link's and
/// switch's counters, the run's frame and trace line counts, and gets what it needs to
/// write stats.json ([`Ended::stats_view`]). `None` on the other ranks.
pub fn end_ranks(
    world: &mut World,
    plan: &Partitioning,
    report: &RunReport,
    comm: &mut dyn Comm,
) -> Option<Ended> {
    let me = comm.rank();
    let last = u64::MAX - comm.all_min(u64::MAX - world.now.as_nanos());
    world.now = SimTime::from_nanos(last);
    let apps = AppsByNode::of(world);
    let mut share = RankShare {
        events: report.events,
        frames: world.shared.frames_on_links,
        trace_lines: world.shared.trace.lines,
        probe_lines: world.shared.trace.probe_lines,
        ..RankShare::default()
    };
    for (ni, n) in world.nodes.iter().enumerate() {
        if plan.node_part[ni] as usize != me {
            continue;
        }
        super::report::node_drops(n, &mut share.node_drops);
        if me != 0 {
            share
                .nodes
                .push((ni as u32, super::report::node_json(world, ni, &apps)));
        }
        for (app, key, r) in world.app_keys_of(n, apps.of_node(ni)) {
            if let AppReport::DcFlows(d) = r {
                share.dc_flows.push((app, ni as u32, key, *d));
            }
        }
    }
    for (si, sw) in world.switches.iter().enumerate() {
        if plan.switch_part[si] as usize == me {
            let ports = sw.ports.iter().map(|p| p.stats.clone()).collect();
            share.switches.push((si as u32, ports));
        }
    }
    for (li, l) in world.shared.links.iter().enumerate() {
        for d in 0..2 {
            if plan.of_port(l.ends[d]) == me {
                share.links.push((li as u32, d as u8, l.stats[d].clone()));
            }
        }
    }
    let bytes = ron::to_string(&share)
        .expect("a rank's share serializes")
        .into_bytes();
    let all = comm.gather(bytes)?;
    let shares: Vec<RankShare> = all
        .iter()
        .map(|b| {
            ron::from_str(std::str::from_utf8(b).expect("RON is text"))
                .expect("a rank's share reads back")
        })
        .collect();
    let mut events = 0;
    let mut frames = 0;
    let (mut lines, mut probe) = (0, 0);
    let mut drops = Drops::default();
    let mut remote = vec![None; world.nodes.len()];
    let mut dc = Vec::new();
    for s in shares {
        events += s.events;
        frames += s.frames;
        lines += s.trace_lines;
        probe += s.probe_lines;
        let d = s.node_drops;
        drops.qdisc += d.qdisc;
        drops.arp_queue += d.arp_queue;
        drops.ip += d.ip;
        drops.netfilter += d.netfilter;
        for (ni, text) in s.nodes {
            remote[ni as usize] =
                Some(serde_json::value::RawValue::from_string(text).expect("JSON a rank wrote"));
        }
        for (si, ports) in s.switches {
            for (p, st) in world.switches[si as usize].ports.iter_mut().zip(ports) {
                p.stats = st;
            }
        }
        for (li, d, st) in s.links {
            world.shared.links[li as usize].stats[d as usize] = st;
        }
        dc.extend(s.dc_flows);
    }
    world.shared.frames_on_links = frames;
    world.shared.trace.lines = lines;
    world.shared.trace.probe_lines = probe;
    world.fabric_drops(&mut drops);
    // stats.json's summary takes the hosts by name, each host's apps by key; the run's
    // summary takes them in scenario order.
    let rank_of_name: Vec<usize> = {
        let by_name = world.nodes_by_name();
        let mut r = vec![usize::MAX; world.nodes.len()];
        for (k, ni) in by_name.into_iter().enumerate() {
            r[ni] = k;
        }
        r
    };
    dc.sort_by(|a, b| (rank_of_name[a.1 as usize], &a.2).cmp(&(rank_of_name[b.1 as usize], &b.2)));
    let dc_summary = FctSummary::of(
        dc.iter()
            .filter(|e| rank_of_name[e.1 as usize] != usize::MAX)
            .map(|e| &e.3),
    );
    dc.sort_by_key(|e| e.0);
    Some(Ended {
        events,
        totals: RunTotals {
            sim_time_ns: report.now.as_nanos(),
            events,
            frames,
            drops,
        },
        dc_flows: dc.into_iter().map(|e| e.3).collect(),
        dc_summary,
        remote,
    })
}
