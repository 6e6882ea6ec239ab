//! The scheduler: the simulated clock, the pending events, and timers.
//!
//! Models hold no clock of their own: a handler reads [`Scheduler::now`] and schedules what
//! follows. Two kinds of pending work:
//!
//! * **events** ([`Scheduler::schedule_at`], [`Scheduler::schedule_in`]): fire once, cannot be
//!   taken back (a frame arriving at the far end of a link);
//! * **timers** ([`Scheduler::new_timer`] then [`Scheduler::arm`], [`Scheduler::cancel`]):
//!   one pending expiry per timer that can be cancelled or moved in O(1), like the kernel's
//!   `mod_timer`/`del_timer` (TCP retransmission, delayed ACK, neighbour timers).
//!
//! A timer carries a generation number. Arming or cancelling bumps it; the queue entry of an
//! earlier arming still sits in the queue but is discarded, unseen by the model, when it
//! comes up. So a cancelled timer never fires, and a moved timer fires once, at its new time.
//!
//! Ordering: among items due at the same instant, the one scheduled (or armed) first runs
//! first — on every machine, every time.

use crate::queue::{PendingQueue, RadixQueue};
use crate::{SimDuration, SimTime};

/// A handle to a timer owned by the model. Not `Copy`: each timer has one owner.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(u32);

impl TimerId {
    /// The timer's index (stable for its lifetime; reused after [`Scheduler::free_timer`]).
    pub const fn index(&self) -> u32 {
        self.0
    }
}

/// What sits in the queue: an event, or a reference to one arming of a timer.
enum Pending<E> {
    Event(E),
    Timer { index: u32, generation: u32 },
}

struct TimerSlot<E> {
    generation: u32,
    deadline: Option<SimTime>,
    event: Option<E>,
}

/// The simulated clock and everything pending.
pub struct Scheduler<E> {
    now: SimTime,
    queue: RadixQueue<Pending<E>>,
    timers: Vec<TimerSlot<E>>,
    free_timers: Vec<u32>,
    /// Live items: events plus armed timers (not the stale entries of moved timers).
    live: usize,
    scheduled: u64,
    stop_requested: bool,
    /// Events the model may still handle on the spot (see [`Scheduler::may_handle_now`]):
    /// what is left of the run's event limit.
    now_budget: u64,
    /// Events handled on the spot during the current one.
    handled_now: u64,
}

