//! The dispatch of events: each goes to the node, switch or app it names, with a
//! [`NetCtx`] for what the layers share; app wake-ups asked for during an event run at the
//! same instant, after it.
//!
//! One dispatch serves the sequential run (the [`World`] is the [`Model`]) and every
//! partition of a parallel one ([`super::parallel`]): it reaches entities through an
//! [`Arena`], which is the world's own vectors in the first case, and the shared vectors of
//! which a partition owns a part in the second.

use sim_core::{Model, OrderKey, Scheduler, SimDuration};

use super::World;
use crate::apps::{App, AppCtx, AppSlot};
use crate::ctx::NetCtx;
use crate::event::Event;
use crate::link::Port;
use crate::node::Node;
use crate::switch::Switch;

/// Where dispatch finds the entity an event names.
pub(super) trait Arena {
    /// Node `i`.
    fn node(&mut self, i: usize) -> &mut Node;
    /// Switch `i`.
    fn switch(&mut self, i: usize) -> &mut Switch;
    /// App `i` and the node it runs on.
    fn app(&mut self, i: usize) -> (&mut AppSlot, &mut Node);
    /// The node app `i` runs on.
    fn app_node(&self, i: usize) -> usize;
    /// How many nodes (switch `s` is entity `nodes + 1 + s`).
    fn nodes(&self) -> usize;
}

/// The sequential run's arena: the world's vectors.
pub(super) struct Vectors<'a> {
    pub nodes: &'a mut [Node],
    pub switches: &'a mut [Switch],
    pub apps: &'a mut [AppSlot],
}

impl Arena for Vectors<'_> {
    #[inline]
    fn node(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }
    #[inline]
    fn switch(&mut self, i: usize) -> &mut Switch {
        &mut self.switches[i]
    }
    #[inline]
    fn app(&mut self, i: usize) -> (&mut AppSlot, &mut Node) {
        let slot = &mut self.apps[i];
        let node = slot.node;
        (slot, &mut self.nodes[node])
    }
    #[inline]
    fn app_node(&self, i: usize) -> usize {
        self.apps[i].node
    }
    #[inline]
    fn nodes(&self) -> usize {
        self.nodes.len()
    }
}

/// The number that orders what an entity schedules among simultaneous items (see
/// [`Scheduler::set_source`]): node `i` is `i + 1`, switch `s` is `nodes + 1 + s`. (What the
/// build schedules for an entity — app starts, IPv6 timers — counts as that entity's.)
#[inline]
pub(crate) fn node_entity(node: usize) -> u32 {
    node as u32 + 1
}

/// The entity number of switch `sw` in a world of `nodes` nodes.
#[inline]
pub(crate) fn switch_entity(nodes: usize, sw: usize) -> u32 {
    (nodes + 1 + sw) as u32
}

