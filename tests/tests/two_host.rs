//! TCP and UDP between two hosts on one link, checked against what Linux does: the wire as
//! both hosts' pcaps show it (decoded with etherparse, not with the stack's parsers) and the
//! `/proc/net/snmp` counters. Loss is made deterministic with netfilter's nth-packet match
//! (`every N packet P`, iptables' `-m statistic --mode nth`), placed on the receiver's
//! INPUT hook so that the sender sees a real loss on the path.
//!
//! Every expected value is Linux's, derived in the comments from the kernel's code (6.x, HZ
//! 250 as on the reference machine). The timer wheel makes kernel timers fire late by up to
//! one bucket of the wheel level their timeout falls in (1 jiffy for < 63 jiffies, 8 for
//! < 504, 64 for < 4032, 512 for < 32256) plus the rest of the current jiffy; [`wheel`]
//! computes that bound, and timings are checked within it.

mod common;

use common::two_host::{A, B, JIFFY_NS, Pair, Seg, from, ms, run_pair, run_watching, tcp_from};
use sim_stack::apps::AppReport;
use sim_stack::apps::bulk::{TcpBulkReport, TcpSinkReport};
use sim_stack::apps::udp_cbr::{UdpCbrReport, UdpSinkReport};
use sim_stack::sock::Socket;

/// Payload of a full-sized segment: MSS 1460 less the 12 bytes of the timestamp option.
const SMSS: u32 = 1448;

/// How late the kernel's timer wheel (HZ = 250) may fire a timer armed `delay_ns` ahead:
/// the bucket width of the level the timeout lands in, plus the rest of the current jiffy.
fn wheel(delay_ns: u64) -> u64 {
    let jiffies = delay_ns.div_ceil(JIFFY_NS);
    let mut level = 0;
    while level < 8 && jiffies >= 63 << (3 * level) {
        level += 1;
    }
    ((1u64 << (3 * level)) + 1) * JIFFY_NS
}

/// `delay` rounded up to whole jiffies (what `usecs_to_jiffies` does to an RTO).
fn ceil_jiffy(delay_ns: u64) -> u64 {
    delay_ns.div_ceil(JIFFY_NS) * JIFFY_NS
}

fn app(p: &Pair, i: usize) -> AppReport {
    p.ran.world.app_reports()[i].1.clone()
}

fn bulk(p: &Pair, i: usize) -> TcpBulkReport {
    match app(p, i) {
        AppReport::TcpBulk(r) => *r,
        other => panic!("app {i} is not tcp_bulk: {other:?}"),
    }
}

fn sink(p: &Pair, i: usize) -> TcpSinkReport {
    match app(p, i) {
        AppReport::TcpSink(r) => r,
        other => panic!("app {i} is not tcp_sink: {other:?}"),
    }
}

fn cbr(p: &Pair, i: usize) -> UdpCbrReport {
    match app(p, i) {
        AppReport::UdpCbr(r) => r,
        other => panic!("app {i} is not udp_cbr: {other:?}"),
    }
}

fn udp_sink(p: &Pair, i: usize) -> UdpSinkReport {
    match app(p, i) {
        AppReport::UdpSink(r) => r,
        other => panic!("app {i} is not udp_sink: {other:?}"),
    }
}

/// The TCP counters of a node.
fn tcp_mib(p: &Pair, node: &str) -> sim_stack::stats::TcpStats {
    p.ran.stats.nodes[node].tcp.clone()
}

/// Packets matched by rule `rule` of `node`'s filter INPUT chain (`iptables -v`), where
/// `netfilter input …` appends.
fn nf_hits(p: &Pair, node: &str, rule: usize) -> u64 {
    let n = p.ran.world.node_index(node).expect("node");
    let filter = p.ran.world.nodes[n]
        .netfilter
        .ruleset
        .table(sim_stack::netfilter::TableId::Filter);
    filter.chains[0].rules[rule].packets
}

