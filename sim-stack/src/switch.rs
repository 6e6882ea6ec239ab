//! A learning Ethernet switch (what a Linux bridge with STP off does to frames).
//!
//! Store and forward: a frame is switched once its last bit has arrived. The switch learns
//! the source address of every frame on the port it came in on, forwards a frame to the port
//! its destination was learned on, and floods broadcast, multicast and unknown destinations to
//! every other port. Each port has one output FIFO with its own limit (in frames); a frame
//! that finds it full is dropped and counted. The switch sends nothing of its own (no STP, no
//! IGMP), and forwarding takes no processing time. Learned entries do not age out.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use sim_core::Scheduler;

use crate::link::Port;
use crate::skb::Skb;
use crate::wire::{EthernetAddress, EthernetFrame};
use crate::world::{Event, World};

/// Counters of one switch port.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchPortStats {
    /// Frames received on the port.
    pub rx_frames: u64,
    /// Frames sent out of the port.
    pub tx_frames: u64,
    /// Frames dropped because the port's queue was full.
    pub drops: u64,
    /// Frames flooded out of this port (unknown or broadcast destination).
    pub flooded: u64,
}

/// One port of a switch.
#[derive(Debug)]
pub struct SwitchPort {
    /// Port name (`p1`, …), for traces.
    pub name: String,
    /// The link the port is attached to and the direction it transmits on.
    pub link: (u32, u8),
    /// Frames waiting to be serialized.
    pub queue: VecDeque<Skb>,
    /// Queue limit in frames.
    pub limit: usize,
    /// Whether a frame is being serialized.
    pub busy: bool,
    /// Counters.
    pub stats: SwitchPortStats,
}

/// A learning switch.
#[derive(Debug)]
pub struct Switch {
    /// Name from the scenario.
    pub name: String,
    /// Ports, by index.
    pub ports: Vec<SwitchPort>,
    /// Learned addresses: MAC → port.
    pub fdb: BTreeMap<EthernetAddress, u32>,
}

impl World {
    /// A frame arrived on `port` of switch `sw`.
    pub(crate) fn switch_rcv(
        &mut self,
        s: &mut Scheduler<Event>,
        sw: usize,
        port: usize,
        skb: Skb,
    ) {
        let Ok(frame) = EthernetFrame::new_checked(skb.data()) else {
            self.pool.free(skb);
            return;
        };
        let (src, dst) = (frame.src_addr(), frame.dst_addr());
        let w = &mut self.switches[sw];
        w.ports[port].stats.rx_frames += 1;
        if src.is_unicast() {
            w.fdb.insert(src, port as u32);
        }
        let out = if dst.is_unicast() {
            w.fdb.get(&dst).copied()
        } else {
            None
        };
        match out {
            Some(p) if p as usize == port => self.pool.free(skb), // filtered: same segment
            Some(p) => self.switch_enqueue(s, sw, p as usize, skb),
            None => {
                let n = self.switches[sw].ports.len();
                let targets: Vec<usize> = (0..n).filter(|&p| p != port).collect();
                for (i, p) in targets.iter().enumerate() {
                    self.switches[sw].ports[*p].stats.flooded += 1;
                    let copy = if i + 1 == targets.len() {
                        None
                    } else {
                        Some(self.pool.alloc_copy(skb.data()))
                    };
                    match copy {
                        Some(c) => self.switch_enqueue(s, sw, *p, c),
                        None => {
                            self.switch_enqueue(s, sw, *p, skb);
                            return;
                        }
                    }
                }
                if targets.is_empty() {
                    self.pool.free(skb);
                }
            }
        }
    }

    fn switch_enqueue(&mut self, s: &mut Scheduler<Event>, sw: usize, port: usize, skb: Skb) {
        let p = &mut self.switches[sw].ports[port];
        if p.queue.len() >= p.limit {
            p.stats.drops += 1;
            if self.trace.frames() {
                let now = s.now();
                let (a, b) = (
                    self.switches[sw].name.clone(),
                    self.switches[sw].ports[port].name.clone(),
                );
                self.trace
                    .frame(now, &a, &b, "drop switch_queue_full", skb.data(), &[]);
            }
            self.pool.free(skb);
            return;
        }
        p.queue.push_back(skb);
        if !p.busy {
            self.switch_start_tx(s, sw, port);
        }
    }

    fn switch_start_tx(&mut self, s: &mut Scheduler<Event>, sw: usize, port: usize) {
        let p = &mut self.switches[sw].ports[port];
        let Some(skb) = p.queue.pop_front() else {
            return;
        };
        p.busy = true;
        p.stats.tx_frames += 1;
        let (link, dir) = p.link;
        let done = self.wire_transmit(s, link as usize, dir as usize, skb);
        s.schedule_at(
            done,
            Event::TxDone {
                port: Port::Switch {
                    sw: sw as u32,
                    port: port as u32,
                },
            },
        );
    }

    /// A switch port finished serializing a frame.
    pub(crate) fn switch_tx_done(&mut self, s: &mut Scheduler<Event>, sw: usize, port: usize) {
        let p = &mut self.switches[sw].ports[port];
        p.busy = false;
        if !p.queue.is_empty() {
            self.switch_start_tx(s, sw, port);
        }
    }
}
