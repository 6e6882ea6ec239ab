//! One run on several threads, with outputs byte-identical to the sequential run.
//!
//! The world's nodes and switches are split into partitions ([`Partitioning`]); each
//! partition has its own event queue (the run's scheduler split by owner: every timer keeps
//! its number), skb pool, frames in flight, and copy of the links (a partition writes only
//! the directions it transmits on). Partitions run on their threads in **windows**: all of
//! them handle the events due in `[t, t + lookahead)`, where `t` is the earliest pending
//! event anywhere and the lookahead is the smallest delay between a frame starting on a cut
//! link and its arrival at the far end. A frame sent over a cut link during a window
//! therefore arrives after it; it waits in the sender's outbox and is handed to the
//! receiver's queue between windows (a barrier round, as Shadow and Unison do; null
//! messages would need no global step but one message per cut link per window, more than
//! the frames themselves in a data centre).
//!
//! **Why the outputs are the same bytes.** The scheduler orders simultaneous events by a key
//! that depends only on when and by which entity they were scheduled
//! ([`sim_core::OrderKey`]), never on which other entities share a queue; a frame crossing
//! a cut keeps the key it got in the sender's queue. So every entity handles the same
//! events in the same order as in the sequential run, whatever the partitioning, the
//! thread count or the timing of threads. What is shared — the trace, `tcp_probe` lines,
//! the capture — is recorded per partition in memory with the time and key of the event
//! that wrote it, and merged in that order after each window: the sequential run's order.
//! Counters, links and apps are read at the end (or at an observer's instant, between
//! windows) from the entities themselves and from the partition that owns each link
//! direction.
//!
//! With one partition the machinery is not used at all: the sequential run is the
//! [`World`] as a [`sim_core::Model`], unchanged.

use std::io;
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use sim_core::{
    Limits, Model, Observer, OrderKey, Progress, RunReport, Scheduler, SimDuration, SimTime,
    StopReason,
};

use super::World;
use super::dispatch::{Arena, Marks, handle_event};
pub use super::partition::Partitioning;
use crate::apps::AppSlot;
use crate::capture::{Capture, FrameLog};
use crate::ctx::{NetCtx, Shared};
use crate::event::Event;
use crate::link::Link;
use crate::node::Node;
use crate::switch::Switch;
use crate::trace::Trace;

/// How a parallel run went, for the performance figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParallelStats {
    /// Partitions (threads).
    pub parts: usize,
    /// Links between partitions.
    pub cut_links: usize,
    /// The lookahead, in ns (0 when no link is cut).
    pub lookahead_ns: u64,
    /// Windows run.
    pub windows: u64,
    /// Frames handed from one partition to another.
    pub cross_frames: u64,
    /// Events each partition handled.
    pub events: Vec<u64>,
    /// Wall time the coordinating thread spent waiting for the others at the end of
    /// windows, in ns (the imbalance), and in merging outputs and exchanging frames between
    /// windows (the serial part).
    pub wait_ns: u64,
    /// See [`wait_ns`](Self::wait_ns).
    pub serial_ns: u64,
}

/// The longest window when no link is cut (the partitions are independent; windows only
/// keep the run responsive to interruption).
const MAX_WINDOW: SimDuration = SimDuration::from_millis(100);

