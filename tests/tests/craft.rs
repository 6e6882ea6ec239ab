//! The `craft` app in whole runs: the two attack scenarios of `scenarios/attacks/` (DNS
//! amplification through a spoofed source; RST injection into an HTTP download, with and
//! without the `OUTPUT` RST-drop rule), and deliberately bad checksums, which tshark must
//! flag exactly where the scenario asked for them.

mod common;

use common::{capture_into, load, read_pcap, run_scenario, temp_dir};
use sim_stack::apps::AppReport;
use sim_stack::capture::CaptureFormat;

const AMPLIFICATION: &str = include_str!("../../scenarios/attacks/dns_amplification.net");
const RST: &str = include_str!("../../scenarios/attacks/rst_injection.net");

fn craft_reports(ran: &common::Ran) -> Vec<sim_stack::apps::craft::CraftReport> {
    ran.world
        .app_reports()
        .into_iter()
        .filter_map(|(_, r)| match r {
            AppReport::Craft(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The IPv4 packets (total length, protocol, source) of a pcap's frames.
fn ipv4(frames: &[common::Record]) -> Vec<(usize, u8, [u8; 4])> {
    frames
        .iter()
        .filter(|f| f.data.len() >= 34 && f.data[12..14] == [0x08, 0x00])
        .map(|f| {
            let ip = &f.data[14..];
            let len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            (len, ip[9], [ip[12], ip[13], ip[14], ip[15]])
        })
        .collect()
}

/// Derived by hand. The query is IP 20 + UDP 8 + DNS 40 = 68 bytes: the DNS header 12, the
/// question `big.example` (1+3+1+7+1 = 13 bytes of name, 4 of type and class) 17, the OPT
/// record 11. The answer: header 12 + question 17 + 16 TXT records of 2 (a pointer to
/// the question's name) + 10 + 201 (a 200-byte character-string and its length) + the OPT
/// record 11 = 3448 bytes of DNS, 3456 of UDP, more than the 1500-byte MTU: fragments of
/// 1480, 1480 and 496 bytes of payload, 3516 bytes of IP. Ten queries of 68 bytes (680)
/// bring 35160 bytes to the victim: 51.7 times what the attacker sent.
#[test]
fn dns_amplification_factor_at_the_victim() {
    let sc = load(AMPLIFICATION, &[]);
    let dir = temp_dir("craft-amp");
    let ran = run_scenario(&sc, Some(capture_into(&dir, CaptureFormat::Pcap)));
    let sent = &craft_reports(&ran)[0];
    assert_eq!((sent.packets, sent.bytes, sent.errors), (10, 680, 0));
    // The attacker's frames carry the victim's address as source.
    let out = ipv4(&read_pcap(&dir.join("attacker-eth0.pcap")));
    assert_eq!(out.len(), 10);
    assert!(
        out.iter()
            .all(|&(len, p, src)| (len, p, src) == (68, 17, [10, 0, 2, 10]))
    );
    let at_victim: Vec<_> = ipv4(&read_pcap(&dir.join("victim-eth0.pcap")))
        .into_iter()
        .filter(|&(_, p, src)| p == 17 && src == [10, 0, 1, 53])
        .collect();
    let lens: Vec<usize> = at_victim.iter().map(|&(l, ..)| l).collect();
    assert_eq!(
        lens,
        [1500, 1500, 516].repeat(10),
        "three fragments per answer"
    );
    let received: usize = lens.iter().sum();
    assert_eq!(received, 35_160);
    assert_eq!(
        received * 10 / sent.bytes as usize,
        517,
        "amplification 51.7"
    );
    // The victim asked nothing: it answers the reassembled datagrams with port unreachable.
    assert!(ran.stats.nodes["victim"].udp.NoPorts >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without the defence: the in-window RST of 800 ms (not rcv_nxt) draws one challenge ACK
/// and the four after it are rate-limited; of the burst at 1 s, the eight below rcv_nxt are
/// ignored and the ninth, exactly rcv_nxt, resets the connection: curl fails. With
/// `netfilter output drop proto tcp flags rst dst 10.0.0.2` on the attacker, every crafted
/// RST fails with EPERM at its OUTPUT hook, and the download completes.
#[test]
fn rst_injection_resets_the_download_unless_output_drops_it() {
    let ran = run_scenario(&load(RST, &[]), None);
    let curl = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::Curl(c) => Some(*c),
            _ => None,
        })
        .expect("curl");
    assert_eq!(curl.error.as_deref(), Some("Recv failure: ECONNRESET"));
    assert!(curl.size_download < 2 << 20);
    let ext = &ran.stats.nodes["client"].tcp_ext;
    assert_eq!((ext.TCPChallengeACK, ext.TCPACKSkippedChallenge), (1, 4));
    assert_eq!(ran.stats.nodes["client"].tcp.EstabResets, 1);
    let reset = ran.lines_with(&["client sock tcp", "rst: ECONNRESET"]);
    assert_eq!(reset.len(), 1, "{reset:?}");
    assert!(reset[0].starts_with("1.065684112 "), "{}", reset[0]);
    // The challenge ACK: the client's ACK sent at the instant the first RST arrived.
    let rst_in = ran.lines_with(&["client eth0 rx", "Flags [R], seq 4048035223,"]);
    let t = rst_in[0].split(' ').next().unwrap();
    let acks = ran.lines_with(&[t, "client eth0 tx", "Flags [.]"]);
    assert_eq!(acks.len(), 1, "one challenge ACK: {acks:?}");

    let ran = run_scenario(&load(RST, &[("defence", "1")]), None);
    let curl = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::Curl(c) => Some(*c),
            _ => None,
        })
        .expect("curl");
    assert_eq!((curl.error, curl.size_download), (None, 2 << 20));
    let crafted = craft_reports(&ran);
    assert_eq!(
        crafted
            .iter()
            .map(|c| (c.packets, c.errors))
            .collect::<Vec<_>>(),
        [(0, 5), (0, 17)]
    );
    assert!(
        crafted
            .iter()
            .all(|c| c.last_error == Some(sim_stack::sock::Errno::Perm))
    );
    assert!(ran.lines_with(&["client eth0 rx", "Flags [R]"]).is_empty());
    assert_eq!(
        ran.lines_with(&["attacker", "drop nf_drop(LOCAL_OUT)"])
            .len(),
        22
    );
    assert_eq!(ran.stats.nodes["attacker"].ip.OutDiscards, 22);
}

/// Bad checksums on request: a UDP and a TCP checksum set in the expression leave as given
/// (a raw socket does not touch the transport header), an IP one is rewritten (it always
/// is). With checksum validation on, tshark flags exactly the two.
#[test]
fn tshark_flags_exactly_the_bad_checksums_asked_for() {
    let src = "
seed 1
end 1s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 10us }
app a: craft { packet \"IP(dst='10.0.0.2')/UDP(sport=40000, dport=40001)/'good'\" } at 10ms
app a: craft { packet \"IP(dst='10.0.0.2')/UDP(sport=40000, dport=40001, chksum=0xdead)/'bad'\" } at 20ms
app a: craft { packet \"IP(dst='10.0.0.2', chksum=0xbeef)/TCP(dport=22, chksum=0x1234)\" } at 30ms
app a: craft { packet \"IP(dst='10.0.0.2')/ICMP()\" } at 40ms
app b: udp_sink { port 40001 }
";
    let dir = temp_dir("craft-csum");
    let ran = run_scenario(
        &load(src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    assert!(craft_reports(&ran).iter().all(|c| c.packets == 1));
    let frames = read_pcap(&dir.join("a-eth0.pcap"));
    // a's own packets, with their frame numbers as tshark counts them.
    let (numbers, ip): (Vec<usize>, Vec<&[u8]>) = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.data[12..14] == [0x08, 0x00] && f.data[26..30] == [10, 0, 0, 1])
        .map(|(i, f)| (i + 1, &f.data[14..]))
        .unzip();
    assert_eq!(ip.len(), 4);
    // b dropped the two with bad checksums and no more.
    assert_eq!(ran.stats.nodes["b"].udp.InCsumErrors, 1);
    assert_eq!(ran.stats.nodes["b"].tcp.InCsumErrors, 1);
    assert_eq!(ip[0][12..16], [10, 0, 0, 1], "IP.src from the route");
    assert_eq!(ip[1][26..28], [0xde, 0xad], "UDP checksum as given");
    assert_ne!(
        ip[2][10..12],
        [0xbe, 0xef],
        "the kernel rewrote the IP checksum"
    );
    assert_eq!(ip[2][36..38], [0x12, 0x34], "TCP checksum as given");
    let tshark = std::process::Command::new("tshark").arg("-v").output();
    if !tshark.is_ok_and(|o| o.status.success()) {
        eprintln!("tshark not installed: the pcap check is skipped");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let out = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(dir.join("a-eth0.pcap"))
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            "ip.checksum.status == \"Bad\" or udp.checksum.status == \"Bad\" or tcp.checksum.status == \"Bad\" or icmp.checksum.status == \"Bad\" or _ws.malformed",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "_ws.col.Protocol",
        ])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flagged = String::from_utf8_lossy(&out.stdout);
    let flagged: Vec<&str> = flagged.lines().collect();
    let want = [
        format!("{}\tUDP", numbers[1]),
        format!("{}\tTCP", numbers[2]),
    ];
    assert_eq!(flagged, want, "{flagged:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A packet that starts with `Ether()` goes out as `sendp()` sends it: through an
/// `AF_PACKET` socket, byte for byte as built (the route's source filled in, the broadcast
/// MAC for an unset `Ether.dst` when the node has no neighbour entry), past an `OUTPUT` rule
/// that drops everything — netfilter is not on that path — and the peer answers it.
#[test]
fn a_frame_goes_out_as_sendp_past_netfilter() {
    let src = "
seed 1
end 1s
host a {
    iface eth0 { ip 10.0.0.1/24  mac 02:00:00:00:00:01 }
    netfilter output drop
}
host b { iface eth0 { ip 10.0.0.2/24  mac 02:00:00:00:00:02 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 10us }
app a: craft { packet \"Ether()/IP(dst='10.0.0.2')/ICMP(id=7, seq=1)/'ping'\"  count 2  interval 100ms } at 10ms
";
    let dir = temp_dir("craft-sendp");
    let ran = run_scenario(
        &load(src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let c = &craft_reports(&ran)[0];
    assert_eq!(
        (c.packets, c.bytes, c.errors),
        (2, 2 * (14 + 20 + 8 + 4), 0)
    );
    let frames = read_pcap(&dir.join("a-eth0.pcap"));
    let sent: Vec<&common::Record> = frames
        .iter()
        .filter(|f| f.data[6..12] == [2, 0, 0, 0, 0, 1] && f.data[12..14] == [8, 0])
        .collect();
    assert_eq!(sent.len(), 2);
    // Scapy's bytes for the same expression with src='10.0.0.1' and Ether dst broadcast:
    // Ether(src='02:00:00:00:00:01', dst='ff:ff:ff:ff:ff:ff')/IP(src='10.0.0.1',
    // dst='10.0.0.2')/ICMP(id=7, seq=1)/'ping' (raw() in Scapy 2.8).
    let want = "ffffffffffff02000000000108004500002000010000400166da0a0000010a000002080019270007000170696e67";
    let got: String = sent[0].data.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, want);
    assert_eq!(ran.stats.nodes["b"].icmp.InEchos, 2, "b took both");
    let _ = std::fs::remove_dir_all(&dir);
}