/// One line per segment, for failure messages.
fn show(segs: &[(u64, Seg)]) -> String {
    segs.iter()
        .map(|(t, s)| {
            format!(
                "{:.9} [{}] seq {} ack {} len {} win {} sack {:?}",
                *t as f64 / 1e9,
                s.flags(),
                s.seq,
                s.ack,
                s.len,
                s.win,
                s.sacks()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// 1. A lost SYN is retransmitted after the initial RTO of 1 s

const SYN_LOSS: &str = r"
end 3s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b {
    iface eth0 { ip 10.0.0.2/24 }
    # the first SYN to reach b is lost
    netfilter input drop flags syn every 1000000 packet 0
}
link a.eth0 -- b.eth0 { rate 100Mbit  delay 5ms }
# resolves ARP first, so that the SYN leaves when tcp_connect sends it (a packet waiting
# for ARP carries the TSval of when TCP built it and leaves later)
app a: ping 10.0.0.2 { count 1 }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes 10KB } at 100ms
";

#[test]
fn lost_syn_is_retransmitted_after_one_second_with_the_same_isn() {
    let p = run_pair(SYN_LOSS, &[]);
    let sent = tcp_from(&p.a, A);
    let syns: Vec<&(u64, Seg)> = sent.iter().filter(|(_, s)| s.syn).collect();
    assert_eq!(
        syns.len(),
        2,
        "one SYN lost, one retransmission:\n{}",
        show(&sent)
    );
    let ((t1, s1), (t2, s2)) = (syns[0], syns[1]);
    // tcp_connect arms the retransmit timer for TCP_TIMEOUT_INIT = 1 s = 250 jiffies; a
    // 250-jiffy timer sits on level 1 of the wheel (8-jiffy buckets), so it fires 1 s to
    // 1 s + 36 ms after the SYN left. (The first retries of a SYN are not backed off:
    // tcp_syn_linear_timeouts, but the first one would be 1 s either way.)
    let gap = t2 - t1;
    let rto = ms(1000);
    assert!(
        (rto..=rto + wheel(rto)).contains(&gap),
        "SYN retransmitted {gap} ns after the first, expected 1 s + at most {} ns",
        wheel(rto)
    );
    // tcp_retransmit_skb resends the same skb: same ISN, same options and window; only the
    // timestamp moves on (TSval is a millisecond clock: it advanced by the gap).
    assert_eq!(s2.seq, s1.seq, "same ISN");
    assert_eq!(
        (s2.win, s2.mss(), s2.sack_perm(), s2.wscale()),
        (s1.win, s1.mss(), s1.sack_perm(), s1.wscale())
    );
    assert_eq!((s1.win, s1.mss()), (64240, Some(1460)));
    let (tsv1, _) = s1.ts().expect("TS option");
    let (tsv2, _) = s2.ts().expect("TS option");
    let dts = u64::from(tsv2.wrapping_sub(tsv1));
    assert!(
        (gap / 1_000_000..=gap / 1_000_000 + 1).contains(&dts),
        "TSval advanced {dts} ms over {gap} ns"
    );
    // Both reached b; netfilter dropped the first.
    let b_syns: Vec<(u64, Seg)> = tcp_from(&p.b, A)
        .into_iter()
        .filter(|(_, s)| s.syn)
        .collect();
    assert_eq!(b_syns.len(), 2);
    assert_eq!(nf_hits(&p, "b", 0), 1);
    assert_eq!(p.ran.stats.drops.netfilter, 1, "{:?}", p.ran.stats.drops);
    // The retransmitted SYN is answered and the handshake completes.
    let b_sent = tcp_from(&p.b, B);
    let synack = &b_sent[0];
    assert!(synack.1.syn && synack.1.ack_flag, "{}", show(&b_sent));
    assert_eq!(synack.1.ack, s1.seq.wrapping_add(1));
    assert_eq!(synack.0, b_syns[1].0, "SYN-ACK at once");
    let third = sent
        .iter()
        .find(|(_, s)| !s.syn)
        .expect("the handshake's ACK");
    assert!(third.1.ack_flag && third.1.ack == synack.1.seq.wrapping_add(1));
    // Counters: one active open on a and one passive open on b; the SYN retransmission is
    // a retransmitted segment (__tcp_retransmit_skb counts TCP_MIB_RETRANSSEGS for it);
    // nothing else was retransmitted and the attempt did not fail.
    let (ta, tb) = (tcp_mib(&p, "a"), tcp_mib(&p, "b"));
    assert_eq!((ta.ActiveOpens, ta.AttemptFails, ta.RetransSegs), (1, 0, 1));
    assert_eq!(tb.PassiveOpens, 1);
    assert_eq!(sink(&p, 1).bytes, 10_000);
    assert_eq!(bulk(&p, 2).bytes_acked, 10_000);
}

// ---------------------------------------------------------------------------------------------
// 2. A data segment lost mid-transfer: SACKed duplicate ACKs, fast retransmit on the third

/// The data segment lost (0-based): one in the middle of the second round trip's flight, so
/// that the segments SACKed after it left within a serialization time or two of it. (Linux's
/// loss detection is RACK: a segment is lost once one sent after it is delivered and
/// `rack.rtt + reo_wnd` has passed since it left, `reo_wnd` being min_rtt/4 until three
/// segments are SACKed and 0 from then on. For the last segment of a flight, the next
/// flight's segments leave an RTT later, so the first SACK already proves it lost.)
const LOST: u32 = 20;

const DATA_LOSS: &str = r"
end 3s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b {
    iface eth0 { ip 10.0.0.2/24 }
    # a's packets in order: 0 the SYN, 1 the handshake's ACK, then data segments 0, 1, …:
    # packet 22 is data segment 20
    netfilter input drop proto tcp src 10.0.0.1 every 1000000 packet 22
}
link a.eth0 -- b.eth0 { rate 100Mbit  delay 10ms }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes 1MB } at 100ms
";

#[test]
fn lost_segment_is_fast_retransmitted_on_the_third_sacked_duplicate_ack() {
    let p = run_pair(DATA_LOSS, &[]);
    let sent = tcp_from(&p.a, A);
    let isn = sent[0].1.seq;
    let lost_seq = isn.wrapping_add(1 + LOST * SMSS);
    let copies: Vec<&(u64, Seg)> = sent
        .iter()
        .filter(|(_, s)| s.seq == lost_seq && s.len > 0)
        .collect();
    assert_eq!(
        copies.len(),
        2,
        "sent, then retransmitted once:\n{}",
        show(&sent)
    );
    let (t_orig, lost) = (copies[0].0, &copies[0].1);
    let t_rtx = copies[1].0;
    assert_eq!(lost.len, SMSS);
    let hole_end = lost.end_seq();
    assert_eq!(nf_hits(&p, "b", 0), 1, "netfilter dropped it at b");

    // b's ACKs after the loss: every out-of-order segment makes b ACK the hole's start with a
    // SACK block over the data above it (tcp_data_queue_ofo → tcp_sack_new_ofo_skb), the
    // block's left edge at the end of the lost segment and its right edge growing. The first
    // TCP_FASTRETRANS_THRESH (3) leave at once, one per segment (__tcp_ack_snd_check:
    // dup_ack_counter); later ones are compressed (tcp_comp_sack_delay_ns, 1 ms at most).
    let acks = tcp_from(&p.b, B);
    let at_hole: Vec<&(u64, Seg)> = acks
        .iter()
        .filter(|(_, s)| s.is_pure_ack() && s.ack == lost_seq)
        .collect();
    // The first ACK up to the hole is the ordinary ACK of the segment before it.
    assert!(at_hole[0].1.sacks().is_empty(), "{}", show(&acks));
    let dups = &at_hole[1..];
    assert!(dups.len() >= 3, "duplicate ACKs:\n{}", show(&acks));
    let b_rx = tcp_from(&p.b, A);
    let mut right = hole_end;
    for (i, (t, d)) in dups.iter().enumerate() {
        let sacks = d.sacks();
        assert_eq!(sacks.len(), 1, "dup ACK {i}: one hole, one block");
        let (l, r) = sacks[0];
        assert_eq!(l, hole_end, "dup ACK {i}: the block starts above the hole");
        assert!(
            r.wrapping_sub(right) as i32 > 0,
            "dup ACK {i}: the block grows"
        );
        right = r;
        if i < 3 {
            // Sent the instant the out-of-order segment ending at `r` arrived.
            let arrived = b_rx
                .iter()
                .find(|(_, s)| s.end_seq() == r)
                .expect("the segment the block ends with");
            assert_eq!(*t, arrived.0, "dup ACK {i} is immediate");
            assert_eq!(r.wrapping_sub(hole_end), (i as u32 + 1) * SMSS);
        }
    }

    // a retransmits the lost segment when the third duplicate ACK arrives. The first two
    // SACK segments that left right after it (within reo_wnd = min_rtt/4 = 5 ms of it), so
    // RACK does not yet call it lost; with three SACKed (sacked_out >= tp->reordering = 3 and
    // no reordering seen) the reordering window drops to 0 and it is lost at once
    // (tcp_rack_mark_lost → tcp_fastretrans_alert → tcp_enter_recovery → retransmit).
    let a_rx = tcp_from(&p.a, B);
    let third = a_rx
        .iter()
        .filter(|(_, s)| s.is_pure_ack() && s.ack == lost_seq && !s.sacks().is_empty())
        .nth(2)
        .expect("a third duplicate ACK reaches a");
    assert_eq!(t_rtx, third.0, "fast retransmit on the third dup ACK");
    // Well before any RTO could fire: the RTO is at least TCP_RTO_MIN = 200 ms after the
    // segment was sent.
    assert!(t_rtx - t_orig < ms(200), "{} ns", t_rtx - t_orig);
    // The retransmission fills the hole: b's cumulative ACK jumps past everything SACKed.
    let after: Vec<&(u64, Seg)> = acks.iter().filter(|(t, _)| *t > t_rtx).collect();
    assert!(
        after
            .iter()
            .any(|(_, s)| s.ack.wrapping_sub(right) as i32 >= 0),
        "{}",
        show(&acks)
    );

    // One retransmitted segment, one fast recovery, no timeout; everything delivered.
    assert_eq!(tcp_mib(&p, "a").RetransSegs, 1);
    let conn = &p.ran.stats.nodes["a"].tcp_connections[0];
    assert_eq!((conn.stats.fast_recoveries, conn.stats.rto_events), (1, 0));
    assert_eq!(sink(&p, 0).bytes, 1_000_000);
    assert_eq!(bulk(&p, 1).bytes_acked, 1_000_000);
}

// ---------------------------------------------------------------------------------------------
// 3. RTO backoff on a path that goes black after the handshake, and tcp_retries2

/// b lets a's SYN and handshake ACK in (each `accept … every 1000000 packet 0` takes the
/// first packet that reaches it), then drops everything from a; no ACK ever comes back.
fn blackhole(retries2: u32, end: &str) -> String {
    format!(
        r"
end {end}
host a {{
    iface eth0 {{ ip 10.0.0.1/24 }}
    sysctl net.ipv4.tcp_retries2 = {retries2}
}}
host b {{
    iface eth0 {{ ip 10.0.0.2/24 }}
    netfilter input accept proto tcp src 10.0.0.1 every 1000000 packet 0
    netfilter input accept proto tcp src 10.0.0.1 every 1000000 packet 0
    netfilter input drop proto tcp src 10.0.0.1
}}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 10ms }}
app a: ping 10.0.0.2 {{ count 1 }}
app b: tcp_sink {{ port 9 }}
app a: tcp_bulk {{ to 10.0.0.2:9 }} at 100ms
"
    )
}

