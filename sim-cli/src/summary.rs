//! The end-of-run summary `sim run` prints on stdout: what was simulated, how fast, where
//! packets were dropped, what each app got, and where the outputs are. Short enough to read
//! in five seconds; every figure in it is also in `stats.json` except the wall-clock ones.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use sim_stack::apps::AppReport;
use sim_stack::capture::CaptureSummary;
use sim_stack::config::Scenario;
use sim_stack::world::{Drops, RunTotals};

use crate::progress::si;

/// Everything the summary shows.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The scenario run.
    pub scenario: &'a Scenario,
    /// Its totals.
    pub totals: &'a RunTotals,
    /// Each app's line but the `dc_flows` ones ([`app_line`]), with its node.
    pub app_lines: &'a [(String, String)],
    /// The `dc_flows` apps' reports, in scenario order.
    pub dc_flows: &'a [sim_stack::apps::dc_flows::DcFlowsReport],
    /// Wall-clock time of the simulation proper.
    pub wall: Duration,
    /// Why it stopped before its end (`interrupted by SIGTERM`), if it did.
    pub stopped: Option<&'a str>,
    /// Lines in `trace.txt`, if written.
    pub trace_lines: Option<u64>,
    /// Lines in `tcp_probe.txt`, if written.
    pub probe_lines: Option<u64>,
    /// The capture files, if any.
    pub capture: Option<&'a CaptureSummary>,
    /// Name of the statistics file.
    pub stats_file: &'a str,
    /// Snapshot files written into `snapshots/`.
    pub snapshots: usize,
    /// Time-series files written into `samples/`, and their rows.
    pub samples: Option<(usize, u64)>,
    /// The output folder.
    pub out_dir: &'a Path,
    /// How a run on several threads went.
    pub parallel: Option<&'a crate::report::timing::ParallelTiming>,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.totals;
        let wall = self.wall.as_secs_f64().max(1e-9);
        let sim = s.sim_time_ns as f64 / 1e9;
        write!(f, "{} (seed {})", self.scenario.name, self.scenario.seed)?;
        if let Some(why) = self.stopped {
            write!(f, "  — {why}; outputs hold what was simulated")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  simulated  {sim:.6} s in {wall:.3} s wall ({}× real time)",
            si(sim / wall).trim_end()
        )?;
        writeln!(
            f,
            "  events     {} ({}/s)",
            s.events,
            si(s.events as f64 / wall)
        )?;
        if let Some(p) = self.parallel {
            writeln!(
                f,
                "  threads    {}: {} link{} cut, {} windows of {} ns, {} frames crossed; \
                 busiest thread {:.0}% of events; waited {:.3} s, merged {:.3} s",
                p.threads,
                p.cut_links,
                if p.cut_links == 1 { "" } else { "s" },
                p.windows,
                p.lookahead_ns,
                p.cross_frames,
                p.busiest_share * 100.0,
                p.wait_ns as f64 / 1e9,
                p.serial_ns as f64 / 1e9
            )?;
        }
        writeln!(f, "  frames     {} on links", s.frames)?;
        writeln!(f, "  drops      {}", drops_line(&s.drops))?;
        for (node, line) in self.app_lines {
            writeln!(f, "  {node:<10} {line}")?;
        }
        dc_flows_lines(f, self.dc_flows)?;
        let mut files = Vec::new();
        if let Some(n) = self.trace_lines {
            files.push(format!("trace.txt ({n} lines)"));
        }
        if let Some(n) = self.probe_lines {
            files.push(format!("tcp_probe.txt ({n} lines)"));
        }
        if let Some(c) = self.capture {
            let kind = if c.files.len() == 1
                && c.files[0].path.extension().is_some_and(|e| e == "pcapng")
            {
                "pcapng".to_string()
            } else {
                format!("{} pcaps", c.files.len())
            };
            files.push(format!(
                "{kind} ({} frames, {} bytes)",
                c.total_frames, c.total_bytes
            ));
        }
        files.push(self.stats_file.to_string());
        if self.snapshots > 0 {
            files.push(format!("snapshots/ ({} files)", self.snapshots));
        }
        if let Some((n, rows)) = self.samples {
            let s = if n == 1 { "" } else { "s" };
            files.push(format!("samples/ ({n} file{s}, {rows} rows)"));
        }
        files.push("params.json".to_string());
        writeln!(
            f,
            "  outputs    {}/: {}",
            self.out_dir.display(),
            files.join(", ")
        )
    }
}