/// What a run records around each event it hands to an entity: nothing in a sequential run;
/// where its outputs start, in a partition of a parallel one (to merge them in order).
pub(super) trait Marks {
    /// The event due `now` with order key `key` and scheduling number `seq` is about to be
    /// handled.
    fn mark(&mut self, cx: &NetCtx<'_>, key: OrderKey, seq: u32);
}

/// No marks.
pub(super) struct NoMarks;

impl Marks for NoMarks {
    #[inline(always)]
    fn mark(&mut self, _: &NetCtx<'_>, _: OrderKey, _: u32) {}
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, s: &mut Scheduler<Event>, event: Event) {
        self.now = s.now();
        let mut ar = Vectors {
            nodes: &mut self.nodes,
            switches: &mut self.switches,
            apps: &mut self.apps,
        };
        let mut cx = super::net_ctx!(self, s);
        handle_event(&mut ar, &mut cx, &mut NoMarks, event);
    }
}

/// Handles `event` and the app wake-ups it asks for (see the module doc).
#[inline]
pub(super) fn handle_event<A: Arena, M: Marks>(
    ar: &mut A,
    cx: &mut NetCtx<'_>,
    marks: &mut M,
    event: Event,
) {
    // Only frames from one entity to others share a key with events of other partitions:
    // they carry the number that orders them.
    let seq = match event {
        Event::Arrive { seq, .. } => seq,
        _ => 0,
    };
    marks.mark(cx, cx.sched.current_key(), seq);
    dispatch(ar, cx, event);
    // App wake-ups run at this instant after everything already pending for it. A single
    // one with nothing else pending would be the next event anyway: handle it here.
    while cx.shared.wakes.len() == 1 && cx.shared.io_error.is_none() && cx.sched.may_handle_now() {
        let w = cx.shared.wakes.pop().expect("one wake-up");
        // (The key it would have had in the queue; only this entity's events share it.)
        marks.mark(cx, cx.sched.order_key(cx.now), 0);
        dispatch(ar, cx, w);
    }
    for w in cx.shared.wakes.drain(..) {
        cx.sched.schedule_in(SimDuration::ZERO, w);
    }
    if cx.shared.io_error.is_some() {
        cx.sched.request_stop();
    }
}

/// Runs `f` on app `app` with its node and the shared context, unless it was stopped.
fn run_app<A: Arena>(
    ar: &mut A,
    cx: &mut NetCtx<'_>,
    app: u32,
    f: impl FnOnce(&mut dyn App, &mut AppCtx<'_>),
) {
    let (slot, n) = ar.app(app as usize);
    if slot.stopped {
        return;
    }
    let mut acx = AppCtx {
        n,
        net: cx.reborrow(),
        id: app,
        io: &mut slot.io,
    };
    f(slot.app.as_mut(), &mut acx);
}

/// Runs one event's handler.
#[inline]
fn dispatch<A: Arena>(ar: &mut A, cx: &mut NetCtx<'_>, event: Event) {
    match event {
        Event::Arrive {
            link, dir, frame, ..
        } => {
            let skb = cx.shared.inflight.take(frame);
            let to = cx.shared.links[link as usize].ends[1 - dir as usize];
            match to {
                Port::Nic { node, dev } => {
                    cx.sched.set_source(node_entity(node as usize));
                    crate::dev::netif_receive_skb(ar.node(node as usize), cx, dev as usize, skb);
                }
                Port::Switch { sw, port } => {
                    cx.sched.set_source(switch_entity(ar.nodes(), sw as usize));
                    crate::switch::switch_rcv(ar.switch(sw as usize), cx, port as usize, skb);
                }
            }
        }
        Event::TxDone { port } => match port {
            Port::Nic { node, dev } => {
                cx.sched.set_source(node_entity(node as usize));
                crate::dev::nic_tx_done(ar.node(node as usize), cx, dev as usize);
            }
            Port::Switch { sw, port } => {
                cx.sched.set_source(switch_entity(ar.nodes(), sw as usize));
                crate::switch::switch_tx_done(ar.switch(sw as usize), cx, port as usize);
            }
        },
        Event::QdiscWatchdog { node, dev } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::dev::qdisc_run(ar.node(node as usize), cx, dev as usize);
        }
        Event::NeighTimer { node, dev, ip } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::neigh::neigh_timer_handler::<crate::neigh::Arp>(
                ar.node(node as usize),
                cx,
                dev as usize,
                ip,
            );
        }
        Event::NdiscTimer { node, dev, id } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::ipv6::ndisc::ndisc_timer(ar.node(node as usize), cx, dev as usize, id);
        }
        Event::Ipv6Timer { node, dev, which } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::ipv6::addrconf::ipv6_timer(ar.node(node as usize), cx, dev as usize, which);
        }
        Event::Frag6Timer { node, id } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::ipv6::reassembly::ip6_frag_expire(ar.node(node as usize), cx, id);
        }
        Event::FragTimer { node, key } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::ip::frag::ip_expire(ar.node(node as usize), cx, key);
        }
        Event::AppStart { app } => {
            cx.sched.set_source(node_entity(ar.app_node(app as usize)));
            run_app(ar, cx, app, |a, cx| a.start(cx));
        }
        Event::AppTimer { app, token } => {
            cx.sched.set_source(node_entity(ar.app_node(app as usize)));
            run_app(ar, cx, app, |a, cx| a.timer(cx, token));
        }
        Event::AppStop { app } => {
            cx.sched.set_source(node_entity(ar.app_node(app as usize)));
            run_app(ar, cx, app, |a, cx| a.stop(cx));
            ar.app(app as usize).0.stopped = true;
        }
        Event::SockWake { app, node, sock } => {
            cx.sched.set_source(node_entity(node as usize));
            if let Some(sk) = ar.node(node as usize).socks.get_mut(sock) {
                sk.common_mut().wake_pending = false;
            }
            run_app(ar, cx, app, |a, cx| a.wake(cx, sock));
        }
        Event::TcpTimer { node, sock, which } => {
            cx.sched.set_source(node_entity(node as usize));
            crate::tcp::timer::tcp_timer(ar.node(node as usize), cx, sock, which);
        }
    }
}
