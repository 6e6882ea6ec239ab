//! The network device layer: `dev_queue_xmit` into the root qdisc, `__qdisc_run` →
//! `sch_direct_xmit` → `dev_hard_start_xmit` (where tcpdump sees outgoing frames) →
//! `ndo_start_xmit` into the driver's TX ring, serialization onto the link, TX completion;
//! and on receive `netif_receive_skb` (where tcpdump sees incoming frames) → `arp_rcv` /
//! `ip_rcv`.
//!
//! GSO packets (TCP's super-packets, see [`crate::gso`]) are cut after the qdisc by
//! `validate_xmit_skb` when the device has no TSO, so tcpdump sees MSS-sized frames and each
//! takes a ring descriptor; with TSO (`tso on`) the super-packet reaches the tap and the ring
//! whole, and the NIC cuts it as it serializes, one segment after another on the wire.
//!
//! The driver is modeled as a simple NIC: `ndo_start_xmit` places the frame in the ring and
//! answers `NETDEV_TX_BUSY` when no descriptor is free, which stops the queue; the qdisc
//! keeps the packet (`dev_requeue_skb`, counted as a requeue). The NIC serializes frames from
//! the ring one at a time; TX completion after the last bit left frees the descriptor and the
//! skb (releasing the socket's memory) and wakes a stopped queue. Byte queue limits (BQL),
//! interrupt coalescing and NAPI budgets are not modeled: completions are immediate.
//!
//! A device is an Ethernet NIC on a link, or a tun device ([`DevKind::Tun`], as packetdrill
//! opens it: `IFF_TUN | IFF_NO_PI`, `IFF_NOARP`): IP packets with no link-layer header and
//! no neighbour resolution, whose `ndo_start_xmit` (`tun_net_xmit`) hands each packet to
//! the process reading the tun descriptor ([`tun_read`]), and into which that process writes
//! packets ([`tun_get_user`]).

use crate::link::Port;
use crate::qdisc::{Dequeue, Enqueue};
use std::collections::VecDeque;

use sim_core::{SimTime, TimerId};

use crate::capture::CaptureIf;
use crate::ctx::NetCtx;
use crate::event::Event;
use crate::ip::input::ip_rcv;
use crate::neigh::NeighTable;
use crate::neigh::arp_rcv;
use crate::node::Node;
use crate::qdisc::Qdisc;
use crate::skb::{PacketType, Skb, SockRef};
use crate::sock::errqueue::{SKBTX_SCHED_TSTAMP, TstampType, skb_tstamp_tx, skb_tx_timestamp};
use crate::sock::{kfree_skb, kfree_skb_reason, sock_wfree};
use crate::stats::{DevStats, RingStats};
use crate::wire::Ipv4Cidr;
use crate::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A descriptor in use in the TX ring: what TX completion must release.
#[derive(Debug, Clone, Copy)]
pub struct TxDesc {
    /// Bytes of the frame.
    pub len: u32,
    /// The owning socket's memory to release (`sock_wfree`).
    pub sock: Option<SockRef>,
    /// `skb->truesize` charged to that socket.
    pub truesize: u32,
}

/// The driver's TX ring: frames handed over by `ndo_start_xmit`, serialized one at a time.
#[derive(Debug)]
pub struct TxRing {
    /// Descriptors in the ring.
    pub size: u32,
    /// Frames waiting for the wire, in order.
    pub waiting: VecDeque<Skb>,
    /// The frame being serialized (its bytes are already on the link).
    pub on_wire: Option<TxDesc>,
    /// The segments of a TSO packet the NIC is cutting that are still to be serialized: the
    /// packet holds one descriptor until the last of them is on the wire.
    pub tso_rest: VecDeque<Skb>,
    /// Counters.
    pub stats: RingStats,
}

impl TxRing {
    /// An empty ring of `size` descriptors.
    pub fn new(size: u32) -> Self {
        Self {
            size,
            waiting: VecDeque::new(),
            on_wire: None,
            tso_rest: VecDeque::new(),
            stats: RingStats {
                size,
                ..RingStats::default()
            },
        }
    }

