//! iptables over whole runs: REJECT's replies, LOG's lines, policies and user chains, the
//! per-rule counters `iptables -L -v -n` prints, `-m limit`. Each expected packet is derived
//! by hand from the kernel's code (nf_reject_ipv4.c, nf_log_syslog.c, xt_limit.c) and the
//! line a — r — b (10.0.0.2 — 10.0.0.1 | 10.0.1.1 — 10.0.1.2, 1 ms links).

mod common;

use common::{a_r_b, capture_into, load, read_pcap, run_scenario, temp_dir};
use sim_stack::capture::CaptureFormat;
use sim_stack::netfilter::TableId;
use sim_stack::netfilter::iptables_show::{ListFormat, list};

/// The rules of `chain` in node `node`'s `table` after the run: (packets, bytes) each.
fn counts(r: &common::Ran, node: &str, table: TableId, chain: &str) -> Vec<(u64, u64)> {
    let n = r.world.node_index(node).expect("node");
    let t = r.world.nodes[n].netfilter.ruleset.table(table);
    t.chains[t.chain(chain).expect("chain")]
        .rules
        .iter()
        .map(|r| (r.packets, r.bytes))
        .collect()
}

/// `REJECT --reject-with tcp-reset` on the router's FORWARD: the client's SYN draws a RST
/// from the server's address (nf_send_reset spoofs it), with ACK = SYN's seq + 1, seq 0,
/// window 0, IP ID 0, DF, TOS 0, TTL 64 (the router's own default: the RST is a local
/// packet of r), and curl fails with "Connection refused" after one round trip to r.
#[test]
fn reject_tcp_reset_answers_for_the_server() {
    let dir = temp_dir("nf-reset");
    let src = a_r_b(
        "curl \"http://10.0.1.2:81/\"",
        "iptables -A FORWARD -p tcp --dport 81 -j REJECT --reject-with tcp-reset",
        "",
        "1ms",
        "3s",
    ) + "app b: http_server { port 81  body 4KiB }\n";
    let r = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let syn = r.lines_with(&["a eth0 tx", "> 10.0.1.2.81: Flags [S]"]);
    assert_eq!(syn.len(), 1, "{}", r.trace);
    let isn: u32 = syn[0]
        .split("seq ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .expect("the SYN's seq");
    let rst = r.lines_with(&["a eth0 rx", "IP 10.0.1.2.81 > 10.0.0.2."]);
    assert_eq!(rst.len(), 1, "{}", r.trace);
    assert!(
        rst[0].ends_with(&format!(
            "Flags [R.], seq 0, ack {}, win 0, length 0",
            isn.wrapping_add(1)
        )),
        "{}",
        rst[0]
    );
    // Nothing reached b.
    assert!(
        r.lines_with(&["b eth0 rx", "IP "]).is_empty(),
        "{}",
        r.trace
    );
    assert_eq!(r.lines_with(&["r eth0 drop nf_drop(FORWARD)"]).len(), 1);
    assert_eq!(r.stats.drops.netfilter, 1);
    assert_eq!(counts(&r, "r", TableId::Filter, "FORWARD"), [(1, 60)]);
    // The RST on a's wire: 14 + 20 + 20 bytes, padded to 60.
    let frames = read_pcap(&dir.join("a-eth0.pcap"));
    let f = frames
        .iter()
        .map(|f| &f.data)
        .find(|d| d.len() >= 54 && d[23] == 6 && d[47] & 0x04 != 0)
        .expect("the RST");
    let ip = &f[14..34];
    assert_eq!(ip[1], 0, "TOS 0");
    assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 40, "length");
    assert_eq!(&ip[4..8], &[0, 0, 0x40, 0], "ID 0, DF");
    assert_eq!(ip[8], 64, "r's default TTL: the RST is r's own packet");
    let a = r.curl(0);
    assert_eq!(
        a.error.as_deref(),
        Some("Failed to connect to port 81: Connection refused")
    );
}

/// `REJECT` (icmp-port-unreachable by default) for UDP on FORWARD: `icmp_send` from r's
/// address towards a, quoting the datagram; a's connected UDP socket then fails with
/// ECONNREFUSED. `--reject-with icmp-admin-prohibited` on r's own INPUT: ping's "Packet
/// filtered" (code 13), as iputils prints it.
#[test]
fn reject_sends_the_icmp_error_asked_for() {
    let src = a_r_b(
        "udp_cbr { to 10.0.1.2:9  payload 100B  interval 100ms } until 1.15s",
        "iptables -A FORWARD -p udp --dport 9 -j REJECT
         iptables -A INPUT -p icmp --icmp-type echo-request -j REJECT --reject-with icmp-admin-prohibited",
        "",
        "1ms",
        "3s",
    ) + "app a: ping 10.0.0.1 { count 1 } at 2s\n";
    let r = run_scenario(&load(&src, &[]), None);
    let icmp = r.lines_with(&["a eth0 rx", "ICMP 10.0.1.2 udp port 9 unreachable"]);
    assert_eq!(icmp.len(), 1, "{}", r.trace);
    assert!(icmp[0].contains("IP 10.0.0.1 > 10.0.0.2: "), "{}", icmp[0]);
    assert_eq!(
        r.lines_with(&["a sock udp", "icmp error: ECONNREFUSED"])
            .len(),
        1
    );
    let p = r.ping(1);
    assert_eq!((p.transmitted, p.received, p.errors), (1, 0, 1), "{p:?}");
    assert_eq!(
        p.error.as_deref(),
        Some("From 10.0.0.1 icmp_seq=1 Packet filtered")
    );
    assert_eq!(counts(&r, "r", TableId::Filter, "FORWARD"), [(1, 128)]);
    assert_eq!(counts(&r, "r", TableId::Filter, "INPUT"), [(1, 84)]);
}