impl<E> std::fmt::Debug for Scheduler<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("now", &self.now)
            .field("pending", &self.live)
            .field("timers", &self.timers.len())
            .finish()
    }
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// An empty scheduler at time zero.
    pub fn new() -> Self {
        Self {
            now: SimTime::ZERO,
            queue: RadixQueue::default(),
            timers: Vec::new(),
            free_timers: Vec::new(),
            live: 0,
            scheduled: 0,
            stop_requested: false,
            now_budget: 0,
            handled_now: 0,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events and armed timers still to run.
    pub fn pending(&self) -> usize {
        self.live
    }

    /// Items scheduled or armed since the start (including ones later cancelled).
    pub fn scheduled_total(&self) -> u64 {
        self.scheduled
    }

    /// Schedules `event` at the instant `at`. Panics if `at` is before [`now`](Self::now):
    /// scheduling into the past is a bug in the model, never a consequence of input.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        assert!(
            at >= self.now,
            "event scheduled in the past ({at} < {})",
            self.now
        );
        self.scheduled += 1;
        self.live += 1;
        self.queue.push(at, Pending::Event(event));
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Creates a disarmed timer.
    pub fn new_timer(&mut self) -> TimerId {
        if let Some(index) = self.free_timers.pop() {
            return TimerId(index);
        }
        let index = u32::try_from(self.timers.len()).expect("more than 2^32 timers");
        self.timers.push(TimerSlot {
            generation: 0,
            deadline: None,
            event: None,
        });
        TimerId(index)
    }

    /// Cancels the timer and returns its slot for reuse.
    pub fn free_timer(&mut self, timer: TimerId) {
        self.cancel(&timer);
        self.free_timers.push(timer.0);
    }

    /// Arms (or re-arms, moving it) `timer` to deliver `event` at `at`, replacing any earlier
    /// arming. O(1). Panics if `at` is in the past.
    #[inline]
    pub fn arm(&mut self, timer: &TimerId, at: SimTime, event: E) {
        assert!(
            at >= self.now,
            "timer armed in the past ({at} < {})",
            self.now
        );
        let slot = &mut self.timers[timer.0 as usize];
        slot.generation = slot.generation.wrapping_add(1);
        if slot.deadline.is_none() {
            self.live += 1;
        }
        slot.deadline = Some(at);
        slot.event = Some(event);
        let generation = slot.generation;
        self.scheduled += 1;
        self.queue.push(
            at,
            Pending::Timer {
                index: timer.0,
                generation,
            },
        );
    }

    /// Arms `timer` to fire after `delay` from now.
    #[inline]
    pub fn arm_in(&mut self, timer: &TimerId, delay: SimDuration, event: E) {
        self.arm(timer, self.now + delay, event);
    }

    /// Disarms `timer`; it will not fire until armed again. O(1). Cancelling a disarmed
    /// timer does nothing.
    #[inline]
    pub fn cancel(&mut self, timer: &TimerId) {
        let slot = &mut self.timers[timer.0 as usize];
        if slot.deadline.take().is_some() {
            slot.generation = slot.generation.wrapping_add(1);
            slot.event = None;
            self.live -= 1;
        }
    }

    /// When `timer` will fire, or `None` if it is disarmed.
    pub fn deadline(&self, timer: &TimerId) -> Option<SimTime> {
        self.timers[timer.0 as usize].deadline
    }

    /// Whether `timer` is armed.
    pub fn is_armed(&self, timer: &TimerId) -> bool {
        self.deadline(timer).is_some()
    }

    /// The time of the earliest pending entry, without disturbing the queue: that of the next
    /// event or timer, or earlier, that of an arming since moved or cancelled (discarded
    /// unseen when reached). For a model driven one step at a time from outside
    /// [`run`](crate::run), such as `sim drill`'s host, which must know when its next event
    /// is without looking past it.
    pub fn next_time(&self) -> Option<SimTime> {
        self.queue.min_time()
    }

    /// Takes the next event due at or before `until` (the clock moves to its time), or
    /// `None` when nothing is due by then. Unlike [`run`](crate::run), it never looks past
    /// `until`, so events may still be scheduled anywhere from the clock on: a model driven
    /// step by step from outside handles what is due, then [`advance_idle`](Self::advance_idle)s.
    pub fn pop_due(&mut self, until: SimTime) -> Option<E> {
        loop {
            if self.queue.min_time()? > until {
                return None;
            }
            if let Some(event) = self.pop_entry()? {
                return Some(event);
            }
        }
    }

    /// Moves the clock forward to `t` (never back) across a stretch where nothing is due.
    /// Panics if an entry is due before `t`: [`pop_due`](Self::pop_due) takes those first.
    pub fn advance_idle(&mut self, t: SimTime) {
        if let Some(next) = self.queue.min_time() {
            assert!(next >= t, "advance_idle to {t} past an entry due at {next}");
        }
        self.advance_to(t);
    }

    /// Asks the run loop to stop after the current event (e.g. all apps are done).
    pub fn request_stop(&mut self) {
        self.stop_requested = true;
    }

    /// Whether an event the model is about to schedule for *now* would be the very next
    /// one the run handles — nothing else is pending for this instant, no stop was asked
    /// for, the event limit allows one more — so the model may handle it right away
    /// instead, with exactly the same result and one trip through the queue less. When it
    /// answers yes, the event is counted as handled (in [`RunReport::events`](crate::RunReport)
    /// and against the limit), and the model must handle it before returning.
    #[inline]
    pub fn may_handle_now(&mut self) -> bool {
        if self.stop_requested || self.now_budget == 0 || self.queue.has_entry_at_last() {
            return false;
        }
        self.now_budget -= 1;
        self.handled_now += 1;
        true
    }

    /// Before handling an event: how many more the model may handle on the spot.
    #[inline]
    pub(crate) fn set_now_budget(&mut self, budget: u64) {
        self.now_budget = budget;
    }

    /// After handling an event: how many the model handled on the spot.
    #[inline]
    pub(crate) fn take_handled_now(&mut self) -> u64 {
        std::mem::take(&mut self.handled_now)
    }

    pub(crate) fn take_stop_request(&mut self) -> bool {
        std::mem::take(&mut self.stop_requested)
    }

    /// The time of the earliest queue entry (possibly a stale timer entry, which is never
    /// later than the next live item).
    #[inline]
    pub(crate) fn peek_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Pops the earliest entry; `Some(Some(event))` for a live one (the clock moves to its
    /// time), `Some(None)` for a stale timer entry (discarded), `None` when empty.
    #[inline]
    pub(crate) fn pop_entry(&mut self) -> Option<Option<E>> {
        let (time, pending) = self.queue.pop()?;
        let event = match pending {
            Pending::Event(e) => e,
            Pending::Timer { index, generation } => {
                let slot = &mut self.timers[index as usize];
                if slot.generation != generation {
                    // A stale entry may lie later than the clock; if it was the last one,
                    // let the queue accept times from `now` again.
                    self.queue.rewind_if_empty(self.now);
                    return Some(None);
                }
                slot.deadline = None;
                slot.event.take().expect("armed timer has an event")
            }
        };
        self.live -= 1;
        self.now = time;
        Some(Some(event))
    }

    /// Moves the clock forward to `t` (the end of a time-limited run). Never backwards.
    pub(crate) fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_stepped_from_outside_may_schedule_before_the_next_event() {
        let mut s: Scheduler<u32> = Scheduler::new();
        let ms = SimTime::from_nanos(1_000_000);
        s.schedule_at(ms + SimDuration::from_millis(9), 1);
        let t = s.new_timer();
        s.arm(&t, ms + SimDuration::from_millis(4), 2);
        s.cancel(&t);
        assert_eq!(s.next_time(), Some(ms + SimDuration::from_millis(4)));
        // Nothing live is due by 5 ms: the stale arming is discarded, the clock stays.
        assert_eq!(s.pop_due(ms + SimDuration::from_millis(5)), None);
        s.advance_idle(ms + SimDuration::from_millis(5));
        assert_eq!(s.now(), ms + SimDuration::from_millis(5));
        // Still open from the clock on, before the pending event.
        s.schedule_at(ms + SimDuration::from_millis(6), 3);
        assert_eq!(s.next_time(), Some(ms + SimDuration::from_millis(6)));
        assert_eq!(s.pop_due(ms + SimDuration::from_millis(20)), Some(3));
        assert_eq!(s.now(), ms + SimDuration::from_millis(6));
        assert_eq!(s.pop_due(ms + SimDuration::from_millis(20)), Some(1));
        assert_eq!(s.pop_due(ms + SimDuration::from_millis(20)), None);
        assert_eq!(s.next_time(), None);
    }

    #[test]
    #[should_panic(expected = "past an entry")]
    fn advance_idle_refuses_to_skip_an_event() {
        let mut s: Scheduler<u32> = Scheduler::new();
        s.schedule_at(SimTime::from_nanos(10), 1);
        s.advance_idle(SimTime::from_nanos(11));
    }
}
