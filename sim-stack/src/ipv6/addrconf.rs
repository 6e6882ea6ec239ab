//! Address configuration (`net/ipv6/addrconf.c`): an interface's IPv6 state
//! ([`Inet6Dev`]), its addresses ([`Inet6Ifaddr`]) and what happens when its link comes up,
//! as the dual-stack reference shows it:
//!
//! * `ipv6_add_dev` (when the node is built): the static addresses, tentative; the groups
//!   ff02::1 (never reported) and, on a forwarding interface, ff02::2; each address's
//!   solicited-node group; the connected and `fe80::/64` routes.
//! * `addrconf_notify(NETDEV_UP)` with carrier, at t = 0: the EUI-64 link-local address
//!   (`addr_gen_mode` 0), Duplicate Address Detection for every address, and `ipv6_mc_up`
//!   (an MLDv2 report of every group 2 jiffies later, repeated once).
//! * DAD (`addrconf_dad_kick` / `addrconf_dad_work`): after a random delay below
//!   `router_solicitation_delay`, `dad_transmits` Neighbour Solicitations from `::` with a
//!   Nonce, `retrans_time` apart; no answer in the last `retrans_time` and the address is
//!   valid (`addrconf_dad_completed`): its local route goes in, a forwarding interface joins
//!   the subnet-router anycast address, the link-local's completion sends MLDv2 reports from
//!   it and, on a host that accepts Router Advertisements, Router Solicitations (at once,
//!   then with RFC 3315 §14 back-off: 4 s ± 10 %, then doubling ± 10 %, `router_solicitations`
//!   times, -1 without end). An NS or NA for a tentative address from someone else fails DAD.

use std::net::Ipv6Addr;

use sim_core::{SimDuration, TimerId};

use crate::config::{IfaceConfig, Ipv6DevConf};
use crate::ctx::NetCtx;
use crate::event::Event;
use crate::ipv6::mld;
use crate::ipv6::ndisc;
use crate::node::Node;
use crate::stats::Snmp6;
use crate::wire::Ipv6Cidr;
use crate::wire::ipv6::{ALL_NODES, ALL_ROUTERS, is_link_local, link_local_eui64, solicited_node};

/// Which of an interface's IPv6 timers fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6TimerKind {
    /// The link came up (`NETDEV_UP` with carrier).
    Up,
    /// Address number N's DAD work (`ifp->dad_work`).
    Dad(u16),
    /// The Router Solicitation timer (`idev->rs_timer`).
    Rs,
    /// MLD's state-change report work (`idev->mc_ifc_work`).
    MldIfc,
    /// MLD's report work after DAD (`idev->mc_dad_work`).
    MldDad,
}

/// Where an address stands in DAD (`INET6_IFADDR_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrState {
    /// Added, DAD not begun (the link is not up yet).
    PreDad,
    /// DAD running: tentative.
    Dad,
    /// DAD done: valid (or failed, see [`Inet6Ifaddr::dad_failed`]).
    PostDad,
}

/// One IPv6 address of an interface (`struct inet6_ifaddr`).
#[derive(Debug)]
pub struct Inet6Ifaddr {
    /// The address and its prefix length.
    pub cidr: Ipv6Cidr,
    /// `IFA_F_TENTATIVE`: DAD has not finished; the address is neither a source nor local.
    pub tentative: bool,
    /// `IFA_F_DADFAILED`: someone else has it.
    pub dad_failed: bool,
    /// DAD state.
    pub state: AddrState,
    /// Solicitations DAD still has to send.
    pub dad_probes: u32,
    /// The Nonce option of its DAD solicitations (`enhanced_dad`).
    pub dad_nonce: Option<[u8; 6]>,
    /// The DAD work's timer.
    pub timer: TimerId,
}

impl Inet6Ifaddr {
    /// The address.
    pub fn addr(&self) -> Ipv6Addr {
        self.cidr.address()
    }
    /// Whether it may be used: DAD done and not failed.
    pub fn valid(&self) -> bool {
        !self.tentative && !self.dad_failed
    }
}

/// A multicast group the interface has joined (`struct ifmcaddr6`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ifmcaddr6 {
    /// The group.
    pub group: Ipv6Addr,
    /// Joins not yet left (`mca_users`).
    pub users: u32,
    /// Reports that still carry a state-change record for it (`mca_crcount`).
    pub crcount: u8,
    /// `MAF_NOREPORT`: never reported (ff02::1 and narrower scopes).
    pub noreport: bool,
}

