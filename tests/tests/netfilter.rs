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
    let dir = temp_dir("nf-reject-icmp");
    let r = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    // The error as REJECT builds it (REFERENCE.md §4.3): TOS 0xc0, no DF, TTL 64, the whole
    // datagram quoted (its TTL already 63: r forwarded it before FORWARD rejected it).
    let frames = read_pcap(&dir.join("a-eth0.pcap"));
    let e = frames
        .iter()
        .map(|f| &f.data)
        .find(|d| d.len() > 34 && d[23] == 1 && d[34] == 3)
        .expect("the ICMP error");
    assert_eq!((e[15], e[20] & 0x40, e[22]), (0xc0, 0, 64), "TOS, DF, TTL");
    assert_eq!(
        u16::from_be_bytes([e[16], e[17]]),
        20 + 8 + 128,
        "whole datagram quoted"
    );
    assert_eq!(e[42 + 8], 63, "quoted TTL");
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

/// The flagship topology (`scenarios/dns_then_http.net`) with `rules` on r1 and `apps` added.
fn flagship_with(rules: &str, apps: &str, server_routes: bool) -> String {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/dns_then_http.net"),
    )
    .expect("the flagship");
    let mut src = src.replace(
        "    iface eth1 { ip 10.0.1.1/24  mac 02:00:00:00:01:01 }\n}",
        &format!("    iface eth1 {{ ip 10.0.1.1/24  mac 02:00:00:00:01:01 }}\n{rules}\n}}"),
    );
    if !server_routes {
        src = src.replace("    route default via 10.0.1.1\n", "");
    }
    src + apps
}

/// The reference's stateful firewall (`runs/state-1`): FORWARD policy DROP, ESTABLISHED and
/// RELATED accepted, NEW only from eth0 to eth1. The flagship works; the UDP probe's ICMP
/// error is RELATED and gets back; web's connection attempt to the client (two SYNs, closed
/// at 1.5 s) and its ping are dropped. Linux's counters after it, which the model must
/// give exactly: NEW 4 packets / 200 bytes (two DNS queries on one entry, the SYN, the
/// probe), RELATED,ESTABLISHED 18 / 5328, the policy 3 / 204.
#[test]
fn a_stateful_firewall_counts_as_linux_counted() {
    let src = flagship_with(
        "    iptables -P FORWARD DROP
    iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    iptables -A FORWARD -i eth0 -o eth1 -m conntrack --ctstate NEW -j ACCEPT",
        "app client: udp_cbr { to 10.0.1.80:9  payload 2B  interval 1s } at 300ms until 301ms
app web: tcp_bulk { to 10.0.0.2:22 } at 500ms until 2s
app web: ping 10.0.0.2 { count 1 } at 3s
",
        true,
    );
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.curl(2).http_code, Some(200));
    assert_eq!(
        r.lines_with(&["client sock udp", "icmp error: ECONNREFUSED"])
            .len(),
        1,
        "{}",
        r.trace
    );
    assert_eq!(
        counts(&r, "r1", TableId::Filter, "FORWARD"),
        [(18, 5328), (4, 200)]
    );
    let n = r.world.node_index("r1").unwrap();
    let text = list(
        r.world.nodes[n].netfilter.ruleset.table(TableId::Filter),
        ListFormat::default(),
    );
    assert!(
        text.contains("Chain FORWARD (policy DROP 3 packets, 204 bytes)\n"),
        "{text}"
    );
    assert!(
        r.lines_with(&["client eth0 rx", "> 10.0.0.2.22"])
            .is_empty()
    );
    // Only the accepted flows have entries (DNS, HTTP, the probe), as `conntrack -L` showed.
    let mut ct = r.world.nodes[n].netfilter.conntrack.clone().unwrap();
    let listing = ct.show_list(sim_core::SimTime::from_nanos(3_500_000_000));
    assert_eq!(listing.lines().count(), 3, "{listing}");
}

/// Frames of a pcap as (IPv4 packet bytes), Ethernet/IPv4 only.
fn ip_packets(path: &std::path::Path) -> Vec<Vec<u8>> {
    common::read_any_pcap(path)
        .into_iter()
        .filter(|(_, f)| f.len() > 34 && f[12..14] == [8, 0])
        .map(|(_, f)| {
            let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
            f[14..14 + total].to_vec()
        })
        .collect()
}

