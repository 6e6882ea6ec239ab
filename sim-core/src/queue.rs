//! Pending-event queues ordered by `(time, insertion sequence)`.
//!
//! Three implementations of one contract, [`PendingQueue`], kept side by side so that the
//! hold-model benchmark (`cargo bench -p sim-core`) can compare them on the same machine:
//!
//! * [`BinaryHeapQueue`]: std's binary heap over `(time, seq)` keys; the textbook baseline.
//! * [`QuaternaryHeapQueue`]: an implicit 4-ary heap, shallower and friendlier to caches.
//! * [`RadixQueue`]: a radix heap on the integer time (Ahuja, Mehlhorn, Orlin and Tarjan,
//!   1990), monotone like every discrete-event clock: O(1) push, amortized O(log T) pop, and
//!   FIFO ties for free. The engine uses this one; docs/performance.md has the figures.
//!
//! The contract: [`pop`](PendingQueue::pop) returns the item with the smallest time, and
//! among items with equal times the one pushed first. While items are pending, new ones may
//! be pushed with any time not earlier than the last popped one (the simulated clock never
//! runs backwards).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::SimTime;

/// A priority queue of pending items keyed by time, ties broken by push order.
pub trait PendingQueue<T> {
    /// Adds `item` due at `time`. `time` must not be earlier than the last popped time.
    fn push(&mut self, time: SimTime, item: T);
    /// Removes and returns the earliest item (the first pushed among equals).
    fn pop(&mut self) -> Option<(SimTime, T)>;
    /// The time of the earliest item, if any.
    fn peek_time(&mut self) -> Option<SimTime>;
    /// Number of items pending.
    fn len(&self) -> usize;
    /// Whether nothing is pending.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct HeapEntry<T> {
    time: u64,
    seq: u64,
    item: T,
}

impl<T> HeapEntry<T> {
    #[inline]
    fn key(&self) -> (u64, u64) {
        (self.time, self.seq)
    }
}

impl<T> PartialEq for HeapEntry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<T> Eq for HeapEntry<T> {}
impl<T> PartialOrd for HeapEntry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for HeapEntry<T> {
    /// Reversed, so std's max-heap pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// std's binary heap keyed by `(time, seq)`.
pub struct BinaryHeapQueue<T> {
    heap: BinaryHeap<HeapEntry<T>>,
    seq: u64,
}

impl<T> Default for BinaryHeapQueue<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> std::fmt::Debug for BinaryHeapQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryHeapQueue")
            .field("len", &self.heap.len())
            .finish()
    }
}

impl<T> PendingQueue<T> for BinaryHeapQueue<T> {
    fn push(&mut self, time: SimTime, item: T) {
        self.seq += 1;
        self.heap.push(HeapEntry {
            time: time.0,
            seq: self.seq,
            item,
        });
    }
    fn pop(&mut self) -> Option<(SimTime, T)> {
        self.heap.pop().map(|e| (SimTime(e.time), e.item))
    }
    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime(e.time))
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// An implicit 4-ary min-heap keyed by `(time, seq)`.
pub struct QuaternaryHeapQueue<T> {
    heap: Vec<HeapEntry<T>>,
    seq: u64,
}

impl<T> Default for QuaternaryHeapQueue<T> {
    fn default() -> Self {
        Self {
            heap: Vec::new(),
            seq: 0,
        }
    }
}

impl<T> std::fmt::Debug for QuaternaryHeapQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuaternaryHeapQueue")
            .field("len", &self.heap.len())
            .finish()
    }
}

