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
use crate::netfilter::Netfilter;
use crate::netfilter::conntrack::{Conntrack, CtId, CtState, CtVerdict, IpCtInfo};
use crate::netfilter::log::nf_log_line;
use crate::netfilter::nat::{NatRange, NatRangeFlags, NatTableVerdict, nf_nat_masquerade};
use crate::netfilter::reject::reject_tg;
use crate::netfilter::rule::PacketInfo;
use crate::netfilter::table::{NatKind, TableId, TableVerdict};
use crate::netfilter::target::{LogTarget, Tcpmss};
use crate::netfilter::tcpmss::tcpmss_tg4;
use crate::netfilter::xt_match::state;
use crate::node::{Devices, Node};
use crate::skb::Skb;
use crate::wire::Ipv4Packet;

/// The connection an skb belongs to (`skb->_nfct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfCt {
    /// Tracked: the entry and how the packet relates to it (`enum ip_conntrack_info`).
    Conn {
        /// The conntrack entry.
        id: CtId,
        /// `IP_CT_*`.
        info: IpCtInfo,
    },
    /// `NOTRACK` / `CT --notrack` in the raw table: never tracked (`UNTRACKED`).
    Untracked,
}

/// A hook's verdict for the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfVerdict {
    /// `NF_ACCEPT`: the packet goes on.
    Accept,
    /// `NF_DROP`: the caller frees it.
    Drop,
}

/// One entry of a hook (`struct nf_hook_entries`, in priority order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A table's chain (raw −300, mangle −150, filter 0).
    Table(TableId),
    /// `ipv4_conntrack_in`/`ipv4_conntrack_local` (−200).
    Conntrack,
    /// `nf_nat_ipv4_fn` with the nat table (−100 for destinations, 100 for sources).
    Nat,
    /// `ipv4_confirm` (last).
    Confirm,
}

