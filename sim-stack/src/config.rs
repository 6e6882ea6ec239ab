//! The plain configuration of a run: what the `.net` language (or a RON file, or a test
//! written in Rust) lowers into, and what the simulator builds its `World` from.
//!
//! Everything here is fully resolved and typed: names are already looked up into indices
//! ([`NodeId`], [`IfaceId`]), MACs are assigned, defaults are filled in, routes are computed
//! (in [`RoutingMode::Auto`]), units are integers. Nothing is looked up by string at run time;
//! names are kept only for messages, traces and file names.
//!
//! Conventions:
//! * Nodes live in [`Scenario::nodes`] and are referred to by [`NodeId`] (the index);
//!   interfaces live in [`NodeConfig::ifaces`] and are referred to by [`IfaceId`] (the index
//!   within their node).
//! * Switches are nodes of kind [`NodeKind::Switch`]; their ports are ordinary
//!   [`IfaceConfig`]s without an address, one per link, created in link order and named
//!   `p1`, `p2`, … (as the ports of the reference bridge are). So every [`LinkEnd`] is a
//!   `(node, iface)` pair, whatever is at the end.
//! * Routes to directly connected subnets are **not** listed in [`NodeConfig::routes`]: the
//!   stack derives them from the interface addresses, as Linux adds a `proto kernel scope
//!   link` route when an address is configured.
//! * Loss is an integer in parts per million ([`LinkConfig::loss_ppm`]), so it compares
//!   against an integer random draw without floating point.
//!
//! Every type derives `Serialize`/`Deserialize`; `sim check --dump ron` prints a
//! [`Scenario`] as RON, and reading that RON back gives an equal value.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use crate::units::{Bytes, Rate};

/// Index of a node in [`Scenario::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

/// Index of an interface in its node's [`NodeConfig::ifaces`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IfaceId(pub u32);

impl NodeId {
    /// The index as `usize`, for indexing `Vec`s.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl IfaceId {
    /// The index as `usize`, for indexing `Vec`s.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One simulation run: the topology, the traffic, and the run settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Scenario name (the file stem unless the file sets `name`); used for output folders.
    pub name: String,
    /// Run seed; every RNG stream is derived from it.
    pub seed: u64,
    /// The run stops when the clock reaches this instant.
    pub end_time: SimTime,
    /// The effective value of every `param`, in declaration order, after `--set` overrides,
    /// printed canonically (`("rate", "100Mbit")`). Informational (for outputs and sweeps).
    pub params: Vec<(String, String)>,
    /// How the routes were made. Informational: in `Auto` mode they are already computed
    /// and stored in each node's [`NodeConfig::routes`].
    pub routing: RoutingMode,
    /// Hosts, routers and switches; [`NodeId`] indexes this.
    pub nodes: Vec<NodeConfig>,
    /// Full-duplex links between two interfaces (or switch ports).
    pub links: Vec<LinkConfig>,
    /// Applications, in declaration order.
    pub apps: Vec<AppConfig>,
    /// The time series to record (the `sample` statement), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleConfig>,
}

/// What a run samples and how often (`sample 10ms { tcp; qdisc r1.eth1; link r1.eth1 }`):
/// each kind is `None` when not sampled, else the objects chosen (an empty list: all).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SampleConfig {
    /// Time between samples (the first is at 0).
    pub interval: SimDuration,
    /// TCP sockets (`tcp_info`) of these nodes.
    pub tcp: Option<Vec<NodeId>>,
    /// Root qdiscs of these interfaces.
    pub qdisc: Option<Vec<LinkEnd>>,
    /// Link directions sent from these interfaces (or switch ports).
    pub link: Option<Vec<LinkEnd>>,
    /// Apps of these nodes.
    pub app: Option<Vec<NodeId>>,
}

impl SampleConfig {
    /// Everything, every `interval` (`sim run --sample 10ms` on a scenario without a
    /// `sample` statement).
    pub fn everything(interval: SimDuration) -> Self {
        Self {
            interval,
            tcp: Some(Vec::new()),
            qdisc: Some(Vec::new()),
            link: Some(Vec::new()),
            app: Some(Vec::new()),
        }
    }
}

impl Scenario {
    /// The node with this id. Panics if the id is out of range (ids come from this scenario).
    pub fn node(&self, id: NodeId) -> &NodeConfig {
        &self.nodes[id.index()]
    }
    /// The node named `name`, if any.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| NodeId(i as u32))
    }
    /// The interface at one end of a link.
    pub fn iface(&self, end: LinkEnd) -> &IfaceConfig {
        &self.node(end.node).ifaces[end.iface.index()]
    }
    /// `node.iface`, for messages and file names.
    pub fn end_name(&self, end: LinkEnd) -> String {
        let n = self.node(end.node);
        format!("{}.{}", n.name, n.ifaces[end.iface.index()].name)
    }
}

/// How routing tables were filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RoutingMode {
    /// Only the routes written in the scenario (plus connected subnets).
    #[default]
    Static,
    /// Written routes plus shortest-path routes computed over the topology for every node
    /// (like ns-3's global routing).
    Auto,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// An end host: `ip_forward` off by default.
    Host,
    /// A router: a host with `ip_forward` on.
    Router,
    /// A learning Ethernet switch (transparent at L3; no addresses, no IP stack).
    Switch,
}

impl NodeKind {
    /// The word a scenario and `stats.json` use: `host`, `router`, `switch`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Router => "router",
            Self::Switch => "switch",
        }
    }
}

