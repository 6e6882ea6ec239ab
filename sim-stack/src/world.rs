//! The World: every node, switch, link and app of a run in index-addressed arenas, and the
//! dispatch of events to them. It holds no layer logic: an event is handed to the node (or
//! switch, or app) it names, with a [`NetCtx`] for what the layers share.

use sim_core::{Model, Scheduler};

use crate::apps::{App, AppCtx, AppReport, AppSlot};
use crate::capture::Capture;
use crate::ctx::NetCtx;
use crate::event::Event;
use crate::link::{InFlight, Link, Port};
use crate::node::Node;
use crate::skb::SkbPool;
use crate::switch::Switch;
use crate::trace::Trace;

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
}

impl World {
    /// Node `node` and the shared context its layers are called with.
    #[inline]
    pub(crate) fn net<'a>(
        &'a mut self,
        s: &'a mut Scheduler<Event>,
        node: usize,
    ) -> (&'a mut Node, NetCtx<'a>) {
        let cx = NetCtx {
            now: s.now(),
            sched: s,
            pool: &mut self.pool,
            trace: &mut self.trace,
            capture: &mut self.capture,
            io_error: &mut self.io_error,
            record_paths: self.record_paths,
            wakes: &mut self.wakes,
            links: &mut self.links,
            inflight: &mut self.inflight,
            frames_on_links: &mut self.frames_on_links,
        };
        (&mut self.nodes[node], cx)
    }

    /// Switch `sw` and the shared context.
    #[inline]
    fn switch_net<'a>(
        &'a mut self,
        s: &'a mut Scheduler<Event>,
        sw: usize,
    ) -> (&'a mut Switch, NetCtx<'a>) {
        let cx = NetCtx {
            now: s.now(),
            sched: s,
            pool: &mut self.pool,
            trace: &mut self.trace,
            capture: &mut self.capture,
            io_error: &mut self.io_error,
            record_paths: self.record_paths,
            wakes: &mut self.wakes,
            links: &mut self.links,
            inflight: &mut self.inflight,
            frames_on_links: &mut self.frames_on_links,
        };
        (&mut self.switches[sw], cx)
    }

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
    /// Runs `f` on app `app` with its node and the shared context, unless it was stopped.
    fn run_app(
        &mut self,
        s: &mut Scheduler<Event>,
        app: u32,
        f: impl FnOnce(&mut dyn App, &mut AppCtx<'_>),
    ) {
        let slot = &mut self.apps[app as usize];
        if slot.stopped {
            return;
        }
        let net = NetCtx {
            now: s.now(),
            sched: s,
            pool: &mut self.pool,
            trace: &mut self.trace,
            capture: &mut self.capture,
            io_error: &mut self.io_error,
            record_paths: self.record_paths,
            wakes: &mut self.wakes,
            links: &mut self.links,
            inflight: &mut self.inflight,
            frames_on_links: &mut self.frames_on_links,
        };
        let mut cx = AppCtx {
            n: &mut self.nodes[slot.node],
            net,
            id: app,
        };
        f(slot.app.as_mut(), &mut cx);
    }

    /// The report of every app, in scenario order, with the name of its node.
    pub fn app_reports(&self) -> Vec<(String, AppReport)> {
        self.apps
            .iter()
            .map(|a| {
                let n = &self.nodes[a.node];
                (n.name.clone(), a.app.report(n, self.now))
            })
            .collect()
    }

    /// Runs one event's handler.
    #[inline]
    fn dispatch(&mut self, s: &mut Scheduler<Event>, event: Event) {
        match event {
            Event::Arrive { link, dir, frame } => {
                let skb = self.inflight.take(frame);
                let to = self.links[link as usize].ends[1 - dir as usize];
                match to {
                    Port::Nic { node, dev } => {
                        let (n, mut cx) = self.net(s, node as usize);
                        crate::dev::netif_receive_skb(n, &mut cx, dev as usize, skb);
                    }
                    Port::Switch { sw, port } => {
                        let (w, mut cx) = self.switch_net(s, sw as usize);
                        crate::switch::switch_rcv(w, &mut cx, port as usize, skb);
                    }
                }
            }
            Event::TxDone { port } => match port {
                Port::Nic { node, dev } => {
                    let (n, mut cx) = self.net(s, node as usize);
                    crate::dev::nic_tx_done(n, &mut cx, dev as usize);
                }
                Port::Switch { sw, port } => {
                    let (w, mut cx) = self.switch_net(s, sw as usize);
                    crate::switch::switch_tx_done(w, &mut cx, port as usize);
                }
            },
            Event::QdiscWatchdog { node, dev } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::dev::qdisc_run(n, &mut cx, dev as usize);
            }
            Event::NeighTimer { node, dev, ip } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::neigh::neigh_timer_handler(n, &mut cx, dev as usize, ip);
            }
            Event::FragTimer { node, key } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::ip::frag::ip_expire(n, &mut cx, key);
            }
            Event::AppStart { app } => self.run_app(s, app, |a, cx| a.start(cx)),
            Event::AppTimer { app, token } => self.run_app(s, app, |a, cx| a.timer(cx, token)),
            Event::AppStop { app } => {
                self.run_app(s, app, |a, cx| a.stop(cx));
                self.apps[app as usize].stopped = true;
            }
            Event::SockWake { app, node, sock } => {
                if let Some(sk) = self.nodes[node as usize].socks.get_mut(sock) {
                    sk.common_mut().wake_pending = false;
                }
                self.run_app(s, app, |a, cx| a.wake(cx, sock));
            }
            Event::TcpTimer { node, sock, which } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::tcp::timer::tcp_timer(n, &mut cx, sock, which);
            }
        }
    }
}
