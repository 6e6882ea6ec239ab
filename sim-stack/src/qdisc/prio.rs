//! `prio` (`net/sched/sch_prio.c`): `bands` child qdiscs served in strict priority, band 0
//! first, configured as `tc-prio(8)` does.
//!
//! `prio_classify`: `skb->priority` of the form `1:N` (the qdisc's handle is `1:`) picks band
//! `N − 1`; otherwise the filters ([`super::filter`]), whose `flowid 1:N` picks band `N − 1`;
//! with no filter matching, the priomap: band `priomap[skb->priority & 15]` (`skb->priority`
//! comes from `SO_PRIORITY`, or from `IP_TOS` through `rt_tos2priority`, see
//! [`super::rt_tos2priority`]). A band number past the last selects `priomap[0]`'s band.
//! Each band is a pfifo of `txqueuelen` packets unless given another qdisc
//! (`qdisc_create_dflt(… pfifo_qdisc_ops …)` in `prio_tune`). Dequeue takes the first band
//! that gives a packet (a throttled band, tbf or netem, is passed over, as
//! `qdisc_dequeue_peeked` returning NULL is).
//!
//! Not modeled: multiqueue offload, `TC_ACT_SHOT`/actions.

use serde::{Deserialize, Serialize};
use sim_core::{SimRng, SimTime};

use super::filter::{Filter, classify};
use super::{Dequeue, Enqueue, Pfifo, Qdisc, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::config::QdiscConfig;
use crate::skb::{Skb, SkbPool};

/// `TCQ_PRIO_BANDS`.
pub const MAX_BANDS: u32 = 16;

/// `tc qdisc add … prio bands N priomap P0 … P15` with its filters and band qdiscs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrioConfig {
    /// Number of bands, 2..=16 (default 3).
    pub bands: u32,
    /// Band of each `skb->priority & 15` (default `1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1`).
    pub priomap: [u8; 16],
    /// The qdisc of band `N − 1` for each `(N, qdisc)` given (others: pfifo).
    pub children: Vec<(u32, QdiscConfig)>,
    /// The filters, tried in order; `flowid N` is band `N − 1`.
    pub filters: Vec<Filter>,
}

impl Default for PrioConfig {
    fn default() -> Self {
        Self {
            bands: 3,
            priomap: super::pfifo_fast::PRIO2BAND,
            children: Vec::new(),
            filters: Vec::new(),
        }
    }
}

/// Strict priority among child qdiscs.
#[derive(Debug)]
pub struct Prio {
    bands: Vec<Qdisc>,
    priomap: [u8; 16],
    filters: Vec<Filter>,
    core: QdiscCore,
}

impl Prio {
    /// The qdisc `cfg` describes on a device with `txqueuelen`; `rng` seeds the streams of
    /// band qdiscs that draw.
    pub fn new(cfg: &PrioConfig, txqueuelen: u32, mut rng: SimRng) -> Result<Self, QdiscError> {
        if !(2..=MAX_BANDS).contains(&cfg.bands) {
            return Err(QdiscError::PrioBands(cfg.bands));
        }
        if let Some(&b) = cfg.priomap.iter().find(|&&b| u32::from(b) >= cfg.bands) {
            return Err(QdiscError::PrioMap(b));
        }
        let seed = rng.next_u64();
        let mut bands = Vec::with_capacity(cfg.bands as usize);
        for n in 1..=cfg.bands {
            let q = match cfg.children.iter().rev().find(|(b, _)| *b == n) {
                None => Qdisc::Pfifo(Pfifo::new(txqueuelen)),
                Some((_, c)) => Qdisc::from_config(c, txqueuelen, || {
                    sim_core::RngStreams::new(seed).stream("prio-band", u64::from(n))
                })?,
            };
            bands.push(q);
        }
        if let Some((n, _)) = cfg.children.iter().find(|(n, _)| *n == 0 || *n > cfg.bands) {
            return Err(QdiscError::PrioFlowid(*n));
        }
        if let Some(f) = cfg
            .filters
            .iter()
            .find(|f| f.flowid == 0 || f.flowid > cfg.bands)
        {
            return Err(QdiscError::PrioFlowid(f.flowid));
        }
        Ok(Self {
            bands,
            priomap: cfg.priomap,
            filters: cfg.filters.clone(),
            core: QdiscCore::default(),
        })
    }