/// `LOG` on FORWARD: one kernel line per packet, in nf_log_syslog's format, written as a
/// trace event of r at the instant the packet passes (ping: request and reply).
#[test]
fn log_lines_are_the_kernels() {
    let src = a_r_b(
        "ping 10.0.1.2 { count 1 }",
        "iptables -A FORWARD -p icmp -j LOG --log-prefix \"FWD: \"",
        "",
        "1ms",
        "3s",
    );
    let r = run_scenario(&load(&src, &[]), None);
    let logs = r.lines_with(&["r kernel: FWD: "]);
    assert_eq!(logs.len(), 2, "{}", r.trace);
    let mac = |node: &str| {
        let n = r.world.node_index(node).unwrap();
        let m = r.world.nodes[n].devs[0].mac;
        m.0.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let req = logs[0].split("r kernel: ").nth(1).unwrap();
    let id = r.lines_with(&["a eth0 tx", "ICMP echo request"]);
    assert_eq!(id.len(), 1);
    assert!(
        req.starts_with(&format!(
            "FWD: IN=eth0 OUT=eth1 MAC={}:{}:08:00 SRC=10.0.0.2 DST=10.0.1.2 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=",
            mac("r"),
            mac("a")
        )),
        "{req}"
    );
    assert!(req.contains(" DF PROTO=ICMP TYPE=8 CODE=0 ID="), "{req}");
    assert!(req.ends_with(" SEQ=1 "), "{req:?}");
    let reply = logs[1].split("r kernel: ").nth(1).unwrap();
    assert!(reply.starts_with("FWD: IN=eth1 OUT=eth0 MAC="), "{reply}");
    assert!(reply.contains("PROTO=ICMP TYPE=0 CODE=0 "), "{reply}");
    // LOG goes on: both packets were forwarded.
    assert_eq!(r.ping(0).received, 1);
}

/// A FORWARD policy of DROP with a user chain that accepts ICMP from a and RETURNs
/// everything else: the ping passes both ways only because the reply is matched too; UDP
/// meets the policy. The listing counts each rule and the policy.
#[test]
fn policies_user_chains_and_return() {
    let src = a_r_b(
        "ping 10.0.1.2 { count 2  interval 200ms }",
        "iptables -P FORWARD DROP
         iptables -N icmp-ok
         iptables -A FORWARD -j icmp-ok
         iptables -A icmp-ok -p icmp -s 10.0.0.2 -j ACCEPT
         iptables -A icmp-ok -p icmp -d 10.0.0.2 -j ACCEPT
         iptables -A icmp-ok -j RETURN",
        "",
        "1ms",
        "3s",
    ) + "app a: udp_cbr { to 10.0.1.2:5001  payload 100B  interval 100ms } at 1s until 1.25s\n";
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.ping(0).received, 2);
    assert!(
        r.lines_with(&["b eth0 rx", "UDP"]).is_empty(),
        "{}",
        r.trace
    );
    assert_eq!(
        counts(&r, "r", TableId::Filter, "FORWARD"),
        [(7, 4 * 84 + 3 * 128)]
    );
    assert_eq!(
        counts(&r, "r", TableId::Filter, "icmp-ok"),
        [(2, 168), (2, 168), (3, 384)]
    );
    let n = r.world.node_index("r").unwrap();
    let text = list(
        r.world.nodes[n].netfilter.ruleset.table(TableId::Filter),
        ListFormat::default(),
    );
    assert!(
        text.contains("Chain FORWARD (policy DROP 3 packets, 384 bytes)\n"),
        "{text}"
    );
    assert!(
        text.contains("    7   720 icmp-ok    0    --  *      *       0.0.0.0/0            0.0.0.0/0           \n"),
        "{text}"
    );
    assert!(text.contains("Chain icmp-ok (1 references)\n"), "{text}");
    assert_eq!(r.stats.drops.netfilter, 3);
}

/// `-m limit --limit 1/sec --limit-burst 2` on pings entering r: the bucket starts full
/// (two), then earns one packet per second (250 jiffies at HZ 250): of ten requests 100 ms
/// apart, the first two pass, then none until a second after the first.
#[test]
fn limit_passes_the_burst_then_the_rate() {
    let src = a_r_b(
        "ping 10.0.1.2 { count 14  interval 100ms }",
        "iptables -A FORWARD -i eth0 -p icmp -m limit --limit 1/sec --limit-burst 2 -j ACCEPT
         iptables -A FORWARD -i eth0 -p icmp -j DROP",
        "",
        "1ms",
        "4s",
    );
    let r = run_scenario(&load(&src, &[]), None);
    let passed = counts(&r, "r", TableId::Filter, "FORWARD");
    // Requests at 0, 0.1, …, 1.3 s: two from the burst, then one credit a second later.
    assert_eq!((passed[0].0, passed[1].0), (3, 11), "{passed:?}");
    assert_eq!(r.ping(0).received, 3);
}
