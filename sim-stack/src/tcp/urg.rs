//! Urgent data on the receive side, as Linux keeps it (`tp->urg_data`, `tp->urg_seq`;
//! `tcp_check_urg`, `tcp_urg`, `tcp_recv_urg` in net/ipv4/tcp_input.c and tcp.c).
//!
//! A segment with URG points at one urgent byte: with `net.ipv4.tcp_stdurg` 0 (Linux's
//! default, BSD's reading) the byte before `seq + urg_ptr`. Until it arrives the socket
//! waits for it (`TCP_URG_NOTYET`); once it has, the byte is kept aside (`TCP_URG_VALID`)
//! for `recv(MSG_OOB)`, and — unless `SO_OOBINLINE` — left out of the stream: a read stops at
//! the mark and the next one skips the byte. `tcp_read_sock` (splice) stops at the mark and
//! does not skip it. The mark goes once the reader is past it.

use super::{TcpSock, after, before};
use crate::sock::Errno;

/// `TCP_URG_VALID`: the urgent byte arrived (in the low 8 bits).
pub const TCP_URG_VALID: u16 = 0x0100;
/// `TCP_URG_NOTYET`: an urgent pointer arrived, its byte has not.
pub const TCP_URG_NOTYET: u16 = 0x0200;
/// `TCP_URG_READ`: the urgent byte was read with `MSG_OOB`.
pub const TCP_URG_READ: u16 = 0x0400;

/// `tcp_check_urg`: a segment (`seq`) with URG and `urg_ptr`. `stdurg`:
/// `net.ipv4.tcp_stdurg`. Returns whether the owner is told (SIGURG).
pub(crate) fn tcp_check_urg(t: &mut TcpSock, seq: u32, urg_ptr: u16, stdurg: bool) -> bool {
    let mut ptr = u32::from(urg_ptr);
    if ptr != 0 && !stdurg {
        ptr -= 1;
    }
    let ptr = ptr.wrapping_add(seq);
    // Urgent data already seen and read, or a pointer into data already received (it
    // cannot be fetched), or not newer than the one we have.
    if after(t.copied_seq, ptr) || before(ptr, t.rcv_nxt) {
        return false;
    }
    if t.urg_data != 0 && !after(ptr, t.urg_seq) {
        return false;
    }
    // The last byte read was urgent and is still in the stream: step over it, as a new
    // mark replaces the old one.
    if t.urg_seq == t.copied_seq && t.urg_data != 0 && !t.sk.oobinline && t.copied_seq != t.rcv_nxt
    {
        t.copied_seq = t.copied_seq.wrapping_add(1);
        t.rcvq.consume(1);
        super::tcp_free_read_skbs(t);
    }
    t.urg_data = TCP_URG_NOTYET;
    t.urg_seq = ptr;
    true
}

/// `tcp_urg`: the urgent byte, if the segment (`seq`, `payload`, SYN or not) holds it.
/// Returns whether it arrived now (the reader is woken).
pub(crate) fn tcp_urg(t: &mut TcpSock, seq: u32, syn: bool, payload: &[u8]) -> bool {
    if t.urg_data != TCP_URG_NOTYET {
        return false;
    }
    let off = t.urg_seq.wrapping_sub(seq).wrapping_sub(u32::from(syn)) as usize;
    match payload.get(off) {
        Some(&b) => {
            t.urg_data = TCP_URG_VALID | u16::from(b);
            true
        }
        None => false,
    }
}

/// `tcp_recv_urg`: `recv(MSG_OOB)`: the urgent byte, once (unless `peek`). `EINVAL`
/// without one (or with `SO_OOBINLINE`), `EAGAIN` while it has not arrived (never
/// blocking), 0 after the peer's FIN.
pub(crate) fn tcp_recv_urg(t: &mut TcpSock, peek: bool) -> Result<Option<u8>, Errno> {
    if t.sk.oobinline || t.urg_data == 0 || t.urg_data == TCP_URG_READ {
        return Err(Errno::Inval);
    }
    if t.urg_data & TCP_URG_VALID != 0 {
        let c = t.urg_data as u8;
        if !peek {
            t.urg_data = TCP_URG_READ;
        }
        return Ok(Some(c));
    }
    if t.fin_received || t.sk.shut_rd {
        return Ok(None);
    }
    Err(Errno::Again)
}

