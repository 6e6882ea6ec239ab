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

/// Where trace lines go.
pub struct Trace {
    level: TraceLevel,
    out: Option<Box<dyn Write>>,
    line: String,
    error: Option<io::Error>,
    /// Lines written.
    pub lines: u64,
    /// The `tcp:tcp_probe` tracepoint's lines (`sim run --tcp-probe`), when asked for.
    probe: Option<Box<dyn Write>>,
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
            out: None,
            line: String::new(),
            error: None,
            lines: 0,
            probe: None,
            probe_lines: 0,
        }
    }

    /// A trace at `level` written to `out` (buffer it: lines are written one by one).
    pub fn new(level: TraceLevel, out: Box<dyn Write>) -> Self {
        Self {
            level,
            out: if level == TraceLevel::None {
                None
            } else {
                Some(out)
            },
            line: String::with_capacity(256),
            error: None,
            lines: 0,
            probe: None,
            probe_lines: 0,
        }
    }

    /// Also records the `tcp:tcp_probe` tracepoint, one line per segment an established
    /// TCP socket receives, into `out` (buffer it).
    pub fn with_tcp_probe(mut self, out: Box<dyn Write>) -> Self {
        self.probe = Some(out);
        self
    }

    /// Whether `tcp_probe` lines are recorded.
    #[inline]
    pub fn tcp_probe_on(&self) -> bool {
        self.probe.is_some()
    }

    /// Records a `tcp_probe` line: `time node tcp_probe: fields`.
    pub fn tcp_probe(&mut self, time: SimTime, node: &str, fields: std::fmt::Arguments<'_>) {
        let Some(out) = self.probe.as_mut() else {
            return;
        };
        self.line.clear();
        let _ = writeln!(self.line, "{time} {node} tcp_probe: {fields}");
        self.probe_lines += 1;
        if let Err(e) = out.write_all(self.line.as_bytes()) {
            self.error.get_or_insert(e);
            self.probe = None;
        }
    }

    /// Whether frame lines are recorded.
    #[inline]
    pub fn frames(&self) -> bool {
        self.out.is_some()
    }

    /// Whether function paths are recorded.
    #[inline]
    pub fn paths(&self) -> bool {
        self.level == TraceLevel::Path && self.out.is_some()
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
        if self.out.is_none() {
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
        if self.out.is_none() {
            return;
        }
        self.line.clear();
        let _ = writeln!(self.line, "{time} {node} {what}");
        self.flush_line();
    }

    fn flush_line(&mut self) {
        self.lines += 1;
        if let Some(out) = self.out.as_mut()
            && let Err(e) = out.write_all(self.line.as_bytes())
        {
            self.error.get_or_insert(e);
            self.out = None;
        }
    }

    /// Flushes the output; reports the first write error, if any occurred.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
        }
        if let Some(out) = self.probe.as_mut() {
            out.flush()?;
        }
        Ok(())
    }
}

/// A shared in-memory sink, for tests and for callers that want the trace as a string.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl MemorySink {
    /// The text written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
