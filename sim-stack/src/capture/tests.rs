use std::sync::atomic::{AtomicU32, Ordering};

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;

use super::*;

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("netsim-capture-{}-{test}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A recognisable frame: `len` bytes derived from `seed`.
fn frame(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seed as usize * 31 + i * 7) as u8)
        .collect()
}

fn read_pcap(path: &Path) -> (PcapHeader, Vec<(Duration, u32, Vec<u8>)>) {
    let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
    let header = reader.header();
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        frames.push((packet.timestamp, packet.orig_len, packet.data.into_owned()));
    }
    (header, frames)
}

const EXPECTED_HEADER: [u8; 24] = [
    0x4d, 0x3c, 0xb2, 0xa1, // magic, nanosecond resolution, little-endian
    0x02, 0x00, 0x04, 0x00, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone
    0x00, 0x00, 0x00, 0x00, // sigfigs
    0x00, 0x00, 0x04, 0x00, // snaplen 262144
    0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
];

#[test]
fn record_headers_are_the_bytes_pcap_file_writes() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let header = PcapFiles::new(&CaptureConfig::new("unused", CaptureFormat::Pcap))
        .unwrap()
        .header;
    for (t, orig, incl) in [
        (0u64, 60u32, 60usize),
        (1, 1514, 1514),
        (999_999_999, 300_000, 262_144),
        (4_294_967_295_999_999_999, 42, 42),
    ] {
        let data = frame(t as u32, incl);
        let mut theirs = Vec::new();
        PcapWriter::with_header(&mut theirs, header)
            .unwrap()
            .write_packet(&PcapPacket::new(Duration::from_nanos(t), orig, &data))
            .unwrap();
        let ours = record_header(Duration::from_nanos(t), orig, incl, header.snaplen).unwrap();
        assert_eq!(
            &theirs[PCAP_HEADER_LEN..PCAP_HEADER_LEN + 16],
            &ours[..],
            "t={t}"
        );
    }
    // What pcap-file refuses, refused with its message.
    for (t, orig, incl) in [
        (4_294_967_296_000_000_000u64, 60u32, 60usize),
        (0, 60, 262_145),
        (0, 59, 60),
    ] {
        let data = frame(0, incl);
        let mut sink = Vec::new();
        let mut w = PcapWriter::with_header(&mut sink, header).unwrap();
        let theirs = w
            .write_packet(&PcapPacket::new(Duration::from_nanos(t), orig, &data))
            .unwrap_err();
        let ours = record_header(Duration::from_nanos(t), orig, incl, header.snaplen).unwrap_err();
        assert_eq!(ours.to_string(), theirs.to_string());
    }
}

#[test]
fn files_closed_for_room_are_reopened_for_appending() {
    let tmp = TempDir::new("reopen");
    let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
    config.memory_budget = 4 << 10;
    let mut cap = Capture::new(config).unwrap();
    let n = MAX_OPEN + 20;
    let ifcs: Vec<CaptureIf> = (0..n)
        .map(|i| cap.add_interface(&format!("h{i}")))
        .collect();
    let mut expected = vec![Vec::new(); n];
    for k in 0..(4 * n as u32) {
        let i = (k as usize * 7) % n;
        let f = frame(k, 100 + k as usize % 300);
        cap.record(&ifcs[i], SimTime::from_nanos(u64::from(k)), &f, None)
            .unwrap();
        expected[i].push((Duration::from_nanos(u64::from(k)), f.len() as u32, f));
    }
    cap.flush().unwrap();
    let Sink::Pcap(p) = &cap.sink else {
        unreachable!()
    };
    assert!(
        p.io.stats.opens > n as u64,
        "some files were closed and reopened"
    );
    assert!(p.io.stats.max_open as usize <= MAX_OPEN);
    cap.finish().unwrap();
    for (i, want) in expected.iter().enumerate() {
        let (_, frames) = read_pcap(&tmp.path(&format!("h{i}.pcap")));
        assert_eq!(&frames, want, "interface {i}");
    }
}

