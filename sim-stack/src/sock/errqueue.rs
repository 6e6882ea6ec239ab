//! The socket error queue (`sk_error_queue`) and the transmit timestamps that fill it
//! (`SO_TIMESTAMPING`), as `net/core/sock.c`, `net/core/skbuff.c` and
//! `net/ipv4/ip_sockglue.c` have them.
//!
//! * `setsockopt(SO_TIMESTAMPING)` ([`sock_set_timestamping`]) sets the socket's
//!   `sk_tsflags`; `SOF_TIMESTAMPING_OPT_ID` starts the socket's key (`sk_tskey`): for TCP the
//!   sequence number of the next byte to be acknowledged (`snd_una`), or of the next byte to
//!   be written with `SOF_TIMESTAMPING_OPT_ID_TCP` (`write_seq`), so that a stamp's key is the
//!   byte's offset in the stream from there.
//! * A TCP write asks for stamps on its last byte (`tcp_tx_timestamp`, in
//!   [`crate::tcp::tstamp`]); the packets carrying that byte take the request (the skb's
//!   `tx_flags` and `tskey`), and each place that honours one queues a stamp here
//!   ([`__skb_tstamp_tx`]): the packet entering the device's queueing layer
//!   (`__dev_queue_xmit`: `SCM_TSTAMP_SCHED`), the driver handing it to the device
//!   (`skb_tx_timestamp`: `SCM_TSTAMP_SND`), and the peer acknowledging the byte
//!   (`tcp_ack_tstamp`: `SCM_TSTAMP_ACK`).
//! * A queued stamp is a copy of the packet (none with `SOF_TIMESTAMPING_OPT_TSONLY`) with a
//!   `sock_extended_err` (`ENOMSG`, `SO_EE_ORIGIN_TIMESTAMPING`, the stamp's type, the key)
//!   and the software time it was taken. It is charged to the socket's `sk_rmem_alloc`, and
//!   refused when that would reach `sk_rcvbuf` ([`sock_queue_err_skb`]); the socket polls
//!   `POLLERR` while the queue holds one.
//! * `recvmsg(MSG_ERRQUEUE)` ([`ip_recv_error`]) takes the oldest: the packet's bytes up to
//!   the buffer's length (`MSG_TRUNC` when longer), `SCM_TIMESTAMPING` with the software stamp
//!   when `SOF_TIMESTAMPING_SOFTWARE` asks for it to be reported, then `IP_RECVERR`; `EAGAIN`
//!   when the queue is empty. It never blocks.
//!
//! The stack has no hardware clocks: hardware stamps are never taken (as on a tun device),
//! and receive stamps (`SOF_TIMESTAMPING_RX_*`) are not modeled.

use sim_core::SimTime;

use crate::ctx::NetCtx;
use crate::node::Node;
use crate::skb::{Skb, truesize_for};
use crate::sock::{Errno, SockId, Socket, sk_wake};

