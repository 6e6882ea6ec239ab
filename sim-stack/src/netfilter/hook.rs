//! `nf_hook`: what runs at each IPv4 hook, in the kernel's priority order.
//!
//! | hook | in order |
//! |---|---|
//! | PRE_ROUTING | raw, conntrack, mangle, nat (destination) |
//! | LOCAL_IN | mangle, filter, nat (source), conntrack confirm |
//! | FORWARD | mangle, filter |
//! | LOCAL_OUT | raw, conntrack, mangle, nat (destination), filter |
//! | POST_ROUTING | mangle, nat (source), conntrack confirm |
//!
//! Each table's verdict is final when it is DROP (or REJECT, which replies and drops); an
//! ACCEPT hands the packet to the next table, as `nf_hook_slow` walks the hook's entries.

use crate::ctx::NetCtx;
use crate::ip::output::LOOPBACK;
use crate::netfilter::Hook;
use crate::netfilter::log::nf_log_line;
use crate::netfilter::reject::reject_tg;
use crate::netfilter::rule::PacketInfo;
use crate::netfilter::table::{TableId, TableVerdict};
use crate::netfilter::target::{LogTarget, Tcpmss};
use crate::netfilter::tcpmss::tcpmss_tg4;
use crate::node::{Devices, Node};
use crate::skb::Skb;
use crate::wire::Ipv4Packet;

/// The connection an skb belongs to (`skb->_nfct`): the entry and how the packet relates to
/// it (`enum ip_conntrack_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfCt {
    /// The conntrack entry.
    pub id: u32,
    /// `IP_CT_*`.
    pub info: u8,
}

/// A hook's verdict for the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfVerdict {
    /// `NF_ACCEPT`: the packet goes on.
    Accept,
    /// `NF_DROP`: the caller frees it.
    Drop,
}

/// The tables at `hook`, in priority order (the nat table's place included).
fn tables(hook: Hook) -> &'static [TableId] {
    use TableId::*;
    match hook {
        Hook::PreRouting => &[Raw, Mangle, Nat],
        Hook::LocalIn => &[Mangle, Filter, Nat],
        Hook::Forward => &[Mangle, Filter],
        Hook::LocalOut => &[Raw, Mangle, Nat, Filter],
        Hook::PostRouting => &[Mangle, Nat],
    }
}

/// `nf_hook`: runs the node's tables at `hook` over the IPv4 packet in `skb` (header first),
/// which came in on `in_dev` and leaves on `out_dev` where the hook has them. A node with
/// no rules costs one test.
#[inline]
pub(crate) fn nf_hook(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    hook: Hook,
    skb: &mut Skb,
    in_dev: Option<usize>,
    out_dev: Option<usize>,
) -> NfVerdict {
    if !n.netfilter.active {
        return NfVerdict::Accept;
    }
    nf_hook_slow(n, cx, hook, skb, in_dev, out_dev)
}

fn dev_name(devs: &Devices, dev: Option<usize>) -> Option<&str> {
    match dev {
        Some(LOOPBACK) => Some("lo"),
        Some(d) => devs.get(d).map(|d| d.name.as_str()),
        None => None,
    }
}

/// The parsed view of an IPv4 packet the matches read.
fn packet_info<'a>(
    ip: &'a [u8],
    in_dev: Option<&'a str>,
    out_dev: Option<&'a str>,
    mark: u32,
    jiffies: u64,
) -> Option<PacketInfo<'a>> {
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ihl < 20 || ip.len() < ihl {
        return None;
    }
    Some(PacketInfo {
        ip,
        src: std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        dst: std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        proto: ip[9],
        len: u16::from_be_bytes([ip[2], ip[3]]),
        ttl: ip[8],
        tos: ip[1],
        frag_off: u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff,
        thoff: ihl,
        in_dev,
        out_dev,
        mark,
        ct_state: 0,
        ct_mark: 0,
        ct_status: 0,
        jiffies,
        tcpmss: None,
    })
}

fn nf_hook_slow(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    hook: Hook,
    skb: &mut Skb,
    in_dev: Option<usize>,
    out_dev: Option<usize>,
) -> NfVerdict {
    let jiffies = n.jiffies(cx.now);
    for &table in tables(hook) {
        if n.netfilter.ruleset.table(table).is_trivial() {
            continue;
        }
        let (verdict, mss) = run_table(n, cx, hook, table, skb, in_dev, out_dev, jiffies);
        if let Some(t) = mss
            && !tcpmss(n, skb, t, out_dev)
        {
            n.netfilter.dropped += 1;
            return NfVerdict::Drop;
        }
        match verdict {
            TableVerdict::Accept | TableVerdict::Nat(..) => {}
            TableVerdict::Drop => {
                n.netfilter.dropped += 1;
                return NfVerdict::Drop;
            }
            TableVerdict::Reject(with) => {
                reject_tg(n, cx, skb, with);
                n.netfilter.dropped += 1;
                return NfVerdict::Drop;
            }
        }
    }
    NfVerdict::Accept
}

/// `TCPMSS` on the packet: the MSS to set, or for `--clamp-mss-to-pmtu` the smaller of the
/// output device's MTU and the MTU of the route back to the source, less 40
/// (`tcpmss_reverse_mtu`). False when the kernel drops the packet.
fn tcpmss(n: &mut Node, skb: &mut Skb, t: Tcpmss, out_dev: Option<usize>) -> bool {
    let newmss = match t {
        Tcpmss::Set(m) => m,
        Tcpmss::ClampPmtu => {
            let out_mtu = match out_dev {
                Some(LOOPBACK) | None => 65536,
                Some(d) => n.devs.get(d).map_or(65536, |d| d.mtu),
            };
            let src = Ipv4Packet::new_unchecked(skb.data()).src_addr();
            let in_mtu = n
                .fib
                .lookup(src)
                .and_then(|r| n.devs.get(r.dev as usize))
                .map_or(u32::MAX, |d| d.mtu);
            let min = out_mtu.min(in_mtu);
            if min <= 40 {
                return false;
            }
            (min - 40).min(u32::from(u16::MAX)) as u16
        }
    };
    tcpmss_tg4(skb, newmss)
}

/// One table's chain at `hook` over the packet; MARK's changes land in `skb.mark`.
#[allow(clippy::too_many_arguments)]
fn run_table(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    hook: Hook,
    table: TableId,
    skb: &mut Skb,
    in_dev: Option<usize>,
    out_dev: Option<usize>,
    jiffies: u64,
) -> (TableVerdict, Option<Tcpmss>) {
    let in_name = dev_name(&n.devs, in_dev);
    let out_name = dev_name(&n.devs, out_dev);
    let local_sock = skb.sock.is_some();
    let mac: Option<[u8; 14]> = in_dev
        .filter(|&d| d != LOOPBACK)
        .and_then(|_| skb.mac_header());
    let Some(mut p) = packet_info(skb.data(), in_name, out_name, skb.mark, jiffies) else {
        return (TableVerdict::Accept, None);
    };
    let (now, node) = (cx.now, n.name.as_str());
    let trace = &mut *cx.trace;
    let mut log = |l: &LogTarget, p: &PacketInfo<'_>| {
        let line = nf_log_line(l, p, mac.as_ref().map(|m| &m[..]), local_sock.then_some(0));
        trace.event(now, node, format_args!("kernel: {line}"));
    };
    let v = n
        .netfilter
        .ruleset
        .table_mut(table)
        .run(hook, &mut p, &mut n.rng, &mut log);
    let (mark, mss) = (p.mark, p.tcpmss);
    skb.mark = mark;
    (v, mss)
}
