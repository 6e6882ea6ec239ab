//! A two-host harness for transport tests: run a scenario with both hosts captured, decode
//! every frame of each host's pcap with etherparse (independently of the stack's own
//! parsers), and pick out TCP segments and UDP datagrams by direction.
//!
//! Scenarios name their hosts `a` (10.0.0.1) and `b` (10.0.0.2), each with one interface
//! `eth0`, so the pcaps are `a-eth0.pcap` and `b-eth0.pcap`.

use std::net::Ipv4Addr;
use std::ops::ControlFlow;

use etherparse::{NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
use sim_core::{Limits, run};
use sim_stack::capture::CaptureFormat;
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::world::Outputs;
use sim_stack::world::RunStats;
use sim_stack::world::World;

use super::{Ran, capture_into, load, read_pcap, run_scenario, temp_dir};

/// Host `a`'s address.
pub const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Host `b`'s address.
pub const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Nanoseconds per jiffy at the modeled HZ (250, the reference kernel's).
pub const JIFFY_NS: u64 = 4_000_000;

/// One IPv4 packet as captured on a host's interface, decoded.
#[derive(Debug, Clone)]
pub struct Pkt {
    /// Capture time, ns since the start of the run.
    pub ts: u64,
    /// IP source.
    pub src: Ipv4Addr,
    /// IP destination.
    pub dst: Ipv4Addr,
    /// IP identification.
    pub ip_id: u16,
    /// DF.
    pub df: bool,
    /// TTL.
    pub ttl: u8,
    /// IP total length.
    pub ip_len: u16,
    /// The TCP segment, if it is one.
    pub tcp: Option<Seg>,
    /// The UDP datagram's (source port, destination port, payload length), if it is one.
    pub udp: Option<(u16, u16, usize)>,
}

/// A TCP segment's header fields and payload length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    /// The raw window field (not scaled).
    pub win: u16,
    /// Payload bytes.
    pub len: u32,
    /// Options, in order, as etherparse decodes them.
    pub options: Vec<TcpOptionElement>,
}

impl Seg {
    /// The MSS option.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            TcpOptionElement::MaximumSegmentSize(m) => Some(*m),
            _ => None,
        })
    }

    /// The window-scale option.
    pub fn wscale(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            TcpOptionElement::WindowScale(w) => Some(*w),
            _ => None,
        })
    }

    /// SACK-permitted.
    pub fn sack_perm(&self) -> bool {
        self.options
            .iter()
            .any(|o| matches!(o, TcpOptionElement::SelectiveAcknowledgementPermitted))
    }

    /// The timestamp option: (TSval, TSecr).
    pub fn ts(&self) -> Option<(u32, u32)> {
        self.options.iter().find_map(|o| match o {
            TcpOptionElement::Timestamp(v, e) => Some((*v, *e)),
            _ => None,
        })
    }

    /// SACK blocks, as (left, right) edges.
    pub fn sacks(&self) -> Vec<(u32, u32)> {
        self.options
            .iter()
            .find_map(|o| match o {
                TcpOptionElement::SelectiveAcknowledgement(first, rest) => Some(
                    std::iter::once(*first)
                        .chain(rest.iter().flatten().copied())
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The sequence number after the segment (payload, SYN and FIN count).
    pub fn end_seq(&self) -> u32 {
        self.seq
            .wrapping_add(self.len)
            .wrapping_add(u32::from(self.syn) + u32::from(self.fin))
    }

    /// A pure ACK: no payload, no SYN, FIN or RST.
    pub fn is_pure_ack(&self) -> bool {
        self.ack_flag && self.len == 0 && !self.syn && !self.fin && !self.rst
    }

    /// tcpdump-like flags: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.` …
    pub fn flags(&self) -> String {
        let mut f = String::new();
        for (on, c) in [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.psh, 'P'),
            (self.rst, 'R'),
        ] {
            if on {
                f.push(c);
            }
        }
        if self.ack_flag {
            f.push('.');
        }
        f
    }
}

/// A run with both hosts captured.
#[derive(Debug)]
pub struct Pair {
    /// The run itself (trace, stats, world).
    pub ran: Ran,
    /// The IPv4 packets of `a`'s capture, in capture order.
    pub a: Vec<Pkt>,
    /// The IPv4 packets of `b`'s capture.
    pub b: Vec<Pkt>,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ran").finish_non_exhaustive()
    }
}

/// Runs `.net` text (with `--set` overrides) with both hosts captured, and decodes the pcaps.
pub fn run_pair(src: &str, overrides: &[(&str, &str)]) -> Pair {
    let dir = temp_dir("two-host");
    let ran = run_scenario(
        &load(src, overrides),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let a = decode(&dir.join("a-eth0.pcap"));
    let b = decode(&dir.join("b-eth0.pcap"));
    std::fs::remove_dir_all(&dir).expect("cleanup");
    Pair { ran, a, b }
}

/// The IPv4 packets of a pcap file, decoded with etherparse; ARP and anything else skipped.
pub fn decode(path: &std::path::Path) -> Vec<Pkt> {
    read_pcap(path)
        .iter()
        .filter_map(|r| {
            let p = SlicedPacket::from_ethernet(&r.data).expect("frame decodes");
            let Some(NetSlice::Ipv4(ip)) = &p.net else {
                return None;
            };
            let h = ip.header();
            let (tcp, udp) = match &p.transport {
                Some(TransportSlice::Tcp(t)) => (
                    Some(Seg {
                        sport: t.source_port(),
                        dport: t.destination_port(),
                        seq: t.sequence_number(),
                        ack: t.acknowledgment_number(),
                        syn: t.syn(),
                        ack_flag: t.ack(),
                        fin: t.fin(),
                        rst: t.rst(),
                        psh: t.psh(),
                        win: t.window_size(),
                        len: t.payload().len() as u32,
                        options: t
                            .options_iterator()
                            .map(|o| o.expect("TCP option decodes"))
                            .collect(),
                    }),
                    None,
                ),
                Some(TransportSlice::Udp(u)) => (
                    None,
                    Some((u.source_port(), u.destination_port(), u.payload().len())),
                ),
                _ => (None, None),
            };
            Some(Pkt {
                ts: r.ts_ns,
                src: h.source_addr(),
                dst: h.destination_addr(),
                ip_id: h.identification(),
                df: h.dont_fragment(),
                ttl: h.ttl(),
                ip_len: h.total_len(),
                tcp,
                udp,
            })
        })
        .collect()
}

/// The TCP segments among `pkts` sent by `from`, with their capture times.
pub fn tcp_from(pkts: &[Pkt], from: Ipv4Addr) -> Vec<(u64, Seg)> {
    pkts.iter()
        .filter(|p| p.src == from)
        .filter_map(|p| p.tcp.clone().map(|s| (p.ts, s)))
        .collect()
}

/// The packets among `pkts` sent by `from`.
pub fn from(pkts: &[Pkt], from: Ipv4Addr) -> Vec<&Pkt> {
    pkts.iter().filter(|p| p.src == from).collect()
}

/// Runs `src` event by event, calling `watch` with the world after each event, and returns
/// the final statistics (no trace, no capture).
pub fn run_watching(src: &str, mut watch: impl FnMut(&World)) -> (World, RunStats) {
    let sc = load(src, &[]);
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Frames, Box::new(MemorySink::default())),
        capture: None,
        record_paths: false,
    };
    let (mut world, mut sched) = World::build(&sc, outputs).expect("builds");
    let mut events = 0;
    let mut now;
    loop {
        let limits = Limits {
            until: sc.end_time,
            max_events: 1,
            progress_every: u64::MAX,
        };
        let r = run(
            &mut world,
            &mut sched,
            limits,
            |_| ControlFlow::Continue(()),
        );
        events += r.events;
        now = r.now;
        if r.events == 0 {
            break;
        }
        watch(&world);
    }
    let stats = world.stats(now.as_nanos(), events);
    (world, stats)
}

/// `secs` as nanoseconds, for readable expectations.
pub fn ms(ms: u64) -> u64 {
    ms * 1_000_000
}
