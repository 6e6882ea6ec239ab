//! A user's own `sim`: netsim's command line with two apps of our own, an RPC client and
//! server, written against the [`App`] trait and the socket calls of [`AppCtx`] as the
//! built-in apps are.
//!
//! ```text
//! cargo run --release -p netsim-example-rpc -- run examples/rpc/rpc.net
//! ```
//!
//! The protocol: a request is an 8-byte header (the request's length and the response's
//! length, big-endian `u32`s) and then filler up to the request's length; the server reads
//! a whole request, waits its `service` time, and writes the response. The client sends a
//! request, reads the whole response, records the time between the two, waits `think`,
//! and asks again, `requests` times, on one connection; it reports the latencies as a
//! histogram and percentiles in `stats.json`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;

use sim_core::{SimDuration, SimTime};
use sim_stack::apps::registry::{AppProps, AppSpec, PropKind, PropSpec};
use sim_stack::apps::{App, AppCtx, AppReport, ReportValue, UserReport};
use sim_stack::node::Node;
use sim_stack::sock::syscall::{PollEvents, SockType};
use sim_stack::sock::{Errno, MsgFlags, SockId};

fn main() -> ExitCode {
    sim_cli::main_with(vec![RpcServer::SPEC, RpcClient::SPEC])
}

/// The request header: request length, response length.
const HEADER: usize = 8;

/// A request being read: its bytes so far, and its (request, response) lengths once the
/// header is in.
type Request = (Vec<u8>, Option<(usize, usize)>);

/// The server: answers every request on every connection after `service`.
#[derive(Debug)]
struct RpcServer {
    port: u16,
    service: SimDuration,
    listener: Option<SockId>,
    /// Per connection: the request being read.
    conns: BTreeMap<SockId, Request>,
    /// Responses waiting to be written, by connection: bytes left.
    pending: BTreeMap<SockId, usize>,
    buf: Vec<u8>,
    requests: u64,
    bytes_out: u64,
}

impl RpcServer {
    const SPEC: AppSpec = AppSpec {
        name: "rpc_server",
        about: "answers RPC requests after a service time",
        props: &[
            PropSpec {
                name: "port",
                kind: PropKind::Int,
                required: true,
                example: "7000",
            },
            PropSpec {
                name: "service",
                kind: PropKind::Time,
                required: false,
                example: "2ms",
            },
        ],
        make: Self::make,
    };

    fn make(p: &AppProps) -> Result<Box<dyn App>, String> {
        let port = p.int("port").unwrap_or(0);
        let port = u16::try_from(port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("`port` must be 1 to 65535, not {port}"))?;
        Ok(Box::new(Self {
            port,
            service: p.time("service").unwrap_or(SimDuration::ZERO),
            listener: None,
            conns: BTreeMap::new(),
            pending: BTreeMap::new(),
            buf: vec![0; 1 << 16],
            requests: 0,
            bytes_out: 0,
        }))
    }

    /// Writes what the socket takes of the pending response.
    fn write(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let Some(left) = self.pending.get_mut(&sock) else {
            return;
        };
        while *left > 0 {
            let chunk = (*left).min(self.buf.len());
            match cx.send(sock, &vec![0u8; chunk], MsgFlags::NONE) {
                Ok(n) => {
                    *left -= n;
                    self.bytes_out += n as u64;
                }
                Err(_) => return,
            }
        }
        self.pending.remove(&sock);
    }
}

