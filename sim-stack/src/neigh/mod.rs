//! The neighbour core, following `net/core/neighbour.c`: one implementation of the NUD state
//! machine serving two protocols, as Linux's `neigh_table` serves `arp_tbl` and `nd_tbl`.
//! A protocol ([`NeighProto`]: [`arp::Arp`] for IPv4, [`crate::ipv6::ndisc::Ndisc`] for
//! IPv6) supplies what `neigh_ops` does in the kernel: how to solicit, how to report a
//! failure, where its table lives, and its parameters.
//!
//! Each interface has a table per protocol, keyed by the next hop's address, with Linux's
//! NUD states:
//!
//! * **INCOMPLETE** — created by the first packet to an unknown neighbour
//!   (`__neigh_event_send`). Packets wait in the entry's queue, bounded by
//!   `unres_qlen_bytes` of `truesize` (the oldest is dropped first, counted as
//!   `unresolved_discards`); an ARP request is broadcast at once and every `retrans_time`;
//!   after `mcast_solicit` requests without an answer the entry is **FAILED**, its queue is
//!   dropped and each local sender gets an ICMP host unreachable (ICMPv6 address
//!   unreachable).
//! * **REACHABLE** — a unicast ARP reply confirmed the address; lasts a random
//!   0.5–1.5 × `base_reachable_time` (drawn once per table, as `neigh_rand_reach_time`).
//! * **STALE** — reachability expired, or the entry was learned passively (an ARP request
//!   addressed to us creates a STALE entry for its sender).
//! * **DELAY** — a STALE entry was used to send; if nothing confirms it within
//!   `delay_first_probe_time` (5 s) it goes to **PROBE**, which sends up to `ucast_solicit`
//!   *unicast* requests `retrans_time` apart before FAILED.
//!
//! Confirmation comes from ARP replies and solicited Neighbour Advertisements, and from upper layers (`neigh_confirm`, what TCP's
//! forward progress does through `dst_confirm`). Timers are rounded on the kernel's timer
//! wheel ([`crate::jiffies`]), which is why probes leave 5.0–5.25 s after first use.
//!
//! Not modeled: garbage collection of old entries (`gc_stale_time`, the table thresholds),
//! proxy ARP, gratuitous ARP, `arp_accept`/`arp_announce`/`arp_ignore` variants other than
//! the defaults, and the `locktime` rule for competing replies.

pub mod arp;
pub mod neigh_show;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use sim_core::{Scheduler, SimDuration, SimTime, TimerId};

use crate::ctx::NetCtx;
use crate::dev::{NetDevice, NetXmit, dev_queue_xmit, eth_output_type};
use crate::event::Event;
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::stats::NeighStats;
use crate::wire::{EtherType, EthernetAddress};

pub use arp::Arp;
pub(crate) use arp::arp_rcv;

/// A neighbour protocol: what `struct neigh_table` and its `neigh_ops` give the core.
pub trait NeighProto {
    /// The address the table is keyed by.
    type Addr: Copy + Ord + fmt::Display + fmt::Debug;
    /// The protocol of the packets the table resolves for.
    const ETHERTYPE: EtherType;
    /// This protocol's table of interface `d` (`arp_tbl` or `nd_tbl`'s share of it).
    fn table(d: &mut NetDevice) -> &mut NeighTable<Self::Addr>;
    /// The table's parameters (`net.ipv4.neigh.*` or `net.ipv6.neigh.*`).
    fn params(n: &Node) -> NeighParams;
    /// The cache statistics (`/proc/net/stat/arp_cache` or `ndisc_cache`).
    fn stats(n: &mut Node) -> &mut NeighStats;
    /// The event that fires entry `id` (for `addr`) of interface `dev`'s table.
    fn timer_event(node: u32, dev: usize, addr: Self::Addr, id: u32) -> Event;
    /// A destination whose hardware address needs no resolution (`NUD_NOARP`: the broadcast,
    /// a multicast group), and that address.
    fn fixed_ha(d: &NetDevice, addr: Self::Addr) -> Option<EthernetAddress>;
    /// The source address of a queued packet (the one a solicitation should come from).
    fn packet_src(skb: &Skb) -> Option<Self::Addr>;
    /// `neigh_ops->solicit`: one solicitation for `target`, to `unicast` when probing a known
    /// address, else multicast or broadcast; `queued_src` is the newest queued packet's source.
    fn solicit(
        n: &mut Node,
        cx: &mut NetCtx<'_>,
        dev: usize,
        target: Self::Addr,
        unicast: Option<EthernetAddress>,
        queued_src: Option<Self::Addr>,
    );
    /// `neigh_ops->error_report`: a queued packet whose neighbour failed.
    fn error_report(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb);
}

