//! `sim drill` as a user runs it: the kernel's scripts against the simulated host, the
//! per-run verdicts (each script over IPv4 and IPv6, as ksft_runner.sh runs it) and the
//! table, the exit status, `--ip-version`, `--pcap` and `--expect-pass`.

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
    assert!(
        out.starts_with("tcp_basic_client.pkt ipv4: pass\ntcp_basic_client.pkt ipv6: pass\n"),
        "{out}"
    );
    assert!(
        out.contains("\ntcp_inq_client.pkt              ipv6  pass\n"),
        "the table: {out}"
    );
    assert!(
        out.ends_with("6 runs of 3 scripts: 6 pass, 0 fail, 0 unsupported, 0 invalid\n"),
        "{out}"
    );
    // One version, by name or for short.
    for args in [["--ip-version", "ipv6"].as_slice(), &["-6"]] {
        let mut a = vec![kernel("tcp_basic_client.pkt")];
        a.extend(args.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = drill(&a);
        assert_eq!(o.status.code(), Some(0), "{}", said(&o));
        let out = stdout(&o);
        assert!(
            out.starts_with("tcp_basic_client.pkt ipv6: pass\n")
                && out.ends_with("1 run of 1 script: 1 pass, 0 fail, 0 unsupported, 0 invalid\n"),
            "{out}"
        );
    }
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
        "broken.pkt ipv4: FAIL\n{}:18: error handling packet: live packet field tcp_psh: expected: 0 (0x0) vs actual: 1 (0x1)\nscript packet:  0.000000 . 1:1001(1000) ack 1 \nactual packet:  0.000000 P. 1:1001(1000) ack 1 win 256 \n",
        script.display()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(
        out.contains("4 runs of 2 scripts: 2 pass, 2 fail, 0 unsupported, 0 invalid"),
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
    // The IPv6 run's: its Router Solicitation, then the connection, all IPv6.
    let v6 = std::fs::read(pcaps.join("tcp_basic_client-ipv6.pcap")).expect("the IPv6 pcap");
    assert_eq!(v6[24 + 16] >> 4, 6, "an IPv6 packet");
    assert_eq!(v6[24 + 16 + 40], 133, "a Router Solicitation first");
    let file = pcaps.join("tcp_basic_client-ipv4.pcap");
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
    std::fs::write(&list, "# comment\ntcp_basic_client.pkt ipv4 ipv6\n").expect("list");
    let list_s = list.display().to_string();
    let basic = kernel("tcp_basic_client.pkt");
    let o = drill(&[&basic, &broken, "--expect-pass", &list_s]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    std::fs::write(&list, "tcp_basic_client.pkt ipv4 ipv6\nbroken.pkt ipv6\n").expect("list");
    let o = drill(&[&basic, &broken, "--expect-pass", &list_s]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(stdout(&o).contains("expected to pass, did not: broken.pkt ipv6"));
    // A version --ip-version leaves out is not asked for.
    let o = drill(&[&basic, &broken, "-4", "--expect-pass", &list_s]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    std::fs::write(&list, "tcp_inq_client.pkt ipv4\n").expect("list");
    let o = drill(&[&basic, "--expect-pass", &list_s]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let out = stdout(&o);
    assert!(
        out.contains("expected to pass, not run: tcp_inq_client.pkt ipv4"),
        "{out}"
    );
    assert!(
        out.contains(
            "passing, not yet in the expected-pass list: tcp_basic_client.pkt ipv4, tcp_basic_client.pkt ipv6"
        ),
        "{out}"
    );
    // A line without versions is an error, located.
    std::fs::write(&list, "# c\ntcp_basic_client.pkt\n").expect("list");
    let o = drill(&[&basic, "--expect-pass", &list_s]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        common::stderr(&o).contains(&format!(
            "{list_s}:2: tcp_basic_client.pkt: name the versions expected to pass (`tcp_basic_client.pkt ipv4 ipv6`)"
        )),
        "{}",
        said(&o)
    );
}
