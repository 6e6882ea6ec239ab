//! `http_server`: an HTTP/1.0 server like Python's `http.server` in the reference. For each
//! connection: read the request (the kernel ACKs it at once, in quick-ACK mode), wait the
//! think time, write the response header in one `send()`, write the body in another
//! [`BODY_GAP`] later, and close [`CLOSE_GAP`] after that (HTTP/1.0: no keep-alive).
//!
//! The header is Python's, 187 bytes for a 4096-byte body; its `Date:` is the simulated
//! time since the Unix epoch, so it keeps its length.
//!
//! The body is a page of a fixed pattern ([`body_fill`]), made as it is written: each
//! `send()` is given what the socket can take now and one byte more (so that it is cut short
//! and the socket wakes the server when space frees), exactly what the socket would have
//! taken from the whole body in one buffer. A body of any size (up to 2^64 − 1 bytes) costs
//! the server a send buffer's worth of memory, not its size.

use std::collections::BTreeMap;

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
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
    /// Body bytes still to write.
    left: u64,
}

/// A running HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    /// TCP port.
    pub port: u16,
    /// Body bytes.
    pub body: u64,
    /// Request → header delay.
    pub think_time: SimDuration,
    /// The listening socket.
    pub listener: Option<SockId>,
    /// The IPv6 one (v6-only), on a node with IPv6 addresses.
    pub listener6: Option<SockId>,
    conns: BTreeMap<SockId, Conn>,
    /// The body bytes of the write being made (its `send()` buffer, kept between writes).
    buf: Vec<u8>,
    /// The buffer requests are read into.
    rbuf: Vec<u8>,
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
    pub fn new(port: u16, body: u64, think_time: SimDuration) -> Self {
        Self {
            port,
            body,
            think_time,
            listener: None,
            listener6: None,
            conns: BTreeMap::new(),
            buf: Vec::new(),
            rbuf: vec![0; 1 << 16],
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
pub fn response_header(now: SimTime, body: u64) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: {}\r\nContent-type: text/html\r\nContent-Length: {body}\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n",
        http_date(now)
    )
}

/// The start of the page.
const PAGE_HEAD: &[u8] = b"<!DOCTYPE html>\n<html><head><title>netsim</title></head><body>\n";
/// The end of the page.
const PAGE_TAIL: &[u8] = b"</body></html>\n";

/// Bytes `off..off + out.len()` of the body of `len` bytes: an HTML page, [`PAGE_HEAD`],
/// then lines of 63 `x` and a newline (counted from the start of the page), then
/// [`PAGE_TAIL`] (each cut short when the body is shorter than they are).
///
/// # Panics
/// If the range goes beyond `len`.
pub fn body_fill(len: u64, off: u64, out: &mut [u8]) {
    assert!(
        off.checked_add(out.len() as u64)
            .is_some_and(|end| end <= len),
        "bytes {off}+{} beyond a body of {len}",
        out.len()
    );
    let head_end = (PAGE_HEAD.len() as u64).min(len);
    let tail_start = head_end.max(len.saturating_sub(PAGE_TAIL.len() as u64));
    // The tail's first byte is PAGE_TAIL[tail_skip] (a body shorter than head + tail shows
    // only the tail's end).
    let tail_skip = PAGE_TAIL.len() as u64 - (len - tail_start);
    let mut i = off;
    let mut out = out;
    while !out.is_empty() {
        let n = if i < head_end {
            let n = out.len().min((head_end - i) as usize);
            out[..n].copy_from_slice(&PAGE_HEAD[i as usize..i as usize + n]);
            n
        } else if i < tail_start {
            // Within a line: up to its newline, or the tail.
            let col = (i % 64) as usize;
            let n = out.len().min(64 - col).min((tail_start - i) as usize);
            out[..n].fill(b'x');
            if col + n == 64 {
                out[n - 1] = b'\n';
            }
            n
        } else {
            let at = (tail_skip + (i - tail_start)) as usize;
            let n = out.len();
            out.copy_from_slice(&PAGE_TAIL[at..at + n]);
            n
        };
        i += n as u64;
        out = &mut out[n..];
    }
}

/// The whole body of `len` bytes (for tests and small bodies).
pub fn body_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    body_fill(len as u64, 0, &mut v);
    v
}

