//! Point-to-point full-duplex Ethernet links.
//!
//! A link joins two ports (an interface of a node, or a port of a switch). Each direction is
//! independent: the transmitting port serializes one frame at a time, and the last bit of a
//! frame reaches the far end one propagation delay after it left.
//!
//! Serialization of a frame of `len` bytes (padded to the 60-byte Ethernet minimum) takes
//! `(len + preamble 8 + inter-frame gap 12 + FCS 4) × 8 / rate`, rounded up to the
//! nanosecond; the frame is delivered after that plus the propagation delay. The gap is
//! counted in the frame's slot, so back-to-back frames leave at exactly that spacing.
//!
//! A link with an `mtu` of its own carries no frame whose IP packet is larger: such a frame
//! is sent (it occupies the wire) but the far end discards it, as a NIC discards an oversize
//! frame (counted as `oversize`).
//!
//! Random loss, when the scenario asks for it, is drawn from the link's own RNG stream: a lost
//! frame still occupies the wire (it was sent) but never arrives.

use serde::Serialize;
use sim_core::{SimDuration, SimRng, SimTime};

use crate::ctx::NetCtx;
use crate::event::Event;

use crate::skb::Skb;
use crate::stats::LinkStats;

/// Bytes on the wire besides the frame: preamble and SFD (8), FCS (4), inter-frame gap (12).
pub const WIRE_OVERHEAD: u64 = 8 + 4 + 12;

/// Length of the Ethernet II header.
pub const ETH_HLEN: usize = 14;

/// The Ethernet minimum frame length without FCS; shorter frames are padded with zeros.
pub const ETH_ZLEN: usize = 60;

/// One end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Port {
    /// Interface `dev` of node `node`.
    Nic {
        /// Node index.
        node: u32,
        /// Interface index within the node.
        dev: u32,
    },
    /// Port `port` of switch `sw`.
    Switch {
        /// Switch index.
        sw: u32,
        /// Port index within the switch.
        port: u32,
    },
}

/// A full-duplex point-to-point link.
#[derive(Debug, Clone)]
pub struct Link {
    /// The two ends; direction 0 carries frames from `ends[0]` to `ends[1]`.
    pub ends: [Port; 2],
    /// Bits per second.
    pub rate_bps: u64,
    /// Propagation delay.
    pub delay: SimDuration,
    /// Probability that a frame is lost, in parts per million.
    pub loss_ppm: u32,
    /// Largest IP packet (Ethernet payload) the link carries, if limited.
    pub mtu: Option<u32>,
    /// The link's own random stream, for its loss (none without loss: 304 bytes a link).
    pub rng: Option<Box<SimRng>>,
    /// Per direction.
    pub stats: [LinkStats; 2],
    /// Per direction: how long the sender's line has been busy (utilization samples).
    pub line: [LineBusy; 2],
    /// Whether its ends are in different partitions of a parallel run: a frame then
    /// reaches the far end through the [`Outbox`], not the sender's event queue.
    pub cut: bool,
}

/// A frame that crossed a cut link, on its way to the partition of the far end.
#[derive(Debug)]
pub struct CrossFrame {
    /// When its last bit arrives.
    pub at: SimTime,
    /// Its place among the events due then
    /// ([`sim_core::Scheduler::order_key_for_other`]).
    pub key: sim_core::OrderKey,
    /// Its scheduling number in the sender's queue ([`sim_core::Scheduler::take_seq`]).
    pub seq: u32,
    /// The link.
    pub link: u32,
    /// The direction.
    pub dir: u8,
    /// The frame.
    pub skb: Skb,
}

/// The frames a partition sent over cut links during a window (empty in a sequential run).
pub type Outbox = Vec<CrossFrame>;

/// The time a direction's line spent serializing frames (preamble, padding, FCS and gap
/// included), and when the last frame's last bit leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineBusy {
    /// Serialization time of every frame started so far, in ns.
    pub busy_ns: u64,
    /// When the frame being serialized (or the last one) ends.
    pub until: SimTime,
}

impl LineBusy {
    /// Busy time up to `at`: the frames started, less what is still to serialize after `at`.
    pub fn busy_at(&self, at: SimTime) -> u64 {
        self.busy_ns - self.until.saturating_since(at).as_nanos()
    }
}

impl Link {
    /// Time to serialize a frame of `len` bytes (before padding) at this link's rate.
    #[inline]
    pub fn serialization_time(&self, len: usize) -> SimDuration {
        serialization_time(len, self.rate_bps)
    }
}

/// `(max(len, 60) + 24) × 8 / rate` in nanoseconds, rounded up.
#[inline]
pub fn serialization_time(len: usize, rate_bps: u64) -> SimDuration {
    let bytes = len.max(ETH_ZLEN) as u64 + WIRE_OVERHEAD;
    let rate = rate_bps.max(1);
    // bits × 10^9 fits 64 bits for any frame below 2.3 GB: one 64-bit division per frame
    // instead of a 128-bit one (a library call); the same result.
    match bytes.checked_mul(8_000_000_000) {
        Some(x) => SimDuration::from_nanos(x.div_ceil(rate)),
        None => {
            let bits = u128::from(bytes) * 8 * 1_000_000_000;
            SimDuration::from_nanos(bits.div_ceil(u128::from(rate)) as u64)
        }
    }
}