/// What a read of up to `want` bytes from `copied_seq` may take with the urgent mark in the
/// way: (bytes to skip first, bytes to read). `skip_mark`: `tcp_recvmsg` steps over an
/// out-of-band byte at the mark; `tcp_read_sock` (splice) stops there.
pub(crate) fn urg_limit(t: &TcpSock, want: usize, skip_mark: bool) -> (usize, usize) {
    if t.urg_data == 0 {
        return (0, want);
    }
    let off = t.urg_seq.wrapping_sub(t.copied_seq) as usize;
    if off >= want.max(1) {
        return (0, want);
    }
    if off > 0 {
        return (0, off);
    }
    if skip_mark && !t.sk.oobinline {
        (
            1,
            want.saturating_sub(1).min(t.rcvq.len().saturating_sub(1)),
        )
    } else if skip_mark {
        (0, want)
    } else {
        (0, 0)
    }
}

/// The reader moved past the mark: it goes (the `skip_copy` step of `tcp_recvmsg`).
pub(crate) fn urg_passed(t: &mut TcpSock) {
    if t.urg_data != 0 && after(t.copied_seq, t.urg_seq) {
        t.urg_data = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::sock::SockCommon;
    use crate::tcp::cong::Cong;
    use sim_core::Scheduler;

    fn sock_with(data: &[u8]) -> TcpSock {
        let mut s: Scheduler<Event> = Scheduler::new();
        let timers = [s.new_timer(), s.new_timer(), s.new_timer(), s.new_timer()];
        let mut t = TcpSock::new(SockCommon::new(16384, 131_072), Cong::new(true), timers);
        t.copied_seq = 1;
        t.rcv_nxt = 1;
        t.rcvq.extend(data);
        t.rcv_nxt = t.rcv_nxt.wrapping_add(data.len() as u32);
        t
    }

    #[test]
    fn the_pointer_names_the_byte_before_it_bsd_style() {
        // seq 1, 100 bytes, urg_ptr 100: the 100th byte (seq 100) is urgent.
        let mut t = sock_with(&[]);
        assert!(tcp_check_urg(&mut t, 1, 100, false));
        assert_eq!((t.urg_data, t.urg_seq), (TCP_URG_NOTYET, 100));
        let mut payload = [b'x'; 100];
        payload[99] = b'!';
        assert!(tcp_urg(&mut t, 1, false, &payload));
        assert_eq!(t.urg_data, TCP_URG_VALID | u16::from(b'!'));
        // tcp_stdurg: the pointer names the byte itself.
        let mut t = sock_with(&[]);
        tcp_check_urg(&mut t, 1, 100, true);
        assert_eq!(t.urg_seq, 101);
        assert!(!tcp_urg(&mut t, 1, false, &payload), "not in this segment");
        assert_eq!(t.urg_data, TCP_URG_NOTYET);
    }

    #[test]
    fn reads_stop_at_the_mark_and_step_over_the_byte() {
        let mut t = sock_with(b"abc!de");
        t.urg_seq = 4;
        t.urg_data = TCP_URG_VALID | u16::from(b'!');
        assert_eq!(urg_limit(&t, 6, true), (0, 3), "up to the mark");
        assert_eq!(urg_limit(&t, 6, false), (0, 3));
        t.copied_seq = 4;
        t.rcvq.consume(3);
        assert_eq!(urg_limit(&t, 6, true), (1, 2), "recv skips the urgent byte");
        assert_eq!(urg_limit(&t, 6, false), (0, 0), "splice stops at it");
        t.sk.oobinline = true;
        assert_eq!(
            urg_limit(&t, 6, true),
            (0, 6),
            "SO_OOBINLINE: in the stream"
        );
        t.sk.oobinline = false;
        assert_eq!(tcp_recv_urg(&mut t, true), Ok(Some(b'!')));
        assert_eq!(tcp_recv_urg(&mut t, false), Ok(Some(b'!')));
        assert_eq!(tcp_recv_urg(&mut t, false), Err(Errno::Inval), "read once");
        t.copied_seq = 5;
        urg_passed(&mut t);
        assert_eq!(t.urg_data, 0);
    }

    #[test]
    fn oob_before_the_byte_arrives_does_not_block() {
        let mut t = sock_with(&[]);
        assert_eq!(
            tcp_recv_urg(&mut t, false),
            Err(Errno::Inval),
            "no urgent data"
        );
        tcp_check_urg(&mut t, 1, 100, false);
        assert_eq!(tcp_recv_urg(&mut t, false), Err(Errno::Again));
    }
}
