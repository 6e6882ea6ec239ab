//! A simulated host or router: its interfaces (`net_device`s), routing table, neighbour
//! tables, counters, random stream and apps.

use std::cell::Cell;
use std::net::Ipv4Addr;
use std::ops::{Index, IndexMut};

use sim_core::{SimRng, SimTime};

use crate::dev::NetDevice;
use crate::ip::fib::Fib;
use crate::ip::frag::Reassembly;
use crate::netfilter::Netfilter;
use crate::on_demand::OnDemand;
use crate::stats::{NeighStats, Snmp};

pub use crate::config::NodeKind;

/// A node's interfaces, by index (`dev`, as the kernel's `ifindex` names a device).
///
/// Indexing is free; walking the whole list ([`iter`](Self::iter)) is counted
/// ([`walks`](Self::walks)), because nothing on a packet's path may walk it: a router with
/// 10^5 interfaces would pay 10^5 steps per packet. Setup and reports walk it; a packet finds
/// what it needs through the FIB's tables instead (its own addresses, the route's device),
/// as Linux's receive path asks the local table rather than each `in_device`.
#[derive(Debug, Default)]
pub struct Devices {
    list: Vec<NetDevice>,
    walks: Cell<u64>,
}

impl Devices {
    /// The interfaces, in index order.
    pub fn new(list: Vec<NetDevice>) -> Self {
        Self {
            list,
            walks: Cell::new(0),
        }
    }

    /// How many interfaces.
    #[inline]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Interface `dev`, if it is one (the loopback device is not:
    /// [`LOOPBACK`](crate::ip::output::LOOPBACK)).
    #[inline]
    pub fn get(&self, dev: usize) -> Option<&NetDevice> {
        self.list.get(dev)
    }

    /// Interface `dev`, writable, if it is one.
    #[inline]
    pub fn get_mut(&mut self, dev: usize) -> Option<&mut NetDevice> {
        self.list.get_mut(dev)
    }

    /// Every interface in index order (counted as one walk).
    pub fn iter(&self) -> std::slice::Iter<'_, NetDevice> {
        self.walks.set(self.walks.get() + 1);
        self.list.iter()
    }

    /// How many times the whole list has been walked since the node was built.
    pub fn walks(&self) -> u64 {
        self.walks.get()
    }
}

impl Index<usize> for Devices {
    type Output = NetDevice;
    #[inline]
    fn index(&self, dev: usize) -> &NetDevice {
        &self.list[dev]
    }
}

impl IndexMut<usize> for Devices {
    #[inline]
    fn index_mut(&mut self, dev: usize) -> &mut NetDevice {
        &mut self.list[dev]
    }
}

impl<'a> IntoIterator for &'a Devices {
    type Item = &'a NetDevice;
    type IntoIter = std::slice::Iter<'a, NetDevice>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A host or router.
#[derive(Debug)]
pub struct Node {
    /// Index in the world's nodes (what events and socket references carry).
    pub id: u32,
    /// Name from the scenario.
    pub name: String,
    /// Host or router.
    pub kind: NodeKind,
    /// `net.ipv4.ip_forward`.
    pub forwarding: bool,
    /// Interfaces, by index.
    pub devs: Devices,
    /// The routing table.
    pub fib: Fib,
    /// `net.ipv4.ip_default_ttl`.
    pub default_ttl: u8,
    /// SNMP counters.
    pub snmp: Snmp,
    /// ARP cache statistics.
    pub neigh_stats: NeighStats,
    /// Neighbour Discovery cache statistics (`/proc/net/stat/ndisc_cache`).
    pub ndisc_stats: NeighStats,
    /// IPv6 counters (`/proc/net/snmp6`), allocated when first counted.
    pub snmp6: OnDemand<crate::stats::Snmp6>,
    /// The IPv6 routing table and local addresses, allocated when IPv6 first writes it.
    pub fib6: OnDemand<crate::ipv6::route::Fib6>,
    /// IPv6 reassembly queues, allocated with the first IPv6 fragment.
    pub frags6: OnDemand<crate::ipv6::reassembly::Frag6Queues>,
    /// The node's random stream (ephemeral ports, reachable times, ISNs, IDs).
    pub rng: SimRng,
    /// Netfilter rules.
    pub netfilter: Netfilter,
    /// IP reassembly queues.
    pub frags: Reassembly,
    /// Per-destination IP ID generator state (`ip_idents`), seeded per node.
    pub ip_ident_key: u64,
    /// Buckets of the hashed IP ID generator and the jiffy each was last used (`ip_idents`,
    /// `ip_tstamps`), materialized as used.
    pub ip_idents: crate::ip::output::IpIdents,
    /// Sockets.
    pub socks: crate::sock::SocketTable,
    /// The node's sysctls (TCP and UDP defaults, port range, buffers).
    pub sysctl: crate::config::Sysctls,
    /// Reports of connections that closed during the run.
    pub tcp_closed: Vec<crate::tcp::TcpConnReport>,
    /// The TCP metrics cache: Fast Open cookies per destination.
    pub tcp_metrics: crate::tcp::metrics::TcpMetrics,
    /// ICMP rate limiting: the host-wide bucket and the destinations' buckets, allocated
    /// with the first ICMP message the node sends.
    pub icmp_limits: OnDemand<crate::ip::icmp_limit::IcmpLimits>,
    /// Offset of this node's jiffies clock from the simulation's zero, in ns: the kernel's
    /// timer wheel rounds expiries on its own grid, whose phase differs per machine.
    pub jiffies_phase: u64,
}

impl Node {
    /// A host alone (node 0): `devs` and the routes of `fib`, Linux's neighbour defaults,
    /// no netfilter rules, its jiffies clock in phase with simulated time; `rng` is its
    /// random stream. What a unit test or `sim drill` drives without a World.
    pub fn host(
        name: &str,
        devs: Vec<NetDevice>,
        fib: Fib,
        sysctl: crate::config::Sysctls,
        mut rng: SimRng,
    ) -> Self {
        let ip_idents = crate::ip::output::IpIdents::new(&mut rng);
        Self {
            id: 0,
            name: name.to_string(),
            kind: NodeKind::Host,
            forwarding: sysctl.ip_forward,
            devs: Devices::new(devs),
            fib,
            default_ttl: sysctl.ip_default_ttl,
            snmp: Snmp::default(),
            neigh_stats: NeighStats::default(),
            ndisc_stats: NeighStats::default(),
            snmp6: Default::default(),
            fib6: Default::default(),
            frags6: Default::default(),
            ip_ident_key: rng.next_u64(),
            rng,
            netfilter: Netfilter::default(),
            frags: Reassembly::default(),
            ip_idents,
            socks: Default::default(),
            sysctl,
            tcp_closed: Vec::new(),
            tcp_metrics: Default::default(),
            icmp_limits: Default::default(),
            jiffies_phase: 0,
        }
    }