/// `net.ipv4.neigh.default.*` (the kernel's `struct neigh_parms`), fields named as the
/// sysctls; `Default` gives Linux's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NeighParams {
    /// `retrans_time_ms` (1000): time between ARP requests for one neighbour.
    pub retrans_time: SimDuration,
    /// `mcast_solicit` (3): broadcast requests before giving up on an INCOMPLETE entry.
    pub mcast_solicit: u32,
    /// `ucast_solicit` (3): unicast probes in PROBE state.
    pub ucast_solicit: u32,
    /// `app_solicit` (0): requests through a user-space daemon (none is modeled, so these
    /// only lengthen the probe budget, as they do in `neigh_max_probes`).
    pub app_solicit: u32,
    /// `mcast_resolicit` (0): broadcast requests after the unicast ones in PROBE.
    pub mcast_resolicit: u32,
    /// `unres_qlen_bytes` (212992): truesize of packets an unresolved entry may hold.
    pub unres_qlen_bytes: u32,
    /// `base_reachable_time_ms` (30000): mean time an entry stays REACHABLE
    /// (the actual value is drawn uniformly from 0.5..1.5 × this).
    pub base_reachable_time: SimDuration,
    /// `delay_first_probe_time` (5s): time in DELAY before the first unicast probe.
    pub delay_first_probe_time: SimDuration,
    /// `gc_stale_time` (60s): when an unused STALE entry may be collected.
    pub gc_stale_time: SimDuration,
}

impl Default for NeighParams {
    fn default() -> Self {
        Self {
            retrans_time: SimDuration::from_millis(1000),
            mcast_solicit: 3,
            ucast_solicit: 3,
            app_solicit: 0,
            mcast_resolicit: 0,
            unres_qlen_bytes: 212_992,
            base_reachable_time: SimDuration::from_millis(30_000),
            delay_first_probe_time: SimDuration::from_secs(5),
            gc_stale_time: SimDuration::from_secs(60),
        }
    }
}

/// NUD state of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum NudState {
    /// Just created, nothing known yet (`NUD_NONE`).
    None,
    /// Resolving: ARP requests broadcast, packets queued.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Address known but not confirmed recently.
    Stale,
    /// Used while stale; waiting for a confirmation before probing.
    Delay,
    /// Sending unicast requests.
    Probe,
    /// Resolution failed.
    Failed,
}

impl NudState {
    /// The name `ip neigh` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Incomplete => "INCOMPLETE",
            Self::Reachable => "REACHABLE",
            Self::Stale => "STALE",
            Self::Delay => "DELAY",
            Self::Probe => "PROBE",
            Self::Failed => "FAILED",
        }
    }
    fn valid(self) -> bool {
        matches!(
            self,
            Self::Reachable | Self::Stale | Self::Delay | Self::Probe
        )
    }
}

/// One neighbour.
#[derive(Debug)]
pub struct NeighEntry {
    /// NUD state.
    pub state: NudState,
    /// The neighbour's hardware address, once known.
    pub ha: Option<EthernetAddress>,
    /// Packets waiting for resolution.
    pub queue: VecDeque<Skb>,
    /// Sum of their truesize.
    pub queue_bytes: u32,
    /// `neigh->probes`.
    pub probes: u32,
    /// Last confirmation of reachability.
    pub confirmed: SimTime,
    /// Last use to send.
    pub used: SimTime,
    /// The entry's timer.
    pub timer: TimerId,
    /// The entry's number in its table ([`NeighTable::addr_of`]), what its timer event names.
    pub id: u32,
}

