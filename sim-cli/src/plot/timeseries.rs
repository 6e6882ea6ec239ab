//! The time-series figures of a run, from its `samples/*.csv`:
//!
//! | figure | from | what |
//! |---|---|---|
//! | `cwnd` | tcp.csv | `snd_cwnd` (packets) of every socket that sent data |
//! | `rtt` | tcp.csv | smoothed RTT `rtt_us` (ms) of those sockets, and `min_rtt_us` dashed |
//! | `throughput` | tcp.csv | `bytes_acked` gained over the last 100 ms (Mbit/s) |
//! | `qdisc-NODE-DEV` | qdisc.csv | backlog (packets) of each root qdisc that dropped or marked; the busiest one if none did |
//! | `link-util` | link.csv | `util` (%) of every link direction that was ever busy |
//! | `goodput` | app.csv | `rx_bytes` gained over the last 100 ms (Mbit/s) of every app that received |
//!
//! "Sent data" is `bytes_acked > 0` at some instant: the receiving end of a bulk transfer has
//! none, so each transfer is drawn once. A kind with no rows gives no figure.

use super::PlotError;
use super::render::{Chart, Kind, Series};
use super::samples::{Samples, Table, Track, tracks};

/// Seconds from nanoseconds.
fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The figures the samples give, in a fixed order.
pub(crate) fn charts(s: &Samples) -> Result<Vec<Chart>, PlotError> {
    let mut out = Vec::new();
    if let Some(t) = &s.tcp {
        out.extend(tcp_charts(t)?);
    }
    if let Some(t) = &s.qdisc {
        out.extend(qdisc_charts(t)?);
    }
    if let Some(t) = &s.link {
        out.extend(link_chart(t)?);
    }
    if let Some(t) = &s.app {
        out.extend(app_chart(t)?);
    }
    Ok(out)
}

/// `(time s, value)` of one track, the value read from column `col` and mapped by `f`.
fn values(
    t: &Table,
    tr: &Track,
    col: usize,
    f: impl Fn(f64) -> f64,
) -> Result<Vec<(f64, f64)>, PlotError> {
    tr.rows
        .iter()
        .map(|&(ns, r)| Ok((secs(ns), f(t.num(r, col)?))))
        .collect()
}

/// Rates are averaged over this much time (or over one sampling interval, if longer): at
/// 10 ms samples, the ACK clock's bursts and a recovery's cumulative ACK would otherwise
/// draw spikes of several times the link rate.
pub(crate) const RATE_WINDOW_NS: u64 = 100_000_000;

/// The rate of a cumulative byte counter in Mbit/s: at each sample, the bytes counted since
/// the earliest sample at most [`RATE_WINDOW_NS`] before it (the previous one, if that is
/// further) over that time. An object's first sample has no time before it and gives no
/// point.
fn rate_mbit(t: &Table, tr: &Track, col: usize) -> Result<Vec<(f64, f64)>, PlotError> {
    let vals: Vec<(u64, f64)> = tr
        .rows
        .iter()
        .map(|&(ns, r)| Ok((ns, t.num(r, col)?)))
        .collect::<Result<_, PlotError>>()?;
    let mut out = Vec::with_capacity(vals.len());
    let mut j = 0;
    for i in 1..vals.len() {
        let (ns, v) = vals[i];
        while j + 1 < i && ns - vals[j].0 > RATE_WINDOW_NS {
            j += 1;
        }
        let (pns, pv) = vals[j];
        if ns > pns {
            out.push((secs(ns), (v - pv) * 8.0 / secs(ns - pns) / 1e6));
        }
    }
    Ok(out)
}

fn max_of(t: &Table, tr: &Track, col: usize) -> Result<f64, PlotError> {
    tr.rows
        .iter()
        .try_fold(0.0_f64, |m, &(_, r)| Ok(m.max(t.num(r, col)?)))
}