    /// Descriptors in use.
    #[inline]
    pub fn used(&self) -> u32 {
        self.waiting.len() as u32 + u32::from(self.on_wire.is_some())
    }

    /// Whether no descriptor is free.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.used() >= self.size
    }
}

/// What kind of device an interface is.
#[derive(Debug)]
pub enum DevKind {
    /// An Ethernet NIC: ARP, an Ethernet header, a TX ring serialized onto its link.
    Ether,
    /// A tun device (`IFF_TUN | IFF_NO_PI`, `IFF_NOARP`): IP packets without a link-layer
    /// header, no neighbour resolution; what it transmits waits for the reader of its
    /// descriptor. (Boxed: every NIC would otherwise carry a tun queue's room.)
    Tun(Box<TunQueue>),
}

/// What a tun device transmitted and its reader has not read yet (the tun file's
/// `ptr_ring`, `tx_queue_len` long).
#[derive(Debug)]
pub struct TunQueue {
    /// Each packet with the instant it left (`dev_hard_start_xmit`), oldest first.
    pub packets: VecDeque<(SimTime, Skb)>,
    /// Capacity; a packet beyond it is dropped (`tun_net_xmit`: `tx_dropped`).
    pub limit: u32,
}

/// `TUN_READQ_SIZE`: a tun device's `tx_queue_len`, the length of its read queue and of the
/// `pfifo` a `tc qdisc add … pfifo` gives it.
pub const TUN_READQ_SIZE: u32 = 500;

/// A device's offloads, as `ethtool -k` names them (`netdev_features_t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetdevFeatures {
    /// `tcp-segmentation-offload` (`NETIF_F_TSO`, `ethtool -K dev tso on`): the NIC cuts
    /// GSO packets itself.
    pub tso: bool,
    /// `generic-segmentation-offload` (`NETIF_F_GSO`), as `ethtool -k` shows it. TCP builds
    /// GSO packets whatever it says (`sk_setup_caps` gives TCP sockets `NETIF_F_GSO`);
    /// without TSO they are cut in `validate_xmit_skb` either way.
    pub gso: bool,
}

/// A network interface (`struct net_device`) with its root qdisc and TX ring.
#[derive(Debug)]
pub struct NetDevice {
    /// Interface name (`eth0`).
    pub name: String,
    /// Hardware address.
    pub mac: EthernetAddress,
    /// IPv4 address and prefix, if configured. Changing it during a run must update the
    /// node's FIB as Linux's `fib_add_ifaddr`/`fib_del_ifaddr` do (its local table answers
    /// "is this address ours?", and sockets keep routes that name it).
    pub addr: Option<Ipv4Cidr>,
    /// MTU in bytes (IP packet size). Changing it during a run must be followed by
    /// [`Fib::flush_cache`].
    pub mtu: u32,
    /// The root qdisc.
    pub qdisc: Qdisc,
    /// The driver's TX ring.
    pub ring: TxRing,
    /// `netif_stop_queue` was called and TX completion has not woken the queue yet.
    pub queue_stopped: bool,
    /// The qdisc watchdog (tbf): armed while the qdisc is throttled.
    pub watchdog: TimerId,
    /// The link this interface is attached to: (link index, direction we transmit on).
    pub link: Option<(u32, u8)>,
    /// Neighbour (ARP) table of this interface.
    pub neigh: NeighTable<Ipv4Addr>,
    /// Neighbour Discovery table of this interface (`nd_tbl`); its reachable time is drawn
    /// when IPv6 starts on the interface, which allocates it.
    pub ndisc: crate::on_demand::OnDemand<NeighTable<Ipv6Addr>>,
    /// The interface's IPv6 state (`struct inet6_dev`), when IPv6 is on.
    pub inet6: Option<Box<crate::ipv6::addrconf::Inet6Dev>>,
    /// `ip -s link` counters.
    pub stats: DevStats,
    /// Capture handle, when this interface is captured.
    pub capture: Option<CaptureIf>,
    /// What the qdisc dropped during the call being made (the kernel's `to_free` list),
    /// freed by the device layer when the call returns.
    pub(crate) to_free: Vec<Skb>,
    /// An Ethernet NIC or a tun device.
    pub kind: DevKind,
    /// Its offloads: GSO on and TSO off on a NIC unless its `tso on` says otherwise (the
    /// reference's veth cuts GSO packets in `validate_xmit_skb`); both on for tun, as
    /// packetdrill's `TUNSETOFFLOAD` sets them.
    pub features: NetdevFeatures,
}

