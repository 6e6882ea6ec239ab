//! ICMP rate limiting as Linux 6.18 does it (`net/ipv4/icmp.c`, `net/ipv4/inetpeer.c`).
//!
//! Two limiters apply to the ICMP types set in `net.ipv4.icmp_ratemask` (0x1818: destination
//! unreachable, source quench, time exceeded, parameter problem; never "fragmentation
//! needed", never echo replies), in this order since Linux 6.12:
//!
//! 1. the host-wide bucket (`icmp_global_allow`): allowed while its credit is above zero;
//!    once it is not, refilled by `icmp_msgs_per_sec` × the jiffies since the last refill
//!    (at most one second's worth, at least 5 jiffies apart) up to `icmp_msgs_burst`. Denied:
//!    `Icmp OutRateLimitGlobal`. The credit is only taken (step 3) once the message passed
//!    step 2;
//! 2. the destination's bucket (`inet_peer_xrlim_allow`), in jiffies: each message costs
//!    `icmp_ratelimit` (1000 ms = 250 jiffies at HZ 250), every jiffy gives one back, and the
//!    bucket holds at most `XRLIM_BURST_FACTOR` (6) messages' worth; a destination seen for the
//!    first time starts full. Messages to a local address (routed over loopback) skip it.
//!    Denied: `Icmp OutRateLimitHost`;
//! 3. `icmp_global_consume`: the message takes 0, 1 or 2 credits at random (one on average,
//!    random "for security reasons"), drawn here from the node's random stream, so the credit
//!    can go below zero.
//!
//! Destinations' buckets are kept per node (Linux: per network namespace, `inet_peer`s in
//! `net->ipv4.peers`). Linux frees idle peers as lookups pass them (`inet_peer_gc`: after
//! 10 min, less as the tree fills, at once beyond `inet_peer_threshold`, 65536 + 128); the
//! model sweeps the whole table with the same rule each time it has doubled, so its memory is
//! bounded as Linux's is. A peer idle that long has a full bucket, as a new one does, so
//! freeing it changes nothing unless `icmp_ratelimit` is above 20 s.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use sim_core::SimRng;

use crate::jiffies::HZ;
use crate::wire::{DstUnreachable, Icmpv4Message};

/// `XRLIM_BURST_FACTOR`: a destination's bucket holds this many messages' worth of tokens.
const XRLIM_BURST_FACTOR: u64 = 6;
/// `NR_ICMP_TYPES`: types above it are never limited.
const NR_ICMP_TYPES: u8 = 18;
/// `inet_peer_threshold` (its largest value, `65536 + 128`).
const INET_PEER_THRESHOLD: usize = 65536 + 128;
/// `inet_peer_minttl`, `inet_peer_maxttl`, in jiffies.
const INET_PEER_MINTTL: u64 = 120 * HZ;
const INET_PEER_MAXTTL: u64 = 600 * HZ;

/// A node's ICMP rate-limiting state: the host-wide bucket and the destinations' buckets.
#[derive(Debug, Default)]
pub struct IcmpLimits {
    /// `icmp_global_credit` (an `atomic_t`).
    credit: i32,
    /// Table size at which the next sweep runs.
    next_sweep: u32,
    /// `icmp_global_stamp`: the (32-bit) jiffy of the last refill (`None`: never, which
    /// Linux's stamp of 0 amounts to, a long time ago).
    stamp: Option<u32>,
    /// The destinations' buckets (`inet_peer`s).
    peers: BTreeMap<Ipv4Addr, Peer>,
    /// The IPv6 destinations' buckets (the IPv6 `inet_peer` base).
    peers6: BTreeMap<Ipv6Addr, Peer>,
    /// Table size at which the next sweep of `peers6` runs.
    next_sweep6: u32,
}

/// One destination's bucket (`struct inet_peer`'s `rate_tokens`, `rate_last`, `dtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Peer {
    rate_tokens: u64,
    rate_last: u64,
    dtime: u64,
}