/// `scenarios/netfilter/masquerade.net` against the reference run `masq-1`: on the server
/// side every flow comes from 10.0.1.1 with the client's own port or ICMP id (MASQUERADE
/// keeps them when free); on the client side the replies carry the servers' addresses; the
/// port unreachable about the probe comes back with its quoted header translated back
/// (source 10.0.0.2 and the client's port, quoted TTL 63) and every checksum right, inner
/// ones included; r1's conntrack lists the same four kinds of entry as Linux's did.
#[test]
fn masquerade_translates_as_linux_did() {
    use etherparse::{Icmpv4Type, SlicedPacket, TransportSlice};
    let dir = temp_dir("nf-masq");
    let sc = load(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scenarios/netfilter/masquerade.net"),
        )
        .unwrap(),
        &[],
    );
    let r = run_scenario(&sc, Some(capture_into(&dir, CaptureFormat::Pcap)));
    assert_eq!(r.curl(2).http_code, Some(200));
    assert_eq!(r.ping(4).received, 2);
    let client = ip_packets(&dir.join("client-eth0.pcap"));
    let server = ip_packets(&dir.join("r1-eth1.pcap"));
    // (protocol, source port or id) of the client's flows, and of what r1 sent for them.
    let key = |p: &[u8]| -> (u8, u16) {
        let t = &p[20..];
        match p[9] {
            1 => (1, u16::from_be_bytes([t[4], t[5]])),
            proto => (proto, u16::from_be_bytes([t[0], t[1]])),
        }
    };
    let sent: Vec<(u8, u16)> = client
        .iter()
        .filter(|p| p[12..16] == [10, 0, 0, 2] && !(p[9] == 1 && p[20] == 3))
        .map(|p| key(p))
        .collect();
    let out: Vec<(u8, u16)> = server
        .iter()
        .filter(|p| p[12..16] == [10, 0, 1, 1])
        .map(|p| key(p))
        .collect();
    assert!(!sent.is_empty());
    assert_eq!(sent, out, "MASQUERADE keeps every port and id");
    assert!(
        server
            .iter()
            .all(|p| p[12..16] != [10, 0, 0, 2] && p[16..20] != [10, 0, 0, 2])
    );
    for p in client.iter().chain(&server) {
        // Every checksum on both sides verifies (etherparse checks none; recompute).
        let s = SlicedPacket::from_ip(p).expect("IPv4");
        let ip = etherparse::Ipv4HeaderSlice::from_slice(p).unwrap();
        assert_eq!(
            ip.header_checksum(),
            ip.to_header().calc_header_checksum(),
            "{p:02x?}"
        );
        match s.transport {
            Some(TransportSlice::Tcp(t)) => assert_eq!(
                t.checksum(),
                t.calc_checksum_ipv4(ip.source(), ip.destination()).unwrap(),
                "{p:02x?}"
            ),
            Some(TransportSlice::Udp(u)) => assert_eq!(
                u.checksum(),
                u.to_header()
                    .calc_checksum_ipv4(&ip.to_header(), u.payload())
                    .unwrap()
            ),
            Some(TransportSlice::Icmpv4(i)) => {
                assert_eq!(i.checksum(), i.icmp_type().calc_checksum(i.payload()));
                if let Icmpv4Type::DestinationUnreachable(_) = i.icmp_type() {
                    // The quoted datagram, translated back for the client.
                    let q = i.payload();
                    let qip = etherparse::Ipv4HeaderSlice::from_slice(q).unwrap();
                    assert_eq!(
                        qip.header_checksum(),
                        qip.to_header().calc_header_checksum()
                    );
                    if p[16..20] == [10, 0, 0, 2] {
                        assert_eq!(qip.source(), [10, 0, 0, 2]);
                        assert_eq!(qip.ttl(), 63, "the quoted TTL is the forwarded one");
                        let sport = u16::from_be_bytes([q[20], q[21]]);
                        assert!(sent.contains(&(17, sport)));
                        let udp = etherparse::UdpHeaderSlice::from_slice(&q[20..]).unwrap();
                        assert_eq!(
                            udp.checksum(),
                            udp.to_header()
                                .calc_checksum_ipv4(&qip.to_header(), &q[28..])
                                .unwrap()
                        );
                    } else {
                        assert_eq!(qip.source(), [10, 0, 1, 1]);
                    }
                }
            }
            _ => {}
        }
    }
    // conntrack -L on r1: Linux's lines with the numbers (ports, ids, seconds) blanked.
    let shape = |l: &str| -> String {
        l.split(' ')
            .map(|w| match w.split_once('=') {
                Some((k, _)) if matches!(k, "sport" | "dport" | "id") => format!("{k}=N"),
                _ if w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() => "N".into(),
                _ => w.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let n = r.world.node_index("r1").unwrap();
    let mut ct = r.world.nodes[n].netfilter.conntrack.clone().unwrap();
    let ours: std::collections::BTreeSet<String> = ct
        .show_list(sim_core::SimTime::from_nanos(2_000_000_000))
        .lines()
        .map(shape)
        .collect();
    let linux: std::collections::BTreeSet<String> = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("reference/netfilter/runs/masq-1/conntrack_L_after_all.txt"),
    )
    .unwrap()
    .lines()
    // The second client's entry (10.0.0.3) has no counterpart in this scenario.
    .filter(|l| !l.contains("10.0.0.3"))
    .map(shape)
    .collect();
    assert_eq!(ours, linux);
}

/// The reference's port forward (`runs/dnat-1`): r1 DNATs 10.0.0.1:8080 to web:80. The
/// client talks to 10.0.0.1:8080 and sees the replies come from there; web sees the client's
/// own address and port; r1's entry shows the translation in its reply tuple; only the SYN
/// went through the nat table. On web, REDIRECT maps port 8081 to its own 80.
#[test]
fn dnat_forwards_a_port_and_redirect_maps_one() {
    let src = flagship_with(
        "    iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.80:80",
        "app client: curl \"http://10.0.0.1:8080/\" at 300ms
app client: curl \"http://10.0.1.80:8081/\" at 500ms
",
        true,
    )
    .replace(
        "host web {\n",
        "host web {\n    iptables -t nat -A PREROUTING -p tcp --dport 8081 -j REDIRECT --to-ports 80\n",
    );
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.curl(3).http_code, Some(200), "{:?}", r.curl(3));
    assert_eq!(r.curl(4).http_code, Some(200), "{:?}", r.curl(4));
    let to_fwd = r.lines_with(&["client eth0 tx", "> 10.0.0.1.8080:"]);
    assert!(!to_fwd.is_empty());
    let back = r.lines_with(&["client eth0 rx", "IP 10.0.0.1.8080 > 10.0.0.2."]);
    assert!(!back.is_empty(), "{}", r.trace);
    let at_web = r.lines_with(&["web eth0 rx", "IP 10.0.0.2.", "> 10.0.1.80.80:"]);
    assert!(!at_web.is_empty());
    let dnat = counts(&r, "r1", TableId::Nat, "PREROUTING");
    assert_eq!(dnat, [(1, 60)], "only the SYN meets the nat table");
    assert_eq!(counts(&r, "web", TableId::Nat, "PREROUTING"), [(1, 60)]);
    let n = r.world.node_index("r1").unwrap();
    let mut ct = r.world.nodes[n].netfilter.conntrack.clone().unwrap();
    let list = ct.show_list(sim_core::SimTime::from_nanos(2_000_000_000));
    let line = list
        .lines()
        .find(|l| l.contains("dport=8080"))
        .expect("the forwarded connection");
    assert!(
        line.starts_with("tcp      6 ")
            && line.contains(" TIME_WAIT src=10.0.0.2 dst=10.0.0.1 sport="),
        "{line}"
    );
    assert!(
        line.contains(" src=10.0.1.80 dst=10.0.0.2 sport=80 dport="),
        "{line}"
    );
}