impl NetDevice {
    /// An Ethernet NIC, not yet attached to a link, with an empty neighbour table whose
    /// entries stay REACHABLE for `reachable_time`.
    #[allow(clippy::too_many_arguments)]
    pub fn ether(
        name: &str,
        mac: EthernetAddress,
        addr: Option<Ipv4Cidr>,
        mtu: u32,
        qdisc: Qdisc,
        ring: TxRing,
        watchdog: TimerId,
        reachable_time: sim_core::SimDuration,
    ) -> Self {
        Self {
            name: name.to_string(),
            mac,
            addr,
            mtu,
            qdisc,
            ring,
            queue_stopped: false,
            watchdog,
            link: None,
            neigh: NeighTable::new(reachable_time),
            ndisc: Default::default(),
            inet6: None,
            stats: DevStats::default(),
            capture: None,
            to_free: Vec::new(),
            kind: DevKind::Ether,
            features: NetdevFeatures {
                tso: false,
                gso: true,
            },
        }
    }

    /// A tun device as packetdrill makes it: `IFF_TUN | IFF_NO_PI`, `IFF_NOARP`, its
    /// `tx_queue_len` of [`TUN_READQ_SIZE`], TSO and GSO on.
    pub fn tun(name: &str, addr: Ipv4Cidr, mtu: u32, qdisc: Qdisc, watchdog: TimerId) -> Self {
        let mut d = Self::ether(
            name,
            EthernetAddress([0; 6]),
            Some(addr),
            mtu,
            qdisc,
            TxRing::new(1),
            watchdog,
            sim_core::SimDuration::ZERO,
        );
        d.kind = DevKind::Tun(Box::new(TunQueue {
            packets: VecDeque::new(),
            limit: TUN_READQ_SIZE,
        }));
        d.features = NetdevFeatures {
            tso: true,
            gso: true,
        };
        d
    }

    /// `hard_header_len`: the link-layer header in front of its packets (Ethernet's 14
    /// bytes; none on tun).
    #[inline]
    pub fn hard_header_len(&self) -> usize {
        match self.kind {
            DevKind::Ether => 14,
            DevKind::Tun(_) => 0,
        }
    }

    /// Whether the device resolves its neighbours (ARP): not an `IFF_NOARP` one.
    #[inline]
    pub fn arp(&self) -> bool {
        matches!(self.kind, DevKind::Ether)
    }

    /// Whether the device can transmit: a NIC on a link, or a tun device (whose descriptor
    /// the drill host holds open).
    #[inline]
    pub(crate) fn carrier(&self) -> bool {
        self.link.is_some() || matches!(self.kind, DevKind::Tun(_))
    }
}

/// What `dev_queue_xmit` says of a packet handed to it (`NET_XMIT_*`), passed back up
/// through `neigh_output`, `ip_finish_output2` … `ip_send_skb` to the socket, as the kernel
/// returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum NetXmit {
    /// `NET_XMIT_SUCCESS`: queued or sent.
    Success,
    /// `NET_XMIT_DROP`: the qdisc refused it (`-ENOBUFS` to the sender).
    Drop,
    /// `NET_XMIT_CN`: dropped by congestion notification, or by a device that cannot send
    /// (the sender sees success).
    Cn,
}

/// Pushes an Ethernet header (from `dev`'s address to `dst`, of protocol `ethertype`: IPv4
/// or IPv6) in front of an IP packet and hands the frame to `dev_queue_xmit` (what
/// `neigh_hh_output` does with the cached header).
#[inline]
pub(crate) fn eth_output_type(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    dst: EthernetAddress,
    ethertype: EtherType,
    mut skb: Skb,
) -> NetXmit {
    let eth = EthernetRepr {
        src_addr: n.devs[dev].mac,
        dst_addr: dst,
        ethertype,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(
        skb.push(eth.buffer_len()),
    ));
    dev_queue_xmit(n, cx, dev, skb)
}

