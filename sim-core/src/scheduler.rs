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
//! Ordering: among items due at the same instant, the one scheduled (or armed) at the earlier
//! instant runs first; among those scheduled at the same instant, the one scheduled by the
//! entity with the smaller number ([`Scheduler::set_source`]: the model names the entity —
//! a host, a switch — whose event it is handling); among those, the ones for the entity
//! itself before those for others ([`Scheduler::schedule_for_other`]); and among those, the
//! one scheduled first.
//! That order depends only on what happened to each entity, never on which other entities
//! share the scheduler, so a model split into partitions, each with its own scheduler, runs
//! every entity's events in exactly the order one scheduler would ([`OrderKey`]).

use crate::queue::{PendingQueue, RadixQueue};

use crate::{SimDuration, SimTime};

/// Where an item stands among the items due at the same instant: built from how long before
/// that instant it was scheduled and by which entity (see the module's ordering rule). A
/// partitioned model takes it from the scheduler of the partition where an event was
/// scheduled ([`Scheduler::order_key`]) and hands it, with the event, to the scheduler of the
/// partition that will handle it ([`Scheduler::schedule_keyed`]).
///
/// Packed in 64 bits: the complement of the delay, capped at 2^40 - 1 ns (18 minutes; events
/// scheduled further ahead than that tie by entity alone), above the entity's number, capped
/// at 2^23 - 1, above one bit set for an item for another entity
/// ([`Scheduler::schedule_for_other`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey(pub u64);

impl OrderKey {
    /// Bits for the entity's number.
    pub const SOURCE_BITS: u32 = 23;
    /// The largest entity number told apart (larger ones share it).
    pub const MAX_SOURCE: u32 = (1 << Self::SOURCE_BITS) - 1;
    const MAX_DELAY: u64 = (1 << (63 - Self::SOURCE_BITS)) - 1;
    /// The bit of an item for another entity.
    pub const FOR_OTHER: u64 = 1;

