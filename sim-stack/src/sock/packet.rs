//! `AF_PACKET` sockets (`net/packet/af_packet.c`): link-layer frames sent straight to a
//! device's queue and copies of the frames a device sends and receives, what tcpdump,
//! tcpreplay and Scapy's `sendp` use.
//!
//! * `socket(AF_PACKET, SOCK_RAW, htons(proto))` ([`packet_create`]): the frames carry their
//!   link-layer header (14 bytes of Ethernet, written by the caller on send); `SOCK_DGRAM`:
//!   the kernel writes and strips it (`dev_hard_header` from the device's address to the
//!   `sockaddr_ll`'s, of the address's protocol). A socket made with a protocol other than 0
//!   receives at once, from every device (`register_prot_hook`); with 0 it receives nothing
//!   until a `bind` names a protocol.
//! * [`packet_bind`] (`packet_do_bind`): a device (`sll_ifindex`, 0 = all) and a protocol
//!   (`sll_protocol`, 0 = keep the socket's); an unknown ifindex is `ENODEV`.
//! * [`packet_sendmsg`] → `packet_snd`: to the `sockaddr_ll`'s device, or without one the
//!   bound device (none: `ENXIO`). A frame longer than the MTU plus the hard header is
//!   `EMSGSIZE` (4 bytes more for an 802.1Q-tagged one, as `packet_extra_vlan_len_allowed`
//!   allows), a `SOCK_RAW` one shorter than the Ethernet header `EINVAL` (a `SOCK_DGRAM`
//!   one may be empty: the header alone goes). The skb is charged
//!   to the send buffer until TX completion (`sock_alloc_send_skb`: `EAGAIN` when it is
//!   full) and goes to `dev_queue_xmit` — through the device's qdisc, as `PACKET_QDISC_BYPASS`
//!   is off by default — so it is queued, shaped and captured at `dev_hard_start_xmit` as any
//!   frame; a qdisc drop is `ENOBUFS` (`net_xmit_errno`). Netfilter and routing are not on
//!   this path, as on Linux. With `PACKET_QDISC_BYPASS` (`packet_direct_xmit` →
//!   `__dev_direct_xmit`) the frame goes straight to the driver's ring: past the qdisc, and
//!   past `dev_queue_xmit_nit` too, so neither the interface's pcap nor another packet socket
//!   of the host sees it (as on Linux: a socket bound to the device sees nothing, the peer
//!   receives it); a full ring or a stopped queue drops it (`NETDEV_TX_BUSY`: `ENOBUFS`).
//! * Receiving ([`packet_rcv`]): `dev_queue_xmit_nit` hands every frame a device transmits
//!   to the `ETH_P_ALL` sockets (`ptype_all`) as `PACKET_OUTGOING`, except to the socket that
//!   sent it (`skb_loop_sk`); `__netif_receive_skb` hands every frame a device receives to the
//!   `ETH_P_ALL` sockets and to those of the frame's EtherType (`ptype_base`), with its
//!   `PACKET_HOST` / `BROADCAST` / `MULTICAST` / `OTHERHOST` type. A socket bound to a device
//!   sees that device's frames only. A copy is charged to `sk_rmem_alloc` (its `truesize`);
//!   when `sk_rmem_alloc ≥ sk_rcvbuf` it is dropped and counted in `tp_drops`
//!   (`PACKET_STATISTICS`, whose `tp_packets` counts the drops too and which reading resets).
//!   [`packet_recvmsg`] returns the frame with its `sockaddr_ll` (`sll_pkttype`, the sender's
//!   MAC in `sll_addr`).
//!
//! Each errno, size limit and `sll_pkttype` above was checked against Linux 6.18 with a
//! Python script on a veth pair (`SOCK_RAW` 1514 bytes sent, 1515 `EMSGSIZE`, an 802.1Q
//! frame of 1518 sent, 13 bytes `EINVAL`; `SOCK_DGRAM` 1500 sent, 1501 `EMSGSIZE`, 0 sent;
//! `ENXIO` unbound; `EOPNOTSUPP` for `connect`, `shutdown`, `getpeername`; `ENOPROTOOPT`
//! for `IP_TOS`; `SIOCATMARK` `ENOTTY`; the sender not seeing its frame, a socket bound to
//! the device seeing it as `PACKET_OUTGOING` with the frame's EtherType, the peer's
//! `ETH_P_ALL` socket seeing a frame to another MAC as `PACKET_OTHERHOST`; `PACKET_STATISTICS`
//! reset by a read).
//!
//! A node without packet sockets pays one test of an empty list per frame, in each
//! direction. Not modeled: `PACKET_MMAP` rings, fanout, BPF filters,
//! `PACKET_ADD_MEMBERSHIP` (the model's NICs take every frame the link brings), packet
//! sockets on tun devices, and `ENETDOWN` (interfaces here are always up).

