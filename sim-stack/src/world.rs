//! The World: every node, switch, link and app of a run in index-addressed arenas, the event
//! enum, and its dispatch. Events carry indices, never pointers or names.

use std::net::Ipv4Addr;

use sim_core::{Model, Scheduler, SimTime};

use crate::apps::App;
use crate::capture::Capture;
use crate::link::{Link, Port};
use crate::node::Node;
use crate::skb::{Skb, SkbPool};
use crate::switch::Switch;
use crate::trace::Trace;

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
    /// An IP reassembly queue timed out (`ip_expire`).
    FragTimer {
        /// Node index.
        node: u32,
        /// The reassembly queue's key.
        key: u64,
    },
    /// An application's timer.
    App {
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
    /// A step an app scheduled for one of its sockets (think time, a stop).
    AppStep {
        /// App index.
        app: u32,
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

/// Frames in flight on links, by slot.
#[derive(Debug, Default)]
pub struct InFlight {
    slots: Vec<Option<Skb>>,
    free: Vec<u32>,
}

impl InFlight {
    /// Stores a frame; returns its slot.
    pub fn insert(&mut self, skb: Skb) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(skb);
                i
            }
            None => {
                self.slots.push(Some(skb));
                (self.slots.len() - 1) as u32
            }
        }
    }
    /// Takes the frame out of its slot.
    pub fn take(&mut self, slot: u32) -> Skb {
        let skb = self.slots[slot as usize].take().expect("frame in flight");
        self.free.push(slot);
        skb
    }
}

/// The simulated network.
#[derive(Debug)]
pub struct World {
    /// Hosts and routers.
    pub nodes: Vec<Node>,
    /// Learning switches.
    pub switches: Vec<Switch>,
    /// Links.
    pub links: Vec<Link>,
    /// Applications.
    pub apps: Vec<App>,
    /// Packet buffers for reuse.
    pub pool: SkbPool,
    /// Frames on the wire.
    pub inflight: InFlight,
    /// The text trace.
    pub trace: Trace,
    /// Packet capture, when enabled.
    pub capture: Option<Capture>,
    /// The first I/O error met while writing outputs (the run stops at the next event).
    pub io_error: Option<std::io::Error>,
    /// Frames serialized onto links (for performance figures).
    pub frames_on_links: u64,
    pub(crate) dropped_scratch: Vec<Skb>,
    /// The apps' user-space buffer for `recvfrom()` (apps run one at a time, so one serves
    /// all; see [`World::take_recv_buf`]).
    pub(crate) recv_buf: Vec<u8>,
    /// `tcp_ack`'s list of (send time, end_seq, retransmitted) of the segments an ACK
    /// delivers, kept between calls so that no ACK allocates.
    pub(crate) tcp_delivered_scratch: Vec<(Option<SimTime>, u32, bool)>,
    /// Whether packets record their function path (trace level `path`, or pcapng comments).
    pub record_paths: bool,
    /// App wake-ups asked for while handling the current event (scheduled when it ends).
    pub(crate) wakes: Vec<Event>,
    /// The id of the last packet a qdisc refused (`NET_XMIT_DROP`), for its sender.
    pub(crate) xmit_dropped: Option<u64>,
    /// The time of the event being handled (for reports read between events).
    pub now: sim_core::SimTime,
}

impl World {
    /// Frees a packet that dies at `what` on `node`/`dev`, with a trace line.
    pub(crate) fn drop_skb(&mut self, now: SimTime, node: usize, dev: usize, what: &str, skb: Skb) {
        if self.trace.frames() {
            let n = &self.nodes[node];
            let dir = format!("drop {what}");
            // Drops at the device hold a whole frame; everything above it (IP, netfilter,
            // the neighbour queue, the transports) holds an IP packet.
            let frame = matches!(
                what,
                "no_carrier" | "qdisc_drop" | "qdisc_codel_drop" | "rx_runt" | "unknown_ethertype"
            );
            let (name, iface) = (&n.name, &n.devs[dev].name);
            self.trace
                .record(now, name, iface, &dir, skb.data(), skb.path(), !frame);
        }
        self.kfree_skb(skb);
    }