#[test]
fn pcap_frames_and_ns_timestamps_read_back() {
    let tmp = TempDir::new("roundtrip");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    let a = cap.add_interface("client-eth0");
    let b = cap.add_interface("r1-eth0");
    let times = [
        0,
        1,
        999_999_999,
        1_000_000_000,
        1_234_567_891,
        86_400_000_000_007,
    ];
    let mut expected_a = Vec::new();
    for (k, &t) in times.iter().enumerate() {
        let f = frame(k as u32, 60 + k * 100);
        cap.record(&a, SimTime::from_nanos(t), &f, Some("ignored for pcap"))
            .unwrap();
        expected_a.push((Duration::from_nanos(t), f.len() as u32, f));
    }
    let fb = frame(99, 1514);
    cap.record(&b, SimTime::from_nanos(5), &fb, None).unwrap();
    let written = cap.bytes_written();
    let summary = cap.finish().unwrap();

    let (header, frames) = read_pcap(&tmp.path("client-eth0.pcap"));
    assert_eq!(header.ts_resolution, TsResolution::NanoSecond);
    assert_eq!(header.datalink, DataLink::ETHERNET);
    assert_eq!(frames, expected_a);
    let (_, frames) = read_pcap(&tmp.path("r1-eth0.pcap"));
    assert_eq!(frames, vec![(Duration::from_nanos(5), 1514, fb)]);

    assert_eq!(summary.files.len(), 2);
    assert_eq!(summary.files[0].path, tmp.path("client-eth0.pcap"));
    assert_eq!(summary.files[0].frames, times.len() as u64);
    assert_eq!(summary.files[1].frames, 1);
    assert_eq!(summary.total_frames, times.len() as u64 + 1);
    assert_eq!(summary.total_bytes, written);
    for file in &summary.files {
        assert_eq!(fs::metadata(&file.path).unwrap().len(), file.bytes);
    }
    assert_eq!(summary.files.iter().map(|f| f.bytes).sum::<u64>(), written);
}

#[test]
fn pcap_global_header_bytes_are_exact() {
    let tmp = TempDir::new("header");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    let a = cap.add_interface("h-eth0");
    let f = frame(1, 42);
    cap.record(&a, SimTime::from_nanos(1_500_000_001), &f, None)
        .unwrap();
    cap.finish().unwrap();
    let bytes = fs::read(tmp.path("h-eth0.pcap")).unwrap();
    assert_eq!(bytes[..24], EXPECTED_HEADER);
    // The record header: ts_sec 1, ts_nsec 500000001, incl_len 42, orig_len 42.
    let mut record = Vec::new();
    for v in [1u32, 500_000_001, 42, 42] {
        record.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(bytes[24..40], record[..]);
    assert_eq!(bytes[40..], f[..]);
}

#[test]
fn idle_interface_gets_a_header_only_file() {
    let tmp = TempDir::new("idle");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    cap.add_interface("idle-eth0");
    let busy = cap.add_interface("busy-eth0");
    cap.record(&busy, SimTime::ZERO, &frame(0, 60), None)
        .unwrap();
    let summary = cap.finish().unwrap();
    assert_eq!(
        fs::read(tmp.path("idle-eth0.pcap")).unwrap(),
        EXPECTED_HEADER
    );
    assert_eq!(summary.files[0].bytes, 24);
    assert_eq!(summary.files[0].frames, 0);
    let (_, frames) = read_pcap(&tmp.path("idle-eth0.pcap"));
    assert!(frames.is_empty());
}

#[test]
fn long_frames_are_cut_at_snaplen_keeping_the_original_length() {
    let tmp = TempDir::new("snaplen");
    let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
    config.snaplen = 100;
    let mut cap = Capture::new(config).unwrap();
    let a = cap.add_interface("a");
    let f = frame(3, 300);
    cap.record(&a, SimTime::ZERO, &f, None).unwrap();
    cap.finish().unwrap();
    let bytes = fs::read(tmp.path("a.pcap")).unwrap();
    assert_eq!(bytes[16..20], 100u32.to_le_bytes());
    assert_eq!(bytes[24 + 8..24 + 16], [100, 0, 0, 0, 44, 1, 0, 0]); // incl 100, orig 300
    assert_eq!(bytes[40..], f[..100]);
    // (pcap-file 2.0.0's reader rejects records whose orig_len exceeds the snaplen, so
    // this is checked on the bytes; tshark reads such files.)
}

#[test]
fn timestamp_past_u32_seconds_fails_that_call_only() {
    let tmp = TempDir::new("tsrange");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    let a = cap.add_interface("a");
    let too_late = SimTime::from_nanos((u64::from(u32::MAX) + 1) * 1_000_000_000);
    let err = cap.record(&a, too_late, &frame(0, 60), None).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("a.pcap"), "{err}");
    cap.record(&a, SimTime::from_nanos(7), &frame(1, 60), None)
        .unwrap();
    cap.finish().unwrap();
    let (_, frames) = read_pcap(&tmp.path("a.pcap"));
    assert_eq!(frames.len(), 1);
}