fn tcp_charts(t: &Table) -> Result<Vec<Chart>, PlotError> {
    let acked = t.col("bytes_acked")?;
    let cwnd = t.col("snd_cwnd")?;
    let rtt = t.col("rtt_us")?;
    let mut senders = Vec::new();
    for tr in tracks(t, &["node", "sock"])? {
        if max_of(t, &tr, acked)? > 0.0 {
            senders.push(tr);
        }
    }
    if senders.is_empty() {
        return Ok(Vec::new());
    }
    let label = |tr: &Track| format!("{} {}", tr.key[0], tr.key[1].replacen('-', " → ", 1));
    let make = |name: &str, title: &str, y: &str, col: usize, f: fn(f64) -> f64| {
        let series = senders
            .iter()
            .enumerate()
            .map(|(i, tr)| {
                Ok(Series {
                    label: label(tr),
                    color: i,
                    // A value of 0 is "not measured yet" (no RTT sample, no socket state).
                    kind: Kind::Line(
                        values(t, tr, col, f)?
                            .into_iter()
                            .filter(|p| p.1 > 0.0)
                            .collect(),
                    ),
                })
            })
            .collect::<Result<Vec<_>, PlotError>>()?;
        Ok::<_, PlotError>(Chart {
            name: name.to_string(),
            title: title.to_string(),
            x_label: "time (s)".to_string(),
            y_label: y.to_string(),
            series,
            x_categories: None,
            notes: Vec::new(),
            y_from_zero: true,
        })
    };
    let cwnd = make(
        "cwnd",
        "Congestion window per flow",
        "snd_cwnd (packets)",
        cwnd,
        |v| v,
    )?;
    let mut rtt = make("rtt", "Smoothed RTT per flow", "srtt (ms)", rtt, |v| {
        v / 1000.0
    })?;
    // min_rtt of each flow, dashed in its colour, below its srtt.
    let min_rtt = t.col("min_rtt_us")?;
    for (i, tr) in senders.iter().enumerate() {
        let p = values(t, tr, min_rtt, |v| v / 1000.0)?;
        rtt.series.push(Series {
            label: String::new(),
            color: i,
            kind: Kind::Dashed(p.into_iter().filter(|p| p.1 > 0.0).collect()),
        });
    }
    rtt.notes
        .push("dashed: min_rtt of the same flow".to_string());
    rtt.y_label = "srtt, min_rtt (ms)".to_string();
    let series = senders
        .iter()
        .enumerate()
        .map(|(i, tr)| {
            Ok(Series {
                label: label(tr),
                color: i,
                kind: Kind::Line(rate_mbit(t, tr, acked)?),
            })
        })
        .collect::<Result<Vec<_>, PlotError>>()?;
    let tput = Chart {
        name: "throughput".to_string(),
        title: "Throughput per flow (bytes acked, over the last 100 ms)".to_string(),
        x_label: "time (s)".to_string(),
        y_label: "throughput (Mbit/s)".to_string(),
        series,
        x_categories: None,
        notes: Vec::new(),
        y_from_zero: true,
    };
    Ok(vec![cwnd, rtt, tput])
}

