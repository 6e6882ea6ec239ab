//! The IPv4 output path: `ip_route_output_flow` → (`ip_make_skb`) → `ip_local_out` →
//! `nf_hook(LOCAL_OUT)` → `dst_output` → `ip_output` → `nf_hook(POST_ROUTING)` →
//! `ip_finish_output` (fragmenting when needed) → `ip_finish_output2` → `neigh_output`.
//!
//! IP IDs follow `ip_select_ident_segs`: a connected socket numbers its packets from its own
//! counter (random start); an unconnected sender with DF set sends ID 0; everything else
//! draws from the hashed per-destination generator (`ip_idents_reserve`), whose buckets start
//! random and advance by a random amount for every jiffy since their last use.

use std::net::Ipv4Addr;

use sim_core::SimTime;

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::frag::ip_fragment;
use crate::neigh::{Arp, neigh_output};
use crate::netfilter::Hook;
use crate::netfilter::hook::{NfVerdict, nf_hook};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::wire::{IpProtocol, Ipv4Packet, Ipv4Repr};

/// A route chosen for output: the device and the next hop on it (`struct rtable`'s essentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst {
    /// Output interface.
    pub dev: usize,
    /// Next hop (gateway or final destination).
    pub nexthop: Ipv4Addr,
    /// Preferred source address (the output interface's).
    pub src: Ipv4Addr,
    /// Path MTU (the interface MTU).
    pub mtu: u32,
}

/// The loopback device (`lo`) as a [`Dst`]'s device and in trace lines: not one of the node's
/// interfaces, it has no index among them.
pub const LOOPBACK: usize = usize::MAX;

impl Dst {
    /// The route to `addr`, one of the node's own addresses (`RTN_LOCAL`): out through the
    /// loopback device (MTU 65536), from that address itself.
    pub(crate) fn local(addr: Ipv4Addr) -> Self {
        Self {
            dev: LOOPBACK,
            nexthop: addr,
            src: addr,
            mtu: 65536,
        }
    }
}

/// Errors of route lookup and output, as errno names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// No route to the destination.
    #[error("ENETUNREACH")]
    NetUnreach,
    /// The datagram does not fit the MTU and may not be fragmented.
    #[error("EMSGSIZE")]
    MsgSize,
}

/// How the IP ID of an outgoing packet is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentMode {
    /// A connected socket's counter: this value (the caller advances its counter).
    Socket(u16),
    /// No connected socket: 0 with DF, the hashed generator without.
    Unconnected,
    /// The hashed generator even with DF: datagrams of sockets that set `ignore_df` (UDP
    /// and raw sockets in PMTU "want" mode).
    Hashed,
}

/// What the transport layer asks of IP for one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpSend {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// TTL.
    pub ttl: u8,
    /// TOS byte (DSCP and ECN).
    pub tos: u8,
    /// `skb->priority`: the socket's `sk_priority` (`SO_PRIORITY`, or `IP_TOS` through
    /// `rt_tos2priority`).
    pub priority: u32,
    /// Set DF (PMTU discovery "want" mode sets it when the datagram fits the MTU).
    pub dont_frag: bool,
    /// IP ID selection.
    pub ident: IdentMode,
}

/// `ip_route_output_flow`: the route to `dst` from `node`.
#[inline]
pub fn ip_route_output_flow(n: &mut Node, dst: Ipv4Addr) -> Result<Dst, OutputError> {
    match n.fib.lookup(dst) {
        Some(r) => {
            let dev = r.dev as usize;
            Ok(Dst {
                dev,
                nexthop: r.nexthop,
                src: n.dev_addr(dev),
                mtu: n.devs[dev].mtu,
            })
        }
        None => {
            n.snmp.ip.OutNoRoutes += 1;
            Err(OutputError::NetUnreach)
        }
    }
}