#[test]
fn pcapng_has_names_tsresol_comments_and_ns_timestamps() {
    let tmp = TempDir::new("pcapng");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::PcapNg)).unwrap();
    let a = cap.add_interface("client-eth0");
    let b = cap.add_interface("r1-eth0");
    let fa = frame(1, 60);
    let fb = frame(2, 1514);
    let path = "dev_hard_start_xmit ← sch_direct_xmit ← __qdisc_run";
    cap.record(&a, SimTime::from_nanos(1_234_567_891), &fa, Some(path))
        .unwrap();
    cap.record(&b, SimTime::from_nanos(2_000_000_003), &fb, None)
        .unwrap();
    cap.record(&a, SimTime::from_nanos(3_000_000_000), &fb[..61], Some("x"))
        .unwrap();
    // A comment longer than an option can hold is cut on a character boundary.
    let long = "é".repeat(40_000);
    cap.record(&b, SimTime::from_nanos(4), &fa, Some(&long))
        .unwrap();
    // An interface registered after frames were written gets its block there.
    let late = cap.add_interface("late-eth9");
    cap.record(&late, SimTime::from_nanos(5), &fa, None)
        .unwrap();
    let written = cap.bytes_written();
    let summary = cap.finish().unwrap();
    let file = tmp.path("capture.pcapng");
    assert_eq!(summary.files.len(), 1);
    assert_eq!(summary.files[0].path, file);
    assert_eq!(summary.files[0].frames, 5);
    assert_eq!(summary.total_bytes, written);
    assert_eq!(fs::metadata(&file).unwrap().len(), written);

    let mut reader = PcapNgReader::new(File::open(&file).unwrap()).unwrap();
    assert_eq!(reader.section().endianness, Endianness::Little);
    let mut packets = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::EnhancedPacket(epb) = block.unwrap() {
            let comments: Vec<String> = epb
                .options
                .iter()
                .map(|o| match o {
                    EnhancedPacketOption::Comment(c) => c.to_string(),
                    other => panic!("unexpected option {other:?}"),
                })
                .collect();
            packets.push((
                epb.interface_id,
                epb.timestamp,
                epb.original_len,
                epb.data.into_owned(),
                comments,
            ));
        }
    }
    let interfaces = reader.interfaces();
    assert_eq!(interfaces.len(), 3);
    for (idb, name) in interfaces
        .iter()
        .zip(["client-eth0", "r1-eth0", "late-eth9"])
    {
        assert_eq!(idb.linktype, DataLink::ETHERNET);
        assert_eq!(idb.snaplen, DEFAULT_SNAPLEN);
        assert_eq!(
            idb.options,
            vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed(name)),
                InterfaceDescriptionOption::IfTsResol(9),
            ]
        );
    }
    let cut = "é".repeat(MAX_OPTION_LEN / 2);
    assert_eq!(
        packets,
        vec![
            (
                0,
                Duration::from_nanos(1_234_567_891),
                60,
                fa.clone(),
                vec![path.to_owned()]
            ),
            (
                1,
                Duration::from_nanos(2_000_000_003),
                1514,
                fb.clone(),
                vec![]
            ),
            (
                0,
                Duration::from_secs(3),
                61,
                fb[..61].to_vec(),
                vec!["x".to_owned()]
            ),
            (1, Duration::from_nanos(4), 60, fa.clone(), vec![cut]),
            (2, Duration::from_nanos(5), 60, fa, vec![]),
        ]
    );
}