/// `SOF_TIMESTAMPING_TX_HARDWARE`.
pub const SOF_TIMESTAMPING_TX_HARDWARE: u32 = 1 << 0;
/// `SOF_TIMESTAMPING_TX_SOFTWARE`: a stamp when the driver takes the packet.
pub const SOF_TIMESTAMPING_TX_SOFTWARE: u32 = 1 << 1;
/// `SOF_TIMESTAMPING_RX_HARDWARE`.
pub const SOF_TIMESTAMPING_RX_HARDWARE: u32 = 1 << 2;
/// `SOF_TIMESTAMPING_RX_SOFTWARE`.
pub const SOF_TIMESTAMPING_RX_SOFTWARE: u32 = 1 << 3;
/// `SOF_TIMESTAMPING_SOFTWARE`: report software stamps.
pub const SOF_TIMESTAMPING_SOFTWARE: u32 = 1 << 4;
/// `SOF_TIMESTAMPING_SYS_HARDWARE` (ignored by Linux).
pub const SOF_TIMESTAMPING_SYS_HARDWARE: u32 = 1 << 5;
/// `SOF_TIMESTAMPING_RAW_HARDWARE`: report hardware stamps.
pub const SOF_TIMESTAMPING_RAW_HARDWARE: u32 = 1 << 6;
/// `SOF_TIMESTAMPING_OPT_ID`: stamps carry a key (`ee_data`).
pub const SOF_TIMESTAMPING_OPT_ID: u32 = 1 << 7;
/// `SOF_TIMESTAMPING_TX_SCHED`: a stamp when the packet enters the queueing layer.
pub const SOF_TIMESTAMPING_TX_SCHED: u32 = 1 << 8;
/// `SOF_TIMESTAMPING_TX_ACK`: a stamp when the peer acknowledges the byte.
pub const SOF_TIMESTAMPING_TX_ACK: u32 = 1 << 9;
/// `SOF_TIMESTAMPING_OPT_CMSG`: `IP_PKTINFO` with each stamp.
pub const SOF_TIMESTAMPING_OPT_CMSG: u32 = 1 << 10;
/// `SOF_TIMESTAMPING_OPT_TSONLY`: stamps without the packet.
pub const SOF_TIMESTAMPING_OPT_TSONLY: u32 = 1 << 11;
/// `SOF_TIMESTAMPING_OPT_STATS`: `SCM_TIMESTAMPING_OPT_STATS` with each stamp.
pub const SOF_TIMESTAMPING_OPT_STATS: u32 = 1 << 12;
/// `SOF_TIMESTAMPING_OPT_PKTINFO`.
pub const SOF_TIMESTAMPING_OPT_PKTINFO: u32 = 1 << 13;
/// `SOF_TIMESTAMPING_OPT_TX_SWHW`.
pub const SOF_TIMESTAMPING_OPT_TX_SWHW: u32 = 1 << 14;
/// `SOF_TIMESTAMPING_BIND_PHC`.
pub const SOF_TIMESTAMPING_BIND_PHC: u32 = 1 << 15;
/// `SOF_TIMESTAMPING_OPT_ID_TCP`: a TCP key counts from the next byte written.
pub const SOF_TIMESTAMPING_OPT_ID_TCP: u32 = 1 << 16;
/// `SOF_TIMESTAMPING_OPT_RX_FILTER`.
pub const SOF_TIMESTAMPING_OPT_RX_FILTER: u32 = 1 << 17;
/// `SOF_TIMESTAMPING_TX_COMPLETION` (Linux 6.16).
pub const SOF_TIMESTAMPING_TX_COMPLETION: u32 = 1 << 18;
/// `SOF_TIMESTAMPING_MASK`: every flag Linux 6.18 knows.
pub const SOF_TIMESTAMPING_MASK: u32 = (SOF_TIMESTAMPING_TX_COMPLETION << 1) - 1;
/// `SOF_TIMESTAMPING_TX_RECORD_MASK`: the flags that ask for stamps to be taken.
pub const SOF_TIMESTAMPING_TX_RECORD_MASK: u32 = SOF_TIMESTAMPING_TX_HARDWARE
    | SOF_TIMESTAMPING_TX_SOFTWARE
    | SOF_TIMESTAMPING_TX_SCHED
    | SOF_TIMESTAMPING_TX_ACK
    | SOF_TIMESTAMPING_TX_COMPLETION;

/// `SKBTX_HW_TSTAMP` (`skb_shinfo(skb)->tx_flags`): a hardware stamp is asked for.
pub const SKBTX_HW_TSTAMP: u8 = 1 << 0;
/// `SKBTX_SW_TSTAMP`: a software stamp when the driver takes the packet.
pub const SKBTX_SW_TSTAMP: u8 = 1 << 1;
/// `SKBTX_SCHED_TSTAMP`: a stamp when the packet enters the queueing layer.
pub const SKBTX_SCHED_TSTAMP: u8 = 1 << 6;
/// `SKBTX_ANY_TSTAMP` as far as the model carries it.
pub const SKBTX_ANY_TSTAMP: u8 = SKBTX_HW_TSTAMP | SKBTX_SW_TSTAMP | SKBTX_SCHED_TSTAMP;

/// `ENOMSG`, the `ee_errno` of a stamp.
pub const ENOMSG: u32 = 42;
/// `SO_EE_ORIGIN_TIMESTAMPING`.
pub const SO_EE_ORIGIN_TIMESTAMPING: u8 = 4;

/// `SCM_TSTAMP_*`: where a transmit stamp was taken (`ee_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TstampType {
    /// `SCM_TSTAMP_SND` (0): the driver took the packet.
    Snd,
    /// `SCM_TSTAMP_SCHED` (1): the packet entered the queueing layer.
    Sched,
    /// `SCM_TSTAMP_ACK` (2): the peer acknowledged the byte.
    Ack,
}