/// One host, router or switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Unique name, for messages, traces and pcap file names.
    pub name: String,
    /// Host, router or switch.
    pub kind: NodeKind,
    /// Interfaces (switch ports for a switch); [`IfaceId`] indexes this.
    pub ifaces: Vec<IfaceConfig>,
    /// Static routes, in the order the kernel would list them; connected subnets are
    /// implicit (see the module docs). Empty for switches.
    pub routes: Vec<RouteConfig>,
    /// IPv6 routes (`ip -6 route`), as `routes`: connected prefixes and link-local
    /// `fe80::/64` are implicit.
    #[serde(default)]
    pub routes6: Vec<Route6Config>,
    /// Kernel settings, with Linux's defaults where the scenario sets nothing.
    pub sysctls: Sysctls,
    /// The DNS server the node's resolver asks (`nameserver` of resolv.conf), if any: over
    /// IPv4 or IPv6, as its address is.
    pub resolver: Option<IpAddr>,
    /// The node's iptables tables (`iptables-save` of the node), empty with ACCEPT policies
    /// unless the scenario writes rules.
    #[serde(default, skip_serializing_if = "Ruleset::is_empty")]
    pub netfilter: Ruleset,
    /// The partition a parallel run (`sim run --threads N`) puts it in, modulo N (`partition
    /// 3`); unset, the partitioner chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

/// A network interface (or a switch port).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IfaceConfig {
    /// `eth0`, … (`p1`, … for switch ports).
    pub name: String,
    /// IPv4 address and prefix length, if the interface has one.
    pub addr: Option<Ipv4Cidr>,
    /// Static IPv6 addresses (`ip -6 addr add`), in the order written. The link-local
    /// address is not listed: the stack makes it from the MAC when IPv6 is enabled.
    #[serde(default)]
    pub addrs6: Vec<Ipv6Cidr>,
    /// `net.ipv6.conf.IFACE.*`, with `all` and `default` already applied. A configuration
    /// that does not say has IPv6 off (see [`Ipv6DevConf::disabled`]).
    #[serde(default = "Ipv6DevConf::disabled")]
    pub ipv6: Ipv6DevConf,
    /// Hardware address: as written, or derived from the node and interface names
    /// (locally administered, `02:…`).
    pub mac: EthernetAddress,
    /// Largest IP packet the interface sends, in bytes (68..=65535; default 1500).
    pub mtu: u32,
    /// Device queue length in packets (`ip link set txqueuelen`; default 1000); the limit of
    /// `pfifo_fast` and the default limit of `pfifo`.
    pub txqueuelen: u32,
    /// Root queueing discipline.
    pub qdisc: QdiscConfig,
    /// Number of TX ring descriptors of the NIC (default 256); a full ring stops the queue.
    pub tx_ring: u32,
    /// TCP segmentation offload (`ethtool -K dev tso on`; default off, as on a veth with
    /// offloads off): the NIC, not `validate_xmit_skb`, cuts TCP's GSO packets, so the
    /// capture shows them whole.
    #[serde(default)]
    pub tso: bool,
}

/// An interface's root qdisc, with its parameters (Linux's defaults where unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QdiscConfig {
    /// Linux's default: three bands by priority, `txqueuelen` packets in all.
    PfifoFast,
    /// No qdisc (`noqueue`, what veth devices use): packets go straight to the driver.
    Noqueue,
    /// A single FIFO of at most `limit` packets (tc `pfifo limit N`; default txqueuelen).
    Pfifo {
        /// Queue limit in packets.
        limit: u32,
    },
    /// Token bucket filter (tc `tbf rate R burst B latency T`).
    Tbf {
        /// Token rate.
        rate: Rate,
        /// Bucket size.
        burst: Bytes,
        /// Longest time a packet may wait; sets the queue limit in bytes.
        latency: SimDuration,
    },
    /// Fair queueing with CoDel (tc `fq_codel`).
    FqCodel(FqCodelConfig),
    /// The network emulator (tc `netem`): delay, jitter, loss, duplication, corruption,
    /// reordering, rate and slotting.
    Netem(Box<NetemConfig>),
    /// Hierarchical token bucket with its classes and filters (tc `htb`).
    Htb(Box<crate::qdisc::htb::HtbConfig>),
    /// Strict priority bands with their filters and qdiscs (tc `prio`).
    Prio(Box<crate::qdisc::prio::PrioConfig>),
    /// Random Early Detection (tc `red`).
    Red(RedConfig),
    /// Fair queueing per socket, with pacing (tc `fq`).
    Fq(Box<crate::qdisc::FqConfig>),
    /// Stochastic fairness queueing (tc `sfq`).
    Sfq(crate::qdisc::SfqConfig),
}

/// RED's parameters as tc hands them to the kernel (`struct tc_red_qopt`, `TCA_RED_STAB`,
/// `TCA_RED_MAX_P`, `TCA_RED_FLAGS`); [`RedConfig::from_tc`] computes them from tc-red(8)'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedConfig {
    /// Byte limit of the FIFO under RED.
    pub limit: u32,
    /// Lower threshold of the average queue, bytes.
    pub qth_min: u32,
    /// Upper threshold of the average queue, bytes.
    pub qth_max: u32,
    /// EWMA weight `W = 2^-Wlog`.
    pub wlog: u8,
    /// `max_P = (max − min)/2^Plog` when `max_p` is 0.
    pub plog: u8,
    /// Cell of the idle table: `Stab[µs idle >> Scell_log]`.
    pub scell_log: u8,
    /// The idle damping table (256 right shifts).
    pub stab: Vec<u8>,
    /// Marking probability at `max`, a fraction of 2^32.
    pub max_p: u32,
    /// `ecn`: mark ECN-capable packets CE instead of dropping.
    pub ecn: bool,
    /// `harddrop`: drop above `max` even with `ecn`.
    pub harddrop: bool,
    /// `adaptive`: adapt `max_P` every 500 ms.
    pub adaptive: bool,
    /// `nodrop` (with `ecn`): queue what cannot be marked.
    pub nodrop: bool,
}

