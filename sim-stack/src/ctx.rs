//! What a node's layers share with the rest of the run, handed to every layer function beside
//! the node it works on: the clock and the event queue (timers, events for other entities),
//! the packet-buffer pool, the trace and capture sinks, the links a device transmits on, and
//! the app wake-ups asked for during the current event.
//!
//! A layer function reads like its kernel counterpart: `ip_rcv(n, cx, dev, skb)` is
//! `ip_rcv(skb, dev, …)` on the host `n`. It owns what it is given (`&mut Node`, or a
//! narrower part of it) and reaches nothing else: no other node, no app, no `World`.

use sim_core::{Scheduler, SimTime};

use crate::capture::Capture;
use crate::event::Event;
use crate::link::{InFlight, Link};
use crate::skb::SkbPool;
use crate::trace::Trace;

/// The shared part of a run, lent to a layer for one call.
#[derive(Debug)]
pub struct NetCtx<'a> {
    /// The time of the event being handled.
    pub now: SimTime,
    /// The event queue: timers and events for later instants.
    pub sched: &'a mut Scheduler<Event>,
    /// Packet buffers for reuse.
    pub pool: &'a mut SkbPool,
    /// The text trace.
    pub trace: &'a mut Trace,
    /// Packet capture, when enabled.
    pub capture: &'a mut Option<Capture>,
    /// The first I/O error met while writing outputs (the run stops after this event).
    pub io_error: &'a mut Option<std::io::Error>,
    /// Whether packets record their function path (`--trace path`, pcapng comments).
    pub record_paths: bool,
    /// App wake-ups asked for during this event (scheduled when it ends, in this order).
    pub wakes: &'a mut Vec<Event>,
    /// Every link of the run (a device transmits onto its own).
    pub links: &'a mut [Link],
    /// Frames on the wire.
    pub inflight: &'a mut InFlight,
    /// Frames serialized onto links so far.
    pub frames_on_links: &'a mut u64,
}
