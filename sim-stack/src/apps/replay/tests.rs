//! The capture reader on files written by pcap-file, and tcprewrite's edits on frames
//! checked with etherparse.

use super::*;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::borrow::Cow;
use std::time::Duration;

fn pcap(
    res: TsResolution,
    endianness: Endianness,
    link: DataLink,
    frames: &[(u64, &[u8])],
) -> Vec<u8> {
    let header = PcapHeader {
        ts_resolution: res,
        endianness,
        datalink: link,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (ns, d) in frames {
        w.write_packet(&PcapPacket::new(
            Duration::from_nanos(*ns),
            d.len() as u32,
            d,
        ))
        .unwrap();
    }
    w.into_writer()
}

fn udp_frame(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(5000, 53);
    let mut out = Vec::new();
    b.write(&mut out, b"hello replay").unwrap();
    out
}

#[test]
fn a_pcap_gives_its_frames_with_their_times_after_the_first() {
    let f = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    for (res, t) in [
        (
            TsResolution::MicroSecond,
            [1_000_000_000u64, 1_000_250_000, 1_003_000_000],
        ),
        (
            TsResolution::NanoSecond,
            [1_000_000_001, 1_000_250_002, 1_003_000_003],
        ),
    ] {
        for e in [Endianness::Big, Endianness::Little] {
            let bytes = pcap(
                res,
                e,
                DataLink::ETHERNET,
                &[(t[0], &f), (t[1], &f), (t[2], &f)],
            );
            let c = read_capture(&bytes).unwrap();
            assert_eq!((c.format, c.linktype), ("pcap", LINKTYPE_ETHERNET));
            let offs: Vec<u64> = c.frames.iter().map(|f| f.offset_ns).collect();
            assert_eq!(offs, [0, t[1] - t[0], t[2] - t[0]], "{res:?} {e:?}");
            assert_eq!(c.frames[2].data, f);
            assert_eq!(c.frames[2].wire_len, f.len() as u32);
        }
    }
}

#[test]
fn a_pcapng_is_read_in_its_interfaces_ticks() {
    let f = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    let write = |opts: Vec<InterfaceDescriptionOption<'static>>, ticks: [u64; 2]| {
        let mut w = PcapNgWriter::with_endianness(Vec::new(), Endianness::Little).unwrap();
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options: opts,
        })
        .unwrap();
        for t in ticks {
            w.write_pcapng_block(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: Duration::from_nanos(t),
                original_len: f.len() as u32,
                data: Cow::Borrowed(&f),
                options: vec![],
            })
            .unwrap();
        }
        w.into_inner()
    };
    // Default tick: microseconds. 9: nanoseconds (what `sim run --pcapng` writes).
    let us = read_capture(&write(vec![], [5, 1505])).unwrap();
    assert_eq!(us.frames[1].offset_ns, 1_500_000);
    assert_eq!(us.format, "pcapng");
    let ns = write(vec![InterfaceDescriptionOption::IfTsResol(9)], [5, 1505]);
    assert_eq!(read_capture(&ns).unwrap().frames[1].offset_ns, 1500);
    // 2^-10 s ticks.
    let bin = write(
        vec![InterfaceDescriptionOption::IfTsResol(0x80 | 10)],
        [0, 1024],
    );
    assert_eq!(
        read_capture(&bin).unwrap().frames[1].offset_ns,
        1_000_000_000
    );
}

#[test]
fn bad_files_are_refused_with_what_is_wrong() {
    let f = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    let good = pcap(
        TsResolution::MicroSecond,
        Endianness::Big,
        DataLink::ETHERNET,
        &[(0, &f), (1, &f)],
    );
    assert_eq!(
        read_capture(&good[..good.len() - 3]),
        Err(CaptureError::Truncated("frame 2".into()))
    );
    assert_eq!(
        read_capture(&good[..10]),
        Err(CaptureError::Truncated("the file header".into()))
    );
    assert_eq!(
        read_capture(b"# a text file\n"),
        Err(CaptureError::NotCapture("23 20 61 20".into()))
    );
    assert!(matches!(
        read_capture(&[]),
        Err(CaptureError::NotCapture(_))
    ));
    let empty = pcap(
        TsResolution::MicroSecond,
        Endianness::Big,
        DataLink::ETHERNET,
        &[],
    );
    assert_eq!(read_capture(&empty), Err(CaptureError::Empty));
    let raw = pcap(
        TsResolution::MicroSecond,
        Endianness::Big,
        DataLink::RAW,
        &[(0, &f[14..])],
    );
    let e = read_capture(&raw).unwrap_err();
    assert_eq!(
        e,
        CaptureError::LinkType {
            code: 101,
            name: "RAW".into()
        }
    );
    assert!(
        e.to_string().starts_with("its link type is RAW (101)"),
        "{e}"
    );
}

#[test]
fn cooked_frames_become_ethernet_as_tcprewrite_dlt_enet_makes_them() {
    let f = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    // sll: pkttype 4 (outgoing), ARPHRD_ETHER, halen 6, the address, 2 bytes of pad, proto.
    let mut sll = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 9, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&f[14..]);
    let bytes = pcap(
        TsResolution::MicroSecond,
        Endianness::Big,
        DataLink::LINUX_SLL,
        &[(0, &sll)],
    );
    let mut c = read_capture(&bytes).unwrap();
    assert_eq!(c.linktype, LINKTYPE_LINUX_SLL);
    sll_to_ethernet(&mut c.frames, [2, 0, 0, 0, 0, 7], None).unwrap();
    let mut want = vec![2, 0, 0, 0, 0, 7, 2, 0, 0, 0, 0, 9, 8, 0];
    want.extend_from_slice(&f[14..]);
    assert_eq!(c.frames[0].data, want);
    assert_eq!(c.frames[0].wire_len, want.len() as u32);
    let mut short = vec![ReplayFrame {
        offset_ns: 0,
        wire_len: 10,
        data: vec![0; 10],
    }];
    assert_eq!(
        sll_to_ethernet(&mut short, [0; 6], None),
        Err(CaptureError::ShortSll(1))
    );
}