#[test]
fn five_thousand_interfaces_with_few_files_open() {
    let tmp = TempDir::new("many");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    let n = 5_000;
    let ifcs: Vec<CaptureIf> = (0..n)
        .map(|i| cap.add_interface(&format!("h{i}-eth0")))
        .collect();
    for round in 0..3u32 {
        for (i, ifc) in ifcs.iter().enumerate() {
            let t = SimTime::from_nanos(u64::from(round) * 1_000 + i as u64);
            cap.record(ifc, t, &frame(i as u32 + round, 60 + i % 100), None)
                .unwrap();
        }
    }
    let Sink::Pcap(p) = &cap.sink else {
        unreachable!()
    };
    // Nothing handed to the writer yet: 15,000 small frames fit in the budget.
    assert_eq!(p.io.handed, 0);
    cap.flush().unwrap();
    let Sink::Pcap(p) = &cap.sink else {
        unreachable!()
    };
    assert_eq!(p.io.stats.max_open as usize, MAX_OPEN);
    assert_eq!(p.io.stats.opens, n as u64);
    let summary = cap.finish().unwrap();
    assert_eq!(summary.files.len(), n);
    for (i, file) in summary.files.iter().enumerate() {
        let (_, frames) = read_pcap(&file.path);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].2, frame(i as u32 + 2, 60 + i % 100));
    }
}

#[test]
fn at_most_max_open_files_and_one_open_per_file_at_finish() {
    let tmp = TempDir::new("opens");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    let ifcs: Vec<CaptureIf> = (0..300)
        .map(|i| cap.add_interface(&format!("h{i}")))
        .collect();
    for ifc in &ifcs {
        cap.record(ifc, SimTime::ZERO, &frame(0, 100), None)
            .unwrap();
    }
    cap.flush().unwrap();
    let Sink::Pcap(p) = &cap.sink else {
        unreachable!()
    };
    assert_eq!(p.io.stats.max_open as usize, MAX_OPEN);
    assert_eq!(p.io.stats.opens, 300);
    assert_eq!(p.io.stats.open as usize, MAX_OPEN);
    cap.finish().unwrap();
}

#[test]
fn tiny_budget_evicts_and_keeps_every_frame_in_order() {
    let tmp = TempDir::new("budget");
    let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
    config.memory_budget = 16 << 10;
    let mut cap = Capture::new(config).unwrap();
    let ifcs: Vec<CaptureIf> = (0..50)
        .map(|i| cap.add_interface(&format!("h{i}")))
        .collect();
    let mut expected = vec![Vec::new(); ifcs.len()];
    for k in 0..2_000u32 {
        // Skewed traffic: a few busy interfaces, many quiet ones.
        let i = if k % 3 == 0 {
            (k as usize / 3) % 50
        } else {
            k as usize % 4
        };
        let f = frame(k, 60 + (k as usize * 37) % 1400);
        cap.record(&ifcs[i], SimTime::from_nanos(u64::from(k)), &f, None)
            .unwrap();
        expected[i].push((Duration::from_nanos(u64::from(k)), f.len() as u32, f));
    }
    let Sink::Pcap(p) = &cap.sink else {
        unreachable!()
    };
    assert!(p.io.handed > 0, "the budget forced write-outs");
    assert!(
        p.max_held <= (16 << 10) + (16 << 10) + 2_000,
        "{}",
        p.max_held
    );
    cap.flush().unwrap();
    let Sink::Pcap(p) = &cap.sink else {
        unreachable!()
    };
    assert!(p.io.stats.opens > 0);
    assert!(p.io.stats.max_open as usize <= MAX_OPEN);
    cap.finish().unwrap();
    for (i, want) in expected.iter().enumerate() {
        let (_, frames) = read_pcap(&tmp.path(&format!("h{i}.pcap")));
        assert_eq!(&frames, want, "interface {i}");
    }
}

#[test]
fn same_calls_give_identical_files() {
    fn run(dir: &Path, format: CaptureFormat) -> Vec<(PathBuf, Vec<u8>)> {
        let mut config = CaptureConfig::new(dir, format);
        config.memory_budget = 8 << 10;
        let mut cap = Capture::new(config).unwrap();
        let ifcs: Vec<CaptureIf> = (0..7)
            .map(|i| cap.add_interface(&format!("n{i}-eth{}", i % 2)))
            .collect();
        for k in 0..500u32 {
            let ifc = &ifcs[(k as usize * 5) % 7];
            let comment = format!("ip_output → dev_queue_xmit #{k}");
            cap.record(
                ifc,
                SimTime::from_nanos(u64::from(k) * 1_003),
                &frame(k, 64 + k as usize % 900),
                Some(&comment),
            )
            .unwrap();
        }
        let summary = cap.finish().unwrap();
        summary
            .files
            .into_iter()
            .map(|f| {
                (
                    f.path.file_name().unwrap().into(),
                    fs::read(&f.path).unwrap(),
                )
            })
            .collect()
    }
    for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
        let (one, two) = (TempDir::new("det1"), TempDir::new("det2"));
        assert_eq!(run(&one.0, format), run(&two.0, format), "{format:?}");
    }
}