impl<T> PendingQueue<T> for QuaternaryHeapQueue<T> {
    fn push(&mut self, time: SimTime, item: T) {
        self.seq += 1;
        let entry = HeapEntry {
            time: time.0,
            seq: self.seq,
            item,
        };
        let key = entry.key();
        self.heap.push(entry);
        let mut i = self.heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.heap[parent].key() <= key {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    fn pop(&mut self) -> Option<(SimTime, T)> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some((SimTime(last.time), last.item));
        }
        let top = std::mem::replace(&mut self.heap[0], last);
        let n = self.heap.len();
        let key = self.heap[0].key();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let end = (first + 4).min(n);
            let mut best = first;
            let mut best_key = self.heap[first].key();
            for c in first + 1..end {
                let k = self.heap[c].key();
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if key <= best_key {
                break;
            }
            self.heap.swap(i, best);
            i = best;
        }
        Some((SimTime(top.time), top.item))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime(e.time))
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// A radix heap on integer time: O(1) push, amortized O(log T) pop, FIFO among equal times.
///
/// The `now` stack holds the items due exactly at `last` (the last minimum taken), ordered
/// by their tie key and, among equal keys, in push order; bucket `b` holds the items whose
/// time differs from `last` first in bit `b`. An item's bucket is
/// a function of its time and `last` alone, so items with equal times always share a bucket,
/// and since every move drains a bucket in order into empty lower buckets, their push order
/// is kept; a refill sorts the items it moves to `now` by tie key (stably: equal keys stay
/// first-in first-out).
///
/// Tie keys ([`RadixQueue::push_tied`]) are the engine's: the scheduler gives every item one
/// that depends only on when and by whom it was scheduled, so that the order of simultaneous
/// events does not depend on how the model is split into partitions. Through
/// [`PendingQueue::push`] every key is 0 and ties are first-in first-out.
pub struct RadixQueue<T> {
    last: u64,
    len: usize,
    /// Bit `b` set when `buckets[b]` is non-empty.
    occupied: u64,
    /// `(tie key, item)` due at `last`, the next to pop at the end: a plain stack, so that
    /// taking one is a `Vec::pop`.
    now: Vec<(u64, T)>,
    /// `(time, tie key, item)`.
    buckets: [Vec<(u64, u64, T)>; 64],
    /// The smallest time in each bucket (meaningful while the bucket is occupied), kept on
    /// push so a refill needs one pass over the bucket, not two.
    bucket_min: [u64; 64],
}

impl<T> Default for RadixQueue<T> {
    fn default() -> Self {
        Self {
            last: 0,
            len: 0,
            occupied: 0,
            now: Vec::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            bucket_min: [u64::MAX; 64],
        }
    }
}

impl<T> std::fmt::Debug for RadixQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadixQueue")
            .field("last", &self.last)
            .field("len", &self.len)
            .finish()
    }
}

impl<T: Copy> RadixQueue<T> {
    /// Index into `buckets` (bit position of the highest differing bit), for `time != last`.
    #[inline]
    fn bucket_of(last: u64, time: u64) -> usize {
        // `& 63` is a no-op for `time != last`; it lets the compiler drop the bounds checks.
        (63 - (time ^ last).leading_zeros() as usize) & 63
    }

    /// Moves the lowest non-empty bucket down so that `now` holds the next items.
    /// Requires `now` empty and at least one item pending.
    fn refill(&mut self) {
        let b = self.occupied.trailing_zeros() as usize & 63;
        let min = std::mem::replace(&mut self.bucket_min[b], u64::MAX);
        self.last = min;
        let mut occupied = self.occupied & !(1u64 << b);
        // Every item of bucket `b` goes to `now` or to a lower bucket (like `min`, they have
        // bit `b` set and agree with `last` above it), so the source and targets never alias.
        let (lower, upper) = self.buckets.split_at_mut(b);
        let mins = &mut self.bucket_min[..b];
        let src = &mut upper[0];
        for &(t, tie, item) in src.iter() {
            if t == min {
                self.now.push((tie, item));
            } else {
                let nb = Self::bucket_of(min, t);
                lower[nb].push((t, tie, item));
                occupied |= 1u64 << nb;
                if t < mins[nb] {
                    mins[nb] = t;
                }
            }
        }
        src.clear();
        self.occupied = occupied;
        if self.now.len() > 1 {
            if !self.now.is_sorted_by_key(|e| e.0) {
                // Stable: equal keys keep their push order.
                self.now.sort_by_key(|e| e.0);
            }
            self.now.reverse();
        }
    }

    /// Adds `item` due at `time` with tie key `tie`: among items due at the same time, the
    /// smaller key comes out first, and among equal keys the first pushed. `time` must not
    /// be earlier than the last popped time: the caller checks (the scheduler never pushes
    /// before its clock, which is never earlier); an item pushed into the past would come
    /// out of order.
    #[inline]
    pub fn push_tied(&mut self, time: SimTime, tie: u64, item: T) {
        let t = time.0;
        debug_assert!(t >= self.last, "pushed into the past");
        self.len += 1;
        if t == self.last {
            self.push_now(tie, item);
        } else {
            let b = Self::bucket_of(self.last, t);
            self.buckets[b].push((t, tie, item));
            self.occupied |= 1u64 << b;
            self.bucket_min[b] = self.bucket_min[b].min(t);
        }
    }

    /// Adds an item due at `last` to `now`: behind every pending key not above `tie` (the
    /// usual case, an item scheduled for the instant being handled, has the largest key).
    fn push_now(&mut self, tie: u64, item: T) {
        // `now` pops from the end, so the item goes below those with larger keys.
        let at = self.now.partition_point(|e| e.0 > tie);
        self.now.insert(at, (tie, item));
    }

