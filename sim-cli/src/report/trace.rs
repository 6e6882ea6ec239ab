//! What the report takes from `trace.txt`: the drops by node, interface and reason (its
//! `drop` lines), and the kernel paths of packets (the `path:` lines `--trace path` adds).
//!
//! The file is read once, a line at a time (a long run's trace is gigabytes); the digest
//! keeps counts and the first few frames of each distinct path, never the file.

use std::collections::BTreeMap;
use std::io::{self, BufRead};

/// Distinct paths whose frames are kept (the others are counted).
pub const PATHS_KEPT: usize = 16;
/// Frames kept per distinct path.
pub const FRAMES_PER_PATH: usize = 3;

/// Drops of one reason at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCount {
    /// Packets.
    pub packets: u64,
    /// The first one's time, as the trace writes it (`1.002134400`), kept as ns.
    pub first_ns: u64,
}

/// A frame line of the trace: `TIME NODE IFACE DIR LEN SUMMARY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The whole line.
    pub line: String,
    /// `tx`, `deliver` or `drop`.
    pub dir: String,
}

/// One distinct kernel path and the first frames that took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSeen {
    /// The functions, in order.
    pub functions: Vec<String>,
    /// Frames with this path.
    pub frames: u64,
    /// The first [`FRAMES_PER_PATH`] of them.
    pub first: Vec<Frame>,
}

/// The digest of a `trace.txt`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceDigest {
    /// Lines read.
    pub lines: u64,
    /// Whether it has `path:` lines (`--trace path`).
    pub has_paths: bool,
    /// Drops by (node, interface, reason), in that order.
    pub drops: BTreeMap<(String, String, String), DropCount>,
    /// The distinct paths of `tx`, `deliver` and `drop` frames, in order of first sight
    /// (`rx` frames are left out: at the tap their path is `netif_receive_skb` alone);
    /// the frames of the first [`PATHS_KEPT`] only.
    pub paths: Vec<PathSeen>,
    /// Distinct paths seen, with the kept ones.
    pub distinct_paths: usize,
}

/// `1.002134400` as ns.
fn parse_time(t: &str) -> Option<u64> {
    let (s, frac) = t.split_once('.')?;
    if frac.len() != 9 {
        return None;
    }
    Some(s.parse::<u64>().ok()? * 1_000_000_000 + frac.parse::<u64>().ok()?)
}

impl TraceDigest {
    /// Reads a trace.
    pub fn read(r: impl BufRead) -> io::Result<Self> {
        let mut d = Self::default();
        // Index of each path among `paths` (for the kept ones) or just counted.
        let mut index: BTreeMap<String, Option<usize>> = BTreeMap::new();
        // The last frame line, waiting for its `path:` line.
        let mut pending: Option<Frame> = None;
        for line in r.lines() {
            let line = line?;
            d.lines += 1;
            if let Some(path) = line.strip_prefix("    path: ") {
                d.has_paths = true;
                let Some(frame) = pending.take() else {
                    continue;
                };
                let slot = match index.get(path) {
                    Some(slot) => *slot,
                    None => {
                        d.distinct_paths += 1;
                        let slot = (d.paths.len() < PATHS_KEPT).then(|| {
                            d.paths.push(PathSeen {
                                functions: path.split(" > ").map(str::to_string).collect(),
                                frames: 0,
                                first: Vec::new(),
                            });
                            d.paths.len() - 1
                        });
                        index.insert(path.to_string(), slot);
                        slot
                    }
                };
                if let Some(i) = slot {
                    let p = &mut d.paths[i];
                    p.frames += 1;
                    if p.first.len() < FRAMES_PER_PATH {
                        p.first.push(frame);
                    }
                }
                continue;
            }
            pending = None;
            let mut w = line.splitn(6, ' ');
            let (Some(time), Some(node), Some(iface), Some(dir)) =
                (w.next(), w.next(), w.next(), w.next())
            else {
                continue;
            };
            let Some(ns) = parse_time(time) else {
                continue;
            };
            match dir {
                "drop" => {
                    let reason = w.next().unwrap_or_default();
                    let c = d
                        .drops
                        .entry((node.to_string(), iface.to_string(), reason.to_string()))
                        .or_insert(DropCount {
                            packets: 0,
                            first_ns: ns,
                        });
                    c.packets += 1;
                }
                "tx" | "deliver" => {}
                _ => continue,
            }
            pending = Some(Frame {
                line: line.clone(),
                dir: dir.to_string(),
            });
        }
        Ok(d)
    }