/// The IPv6 state of one interface (`struct inet6_dev`).
#[derive(Debug)]
pub struct Inet6Dev {
    /// `net.ipv6.conf.IFACE.*`.
    pub cnf: Ipv6DevConf,
    /// Addresses, in the order `ip -6 addr` lists them (static ones as written, then the
    /// link-local).
    pub addrs: Vec<Inet6Ifaddr>,
    /// Joined groups, newest first (`idev->mc_list`): the order of an MLDv2 report's records.
    pub mc: Vec<Ifmcaddr6>,
    /// Anycast addresses (`idev->ac_list`): the subnet-router anycast address of each prefix
    /// of a forwarding interface, which it answers solicitations for.
    pub anycast: Vec<Ipv6Addr>,
    /// `IF_READY`: the link is up with carrier.
    pub ready: bool,
    /// MLD's robustness variable (`mc_qrv`, 2).
    pub mc_qrv: u8,
    /// State-change reports still to send (`mc_ifc_count`).
    pub mc_ifc_count: u8,
    /// Reports after DAD still to send (`mc_dad_count`).
    pub mc_dad_count: u8,
    /// The state-change report work's timer.
    pub mc_ifc_timer: TimerId,
    /// The after-DAD report work's timer.
    pub mc_dad_timer: TimerId,
    /// Router Solicitations sent (`rs_probes`).
    pub rs_probes: u32,
    /// The current Router Solicitation interval, in jiffies (`rs_interval`).
    pub rs_interval: u64,
    /// The Router Solicitation timer.
    pub rs_timer: TimerId,
    /// The interface's counters (`/proc/net/dev_snmp6/IFACE`).
    pub stats: Snmp6,
}

impl Inet6Dev {
    /// The valid link-local address (`ipv6_get_lladdr` without tentative ones).
    pub fn lladdr(&self) -> Option<Ipv6Addr> {
        self.addrs
            .iter()
            .find(|a| a.valid() && is_link_local(a.addr()))
            .map(Inet6Ifaddr::addr)
    }

    /// The address `addr` of this interface, tentative or not (`ipv6_get_ifaddr`).
    pub fn ifaddr(&self, addr: Ipv6Addr) -> Option<&Inet6Ifaddr> {
        self.addrs.iter().find(|a| a.addr() == addr)
    }

    /// Whether the interface listens to `group` (`ipv6_chk_mcast_addr`).
    pub fn has_group(&self, group: Ipv6Addr) -> bool {
        self.mc.iter().any(|m| m.group == group)
    }

    /// `ipv6_accept_ra`: whether the interface takes Router Advertisements (and so sends
    /// solicitations): `accept_ra` 1 when not forwarding, 2 always.
    pub fn accept_ra(&self) -> bool {
        if self.cnf.forwarding {
            self.cnf.accept_ra == 2
        } else {
            self.cnf.accept_ra >= 1
        }
    }
}

/// Jiffies (HZ = 250) as a duration.
pub(crate) const fn jiffies_to_duration(j: u64) -> SimDuration {
    SimDuration::from_nanos(j * 4_000_000)
}

/// A duration in jiffies, rounded up as `msecs_to_jiffies` rounds.
pub(crate) const fn duration_to_jiffies(d: SimDuration) -> u64 {
    d.as_nanos().div_ceil(4_000_000)
}

/// Arms interface `dev`'s IPv6 timer `which`, `delay` from now, on the timer wheel.
pub(crate) fn arm(
    n: &Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    delay: SimDuration,
    which: Ipv6TimerKind,
) {
    let at = n.timer_expiry(cx.now, delay);
    let Some(idev) = n.devs[dev].inet6.as_deref() else {
        return;
    };
    let timer = match which {
        Ipv6TimerKind::Up => return,
        Ipv6TimerKind::Dad(i) => match idev.addrs.get(usize::from(i)) {
            Some(a) => &a.timer,
            None => return,
        },
        Ipv6TimerKind::Rs => &idev.rs_timer,
        Ipv6TimerKind::MldIfc => &idev.mc_ifc_timer,
        Ipv6TimerKind::MldDad => &idev.mc_dad_timer,
    };
    cx.sched.arm(
        timer,
        at,
        Event::Ipv6Timer {
            node: n.id,
            dev: dev as u32,
            which,
        },
    );
}