impl NeighEntry {
    /// `neigh_alloc`: a new entry with nothing known and "confirmed" long ago, so nothing
    /// counts as a confirmation until one arrives.
    fn alloc(timer: TimerId, used: SimTime, id: u32) -> Self {
        Self {
            state: NudState::None,
            ha: None,
            queue: VecDeque::new(),
            queue_bytes: 0,
            probes: 0,
            confirmed: SimTime::ZERO,
            used,
            timer,
            id,
        }
    }
}

/// Arms an entry's timer for `at`: the one place its event is built.
fn arm_neigh_timer<P: NeighProto>(
    s: &mut Scheduler<Event>,
    entry: &NeighEntry,
    at: SimTime,
    node: u32,
    dev: usize,
    ip: P::Addr,
) {
    s.arm(&entry.timer, at, P::timer_event(node, dev, ip, entry.id));
}

/// One protocol's neighbour table of one interface.
#[derive(Debug)]
pub struct NeighTable<K> {
    /// Entries by next-hop address (ordered, so dumps are deterministic).
    pub entries: NeighMap<K>,
    /// `parms->reachable_time`: random 0.5–1.5 × base, drawn when the table is made.
    pub reachable_time: SimDuration,
    /// The address of each entry by its number (entries are never freed: no garbage
    /// collection is modeled), for timer events too small to carry an IPv6 address.
    addrs: Vec<K>,
}

impl<K> Default for NeighTable<K> {
    fn default() -> Self {
        Self {
            entries: NeighMap::default(),
            reachable_time: SimDuration::ZERO,
            addrs: Vec::new(),
        }
    }
}

impl<K: Copy + Ord> NeighTable<K> {
    /// An empty table whose entries stay REACHABLE `reachable_time`.
    pub fn new(reachable_time: SimDuration) -> Self {
        Self {
            reachable_time,
            ..Self::default()
        }
    }

    /// The address of entry number `id`.
    pub fn addr_of(&self, id: u32) -> Option<K> {
        self.addrs.get(id as usize).copied()
    }

    /// `neigh_alloc` + insertion: the entry for `ip`, created (numbered, its timer made) if
    /// missing; the flag says whether it was.
    fn lookup_or_create(
        &mut self,
        ip: K,
        timer: impl FnOnce() -> TimerId,
        used: SimTime,
    ) -> (&mut NeighEntry, bool) {
        let created = !self.entries.contains_key(&ip);
        if created {
            let id = self.addrs.len() as u32;
            self.addrs.push(ip);
            self.entries
                .insert(ip, NeighEntry::alloc(timer(), used, id));
        }
        (self.entries.get_mut(&ip).expect("present"), created)
    }
}

/// A neighbour table's entries by address, in address order. Most interfaces know one
/// neighbour (a host its gateway, a router port the host behind it): that one is kept in
/// the table itself, so sending to it reads no memory of its own, a cache miss less per
/// packet on a host among thousands. Up to [`NeighMap::SMALL`] entries are a sorted vector
/// (one allocation of a few hundred bytes); beyond that, a B-tree. A B-tree from the first
/// entry costs about a kilobyte per interface (a leaf node has room for eleven), 1.7 KB a
/// host in a 10^4-host tree.
#[derive(Debug)]
pub enum NeighMap<K> {
    /// Exactly one entry.
    One(K, NeighEntry),
    /// Sorted by address (none, or two and more).
    Small(Vec<(K, NeighEntry)>),
    /// Many entries.
    Large(BTreeMap<K, NeighEntry>),
}

impl<K> Default for NeighMap<K> {
    fn default() -> Self {
        Self::Small(Vec::new())
    }
}

impl<K: Copy + Ord> NeighMap<K> {
    /// Entries kept in the sorted vector.
    pub const SMALL: usize = 16;

    /// The entry for `ip`.
    #[inline]
    pub fn get(&self, ip: &K) -> Option<&NeighEntry> {
        match self {
            Self::One(a, e) => (a == ip).then_some(e),
            Self::Small(v) => v.iter().find(|(a, _)| a == ip).map(|(_, e)| e),
            Self::Large(m) => m.get(ip),
        }
    }

    /// The entry for `ip`, writable.
    #[inline]
    pub fn get_mut(&mut self, ip: &K) -> Option<&mut NeighEntry> {
        match self {
            Self::One(a, e) => (a == ip).then_some(e),
            // At most 16 entries: a scan beats a binary search.
            Self::Small(v) => v.iter_mut().find(|(a, _)| a == ip).map(|(_, e)| e),
            Self::Large(m) => m.get_mut(ip),
        }
    }