/// `tcp_model_timeout(sk, boundary, TCP_RTO_MIN)` in ns: how long after the first
/// retransmission `retransmits_timed_out` declares an established connection dead —
/// `((2 << boundary) - 1) * 200 ms` while that stays under the linear part of the backoff
/// (boundary <= ilog2(TCP_RTO_MAX / TCP_RTO_MIN) = 9), then 120 s per further retry.
fn linux_write_timeout(boundary: u64) -> u64 {
    let rto_min = ms(200);
    let thresh = 9;
    if boundary <= thresh {
        ((2 << boundary) - 1) * rto_min
    } else {
        ((2 << thresh) - 1) * rto_min + (boundary - thresh) * ms(120_000)
    }
}

/// The blackhole run's facts: the handshake RTT and the RTO it gives, the initial flight,
/// the tail loss probe, and the retransmissions of the head segment.
struct Backoff {
    /// The handshake's RTT sample.
    m: u64,
    rto_lo: u64,
    rto_hi: u64,
    /// When the initial flight left, and the sequence number after it.
    flight: (u64, u32),
    /// When the tail loss probe left, and its sequence number.
    probe: (u64, u32),
    rtx: Vec<u64>,
}

fn backoff(p: &Pair) -> Backoff {
    let sent = tcp_from(&p.a, A);
    let got = tcp_from(&p.a, B);
    let syn = sent.iter().find(|(_, s)| s.syn).expect("SYN").0;
    let synack = got.iter().find(|(_, s)| s.syn).expect("SYN-ACK").0;
    // The only RTT sample is the handshake's: srtt = m, rttvar = max(2m, TCP_RTO_MIN), so
    // tcp_set_rto gives RTO = m + 200 ms (for m < 100 ms), which usecs_to_jiffies rounds up
    // to whole jiffies.
    let m = synack - syn;
    assert!(m < ms(100));
    let rto = m + ms(200);
    let data: Vec<&(u64, Seg)> = sent.iter().filter(|(_, s)| s.len > 0).collect();
    let head = data[0].1.seq;
    let t_flight = data[0].0;
    let flight_end = data
        .iter()
        .take_while(|(t, _)| *t == t_flight)
        .map(|(_, s)| s.end_seq())
        .last()
        .expect("a flight");
    let probe = data
        .iter()
        .find(|(t, _)| *t > t_flight)
        .map(|(t, s)| (*t, s.seq))
        .expect("a segment after the flight");
    let rtx = data
        .iter()
        .filter(|(t, s)| s.seq == head && *t > t_flight)
        .map(|(t, _)| *t)
        .collect();
    Backoff {
        m,
        rto_lo: rto,
        rto_hi: ceil_jiffy(rto),
        flight: (t_flight, flight_end),
        probe,
        rtx,
    }
}

impl Backoff {
    /// The timeout after `k` backoffs, as (lowest, highest) Linux could have: icsk_rto
    /// doubles at every expiry (tcp_retransmit_timer) and is clamped at TCP_RTO_MAX.
    fn rto(&self, k: u32) -> (u64, u64) {
        let max = ms(120_000);
        ((self.rto_lo << k).min(max), (self.rto_hi << k).min(max))
    }

    /// Checks the tail loss probe and the first expiry of the retransmission timer. After
    /// sending the flight, tcp_write_xmit arms the loss-probe timer (tcp_schedule_loss_probe,
    /// net.ipv4.tcp_early_retrans = 3) for PTO = 2·srtt (usecs_to_jiffies) + TCP_TIMEOUT_MIN
    /// (2 jiffies), several packets being out. It fires with nothing ACKed, and
    /// tcp_send_loss_probe sends one new segment, the next after the flight, then clears
    /// icsk_pending so that tcp_rearm_rto restarts the retransmission timer from now for a
    /// whole RTO.
    fn check_probe(&self) {
        let (t_flight, flight_end) = self.flight;
        let (t_probe, seq) = self.probe;
        assert_eq!(seq, flight_end, "the probe is new data");
        let pto_lo = 2 * self.m + 2 * JIFFY_NS;
        let pto_hi = ceil_jiffy(2 * self.m) + 2 * JIFFY_NS;
        let gap = t_probe - t_flight;
        assert!(
            (pto_lo..=pto_hi + wheel(pto_hi)).contains(&gap),
            "probe {gap} ns after the flight, expected {pto_lo}..={}",
            pto_hi + wheel(pto_hi)
        );
    }

    /// Checks that retransmission `i` (0-based) left within the wheel's slack of its timeout:
    /// the first an RTO after the probe, each later one a doubled RTO after the previous.
    fn check(&self, i: usize) {
        let prev = if i == 0 {
            self.probe.0
        } else {
            self.rtx[i - 1]
        };
        let (lo, hi) = self.rto(i as u32);
        let gap = self.rtx[i] - prev;
        assert!(
            (lo..=hi + wheel(hi)).contains(&gap),
            "retransmission {}: {gap} ns after the previous transmission, expected {lo}..={} \
             (RTO {}..{} ns, backed off {i} times)",
            i + 1,
            hi + wheel(hi),
            self.rto_lo,
            self.rto_hi
        );
    }
}