    /// Removes and returns the earliest item with its tie key (the smallest key among the
    /// earliest, the first pushed among equal keys).
    #[inline]
    pub fn pop_tied(&mut self) -> Option<(SimTime, u64, T)> {
        if self.now.is_empty() {
            if self.occupied == 0 {
                return None;
            }
            // The lowest bucket often holds a single item (events are sparse at the fine
            // end): it is the minimum, and goes straight out, not through `now`.
            let b = self.occupied.trailing_zeros() as usize & 63;
            if self.buckets[b].len() == 1 {
                let (t, tie, item) = self.buckets[b].pop().expect("one item");
                self.occupied &= !(1u64 << b);
                self.bucket_min[b] = u64::MAX;
                self.last = t;
                self.len -= 1;
                return Some((SimTime(t), tie, item));
            }
            self.refill();
        }
        let (tie, item) = self.now.pop()?;
        self.len -= 1;
        Some((SimTime(self.last), tie, item))
    }
}

impl<T: Copy> RadixQueue<T> {
    /// Whether an entry is pending at the time of the last one popped (the clock): those
    /// all wait in `now`, behind which a push for that time would go.
    #[inline]
    pub fn has_entry_at_last(&self) -> bool {
        !self.now.is_empty()
    }

    /// The time of the earliest item, without moving anything: unlike
    /// [`peek_time`](PendingQueue::peek_time), it leaves every time from the last popped one
    /// on open to pushes. (The lowest occupied bucket holds the earliest items, and each
    /// bucket's minimum is kept as items arrive.)
    #[inline]
    pub fn min_time(&self) -> Option<SimTime> {
        if !self.now.is_empty() {
            return Some(SimTime(self.last));
        }
        if self.occupied == 0 {
            return None;
        }
        let b = self.occupied.trailing_zeros() as usize & 63;
        Some(SimTime(self.bucket_min[b]))
    }

    /// When the queue is empty, allows pushes from `floor` on again (the scheduler discards
    /// stale timer entries that may lie later than its clock). Does nothing otherwise.
    pub fn rewind_if_empty(&mut self, floor: SimTime) {
        if self.len == 0 {
            self.last = self.last.min(floor.0);
        }
    }
}