/// `ipv6_add_dev` and the addresses configured while the interface is down: what exists
/// before the link comes up. Draws the NDP table's reachable time from the node's stream.
///
/// On an `IFF_NOARP` device (tun) `ipv6_add_dev` sets `accept_dad` to -1, so its
/// addresses skip DAD, and `addrconf_join_solict` joins no solicited-node group: such a
/// device sends no Neighbour Solicitation and no MLD report for its addresses.
pub fn ipv6_add_dev(
    n: &mut Node,
    sched: &mut sim_core::Scheduler<Event>,
    dev: usize,
    cfg: &IfaceConfig,
) {
    let params = n.sysctl.neigh6;
    let base = params.base_reachable_time.as_nanos();
    // neigh_rand_reach_time: uniform in [base/2, 3·base/2).
    let reach = SimDuration::from_nanos(base / 2 + n.rng.below(base.max(1)));
    n.devs[dev].ndisc.reachable_time = reach;
    let noarp = !n.devs[dev].arp();
    let mut cnf = cfg.ipv6.clone();
    if noarp {
        cnf.accept_dad = 0;
    }
    let mut idev = Inet6Dev {
        cnf,
        addrs: Vec::new(),
        mc: Vec::new(),
        anycast: Vec::new(),
        ready: false,
        mc_qrv: 2,
        mc_ifc_count: 0,
        mc_dad_count: 0,
        mc_ifc_timer: sched.new_timer(),
        mc_dad_timer: sched.new_timer(),
        rs_probes: 0,
        rs_interval: 0,
        rs_timer: sched.new_timer(),
        stats: Snmp6::default(),
    };
    // ipv6_add_dev joins the all-nodes group (never reported); a forwarding interface the
    // all-routers group (dev_forward_change).
    mld::join(&mut idev, ALL_NODES);
    if idev.cnf.forwarding {
        mld::join(&mut idev, ALL_ROUTERS);
    }
    n.fib6.add_multicast(dev as u32);
    n.fib6.add_connected(
        Ipv6Cidr::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 64),
        dev as u32,
    );
    for &cidr in &cfg.addrs6 {
        // inet6_addr_add: the prefix route at once; DAD begins (and joins the
        // solicited-node group) but stops while the link is not ready.
        n.fib6.add_connected(cidr.network(), dev as u32);
        if !noarp {
            mld::join(&mut idev, solicited_node(cidr.address()));
        }
        idev.addrs.push(Inet6Ifaddr {
            cidr,
            tentative: true,
            dad_failed: false,
            state: AddrState::PreDad,
            dad_probes: 0,
            dad_nonce: None,
            timer: sched.new_timer(),
        });
    }
    n.devs[dev].inet6 = Some(Box::new(idev));
}

/// `addrconf_notify(NETDEV_UP)` on a link with carrier: the link-local address, DAD for
/// every address, and `ipv6_mc_up`.
///
/// A tun device (`ARPHRD_NONE`) has no hardware address to make an EUI-64 from:
/// `addrconf_dev_config` switches it to `IN6_ADDR_GEN_MODE_RANDOM`, a link-local address
/// with a random interface identifier (drawn from the node's stream; Linux hashes a random
/// secret, `ipv6_generate_stable_address`), valid at once since the device skips DAD.
pub(crate) fn addrconf_dev_up(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    // addrconf_link_ready: without carrier (no link) nothing starts; the addresses stay
    // tentative.
    if !n.devs[dev].carrier() {
        return;
    }
    let tun = !n.devs[dev].arp();
    let mac = n.devs[dev].mac;
    let timer = cx.sched.new_timer();
    let random_iid = if tun {
        loop {
            // ipv6_generate_stable_address: the reserved identifiers (all zeros, …) are
            // drawn again.
            let mut b = [0u8; 8];
            n.rng.fill_bytes(&mut b);
            if b != [0; 8] {
                break Some(u64::from_be_bytes(b));
            }
        }
    } else {
        None
    };
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    idev.ready = true;
    // addrconf_dev_config → addrconf_add_linklocal (addr_gen_mode 0: EUI-64).
    let statics = idev.addrs.len();
    let mut order: Vec<usize> = Vec::with_capacity(statics + 1);
    if idev.cnf.addr_gen_mode == 0 {
        let ll = match random_iid {
            Some(iid) => Ipv6Addr::from_bits((0xfe80u128 << 112) | u128::from(iid)),
            None => link_local_eui64(mac),
        };
        if idev.ifaddr(ll).is_none() {
            order.push(statics);
            idev.addrs.push(Inet6Ifaddr {
                cidr: Ipv6Cidr::new(ll, 64),
                tentative: true,
                dad_failed: false,
                state: AddrState::PreDad,
                dad_probes: 0,
                dad_nonce: None,
                timer,
            });
        }
    }
    // The link-local's DAD starts first (addrconf_dev_config), then addrconf_dad_run for
    // the addresses configured while down.
    order.extend(0..statics);
    for i in order {
        addrconf_dad_begin(n, cx, dev, i);
    }
    mld::ipv6_mc_up(n, cx, dev);
}

