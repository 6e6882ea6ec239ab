//! `pfifo` (`net/sched/sch_fifo.c`): one FIFO of at most `limit` packets, tail drop.
//!
//! `pfifo_enqueue` admits a packet while `qlen < limit`; the requeue slot counts towards
//! `qlen`, as in Linux. Not modeled: `bfifo` (byte limit; tbf uses an internal byte FIFO) and
//! `pfifo_head_drop`.

use std::collections::VecDeque;

use sim_core::SimTime;

use super::{Dequeue, Enqueue, QdiscCore, QdiscStats, pkt_len};
use crate::skb::Skb;

/// A single FIFO with a packet limit.
#[derive(Debug)]
pub struct Pfifo {
    queue: VecDeque<Skb>,
    limit: u32,
    core: QdiscCore,
}

impl Pfifo {
    /// A pfifo holding at most `limit` packets (`tc qdisc add ... pfifo limit N`; Linux
    /// defaults it to the device's `txqueuelen`). A limit of 0 drops every packet.
    pub fn new(limit: u32) -> Self {
        Self {
            queue: VecDeque::new(),
            limit,
            core: QdiscCore::default(),
        }
    }

    /// The packet limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// `pfifo_enqueue`.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime) -> Enqueue {
        if self.core.stats.qlen >= u64::from(self.limit) {
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        }
        skb.enqueue_time = now;
        self.core.add(pkt_len(&skb));
        self.queue.push_back(skb);
        Enqueue::Queued
    }

    /// `qdisc_dequeue_head`.
    pub fn dequeue(&mut self, _now: SimTime, _dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        match self.queue.pop_front() {
            Some(skb) => {
                let len = pkt_len(&skb);
                self.core.remove(len);
                self.core.sent(len, skb.gso_segs);
                Dequeue::Packet(skb)
            }
            None => Dequeue::Empty,
        }
    }

    /// `dev_requeue_skb`.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// Packets waiting in the requeue slot (already counted in Sent, see [`QdiscStats`]).
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::test_util::pkt;
    use crate::skb::SkbPool;

    #[test]
    fn fifo_order_limit_and_requeue() {
        let mut pool = SkbPool::new();
        let mut q = Pfifo::new(3);
        let mut ids = Vec::new();
        for prio in [7, 0, 2] {
            let skb = pkt(&mut pool, 100, 0, prio);
            ids.push(skb.id);
            assert!(matches!(q.enqueue(skb, SimTime::ZERO), Enqueue::Queued));
        }
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO),
            Enqueue::Dropped(_)
        ));
        let mut out = Vec::new();
        let Dequeue::Packet(first) = q.dequeue(SimTime::ZERO, &mut out) else {
            panic!()
        };
        assert_eq!(first.id, ids[0]);
        q.requeue(first);
        let mut got = Vec::new();
        while let Dequeue::Packet(skb) = q.dequeue(SimTime::ZERO, &mut out) {
            got.push(skb.id);
        }
        assert_eq!(got, ids); // priority is ignored; the requeued packet comes back first
        let s = *q.stats();
        assert_eq!(
            (s.packets, s.bytes, s.drops, s.requeues, s.qlen, s.backlog),
            (3, 300, 1, 1, 0, 0)
        );
    }
}
