//! `pfifo_fast`, the Linux default root qdisc (`net/sched/sch_generic.c`), and the TOS to
//! priority mapping that feeds it (`ip_tos2prio` in `net/ipv4/route.c`).
//!
//! Three FIFO bands; a packet's band comes from `skb.priority & TC_PRIO_MAX` through
//! [`PRIO2BAND`]; dequeue always serves the lowest-numbered non-empty band, so band 0
//! (interactive, control) overtakes band 1 (best effort), which overtakes band 2 (bulk).
//! Strict priority: a busy band 0 can starve the others, as in Linux.
//!
//! The limit is `txqueuelen` packets for the three bands together, with tail drop, as
//! pfifo_fast did until Linux 4.16 (`qdisc->q.qlen < dev->tx_queue_len`). Since 4.16 the
//! lockless pfifo_fast gives *each* band a ring of `txqueuelen` slots; the difference only
//! shows when more than one band is full.
//!
//! Not modeled: the per-CPU lockless implementation itself, and `tc qdisc ... priomap`
//! (pfifo_fast's map is fixed in Linux too).

use std::collections::VecDeque;

use sim_core::SimTime;

use super::{Dequeue, Enqueue, QdiscCore, QdiscStats, pkt_len};
use crate::skb::Skb;

/// `TC_PRIO_BESTEFFORT`: ordinary traffic.
pub const TC_PRIO_BESTEFFORT: u32 = 0;
/// `TC_PRIO_FILLER`.
pub const TC_PRIO_FILLER: u32 = 1;
/// `TC_PRIO_BULK`: IPTOS_THROUGHPUT traffic.
pub const TC_PRIO_BULK: u32 = 2;
/// `TC_PRIO_INTERACTIVE_BULK`: IPTOS_LOWDELAY | IPTOS_THROUGHPUT.
pub const TC_PRIO_INTERACTIVE_BULK: u32 = 4;
/// `TC_PRIO_INTERACTIVE`: IPTOS_LOWDELAY traffic.
pub const TC_PRIO_INTERACTIVE: u32 = 6;
/// `TC_PRIO_CONTROL`: routing and other control traffic.
pub const TC_PRIO_CONTROL: u32 = 7;
/// `TC_PRIO_MAX`: priorities are taken modulo 16 (`priority & TC_PRIO_MAX`).
pub const TC_PRIO_MAX: u32 = 15;

/// `IPTOS_TOS_MASK`: the four RFC 1349 TOS bits of the TOS byte.
pub const IPTOS_TOS_MASK: u8 = 0x1E;
/// `IPTOS_LOWDELAY`.
pub const IPTOS_LOWDELAY: u8 = 0x10;
/// `IPTOS_THROUGHPUT`.
pub const IPTOS_THROUGHPUT: u8 = 0x08;
/// `IPTOS_RELIABILITY`.
pub const IPTOS_RELIABILITY: u8 = 0x04;
/// `IPTOS_MINCOST`.
pub const IPTOS_MINCOST: u8 = 0x02;

/// Number of pfifo_fast bands (`PFIFO_FAST_BANDS`).
pub const PFIFO_FAST_BANDS: usize = 3;

/// pfifo_fast's `prio2band`: band for each `priority & TC_PRIO_MAX`.
pub const PRIO2BAND: [u8; 16] = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];

/// `ip_tos2prio`, indexed by `IPTOS_TOS(tos) >> 1` (current kernels: the odd entries, where
/// the old "minimize cost" bit overlaps ECN's ECT(0), map like the even ones).
const IP_TOS2PRIO: [u8; 16] = [
    TC_PRIO_BESTEFFORT as u8,
    TC_PRIO_BESTEFFORT as u8,
    TC_PRIO_BESTEFFORT as u8,
    TC_PRIO_BESTEFFORT as u8,
    TC_PRIO_BULK as u8,
    TC_PRIO_BULK as u8,
    TC_PRIO_BULK as u8,
    TC_PRIO_BULK as u8,
    TC_PRIO_INTERACTIVE as u8,
    TC_PRIO_INTERACTIVE as u8,
    TC_PRIO_INTERACTIVE as u8,
    TC_PRIO_INTERACTIVE as u8,
    TC_PRIO_INTERACTIVE_BULK as u8,
    TC_PRIO_INTERACTIVE_BULK as u8,
    TC_PRIO_INTERACTIVE_BULK as u8,
    TC_PRIO_INTERACTIVE_BULK as u8,
];

