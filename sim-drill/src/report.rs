//! What a drill run tells its user: a line per script and a summary table, the exit status,
//! and the exchange of a script as a pcap.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

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

/// Whether every script passed (the exit status is 0 only then).
pub fn all_passed(outcomes: &[(String, Outcome)]) -> bool {
    outcomes.iter().all(|(_, o)| *o == Outcome::Pass)
}

/// The summary table: one row per script — its name, the outcome and the first line of
/// its message — then the counts.
///
/// ```
/// use sim_drill::report::{summary_table, Outcome};
/// let t = summary_table(&[
///     ("tcp_basic_client.pkt".into(), Outcome::Pass),
///     ("tcp_x.pkt".into(), Outcome::Fail("tcp_x.pkt:18: error handling packet: …\nscript packet: …".into())),
/// ]);
/// assert_eq!(t, "\
/// script                result  first mismatch
/// tcp_basic_client.pkt  pass
/// tcp_x.pkt             FAIL    tcp_x.pkt:18: error handling packet: …
/// 2 scripts: 1 pass, 1 fail, 0 unsupported, 0 invalid
/// ");
/// ```
pub fn summary_table(outcomes: &[(String, Outcome)]) -> String {
    let width = outcomes
        .iter()
        .map(|(n, _)| n.chars().count())
        .chain(["script".len()])
        .max()
        .unwrap_or(0);
    let rw = outcomes
        .iter()
        .map(|(_, o)| o.word().len())
        .chain(["result".len()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "{:width$}  {:rw$}  first mismatch", "script", "result");
    let mut counts = [0usize; 4];
    for (name, o) in outcomes {
        counts[match o {
            Outcome::Pass => 0,
            Outcome::Fail(_) => 1,
            Outcome::Unsupported(_) => 2,
            Outcome::Invalid(_) => 3,
        }] += 1;
        let line = format!("{name:width$}  {:rw$}  {}", o.word(), o.first_line());
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} script{}: {} pass, {} fail, {} unsupported, {} invalid",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    out
}

/// Writes the exchange as a classic pcap of raw IPv4 datagrams (link type RAW, nanosecond
/// timestamps), as tcpdump on the tun device would show it. The file is written whole to a
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
            ("a.pkt".to_string(), Outcome::Pass),
            (
                "bb.pkt".to_string(),
                Outcome::Unsupported("bb.pkt:3: unsupported: x".into()),
            ),
        ];
        assert!(!all_passed(&rows));
        assert!(all_passed(&rows[..1]));
        assert_eq!(
            summary_table(&rows),
            "script  result       first mismatch\n\
             a.pkt   pass\n\
             bb.pkt  unsupported  bb.pkt:3: unsupported: x\n\
             2 scripts: 1 pass, 0 fail, 1 unsupported, 0 invalid\n"
        );
    }
}