/// netem's parameters as `tc` hands them to the kernel (`struct tc_netem_qopt` and the
/// `TCA_NETEM_*` attributes): probabilities and correlations are fractions of
/// `u32::MAX` (`get_percent`: `rint(percent / 100 × UINT32_MAX)`), times in ns.
/// `Default` is `tc qdisc add … netem` with no parameter: `limit 1000` and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetemConfig {
    /// Packets held at most (1000).
    pub limit: u32,
    /// Mean added delay (`delay TIME`).
    pub latency: SimDuration,
    /// Jitter around it (`delay TIME JITTER`).
    pub jitter: SimDuration,
    /// Correlation of successive delays (`delay TIME JITTER CORR`).
    pub delay_corr: u32,
    /// Shape of the jitter (`distribution`; uniform when unset).
    pub distribution: NetemDist,
    /// The loss model (`loss random|state|gemodel …`).
    pub loss: NetemLoss,
    /// Mark ECN-capable packets CE instead of dropping them (`ecn`).
    pub ecn: bool,
    /// Duplication probability and correlation (`duplicate P [CORR]`).
    pub duplicate: (u32, u32),
    /// Corruption probability and correlation (`corrupt P [CORR]`).
    pub corrupt: (u32, u32),
    /// Reordering probability and correlation (`reorder P [CORR]`).
    pub reorder: (u32, u32),
    /// Reorder gap (`gap N`; tc sets 1 when `reorder` is given without it).
    pub gap: u32,
    /// Rate emulation (`rate RATE [PACKETOVERHEAD [CELLSIZE [CELLOVERHEAD]]]`).
    pub rate: Option<NetemRate>,
    /// Slotting (`slot MIN [MAX] [packets N] [bytes N]`).
    pub slot: Option<NetemSlot>,
}

impl Default for NetemConfig {
    fn default() -> Self {
        Self {
            limit: 1000,
            latency: SimDuration::ZERO,
            jitter: SimDuration::ZERO,
            delay_corr: 0,
            distribution: NetemDist::Uniform,
            loss: NetemLoss::Random { p: 0, corr: 0 },
            ecn: false,
            duplicate: (0, 0),
            corrupt: (0, 0),
            reorder: (0, 0),
            gap: 0,
            rate: None,
            slot: None,
        }
    }
}

/// The delay distribution of netem's jitter (`distribution NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetemDist {
    /// No table: uniform over `[delay − jitter, delay + jitter)`.
    Uniform,
    /// iproute2's `normal.dist`.
    Normal,
    /// iproute2's `pareto.dist`.
    Pareto,
    /// iproute2's `paretonormal.dist`.
    ParetoNormal,
}

/// netem's loss models, probabilities as fractions of `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetemLoss {
    /// `loss random P [CORR]` (`CLG_RANDOM`).
    Random {
        /// Loss probability.
        p: u32,
        /// Correlation with the previous draw.
        corr: u32,
    },
    /// `loss state p13 p31 p32 p23 p14` (`CLG_4_STATES`, the GI model).
    State {
        /// Gap (1) to burst loss (3).
        p13: u32,
        /// Burst loss (3) to gap (1).
        p31: u32,
        /// Burst loss (3) to burst transmit (2).
        p32: u32,
        /// Burst transmit (2) to burst loss (3).
        p23: u32,
        /// Gap (1) to isolated loss (4).
        p14: u32,
    },
    /// `loss gemodel p r 1-h 1-k` (`CLG_GILB_ELL`); `h` as the kernel holds it (tc sends
    /// `UINT32_MAX − (1-h)`), `k1` = `1-k`.
    GilbertElliott {
        /// Good to bad.
        p: u32,
        /// Bad to good.
        r: u32,
        /// Probability of delivery in the bad state.
        h: u32,
        /// Probability of loss in the good state.
        k1: u32,
    },
}

/// netem's rate emulation (`struct tc_netem_rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetemRate {
    /// The rate in bytes per second, as tc sends it (`RATE / 8`).
    pub bytes_per_sec: u64,
    /// Bytes added to each packet (may be negative).
    pub packet_overhead: i32,
    /// Cell size (0: no cells).
    pub cell_size: u32,
    /// Bytes added to each cell (may be negative).
    pub cell_overhead: i32,
}

/// netem's slotting (`struct tc_netem_slot`), without the slot distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetemSlot {
    /// Shortest time between slots.
    pub min_delay: SimDuration,
    /// Longest time between slots.
    pub max_delay: SimDuration,
    /// Packets per slot (0: no limit).
    pub max_packets: u32,
    /// Bytes per slot (0: no limit).
    pub max_bytes: u32,
}

