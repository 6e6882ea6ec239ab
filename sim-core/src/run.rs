//! The run loop: pop the earliest event, hand it to the model, repeat within limits.

use std::ops::ControlFlow;

use crate::{Scheduler, SimTime};

/// A model driven by the engine: it receives each event with the scheduler, reads
/// [`Scheduler::now`], changes its state and schedules what follows.
pub trait Model {
    /// The events this model schedules for itself: plain values (indices, never owned
    /// data), which the queue moves by copying.
    type Event: Copy;
    /// Handles one event at [`Scheduler::now`].
    fn handle(&mut self, sched: &mut Scheduler<Self::Event>, event: Self::Event);
}

/// Something that looks at the model at chosen instants between events, without changing
/// it: samplers of time series, snapshots at given times. It is never scheduled: the run
/// loop calls it when the clock is about to pass one of its instants, so a run with an
/// observer handles exactly the events, in exactly the order, of a run without one.
pub trait Observer<M> {
    /// The next instant it wants to look at; `None` when it wants no more.
    fn next_at(&self) -> Option<SimTime>;
    /// Looks at `model` at `at` (its next instant): every event due at or before `at` has
    /// run, none due after. Returning [`ControlFlow::Break`] stops the run
    /// ([`StopReason::ObserverStopped`]; e.g. an output it cannot write).
    fn observe(&mut self, model: &M, at: SimTime) -> ControlFlow<()>;
}

/// The observer of a plain [`run`]: wants nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl<M> Observer<M> for NoObserver {
    #[inline]
    fn next_at(&self) -> Option<SimTime> {
        None
    }
    fn observe(&mut self, _: &M, _: SimTime) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// An observer that may be absent.
impl<M, O: Observer<M>> Observer<M> for Option<O> {
    #[inline]
    fn next_at(&self) -> Option<SimTime> {
        self.as_ref().and_then(Observer::next_at)
    }
    fn observe(&mut self, model: &M, at: SimTime) -> ControlFlow<()> {
        match self {
            Some(o) => o.observe(model, at),
            None => ControlFlow::Continue(()),
        }
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events due at or before this instant run; later ones stay pending.
    pub until: SimTime,
    /// At most this many events run.
    pub max_events: u64,
    /// The progress callback is called after this many events (and once at the end).
    pub progress_every: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            until: SimTime::MAX,
            max_events: u64::MAX,
            progress_every: 1 << 16,
        }
    }
}

impl Limits {
    /// Runs until `until` with no event limit.
    pub fn until(until: SimTime) -> Self {
        Self {
            until,
            ..Self::default()
        }
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Nothing left to do; with a finite [`Limits::until`] the clock was moved to it, so a
    /// run always covers `0..=until` whatever happens in it.
    QueueEmpty,
    /// The next event is after [`Limits::until`]; the clock was moved to `until`.
    TimeLimit,
    /// [`Limits::max_events`] events ran.
    EventLimit,
    /// The model called [`Scheduler::request_stop`].
    ModelStopped,
    /// The progress callback returned [`ControlFlow::Break`] (e.g. Ctrl-C).
    Interrupted,
    /// The [`Observer`] returned [`ControlFlow::Break`].
    ObserverStopped,
}

/// Where a run stands, as reported to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The simulated time reached.
    pub now: SimTime,
    /// Events executed so far in this run.
    pub events: u64,
    /// Events and armed timers still pending.
    pub pending: usize,
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    /// Why it stopped.
    pub reason: StopReason,
    /// Events handed to the model (stale timer entries are not counted).
    pub events: u64,
    /// The simulated time at the stop.
    pub now: SimTime,
}

