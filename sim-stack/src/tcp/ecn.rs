//! Explicit Congestion Notification for TCP (RFC 3168), as Linux's `tcp_ecn_*` functions
//! do it (net/ipv4/tcp_input.c and tcp_output.c; `include/net/tcp_ecn.h` in 6.18).
//!
//! * The handshake: with `net.ipv4.tcp_ecn = 1` the SYN carries ECE and CWR
//!   (`tcp_ecn_send_syn`; a retransmitted SYN drops them when `tcp_ecn_fallback` is on,
//!   `tcp_ecn_clear_syn`); a listener with `tcp_ecn` 1 or 2 answers such a SYN — if it
//!   is not itself ECN-capable — with ECE in the SYN-ACK (`tcp_ecn_create_request`,
//!   `tcp_ecn_make_synack`); a client keeps ECN only if the SYN-ACK has ECE without CWR
//!   (`tcp_ecn_rcv_synack`).
//! * Sending (`tcp_ecn_send`): new data leaves ECT(0), with CWR on the first packet after a
//!   congestion-window reduction; pure ACKs and retransmissions leave Not-ECT (the
//!   socket's ECN bits are set and cleared in place, `INET_ECN_xmit`/`INET_ECN_dontxmit`);
//!   every segment carries ECE while the receiver side owes the peer an echo.
//! * Receiving: a data segment marked CE makes the receiver echo ECE until the sender's
//!   CWR (`__tcp_ecn_check_ce`, `tcp_ecn_accept_cwr`) and acknowledge at once; an ACK with
//!   ECE makes the sender reduce cwnd once per window (`FLAG_ECE` → `tcp_enter_cwr`).
//!
//! * A congestion control with `TCP_CONG_NEEDS_ECN` (DCTCP) asks for ECN whatever
//!   `tcp_ecn` is, is accepted by its listener even from an ECT SYN, and keeps ECT(0) on
//!   every segment (its socket's TOS has it from the moment the algorithm is assigned,
//!   `INET_ECN_xmit` in `tcp_assign_congestion_control`). Its receiver echoes ECE by
//!   DCTCP's own rules ([`super::dctcp`]).
//!
//! Accurate ECN (`tcp_ecn` 3–5, AccECN) is not modeled.

use crate::wire::TcpFlags;

/// `INET_ECN_MASK`: the two ECN bits of the TOS byte.
pub const INET_ECN_MASK: u8 = 3;
/// `INET_ECN_ECT_0`.
pub const INET_ECN_ECT_0: u8 = 2;
/// `INET_ECN_CE`.
pub const INET_ECN_CE: u8 = 3;
/// `INET_ECN_NOT_ECT`.
pub const INET_ECN_NOT_ECT: u8 = 0;

/// A connection's ECN state (`tp->ecn_flags`), with what the SYN carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ecn {
    /// `TCP_ECN_OK`: ECN was negotiated (or is being asked for in SYN_SENT).
    pub ok: bool,
    /// `TCP_ECN_QUEUE_CWR`: set CWR on the next new data segment.
    pub queue_cwr: bool,
    /// `TCP_ECN_DEMAND_CWR`: a CE mark arrived: echo ECE until the peer's CWR.
    pub demand_cwr: bool,
    /// `TCP_ECN_SEEN`: an ECT or CE segment arrived (`TCPI_OPT_ECN_SEEN`).
    pub seen: bool,
    /// ECE and CWR on our SYN (the SYN skb's flags, cleared by `tcp_ecn_clear_syn`).
    pub syn_flags: TcpFlags,
}

impl Ecn {
    /// `tcp_ecn_send_syn`: a connecting socket asks for ECN when `tcp_ecn` is 1 or its
    /// congestion control needs ECN (`tcp_ca_needs_ecn`).
    pub fn send_syn(tcp_ecn: u8, ca_needs_ecn: bool) -> Self {
        if tcp_ecn == 1 || ca_needs_ecn {
            Self {
                ok: true,
                syn_flags: TcpFlags::ECE | TcpFlags::CWR,
                ..Self::default()
            }
        } else {
            Self::default()
        }
    }

    /// `tcp_ecn_clear_syn`: the SYN is retransmitted; with `tcp_ecn_fallback` it asks no
    /// more (a middlebox may drop ECN SYNs). `ok` stays until the SYN-ACK decides.
    pub fn clear_syn(&mut self, fallback: bool) {
        if fallback {
            self.syn_flags = TcpFlags::NONE;
        }
    }

    /// `tcp_ecn_rcv_synack`: the SYN-ACK agrees (ECE without CWR) or ECN is off.
    pub fn rcv_synack(&mut self, flags: TcpFlags) {
        if self.ok && (!flags.contains(TcpFlags::ECE) || flags.contains(TcpFlags::CWR)) {
            self.ok = false;
        }
    }