    /// Borrows the apps' 64 KiB receive buffer (give it back with [`World::put_recv_buf`]):
    /// one allocation for the run instead of one per datagram read.
    pub(crate) fn take_recv_buf(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.recv_buf);
        if buf.is_empty() {
            buf = vec![0; 1 << 16];
        }
        buf
    }

    /// Returns the buffer [`World::take_recv_buf`] lent.
    pub(crate) fn put_recv_buf(&mut self, buf: Vec<u8>) {
        self.recv_buf = buf;
    }

    /// Names of a port, for traces: (node or switch, interface or port).
    pub(crate) fn port_names(&self, port: Port) -> (&str, &str) {
        match port {
            Port::Nic { node, dev } => {
                let n = &self.nodes[node as usize];
                (&n.name, &n.devs[dev as usize].name)
            }
            Port::Switch { sw, port } => {
                let s = &self.switches[sw as usize];
                (&s.name, &s.ports[port as usize].name)
            }
        }
    }

    /// Index of the node named `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Flushes the trace and the capture files. Call once, at the end of the run (also
    /// after an interruption: what was simulated so far is written out completely).
    pub fn finish_outputs(&mut self) -> std::io::Result<Option<crate::capture::CaptureSummary>> {
        if let Some(e) = self.io_error.take() {
            return Err(e);
        }
        self.trace.finish()?;
        match self.capture.take() {
            Some(c) => c.finish().map(Some),
            None => Ok(None),
        }
    }
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, s: &mut Scheduler<Event>, event: Event) {
        self.now = s.now();
        self.dispatch(s, event);
        // App wake-ups run at this instant after everything already pending for it. A single
        // one with nothing else pending would be the next event anyway: handle it here.
        while self.wakes.len() == 1 && self.io_error.is_none() && s.may_handle_now() {
            let w = self.wakes.pop().expect("one wake-up");
            self.dispatch(s, w);
        }
        for w in self.wakes.drain(..) {
            s.schedule_in(sim_core::SimDuration::ZERO, w);
        }
        if self.io_error.is_some() {
            s.request_stop();
        }
    }
}

impl World {
    /// Runs one event's handler.
    #[inline]
    fn dispatch(&mut self, s: &mut Scheduler<Event>, event: Event) {
        match event {
            Event::Arrive { link, dir, frame } => {
                let skb = self.inflight.take(frame);
                let to = self.links[link as usize].ends[1 - dir as usize];
                match to {
                    Port::Nic { node, dev } => {
                        self.netif_receive_skb(s, node as usize, dev as usize, skb)
                    }
                    Port::Switch { sw, port } => {
                        self.switch_rcv(s, sw as usize, port as usize, skb)
                    }
                }
            }
            Event::TxDone { port } => match port {
                Port::Nic { node, dev } => self.nic_tx_done(s, node as usize, dev as usize),
                Port::Switch { sw, port } => self.switch_tx_done(s, sw as usize, port as usize),
            },
            Event::QdiscWatchdog { node, dev } => self.qdisc_run(s, node as usize, dev as usize),
            Event::NeighTimer { node, dev, ip } => {
                self.neigh_timer_handler(s, node as usize, dev as usize, ip)
            }
            Event::FragTimer { node, key } => self.ip_expire(s, node as usize, key),
            Event::App { app } => self.app_timer(s, app as usize),
            Event::SockWake { app, node, sock } => {
                if let Some(sk) = self.nodes[node as usize].socks.get_mut(sock) {
                    sk.common_mut().wake_pending = false;
                }
                self.app_wake(s, app as usize, sock);
            }
            Event::AppStep { app, sock } => self.app_step(s, app as usize, sock),
            Event::TcpTimer { node, sock, which } => self.tcp_timer(s, node as usize, sock, which),
        }
    }
}