/// Builds the IPv4 header in front of `skb` (which holds the transport header and
/// payload) and sends it along the output path (`__ip_make_skb` + `ip_send_skb`).
pub fn ip_send_skb(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    mut skb: Skb,
    send: IpSend,
    dst: Dst,
) -> NetXmit {
    let now = cx.now;
    let ident = match send.ident {
        IdentMode::Socket(id) => id,
        IdentMode::Unconnected if send.dont_frag => 0,
        IdentMode::Unconnected | IdentMode::Hashed => {
            ip_idents_reserve(n, now, send.src, send.dst, send.protocol, 1)
        }
    };
    let repr = Ipv4Repr {
        src_addr: send.src,
        dst_addr: send.dst,
        protocol: send.protocol,
        payload_len: skb.len(),
        ttl: send.ttl,
        dscp_ecn: send.tos,
        ident,
        dont_frag: send.dont_frag,
        more_frags: false,
        frag_offset: 0,
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(skb.push(repr.buffer_len())));
    skb.priority = send.priority;
    note!(cx, skb, "ip_send_skb");
    n.snmp.ip.OutRequests += 1;
    ip_local_out(n, cx, skb, dst)
}

/// `ip_local_out` → `nf_hook(LOCAL_OUT)` → `dst_output`.
#[inline(always)]
pub(crate) fn ip_local_out(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst) -> NetXmit {
    note!(cx, skb, "ip_local_out");
    note!(cx, skb, Hook::LocalOut.trace_name());
    if !n.netfilter.active {
        return ip_output(n, cx, skb, dst);
    }
    let dst = match nf_local_out(n, cx, &mut skb, dst) {
        Ok(d) => d,
        Err((why, dev)) => {
            kfree_skb_reason(n, cx, dev, why.reason(), skb);
            return NetXmit::Success;
        }
    };
    ip_output(n, cx, skb, dst)
}

/// Why a locally generated packet did not get past `LOCAL_OUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalOutDrop {
    /// A rule dropped it (the sender gets `EPERM`).
    Netfilter,
    /// A DNAT sent it where no route goes (`ip_route_me_harder` failed).
    NoRoute,
}

impl LocalOutDrop {
    /// The drop reason in the trace.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Netfilter => "nf_drop(LOCAL_OUT)",
            Self::NoRoute => "ip_route_me_harder(no_route)",
        }
    }
}

/// `nf_hook(LOCAL_OUT)` with `ip_route_me_harder`: the route the packet now takes (another
/// one when a DNAT changed its destination), or why it goes no further (with the device to
/// charge the drop to); the caller frees it.
#[inline(never)]
pub(crate) fn nf_local_out(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    skb: &mut Skb,
    dst: Dst,
) -> Result<Dst, (LocalOutDrop, usize)> {
    if !n.netfilter.active {
        return Ok(dst);
    }
    let daddr = Ipv4Packet::new_unchecked(skb.data()).dst_addr();
    if nf_hook(n, cx, Hook::LocalOut, skb, None, Some(dst.dev)) == NfVerdict::Drop {
        return Err((LocalOutDrop::Netfilter, dst.dev));
    }
    let now_to = Ipv4Packet::new_unchecked(skb.data()).dst_addr();
    if now_to == daddr {
        Ok(dst)
    } else if n.fib.is_local(now_to) {
        Ok(Dst::local(now_to))
    } else {
        ip_route_output_flow(n, now_to).map_err(|_| (LocalOutDrop::NoRoute, dst.dev))
    }
}

/// `ip_output` → `nf_hook(POST_ROUTING)` → `ip_finish_output`.
pub(crate) fn ip_output(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst) -> NetXmit {
    note!(cx, skb, "ip_output");
    note!(cx, skb, Hook::PostRouting.trace_name());
    if nf_hook(n, cx, Hook::PostRouting, &mut skb, None, Some(dst.dev)) == NfVerdict::Drop {
        kfree_skb_reason(n, cx, dst.dev, "nf_drop(POST_ROUTING)", skb);
        return NetXmit::Success;
    }
    ip_finish_output(n, cx, skb, dst)
}

/// `ip_finish_output`: fragment if larger than the MTU, then `ip_finish_output2`. A GSO
/// packet goes on whole (`ip_finish_output_gso`: its segments fit the MTU; TCP sizes them
/// from it).
fn ip_finish_output(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst) -> NetXmit {
    note!(cx, skb, "ip_finish_output");
    if skb.len() > dst.mtu as usize && !skb.is_gso() {
        return ip_fragment(n, cx, skb, dst);
    }
    ip_finish_output2(n, cx, skb, dst)
}

