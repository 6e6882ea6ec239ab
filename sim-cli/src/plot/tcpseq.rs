//! The time-sequence graph of a TCP connection (tcptrace's, Wireshark's "Stevens" graph),
//! from the run's captures.
//!
//! The connection's data sender is the end that sent the more payload bytes; its capture is
//! the one that saw its first payload segment first (the sender's own interface captures a
//! segment when it leaves, before any other does). From that capture:
//!
//! - each data segment is a vertical bar from its first to its last sequence number + 1 at
//!   its time, blue; a segment that starts below the highest sequence sent so far is a
//!   retransmission and red, with a ring at its top so that it shows at any scale (SYN
//!   and FIN count one sequence number each);
//! - the ACK line (green) is the acknowledgment number of the receiver's segments over time;
//! - the receive-window line (orange) is ack + window << window scale (the scale the
//!   receiver announced in its SYN, when both SYNs carried one; SYN segments unscaled);
//! - SACK blocks the receiver sent are purple bars at the time of that ACK.
//!
//! Sequence numbers are relative to the sender's ISN, as Wireshark shows them (the SYN is 0,
//! the first data byte 1), or to the first one seen when the SYN was not captured; they are
//! unwrapped past 2^32. Points closer than a pixel are merged, so a long transfer gives a
//! figure the size of the plot, not of the capture.
//!
//! Captures are the run's `NODE-IFACE.pcap` files or the one `capture.pcapng` (whose
//! interfaces carry the same names). Frames are Ethernet; those that are not TCP over IPv4
//! or IPv6 are skipped. The files are streamed twice: once to find the connections (a few
//! counters per connection kept), once per graph for that connection's segments at its
//! capture point; memory does not grow with the length of the run's other traffic.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use etherparse::{NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

use super::PlotError;
use super::render::{self, Chart, Kind, Series};

/// An address and port, printed as tcp.csv prints them: `10.0.0.1:40000`, `[2001:db8::1]:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Endpoint(IpAddr, u16);

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

/// The fields of one captured TCP segment the graph uses.
#[derive(Debug, Clone)]
struct Segment {
    ns: u64,
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    len: u32,
    win: u16,
    wscale: Option<u8>,
    sack: Vec<(u32, u32)>,
}

impl Segment {
    /// The sequence space the segment occupies: payload, plus one for SYN and for FIN.
    fn span(&self) -> u32 {
        self.len + u32::from(self.syn) + u32::from(self.fin)
    }
}

/// Decodes an Ethernet frame; `None` if it is not TCP over IP.
fn decode(ns: u64, frame: &[u8]) -> Option<Segment> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let (src, dst) = match p.net.as_ref()? {
        NetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        NetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
        ),
        _ => return None,
    };
    let Some(TransportSlice::Tcp(t)) = &p.transport else {
        return None;
    };
    let mut wscale = None;
    let mut sack = Vec::new();
    for o in t.options_iterator().flatten() {
        match o {
            TcpOptionElement::WindowScale(w) => wscale = Some(w),
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                sack.push(first);
                sack.extend(rest.into_iter().flatten());
            }
            _ => {}
        }
    }
    Some(Segment {
        ns,
        src: Endpoint(src, t.source_port()),
        dst: Endpoint(dst, t.destination_port()),
        seq: t.sequence_number(),
        ack: t.ack().then(|| t.acknowledgment_number()),
        syn: t.syn(),
        fin: t.fin(),
        len: u32::try_from(t.payload().len()).unwrap_or(u32::MAX),
        win: t.window_size(),
        wscale,
        sack,
    })
}

/// One capture point: its name (`h1-eth0`), and where its frames are: a pcap file holds
/// one, a pcapng file one per interface (its `local` number there).
#[derive(Debug)]
struct CapturePoint {
    name: String,
    file: PathBuf,
    local: usize,
}