/// `addrconf_dad_begin` → `addrconf_dad_kick`: joins the address's solicited-node group,
/// and either completes at once (DAD off) or waits a random delay below
/// `router_solicitation_delay` before the first solicitation.
fn addrconf_dad_begin(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, i: usize) {
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    let addr = idev.addrs[i].addr();
    let noarp = !n.devs[dev].arp();
    let idev = n.devs[dev].inet6.as_deref_mut().expect("checked");
    if idev.addrs[i].state == AddrState::PreDad && is_link_local(addr) && !noarp {
        // The static addresses joined when they were added; the link-local joins now.
        mld::join_reporting(n, cx, dev, solicited_node(addr));
    }
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    let ifa = &mut idev.addrs[i];
    ifa.state = AddrState::Dad;
    if idev.cnf.accept_dad == 0 {
        // No DAD: valid at once.
        ifa.tentative = false;
        addrconf_dad_completed(n, cx, dev, i);
        return;
    }
    let delay_j = duration_to_jiffies(idev.cnf.router_solicitation_delay).max(1);
    let enhanced = idev.cnf.enhanced_dad;
    let probes = idev.cnf.dad_transmits;
    let rand = n.rng.below(delay_j);
    let nonce = enhanced.then(|| {
        loop {
            let mut b = [0u8; 6];
            n.rng.fill_bytes(&mut b);
            if b != [0; 6] {
                break b;
            }
        }
    });
    let idev = n.devs[dev].inet6.as_deref_mut().expect("checked");
    let ifa = &mut idev.addrs[i];
    ifa.dad_nonce = nonce;
    ifa.dad_probes = probes;
    arm(
        n,
        cx,
        dev,
        jiffies_to_duration(rand),
        Ipv6TimerKind::Dad(i as u16),
    );
}

/// `addrconf_dad_work`: sends the next solicitation, or, with none left and no answer,
/// completes DAD.
pub(crate) fn addrconf_dad_work(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, i: usize) {
    let retrans = n
        .sysctl
        .neigh6
        .retrans_time
        .max(SimDuration::from_millis(10));
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    let Some(ifa) = idev.addrs.get_mut(i) else {
        return;
    };
    if ifa.state != AddrState::Dad || ifa.dad_failed {
        return;
    }
    if ifa.dad_probes == 0 {
        ifa.tentative = false;
        addrconf_dad_completed(n, cx, dev, i);
        return;
    }
    ifa.dad_probes -= 1;
    let target = ifa.addr();
    let nonce = ifa.dad_nonce;
    arm(n, cx, dev, retrans, Ipv6TimerKind::Dad(i as u16));
    ndisc::ndisc_send_ns(
        n,
        cx,
        dev,
        target,
        solicited_node(target),
        Ipv6Addr::UNSPECIFIED,
        nonce,
    );
}

/// `addrconf_dad_completed`: the address is valid. Its local route goes in
/// (`ipv6_ifa_notify`), a forwarding interface joins the subnet-router anycast address,
/// and the link-local's completion sends MLDv2 reports from it and starts Router
/// Solicitations on a host.
fn addrconf_dad_completed(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, i: usize) {
    let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
    let ifa = &mut idev.addrs[i];
    ifa.state = AddrState::PostDad;
    let cidr = ifa.cidr;
    let addr = cidr.address();
    let forwarding = idev.cnf.forwarding;
    let ndisc_notify = idev.cnf.ndisc_notify;
    let lonely_ll = is_link_local(addr)
        && idev
            .addrs
            .iter()
            .filter(|a| is_link_local(a.addr()) && a.valid())
            .count()
            == 1;
    let send_rs = lonely_ll && idev.accept_ra() && idev.cnf.router_solicitations != 0;
    n.fib6.add_local(addr, dev as u32);
    if cx.shared.trace.frames() {
        cx.shared.trace.event(
            cx.now,
            &n.name,
            format_args!("{} inet6 {cidr} dad done", n.devs[dev].name),
        );
    }
    if forwarding && cidr.prefix_len() < 127 {
        // addrconf_join_anycast: the subnet-router anycast address of the prefix.
        let anycast = cidr.network().address();
        let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
        if !anycast.is_unspecified() && !idev.anycast.contains(&anycast) {
            idev.anycast.push(anycast);
            mld::join_reporting(n, cx, dev, solicited_node(anycast));
        }
    }
    if lonely_ll {
        mld::ipv6_mc_dad_complete(n, cx, dev);
    }
    if ndisc_notify {
        ndisc::ndisc_send_unsol_na(n, cx, dev, addr);
    }
    if send_rs {
        ndisc::ndisc_send_rs(n, cx, dev, addr);
        let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
        let irt = duration_to_jiffies(idev.cnf.router_solicitation_interval);
        let interval = backoff_init(n, irt);
        let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
        idev.rs_interval = interval;
        idev.rs_probes = 1;
        arm(n, cx, dev, jiffies_to_duration(interval), Ipv6TimerKind::Rs);
    }
}