/// Runs `world` (built with `sched`) on `plan.parts` threads, until `limits.until`, calling
/// `observer` at its instants and `progress` between windows, as
/// [`sim_core::run_observed`] does for the sequential run — with the same events, in the
/// same order for every entity, and the same outputs.
///
/// [`Limits::max_events`] is not supported here (an event count is not a point every
/// partition reaches at once): pass `u64::MAX`.
pub fn run_parallel<O: Observer<World>>(
    world: &mut World,
    sched: Scheduler<Event>,
    plan: &Partitioning,
    limits: Limits,
    observer: &mut O,
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> (RunReport, ParallelStats) {
    let parts_n = plan.parts;
    let scheds = sched.split(parts_n, |e| plan.owner(world, e));
    let marking = PartState::marking(world);
    let parts: Vec<Mutex<Part>> = scheds
        .into_iter()
        .map(|sched| {
            Mutex::new(Part {
                sched,
                st: PartState::new(world, plan),
            })
        })
        .collect();
    // Where each entity is in its partition's share of the world's vectors.
    let node_local = local_numbers(plan.node_part.iter().copied(), parts_n);
    let switch_local = local_numbers(plan.switch_part.iter().copied(), parts_n);
    let app_local = local_numbers(world.apps.iter().map(|a| plan.node_part[a.node]), parts_n);
    let maps = Maps {
        plan,
        node_local: &node_local,
        switch_local: &switch_local,
        app_local: &app_local,
    };
    let mut stats = ParallelStats {
        parts: parts_n,
        cut_links: plan.cut_links(),
        lookahead_ns: plan.lookahead.map_or(0, SimDuration::as_nanos),
        ..ParallelStats::default()
    };
    let mut run = Running {
        limits,
        marking,
        next_report: limits.progress_every.max(1),
        now: SimTime::ZERO,
    };
    let mut next_obs = observer.next_at().unwrap_or(SimTime::MAX);
    let reason = loop {
        let next = parts.iter().filter_map(|p| lock(p).sched.next_time()).min();
        // Observe the instants before the next event (or up to the end).
        let idle_upto = match next {
            Some(t) if t <= limits.until => t.as_nanos().checked_sub(1).map(SimTime::from_nanos),
            _ => (limits.until != SimTime::MAX).then_some(limits.until),
        };
        if let Some(upto) = idle_upto.filter(|&u| next_obs <= u) {
            sync_world(world, &parts, plan);
            if sim_core::observe_until(&*world, observer, &mut next_obs, upto).is_break() {
                break StopReason::ObserverStopped;
            }
        }
        let Some(t) = next else {
            if limits.until != SimTime::MAX {
                run.now = limits.until;
            }
            break StopReason::QueueEmpty;
        };
        if t > limits.until {
            run.now = limits.until;
            break StopReason::TimeLimit;
        }
        // Run windows up to the next instant to observe, on threads.
        let upto = limits.until.min(next_obs);
        if let Err(stop) = run_segment(
            world,
            &parts,
            &maps,
            &mut run,
            &mut stats,
            upto,
            &mut progress,
        ) {
            break stop;
        }
        if next_obs == upto {
            sync_world(world, &parts, plan);
            if sim_core::observe_until(&*world, observer, &mut next_obs, upto).is_break() {
                break StopReason::ObserverStopped;
            }
        }
    };
    let now = run.now;

    // Back into the world: link directions, counters, the trace's line counts.
    sync_world(world, &parts, plan);
    let mut events = 0;
    for p in &parts {
        let p = lock(p);
        events += p.st.events;
        stats.events.push(p.st.events);
        world.shared.frames_on_links += p.st.shared.frames_on_links;
        world.shared.trace.lines += p.st.shared.trace.lines;
        world.shared.trace.probe_lines += p.st.shared.trace.probe_lines;
    }
    let pending = parts.iter().map(|p| lock(p).sched.pending()).sum();
    let _ = progress(Progress {
        now,
        events,
        pending,
    });
    (
        RunReport {
            reason,
            events,
            now,
        },
        stats,
    )
}

/// Where each entity sits in its partition's share of the world.
pub(super) struct Maps<'a> {
    pub(super) plan: &'a Partitioning,
    pub(super) node_local: &'a [u32],
    pub(super) switch_local: &'a [u32],
    pub(super) app_local: &'a [u32],
}

/// The state of the run between segments.
struct Running {
    limits: Limits,
    marking: bool,
    next_report: u64,
    now: SimTime,
}