impl HttpServer {
    /// Reads what the connection sent; a complete request starts the think time.
    fn read(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let now = cx.now();
        loop {
            match cx.recv(sock, &mut self.rbuf, MsgFlags::NONE) {
                Ok(m) if m.len == 0 => break,
                Ok(m) => {
                    let Some(c) = self.conns.get_mut(&sock) else {
                        return;
                    };
                    c.request.extend_from_slice(&self.rbuf[..m.len]);
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

    /// Writes as much of the body as the socket takes now (`send()` with what is left):
    /// what the socket would take from the whole rest of the body, and one byte more if
    /// there is more, so that the write is cut short just as that one would be.
    fn flush(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let Some(left) = self.conns.get(&sock).map(|c| c.left) else {
            return;
        };
        if left == 0 {
            return;
        }
        let space = crate::tcp::tcp_send_space(cx.n, sock) as u64;
        let n = left.min(space.saturating_add(1)) as usize;
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(n, 0);
        body_fill(self.body, self.body - left, &mut buf);
        let sent = cx.send(sock, &buf, MsgFlags::NONE).unwrap_or(0);
        self.buf = buf;
        self.report.bytes_sent += sent as u64;
        if let Some(c) = self.conns.get_mut(&sock) {
            c.left -= sent as u64;
            if c.left == 0 && c.phase == ConnPhase::Body {
                c.phase = ConnPhase::Closing;
                let at = cx.now() + CLOSE_GAP;
                cx.schedule(at, sock);
            }
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
        self.listener6 = cx.listen6(self.port, 128);
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if self.listener == Some(sock) || self.listener6 == Some(sock) {
            while let Ok((child, _)) = cx.accept(sock) {
                self.report.connections += 1;
                self.conns.insert(
                    child,
                    Conn {
                        phase: ConnPhase::Request,
                        request: Vec::new(),
                        left: 0,
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
                c.left = body;
                if body == 0 {
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

    /// The page as it was built whole before it was made piece by piece.
    fn page(len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(&PAGE_HEAD[..PAGE_HEAD.len().min(len)]);
        while v.len() + PAGE_TAIL.len() < len {
            v.push(if v.len() % 64 == 63 { b'\n' } else { b'x' });
        }
        let rest = len - v.len();
        v.extend_from_slice(&PAGE_TAIL[PAGE_TAIL.len() - rest..]);
        v
    }

    #[test]
    fn the_body_made_piece_by_piece_is_the_page() {
        for len in [
            0, 1, 10, 62, 63, 64, 70, 77, 78, 79, 127, 128, 200, 4096, 10_000,
        ] {
            let want = page(len);
            assert_eq!(body_bytes(len), want, "len {len}");
            // Any cut into pieces gives the same bytes.
            for step in [1, 7, 64, 1000] {
                let mut got = vec![0; len];
                for (k, chunk) in got.chunks_mut(step).enumerate() {
                    body_fill(len as u64, (k * step) as u64, chunk);
                }
                assert_eq!(got, want, "len {len} in pieces of {step}");
            }
        }
        // The middle and the end of a body far larger than memory.
        let len = 1u64 << 40;
        let mut out = [0u8; 200];
        body_fill(len, 1 << 39, &mut out);
        assert_eq!(&out[..63], &[b'x'; 63]);
        assert_eq!(out[63], b'\n');
        body_fill(len, len - 200, &mut out);
        // The tail starts at 2^40 − 15, column 49 of its line: the line is cut there.
        assert!(out.ends_with(b"xxx</body></html>\n"), "{out:?}");
        assert_eq!(out[200 - 15 - 49 - 1], b'\n');
    }

    #[test]
    fn header_is_187_bytes_like_python() {
        let h = response_header(SimTime::from_nanos(3_000_000_000), 4096);
        assert_eq!(h.len(), 187);
        assert!(h.contains("Date: Thu, 01 Jan 1970 00:00:03 GMT\r\n"));
        assert_eq!(body_bytes(4096).len(), 4096);
        assert_eq!(body_bytes(10).len(), 10);
        assert_eq!(
            response_header(SimTime::ZERO, u64::MAX).lines().nth(4),
            Some("Content-Length: 18446744073709551615")
        );
        assert_eq!(
            http_date(SimTime::from_nanos(86_400 * 1_000_000_000 * 365)),
            "Fri, 01 Jan 1971 00:00:00 GMT"
        );
    }
}