/// One of interface `dev`'s IPv6 timers fired.
pub(crate) fn ipv6_timer(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, which: Ipv6TimerKind) {
    match which {
        Ipv6TimerKind::Up => addrconf_dev_up(n, cx, dev),
        Ipv6TimerKind::Dad(i) => addrconf_dad_work(n, cx, dev, usize::from(i)),
        Ipv6TimerKind::Rs => addrconf_rs_timer(n, cx, dev),
        Ipv6TimerKind::MldIfc => mld::mld_ifc_work(n, cx, dev),
        Ipv6TimerKind::MldDad => mld::mld_dad_work(n, cx, dev),
    }
}

/// `rfc3315_s14_backoff_init`: the initial interval × [0.9, 1.1].
fn backoff_init(n: &mut Node, irt: u64) -> u64 {
    n.rng.range(900_000, 1_100_001) * irt / 1_000_000
}

/// `rfc3315_s14_backoff_update`: the interval × [1.9, 2.1], at most the maximum × [0.9, 1.1].
fn backoff_update(n: &mut Node, rt: u64, mrt: u64) -> u64 {
    let t = n.rng.range(1_900_000, 2_100_001) * rt / 1_000_000;
    if t > mrt {
        n.rng.range(900_000, 1_100_001) * mrt / 1_000_000
    } else {
        t
    }
}

/// `addrconf_rs_timer`: the next Router Solicitation, while no Router Advertisement has
/// come and solicitations remain.
pub(crate) fn addrconf_rs_timer(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize) {
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    if !idev.ready || !idev.accept_ra() {
        return;
    }
    let max = idev.cnf.router_solicitations;
    let probes = idev.rs_probes;
    idev.rs_probes += 1;
    if !(max < 0 || i64::from(probes) < i64::from(max)) {
        return;
    }
    let Some(ll) = idev.lladdr() else {
        return;
    };
    let (interval, mrt) = (
        idev.rs_interval,
        duration_to_jiffies(idev.cnf.router_solicitation_max_interval),
    );
    let delay = duration_to_jiffies(idev.cnf.router_solicitation_delay);
    ndisc::ndisc_send_rs(n, cx, dev, ll);
    let next = backoff_update(n, interval, mrt);
    let idev = n.devs[dev].inet6.as_deref_mut().expect("IPv6 on");
    idev.rs_interval = next;
    // The wait after the last probe can be shorter.
    let wait = if i64::from(idev.rs_probes) == i64::from(max) {
        delay
    } else {
        next
    };
    arm(n, cx, dev, jiffies_to_duration(wait), Ipv6TimerKind::Rs);
}

/// `addrconf_dad_failure`: someone else answered for (or is detecting) a tentative
/// address; it stays unusable (`IFA_F_DADFAILED`).
pub(crate) fn addrconf_dad_failure(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, addr: Ipv6Addr) {
    let Some(idev) = n.devs[dev].inet6.as_deref_mut() else {
        return;
    };
    let Some(ifa) = idev.addrs.iter_mut().find(|a| a.addr() == addr) else {
        return;
    };
    if !ifa.tentative || ifa.dad_failed {
        return;
    }
    ifa.dad_failed = true;
    ifa.state = AddrState::PostDad;
    cx.sched.cancel(&ifa.timer);
    let cidr = ifa.cidr;
    if cx.shared.trace.frames() {
        cx.shared.trace.event(
            cx.now,
            &n.name,
            format_args!(
                "{} inet6 {cidr} dadfailed: duplicate address detected",
                n.devs[dev].name
            ),
        );
    }
}

/// `ipv6_dev_get_saddr` for a destination out of interface `dev`, scoring its valid
/// addresses as `ipv6_get_saddr_eval` does: the destination itself first (RFC 6724 rule 1);
/// then scope (rule 2: the smallest scope that covers the destination's, else the largest
/// that does not); then the longest prefix shared with the destination, counted up to the
/// address's own prefix length (rule 8); the newest address wins a tie, as Linux keeps the
/// newest first. Addresses of other interfaces are not considered (rule 5 prefers the
/// outgoing interface's).
pub fn ipv6_dev_get_saddr(n: &Node, dev: usize, dst: Ipv6Addr) -> Option<Ipv6Addr> {
    let idev = n.devs.get(dev)?.inet6.as_deref()?;
    let dscope = i32::from(scope(dst));
    idev.addrs
        .iter()
        .enumerate()
        .filter(|(_, a)| a.valid())
        .max_by_key(|&(i, a)| {
            let addr = a.addr();
            let s = i32::from(scope(addr));
            let scope_score = if s >= dscope { -s } else { s - 128 };
            let common = (addr.to_bits() ^ dst.to_bits()).leading_zeros();
            (
                addr == dst,
                scope_score,
                common.min(u32::from(a.cidr.prefix_len())),
                i,
            )
        })
        .map(|(_, a)| a.addr())
}