fn qdisc_charts(t: &Table) -> Result<Vec<Chart>, PlotError> {
    let kind = t.col("kind")?;
    let drops = t.col("drops")?;
    let marks = t.col("marks")?;
    let pkts = t.col("backlog_pkts")?;
    let sent = t.col("sent_bytes")?;
    let all = tracks(t, &["node", "dev"])?;
    let mut chosen = Vec::new();
    let mut busiest: Option<(f64, f64, usize)> = None;
    for (i, tr) in all.iter().enumerate() {
        let d = max_of(t, tr, drops)?;
        let m = max_of(t, tr, marks)?;
        if d > 0.0 || m > 0.0 {
            chosen.push((i, d, m));
        }
        let score = (max_of(t, tr, pkts)?, max_of(t, tr, sent)?, i);
        if score.1 > 0.0 && busiest.is_none_or(|b| (score.0, score.1) > (b.0, b.1)) {
            busiest = Some(score);
        }
    }
    let why_busiest = chosen.is_empty();
    if why_busiest && let Some((_, _, i)) = busiest {
        chosen.push((i, 0.0, 0.0));
    }
    let mut out = Vec::new();
    for (i, d, m) in chosen {
        let tr = &all[i];
        let last = tr.rows.last().map_or(0, |&(_, r)| r);
        let qkind = t.rows[last][kind].clone();
        let mut notes = vec![format!("drops: {d}"), format!("ECN marks: {m}")];
        if why_busiest {
            notes.push("(no qdisc dropped or marked:".to_string());
            notes.push(" this is the busiest one)".to_string());
        }
        out.push(Chart {
            name: format!("qdisc-{}-{}", tr.key[0], tr.key[1]),
            title: format!("Queue backlog at {} {} ({qkind})", tr.key[0], tr.key[1]),
            x_label: "time (s)".to_string(),
            y_label: "backlog (packets)".to_string(),
            series: vec![Series {
                label: format!("{} {} backlog", tr.key[0], tr.key[1]),
                color: super::render::BLUE,
                kind: Kind::Line(values(t, tr, pkts, |v| v)?),
            }],
            x_categories: None,
            notes,
            y_from_zero: true,
        });
    }
    Ok(out)
}

fn link_chart(t: &Table) -> Result<Option<Chart>, PlotError> {
    let util = t.col("util")?;
    let mut series = Vec::new();
    for tr in tracks(t, &["from", "to"])? {
        if max_of(t, &tr, util)? > 0.0 {
            series.push(Series {
                label: format!("{} → {}", tr.key[0], tr.key[1]),
                color: series.len(),
                kind: Kind::Line(values(t, &tr, util, |v| v * 100.0)?),
            });
        }
    }
    Ok((!series.is_empty()).then(|| Chart {
        name: "link-util".to_string(),
        title: "Link utilization (sender's line busy, incl. preamble and IFG)".to_string(),
        x_label: "time (s)".to_string(),
        y_label: "utilization (%)".to_string(),
        series,
        x_categories: None,
        notes: Vec::new(),
        y_from_zero: true,
    }))
}