    /// The key of an item scheduled `delay` ns ahead by entity `source`.
    #[inline]
    pub const fn new(delay: u64, source: u32) -> Self {
        let d = if delay < Self::MAX_DELAY {
            delay
        } else {
            Self::MAX_DELAY
        };
        let src = if source < Self::MAX_SOURCE {
            source
        } else {
            Self::MAX_SOURCE
        };
        Self((((Self::MAX_DELAY - d) << Self::SOURCE_BITS) | src as u64) << 1)
    }
}

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
#[derive(Clone, Copy)]
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
    /// The entity whose event is being handled (part of the [`OrderKey`] of what it
    /// schedules).
    source: u32,
    /// The order key of the event being handled.
    current: OrderKey,
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

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
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
            source: 0,
            current: OrderKey(0),
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

    /// Names the entity whose event the model is about to handle: what it schedules is
    /// ordered, among items due at the same instant and scheduled at the same instant, by
    /// this number (see the module's ordering rule). Entity 0 is the model itself before the
    /// run (what it scheduled while being built). Numbers above [`OrderKey::MAX_SOURCE`] share
    /// that one.
    #[inline]
    pub fn set_source(&mut self, source: u32) {
        self.source = source;
    }

    /// The order key of the event being handled (with its time, [`now`](Self::now), where it
    /// stands in the run's order of events).
    #[inline]
    pub fn current_key(&self) -> OrderKey {
        self.current
    }

    /// A new scheduling number: how many items this scheduler has scheduled so far,
    /// counting the one being numbered. Among the events one entity schedules for other
    /// entities at one instant and for one instant — which share an [`OrderKey`] — the
    /// number gives the order they were scheduled in, for a partitioned model to merge
    /// their outputs in that order (the events carry it themselves). (Not the same number
    /// from run to run: only its order among one entity's items is.)
    #[inline]
    pub fn take_seq(&mut self) -> u64 {
        self.scheduled += 1;
        self.scheduled
    }

    /// The order key an item scheduled now for `at`, to be handled by another entity, gets
    /// (see [`schedule_for_other`](Self::schedule_for_other)).
    #[inline]
    pub fn order_key_for_other(&self, at: SimTime) -> OrderKey {
        OrderKey(self.order_key(at).0 | OrderKey::FOR_OTHER)
    }

    /// Schedules the event `make` builds from its scheduling number ([`take_seq`](Self::take_seq))
    /// at `at`, for another entity than the current source (a frame arriving at the far end
    /// of a link): among the items the source schedules at one instant for one instant,
    /// those for itself come first, then those for others, each group in the order
    /// scheduled. (So the items for others that share an order key are only ever for others,
    /// and a partitioned model can merge their outputs by the number they carry.)
    #[inline]
    pub fn schedule_for_other(&mut self, at: SimTime, make: impl FnOnce(u64) -> E) {
        let key = self.order_key_for_other(at);
        let seq = self.take_seq();
        self.schedule_keyed(at, key, make(seq));
    }

    /// The order key an item scheduled now for `at` gets.
    #[inline]
    pub fn order_key(&self, at: SimTime) -> OrderKey {
        OrderKey::new(at.0.saturating_sub(self.now.0), self.source)
    }

    /// Schedules `event` at the instant `at`. Panics if `at` is before [`now`](Self::now):
    /// scheduling into the past is a bug in the model, never a consequence of input.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        let key = self.order_key(at);
        self.scheduled += 1;
        self.schedule_keyed(at, key, event);
    }

    /// Schedules `event` at `at` with the order key it got where it was scheduled (in the
    /// scheduler of another partition: [`order_key_for_other`](Self::order_key_for_other)).
    #[inline]
    pub fn schedule_keyed(&mut self, at: SimTime, key: OrderKey, event: E) {
        assert!(
            at >= self.now,
            "event scheduled in the past ({at} < {})",
            self.now
        );
        self.live += 1;
        self.queue.push_tied(at, key.0, Pending::Event(event));
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
        let key = self.order_key(at);
        self.queue.push_tied(
            at,
            key.0,
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
        let (time, tie, pending) = self.queue.pop_tied()?;
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
        self.current = OrderKey(tie);
        Some(Some(event))
    }

    /// Splits this scheduler into `parts`, one per partition of the model, at its current
    /// time: each keeps the clock, the source, and the whole table of timers (every timer
    /// keeps its number, so the entities holding [`TimerId`]s need not know), and receives
    /// the pending items `owner` gives it — in order, with their order keys. A timer's
    /// arming goes to the partition of its event; in the others its slot is disarmed.
    ///
    /// # Panics
    /// If `owner` names a partition `>= parts`.
    pub fn split(mut self, parts: usize, owner: impl Fn(&E) -> usize) -> Vec<Self> {
        let timer_owner: Vec<Option<usize>> = self
            .timers
            .iter()
            .map(|t| t.event.as_ref().map(&owner))
            .collect();
        let mut out: Vec<Self> = (0..parts)
            .map(|_| Self {
                now: self.now,
                queue: RadixQueue::default(),
                timers: Vec::with_capacity(self.timers.len()),
                free_timers: self.free_timers.clone(),
                live: 0,
                scheduled: 0,
                stop_requested: false,
                now_budget: 0,
                handled_now: 0,
                source: self.source,
                current: self.current,
            })
            .collect();
        out[0].scheduled = self.scheduled;
        // The queue first (its timer entries are checked against the table as it stands).
        while let Some((time, tie, pending)) = self.queue.pop_tied() {
            let to = match &pending {
                Pending::Event(e) => owner(e),
                Pending::Timer { index, generation } => {
                    let slot = &self.timers[*index as usize];
                    if slot.generation != *generation || slot.deadline.is_none() {
                        continue; // stale
                    }
                    timer_owner[*index as usize].expect("an armed timer has an event")
                }
            };
            if matches!(pending, Pending::Event(_)) {
                out[to].live += 1;
            }
            out[to].queue.push_tied(time, tie, pending);
        }
        for (i, slot) in self.timers.into_iter().enumerate() {
            let generation = slot.generation;
            let armed_in = timer_owner[i];
            let mut slot = Some(slot);
            for (p, s) in out.iter_mut().enumerate() {
                if armed_in == Some(p) {
                    s.live += 1;
                    s.timers.push(slot.take().expect("one owner"));
                } else {
                    s.timers.push(TimerSlot {
                        generation,
                        deadline: None,
                        event: None,
                    });
                }
            }
        }
        out
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
    fn split_keeps_each_partitions_items_their_order_and_its_timers() {
        let mut s: Scheduler<(usize, u32)> = Scheduler::new();
        let at = |ns| SimTime::from_nanos(ns);
        s.set_source(3);
        s.schedule_at(at(10), (1, 1));
        s.set_source(1);
        s.schedule_at(at(10), (0, 2));
        s.schedule_at(at(10), (1, 3));
        let t0 = s.new_timer();
        let t1 = s.new_timer();
        s.arm(&t0, at(5), (0, 4));
        s.arm(&t1, at(7), (1, 5));
        s.arm(&t1, at(8), (1, 6)); // moved: the arming at 7 is stale
        let mut parts = s.split(2, |e| e.0);
        assert_eq!(parts[0].pending(), 2);
        assert_eq!(parts[1].pending(), 3);
        // The timers keep their numbers: partition 1 can move its timer, partition 0 sees
        // it disarmed.
        assert!(!parts[0].is_armed(&t1));
        parts[1].arm(&t1, at(9), (1, 7));
        let drain = |s: &mut Scheduler<(usize, u32)>| {
            std::iter::from_fn(|| s.pop_due(SimTime::MAX).map(|e| e.1)).collect::<Vec<_>>()
        };
        assert_eq!(drain(&mut parts[0]), vec![4, 2]);
        // Source 1's item before source 3's at the same instant and scheduling time.
        assert_eq!(drain(&mut parts[1]), vec![7, 3, 1]);
    }

    #[test]
    fn simultaneous_items_order_by_scheduling_time_then_source() {
        let mut s: Scheduler<u32> = Scheduler::new();
        let at = |ns| SimTime::from_nanos(ns);
        s.set_source(9);
        s.schedule_at(at(100), 1);
        s.schedule_at(at(50), 0);
        s.set_source(2);
        s.schedule_at(at(100), 2);
        assert_eq!(s.pop_due(at(50)), Some(0));
        // Scheduled at 50 by source 2 and 9: after both items scheduled at 0.
        s.set_source(9);
        s.schedule_at(at(100), 4);
        s.set_source(2);
        s.schedule_at(at(100), 3);
        let order: Vec<u32> = std::iter::from_fn(|| s.pop_due(SimTime::MAX)).collect();
        assert_eq!(order, vec![2, 1, 3, 4]);
        // At the clock: a later key goes behind, an earlier one in front of the pending ones.
        s.set_source(5);
        s.schedule_at(at(100), 6);
        s.set_source(1);
        s.schedule_at(at(100), 5);
        assert_eq!(s.pop_due(SimTime::MAX), Some(5));
        assert_eq!(s.pop_due(SimTime::MAX), Some(6));
    }

    #[test]
    #[should_panic(expected = "past an entry")]
    fn advance_idle_refuses_to_skip_an_event() {
        let mut s: Scheduler<u32> = Scheduler::new();
        s.schedule_at(SimTime::from_nanos(10), 1);
        s.advance_idle(SimTime::from_nanos(11));
    }
}