/// An address's scope as RFC 4291 numbers it: link-local 2, global 14 (multicast: its scope
/// field).
pub fn scope(a: Ipv6Addr) -> u8 {
    if a.is_multicast() {
        a.octets()[1] & 0x0f
    } else if is_link_local(a) || a.is_loopback() {
        2
    } else {
        14
    }
}

/// Whether the node has `addr` as a valid address (`ipv6_chk_addr`).
#[inline]
pub fn ipv6_chk_addr(n: &Node, addr: Ipv6Addr) -> bool {
    n.fib6.is_local(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{HOST_MAC, HOST6, OneHost};
    use crate::wire::Ipv6Packet;
    use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr, MldRepr, NdiscRepr};
    use sim_core::SimTime;

    /// What one IPv6 packet the host sent was: (time, source, destination, hop limit,
    /// flow label, frame length, ICMPv6 message as text).
    fn describe(
        sent: Vec<(SimTime, crate::wire::EthernetAddress, Vec<u8>)>,
    ) -> Vec<(SimTime, Ipv6Addr, Ipv6Addr, u8, u32, usize, String)> {
        sent.into_iter()
            .map(|(t, _, p)| {
                let ip = Ipv6Packet::new_checked(&p[..]).expect("IPv6");
                let walk = crate::wire::ipv6::skip_ext_headers(ip.payload(), ip.next_header())
                    .expect("headers");
                let icmp = Icmpv6Packet::new_checked(&ip.payload()[walk.offset..]).expect("ICMPv6");
                let m = Icmpv6Repr::parse(ip.src_addr(), ip.dst_addr(), &icmp).expect("valid");
                let text = match m {
                    Icmpv6Repr::Mld(MldRepr::ReportV2Records(r)) => {
                        let groups: Vec<String> = r.iter().map(|g| g.group.to_string()).collect();
                        format!("MLDv2 report {}", groups.join(" "))
                    }
                    Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                        target,
                        lladdr,
                        nonce,
                    }) => format!(
                        "NS {target} sllao={} nonce={}",
                        lladdr.is_some(),
                        nonce.is_some()
                    ),
                    Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr }) => {
                        format!("RS sllao={}", lladdr == Some(HOST_MAC))
                    }
                    other => format!("{other:?}"),
                };
                (
                    t,
                    ip.src_addr(),
                    ip.dst_addr(),
                    ip.hop_limit(),
                    ip.flow_label(),
                    p.len() + 14,
                    text,
                )
            })
            .collect()
    }

    /// The link-up traffic of a host as the dual-stack reference shows it (REFERENCE.md
    /// section 4): two MLDv2 reports from `::` (the first 2 jiffies after link-up, the
    /// second within a second), one DAD solicitation per address from `::` with a nonce and
    /// no SLLAO, each within a second; when the link-local's DAD ends a second later, a
    /// report from it with the same instant's Router Solicitation, another report within a
    /// second, and solicitations 4 s ± 10 % and 8 s ± 10 % later. No NA, no RA.
    #[test]
    fn link_up_sends_mld_dad_and_rs_as_linux() {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(15));
        let ll = link_local_eui64(HOST_MAC);
        assert_eq!(ll.to_string(), "fe80::ff:fe00:1");
        let frames = describe(h.take_ip6());
        let kinds: Vec<&str> = frames
            .iter()
            .map(|f| f.6.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "MLDv2").count(),
            4,
            "{frames:#?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "NS").count(),
            2,
            "{frames:#?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "RS").count(),
            3,
            "{frames:#?}"
        );
        assert_eq!(frames.len(), 9, "{frames:#?}");
        // The first report: 2 jiffies after link-up, from ::, the one solicited-node group
        // the link-local and 2001:db8::1 share.
        let first = &frames[0];
        assert_eq!(first.6, "MLDv2 report ff02::1:ff00:1");
        assert_eq!(
            (first.1, first.2),
            (Ipv6Addr::UNSPECIFIED, ALL_MLDV2_ROUTERS_T)
        );
        assert_eq!((first.3, first.4, first.5), (1, 0, 90));
        assert!(
            first.0 <= SimTime::from_nanos(12_000_000 + 1_000),
            "{:?}",
            first.0
        );
        for f in &frames {
            match f.6.split(' ').next() {
                Some("NS") => {
                    assert_eq!(f.1, Ipv6Addr::UNSPECIFIED, "DAD from ::");
                    assert!(f.6.ends_with("sllao=false nonce=true"), "{f:?}");
                    assert_eq!((f.3, f.5), (255, 86));
                    assert!(f.0 < SimTime::from_nanos(1_000_000_000));
                }
                Some("RS") => {
                    assert_eq!((f.1, f.2, f.3, f.5), (ll, ALL_ROUTERS, 255, 70));
                    assert!(f.6.ends_with("sllao=true"));
                }
                _ => assert_eq!(f.3, 1),
            }
            assert_eq!(f.4, 0, "no flow label on ND and MLD");
        }
        // The link-local's DAD: its NS, then 1 s later (on the timer wheel) the report from
        // it and the first RS at the same instant.
        let ll_ns = frames
            .iter()
            .find(|f| f.6.starts_with(&format!("NS {ll}")))
            .expect("LL DAD");
        let rs: Vec<SimTime> = frames
            .iter()
            .filter(|f| f.6.starts_with("RS"))
            .map(|f| f.0)
            .collect();
        let gap = (rs[0] - ll_ns.0).as_nanos();
        assert!(
            (1_000_000_000..1_040_000_000).contains(&gap),
            "DAD took {gap} ns"
        );
        let ll_report = frames
            .iter()
            .find(|f| f.6.starts_with("MLDv2") && f.1 == ll)
            .expect("a report from the link-local");
        assert!(ll_report.0.as_nanos().abs_diff(rs[0].as_nanos()) < 10_000);
        let second = (rs[1] - rs[0]).as_nanos();
        let third = (rs[2] - rs[1]).as_nanos();
        assert!((3_600_000_000..4_500_000_000).contains(&second), "{second}");
        assert!((7_200_000_000..8_800_000_000).contains(&third), "{third}");
        // Both addresses are valid and local; each was solicited once.
        assert!(h.n.fib6.is_local(ll) && h.n.fib6.is_local(HOST6));
        let s = &h.n.snmp6.icmp6;
        assert_eq!((s.out_of(143), s.out_of(135), s.out_of(133)), (4, 2, 3));
        assert_eq!(s.Icmp6OutMsgs, 9);
        assert_eq!(h.n.snmp6.ip6.Ip6OutMcastPkts, 9);
    }

    const ALL_MLDV2_ROUTERS_T: Ipv6Addr = crate::wire::ipv6::ALL_MLDV2_ROUTERS;

    /// A router's interface (forwarding): no Router Solicitation, ff02::2 joined, and the
    /// subnet-router anycast group's two reports once the prefix's address is valid: 6
    /// reports in all, as the reference's router interfaces send.
    #[test]
    fn a_forwarding_interface_reports_six_times_and_solicits_no_router() {
        let cnf = Ipv6DevConf {
            forwarding: true,
            ..Default::default()
        };
        let mut h = OneHost::dual(Default::default(), cnf);
        h.advance(SimDuration::from_secs(15));
        let frames = describe(h.take_ip6());
        let reports: Vec<&String> = frames
            .iter()
            .filter(|f| f.6.starts_with("MLDv2"))
            .map(|f| &f.6)
            .collect();
        assert_eq!(reports.len(), 6, "{frames:#?}");
        assert_eq!(reports[0], "MLDv2 report ff02::1:ff00:1 ff02::2");
        assert!(reports.iter().any(|r| *r == "MLDv2 report ff02::1:ff00:0"));
        assert!(
            reports
                .iter()
                .any(|r| *r == "MLDv2 report ff02::1:ff00:0 ff02::1:ff00:1 ff02::2")
        );
        assert!(!frames.iter().any(|f| f.6.starts_with("RS")));
    }

    /// Someone else doing DAD for our tentative address (an NS from :: with another
    /// nonce): our DAD fails and the address never becomes usable.
    /// A tun device (`ARPHRD_NONE`, `IFF_NOARP`), as packetdrill's tun0 on Linux: a random
    /// link-local address (no MAC to make an EUI-64 from), no DAD, no solicited-node group
    /// and so no MLD report; the link-local's completion sends a Router Solicitation at once
    /// without the SLLAO (the device has no link-layer address), then at 4 s ± 10 % and
    /// 8 s ± 10 % after that.
    #[test]
    fn a_tun_device_skips_dad_and_solicits_routers_without_sllao() {
        let mut h = OneHost::tun(Default::default());
        let cfg = IfaceConfig {
            name: "tun0".into(),
            addr: None,
            addrs6: vec![Ipv6Cidr::new(HOST6, 64)],
            ipv6: Ipv6DevConf::default(),
            mac: crate::wire::EthernetAddress([0; 6]),
            mtu: 1500,
            txqueuelen: 500,
            qdisc: crate::config::QdiscConfig::PfifoFast,
            tx_ring: 1,
            tso: false,
        };
        ipv6_add_dev(&mut h.n, &mut h.net.sched, 0, &cfg);
        h.net.sched.schedule_at(
            SimTime::ZERO,
            Event::Ipv6Timer {
                node: 0,
                dev: 0,
                which: Ipv6TimerKind::Up,
            },
        );
        h.run_until(SimTime::ZERO);
        assert!(ipv6_chk_addr(&h.n, HOST6), "valid at once: no DAD");
        let idev = h.n.devs[0].inet6.as_deref().expect("IPv6 on");
        let ll = idev.lladdr().expect("a link-local address");
        assert!(is_link_local(ll) && ll != link_local_eui64(h.n.devs[0].mac));
        assert!(
            idev.mc.iter().all(|m| m.noreport),
            "no solicited-node group: {:?}",
            idev.mc
        );
        h.advance(SimDuration::from_secs(15));
        let sent = h.read_tun();
        let rs: Vec<_> = sent
            .iter()
            .map(|(t, p)| {
                let ip = Ipv6Packet::new_checked(&p[..]).expect("IPv6");
                assert_eq!((ip.src_addr(), ip.dst_addr()), (ll, ALL_ROUTERS));
                let icmp = Icmpv6Packet::new_checked(ip.payload()).expect("ICMPv6");
                let m = Icmpv6Repr::parse(ip.src_addr(), ip.dst_addr(), &icmp).expect("valid");
                assert_eq!(
                    m,
                    Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr: None })
                );
                assert_eq!(p.len(), 40 + 8);
                t.as_nanos()
            })
            .collect();
        assert_eq!(rs.len(), 3, "{sent:?}");
        assert_eq!(rs[0], 0);
        let gap = |a: u64, b: u64, mid: u64| {
            let d = b - a;
            assert!(
                d >= mid * 9 / 10 - 4_000_000 && d <= mid * 11 / 10 + 4_000_000,
                "{d}"
            );
        };
        gap(rs[0], rs[1], 4_000_000_000);
        gap(rs[1], rs[2], 8_000_000_000);
    }

    #[test]
    fn a_duplicate_fails_dad() {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_millis(1));
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target: HOST6,
            lladdr: None,
            nonce: Some([1, 2, 3, 4, 5, 6]),
        });
        let group = crate::wire::ipv6::solicited_node(HOST6);
        let p = OneHost::icmp6_packet(Ipv6Addr::UNSPECIFIED, group, 255, &ns);
        h.inject_ip6(crate::wire::ipv6::multicast_mac(group), &p);
        h.advance(SimDuration::from_secs(3));
        let idev = h.n.devs[0].inet6.as_deref().expect("IPv6 on");
        let a = idev.ifaddr(HOST6).expect("still listed");
        assert!(a.dad_failed && a.tentative);
        assert!(!h.n.fib6.is_local(HOST6));
        assert!(
            h.n.fib6.is_local(link_local_eui64(HOST_MAC)),
            "the link-local is unaffected"
        );
    }

    /// Source selection: the global address for a global destination, the link-local for a
    /// link-local one, and — while the global address is not usable — the link-local even
    /// for a global destination (rule 2 ranks a too-small scope last, it does not exclude it).
    #[test]
    fn source_addresses_follow_rfc_6724_as_linux_scores_them() {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(3));
        let ll = link_local_eui64(HOST_MAC);
        let far: Ipv6Addr = "2001:db8:5::1".parse().expect("address");
        assert_eq!(ipv6_dev_get_saddr(&h.n, 0, far), Some(HOST6));
        assert_eq!(
            ipv6_dev_get_saddr(&h.n, 0, "fe80::9".parse().expect("ll")),
            Some(ll)
        );
        assert_eq!(ipv6_dev_get_saddr(&h.n, 0, HOST6), Some(HOST6), "rule 1");
        let idev = h.n.devs[0].inet6.as_deref_mut().expect("IPv6 on");
        idev.addrs
            .iter_mut()
            .find(|a| a.addr() == HOST6)
            .expect("global")
            .dad_failed = true;
        assert_eq!(ipv6_dev_get_saddr(&h.n, 0, far), Some(ll));
    }
}