    /// Whether `ip` is one of this node's addresses (or a broadcast of one of its subnets,
    /// or the limited broadcast): one probe of the FIB's local table.
    #[inline]
    pub fn is_local_addr(&self, ip: Ipv4Addr) -> bool {
        self.fib.is_local(ip)
    }

    /// Whether `ip` is a broadcast address here: the limited broadcast or the directed
    /// broadcast of one of this node's subnets (`RTCF_BROADCAST`).
    #[inline]
    pub fn is_broadcast_addr(&self, ip: Ipv4Addr) -> bool {
        self.fib.is_broadcast(ip)
    }

    /// The primary address of interface `dev`, or 0.0.0.0.
    pub fn dev_addr(&self, dev: usize) -> Ipv4Addr {
        self.devs[dev]
            .addr
            .map_or(Ipv4Addr::UNSPECIFIED, |c| c.address())
    }

    /// The name of device `dev` for traces: the interface's, or `lo`.
    pub fn dev_name(&self, dev: usize) -> &str {
        self.devs.get(dev).map_or("lo", |d| d.name.as_str())
    }

    /// The node's `jiffies` at `now`.
    #[inline]
    pub fn jiffies(&self, now: SimTime) -> u64 {
        crate::jiffies::jiffies(now, self.jiffies_phase)
    }

    /// Linux's timer-wheel rounding of an expiry `delay` after `now` (HZ = 250).
    pub fn timer_expiry(&self, now: SimTime, delay: sim_core::SimDuration) -> SimTime {
        crate::jiffies::round_expiry(now, delay, self.jiffies_phase)
    }
}

/// Runs `event` on node `n` when it is the node's own — one of its timers (TCP, neighbour,
/// reassembly, qdisc watchdog) or a NIC's TX completion — as the World's dispatch does for
/// every node; otherwise (a frame arriving, an app's event, a socket wake-up) gives it
/// back. What a harness driving one node without a World dispatches with.
///
/// # Errors
/// The event, when it is not the node's own.
pub fn node_event(
    n: &mut Node,
    cx: &mut crate::ctx::NetCtx<'_>,
    event: crate::event::Event,
) -> Result<(), crate::event::Event> {
    use crate::event::Event;
    use crate::link::Port;
    match event {
        Event::TxDone {
            port: Port::Nic { dev, .. },
        } => crate::dev::nic_tx_done(n, cx, dev as usize),
        Event::QdiscWatchdog { dev, .. } => crate::dev::qdisc_run(n, cx, dev as usize),
        Event::NeighTimer { dev, ip, .. } => {
            crate::neigh::neigh_timer_handler::<crate::neigh::Arp>(n, cx, dev as usize, ip);
        }
        Event::NdiscTimer { dev, id, .. } => {
            crate::ipv6::ndisc::ndisc_timer(n, cx, dev as usize, id)
        }
        Event::Ipv6Timer { dev, which, .. } => {
            crate::ipv6::addrconf::ipv6_timer(n, cx, dev as usize, which);
        }
        Event::FragTimer { key, .. } => crate::ip::frag::ip_expire(n, cx, key),
        Event::Frag6Timer { id, .. } => crate::ipv6::reassembly::ip6_frag_expire(n, cx, id),
        Event::TcpTimer { sock, which, .. } => crate::tcp::timer::tcp_timer(n, cx, sock, which),
        other => return Err(other),
    }
    Ok(())
}