/// `dev_queue_xmit` → `__dev_xmit_skb`: enqueue on the root qdisc, then run it.
pub(crate) fn dev_queue_xmit(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
) -> NetXmit {
    note!(cx, skb, "dev_queue_xmit");
    if skb.tx_flags & SKBTX_SCHED_TSTAMP != 0 {
        skb_tstamp_tx(n, cx, &skb, TstampType::Sched);
    }
    let now = cx.now;
    let d = &mut n.devs[dev];
    if !d.carrier() {
        // No carrier: the packet goes nowhere (a down interface drops it).
        d.stats.tx_dropped += 1;
        // A device without carrier has the noop qdisc, which drops and says NET_XMIT_CN.
        kfree_skb_reason(n, cx, dev, "no_carrier", skb);
        return NetXmit::Cn;
    }
    crate::gso::qdisc_pkt_len_init(&mut skb, d.hard_header_len());
    // Descriptors the packet takes: one per segment, unless the NIC cuts it (TSO).
    let descs = if d.features.tso {
        1
    } else {
        u32::from(skb.gso_segs)
    };
    if !d.queue_stopped && d.ring.used() + descs <= d.ring.size {
        // An idle qdisc in front of a ring with room: the packet goes straight through.
        match d.qdisc.pass_through_idle(skb, now) {
            Ok(skb) => {
                let sent = sch_direct_xmit(n, cx, dev, skb);
                debug_assert!(sent, "the ring had room");
                return NetXmit::Success;
            }
            Err(back) => skb = back,
        }
    }
    let mac_len = d.hard_header_len();
    if let Qdisc::Netem(q) = &d.qdisc
        && q.orphans()
        && skb.tx_flags == 0
        && let Some(owner) = skb.sock.take()
    {
        // skb_orphan_partial: the emulated path's delay is not the sender's to pay for (a
        // packet asking for transmit timestamps keeps its owner for them).
        sock_wfree(n, cx, owner.sock, skb.truesize);
    }
    let d = &mut n.devs[dev];
    let verdict = match &mut d.qdisc {
        Qdisc::Fq(_) => fq_enqueue(n, dev, skb, now),
        Qdisc::Tbf(q) if q.must_segment(&skb) => {
            let note = cx.shared.record_paths.then_some("tbf_segment");
            let segs = crate::gso::skb_gso_segment(&mut cx.shared.pool, skb, mac_len, note);
            q.enqueue_segments(segs, now, &mut d.to_free)
        }
        q => q.enqueue(skb, now, &mut cx.shared.pool, mac_len),
    };
    let d = &mut n.devs[dev];
    // fq_codel makes room by dropping from the fattest flow, netem loses packets; free those
    // now.
    d.qdisc.drain_enqueue_drops(&mut d.to_free);
    free_list(n, cx, dev, "qdisc_drop");
    if let Enqueue::Dropped(skb) = verdict {
        // NET_XMIT_DROP: the skb is freed (its socket memory released) and counted; the
        // sender learns it from the return value (ip_send_skb → OutDiscards, UDP's
        // SndbufErrors).
        kfree_skb_reason(n, cx, dev, "qdisc_drop", skb);
        return NetXmit::Drop;
    }
    qdisc_run(n, cx, dev);
    NetXmit::Success
}

