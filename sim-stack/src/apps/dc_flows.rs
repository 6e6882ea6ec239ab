//! `dc_flows`: the flow workload of data-centre transport papers (pFabric, Homa, HPCC):
//! TCP flows between random pairs of hosts, their sizes drawn from an empirical CDF and
//! their starts a Poisson process at a target load, and each flow's completion time (FCT)
//! and slowdown.
//!
//! One `dc_flows` runs on every host of the workload. Each is a source and a sink:
//!
//! * **Arrivals.** Flows leave the host as a Poisson process of rate
//!   `load × rate / (8 × mean flow size)`, as HPCC's `traffic_gen.py` makes them: summed
//!   over the N hosts, the network sees `load × total host-link capacity / mean size`
//!   flows per second, the definition of load of pFabric, Homa and HPCC. The destination
//!   is uniform over the other hosts of `peers`; the size is drawn from the CDF with
//!   linear interpolation between its points (rounded up to a whole byte, at least 1).
//! * **A flow** is one connection: `connect()` to the destination's port, `send()` of
//!   `size` bytes, `shutdown(SHUT_WR)`. It **completes** when the peer has acknowledged
//!   every byte and the FIN (`SIOCOUTQ` is 0 after the shutdown; the socket woke on
//!   entering FIN-WAIT-2). FCT = completion − the `connect()` call, so it counts TCP's
//!   handshake, as an application sees it.
//! * **The sink** listens on `port` and reads every accepted connection to its end, then
//!   closes it.
//!
//! Randomness comes from the app's own ChaCha stream, seeded at its start from one draw
//! of its node's stream (so from the run seed and the node's name). The exponential gaps
//! use [`ln`], written with IEEE-754 basic operations only, so the same seed gives the same
//! flows on every machine; sizes use integer arithmetic only.
//!
//! Reports: each host's flows (finished and not) and their figures; [`FctSummary::of`]
//! sums every host's report into the percentiles overall and per size bucket.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;
use sim_core::{RngStreams, SimDuration, SimRng, SimTime};

use crate::apps::registry::{AppProps, AppSpec, PropKind, PropSpec};
use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use crate::sock::syscall::{Ioctl, Shutdown, SockType};
use crate::sock::{Errno, MsgFlags, SockId};

/// The app as scenarios name it: `app H0: dc_flows { … }`.
pub const SPEC: AppSpec = AppSpec {
    name: "dc_flows",
    about: "TCP flows between random hosts, sizes from a CDF, Poisson arrivals at a load",
    props: PROPS,
    make,
};

const PROPS: &[PropSpec] = &[
    PropSpec {
        name: "peers",
        kind: PropKind::Text,
        required: true,
        example: "\"10.0.0.1 4x16\"",
    },
    PropSpec {
        name: "cdf",
        kind: PropKind::Text,
        required: true,
        example: "web_search",
    },
    PropSpec {
        name: "load",
        kind: PropKind::Text,
        required: true,
        example: "50%",
    },
    PropSpec {
        name: "rate",
        kind: PropKind::Rate,
        required: true,
        example: "10Gbit",
    },
    PropSpec {
        name: "host_delay",
        kind: PropKind::Time,
        required: true,
        example: "1us",
    },
    PropSpec {
        name: "fabric_delay",
        kind: PropKind::Time,
        required: false,
        example: "1us",
    },
    PropSpec {
        name: "port",
        kind: PropKind::Int,
        required: false,
        example: "5001",
    },
    PropSpec {
        name: "duration",
        kind: PropKind::Time,
        required: false,
        example: "10ms",
    },
    PropSpec {
        name: "flows",
        kind: PropKind::Int,
        required: false,
        example: "100",
    },
];

/// Parts of one in a cumulative probability: probabilities are kept in units of 10^-9.
const ONE: u64 = 1_000_000_000;

/// Bytes per `send()`.
const CHUNK: usize = 64 * 1024;

/// What a flow sends: zeros, from the zero page.
static ZEROS: &[u8; CHUNK] = &crate::tcp::byteq::ZERO_PAGE;

/// The timer token of the next arrival.
const ARRIVAL: u32 = 0;

// ---------------------------------------------------------------------------- the CDF

/// An empirical flow-size distribution: points `(size, P[X ≤ size])`, the literature's
/// `size cumulative_probability` lines, read with linear interpolation between points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdf {
    /// `(bytes, cumulative probability × 10^9)`, both non-decreasing, the last at 10^9.
    points: Vec<(u64, u64)>,
}