/// The rate-limiting sysctls (`net.ipv4.icmp_*`), jiffies where Linux keeps jiffies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `icmp_ratemask`.
    pub ratemask: u32,
    /// `icmp_ratelimit`, in jiffies.
    pub ratelimit: u64,
    /// `icmp_msgs_per_sec`.
    pub msgs_per_sec: u32,
    /// `icmp_msgs_burst`.
    pub msgs_burst: u32,
}

/// `icmpv4_mask_allow`: whether a message of this type and code escapes rate limiting.
pub(crate) fn icmpv4_mask_allow(ratemask: u32, ty: Icmpv4Message, code: u8) -> bool {
    let ty = u8::from(ty);
    if ty > NR_ICMP_TYPES {
        return true;
    }
    // Don't limit PMTU discovery.
    if ty == u8::from(Icmpv4Message::DstUnreachable)
        && code == u8::from(DstUnreachable::FragRequired)
    {
        return true;
    }
    (1u32 << ty) & ratemask == 0
}

impl IcmpLimits {
    /// `icmpv4_global_allow`: `None` when the host-wide limit denies the message (counted by
    /// the caller as `OutRateLimitGlobal`), else whether the other limits apply to it
    /// (`apply_ratelimit`).
    pub(crate) fn global_allow(
        &mut self,
        l: Limits,
        jiffies: u64,
        ty: Icmpv4Message,
        code: u8,
    ) -> Option<bool> {
        if icmpv4_mask_allow(l.ratemask, ty, code) {
            return Some(false);
        }
        self.icmp_global_allow(l, jiffies).then_some(true)
    }

    /// `icmp_global_allow`: credit left, or a refill possible.
    fn icmp_global_allow(&mut self, l: Limits, jiffies: u64) -> bool {
        if self.credit > 0 {
            return true;
        }
        // `now = jiffies` into a u32, as Linux's stamp is.
        let now = jiffies as u32;
        let delta = self
            .stamp
            .map_or(HZ, |s| u64::from(now.wrapping_sub(s)).min(HZ));
        if delta < HZ / 50 {
            return false;
        }
        let incr = u64::from(l.msgs_per_sec) * delta / HZ;
        if incr == 0 {
            return false;
        }
        self.stamp = Some(now);
        let new = (i64::from(self.credit) + incr as i64).min(i64::from(l.msgs_burst));
        self.credit = new as i32;
        true
    }

    /// `icmpv4_xrlim_allow` once the route is known: the destination's bucket (skipped for a
    /// message over loopback), then `icmp_global_consume` if it passed. `false`: denied,
    /// counted by the caller as `OutRateLimitHost`.
    pub(crate) fn xrlim_allow(
        &mut self,
        l: Limits,
        jiffies: u64,
        daddr: Ipv4Addr,
        loopback: bool,
        apply: bool,
        rng: &mut SimRng,
    ) -> bool {
        if !apply {
            return true;
        }
        let allowed = loopback || self.inet_peer_xrlim_allow(daddr, jiffies, l.ratelimit);
        if allowed {
            // icmp_global_consume: get_random_u32_below(3) credits.
            self.credit -= rng.below(3) as i32;
        }
        allowed
    }

    /// `icmpv6_global_allow`: `None` when the host-wide limit (shared with IPv4, as Linux's
    /// `icmp_global` is) denies the message, else whether the other limits apply to it
    /// (`icmpv6_mask_allow`: errors other than Packet Too Big, with the default
    /// `net.ipv6.icmp.ratemask` "0-1,3-127").
    pub(crate) fn global_allow6(&mut self, l: Limits, jiffies: u64, ty: u8) -> Option<bool> {
        if ty >= 128 || ty == 2 {
            return Some(false);
        }
        self.icmp_global_allow(l, jiffies).then_some(true)
    }

