//! `replay` in whole runs.
//!
//! * The flagship's own client capture (made by running `scenarios/dns_then_http.net`
//!   here), its client's frames replayed from another host into a renumbered copy of the
//!   flagship's far side with tcprewrite's maps: the far side's pcaps hold the frames at the
//!   new addresses with right checksums (checked here, and by tshark when it is installed),
//!   the DNS server answers the replayed queries, the replayer's pcap keeps the capture's
//!   spacing to the nanosecond, and `params.json`-style inputs hold the capture's hash.
//! * Timing as tcpreplay's options give it (multiplier, pps with loop and limit, mbps,
//!   topspeed) on a small capture made here, with a frame above the MTU failing with
//!   `EMSGSIZE`, counted and traced, as tcpreplay fails it.
//! * A queue too short for topspeed: the qdisc's drops are `ENOBUFS`, retried, and every
//!   frame arrives in order.

mod common;

use std::path::{Path, PathBuf};

use common::{capture_into, read_pcap, run_scenario, temp_dir};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, TsResolution};
use sim_stack::apps::AppReport;
use sim_stack::apps::replay::{CidrMap, ReplayReport, Rewrite};
use sim_stack::capture::CaptureFormat;

fn write_pcap(path: &Path, frames: &[(u64, Vec<u8>)]) {
    let header = PcapHeader {
        ts_resolution: TsResolution::NanoSecond,
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let f = std::fs::File::create(path).expect("creates");
    let mut w = PcapWriter::with_header(f, header).expect("header");
    for (ns, d) in frames {
        w.write_packet(&PcapPacket::new(
            std::time::Duration::from_nanos(*ns),
            d.len() as u32,
            d,
        ))
        .expect("writes");
    }
}

fn load_file(path: &Path) -> sim_dsl::Loaded {
    sim_dsl::load_file(path, &sim_dsl::Options::default())
}

fn replay_report(ran: &common::Ran) -> ReplayReport {
    ran.world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::Replay(r) => Some(*r),
            _ => None,
        })
        .expect("a replay app")
}

/// Whether an Ethernet frame's IPv4 header checksum and its TCP, UDP or ICMP checksum are
/// right (an unfragmented datagram), by RFC 1071 sums written out here.
fn checksums_ok(f: &[u8]) -> bool {
    fn sum(b: &[u8], mut acc: u32) -> u32 {
        for w in b.chunks(2) {
            acc += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        acc
    }
    fn fold(mut a: u32) -> u16 {
        while a > 0xffff {
            a = (a & 0xffff) + (a >> 16);
        }
        a as u16
    }
    let ip = &f[14..];
    let ihl = usize::from(ip[0] & 15) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if fold(sum(&ip[..ihl], 0)) != 0xffff {
        return false;
    }
    let l4 = &ip[ihl..total];
    let proto = ip[9];
    let pseudo = if proto == 1 {
        0
    } else {
        sum(&ip[12..20], u32::from(proto) + l4.len() as u32)
    };
    fold(sum(l4, pseudo)) == 0xffff
}

fn ipv4(f: &[u8]) -> bool {
    f.len() > 34 && f[12..14] == [8, 0]
}

/// tshark's verdict on every checksum of `pcap`: the frames it finds bad or malformed
/// (`None` when tshark is not installed).
fn tshark_bad(pcap: &Path) -> Option<String> {
    let out = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(pcap)
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            "ip.checksum.status==0 || tcp.checksum.status==0 || udp.checksum.status==0 \
             || icmp.checksum.status==0 || _ws.malformed",
        ])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

const FAR_SIDE: &str = "
end 8s
host player {
    iface eth0 { ip 10.9.0.2/24  mac 02:00:00:00:09:02 }
    route default via 10.9.0.1
}
router r1 {
    iface eth0 { ip 10.9.0.1/24  mac 02:00:00:00:09:01 }
    iface eth1 { ip 10.9.1.1/24  mac 02:00:00:00:09:11 }
}
switch sw0
host dns { iface eth0 { ip 10.9.1.53/24 }  route default via 10.9.1.1 }
host web { iface eth0 { ip 10.9.1.80/24 }  route default via 10.9.1.1 }
link player.eth0 -- r1.eth0 { rate 1Gbit  delay 100us }
link r1.eth1 -- sw0 { rate 1Gbit  delay 10us }
link dns.eth0 -- sw0 { rate 1Gbit  delay 10us }
link web.eth0 -- sw0 { rate 1Gbit  delay 10us }
app dns: dns_server { record baidu.com A 10.9.1.80 }
app web: http_server { port 80  body 4KiB }
app player: replay \"client-tx.pcap\" {
    iface eth0
    srcipmap 10.0.0.0/24:10.9.0.0/24
    dstipmap 10.0.1.0/24:10.9.1.0/24
    enet_smac 02:00:00:00:09:02
    enet_dmac 02:00:00:00:09:01
} at 1s
";