/// `ip_finish_output2`: hand the packet to the neighbour layer for the next hop.
pub(crate) fn ip_finish_output2(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    mut skb: Skb,
    dst: Dst,
) -> NetXmit {
    note!(cx, skb, "ip_finish_output2");
    if dst.dev == LOOPBACK {
        return loopback_xmit(n, cx, skb);
    }
    neigh_output::<Arp>(n, cx, dst.dev, dst.nexthop, skb)
}

/// `dev_queue_xmit` on `lo` → `loopback_xmit` → `netif_rx`: the packet comes straight back
/// in (`lo` has no qdisc, no neighbour, no capture here: tcpdump on an interface never sees
/// it). The backlog's softirq runs it at the same instant, as every stage of this model
/// takes no time.
fn loopback_xmit(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb) -> NetXmit {
    for f in ["dev_queue_xmit", "loopback_xmit", "netif_rx"] {
        note!(cx, skb, f);
    }
    crate::ip::input::ip_rcv(n, cx, LOOPBACK, skb, true);
    NetXmit::Success
}

/// `ip_idents_reserve`: the hashed per-destination IP ID generator.
#[inline(always)]
pub(crate) fn ip_idents_reserve(
    n: &mut Node,
    now: SimTime,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    segs: u32,
) -> u16 {
    let h = mix64(
        n.ip_ident_key
            ^ (u64::from(u32::from(dst)) << 32)
            ^ u64::from(u32::from(src))
            ^ (u64::from(u8::from(protocol)) << 56),
    );
    let bucket = (h % u64::from(IpIdents::BUCKETS)) as u32;
    let jiffies = n.jiffies(now) as u32;
    let b = n.ip_idents.bucket(bucket);
    let old = b.stamp;
    let mut delta = 0;
    if old != jiffies {
        b.stamp = jiffies;
        let span = jiffies.wrapping_sub(old);
        if span > 0 {
            delta = n.rng.below(u64::from(span)) as u32;
        }
    }
    let id = b.ident.wrapping_add(delta);
    b.ident = id.wrapping_add(segs);
    id as u16
}

/// One bucket of the hashed IP ID generator: its next ID and the jiffy it was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentBucket {
    /// `ip_idents[bucket]`.
    pub ident: u32,
    /// `ip_tstamps[bucket]`.
    pub stamp: u32,
}

/// A node's `ip_idents` / `ip_tstamps` (2048 buckets, each starting at a random value and
/// stamp 0), materialized bucket by bucket on first use: a bucket's random start is the word
/// the node's generator would have drawn for it at setup, read directly from the generator's
/// stream position, so the values are the ones a table filled up front would hold, but a
/// node that sends to a handful of destinations holds a handful of buckets, not 16 KiB.
#[derive(Debug, Clone)]
pub struct IpIdents {
    /// Where bucket 0's start is drawn from (bucket `k`'s is the `k`-th word after it).
    init: sim_core::RngPosition,
    /// The buckets used so far: sorted by bucket while few, then every bucket.
    used: IdentTable,
}

#[derive(Debug, Clone)]
enum IdentTable {
    Sparse(Vec<(u32, IdentBucket)>),
    Dense(Box<[IdentBucket]>),
}

impl IpIdents {
    /// Buckets (`IP_IDENTS_SZ`).
    pub const BUCKETS: u32 = 2048;
    /// Buckets in use beyond which all are materialized.
    const SPARSE_MAX: usize = 64;

    /// The generator state for a node whose random stream is at `rng`: takes the 2048 words
    /// the table's starts would have consumed (without computing them) and remembers where
    /// they were.
    pub fn new(rng: &mut sim_core::SimRng) -> Self {
        let init = rng.position();
        rng.skip_u32(u64::from(Self::BUCKETS));
        Self {
            init,
            used: IdentTable::Sparse(Vec::new()),
        }
    }

    fn fresh(&self, bucket: u32) -> IdentBucket {
        IdentBucket {
            ident: self.init.word_at(u64::from(bucket)),
            stamp: 0,
        }
    }

