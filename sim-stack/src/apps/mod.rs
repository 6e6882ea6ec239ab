//! Applications: what runs on the hosts. Each app is a small state machine driven by its own
//! timer events and by the packets the stack hands it.
//!
//! Implemented: `ping` (ICMP echo over a raw socket, like iputils ping), `dns_server`,
//! `curl` (with its glibc-like resolver), `http_server`, `tcp_bulk` / `tcp_sink` and
//! `udp_cbr` / `udp_sink`. Apps use the socket calls of [`crate::sock`] and [`crate::tcp`]
//! and are woken by `SockWake` events.

pub mod bulk;
pub mod curl;
pub mod dns_server;
pub mod http_server;
pub mod ping;
pub mod udp_cbr;

use serde::Serialize;
use sim_core::Scheduler;

use crate::sock::SockId;
use crate::world::{Event, World};

/// An application instance on a node.
#[derive(Debug)]
pub struct App {
    /// The node it runs on.
    pub node: usize,
    /// What it is, with its state.
    pub kind: AppKind,
    /// Stopped at its `until`: its sockets are closed and it acts no more.
    pub stopped: bool,
}

/// The `sock` of the [`Event::AppStep`] that stops an app at its `until`.
pub const APP_STOP: u32 = u32::MAX;

/// The kinds of app.
#[derive(Debug)]
pub enum AppKind {
    /// ICMP echo.
    Ping(ping::Ping),
    /// DNS server.
    DnsServer(dns_server::DnsServer),
    /// HTTP client.
    Curl(Box<curl::Curl>),
    /// HTTP server.
    HttpServer(http_server::HttpServer),
    /// Bulk TCP sender.
    TcpBulk(bulk::TcpBulk),
    /// TCP sink.
    TcpSink(bulk::TcpSink),
    /// Constant-bit-rate UDP sender.
    UdpCbr(udp_cbr::UdpCbr),
    /// UDP sink.
    UdpSink(udp_cbr::UdpSink),
}

/// The results of an app, for the summary and `stats.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "app", rename_all = "snake_case")]
pub enum AppReport {
    /// `ping`'s closing statistics.
    Ping(ping::PingReport),
    /// The DNS server's counters.
    DnsServer(dns_server::DnsServerReport),
    /// curl's `-w` figures.
    Curl(curl::CurlReport),
    /// The HTTP server's counters.
    HttpServer(http_server::HttpServerReport),
    /// The bulk sender's outcome.
    TcpBulk(bulk::TcpBulkReport),
    /// The sink's outcome.
    TcpSink(bulk::TcpSinkReport),
    /// The CBR sender's counters.
    UdpCbr(udp_cbr::UdpCbrReport),
    /// The UDP sink's counters.
    UdpSink(udp_cbr::UdpSinkReport),
}

impl World {
    /// An app's timer fired.
    pub(crate) fn app_timer(&mut self, s: &mut Scheduler<Event>, app: usize) {
        if self.apps[app].stopped {
            return;
        }
        let node = self.apps[app].node;
        match &self.apps[app].kind {
            AppKind::Ping(_) => self.ping_tick(s, app),
            AppKind::DnsServer(_) => self.dns_server_start(node, app),
            AppKind::Curl(_) => self.curl_timer(s, node, app),
            AppKind::HttpServer(_) => self.http_server_start(s, node, app),
            AppKind::TcpBulk(_) => self.tcp_bulk_timer(s, node, app),
            AppKind::TcpSink(_) => self.tcp_sink_start(s, node, app),
            AppKind::UdpCbr(_) => self.udp_cbr_tick(s, node, app),
            AppKind::UdpSink(_) => self.udp_sink_start(node, app),
        }
    }

    /// One of an app's sockets woke.
    pub(crate) fn app_wake(&mut self, s: &mut Scheduler<Event>, app: usize, sock: u32) {
        if self.apps[app].stopped {
            return;
        }
        let node = self.apps[app].node;
        match &self.apps[app].kind {
            AppKind::DnsServer(_) => self.dns_server_wake(s, node, app),
            AppKind::Curl(_) => self.curl_wake(s, node, app, sock),
            AppKind::HttpServer(_) => self.http_server_wake(s, node, app, sock),
            AppKind::TcpBulk(_) => self.tcp_bulk_wake(s, node, app, sock),
            AppKind::TcpSink(_) => self.tcp_sink_wake(s, node, app, sock),
            AppKind::UdpSink(_) => self.udp_sink_wake(node, app, sock),
            AppKind::Ping(_) | AppKind::UdpCbr(_) => {}
        }
    }

    /// A step an app scheduled for one of its connections.
    pub(crate) fn app_step(&mut self, s: &mut Scheduler<Event>, app: usize, sock: u32) {
        if sock == APP_STOP {
            self.app_stop(s, app);
            return;
        }
        if self.apps[app].stopped {
            return;
        }
        let node = self.apps[app].node;
        match &self.apps[app].kind {
            AppKind::HttpServer(_) => self.http_server_step(s, node, app, sock),
            AppKind::TcpBulk(_) => self.tcp_bulk_stop(s, node, app),
            _ => {}
        }
    }

    /// `until` reached for an app without a stop of its own (servers, sinks, curl): close
    /// every socket it owns — TCP ones with `close()` (FIN, or RST with unread data; a
    /// listener resets its unaccepted children), UDP ones at once — and ignore it from now
    /// on. A curl stopped before it finished reports so.
    fn app_stop(&mut self, s: &mut Scheduler<Event>, app: usize) {
        if self.apps[app].stopped {
            return;
        }
        self.apps[app].stopped = true;
        let node = self.apps[app].node;
        let owned: Vec<(SockId, bool)> = self.nodes[node]
            .socks
            .iter()
            .filter(|(_, sk)| sk.common().app == Some(app as u32))
            .map(|(id, sk)| (id, matches!(sk, crate::sock::Socket::Tcp(_))))
            .collect();
        for (sock, tcp) in owned {
            if tcp {
                self.tcp_close(s, node, sock);
            } else {
                self.udp_close(node, sock);
            }
        }
        if let AppKind::Curl(c) = &mut self.apps[app].kind
            && c.report.error.is_none()
            && !c.finished()
        {
            c.report.error = Some("stopped (until) before the transfer finished".into());
        }
    }

    /// The report of every app, in scenario order, with the name of its node.
    pub fn app_reports(&self) -> Vec<(String, AppReport)> {
        self.apps
            .iter()
            .map(|a| (self.nodes[a.node].name.clone(), self.app_report(a)))
            .collect()
    }

    /// One app's report.
    pub fn app_report(&self, app: &App) -> AppReport {
        match &app.kind {
            AppKind::Ping(p) => AppReport::Ping(p.report()),
            AppKind::DnsServer(d) => AppReport::DnsServer(d.report.clone()),
            AppKind::Curl(c) => AppReport::Curl(c.report.clone()),
            AppKind::HttpServer(h) => AppReport::HttpServer(h.report.clone()),
            AppKind::TcpBulk(_) | AppKind::TcpSink(_) => self
                .bulk_reports(app, self.now)
                .expect("a bulk app has a report"),
            AppKind::UdpCbr(c) => AppReport::UdpCbr(c.report.clone()),
            AppKind::UdpSink(k) => AppReport::UdpSink(k.report.clone()),
        }
    }
}