impl<T: Copy> PendingQueue<T> for RadixQueue<T> {
    #[inline]
    fn push(&mut self, time: SimTime, item: T) {
        assert!(
            time.0 >= self.last,
            "event scheduled in the past: {time} < {}",
            SimTime(self.last)
        );
        self.push_tied(time, 0, item);
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, T)> {
        self.pop_tied().map(|(t, _, item)| (t, item))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        if self.now.is_empty() {
            if self.occupied == 0 {
                return None;
            }
            let b = self.occupied.trailing_zeros() as usize & 63;
            if self.buckets[b].len() == 1 {
                // Left in place for `pop` to take (see there).
                return Some(SimTime(self.bucket_min[b]));
            }
            self.refill();
        }
        Some(SimTime(self.last))
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_order<Q: PendingQueue<u64> + Default>(ops: &[(bool, u64)]) {
        // Reference: a sorted list of (time, seq).
        let mut q = Q::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut now = 0u64;
        let mut seq = 0u64;
        for &(is_push, delay) in ops {
            if is_push {
                seq += 1;
                q.push(SimTime(now + delay), seq);
                reference.push((now + delay, seq));
            } else {
                reference.sort_unstable();
                let expect = if reference.is_empty() {
                    None
                } else {
                    Some(reference.remove(0))
                };
                if delay % 2 == 1 {
                    // Peeking (as the run loop does before each pop) changes nothing.
                    assert_eq!(q.peek_time().map(|t| t.0), expect.map(|e| e.0));
                }
                let got = q.pop().map(|(t, s)| (t.0, s));
                assert_eq!(got, expect);
                if let Some((t, _)) = got {
                    now = t;
                }
            }
            assert_eq!(q.len(), reference.len());
        }
        reference.sort_unstable();
        for expect in reference {
            assert_eq!(q.pop().map(|(t, s)| (t.0, s)), Some(expect));
        }
        assert!(q.pop().is_none());
    }

    fn ops() -> impl Strategy<Value = Vec<(bool, u64)>> {
        // Small delays make many ties; occasional huge ones exercise the high buckets.
        let delay = prop_oneof![0u64..4, 0u64..1000, 0u64..(1u64 << 50)];
        proptest::collection::vec((proptest::bool::weighted(0.6), delay), 0..400)
    }

    proptest! {
        #[test]
        fn binary_heap_pops_in_time_then_push_order(ops in ops()) {
            check_order::<BinaryHeapQueue<u64>>(&ops);
        }
        #[test]
        fn quaternary_heap_pops_in_time_then_push_order(ops in ops()) {
            check_order::<QuaternaryHeapQueue<u64>>(&ops);
        }
        #[test]
        fn radix_queue_pops_in_time_then_push_order(ops in ops()) {
            check_order::<RadixQueue<u64>>(&ops);
        }
        #[test]
        fn radix_queue_pops_in_time_then_tie_key_then_push_order(
            ops in proptest::collection::vec(
                (proptest::bool::weighted(0.6), prop_oneof![0u64..3, 0u64..1000], 0u64..4),
                0..400,
            )
        ) {
            // Reference: sorted (time, tie, seq). Keys pushed at the clock may be smaller
            // than those pending there (they go in front).
            let mut q = RadixQueue::default();
            let mut reference: Vec<(u64, u64, u64)> = Vec::new();
            let mut now = 0u64;
            let mut seq = 0u64;
            for &(is_push, delay, tie) in &ops {
                if is_push {
                    seq += 1;
                    q.push_tied(SimTime(now + delay), tie, seq);
                    reference.push((now + delay, tie, seq));
                } else {
                    reference.sort_unstable();
                    let expect = (!reference.is_empty()).then(|| reference.remove(0));
                    let got = q.pop_tied().map(|(t, k, s)| (t.0, k, s));
                    prop_assert_eq!(got, expect);
                    if let Some((t, _, _)) = got {
                        now = t;
                    }
                }
            }
        }
        #[test]
        fn radix_queue_min_time_is_the_next_pop_and_leaves_the_past_open(ops in ops()) {
            // `min_time` says when the next item is due, and pushing anywhere from the last
            // popped time on stays allowed after it (a model stepping to an instant before
            // the next item schedules there).
            let mut q = RadixQueue::default();
            let mut pending: Vec<u64> = Vec::new();
            let mut now = 0u64;
            for &(is_push, delay) in &ops {
                prop_assert_eq!(q.min_time().map(|t| t.0), pending.iter().min().copied());
                if is_push {
                    // Due between the clock and the next item (or anywhere when `delay` is odd).
                    let at = match pending.iter().min() {
                        Some(&m) if delay % 2 == 0 => now + delay % (m - now + 1),
                        _ => now + delay,
                    };
                    q.push(SimTime(at), 0u64);
                    pending.push(at);
                } else if let Some((t, _)) = q.pop() {
                    now = t.0;
                    let i = pending.iter().position(|&p| p == now).expect("was pending");
                    pending.swap_remove(i);
                }
            }
        }
        #[test]
        fn radix_queue_knows_what_is_pending_at_the_clock(ops in ops()) {
            // `has_entry_at_last` (which lets the scheduler handle an event on the spot)
            // must say exactly whether something is due at the time last popped.
            let mut q = RadixQueue::default();
            let mut pending: Vec<u64> = Vec::new();
            let mut now = 0u64;
            for &(is_push, delay) in &ops {
                if is_push {
                    q.push(SimTime(now + delay), 0u64);
                    pending.push(now + delay);
                } else {
                    if delay % 2 == 1 {
                        let _ = q.peek_time();
                    }
                    if let Some((t, _)) = q.pop() {
                        now = t.0;
                        let i = pending.iter().position(|&p| p == now).expect("was pending");
                        pending.swap_remove(i);
                    }
                }
                prop_assert_eq!(q.has_entry_at_last(), pending.contains(&now));
            }
        }
    }

    #[test]
    fn radix_ties_are_fifo_across_refills() {
        let mut q = RadixQueue::default();
        q.push(SimTime(10), 'a');
        q.push(SimTime(8), 'x');
        assert_eq!(q.pop(), Some((SimTime(8), 'x')));
        q.push(SimTime(10), 'b');
        q.push(SimTime(9), 'y');
        q.push(SimTime(10), 'c');
        assert_eq!(q.pop(), Some((SimTime(9), 'y')));
        q.push(SimTime(10), 'd');
        let rest: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, c)| c)).collect();
        assert_eq!(rest, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn radix_refuses_the_past() {
        let mut q = RadixQueue::default();
        q.push(SimTime(10), ());
        q.push(SimTime(12), ());
        q.pop();
        q.push(SimTime(9), ());
    }
}
