//! The text trace: one stable line per frame sent, received or dropped, and optionally the
//! modeled kernel functions each packet went through.
//!
//! A frame line reads
//!
//! ```text
//! 0.000019120 client eth0 tx 69 IP 10.0.0.2.41765 > 10.0.1.53.53: UDP, length 27
//! ```
//!
//! — time in seconds with nanoseconds, node, interface, direction (`tx` at
//! `dev_hard_start_xmit`, `rx` at `netif_receive_skb`, `drop` where a packet dies), the frame
//! length, and a tcpdump-like summary. A drop names its place and reason (`drop qdisc_drop`,
//! `drop neigh_failed`, `drop ip_forward(ttl_exceeded)`, `drop nf_drop(LOCAL_IN)`,
//! `drop udp_rcv(no_port)`, …); a drop at the device shows the frame, one above it the IP
//! packet (its length and summary without the Ethernet header). At the `path` level each
//! `tx`/`rx` line is followed by the packet's path through the modeled stack:
//!
//! ```text
//!     path: ping_send > ip_route_output_flow > ip_local_out > nf_hook(LOCAL_OUT) > ip_output > …
//! ```
//!
//! The trace is byte-identical for the same scenario and seed: it is the basis of the golden
//! tests. Nothing in it depends on wall-clock time or on hash order.

use std::fmt::Write as _;
use std::io::{self, Write};

use sim_core::SimTime;

use crate::wire;

/// How much the trace records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TraceLevel {
    /// Nothing.
    None,
    /// One line per frame sent, received or dropped.
    #[default]
    Frames,
    /// Frames, each followed by the modeled function path of its packet.
    Path,
}

/// Where one of the trace's streams goes.
enum Out {
    /// Not recorded.
    Off,
    /// Written out.
    Writer(Box<dyn Write + Send>),
    /// Kept in memory, for a partition of a parallel run (which hands its lines over in
    /// order: [`Trace::take_memory`]).
    Memory(Vec<u8>),
}

impl Out {
    #[inline]
    fn on(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Appends `bytes`; on an error, keeps the first one and stops recording.
    fn write(&mut self, bytes: &[u8], error: &mut Option<io::Error>) {
        match self {
            Self::Off => {}
            Self::Writer(w) => {
                if let Err(e) = w.write_all(bytes) {
                    error.get_or_insert(e);
                    *self = Self::Off;
                }
            }
            Self::Memory(m) => m.extend_from_slice(bytes),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Memory(m) => m.len(),
            _ => 0,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Writer(w) => w.flush(),
            _ => Ok(()),
        }
    }
}

/// Where trace lines go.
pub struct Trace {
    level: TraceLevel,
    out: Out,
    line: String,
    error: Option<io::Error>,
    /// Lines written.
    pub lines: u64,
    /// The `tcp:tcp_probe` tracepoint's lines (`sim run --tcp-probe`), when asked for.
    probe: Out,
    /// Its lines written.
    pub probe_lines: u64,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("level", &self.level)
            .field("lines", &self.lines)
            .finish()
    }
}

impl Trace {
    /// A trace that records nothing.
    pub fn disabled() -> Self {
        Self {
            level: TraceLevel::None,
            out: Out::Off,
            line: String::new(),
            error: None,
            lines: 0,
            probe: Out::Off,
            probe_lines: 0,
        }
    }

    /// A trace at `level` written to `out` (buffer it: lines are written one by one).
    pub fn new(level: TraceLevel, out: Box<dyn Write + Send>) -> Self {
        Self {
            level,
            out: if level == TraceLevel::None {
                Out::Off
            } else {
                Out::Writer(out)
            },
            line: String::with_capacity(256),
            error: None,
            lines: 0,
            probe: Out::Off,
            probe_lines: 0,
        }
    }

    /// Also records the `tcp:tcp_probe` tracepoint, one line per segment an established
    /// TCP socket receives, into `out` (buffer it).
    pub fn with_tcp_probe(mut self, out: Box<dyn Write + Send>) -> Self {
        self.probe = Out::Writer(out);
        self
    }

    /// A trace recording what `like` records (level, tcp_probe), into memory: a partition's
    /// of a parallel run, whose lines are merged into `like` in the run's order.
    pub fn in_memory_like(like: &Self) -> Self {
        let mem = |o: &Out| {
            if o.on() {
                Out::Memory(Vec::new())
            } else {
                Out::Off
            }
        };
        Self {
            level: like.level,
            out: mem(&like.out),
            line: String::with_capacity(256),
            error: None,
            lines: 0,
            probe: mem(&like.probe),
            probe_lines: 0,
        }
    }