#[test]
fn cidr_maps_keep_the_host_bits_as_remap_ipv4_does() {
    let m = CidrMap::parse("10.0.0.0/8:192.168.0.0/16").unwrap();
    assert_eq!(
        m.remap(Ipv4Addr::new(10, 1, 2, 3)),
        Some(Ipv4Addr::new(192, 168, 2, 3))
    );
    assert_eq!(m.remap(Ipv4Addr::new(11, 1, 2, 3)), None);
    let host = CidrMap::parse("10.0.0.2:172.16.0.9").unwrap();
    assert_eq!(
        host.remap(Ipv4Addr::new(10, 0, 0, 2)),
        Some(Ipv4Addr::new(172, 16, 0, 9))
    );
    assert_eq!(host.remap(Ipv4Addr::new(10, 0, 0, 3)), None);
    assert_eq!(host.to_string(), "10.0.0.2/32:172.16.0.9/32");
    assert!(CidrMap::parse("10.0.0.0/8").is_err());
    assert!(CidrMap::parse("10.0.0.0/33:1.2.3.4").is_err());
    assert!(CidrMap::parse("10.0.0.x:1.2.3.4").is_err());
}

fn checksums_ok(frame: &[u8]) -> bool {
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 15) * 4;
    if checksum::data(&ip[..ihl]) != 0xffff {
        return false;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let l4 = &ip[ihl..];
    let sum = checksum::data(l4);
    let sum = if ip[9] == 1 {
        sum
    } else {
        checksum::combine(&[
            sum,
            checksum::pseudo_header_v4(src, dst, ip[9], l4.len() as u32),
        ])
    };
    sum == 0xffff
}

#[test]
fn rewriting_addresses_fixes_the_checksums() {
    let r = Rewrite {
        srcipmap: vec![CidrMap::parse("10.0.0.0/24:10.9.0.0/24").unwrap()],
        dstipmap: vec![CidrMap::parse("10.0.1.0/24:10.9.1.0/24").unwrap()],
        enet_dmac: Some([2, 0, 0, 0, 0, 0x63]),
        ..Rewrite::default()
    };
    // UDP, TCP and ICMP.
    let mut frames = vec![udp_frame([10, 0, 0, 2], [10, 0, 1, 53])];
    let mut tcp = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 2], [10, 0, 1, 80], 64)
        .tcp(40000, 80, 1, 64240)
        .syn()
        .write(&mut tcp, &[])
        .unwrap();
    frames.push(tcp);
    let mut icmp = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 2], [10, 0, 1, 1], 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut icmp, &[1, 2, 3])
        .unwrap();
    frames.push(icmp);
    for mut f in frames {
        assert!(checksums_ok(&f));
        assert!(r.apply(&mut f));
        assert_eq!(&f[..6], &[2, 0, 0, 0, 0, 0x63]);
        assert_eq!(&f[26..28], &[10, 9]);
        assert_eq!(&f[30..32], &[10, 9]);
        assert!(checksums_ok(&f), "{f:02x?}");
        let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        assert!(p.net.is_some());
    }
    // pnat applies when the maps changed nothing; an unmatched frame is left alone.
    let p = Rewrite {
        pnat: vec![CidrMap::parse("10.0.0.0/16:172.16.0.0/16").unwrap()],
        ..Rewrite::default()
    };
    let mut f = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    assert!(p.apply(&mut f));
    assert_eq!(
        (&f[26..30], &f[30..34]),
        (&[172, 16, 0, 2][..], &[172, 16, 1, 53][..])
    );
    assert!(checksums_ok(&f));
    let mut g = udp_frame([192, 168, 0, 2], [192, 168, 1, 53]);
    let before = g.clone();
    assert!(!p.apply(&mut g));
    assert_eq!(g, before);
}

#[test]
fn fixcsum_repairs_a_bad_checksum_and_a_fragment_keeps_its_transport_sum() {
    let mut f = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    f[40] ^= 0xff; // the UDP checksum
    f[24] ^= 0xff; // the IP header checksum
    assert!(!checksums_ok(&f));
    let r = Rewrite {
        fixcsum: true,
        ..Rewrite::default()
    };
    assert!(!r.apply(&mut f), "fixing checksums is not a rewrite");
    assert!(checksums_ok(&f));
    // MF set: the header sum is fixed, the UDP one left.
    let mut g = udp_frame([10, 0, 0, 2], [10, 0, 1, 53]);
    g[20] |= 0x20;
    let udp_sum = [g[40], g[41]];
    r.apply(&mut g);
    assert_eq!(checksum::data(&g[14..34]), 0xffff);
    assert_eq!([g[40], g[41]], udp_sum);
}

#[test]
fn speeds_print_as_tcpreplay_takes_them() {
    assert_eq!(
        ReplaySpeed::Multiplier(2_500_000).to_string(),
        "multiplier 2.5"
    );
    assert_eq!(ReplaySpeed::Mbps(10_000_000).to_string(), "mbps 10");
    assert_eq!(ReplaySpeed::Pps(500_000).to_string(), "pps 0.5");
    assert_eq!(ReplaySpeed::Topspeed.to_string(), "topspeed");
}