/// fq_codel's parameters; `Default` gives Linux's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FqCodelConfig {
    /// Queue limit in packets (10240).
    pub limit: u32,
    /// Number of flow queues (1024).
    pub flows: u32,
    /// CoDel target sojourn time (5ms).
    pub target: SimDuration,
    /// CoDel interval (100ms).
    pub interval: SimDuration,
    /// Bytes dequeued per round per flow (1514).
    pub quantum: u32,
    /// Memory limit for queued packets (32MiB).
    pub memory_limit: Bytes,
    /// Mark ECN-capable packets instead of dropping (on, as `fq_codel_init` sets it; tc's
    /// `ecn` / `noecn`).
    pub ecn: bool,
    /// CE-mark ECN-capable packets that waited longer than this (`ce_threshold`; off by
    /// default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce_threshold: Option<SimDuration>,
}

impl Default for FqCodelConfig {
    fn default() -> Self {
        Self {
            limit: 10240,
            flows: 1024,
            target: SimDuration::from_millis(5),
            interval: SimDuration::from_millis(100),
            quantum: 1514,
            memory_limit: Bytes(32 << 20),
            ecn: true,
            ce_threshold: None,
        }
    }
}

/// One end of a link: an interface of a host or router, or a switch port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkEnd {
    /// The node.
    pub node: NodeId,
    /// The interface (port) of that node.
    pub iface: IfaceId,
}

/// A full-duplex point-to-point link; each direction has its own rate and serialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// One end.
    pub a: LinkEnd,
    /// The other end.
    pub b: LinkEnd,
    /// Bit rate of each direction.
    pub rate: Rate,
    /// One-way propagation delay.
    pub delay: SimDuration,
    /// Probability that a frame is lost, in parts per million (0 = lossless,
    /// 1 000 000 = everything). Drawn per frame and direction.
    pub loss_ppm: u32,
    /// Largest IP packet the wire carries, if limited; bigger frames are dropped on the
    /// wire. The endpoint interfaces that set no `mtu` of their own already have this MTU.
    pub mtu: Option<u32>,
}

/// A route in a node's table (a static one, or one computed in `Auto` routing mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteConfig {
    /// Destination network (host bits zero); `0.0.0.0` with `prefix_len` 0 is the default route.
    pub dest: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
    /// Next hop, or `None` for a route straight out of `dev` (on-link).
    pub gateway: Option<Ipv4Addr>,
    /// Output interface, if given (when `None`, the interface whose subnet holds the gateway).
    pub dev: Option<IfaceId>,
}

/// An IPv6 route in a node's table (`ip -6 route add DEST via GW dev IFACE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route6Config {
    /// Destination prefix (host bits zero); `::` with `prefix_len` 0 is the default route.
    pub dest: Ipv6Addr,
    /// Prefix length, 0..=128.
    pub prefix_len: u8,
    /// Next hop, or `None` for a route straight out of `dev`. A link-local gateway always
    /// comes with its `dev`.
    pub gateway: Option<Ipv6Addr>,
    /// Output interface, if given (when `None`, the interface whose prefix holds the gateway).
    pub dev: Option<IfaceId>,
}

/// An interface's IPv6 settings, named as `net.ipv6.conf.IFACE.*`; `Default` gives Linux's
/// defaults for a host's interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipv6DevConf {
    /// `disable_ipv6` (0): no IPv6 at all on the interface (no link-local, no MLD, no NDP).
    /// A scenario that configures no IPv6 anywhere runs with it set, as the IPv4 reference
    /// machine did.
    pub disable_ipv6: bool,
    /// `forwarding` (0; 1 on routers, from `all.forwarding`): the interface forwards, answers
    /// NS with the Router flag, joins ff02::2 and sends no Router Solicitations.
    pub forwarding: bool,
    /// `hop_limit` (64): the hop limit of unicast packets sent out of this interface.
    pub hop_limit: u8,
    /// `accept_ra` (1): accept Router Advertisements (when not forwarding).
    pub accept_ra: u8,
    /// `autoconf` (1): configure addresses from advertised prefixes.
    pub autoconf: bool,
    /// `accept_dad` (1): run Duplicate Address Detection on new addresses.
    pub accept_dad: u8,
    /// `dad_transmits` (1): Neighbour Solicitations sent per address by DAD.
    pub dad_transmits: u32,
    /// `enhanced_dad` (1): a Nonce option in DAD solicitations (RFC 7527).
    pub enhanced_dad: bool,
    /// `router_solicitations` (-1: without limit): Router Solicitations sent after link-up.
    pub router_solicitations: i32,
    /// `router_solicitation_delay` (1 s): the most DAD and the first RS wait, at random.
    pub router_solicitation_delay: SimDuration,
    /// `router_solicitation_interval` (4 s): time between the first solicitations.
    pub router_solicitation_interval: SimDuration,
    /// `router_solicitation_max_interval` (3600 s): the back-off's ceiling.
    pub router_solicitation_max_interval: SimDuration,
    /// `mldv2_unsolicited_report_interval` (1 s): the most an unsolicited report's
    /// retransmission waits.
    pub mldv2_unsolicited_report_interval: SimDuration,
    /// `addr_gen_mode` (0: EUI-64 link-local; 1: none).
    pub addr_gen_mode: u8,
    /// `ndisc_notify` (0): send an unsolicited NA when an address is added or the link
    /// changes.
    pub ndisc_notify: bool,
}

impl Ipv6DevConf {
    /// Linux's defaults with `disable_ipv6` set: what an interface of a scenario without
    /// any IPv6 configuration gets, as the IPv4 reference machine had IPv6 disabled.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            disable_ipv6: true,
            ..Self::default()
        }
    }
}