impl Cdf {
    /// Reads `size cumulative_probability` lines (`#` starts a comment; a size is whole
    /// bytes, a probability a decimal from 0 to 1 with at most 9 places).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut points: Vec<(u64, u64)> = Vec::new();
        for (no, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = no + 1;
            let words: Vec<&str> = line.split_whitespace().collect();
            let [size, p] = words[..] else {
                return Err(format!(
                    "line {at}: expected `size cumulative_probability`, found `{line}`"
                ));
            };
            let size: u64 = size
                .parse()
                .map_err(|_| format!("line {at}: `{size}` is not a size in whole bytes"))?;
            let p = sim_core::time::scale_decimal(p, ONE)
                .ok()
                .filter(|&p| p <= ONE)
                .ok_or_else(|| {
                    format!("line {at}: `{p}` is not a probability from 0 to 1 (9 places at most)")
                })?;
            if let Some(&(s0, p0)) = points.last()
                && (size < s0 || p < p0)
            {
                return Err(format!(
                    "line {at}: `{line}` goes back: sizes and probabilities must not decrease"
                ));
            }
            points.push((size, p));
        }
        match points.last() {
            None => Err("no points".to_string()),
            Some(&(_, p)) if p != ONE => Err(format!(
                "the last probability is {}, not 1",
                p as f64 / ONE as f64
            )),
            Some(_) => Ok(Self { points }),
        }
    }

    /// A distribution shipped with the simulator: `web_search` (DCTCP) or `data_mining`
    /// (VL2), the files of `scenarios/dc/cdf/`.
    pub fn named(name: &str) -> Result<Self, String> {
        let text = match name {
            "web_search" => include_str!("../../../scenarios/dc/cdf/web_search.cdf"),
            "data_mining" => include_str!("../../../scenarios/dc/cdf/data_mining.cdf"),
            _ => {
                return Err(format!(
                    "unknown cdf `{name}`: expected `web_search` or `data_mining`"
                ));
            }
        };
        Self::parse(text).map_err(|e| format!("cdf `{name}`: {e}"))
    }

    /// The size at cumulative probability `u / 10^9` (`u < 10^9`): the first point's size
    /// below its probability, else interpolated within the segment holding `u`, rounded up;
    /// at least 1 byte.
    pub fn size_at(&self, u: u64) -> u64 {
        let (x0, y0) = self.points[0];
        if u < y0 {
            return x0.max(1);
        }
        for w in self.points.windows(2) {
            let ((xa, ya), (xb, yb)) = (w[0], w[1]);
            if u < yb {
                // ya ≤ u < yb, so yb > ya.
                let num = u128::from(xb - xa) * u128::from(u - ya);
                let step = num.div_ceil(u128::from(yb - ya)) as u64;
                return (xa + step).max(1);
            }
        }
        self.points[self.points.len() - 1].0.max(1)
    }

    /// A size drawn from the distribution.
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        self.size_at(rng.below(ONE))
    }

    /// The mean size in bytes: the first point's mass plus each segment's mass at its
    /// midpoint (HPCC's `getAvg`).
    pub fn mean(&self) -> f64 {
        let (x0, y0) = self.points[0];
        let mut twice = u128::from(x0) * u128::from(y0) * 2;
        for w in self.points.windows(2) {
            let ((xa, ya), (xb, yb)) = (w[0], w[1]);
            twice += (u128::from(xa) + u128::from(xb)) * u128::from(yb - ya);
        }
        twice as f64 / (2.0 * ONE as f64)
    }
}

// ---------------------------------------------------------------------------- randomness

/// `ln(x)` for `0 < x ≤ 1` (or any positive normal `x`), computed with `+ − × ÷` only, which
/// IEEE 754 rounds exactly: the same bits on every machine, where `f64::ln` is the platform
/// libm's. `x = m · 2^e` with `1 ≤ m < 2`; `ln m = 2 atanh(s)`, `s = (m − 1)/(m + 1) < 1/3`,
/// whose series has converged below 10^-28 after 30 terms.
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..30 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    exp as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

/// An exponential gap of mean `mean_ns`, in whole nanoseconds: `−ln(U) × mean` with `U`
/// uniform on `(0, 1]` in steps of 2^-53.
pub fn exp_gap_ns(rng: &mut SimRng, mean_ns: f64) -> u64 {
    let u = ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
    (-ln(u) * mean_ns).round() as u64
}

// ---------------------------------------------------------------------------- the peers

/// The hosts of the workload as an address grid: `FIRST STRIDExCOUNT …`, the addresses
/// `FIRST + Σ digit_d × STRIDE_d` for every `digit_d < COUNT_d`, dimension 0 counting
/// fastest. `"10.0.0.1 4x16"` is 10.0.0.1, 10.0.0.5, … 10.0.0.61; the fat-tree's
/// `"10.0.0.1 65536x2 4x2 256x4"` is host i of edge e of pod p at 10.i.p.(4e+1).
///
/// The dimensions are also distances: two hosts whose highest differing digit is `d` are
/// `2(d + 1)` links apart (the same edge router, pod, …), which the ideal FCT uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    first: u32,
    /// `(stride, count)`, fastest first.
    dims: Vec<(u32, u32)>,
    /// The dimensions by stride, largest first, when they nest: each stride larger than the
    /// span of all smaller ones (`4x2 256x4 65536x2`), so that every address has one
    /// decomposition, found greedily. `None`: they do not (any address is then looked up
    /// by a scan).
    nested: Option<Vec<usize>>,
}

