//! DCTCP (`net/ipv4/tcp_dctcp.c`, RFC 8257): Reno's window growth with a congestion
//! response proportional to the *fraction* of CE-marked data instead of a halving.
//!
//! * The sender keeps `alpha`, an EWMA of the fraction of delivered packets whose ACK
//!   carried ECE, updated once per window of data (`dctcp_update_alpha`, from
//!   `tcp_in_ack_event`): `alpha = (1 - g) * alpha + g * F`, g = 1/2^`dctcp_shift_g` = 1/16,
//!   on Linux's 10-bit fixed point (`DCTCP_MAX_ALPHA` = 1024 is 1.0), starting at
//!   `dctcp_alpha_on_init` = 1024.
//! * On ECE the sender enters CWR as for classic ECN (`tcp_enter_cwr`, once per window), but
//!   the new `ssthresh` is `cwnd - cwnd * alpha / 2048` (`dctcp_ssthresh`): a window fully
//!   marked halves, a window marked lightly barely shrinks. A loss still halves
//!   (`dctcp_react_to_loss`, on entering Recovery or on an RTO's `CA_EVENT_LOSS`).
//! * The receiver echoes ECE on exactly the ACKs that cover CE-marked data: it keeps the CE
//!   state of the last segment (`ce_state`), sets or clears `TCP_ECN_DEMAND_CWR` to it, and
//!   on a change ACKs at once — first sending the delayed ACK it owed with the *old* state
//!   for the old `rcv_nxt` (`dctcp_ece_ack_update`).
//! * DCTCP needs ECN (`TCP_CONG_NEEDS_ECN`): its SYN asks for ECN whatever
//!   `net.ipv4.tcp_ecn` says, its segments (SYN, SYN-ACK and pure ACKs too) carry ECT(0), a
//!   listener accepts ECN even from an ECT SYN. Without ECN the connection falls back to
//!   Reno (`dctcp-reno`) and stops sending ECT.
//!
//! Not modeled: PLB (`tcp_plb_*`, off by default: `net.ipv4.tcp_plb_enabled` = 0) and the
//! `INET_DIAG_DCTCPINFO` dump.

/// `struct tcp_dctcp_info` (`dctcp_get_info`), as `ss -ti` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DctcpReport {
    /// `dctcp_ce_state`: the last segment received was CE.
    pub ce_state: u8,
    /// `dctcp_alpha` (1024 = 1.0).
    pub alpha: u32,
    /// `dctcp_ab_ecn`: bytes delivered with ECE in the current window.
    pub ab_ecn: u64,
    /// `dctcp_ab_tot`: bytes delivered in the current window.
    pub ab_tot: u64,
}

/// `DCTCP_MAX_ALPHA`: alpha's 1.0.
pub const DCTCP_MAX_ALPHA: u32 = 1024;
/// `dctcp_shift_g` (module parameter, default 4: g = 1/16).
pub const DCTCP_SHIFT_G: u32 = 4;
/// `dctcp_alpha_on_init` (module parameter, default `DCTCP_MAX_ALPHA`).
pub const DCTCP_ALPHA_ON_INIT: u32 = DCTCP_MAX_ALPHA;

/// A DCTCP connection's state (`struct dctcp`).
#[derive(Debug, Clone, Default)]
pub struct Dctcp {
    /// `tp->delivered` at the start of the observation window.
    pub old_delivered: u64,
    /// `tp->delivered_ce` at the start of the observation window.
    pub old_delivered_ce: u64,
    /// `rcv_nxt` when the CE state was last updated (the delayed ACK's ack number).
    pub prior_rcv_nxt: u32,
    /// The EWMA of the marked fraction, 0..=1024.
    pub alpha: u32,
    /// The window ends when `snd_una` reaches this.
    pub next_seq: u32,
    /// Whether the last data segment received was CE-marked.
    pub ce_state: bool,
    /// cwnd at the last reduction (`loss_cwnd`), for undo.
    pub loss_cwnd: u32,
    /// ECN was not negotiated: the connection runs `dctcp-reno` (Reno, no ECT).
    pub fallback: bool,
    /// The delayed ACK [`Dctcp::ece_ack_update`] asked to send first (ack number, ECE),
    /// until the receive path sends it.
    pub prior_ack: Option<(u32, bool)>,
}