fn drops_line(d: &Drops) -> String {
    let parts: Vec<String> = [
        ("qdisc", d.qdisc),
        ("arp_queue", d.arp_queue),
        ("ip", d.ip),
        ("switch", d.switch),
        ("link_loss", d.link_loss),
        ("link_mtu", d.link_mtu),
        ("netfilter", d.netfilter),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{k} {n}"))
    .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

/// One line per app, in the words of the real tool.
/// An app's line in the summary.
pub(crate) fn app_line(app: &AppReport) -> String {
    match app {
        AppReport::User(u) => u.summary.clone(),
        AppReport::DcFlows(d) => format!(
            "dc_flows: {} flows, {} finished, {} bytes received",
            d.started, d.finished, d.bytes_received
        ),
        AppReport::Ping(p) => {
            let mut l = format!(
                "ping {}: {} transmitted, {} received, {}% packet loss",
                p.dst,
                p.transmitted,
                p.received,
                fmt_pct(p.loss_percent)
            );
            if p.errors > 0 {
                l.push_str(&format!(", +{} errors", p.errors));
            }
            if let (Some(a), Some(b), Some(c)) = (p.rtt_min_ns, p.rtt_avg_ns, p.rtt_max_ns) {
                l.push_str(&format!(
                    ", rtt min/avg/max {}/{}/{} ms",
                    ms(a),
                    ms(b),
                    ms(c)
                ));
            }
            if let Some(e) = &p.error {
                l.push_str(&format!(" ({e})"));
            }
            l
        }
        AppReport::Curl(c) => {
            let t = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.6}"));
            let mut l = format!(
                "curl {}: {} {} bytes, namelookup {} connect {} starttransfer {} total {}",
                c.url,
                c.http_code.map_or("---".to_string(), |x| x.to_string()),
                c.size_download,
                t(c.time_namelookup),
                t(c.time_connect),
                t(c.time_starttransfer),
                t(c.time_total)
            );
            if let Some(e) = &c.error {
                l.push_str(&format!(" (curl: {e})"));
            }
            l
        }
        AppReport::DnsServer(d) => format!(
            "dns_server: {} queries, {} answered, {} nodata, {} refused, {} nxdomain",
            d.queries, d.answered, d.nodata, d.refused, d.nxdomain
        ),
        AppReport::HttpServer(h) => format!(
            "http_server: {} connections, {} requests, {} body bytes",
            h.connections, h.requests, h.bytes_sent
        ),
        AppReport::TcpBulk(b) => {
            let mut l = format!(
                "tcp_bulk → {}: {} bytes acked, goodput {}bit/s, {} retransmits",
                b.dst,
                b.bytes_acked,
                si(b.goodput_bps),
                b.retransmits
            );
            if let Some(e) = &b.error {
                l.push_str(&format!(" ({e})"));
            }
            l
        }
        AppReport::TcpSink(k) => format!(
            "tcp_sink: {} connections, {} bytes, goodput {}bit/s",
            k.connections,
            k.bytes,
            si(k.goodput_bps)
        ),
        AppReport::UdpCbr(c) => {
            let mut l = format!("udp_cbr → {}: {} sent, {} EAGAIN", c.dst, c.sent, c.eagain);
            if c.enobufs > 0 {
                l.push_str(&format!(", {} ENOBUFS", c.enobufs));
            }
            l.push_str(&format!(", {} errors", c.errors));
            l
        }
        AppReport::Replay(r) => {
            // tcpreplay's "Actual: N packets (B bytes) sent in S seconds".
            let secs = match (r.first_ns, r.last_ns) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e9,
                _ => 0.0,
            };
            let mut l = format!(
                "replay {} on {}: {} packets ({} bytes) sent in {secs:.6} seconds, {} failed",
                r.file, r.iface, r.sent, r.bytes, r.failed
            );
            if !r.errors.is_empty() {
                let e: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
                l.push_str(&format!(" ({})", e.join(", ")));
            }
            if r.retried_enobufs > 0 {
                l.push_str(&format!(", {} retried (ENOBUFS)", r.retried_enobufs));
            }
            if r.skipped > 0 {
                l.push_str(&format!(", {} skipped", r.skipped));
            }
            if let Some(e) = &r.error {
                l.push_str(&format!(" ({e})"));
            }
            l
        }
        AppReport::UdpSink(k) => format!(
            "udp_sink: {} received, {} lost, {} out of order",
            k.received, k.lost, k.out_of_order
        ),
        AppReport::Craft(c) => {
            let mut l = format!("craft: {} packets, {} bytes sent", c.packets, c.bytes);
            if let Some(e) = c.last_error {
                l.push_str(&format!(", {} failed (last: {e})", c.errors));
            }
            l
        }
    }
}

/// The `dc_flows` apps in three lines rather than one per host: the flows of all of them,
/// and the FCT and slowdown percentiles of those that finished ([`FctSummary`]).
///
/// [`FctSummary`]: sim_stack::apps::dc_flows::FctSummary
fn dc_flows_lines(
    f: &mut fmt::Formatter<'_>,
    reports: &[sim_stack::apps::dc_flows::DcFlowsReport],
) -> fmt::Result {
    let hosts = reports.len();
    let Some(s) = sim_stack::apps::dc_flows::FctSummary::of(reports) else {
        return Ok(());
    };
    let mut l = format!(
        "{hosts} hosts: {} flows, {} finished, {} unfinished",
        s.started, s.finished, s.unfinished
    );
    if s.failed > 0 {
        l.push_str(&format!(" ({} failed)", s.failed));
    }
    writeln!(f, "  {:<10} {l}", "dc_flows")?;
    let a = &s.all;
    if a.flows > 0 {
        let us = |ns: f64| format!("{:.1}", ns / 1e3);
        writeln!(
            f,
            "  {:<10} FCT mean/p50/p99 {}/{}/{} us",
            "",
            us(a.fct_ns.mean),
            us(a.fct_ns.p50),
            us(a.fct_ns.p99)
        )?;
        writeln!(
            f,
            "  {:<10} slowdown mean/p50/p99 {:.2}/{:.2}/{:.2}",
            "", a.slowdown.mean, a.slowdown.p50, a.slowdown.p99
        )?;
    }
    Ok(())
}

/// `25`, `33.3`: as ping prints its loss.
fn fmt_pct(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}