/// The entries of `hook`, in priority order.
fn steps(hook: Hook) -> &'static [Step] {
    use Step::{Confirm, Conntrack, Nat, Table};
    use TableId::{Filter, Mangle, Raw};
    match hook {
        Hook::PreRouting => &[Table(Raw), Conntrack, Table(Mangle), Nat],
        Hook::LocalIn => &[Table(Mangle), Table(Filter), Nat, Confirm],
        Hook::Forward => &[Table(Mangle), Table(Filter)],
        Hook::LocalOut => &[Table(Raw), Conntrack, Table(Mangle), Nat, Table(Filter)],
        Hook::PostRouting => &[Table(Mangle), Nat, Confirm],
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
    for &step in steps(hook) {
        let verdict = match step {
            Step::Table(table) => {
                if n.netfilter.ruleset.table(table).is_trivial() {
                    continue;
                }
                let (verdict, mss) = run_table(n, cx, hook, table, skb, in_dev, out_dev, jiffies);
                if let Some(t) = mss
                    && !tcpmss(n, skb, t, out_dev)
                {
                    TableVerdict::Drop
                } else {
                    verdict
                }
            }
            Step::Conntrack => {
                let now = cx.now;
                let Some(ct) = n.netfilter.conntrack.as_mut() else {
                    continue;
                };
                // A packet looped back keeps the entry it got on output.
                if skb.nfct.is_some() {
                    continue;
                }
                match ct.nf_conntrack_in(now, hook, skb.data(), skb.csum_unnecessary) {
                    CtVerdict::Tracked { id, info } => {
                        skb.nfct = Some(NfCt::Conn { id, info });
                        TableVerdict::Accept
                    }
                    CtVerdict::Invalid => TableVerdict::Accept,
                    CtVerdict::Drop => TableVerdict::Drop,
                }
            }
            Step::Nat => {
                if n.netfilter.conntrack.is_none()
                    || n.netfilter.ruleset.table(TableId::Nat).is_trivial()
                {
                    continue;
                }
                if nat(n, cx, hook, skb, in_dev, out_dev, jiffies) {
                    TableVerdict::Accept
                } else {
                    TableVerdict::Drop
                }
            }
            Step::Confirm => {
                let now = cx.now;
                match (n.netfilter.conntrack.as_mut(), skb.nfct) {
                    (Some(ct), Some(NfCt::Conn { id, .. })) => {
                        if ct.get(id).is_some_and(|c| !c.is_confirmed()) && !ct.confirm(now, id) {
                            skb.nfct = None;
                            TableVerdict::Drop
                        } else {
                            TableVerdict::Accept
                        }
                    }
                    _ => continue,
                }
            }
        };
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

/// The conntrack fields the matches read, for the packet's entry.
fn ct_fields(ct: Option<&Conntrack>, nfct: Option<NfCt>) -> (u16, u32, u32) {
    let Some(ct) = ct else {
        return (0, 0, 0);
    };
    match nfct {
        None => (state::INVALID, 0, 0),
        Some(NfCt::Untracked) => (state::UNTRACKED, 0, 0),
        Some(NfCt::Conn { id, info }) => {
            let bit = match info.ctstate() {
                CtState::Established => state::ESTABLISHED,
                CtState::Related => state::RELATED,
                CtState::New => state::NEW,
                CtState::Untracked => state::UNTRACKED,
                CtState::Invalid => state::INVALID,
            };
            match ct.get(id) {
                Some(c) => (bit, c.mark, c.status.0),
                None => (state::INVALID, 0, 0),
            }
        }
    }
}

/// The nat table's place at `hook` (`nf_nat_ipv4_fn`): a new connection's first packet runs
/// the chain, whose target chooses the mapping (or none: a null binding); every packet of
/// a mapped connection is rewritten. False: drop.
#[allow(clippy::too_many_arguments)]
fn nat(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    hook: Hook,
    skb: &mut Skb,
    in_dev: Option<usize>,
    out_dev: Option<usize>,
    jiffies: u64,
) -> bool {
    let now = cx.now;
    let conn = match skb.nfct {
        Some(NfCt::Conn { id, info }) => Some((id, info)),
        _ => None,
    };
    let (mark, local_sock) = (skb.mark, skb.sock.is_some());
    let mac: Option<[u8; 14]> = in_dev
        .filter(|&d| d != LOOPBACK)
        .and_then(|_| skb.mac_header());
    let Node {
        netfilter,
        devs,
        rng,
        name,
        ..
    } = n;
    let Netfilter {
        ruleset,
        conntrack,
        nat_rng,
        ..
    } = netfilter;
    let (Some(ct), Some(nat_rng)) = (conntrack.as_mut(), nat_rng.as_mut()) else {
        return true;
    };
    let in_name = dev_name(devs, in_dev);
    let out_name = dev_name(devs, out_dev);
    let trace = &mut cx.shared.trace;
    let node = name.as_str();
    let mut new_mark = mark;
    let ok = ct.nf_nat_ipv4_fn(now, hook, conn, skb.data_mut(), nat_rng, |c, ip| {
        let Some(mut p) = packet_info(ip, in_name, out_name, mark, jiffies) else {
            return NatTableVerdict::NoBinding;
        };
        p.ct_state = match conn.map(|(_, info)| info.ctstate()) {
            Some(CtState::Related) => state::RELATED,
            _ => state::NEW,
        };
        p.ct_mark = c.mark;
        p.ct_status = c.status.0;
        let mut log = |l: &LogTarget, p: &PacketInfo<'_>| {
            let line = nf_log_line(l, p, mac.as_ref().map(|m| &m[..]), local_sock.then_some(0));
            trace.event(now, node, format_args!("kernel: {line}"));
        };
        let v = ruleset
            .table_mut(TableId::Nat)
            .run(hook, &mut p, rng, &mut log);
        new_mark = p.mark;
        match v {
            TableVerdict::Accept | TableVerdict::Reject(_) => NatTableVerdict::NoBinding,
            TableVerdict::Drop => NatTableVerdict::Drop,
            TableVerdict::Nat(kind, to) => {
                let ports = to.ports.map(|r| (r.min, r.max));
                let flags = NatRangeFlags::from_nat_to(&to);
                match kind {
                    NatKind::Snat | NatKind::Dnat => {
                        NatTableVerdict::Range(NatRange::from_nat_to(&to))
                    }
                    NatKind::Masquerade => {
                        // inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE): the device's
                        // primary address.
                        let addr = out_dev
                            .and_then(|d| devs.get(d))
                            .and_then(|d| d.addr)
                            .map(|c| c.address());
                        nf_nat_masquerade(c, addr, ports, flags)
                    }
                    NatKind::Redirect => {
                        let to_addr = if hook == Hook::LocalOut {
                            Some(std::net::Ipv4Addr::LOCALHOST)
                        } else {
                            in_dev
                                .and_then(|d| devs.get(d))
                                .and_then(|d| d.addr)
                                .map(|c| c.address())
                        };
                        match to_addr {
                            Some(a) => NatTableVerdict::Range(NatRange::redirect(a, ports, flags)),
                            None => NatTableVerdict::Drop,
                        }
                    }
                }
            }
        }
    });
    skb.mark = new_mark;
    ok
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
    (p.ct_state, p.ct_mark, p.ct_status) = ct_fields(n.netfilter.conntrack.as_deref(), skb.nfct);
    let ct_mark = p.ct_mark;
    let (now, node) = (cx.now, n.name.as_str());
    let trace = &mut cx.shared.trace;
    let mut log = |l: &LogTarget, p: &PacketInfo<'_>| {
        let line = nf_log_line(l, p, mac.as_ref().map(|m| &m[..]), local_sock.then_some(0));
        trace.event(now, node, format_args!("kernel: {line}"));
    };
    let v = n
        .netfilter
        .ruleset
        .table_mut(table)
        .run(hook, &mut p, &mut n.rng, &mut log);
    let (mark, mss, untracked, new_ct_mark) =
        (p.mark, p.tcpmss, p.ct_state == state::UNTRACKED, p.ct_mark);
    skb.mark = mark;
    if untracked && table == TableId::Raw {
        skb.nfct = Some(NfCt::Untracked);
    }
    if new_ct_mark != ct_mark
        && let (Some(ct), Some(NfCt::Conn { id, .. })) = (n.netfilter.conntrack.as_mut(), skb.nfct)
        && let Some(c) = ct.get_mut(id)
    {
        c.mark = new_ct_mark;
    }
    (v, mss)
}