/// The most hosts a grid may name.
const MAX_PEERS: u64 = 1 << 20;

impl Grid {
    /// Reads `FIRST STRIDExCOUNT …`; every address must be distinct and in range.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let first: Ipv4Addr = words
            .next()
            .ok_or("`peers` is empty: expected `FIRST STRIDExCOUNT …`")?
            .parse()
            .map_err(|_| "`peers` must start with an IPv4 address".to_string())?;
        let mut dims = Vec::new();
        let mut total: u64 = 1;
        let mut last = u64::from(u32::from(first));
        for w in words {
            let bad = || format!("`{w}` is not STRIDExCOUNT (such as `4x16`)");
            let (s, c) = w.split_once('x').ok_or_else(bad)?;
            let s: u32 = s.parse().map_err(|_| bad())?;
            let c: u32 = c.parse().map_err(|_| bad())?;
            if s == 0 || c == 0 {
                return Err(format!("`{w}`: stride and count must be at least 1"));
            }
            total *= u64::from(c);
            if total > MAX_PEERS {
                return Err(format!("`peers` names more than {MAX_PEERS} hosts"));
            }
            last += u64::from(s) * u64::from(c - 1);
            if last > u64::from(u32::MAX) {
                return Err(format!("`peers` runs past 255.255.255.255 at `{w}`"));
            }
            dims.push((s, c));
        }
        let mut order: Vec<usize> = (0..dims.len()).collect();
        order.sort_by_key(|&d| dims[d].0);
        let mut span: u64 = 0;
        let mut nests = true;
        for &d in &order {
            let (s, c) = dims[d];
            nests &= u64::from(s) > span;
            span += u64::from(s) * u64::from(c - 1);
        }
        order.reverse();
        let grid = Self {
            first: u32::from(first),
            dims,
            nested: nests.then_some(order),
        };
        // Nested dimensions cannot name an address twice; others are checked one by one.
        if grid.nested.is_none() {
            let mut all: Vec<u32> = (0..grid.len()).map(|m| u32::from(grid.addr(m))).collect();
            all.sort_unstable();
            if let Some(w) = all.windows(2).find(|w| w[0] == w[1]) {
                return Err(format!(
                    "`peers` names {} twice: the strides overlap",
                    Ipv4Addr::from(w[0])
                ));
            }
        }
        Ok(grid)
    }

    /// The index of `a` in the grid, if it is one of its addresses: decoded digit by digit
    /// when the dimensions nest, else by a scan.
    pub fn index_of(&self, a: Ipv4Addr) -> Option<usize> {
        let Some(order) = &self.nested else {
            return (0..self.len()).find(|&m| self.addr(m) == a);
        };
        let mut rest = u32::from(a).checked_sub(self.first)?;
        let mut digits = vec![0u32; self.dims.len()];
        for &d in order {
            let (s, c) = self.dims[d];
            let q = rest / s;
            if q >= c {
                return None;
            }
            digits[d] = q;
            rest -= q * s;
        }
        if rest != 0 {
            return None;
        }
        let mut m = 0usize;
        for (d, &(_, c)) in self.dims.iter().enumerate().rev() {
            m = m * c as usize + digits[d] as usize;
        }
        Some(m)
    }

    /// How many hosts.
    pub fn len(&self) -> usize {
        self.dims.iter().map(|&(_, c)| c as usize).product()
    }

    /// Whether it names no host (never: a grid names at least its first address).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of host `m` (`m < len()`).
    pub fn addr(&self, m: usize) -> Ipv4Addr {
        let mut a = self.first;
        let mut rest = m;
        for &(s, c) in &self.dims {
            a += s * (rest % c as usize) as u32;
            rest /= c as usize;
        }
        Ipv4Addr::from(a)
    }

    /// The highest dimension in which hosts `a` and `b` differ (0 when they differ only
    /// in the fastest one, or not at all).
    pub fn distance(&self, a: usize, b: usize) -> usize {
        let (mut a, mut b) = (a, b);
        let mut top = 0;
        for (d, &(_, c)) in self.dims.iter().enumerate() {
            if a % c as usize != b % c as usize {
                top = d;
            }
            a /= c as usize;
            b /= c as usize;
        }
        top
    }
}

// ---------------------------------------------------------------------------- the app

/// The checked properties.
#[derive(Debug, Clone)]
pub struct DcFlowsConfig {
    /// The hosts.
    pub peers: Grid,
    /// The flow sizes.
    pub cdf: Cdf,
    /// The CDF's name.
    pub cdf_name: String,
    /// Offered load per host link, parts per million.
    pub load_ppm: u64,
    /// The host link's rate, bit/s.
    pub rate: u64,
    /// One host link's delay.
    pub host_delay: SimDuration,
    /// One fabric link's delay.
    pub fabric_delay: SimDuration,
    /// The sinks' port.
    pub port: u16,
    /// Arrivals stop this long after the start.
    pub duration: Option<SimDuration>,
    /// At most this many flows from this host.
    pub max_flows: Option<u64>,
}