/// `MARK` in mangle FORWARD and an htb `fw` filter on the way out: the datagrams to port
/// 5001 are marked 10 and shaped by class 1:10 (5 Mbit/s), the others go to the default
/// class 1:20 untouched. A mark is the node's: b receives the packets without it.
#[test]
fn marks_steer_a_classful_qdisc() {
    let src = "end 3s
host a { iface eth0 { ip 10.0.0.2/24 }  route default via 10.0.0.1 }
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24  qdisc htb default 20 {
        class 1:1 rate 100Mbit {
            class 1:10 rate 5Mbit ceil 5Mbit
            class 1:20 rate 95Mbit ceil 100Mbit
        }
        filter handle 10 fw flowid 1:10
    } }
    iptables -t mangle -A FORWARD -p udp --dport 5001 -j MARK --set-mark 10
}
host b { iface eth0 { ip 10.0.1.2/24 }  route default via 10.0.1.1 }
link a.eth0 -- r.eth0 { rate 1Gbit  delay 1ms }
link r.eth1 -- b.eth0 { rate 1Gbit  delay 1ms }
app b: udp_sink { port 5001 }
app b: udp_sink { port 5002 }
app a: udp_cbr { to 10.0.1.2:5001  payload 1400B  rate 20Mbit } at 100ms
app a: udp_cbr { to 10.0.1.2:5002  payload 1400B  rate 20Mbit } at 100ms
";
    let r = run_scenario(&load(src, &[]), None);
    let classes = &r.iface("r", "eth1").qdisc.classes;
    let bytes = |id: &str| {
        classes
            .iter()
            .find(|c| c.classid == id)
            .and_then(|c| c.htb.as_ref())
            .map_or(0, |h| h.stats.bytes)
    };
    // 2.9 s of sending: 1:10 at its 5 Mbit/s (within a burst), 1:20 the whole 20 Mbit/s.
    let (marked, rest) = (bytes("1:10"), bytes("1:20"));
    let at = |mbit: u64| mbit * 1_000_000 / 8 * 29 / 10;
    assert!(
        marked > at(5) * 97 / 100 && marked < at(5) * 103 / 100,
        "1:10 {marked}"
    );
    assert!(
        rest > at(20) * 97 / 100 && rest < at(20) * 103 / 100,
        "1:20 {rest}"
    );
    let mangle = counts(&r, "r", TableId::Mangle, "FORWARD");
    let arrived = r.lines_with(&["r eth0 rx", "> 10.0.1.2.5001: UDP"]).len() as u64;
    assert_eq!(mangle[0].0, arrived, "every datagram to 5001 marked");
}