impl TstampType {
    /// Its `SCM_TSTAMP_*` value.
    pub fn value(self) -> u32 {
        match self {
            Self::Snd => 0,
            Self::Sched => 1,
            Self::Ack => 2,
        }
    }
}

/// `struct sock_extended_err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SockExtendedErr {
    /// `ee_errno`.
    pub ee_errno: u32,
    /// `ee_origin`.
    pub ee_origin: u8,
    /// `ee_type`.
    pub ee_type: u8,
    /// `ee_code`.
    pub ee_code: u8,
    /// `ee_info`.
    pub ee_info: u32,
    /// `ee_data`.
    pub ee_data: u32,
}

/// An skb on the error queue (`struct sock_exterr_skb` and what the reader gets of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrSkb {
    /// The error.
    pub ee: SockExtendedErr,
    /// `skb->tstamp`: the software stamp.
    pub tstamp: SimTime,
    /// The packet's copy (empty for `SOF_TIMESTAMPING_OPT_TSONLY`): from the link-layer
    /// header on for a stamp taken at the device, the payload for `SCM_TSTAMP_ACK`.
    pub data: Vec<u8>,
    /// `skb->truesize`, charged to `sk_rmem_alloc` while queued.
    pub truesize: u32,
}

/// What `recvmsg(MSG_ERRQUEUE)` returns ([`ip_recv_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrMsg {
    /// The return value: bytes of the packet copied.
    pub len: usize,
    /// `MSG_TRUNC`: the copy was longer than the buffer. (`MSG_ERRQUEUE` is always set.)
    pub truncated: bool,
    /// `SCM_TIMESTAMPING`'s first timespec (software), when reported.
    pub tstamp: Option<SimTime>,
    /// `IP_RECVERR`'s error (its offender address is zero for a stamp).
    pub ee: SockExtendedErr,
}

/// `sk_rmem_alloc` of a socket: TCP keeps it beside its receive queues.
fn sk_rmem_alloc(s: &mut Socket) -> &mut u32 {
    match s {
        Socket::Tcp(t) => &mut t.rmem_alloc,
        other => &mut other.common_mut().rmem_alloc,
    }
}

/// `sock_set_timestamping`: `setsockopt(SO_TIMESTAMPING, val)` on socket `fd`. `EINVAL` for
/// unknown flags, `OPT_ID_TCP` without `OPT_ID`, `OPT_STATS` without `OPT_TSONLY`, and for
/// turning `OPT_ID` on on a TCP socket that is closed or listening. As in Linux, the key is
/// started before the `OPT_STATS` check.
pub fn sock_set_timestamping(n: &mut Node, fd: SockId, val: u32) -> Result<(), Errno> {
    let s = n.socks.get_mut(fd).ok_or(Errno::BadF)?;
    if val & !SOF_TIMESTAMPING_MASK != 0 {
        return Err(Errno::Inval);
    }
    if val & SOF_TIMESTAMPING_OPT_ID_TCP != 0 && val & SOF_TIMESTAMPING_OPT_ID == 0 {
        return Err(Errno::Inval);
    }
    if val & SOF_TIMESTAMPING_OPT_ID != 0 && s.common().tsflags & SOF_TIMESTAMPING_OPT_ID == 0 {
        let key = match s {
            Socket::Tcp(t) => {
                use crate::tcp::TcpState;
                if matches!(t.state, TcpState::Closed | TcpState::Listen) {
                    return Err(Errno::Inval);
                }
                if val & SOF_TIMESTAMPING_OPT_ID_TCP != 0 {
                    t.write_seq
                } else {
                    t.snd_una
                }
            }
            _ => 0,
        };
        s.common_mut().tskey = key;
    }
    if val & SOF_TIMESTAMPING_OPT_STATS != 0 && val & SOF_TIMESTAMPING_OPT_TSONLY == 0 {
        return Err(Errno::Inval);
    }
    s.common_mut().tsflags = val;
    Ok(())
}