#[test]
fn rto_doubles_from_the_measured_rto_clamps_at_120s_and_retries2_ends_the_connection() {
    let p = run_pair(&blackhole(15, "1000s"), &[]);
    let b = backoff(&p);
    // One loss probe ~2·srtt after the flight, then the retransmission timer: every expiry
    // retransmits the head (tcp_enter_loss, cwnd 1) and doubles the RTO: 224 ms, 448, 896 …
    // 114.7 s, then 120 s (TCP_RTO_MAX) thereafter.
    b.check_probe();
    assert_eq!(b.rtx.len(), 15, "tcp_retries2 = 15 retransmissions");
    for i in 0..b.rtx.len() {
        b.check(i);
    }
    let clamped = (0..15).filter(|&k| b.rto(k).0 == ms(120_000)).count();
    assert!(clamped >= 5, "the last intervals are TCP_RTO_MAX");
    // tcp_write_timeout → retransmits_timed_out: dead at the first expiry at least
    // tcp_model_timeout(15, 200 ms) = 924.6 s after the first retransmission (retrans_stamp),
    // checked before retransmitting. The 15th retransmission was 828.9 s after the first;
    // the next expiry, 120 s later, is past 924.6 s.
    let limit = linux_write_timeout(15);
    assert_eq!(limit, ms(924_600));
    let last = *b.rtx.last().expect("retransmissions");
    assert!(last - b.rtx[0] < limit && last + ms(120_000) - b.rtx[0] >= limit);
    let bulk_a = bulk(&p, 2);
    assert_eq!(bulk_a.error.as_deref(), Some("ETIMEDOUT"), "{bulk_a:?}");
    assert_eq!(bulk_a.state, "CLOSE");
    // tcp_done from ESTABLISHED counts EstabResets; tcp_write_err sends no RST.
    let ta = tcp_mib(&p, "a");
    assert_eq!(
        (ta.RetransSegs, ta.EstabResets, ta.OutRsts, ta.CurrEstab),
        (15, 1, 0, 0)
    );
    assert!(tcp_from(&p.a, A).iter().all(|(_, s)| !s.rst));
    // When: alive just before the expiry after the 15th retransmission, dead after it.
    let die_lo = last + ms(120_000);
    let die_hi = die_lo + wheel(ms(120_000));
    let at = |t: u64| format!("{}ns", t);
    let before = run_pair(&blackhole(15, &at(die_lo - 1)), &[]);
    assert_eq!(bulk(&before, 2).state, "ESTAB");
    assert_eq!(bulk(&before, 2).error, None);
    let after = run_pair(&blackhole(15, &at(die_hi)), &[]);
    assert_eq!(bulk(&after, 2).error.as_deref(), Some("ETIMEDOUT"));
}

#[test]
fn retries2_is_a_time_limit_not_a_count() {
    // With tcp_retries2 = 1 Linux allows ((2 << 1) - 1) * 200 ms = 600 ms from the first
    // retransmission. With an RTO of ~220 ms the expiries after it come 2·RTO (440 ms: still
    // under 600 ms, so the head is retransmitted again) and 6·RTO (1.32 s: dead) after it.
    // Two retransmissions, not one.
    let p = run_pair(&blackhole(1, "10s"), &[]);
    let b = backoff(&p);
    b.check_probe();
    assert_eq!(linux_write_timeout(1), ms(600));
    assert_eq!(b.rtx.len(), 2, "retransmissions at {:?}", b.rtx);
    for i in 0..2 {
        b.check(i);
    }
    let (_, hi) = b.rto(2);
    assert!(b.rtx[1] - b.rtx[0] < ms(600));
    let die_lo = b.rtx[1] + b.rto(2).0;
    let die_hi = b.rtx[1] + hi + wheel(hi);
    assert!(die_lo - b.rtx[0] >= ms(600));
    let before = run_pair(&blackhole(1, &format!("{}ns", die_lo - 1)), &[]);
    assert_eq!(bulk(&before, 2).state, "ESTAB");
    let after = run_pair(&blackhole(1, &format!("{die_hi}ns")), &[]);
    assert_eq!(bulk(&after, 2).error.as_deref(), Some("ETIMEDOUT"));
    assert_eq!(tcp_mib(&after, "a").RetransSegs, 2);
}

// ---------------------------------------------------------------------------------------------
// 4. Delayed ACKs

/// b's receive buffer is small (`tcp_rmem[1]` 18 KiB): its SYN-ACK offers six full segments,
/// so a's first flight is six segments, and then a waits a round trip for b's ACKs.
fn delack(rcvbuf: u32) -> String {
    format!(
        r"
end 4s
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{
    iface eth0 {{ ip 10.0.0.2/24 }}
    sysctl net.ipv4.tcp_rmem = 4096 {rcvbuf} {rcvbuf}
}}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 50ms }}
app b: tcp_sink {{ port 9 }}
app a: tcp_bulk {{ to 10.0.0.2:9  bytes 100KB }} at 100ms
"
    )
}

/// Segments with their capture times.
type Segs = Vec<(u64, Seg)>;

/// The first flight of data as b received it, and b's ACKs from then on.
fn first_flight(p: &Pair, segs: usize) -> (Segs, Segs) {
    let got = tcp_from(&p.b, A);
    let data: Vec<(u64, Seg)> = got.into_iter().filter(|(_, s)| s.len > 0).collect();
    let flight = data[..segs].to_vec();
    // The flight arrives back to back (123 µs apart at 100 Mbit/s), full-sized.
    for (_, s) in &flight {
        assert_eq!(s.len, SMSS);
    }
    assert!(flight[segs - 1].0 - flight[0].0 < ms(1));
    assert!(
        data[segs].0 - flight[segs - 1].0 > ms(50),
        "then nothing until an ACK got back to a"
    );
    let acks = tcp_from(&p.b, B)
        .into_iter()
        .filter(|(t, s)| s.is_pure_ack() && *t >= flight[0].0)
        .collect();
    (flight, acks)
}

#[test]
fn quick_acks_then_every_second_segment_then_a_lone_segment_waits_for_the_delack_timer() {
    let p = run_pair(&delack(18_432), &[]);
    // tcp_openreq_init_rwin: tcp_full_space(18432) at the initial 50% scaling ratio is 9216,
    // rounded down to whole segments of MSS 1460 − 12 (timestamps): 6 × 1448.
    let synack = &tcp_from(&p.b, B)[0].1;
    assert!(synack.syn);
    assert_eq!(synack.win, 8688);
    let (flight, acks) = first_flight(&p, 6);
    let ack_of = |i: usize| flight[i].1.end_seq();
    let at = |i: usize| flight[i].0;
    // Quick-ACK mode: the first data segment gives tcp_incr_quickack's credit, rcv_wnd /
    // (2 · rcv_mss) = 8688 / 2896 = 3 (tcp_grow_window's `quick |= 1` leaves an odd credit as
    // it is, and the window cannot grow again within the flight): segments 1, 2 and 3 are
    // each ACKed the instant they arrive.
    for (i, (ack, seg)) in acks.iter().zip(&flight).take(3).enumerate() {
        assert_eq!(
            (ack.0, ack.1.ack),
            (seg.0, seg.1.end_seq()),
            "quick ACK {i}\n{}",
            show(&acks)
        );
    }
    // Then __tcp_ack_snd_check ACKs at once only when more than one full segment is unACKed
    // (rcv_nxt − rcv_wup > rcv_mss): segment 4 waits, segment 5 is ACKed with it.
    assert_eq!((acks[3].0, acks[3].1.ack), (at(4), ack_of(4)));
    // Segment 6 is alone, but it ends the skb that a's tcp_sendmsg pushed with PSH
    // (forced_push: half the peer's window unpushed; the size goal is half that window, 3
    // segments): tcp_measure_rcv_mss sets ICSK_ACK_PUSHED, and once the sink has read
    // everything tcp_cleanup_rbuf ACKs at once.
    assert!(flight[5].1.psh && !flight[3].1.psh, "{flight:?}");
    let lone = &acks[4];
    assert_eq!((lone.0, lone.1.ack), (at(5), ack_of(5)), "{}", show(&acks));
    // A lone segment without PSH waits: tcp_send_delayed_ack arms the delayed-ACK timer for
    // ato = 40 ms (TCP_ATO_MIN = HZ/25; back-to-back arrivals keep ato at its minimum),
    // 10 jiffies, which fires on the jiffy tick after it: 40–44 ms later. The second flight
    // has one.
    let got = tcp_from(&p.b, A);
    let all_acks: Vec<_> = tcp_from(&p.b, B)
        .into_iter()
        .filter(|(_, s)| s.is_pure_ack())
        .collect();
    let delayed: Vec<_> = all_acks
        .iter()
        .filter_map(|(t, a)| {
            let (at, seg) = got
                .iter()
                .find(|(_, s)| s.len > 0 && s.end_seq() == a.ack)?;
            (t - at > ms(1)).then_some((t - at, seg.psh))
        })
        .collect();
    assert!(!delayed.is_empty(), "{}", show(&all_acks));
    for (delay, psh) in &delayed {
        assert!((ms(40)..=ms(44)).contains(delay), "ACKed {delay} ns after");
        assert!(!psh, "a pushed segment is ACKed once read");
    }
    let conn = &p.ran.stats.nodes["b"].tcp_connections[0];
    assert_eq!(conn.stats.delayed_acks, delayed.len() as u64);
    // The next ACK is immediate again, for the next two segments, at the second one's
    // arrival. (The second may be short: a's GSO packet fills the window to its edge,
    // `tcp_mss_split_point` keeping a partial last segment that Nagle does not hold.)
    let got = tcp_from(&p.b, A);
    let next = &acks[5];
    let after_lone: Vec<_> = got
        .iter()
        .filter(|(_, s)| s.len > 0 && s.seq.wrapping_sub(lone.1.ack) < 1 << 31)
        .collect();
    assert_eq!(next.1.ack, after_lone[1].1.end_seq(), "{}", show(&acks));
    let arrived = got
        .iter()
        .find(|(_, s)| s.end_seq() == next.1.ack)
        .expect("the segment it ACKs");
    assert_eq!(next.0, arrived.0, "immediate");
    assert_eq!(sink(&p, 0).bytes, 100_000);
}

