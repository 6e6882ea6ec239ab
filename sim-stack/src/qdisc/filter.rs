//! Classifiers of the classful qdiscs: a subset of `cls_u32` (`net/sched/cls_u32.c`) as
//! `tc filter add … u32 match ip …` builds it.
//!
//! A [`Filter`] is a list of [`Match`]es that must all hold (one u32 key node) and the class
//! it selects (`flowid`). The filters of a qdisc are tried in order; the first that matches
//! classifies the packet (`tcf_classify`). Each match reads a field of the IPv4 header the
//! way tc's `match ip …` selectors place their 32-bit key/mask pairs:
//! * `ip src|dst ADDR/LEN`: the address under a prefix mask (offsets 12 and 16);
//! * `ip protocol N`: the protocol byte (offset 9);
//! * `ip tos|dsfield V [MASK]`: the TOS byte under a mask (offset 1, default mask 0xff);
//! * `ip sport|dport N`: the 16-bit port at the start of the transport header. tc's
//!   selectors use `nexthdr+` offsets, which u32 resolves from the IHL only when the filter
//!   is linked to a hash table with `offset at 0 mask 0x0f00 shift 6`; without that, tc puts
//!   them at a fixed offset of 20. Here the IHL is always used, which agrees for packets
//!   without options (all the packets the simulator sends).
//!
//! Besides u32, `priority` matches `skb->priority` exactly (what `SO_PRIORITY` or `IP_TOS`
//! set), as `tc filter … basic match meta(priority eq N)` does, and `fw` (`cls_fw`: `tc filter
//! add … handle N[/MASK] fw flowid …`) matches `skb->mark` under the mask, the mark
//! netfilter's `MARK` target set.
//!
//! A non-IPv4 packet (ARP, IPv6) matches no `ip` selector, as u32's offsets land in other
//! fields there only by accident; here they never match. Not modeled: hash tables and
//! links (`ht`, `link`, `hashkey`), `offset`, `police`/actions, `ip6` selectors, `fw`'s
//! classid-from-mark mode (a handle is always given), and classification continuing into an
//! inner class's own filters.

use serde::{Deserialize, Serialize};

use crate::skb::Skb;

/// One `match` of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Match {
    /// `match ip src ADDR/LEN`.
    Src {
        /// The address, host order.
        addr: u32,
        /// Prefix length, 0..=32.
        len: u8,
    },
    /// `match ip dst ADDR/LEN`.
    Dst {
        /// The address, host order.
        addr: u32,
        /// Prefix length, 0..=32.
        len: u8,
    },
    /// `match ip protocol N 0xff`.
    Protocol(u8),
    /// `match ip tos V MASK` (`dsfield` is the same byte).
    Tos {
        /// The value, already masked.
        value: u8,
        /// The mask.
        mask: u8,
    },
    /// `match ip sport N 0xffff`.
    Sport(u16),
    /// `match ip dport N 0xffff`.
    Dport(u16),
    /// `skb->priority` equals this (`basic match meta(priority eq N)`).
    Priority(u32),
    /// `handle V/MASK fw`: `skb->mark & MASK == V` (`fw_classify`).
    FwMark {
        /// The handle.
        value: u32,
        /// The mask (0xffffffff when none is given).
        mask: u32,
    },
}

/// A filter: all matches hold → the packet goes to class `flowid` (a minor number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// The selectors, all of which must hold.
    pub matches: Vec<Match>,
    /// The class (minor number) it selects.
    pub flowid: u32,
}

fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