    /// `icmpv6_xrlim_allow` once the route is known: the destination's bucket, whose
    /// message cost `l.ratelimit` is shifted right by `(128 - prefix_len) / 32` of the route
    /// to it ("more bandwidth to wider prefixes"), skipped over loopback; then
    /// `icmp_global_consume`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn xrlim_allow6(
        &mut self,
        l: Limits,
        jiffies: u64,
        daddr: Ipv6Addr,
        route_plen: u8,
        loopback: bool,
        apply: bool,
        rng: &mut SimRng,
    ) -> bool {
        if !apply {
            return true;
        }
        let mut tmo = l.ratelimit;
        if route_plen < 128 {
            tmo >>= (128 - u32::from(route_plen)) >> 5;
        }
        let allowed = loopback || {
            if !self.peers6.contains_key(&daddr) && self.peers6.len() >= self.next_sweep6 as usize {
                self.next_sweep6 = inet_peer_gc(&mut self.peers6, jiffies);
            }
            xrlim(getpeer(&mut self.peers6, daddr, jiffies), jiffies, tmo)
        };
        if allowed {
            self.credit -= rng.below(3) as i32;
        }
        allowed
    }

    /// `inet_getpeer_v4` + `inet_peer_xrlim_allow`: the token bucket of `daddr`.
    fn inet_peer_xrlim_allow(&mut self, daddr: Ipv4Addr, now: u64, timeout: u64) -> bool {
        if !self.peers.contains_key(&daddr) && self.peers.len() >= self.next_sweep as usize {
            self.next_sweep = inet_peer_gc(&mut self.peers, now);
        }
        xrlim(getpeer(&mut self.peers, daddr, now), now, timeout)
    }

    /// Destinations with a bucket.
    pub fn peers(&self) -> usize {
        self.peers.len()
    }
}

/// `inet_peer_xrlim_allow`: one message from `p`'s bucket, which refills a token a jiffy.
fn xrlim(p: &mut Peer, now: u64, timeout: u64) -> bool {
    let mut token = p.rate_tokens;
    let delta = now.wrapping_sub(p.rate_last);
    if delta != 0 {
        p.rate_last = now;
        token = token
            .saturating_add(delta)
            .min(XRLIM_BURST_FACTOR * timeout);
    }
    let ok = token >= timeout;
    if ok {
        token -= timeout;
    }
    p.rate_tokens = token;
    ok
}

/// `inet_getpeer`: the peer of `daddr`, created if new (tokens 0, last refill 60 s ago,
/// "so that the first calculation of tokens is at its maximum").
fn getpeer<K: Ord + Copy>(peers: &mut BTreeMap<K, Peer>, daddr: K, now: u64) -> &mut Peer {
    let p = peers.entry(daddr).or_insert(Peer {
        rate_tokens: 0,
        rate_last: now.wrapping_sub(60 * HZ),
        dtime: now,
    });
    p.dtime = now;
    p
}

