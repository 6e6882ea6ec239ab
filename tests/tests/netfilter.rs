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

/// The LOG lines the kernel wrote on the reference machine (`tests/reference/netfilter/runs/
/// log-1`: LOG rules on the router's INPUT, FORWARD and OUTPUT during the flagship), formatted
/// again from the same packets as captured: byte for byte, trailing space included. A
/// forwarded packet is logged after its TTL was decremented, with the MAC header it came in
/// with; the router's own ping is logged at OUTPUT with `--log-uid`.
#[test]
fn log_lines_match_the_kernels_for_the_captured_packets() {
    use sim_stack::netfilter::LogTarget;
    use sim_stack::netfilter::log::nf_log_line;
    use sim_stack::netfilter::rule::PacketInfo;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/netfilter/runs/log-1");
    let lines = std::fs::read_to_string(dir.join("log_lines.txt")).expect("log lines");
    // The frames as they reached r (or, for r's own, left it): eth0 is the client's side.
    let client = common::read_any_pcap(&dir.join("client.pcap"));
    let server = common::read_any_pcap(&dir.join("router_server_side.pcap"));
    let target = |prefix: &str| LogTarget {
        prefix: prefix.into(),
        level: 4,
        tcp_seq: prefix == "FWDSEQ: ",
        tcp_options: prefix == "FWDOPT: ",
        ip_options: prefix == "FWDOPT: ",
        uid: prefix == "OUT: ",
    };
    let field = |line: &str, key: &str| -> String {
        line.split(' ')
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_default()
            .to_string()
    };
    let (mut checked, mut skipped) = (0, 0);
    for line in lines.lines() {
        let prefix = format!("{} ", line.split(' ').next().unwrap());
        let (src, dst, id) = (field(line, "SRC="), field(line, "DST="), field(line, "ID="));
        let (in_dev, out_dev) = (field(line, "IN="), field(line, "OUT="));
        let frames = if in_dev == "eth1" || out_dev == "eth1" && in_dev.is_empty() {
            &server
        } else {
            &client
        };
        // The frame that carried it: same addresses and IP ID.
        let Some((_, f)) = frames.iter().find(|(_, f)| {
            f.len() >= 34
                && f[12..14] == [8, 0]
                && std::net::Ipv4Addr::new(f[26], f[27], f[28], f[29]).to_string() == src
                && std::net::Ipv4Addr::new(f[30], f[31], f[32], f[33]).to_string() == dst
                && u16::from_be_bytes([f[18], f[19]]).to_string() == id
        }) else {
            panic!("no frame for {line}");
        };
        let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
        let mut ip = f[14..14 + total].to_vec();
        // A forwarded packet is logged after ip_forward decremented its TTL. (And after it
        // wrote its address into a record-route option: the model does not process IP
        // options, so `ping -R`'s packets are left out.)
        if !in_dev.is_empty() && !out_dev.is_empty() {
            if ip[0] & 0x0f > 5 {
                skipped += 1;
                continue;
            }
            ip[8] -= 1;
        }
        let p = PacketInfo {
            ip: &ip,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: ip[9],
            len: total as u16,
            ttl: ip[8],
            tos: ip[1],
            frag_off: 0,
            thoff: usize::from(ip[0] & 0x0f) * 4,
            in_dev: (!in_dev.is_empty()).then_some(in_dev.as_str()),
            out_dev: (!out_dev.is_empty()).then_some(out_dev.as_str()),
            mark: 0,
            ct_state: 0,
            ct_mark: 0,
            ct_status: 0,
            jiffies: 0,
            tcpmss: None,
        };
        // The MAC header the router received it with: the frame from the sender's side.
        let mac: Option<&[u8]> = (!in_dev.is_empty()).then(|| &f[..14]);
        let uid = (prefix == "OUT: ").then_some(0);
        let got = nf_log_line(&target(&prefix), &p, mac, uid);
        assert_eq!(got, line, "frame {:02x?}", &f[..14]);
        checked += 1;
    }
    assert_eq!((checked, skipped), (51, 4));
}