/// fq's enqueue, which reaches the packet's socket as `fq_classify` does through `skb->sk`:
/// a full socket of this node (not a listener, a request socket's SYN-ACK or an unconnected
/// UDP socket, which fq treats as orphans) keys the flow, and with pacing on fq sets its
/// `sk_pacing_status` to `SK_PACING_FQ`.
#[inline(never)]
fn fq_enqueue(n: &mut Node, dev: usize, skb: Skb, now: SimTime) -> Enqueue {
    use crate::sock::Socket;
    use crate::tcp::TcpState;
    let Node {
        devs, socks, id, ..
    } = n;
    let Qdisc::Fq(q) = &mut devs[dev].qdisc else {
        unreachable!("fq_enqueue on an fq device");
    };
    let mut sk = crate::qdisc::FqSk::default();
    if let Some(owner) = skb.sock.filter(|o| o.node == *id) {
        match socks.get_mut(owner.sock) {
            Some(Socket::Tcp(t))
                if !matches!(
                    t.state,
                    TcpState::Listen | TcpState::SynRecv | TcpState::Closed
                ) =>
            {
                sk.sk = Some(owner);
                sk.sk_hash = skb.hash;
                sk.pacing_status = Some(&mut t.pacing_status);
            }
            Some(Socket::Udp(u)) if u.connected => {
                sk.sk = Some(owner);
                sk.sk_hash = skb.hash;
            }
            _ => {}
        }
    }
    q.enqueue(skb, now, sk)
}

/// `dev_graft_qdisc` (`tc qdisc add|replace|del … root`): `qdisc` becomes the device's root
/// qdisc; what the old one held is dropped (`qdisc_reset`), its watchdog disarmed.
pub fn dev_graft_qdisc(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, qdisc: Qdisc) {
    let d = &mut n.devs[dev];
    cx.sched.cancel(&d.watchdog);
    let mut old = std::mem::replace(&mut d.qdisc, qdisc);
    // Everything it holds comes out: a shaper's packets at the instant it would let them.
    let mut at = cx.now;
    loop {
        match old.dequeue(at, &mut d.to_free) {
            Dequeue::Packet(skb) => d.to_free.push(skb),
            Dequeue::Empty => break,
            Dequeue::Throttled(until) => at = until,
        }
    }
    free_list(n, cx, dev, "qdisc_reset");
}

/// `kfree_skb_list(to_free)`: frees what the qdisc dropped during the last call, each with
/// a trace line `drop what`.
fn free_list(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, what: &str) {
    if n.devs[dev].to_free.is_empty() {
        return;
    }
    let mut dropped = std::mem::take(&mut n.devs[dev].to_free);
    for skb in dropped.drain(..) {
        kfree_skb_reason(n, cx, dev, what, skb);
    }
    n.devs[dev].to_free = dropped;
}

/// `__qdisc_run`: dequeue and transmit while the queue is not stopped.
pub(crate) fn qdisc_run(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let now = cx.now;
    loop {
        let d = &mut n.devs[dev];
        if d.queue_stopped {
            return;
        }
        let out = d.qdisc.dequeue(now, &mut d.to_free);
        free_list(n, cx, dev, "qdisc_codel_drop");
        match out {
            Dequeue::Packet(skb) => {
                if !sch_direct_xmit(n, cx, dev, skb) {
                    return;
                }
            }
            Dequeue::Empty => return,
            Dequeue::Throttled(until) => {
                let d = &n.devs[dev];
                if cx.sched.deadline(&d.watchdog) != Some(until) {
                    cx.sched.arm(
                        &d.watchdog,
                        until,
                        Event::QdiscWatchdog {
                            node: n.id,
                            dev: dev as u32,
                        },
                    );
                }
                return;
            }
        }
    }
}

/// `sch_direct_xmit` → `validate_xmit_skb` → `dev_hard_start_xmit` → `ndo_start_xmit`.
/// Returns false when the driver refused a frame (ring full): the qdisc got it back (with
/// the segments after it) and the queue is stopped.
fn sch_direct_xmit(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb) -> bool {
    let d = &mut n.devs[dev];
    if d.ring.is_full() {
        // ndo_start_xmit → NETDEV_TX_BUSY: netif_stop_queue, dev_requeue_skb.
        d.ring.stats.busy += 1;
        d.queue_stopped = true;
        d.qdisc.requeue(skb);
        return false;
    }
    note!(cx, skb, "sch_direct_xmit");
    if skb.is_gso() && !d.features.tso {
        let mac_len = d.hard_header_len();
        let segs = validate_xmit_skb(cx, skb, mac_len);
        return dev_hard_start_xmit_list(n, cx, dev, segs);
    }
    dev_hard_start_xmit(n, cx, dev, skb);
    true
}