/// `sock_tx_timestamp`: the `tx_flags` a packet of a socket with `tsflags` is given.
#[inline]
pub fn sock_tx_timestamp(tsflags: u32) -> u8 {
    let mut f = 0;
    if tsflags & SOF_TIMESTAMPING_TX_HARDWARE != 0 {
        f |= SKBTX_HW_TSTAMP;
    }
    if tsflags & SOF_TIMESTAMPING_TX_SOFTWARE != 0 {
        f |= SKBTX_SW_TSTAMP;
    }
    if tsflags & SOF_TIMESTAMPING_TX_SCHED != 0 {
        f |= SKBTX_SCHED_TSTAMP;
    }
    f
}

/// `skb_tstamp_tx` for a packet leaving through the stack: a stamp of type `tstype` for
/// the socket the packet is charged to, if it has one (a packet the device took from its
/// socket already, `skb_orphan`, has none).
pub(crate) fn skb_tstamp_tx(n: &mut Node, cx: &mut NetCtx<'_>, skb: &Skb, tstype: TstampType) {
    if let Some(owner) = skb.sock {
        debug_assert_eq!(
            owner.node, n.id,
            "an skb is charged to a socket of its node"
        );
        __skb_tstamp_tx(
            n,
            cx,
            owner.sock,
            tstype,
            skb.tskey,
            skb.data(),
            skb.truesize,
        );
    }
}

/// `skb_tx_timestamp`, called by a driver as it takes a packet: the `SCM_TSTAMP_SND` stamp
/// when the packet asks for a software one.
#[inline]
pub(crate) fn skb_tx_timestamp(n: &mut Node, cx: &mut NetCtx<'_>, skb: &Skb) {
    if skb.tx_flags & SKBTX_SW_TSTAMP != 0 {
        skb_tstamp_tx(n, cx, skb, TstampType::Snd);
    }
}

/// `__skb_tstamp_tx` → `__skb_complete_tx_timestamp`: queues a stamp of type `tstype`, taken
/// now, on socket `sock`'s error queue: a copy of the packet (`data`, `truesize`; none
/// with `SOF_TIMESTAMPING_OPT_TSONLY`) with the error `ENOMSG` from
/// `SO_EE_ORIGIN_TIMESTAMPING` and, with `SOF_TIMESTAMPING_OPT_ID`, the key (`tskey`, made
/// relative to the socket's `sk_tskey` for TCP). A full receive buffer loses it.
pub(crate) fn __skb_tstamp_tx(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    tstype: TstampType,
    tskey: u32,
    data: &[u8],
    truesize: u32,
) {
    let Some(s) = n.socks.get(sock) else {
        return;
    };
    let c = s.common();
    let tsflags = c.tsflags;
    let (data, truesize) = if tsflags & SOF_TIMESTAMPING_OPT_TSONLY != 0 {
        // alloc_skb(0).
        (Vec::new(), truesize_for(0))
    } else {
        // skb_clone: the same bytes and truesize.
        (data.to_vec(), truesize)
    };
    let ee_data = if tsflags & SOF_TIMESTAMPING_OPT_ID != 0 {
        if matches!(s, Socket::Tcp(_)) {
            tskey.wrapping_sub(c.tskey)
        } else {
            tskey
        }
    } else {
        0
    };
    let skb = ErrSkb {
        ee: SockExtendedErr {
            ee_errno: ENOMSG,
            ee_origin: SO_EE_ORIGIN_TIMESTAMPING,
            ee_type: 0,
            ee_code: 0,
            ee_info: tstype.value(),
            ee_data,
        },
        tstamp: cx.now,
        data,
        truesize,
    };
    // The error is dropped with its skb (kfree_skb), as Linux drops it.
    let _ = sock_queue_err_skb(n, cx, sock, skb);
}

/// `sock_queue_err_skb`: `ENOMEM` when the skb's truesize would take `sk_rmem_alloc` to
/// `sk_rcvbuf`; else the skb is charged and queued and the socket's owner woken
/// (`sk_error_report`), unless the socket is an orphan (`SOCK_DEAD`).
pub(crate) fn sock_queue_err_skb(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    skb: ErrSkb,
) -> Result<(), Errno> {
    let s = n.socks.get_mut(sock).ok_or(Errno::BadF)?;
    let rcvbuf = s.common().rcvbuf;
    let dead = matches!(s, Socket::Tcp(t) if t.orphan);
    let rmem = sk_rmem_alloc(s);
    if u64::from(*rmem) + u64::from(skb.truesize) >= u64::from(rcvbuf) {
        return Err(Errno::NoMem);
    }
    *rmem += skb.truesize;
    s.common_mut().error_queue.push_back(skb);
    if !dead {
        sk_wake(n, cx, sock);
    }
    Ok(())
}

