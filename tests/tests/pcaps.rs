//! Capture validity: run `scenarios/ping.net` with capture on, read every file back with
//! `pcap-file`, and decode every frame independently with `etherparse` — what Wireshark would
//! be shown. Classic pcap (one file per interface) and pcapng (one file) are both checked, and
//! must hold the same frames at the same instants.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacketSlice, EtherType, Ethernet2Slice, Icmpv4Header,
    Icmpv4Slice, IpNumber, Ipv4Slice,
};
use sim_dsl::{Options, Scenario, load_file};
use sim_stack::capture::CaptureFormat;

use common::{Ran, Record};

fn ping_net() -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/ping.net");
    let loaded = load_file(Path::new(path), &Options::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    loaded.scenario.expect("scenario")
}

/// The RFC 1071 one's-complement sum of `data`, folded to 16 bits. A header or message with
/// a correct checksum field sums to 0xffff.
fn ones_complement_sum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// What one interface's frames held.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    tx: u64,
    rx: u64,
    icmp: u64,
    arp: u64,
}

/// Decodes one frame captured on the interface whose address is `mac`, checking everything a
/// dissector would; returns it counted in a fresh tally.
fn check_frame(rec: &Record, mac: [u8; 6], what: &str) -> Tally {
    let mut t = Tally::default();
    let data = &rec.data[..];
    assert_eq!(rec.orig_len as usize, data.len(), "{what}: not truncated");
    let eth = Ethernet2Slice::from_slice_without_fcs(data)
        .unwrap_or_else(|e| panic!("{what}: Ethernet II: {e}"));
    let tx = eth.source() == mac;
    if tx {
        t.tx += 1;
    } else {
        t.rx += 1;
        // Received frames went over the wire: padded to the 60-byte minimum.
        assert!(data.len() >= 60, "{what}: runt of {} bytes", data.len());
        assert!(
            eth.destination() == mac || eth.destination() == [0xff; 6],
            "{what}: received a frame for someone else"
        );
    }
    let payload = eth.payload().payload;
    match eth.ether_type() {
        EtherType::IPV4 => {
            let ip = Ipv4Slice::from_slice(payload).unwrap_or_else(|e| panic!("{what}: IPv4: {e}"));
            let h = ip.header();
            let hdr = h.slice();
            assert_eq!(ones_complement_sum(hdr), 0xffff, "{what}: IPv4 checksum");
            assert_eq!(
                h.to_header().calc_header_checksum(),
                h.header_checksum(),
                "{what}: IPv4 checksum (etherparse)"
            );
            // The frame is the packet, plus zero padding up to 60 bytes and nothing else.
            let total = usize::from(h.total_len());
            let padded = (14 + total).max(60);
            assert_eq!(data.len(), if tx { 14 + total } else { padded }, "{what}");
            assert!(
                data[14 + total..].iter().all(|&b| b == 0),
                "{what}: padding"
            );
            assert_eq!(
                h.protocol(),
                IpNumber::ICMP,
                "{what}: only ICMP in ping.net"
            );
            assert!(
                !ip.is_payload_fragmented(),
                "{what}: no fragments in ping.net"
            );
            let icmp_bytes = ip.payload().payload;
            let icmp =
                Icmpv4Slice::from_slice(icmp_bytes).unwrap_or_else(|e| panic!("{what}: ICMP: {e}"));
            assert_eq!(
                ones_complement_sum(icmp_bytes),
                0xffff,
                "{what}: ICMP checksum"
            );
            assert_eq!(
                Icmpv4Header::with_checksum(icmp.icmp_type(), icmp.payload()).checksum,
                icmp.checksum(),
                "{what}: ICMP checksum (etherparse)"
            );
            // Echo request (8) or reply (0), code 0, 56 bytes of data.
            assert!(matches!(icmp.type_u8(), 0 | 8), "{what}");
            assert_eq!(icmp.code_u8(), 0, "{what}");
            assert_eq!(icmp.payload().len(), 56, "{what}");
            t.icmp += 1;
        }
        EtherType::ARP => {
            let arp =
                ArpPacketSlice::from_slice(payload).unwrap_or_else(|e| panic!("{what}: ARP: {e}"));
            let pkt = arp.to_packet();
            assert_eq!(pkt.hw_addr_type, ArpHardwareId::ETHERNET, "{what}");
            assert_eq!(pkt.proto_addr_type, EtherType::IPV4, "{what}");
            let a = pkt
                .try_eth_ipv4()
                .unwrap_or_else(|e| panic!("{what}: ARP for Ethernet/IPv4: {e:?}"));
            assert_eq!(
                a.sender_mac,
                eth.source(),
                "{what}: ARP sender is the frame's"
            );
            match a.operation {
                ArpOperation::REQUEST => {
                    // Broadcast while resolving; unicast only when probing a known entry.
                    assert!(eth.destination() == [0xff; 6] || eth.destination() == a.target_mac);
                }
                ArpOperation::REPLY => assert_eq!(eth.destination(), a.target_mac, "{what}"),
                other => panic!("{what}: ARP operation {other:?}"),
            }
            // 14 + 28 bytes, padded to 60 once on the wire.
            assert_eq!(data.len(), if tx { 42 } else { 60 }, "{what}");
            assert!(data[42..].iter().all(|&b| b == 0), "{what}: padding");
            t.arp += 1;
        }
        other => panic!("{what}: unexpected EtherType {other:?}"),
    }
    t
}

