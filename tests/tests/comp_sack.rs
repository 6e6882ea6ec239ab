//! Out-of-order data is SACKed at once, or within `tcp_comp_sack_delay_ns`.
//!
//! `__tcp_ack_snd_check` sends the first `TCP_FASTRETRANS_THRESH` (3) duplicate ACKs for a
//! given `rcv_nxt` at once and compresses later ones behind a timer of min(rtt/20,
//! `tcp_comp_sack_delay_ns` = 1 ms); its budget (`dup_ack_counter`) starts again whenever
//! `rcv_nxt` moves (`compressed_ack_rcv_nxt`). So on a lossy path every new hole is SACKed
//! within a millisecond, not after the delayed-ACK timer.

mod common;

use common::two_host::{A, B, ms, run_pair, tcp_from};

const LOSSY: &str = r#"
seed 3
end 8s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 100Mbit  delay 10ms  loss 1% }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes 3000000B } at 10ms
"#;

#[test]
fn every_out_of_order_segment_is_sacked_within_a_millisecond() {
    let p = run_pair(LOSSY, &[]);
    let data: Vec<_> = tcp_from(&p.b, A)
        .into_iter()
        .filter(|(_, s)| s.len > 0)
        .collect();
    let acks = tcp_from(&p.b, B);
    // b's receive state, rebuilt from what it got: in-order end and the ranges beyond it.
    let mut rcv_nxt = data[0].1.seq;
    let mut ooo: Vec<(u32, u32)> = Vec::new();
    let mut checked = 0;
    let mut worst = 0;
    for (at, s) in &data {
        // (The data only: a FIN beyond a hole is not kept, see model.md.)
        let (seq, end) = (s.seq, s.seq.wrapping_add(s.len));
        if seq == rcv_nxt || (seq.wrapping_sub(rcv_nxt) as i32) < 0 {
            if (end.wrapping_sub(rcv_nxt) as i32) > 0 {
                rcv_nxt = end;
            }
            ooo.sort_by_key(|r| r.0.wrapping_sub(rcv_nxt));
            while let Some(&(a, b)) = ooo.first() {
                if (a.wrapping_sub(rcv_nxt) as i32) > 0 {
                    break;
                }
                if (b.wrapping_sub(rcv_nxt) as i32) > 0 {
                    rcv_nxt = b;
                }
                ooo.remove(0);
            }
            continue;
        }
        ooo.push((seq, end));
        // Out of order: the first ACK from b at or after its arrival that covers it.
        let answer = acks.iter().find(|(t, ack)| {
            *t >= *at
                && ((ack.ack.wrapping_sub(end) as i32) >= 0
                    || ack.sacks().iter().any(|&(l, r)| {
                        (seq.wrapping_sub(l) as i32) >= 0 && (r.wrapping_sub(end) as i32) >= 0
                    }))
        });
        let (t, _) = answer.expect("every segment is acknowledged");
        let delay = t - at;
        worst = worst.max(delay);
        checked += 1;
    }
    assert!(checked > 20, "only {checked} out-of-order segments");
    // tcp_comp_sack_delay_ns (1 ms), plus tcp_comp_sack_slack_ns (100 µs).
    assert!(
        worst <= ms(1) + 100_000,
        "an out-of-order segment waited {worst} ns for its SACK"
    );
}
