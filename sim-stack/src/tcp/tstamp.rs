//! TCP's transmit timestamps (`SO_TIMESTAMPING`): which byte of a write asks for them
//! (`tcp_tx_timestamp`), how the request follows that byte as the write queue's segments are
//! cut and joined (`tcp_fragment_tstamp`, `tcp_skb_collapse_tstamp`) and into the packet that
//! carries it, and the stamp taken when the peer acknowledges it (`tcp_ack_tstamp`). The
//! stamps themselves and the error queue they go to are the socket layer's
//! ([`crate::sock::errqueue`]).
//!
//! A request is kept on the write-queue segment ([`TxSeg`]) that holds its byte: `tx_flags`
//! (`SKBTX_SCHED_TSTAMP`, `SKBTX_SW_TSTAMP`), `txstamp_ack` and `tskey` (the byte's sequence
//! number), as Linux keeps them on the skb. Every transmission of that segment — the first
//! and each retransmission — takes the stamps the flags ask for.

use super::{TcpSock, TxSeg, before};
use crate::ctx::NetCtx;
use crate::node::Node;
use crate::sock::SockId;
use crate::sock::errqueue::{
    __skb_tstamp_tx, SKBTX_ANY_TSTAMP, SOF_TIMESTAMPING_TX_ACK, SOF_TIMESTAMPING_TX_RECORD_MASK,
    TstampType, sock_tx_timestamp,
};

/// `tcp_tx_timestamp`, at the end of a write that copied something: with `SO_TIMESTAMPING`
/// set, the last byte written asks for the stamps the socket's flags record — on the write
/// queue's tail, or the last segment sent when all is sent already. A later write whose last
/// byte lands in the same segment moves the key to its own byte, as it would on the skb.
pub(crate) fn tcp_tx_timestamp(t: &mut TcpSock) {
    let tsflags = t.sk.tsflags;
    if tsflags == 0 {
        return;
    }
    let Some(seg) = t.wq.back_mut() else {
        return;
    };
    if seg.len == 0 {
        return;
    }
    seg.tx_flags |= sock_tx_timestamp(tsflags);
    if tsflags & SOF_TIMESTAMPING_TX_ACK != 0 {
        seg.txstamp_ack = true;
    }
    if tsflags & SOF_TIMESTAMPING_TX_RECORD_MASK != 0 {
        seg.tskey = seg.seq.wrapping_add(seg.len - 1);
    }
}

/// `tcp_has_tx_tstamp`.
#[inline]
fn tcp_has_tx_tstamp(seg: &TxSeg) -> bool {
    seg.txstamp_ack || seg.tx_flags & SKBTX_ANY_TSTAMP != 0
}

/// `tcp_fragment_tstamp`: `seg` was cut before `rest`; the request goes with `rest` when its
/// byte is there.
pub(crate) fn tcp_fragment_tstamp(seg: &mut TxSeg, rest: &mut TxSeg) {
    if tcp_has_tx_tstamp(seg) && !before(seg.tskey, rest.seq) {
        rest.tx_flags |= seg.tx_flags & SKBTX_ANY_TSTAMP;
        seg.tx_flags &= !SKBTX_ANY_TSTAMP;
        core::mem::swap(&mut seg.tskey, &mut rest.tskey);
        rest.txstamp_ack = seg.txstamp_ack;
        seg.txstamp_ack = false;
    }
}

/// `tcp_skb_collapse_tstamp`: `gone` was joined into `seg`; its request comes along.
pub(crate) fn tcp_skb_collapse_tstamp(seg: &mut TxSeg, gone: &TxSeg) {
    if tcp_has_tx_tstamp(gone) {
        seg.tx_flags |= gone.tx_flags & SKBTX_ANY_TSTAMP;
        seg.tskey = gone.tskey;
        seg.txstamp_ack |= gone.txstamp_ack;
    }
}

/// The request a packet made of `segs` carries (`skb_shinfo(skb)->tx_flags` and `tskey`):
/// its segments' flags, and the key of the last one that asks (one skb has one key).
#[inline]
pub(crate) fn tcp_skb_tx_tstamp<'a>(segs: impl Iterator<Item = &'a TxSeg>) -> (u8, u32) {
    let (mut flags, mut key) = (0, 0);
    for s in segs {
        if s.tx_flags != 0 {
            flags |= s.tx_flags;
            key = s.tskey;
        }
    }
    (flags, key)
}

/// An acknowledged segment that asked for `SCM_TSTAMP_ACK`: its key, and the skb the stamp
/// copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AckStamp {
    /// The byte.
    pub tskey: u32,
    /// The first byte of the retransmit-queue skb holding it that this ACK acknowledged.
    pub seq: u32,
    /// How many bytes of it from `seq`.
    pub len: u32,
    /// Its bytes (filled from the send queue before they are dropped).
    pub data: Vec<u8>,
}

/// `tcp_ack_tstamp`: the `SCM_TSTAMP_ACK` stamp of a segment the ACK from `prior_snd_una`
/// to `snd_una` covered, when its byte is in that range (a byte acknowledged earlier gave
/// its stamp then).
pub(crate) fn tcp_ack_tstamp(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    stamp: &AckStamp,
    prior_snd_una: u32,
    snd_una: u32,
) {
    if !before(stamp.tskey, prior_snd_una) && before(stamp.tskey, snd_una) {
        __skb_tstamp_tx(
            n,
            cx,
            sock,
            TstampType::Ack,
            stamp.tskey,
            &stamp.data,
            stamp.len + crate::tcp::output::SKB_TCP_OVERHEAD,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::errqueue::{SKBTX_SCHED_TSTAMP, SKBTX_SW_TSTAMP};

    fn tagged(seq: u32, len: u32) -> TxSeg {
        let mut s = TxSeg::new(seq, len, false, false);
        s.tx_flags = SKBTX_SCHED_TSTAMP | SKBTX_SW_TSTAMP;
        s.txstamp_ack = true;
        s.tskey = seq + len - 1;
        s
    }

    #[test]
    fn a_cut_moves_the_request_to_the_part_with_its_byte() {
        let mut seg = tagged(1, 2000);
        let mut rest = TxSeg::new(1001, 1000, false, false);
        seg.len = 1000;
        tcp_fragment_tstamp(&mut seg, &mut rest);
        assert_eq!((seg.tx_flags, seg.txstamp_ack), (0, false));
        assert_eq!(
            (rest.tx_flags, rest.txstamp_ack, rest.tskey),
            (0x42, true, 2000)
        );
        // A byte before the cut stays.
        let mut seg = tagged(1, 1000);
        let mut rest = TxSeg::new(1001, 1000, false, false);
        tcp_fragment_tstamp(&mut seg, &mut rest);
        assert!(seg.txstamp_ack && rest.tx_flags == 0);
    }

    #[test]
    fn a_join_takes_the_later_request() {
        let mut seg = TxSeg::new(1, 500, false, false);
        tcp_skb_collapse_tstamp(&mut seg, &tagged(501, 500));
        assert_eq!(
            (seg.tx_flags, seg.txstamp_ack, seg.tskey),
            (0x42, true, 1000)
        );
        let segs = [TxSeg::new(1, 1000, false, false), tagged(1001, 1000)];
        assert_eq!(tcp_skb_tx_tstamp(segs.iter()), (0x42, 2000));
    }
}