    /// Whether there is an entry for `ip`.
    pub fn contains_key(&self, ip: &K) -> bool {
        self.get(ip).is_some()
    }

    /// Sets the entry for `ip`; returns the one it replaces.
    pub fn insert(&mut self, ip: K, entry: NeighEntry) -> Option<NeighEntry> {
        match self {
            Self::One(a, e) if *a == ip => Some(std::mem::replace(e, entry)),
            Self::One(..) => {
                let Self::One(a, e) = std::mem::take(self) else {
                    unreachable!("matched above")
                };
                let mut v = Vec::with_capacity(2);
                v.push((a, e));
                v.insert(usize::from(ip > a), (ip, entry));
                *self = Self::Small(v);
                None
            }
            Self::Small(v) if v.is_empty() => {
                *self = Self::One(ip, entry);
                None
            }
            Self::Small(v) => match v.binary_search_by_key(&ip, |(a, _)| *a) {
                Ok(i) => Some(std::mem::replace(&mut v[i].1, entry)),
                Err(i) => {
                    if v.len() < Self::SMALL {
                        v.insert(i, (ip, entry));
                    } else {
                        let mut m: BTreeMap<K, NeighEntry> = v.drain(..).collect();
                        m.insert(ip, entry);
                        *self = Self::Large(m);
                    }
                    None
                }
            },
            Self::Large(m) => m.insert(ip, entry),
        }
    }

    /// The entry for `ip`, created with `make` if missing.
    pub fn get_or_insert_with(
        &mut self,
        ip: K,
        make: impl FnOnce() -> NeighEntry,
    ) -> &mut NeighEntry {
        if !self.contains_key(&ip) {
            self.insert(ip, make());
        }
        self.get_mut(&ip).expect("just inserted")
    }