/// Checks one interface's records; returns the tally.
fn check_iface(ran: &Ran, node: usize, dev: usize, recs: &[&Record]) -> Tally {
    let n = &ran.world.nodes[node];
    let d = &n.devs[dev];
    let name = format!("{}-{}", n.name, d.name);
    let mut tally = Tally::default();
    for (i, rec) in recs.iter().enumerate() {
        let t = check_frame(rec, d.mac.0, &format!("{name} frame {}", i + 1));
        tally.tx += t.tx;
        tally.rx += t.rx;
        tally.icmp += t.icmp;
        tally.arp += t.arp;
    }
    assert!(
        recs.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns),
        "{name}: timestamps go back"
    );
    // Exactly what the device counted at its taps.
    assert_eq!(
        (tally.tx, tally.rx),
        (d.stats.tx_packets, d.stats.rx_packets),
        "{name}"
    );
    // ping -c 4: every interface on the path carries 4 requests and 4 replies, and one ARP
    // exchange (request and reply) with its neighbour. Nothing is probed again: the entries
    // learned from requests turn STALE, then DELAY at first use (about 1 s), and would only be
    // probed delay_first_probe_time = 5 s later, past the end at 6 s.
    assert_eq!((tally.icmp, tally.arp), (8, 2), "{name}");
    assert_eq!((tally.tx, tally.rx), (5, 5), "{name}");
    tally
}

/// Every (node, dev) of the run with its capture name, in registration order.
fn ifaces(ran: &Ran) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (ni, n) in ran.world.nodes.iter().enumerate() {
        for (di, d) in n.devs.iter().enumerate() {
            out.push((ni, di, format!("{}-{}", n.name, d.name)));
        }
    }
    out
}

/// Frames transmitted and received over the whole run, by the device counters.
fn stats_frames(ran: &Ran) -> (u64, u64) {
    let mut tx = 0;
    let mut rx = 0;
    for n in &ran.world.nodes {
        for d in &n.devs {
            tx += d.stats.tx_packets;
            rx += d.stats.rx_packets;
        }
    }
    (tx, rx)
}

fn run_pcap() -> (Ran, BTreeMap<String, Vec<Record>>) {
    let dir = common::temp_dir("pcaps-pcap");
    let ran = common::run_scenario(
        &ping_net(),
        Some(common::capture_into(&dir, CaptureFormat::Pcap)),
    );
    let mut files = BTreeMap::new();
    for (_, _, name) in ifaces(&ran) {
        files.insert(
            name.clone(),
            common::read_pcap(&dir.join(format!("{name}.pcap"))),
        );
    }
    // Nothing else in the folder.
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        files.len(),
        "one file per interface"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
    (ran, files)
}

#[test]
fn every_pcap_frame_decodes_and_matches_the_counters() {
    let (ran, files) = run_pcap();
    assert_eq!(files.len(), 4); // a.eth0, r.eth0, r.eth1, b.eth0
    let mut total = Tally::default();
    for (ni, di, name) in ifaces(&ran) {
        let recs: Vec<&Record> = files[&name].iter().collect();
        let t = check_iface(&ran, ni, di, &recs);
        total.tx += t.tx;
        total.rx += t.rx;
    }
    // Every frame a device sent crossed a link and was received (no loss in ping.net), and
    // the files hold exactly the frames the devices counted.
    let (tx, rx) = stats_frames(&ran);
    assert_eq!((total.tx, total.rx), (tx, rx));
    assert_eq!(tx, rx);
    assert_eq!(ran.stats.frames, tx);
    let summary = ran.capture.as_ref().expect("capture summary");
    assert_eq!(summary.total_frames, tx + rx);
    assert_eq!(summary.files.len(), 4);
    for f in &summary.files {
        let name = f
            .path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(f.frames, files[&name].len() as u64, "{name}");
    }
    // The first frame is a's ARP request, stamped with the ping's start time, 1 s.
    let first = &files["a-eth0"][0];
    assert_eq!(first.ts_ns, 1_000_000_000);
    assert_eq!(first.data[12..14], [0x08, 0x06]);
}

#[test]
fn every_pcapng_frame_decodes_and_matches_the_pcap_files() {
    let dir = common::temp_dir("pcaps-pcapng");
    let ran = common::run_scenario(
        &ping_net(),
        Some(common::capture_into(&dir, CaptureFormat::PcapNg)),
    );
    let (names, recs) = common::read_pcapng(&dir.join("capture.pcapng"));
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 1);
    std::fs::remove_dir_all(&dir).expect("cleanup");

    // One Interface Description Block per interface, in registration order.
    let all = ifaces(&ran);
    let expect_names: Vec<&str> = all.iter().map(|(_, _, n)| n.as_str()).collect();
    assert_eq!(names, expect_names);
    // One file for the whole run: its timestamps never go back either.
    assert!(recs.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
    let (tx, rx) = stats_frames(&ran);
    assert_eq!(recs.len() as u64, tx + rx);
    let summary = ran.capture.as_ref().expect("capture summary");
    assert_eq!(summary.total_frames, tx + rx);

    // Per interface: the same checks, and the same frames at the same instants as the
    // classic pcap run of the same scenario.
    let (_, pcap_files) = run_pcap();
    for (id, (ni, di, name)) in all.iter().enumerate() {
        let mine: Vec<&Record> = recs.iter().filter(|r| r.iface as usize == id).collect();
        check_iface(&ran, *ni, *di, &mine);
        let theirs = &pcap_files[name];
        assert_eq!(mine.len(), theirs.len(), "{name}");
        for (a, b) in mine.iter().zip(theirs) {
            assert_eq!((a.ts_ns, &a.data), (b.ts_ns, &b.data), "{name}");
        }
    }
}