/// `CONNMARK`: r marks the connection of a's pings when the request comes in on eth0
/// (`--set-mark`), restores the connection's mark onto the replies (`--restore-mark`), and a
/// `-m mark` rule counts them; a `-m connmark` rule counts both directions.
#[test]
fn connmark_carries_a_mark_to_the_replies() {
    let src = a_r_b(
        "ping 10.0.1.2 { count 3  interval 200ms }",
        "iptables -t mangle -A PREROUTING -i eth0 -p icmp -j CONNMARK --set-mark 7
         iptables -t mangle -A PREROUTING -i eth1 -j CONNMARK --restore-mark
         iptables -A FORWARD -i eth1 -m mark --mark 7
         iptables -A FORWARD -m connmark --mark 7",
        "",
        "1ms",
        "3s",
    );
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.ping(0).received, 3);
    assert_eq!(
        counts(&r, "r", TableId::Filter, "FORWARD"),
        [(3, 3 * 84), (6, 6 * 84)]
    );
    let n = r.world.node_index("r").unwrap();
    let mut ct = r.world.nodes[n].netfilter.conntrack.clone().unwrap();
    let list = ct.show_list(sim_core::SimTime::from_nanos(2_000_000_000));
    assert!(list.contains(" mark=7 use=1"), "{list}");
}

/// `SNAT --to-source 10.0.1.100` (an address r does not own: r answers ARP for nothing, so
/// b replies to 10.0.1.100 through a route to r), then `NOTRACK` in raw for one port: the
/// untracked datagrams leave unchanged, the tracked ones are translated, and `-m state
/// --state UNTRACKED` sees the first kind.
#[test]
fn snat_to_an_address_and_notrack() {
    let src = a_r_b(
        "udp_cbr { to 10.0.1.2:5001  payload 100B  interval 100ms } until 1.35s",
        "iptables -t raw -A PREROUTING -p udp --dport 5002 -j NOTRACK
         iptables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 10.0.1.1
         iptables -A FORWARD -m state --state UNTRACKED",
        "",
        "1ms",
        "3s",
    )
        + "app a: udp_cbr { to 10.0.1.2:5002  payload 100B  interval 100ms } at 1s until 1.25s
app b: udp_sink { port 5001 }
app b: udp_sink { port 5002 }
";
    let r = run_scenario(&load(&src, &[]), None);
    let to_5001 = r.lines_with(&["b eth0 rx", "> 10.0.1.2.5001: UDP"]);
    let to_5002 = r.lines_with(&["b eth0 rx", "> 10.0.1.2.5002: UDP"]);
    assert_eq!((to_5001.len(), to_5002.len()), (4, 3), "{}", r.trace);
    assert!(
        to_5001.iter().all(|l| l.contains("IP 10.0.1.1.")),
        "{to_5001:?}"
    );
    assert!(
        to_5002.iter().all(|l| l.contains("IP 10.0.0.2.")),
        "{to_5002:?}"
    );
    assert_eq!(counts(&r, "r", TableId::Filter, "FORWARD"), [(3, 3 * 128)]);
    assert_eq!(counts(&r, "r", TableId::Nat, "POSTROUTING"), [(1, 128)]);
}