/// What the receiver's CE state machine asks of the ACK path (`dctcp_ece_ack_update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CeAck {
    /// Send now, before anything else, the delayed ACK that was owed: this ack number
    /// with this ECE (`__tcp_send_ack(sk, prior_rcv_nxt)`).
    pub prior: Option<(u32, bool)>,
    /// ACK at once (`ICSK_ACK_NOW`): the CE state changed.
    pub now: bool,
    /// `TCP_ECN_DEMAND_CWR` from now on (echo ECE).
    pub demand_cwr: bool,
}

impl Dctcp {
    /// `dctcp_init` (from `tcp_init_transfer`), with what the socket knows: whether ECN was
    /// negotiated, `snd_nxt`, `rcv_nxt` and the delivery counters.
    pub fn init(&mut self, ecn_ok: bool, snd_nxt: u32, rcv_nxt: u32, delivered: (u64, u64)) {
        if !ecn_ok {
            self.fallback = true;
            return;
        }
        self.prior_rcv_nxt = rcv_nxt;
        self.alpha = DCTCP_ALPHA_ON_INIT.min(DCTCP_MAX_ALPHA);
        self.loss_cwnd = 0;
        self.ce_state = false;
        self.reset(snd_nxt, delivered);
    }

    /// `dctcp_reset`: a new observation window from `snd_nxt`.
    fn reset(&mut self, snd_nxt: u32, (delivered, delivered_ce): (u64, u64)) {
        self.next_seq = snd_nxt;
        self.old_delivered = delivered;
        self.old_delivered_ce = delivered_ce;
    }

    /// `dctcp_ssthresh`: `max(cwnd - cwnd * alpha / 2048, 2)`, remembering cwnd for undo.
    pub fn ssthresh(&mut self, cwnd: u32) -> u32 {
        self.loss_cwnd = cwnd;
        cwnd.saturating_sub(((u64::from(cwnd) * u64::from(self.alpha)) >> 11) as u32)
            .max(2)
    }

    /// `dctcp_update_alpha` (`in_ack_event`): once `snd_una` has passed the window's end,
    /// fold the window's marked fraction into alpha and start the next window.
    pub fn update_alpha(&mut self, snd_una: u32, snd_nxt: u32, delivered: (u64, u64)) {
        if super::before(snd_una, self.next_seq) {
            return;
        }
        let d = delivered.0.wrapping_sub(self.old_delivered) as u32;
        let mut d_ce = delivered.1.wrapping_sub(self.old_delivered_ce) as u32;
        let mut alpha = self.alpha;
        // alpha -= min_not_zero(alpha, alpha >> g)
        let dec = alpha >> DCTCP_SHIFT_G;
        alpha -= if dec == 0 { alpha } else { dec.min(alpha) };
        if d_ce > 0 {
            d_ce <<= 10 - DCTCP_SHIFT_G;
            d_ce /= d.max(1);
            alpha = (alpha + d_ce).min(DCTCP_MAX_ALPHA);
        }
        self.alpha = alpha;
        self.reset(snd_nxt, delivered);
    }

    /// `dctcp_react_to_loss` (Recovery entered, or `CA_EVENT_LOSS`): the ssthresh a loss
    /// sets, `max(cwnd / 2, 2)`.
    pub fn react_to_loss(&mut self, cwnd: u32) -> u32 {
        self.loss_cwnd = cwnd;
        (cwnd >> 1).max(2)
    }

    /// `dctcp_cwnd_undo`: `max(cwnd, loss_cwnd)`.
    pub fn undo_cwnd(&self, cwnd: u32) -> u32 {
        cwnd.max(self.loss_cwnd)
    }