impl Default for Ipv6DevConf {
    fn default() -> Self {
        Self {
            disable_ipv6: false,
            forwarding: false,
            hop_limit: 64,
            accept_ra: 1,
            autoconf: true,
            accept_dad: 1,
            dad_transmits: 1,
            enhanced_dad: true,
            router_solicitations: -1,
            router_solicitation_delay: SimDuration::from_secs(1),
            router_solicitation_interval: SimDuration::from_secs(4),
            router_solicitation_max_interval: SimDuration::from_secs(3600),
            mldv2_unsolicited_report_interval: SimDuration::from_secs(1),
            addr_gen_mode: 0,
            ndisc_notify: false,
        }
    }
}

pub use crate::wire::{Cidr6ParseError, Ipv6Cidr};
pub use crate::wire::{CidrParseError, Ipv4Cidr};

pub use crate::wire::{EthernetAddress, ParseEthernetAddressError};

/// TCP congestion control algorithm (`net.ipv4.tcp_congestion_control`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CongestionControl {
    /// CUBIC, Linux's default.
    #[default]
    Cubic,
    /// NewReno.
    Reno,
    /// BBR v1 (`tcp_bbr`).
    Bbr,
    /// DCTCP (`tcp_dctcp`).
    Dctcp,
}

impl CongestionControl {
    /// Every algorithm, in `tcp_available_congestion_control`'s order.
    pub const ALL: [Self; 4] = [Self::Reno, Self::Cubic, Self::Bbr, Self::Dctcp];

    /// The name Linux gives it (`TCP_CONGESTION`, the sysctl).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cubic => "cubic",
            Self::Reno => "reno",
            Self::Bbr => "bbr",
            Self::Dctcp => "dctcp",
        }
    }

    /// The algorithm named `name`, if the stack has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Kernel settings of one node, named after their `sysctl` names; `Default` gives Linux's