/// The skb priority Linux derives from an IP TOS byte (`rt_tos2priority`), which the IP layer
/// stores in `skb.priority` (`sk->sk_priority` follows `IP_TOS` the same way). For example
/// `IPTOS_LOWDELAY` (0x10) gives `TC_PRIO_INTERACTIVE` (6, band 0), `IPTOS_THROUGHPUT` (0x08)
/// gives `TC_PRIO_BULK` (2, band 2), and 0 gives `TC_PRIO_BESTEFFORT` (0, band 1).
pub fn rt_tos2priority(tos: u8) -> u32 {
    u32::from(IP_TOS2PRIO[usize::from((tos & IPTOS_TOS_MASK) >> 1)])
}

/// The pfifo_fast band (0 = served first) for an skb priority.
pub fn prio2band(priority: u32) -> usize {
    usize::from(PRIO2BAND[(priority & TC_PRIO_MAX) as usize])
}

/// Three strict-priority FIFO bands sharing a limit of `txqueuelen` packets.
#[derive(Debug)]
pub struct PfifoFast {
    bands: [VecDeque<Skb>; PFIFO_FAST_BANDS],
    limit: u32,
    core: QdiscCore,
}

impl PfifoFast {
    /// A pfifo_fast for a device with this `txqueuelen` (1000 by default on Ethernet). A
    /// limit of 0 drops every packet.
    pub fn new(txqueuelen: u32) -> Self {
        Self {
            bands: Default::default(),
            limit: txqueuelen,
            core: QdiscCore::default(),
        }
    }

    /// The packet limit (`txqueuelen`).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Packets queued in `band` (0..3), not counting the requeue slot.
    pub fn band_len(&self, band: usize) -> usize {
        self.bands[band].len()
    }

