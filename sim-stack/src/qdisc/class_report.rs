//! The classes of a classful root qdisc as `tc -s class show` lists them, for stats.json:
//! htb's classes (`htb_dump_class` / `htb_dump_class_stats`) and prio's bands
//! (`prio_dump_class_stats`), each with its leaf qdisc's counters.

use serde::Serialize;

use super::htb::{HtbClassStats, Mode};
use super::{FqCodelStats, Qdisc, QdiscStats};

/// One class (`1:10`) of a classful qdisc.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    /// `1:MINOR` in tc's hex.
    pub classid: String,
    /// The parent class, or `None` under the qdisc (`root` in tc's listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// htb's class parameters and counters; `None` for a prio band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub htb: Option<HtbClassReport>,
    /// The leaf qdisc, if the class has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf: Option<LeafReport>,
}

/// An htb class's parameters and counters as `tc -s -d class show` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct HtbClassReport {
    /// Level (0: leaf, 7: under the qdisc).
    pub level: u8,
    /// Priority.
    pub prio: u8,
    /// Rate, bit/s.
    pub rate: u64,
    /// Ceil, bit/s.
    pub ceil: u64,
    /// Burst, bytes.
    pub burst: u32,
    /// Ceil burst, bytes.
    pub cburst: u32,
    /// DRR quantum, bytes.
    pub quantum: u32,
    /// Mode at the last dequeue.
    pub mode: Mode,
    /// Tokens at the last charge, in psched ticks (ns >> 6), as tc prints them.
    pub tokens: i64,
    /// Ceil tokens, likewise.
    pub ctokens: i64,
    /// Counters: sent, dropped, overlimits, lended, borrowed, giants.
    #[serde(flatten)]
    pub stats: HtbClassStats,
}

/// A leaf qdisc of a class.
#[derive(Debug, Clone, Serialize)]
pub struct LeafReport {
    /// Its kind.
    pub kind: &'static str,
    /// Its counters.
    #[serde(flatten)]
    pub stats: QdiscStats,
    /// fq_codel's own counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fq_codel: Option<FqCodelStats>,
}

fn leaf(q: &Qdisc) -> LeafReport {
    LeafReport {
        kind: q.kind(),
        stats: *q.stats(),
        fq_codel: q.fq_codel_stats(),
    }
}

/// htb's own qdisc-level values (`tc -s qdisc`: `r2q 10 default 0x20 direct_packets_stat 0
/// direct_qlen 1000`).
#[derive(Debug, Clone, Serialize)]
pub struct HtbQdiscReport {
    /// `r2q`.
    pub r2q: u32,
    /// The default class minor.
    pub default: u32,
    /// Packets sent through the direct queue.
    pub direct_packets_stat: u64,
    /// The direct queue limit.
    pub direct_qlen: u32,
}

impl Qdisc {
    /// The classes of a classful qdisc, by class id; empty for the others.
    pub fn class_reports(&self) -> Vec<ClassReport> {
        if let Some(h) = self.htb() {
            return h
                .classes()
                .iter()
                .map(|c| ClassReport {
                    classid: format!("1:{:x}", c.id()),
                    parent: c.parent_id(h).map(|p| format!("1:{p:x}")),
                    htb: Some(HtbClassReport {
                        level: c.level(),
                        prio: c.prio(),
                        rate: c.rate_bps(),
                        ceil: c.ceil_bps(),
                        burst: c.burst(),
                        cburst: c.cburst(),
                        quantum: c.quantum(),
                        mode: c.mode(),
                        tokens: c.tokens() >> 6,
                        ctokens: c.ctokens() >> 6,
                        stats: *c.stats(),
                    }),
                    leaf: c.leaf().map(leaf),
                })
                .collect();
        }
        if let Some(p) = self.prio() {
            return p
                .bands()
                .iter()
                .enumerate()
                .map(|(i, q)| ClassReport {
                    classid: format!("1:{:x}", i + 1),
                    parent: None,
                    htb: None,
                    leaf: Some(leaf(q)),
                })
                .collect();
        }
        Vec::new()
    }

    /// htb's qdisc-level values, or `None` for the other kinds.
    pub fn htb_report(&self) -> Option<HtbQdiscReport> {
        self.htb().map(|h| HtbQdiscReport {
            r2q: h.r2q(),
            default: h.default_class(),
            direct_packets_stat: h.direct_packets(),
            direct_qlen: h.direct_qlen(),
        })
    }
}