impl App for RpcServer {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let Ok(fd) = cx.socket_nonblock(SockType::Stream, 0) else {
            return;
        };
        let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.port);
        if cx.bind(fd, addr).is_ok() && cx.listen(fd, 128).is_ok() {
            self.listener = Some(fd);
        }
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if self.listener == Some(sock) {
            while let Ok((c, _)) = cx.accept(sock) {
                self.conns.insert(c, (Vec::new(), None));
                self.wake(cx, c);
            }
            return;
        }
        self.write(cx, sock);
        loop {
            let m = match cx.recv(sock, &mut self.buf, MsgFlags::NONE) {
                Ok(m) if m.len == 0 => {
                    let _ = cx.close(sock);
                    self.conns.remove(&sock);
                    return;
                }
                Ok(m) => m,
                Err(_) => return,
            };
            let Some((req, header)) = self.conns.get_mut(&sock) else {
                return;
            };
            req.extend_from_slice(&self.buf[..m.len]);
            if header.is_none() && req.len() >= HEADER {
                let n =
                    |i: usize| u32::from_be_bytes(req[i..i + 4].try_into().expect("4")) as usize;
                *header = Some((n(0).max(HEADER), n(4)));
            }
            if let Some((req_len, resp_len)) = *header
                && req.len() >= req_len
            {
                req.drain(..req_len);
                *header = None;
                self.requests += 1;
                // The token is the connection: its response goes out after the service time.
                let at = cx.now() + self.service;
                self.pending.insert(sock, resp_len);
                cx.schedule(at, sock);
            }
        }
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, sock: u32) {
        self.write(cx, sock);
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::User(UserReport {
            app: "rpc_server".into(),
            summary: format!(
                "rpc_server :{}: {} requests, {} bytes out",
                self.port, self.requests, self.bytes_out
            ),
            fields: vec![
                ("requests".into(), ReportValue::UInt(self.requests)),
                ("bytes_out".into(), ReportValue::UInt(self.bytes_out)),
            ],
        })
    }
}

/// The client: `requests` requests, one at a time, `think` apart.
#[derive(Debug)]
struct RpcClient {
    server: SocketAddrV4,
    requests: u64,
    request: usize,
    response: usize,
    think: SimDuration,
    sock: Option<SockId>,
    connected: bool,
    sent_at: Option<SimTime>,
    received: usize,
    buf: Vec<u8>,
    /// Each completed request's latency, in ns.
    latencies: Vec<u64>,
    error: Option<String>,
}

impl RpcClient {
    const SPEC: AppSpec = AppSpec {
        name: "rpc_client",
        about: "sends RPC requests one at a time and measures their latency",
        props: &[
            PropSpec {
                name: "server",
                kind: PropKind::Endpoint,
                required: true,
                example: "10.0.1.2:7000",
            },
            PropSpec {
                name: "requests",
                kind: PropKind::Int,
                required: false,
                example: "100",
            },
            PropSpec {
                name: "request",
                kind: PropKind::Size,
                required: false,
                example: "200B",
            },
            PropSpec {
                name: "response",
                kind: PropKind::Size,
                required: false,
                example: "4KiB",
            },
            PropSpec {
                name: "think",
                kind: PropKind::Time,
                required: false,
                example: "10ms",
            },
        ],
        make: Self::make,
    };

    fn make(p: &AppProps) -> Result<Box<dyn App>, String> {
        let requests = p.int("requests").unwrap_or(10);
        let requests = u64::try_from(requests)
            .map_err(|_| format!("`requests` cannot be negative ({requests})"))?;
        let size = |name: &str, default: u64| -> Result<usize, String> {
            let v = p.size(name).unwrap_or(default);
            usize::try_from(v)
                .ok()
                .filter(|&v| v <= u32::MAX as usize)
                .ok_or_else(|| format!("`{name}` must be at most 4 GiB"))
        };
        Ok(Box::new(Self {
            server: p.endpoint("server").ok_or("`server` is required")?,
            requests,
            request: size("request", 100)?.max(HEADER),
            response: size("response", 1000)?,
            think: p.time("think").unwrap_or(SimDuration::ZERO),
            sock: None,
            connected: false,
            sent_at: None,
            received: 0,
            buf: vec![0; 1 << 16],
            latencies: Vec::new(),
            error: None,
        }))
    }