fn pcap_error(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError::Pcap {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

fn open(path: &Path) -> Result<BufReader<File>, PlotError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| PlotError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// The capture files of a run folder: its `*.pcap` files in name order, then
/// `capture.pcapng`.
pub(crate) fn capture_files(outdir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let io = |source| PlotError::Io {
        path: outdir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for e in std::fs::read_dir(outdir).map_err(io)? {
        let p = e.map_err(io)?.path();
        let ext = p.extension().and_then(|e| e.to_str());
        if p.is_file() && (ext == Some("pcap") || ext == Some("pcapng")) {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Streams the TCP segments of the capture file `path` to `f(local, segment)`, `local`
/// being the capture point's number in the file (always 0 in a pcap); the names of the
/// capture points go to `names` as they are declared. Nothing is kept: a long run's
/// captures are read in constant memory.
fn scan(
    path: &Path,
    names: &mut Vec<String>,
    mut f: impl FnMut(usize, Segment),
) -> Result<(), PlotError> {
    if path.extension().and_then(|e| e.to_str()) == Some("pcapng") {
        use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
        let mut r = PcapNgReader::new(open(path)?).map_err(|e| pcap_error(path, e))?;
        let first = names.len();
        while let Some(b) = r.next_block() {
            match b.map_err(|e| pcap_error(path, e))? {
                Block::InterfaceDescription(idb) => {
                    let name = idb
                        .options
                        .iter()
                        .find_map(|o| match o {
                            InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .unwrap_or_else(|| format!("if{}", names.len() - first));
                    names.push(name);
                }
                Block::EnhancedPacket(p) => {
                    let local = p.interface_id as usize;
                    if first + local >= names.len() {
                        return Err(pcap_error(
                            path,
                            format!("a packet of undeclared interface {}", p.interface_id),
                        ));
                    }
                    let ns = u64::try_from(p.timestamp.as_nanos()).unwrap_or(u64::MAX);
                    if let Some(s) = decode(ns, &p.data) {
                        f(local, s);
                    }
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(open(path)?).map_err(|e| pcap_error(path, e))?;
        names.push(
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        while let Some(p) = r.next_packet() {
            let p = p.map_err(|e| pcap_error(path, e))?;
            let ns = u64::try_from(p.timestamp.as_nanos()).unwrap_or(u64::MAX);
            if let Some(s) = decode(ns, &p.data) {
                f(0, s);
            }
        }
    }
    Ok(())
}

/// A connection found in the captures: its data sender and receiver, and where it is
/// graphed from.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The end that sent the more payload bytes.
    pub sender: Endpoint,
    /// The other end.
    pub receiver: Endpoint,
    /// The payload bytes the sender sent (as its own capture saw them).
    pub bytes: u64,
    /// The capture point of the sender's interface (or, when the sender's node was not
    /// captured, the first that saw the sender's segments).
    pub capture: String,
    /// That capture point's index in [`Captures`].
    point: usize,
    /// The sender's node, when stats.json or tcp.csv name the socket's node.
    pub sender_node: Option<String>,
}

impl Connection {
    /// The node of the capture point (`h1` of `h1-eth0`).
    fn capture_node(&self) -> &str {
        self.capture
            .rsplit_once('-')
            .map_or(self.capture.as_str(), |(n, _)| n)
    }

    /// The sender's node: as the run's stats name it, else the node of the capture.
    pub fn node(&self) -> &str {
        self.sender_node
            .as_deref()
            .unwrap_or_else(|| self.capture_node())
    }

    /// `SENDER-RECEIVER`, as tcp.csv names the sender's socket.
    pub fn sock(&self) -> String {
        format!("{}-{}", self.sender, self.receiver)
    }

    /// Whether a `--tcp-seq` word names this connection: its socket from either end
    /// (`A:p-B:q`), one of its ends (`A:p`), or the sender's node and port (`h1:40000`).
    pub fn matches(&self, spec: &str) -> bool {
        let (s, r) = (self.sender.to_string(), self.receiver.to_string());
        spec == self.sock()
            || spec == format!("{r}-{s}")
            || spec == s
            || spec == r
            || spec == format!("{}:{}", self.node(), self.sender.1)
    }
}

/// The capture points and the connections in them.
#[derive(Debug)]
pub(crate) struct Captures {
    points: Vec<CapturePoint>,
    /// The connections with payload, the most bytes first (ties in address order).
    pub connections: Vec<Connection>,
}

type Key = (Endpoint, Endpoint);

/// Reads `files` and finds the connections that carried payload.
pub(crate) fn read(files: &[PathBuf]) -> Result<Captures, PlotError> {
    // Per direction: the most payload bytes any capture point saw, and the capture point
    // that saw its first payload segment first.
    let mut points: Vec<CapturePoint> = Vec::new();
    let mut bytes: BTreeMap<Key, u64> = BTreeMap::new();
    let mut first: BTreeMap<Key, (u64, usize)> = BTreeMap::new();
    for path in files {
        let base = points.len();
        let mut names = Vec::new();
        let mut here: BTreeMap<(usize, Key), u64> = BTreeMap::new();
        scan(path, &mut names, |local, s| {
            if s.len == 0 {
                return;
            }
            let k = (s.src, s.dst);
            *here.entry((local, k)).or_default() += u64::from(s.len);
            let f = first.entry(k).or_insert((s.ns, base + local));
            if s.ns < f.0 {
                *f = (s.ns, base + local);
            }
        })?;
        for ((_, k), b) in here {
            let e = bytes.entry(k).or_default();
            *e = (*e).max(b);
        }
        points.extend(
            names
                .into_iter()
                .enumerate()
                .map(|(local, name)| CapturePoint {
                    name,
                    file: path.clone(),
                    local,
                }),
        );
    }
    let mut connections = Vec::new();
    for (&(a, b), &n) in &bytes {
        let back = bytes.get(&(b, a)).copied().unwrap_or(0);
        // Each pair once: from the direction with more bytes (the lower one on a tie).
        if n < back || (n == back && a > b) {
            continue;
        }
        let (_, ci) = first[&(a, b)];
        connections.push(Connection {
            sender: a,
            receiver: b,
            bytes: n,
            capture: points[ci].name.clone(),
            point: ci,
            sender_node: None,
        });
    }
    connections.sort_by(|x, y| y.bytes.cmp(&x.bytes).then(x.sender.cmp(&y.sender)));
    Ok(Captures {
        points,
        connections,
    })
}

/// Maps 32-bit sequence numbers onto a line relative to a base, unwrapping past 2^32: each
/// number is taken as the one nearest to the previous.
#[derive(Debug)]
struct Unwrap {
    base: u32,
    last: i64,
}

impl Unwrap {
    fn new(base: u32) -> Self {
        Self { base, last: 0 }
    }

    fn rel(&mut self, seq: u32) -> i64 {
        let off = seq.wrapping_sub(self.base);
        let last_off = (self.last.rem_euclid(1 << 32)) as u32;
        let step = i64::from(off.wrapping_sub(last_off) as i32);
        self.last += step;
        self.last
    }
}

/// Merges points closer than a pixel: bars of one series at the same pixel column whose
/// ranges touch become one bar; line points that move less than a pixel are left out.
#[derive(Debug)]
struct Thin {
    dx: f64,
    dy: f64,
}

impl Thin {
    fn bars(&self, bars: Vec<(f64, f64, f64)>) -> Vec<(f64, f64, f64)> {
        let mut out: Vec<(f64, f64, f64)> = Vec::new();
        for (x, a, b) in bars {
            if let Some(l) = out.last_mut()
                && (x - l.0) < self.dx
                && a <= l.2 + self.dy
                && b >= l.1 - self.dy
            {
                l.1 = l.1.min(a);
                l.2 = l.2.max(b);
                continue;
            }
            out.push((x, a, b));
        }
        out
    }

    fn line(&self, pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
        let n = pts.len();
        let mut out: Vec<(f64, f64)> = Vec::new();
        for (i, p) in pts.into_iter().enumerate() {
            if let Some(l) = out.last()
                && i + 1 < n
                && (p.0 - l.0) < self.dx
                && (p.1 - l.1).abs() < self.dy
            {
                continue;
            }
            out.push(p);
        }
        out
    }
}

impl Captures {
    /// Names each connection's sender node from `nodes`: local endpoint (`10.0.0.1:40000`)
    /// to node, as stats.json's `tcp_connections` and tcp.csv's sockets give them.
    pub(crate) fn name_nodes(&mut self, nodes: &BTreeMap<String, String>) {
        for c in &mut self.connections {
            c.sender_node = nodes.get(&c.sender.to_string()).cloned();
        }
    }

    /// The time-sequence graph of `c`; with `window` (from, to in s), of that time only,
    /// the y axis fitted to it.
    pub(crate) fn chart(
        &self,
        c: &Connection,
        window: Option<(f64, f64)>,
    ) -> Result<Chart, PlotError> {
        // The second pass: this connection's segments at its capture point only.
        let point = &self.points[c.point];
        let mut segs: Vec<Segment> = Vec::new();
        scan(&point.file, &mut Vec::new(), |local, s| {
            if local == point.local
                && ((s.src, s.dst) == (c.sender, c.receiver)
                    || (s.src, s.dst) == (c.receiver, c.sender))
            {
                segs.push(s);
            }
        })?;
        let out_syn = segs.iter().find(|s| s.src == c.sender && s.syn);
        let in_syn = segs.iter().find(|s| s.src == c.receiver && s.syn);
        let base = out_syn.map_or_else(
            || {
                segs.iter()
                    .find(|s| s.src == c.sender)
                    .map_or(0, |s| s.seq.wrapping_sub(1))
            },
            |s| s.seq,
        );
        // The receiver's window scale applies when both SYNs carried the option.
        let rcv_wscale = match (
            out_syn.and_then(|s| s.wscale),
            in_syn.and_then(|s| s.wscale),
        ) {
            (Some(_), Some(w)) => u32::from(w.min(14)),
            _ => 0,
        };
        let mut seq = Unwrap::new(base);
        let mut ack = Unwrap::new(base);
        let (mut data, mut retrans, mut acks, mut wins, mut sacks) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut high: Option<i64> = None;
        let mut n_retrans = 0u64;
        for s in &segs {
            let t = s.ns as f64 / 1e9;
            if s.src == c.sender {
                if s.span() == 0 {
                    continue;
                }
                let a = seq.rel(s.seq);
                let b = a + i64::from(s.span());
                if high.is_some_and(|h| a < h) {
                    retrans.push((t, a as f64, b as f64));
                    n_retrans += 1;
                } else {
                    data.push((t, a as f64, b as f64));
                }
                high = Some(high.map_or(b, |h| h.max(b)));
            } else if let Some(n) = s.ack {
                let a = ack.rel(n);
                acks.push((t, a as f64));
                let scale = if s.syn { 0 } else { rcv_wscale };
                wins.push((t, (a + (i64::from(s.win) << scale)) as f64));
                for &(l, r) in &s.sack {
                    let (l, r) = (
                        a + i64::from(l.wrapping_sub(n) as i32),
                        a + i64::from(r.wrapping_sub(n) as i32),
                    );
                    sacks.push((t, l as f64, r as f64));
                }
            }
        }
        if let Some((from, to)) = window {
            let keep = |t: f64| from <= t && t <= to;
            data.retain(|p| keep(p.0));
            retrans.retain(|p| keep(p.0));
            sacks.retain(|p| keep(p.0));
            acks.retain(|p| keep(p.0));
            wins.retain(|p| keep(p.0));
        }
        // Pixel sizes of the data: the plot is about 800 × 450 pixels.
        let xs = data
            .iter()
            .chain(&retrans)
            .map(|p| p.0)
            .chain(acks.iter().map(|p| p.0));
        let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        });
        let ymax = data
            .iter()
            .chain(&retrans)
            .map(|p| p.2)
            .chain(wins.iter().map(|p| p.1))
            .fold(1.0_f64, f64::max);
        let ymin = if window.is_some() {
            data.iter()
                .chain(&retrans)
                .map(|p| p.1)
                .chain(acks.iter().map(|p| p.1))
                .fold(ymax, f64::min)
        } else {
            0.0
        };
        let thin = Thin {
            dx: ((x1 - x0) / 800.0).max(0.0),
            dy: (ymax - ymin) / 450.0,
        };
        // Bytes, kB or MB on the y axis, whichever keeps the labels short.
        let (unit, div) = if ymax >= 1e7 {
            ("MB", 1e6)
        } else if ymax >= 1e4 {
            ("kB", 1e3)
        } else {
            ("bytes", 1.0)
        };
        let bars = |v: Vec<(f64, f64, f64)>| {
            thin.bars(v)
                .into_iter()
                .map(|(x, a, b)| (x, a / div, b / div))
                .collect::<Vec<_>>()
        };
        let line = |v: Vec<(f64, f64)>| {
            thin.line(v)
                .into_iter()
                .map(|(x, y)| (x, y / div))
                .collect::<Vec<_>>()
        };
        let mut series = vec![
            Series {
                label: "receive window (ack + win << wscale)".to_string(),
                color: render::ORANGE,
                kind: Kind::Step(line(wins)),
            },
            Series {
                label: "ACK".to_string(),
                color: render::GREEN,
                kind: Kind::Step(line(acks)),
            },
            Series {
                label: "data segments".to_string(),
                color: render::BLUE,
                kind: Kind::Bars(bars(data)),
            },
        ];
        if !sacks.is_empty() {
            series.push(Series {
                label: "SACK blocks".to_string(),
                color: render::PURPLE,
                kind: Kind::Bars(bars(sacks)),
            });
        }
        if !retrans.is_empty() {
            series.push(Series {
                label: "retransmissions".to_string(),
                color: render::RED,
                kind: Kind::MarkedBars(bars(retrans)),
            });
        }
        Ok(Chart {
            name: format!("tcpseq-{}-{}", c.node(), c.sender.1),
            title: format!("Time-sequence graph {} → {}", c.sender, c.receiver),
            x_label: "time (s)".to_string(),
            y_label: format!("relative sequence number ({unit})"),
            series,
            x_categories: None,
            y_from_zero: window.is_none(),
            notes: vec![
                if c.capture_node() == c.node() {
                    format!("captured at {}", c.capture)
                } else {
                    format!("captured at {} ({} not captured)", c.capture, c.node())
                },
                format!("{} payload bytes sent", c.bytes),
                format!("{n_retrans} retransmitted segments"),
            ],
        })
    }
}

/// Which connections `--tcp-seq` asks for: `None` the busiest one, `all`, `none`, or a
/// comma-separated list of sockets, ends, or `NODE:PORT`.
pub(crate) fn select<'a>(
    caps: &'a Captures,
    spec: Option<&str>,
) -> Result<Vec<&'a Connection>, PlotError> {
    let conns = &caps.connections;
    match spec {
        None => Ok(conns.iter().take(1).collect()),
        Some("all") => Ok(conns.iter().collect()),
        Some("none") => Ok(Vec::new()),
        Some(list) => {
            let mut out: Vec<&Connection> = Vec::new();
            for word in list.split(',').map(str::trim) {
                let found: Vec<&Connection> = conns.iter().filter(|c| c.matches(word)).collect();
                if found.is_empty() {
                    return Err(PlotError::NoConnection {
                        spec: word.to_string(),
                        have: if conns.is_empty() {
                            "none: no TCP payload in the captures".to_string()
                        } else {
                            conns
                                .iter()
                                .map(|c| format!("{} (at {})", c.sock(), c.capture))
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                    });
                }
                for c in found {
                    if !out.iter().any(|o| std::ptr::eq(*o, c)) {
                        out.push(c);
                    }
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::borrow::Cow;
    use std::time::Duration;

    use etherparse::PacketBuilder;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

    use super::*;

    /// A TCP frame from `src` to `dst` (10.0.0.1:40000 and 10.0.1.1:5001, as `fwd`).
    #[allow(clippy::too_many_arguments)]
    fn frame(
        fwd: bool,
        seq: u32,
        ack: Option<u32>,
        syn: bool,
        len: usize,
        win: u16,
        opts: &[TcpOptionElement],
    ) -> Vec<u8> {
        let (s, d, sp, dp) = if fwd {
            ([10, 0, 0, 1], [10, 0, 1, 1], 40000, 5001)
        } else {
            ([10, 0, 1, 1], [10, 0, 0, 1], 5001, 40000)
        };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(s, d, 64)
            .tcp(sp, dp, seq, win);
        if syn {
            b = b.syn();
        }
        if let Some(a) = ack {
            b = b.ack(a);
        }
        let b = b.options(opts).unwrap();
        let payload = vec![0u8; len];
        let mut out = Vec::new();
        b.write(&mut out, &payload).unwrap();
        out
    }

    /// Captured frames: (time µs, frame).
    pub(crate) type Frames = Vec<(u64, Vec<u8>)>;

    /// Writes a pcap of (time µs, frame) records.
    pub(crate) fn write_pcap(path: &Path, frames: &[(u64, Vec<u8>)]) {
        let f = File::create(path).unwrap();
        let h = PcapHeader {
            ts_resolution: pcap_file::TsResolution::NanoSecond,
            ..PcapHeader::default()
        };
        let mut w = PcapWriter::with_header(f, h).unwrap();
        for (us, data) in frames {
            w.write_packet(&PcapPacket {
                timestamp: Duration::from_micros(*us),
                orig_len: data.len() as u32,
                data: Cow::Borrowed(data),
            })
            .unwrap();
        }
    }

    /// A transfer of 4 segments of 1000 bytes, the second lost and retransmitted after a
    /// SACK; ISN 1000 (sender) and 5000 (receiver); wscale 7 both ways. `delay` µs later at
    /// the receiver.
    pub(crate) fn transfer(delay: u64) -> (Frames, Frames) {
        let ws = [TcpOptionElement::WindowScale(7)];
        let tx = vec![
            (0, frame(true, 1000, None, true, 0, 64240, &ws)),
            (1000, frame(true, 1001, Some(5001), false, 0, 502, &[])),
            (1000, frame(true, 1001, Some(5001), false, 1000, 502, &[])),
            (1001, frame(true, 2001, Some(5001), false, 1000, 502, &[])),
            (1002, frame(true, 3001, Some(5001), false, 1000, 502, &[])),
            (1003, frame(true, 4001, Some(5001), false, 1000, 502, &[])),
            (2000, frame(true, 2001, Some(5001), false, 1000, 502, &[])),
        ];
        let sack = [
            TcpOptionElement::Noop,
            TcpOptionElement::Noop,
            TcpOptionElement::SelectiveAcknowledgement((3001, 5001), [None, None, None]),
        ];
        let rx = vec![
            (500, frame(false, 5000, Some(1001), true, 0, 65160, &ws)),
            (1500, frame(false, 5001, Some(2001), false, 0, 500, &[])),
            (1600, frame(false, 5001, Some(2001), false, 0, 500, &sack)),
            (2500, frame(false, 5001, Some(5001), false, 0, 500, &[])),
        ];
        let at = |v: Vec<(u64, Vec<u8>)>, d: u64| {
            v.into_iter().map(|(t, f)| (t + d, f)).collect::<Vec<_>>()
        };
        // The sender's capture: its segments at send time, the receiver's `delay` later.
        let mut h1: Vec<_> = at(tx.clone(), 0)
            .into_iter()
            .chain(at(rx.clone(), delay))
            .collect();
        h1.sort_by_key(|r| r.0);
        let mut h2: Vec<_> = at(tx, delay).into_iter().chain(at(rx, 0)).collect();
        h2.sort_by_key(|r| r.0);
        (h1, h2)
    }

    pub(crate) fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sim-plot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn finds_the_sender_and_draws_data_acks_sack_and_retransmissions() {
        let d = temp("tcpseq");
        let (h1, h2) = transfer(100);
        write_pcap(&d.join("h1-eth0.pcap"), &h1);
        write_pcap(&d.join("h2-eth0.pcap"), &h2);
        let caps = read(&capture_files(&d).unwrap()).unwrap();
        assert_eq!(caps.connections.len(), 1);
        let c = &caps.connections[0];
        assert_eq!(c.sock(), "10.0.0.1:40000-10.0.1.1:5001");
        assert_eq!(c.capture, "h1-eth0");
        assert_eq!(c.bytes, 5000);
        for spec in ["h1:40000", "10.0.1.1:5001-10.0.0.1:40000", "10.0.0.1:40000"] {
            assert_eq!(select(&caps, Some(spec)).unwrap().len(), 1, "{spec}");
        }
        let e = select(&caps, Some("h9:1")).unwrap_err().to_string();
        assert!(
            e.contains("10.0.0.1:40000-10.0.1.1:5001 (at h1-eth0)"),
            "{e}"
        );

        let ch = caps.chart(c, None).unwrap();
        assert_eq!(ch.name, "tcpseq-h1-40000");
        let get = |label: &str| {
            ch.series
                .iter()
                .find(|s| s.label.starts_with(label))
                .unwrap_or_else(|| panic!("{label}"))
                .kind
                .clone()
        };
        // SYN 0..1, then 4 segments 1..4001; the retransmission 1001..2001 (in kB).
        let Kind::Bars(data) = get("data") else {
            panic!()
        };
        assert_eq!(data.len(), 2, "{data:?}"); // SYN and the 4 segments, merged at one pixel column
        assert_eq!(ch.y_label, "relative sequence number (kB)");
        assert_eq!((data[0].1, data[0].2), (0.0, 0.001));
        assert_eq!((data[1].1, data[1].2), (0.001, 4.001));
        let Kind::MarkedBars(re) = get("retrans") else {
            panic!()
        };
        assert_eq!(re, [(0.002, 1.001, 2.001)]);
        let Kind::Bars(sack) = get("SACK") else {
            panic!()
        };
        assert_eq!(sack, [(0.0017, 2.001, 4.001)]);
        let Kind::Step(acks) = get("ACK") else {
            panic!()
        };
        assert_eq!(acks.first(), Some(&(0.0006, 0.001)));
        assert_eq!(acks.last(), Some(&(0.0026, 4.001)));
        // The SYN-ACK's window is not scaled; the others are: 500 << 7.
        let Kind::Step(w) = get("receive window") else {
            panic!()
        };
        assert_eq!(w.first(), Some(&(0.0006, 65.161)));
        assert_eq!(w.last(), Some(&(0.0026, 68.001)));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_pcapng_names_its_interfaces_and_a_window_zooms() {
        use pcap_file::DataLink;
        use pcap_file::pcapng::PcapNgWriter;
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::{
            InterfaceDescriptionBlock, InterfaceDescriptionOption,
        };
        let d = temp("pcapng");
        let (h1, h2) = transfer(100);
        let mut w = PcapNgWriter::new(File::create(d.join("capture.pcapng")).unwrap()).unwrap();
        for name in ["h2-eth0", "h1-eth0"] {
            w.write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Borrowed(name)),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            })
            .unwrap();
        }
        for (iface, frames) in [(1, &h1), (0, &h2)] {
            for (us, data) in frames {
                w.write_pcapng_block(EnhancedPacketBlock {
                    interface_id: iface,
                    timestamp: Duration::from_micros(*us),
                    original_len: data.len() as u32,
                    data: Cow::Borrowed(data),
                    options: Vec::new(),
                })
                .unwrap();
            }
        }
        drop(w);
        let caps = read(&capture_files(&d).unwrap()).unwrap();
        assert_eq!(caps.connections.len(), 1);
        assert_eq!(caps.connections[0].capture, "h1-eth0");
        // From 1.5 ms on: the SACK, the retransmission and the last ACKs only.
        let ch = caps
            .chart(&caps.connections[0], Some((0.0015, 1.0)))
            .unwrap();
        assert!(!ch.y_from_zero);
        let data = ch
            .series
            .iter()
            .find(|s| s.label == "data segments")
            .unwrap();
        assert!(matches!(&data.kind, Kind::Bars(b) if b.is_empty()));
        let re = ch
            .series
            .iter()
            .find(|s| s.label == "retransmissions")
            .unwrap();
        assert!(matches!(&re.kind, Kind::MarkedBars(b) if b.len() == 1));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn sequence_numbers_unwrap() {
        let mut u = Unwrap::new(u32::MAX - 10);
        assert_eq!(u.rel(u32::MAX - 10), 0);
        assert_eq!(u.rel(5), 16);
        assert_eq!(u.rel(u32::MAX), 10);
        assert_eq!(u.rel(1_000_000), 1_000_011);
    }

    #[test]
    fn a_bad_pcap_is_an_error() {
        let d = temp("badpcap");
        std::fs::write(d.join("x-eth0.pcap"), b"not a pcap").unwrap();
        let e = read(&capture_files(&d).unwrap()).unwrap_err().to_string();
        assert!(e.contains("x-eth0.pcap"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