/// Runs windows on the partitions' threads until no event is due by `upto` (all events
/// due by then have run); `Err` when the run must stop.
fn run_segment(
    world: &mut World,
    parts: &[Mutex<Part>],
    maps: &Maps<'_>,
    run: &mut Running,
    stats: &mut ParallelStats,
    upto: SimTime,
    progress: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<(), StopReason> {
    let World {
        nodes,
        switches,
        apps,
        shared:
            Shared {
                links,
                trace,
                capture,
                io_error,
                ..
            },
        ..
    } = world;
    let links: &[Link] = links;
    let parts_n = parts.len();
    // Each partition gets its entities, by local number.
    let mut arenas: Vec<PartArena<'_, '_>> = (0..parts_n)
        .map(|_| PartArena {
            nodes: Vec::new(),
            switches: Vec::new(),
            apps: Vec::new(),
            maps,
        })
        .collect();
    for (i, n) in nodes.iter_mut().enumerate() {
        arenas[maps.plan.node_part[i] as usize].nodes.push(n);
    }
    for (i, s) in switches.iter_mut().enumerate() {
        arenas[maps.plan.switch_part[i] as usize].switches.push(s);
    }
    for a in apps.iter_mut() {
        let p = maps.plan.node_part[a.node] as usize;
        arenas[p].apps.push(a);
    }
    let window_end = AtomicU64::new(0);
    let quit = AtomicBool::new(false);
    let barrier = SpinBarrier::new(parts_n);
    let mut arenas = arenas.into_iter();
    let mut arena0 = arenas.next().expect("one partition at least");
    std::thread::scope(|scope| {
        let _poison = PoisonOnPanic(&barrier);
        for (p, mut arena) in arenas.enumerate() {
            let p = p + 1;
            let (barrier, quit, window_end) = (&barrier, &quit, &window_end);
            std::thread::Builder::new()
                .name(format!("partition-{p}"))
                .spawn_scoped(scope, move || {
                    let _poison = PoisonOnPanic(barrier);
                    loop {
                        barrier.wait();
                        if quit.load(Ordering::Acquire) {
                            break;
                        }
                        step(&parts[p], &mut arena, window_end);
                        barrier.wait();
                    }
                })
                .expect("a thread for a partition");
        }
        let result = loop {
            let next = parts.iter().filter_map(|p| lock(p).sched.next_time()).min();
            let Some(t) = next.filter(|&t| t <= upto) else {
                run.now = run.now.max(upto);
                break Ok(());
            };
            let ahead = maps
                .plan
                .lookahead
                .unwrap_or(MAX_WINDOW)
                .max(SimDuration::from_nanos(1));
            let end = SimTime::from_nanos((t + ahead).as_nanos() - 1).min(upto);
            window_end.store(end.as_nanos(), Ordering::Release);
            barrier.wait();
            step(&parts[0], &mut arena0, &window_end);
            let waited = Instant::now();
            barrier.wait();
            let serial = Instant::now();
            stats.wait_ns += (serial - waited).as_nanos() as u64;
            stats.windows += 1;
            run.now = end;
            // Hand over the frames that crossed, then the window's outputs, in order.
            stats.cross_frames += exchange(parts, maps.plan, links);
            if run.marking {
                merge_outputs(parts, trace, capture, io_error);
            }
            stats.serial_ns += serial.elapsed().as_nanos() as u64;
            if parts.iter().any(|p| lock(p).st.stopped) || io_error.is_some() {
                break Err(StopReason::ModelStopped);
            }
            let events: u64 = parts.iter().map(|p| lock(p).st.events).sum();
            if events >= run.next_report {
                run.next_report = events.saturating_add(run.limits.progress_every.max(1));
                let pending = parts.iter().map(|p| lock(p).sched.pending()).sum();
                let p = Progress {
                    now: run.now,
                    events,
                    pending,
                };
                if progress(p).is_break() {
                    break Err(StopReason::Interrupted);
                }
            }
        };
        quit.store(true, Ordering::Release);
        barrier.wait();
        result
    })
}

/// Runs partition `part`'s events due by the window's end.
fn step(part: &Mutex<Part>, arena: &mut PartArena<'_, '_>, window_end: &AtomicU64) {
    let mut part = lock(part);
    let Part { sched, st } = &mut *part;
    let until = SimTime::from_nanos(window_end.load(Ordering::Acquire));
    let mut model = PartModel { st, arena };
    let (events, stopped) = sim_core::run_window(&mut model, sched, until);
    st.events += events;
    st.stopped |= stopped;
}

/// Each entity's number among those of its partition, in order.
pub(super) fn local_numbers(part_of: impl Iterator<Item = u32>, parts: usize) -> Vec<u32> {
    let mut count = vec![0u32; parts];
    part_of
        .map(|p| {
            let i = count[p as usize];
            count[p as usize] += 1;
            i
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Moves the frames sent over cut links into the queues of the partitions at their far
/// ends; returns how many. A frame keeps the order key it was given where it was sent.
fn exchange(parts: &[Mutex<Part>], plan: &Partitioning, links: &[Link]) -> u64 {
    let mut moved = 0;
    for p in parts {
        let out = std::mem::take(&mut lock(p).st.shared.outbox);
        if out.is_empty() {
            lock(p).st.shared.outbox = out;
            continue;
        }
        let mut out = out;
        for f in out.drain(..) {
            let to = plan.of_port(links[f.link as usize].ends[1 - f.dir as usize]);
            let mut q = lock(&parts[to]);
            let frame = q.st.shared.inflight.insert(f.skb);
            q.sched.schedule_keyed(
                f.at,
                f.key,
                Event::Arrive {
                    link: f.link,
                    dir: f.dir,
                    frame,
                    seq: f.seq,
                },
            );
            moved += 1;
        }
        lock(p).st.shared.outbox = out;
    }
    moved
}

/// Writes the window's trace lines, `tcp_probe` lines and captured frames of every
/// partition into the world's trace and capture, in the order of the events that made them.
fn merge_outputs(
    parts: &[Mutex<Part>],
    trace: &mut Trace,
    capture: &mut Option<Capture>,
    io_error: &mut Option<io::Error>,
) {
    let mut bufs: Vec<OutBuf> = parts
        .iter()
        .map(|p| OutBuf::take(&mut lock(p).st))
        .collect();
    merge_bufs(&mut bufs, trace, capture, io_error);
    for (p, b) in parts.iter().zip(bufs) {
        b.give_back(&mut lock(p).st);
    }
}

/// A partition's outputs of a window: trace lines, `tcp_probe` lines, captured frames, and
/// where each event's start.
pub(super) struct OutBuf {
    pub(super) lines: Vec<u8>,
    pub(super) probe: Vec<u8>,
    pub(super) log: FrameLog,
    pub(super) marks: Vec<Mark>,
    pub(super) at: usize,
}

impl OutBuf {
    /// Takes a partition's outputs of the window.
    pub(super) fn take(st: &mut PartState) -> Self {
        let (lines, probe) = st.shared.trace.take_memory();
        let log = st
            .shared
            .capture
            .as_mut()
            .map(Capture::take_log)
            .unwrap_or_default();
        let marks = std::mem::take(&mut st.marks);
        Self {
            lines,
            probe,
            log,
            marks,
            at: 0,
        }
    }

    /// Gives the buffers back, emptied, for the next window.
    pub(super) fn give_back(self, st: &mut PartState) {
        st.shared.trace.give_back(self.lines, self.probe);
        if let Some(c) = st.shared.capture.as_mut() {
            c.give_back(self.log);
        }
        let mut marks = self.marks;
        marks.clear();
        st.marks = marks;
    }
}

/// Writes the partitions' outputs of a window into the run's trace and capture, in the
/// order of the events that made them.
pub(super) fn merge_bufs(
    bufs: &mut [OutBuf],
    trace: &mut Trace,
    capture: &mut Option<Capture>,
    io_error: &mut Option<io::Error>,
) {
    loop {
        // The earliest (time, key); among equal ones (frames one entity sent at one instant
        // to entities of several partitions) the one it sent first: their numbers come
        // from one counter, close together, compared across its wrap.
        let mut pick: Option<(usize, &Mark)> = None;
        for (i, b) in bufs.iter().enumerate() {
            let Some(m) = b.marks.get(b.at) else { continue };
            let better = match pick {
                None => true,
                Some((_, p)) => match (m.time, m.key).cmp(&(p.time, p.key)) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Greater => false,
                    std::cmp::Ordering::Equal => (m.seq.wrapping_sub(p.seq) as i32) < 0,
                },
            };
            if better {
                pick = Some((i, m));
            }
        }
        let Some((i, _)) = pick else { break };
        let b = &mut bufs[i];
        let m = &b.marks[b.at];
        let next = b.marks.get(b.at + 1);
        let lines_end = next.map_or(b.lines.len(), |n| n.trace);
        let probe_end = next.map_or(b.probe.len(), |n| n.probe);
        let cap_end = next.map_or(b.log.frames.len(), |n| n.cap);
        trace.write_raw(&b.lines[m.trace..lines_end], &b.probe[m.probe..probe_end]);
        if let Some(cap) = capture.as_mut() {
            for k in m.cap..cap_end {
                let f = &b.log.frames[k];
                let start = if k == 0 { 0 } else { b.log.frames[k - 1].end };
                if let Err(e) = cap.record(
                    &f.ifc,
                    f.time,
                    &b.log.bytes[start..f.end],
                    f.comment.as_deref(),
                ) {
                    io_error.get_or_insert(e);
                }
            }
        }
        b.at += 1;
    }
}

/// Brings the world up to date for a look at it between windows: its links, each direction
/// from the partition that transmits on it (the loss stream from that of the first end: a
/// lossy link is never cut), and its clock, the time of the last event handled anywhere.
fn sync_world(world: &mut World, parts: &[Mutex<Part>], plan: &Partitioning) {
    let guards: Vec<_> = parts.iter().map(lock).collect();
    world.now = guards
        .iter()
        .map(|g| g.st.last_event)
        .max()
        .unwrap_or(world.now)
        .max(world.now);
    for (i, l) in world.shared.links.iter_mut().enumerate() {
        for d in 0..2 {
            let from = &guards[plan.of_port(l.ends[d])].st.shared.links[i];
            l.stats[d] = from.stats[d].clone();
            l.line[d] = from.line[d];
        }
        l.rng = guards[plan.of_port(l.ends[0])].st.shared.links[i]
            .rng
            .clone();
    }
}

/// A partition: its queue, and the rest of what it owns.
struct Part {
    sched: Scheduler<Event>,
    st: PartState,
}

/// What a partition owns besides its queue (what a [`World`] holds for the whole run).
pub(super) struct PartState {
    /// Its copy of the links, its pool, its outputs (in memory), its wake-ups and outbox.
    pub(super) shared: Shared,
    pub(super) marks: Vec<Mark>,
    /// Whether outputs are recorded (else no marks are kept).
    pub(super) marking: bool,
    pub(super) events: u64,
    pub(super) stopped: bool,
    /// The time of the last event handled.
    pub(super) last_event: SimTime,
}

impl PartState {
    /// A partition's state at the start of a run of `world` split by `plan`: its copy of the
    /// links (marked cut or not), its outputs recorded in memory.
    pub(super) fn new(world: &World, plan: &Partitioning) -> Self {
        let mut links = world.shared.links.clone();
        for (l, &cut) in links.iter_mut().zip(&plan.cut) {
            l.cut = cut;
        }
        Self {
            shared: Shared {
                links,
                trace: Trace::in_memory_like(&world.shared.trace),
                capture: world.shared.capture.as_ref().map(|_| Capture::log()),
                record_paths: world.shared.record_paths,
                ..Shared::new()
            },
            marks: Vec::new(),
            marking: Self::marking(world),
            events: 0,
            stopped: false,
            last_event: SimTime::ZERO,
        }
    }

    /// Whether `world`'s run writes outputs a partition records with marks.
    pub(super) fn marking(world: &World) -> bool {
        world.shared.trace.frames()
            || world.shared.trace.tcp_probe_on()
            || world.shared.capture.is_some()
    }
}

/// Where the outputs of an event start in a partition's buffers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    pub(super) time: SimTime,
    pub(super) key: OrderKey,
    pub(super) seq: u32,
    pub(super) trace: usize,
    pub(super) probe: usize,
    pub(super) cap: usize,
}

impl Marks for (bool, &mut Vec<Mark>) {
    #[inline]
    fn mark(&mut self, cx: &NetCtx<'_>, key: OrderKey, seq: u32) {
        if !self.0 {
            return;
        }
        let (trace, probe) = cx.shared.trace.memory_len();
        let cap = cx.shared.capture.as_ref().map_or(0, Capture::logged);
        let mark = Mark {
            time: cx.now,
            key,
            seq,
            trace,
            probe,
            cap,
        };
        match self.1.last_mut() {
            // The last event wrote nothing: its mark makes room for this one's.
            Some(m) if m.trace == trace && m.probe == probe && m.cap == cap => *m = mark,
            _ => self.1.push(mark),
        }
    }
}

/// A partition as the model its scheduler drives.
pub(super) struct PartModel<'a, 'b, 'w> {
    pub(super) st: &'a mut PartState,
    pub(super) arena: &'a mut PartArena<'b, 'w>,
}

impl Model for PartModel<'_, '_, '_> {
    type Event = Event;

    fn handle(&mut self, s: &mut Scheduler<Event>, event: Event) {
        let st = &mut *self.st;
        st.last_event = s.now();
        let mut cx = NetCtx {
            now: s.now(),
            sched: s,
            shared: &mut st.shared,
        };
        handle_event(self.arena, &mut cx, &mut (st.marking, &mut st.marks), event);
    }
}