    /// `tcp_ecn_create_request` + `tcp_ecn_openreq_child`: a listener's child takes ECN when
    /// the SYN asks (ECE and CWR), `tcp_ecn` is not 0, and the SYN itself is not
    /// ECN-capable (a SYN with ECT is taken for a broken middlebox's) — or the listener's
    /// congestion control needs ECN (`tcp_ca_needs_ecn(listen_sk)`: DCTCP's SYNs are ECT).
    pub fn create_request(
        tcp_ecn: u8,
        ca_needs_ecn: bool,
        syn_flags: TcpFlags,
        syn_dsfield: u8,
    ) -> Self {
        let asks = syn_flags.contains(TcpFlags::ECE | TcpFlags::CWR);
        let ect = syn_dsfield & INET_ECN_MASK != INET_ECN_NOT_ECT;
        Self {
            ok: asks && ((!ect && tcp_ecn != 0) || ca_needs_ecn),
            ..Self::default()
        }
    }

    /// `tcp_ecn_make_synack`: the flags our SYN-ACK adds.
    pub fn synack_flags(&self) -> TcpFlags {
        if self.ok {
            TcpFlags::ECE
        } else {
            TcpFlags::NONE
        }
    }

    /// `tcp_ecn_send` for a segment that is not a SYN: the flags it adds, and the socket's
    /// TOS byte with its ECN bits as the segment leaves (`tos` is updated in place, as
    /// `INET_ECN_xmit`/`INET_ECN_dontxmit` update `inet->tos`). `new_data`: the segment
    /// carries data never sent before (`skb->len != tcp_header_len` and not before
    /// `snd_nxt`). With `ca_needs_ecn` (DCTCP) ACKs and retransmissions keep ECT.
    pub fn send(&mut self, new_data: bool, ca_needs_ecn: bool, tos: &mut u8) -> TcpFlags {
        let mut flags = TcpFlags::NONE;
        if !self.ok {
            return flags;
        }
        if new_data {
            *tos = (*tos & !INET_ECN_MASK) | INET_ECN_ECT_0;
            if self.queue_cwr {
                self.queue_cwr = false;
                flags |= TcpFlags::CWR;
            }
        } else if !ca_needs_ecn {
            *tos &= !INET_ECN_MASK;
        }
        if self.demand_cwr {
            flags |= TcpFlags::ECE;
        }
        flags
    }

    /// `tcp_ecn_queue_cwr`: cwnd was reduced (`tcp_init_cwnd_reduction`, `tcp_enter_loss`):
    /// tell the peer with the next new data.
    pub fn queue_cwr(&mut self) {
        if self.ok {
            self.queue_cwr = true;
        }
    }

    /// `__tcp_ecn_check_ce` (through `tcp_ecn_check_ce`) for a data segment with the IP
    /// `dsfield`: returns whether to enter quick-ACK mode (for at most 2 ACKs).
    pub fn check_ce(&mut self, dsfield: u8) -> bool {
        if !self.ok {
            return false;
        }
        match dsfield & INET_ECN_MASK {
            // A Not-ECT segment after ECT ones is probably a retransmission.
            INET_ECN_NOT_ECT => self.seen,
            INET_ECN_CE => {
                self.seen = true;
                if self.demand_cwr {
                    false
                } else {
                    // Better not delay ACKs: the sender may have a very low cwnd.
                    self.demand_cwr = true;
                    true
                }
            }
            _ => {
                self.seen = true;
                false
            }
        }
    }

    /// `tcp_ecn_rcv_ecn_echo`: an ACK (not a SYN) with ECE on an ECN connection
    /// (`FLAG_ECE`).
    pub fn rcv_ecn_echo(&self, flags: TcpFlags) -> bool {
        self.ok && flags.contains(TcpFlags::ECE) && !flags.contains(TcpFlags::SYN)
    }

