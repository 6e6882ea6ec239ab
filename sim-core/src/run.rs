//! The run loop: pop the earliest event, hand it to the model, repeat within limits.

use std::ops::ControlFlow;

use crate::{Scheduler, SimTime};

/// A model driven by the engine: it receives each event with the scheduler, reads
/// [`Scheduler::now`], changes its state and schedules what follows.
pub trait Model {
    /// The events this model schedules for itself.
    type Event;
    /// Handles one event at [`Scheduler::now`].
    fn handle(&mut self, sched: &mut Scheduler<Self::Event>, event: Self::Event);
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
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> RunReport {
    let every = limits.progress_every.max(1);
    let mut events: u64 = 0;
    let mut next_report = every;
    let reason = loop {
        if events >= limits.max_events {
            break StopReason::EventLimit;
        }
        let Some(t) = sched.peek_time() else {
            if limits.until != SimTime::MAX {
                sched.advance_to(limits.until);
            }
            break StopReason::QueueEmpty;
        };
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