/// `TCPMSS --clamp-mss-to-pmtu` on a router whose far link has an MTU of 1400: the client's
/// SYN leaves r with MSS 1360 (1400 − 40), its checksum still right (b answers it), and the
/// client then receives segments of 1360 − 12 (timestamps) bytes.
#[test]
fn tcpmss_clamps_the_syn() {
    let src = a_r_b(
        "curl \"http://10.0.1.2/\"",
        "iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
        "",
        "1ms",
        "3s",
    )
    .replace("iface eth1 { ip 10.0.1.1/24 }", "iface eth1 { ip 10.0.1.1/24  mtu 1400 }")
    .replace("iface eth0 { ip 10.0.1.2/24 }", "iface eth0 { ip 10.0.1.2/24  mtu 1400 }")
        + "app b: http_server { port 80  body 20KiB }\n";
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.curl(0).http_code, Some(200), "{:?}", r.curl(0));
    let syn_out = r.lines_with(&["r eth1 tx", "Flags [S]"]);
    assert_eq!(syn_out.len(), 1);
    assert!(syn_out[0].contains("mss 1360,"), "{}", syn_out[0]);
    let syn_in = r.lines_with(&["r eth0 rx", "Flags [S]"]);
    assert!(syn_in[0].contains("mss 1460,"), "{}", syn_in[0]);
    assert!(r.lines_with(&["a eth0 rx", "length 1348"]).len() > 5);
    // `--tcp-flags SYN,RST SYN` takes the SYN-ACK too (its 1360 is left alone).
    assert_eq!(counts(&r, "r", TableId::Mangle, "FORWARD"), [(2, 120)]);
}

/// The matches over one run, each rule only counting (no target), on r's FORWARD. a sends
/// 5 pings (84 bytes, TTL 63 at FORWARD) and 10 UDP datagrams of 100 bytes (128 on IP) to
/// b:5001; b answers the pings. By hand: multiport sees the 10 datagrams; iprange on a's
/// address sees a's 15 packets; length 100:130 the 10 datagrams; ttl-lt 64 all 20 packets
/// (forwarded: already 63); icmp-type echo-reply b's 5 replies; `statistic --mode nth
/// --every 3 --packet 1` of the 10 datagrams packets 1, 4, 7; `! -s 10.0.0.2` b's 5 replies.
#[test]
fn matches_count_what_they_match() {
    let src = a_r_b(
        "ping 10.0.1.2 { count 5  interval 100ms }",
        "iptables -A FORWARD -p udp -m multiport --dports 5000:5002,9
         iptables -A FORWARD -m iprange --src-range 10.0.0.1-10.0.0.9
         iptables -A FORWARD -m length --length 100:130
         iptables -A FORWARD -m ttl --ttl-lt 64
         iptables -A FORWARD -p icmp --icmp-type echo-reply
         iptables -A FORWARD -p udp -m statistic --mode nth --every 3 --packet 1
         iptables -A FORWARD ! -s 10.0.0.2",
        "",
        "1ms",
        "3s",
    )
        + "app a: udp_cbr { to 10.0.1.2:5001  payload 100B  interval 100ms } at 2s until 2.95s
app b: udp_sink { port 5001 }
";
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.ping(0).received, 5);
    let c: Vec<u64> = counts(&r, "r", TableId::Filter, "FORWARD")
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(c, [10, 15, 10, 20, 5, 3, 5]);
}

/// `--tcp-option` and `statistic --mode random` over a curl through r: every segment carries
/// timestamps (option 8), only the SYN and SYN-ACK carry an MSS (option 2); probability 1
/// matches every packet forwarded and probability 0 none (`(random & 0x7fffffff) < P`).
#[test]
fn tcp_options_and_random_statistic() {
    let src = a_r_b(
        "curl \"http://10.0.1.2/\"",
        "iptables -A FORWARD -p tcp --tcp-option 8
         iptables -A FORWARD -p tcp --tcp-option 2
         iptables -A FORWARD -m statistic --mode random --probability 1
         iptables -A FORWARD -m statistic --mode random --probability 0",
        "",
        "1ms",
        "3s",
    ) + "app b: http_server { port 80  body 4KiB }\n";
    let r = run_scenario(&load(&src, &[]), None);
    assert_eq!(r.curl(0).http_code, Some(200));
    let forwarded = r.lines_with(&["r eth", " rx ", "Flags ["]).len() as u64;
    assert!(forwarded > 10);
    let c: Vec<u64> = counts(&r, "r", TableId::Filter, "FORWARD")
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(c, [forwarded, 2, forwarded, 0]);
}