/// `validate_xmit_skb`: a GSO packet for a device without TSO is cut here, after the qdisc
/// (`skb_gso_segment`).
fn validate_xmit_skb(cx: &mut NetCtx<'_>, skb: Skb, mac_len: usize) -> Vec<Skb> {
    let note = cx.shared.record_paths.then_some("validate_xmit_skb");
    crate::gso::skb_gso_segment(&mut cx.shared.pool, skb, mac_len, note)
}

/// `dev_hard_start_xmit` over the segments of a GSO packet, one `xmit_one` each: when the
/// ring fills, the segments not yet sent go back to the qdisc (`dev_requeue_skb` takes the
/// rest of the list), the queue stops, and this returns false.
fn dev_hard_start_xmit_list(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, segs: Vec<Skb>) -> bool {
    let mut segs = segs.into_iter();
    while let Some(seg) = segs.next() {
        let d = &mut n.devs[dev];
        if d.ring.is_full() {
            d.ring.stats.busy += 1;
            d.queue_stopped = true;
            // The rest of the list goes back in front, in its order.
            let rest: Vec<Skb> = std::iter::once(seg).chain(segs).collect();
            for skb in rest.into_iter().rev() {
                d.qdisc.requeue(skb);
            }
            return false;
        }
        dev_hard_start_xmit(n, cx, dev, seg);
    }
    true
}

/// `dev_hard_start_xmit` → `xmit_one`: the tap, then `ndo_start_xmit` into the ring (which
/// has room).
fn dev_hard_start_xmit(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb) {
    note!(cx, skb, "dev_hard_start_xmit");
    // The AF_PACKET tap (dev_queue_xmit_nit): tcpdump sees the frame here.
    tap(n, cx, dev, "tx", &skb);
    if !n.socks.packet.is_empty() && n.devs[dev].arp() {
        crate::sock::packet::dev_queue_xmit_nit(n, cx, dev, &skb);
    }
    netdev_start_xmit(n, cx, dev, skb);
}

/// `__dev_direct_xmit` (an `AF_PACKET` socket's `PACKET_QDISC_BYPASS`): the frame goes to
/// the driver without the qdisc and without the taps — no pcap record, no packet socket's
/// copy — or, when the ring is full or the queue stopped, is dropped (`NETDEV_TX_BUSY`,
/// which the socket reports as `ENOBUFS`).
pub(crate) fn dev_direct_xmit(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
) -> NetXmit {
    let d = &mut n.devs[dev];
    if !d.carrier() || d.queue_stopped || d.ring.is_full() {
        d.stats.tx_dropped += 1;
        kfree_skb_reason(n, cx, dev, "dev_direct_xmit_busy", skb);
        return NetXmit::Drop;
    }
    note!(cx, skb, "netdev_start_xmit");
    netdev_start_xmit(n, cx, dev, skb);
    NetXmit::Success
}

/// `netdev_start_xmit` → `ndo_start_xmit`: the frame into the driver's ring (which has
/// room), counted.
#[inline(always)]
fn netdev_start_xmit(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb) {
    let d = &mut n.devs[dev];
    // A TSO packet counts as the frames the NIC makes of it.
    d.stats.tx_packets += u64::from(skb.gso_segs);
    d.stats.tx_bytes += skb.len() as u64 + u64::from(skb.gso_hdr_extra);
    if !d.arp() {
        tun_net_xmit(n, cx, dev, skb);
        return;
    }
    // The driver's skb_tx_timestamp, as it takes the packet.
    if skb.tx_flags != 0 {
        skb_tx_timestamp(n, cx, &skb);
    }
    let d = &mut n.devs[dev];
    d.ring.waiting.push_back(skb);
    let used = d.ring.used();
    d.ring.stats.max_used = d.ring.stats.max_used.max(used);
    if d.ring.on_wire.is_none() {
        nic_start_tx(n, cx, dev);
    }
}