/// A partition's share of the world's nodes, switches and apps: its own, by local number
/// (borrowed for one segment of the run, between two instants an observer looks at).
pub(super) struct PartArena<'m, 'w> {
    pub(super) nodes: Vec<&'w mut Node>,
    pub(super) switches: Vec<&'w mut Switch>,
    pub(super) apps: Vec<&'w mut AppSlot>,
    pub(super) maps: &'m Maps<'m>,
}

// What the partitions' threads reach must be safe to hand between threads.
const _: () = {
    const fn send<T: Send>() {}
    send::<Node>();
    send::<Switch>();
    send::<AppSlot>();
    send::<Part>();
};

impl Arena for PartArena<'_, '_> {
    #[inline]
    fn node(&mut self, i: usize) -> &mut Node {
        self.nodes[self.maps.node_local[i] as usize]
    }
    #[inline]
    fn switch(&mut self, i: usize) -> &mut Switch {
        self.switches[self.maps.switch_local[i] as usize]
    }
    #[inline]
    fn app(&mut self, i: usize) -> (&mut AppSlot, &mut Node) {
        let slot = &mut *self.apps[self.maps.app_local[i] as usize];
        let node = &mut *self.nodes[self.maps.node_local[slot.node] as usize];
        (slot, node)
    }
    #[inline]
    fn app_node(&self, i: usize) -> usize {
        self.apps[self.maps.app_local[i] as usize].node
    }
    #[inline]
    fn nodes(&self) -> usize {
        self.maps.node_local.len()
    }
}

/// A barrier for as many threads as cores: waiting spins briefly (a window is often a few
/// microseconds of work), then yields the core.
struct SpinBarrier {
    n: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    /// A thread panicked: the others must not wait for it.
    poisoned: AtomicBool,
}

/// Poisons the barrier if the thread holding it unwinds (a bug), so that the others stop
/// waiting and the run ends with the panic instead of hanging.
struct PoisonOnPanic<'a>(&'a SpinBarrier);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Release);
        }
    }
}

impl SpinBarrier {
    fn new(n: usize) -> Self {
        Self {
            n,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation
                .store(generation.wrapping_add(1), Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            assert!(
                !self.poisoned.load(Ordering::Acquire),
                "another partition's thread panicked"
            );
            if spins < 4096 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}