    /// `tcp_ecn_accept_cwr`: the peer's CWR ends our echo; returns whether to ACK now (the
    /// segment carries data: the sender's cwnd may be very low).
    pub fn accept_cwr(&mut self, flags: TcpFlags, has_data: bool) -> bool {
        if flags.contains(TcpFlags::CWR) {
            self.demand_cwr = false;
            has_data
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tcp_ecn_1_asks_and_a_synack_must_agree() {
        assert_eq!(Ecn::send_syn(2, false), Ecn::default());
        assert_eq!(Ecn::send_syn(0, false), Ecn::default());
        assert!(
            Ecn::send_syn(0, true).ok,
            "DCTCP asks whatever tcp_ecn says"
        );
        let mut e = Ecn::send_syn(1, false);
        assert!(e.ok);
        assert_eq!(e.syn_flags, TcpFlags::ECE | TcpFlags::CWR);
        e.rcv_synack(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE);
        assert!(e.ok, "ECE without CWR: agreed");
        let mut e = Ecn::send_syn(1, false);
        e.rcv_synack(TcpFlags::SYN | TcpFlags::ACK);
        assert!(!e.ok, "no ECE: the peer said no");
        let mut e = Ecn::send_syn(1, false);
        e.rcv_synack(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE | TcpFlags::CWR);
        assert!(!e.ok, "ECE and CWR: a reflecting middlebox, not an answer");
    }

    #[test]
    fn a_retransmitted_syn_falls_back_but_keeps_asking_without_fallback() {
        let mut e = Ecn::send_syn(1, false);
        e.clear_syn(false);
        assert_eq!(e.syn_flags, TcpFlags::ECE | TcpFlags::CWR);
        e.clear_syn(true);
        assert!(e.syn_flags.is_empty());
        assert!(e.ok, "ecn_flags wait for the SYN-ACK");
    }

    #[test]
    fn a_listener_accepts_with_1_or_2_unless_the_syn_is_ect() {
        let asks = TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR;
        assert!(Ecn::create_request(2, false, asks, 0).ok);
        assert!(Ecn::create_request(1, false, asks, 0).ok);
        assert!(!Ecn::create_request(0, false, asks, 0).ok);
        assert!(!Ecn::create_request(2, false, asks, INET_ECN_ECT_0).ok);
        assert!(!Ecn::create_request(2, false, TcpFlags::SYN | TcpFlags::ECE, 0).ok);
        // A DCTCP listener takes ECN with any tcp_ecn, from an ECT SYN too.
        assert!(Ecn::create_request(0, true, asks, INET_ECN_ECT_0).ok);
        assert!(!Ecn::create_request(0, true, TcpFlags::SYN, INET_ECN_ECT_0).ok);
        assert_eq!(
            Ecn::create_request(2, false, asks, 0).synack_flags(),
            TcpFlags::ECE
        );
    }

    #[test]
    fn new_data_is_ect0_with_one_cwr_and_acks_are_not_ect() {
        let mut e = Ecn {
            ok: true,
            ..Ecn::default()
        };
        let mut tos = 0x10;
        assert!(e.send(true, false, &mut tos).is_empty());
        assert_eq!(tos, 0x12, "ECT(0), the TOS kept");
        e.queue_cwr();
        assert_eq!(e.send(true, false, &mut tos), TcpFlags::CWR);
        assert!(e.send(true, false, &mut tos).is_empty(), "CWR once");
        assert!(e.send(false, false, &mut tos).is_empty());
        assert_eq!(tos, 0x10, "a pure ACK or a retransmission: Not-ECT");
        let mut dctcp_tos = 0x12;
        assert!(e.send(false, true, &mut dctcp_tos).is_empty());
        assert_eq!(dctcp_tos, 0x12, "DCTCP: ACKs stay ECT(0)");
        // Not negotiated: nothing changes.
        let mut off = Ecn::default();
        off.queue_cwr();
        let mut tos = 0;
        assert!(off.send(true, false, &mut tos).is_empty());
        assert_eq!(tos, 0);
    }

    #[test]
    fn ce_is_echoed_until_cwr_with_quick_acks_once() {
        let mut e = Ecn {
            ok: true,
            ..Ecn::default()
        };
        assert!(!e.check_ce(INET_ECN_NOT_ECT), "nothing seen yet");
        assert!(!e.check_ce(INET_ECN_ECT_0));
        assert!(e.seen);
        assert!(
            e.check_ce(INET_ECN_NOT_ECT),
            "Not-ECT after ECT: a retransmission"
        );
        assert!(e.check_ce(INET_ECN_CE), "first CE: quick ACKs");
        assert!(!e.check_ce(INET_ECN_CE), "already echoing");
        let mut tos = 0;
        assert_eq!(e.send(false, false, &mut tos), TcpFlags::ECE);
        assert!(!e.accept_cwr(TcpFlags::ACK, true));
        assert!(e.demand_cwr);
        assert!(e.accept_cwr(TcpFlags::ACK | TcpFlags::CWR, true));
        assert!(!e.demand_cwr);
        assert!(e.send(false, false, &mut tos).is_empty());
        assert!(e.rcv_ecn_echo(TcpFlags::ACK | TcpFlags::ECE));
        assert!(!e.rcv_ecn_echo(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE));
    }
}
