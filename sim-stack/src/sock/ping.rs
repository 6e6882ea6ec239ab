//! ICMP echo sockets, what `ping` sends through (Linux's "ping sockets", `net/ipv4/ping.c`:
//! `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`): `ping_v4_sendmsg` sends an echo request
//! whose ident is the socket's, `ping_rcv` queues the echo replies carrying that ident, and
//! `ping_err` queues the ICMP errors about its requests (what ping reads from the error
//! queue with `IP_RECVERR`). Each wakes the owning app.
//!
//! The datagram's IP header has DF when it fits the route's MTU (PMTU "want" mode) and is
//! fragmented otherwise; since the socket sets `ignore_df`, its IP ID comes from the hashed
//! per-destination generator, as for UDP.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::ctx::NetCtx;
use crate::ip::output::{IdentMode, IpSend, ip_route_output_flow, ip_send_skb};
use crate::node::Node;
use crate::sock::{Errno, SockCommon, SockId, Socket, sk_wake};
use crate::wire::{DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpProtocol};

/// What a ping socket has to read: an echo reply, or an error about one of its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingMsg {
    /// An echo reply (`recvmsg` on the socket).
    Reply {
        /// Who answered.
        from: Ipv4Addr,
        /// Its sequence number.
        seq: u16,
        /// ICMP data bytes.
        len: usize,
        /// The reply's TTL.
        ttl: u8,
    },
    /// An ICMP error about a request (`recvmsg(MSG_ERRQUEUE)`).
    Error {
        /// Who sent the error.
        from: Ipv4Addr,
        /// The request's sequence number.
        seq: u16,
        /// ICMP type.
        ty: Icmpv4Message,
        /// ICMP code.
        code: u8,
    },
}

impl PingMsg {
    /// ping's words for an error (`Destination Host Unreachable`, …).
    pub fn error_text(ty: Icmpv4Message, code: u8) -> &'static str {
        match (ty, code) {
            (Icmpv4Message::DstUnreachable, c) => match DstUnreachable::from(c) {
                DstUnreachable::NetUnreachable => "Destination Net Unreachable",
                DstUnreachable::HostUnreachable => "Destination Host Unreachable",
                DstUnreachable::PortUnreachable => "Destination Port Unreachable",
                DstUnreachable::FragRequired => "Frag needed",
                _ => "Destination Unreachable",
            },
            (Icmpv4Message::TimeExceeded, 0) => "Time to live exceeded",
            (Icmpv4Message::TimeExceeded, _) => "Fragment reassembly time exceeded",
            _ => "ICMP error",
        }
    }
}

/// An ICMP echo socket.
#[derive(Debug)]
pub struct PingSock {
    /// Addresses, buffers, owner.
    pub sk: SockCommon,
    /// The ident of its requests (its "port").
    pub ident: u16,
    /// Replies and errors waiting to be read.
    pub rx: VecDeque<PingMsg>,
}

/// `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)` bound to `ident`, owned by `app`.
pub fn ping_socket(n: &mut Node, ident: u16, app: Option<u32>) -> Result<SockId, Errno> {
    let id = ping_socket_unbound(n, app);
    if let Err(e) = ping_bind(n, id, ident) {
        n.socks.remove(id);
        return Err(e);
    }
    Ok(id)
}

/// `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, not bound yet (its ident is 0).
pub fn ping_socket_unbound(n: &mut Node, app: Option<u32>) -> SockId {
    let mut sk = SockCommon::new(n.sysctl.wmem_default, n.sysctl.rmem_default);
    sk.app = app;
    n.socks.insert(Socket::Ping(PingSock {
        sk,
        ident: 0,
        rx: VecDeque::new(),
    }))
}

/// `bind()` of a ping socket: its ident (`ping_get_port`); `EADDRINUSE` when another
/// socket of the node has it, `EINVAL` when it is bound already.
pub fn ping_bind(n: &mut Node, sock: SockId, ident: u16) -> Result<(), Errno> {
    if n.socks.ping_idents.contains_key(&ident) {
        return Err(Errno::AddrInUse);
    }
    let Some(Socket::Ping(p)) = n.socks.get_mut(sock) else {
        return Err(Errno::NotSock);
    };
    if p.sk.sport != 0 {
        return Err(Errno::Inval);
    }
    p.ident = ident;
    p.sk.sport = ident;
    n.socks.ping_idents.insert(ident, sock);
    Ok(())
}

/// `ping_v4_sendmsg`: an echo request to `dst` with sequence number `seq` and `data`.
pub fn ping_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    dst: Ipv4Addr,
    seq: u16,
    data: &[u8],
) -> Result<(), Errno> {
    let Some(Socket::Ping(p)) = n.socks.get(sock) else {
        return Err(Errno::NotSock);
    };
    let req = Icmpv4Repr::EchoRequest {
        ident: p.ident,
        seq_no: seq,
        data,
    };
    let mut skb = cx.pool.alloc(req.buffer_len());
    req.emit(&mut Icmpv4Packet::new_unchecked(skb.put(req.buffer_len())));
    for f in ["sendto", "raw_sendmsg", "ip_route_output_flow"] {
        note!(cx, skb, f);
    }
    let Ok(route) = ip_route_output_flow(n, dst) else {
        cx.pool.free(skb);
        return Err(Errno::NetUnreach);
    };
    note!(cx, skb, "ip_make_skb");
    n.snmp.icmp.OutMsgs += 1;
    n.snmp.icmp.OutEchos += 1;
    let fits = skb.len() + 20 <= route.mtu as usize;
    let send = IpSend {
        src: route.src,
        dst,
        protocol: IpProtocol::Icmp,
        ttl: n.default_ttl,
        tos: 0,
        dont_frag: fits,
        ident: IdentMode::Hashed,
    };
    // A local drop is not reported to ping (no IP_RECVERR for it here).
    let _ = ip_send_skb(n, cx, skb, send, route);
    Ok(())
}

/// `recvmsg` on a ping socket: the next reply or error, or `EAGAIN`.
pub fn ping_recvmsg(n: &mut Node, sock: SockId) -> Result<PingMsg, Errno> {
    match n.socks.get_mut(sock) {
        Some(Socket::Ping(p)) => p.rx.pop_front().ok_or(Errno::Again),
        _ => Err(Errno::NotSock),
    }
}

/// `ping_rcv`: an echo reply for `ident` arrived; queue it for its socket, if any.
pub(crate) fn ping_rcv(n: &mut Node, cx: &mut NetCtx<'_>, ident: u16, msg: PingMsg) {
    let Some(&sock) = n.socks.ping_idents.get(&ident) else {
        return;
    };
    if let Some(Socket::Ping(p)) = n.socks.get_mut(sock) {
        p.rx.push_back(msg);
        sk_wake(n, cx, sock);
    }
}

/// `ping_err`: an ICMP error about an echo request of `ident`.
pub(crate) fn ping_err(n: &mut Node, cx: &mut NetCtx<'_>, ident: u16, msg: PingMsg) {
    ping_rcv(n, cx, ident, msg);
}

/// `close()` of a ping socket.
pub fn ping_close(n: &mut Node, sock: SockId) {
    if let Some(Socket::Ping(p)) = n.socks.remove(sock)
        && n.socks.ping_idents.get(&p.ident) == Some(&sock)
    {
        n.socks.ping_idents.remove(&p.ident);
    }
}