#[test]
fn growing_the_window_ors_one_into_the_quick_ack_credit() {
    // With tcp_rmem[1] = 16384 the SYN-ACK offers 7240 bytes (5 segments) and the first data
    // segment gives a credit of 7240 / 2896 = 2 quick ACKs. The same segment lets
    // tcp_grow_window raise rcv_ssthresh (the learned scaling ratio, 62.5%, leaves room above
    // the initial 7240), which does `inet_csk(sk)->icsk_ack.quick |= 1`: 2 | 1 = 3. So
    // segments 1–3 are ACKed one by one; segment 4 ends a 2-segment skb of a's (the size
    // goal is half the window) and carries PSH, so it is ACKed once the sink has read it.
    let p = run_pair(&delack(16_384), &[]);
    assert_eq!(tcp_from(&p.b, B)[0].1.win, 7240);
    let (flight, acks) = first_flight(&p, 5);
    for i in 0..3 {
        assert_eq!(
            (acks[i].0, acks[i].1.ack),
            (flight[i].0, flight[i].1.end_seq()),
            "quick ACK {i}\n{}",
            show(&acks)
        );
    }
    assert!(flight[3].1.psh);
    assert_eq!(
        (acks[3].0, acks[3].1.ack),
        (flight[3].0, flight[3].1.end_seq())
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Nagle

/// `http_server` writes its response header, then 100 µs later (`BODY_GAP`) the body, then
/// closes 50 µs after that (`CLOSE_GAP`): two small writes and a close. (No app makes a
/// stream of small writes; this is the one with a small write while data is unACKed.)
fn nagle(delay: &str) -> String {
    format!(
        r#"
end 2s
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay {delay} }}
app b: http_server {{ port 80  body 1000B  think_time 2ms }}
app a: curl "http://10.0.0.2/" at 100ms
"#
    )
}

/// The data segments b sent.
fn response(p: &Pair) -> Vec<(u64, Seg)> {
    tcp_from(&p.b, B)
        .into_iter()
        .filter(|(_, s)| s.len > 0)
        .collect()
}

