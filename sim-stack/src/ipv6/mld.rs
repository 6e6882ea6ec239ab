//! Multicast Listener Discovery, version 2, as a host (`net/ipv6/mcast.c`): the groups an
//! interface has joined and the unsolicited reports Linux sends for them.
//!
//! A group joined while the link is up gets a state-change record (`mca_crcount` =
//! robustness, 2) and `mld_ifc_event` schedules a report 2 jiffies later
//! (`mld_ifc_start_work(idev, 1)`: a random delay below 1, plus 2), which carries a
//! CHANGE_TO_EXCLUDE record for every group with a count left, then one more after a random
//! delay below `mldv2_unsolicited_report_interval` (plus 2 jiffies). When the link-local
//! address finishes DAD (`ipv6_mc_dad_complete`) a report with every group goes at once
//! (`mld_send_initial_cr`), and again after a random delay: those are the first reports from
//! the link-local, the earlier ones leave from `::`. Reports go to ff02::16 with hop limit 1
//! and a Hop-by-Hop Router Alert; ff02::1 is joined but never reported (`MAF_NOREPORT`). No
//! querier is modeled: a received query is counted, not answered.

use std::net::Ipv6Addr;

use crate::ctx::NetCtx;
use crate::ipv6::addrconf::{
    Inet6Dev, Ipv6TimerKind, arm, duration_to_jiffies, jiffies_to_duration,
};
use crate::ipv6::output::ip6_send_kernel;
use crate::node::Node;
use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr, MldRecord, MldRepr};
use crate::wire::ipv6::ALL_MLDV2_ROUTERS;

/// MLDv2 record type CHANGE_TO_EXCLUDE_MODE (RFC 3810 §5.2.12).
const CHANGE_TO_EXCLUDE: u8 = 4;

/// Joins `group` on an interface whose link is not up yet (`__ipv6_dev_mc_inc` without a
/// report): a new group goes to the front of the list.
pub(crate) fn join(idev: &mut Inet6Dev, group: Ipv6Addr) -> bool {
    if let Some(m) = idev.mc.iter_mut().find(|m| m.group == group) {
        m.users += 1;
        return false;
    }
    // Groups of interface-local and link-local scope up to ff02::1 are not reported
    // (igmp6_group_added: MAF_NOREPORT for the all-nodes group).
    let noreport = group == crate::wire::ipv6::ALL_NODES
        || (group.is_multicast() && group.octets()[1] & 0x0f < 2);
    idev.mc.insert(
        0,
        crate::ipv6::addrconf::Ifmcaddr6 {
            group,
            users: 1,
            crcount: 0,
            noreport,
        },
    );
    true
}

/// `ipv6_dev_mc_inc` on an interface that is up: a new group is reported
/// (`igmp6_group_added` → `mld_ifc_event`).
pub(crate) fn join_reporting(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, group: Ipv6Addr) {
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    if !join(idev, group) || !idev.ready {
        return;
    }
    let qrv = idev.mc_qrv;
    let m = &mut idev.mc[0];
    if m.noreport {
        return;
    }
    m.crcount = qrv;
    mld_ifc_event(n, cx, dev);
}

/// `ipv6_mc_up`: the link came up; every reported group gets its state-change records.
pub(crate) fn ipv6_mc_up(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    let qrv = idev.mc_qrv;
    for m in idev.mc.iter_mut().filter(|m| !m.noreport) {
        m.crcount = qrv;
    }
    mld_ifc_event(n, cx, dev);
}

/// `mld_ifc_event`: `mc_qrv` state-change reports, the first 2 jiffies from now.
fn mld_ifc_event(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
    idev.mc_ifc_count = idev.mc_qrv;
    arm(n, cx, dev, jiffies_to_duration(2), Ipv6TimerKind::MldIfc);
}

/// `mld_ifc_start_work(idev, interval)`: a random delay below the interval, plus 2 jiffies.
fn start_work(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, which: Ipv6TimerKind) {
    let idev = n.devs[dev].inet6.as_deref().expect("IPv6 on");
    let iv = duration_to_jiffies(idev.cnf.mldv2_unsolicited_report_interval).max(1);
    let tv = n.rng.below(iv);
    arm(n, cx, dev, jiffies_to_duration(tv + 2), which);
}

/// `mld_ifc_work`: sends the state-change report and schedules the next one.
pub(crate) fn mld_ifc_work(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    // mld_send_cr: a record for each group with state-change records left.
    let mut groups = Vec::new();
    for m in idev.mc.iter_mut().filter(|m| !m.noreport && m.crcount > 0) {
        m.crcount -= 1;
        groups.push(m.group);
    }
    let again = if idev.mc_ifc_count > 0 {
        idev.mc_ifc_count -= 1;
        idev.mc_ifc_count > 0
    } else {
        false
    };
    mld_sendpack(n, cx, dev, &groups);
    if again {
        start_work(n, cx, dev, Ipv6TimerKind::MldIfc);
    }
}

/// `ipv6_mc_dad_complete`: the link-local is valid; a report with every group now, and
/// `mc_qrv - 1` more later.
pub(crate) fn ipv6_mc_dad_complete(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
    idev.mc_dad_count = idev.mc_qrv;
    if idev.mc_dad_count == 0 {
        return;
    }
    mld_send_initial_cr(n, cx, dev);
    let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
    idev.mc_dad_count -= 1;
    if idev.mc_dad_count > 0 {
        start_work(n, cx, dev, Ipv6TimerKind::MldDad);
    }
}

/// `mld_dad_work`: the next report with every group.
pub(crate) fn mld_dad_work(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    if n.devs[dev].inet6.is_none() {
        return;
    }
    mld_send_initial_cr(n, cx, dev);
    let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
    if idev.mc_dad_count > 0 {
        idev.mc_dad_count -= 1;
        if idev.mc_dad_count > 0 {
            start_work(n, cx, dev, Ipv6TimerKind::MldDad);
        }
    }
}

/// `mld_send_initial_cr`: a CHANGE_TO_EXCLUDE record for every reported group.
fn mld_send_initial_cr(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let idev = n.devs[dev].inet6.as_deref().expect("IPv6 on");
    let groups: Vec<Ipv6Addr> = idev
        .mc
        .iter()
        .filter(|m| !m.noreport)
        .map(|m| m.group)
        .collect();
    mld_sendpack(n, cx, dev, &groups);
}

/// `mld_sendpack`: one MLDv2 report with a record per group, from the link-local (`::`
/// while it is tentative) to ff02::16, hop limit 1, behind a Router Alert.
fn mld_sendpack(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, groups: &[Ipv6Addr]) {
    if groups.is_empty() {
        return;
    }
    let idev = n.devs[dev].inet6.as_deref().expect("IPv6 on");
    let src = idev.lladdr().unwrap_or(Ipv6Addr::UNSPECIFIED);
    let records: Vec<MldRecord> = groups
        .iter()
        .map(|&group| MldRecord {
            record_type: CHANGE_TO_EXCLUDE,
            group,
        })
        .collect();
    let repr = Icmpv6Repr::Mld(MldRepr::ReportV2 { records: &records });
    let len = repr.buffer_len();
    let mut skb = cx.shared.pool.alloc(len);
    repr.emit(
        src,
        ALL_MLDV2_ROUTERS,
        &mut Icmpv6Packet::new_unchecked(skb.put(len)),
    );
    note!(cx, skb, "mld_sendpack");
    let _ = ip6_send_kernel(n, cx, dev, skb, src, ALL_MLDV2_ROUTERS, 1, true);
}