use std::collections::VecDeque;

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::node::Node;
use crate::skb::{PacketType, Skb, SockRef};
use crate::sock::syscall::RecvMsg;
use crate::sock::{Errno, MsgFlags, SockCommon, SockId, Socket, sk_wake, sock_result};

/// `ETH_P_ALL`: every protocol (host order).
pub const ETH_P_ALL: u16 = 0x0003;
/// `ETH_P_IP`.
pub const ETH_P_IP: u16 = 0x0800;
/// `ETH_P_ARP`.
pub const ETH_P_ARP: u16 = 0x0806;
/// `ETH_P_8021Q`: an 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// `ETH_P_IPV6`.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// `ARPHRD_ETHER`: `sll_hatype` of an Ethernet device.
pub const ARPHRD_ETHER: u16 = 1;
/// `VLAN_HLEN`.
const VLAN_HLEN: usize = 4;
/// `ETH_HLEN`.
const ETH_HLEN: usize = 14;

/// `sll_pkttype` values (`PACKET_*` of `<linux/if_packet.h>`).
pub mod pkttype {
    /// `PACKET_HOST`: to this interface's address.
    pub const HOST: u8 = 0;
    /// `PACKET_BROADCAST`.
    pub const BROADCAST: u8 = 1;
    /// `PACKET_MULTICAST`.
    pub const MULTICAST: u8 = 2;
    /// `PACKET_OTHERHOST`: to another host's address.
    pub const OTHERHOST: u8 = 3;
    /// `PACKET_OUTGOING`: sent by this host.
    pub const OUTGOING: u8 = 4;
}

/// The `ifindex` of a node's device `dev`: the loopback device is 1, the interfaces follow
/// in their order (as `ip link` numbers them).
#[inline]
pub fn dev_ifindex(dev: usize) -> i32 {
    dev as i32 + 2
}

/// The device of `ifindex` on `n`, if it is one of its interfaces.
pub fn dev_get_by_index(n: &Node, ifindex: i32) -> Option<usize> {
    let dev = usize::try_from(ifindex.checked_sub(2)?).ok()?;
    n.devs.get(dev).map(|_| dev)
}

/// `struct sockaddr_ll`: a link-layer address (`sll_family` is `AF_PACKET`). Protocols are
/// in host order here (the kernel's `ntohs` of `sll_protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SockaddrLl {
    /// `sll_protocol`: the EtherType (0 on a `bind`: keep the socket's).
    pub protocol: u16,
    /// `sll_ifindex` (0: any device, on a `bind`).
    pub ifindex: i32,
    /// `sll_hatype` (`ARPHRD_ETHER`), on receive.
    pub hatype: u16,
    /// `sll_pkttype` ([`pkttype`]), on receive.
    pub pkttype: u8,
    /// `sll_halen`: bytes of `addr` in use (6 for Ethernet).
    pub halen: u8,
    /// `sll_addr`: on receive the sender's MAC; on a `SOCK_DGRAM` send the destination's.
    pub addr: [u8; 8],
}

impl SockaddrLl {
    /// An address for `sendto` or `bind`: `protocol` on device `ifindex`, to `mac` (what a
    /// `SOCK_DGRAM` send puts in the Ethernet header; a `SOCK_RAW` one ignores it).
    pub fn new(protocol: u16, ifindex: i32, mac: [u8; 6]) -> Self {
        let mut addr = [0; 8];
        addr[..6].copy_from_slice(&mac);
        Self {
            protocol,
            ifindex,
            hatype: ARPHRD_ETHER,
            pkttype: 0,
            halen: 6,
            addr,
        }
    }

    /// The MAC in `sll_addr`.
    pub fn mac(&self) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&self.addr[..6]);
        m
    }
}

/// A packet socket's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// `SOCK_RAW`: frames with their link-layer header.
    Raw,
    /// `SOCK_DGRAM`: the link-layer header written and stripped by the kernel.
    Dgram,
}

/// `struct tpacket_stats` (`PACKET_STATISTICS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct TpacketStats {
    /// `tp_packets`: frames handed to the socket, queued or dropped.
    pub tp_packets: u32,
    /// `tp_drops`: frames dropped because the receive buffer was full.
    pub tp_drops: u32,
}

/// A frame waiting to be read, with its address.
#[derive(Debug)]
struct PacketMsg {
    skb: Skb,
    ll: SockaddrLl,
}