#[test]
fn the_flagships_capture_drives_a_renumbered_network() {
    // The flagship's own capture, made now.
    let flagship = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/dns_then_http.net");
    let l = load_file(&flagship);
    let sc = l.scenario.expect("the flagship loads");
    let dir = temp_dir("replay-flagship");
    run_scenario(
        &sc,
        Some(capture_into(&dir.join("flag"), CaptureFormat::Pcap)),
    );
    let client = read_pcap(&dir.join("flag/client-eth0.pcap"));
    // The client's own frames, as tcpdump -Q out would have written them.
    let tx: Vec<(u64, Vec<u8>)> = client
        .iter()
        .filter(|r| r.data[6..12] == [2, 0, 0, 0, 0, 2])
        .map(|r| (r.ts_ns, r.data.clone()))
        .collect();
    let udp_queries = tx.iter().filter(|(_, f)| ipv4(f) && f[23] == 17).count();
    assert_eq!(udp_queries, 2, "A and AAAA");
    write_pcap(&dir.join("client-tx.pcap"), &tx);
    std::fs::write(dir.join("replay.net"), FAR_SIDE).expect("writes");

    let l = load_file(&dir.join("replay.net"));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    assert_eq!(l.data_inputs.len(), 1);
    assert_eq!(l.data_inputs[0].path, dir.join("client-tx.pcap"));
    let ran = run_scenario(
        l.scenario.as_ref().expect("loads"),
        Some(capture_into(&dir.join("out"), CaptureFormat::Pcap)),
    );
    let r = replay_report(&ran);
    assert_eq!(
        (r.frames, r.sent, r.failed, r.skipped),
        (tx.len() as u64, tx.len() as u64, 0, 0)
    );
    assert_eq!(r.sha256, l.data_inputs[0].sha256);

    // The replayer's pcap: each frame as tcprewrite makes it, at 1 s plus its offset in the
    // capture, to the ns (among the frames of the player's own stack: ARP replies, ICMP
    // port unreachables for the answers, RSTs for the SYN-ACK).
    let rw = Rewrite {
        srcipmap: vec![CidrMap::parse("10.0.0.0/24:10.9.0.0/24").unwrap()],
        dstipmap: vec![CidrMap::parse("10.0.1.0/24:10.9.1.0/24").unwrap()],
        enet_smac: Some([2, 0, 0, 0, 9, 2]),
        enet_dmac: Some([2, 0, 0, 0, 9, 1]),
        ..Rewrite::default()
    };
    let player = read_pcap(&dir.join("out/player-eth0.pcap"));
    let mut from = 0;
    for (i, (t, f)) in tx.iter().enumerate() {
        let mut want = f.clone();
        rw.apply(&mut want);
        let at = player[from..]
            .iter()
            .position(|r| r.data == want)
            .unwrap_or_else(|| panic!("frame {i} was not sent as rewritten"))
            + from;
        assert_eq!(player[at].ts_ns - 1_000_000_000, t - tx[0].0, "frame {i}");
        from = at + 1;
    }
    // The far side: the queries at 10.9.x.x, one hop later, checksums right.
    let dns = read_pcap(&dir.join("out/dns-eth0.pcap"));
    let queries: Vec<_> = dns
        .iter()
        .filter(|r| ipv4(&r.data) && r.data[23] == 17 && r.data[36..38] == [0, 53])
        .collect();
    assert_eq!(queries.len(), 2);
    for q in &queries {
        assert_eq!(&q.data[26..34], &[10, 9, 0, 2, 10, 9, 1, 53]);
        assert_eq!(q.data[22], 63, "TTL 64 less the router's hop");
        assert!(checksums_ok(&q.data));
    }
    let web = read_pcap(&dir.join("out/web-eth0.pcap"));
    let syn = web
        .iter()
        .find(|r| ipv4(&r.data) && r.data[23] == 6 && r.data[47] == 0x02)
        .expect("the replayed SYN");
    assert_eq!(&syn.data[26..34], &[10, 9, 0, 2, 10, 9, 1, 80]);
    // The DNS server answered both, as it would the client.
    let dns_report = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::DnsServer(d) => Some(d),
            _ => None,
        })
        .expect("dns_server");
    assert_eq!(dns_report.queries, 2);
    // Every IPv4 frame anywhere has right checksums; tshark agrees.
    for f in ["player-eth0", "r1-eth0", "r1-eth1", "dns-eth0", "web-eth0"] {
        let p = dir.join(format!("out/{f}.pcap"));
        for r in read_pcap(&p).iter().filter(|r| ipv4(&r.data)) {
            assert!(checksums_ok(&r.data), "{f}: {:02x?}", r.data);
        }
        if let Some(bad) = tshark_bad(&p) {
            assert_eq!(bad, "", "{f}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture of four frames of a local EtherType, 100, 100, 1600 (above the MTU) and 100
/// bytes, at 0, 1, 2 and 10 ms, replayed from a to b with `opts`; the report and the times
/// (since the start at 1 s) the frames left a.
fn timed(tag: &str, opts: &str) -> (ReplayReport, Vec<u64>, String) {
    let dir = temp_dir(tag);
    let frame = |len: usize, i: u8| {
        let mut f = vec![2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 2, 0x88, 0xb5];
        f.resize(len, i);
        f
    };
    let frames = vec![
        (0, frame(100, 1)),
        (1_000_000, frame(100, 2)),
        (2_000_000, frame(1600, 3)),
        (10_000_000, frame(100, 4)),
    ];
    write_pcap(&dir.join("c.pcap"), &frames);
    std::fs::write(
        dir.join("t.net"),
        format!(
            "end 1995ms
host a {{ iface eth0 {{ ip 10.0.0.2/24  mac 02:00:00:00:00:02 }} }}
host b {{ iface eth0 {{ ip 10.0.0.3/24  mac 02:00:00:00:00:03 }} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 1ms }}
app a: replay \"c.pcap\" {{ iface eth0  {opts} }} at 1s
"
        ),
    )
    .expect("writes");
    let l = load_file(&dir.join("t.net"));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let ran = run_scenario(
        l.scenario.as_ref().expect("loads"),
        Some(capture_into(&dir.join("out"), CaptureFormat::Pcap)),
    );
    let times = read_pcap(&dir.join("out/a-eth0.pcap"))
        .iter()
        .filter(|r| r.data[12..14] == [0x88, 0xb5])
        .map(|r| r.ts_ns - 1_000_000_000)
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (replay_report(&ran), times, ran.trace)
}

#[test]
fn timing_follows_tcpreplays_options_and_an_oversize_frame_fails() {
    // --multiplier 2: half the spacing; the 1600-byte frame is EMSGSIZE and the rest goes on.
    let (r, t, trace) = timed("replay-mult", "multiplier 2");
    assert_eq!(t, [0, 500_000, 5_000_000]);
    assert_eq!((r.sent, r.failed, r.bytes), (3, 1, 300));
    assert_eq!(r.errors.get("EMSGSIZE"), Some(&1));
    assert!(
        trace.contains("1.001000000 a sock packet eth0 proto 0x0003 sendto: EMSGSIZE"),
        "{trace}"
    );
    // --pps 1000 --loop 2 --limit 5: a frame sent a millisecond (the failed one takes no
    // slot: tcpreplay --pps=1000 --limit=17 on the shipped capture through an MTU of 1000
    // sends its 17 packets in 16 ms, failing 3), and the limit counts the frames sent.
    let (r, t, _) = timed("replay-pps", "pps 1000  loop 2  limit 5");
    assert_eq!(t, [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]);
    assert_eq!((r.sent, r.failed, r.loops, r.skipped), (5, 1, 1, 0));
    // --mbps 8: a byte a microsecond, counted over the bytes sent.
    let (_, t, _) = timed("replay-mbps", "mbps 8");
    assert_eq!(t, [0, 100_000, 200_000]);
    // --topspeed: all at once.
    let (r, t, _) = timed("replay-top", "topspeed on  loop 3");
    assert_eq!(t, [0; 9]);
    assert_eq!((r.sent, r.failed, r.loops), (9, 3, 3));
    // The default, and a run that ends first: what was not sent is skipped.
    let (r, t, _) = timed("replay-plain", "loop 200");
    assert_eq!(&t[..3], [0, 1_000_000, 10_000_000]);
    // 10 ms a loop: 99 of them by 1.99 s, then three frames of the hundredth before the
    // run ends at 1.995 s.
    assert_eq!(r.loops, 99);
    assert_eq!(r.skipped, 4 * 200 - (4 * 99 + 3));
}

#[test]
fn a_full_queue_is_enobufs_retried_until_every_frame_went() {
    let dir = temp_dir("replay-enobufs");
    let frames: Vec<(u64, Vec<u8>)> = (0..20u8)
        .map(|i| {
            let mut f = vec![2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 2, 0x88, 0xb5];
            f.resize(1000, i);
            (0, f)
        })
        .collect();
    write_pcap(&dir.join("c.pcap"), &frames);
    std::fs::write(
        dir.join("t.net"),
        "end 2s
host a { iface eth0 { ip 10.0.0.2/24  mac 02:00:00:00:00:02  qdisc pfifo limit 2  tx_ring 2 } }
host b { iface eth0 { ip 10.0.0.3/24  mac 02:00:00:00:00:03 } }
link a.eth0 -- b.eth0 { rate 10Mbit  delay 1ms }
app a: replay \"c.pcap\" { iface eth0  topspeed on } at 1s
",
    )
    .expect("writes");
    let l = load_file(&dir.join("t.net"));
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let ran = run_scenario(
        l.scenario.as_ref().expect("loads"),
        Some(capture_into(&dir.join("out"), CaptureFormat::Pcap)),
    );
    let r = replay_report(&ran);
    assert_eq!((r.sent, r.failed), (20, 0));
    assert!(r.retried_enobufs > 0, "{r:?}");
    let got: Vec<u8> = read_pcap(&dir.join("out/b-eth0.pcap"))
        .iter()
        .map(|r| r.data[20])
        .collect();
    assert_eq!(got, (0..20).collect::<Vec<u8>>());
    let _ = std::fs::remove_dir_all(&dir);
}

/// tcprewrite, when it is installed, on the shipped capture: its output frame for frame
/// equals what `replay` sends, for the address maps and MACs of `scenarios/replay.net`,
/// for `--pnat`, and for `--fixcsum` on frames whose checksums were spoiled.
#[test]
fn rewriting_matches_tcprewrite_byte_for_byte() {
    let dir = temp_dir("replay-tcprewrite");
    let cap = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/captures/flagship-client.pcap");
    let frames: Vec<Vec<u8>> = read_pcap(&cap).into_iter().map(|r| r.data).collect();
    // The same frames with every UDP and TCP checksum spoiled, for --fixcsum.
    let spoiled: Vec<(u64, Vec<u8>)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut f = f.clone();
            if ipv4(&f) {
                let at = 14 + usize::from(f[14] & 15) * 4 + if f[23] == 6 { 16 } else { 6 };
                f[at] ^= 0x5a;
            }
            (i as u64 * 1000, f)
        })
        .collect();
    let spoiled_path = dir.join("spoiled.pcap");
    write_pcap(&spoiled_path, &spoiled);
    let cases: Vec<(&[&str], Rewrite, &Path)> = vec![
        (
            &[
                "--srcipmap=10.0.0.0/24:10.9.0.0/24",
                "--dstipmap=10.0.1.0/24:10.9.1.0/24",
                "--enet-smac=02:00:00:00:09:02",
                "--enet-dmac=02:00:00:00:09:01",
            ],
            Rewrite {
                srcipmap: vec![CidrMap::parse("10.0.0.0/24:10.9.0.0/24").unwrap()],
                dstipmap: vec![CidrMap::parse("10.0.1.0/24:10.9.1.0/24").unwrap()],
                enet_smac: Some([2, 0, 0, 0, 9, 2]),
                enet_dmac: Some([2, 0, 0, 0, 9, 1]),
                ..Rewrite::default()
            },
            &cap,
        ),
        (
            &["--pnat=10.0.0.0/16:172.16.0.0/16"],
            Rewrite {
                pnat: vec![CidrMap::parse("10.0.0.0/16:172.16.0.0/16").unwrap()],
                ..Rewrite::default()
            },
            &cap,
        ),
        (
            &["--fixcsum"],
            Rewrite {
                fixcsum: true,
                ..Rewrite::default()
            },
            &spoiled_path,
        ),
    ];
    for (args, rw, input) in cases {
        let out = dir.join("out.pcap");
        let Ok(status) = std::process::Command::new("tcprewrite")
            .args(args)
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .status()
        else {
            eprintln!("tcprewrite is not installed: nothing to compare with");
            return;
        };
        assert!(status.success(), "tcprewrite {args:?}");
        // tcprewrite writes microsecond pcap: read it with replay's own reader.
        let bytes = std::fs::read(&out).expect("tcprewrite's output");
        let theirs: Vec<Vec<u8>> = sim_stack::apps::replay::read_capture(&bytes)
            .expect("a capture")
            .frames
            .into_iter()
            .map(|f| f.data)
            .collect();
        assert_eq!(theirs.len(), frames.len(), "{args:?}");
        let ours: Vec<Vec<u8>> = read_pcap(input)
            .into_iter()
            .map(|r| {
                let mut f = r.data;
                rw.apply(&mut f);
                f
            })
            .collect();
        assert_eq!(ours.len(), frames.len());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{args:?}: frame {i}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
