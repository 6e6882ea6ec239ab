//! A learning Ethernet switch (what a Linux bridge with STP off does to frames).
//!
//! Store and forward: a frame is switched once its last bit has arrived. The switch learns
//! the source address of every frame on the port it came in on, forwards a frame to the port
//! its destination was learned on, and floods broadcast, multicast and unknown destinations to
//! every other port. Each port has one output FIFO with its own limit (in frames); a frame
//! that finds it full is dropped and counted. The switch sends nothing of its own (no STP, no
//! IGMP), and forwarding takes no processing time. Learned entries do not age out.

use std::collections::{BTreeMap, VecDeque};

use crate::ctx::NetCtx;
use crate::event::Event;
use crate::link::{Port, link_transmit};
use crate::skb::Skb;
use crate::wire::{EthernetAddress, EthernetFrame};
use serde::Serialize;

/// Counters of one switch port.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// Index in the world's switches (what events carry).
    pub id: u32,
    /// Name from the scenario.
    pub name: String,
    /// Ports, by index.
    pub ports: Vec<SwitchPort>,
    /// Learned addresses: MAC → port.
    pub fdb: BTreeMap<EthernetAddress, u32>,
}

/// A frame arrived on `port` of the switch.
pub(crate) fn switch_rcv(w: &mut Switch, cx: &mut NetCtx<'_>, port: usize, skb: Skb) {
    let Ok(frame) = EthernetFrame::new_checked(skb.data()) else {
        cx.shared.pool.free(skb);
        return;
    };
    let (src, dst) = (frame.src_addr(), frame.dst_addr());
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
        Some(p) if p as usize == port => cx.shared.pool.free(skb), // filtered: same segment
        Some(p) => switch_enqueue(w, cx, p as usize, skb),
        None => {
            let n = w.ports.len();
            let targets: Vec<usize> = (0..n).filter(|&p| p != port).collect();
            for (i, p) in targets.iter().enumerate() {
                w.ports[*p].stats.flooded += 1;
                let copy = if i + 1 == targets.len() {
                    None
                } else {
                    Some(cx.shared.pool.alloc_copy(skb.data()))
                };
                match copy {
                    Some(c) => switch_enqueue(w, cx, *p, c),
                    None => {
                        switch_enqueue(w, cx, *p, skb);
                        return;
                    }
                }
            }
            if targets.is_empty() {
                cx.shared.pool.free(skb);
            }
        }
    }
}

fn switch_enqueue(w: &mut Switch, cx: &mut NetCtx<'_>, port: usize, skb: Skb) {
    let p = &mut w.ports[port];
    if p.queue.len() >= p.limit {
        p.stats.drops += 1;
        if cx.shared.trace.frames() {
            cx.shared.trace.frame(
                cx.now,
                &w.name,
                &p.name,
                "drop switch_queue_full",
                skb.data(),
                &[],
            );
        }
        cx.shared.pool.free(skb);
        return;
    }
    p.queue.push_back(skb);
    if !p.busy {
        switch_start_tx(w, cx, port);
    }
}

fn switch_start_tx(w: &mut Switch, cx: &mut NetCtx<'_>, port: usize) {
    let p = &mut w.ports[port];
    let Some(skb) = p.queue.pop_front() else {
        return;
    };
    p.busy = true;
    p.stats.tx_frames += 1;
    let (link, dir) = p.link;
    let done = link_transmit(cx, link as usize, dir as usize, skb, (&w.name, &p.name));
    cx.sched.schedule_at(
        done,
        Event::TxDone {
            port: Port::Switch {
                sw: w.id,
                port: port as u32,
            },
        },
    );
}

/// A switch port finished serializing a frame.
pub(crate) fn switch_tx_done(w: &mut Switch, cx: &mut NetCtx<'_>, port: usize) {
    let p = &mut w.ports[port];
    p.busy = false;
    if !p.queue.is_empty() {
        switch_start_tx(w, cx, port);
    }
}