    /// `pfifo_fast_enqueue`: tail drop once `txqueuelen` packets are held.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime) -> Enqueue {
        if self.core.stats.qlen >= u64::from(self.limit) {
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        }
        skb.enqueue_time = now;
        self.core.add(pkt_len(&skb));
        self.bands[prio2band(skb.priority)].push_back(skb);
        Enqueue::Queued
    }

    /// `pfifo_fast_dequeue`: the head of the first non-empty band.
    pub fn dequeue(&mut self, _now: SimTime, _dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        for band in &mut self.bands {
            if let Some(skb) = band.pop_front() {
                let len = pkt_len(&skb);
                self.core.remove(len);
                self.core.sent(len, skb.gso_segs);
                return Dequeue::Packet(skb);
            }
        }
        Dequeue::Empty
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
    use crate::qdisc::{Qdisc, Qdisc::PfifoFast as Pf};
    use crate::skb::SkbPool;

    fn next_id(q: &mut Qdisc) -> u64 {
        match q.dequeue(SimTime::ZERO, &mut Vec::new()) {
            Dequeue::Packet(skb) => skb.id,
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    #[test]
    fn tos_maps_to_linux_priorities_and_bands() {
        assert_eq!(rt_tos2priority(0), TC_PRIO_BESTEFFORT);
        assert_eq!(rt_tos2priority(IPTOS_LOWDELAY), TC_PRIO_INTERACTIVE);
        assert_eq!(rt_tos2priority(IPTOS_THROUGHPUT), TC_PRIO_BULK);
        assert_eq!(rt_tos2priority(IPTOS_RELIABILITY), TC_PRIO_BESTEFFORT);
        assert_eq!(
            rt_tos2priority(IPTOS_LOWDELAY | IPTOS_THROUGHPUT),
            TC_PRIO_INTERACTIVE_BULK
        );
        // ECN bits and DSCP bits outside the TOS mask do not matter; ECT(0) (0x02) is not
        // mistaken for "minimize cost".
        assert_eq!(rt_tos2priority(0x02), TC_PRIO_BESTEFFORT);
        assert_eq!(rt_tos2priority(0x10 | 0x03), TC_PRIO_INTERACTIVE);
        // DSCP EF (0xb8): 0xb8 & 0x1e = 0x18 = LOWDELAY | THROUGHPUT.
        assert_eq!(rt_tos2priority(0xb8), TC_PRIO_INTERACTIVE_BULK);
        assert_eq!(prio2band(rt_tos2priority(IPTOS_LOWDELAY)), 0);
        assert_eq!(prio2band(rt_tos2priority(0)), 1);
        assert_eq!(prio2band(rt_tos2priority(IPTOS_THROUGHPUT)), 2);
        assert_eq!(prio2band(TC_PRIO_CONTROL), 0);
        assert_eq!(prio2band(TC_PRIO_FILLER), 2);
        assert_eq!(prio2band(16 + TC_PRIO_INTERACTIVE), 0); // priority & TC_PRIO_MAX
    }

    #[test]
    fn interactive_packet_overtakes_bulk() {
        let mut pool = SkbPool::new();
        let mut q = Pf(PfifoFast::new(1000));
        let mut bulk_ids = Vec::new();
        for _ in 0..50 {
            let skb = pkt(&mut pool, 1500, 0, rt_tos2priority(IPTOS_THROUGHPUT));
            bulk_ids.push(skb.id);
            assert!(matches!(
                q.enqueue(skb, SimTime::ZERO, &mut pool, 14),
                Enqueue::Queued
            ));
        }
        let best_effort = pkt(&mut pool, 100, 0, rt_tos2priority(0));
        let be_id = best_effort.id;
        let _ = q.enqueue(best_effort, SimTime::ZERO, &mut pool, 14);
        let interactive = pkt(&mut pool, 100, 0, rt_tos2priority(IPTOS_LOWDELAY));
        let int_id = interactive.id;
        let _ = q.enqueue(interactive, SimTime::ZERO, &mut pool, 14);
        assert_eq!(q.len(), 52);
        assert_eq!(next_id(&mut q), int_id);
        assert_eq!(next_id(&mut q), be_id);
        for id in bulk_ids {
            assert_eq!(next_id(&mut q), id);
        }
        assert!(matches!(
            q.dequeue(SimTime::ZERO, &mut Vec::new()),
            Dequeue::Empty
        ));
        let s = q.stats();
        assert_eq!((s.packets, s.bytes), (52, 50 * 1500 + 200));
    }

    #[test]
    fn tail_drop_at_txqueuelen_across_bands() {
        let mut pool = SkbPool::new();
        let mut q = Pf(PfifoFast::new(10));
        for i in 0..10 {
            let prio = [TC_PRIO_BULK, TC_PRIO_INTERACTIVE][i % 2];
            assert!(matches!(
                q.enqueue(pkt(&mut pool, 100, 0, prio), SimTime::ZERO, &mut pool, 14),
                Enqueue::Queued
            ));
        }
        // The limit is shared: even a band-0 packet is dropped.
        let extra = pkt(&mut pool, 100, 0, TC_PRIO_INTERACTIVE);
        let extra_id = extra.id;
        match q.enqueue(extra, SimTime::ZERO, &mut pool, 14) {
            Enqueue::Dropped(skb) => assert_eq!(skb.id, extra_id),
            Enqueue::Queued => panic!("enqueued beyond txqueuelen"),
        }
        let s = *q.stats();
        assert_eq!((s.drops, s.qlen, s.backlog), (1, 10, 1000));
        // Room again after one dequeue.
        let _ = next_id(&mut q);
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO, &mut pool, 14),
            Enqueue::Queued
        ));
    }

    #[test]
    fn requeued_packet_goes_first_and_is_counted() {
        let mut pool = SkbPool::new();
        let mut q = Pf(PfifoFast::new(3));
        let a = pkt(&mut pool, 300, 0, TC_PRIO_BULK);
        let a_id = a.id;
        let _ = q.enqueue(a, SimTime::ZERO, &mut pool, 14);
        let _ = q.enqueue(
            pkt(&mut pool, 200, 0, TC_PRIO_BULK),
            SimTime::ZERO,
            &mut pool,
            14,
        );
        let Dequeue::Packet(a) = q.dequeue(SimTime::ZERO, &mut Vec::new()) else {
            panic!("empty")
        };
        assert_eq!(a.id, a_id);
        // The ring is full: the driver gives the packet back.
        q.requeue(a);
        let s = *q.stats();
        assert_eq!((s.requeues, s.qlen, s.backlog), (1, 2, 500));
        // Sent was counted at the first dequeue and is not rolled back (as Linux).
        assert_eq!((s.packets, s.bytes), (1, 300));
        // A higher-priority packet arriving meanwhile does not overtake the requeued one.
        let _ = q.enqueue(
            pkt(&mut pool, 100, 0, TC_PRIO_INTERACTIVE),
            SimTime::ZERO,
            &mut pool,
            14,
        );
        // The requeued packet still counts towards the limit.
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO, &mut pool, 14),
            Enqueue::Dropped(_)
        ));
        assert_eq!(next_id(&mut q), a_id);
        let s = *q.stats();
        assert_eq!((s.packets, s.bytes, s.qlen, s.backlog), (1, 300, 2, 300));
    }
}