/// `inet_peer_gc` over a whole table: frees the peers idle for the time-to-live Linux gives
/// a table of this size (none left once it reaches the threshold); the size at which the
/// next sweep runs.
fn inet_peer_gc<K: Ord>(peers: &mut BTreeMap<K, Peer>, now: u64) -> u32 {
    let total = peers.len() as u64;
    let threshold = INET_PEER_THRESHOLD as u64;
    let ttl = if total >= threshold {
        0
    } else {
        INET_PEER_MAXTTL - (INET_PEER_MAXTTL - INET_PEER_MINTTL) / HZ * total / threshold * HZ
    };
    peers.retain(|_, p| now.wrapping_sub(p.dtime) < ttl);
    (2 * peers.len()).clamp(64, INET_PEER_THRESHOLD) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Limits = Limits {
        ratemask: 0x1818,
        ratelimit: 250,
        msgs_per_sec: 1000,
        msgs_burst: 50,
    };
    const TE: Icmpv4Message = Icmpv4Message::TimeExceeded;

    #[test]
    fn the_mask_limits_errors_but_not_pmtu_discovery_nor_echo_replies() {
        let m = DEFAULTS.ratemask;
        assert!(!icmpv4_mask_allow(m, Icmpv4Message::DstUnreachable, 1));
        assert!(!icmpv4_mask_allow(m, Icmpv4Message::DstUnreachable, 3));
        assert!(
            icmpv4_mask_allow(m, Icmpv4Message::DstUnreachable, 4),
            "frag needed"
        );
        assert!(!icmpv4_mask_allow(m, TE, 0));
        assert!(icmpv4_mask_allow(m, Icmpv4Message::EchoReply, 0));
        assert!(icmpv4_mask_allow(0, TE, 0), "an empty mask limits nothing");
    }

    /// `inet_peer_xrlim_allow` with the default 250 jiffies: six messages at once, then one
    /// per 250 jiffies.
    #[test]
    fn a_new_destination_may_have_six_then_one_per_ratelimit() {
        let mut l = IcmpLimits::default();
        let d = Ipv4Addr::new(10, 0, 0, 2);
        let got: Vec<bool> = (0..8)
            .map(|_| l.inet_peer_xrlim_allow(d, 1000, 250))
            .collect();
        assert_eq!(got, [true, true, true, true, true, true, false, false]);
        assert!(!l.inet_peer_xrlim_allow(d, 1249, 250));
        assert!(l.inet_peer_xrlim_allow(d, 1250, 250));
        assert!(!l.inet_peer_xrlim_allow(d, 1250, 250));
        // 0 disables it.
        assert!((0..100).all(|_| l.inet_peer_xrlim_allow(d, 1250, 0)));
        // Another destination has its own bucket.
        assert!(l.inet_peer_xrlim_allow(Ipv4Addr::new(10, 0, 0, 3), 1250, 250));
    }

    /// `icmp_global_allow` + `icmp_global_consume`: a burst of `icmp_msgs_burst` credits,
    /// one taken per message on average, no refill before 5 jiffies, then
    /// `icmp_msgs_per_sec` × jiffies / HZ.
    #[test]
    fn the_host_wide_bucket() {
        let mut rng = sim_core::RngStreams::new(1).stream_named("node", "t");
        let mut l = IcmpLimits::default();
        let d = Ipv4Addr::new(10, 0, 0, 2);
        let mut sent = 0;
        // A burst at one instant, over loopback (no per-destination bucket).
        for _ in 0..200 {
            if let Some(apply) = l.global_allow(DEFAULTS, 100, TE, 0) {
                assert!(apply);
                assert!(l.xrlim_allow(DEFAULTS, 100, d, true, apply, &mut rng));
                sent += 1;
            }
        }
        assert!((35..=70).contains(&sent), "{sent}");
        assert!(l.credit <= 0);
        // No refill within 5 jiffies of the last; at 5 jiffies, 20 credits come back.
        assert_eq!(l.global_allow(DEFAULTS, 104, TE, 0), None);
        let before = l.credit;
        assert_eq!(l.global_allow(DEFAULTS, 105, TE, 0), Some(true));
        assert_eq!(l.credit, (before + 20).min(50));
        // Not limited: no credit asked for, none taken.
        let c = l.credit;
        assert_eq!(
            l.global_allow(DEFAULTS, 105, Icmpv4Message::EchoReply, 0),
            Some(false)
        );
        assert!(l.xrlim_allow(DEFAULTS, 105, d, false, false, &mut rng));
        assert_eq!(l.credit, c);
    }

    #[test]
    fn idle_destinations_are_freed_and_the_table_stays_bounded() {
        let mut l = IcmpLimits::default();
        for i in 0..200_000u32 {
            l.inet_peer_xrlim_allow(Ipv4Addr::from(i), u64::from(i / 100), 250);
            assert!(l.peers() <= INET_PEER_THRESHOLD + 1);
        }
        // 10 minutes later the sweep (on the next new destination) frees every idle one.
        let later = 2000 + INET_PEER_MAXTTL;
        for i in 0..=l.next_sweep {
            l.inet_peer_xrlim_allow(Ipv4Addr::from(0xff00_0000 | i), later, 250);
        }
        assert!(l.peers.values().all(|p| p.dtime == later), "{}", l.peers());
    }
}