/// The NIC takes the next frame from its ring and puts it on the wire.
fn nic_start_tx(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let d = &mut n.devs[dev];
    let mac_len = d.hard_header_len();
    let mut skb = match d.ring.tso_rest.pop_front() {
        Some(seg) => seg,
        None => {
            let Some(skb) = d.ring.waiting.pop_front() else {
                return;
            };
            if skb.is_gso() {
                // TSO: the NIC cuts the packet and serializes its segments back to back.
                let mut segs = crate::gso::skb_gso_segment(&mut cx.shared.pool, skb, mac_len, None)
                    .into_iter();
                let first = segs.next().expect("a GSO packet has segments");
                let d = &mut n.devs[dev];
                d.ring.tso_rest.extend(segs);
                first
            } else {
                skb
            }
        }
    };
    let d = &mut n.devs[dev];
    let (link, dir) = d.link.expect("attached");
    d.ring.on_wire = Some(TxDesc {
        len: skb.len() as u32,
        sock: skb.sock.take(),
        truesize: skb.truesize,
    });
    let done = crate::link::link_transmit(
        cx,
        link as usize,
        dir as usize,
        skb,
        (&n.name, &n.devs[dev].name),
    );
    cx.sched.schedule_at(
        done,
        Event::TxDone {
            port: Port::Nic {
                node: n.id,
                dev: dev as u32,
            },
        },
    );
}

/// TX completion of a NIC: free the descriptor and the skb's socket memory, wake the
/// queue, start the next frame.
pub(crate) fn nic_tx_done(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let d = &mut n.devs[dev];
    let desc = d.ring.on_wire.take().expect("a frame was on the wire");
    // The skb is consumed: its destructor releases the socket's send-buffer memory.
    if let Some(owner) = desc.sock {
        debug_assert_eq!(owner.node, n.id);
        sock_wfree(n, cx, owner.sock, desc.truesize);
    }
    let d = &mut n.devs[dev];
    if !d.ring.waiting.is_empty() || !d.ring.tso_rest.is_empty() {
        nic_start_tx(n, cx, dev);
    }
    let d = &mut n.devs[dev];
    if d.queue_stopped && !d.ring.is_full() {
        // netif_wake_queue → __netif_schedule → net_tx_action → qdisc_run
        d.queue_stopped = false;
        d.ring.stats.wakes += 1;
        qdisc_run(n, cx, dev);
    }
}

/// `tun_net_xmit`, a tun device's `ndo_start_xmit`: the packet is orphaned from its socket
/// (`skb_orphan`: a tun may hold it indefinitely, so the sender's memory is released now)
/// and queued for the reader of the tun descriptor; a full queue drops it.
fn tun_net_xmit(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb) {
    if skb.tx_flags != 0 {
        skb_tx_timestamp(n, cx, &skb);
    }
    if let Some(owner) = skb.sock.take() {
        sock_wfree(n, cx, owner.sock, skb.truesize);
    }
    let now = cx.now;
    let d = &mut n.devs[dev];
    let DevKind::Tun(q) = &mut d.kind else {
        unreachable!("tun_net_xmit on a tun device");
    };
    if q.packets.len() >= q.limit as usize {
        d.stats.tx_dropped += 1;
        kfree_skb_reason(n, cx, dev, "tun_ring_full", skb);
        return;
    }
    q.packets.push_back((now, skb));
}

/// `tun_do_read`: the oldest packet tun device `dev` transmitted, with the instant it left,
/// for the reader of its descriptor (who frees it).
pub fn tun_read(n: &mut Node, dev: usize) -> Option<(SimTime, Skb)> {
    match &mut n.devs[dev].kind {
        DevKind::Tun(q) => q.packets.pop_front(),
        DevKind::Ether => None,
    }
}

/// `tun_get_user`: the reader of tun device `dev`'s descriptor writes an IP packet into it
/// (`IFF_NO_PI`: the protocol is the IP version's), which the device receives.
pub fn tun_get_user(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb) {
    if !matches!(skb.data().first().map(|b| b >> 4), Some(4 | 6)) {
        n.devs[dev].stats.rx_dropped += 1;
        kfree_skb_reason(n, cx, dev, "tun_not_ip", skb);
        return;
    }
    netif_receive_skb(n, cx, dev, skb);
}