/// `ip_recv_error` (`recvmsg(MSG_ERRQUEUE)` on an IPv4 socket) into `buf` (`None`: a bad
/// address) of `len` bytes: the oldest queued error, its receive-buffer charge given back
/// (`sock_rmem_free`), or `EAGAIN` when there is none. The owner is woken again when more
/// wait (`sock_dequeue_err_skb`). A copy into a bad address fails with `EFAULT`, and the
/// entry is lost, as in Linux.
pub fn ip_recv_error(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    buf: Option<&mut [u8]>,
    len: usize,
) -> Result<ErrMsg, Errno> {
    let s = n.socks.get_mut(sock).ok_or(Errno::BadF)?;
    let skb = s.common_mut().error_queue.pop_front().ok_or(Errno::Again)?;
    let more = !s.common().error_queue.is_empty();
    let tsflags = s.common().tsflags;
    let rmem = sk_rmem_alloc(s);
    *rmem = rmem.saturating_sub(skb.truesize);
    if more {
        sk_wake(n, cx, sock);
    }
    let copied = len.min(skb.data.len());
    match buf {
        Some(b) => b[..copied].copy_from_slice(&skb.data[..copied]),
        None if copied > 0 => return Err(Errno::Fault),
        None => {}
    }
    Ok(ErrMsg {
        len: copied,
        truncated: skb.data.len() > len,
        tstamp: sock_recv_timestamp(tsflags, &skb),
        ee: skb.ee,
    })
}

