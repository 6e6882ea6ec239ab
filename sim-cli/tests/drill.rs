//! `sim drill` as a user runs it: the kernel's scripts against the simulated host, the
//! per-script verdicts and the table, the exit status, `--pcap` and `--expect-pass`.

mod common;

use std::path::{Path, PathBuf};

use common::{SIM, said, scratch, stdout};

/// A kernel script of the shared folder (`../shared/packetdrill`, beside the workspace).
fn kernel(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/packetdrill")
        .join(name);
    assert!(
        p.is_file(),
        "{} is expected beside the workspace",
        p.display()
    );
    p.display().to_string()
}

fn drill(args: &[&str]) -> std::process::Output {
    std::process::Command::new(SIM)
        .arg("drill")
        .args(args)
        .output()
        .expect("the sim binary runs")
}

#[test]
fn passing_scripts_exit_0_with_a_line_each_and_the_table() {
    let o = drill(&[
        &kernel("tcp_basic_client.pkt"),
        &kernel("tcp_blocking_blocking-read.pkt"),
        &kernel("tcp_inq_client.pkt"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let out = stdout(&o);
    assert!(out.starts_with("tcp_basic_client.pkt: pass\n"), "{out}");
    assert!(out.contains("\ntcp_inq_client.pkt  "), "the table: {out}");
    assert!(
        out.ends_with("3 scripts: 3 pass, 0 fail, 0 unsupported, 0 invalid\n"),
        "{out}"
    );
}

/// `tcp_basic_client.pkt` with its first data packet expected without PSH, beside a copy of
/// `defaults.sh`, in `dir`.
fn broken_copy(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(kernel("tcp_basic_client.pkt")).expect("the script");
    let broken = text.replacen("+0 > P. 1:1001(1000) ack 1", "+0 > . 1:1001(1000) ack 1", 1);
    assert_ne!(text, broken);
    let path = dir.join("broken.pkt");
    std::fs::write(&path, broken).expect("write the copy");
    std::fs::copy(kernel("defaults.sh"), dir.join("defaults.sh")).expect("defaults.sh");
    path
}

#[test]
fn a_broken_script_fails_with_packetdrills_message_and_exit_1() {
    let dir = scratch("drill-broken");
    let script = broken_copy(&dir);
    let o = drill(&[
        &kernel("tcp_basic_client.pkt"),
        &script.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let out = stdout(&o);
    let expected = format!(
        "broken.pkt: FAIL\n{}:18: error handling packet: live packet field tcp_psh: expected: 0 (0x0) vs actual: 1 (0x1)\nscript packet:  0.000000 . 1:1001(1000) ack 1 \nactual packet:  0.000000 P. 1:1001(1000) ack 1 win 256 \n",
        script.display()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(
        out.contains("2 scripts: 1 pass, 1 fail, 0 unsupported, 0 invalid"),
        "{out}"
    );
}

#[test]
fn pcap_writes_the_exchange_and_never_replaces_a_file_unasked() {
    let dir = scratch("drill-pcap");
    let pcaps = dir.join("pcaps");
    let script = kernel("tcp_basic_client.pkt");
    let o = drill(&[&script, "--pcap", &pcaps.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let file = pcaps.join("tcp_basic_client.pcap");
    let bytes = std::fs::read(&file).expect("the pcap");
    assert_eq!(bytes[..4], [0x4d, 0x3c, 0xb2, 0xa1], "nanosecond pcap");
    assert_eq!(bytes[20], 101, "LINKTYPE_RAW: IP packets, as on tun0");
    // 9 packets: SYN, SYN-ACK, ACK, data, ACK, FIN, FIN, ACK (and the host's ACK of data).
    let mut count = 0;
    let mut at = 24;
    while at < bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        assert_eq!(bytes[at + 16] >> 4, 4, "an IPv4 packet");
        at += 16 + caplen;
        count += 1;
    }
    assert_eq!(at, bytes.len());
    assert!(count >= 8, "{count} packets");
    // Again: the pcap exists, and is kept unless --force says otherwise.
    std::fs::write(&file, b"mine").expect("overwrite");
    let o = drill(&[&script, "--pcap", &pcaps.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(common::stderr(&o).contains("exists; --force replaces it"));
    assert_eq!(std::fs::read(&file).expect("kept"), b"mine");
    let o = drill(&[&script, "--pcap", &pcaps.display().to_string(), "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(
        std::fs::read(&file).expect("replaced"),
        bytes,
        "deterministic"
    );
}

#[test]
fn expect_pass_gates_on_the_listed_scripts_only() {
    let dir = scratch("drill-expect");
    let broken = broken_copy(&dir).display().to_string();
    let list = dir.join("expected.txt");
    std::fs::write(&list, "# comment\ntcp_basic_client.pkt\n").expect("list");
    let list = list.display().to_string();
    let basic = kernel("tcp_basic_client.pkt");
    let o = drill(&[&basic, &broken, "--expect-pass", &list]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    std::fs::write(&list, "tcp_basic_client.pkt\nbroken.pkt\n").expect("list");
    let o = drill(&[&basic, &broken, "--expect-pass", &list]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(stdout(&o).contains("expected to pass, did not: broken.pkt"));
    std::fs::write(&list, "tcp_inq_client.pkt\n").expect("list");
    let o = drill(&[&basic, "--expect-pass", &list]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let out = stdout(&o);
    assert!(
        out.contains("expected to pass, not run: tcp_inq_client.pkt"),
        "{out}"
    );
    assert!(
        out.contains("passing, not yet in the expected-pass list: tcp_basic_client.pkt"),
        "{out}"
    );
}