    /// Entries in address order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&K, &NeighEntry)> + '_> {
        match self {
            Self::One(a, e) => Box::new(std::iter::once((a, e))),
            Self::Small(v) => Box::new(v.iter().map(|(a, e)| (a, e))),
            Self::Large(m) => Box::new(m.iter()),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            Self::One(..) => 1,
            Self::Small(v) => v.len(),
            Self::Large(m) => m.len(),
        }
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `neigh_output` / `neigh_resolve_output`: sends `skb` (an IP packet) to `nexthop` on
/// interface `dev`, resolving the hardware address first if needed.
pub(crate) fn neigh_output<P: NeighProto>(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    nexthop: P::Addr,
    mut skb: Skb,
) -> NetXmit {
    if !n.devs[dev].arp() {
        // IFF_NOARP without a header (tun): the entry is NUD_NOARP and its output
        // neigh_direct_output.
        note!(cx, skb, "neigh_direct_output");
        return dev_queue_xmit(n, cx, dev, skb);
    }
    let now = cx.now;
    if let Some(ha) = P::fixed_ha(&n.devs[dev], nexthop) {
        note!(cx, skb, "neigh_hh_output");
        return eth_output_type(n, cx, dev, ha, P::ETHERTYPE, skb);
    }
    let d = &mut n.devs[dev];
    // The common case first: a REACHABLE entry (neigh_hh_output with the cached header).
    if let Some(entry) = P::table(d).entries.get_mut(&nexthop)
        && entry.state == NudState::Reachable
    {
        entry.used = now;
        let ha = entry.ha.expect("valid entry");
        note!(cx, skb, "neigh_hh_output");
        return eth_output_type(n, cx, dev, ha, P::ETHERTYPE, skb);
    }
    let params = P::params(n);
    let phase = n.jiffies_phase;
    let node = n.id;
    let sched = &mut *cx.sched;
    let (entry, created) =
        P::table(&mut n.devs[dev]).lookup_or_create(nexthop, || sched.new_timer(), now);
    entry.used = now;
    let mut immediate_probe = false;
    let ha = match entry.state {
        NudState::Reachable | NudState::Delay | NudState::Probe => entry.ha.expect("valid entry"),
        NudState::Stale => {
            entry.state = NudState::Delay;
            let at = crate::jiffies::round_expiry(now, params.delay_first_probe_time, phase);
            arm_neigh_timer::<P>(cx.sched, entry, at, node, dev, nexthop);
            entry.ha.expect("valid entry")
        }
        NudState::None | NudState::Failed | NudState::Incomplete => {
            if entry.state != NudState::Incomplete {
                // __neigh_event_send: a new resolution.
                entry.probes = params.ucast_solicit;
                entry.state = NudState::Incomplete;
                let at = crate::jiffies::round_expiry(
                    now,
                    params.retrans_time.max(SimDuration::from_millis(10)),
                    phase,
                );
                arm_neigh_timer::<P>(cx.sched, entry, at, node, dev, nexthop);
                immediate_probe = true;
            }
            // Queue, dropping the oldest while over unres_qlen_bytes.
            let mut discarded = Vec::new();
            while !entry.queue.is_empty()
                && entry.queue_bytes + skb.truesize > params.unres_qlen_bytes
            {
                let old = entry.queue.pop_front().expect("non-empty");
                entry.queue_bytes -= old.truesize;
                discarded.push(old);
            }
            let refused = skb.truesize > params.unres_qlen_bytes;
            if !refused {
                note!(cx, skb, "neigh_resolve_output");
                entry.queue_bytes += skb.truesize;
                entry.queue.push_back(skb);
            } else {
                discarded.push(skb);
            }
            if created {
                P::stats(n).allocs += 1;
            }
            for old in discarded {
                P::stats(n).unresolved_discards += 1;
                kfree_skb_reason(n, cx, dev, "neigh_unres_discard", old);
            }
            if immediate_probe {
                neigh_probe::<P>(n, cx, dev, nexthop);
            }
            // Queued (or dropped from the queue): neigh_resolve_output returns 0.
            return NetXmit::Success;
        }
    };
    if created {
        P::stats(n).allocs += 1;
    }
    note!(cx, skb, "neigh_hh_output");
    eth_output_type(n, cx, dev, ha, P::ETHERTYPE, skb)
}

/// `neigh_probe`: one solicitation for the entry (`neigh_ops->solicit`), to the cached
/// address while fewer than `ucast_solicit` have gone (probing a known neighbour), else
/// broadcast or multicast.
fn neigh_probe<P: NeighProto>(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, ip: P::Addr) {
    let params = P::params(n);
    let Some(entry) = P::table(&mut n.devs[dev]).entries.get_mut(&ip) else {
        return;
    };
    let unicast = if entry.probes < params.ucast_solicit {
        entry.ha
    } else {
        None
    };
    let queued_src = entry.queue.back().and_then(P::packet_src);
    entry.probes += 1;
    P::solicit(n, cx, dev, ip, unicast, queued_src);
}

/// `neigh_timer_handler`: the entry's timer fired.
pub(crate) fn neigh_timer_handler<P: NeighProto>(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    ip: P::Addr,
) {
    let now = cx.now;
    let params = P::params(n);
    let phase = n.jiffies_phase;
    let node = n.id;
    let table = P::table(&mut n.devs[dev]);
    let reach = table.reachable_time;
    let Some(entry) = table.entries.get_mut(&ip) else {
        return;
    };
    let retrans = params.retrans_time.max(SimDuration::from_millis(10));
    let mut next: Option<SimTime> = None;
    let old = entry.state;
    match entry.state {
        NudState::Reachable => {
            if now <= entry.confirmed + reach {
                next = Some(entry.confirmed + reach);
            } else if now <= entry.used + params.delay_first_probe_time {
                entry.state = NudState::Delay;
                next = Some(now + params.delay_first_probe_time);
            } else {
                entry.state = NudState::Stale;
            }
        }
        NudState::Delay => {
            if now <= entry.confirmed + params.delay_first_probe_time {
                entry.state = NudState::Reachable;
                next = Some(entry.confirmed + reach);
            } else {
                entry.state = NudState::Probe;
                entry.probes = 0;
                next = Some(now + retrans);
            }
        }
        NudState::Incomplete | NudState::Probe => next = Some(now + retrans),
        NudState::None | NudState::Stale | NudState::Failed => return,
    }
    let max_probes = params.ucast_solicit
        + params.app_solicit
        + if entry.state == NudState::Probe {
            params.mcast_resolicit
        } else {
            params.mcast_solicit
        };
    if matches!(entry.state, NudState::Incomplete | NudState::Probe) && entry.probes >= max_probes {
        entry.state = NudState::Failed;
        cx.sched.cancel(&entry.timer);
        let queue: Vec<Skb> = entry.queue.drain(..).collect();
        entry.queue_bytes = 0;
        P::stats(n).res_failed += 1;
        trace_neigh(n, cx, dev, ip, old, NudState::Failed);
        // neigh_invalidate: error report to each queued packet's sender.
        for skb in queue {
            // Not Linux's: it counts only queue overflow in unresolved_discards
            // (docs/model.md).
            P::stats(n).unresolved_discards += 1;
            P::error_report(n, cx, dev, skb);
        }
        return;
    }
    if let Some(t) = next {
        let delay = t.saturating_since(now).max(SimDuration::from_millis(4));
        let at = crate::jiffies::round_expiry(now, delay, phase);
        arm_neigh_timer::<P>(cx.sched, entry, at, node, dev, ip);
    } else {
        cx.sched.cancel(&entry.timer);
    }
    let new = entry.state;
    if new != old {
        trace_neigh(n, cx, dev, ip, old, new);
    }
    if matches!(new, NudState::Incomplete | NudState::Probe) {
        neigh_probe::<P>(n, cx, dev, ip);
    }
}

fn trace_neigh(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    ip: impl fmt::Display,
    old: NudState,
    new: NudState,
) {
    let now = cx.now;
    if cx.shared.trace.frames() {
        cx.shared.trace.event(
            now,
            &n.name,
            format_args!(
                "{} neigh {ip} {} -> {}",
                n.devs[dev].name,
                old.name(),
                new.name()
            ),
        );
    }
}

/// `neigh_update`: new information about `ip` on `dev` (from ARP or NDP). `lladdr` `None`
/// (a Neighbour Advertisement without a target link-layer option) keeps the known address,
/// and is ignored when none is known. Without `override_ha`, a different address does not
/// replace a known one (`NEIGH_UPDATE_F_OVERRIDE` unset): a connected entry then only
/// goes STALE, as with `NEIGH_UPDATE_F_WEAK_OVERRIDE`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn neigh_update<P: NeighProto>(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    ip: P::Addr,
    lladdr: Option<EthernetAddress>,
    new: NudState,
    create: bool,
    override_ha: bool,
) {
    let now = cx.now;
    let phase = n.jiffies_phase;
    let node = n.id;
    let sched = &mut *cx.sched;
    let table = P::table(&mut n.devs[dev]);
    let reach = table.reachable_time;
    if !create && !table.entries.contains_key(&ip) {
        return;
    }
    let (entry, created) = table.lookup_or_create(ip, || sched.new_timer(), SimTime::ZERO);
    let old = entry.state;
    let mut new = new;
    // A connected state asked for confirms the entry once an address is known, before
    // the override rules decide anything else.
    let asked_connected = new == NudState::Reachable;
    let lladdr = match (lladdr, entry.ha) {
        (Some(a), Some(known)) if a != known && !override_ha && old.valid() => {
            // A different address without override: a connected entry is only suspected.
            if matches!(old, NudState::Reachable) {
                new = NudState::Stale;
            } else {
                new = old;
            }
            known
        }
        (Some(a), _) => a,
        (None, Some(known)) if old.valid() => known,
        (None, _) => {
            if created {
                P::stats(n).allocs += 1;
            }
            return;
        }
    };
    if created {
        P::stats(n).allocs += 1;
    }
    let base = P::params(n).base_reachable_time;
    let entry = P::table(&mut n.devs[dev])
        .entries
        .get_mut(&ip)
        .expect("present");
    if asked_connected {
        entry.confirmed = now;
    }
    if entry.ha.is_some_and(|h| h != lladdr) && new != NudState::Reachable {
        // A new address not confirmed: "confirmed" long enough ago to need a probe.
        entry.confirmed = SimTime::from_nanos(now.as_nanos().saturating_sub(2 * base.as_nanos()));
    }
    if old.valid() && entry.ha == Some(lladdr) && new == NudState::Stale {
        new = old; // same address, no news
    }
    entry.ha = Some(lladdr);
    if new != old {
        entry.state = new;
        match new {
            NudState::Reachable => {
                let at = crate::jiffies::round_expiry(now, reach, phase);
                arm_neigh_timer::<P>(cx.sched, entry, at, node, dev, ip);
            }
            _ => cx.sched.cancel(&entry.timer),
        }
        trace_neigh(n, cx, dev, ip, old, new);
    }
    // Became valid: send what waited (neigh_update flushes arp_queue).
    let entry = P::table(&mut n.devs[dev])
        .entries
        .get_mut(&ip)
        .expect("present");
    if new.valid() && !entry.queue.is_empty() {
        let queue: Vec<Skb> = entry.queue.drain(..).collect();
        entry.queue_bytes = 0;
        for mut skb in queue {
            note!(cx, skb, "neigh_update");
            // Through the entry's output, as `n1->output`: a connected entry's sends at once,
            // a STALE entry's goes DELAY first. The senders were told success when their
            // packets were queued.
            let _ = if new == NudState::Reachable {
                eth_output_type(n, cx, dev, lladdr, P::ETHERTYPE, skb)
            } else {
                neigh_output::<P>(n, cx, dev, ip, skb)
            };
        }
    }
}