/// An `AF_PACKET` socket (`struct packet_sock`).
#[derive(Debug)]
pub struct PacketSock {
    /// The common part (buffers, owner, `SO_PRIORITY`).
    pub sk: SockCommon,
    /// `SOCK_RAW` or `SOCK_DGRAM`.
    pub kind: PacketKind,
    /// `po->num`: the protocol it receives (host order; 0 = none).
    pub num: u16,
    /// The bound device's ifindex (0 = every device).
    pub ifindex: i32,
    /// `po->running`: its hook is registered (it receives).
    pub running: bool,
    /// `PACKET_QDISC_BYPASS`: `po->xmit` is `packet_direct_xmit`, not `dev_queue_xmit`.
    pub qdisc_bypass: bool,
    /// Counters since `PACKET_STATISTICS` was last read.
    stats: TpacketStats,
    /// `sk_drops`: every drop since the socket was made.
    pub drops: u64,
    /// `sk_receive_queue`.
    rx: VecDeque<PacketMsg>,
}

impl PacketSock {
    /// Frames waiting to be read.
    pub fn queued(&self) -> usize {
        self.rx.len()
    }
}

/// `packet_create`: `socket(AF_PACKET, kind, htons(protocol))`, receiving at once when
/// `protocol` is not 0.
pub fn packet_create(n: &mut Node, kind: PacketKind, protocol: u16, app: Option<u32>) -> SockId {
    let mut sk = SockCommon::new(n.sysctl.wmem_default, n.sysctl.rmem_default);
    sk.app = app;
    let id = n.socks.insert(Socket::Packet(PacketSock {
        sk,
        kind,
        num: protocol,
        ifindex: 0,
        running: false,
        qdisc_bypass: false,
        stats: TpacketStats::default(),
        drops: 0,
        rx: VecDeque::new(),
    }));
    if protocol != 0 {
        register_prot_hook(n, id);
    }
    id
}

/// `register_prot_hook`: the socket receives (`dev_add_pack` puts it at the head of its
/// list, so the newest socket sees a frame first).
fn register_prot_hook(n: &mut Node, sock: SockId) {
    if let Some(Socket::Packet(p)) = n.socks.get_mut(sock)
        && !p.running
    {
        p.running = true;
        n.socks.packet.insert(0, sock);
    }
}

/// `unregister_prot_hook`.
fn unregister_prot_hook(n: &mut Node, sock: SockId) {
    if let Some(Socket::Packet(p)) = n.socks.get_mut(sock) {
        p.running = false;
    }
    n.socks.packet.retain(|&s| s != sock);
}

fn packet_sock(n: &mut Node, sock: SockId) -> Result<&mut PacketSock, Errno> {
    match n.socks.get_mut(sock) {
        Some(Socket::Packet(p)) => Ok(p),
        Some(_) => Err(Errno::NotSock),
        None => Err(Errno::BadF),
    }
}

/// `packet_bind` → `packet_do_bind`: device `addr.ifindex` (0 = all; unknown: `ENODEV`)
/// and protocol `addr.protocol` (0 = the socket's). The hook is registered again when the
/// protocol is not 0.
pub fn packet_bind(n: &mut Node, sock: SockId, addr: &SockaddrLl) -> Result<(), Errno> {
    if addr.ifindex != 0 && dev_get_by_index(n, addr.ifindex).is_none() {
        return Err(Errno::NoDev);
    }
    unregister_prot_hook(n, sock);
    let p = packet_sock(n, sock)?;
    if addr.protocol != 0 {
        p.num = addr.protocol;
    }
    p.ifindex = addr.ifindex;
    if p.num != 0 {
        register_prot_hook(n, sock);
    }
    Ok(())
}

/// `packet_getname`: the socket's bound device and protocol, with that device's address.
pub fn packet_getname(n: &mut Node, sock: SockId) -> Result<SockaddrLl, Errno> {
    let p = packet_sock(n, sock)?;
    let (num, ifindex) = (p.num, p.ifindex);
    let mut ll = SockaddrLl {
        protocol: num,
        ifindex,
        ..SockaddrLl::default()
    };
    if let Some(dev) = dev_get_by_index(n, ifindex) {
        ll = SockaddrLl::new(num, ifindex, n.devs[dev].mac.0);
    }
    Ok(ll)
}

/// `packet_sendmsg` → `packet_snd`: one frame (`SOCK_RAW`: with its Ethernet header;
/// `SOCK_DGRAM`: the payload, to `to`'s `sll_addr`) to `to`'s device, or the bound one.
/// Returns the bytes sent.
pub fn packet_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
    to: Option<&SockaddrLl>,
) -> Result<usize, Errno> {
    let r = packet_snd(n, cx, sock, data, to);
    sock_result(n, cx, sock, "sendto", None, r)
}