/// Runs `model` until a limit is reached, calling `progress` every
/// [`Limits::progress_every`] events; the callback can stop the run by returning
/// [`ControlFlow::Break`].
///
/// ```
/// use sim_core::{run, Limits, Model, Scheduler, SimDuration, SimTime, StopReason};
/// struct Ticker { ticks: u32 }
/// impl Model for Ticker {
///     type Event = ();
///     fn handle(&mut self, sched: &mut Scheduler<()>, _: ()) {
///         self.ticks += 1;
///         sched.schedule_in(SimDuration::from_millis(1), ());
///     }
/// }
/// let mut sched = Scheduler::new();
/// sched.schedule_at(SimTime::ZERO, ());
/// let mut model = Ticker { ticks: 0 };
/// let limits = Limits::until(SimTime::ZERO + SimDuration::from_millis(10));
/// let report = run(&mut model, &mut sched, limits, |_| std::ops::ControlFlow::Continue(()));
/// assert_eq!(model.ticks, 11); // at 0, 1, …, 10 ms inclusive
/// assert_eq!(report.reason, StopReason::TimeLimit);
/// ```
pub fn run<M: Model>(
    model: &mut M,
    sched: &mut Scheduler<M::Event>,
    limits: Limits,
    progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> RunReport {
    run_observed(model, sched, limits, &mut NoObserver, progress)
}

/// [`run`] with an [`Observer`] called at its instants between events. Its instants up to
/// [`Limits::until`] are all observed when the run ends at its time limit or runs out of
/// events; after an early stop (event limit, interruption, the model's or the observer's
/// stop) those not yet reached are not.
///
/// ```
/// use std::ops::ControlFlow;
/// use sim_core::{run_observed, Limits, Model, Observer, Scheduler, SimDuration, SimTime};
/// struct Counter { n: u32 }
/// impl Model for Counter {
///     type Event = ();
///     fn handle(&mut self, s: &mut Scheduler<()>, _: ()) {
///         self.n += 1;
///         s.schedule_in(SimDuration::from_millis(3), ());
///     }
/// }
/// struct Every2ms { next: SimTime, seen: Vec<(u64, u32)> }
/// impl Observer<Counter> for Every2ms {
///     fn next_at(&self) -> Option<SimTime> { Some(self.next) }
///     fn observe(&mut self, c: &Counter, at: SimTime) -> ControlFlow<()> {
///         self.seen.push((at.as_nanos() / 1_000_000, c.n));
///         self.next = at + SimDuration::from_millis(2);
///         ControlFlow::Continue(())
///     }
/// }
/// let mut sched = Scheduler::new();
/// sched.schedule_at(SimTime::ZERO, ());
/// let mut obs = Every2ms { next: SimTime::ZERO, seen: Vec::new() };
/// let until = SimTime::ZERO + SimDuration::from_millis(6);
/// run_observed(&mut Counter { n: 0 }, &mut sched, Limits::until(until), &mut obs, |_| {
///     ControlFlow::Continue(())
/// });
/// // Events at 0, 3 and 6 ms; an instant sees every event at or before it.
/// assert_eq!(obs.seen, vec![(0, 1), (2, 1), (4, 2), (6, 3)]);
/// ```
pub fn run_observed<M: Model, O: Observer<M>>(
    model: &mut M,
    sched: &mut Scheduler<M::Event>,
    limits: Limits,
    observer: &mut O,
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> RunReport {
    let every = limits.progress_every.max(1);
    let mut events: u64 = 0;
    let mut next_report = every;
    let mut next_obs = observer.next_at().unwrap_or(SimTime::MAX);
    let reason = loop {
        if events >= limits.max_events {
            break StopReason::EventLimit;
        }
        let Some(t) = sched.peek_time() else {
            if limits.until != SimTime::MAX {
                if observe_until(model, observer, &mut next_obs, limits.until).is_break() {
                    break StopReason::ObserverStopped;
                }
                sched.advance_to(limits.until);
            }
            break StopReason::QueueEmpty;
        };
        if t > next_obs {
            let upto = limits.until.min(SimTime::from_nanos(t.as_nanos() - 1));
            if observe_until(model, observer, &mut next_obs, upto).is_break() {
                break StopReason::ObserverStopped;
            }
        }
        if t > limits.until {
            sched.advance_to(limits.until);
            break StopReason::TimeLimit;
        }
        let Some(entry) = sched.pop_entry() else {
            break StopReason::QueueEmpty;
        };
        let Some(event) = entry else {
            continue; // a stale arming of a moved or cancelled timer
        };
        sched.set_now_budget(limits.max_events - events - 1);
        model.handle(sched, event);
        events += 1 + sched.take_handled_now();
        if sched.take_stop_request() {
            break StopReason::ModelStopped;
        }
        if events >= next_report {
            next_report = events.saturating_add(every);
            let p = Progress {
                now: sched.now(),
                events,
                pending: sched.pending(),
            };
            if progress(p).is_break() {
                break StopReason::Interrupted;
            }
        }
    };
    let _ = progress(Progress {
        now: sched.now(),
        events,
        pending: sched.pending(),
    });
    RunReport {
        reason,
        events,
        now: sched.now(),
    }
}

/// Runs the events due at or before `until`, never looking past it: afterwards events may
/// still be scheduled anywhere from `until` on (unlike after [`run`], which may have looked
/// at the next event beyond its limit). What a partition of a parallel model runs in one
/// window, before the events that crossed from other partitions are handed to it. The
/// clock ends at `until`. Returns the events handled and whether the model asked to stop.
pub fn run_window<M: Model>(
    model: &mut M,
    sched: &mut Scheduler<M::Event>,
    until: SimTime,
) -> (u64, bool) {
    let mut events = 0u64;
    while sched.next_time().is_some_and(|t| t <= until) {
        let Some(entry) = sched.pop_entry() else {
            break;
        };
        let Some(event) = entry else {
            continue; // a stale arming of a moved or cancelled timer
        };
        sched.set_now_budget(u64::MAX);
        model.handle(sched, event);
        events += 1 + sched.take_handled_now();
        if sched.take_stop_request() {
            return (events, true);
        }
    }
    sched.advance_to(until);
    (events, false)
}

/// Calls the observer at each of its instants up to `upto` inclusive, from `next_obs` (which
/// it moves to the next instant after `upto`). What [`run_observed`] does between events,
/// for a model that drives its own loop (a partitioned run between windows).
#[inline(never)]
pub fn observe_until<M, O: Observer<M>>(
    model: &M,
    observer: &mut O,
    next_obs: &mut SimTime,
    upto: SimTime,
) -> ControlFlow<()> {
    while *next_obs <= upto {
        let at = *next_obs;
        let flow = observer.observe(model, at);
        *next_obs = observer.next_at().unwrap_or(SimTime::MAX);
        debug_assert!(*next_obs > at, "an observer's instants must increase");
        flow?;
    }
    ControlFlow::Continue(())
}
