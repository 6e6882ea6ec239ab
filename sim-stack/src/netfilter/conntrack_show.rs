//! `conntrack -L`, `-S` and `-C` output for a table, byte for byte as conntrack-tools
//! 1.4.7 (libnetfilter_conntrack's default format) prints them on Linux 6.x.
//!
//! Each entry is one line: protocol name padded to 8 and number, the seconds left
//! (`nf_ct_expires / HZ` in the node's jiffies, rounded down), the TCP state, the original tuple, its counters
//! with `nf_conntrack_acct`, `[UNREPLIED]` until a reply is seen, the reply tuple and
//! counters, `[ASSURED]`, the mark and `use=1`:
//!
//! ```text
//! tcp      6 431999 ESTABLISHED src=10.9.0.1 dst=10.9.0.2 sport=51700 dport=80 src=10.9.0.2 dst=10.9.0.1 sport=80 dport=51700 [ASSURED] mark=0 use=1
//! ```
//!
//! Entries are listed by original tuple (see [`Conntrack::entries`]); Linux lists them in
//! hash order.

use std::fmt::Write as _;

use sim_core::SimTime;

use super::conntrack::{Conntrack, IpsStatus, NfConn, NfConnCounter};
use super::conntrack_tuple::Tuple;
use crate::jiffies::HZ;
use crate::wire::IpProtocol;

/// The summary conntrack-tools writes to standard error after a listing.
#[must_use]
pub fn conntrack_list_summary(entries: usize) -> String {
    format!("conntrack v1.4.7 (conntrack-tools): {entries} flow entries have been shown.\n")
}

fn proto_name(protonum: u8) -> &'static str {
    match IpProtocol(protonum) {
        IpProtocol::Tcp => "tcp",
        IpProtocol::Udp => "udp",
        IpProtocol::Icmp => "icmp",
        _ => "unknown",
    }
}

fn write_tuple(out: &mut String, t: &Tuple) {
    let _ = write!(out, "src={} dst={} ", t.src, t.dst);
    match IpProtocol(t.protonum) {
        IpProtocol::Tcp | IpProtocol::Udp => {
            let _ = write!(out, "sport={} dport={} ", t.src_u, t.dst_u);
        }
        IpProtocol::Icmp => {
            let _ = write!(
                out,
                "type={} code={} id={} ",
                t.icmp_type(),
                t.icmp_code(),
                t.src_u
            );
        }
        _ => {}
    }
}

fn write_counter(out: &mut String, c: Option<&NfConnCounter>) {
    if let Some(c) = c {
        let _ = write!(out, "packets={} bytes={} ", c.packets, c.bytes);
    }
}

/// One `conntrack -L` line (with its newline) for `ct` when the node's jiffies are
/// `now_j`.
#[must_use]
pub fn conntrack_line(ct: &NfConn, now_j: u64) -> String {
    let mut out = String::with_capacity(192);
    let o = &ct.tuplehash[0];
    let secs = ct.expires_jiffies(now_j) / HZ;
    let _ = write!(
        out,
        "{:<8} {} {} ",
        proto_name(o.protonum),
        o.protonum,
        secs
    );
    if let Some(state) = ct.tcp_state() {
        let _ = write!(out, "{} ", state.name());
    }
    write_tuple(&mut out, o);
    write_counter(&mut out, ct.acct.as_ref().map(|a| &a[0]));
    if !ct.status.contains(IpsStatus::SEEN_REPLY) {
        out.push_str("[UNREPLIED] ");
    }
    write_tuple(&mut out, &ct.tuplehash[1]);
    write_counter(&mut out, ct.acct.as_ref().map(|a| &a[1]));
    if ct.status.contains(IpsStatus::ASSURED) {
        out.push_str("[ASSURED] ");
    }
    let _ = writeln!(out, "mark={} use=1", ct.mark);
    out
}

impl Conntrack {
    /// `conntrack -L` at `now`: one line per live confirmed entry.
    pub fn show_list(&mut self, now: SimTime) -> String {
        let now_j = self.jiffies(now);
        self.entries(now)
            .into_iter()
            .map(|(_, ct)| conntrack_line(ct, now_j))
            .collect()
    }

    /// `conntrack -L -o extended`: each line prefixed by the layer-3 protocol, padded to 8,
    /// and its number (`ipv4     2 `).
    pub fn show_list_extended(&mut self, now: SimTime) -> String {
        let now_j = self.jiffies(now);
        self.entries(now)
            .into_iter()
            .map(|(_, ct)| format!("ipv4     2 {}", conntrack_line(ct, now_j)))
            .collect()
    }

    /// `conntrack -S`: the statistics, as one CPU's line.
    #[must_use]
    pub fn show_stats(&self) -> String {
        let s = self.stat();
        format!(
            "cpu=0   \tfound={} invalid={} insert={} insert_failed={} drop={} early_drop={} \
             error={} search_restart={} clash_resolve={} chaintoolong={} \n",
            s.found,
            s.invalid,
            s.insert,
            s.insert_failed,
            s.drop,
            s.early_drop,
            s.error,
            s.search_restart,
            s.clash_resolve,
            s.chaintoolong
        )
    }

    /// `conntrack -C`: `nf_conntrack_count` at `now`.
    pub fn show_count(&mut self, now: SimTime) -> String {
        format!("{}\n", self.count(now))
    }
}