impl DcFlowsConfig {
    /// From the scenario's properties.
    pub fn from_props(p: &AppProps) -> Result<Self, String> {
        let peers = Grid::parse(p.text("peers").unwrap_or(""))?;
        if peers.len() < 2 {
            return Err("`peers` must name at least two hosts".to_string());
        }
        let cdf_name = p.text("cdf").unwrap_or("").to_string();
        let cdf = Cdf::named(&cdf_name)?;
        let load_ppm = parse_load(p.text("load").unwrap_or(""))?;
        let rate = p.rate("rate").unwrap_or(0);
        if rate == 0 {
            return Err("`rate` must be more than 0".to_string());
        }
        let host_delay = p.time("host_delay").unwrap_or(SimDuration::ZERO);
        let port = match p.int("port") {
            None => 5001,
            Some(v) => u16::try_from(v)
                .ok()
                .filter(|&v| v != 0)
                .ok_or_else(|| format!("`port {v}` is not a port (1..=65535)"))?,
        };
        let max_flows = match p.int("flows") {
            None => None,
            Some(v) => {
                Some(u64::try_from(v).map_err(|_| format!("`flows {v}` must not be negative"))?)
            }
        };
        Ok(Self {
            peers,
            cdf,
            cdf_name,
            load_ppm,
            rate,
            host_delay,
            fabric_delay: p.time("fabric_delay").unwrap_or(host_delay),
            port,
            duration: p.time("duration"),
            max_flows,
        })
    }

    /// The mean gap between this host's arrivals, ns: `8 × mean size / (load × rate)`.
    pub fn mean_gap_ns(&self) -> f64 {
        self.cdf.mean() * 8.0 * 1e9 * 1e6 / (self.load_ppm as f64 * self.rate as f64)
    }

    /// The propagation round trip between hosts at grid distance `d`: `2(d + 1)` links each
    /// way, two of them host links.
    pub fn base_rtt(&self, d: usize) -> SimDuration {
        let one_way = self.host_delay.as_nanos() * 2 + self.fabric_delay.as_nanos() * 2 * d as u64;
        SimDuration::from_nanos(2 * one_way)
    }

    /// The ideal FCT of `size` bytes at distance `d`: the base RTT plus `size` at the
    /// host link's rate: HPCC's `standalone_fct` without its per-hop serialization and
    /// per-packet headers (docs/datacenter.md).
    pub fn ideal_fct_ns(&self, size: u64, d: usize) -> u64 {
        let tx = (u128::from(size) * 8 * 1_000_000_000).div_ceil(u128::from(self.rate));
        self.base_rtt(d).as_nanos() + tx as u64
    }
}

/// `0.5` or `50%`: a load from 0 (exclusive) to 1, in parts per million.
fn parse_load(text: &str) -> Result<u64, String> {
    let ppm = match text.strip_suffix('%') {
        Some(pct) => sim_core::time::scale_decimal(pct, 10_000),
        None => sim_core::time::scale_decimal(text, 1_000_000),
    };
    match ppm {
        Ok(v) if v > 0 && v <= 1_000_000 => Ok(v),
        _ => Err(format!(
            "`load {text}` is not a load above 0 and at most 1 (`0.5` or `50%`)"
        )),
    }
}

fn make(p: &AppProps) -> Result<Box<dyn App>, String> {
    Ok(Box::new(DcFlows::new(DcFlowsConfig::from_props(p)?)))
}

/// One flow this host started.
#[derive(Debug, Clone)]
struct Flow {
    dst: Ipv4Addr,
    distance: usize,
    size: u64,
    start: SimTime,
    sock: Option<SockId>,
    written: u64,
    shut: bool,
    finish: Option<SimTime>,
    error: Option<String>,
}

/// The workload on one host.
#[derive(Debug)]
pub struct DcFlows {
    cfg: DcFlowsConfig,
    rng: Option<SimRng>,
    /// This host's index in `peers`.
    me: Option<usize>,
    /// The address it sends from.
    src: Option<Ipv4Addr>,
    started: SimTime,
    listener: Option<SockId>,
    flows: Vec<Flow>,
    /// Sending sockets → their flow.
    sending: BTreeMap<SockId, usize>,
    /// Connections being received.
    receiving: BTreeSet<SockId>,
    accepted: u64,
    bytes_received: u64,
    error: Option<String>,
}

impl DcFlows {
    /// A workload that has not started.
    pub fn new(cfg: DcFlowsConfig) -> Self {
        Self {
            cfg,
            rng: None,
            me: None,
            src: None,
            started: SimTime::ZERO,
            listener: None,
            flows: Vec::new(),
            sending: BTreeMap::new(),
            receiving: BTreeSet::new(),
            accepted: 0,
            bytes_received: 0,
            error: None,
        }
    }