#[test]
fn drop_without_finish_still_writes_everything() {
    let tmp = TempDir::new("drop");
    for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, format)).unwrap();
        let a = cap.add_interface("a");
        cap.add_interface("b");
        cap.record(&a, SimTime::ZERO, &frame(0, 60), Some("c"))
            .unwrap();
        drop(cap);
    }
    assert_eq!(read_pcap(&tmp.path("a.pcap")).1.len(), 1);
    assert_eq!(fs::read(tmp.path("b.pcap")).unwrap(), EXPECTED_HEADER);
    let mut reader = PcapNgReader::new(File::open(tmp.path("capture.pcapng")).unwrap()).unwrap();
    let mut blocks = 0;
    while let Some(block) = reader.next_block() {
        block.unwrap();
        blocks += 1;
    }
    assert_eq!(blocks, 3); // 2 IDBs, 1 EPB (the SHB is read by `new`)
}

/// A capture of two interfaces in a fresh folder where `bad.pcap` is a directory, so
/// that writing `bad` fails; `good` has recorded one frame.
fn good_and_bad(name: &str) -> (TempDir, Capture, CaptureIf, CaptureIf) {
    let tmp = TempDir::new(name);
    fs::create_dir_all(tmp.path("bad.pcap")).unwrap();
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    let good = cap.add_interface("good");
    let bad = cap.add_interface("bad");
    cap.record(&good, SimTime::ZERO, &frame(0, 60), None)
        .unwrap();
    (tmp, cap, good, bad)
}

/// After `bad.pcap` failed: the error sticks for every interface, `finish` returns it,
/// and the other file was still written whole.
fn error_sticks(tmp: &TempDir, mut cap: Capture, good: &CaptureIf) {
    let err = cap
        .record(good, SimTime::ZERO, &frame(2, 60), None)
        .unwrap_err();
    assert!(err.to_string().contains("bad.pcap"), "{err}");
    let err = cap.finish().unwrap_err();
    assert!(err.to_string().contains("bad.pcap"), "{err}");
    assert_eq!(read_pcap(&tmp.path("good.pcap")).1.len(), 1);
}

#[test]
fn io_errors_name_the_file_and_stick() {
    let (tmp, mut cap, good, bad) = good_and_bad("errors");
    cap.record(&bad, SimTime::ZERO, &frame(1, 60), None)
        .unwrap();
    let err = cap.flush().unwrap_err();
    assert!(err.to_string().contains("bad.pcap"), "{err}");
    error_sticks(&tmp, cap, &good);

    // A file where the capture folder should go.
    fs::write(tmp.path("file"), b"x").unwrap();
    for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
        let err = Capture::new(CaptureConfig::new(tmp.path("file"), format)).unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
    }
}

#[test]
fn a_write_error_on_the_writer_thread_comes_back_from_a_later_record() {
    let (tmp, mut cap, good, bad) = good_and_bad("thread-errors");
    // The first full buffer of `bad` fails on the thread. At the latest, the record that
    // hands over one buffer more than may be in flight waits for that first one to come
    // back, after its error was recorded: the record after it fails.
    let per_buffer = FILE_BUFFER / (PCAP_RECORD_HEADER_LEN + 1500);
    let most = per_buffer * (MAX_IN_FLIGHT + 2) + 2;
    let mut failed_at = None;
    for k in 0..most {
        let t = SimTime::from_nanos(k as u64);
        if let Err(e) = cap.record(&bad, t, &frame(k as u32, 1500), None) {
            assert!(e.to_string().contains("bad.pcap"), "{e}");
            failed_at = Some(k);
            break;
        }
    }
    let k = failed_at.expect("the error came back");
    assert!(k > per_buffer, "not before a buffer was handed over: {k}");
    error_sticks(&tmp, cap, &good);

    // Pcapng: the file is replaced by a folder after `new` created it.
    let mut config = CaptureConfig::new(tmp.path("ng"), CaptureFormat::PcapNg);
    config.pcapng_name = "x.pcapng".into();
    let mut cap = Capture::new(config).unwrap();
    let a = cap.add_interface("a");
    fs::remove_file(tmp.path("ng/x.pcapng")).unwrap();
    fs::create_dir(tmp.path("ng/x.pcapng")).unwrap();
    cap.record(&a, SimTime::ZERO, &frame(0, 60), None).unwrap();
    let err = cap.finish().unwrap_err();
    assert!(err.to_string().contains("x.pcapng"), "{err}");
}

