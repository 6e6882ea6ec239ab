//! What a node's layers share with the rest of the run, handed to every layer function beside
//! the node it works on: the clock and the event queue (timers, events for other entities),
//! and the [`Shared`] state: the packet-buffer pool, the trace and capture sinks, the links a
//! device transmits on, and the app wake-ups asked for during the current event.
//!
//! A layer function reads like its kernel counterpart: `ip_rcv(n, cx, dev, skb)` is
//! `ip_rcv(skb, dev, …)` on the host `n`. It owns what it is given (`&mut Node`, or a
//! narrower part of it) and reaches nothing else: no other node, no app, no `World`.

use sim_core::{Scheduler, SimTime};

use crate::node::Node;
use crate::sock::SockId;

use crate::capture::Capture;
use crate::event::Event;
use crate::link::{InFlight, Link, Outbox};
use crate::skb::SkbPool;
use crate::trace::Trace;

/// What the nodes of a run (or of one partition of a parallel run) share besides the event
/// queue: one value, so that the context lent for each event is three words, not twelve.
#[derive(Debug)]
pub struct Shared {
    /// Packet buffers for reuse.
    pub pool: SkbPool,
    /// The text trace.
    pub trace: Trace,
    /// Packet capture, when enabled.
    pub capture: Option<Capture>,
    /// The first I/O error met while writing outputs (the run stops after this event).
    pub io_error: Option<std::io::Error>,
    /// Whether packets record their function path (`--trace path`, pcapng comments).
    pub record_paths: bool,
    /// App wake-ups asked for during this event (scheduled when it ends, in this order).
    pub(crate) wakes: Vec<Event>,
    /// Every link of the run (a device transmits onto its own).
    pub links: Vec<Link>,
    /// Frames on the wire.
    pub inflight: InFlight,
    /// Frames serialized onto links so far.
    pub frames_on_links: u64,
    /// Frames sent over links cut by the partitioning of a parallel run (always empty in a
    /// sequential one).
    pub(crate) outbox: Outbox,
}

impl Shared {
    /// No links, an empty pool, a disabled trace, no capture.
    pub fn new() -> Self {
        Self {
            pool: SkbPool::new(),
            trace: Trace::disabled(),
            capture: None,
            io_error: None,
            record_paths: false,
            wakes: Vec::new(),
            links: Vec::new(),
            inflight: InFlight::default(),
            frames_on_links: 0,
            outbox: Outbox::new(),
        }
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

/// The shared part of a run, lent to a layer for one call.
#[derive(Debug)]
pub struct NetCtx<'a> {
    /// The time of the event being handled.
    pub now: SimTime,
    /// The event queue: timers and events for later instants.
    pub sched: &'a mut Scheduler<Event>,
    /// The pool, sinks, links and wake-ups.
    pub shared: &'a mut Shared,
}

impl NetCtx<'_> {
    /// The same context, lent again for a shorter call (to an app's context).
    #[inline]
    pub fn reborrow(&mut self) -> NetCtx<'_> {
        NetCtx {
            now: self.now,
            sched: &mut *self.sched,
            shared: &mut *self.shared,
        }
    }
}

/// What a node driven alone — by a unit test's harness, or by `sim drill`'s host, without a
/// World — owns beside it: the clock and event queue, and the shared state (a disabled
/// trace, no capture, its links, the wake-ups asked for).
#[derive(Debug)]
pub struct Solo {
    /// The clock and the node's events.
    pub sched: Scheduler<Event>,
    /// The pool, sinks, links and wake-ups.
    pub shared: Shared,
}

impl Solo {
    /// An empty clock at zero and no links.
    pub fn new() -> Self {
        Self {
            sched: Scheduler::new(),
            shared: Shared::new(),
        }
    }

    /// Runs `f` on node `n` with a context at the current instant, as an event handler
    /// would.
    pub fn with<R>(&mut self, n: &mut Node, f: impl FnOnce(&mut Node, &mut NetCtx<'_>) -> R) -> R {
        let mut cx = NetCtx {
            now: self.sched.now(),
            sched: &mut self.sched,
            shared: &mut self.shared,
        };
        f(n, &mut cx)
    }

    /// The sockets woken since the last call, in order, each ready to be woken again (what a
    /// World does when it delivers a `SockWake`).
    pub fn take_woken(&mut self, n: &mut Node) -> Vec<SockId> {
        let mut out = Vec::new();
        for w in self.shared.wakes.drain(..) {
            if let Event::SockWake { sock, .. } = w {
                if let Some(s) = n.socks.get_mut(sock) {
                    s.common_mut().wake_pending = false;
                }
                out.push(sock);
            }
        }
        out
    }
}

impl Default for Solo {
    fn default() -> Self {
        Self::new()
    }
}