/// Every rule set of the reference runs (`tests/reference/netfilter/runs/*`), loaded from its
/// `iptables-save` through the model's iptables, lists as iptables 1.8.9 listed it before any
/// traffic (`-L -v -n`, `-L -v -n -x`, `--line-numbers`, the nat and mangle tables) and saves
/// as it saved: byte for byte, but for the date in `iptables-save`'s comment lines.
#[test]
fn reference_rule_sets_list_and_save_as_iptables_does() {
    use sim_stack::netfilter::Ruleset;
    use sim_stack::netfilter::iptables::{apply, split_words};
    use sim_stack::netfilter::iptables_show::save;
    let runs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/netfilter/runs");
    let mut dirs: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| !d.ends_with("rules-legacy-1") && !d.ends_with("state-legacy-1"))
        .collect();
    dirs.sort();
    let mut compared = 0;
    for dir in &dirs {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let Some(saved) = read("router_before_iptables_save.txt") else {
            continue;
        };
        let mut rs = Ruleset::default();
        let mut table = "filter".to_string();
        for l in saved.lines() {
            let cmd: Option<Vec<String>> = if let Some(t) = l.strip_prefix('*') {
                table = t.to_string();
                None
            } else if let Some(c) = l.strip_prefix(':') {
                let mut it = c.split(' ');
                let (name, pol) = (it.next().unwrap(), it.next().unwrap());
                Some(if pol == "-" {
                    vec!["-t".into(), table.clone(), "-N".into(), name.into()]
                } else {
                    vec![
                        "-t".into(),
                        table.clone(),
                        "-P".into(),
                        name.into(),
                        pol.into(),
                    ]
                })
            } else if l.starts_with("-A ") {
                let mut w: Vec<String> = vec!["-t".into(), table.clone()];
                w.extend(split_words(l).unwrap().into_iter().map(|(s, _)| s));
                Some(w)
            } else {
                None
            };
            if let Some(w) = cmd {
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                apply(&mut rs, &w).unwrap_or_else(|e| panic!("{}: {l}: {e:?}", dir.display()));
            }
        }
        rs.link().unwrap();
        for (file, id, f) in [
            (
                "router_before_iptables_L_v_n.txt",
                TableId::Filter,
                ListFormat::default(),
            ),
            (
                "router_before_iptables_L_v_n_x.txt",
                TableId::Filter,
                ListFormat {
                    exact: true,
                    line_numbers: false,
                },
            ),
            (
                "router_before_iptables_L_v_n_line_numbers.txt",
                TableId::Filter,
                ListFormat {
                    exact: false,
                    line_numbers: true,
                },
            ),
            (
                "router_before_iptables_nat_L_v_n.txt",
                TableId::Nat,
                ListFormat::default(),
            ),
            (
                "router_before_iptables_mangle_L_v_n.txt",
                TableId::Mangle,
                ListFormat::default(),
            ),
        ] {
            let Some(want) = read(file) else { continue };
            assert_eq!(list(rs.table(id), f), want, "{}/{file}", dir.display());
            compared += 1;
        }
        // The comment lines carry the date of the capture.
        let strip = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let ours = save(&rs, false, "");
        // iptables-nft also lists tables that exist with no rule (a `-t nat -L` creates one).
        let want: Vec<String> = saved
            .split("COMMIT\n")
            .filter(|block| {
                block
                    .lines()
                    .any(|l| l.starts_with("-A ") || l.contains(" DROP ["))
            })
            .map(|b| format!("{b}COMMIT\n"))
            .collect();
        assert_eq!(strip(&ours), strip(&want.concat()), "{}", dir.display());
        compared += 1;
    }
    assert!(compared >= 30, "{compared} listings compared");
}