    /// `prio_classify`: the band index.
    fn classify(&self, skb: &Skb, mac_len: usize) -> usize {
        let minor = if skb.priority >> 16 == 1 {
            skb.priority & 0xffff
        } else {
            match classify(&self.filters, skb, mac_len) {
                Some(id) => id,
                None => {
                    let band = if skb.priority >> 16 != 0 {
                        0
                    } else {
                        skb.priority
                    };
                    return usize::from(self.priomap[(band & 15) as usize]);
                }
            }
        };
        match minor.checked_sub(1) {
            Some(b) if (b as usize) < self.bands.len() => b as usize,
            _ => usize::from(self.priomap[0]),
        }
    }

    /// `prio_enqueue`.
    pub fn enqueue(
        &mut self,
        skb: Skb,
        now: SimTime,
        pool: &mut SkbPool,
        mac_len: usize,
    ) -> Enqueue {
        let b = self.classify(&skb, mac_len);
        let q = &mut self.bands[b];
        let before = (q.len(), q.backlog_bytes());
        let r = q.enqueue(skb, now, pool, mac_len);
        let after = (q.len(), q.backlog_bytes());
        self.track(before, after);
        if matches!(r, Enqueue::Dropped(_)) {
            self.core.stats.drops += 1;
        }
        r
    }

    fn track(&mut self, before: (usize, u64), after: (usize, u64)) {
        let s = &mut self.core.stats;
        s.qlen = s.qlen + after.0 as u64 - before.0 as u64;
        s.backlog = s.backlog + after.1 - before.1;
    }