/// defaults (with `tcp_rmem[2]` = 32 MiB, as on the reference kernel: window scale 10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sysctls {
    /// `net.ipv4.ip_forward`: forward packets not addressed to us (on for routers).
    pub ip_forward: bool,
    /// `net.ipv4.ip_default_ttl` (64).
    pub ip_default_ttl: u8,
    /// `net.ipv4.ip_local_port_range` (32768 60999): ephemeral ports, inclusive.
    pub ip_local_port_range: (u16, u16),
    /// `net.ipv4.tcp_congestion_control` (cubic).
    pub tcp_congestion_control: CongestionControl,
    /// `net.ipv4.tcp_sack` (1).
    pub tcp_sack: bool,
    /// `net.ipv4.tcp_dsack` (1): send D-SACK blocks (RFC 2883) for duplicate segments
    /// when SACK was negotiated.
    pub tcp_dsack: bool,
    /// `net.ipv4.tcp_frto` (2): F-RTO (RFC 5682) after a retransmission timeout; any
    /// value but 0 enables it (`tcp_enter_loss`).
    pub tcp_frto: u32,
    /// `net.ipv4.tcp_timestamps` (1).
    pub tcp_timestamps: bool,
    /// `net.ipv4.tcp_window_scaling` (1).
    pub tcp_window_scaling: bool,
    /// `net.ipv4.tcp_wmem` (4096 16384 4194304): min, default, max send buffer bytes.
    pub tcp_wmem: [u32; 3],
    /// `net.ipv4.tcp_rmem` (4096 131072 33554432): min, default, max receive buffer bytes.
    pub tcp_rmem: [u32; 3],
    /// `net.ipv4.tcp_syn_retries` (6).
    pub tcp_syn_retries: u8,
    /// `net.ipv4.tcp_synack_retries` (5).
    pub tcp_synack_retries: u8,
    /// `net.ipv4.tcp_retries2` (15).
    pub tcp_retries2: u8,
    /// `net.ipv4.tcp_fin_timeout` (60s): how long an orphaned socket stays in FIN_WAIT_2.
    pub tcp_fin_timeout: SimDuration,
    /// `net.ipv4.tcp_slow_start_after_idle` (1).
    pub tcp_slow_start_after_idle: bool,
    /// `net.ipv4.tcp_moderate_rcvbuf` (1): receive-buffer auto-tuning (DRS).
    pub tcp_moderate_rcvbuf: bool,
    /// `net.ipv4.tcp_early_retrans` (3): 3 or 4 enable the tail loss probe (TLP).
    pub tcp_early_retrans: u8,
    /// `net.ipv4.tcp_ecn` (2: accept ECN when the peer asks, never ask; 1: ask too).
    pub tcp_ecn: u8,
    /// `net.ipv4.tcp_ecn_fallback` (1): a retransmitted SYN no longer asks for ECN.
    pub tcp_ecn_fallback: bool,
    /// `net.ipv4.tcp_stdurg` (0): the urgent pointer names the byte after the urgent one
    /// (BSD); 1: the urgent byte itself (RFC 1122).
    pub tcp_stdurg: bool,
    /// `net.ipv4.tcp_fastopen` (1): Fast Open bits; 1 (`TFO_CLIENT_ENABLE`) lets clients
    /// use it, 4 (`TFO_CLIENT_NO_COOKIE`) send data without a cookie (the server bits are not
    /// modeled).
    pub tcp_fastopen: u32,
    /// `net.ipv4.tcp_pacing_ss_ratio` (200): pacing rate in slow start, % of cwnd/srtt.
    pub tcp_pacing_ss_ratio: u32,
    /// `net.ipv4.tcp_pacing_ca_ratio` (120): pacing rate in congestion avoidance.
    pub tcp_pacing_ca_ratio: u32,
    /// `net.ipv4.tcp_notsent_lowat` (4294967295): a new socket's `TCP_NOTSENT_LOWAT`.
    pub tcp_notsent_lowat: u32,
    /// `net.ipv4.tcp_min_tso_segs` (2): the fewest segments `tcp_tso_autosize` puts in a GSO
    /// packet.
    pub tcp_min_tso_segs: u32,
    /// `net.ipv4.tcp_tso_win_divisor` (3): a GSO packet is not held back for more data once
    /// this fraction of the window (the smaller of cwnd and the peer's) may go now.
    pub tcp_tso_win_divisor: u32,
    /// `net.ipv4.tcp_tso_rtt_log` (9): below 2^9 µs of minimum RTT, GSO packets grow towards
    /// 64 KiB whatever the pacing rate.
    pub tcp_tso_rtt_log: u32,
    /// `net.ipv4.tcp_comp_sack_delay_ns` (1 ms): the longest a compressed SACK waits.
    pub tcp_comp_sack_delay_ns: u64,
    /// `net.ipv4.tcp_comp_sack_slack_ns` (100 µs): the slack of the compressed-SACK timer.
    pub tcp_comp_sack_slack_ns: u64,
    /// `net.ipv4.tcp_comp_sack_nr` (44): SACKs that may be compressed into one; 0 sends each.
    pub tcp_comp_sack_nr: u32,
    /// `net.core.wmem_default` (212992): default send buffer of non-TCP sockets.
    pub wmem_default: u32,
    /// `net.core.rmem_default` (212992): default receive buffer of non-TCP sockets.
    pub rmem_default: u32,
    /// `net.core.wmem_max` (212992): largest SO_SNDBUF a socket may ask for.
    pub wmem_max: u32,
    /// `net.core.rmem_max` (212992): largest SO_RCVBUF a socket may ask for.
    pub rmem_max: u32,
    /// `net.ipv4.icmp_echo_ignore_all` (0).
    pub icmp_echo_ignore_all: bool,
    /// `net.ipv4.icmp_ratelimit` (1000ms): what one rate-limited ICMP message costs in a
    /// destination's token bucket, which refills one jiffy a jiffy and holds six of them.
    pub icmp_ratelimit: SimDuration,
    /// `net.ipv4.icmp_ratemask` (0x1818): bit N set rate-limits ICMP type N (default:
    /// destination unreachable, source quench, time exceeded, parameter problem).
    pub icmp_ratemask: u32,
    /// `net.ipv4.icmp_msgs_per_sec` (1000): the host-wide limit on rate-limited ICMP messages.
    pub icmp_msgs_per_sec: u32,
    /// `net.ipv4.icmp_msgs_burst` (50): the host-wide bucket's size.
    pub icmp_msgs_burst: u32,
    /// `net.ipv4.ipfrag_high_thresh` (4 MiB): fragment memory above which reassembly refuses
    /// every fragment; 0 disables reassembly.
    pub ipfrag_high_thresh: u64,
    /// `net.ipv4.ipfrag_low_thresh` (3 MiB): no longer used by Linux (since 4.17) but as the
    /// lower bound of `ipfrag_high_thresh`, which it may not exceed.
    pub ipfrag_low_thresh: u64,
    /// `net.ipv4.ipfrag_time` (30s): how long a datagram may take to reassemble.
    pub ipfrag_time: SimDuration,
    /// `net.ipv4.ipfrag_max_dist` (64): fragments from one source that may go to other
    /// datagrams before an incomplete one is presumed lost; 0 turns the check off.
    pub ipfrag_max_dist: u32,
    /// `net.ipv4.neigh.default.*`: neighbour (ARP) settings of every interface.
    pub neigh: NeighParams,
    /// `net.ipv6.neigh.default.*`: the NDP table's parameters (the same defaults as ARP's).
    pub neigh6: NeighParams,
    /// `net.ipv6.auto_flowlabels` (1): a random flow label per socket on sent packets.
    pub ipv6_auto_flowlabels: u8,
    /// `net.ipv6.icmp.ratelimit` (1000 ms): what one rate-limited ICMPv6 error costs in a
    /// destination's token bucket.
    pub icmpv6_ratelimit: SimDuration,
    /// `net.ipv6.icmp.echo_ignore_all` (0).
    pub icmpv6_echo_ignore_all: bool,
    /// `net.netfilter.nf_conntrack_*`: connection tracking's table size, timeouts and
    /// options (used by nodes whose rules track connections); `None`: Linux's defaults (a
    /// node that sets none carries none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netfilter: Option<Box<crate::netfilter::conntrack::ConntrackSysctl>>,
}