    /// Arms the next arrival, unless arrivals are over.
    fn next_arrival(&mut self, cx: &mut AppCtx<'_>) {
        let Some(rng) = self.rng.as_mut() else {
            return;
        };
        if self
            .cfg
            .max_flows
            .is_some_and(|m| self.flows.len() as u64 >= m)
        {
            return;
        }
        let at = cx.now() + SimDuration::from_nanos(exp_gap_ns(rng, self.cfg.mean_gap_ns()));
        if let Some(d) = self.cfg.duration
            && at >= self.started + d
        {
            return;
        }
        cx.schedule(at, ARRIVAL);
    }

    /// A flow arrives: to a uniform other host, of a size from the CDF.
    fn arrive(&mut self, cx: &mut AppCtx<'_>) {
        let (Some(me), Some(rng)) = (self.me, self.rng.as_mut()) else {
            return;
        };
        let n = self.cfg.peers.len();
        let mut m = rng.below(n as u64 - 1) as usize;
        if m >= me {
            m += 1;
        }
        let size = self.cfg.cdf.sample(rng);
        let dst = self.cfg.peers.addr(m);
        let mut flow = Flow {
            dst,
            distance: self.cfg.peers.distance(me, m),
            size,
            start: cx.now(),
            sock: None,
            written: 0,
            shut: false,
            finish: None,
            error: None,
        };
        match cx.socket_nonblock(SockType::Stream, 0) {
            Err(e) => flow.error = Some(format!("socket: {e}")),
            Ok(sock) => match cx.connect(sock, SocketAddrV4::new(dst, self.cfg.port)) {
                Ok(()) | Err(Errno::InProgress) => {
                    flow.sock = Some(sock);
                    self.sending.insert(sock, self.flows.len());
                }
                Err(e) => {
                    flow.error = Some(format!("connect: {e}"));
                    let _ = cx.close(sock);
                }
            },
        }
        self.flows.push(flow);
    }

    /// A sending socket woke: write what is left, shut the sending side down after the
    /// last byte, and finish once everything and the FIN are acknowledged.
    fn send_more(&mut self, cx: &mut AppCtx<'_>, sock: SockId, i: usize) {
        let now = cx.now();
        let f = &mut self.flows[i];
        if let Some(e) = cx.take_error(sock) {
            f.error = Some(e.to_string());
            self.sending.remove(&sock);
            let _ = cx.close(sock);
            return;
        }
        while !f.shut {
            let want = (f.size - f.written).min(CHUNK as u64) as usize;
            if want == 0 {
                match cx.shutdown(sock, Shutdown::Write) {
                    Ok(()) => f.shut = true,
                    Err(Errno::NotConn) => return,
                    Err(e) => {
                        f.error = Some(format!("shutdown: {e}"));
                        self.sending.remove(&sock);
                        let _ = cx.close(sock);
                        return;
                    }
                }
                break;
            }
            match cx.send(sock, &ZEROS[..want], MsgFlags::NONE) {
                Ok(n) => f.written += n as u64,
                Err(Errno::Again) => return,
                Err(e) => {
                    f.error = Some(format!("send: {e}"));
                    self.sending.remove(&sock);
                    let _ = cx.close(sock);
                    return;
                }
            }
        }
        if cx.ioctl(sock, Ioctl::OutQ) == Ok(0) {
            f.finish = Some(now);
            self.sending.remove(&sock);
            let _ = cx.close(sock);
        }
    }

    /// A received connection woke: read it to its end, then close it.
    fn receive(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        loop {
            match cx.recv_discard(sock, 1 << 20).map(|m| m.len) {
                Ok(0) => break,
                Ok(len) => self.bytes_received += len as u64,
                Err(Errno::Again) => return,
                Err(_) => break,
            }
        }
        self.receiving.remove(&sock);
        let _ = cx.close(sock);
    }

    /// This host's report.
    pub fn flows_report(&self) -> DcFlowsReport {
        let src = self.src.map(|a| a.to_string()).unwrap_or_default();
        let mut r = DcFlowsReport {
            cdf: self.cfg.cdf_name.clone(),
            load: self.cfg.load_ppm as f64 / 1e6,
            mean_gap_ns: self.cfg.mean_gap_ns().round() as u64,
            started: self.flows.len() as u64,
            connections_accepted: self.accepted,
            bytes_received: self.bytes_received,
            error: self.error.clone(),
            ..DcFlowsReport::default()
        };
        for f in &self.flows {
            let start_ns = f.start.as_nanos();
            match (f.finish, &f.error) {
                (Some(end), _) => {
                    let fct_ns = (end - f.start).as_nanos();
                    let ideal_ns = self.cfg.ideal_fct_ns(f.size, f.distance);
                    r.finished += 1;
                    r.flows.push(FlowRecord {
                        src: src.clone(),
                        dst: f.dst.to_string(),
                        size: f.size,
                        start_ns,
                        finish_ns: end.as_nanos(),
                        fct_ns,
                        ideal_fct_ns: ideal_ns,
                        slowdown: fct_ns as f64 / ideal_ns as f64,
                    });
                }
                (None, error) => {
                    if error.is_some() {
                        r.failed += 1;
                    }
                    r.unfinished.push(UnfinishedFlow {
                        src: src.clone(),
                        dst: f.dst.to_string(),
                        size: f.size,
                        start_ns,
                        bytes_written: f.written,
                        error: error.clone(),
                    });
                }
            }
        }
        r
    }
}

