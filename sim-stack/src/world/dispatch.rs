//! The dispatch of events: each goes to the node, switch or app it names, with a
//! [`NetCtx`] for what the layers share; app wake-ups asked for during an event run at the
//! same instant, after it.

use sim_core::{Model, Scheduler};

use super::World;
use crate::apps::{App, AppCtx};
use crate::ctx::NetCtx;
use crate::event::Event;
use crate::link::Port;

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
        let net = super::net_ctx!(self, s);
        let mut cx = AppCtx {
            n: &mut self.nodes[slot.node],
            net,
            id: app,
            io: &mut slot.io,
        };
        f(slot.app.as_mut(), &mut cx);
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
                crate::neigh::neigh_timer_handler::<crate::neigh::Arp>(
                    n,
                    &mut cx,
                    dev as usize,
                    ip,
                );
            }
            Event::NdiscTimer { node, dev, id } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::ipv6::ndisc::ndisc_timer(n, &mut cx, dev as usize, id);
            }
            Event::Ipv6Timer { node, dev, which } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::ipv6::addrconf::ipv6_timer(n, &mut cx, dev as usize, which);
            }
            Event::Frag6Timer { node, id } => {
                let (n, mut cx) = self.net(s, node as usize);
                crate::ipv6::reassembly::ip6_frag_expire(n, &mut cx, id);
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