impl Default for Sysctls {
    fn default() -> Self {
        Self {
            ip_forward: false,
            ip_default_ttl: 64,
            ip_local_port_range: (32768, 60999),
            tcp_congestion_control: CongestionControl::Cubic,
            tcp_sack: true,
            tcp_dsack: true,
            tcp_frto: 2,
            tcp_timestamps: true,
            tcp_window_scaling: true,
            tcp_wmem: [4096, 16384, 4_194_304],
            tcp_rmem: [4096, 131_072, 33_554_432],
            tcp_syn_retries: 6,
            tcp_synack_retries: 5,
            tcp_retries2: 15,
            tcp_fin_timeout: SimDuration::from_secs(60),
            tcp_slow_start_after_idle: true,
            tcp_moderate_rcvbuf: true,
            tcp_early_retrans: 3,
            tcp_ecn: 2,
            tcp_ecn_fallback: true,
            tcp_stdurg: false,
            tcp_fastopen: 1,
            tcp_pacing_ss_ratio: 200,
            tcp_pacing_ca_ratio: 120,
            tcp_notsent_lowat: u32::MAX,
            tcp_min_tso_segs: 2,
            tcp_tso_win_divisor: 3,
            tcp_tso_rtt_log: 9,
            tcp_comp_sack_delay_ns: 1_000_000,
            tcp_comp_sack_slack_ns: 100_000,
            tcp_comp_sack_nr: 44,
            wmem_default: 212_992,
            rmem_default: 212_992,
            wmem_max: 212_992,
            rmem_max: 212_992,
            icmp_echo_ignore_all: false,
            icmp_ratelimit: SimDuration::from_millis(1000),
            icmp_ratemask: 0x1818,
            icmp_msgs_per_sec: 1000,
            icmp_msgs_burst: 50,
            ipfrag_high_thresh: 4 << 20,
            ipfrag_low_thresh: 3 << 20,
            ipfrag_time: SimDuration::from_secs(30),
            ipfrag_max_dist: 64,
            neigh: NeighParams::default(),
            neigh6: NeighParams::default(),
            ipv6_auto_flowlabels: 1,
            icmpv6_ratelimit: SimDuration::from_millis(1000),
            icmpv6_echo_ignore_all: false,
            netfilter: Default::default(),
        }
    }
}

impl Sysctls {
    /// Linux's defaults for a node of this kind (`ip_forward` on for routers).
    pub fn for_kind(kind: NodeKind) -> Self {
        Self {
            ip_forward: kind == NodeKind::Router,
            ..Self::default()
        }
    }
}

pub use crate::neigh::NeighParams;

pub use crate::netfilter::{Hook, Nth, NthError, Rule, Ruleset};

/// An application on a node, with the time it starts and (optionally) stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppConfig {
    /// The node it runs on (a host or router, never a switch).
    pub node: NodeId,
    /// When it starts.
    pub start: SimTime,
    /// When it stops (closes its sockets), if before the end of the run.
    pub stop: Option<SimTime>,
    /// What it does.
    pub kind: AppKind,
}

/// The applications the simulator models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AppKind {
    /// An authoritative DNS server on UDP port 53 answering A queries from `records`;
    /// other types for a known name get NODATA, or REFUSED as the reference's dnsmasq
    /// answered AAAA (see [`DnsOtherTypes`]).
    DnsServer {
        /// The A records it serves.
        records: Vec<DnsRecord>,
        /// TTL of the answers, in seconds (default 0, like dnsmasq's `--address`).
        ttl: u32,
        /// The answer to a query of another type for a known name.
        other_types: DnsOtherTypes,
        /// TXT records (`record NAME TXT "text"`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        txt: Vec<DnsTxtRecord>,
    },
    /// An HTTP/1.0 server answering every GET with `200 OK` and a body of `body` bytes.
    HttpServer {
        /// TCP port (default 80).
        port: u16,
        /// Body size.
        body: Bytes,
        /// Time between receiving the request and sending the response headers
        /// (default 2ms, what Python's http.server took in the reference).
        think_time: SimDuration,
    },
    /// `curl URL`: resolve the host (when it is a name) with the node's resolver, then GET.
    Curl {
        /// The URL as written.
        url: String,
        /// Host part of the URL (a name to resolve, or an IPv4 address literal).
        host: String,
        /// Port (80 unless the URL says otherwise).
        port: u16,
        /// Path, `/` at least.
        path: String,
    },
    /// Connect to `dst:port` and send `bytes` bytes (or until the end of the run).
    TcpBulk {
        /// Destination address (IPv6: from an `AF_INET6` socket).
        dst: IpAddr,
        /// Destination port.
        port: u16,
        /// How much to send; `None` = unlimited.
        bytes: Option<Bytes>,
        /// `setsockopt(TCP_CONGESTION)` before connecting (`congestion bbr`; iperf3's
        /// `-C`); `None`: the node's `net.ipv4.tcp_congestion_control`.
        #[serde(default)]
        congestion: Option<CongestionControl>,
    },
    /// Listen on a TCP port, accept every connection, and discard what arrives.
    TcpSink {
        /// TCP port.
        port: u16,
        /// `setsockopt(TCP_CONGESTION)` on the listeners, which accepted connections
        /// inherit (DCTCP's receiver rules need it on the receiving side too).
        #[serde(default)]
        congestion: Option<CongestionControl>,
    },
    /// Send `payload`-byte UDP datagrams to `dst:port` at a constant pace.
    UdpCbr {
        /// Destination address (IPv6: from an `AF_INET6` socket).
        dst: IpAddr,
        /// Destination port.
        port: u16,
        /// UDP payload size of each datagram.
        payload: Bytes,
        /// How often to send.
        pace: UdpPace,
        /// `connect` and `recverr`.
        #[serde(default)]
        options: UdpCbrOptions,
    },
    /// Bind a UDP port and discard what arrives.
    UdpSink {
        /// UDP port.
        port: u16,
    },
    /// ICMP echo requests, like `ping -c count -i interval -s size dst`.
    Ping {
        /// Destination address (IPv6: `ping -6`).
        dst: IpAddr,
        /// Number of requests; `None` = until the app stops.
        count: Option<u32>,
        /// Time between requests (default 1s).
        interval: SimDuration,
        /// ICMP payload bytes (default 56B).
        size: Bytes,
        /// `-t`, `-M`, `-W`, `-w`.
        #[serde(default)]
        options: PingOptions,
    },
    /// A packet written as Scapy writes it, sent as Scapy's `send()` (a raw socket with
    /// `IP_HDRINCL`) or, when it starts with `Ether()`, `sendp()` (an `AF_PACKET` socket)
    /// sends it ([`crate::apps::craft`]).
    Craft {
        /// The Scapy expression, as written (checked by the language).
        packet: String,
        /// When it sends.
        schedule: crate::apps::craft::CraftSchedule,
        /// `sendp`'s interface (`iface`), by name; `None`: the route's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iface: Option<String>,
    },
    /// tcpreplay: a capture's frames sent on an interface through an `AF_PACKET` socket
    /// ([`crate::apps::replay`]).
    Replay(Box<crate::apps::replay::ReplayConfig>),
    /// A user's own app ([`crate::apps::registry`]), with its checked properties.
    User {
        /// Its name in the language.
        name: String,
        /// Its properties.
        props: crate::apps::registry::AppProps,
    },
}

