//! The events of a run: what the engine delivers to the world, which hands each to the node,
//! switch or app it names. Events carry indices, never pointers or names.

use std::net::Ipv4Addr;

use crate::link::Port;

/// Everything that can happen in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The last bit of a frame reached the far end of direction `dir` of `link`.
    Arrive {
        /// Link index.
        link: u32,
        /// Direction: 0 from `ends[0]` to `ends[1]`.
        dir: u8,
        /// The frame, in the in-flight arena.
        frame: u32,
        /// The sender's scheduling number for it ([`sim_core::Scheduler::take_seq`],
        /// wrapped to 32 bits): orders the outputs of frames one entity sent at one instant
        /// when a parallel run merges them.
        seq: u32,
    },
    /// A port finished serializing a frame (TX completion).
    TxDone {
        /// The transmitting port.
        port: Port,
    },
    /// A throttled qdisc (tbf) may send again.
    QdiscWatchdog {
        /// Node index.
        node: u32,
        /// Interface index.
        dev: u32,
    },
    /// A neighbour entry's timer.
    NeighTimer {
        /// Node index.
        node: u32,
        /// Interface index.
        dev: u32,
        /// The neighbour.
        ip: Ipv4Addr,
    },
    /// A Neighbour Discovery entry's timer; the entry is named by its number in the
    /// interface's table (an IPv6 address would not fit an event).
    NdiscTimer {
        /// Node index.
        node: u32,
        /// Interface index.
        dev: u32,
        /// The entry's number ([`crate::neigh::NeighTable::addr_of`]).
        id: u32,
    },
    /// An IPv6 reassembly queue timed out (`ip6_frag_expire`).
    Frag6Timer {
        /// Node index.
        node: u32,
        /// The queue's number.
        id: u32,
    },
    /// One of an interface's IPv6 timers (address configuration, MLD).
    Ipv6Timer {
        /// Node index.
        node: u32,
        /// Interface index.
        dev: u32,
        /// Which.
        which: crate::ipv6::addrconf::Ipv6TimerKind,
    },
    /// An IP reassembly queue timed out (`ip_expire`).
    FragTimer {
        /// Node index.
        node: u32,
        /// The reassembly queue's key.
        key: u64,
    },
    /// An app's start time came.
    AppStart {
        /// App index in the world.
        app: u32,
    },
    /// A timer an app set fired.
    AppTimer {
        /// App index in the world.
        app: u32,
        /// The value the app gave the timer.
        token: u32,
    },
    /// An app's `until` came.
    AppStop {
        /// App index in the world.
        app: u32,
    },
    /// A socket an app owns became readable, writable, connected or failed.
    SockWake {
        /// App index.
        app: u32,
        /// Node index.
        node: u32,
        /// Socket.
        sock: u32,
    },
    /// A TCP connection's timer.
    TcpTimer {
        /// Node index.
        node: u32,
        /// Socket.
        sock: u32,
        /// Which timer.
        which: crate::tcp::timer::TcpTimerKind,
    },
}

// The event queue moves events by value: they stay two words, with 32-bit interface and port
// indices (a router of a 10^5-host star has 10^5 interfaces).
const _: () = assert!(std::mem::size_of::<Event>() == 16);