#[test]
fn nagle_holds_a_small_write_while_a_small_segment_is_unacked() {
    use sim_stack::apps::http_server::{BODY_GAP, CLOSE_GAP};
    let (body_gap, close_gap) = (BODY_GAP.as_nanos(), CLOSE_GAP.as_nanos());
    // 50 ms each way: the header's ACK cannot be back before the body is written.
    let long = run_pair(&nagle("25ms"), &[]);
    let segs = response(&long);
    assert_eq!(segs.len(), 2, "{}", show(&segs));
    let ((t_head, head), (t_body, body)) = (&segs[0], &segs[1]);
    assert!(head.len < SMSS && head.psh && !head.fin);
    // tcp_write_xmit → tcp_nagle_test: the body (1000 bytes, less than the MSS) is not the
    // only data out — the header is in flight and was itself a small segment (Minshall's
    // check: snd_sml after snd_una) — so it stays queued. close() then attaches the FIN to it
    // (tcp_send_fin) and pushes with TCP_NAGLE_OFF: one segment, body and FIN together, at
    // the close, not at the write.
    assert_eq!((body.len, body.fin, body.psh), (1000, true, true));
    assert_eq!(*t_body - *t_head, body_gap + close_gap);
    // The header's ACK reached b only after that.
    let ack_at_b = tcp_from(&long.b, A)
        .into_iter()
        .find(|(_, s)| s.ack == head.end_seq())
        .expect("the header is ACKed")
        .0;
    assert!(ack_at_b > *t_body);
    let fins: Vec<(u64, Seg)> = tcp_from(&long.b, B)
        .into_iter()
        .filter(|(_, s)| s.fin)
        .collect();
    assert_eq!(fins.len(), 1, "no FIN of its own");

    // 10 µs each way: a (in quick-ACK mode) ACKs the header at once and the ACK is back
    // ~40 µs later, before the body is written. Nothing small is unACKed, so the body leaves
    // at the write and the FIN follows on its own at the close.
    let short = run_pair(&nagle("10us"), &[]);
    let segs = response(&short);
    assert_eq!(segs.len(), 2, "{}", show(&segs));
    let ((t_head, head), (t_body, body)) = (&segs[0], &segs[1]);
    let ack_at_b = tcp_from(&short.b, A)
        .into_iter()
        .find(|(_, s)| s.ack == head.end_seq())
        .expect("the header is ACKed")
        .0;
    assert!(ack_at_b < *t_head + body_gap);
    assert_eq!((body.len, body.fin, body.psh), (1000, false, true));
    assert_eq!(*t_body - *t_head, body_gap);
    let fin = tcp_from(&short.b, B)
        .into_iter()
        .find(|(_, s)| s.fin)
        .expect("FIN");
    assert_eq!((fin.1.len, fin.0 - *t_head), (0, body_gap + close_gap));
    for p in [&long, &short] {
        match app(p, 1) {
            AppReport::Curl(c) => assert_eq!((c.http_code, c.size_download), (Some(200), 1000)),
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Window scaling on a long fat link

/// 10 MB over 100 Mbit/s with 50 ms each way: a bandwidth-delay product of 1.25 MB, twenty
/// times what an unscaled window can offer.
fn long_fat(sysctls: &str) -> String {
    format!(
        r"
end 10s
{sysctls}
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 50ms }}
app b: tcp_sink {{ port 9 }}
app a: tcp_bulk {{ to 10.0.0.2:9  bytes 10MB }} at 100ms
"
    )
}

/// Checks a 10 MB transfer over the long fat link with window scale `wscale` in both SYNs.
fn check_long_fat(p: &Pair, wscale: u8) {
    let rate = 100_000_000u64;
    let bdp = rate / 8 * 2 * ms(50) / 1_000_000_000; // bytes
    let from_a = tcp_from(&p.b, A);
    let from_b = tcp_from(&p.b, B);
    let syn = &from_a[0].1;
    let synack = &from_b[0].1;
    assert!(syn.syn && synack.syn && synack.ack_flag);
    assert_eq!(
        (syn.wscale(), synack.wscale()),
        (Some(wscale), Some(wscale))
    );
    // Windows in SYNs are never scaled (64240 and 65160 with the reference's defaults).
    // After the handshake b's window field is in units of 2^wscale bytes. It must grow far
    // past what 16 bits can say: tcp_rcv_space_adjust (DRS) grows the receive buffer each RTT
    // to twice what the reader took, tcp_grow_window lets rcv_ssthresh follow, and the
    // window ends up covering the path's BDP.
    let max_wnd = from_b
        .iter()
        .filter(|(_, s)| !s.syn)
        .map(|(_, s)| u64::from(s.win) << wscale)
        .max()
        .expect("ACKs");
    assert!(
        max_wnd > 8 * 65_535 && max_wnd >= bdp,
        "largest window offered: {max_wnd} bytes (BDP {bdp})"
    );
    // Everything arrives; goodput from the first data segment to the FIN, at b, is a
    // plausible share of the link: above 40% (slow start costs ~7 round trips of 100 ms to
    // reach the BDP out of a 1.5 s transfer) and below the payload share of a full-sized
    // frame (1448 of 1538 bytes on the wire: 94.1%).
    assert_eq!(sink(p, 0).bytes, 10_000_000);
    assert_eq!(bulk(p, 1).bytes_acked, 10_000_000);
    let first = from_a.iter().find(|(_, s)| s.len > 0).expect("data").0;
    let fin = from_a.iter().find(|(_, s)| s.fin).expect("FIN").0;
    let goodput = 10_000_000f64 * 8.0 / ((fin - first) as f64 / 1e9);
    let share = goodput / rate as f64;
    assert!(
        (0.40..0.941).contains(&share),
        "goodput {goodput:.0} bit/s = {:.1}% of the link",
        share * 100.0
    );
    assert_eq!(tcp_mib(p, "a").RetransSegs, 0, "nothing lost");
    // The apps' goodput figures describe the transfer, not the rest of the run: the
    // sender's runs from connect to the last ACK (one RTT more than first data to FIN, plus
    // the handshake), the sink's from first to last byte.
    let sender = bulk(p, 1).goodput_bps;
    let receiver = sink(p, 0).goodput_bps;
    assert!(
        (0.8 * goodput..1.05 * goodput).contains(&sender),
        "tcp_bulk reports {sender:.0} bit/s for a {goodput:.0} bit/s transfer"
    );
    assert!(
        (0.95 * goodput..1.1 * goodput).contains(&receiver),
        "tcp_sink reports {receiver:.0} bit/s for a {goodput:.0} bit/s transfer"
    );
}

#[test]
fn window_scaling_lets_the_window_grow_past_64k_on_a_long_fat_link() {
    // tcp_select_initial_window: the scale is the smallest that lets a 16-bit window cover
    // max(tcp_rmem[2], rmem_max): 33554432 (the reference kernel's tcp_rmem[2], our default)
    // is 2^25, so 25 − 15 = 10.
    check_long_fat(&run_pair(&long_fat(""), &[]), 10);
    // Upstream's default tcp_rmem[2], 6 MiB (2^22.6): scale 7.
    let upstream = "sysctl net.ipv4.tcp_rmem = 4096 131072 6291456";
    check_long_fat(&run_pair(&long_fat(upstream), &[]), 7);
}

// ---------------------------------------------------------------------------------------------
// 7. RST for segments no socket wants

const CLOSED_PORT: &str = r"
end 3s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms }
# nothing listens on b:9
app a: tcp_bulk { to 10.0.0.2:9  bytes 10KB } at 100ms
";

/// Checks the IP header of a RST from `tcp_v4_send_reset`: it goes out through the per-CPU
/// control socket (`ip_send_unicast_reply`), which is in IP_PMTUDISC_DO mode and has no
/// peer: DF set, IP ID 0, TTL 64; a bare 20-byte TCP header, window 0.
fn check_reset_ip(p: &common::two_host::Pkt) {
    assert!(p.df, "DF");
    assert_eq!((p.ip_id, p.ttl, p.ip_len), (0, 64, 40));
    let s = p.tcp.as_ref().expect("TCP");
    assert_eq!((s.win, s.len), (0, 0));
    assert!(s.options.is_empty(), "no options: {:?}", s.options);
}

#[test]
fn syn_to_a_closed_port_gets_rst_ack_and_connect_fails_with_econnrefused() {
    let p = run_pair(CLOSED_PORT, &[]);
    let sent = tcp_from(&p.a, A);
    assert_eq!(
        sent.len(),
        1,
        "one SYN, never retransmitted:\n{}",
        show(&sent)
    );
    let syn = &sent[0].1;
    assert!(syn.syn);
    // tcp_v4_rcv finds no socket → tcp_v4_send_reset. The SYN had no ACK, so the RST
    // carries ACK with ack = SEG.SEQ + SEG.LEN (the SYN counts one) and seq 0 (RFC 793).
    let rsts: Vec<&common::two_host::Pkt> = from(&p.b, B);
    assert_eq!(rsts.len(), 1);
    let rst = rsts[0].tcp.as_ref().expect("TCP");
    assert_eq!(rst.flags(), "R.");
    assert_eq!((rst.seq, rst.ack), (0, syn.seq.wrapping_add(1)));
    assert_eq!((rst.sport, rst.dport), (syn.dport, syn.sport));
    check_reset_ip(rsts[0]);
    // It leaves as soon as the SYN arrived.
    let syn_at_b = tcp_from(&p.b, A)[0].0;
    assert_eq!(rsts[0].ts, syn_at_b);
    // The RST matches the SYN-SENT socket (ack = ISN + 1): tcp_reset → ECONNREFUSED, and
    // tcp_done from SYN-SENT counts AttemptFails (not EstabResets).
    let bulk_a = bulk(&p, 0);
    assert_eq!(bulk_a.error.as_deref(), Some("ECONNREFUSED"), "{bulk_a:?}");
    assert_eq!(bulk_a.state, "CLOSE");
    let (ta, tb) = (tcp_mib(&p, "a"), tcp_mib(&p, "b"));
    assert_eq!(
        (
            ta.ActiveOpens,
            ta.AttemptFails,
            ta.EstabResets,
            ta.RetransSegs,
            ta.CurrEstab
        ),
        (1, 1, 0, 0, 0)
    );
    assert_eq!((ta.OutSegs, ta.InSegs, ta.OutRsts), (1, 1, 0));
    // b: the SYN is counted in InSegs (counted before the lookup), the RST in OutSegs and
    // OutRsts; no error counter moves for a well-formed segment to a closed port.
    assert_eq!(
        (
            tb.InSegs,
            tb.OutSegs,
            tb.OutRsts,
            tb.InErrs,
            tb.PassiveOpens
        ),
        (1, 1, 1, 0, 0)
    );
}