impl App for DcFlows {
    /// Seed the stream, find this host in `peers`, listen, and arm the first arrival.
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.started = cx.now();
        let seed = cx.rng().next_u64();
        self.rng = Some(RngStreams::new(seed).stream("dc_flows", 0));
        let peers = &self.cfg.peers;
        self.me =
            cx.n.devs
                .iter()
                .filter_map(|d| d.addr)
                .find_map(|c| peers.index_of(c.address()));
        self.src = self.me.map(|m| peers.addr(m));
        match cx.socket_nonblock(SockType::Stream, 0) {
            Ok(l) => {
                let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.cfg.port);
                match cx.bind(l, any).and_then(|()| cx.listen(l, 4096)) {
                    Ok(()) => self.listener = Some(l),
                    Err(e) => {
                        self.error = Some(format!("listen on port {}: {e}", self.cfg.port));
                        let _ = cx.close(l);
                    }
                }
            }
            Err(e) => self.error = Some(format!("socket: {e}")),
        }
        if self.me.is_none() {
            self.error = Some("no address of this node is in `peers`: it starts no flow".into());
            return;
        }
        self.next_arrival(cx);
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, token: u32) {
        if token == ARRIVAL {
            self.arrive(cx);
            self.next_arrival(cx);
        }
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if self.listener == Some(sock) {
            while let Ok((c, _)) = cx.accept(sock) {
                self.accepted += 1;
                self.receiving.insert(c);
                self.receive(cx, c);
            }
        } else if let Some(&i) = self.sending.get(&sock) {
            self.send_more(cx, sock, i);
        } else if self.receiving.contains(&sock) {
            self.receive(cx, sock);
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::DcFlows(Box::new(self.flows_report()))
    }
}

// ---------------------------------------------------------------------------- reports

/// One host's flows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DcFlowsReport {
    /// The size distribution's name.
    pub cdf: String,
    /// The offered load per host link (0..1).
    pub load: f64,
    /// The mean gap between this host's arrivals, ns.
    pub mean_gap_ns: u64,
    /// Flows started.
    pub started: u64,
    /// Of them, completed.
    pub finished: u64,
    /// Of them, failed (an error ended them; they are among `unfinished`).
    pub failed: u64,
    /// Connections this host's sink accepted.
    pub connections_accepted: u64,
    /// Bytes the sink read.
    pub bytes_received: u64,
    /// Why the app could not run (listen failed, no address in `peers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The completed flows, in start order.
    pub flows: Vec<FlowRecord>,
    /// The flows not completed by the end of the run, in start order.
    pub unfinished: Vec<UnfinishedFlow>,
}

/// A completed flow.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FlowRecord {
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Bytes.
    pub size: u64,
    /// The `connect()` call, ns since the start of the run.
    pub start_ns: u64,
    /// The ACK of the last byte and the FIN, ns since the start of the run.
    pub finish_ns: u64,
    /// `finish_ns − start_ns`.
    pub fct_ns: u64,
    /// Base RTT + size at the host link's rate.
    pub ideal_fct_ns: u64,
    /// `fct_ns / ideal_fct_ns`.
    pub slowdown: f64,
}

/// A flow not completed by the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct UnfinishedFlow {
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Bytes.
    pub size: u64,
    /// The `connect()` call, ns since the start of the run.
    pub start_ns: u64,
    /// Bytes handed to the socket.
    pub bytes_written: u64,
    /// The error that ended it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Mean and percentiles of a set of values (nearest rank: the p-th percentile of n sorted
/// values is the ⌈p·n/100⌉-th).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest.
    pub max: f64,
}

impl Percentiles {
    /// Of `values` (sorted here); all zero when empty.
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let rank = |p: usize| values[(p * n).div_ceil(100).max(1) - 1];
        Self {
            mean: values.iter().sum::<f64>() / n as f64,
            p50: rank(50),
            p95: rank(95),
            p99: rank(99),
            max: values[n - 1],
        }
    }
}

/// The figures of the completed flows of one size range.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FctStats {
    /// Completed flows.
    pub flows: u64,
    /// Their FCTs, ns.
    pub fct_ns: Percentiles,
    /// Their slowdowns.
    pub slowdown: Percentiles,
}