    /// `dctcp_ece_ack_update` for a data segment that was (`ce`) or was not CE-marked,
    /// arriving with the delayed-ACK timer armed or not, `rcv_nxt` now past it.
    pub fn ece_ack_update(&mut self, ce: bool, delack_armed: bool, rcv_nxt: u32) -> CeAck {
        let mut out = CeAck {
            prior: None,
            now: false,
            demand_cwr: ce,
        };
        if self.ce_state != ce {
            // The CE state changed: ACK now; a delayed ACK goes first, with the old state.
            if delack_armed {
                out.prior = Some((self.prior_rcv_nxt, self.ce_state));
            }
            out.now = true;
        }
        self.prior_rcv_nxt = rcv_nxt;
        self.ce_state = ce;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started() -> Dctcp {
        let mut d = Dctcp::default();
        d.init(true, 1000, 0, (0, 0));
        d
    }

    #[test]
    fn alpha_starts_at_one_and_decays_by_one_sixteenth_per_unmarked_window() {
        let mut d = started();
        assert_eq!(d.alpha, 1024);
        // A window of 10 unmarked packets: alpha *= 15/16 (integer, as the kernel's
        // alpha - (alpha >> 4)).
        let mut expected = 1024u32;
        let mut delivered = 0;
        for w in 1..=20u32 {
            delivered += 10;
            d.update_alpha(1000 + w * 100, 1000 + (w + 1) * 100, (delivered, 0));
            expected -= expected >> 4;
            assert_eq!(d.alpha, expected, "window {w}");
        }
        // (15/16)^20 of 1.0, within the truncations.
        let exact = 1024.0 * (15.0f64 / 16.0).powi(20);
        assert!(
            (f64::from(d.alpha) - exact).abs() < 20.0,
            "{} vs {exact}",
            d.alpha
        );
    }

    #[test]
    fn alpha_moves_toward_the_marked_fraction() {
        let mut d = started();
        // Steady 25% marking: the EWMA's fixed point is F = 256 (of 1024); the kernel's
        // truncations put it where alpha >> 4 equals the added (10 << 6) / 40 = 16: alpha in
        // 256..272.
        let (mut del, mut ce) = (0u64, 0u64);
        for w in 1..=200u32 {
            del += 40;
            ce += 10;
            let before = d.alpha;
            d.update_alpha(1000 + w * 100, 1000 + (w + 1) * 100, (del, ce));
            // One step of the formula: alpha - alpha/16 + (10 << 6) / 40.
            assert_eq!(d.alpha, (before - (before >> 4) + (10 << 6) / 40).min(1024));
        }
        assert!((256..272).contains(&d.alpha), "{}", d.alpha);
        // Full marking converges to 1.0.
        for w in 201..=400u32 {
            del += 40;
            ce += 40;
            d.update_alpha(1000 + w * 100, 1000 + (w + 1) * 100, (del, ce));
        }
        assert!(d.alpha >= 1024 - 16, "{}", d.alpha);
    }

    #[test]
    fn alpha_waits_for_the_window_to_end() {
        let mut d = started();
        d.update_alpha(999, 2000, (5, 5));
        assert_eq!((d.alpha, d.next_seq, d.old_delivered), (1024, 1000, 0));
        d.update_alpha(1000, 2000, (10, 0));
        assert_eq!((d.alpha, d.next_seq, d.old_delivered), (960, 2000, 10));
    }

    #[test]
    fn small_alpha_decays_to_zero() {
        let mut d = started();
        d.alpha = 15; // 15 >> 4 == 0: min_not_zero takes alpha itself
        d.update_alpha(1000, 1100, (10, 0));
        assert_eq!(d.alpha, 0);
    }

    #[test]
    fn ssthresh_cuts_by_half_alpha() {
        let mut d = started();
        assert_eq!(d.ssthresh(100), 50, "alpha 1: halve");
        d.alpha = 256; // a quarter of the packets marked
        assert_eq!(d.ssthresh(100), 100 - 100 * 256 / 2048);
        d.alpha = 0;
        assert_eq!(d.ssthresh(100), 100);
        d.alpha = 1024;
        assert_eq!(d.ssthresh(3), 2, "never below 2");
        assert_eq!(d.loss_cwnd, 3);
        assert_eq!(d.undo_cwnd(2), 3);
        assert_eq!(d.react_to_loss(41), 20);
    }

    #[test]
    fn receiver_acks_on_every_ce_change_with_the_delayed_ack_first() {
        let mut d = started();
        // Unmarked, no change: nothing special.
        let a = d.ece_ack_update(false, true, 100);
        assert_eq!((a.prior, a.now, a.demand_cwr), (None, false, false));
        // CE with an ACK delayed: that ACK (for 100, no ECE) first, then one now with ECE.
        let a = d.ece_ack_update(true, true, 200);
        assert_eq!(
            (a.prior, a.now, a.demand_cwr),
            (Some((100, false)), true, true)
        );
        // CE again: state kept, ECE stays on.
        let a = d.ece_ack_update(true, false, 300);
        assert_eq!((a.prior, a.now, a.demand_cwr), (None, false, true));
        // Back to unmarked without a delayed ACK: ACK now, ECE off.
        let a = d.ece_ack_update(false, false, 400);
        assert_eq!((a.prior, a.now, a.demand_cwr), (None, true, false));
    }

    #[test]
    fn without_ecn_it_falls_back_to_reno() {
        let mut d = Dctcp::default();
        d.init(false, 1, 1, (0, 0));
        assert!(d.fallback);
    }
}