/// a connects and sends; b's SYN-RECV request gets no ACK and, with tcp_synack_retries = 0,
/// expires at its first timeout (1 s). Netfilter drops a's next 14 packets after the SYN —
/// its handshake ACK, the 10 segments of the initial window, the tail loss probe and the RTO
/// retransmissions at about 0.3 s and 0.7 s — so the next retransmission, about 1.6 s in,
/// finds only the listener: an ACK without SYN, which gets a RST.
const NO_CONNECTION: &str = r"
end 5s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b {
    iface eth0 { ip 10.0.0.2/24 }
    sysctl net.ipv4.tcp_synack_retries = 0
    netfilter input accept proto tcp src 10.0.0.1 every 1000000 packet 0
    for i in 0..14 { netfilter input drop proto tcp src 10.0.0.1 every 1000000 packet 0 }
}
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms }
app a: ping 10.0.0.2 { count 1 }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9 } at 100ms
";

#[test]
fn ack_without_syn_for_no_connection_gets_a_bare_rst_with_seq_from_its_ack() {
    let p = run_pair(NO_CONNECTION, &[]);
    let dropped: u64 = (1..=14).map(|r| nf_hits(&p, "b", r)).sum();
    assert_eq!(dropped, 14);
    assert_eq!(p.ran.stats.drops.netfilter, 14);
    let b_sent = tcp_from(&p.b, B);
    // One SYN-ACK: tcp_synack_retries = 0, so the request expires at its first timeout
    // (reqsk_timer_handler) without retransmitting it.
    assert_eq!(
        b_sent.iter().filter(|(_, s)| s.syn).count(),
        1,
        "{}",
        show(&b_sent)
    );
    let rsts: Vec<&(u64, Seg)> = b_sent.iter().filter(|(_, s)| s.rst).collect();
    assert_eq!(rsts.len(), 1, "{}", show(&b_sent));
    let (t_rst, rst) = rsts[0];
    // What b answered: the segment from a that arrived at that instant, a data segment with
    // ACK and no SYN (a retransmission of the head).
    let trigger = tcp_from(&p.b, A)
        .into_iter()
        .find(|(t, _)| t == t_rst)
        .expect("the segment the RST answers");
    assert!(trigger.1.ack_flag && !trigger.1.syn && trigger.1.len > 0);
    // tcp_v4_rcv → the listener → tcp_rcv_state_process(LISTEN): `if (th->ack) return 1`
    // → tcp_v4_send_reset: for a segment with ACK, the RST has seq = SEG.ACK and no ACK.
    assert_eq!(rst.flags(), "R");
    assert_eq!((rst.seq, rst.ack), (trigger.1.ack, 0));
    let rst_pkt = from(&p.b, B)
        .into_iter()
        .find(|q| q.tcp.as_ref().is_some_and(|s| s.rst))
        .expect("RST packet");
    check_reset_ip(rst_pkt);
    // The request had expired by then: 1 s (+ the wheel) after the SYN-ACK.
    let synack_at = b_sent[0].0;
    assert!(*t_rst > synack_at + ms(1000));
    // a was ESTABLISHED; the RST's seq is its rcv_nxt, so tcp_reset: ECONNRESET to the app,
    // EstabResets from tcp_done.
    let bulk_a = bulk(&p, 2);
    assert_eq!(bulk_a.error.as_deref(), Some("ECONNRESET"), "{bulk_a:?}");
    let (ta, tb) = (tcp_mib(&p, "a"), tcp_mib(&p, "b"));
    assert_eq!((ta.EstabResets, ta.CurrEstab), (1, 0));
    assert_eq!((tb.OutRsts, tb.PassiveOpens), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// 8–9. UDP: a full send buffer, and qdisc drops

/// A 1000-byte datagram every millisecond (8 Mbit/s of payload) into a 1 Mbit/s link, for
/// one second, after a ping has resolved ARP; the run goes on until what was accepted has
/// drained. `iface` sets a's interface options.
fn flood(iface: &str) -> String {
    format!(
        r"
end 2s
host a {{ iface eth0 {{ ip 10.0.0.1/24 {iface} }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
link a.eth0 -- b.eth0 {{ rate 1Mbit  delay 1ms }}
app a: ping 10.0.0.2 {{ count 1 }}
app b: udp_sink {{ port 9 }}
app a: udp_cbr {{ to 10.0.0.2:9  payload 1000B  interval 1ms }} at 100ms until 1100ms
"
    )
}

/// Sends the flood makes: one per millisecond from 100 ms to 1100 ms.
const TICKS: u64 = 1000;

#[test]
fn a_full_send_buffer_makes_sends_fail_with_eagain_and_caps_socket_memory() {
    // With the default qdisc (1000 packets) and ring (256), the socket's send buffer
    // (SO_SNDBUF = net.core.wmem_default, 212992) fills first: each datagram's skb charges its
    // truesize to sk_wmem_alloc until the NIC has sent it (sock_wfree at TX completion).
    let src = flood("");
    let mut max_wmem = 0u32;
    let mut sndbuf = 0u32;
    let (world, stats) = run_watching(&src, |w| {
        for (_, s) in w.nodes[0].socks.iter() {
            if let Socket::Udp(u) = s
                && u.connected
            {
                max_wmem = max_wmem.max(u.sk.wmem_alloc);
                sndbuf = u.sk.sndbuf;
            }
        }
    });
    assert_eq!(
        sndbuf, 212_992,
        "SO_SNDBUF defaults to net.core.wmem_default"
    );
    let reports = world.app_reports();
    let (AppReport::UdpCbr(c), AppReport::UdpSink(k)) = (&reports[2].1, &reports[1].1) else {
        panic!("{reports:?}");
    };
    // sock_alloc_send_pskb lets a datagram in while sk_wmem_alloc < sk_sndbuf and charges it
    // after the test, so the memory in use never exceeds the buffer by a whole datagram (a
    // 1000-byte datagram's truesize is under 4 KiB: a 2 KiB data area, sk_buff and
    // skb_shared_info). It did fill: the sender was throttled.
    assert!(
        (sndbuf..sndbuf + 4096).contains(&max_wmem),
        "peak sk_wmem_alloc {max_wmem} with SO_SNDBUF {sndbuf}"
    );
    // A non-blocking sender gets EAGAIN instead of sleeping (the app counts and skips them).
    // The qdisc never overflows; each EAGAIN is counted as Linux counts it, in
    // __ip_append_data's error path (OutDiscards) and in udp_sendmsg, whose socket is marked
    // SOCK_NOSPACE (SndbufErrors): 6.18 in a network namespace moved both once per EAGAIN.
    assert_eq!(c.sent + c.eagain, TICKS, "{c:?}");
    assert_eq!(c.errors, 0);
    assert!(c.eagain > TICKS / 2, "{c:?}");
    let a = &stats.nodes["a"];
    assert_eq!((a.udp.SndbufErrors, a.ip.OutDiscards), (c.eagain, c.eagain));
    assert_eq!(stats.drops.qdisc, 0);
    // What got in is what the link could carry in that second plus one buffer's worth: 1066
    // bytes on the wire per datagram (1042-byte frame, preamble, FCS, gap) is 8.528 ms at
    // 1 Mbit/s, so about 117 in a second, plus the ~80 the buffer holds.
    let per_second = 1_000_000 / (1066 * 8);
    assert!(
        c.sent <= per_second + u64::from(sndbuf) / 2048 + 2,
        "{} sent",
        c.sent
    );
    // Nothing sent is lost: everything accepted reaches the sink by the end of the run.
    assert_eq!((k.received, k.lost), (c.sent, 0), "{k:?}");
    assert_eq!(a.udp.OutDatagrams, c.sent);
}

/// The qdisc holds 5 packets and the NIC's ring 2, so the qdisc overflows long before the
/// send buffer could fill.
const SMALL_QUEUE: &str = "qdisc pfifo limit 5  tx_ring 2";

#[test]
fn qdisc_drops_count_as_sndbuf_errors_and_out_discards_and_the_app_sees_success() {
    let p = run_pair(&flood(SMALL_QUEUE), &[]);
    let c = cbr(&p, 2);
    let k = udp_sink(&p, 1);
    let a = &p.ran.stats.nodes["a"];
    let drops = p.ran.iface("a", "eth0").qdisc.stats.drops;
    assert!(drops > TICKS / 2, "{drops} qdisc drops");
    // The qdisc's NET_XMIT_DROP comes back through dev_queue_xmit to ip_send_skb, which
    // counts IPSTATS_MIB_OUTDISCARDS, and to udp_send_skb as -ENOBUFS: without IP_RECVERR it
    // counts UDP_MIB_SNDBUFERRORS and returns 0, so the app's send succeeds.
    assert_eq!(a.udp.SndbufErrors, drops);
    assert_eq!(a.ip.OutDiscards, drops);
    assert_eq!((c.sent, c.eagain, c.errors), (TICKS, 0, 0), "{c:?}");
    // Every datagram is either dropped at the qdisc or on the wire, and the sink got all of
    // those on the wire.
    let on_wire = from(&p.a, A).iter().filter(|q| q.udp.is_some()).count() as u64;
    assert_eq!(on_wire + drops, TICKS);
    assert_eq!(k.received, on_wire);
}

#[test]
fn qdisc_drops_are_not_out_datagrams() {
    // udp_send_skb: `err = ip_send_skb(...); if (err) { if (err == -ENOBUFS && !RECVERR)
    // { SNDBUFERRORS++; err = 0; } } else OUTDATAGRAMS++;` — a dropped datagram is a
    // SndbufError, not an OutDatagram.
    let p = run_pair(&flood(SMALL_QUEUE), &[]);
    let drops = p.ran.iface("a", "eth0").qdisc.stats.drops;
    let a = &p.ran.stats.nodes["a"];
    assert_eq!(a.udp.OutDatagrams, TICKS - drops);
    assert_eq!(a.udp.OutDatagrams + a.udp.SndbufErrors, TICKS);
}

/// `until` on a server or a sink stops it as killing its process would: every socket it owns
/// is closed. A SYN after that meets a closed port (RST|ACK, ECONNREFUSED) and a sink's
/// connection is closed (FIN) at that instant; a curl stopped mid-transfer says so.
#[test]
fn until_closes_a_servers_and_a_sinks_sockets() {
    let p = run_pair(
        "
seed 1
end 2s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms }
app b: tcp_sink { port 9 } until 500ms
app a: tcp_bulk { to 10.0.0.2:9 } at 100ms
app b: tcp_sink { port 10 } until 50ms
app a: tcp_bulk { to 10.0.0.2:10  bytes 1MB } at 100ms
",
        &[],
    );
    // Port 10's sink was gone at 50 ms: the SYN at 100 ms is refused.
    let refused = bulk(&p, 3);
    assert_eq!(refused.bytes_acked, 0);
    assert!(
        refused
            .error
            .as_deref()
            .is_some_and(|e| e.contains("ECONNREFUSED")),
        "{refused:?}"
    );
    assert_eq!(tcp_mib(&p, "b").OutRsts, 1);
    // Port 9's sink closed its connection at 500 ms: b's FIN leaves then, not before.
    let fins: Vec<u64> = tcp_from(&p.b, B)
        .into_iter()
        .filter(|(_, s)| s.fin)
        .map(|(t, _)| t)
        .collect();
    assert!(
        !fins.is_empty() && fins[0] >= ms(500) && fins[0] < ms(500) + ms(1),
        "b's FINs at {fins:?}"
    );
    assert!(sink(&p, 0).bytes > 0);
}

/// A packet dropped above the device (here by netfilter on INPUT) is traced as the IP packet
/// it is, not decoded as an Ethernet frame.
#[test]
fn drops_above_the_device_are_traced_as_ip_packets() {
    let p = run_pair(
        "
seed 1
end 100ms
host a { iface eth0 { ip 10.0.0.1/24 } }
host b {
    iface eth0 { ip 10.0.0.2/24 }
    netfilter input drop proto udp dport 9
}
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms }
app b: udp_sink { port 9 }
app a: udp_cbr { to 10.0.0.2:9  payload 100B  interval 10ms } at 10ms until 15ms
",
        &[],
    );
    let drops = p.ran.lines_with(&["drop nf_drop(LOCAL_IN)"]);
    assert_eq!(drops.len(), 1, "{}", p.ran.trace);
    // 128 bytes: the IP packet (20 + 8 + 100), summarized as IP.
    assert!(
        drops[0].contains(" 128 IP 10.0.0.1.") && drops[0].contains("> 10.0.0.2.9: UDP"),
        "{}",
        drops[0]
    );
}

/// Socket errors are in the trace with their errno names, as the apps see them: a refused
/// connect (the RST, then the app's next call), a connect with no route, and the dropped SYN
/// traced from its IP header.
#[test]
fn socket_errors_are_traced_by_errno_name() {
    let p = run_pair(
        "
seed 1
end 1s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms }
app a: tcp_bulk { to 10.0.0.2:9 } at 10ms
app a: udp_cbr { to 10.9.9.9:9  payload 100B  interval 100ms } at 10ms
",
        &[],
    );
    let r = &p.ran;
    assert_eq!(
        r.lines_with(&["a sock tcp 10.0.0.1:", "> 10.0.0.2:9 rst: ECONNREFUSED"])
            .len(),
        1,
        "{}",
        r.trace
    );
    assert_eq!(
        r.lines_with(&["a sock udp 0.0.0.0:0 > 10.9.9.9:9 connect: ENETUNREACH"])
            .len(),
        1,
        "{}",
        r.trace
    );
    let syn = r.lines_with(&["drop tcp_v4_rcv(no_socket)"]);
    assert!(
        syn.len() == 1 && syn[0].contains(" 60 IP 10.0.0.1.") && syn[0].contains("Flags [S]"),
        "{syn:?}"
    );
}