/// The options of a [`AppKind::Ping`] beyond count, interval and size, as iputils `ping`
/// takes them; `Default` is ping without them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PingOptions {
    /// `-t TTL`: `IP_TTL` on the socket (else `net.ipv4.ip_default_ttl`).
    pub ttl: Option<u8>,
    /// `-M do|dont|want`: `IP_MTU_DISCOVER` on the socket (else the socket's default, "want").
    pub pmtudisc: Option<PmtuDisc>,
    /// `-W TIMEOUT`: after the last request, how long ping waits for replies when none has
    /// come (iputils' linger time, 10 s by default); once one has, it waits two of the
    /// longest RTTs (at least one interval) instead.
    pub timeout: Option<SimDuration>,
    /// `-w DEADLINE`: ping exits this long after it started, whatever was sent or received;
    /// with a count, it keeps sending until that many replies (or errors) came or the
    /// deadline passed, and any error ends it at once.
    pub deadline: Option<SimDuration>,
}

pub use crate::sock::PmtuDisc;

/// What a `dns_server` answers to a non-A query for a name it has an A record for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnsOtherTypes {
    /// NOERROR with no answer (`0x8180`): what an authoritative server or dnsmasq with
    /// `--local=/name/` sends.
    #[default]
    NoData,
    /// REFUSED (`0x8185`): what dnsmasq with only `--address=/name/addr` and no upstream
    /// sends, as in the Linux reference run.
    Refused,
}

/// One A (IPv4 address) or AAAA (IPv6 address) record of a [`AppKind::DnsServer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// The name, lower case, without a trailing dot (`baidu.com`).
    pub name: String,
    /// Its address: an A record for IPv4, AAAA for IPv6.
    pub addr: IpAddr,
}

/// One TXT record of a [`AppKind::DnsServer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsTxtRecord {
    /// The name, lower case, without a trailing dot.
    pub name: String,
    /// The text (sent as character-strings of at most 255 bytes each).
    pub text: String,
}

/// How a [`AppKind::UdpCbr`] sender uses its socket; `Default` is iperf's way: a connected
/// socket without `IP_RECVERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UdpCbrOptions {
    /// `connect()` once and `send()` each datagram (true), or a `sendto()` per datagram from
    /// an unconnected socket (false): no `ECONNREFUSED` without `IP_RECVERR`, a route lookup
    /// per datagram.
    pub connect: bool,
    /// `IP_RECVERR` on the socket: a qdisc drop is `ENOBUFS` from the send, and ICMP errors
    /// reach an unconnected socket too.
    pub recverr: bool,
    /// `IP_TOS` on the socket (`IPV6_TCLASS` is not set for an IPv6 destination): the TOS
    /// byte of its datagrams, and their `skb->priority` through `rt_tos2priority`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// `SO_PRIORITY` on the socket, after `IP_TOS`: the `skb->priority` of its datagrams,
    /// which prio's priomap and `match priority` filters read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
}

impl Default for UdpCbrOptions {
    fn default() -> Self {
        Self {
            connect: true,
            recverr: false,
            tos: None,
            priority: None,
        }
    }
}

/// The pace of a [`AppKind::UdpCbr`] sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UdpPace {
    /// This many payload bits per second (the interval is `payload × 8 / rate`).
    Rate(Rate),
    /// One datagram every interval.
    Interval(SimDuration),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_print() {
        let m: EthernetAddress = "02:00:00:00:01:53".parse().unwrap();
        assert_eq!(m.0, [2, 0, 0, 0, 1, 0x53]);
        assert_eq!(m.to_string(), "02:00:00:00:01:53");
        assert!(m.is_local() && !m.is_multicast());
        assert!("02:00:00:00:01".parse::<EthernetAddress>().is_err());
        assert!("02:00:00:00:01:5g".parse::<EthernetAddress>().is_err());
        assert!("02:00:00:00:01:53:00".parse::<EthernetAddress>().is_err());
    }

    #[test]
    fn linux_defaults() {
        let s = Sysctls::for_kind(NodeKind::Router);
        assert!(s.ip_forward);
        assert_eq!(s.tcp_rmem[2], 32 << 20);
        assert_eq!(s.neigh.delay_first_probe_time, SimDuration::from_secs(5));
        assert!(!Sysctls::for_kind(NodeKind::Host).ip_forward);
        assert_eq!(FqCodelConfig::default().limit, 10240);
    }
}