fn packet_snd(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
    to: Option<&SockaddrLl>,
) -> Result<usize, Errno> {
    let p = packet_sock(n, sock)?;
    let kind = p.kind;
    let (ifindex, proto, dst) = match to {
        // packet_cached_dev_get: the bound device, the socket's protocol.
        None => (p.ifindex, p.num, None),
        Some(a) => (a.ifindex, a.protocol, Some(a.mac())),
    };
    let Some(dev) = dev_get_by_index(n, ifindex) else {
        return Err(Errno::NxIo);
    };
    let (mtu, reserve) = {
        let d = &n.devs[dev];
        if !d.arp() {
            // A tun device has no link-layer header to write or read.
            return Err(Errno::NxIo);
        }
        let reserve = if kind == PacketKind::Raw {
            d.hard_header_len()
        } else {
            0
        };
        (d.mtu as usize, reserve)
    };
    if data.len() > mtu + reserve + VLAN_HLEN {
        return Err(Errno::MsgSize);
    }
    let frame_len = match kind {
        PacketKind::Raw => data.len(),
        PacketKind::Dgram => data.len() + ETH_HLEN,
    };
    // dev_validate_header (min_header_len = ETH_HLEN). A SOCK_DGRAM frame has the header
    // the kernel writes, even with no payload.
    if kind == PacketKind::Raw && data.len() < ETH_HLEN {
        return Err(Errno::Inval);
    }
    // sock_alloc_send_skb: room in the send buffer, or wait for it.
    let truesize = crate::skb::truesize_for(frame_len);
    let p = packet_sock(n, sock)?;
    if p.sk.wmem_alloc >= p.sk.sndbuf {
        p.sk.nospace = true;
        return Err(Errno::Again);
    }
    let priority = p.sk.priority;
    let bypass = p.qdisc_bypass;
    let mut skb = cx.shared.pool.alloc(frame_len);
    if kind == PacketKind::Dgram {
        // dev_hard_header → eth_header: from the device's address to the caller's.
        let h = skb.put(ETH_HLEN);
        h[..6].copy_from_slice(&dst.unwrap_or([0; 6]));
        h[6..12].copy_from_slice(&n.devs[dev].mac.0);
        h[12..14].copy_from_slice(&proto.to_be_bytes());
    }
    skb.put_data(data);
    note!(cx, skb, "packet_sendmsg");
    note!(cx, skb, "packet_snd");
    // A frame of MTU + header + 4 bytes passes only if it is VLAN-tagged.
    if data.len() > mtu + reserve
        && u16::from_be_bytes([skb.data()[12], skb.data()[13]]) != ETH_P_8021Q
    {
        cx.shared.pool.free(skb);
        return Err(Errno::MsgSize);
    }
    skb.truesize = truesize;
    skb.priority = priority;
    skb.sock = Some(SockRef { node: n.id, sock });
    packet_sock(n, sock)?.sk.wmem_alloc += truesize;
    // packet_xmit: po->xmit.
    let sent = if bypass {
        note!(cx, skb, "packet_direct_xmit");
        crate::dev::dev_direct_xmit(n, cx, dev, skb)
    } else {
        crate::dev::dev_queue_xmit(n, cx, dev, skb)
    };
    match sent {
        NetXmit::Drop => Err(Errno::NoBufs),
        NetXmit::Success | NetXmit::Cn => Ok(data.len()),
    }
}

/// `dev_queue_xmit_nit`: a copy of a frame device `dev` transmits (at
/// `dev_hard_start_xmit`) for each `ETH_P_ALL` socket, as `PACKET_OUTGOING`, but the one
/// that sent it. The caller tests that the node has packet sockets.
pub(crate) fn dev_queue_xmit_nit(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: &Skb) {
    let sender = skb.sock.filter(|o| o.node == n.id).map(|o| o.sock);
    deliver(n, cx, dev, skb.data(), pkttype::OUTGOING, None, sender);
}

/// `__netif_receive_skb`'s deliveries to packet sockets: a copy of the frame (`frame`,
/// from its Ethernet header) device `dev` received, for the `ETH_P_ALL` sockets and those
/// of its EtherType. The caller tests that the node has packet sockets.
pub(crate) fn netif_receive_nit(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    frame: &[u8],
    pkt_type: PacketType,
) {
    let ty = match pkt_type {
        PacketType::Host => pkttype::HOST,
        PacketType::Broadcast => pkttype::BROADCAST,
        PacketType::Multicast => pkttype::MULTICAST,
        PacketType::OtherHost => pkttype::OTHERHOST,
    };
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    deliver(n, cx, dev, frame, ty, Some(ethertype), None);
}