/// `__sock_recv_timestamp` for an error-queue skb: the software stamp, reported when the
/// socket's flags have `SOF_TIMESTAMPING_SOFTWARE` (no `SCM_TIMESTAMPING` otherwise: the
/// model takes no hardware stamps).
fn sock_recv_timestamp(tsflags: u32, skb: &ErrSkb) -> Option<SimTime> {
    (tsflags & SOF_TIMESTAMPING_SOFTWARE != 0).then_some(skb.tstamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sysctls;
    use crate::sock::syscall::{self as sc, PollEvents, SockType};
    use crate::testing::OneHost;
    use sim_core::SimDuration;

    fn udp(h: &mut OneHost) -> SockId {
        h.with(|n, cx| sc::socket(n, cx, SockType::Dgram, 0, Some(0)))
            .expect("a socket")
    }

    fn stamp(h: &mut OneHost, s: SockId, t: TstampType, key: u32) {
        h.with(|n, cx| __skb_tstamp_tx(n, cx, s, t, key, &[7; 1040], 2304));
    }

    fn common(h: &OneHost, s: SockId) -> &crate::sock::SockCommon {
        h.n.socks.get(s).expect("a socket").common()
    }

    #[test]
    fn flags_are_checked_as_sock_set_timestamping_checks_them() {
        let mut h = OneHost::new(Sysctls::default());
        let s = udp(&mut h);
        let set = |h: &mut OneHost, v| sock_set_timestamping(&mut h.n, s, v);
        assert_eq!(set(&mut h, SOF_TIMESTAMPING_MASK + 1), Err(Errno::Inval));
        assert_eq!(set(&mut h, SOF_TIMESTAMPING_OPT_ID_TCP), Err(Errno::Inval));
        // The key starts before OPT_STATS is refused, as in Linux.
        h.n.socks.get_mut(s).unwrap().common_mut().tskey = 7;
        let stats = SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_STATS;
        assert_eq!(set(&mut h, stats), Err(Errno::Inval));
        assert_eq!((common(&h, s).tskey, common(&h, s).tsflags), (0, 0));
        let flags = SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_SOFTWARE;
        assert_eq!(set(&mut h, flags), Ok(()));
        assert_eq!(common(&h, s).tsflags, flags);
    }

    #[test]
    fn a_tcp_key_needs_a_connection() {
        let mut h = OneHost::new(Sysctls::default());
        let s = h
            .with(|n, cx| sc::socket(n, cx, SockType::Stream, 0, Some(0)))
            .unwrap();
        let id = SOF_TIMESTAMPING_OPT_ID;
        assert_eq!(sock_set_timestamping(&mut h.n, s, id), Err(Errno::Inval));
        // Without OPT_ID there is no key to start: any state takes it.
        let sched = SOF_TIMESTAMPING_TX_SCHED;
        assert_eq!(sock_set_timestamping(&mut h.n, s, sched), Ok(()));
    }

    #[test]
    fn stamps_come_back_oldest_first_with_their_copy_time_and_key() {
        let mut h = OneHost::new(Sysctls::default());
        let s = udp(&mut h);
        let flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID;
        sock_set_timestamping(&mut h.n, s, flags).unwrap();
        h.advance(SimDuration::from_millis(10));
        stamp(&mut h, s, TstampType::Sched, 5);
        h.advance(SimDuration::from_millis(10));
        h.woken.clear();
        stamp(&mut h, s, TstampType::Snd, 5);
        // sk_error_report.
        assert_eq!(h.woken, [s]);
        assert_eq!(common(&h, s).rmem_alloc, 2 * 2304);
        assert!(sc::poll(&mut h.n, s).unwrap().contains(PollEvents::ERR));

        let m = h
            .with(|n, cx| ip_recv_error(n, cx, s, Some(&mut []), 0))
            .unwrap();
        assert_eq!((m.len, m.truncated), (0, true));
        assert_eq!(m.tstamp, Some(SimTime::from_nanos(10_000_000)));
        let ee = SockExtendedErr {
            ee_errno: ENOMSG,
            ee_origin: SO_EE_ORIGIN_TIMESTAMPING,
            ee_type: 0,
            ee_code: 0,
            ee_info: 1,
            ee_data: 5,
        };
        assert_eq!(m.ee, ee);
        let mut buf = [0; 2000];
        let m = h
            .with(|n, cx| ip_recv_error(n, cx, s, Some(&mut buf), 2000))
            .unwrap();
        assert_eq!((m.len, m.truncated), (1040, false));
        assert!(buf[..1040].iter().all(|b| *b == 7) && buf[1040] == 0);
        assert_eq!(m.tstamp, Some(SimTime::from_nanos(20_000_000)));
        assert_eq!(m.ee.ee_info, TstampType::Snd.value());
        let empty = h.with(|n, cx| ip_recv_error(n, cx, s, None, 0));
        assert_eq!(empty, Err(Errno::Again));
        assert_eq!(common(&h, s).rmem_alloc, 0);
        assert!(!sc::poll(&mut h.n, s).unwrap().contains(PollEvents::ERR));
    }

    #[test]
    fn tsonly_drops_the_copy_and_without_software_no_stamp_is_reported() {
        let mut h = OneHost::new(Sysctls::default());
        let s = udp(&mut h);
        sock_set_timestamping(&mut h.n, s, SOF_TIMESTAMPING_OPT_TSONLY).unwrap();
        stamp(&mut h, s, TstampType::Snd, 9);
        assert_eq!(common(&h, s).rmem_alloc, truesize_for(0));
        let m = h.with(|n, cx| ip_recv_error(n, cx, s, None, 100)).unwrap();
        assert_eq!((m.len, m.truncated, m.tstamp), (0, false, None));
        // No OPT_ID: no key.
        assert_eq!(m.ee.ee_data, 0);
    }

    #[test]
    fn a_full_receive_buffer_loses_the_stamp() {
        let mut h = OneHost::new(Sysctls::default());
        let s = udp(&mut h);
        let rcvbuf = common(&h, s).rcvbuf;
        h.n.socks.get_mut(s).unwrap().common_mut().rmem_alloc = rcvbuf - 2304;
        stamp(&mut h, s, TstampType::Snd, 0);
        assert!(common(&h, s).error_queue.is_empty());
        h.n.socks.get_mut(s).unwrap().common_mut().rmem_alloc = rcvbuf - 2305;
        stamp(&mut h, s, TstampType::Snd, 0);
        assert_eq!(common(&h, s).error_queue.len(), 1);
        // A bad address loses it.
        let r = h.with(|n, cx| ip_recv_error(n, cx, s, None, 1));
        assert_eq!(r, Err(Errno::Fault));
        assert!(common(&h, s).error_queue.is_empty());
        assert_eq!(common(&h, s).rmem_alloc, rcvbuf - 2305);
    }
}