/// Upper-layer confirmation of reachability (`neigh_confirm`, from TCP forward progress).
pub fn neigh_confirm<P: NeighProto>(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, ip: P::Addr) {
    let now = cx.now;
    if let Some(e) = P::table(&mut n.devs[dev]).entries.get_mut(&ip) {
        e.confirmed = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sock::syscall::{self, SockType};
    use crate::sock::{Errno, MsgFlags};
    use crate::testing::{OneHost, PEER};
    use std::net::{Ipv4Addr, SocketAddrV4};

    /// The neighbour layer of one host, alone: resolution by ARP, the queue while
    /// INCOMPLETE, the three broadcast probes a second apart, FAILED, and the error the
    /// local sender gets: ICMP host unreachable from itself, which a connected socket with
    /// `IP_RECVERR` reports (without it, host unreachable is a soft error Linux keeps to
    /// itself).
    #[test]
    fn an_unanswered_neighbour_fails_after_three_probes_and_the_sender_hears_of_it() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let nobody = Ipv4Addr::new(192, 168, 0, 9);
        let fd = h
            .with(|n, cx| {
                let fd = syscall::socket(n, cx, SockType::Dgram, 0, Some(0))?;
                syscall::setsockopt(n, cx, fd, syscall::SockOpt::RecvErr(true))?;
                syscall::connect(n, cx, fd, SocketAddrV4::new(nobody, 9))?;
                syscall::send(n, cx, fd, b"hello", MsgFlags::NONE).map(|_| fd)
            })
            .expect("sent");
        assert_eq!(
            h.n.devs[0].neigh.entries.get(&nobody).map(|e| e.state),
            Some(NudState::Incomplete)
        );
        h.advance(SimDuration::from_secs(5));
        let probes: Vec<_> = h
            .arp
            .iter()
            .filter(|(_, a)| a.target_protocol_addr == nobody)
            .collect();
        assert_eq!(probes.len(), 3, "mcast_solicit broadcast requests");
        // retrans_time (1 s) apart, as the kernel's timer wheel rounds it: 250 jiffies lie
        // in level 1, whose slots are 8 jiffies (32 ms) wide, so each probe is 1.024 s
        // after the previous one on this host's jiffies grid.
        for w in probes.windows(2) {
            let sent = SimTime::from_nanos(w[0].0.as_nanos() - 672); // 84 B at 1 Gbit/s
            let due = crate::jiffies::round_expiry(sent, SimDuration::from_secs(1), 0);
            assert_eq!(due.as_nanos(), 1_024_000_000 + sent.as_nanos());
            assert_eq!((w[1].0 - w[0].0).as_nanos(), 1_024_000_000);
        }
        assert_eq!(
            h.n.devs[0].neigh.entries.get(&nobody).map(|e| e.state),
            Some(NudState::Failed)
        );
        assert_eq!(h.n.neigh_stats.res_failed, 1);
        assert!(h.take_ip().is_empty(), "the queued datagram never left");
        let err = h.with(|n, cx| syscall::send(n, cx, fd, b"again", MsgFlags::NONE));
        assert_eq!(
            err,
            Err(Errno::HostUnreach),
            "arp_error_report reached the socket"
        );
        assert_eq!(
            (h.n.snmp.icmp.OutDestUnreachs, h.n.snmp.icmp.InDestUnreachs),
            (1, 1),
            "over loopback"
        );
    }

    /// A resolved neighbour: the queued packet goes out once the reply comes.
    #[test]
    fn a_reply_releases_the_queued_packet() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        h.with(|n, cx| {
            let fd = syscall::socket(n, cx, SockType::Dgram, 0, None)?;
            syscall::sendto(
                n,
                cx,
                fd,
                b"x",
                Some(SocketAddrV4::new(PEER, 9)),
                MsgFlags::NONE,
            )
        })
        .expect("sent");
        h.advance(SimDuration::from_millis(1));
        assert_eq!(h.arp.len(), 1, "one request, answered by the peer");
        assert_eq!(h.take_ip().len(), 1, "the datagram followed the reply");
        assert_eq!(
            h.n.devs[0].neigh.entries.get(&PEER).map(|e| e.state),
            Some(NudState::Reachable)
        );
    }

    #[test]
    fn neigh_map_keeps_address_order_across_its_two_forms() {
        let mut m = NeighMap::<Ipv4Addr>::default();
        let mut timers = sim_core::Scheduler::<()>::new();
        // Insert 40 addresses in a scrambled order; the map turns into a B-tree on the 17th.
        let addrs: Vec<Ipv4Addr> = (0..40u32)
            .map(|i| Ipv4Addr::from(0x0a00_0000 + (i * 17) % 40))
            .collect();
        for (k, &a) in addrs.iter().enumerate() {
            assert!(!m.contains_key(&a));
            let e = m.get_or_insert_with(a, || {
                NeighEntry::alloc(timers.new_timer(), SimTime::ZERO, 0)
            });
            e.probes = k as u32;
            let form = match m {
                NeighMap::One(..) => "one",
                NeighMap::Small(_) => "small",
                NeighMap::Large(_) => "large",
            };
            let want = match k {
                0 => "one",
                k if k < NeighMap::<Ipv4Addr>::SMALL => "small",
                _ => "large",
            };
            assert_eq!(form, want, "after {} entries", k + 1);
        }
        assert_eq!(m.len(), 40);
        let listed: Vec<Ipv4Addr> = m.iter().map(|(a, _)| *a).collect();
        let mut sorted = addrs.clone();
        sorted.sort();
        assert_eq!(listed, sorted);
        for (k, a) in addrs.iter().enumerate() {
            assert_eq!(m.get(a).map(|e| e.probes), Some(k as u32));
        }
        // Replacing keeps one entry per address.
        let old = m.insert(
            addrs[3],
            NeighEntry::alloc(timers.new_timer(), SimTime::ZERO, 0),
        );
        assert_eq!(old.map(|e| e.probes), Some(3));
        assert_eq!(m.len(), 40);
        assert!(!m.contains_key(&Ipv4Addr::new(10, 0, 0, 99)));
    }

    #[test]
    fn a_second_entry_goes_in_address_order_either_side_of_the_first() {
        let mut timers = sim_core::Scheduler::<()>::new();
        let (lo, hi) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        for (first, second) in [(lo, hi), (hi, lo)] {
            let mut m = NeighMap::<Ipv4Addr>::default();
            assert!(m.is_empty() && m.get(&first).is_none());
            m.insert(
                first,
                NeighEntry::alloc(timers.new_timer(), SimTime::ZERO, 0),
            );
            m.get_mut(&first).expect("inserted").probes = 7;
            assert!(matches!(m, NeighMap::One(..)) && m.get(&second).is_none());
            assert!(
                m.insert(
                    second,
                    NeighEntry::alloc(timers.new_timer(), SimTime::ZERO, 0)
                )
                .is_none()
            );
            let listed: Vec<Ipv4Addr> = m.iter().map(|(a, _)| *a).collect();
            assert_eq!(listed, vec![lo, hi]);
            assert_eq!(m.get(&first).map(|e| e.probes), Some(7));
        }
    }
}
