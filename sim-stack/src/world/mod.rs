//! The World: every node, switch, link and app of a run in index-addressed arenas, and the
//! dispatch of events to them. It holds no layer logic: an event is handed to the node (or
//! switch, or app) it names, with a [`NetCtx`](crate::ctx::NetCtx) for what the layers share.

use crate::apps::AppSlot;
use crate::ctx::Shared;
use crate::link::Port;
use crate::node::Node;
use crate::switch::Switch;

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
    /// Applications.
    pub apps: Vec<AppSlot>,
    /// The links, the pool, the trace and capture, the wake-ups: what every node's layers
    /// share (see [`Shared`]).
    pub shared: Shared,
    /// The time of the event being handled (for reports read between events).
    pub now: sim_core::SimTime,
    /// The scenario's `partition` hints, nodes then switches (empty when it gives none).
    pub partition_hints: Vec<Option<u32>>,
}

/// The shared context of `$world`'s layers for the event `$sched` is handling, borrowing
/// only the world's shared state, so that a node, a switch or an app slot can be borrowed
/// beside it.
macro_rules! net_ctx {
    ($world:ident, $sched:ident) => {
        NetCtx {
            now: $sched.now(),
            sched: $sched,
            shared: &mut $world.shared,
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
        if let Some(e) = self.shared.io_error.take() {
            return Err(e);
        }
        self.shared.trace.finish()?;
        match self.shared.capture.take() {
            Some(c) => c.finish().map(Some),
            None => Ok(None),
        }
    }
}