impl FctStats {
    fn of(flows: &[&FlowRecord]) -> Self {
        Self {
            flows: flows.len() as u64,
            fct_ns: Percentiles::of(flows.iter().map(|f| f.fct_ns as f64).collect()),
            slowdown: Percentiles::of(flows.iter().map(|f| f.slowdown).collect()),
        }
    }
}

/// The size buckets of the summary: pFabric's (Alizadeh et al., SIGCOMM 2013, §5) small,
/// medium and large flows, `(lower, upper]` bytes.
pub const BUCKETS: [(&str, u64, u64); 3] = [
    ("(0,100KB]", 0, 100_000),
    ("(100KB,10MB]", 100_000, 10_000_000),
    ("(10MB,inf)", 10_000_000, u64::MAX),
];

/// Every host's flows summed: counts, and FCT and slowdown percentiles overall and per
/// size bucket ([`BUCKETS`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FctSummary {
    /// Flows started.
    pub started: u64,
    /// Flows completed.
    pub finished: u64,
    /// Flows not completed by the end (failed ones included).
    pub unfinished: u64,
    /// Flows an error ended.
    pub failed: u64,
    /// Every completed flow.
    pub all: FctStats,
    /// Completed flows by size, in [`BUCKETS`] order.
    pub buckets: BTreeMap<String, FctStats>,
}