#[test]
fn bad_handles_and_config_are_errors() {
    let tmp = TempDir::new("handles");
    let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
    config.snaplen = 0;
    assert!(Capture::new(config.clone()).is_err());
    config.snaplen = DEFAULT_SNAPLEN + 1;
    assert!(Capture::new(config).is_err());
    for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, format)).unwrap();
        let err = cap
            .record(&CaptureIf(3), SimTime::ZERO, &[0; 60], None)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        cap.finish().unwrap();
    }
}

/// Writes sample captures of a DNS query and its answer for a manual look with tshark or
/// Wireshark: `NETSIM_CAPTURE_SAMPLE_DIR=/tmp/cap cargo test -p sim-stack --lib
/// capture::tests::sample -- --ignored`, then `tshark -r /tmp/cap/pcap/client-eth0.pcap`
/// and `tshark -r /tmp/cap/pcapng/capture.pcapng -T fields -e frame.interface_name -e
/// frame.comment`.
#[test]
#[ignore = "writes files for a manual check with tshark"]
fn sample() {
    let Some(dir) = std::env::var_os("NETSIM_CAPTURE_SAMPLE_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let client = [0x02, 0, 0, 0, 0, 2];
    let router = [0x02, 0, 0, 0, 0, 1];
    let query: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05baidu\x03com\x00\x00\x01\x00\x01";
    let mut answer = query.to_vec();
    answer[2..4].copy_from_slice(&[0x81, 0x80]);
    answer[6..8].copy_from_slice(&[0, 1]);
    answer.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x01\x50");
    let udp = |src, dst, sport, dport, payload: &[u8]| {
        let mut out = Vec::new();
        etherparse::PacketBuilder::ethernet2(src, dst)
            .ipv4([10, 0, 0, 2], [10, 0, 1, 53], 64)
            .udp(sport, dport)
            .write(&mut out, payload)
            .unwrap();
        out
    };
    let mut reply = udp(router, client, 53, 40000, &answer);
    // Swap the IPv4 addresses of the answer (the checksum is unchanged by a swap).
    let (src, dst) = (reply[26..30].to_vec(), reply[30..34].to_vec());
    reply[26..30].copy_from_slice(&dst);
    reply[30..34].copy_from_slice(&src);
    let frames = [
        (
            "client-eth0",
            100_000_000,
            udp(client, router, 40000, 53, query),
            "udp_sendmsg → ip_output → dev_hard_start_xmit",
        ),
        (
            "r1-eth0",
            105_000_123,
            udp(client, router, 40000, 53, query),
            "netif_receive_skb → ip_rcv → ip_forward",
        ),
        (
            "r1-eth0",
            115_200_456,
            reply.clone(),
            "ip_forward → ip_output → dev_hard_start_xmit",
        ),
        (
            "client-eth0",
            120_200_789,
            reply,
            "netif_receive_skb → ip_rcv → udp_rcv",
        ),
    ];
    for (format, sub) in [
        (CaptureFormat::Pcap, "pcap"),
        (CaptureFormat::PcapNg, "pcapng"),
    ] {
        let mut cap = Capture::new(CaptureConfig::new(dir.join(sub), format)).unwrap();
        let ifcs = [
            cap.add_interface("client-eth0"),
            cap.add_interface("r1-eth0"),
        ];
        for (name, t, frame, comment) in &frames {
            let ifc = if *name == "client-eth0" {
                &ifcs[0]
            } else {
                &ifcs[1]
            };
            cap.record(ifc, SimTime::from_nanos(*t), frame, Some(comment))
                .unwrap();
        }
        // Registered after frames: its pcapng block comes after theirs.
        cap.add_interface("idle-eth0");
        cap.finish().unwrap();
    }
}

#[test]
#[should_panic(expected = "registered twice")]
fn duplicate_names_panic() {
    let tmp = TempDir::new("dup");
    let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
    cap.add_interface("a");
    cap.add_interface("a");
}

#[test]
fn names_that_are_not_file_names_are_refused() {
    for name in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
        assert!(check_name(name).is_err(), "{name:?}");
    }
    assert!(check_name(&"x".repeat(MAX_NAME_LEN + 1)).is_err());
    assert!(check_name("client-eth0").is_ok());
}