    /// All drops the trace shows.
    pub fn drop_total(&self) -> u64 {
        self.drops.values().map(|c| c.packets).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "\
1.000000000 a eth0 tx 42 ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 28
    path: arp_solicit > arp_send_dst > dev_queue_xmit > sch_direct_xmit > dev_hard_start_xmit
1.001006720 r eth0 rx 60 ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 46
    path: netif_receive_skb
1.001006720 r eth0 neigh 10.0.0.2 NONE -> STALE
1.002134400 a eth0 drop qdisc_drop 1042 IP 10.0.0.2 > 10.0.1.2: ICMP echo request, id 5, seq 6, length 1008
    path: sendto > raw_sendmsg > dev_queue_xmit
1.002134500 a eth0 drop qdisc_drop 1042 IP 10.0.0.2 > 10.0.1.2: ICMP echo request, id 5, seq 7, length 1008
    path: sendto > raw_sendmsg > dev_queue_xmit
1.003000000 a eth0 tx 42 ARP, Request who-has 10.0.0.9 tell 10.0.0.2, length 28
    path: arp_solicit > arp_send_dst > dev_queue_xmit > sch_direct_xmit > dev_hard_start_xmit
1.008065920 a ping 64 bytes from 10.0.1.2: icmp_seq=1 ttl=63 time=8.065 ms
1.009336480 b eth0 drop link_loss 1042 IP 10.0.1.2 > 10.0.0.2: ICMP echo reply, id 5, seq 31, length 1008
    path: icmp_rcv > icmp_reply > dev_hard_start_xmit
";

    #[test]
    fn drops_by_place_and_reason_and_paths_in_order_of_first_sight() {
        let d = TraceDigest::read(TRACE.as_bytes()).unwrap();
        assert_eq!(d.lines, 14);
        assert!(d.has_paths);
        let drops: Vec<(&str, &str, &str, u64, u64)> = d
            .drops
            .iter()
            .map(|((n, i, r), c)| (n.as_str(), i.as_str(), r.as_str(), c.packets, c.first_ns))
            .collect();
        assert_eq!(
            drops,
            [
                ("a", "eth0", "qdisc_drop", 2, 1_002_134_400),
                ("b", "eth0", "link_loss", 1, 1_009_336_480)
            ]
        );
        assert_eq!(d.drop_total(), 3);
        // rx frames are left out; the ARP path twice, the drop path twice, the reply once.
        assert_eq!(d.distinct_paths, 3);
        let counts: Vec<u64> = d.paths.iter().map(|p| p.frames).collect();
        assert_eq!(counts, [2, 2, 1]);
        assert_eq!(d.paths[0].functions[0], "arp_solicit");
        assert_eq!(d.paths[0].first.len(), 2);
        assert!(d.paths[1].first[0].line.contains("seq 6"));
        assert_eq!(d.paths[1].first[0].dir, "drop");
    }

    #[test]
    fn a_frames_trace_has_drops_but_no_paths_and_many_paths_are_counted() {
        let frames: String = TRACE
            .lines()
            .filter(|l| !l.starts_with("    path"))
            .map(|l| format!("{l}\n"))
            .collect();
        let d = TraceDigest::read(frames.as_bytes()).unwrap();
        assert!(!d.has_paths);
        assert!(d.paths.is_empty());
        assert_eq!(d.drop_total(), 3);

        let mut many = String::new();
        for i in 0..40 {
            many.push_str(&format!("0.000000001 a eth0 tx 60 X\n    path: f{i} > g\n"));
        }
        let d = TraceDigest::read(many.as_bytes()).unwrap();
        assert_eq!(d.distinct_paths, 40);
        assert_eq!(d.paths.len(), PATHS_KEPT);
    }
}