/// A frame's last bit arrived at a NIC: `netif_receive_skb`.
pub(crate) fn netif_receive_skb(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb) {
    skb.clear_path();
    // The sender's departure time does not travel with the frame (a forwarded packet reaches
    // the next qdisc without one: ip_forward's skb_clear_tstamp).
    skb.tstamp = SimTime::ZERO;
    // Nor does anything netfilter attached to it: the sender's connection entry and mark
    // (skb_scrub_packet as a frame leaves one namespace for another).
    skb.nfct = None;
    skb.mark = 0;
    // RX checksum offload (ethtool's rx-checksumming, on by default): the NIC checks the
    // UDP/TCP checksum and marks the skb CHECKSUM_UNNECESSARY when it is right. Nothing
    // on a modeled link alters a frame's bytes, so the verdict is the sender's.
    skb.csum_unnecessary = skb.l4_csum_good;
    note!(cx, skb, "netif_receive_skb");
    tap(n, cx, dev, "rx", &skb);
    let d = &mut n.devs[dev];
    d.stats.rx_packets += 1;
    d.stats.rx_bytes += skb.len() as u64;
    if !d.arp() {
        // No link-layer header: an IP packet for this host, of the version its first
        // nibble says (tun_get_user's protocol without IFF_PI).
        skb.pkt_type = PacketType::Host;
        if skb.data().first().map(|b| b >> 4) == Some(6) {
            crate::ipv6::input::ipv6_rcv(n, cx, dev, skb);
        } else {
            ip_rcv(n, cx, dev, skb, true);
        }
        return;
    }
    let Ok(frame) = EthernetFrame::new_checked(skb.data()) else {
        d.stats.rx_errors += 1;
        kfree_skb_reason(n, cx, dev, "rx_runt", skb);
        return;
    };
    let dst = frame.dst_addr();
    let ethertype = frame.ethertype();
    // eth_type_trans: PACKET_HOST / BROADCAST / MULTICAST / OTHERHOST.
    skb.pkt_type = if dst == d.mac {
        PacketType::Host
    } else if dst.is_broadcast() {
        PacketType::Broadcast
    } else if dst.is_multicast() {
        PacketType::Multicast
    } else {
        PacketType::OtherHost
    };
    if !n.socks.packet.is_empty() {
        // ptype_all and ptype_base: the packet sockets' copies.
        crate::sock::packet::netif_receive_nit(n, cx, dev, skb.data(), skb.pkt_type);
    }
    if skb.pkt_type == PacketType::OtherHost {
        // Not for us; dropped silently by the IP layer.
        kfree_skb(n, cx, skb);
        return;
    }
    let host = skb.pkt_type == PacketType::Host;
    skb.pull_mac();
    match ethertype {
        EtherType::Arp => {
            note!(cx, skb, "arp_rcv");
            arp_rcv(n, cx, dev, skb);
        }
        EtherType::Ipv4 => {
            ip_rcv(n, cx, dev, skb, host);
        }
        EtherType::Ipv6 => {
            crate::ipv6::input::ipv6_rcv(n, cx, dev, skb);
        }
        _ => {
            let d = &mut n.devs[dev];
            d.stats.rx_dropped += 1;
            kfree_skb_reason(n, cx, dev, "unknown_ethertype", skb);
        }
    }
}

/// The AF_PACKET tap: trace line and pcap record of the frame as it is now. (Inlined
/// always: with capture and frame tracing off it is one test, on every frame.)
#[inline(always)]
fn tap(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, dir: &str, skb: &Skb) {
    if cx.shared.capture.is_some() || cx.shared.trace.frames() {
        tap_slow(n, cx, dev, dir, skb);
    }
}

fn tap_slow(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, dir: &str, skb: &Skb) {
    let now = cx.now;

    let d = &n.devs[dev];
    if let (Some(cap), Some(ifc)) = (cx.shared.capture.as_mut(), d.capture.as_ref())
        && let Err(e) = cap.record(ifc, now, skb.data(), skb.path_comment().as_deref())
    {
        cx.shared.io_error.get_or_insert(e);
    }
    if cx.shared.trace.frames() {
        cx.shared
            .trace
            .frame(now, &n.name, &n.devs[dev].name, dir, skb.data(), skb.path());
    }
}
