//! What a drill run tells its user: a line per script and IP version and a summary table,
//! the exit status, and the exchange of a run as a pcap.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::config::IpVersion;
use crate::model::LoadError;
use crate::runner::{Captured, RunReport, Verdict};

/// How one script went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Pass,
    /// Its first mismatch, in packetdrill's words.
    Fail(String),
    /// What it needs that is not modelled.
    Unsupported(String),
    /// The script itself is wrong (syntax, semantics): the rendered diagnostics.
    Invalid(String),
}

impl Outcome {
    /// The outcome of a run.
    pub fn of_run(report: &RunReport) -> Self {
        match &report.verdict {
            Verdict::Pass => Self::Pass,
            Verdict::Fail(m) => Self::Fail(m.clone()),
            Verdict::Unsupported(m) => Self::Unsupported(m.clone()),
        }
    }

    /// The outcome of a script that did not load.
    pub fn of_load_error(e: &LoadError) -> Self {
        if e.is_unsupported() {
            Self::Unsupported(e.render())
        } else {
            Self::Invalid(e.render())
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail(_) => "FAIL",
            Self::Unsupported(_) => "unsupported",
            Self::Invalid(_) => "invalid",
        }
    }

    /// The first line of the message, for the table.
    fn first_line(&self) -> &str {
        match self {
            Self::Pass => "",
            Self::Fail(m) | Self::Unsupported(m) | Self::Invalid(m) => {
                m.lines().next().unwrap_or("")
            }
        }
    }
}

/// One run: a script in one IP version, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The script's file name.
    pub script: String,
    /// The `--ip_version` it ran with.
    pub ip: IpVersion,
    /// How it went.
    pub outcome: Outcome,
}

impl Row {
    /// A row.
    pub fn new(script: impl Into<String>, ip: IpVersion, outcome: Outcome) -> Self {
        Self {
            script: script.into(),
            ip,
            outcome,
        }
    }
}

/// Whether every run passed (the exit status is 0 only then).
pub fn all_passed(rows: &[Row]) -> bool {
    rows.iter().all(|r| r.outcome == Outcome::Pass)
}

/// The summary table: one row per run — the script's name, the IP version, the outcome
/// and the first line of its message — then the counts.
///
/// ```
/// use sim_drill::config::IpVersion;
/// use sim_drill::report::{summary_table, Outcome, Row};
/// let t = summary_table(&[
///     Row::new("tcp_basic_client.pkt", IpVersion::V4, Outcome::Pass),
///     Row::new("tcp_basic_client.pkt", IpVersion::V6, Outcome::Pass),
///     Row::new("tcp_x.pkt", IpVersion::V4, Outcome::Fail("tcp_x.pkt:18: error handling packet: …\nscript packet: …".into())),
/// ]);
/// assert_eq!(t, "\
/// script                ip    result  first mismatch
/// tcp_basic_client.pkt  ipv4  pass
/// tcp_basic_client.pkt  ipv6  pass
/// tcp_x.pkt             ipv4  FAIL    tcp_x.pkt:18: error handling packet: …
/// 3 runs of 2 scripts: 2 pass, 1 fail, 0 unsupported, 0 invalid
/// ");
/// ```
pub fn summary_table(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| r.script.chars().count())
        .chain(["script".len()])
        .max()
        .unwrap_or(0);
    let iw = rows
        .iter()
        .map(|r| r.ip.name().len())
        .chain(["ip".len()])
        .max()
        .unwrap_or(0);
    let rw = rows
        .iter()
        .map(|r| r.outcome.word().len())
        .chain(["result".len()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:width$}  {:iw$}  {:rw$}  first mismatch",
        "script", "ip", "result"
    );
    let mut counts = [0usize; 4];
    for r in rows {
        let o = &r.outcome;
        counts[match o {
            Outcome::Pass => 0,
            Outcome::Fail(_) => 1,
            Outcome::Unsupported(_) => 2,
            Outcome::Invalid(_) => 3,
        }] += 1;
        let line = format!(
            "{:width$}  {:iw$}  {:rw$}  {}",
            r.script,
            r.ip.name(),
            o.word(),
            o.first_line()
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut scripts: Vec<&str> = rows.iter().map(|r| r.script.as_str()).collect();
    scripts.sort_unstable();
    scripts.dedup();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "{} run{} of {} script{}: {} pass, {} fail, {} unsupported, {} invalid",
        rows.len(),
        plural(rows.len()),
        scripts.len(),
        plural(scripts.len()),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    out
}

/// Writes the exchange as a classic pcap of raw IP datagrams (link type RAW: IPv4 or IPv6
/// by each packet's first nibble; nanosecond timestamps), as tcpdump on the tun device
/// would show it. The file is written whole to a
/// temporary name beside it and renamed, so a failure leaves no half-written file.
///
/// # Errors
/// The I/O error.
pub fn write_pcap(path: &Path, exchange: &[Captured]) -> io::Result<()> {
    let header = PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: 65535,
        datalink: DataLink::RAW,
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Little,
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).map_err(io::Error::other)?;
    for c in exchange {
        let len = u32::try_from(c.bytes.len()).map_err(io::Error::other)?;
        w.write_packet(&PcapPacket::new(
            Duration::from_nanos(c.time.as_nanos()),
            len,
            &c.bytes,
        ))
        .map_err(io::Error::other)?;
    }
    let bytes = w.into_writer();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Direction;
    use sim_core::SimTime;

    #[test]
    fn pcap_holds_the_exchange() {
        let dir = std::env::temp_dir().join(format!("sim-drill-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.pcap");
        let ex = [
            Captured {
                time: SimTime::from_nanos(1_500),
                direction: Direction::Inbound,
                bytes: vec![0x45; 20],
            },
            Captured {
                time: SimTime::from_nanos(2_000_000_001),
                direction: Direction::Outbound,
                bytes: vec![0x45; 40],
            },
        ];
        write_pcap(&path, &ex).unwrap();
        let b = std::fs::read(&path).unwrap();
        assert_eq!(b.len(), 24 + 16 + 20 + 16 + 40);
        assert_eq!(&b[..4], &[0x4d, 0x3c, 0xb2, 0xa1], "nanosecond pcap magic");
        assert_eq!(
            u32::from_le_bytes(b[20..24].try_into().unwrap()),
            101,
            "LINKTYPE_RAW"
        );
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 0);
        assert_eq!(u32::from_le_bytes(b[28..32].try_into().unwrap()), 1_500);
        assert_eq!(u32::from_le_bytes(b[60..64].try_into().unwrap()), 2);
        assert!(!dir.join("x.pcap.partial").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn table_counts_and_exit_status() {
        let rows = vec![
            Row::new("a.pkt", IpVersion::V4, Outcome::Pass),
            Row::new(
                "bb.pkt",
                IpVersion::V4MappedV6,
                Outcome::Unsupported("bb.pkt:3: unsupported: x".into()),
            ),
        ];
        assert!(!all_passed(&rows));
        assert!(all_passed(&rows[..1]));
        assert_eq!(
            summary_table(&rows),
            "script  ip                result       first mismatch\n\
             a.pkt   ipv4              pass\n\
             bb.pkt  ipv4-mapped-ipv6  unsupported  bb.pkt:3: unsupported: x\n\
             2 runs of 2 scripts: 1 pass, 0 fail, 1 unsupported, 0 invalid\n"
        );
        assert_eq!(
            summary_table(&rows[..1]).lines().last(),
            Some("1 run of 1 script: 1 pass, 0 fail, 0 unsupported, 0 invalid")
        );
    }
}
