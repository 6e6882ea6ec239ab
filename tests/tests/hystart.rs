//! HyStart as `tcp_cubic.c` runs it (`hystart_update`), end to end: which of its two tests
//! ends slow start depends on how the ACKs come back, and the expected exits below are
//! worked out from tcp_cubic.c's arithmetic, not read off a run.

mod common;

use common::{load, run_scenario};

/// A 20 Mbit/s path with 10 ms each way and no bottleneck queue to speak of: ACKs return
/// clocked by the 20 Mbit/s link, one segment (0.6056 ms of a 1514-byte frame) apart.
const TRAIN: &str = r#"
end 3s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 20Mbit  delay 10ms }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes 4MiB } at 10ms
"#;

#[test]
fn an_ack_train_longer_than_half_the_minimum_delay_ends_slow_start() {
    let ran = run_scenario(&load(TRAIN, &[]), None);
    let a = &ran.stats.nodes["a"];
    let ext = &a.tcp_ext;
    // The minimum delay is one 1514-byte frame's serialization plus 20 ms: 20.6 ms. In the
    // round that starts at cwnd 20 (the first ten segments acknowledged one by one), the
    // ACKs arrive 0.61 ms apart, under hystart_ack_delta_us (2 ms): a train. It must last
    // more than (delay_min + hystart_ack_delay) / 2 = (20.6 + 1) / 2 = 10.8 ms from the
    // round's first ACK (the pacing rate is a few MB/s, so the ack delay is capped at
    // 1 ms): the 18th ACK after it, at 18 × 0.6056 = 10.9 ms, when cwnd is 20 + 18 = 38.
    assert_eq!(ext.TCPHystartTrainDetect, 1, "{ext:?}");
    assert_eq!(ext.TCPHystartTrainCwnd, 38, "{ext:?}");
    assert_eq!(ext.TCPHystartDelayDetect, 0, "{ext:?}");
    let c = &a.tcp_connections[0];
    // ssthresh = cwnd at the exit, and nothing was lost afterwards to lower it.
    assert_eq!(c.ssthresh, Some(38));
    assert_eq!(a.tcp.RetransSegs, 0);
}

/// A 10 Mbit/s token bucket on a fast link: the ACKs come back in bursts, one per GSO packet
/// the bucket lets go, several milliseconds apart.
const TBF: &str = r#"
end 5s
host a { iface eth0 { ip 10.0.0.1/24  qdisc tbf rate 10Mbit burst 15KiB latency 50ms } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 10Gbit  delay 10us }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes 2MiB } at 10ms
"#;

#[test]
fn a_growing_queue_ends_slow_start_by_the_delay_test() {
    let ran = run_scenario(&load(TBF, &[]), None);
    let a = &ran.stats.nodes["a"];
    let ext = &a.tcp_ext;
    // The gaps between bursts exceed hystart_ack_delta_us and a burst lasts microseconds:
    // no train. The minimum delay is tens of µs (the first ten segments leave at once on
    // the bucket's burst); once the bucket paces the rest, every sample of a round carries
    // the queue, more than 4 ms (HYSTART_DELAY_MIN) above that minimum, and the delay test
    // fires on the ninth sample of the round that starts at cwnd 20.
    assert_eq!(ext.TCPHystartTrainDetect, 0, "{ext:?}");
    assert_eq!(ext.TCPHystartDelayDetect, 1, "{ext:?}");
    // Linux 6.18 on a veth pair with the same tbf (four runs of a 2 MiB transfer) left slow
    // start by this test at cwnd 28 every time; so does the model.
    assert_eq!(ext.TCPHystartDelayCwnd, 28, "{ext:?}");
    // Before the bucket's queue (50 ms at 10 Mbit/s: about 41 frames) overflowed.
    assert_eq!(a.tcp.RetransSegs, 0);
}