/// Hands `frame` to every running socket that takes it: every `ETH_P_ALL` one, and with
/// `base` (a received frame) those of that EtherType; on the device it is bound to, if any.
fn deliver(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    frame: &[u8],
    ty: u8,
    base: Option<u16>,
    sender: Option<SockId>,
) {
    let ifindex = dev_ifindex(dev);
    for i in 0..n.socks.packet.len() {
        let sock = n.socks.packet[i];
        let Some(Socket::Packet(p)) = n.socks.get(sock) else {
            continue;
        };
        let wants = p.num == ETH_P_ALL || base == Some(p.num);
        if !wants || (p.ifindex != 0 && p.ifindex != ifindex) || Some(sock) == sender {
            continue;
        }
        packet_rcv(n, cx, sock, dev, frame, ty);
    }
}

/// `packet_rcv`: queues a copy of `frame` (without its Ethernet header on a `SOCK_DGRAM`
/// socket) with its `sockaddr_ll`, or drops it when the receive buffer is full; wakes the
/// reader.
fn packet_rcv(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, dev: usize, frame: &[u8], ty: u8) {
    let Some(Socket::Packet(p)) = n.socks.get_mut(sock) else {
        return;
    };
    p.stats.tp_packets += 1;
    if p.sk.rmem_alloc >= p.sk.rcvbuf {
        p.stats.tp_drops += 1;
        p.drops += 1;
        return;
    }
    let mut src = [0; 6];
    src.copy_from_slice(&frame[6..12]);
    let mut ll = SockaddrLl::new(
        u16::from_be_bytes([frame[12], frame[13]]),
        dev_ifindex(dev),
        src,
    );
    ll.pkttype = ty;
    let body = match p.kind {
        PacketKind::Raw => frame,
        PacketKind::Dgram => &frame[ETH_HLEN..],
    };
    // The clone has the frame's truesize (skb_clone), charged by skb_set_owner_r.
    let truesize = crate::skb::truesize_for(frame.len());
    let mut skb = cx.shared.pool.alloc_copy(body);
    skb.truesize = truesize;
    p.sk.rmem_alloc += truesize;
    p.rx.push_back(PacketMsg { skb, ll });
    sk_wake(n, cx, sock);
}

/// `packet_recvmsg`: the oldest frame into `buf` (at most `len` bytes; `MSG_TRUNC` returns
/// its whole length, `MSG_PEEK` leaves it queued), with its `sockaddr_ll`; `EAGAIN` when
/// none waits.
pub fn packet_recvmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    buf: Option<&mut [u8]>,
    len: usize,
    flags: MsgFlags,
) -> Result<(RecvMsg, SockaddrLl), Errno> {
    let p = packet_sock(n, sock)?;
    let Some(m) = p.rx.front() else {
        return Err(Errno::Again);
    };
    let whole = m.skb.len();
    let copied = whole.min(len);
    if let Some(b) = buf {
        let k = copied.min(b.len());
        b[..k].copy_from_slice(&m.skb.data()[..k]);
    }
    let ll = m.ll;
    let msg = RecvMsg {
        len: if flags.contains(MsgFlags::TRUNC) {
            whole
        } else {
            copied
        },
        from: None,
        truncated: whole > len,
    };
    if !flags.contains(MsgFlags::PEEK) {
        let m = p.rx.pop_front().expect("a frame is queued");
        p.sk.rmem_alloc = p.sk.rmem_alloc.saturating_sub(m.skb.truesize);
        cx.shared.pool.free(m.skb);
    }
    Ok((msg, ll))
}

/// `PACKET_STATISTICS`: the counters since the last read (`tp_packets` counting the
/// drops), reset by reading them.
pub fn packet_statistics(n: &mut Node, sock: SockId) -> Result<TpacketStats, Errno> {
    let p = packet_sock(n, sock)?;
    Ok(std::mem::take(&mut p.stats))
}

/// Bytes of the next frame to read (`SIOCINQ`).
pub(crate) fn packet_inq(p: &PacketSock) -> u32 {
    p.rx.front().map_or(0, |m| m.skb.len() as u32)
}

/// `packet_release`: the socket stops receiving, its queued frames are freed.
pub fn packet_release(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    unregister_prot_hook(n, sock);
    if let Some(Socket::Packet(mut p)) = n.socks.remove(sock) {
        for m in p.rx.drain(..) {
            cx.shared.pool.free(m.skb);
        }
    }
}

#[cfg(test)]
mod tests;