    /// Bucket `bucket` (below [`Self::BUCKETS`]), materialized if new.
    #[inline]
    pub fn bucket(&mut self, bucket: u32) -> &mut IdentBucket {
        if let IdentTable::Sparse(v) = &self.used
            && v.binary_search_by_key(&bucket, |&(k, _)| k).is_err()
            && v.len() >= Self::SPARSE_MAX
        {
            let mut all: Vec<IdentBucket> = {
                let mut r = self.init.resume();
                (0..Self::BUCKETS)
                    .map(|_| IdentBucket {
                        ident: r.next_u32(),
                        stamp: 0,
                    })
                    .collect()
            };
            for &(k, b) in v {
                all[k as usize] = b;
            }
            self.used = IdentTable::Dense(all.into_boxed_slice());
        }
        let fresh = match &self.used {
            IdentTable::Sparse(v) if v.binary_search_by_key(&bucket, |&(k, _)| k).is_err() => {
                Some(self.fresh(bucket))
            }
            _ => None,
        };
        match &mut self.used {
            IdentTable::Sparse(v) => {
                let at = match v.binary_search_by_key(&bucket, |&(k, _)| k) {
                    Ok(at) => at,
                    Err(at) => {
                        v.insert(at, (bucket, fresh.expect("computed above")));
                        at
                    }
                };
                &mut v[at].1
            }
            IdentTable::Dense(t) => &mut t[bucket as usize],
        }
    }
}

/// A 64-bit mixer (splitmix64's finalizer), standing in for the kernel's keyed siphash.
pub(crate) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use crate::sock::MsgFlags;
    use crate::sock::syscall::{self, SockOpt, SockType};
    use crate::testing::{HOST, OneHost, PEER};
    use crate::wire::{IpProtocol, Ipv4Packet, Ipv4Repr};

    /// IP output alone: a datagram larger than the MTU leaves in fragments cut as
    /// `ip_fragment` cuts them (1480-byte payloads, offsets in 8-byte units, MF on all but
    /// the last, one IP ID), each with the socket's `IP_TOS` and `IP_TTL`, without DF.
    #[test]
    fn a_large_datagram_leaves_in_fragments_with_the_sockets_tos_and_ttl() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        h.with(|n, cx| {
            let fd = syscall::socket(n, cx, SockType::Dgram, 0, None)?;
            syscall::setsockopt(n, cx, fd, SockOpt::Tos(0x10))?;
            syscall::setsockopt(n, cx, fd, SockOpt::Ttl(Some(5)))?;
            syscall::sendto(
                n,
                cx,
                fd,
                &[0xab; 3000],
                Some(SocketAddrV4::new(PEER, 9)),
                MsgFlags::NONE,
            )
        })
        .expect("sent");
        h.advance(sim_core::SimDuration::from_millis(1));
        let frags: Vec<Ipv4Repr> = h
            .take_ip()
            .iter()
            .map(|(_, p)| Ipv4Repr::parse(&Ipv4Packet::new_checked(&p[..]).unwrap()).unwrap())
            .collect();
        assert_eq!(frags.len(), 3, "3008 bytes of UDP: 1480 + 1480 + 48");
        let lens: Vec<usize> = frags.iter().map(|f| f.payload_len).collect();
        assert_eq!(lens, [1480, 1480, 48]);
        let offs: Vec<u16> = frags.iter().map(|f| f.frag_offset).collect();
        assert_eq!(offs, [0, 1480, 2960]);
        assert_eq!(
            frags.iter().map(|f| f.more_frags).collect::<Vec<_>>(),
            [true, true, false]
        );
        for f in &frags {
            assert_eq!((f.src_addr, f.dst_addr), (HOST, PEER));
            assert_eq!(f.protocol, IpProtocol::Udp);
            assert_eq!(f.dscp_ecn, 0x10, "IP_TOS");
            assert_eq!(f.ttl, 5, "IP_TTL");
            assert!(
                !f.dont_frag,
                "a datagram larger than the MTU goes without DF"
            );
            assert_eq!(f.ident, frags[0].ident, "one ID for the datagram");
        }
        assert_eq!(h.n.snmp.ip.FragCreates, 3);
        assert_eq!(h.n.snmp.ip.FragOKs, 1);
    }
}