    /// Band drops beyond the refused packet (fq_codel, netem).
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        let start = out.len();
        for q in &mut self.bands {
            q.drain_enqueue_drops(out);
        }
        self.core.stats.drops += (out.len() - start) as u64;
    }

    /// `prio_dequeue`.
    pub fn dequeue(&mut self, now: SimTime, dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        let mut wake: Option<SimTime> = None;
        for b in 0..self.bands.len() {
            let q = &mut self.bands[b];
            if q.is_empty() {
                continue;
            }
            let before = (q.len(), q.backlog_bytes());
            let drops = q.stats().drops;
            let got = q.dequeue(now, dropped);
            let after = (q.len(), q.backlog_bytes());
            let drops = q.stats().drops - drops;
            self.track(before, after);
            self.core.stats.drops += drops;
            match got {
                Dequeue::Packet(skb) => {
                    self.core.sent(pkt_len(&skb), skb.gso_segs);
                    return Dequeue::Packet(skb);
                }
                Dequeue::Throttled(t) => wake = Some(wake.map_or(t, |w| w.min(t))),
                Dequeue::Empty => {}
            }
        }
        match wake {
            Some(t) if self.core.stats.qlen > 0 => Dequeue::Throttled(t),
            _ => Dequeue::Empty,
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

    /// Packets waiting in the requeue slot.
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }

    /// The band qdiscs, band 0 first (class `1:1` is band 0).
    pub fn bands(&self) -> &[Qdisc] {
        &self.bands
    }

    /// The priomap.
    pub fn priomap(&self) -> &[u8; 16] {
        &self.priomap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::filter::Match;
    use crate::qdisc::rt_tos2priority;
    use crate::qdisc::test_util::pkt;

    fn rng() -> SimRng {
        sim_core::RngStreams::new(1).stream("t", 0)
    }

    #[test]
    fn priomap_by_skb_priority_and_tos() {
        let mut p = Prio::new(&PrioConfig::default(), 10, rng()).unwrap();
        let mut pool = SkbPool::new();
        // IPTOS_LOWDELAY → TC_PRIO_INTERACTIVE (6) → band 0; 0 → band 1; bulk (2) → band 2.
        for prio in [rt_tos2priority(0x10), 0, 2] {
            let _ = p.enqueue(pkt(&mut pool, 100, 0, prio), SimTime::ZERO, &mut pool, 14);
        }
        let lens: Vec<usize> = p.bands().iter().map(Qdisc::len).collect();
        assert_eq!(lens, [1, 1, 1]);
        let mut order = Vec::new();
        let mut dropped = Vec::new();
        while let Dequeue::Packet(skb) = p.dequeue(SimTime::ZERO, &mut dropped) {
            order.push(skb.priority);
        }
        assert_eq!(order, [6, 0, 2]);
        assert_eq!(
            (p.stats().packets, p.stats().qlen, p.stats().backlog),
            (3, 0, 0)
        );
    }

    #[test]
    fn handle_minor_and_filters_pick_bands() {
        let cfg = PrioConfig {
            bands: 4,
            filters: vec![Filter {
                matches: vec![Match::Priority(0)],
                flowid: 4,
            }],
            ..PrioConfig::default()
        };
        let mut p = Prio::new(&cfg, 10, rng()).unwrap();
        let mut pool = SkbPool::new();
        // 1:3 → band 2; priority 0 → filter → band 3; 1:9 (past the last) → priomap[0] = 1;
        // 5 → no filter matches → priomap[5] = 2.
        for prio in [0x1_0003, 0, 0x1_0009, 5] {
            let _ = p.enqueue(pkt(&mut pool, 100, 0, prio), SimTime::ZERO, &mut pool, 14);
        }
        let lens: Vec<usize> = p.bands().iter().map(Qdisc::len).collect();
        assert_eq!(lens, [0, 1, 2, 1]);
    }

    #[test]
    fn a_throttled_band_lets_lower_bands_send() {
        let cfg = PrioConfig {
            children: vec![(
                1,
                QdiscConfig::Tbf {
                    rate: crate::units::Rate::from_bps(8_000),
                    burst: crate::units::Bytes::new(1000),
                    latency: sim_core::SimDuration::from_secs(10),
                },
            )],
            ..PrioConfig::default()
        };
        let mut p = Prio::new(&cfg, 10, rng()).unwrap();
        let mut pool = SkbPool::new();
        let mut dropped = Vec::new();
        for prio in [6, 6, 0] {
            let _ = p.enqueue(pkt(&mut pool, 1000, 0, prio), SimTime::ZERO, &mut pool, 14);
        }
        let got: Vec<u32> = (0..2)
            .map(|_| match p.dequeue(SimTime::ZERO, &mut dropped) {
                Dequeue::Packet(s) => s.priority,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, [6, 0], "the second band-0 packet waits for tokens");
        // 1000 bytes at 1000 B/s: tokens back after one second.
        match p.dequeue(SimTime::ZERO, &mut dropped) {
            Dequeue::Throttled(t) => assert_eq!(t, SimTime::from_nanos(1_000_000_000)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        let bad = |cfg: PrioConfig| Prio::new(&cfg, 10, rng()).map(drop);
        assert_eq!(
            bad(PrioConfig {
                bands: 1,
                ..PrioConfig::default()
            }),
            Err(QdiscError::PrioBands(1))
        );
        assert_eq!(
            bad(PrioConfig {
                bands: 2,
                ..PrioConfig::default()
            }),
            Err(QdiscError::PrioMap(2))
        );
        let f = vec![Filter {
            matches: vec![],
            flowid: 4,
        }];
        assert_eq!(
            bad(PrioConfig {
                filters: f,
                ..PrioConfig::default()
            }),
            Err(QdiscError::PrioFlowid(4))
        );
    }
}
