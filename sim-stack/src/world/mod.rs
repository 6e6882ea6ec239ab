//! The World: every node, switch, link and app of a run in index-addressed arenas, and the
//! dispatch of events to them. It holds no layer logic: an event is handed to the node (or
//! switch, or app) it names, with a [`NetCtx`] for what the layers share.

use crate::apps::AppSlot;
use crate::capture::Capture;
use crate::event::Event;
use crate::link::{InFlight, Link, Outbox, Port};
use crate::node::Node;
use crate::skb::SkbPool;
use crate::switch::Switch;
use crate::trace::Trace;

mod build;
mod dispatch;
pub mod distributed;
pub mod parallel;
mod partition;
mod report;

pub use build::{BuildError, Outputs, iface_addr};
pub use parallel::{ParallelStats, Partitioning, run_parallel};
pub use report::*;

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
    pub apps: Vec<AppSlot>,
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
    /// Whether packets record their function path (trace level `path`, or pcapng comments).
    pub record_paths: bool,
    /// App wake-ups asked for while handling the current event (scheduled when it ends).
    pub(crate) wakes: Vec<Event>,
    /// The time of the event being handled (for reports read between events).
    pub now: sim_core::SimTime,
    /// Frames over cut links: always empty here (a sequential run cuts none).
    pub(crate) outbox: Outbox,
    /// The scenario's `partition` hints, nodes then switches (empty when it gives none).
    pub partition_hints: Vec<Option<u32>>,
}

/// The shared context of `$world`'s layers for the event `$sched` is handling, borrowing
/// only the world's shared fields, so that a node, a switch or an app slot can be borrowed
/// beside it.
macro_rules! net_ctx {
    ($world:ident, $sched:ident) => {
        NetCtx {
            now: $sched.now(),
            sched: $sched,
            pool: &mut $world.pool,
            trace: &mut $world.trace,
            capture: &mut $world.capture,
            io_error: &mut $world.io_error,
            record_paths: $world.record_paths,
            wakes: &mut $world.wakes,
            links: &mut $world.links,
            inflight: &mut $world.inflight,
            frames_on_links: &mut $world.frames_on_links,
            outbox: &mut $world.outbox,
        }
    };
}
pub(super) use net_ctx;

impl World {
    /// Names of a port, for traces and reports: (node or switch, interface or port).
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