impl FctSummary {
    /// The summary of `reports` (each host's); `None` when there are none.
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a DcFlowsReport>) -> Option<Self> {
        let mut s = Self::default();
        let mut done: Vec<&FlowRecord> = Vec::new();
        let mut any = false;
        for r in reports {
            any = true;
            s.started += r.started;
            s.finished += r.finished;
            s.unfinished += r.unfinished.len() as u64;
            s.failed += r.failed;
            done.extend(r.flows.iter());
        }
        if !any {
            return None;
        }
        s.all = FctStats::of(&done);
        for (name, lo, hi) in BUCKETS {
            let in_bucket: Vec<&FlowRecord> = done
                .iter()
                .copied()
                .filter(|f| f.size > lo && f.size <= hi)
                .collect();
            s.buckets.insert(name.to_string(), FctStats::of(&in_bucket));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(seed: u64) -> SimRng {
        RngStreams::new(seed).stream("test", 0)
    }

    #[test]
    fn the_shipped_cdfs_read_and_have_the_literatures_means() {
        let ws = Cdf::named("web_search").unwrap();
        assert_eq!(ws.points.len(), 12);
        assert!((ws.mean() - 1_711_250.0).abs() < 1e-6, "{}", ws.mean());
        let dm = Cdf::named("data_mining").unwrap();
        assert!((dm.mean() - 12_658_198.6).abs() < 1e-3, "{}", dm.mean());
        assert!(Cdf::named("hadoop").unwrap_err().contains("web_search"));
    }

    #[test]
    fn bad_cdfs_are_refused_with_the_line() {
        assert!(
            Cdf::parse("0 0\n10 0.5\n")
                .unwrap_err()
                .contains("last probability")
        );
        assert!(
            Cdf::parse("0 0\n10 0.5\n5 1\n")
                .unwrap_err()
                .contains("line 3")
        );
        assert!(Cdf::parse("0 0\n10 1.5\n").unwrap_err().contains("line 2"));
        assert!(
            Cdf::parse("0 0\nten 1\n")
                .unwrap_err()
                .contains("whole bytes")
        );
        assert!(Cdf::parse("0 0 0\n").unwrap_err().contains("line 1"));
        assert!(Cdf::parse("# nothing\n").unwrap_err().contains("no points"));
    }

    #[test]
    fn sizes_interpolate_between_points() {
        let c = Cdf::parse("100 0.5\n200 0.75\n1000 1\n").unwrap();
        assert_eq!(c.size_at(0), 100, "below the first point: its size");
        assert_eq!(c.size_at(499_999_999), 100);
        assert_eq!(c.size_at(500_000_000), 100);
        assert_eq!(c.size_at(625_000_000), 150);
        assert_eq!(c.size_at(750_000_000), 200);
        assert_eq!(c.size_at(999_999_999), 1000, "rounded up");
        // Mass 0.5 at 100, then 0.25 around 150 and 0.25 around 600: 50 + 37.5 + 150.
        assert!((c.mean() - 237.5).abs() < 1e-9, "{}", c.mean());
        let z = Cdf::parse("0 0\n10 1\n").unwrap();
        assert_eq!(z.size_at(0), 1, "at least one byte");
    }

    #[test]
    fn sampled_sizes_follow_the_cdf() {
        // 200 000 draws: the sample mean within 2 % of the CDF's (web search: the standard
        // deviation is about 3.9 MB, so the mean's is 8.7 kB, 0.5 %), and the fraction
        // below each point within 0.5 % of its probability (its deviation is at most
        // 0.11 %).
        let c = Cdf::named("web_search").unwrap();
        let mut r = rng(7);
        let n = 200_000;
        let draws: Vec<u64> = (0..n).map(|_| c.sample(&mut r)).collect();
        let mean = draws.iter().sum::<u64>() as f64 / n as f64;
        assert!(
            (mean / c.mean() - 1.0).abs() < 0.02,
            "{mean} vs {}",
            c.mean()
        );
        for &(size, p) in &c.points {
            let below = draws.iter().filter(|&&d| d <= size).count() as f64 / n as f64;
            assert!(
                (below - p as f64 / ONE as f64).abs() < 0.005,
                "P[X <= {size}] = {below}, want {p}"
            );
        }
        // Seeded: the same stream draws the same sizes.
        let mut again = rng(7);
        assert!(draws[..100].iter().all(|&d| d == c.sample(&mut again)));
    }

    #[test]
    fn portable_ln_agrees_with_libm() {
        for x in [1.0, 0.5, 0.1, 1e-3, 0.999_999, 0.3, 2f64.powi(-53), 0.75] {
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-15 * b.abs().max(1.0),
                "ln({x}) = {a}, libm {b}"
            );
        }
    }

    #[test]
    fn poisson_gaps_have_the_mean_and_spread_of_an_exponential() {
        // 100 000 gaps of mean 1 ms: the sample mean within 1.5 % (its standard deviation
        // is 0.32 %), the coefficient of variation within 2 % of 1, P[gap > mean] within
        // 1 % of 1/e.
        let mut r = rng(3);
        let n = 100_000;
        let mean_ns = 1e6;
        let gaps: Vec<f64> = (0..n).map(|_| exp_gap_ns(&mut r, mean_ns) as f64).collect();
        let m = gaps.iter().sum::<f64>() / n as f64;
        let var = gaps.iter().map(|g| (g - m) * (g - m)).sum::<f64>() / n as f64;
        assert!((m / mean_ns - 1.0).abs() < 0.015, "mean {m}");
        assert!((var.sqrt() / m - 1.0).abs() < 0.02, "cv {}", var.sqrt() / m);
        let above = gaps.iter().filter(|&&g| g > mean_ns).count() as f64 / n as f64;
        assert!(
            (above - (-1f64).exp()).abs() < 0.01,
            "P[gap > mean] = {above}"
        );
    }

    #[test]
    fn the_arrival_rate_is_load_times_capacity_over_mean_size() {
        let props = AppProps(vec![
            ("peers".into(), PropValue::Text("10.0.0.1 4x16".into())),
            ("cdf".into(), PropValue::Text("web_search".into())),
            ("load".into(), PropValue::Text("50%".into())),
            ("rate".into(), PropValue::Rate(10_000_000_000)),
            (
                "host_delay".into(),
                PropValue::Time(SimDuration::from_micros(1)),
            ),
        ]);
        let c = DcFlowsConfig::from_props(&props).unwrap();
        // 1 711 250 B × 8 / (0.5 × 10 Gbit/s) = 2.738 ms per host.
        assert!(
            (c.mean_gap_ns() - 2_738_000.0).abs() < 1.0,
            "{}",
            c.mean_gap_ns()
        );
        assert_eq!(
            c.fabric_delay,
            SimDuration::from_micros(1),
            "defaults to host_delay"
        );
        assert_eq!(c.base_rtt(0), SimDuration::from_micros(4));
        assert_eq!(c.base_rtt(2), SimDuration::from_micros(12));
        // 1250 B at 10 Gbit/s = 1 µs, plus 12 µs.
        assert_eq!(c.ideal_fct_ns(1250, 2), 13_000);
    }

    #[test]
    fn loads_and_grids_are_checked() {
        assert_eq!(parse_load("0.5"), Ok(500_000));
        assert_eq!(parse_load("30%"), Ok(300_000));
        assert_eq!(parse_load("100%"), Ok(1_000_000));
        assert!(parse_load("0").is_err());
        assert!(parse_load("1.5").is_err());
        assert!(parse_load("fast").is_err());
        let g = Grid::parse("10.0.0.1 65536x2 4x2 256x4").unwrap();
        assert_eq!(g.len(), 16);
        assert_eq!(g.addr(0), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(g.addr(1), Ipv4Addr::new(10, 1, 0, 1));
        assert_eq!(g.addr(2), Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(g.addr(15), Ipv4Addr::new(10, 1, 3, 5));
        assert_eq!(g.distance(0, 1), 0, "same edge router");
        assert_eq!(g.distance(0, 3), 1, "same pod");
        assert_eq!(g.distance(0, 4), 2, "another pod");
        assert!(
            Grid::parse("10.0.0.1 1x2 1x2")
                .unwrap_err()
                .contains("twice")
        );
        assert!(Grid::parse("10.0.0.1 4y2").is_err());
        assert!(
            Grid::parse("255.255.255.250 4x4")
                .unwrap_err()
                .contains("past")
        );
        assert!(Grid::parse("").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert!((p.mean - 50.5).abs() < 1e-12);
        let one = Percentiles::of(vec![7.0]);
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
    }

    use crate::apps::registry::PropValue;
}