    /// How many bytes of lines and of `tcp_probe` lines are held in memory.
    #[inline]
    pub fn memory_len(&self) -> (usize, usize) {
        (self.out.len(), self.probe.len())
    }

    /// Takes the lines and `tcp_probe` lines held in memory, leaving the buffers empty (with
    /// their capacity: `give_back` them).
    pub fn take_memory(&mut self) -> (Vec<u8>, Vec<u8>) {
        let take = |o: &mut Out| match o {
            Out::Memory(m) => std::mem::take(m),
            _ => Vec::new(),
        };
        (take(&mut self.out), take(&mut self.probe))
    }

    /// Returns emptied buffers taken by [`take_memory`](Self::take_memory).
    pub fn give_back(&mut self, mut lines: Vec<u8>, mut probe: Vec<u8>) {
        lines.clear();
        probe.clear();
        if let Out::Memory(m) = &mut self.out {
            *m = lines;
        }
        if let Out::Memory(m) = &mut self.probe {
            *m = probe;
        }
    }

    /// Writes `lines` (whole lines) and `probe` (whole `tcp_probe` lines) as they are: a
    /// partition's output, in the run's order.
    pub fn write_raw(&mut self, lines: &[u8], probe: &[u8]) {
        if !lines.is_empty() {
            self.out.write(lines, &mut self.error);
        }
        if !probe.is_empty() {
            self.probe.write(probe, &mut self.error);
        }
    }

    /// Whether `tcp_probe` lines are recorded.
    #[inline]
    pub fn tcp_probe_on(&self) -> bool {
        self.probe.on()
    }

    /// Records a `tcp_probe` line: `time node tcp_probe: fields`.
    pub fn tcp_probe(&mut self, time: SimTime, node: &str, fields: std::fmt::Arguments<'_>) {
        if !self.probe.on() {
            return;
        }
        self.line.clear();
        let _ = writeln!(self.line, "{time} {node} tcp_probe: {fields}");
        self.probe_lines += 1;
        self.probe.write(self.line.as_bytes(), &mut self.error);
    }

    /// Whether frame lines are recorded.
    #[inline]
    pub fn frames(&self) -> bool {
        self.out.on()
    }

    /// Whether function paths are recorded.
    #[inline]
    pub fn paths(&self) -> bool {
        self.level == TraceLevel::Path && self.out.on()
    }

    /// Records a frame line: `time node iface dir len summary`.
    pub fn frame(
        &mut self,
        time: SimTime,
        node: &str,
        iface: &str,
        dir: &str,
        frame: &[u8],
        path: &[&'static str],
    ) {
        self.record(time, node, iface, dir, frame, path, false);
    }

    /// Records a line for `bytes`, which start at the Ethernet header, or (for a packet
    /// dropped above the device) at the IP header: then the length and summary are the IP
    /// packet's.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        time: SimTime,
        node: &str,
        iface: &str,
        dir: &str,
        frame: &[u8],
        path: &[&'static str],
        l3: bool,
    ) {
        if !self.out.on() {
            return;
        }
        self.line.clear();
        let _ = write!(self.line, "{time} {node} {iface} {dir} {} ", frame.len());
        let _ = if l3 {
            wire::write_ip_summary(&mut self.line, frame)
        } else {
            wire::write_summary(&mut self.line, frame)
        };
        self.line.push('\n');
        if self.level == TraceLevel::Path && !path.is_empty() {
            self.line.push_str("    path: ");
            for (i, f) in path.iter().enumerate() {
                if i > 0 {
                    self.line.push_str(" > ");
                }
                self.line.push_str(f);
            }
            self.line.push('\n');
        }
        self.flush_line();
    }

    /// Records a free-form event line (`time node what`), e.g. a neighbour state change or
    /// an app's result.
    pub fn event(&mut self, time: SimTime, node: &str, what: std::fmt::Arguments<'_>) {
        if !self.out.on() {
            return;
        }
        self.line.clear();
        let _ = writeln!(self.line, "{time} {node} {what}");
        self.flush_line();
    }

    fn flush_line(&mut self) {
        self.lines += 1;
        self.out.write(self.line.as_bytes(), &mut self.error);
    }

    /// Flushes the output; reports the first write error, if any occurred.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        self.probe.flush()
    }
}

/// A shared in-memory sink, for tests and for callers that want the trace as a string.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl MemorySink {
    /// The text written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("sink lock")).into_owned()
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("sink lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