impl Match {
    /// Whether the packet whose IPv4 header is `ip` (None: not IPv4) satisfies this match.
    fn holds(&self, ip: Option<&[u8]>, priority: u32, mark: u32) -> bool {
        if let Self::Priority(p) = *self {
            return p == priority;
        }
        if let Self::FwMark { value, mask } = *self {
            return mark & mask == value;
        }
        let Some(ip) = ip else { return false };
        let be32 = |o: usize| u32::from_be_bytes([ip[o], ip[o + 1], ip[o + 2], ip[o + 3]]);
        let port = |o: usize| {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            ip.get(ihl + o..ihl + o + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        match *self {
            Self::Src { addr, len } => (be32(12) ^ addr) & prefix_mask(len) == 0,
            Self::Dst { addr, len } => (be32(16) ^ addr) & prefix_mask(len) == 0,
            Self::Protocol(p) => ip[9] == p,
            Self::Tos { value, mask } => ip[1] & mask == value & mask,
            Self::Sport(p) => port(0) == Some(p),
            Self::Dport(p) => port(2) == Some(p),
            Self::Priority(_) | Self::FwMark { .. } => unreachable!("handled above"),
        }
    }
}

/// The IPv4 header of a frame whose link-layer header is `mac_len` bytes, if it is one.
fn ipv4_header(skb: &Skb, mac_len: usize) -> Option<&[u8]> {
    let ip = skb.data().get(mac_len..)?;
    (ip.len() >= 20 && ip[0] >> 4 == 4).then_some(ip)
}

/// `tcf_classify` over `filters` in order: the `flowid` of the first that matches.
pub fn classify(filters: &[Filter], skb: &Skb, mac_len: usize) -> Option<u32> {
    if filters.is_empty() {
        return None;
    }
    let ip = ipv4_header(skb, mac_len);
    filters
        .iter()
        .find(|f| {
            f.matches
                .iter()
                .all(|m| m.holds(ip, skb.priority, skb.mark))
        })
        .map(|f| f.flowid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skb::SkbPool;

    /// An Ethernet frame with an IPv4/UDP header: 10.0.1.2:5000 → 10.0.2.3:80, TOS 0xb8.
    fn frame(pool: &mut SkbPool) -> Skb {
        let mut skb = pool.alloc(14 + 28);
        let d = skb.put(14 + 28);
        d[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut d[14..];
        ip[0] = 0x45;
        ip[1] = 0xb8;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&[10, 0, 1, 2]);
        ip[16..20].copy_from_slice(&[10, 0, 2, 3]);
        ip[20..22].copy_from_slice(&5000u16.to_be_bytes());
        ip[22..24].copy_from_slice(&80u16.to_be_bytes());
        skb
    }

    fn f(matches: Vec<Match>, flowid: u32) -> Filter {
        Filter { matches, flowid }
    }

    #[test]
    fn u32_selectors_read_the_ipv4_header() {
        let mut pool = SkbPool::new();
        let skb = frame(&mut pool);
        let net = |a: [u8; 4]| u32::from_be_bytes(a);
        let yes = [
            Match::Dst {
                addr: net([10, 0, 2, 0]),
                len: 24,
            },
            Match::Src {
                addr: net([10, 0, 1, 2]),
                len: 32,
            },
            Match::Src { addr: 0, len: 0 },
            Match::Protocol(17),
            Match::Tos {
                value: 0xb8,
                mask: 0xfc,
            },
            Match::Tos {
                value: 0xa0,
                mask: 0xe0,
            },
            Match::Sport(5000),
            Match::Dport(80),
        ];
        for m in yes {
            assert_eq!(classify(&[f(vec![m], 7)], &skb, 14), Some(7), "{m:?}");
        }
        let no = [
            Match::Dst {
                addr: net([10, 0, 3, 0]),
                len: 24,
            },
            Match::Src {
                addr: net([10, 0, 1, 3]),
                len: 32,
            },
            Match::Protocol(6),
            Match::Tos {
                value: 0x00,
                mask: 0xfc,
            },
            Match::Sport(80),
            Match::Dport(5000),
            Match::Priority(6),
        ];
        for m in no {
            assert_eq!(classify(&[f(vec![m], 7)], &skb, 14), None, "{m:?}");
        }
        // fw: the mark under the mask.
        let mut skb = skb;
        skb.mark = 0x1a;
        let fw = |value, mask| f(vec![Match::FwMark { value, mask }], 3);
        assert_eq!(classify(&[fw(0x1a, u32::MAX)], &skb, 14), Some(3));
        assert_eq!(classify(&[fw(0xa, 0xf)], &skb, 14), Some(3));
        assert_eq!(classify(&[fw(0x1b, u32::MAX)], &skb, 14), None);
    }

    #[test]
    fn first_filter_whose_matches_all_hold_wins() {
        let mut pool = SkbPool::new();
        let mut skb = frame(&mut pool);
        skb.priority = 6;
        let filters = [
            f(vec![Match::Dport(80), Match::Protocol(6)], 1),
            f(vec![Match::Dport(80), Match::Protocol(17)], 2),
            f(vec![Match::Priority(6)], 3),
        ];
        assert_eq!(classify(&filters, &skb, 14), Some(2));
        assert_eq!(classify(&filters[2..], &skb, 14), Some(3));
    }

    #[test]
    fn non_ipv4_matches_no_ip_selector() {
        let mut pool = SkbPool::new();
        let mut skb = frame(&mut pool);
        skb.data_mut()[14] = 0x60;
        assert_eq!(
            classify(&[f(vec![Match::Src { addr: 0, len: 0 }], 1)], &skb, 14),
            None
        );
        assert_eq!(
            classify(&[f(vec![Match::Priority(0)], 1)], &skb, 14),
            Some(1)
        );
    }
}