fn app_chart(t: &Table) -> Result<Option<Chart>, PlotError> {
    let rx = t.col("rx_bytes")?;
    let mut series = Vec::new();
    for tr in tracks(t, &["node", "app"])? {
        if max_of(t, &tr, rx)? > 0.0 {
            series.push(Series {
                label: format!("{} {}", tr.key[0], tr.key[1]),
                color: series.len(),
                kind: Kind::Line(rate_mbit(t, &tr, rx)?),
            });
        }
    }
    Ok((!series.is_empty()).then(|| Chart {
        name: "goodput".to_string(),
        title: "Goodput per app (payload bytes received, over the last 100 ms)".to_string(),
        x_label: "time (s)".to_string(),
        y_label: "goodput (Mbit/s)".to_string(),
        series,
        x_categories: None,
        notes: Vec::new(),
        y_from_zero: true,
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;

    /// A tcp.csv of two flows (sender and receiver ends) over 3 instants 10 ms apart.
    pub(crate) const TCP_CSV: &str = "\
time_ns,node,sock,cc,state,ca_state,snd_cwnd,snd_ssthresh,rtt_us,rttvar_us,rto_us,min_rtt_us,pacing_rate,delivery_rate,bytes_sent,bytes_acked,bytes_received,segs_out,segs_in,unacked,sacked,lost,retrans,total_retrans,reordering,snd_mss,notsent_bytes,busy_time_us,rwnd_limited_us,sndbuf_limited_us,delivery_rate_app_limited
0,h1,10.0.0.1:40000-10.0.1.1:5001,cubic,SYN-SENT,Open,10,2147483647,0,0,1000000,0,0,0,0,0,0,1,0,1,0,0,0,0,3,1448,0,0,0,0,0
0,h2,10.0.1.1:5001-10.0.0.1:40000,cubic,ESTAB,Open,10,2147483647,0,0,1000000,0,0,0,0,0,0,1,0,0,0,0,0,0,3,1448,0,0,0,0,0
10000000,h1,10.0.0.1:40000-10.0.1.1:5001,cubic,ESTAB,Open,20,2147483647,4200,2100,204000,4000,1000000,900000,30000,28960,0,22,12,10,0,0,0,0,3,1448,0,10000,0,0,0
10000000,h2,10.0.1.1:5001-10.0.0.1:40000,cubic,ESTAB,Open,10,2147483647,0,0,1000000,0,0,0,0,0,28960,1,20,0,0,0,0,0,3,1448,0,0,0,0,0
20000000,h1,10.0.0.1:40000-10.0.1.1:5001,cubic,ESTAB,Recovery,14,14,5100,2000,205000,4000,1000000,900000,60000,53960,0,42,30,12,2,1,1,1,3,1448,0,20000,0,0,0
20000000,h2,10.0.1.1:5001-10.0.0.1:40000,cubic,ESTAB,Open,10,2147483647,0,0,1000000,0,0,0,0,0,53960,1,40,0,0,0,0,0,3,1448,0,0,0,0,0
";

    pub(crate) const QDISC_CSV: &str = "\
time_ns,node,dev,kind,backlog_bytes,backlog_pkts,sent_bytes,sent_pkts,drops,overlimits,requeues,marks
0,r1,eth0,pfifo_fast,0,0,0,0,0,0,0,0
0,r1,eth1,fq_codel,0,0,0,0,0,0,0,0
10000000,r1,eth0,pfifo_fast,0,0,600,10,0,0,0,0
10000000,r1,eth1,fq_codel,15000,10,30000,20,0,0,0,0
20000000,r1,eth0,pfifo_fast,0,0,1200,20,0,0,0,0
20000000,r1,eth1,fq_codel,30000,20,60000,40,3,0,0,1
";

    pub(crate) const LINK_CSV: &str = "\
time_ns,from,to,rate_bps,frames,bytes,lost,util
0,h1.eth0,r1.eth0,1000000000,0,0,0,0
0,r1.eth0,h1.eth0,1000000000,0,0,0,0
10000000,h1.eth0,r1.eth0,1000000000,20,30000,0,0.0243
10000000,r1.eth0,h1.eth0,1000000000,0,0,0,0
20000000,h1.eth0,r1.eth0,1000000000,40,60000,0,0.0243
20000000,r1.eth0,h1.eth0,1000000000,0,0,0,0
";

    pub(crate) const APP_CSV: &str = "\
time_ns,node,app,tx_bytes,rx_bytes
0,h1,tcp_bulk,0,0
0,h2,tcp_sink,0,0
10000000,h1,tcp_bulk,100000,0
10000000,h2,tcp_sink,0,28960
20000000,h1,tcp_bulk,100000,0
20000000,h2,tcp_sink,0,53960
";

    pub(crate) fn samples() -> Samples {
        let t = |name: &str, text: &str| Some(Table::parse(Path::new(name), text).unwrap());
        Samples {
            tcp: t("tcp.csv", TCP_CSV),
            qdisc: t("qdisc.csv", QDISC_CSV),
            link: t("link.csv", LINK_CSV),
            app: t("app.csv", APP_CSV),
        }
    }

    fn line(c: &Chart, i: usize) -> &[(f64, f64)] {
        match &c.series[i].kind {
            Kind::Line(p) | Kind::Step(p) => p,
            k => panic!("not a line: {k:?}"),
        }
    }

    #[test]
    fn figures_of_a_small_run() {
        let c = charts(&samples()).unwrap();
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cwnd",
                "rtt",
                "throughput",
                "qdisc-r1-eth1",
                "link-util",
                "goodput"
            ]
        );
        // Only the sending end is drawn.
        assert_eq!(c[0].series.len(), 1);
        assert_eq!(c[0].series[0].label, "h1 10.0.0.1:40000 → 10.0.1.1:5001");
        assert_eq!(line(&c[0], 0), [(0.0, 10.0), (0.01, 20.0), (0.02, 14.0)]);
        assert_eq!(line(&c[1], 0), [(0.01, 4.2), (0.02, 5.1)]);
        assert!(
            matches!(&c[1].series[1].kind, Kind::Dashed(p) if p == &[(0.01, 4.0), (0.02, 4.0)])
        );
        assert_eq!(c[1].series[1].label, "");
        // 28960 bytes in 10 ms = 23.168 Mbit/s, then 53960 bytes in 20 ms = 21.584 Mbit/s
        // (the window reaches back 100 ms).
        let tp = line(&c[2], 0);
        assert_eq!(tp.len(), 2);
        assert!((tp[0].1 - 23.168).abs() < 1e-9 && (tp[1].1 - 21.584).abs() < 1e-9);
        assert_eq!(c[3].title, "Queue backlog at r1 eth1 (fq_codel)");
        assert_eq!(c[3].notes[..2], ["drops: 3", "ECN marks: 1"]);
        assert_eq!(c[4].series.len(), 1);
        assert!((line(&c[4], 0)[1].1 - 2.43).abs() < 1e-9);
        assert_eq!(c[5].series[0].label, "h2 tcp_sink");
    }

    #[test]
    fn rates_are_averaged_over_the_last_100_ms() {
        // 1000 bytes every 50 ms, then 11000 in one 50 ms interval.
        let mut csv = String::from("time_ns,node,app,tx_bytes,rx_bytes\n");
        for (i, v) in [0, 1000, 2000, 3000, 14000].iter().enumerate() {
            csv.push_str(&format!("{},h,sink,0,{v}\n", i as u64 * 50_000_000));
        }
        let t = Table::parse(Path::new("app.csv"), &csv).unwrap();
        let tr = &tracks(&t, &["node", "app"]).unwrap()[0];
        let r = rate_mbit(&t, tr, t.col("rx_bytes").unwrap()).unwrap();
        let mbit = |bytes: f64, ms: f64| bytes * 8.0 / (ms / 1000.0) / 1e6;
        let want = [
            (0.05, mbit(1000.0, 50.0)),
            (0.1, mbit(2000.0, 100.0)),
            (0.15, mbit(2000.0, 100.0)),
            (0.2, mbit(12000.0, 100.0)),
        ];
        assert_eq!(r.len(), want.len());
        for (got, want) in r.iter().zip(want) {
            assert!(
                (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-9,
                "{r:?}"
            );
        }
    }

    #[test]
    fn the_busiest_qdisc_when_none_dropped() {
        let q = QDISC_CSV.replace(",3,0,0,1\n", ",0,0,0,0\n");
        let t = Table::parse(Path::new("qdisc.csv"), &q).unwrap();
        let c = qdisc_charts(&t).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].name, "qdisc-r1-eth1");
        assert!(c[0].notes.iter().any(|n| n.contains("busiest")));
    }

    #[test]
    fn headers_only_give_no_figure() {
        let t = |text: &str| Some(Table::parse(Path::new("x.csv"), text).unwrap());
        let s = Samples {
            tcp: t(TCP_CSV.lines().next().unwrap()),
            qdisc: t(QDISC_CSV.lines().next().unwrap()),
            link: t(LINK_CSV.lines().next().unwrap()),
            app: t(APP_CSV.lines().next().unwrap()),
        };
        assert!(charts(&s).unwrap().is_empty());
    }

    #[test]
    fn a_missing_column_is_an_error() {
        let t = Table::parse(Path::new("samples/link.csv"), "time_ns,from,to\n").unwrap();
        let e = link_chart(&t).unwrap_err().to_string();
        assert!(e.contains("has no column `util`"), "{e}");
    }
}