/// Serializes a frame onto direction `dir` of `link` starting now: pads it to the Ethernet
/// minimum, schedules its arrival at the far end (unless the link loses it), and returns when
/// the last bit has left. `from` names the transmitting port (node or switch, interface or
/// port) for the trace line of a frame the link loses.
pub(crate) fn link_transmit(
    cx: &mut NetCtx<'_>,
    link: usize,
    dir: usize,
    mut skb: Skb,
    from: (&str, &str),
) -> SimTime {
    let now = cx.now;
    if skb.len() < ETH_ZLEN {
        let pad = ETH_ZLEN - skb.len();
        skb.put(pad).fill(0);
    }
    let l = &mut cx.shared.links[link];
    let ser = l.serialization_time(skb.len());
    let done = now + ser;
    l.stats[dir].frames += 1;
    l.stats[dir].bytes += skb.len() as u64;
    l.line[dir].busy_ns += ser.as_nanos();
    l.line[dir].until = done;
    cx.shared.frames_on_links += 1;
    // (Padding never matters here: the 60-byte minimum is below any MTU, at least 68.)
    let oversize = l.mtu.is_some_and(|mtu| skb.len() > ETH_HLEN + mtu as usize);
    let lost = !oversize
        && l.loss_ppm > 0
        && l.rng
            .as_deref_mut()
            .is_some_and(|r| r.chance_ppm(l.loss_ppm));
    if oversize || lost {
        let what = if oversize {
            l.stats[dir].oversize += 1;
            "drop link_mtu"
        } else {
            l.stats[dir].lost += 1;
            "drop link_loss"
        };
        if cx.shared.trace.frames() {
            cx.shared
                .trace
                .frame(now, from.0, from.1, what, skb.data(), &[]);
        }
        debug_assert!(
            skb.sock.is_none(),
            "a frame on the wire belongs to no socket"
        );
        cx.shared.pool.free(skb);
    } else if l.cut {
        let at = done + l.delay;
        cx.shared.outbox.push(CrossFrame {
            at,
            key: cx.sched.order_key_for_other(at),
            seq: cx.sched.take_seq() as u32,
            link: link as u32,
            dir: dir as u8,
            skb,
        });
    } else {
        let arrive = done + l.delay;
        let slot = cx.shared.inflight.insert(skb);
        cx.sched.schedule_for_other(arrive, |seq| Event::Arrive {
            link: link as u32,
            dir: dir as u8,
            frame: slot,
            seq: seq as u32,
        });
    }
    done
}

/// Frames in flight on links, by slot.
#[derive(Debug, Default)]
pub struct InFlight {
    slots: Vec<Option<Skb>>,
    free: Vec<u32>,
}

impl InFlight {
    /// Stores a frame; returns its slot.
    pub fn insert(&mut self, skb: Skb) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(skb);
                i
            }
            None => {
                self.slots.push(Some(skb));
                (self.slots.len() - 1) as u32
            }
        }
    }
    /// Takes the frame out of its slot.
    pub fn take(&mut self, slot: u32) -> Skb {
        let skb = self.slots[slot as usize].take().expect("frame in flight");
        self.free.push(slot);
        skb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_counts_only_what_was_serialized_by_then() {
        let t = |ns| SimTime::from_nanos(ns);
        // Two 12 µs frames back to back from 100 µs, the second still going at 120 µs.
        let line = LineBusy {
            busy_ns: 24_000,
            until: t(124_000),
        };
        assert_eq!(line.busy_at(t(120_000)), 20_000);
        assert_eq!(line.busy_at(t(124_000)), 24_000);
        assert_eq!(line.busy_at(t(500_000)), 24_000);
    }

    #[test]
    fn serialization_follows_the_formula() {
        // 1514-byte frame at 1 Gbit/s: (1514 + 24) * 8 = 12304 ns.
        assert_eq!(serialization_time(1514, 1_000_000_000).as_nanos(), 12_304);
        // 42-byte ARP is padded to 60: (60 + 24) * 8 / 100 Mbit/s = 6720 ns.
        assert_eq!(serialization_time(42, 100_000_000).as_nanos(), 6_720);
        // Rounded up: 1 byte frame at 3 bit/s.
        assert_eq!(
            serialization_time(60, 3).as_nanos(),
            (84u64 * 8 * 1_000_000_000).div_ceil(3)
        );
        // Beyond 64-bit intermediate products: the 128-bit path.
        assert_eq!(
            serialization_time(3_000_000_000, 1).as_nanos() as u128,
            (3_000_000_024u128 * 8 * 1_000_000_000).div_ceil(1) as u64 as u128
        );
    }
}
