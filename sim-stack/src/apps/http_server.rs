//! `http_server`: an HTTP/1.0 server like Python's `http.server` in the reference. For each
//! connection: read the request (the kernel ACKs it at once, in quick-ACK mode), wait the
//! think time, write the response header in one `send()`, write the body in another
//! [`BODY_GAP`] later, and close [`CLOSE_GAP`] after that (HTTP/1.0: no keep-alive).
//!
//! The header is Python's, 187 bytes for a 4096-byte body; its `Date:` is the simulated
//! time since the Unix epoch, so it keeps its length.

use std::collections::BTreeMap;

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::sock::syscall::SockType;
use crate::sock::{MsgFlags, SockId};

/// Between the header's `send()` and the body's (Python's `copyfile`; 45–140 µs in the
/// reference).
pub const BODY_GAP: SimDuration = SimDuration::from_micros(100);
/// Between the body's `send()` and `shutdown()` (about 57 µs in the reference).
pub const CLOSE_GAP: SimDuration = SimDuration::from_micros(50);

/// What a connection waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnPhase {
    Request,
    Thinking,
    Body,
    Closing,
    Done,
}

#[derive(Debug)]
struct Conn {
    phase: ConnPhase,
    request: Vec<u8>,
    pending: Vec<u8>,
}

/// A running HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    /// TCP port.
    pub port: u16,
    /// Body bytes.
    pub body: usize,
    /// Request → header delay.
    pub think_time: SimDuration,
    /// The listening socket.
    pub listener: Option<SockId>,
    conns: BTreeMap<SockId, Conn>,
    /// The buffer requests are read into.
    buf: Vec<u8>,
    /// Counters.
    pub report: HttpServerReport,
}

/// What the server did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpServerReport {
    /// Connections accepted.
    pub connections: u64,
    /// Requests answered.
    pub requests: u64,
    /// Body bytes written.
    pub bytes_sent: u64,
}

impl HttpServer {
    /// A server that has not started.
    pub fn new(port: u16, body: usize, think_time: SimDuration) -> Self {
        Self {
            port,
            body,
            think_time,
            listener: None,
            conns: BTreeMap::new(),
            buf: vec![0; 1 << 16],
            report: HttpServerReport::default(),
        }
    }
}

/// `Thu, 01 Jan 1970 00:00:05 GMT` for simulated time `now`.
pub fn http_date(now: SimTime) -> String {
    let secs = now.as_nanos() / 1_000_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{wd}, {d:02} {mon} {y} {h:02}:{m:02}:{s:02} GMT")
}

/// The response header Python's `SimpleHTTPRequestHandler` sends for a file.
pub fn response_header(now: SimTime, body: usize) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: {}\r\nContent-type: text/html\r\nContent-Length: {body}\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n",
        http_date(now)
    )
}

/// The body: an HTML page padded to `len` bytes.
pub fn body_bytes(len: usize) -> Vec<u8> {
    let head = b"<!DOCTYPE html>\n<html><head><title>netsim</title></head><body>\n";
    let tail = b"</body></html>\n";
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&head[..head.len().min(len)]);
    while v.len() + tail.len() < len {
        v.push(if v.len() % 64 == 63 { b'\n' } else { b'x' });
    }
    let rest = len - v.len();
    v.extend_from_slice(&tail[tail.len() - rest..]);
    v
}

impl HttpServer {
    /// Reads what the connection sent; a complete request starts the think time.
    fn read(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let now = cx.now();
        loop {
            match cx.recv(sock, &mut self.buf, MsgFlags::NONE) {
                Ok(m) if m.len == 0 => break,
                Ok(m) => {
                    let Some(c) = self.conns.get_mut(&sock) else {
                        return;
                    };
                    c.request.extend_from_slice(&self.buf[..m.len]);
                    if c.phase == ConnPhase::Request
                        && c.request.windows(4).any(|w| w == b"\r\n\r\n")
                    {
                        c.phase = ConnPhase::Thinking;
                        cx.schedule(now + self.think_time, sock);
                    }
                }
                Err(_) => break,
            }
        }
        // Writable again: continue a body that did not fit the send buffer.
        self.flush(cx, sock);
    }

    /// Writes as much of the pending body as the socket takes.
    fn flush(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let Some(c) = self.conns.get_mut(&sock) else {
            return;
        };
        if c.pending.is_empty() {
            return;
        }
        let data = std::mem::take(&mut c.pending);
        let sent = cx.send(sock, &data, MsgFlags::NONE).unwrap_or(0);
        c.pending = data[sent..].to_vec();
        self.report.bytes_sent += sent as u64;
        if c.pending.is_empty() && c.phase == ConnPhase::Body {
            c.phase = ConnPhase::Closing;
            let at = cx.now() + CLOSE_GAP;
            cx.schedule(at, sock);
        }
    }
}

impl App for HttpServer {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let Ok(sock) = cx.socket_nonblock(SockType::Stream, 0) else {
            return;
        };
        let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.port);
        if cx.bind(sock, addr).is_ok() && cx.listen(sock, 128).is_ok() {
            self.listener = Some(sock);
        }
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if self.listener == Some(sock) {
            while let Ok((child, _)) = cx.accept(sock) {
                self.report.connections += 1;
                self.conns.insert(
                    child,
                    Conn {
                        phase: ConnPhase::Request,
                        request: Vec::new(),
                        pending: Vec::new(),
                    },
                );
                self.read(cx, child);
            }
            return;
        }
        self.read(cx, sock);
    }

    /// The next step of connection `sock`: header, body, close.
    fn timer(&mut self, cx: &mut AppCtx<'_>, sock: u32) {
        let now = cx.now();
        let body = self.body;
        let Some(c) = self.conns.get_mut(&sock) else {
            return;
        };
        match c.phase {
            ConnPhase::Thinking => {
                c.phase = ConnPhase::Body;
                self.report.requests += 1;
                let head = response_header(now, body);
                let _ = cx.send(sock, head.as_bytes(), MsgFlags::NONE);
                cx.schedule(now + BODY_GAP, sock);
            }
            ConnPhase::Body => {
                c.pending = body_bytes(body);
                if c.pending.is_empty() {
                    c.phase = ConnPhase::Closing;
                    cx.schedule(now + CLOSE_GAP, sock);
                } else {
                    self.flush(cx, sock);
                }
            }
            ConnPhase::Closing => {
                c.phase = ConnPhase::Done;
                let _ = cx.close(sock);
            }
            ConnPhase::Request | ConnPhase::Done => {}
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::HttpServer(self.report.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_187_bytes_like_python() {
        let h = response_header(SimTime::from_nanos(3_000_000_000), 4096);
        assert_eq!(h.len(), 187);
        assert!(h.contains("Date: Thu, 01 Jan 1970 00:00:03 GMT\r\n"));
        assert_eq!(body_bytes(4096).len(), 4096);
        assert_eq!(body_bytes(10).len(), 10);
        assert_eq!(
            http_date(SimTime::from_nanos(86_400 * 1_000_000_000 * 365)),
            "Fri, 01 Jan 1971 00:00:00 GMT"
        );
    }
}