    fn send_request(&mut self, cx: &mut AppCtx<'_>) {
        let Some(sock) = self.sock else { return };
        if self.latencies.len() as u64 >= self.requests {
            let _ = cx.close(sock);
            self.sock = None;
            return;
        }
        let mut msg = vec![0u8; self.request];
        msg[..4].copy_from_slice(&(self.request as u32).to_be_bytes());
        msg[4..8].copy_from_slice(&(self.response as u32).to_be_bytes());
        match cx.send(sock, &msg, MsgFlags::NONE) {
            Ok(n) if n == msg.len() => {
                self.sent_at = Some(cx.now());
                self.received = 0;
            }
            Ok(_) | Err(_) => self.error = Some("the request did not fit the send buffer".into()),
        }
    }

    fn percentile(sorted: &[u64], p: usize) -> u64 {
        sorted[(sorted.len() - 1) * p / 100]
    }
}

impl App for RpcClient {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let fd = match cx.socket_nonblock(SockType::Stream, 0) {
            Ok(fd) => fd,
            Err(e) => {
                self.error = Some(format!("socket: {e}"));
                return;
            }
        };
        self.sock = Some(fd);
        match cx.connect(fd, self.server) {
            Ok(()) | Err(Errno::InProgress) => {}
            Err(e) => self.error = Some(format!("connect: {e}")),
        }
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if !self.connected {
            if let Some(e) = cx.take_error(sock) {
                self.error = Some(format!("connect: {e}"));
                return;
            }
            if !cx.poll(sock).is_ok_and(|ev| ev.contains(PollEvents::OUT)) {
                return;
            }
            self.connected = true;
            self.send_request(cx);
        }
        loop {
            match cx.recv(sock, &mut self.buf, MsgFlags::NONE) {
                Ok(m) if m.len == 0 => return,
                Ok(m) => {
                    self.received += m.len;
                    if self.received >= self.response
                        && let Some(t) = self.sent_at.take()
                    {
                        self.latencies.push((cx.now() - t).as_nanos());
                        let at = cx.now() + self.think;
                        cx.schedule(at, 0);
                    }
                }
                Err(_) => return,
            }
        }
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        self.send_request(cx);
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        let mut fields = vec![
            ("server".into(), ReportValue::Text(self.server.to_string())),
            ("completed".into(), ReportValue::UInt(sorted.len() as u64)),
        ];
        let summary = if sorted.is_empty() {
            format!("rpc_client {}: no request completed", self.server)
        } else {
            let (p50, p90, p99) = (
                Self::percentile(&sorted, 50),
                Self::percentile(&sorted, 90),
                Self::percentile(&sorted, 99),
            );
            let mean = sorted.iter().sum::<u64>() / sorted.len() as u64;
            // Latency histogram: counts per power-of-two bucket of microseconds.
            let mut hist: BTreeMap<u32, u64> = BTreeMap::new();
            for &ns in &sorted {
                let us = (ns / 1_000).max(1);
                *hist.entry(63 - us.leading_zeros()).or_default() += 1;
            }
            fields.extend([
                ("latency_min_ms".into(), ReportValue::Float(ms(sorted[0]))),
                ("latency_mean_ms".into(), ReportValue::Float(ms(mean))),
                ("latency_p50_ms".into(), ReportValue::Float(ms(p50))),
                ("latency_p90_ms".into(), ReportValue::Float(ms(p90))),
                ("latency_p99_ms".into(), ReportValue::Float(ms(p99))),
                (
                    "latency_max_ms".into(),
                    ReportValue::Float(ms(*sorted.last().expect("non-empty"))),
                ),
                (
                    "histogram_us".into(),
                    ReportValue::Map(
                        hist.iter()
                            .map(|(b, n)| {
                                (
                                    format!("{}-{}", 1u64 << b, 1u64 << (b + 1)),
                                    ReportValue::UInt(*n),
                                )
                            })
                            .collect(),
                    ),
                ),
            ]);
            format!(
                "rpc_client {}: {} requests, latency p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms",
                self.server,
                sorted.len(),
                ms(p50),
                ms(p90),
                ms(p99)
            )
        };
        if let Some(e) = &self.error {
            fields.push(("error".into(), ReportValue::Text(e.clone())));
        }
        AppReport::User(UserReport {
            app: "rpc_client".into(),
            summary,
            fields,
        })
    }
}
