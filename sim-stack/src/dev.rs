//! The network device layer: `dev_queue_xmit` into the root qdisc, `__qdisc_run` →
//! `sch_direct_xmit` → `dev_hard_start_xmit` (where tcpdump sees outgoing frames) →
//! `ndo_start_xmit` into the driver's TX ring, serialization onto the link, TX completion;
//! and on receive `netif_receive_skb` (where tcpdump sees incoming frames) → `arp_rcv` /
//! `ip_rcv`.
//!
//! The driver is modeled as a simple NIC: `ndo_start_xmit` places the frame in the ring and
//! answers `NETDEV_TX_BUSY` when no descriptor is free, which stops the queue; the qdisc
//! keeps the packet (`dev_requeue_skb`, counted as a requeue). The NIC serializes frames from
//! the ring one at a time; TX completion after the last bit left frees the descriptor and the
//! skb (releasing the socket's memory) and wakes a stopped queue. Byte queue limits (BQL),
//! interrupt coalescing and NAPI budgets are not modeled: completions are immediate.

use sim_core::Scheduler;

use crate::link::{ETH_HLEN, ETH_ZLEN, Port};
use crate::node::TxDesc;
use crate::qdisc::{Dequeue, Enqueue};
use crate::skb::Skb;
use crate::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use crate::world::{Event, World};

impl World {
    /// Pushes an Ethernet header (from `dev`'s address to `dst`) in front of an IP packet and
    /// hands the frame to `dev_queue_xmit` (what `neigh_hh_output` does with the cached header).
    pub(crate) fn eth_output(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        dst: EthernetAddress,
        mut skb: Skb,
    ) {
        let eth = EthernetRepr {
            src_addr: self.nodes[node].devs[dev].mac,
            dst_addr: dst,
            ethertype: EtherType::Ipv4,
        };
        eth.emit(&mut EthernetFrame::new_unchecked(
            skb.push(eth.buffer_len()),
        ));
        self.dev_queue_xmit(s, node, dev, skb);
    }

    /// `dev_queue_xmit` → `__dev_xmit_skb`: enqueue on the root qdisc, then run it.
    pub(crate) fn dev_queue_xmit(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        mut skb: Skb,
    ) {
        note!(self, skb, "dev_queue_xmit");
        let now = s.now();
        let d = &mut self.nodes[node].devs[dev];
        if d.link.is_none() {
            // No carrier: the packet goes nowhere (a down interface drops it).
            d.stats.tx_dropped += 1;
            self.drop_skb(now, node, dev, "no_carrier", skb);
            return;
        }
        if !d.queue_stopped && !d.ring.is_full() {
            // An idle qdisc in front of a ring with room: the packet goes straight through.
            match d.qdisc.pass_through_idle(skb, now) {
                Ok(skb) => {
                    let sent = self.sch_direct_xmit(s, node, dev, skb);
                    debug_assert!(sent, "the ring had room");
                    return;
                }
                Err(back) => skb = back,
            }
        }
        let verdict = d.qdisc.enqueue(skb, now);
        // fq_codel makes room by dropping from the fattest flow; free those now.
        d.qdisc.drain_enqueue_drops(&mut self.dropped_scratch);
        if !self.dropped_scratch.is_empty() {
            let mut dropped = std::mem::take(&mut self.dropped_scratch);
            for skb in dropped.drain(..) {
                self.drop_skb(now, node, dev, "qdisc_drop", skb);
            }
            self.dropped_scratch = dropped;
        }
        if let Enqueue::Dropped(skb) = verdict {
            // NET_XMIT_DROP: the skb is freed (its socket memory released) and counted; the
            // sender learns it (ip_send_skb → OutDiscards, UDP's SndbufErrors).
            self.xmit_dropped = Some(skb.id);
            self.drop_skb(now, node, dev, "qdisc_drop", skb);
            return;
        }
        self.qdisc_run(s, node, dev);
    }

    /// `__qdisc_run`: dequeue and transmit while the queue is not stopped.
    pub(crate) fn qdisc_run(&mut self, s: &mut Scheduler<Event>, node: usize, dev: usize) {
        let now = s.now();
        loop {
            let d = &mut self.nodes[node].devs[dev];
            if d.queue_stopped {
                return;
            }
            let out = d.qdisc.dequeue(now, &mut self.dropped_scratch);
            if !self.dropped_scratch.is_empty() {
                let mut dropped = std::mem::take(&mut self.dropped_scratch);
                for skb in dropped.drain(..) {
                    self.drop_skb(now, node, dev, "qdisc_codel_drop", skb);
                }
                self.dropped_scratch = dropped;
            }
            match out {
                Dequeue::Packet(skb) => {
                    if !self.sch_direct_xmit(s, node, dev, skb) {
                        return;
                    }
                }
                Dequeue::Empty => return,
                Dequeue::Throttled(until) => {
                    let d = &self.nodes[node].devs[dev];
                    if s.deadline(&d.watchdog) != Some(until) {
                        s.arm(
                            &d.watchdog,
                            until,
                            Event::QdiscWatchdog {
                                node: node as u32,
                                dev: dev as u32,
                            },
                        );
                    }
                    return;
                }
            }
        }
    }

    /// `sch_direct_xmit` → `dev_hard_start_xmit` → `ndo_start_xmit`. Returns false when the
    /// driver refused the frame (ring full): the qdisc got it back and the queue is stopped.
    fn sch_direct_xmit(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        mut skb: Skb,
    ) -> bool {
        let now = s.now();
        let d = &mut self.nodes[node].devs[dev];
        if d.ring.is_full() {
            // ndo_start_xmit → NETDEV_TX_BUSY: netif_stop_queue, dev_requeue_skb.
            d.ring.stats.busy += 1;
            d.queue_stopped = true;
            d.qdisc.requeue(skb);
            return false;
        }
        note!(self, skb, "sch_direct_xmit");
        note!(self, skb, "dev_hard_start_xmit");
        // The AF_PACKET tap (dev_queue_xmit_nit): tcpdump sees the frame here.
        self.tap(now, node, dev, "tx", &skb);
        let d = &mut self.nodes[node].devs[dev];
        d.stats.tx_packets += 1;
        d.stats.tx_bytes += skb.len() as u64;
        d.ring.waiting.push_back(skb);
        let used = d.ring.used();
        d.ring.stats.max_used = d.ring.stats.max_used.max(used);
        if d.ring.on_wire.is_none() {
            self.nic_start_tx(s, node, dev);
        }
        true
    }

    /// The NIC takes the next frame from its ring and puts it on the wire.
    fn nic_start_tx(&mut self, s: &mut Scheduler<Event>, node: usize, dev: usize) {
        let d = &mut self.nodes[node].devs[dev];
        let Some(mut skb) = d.ring.waiting.pop_front() else {
            return;
        };
        let (link, dir) = d.link.expect("attached");
        d.ring.on_wire = Some(TxDesc {
            len: skb.len() as u32,
            sock: skb.sock.take(),
            truesize: skb.truesize,
        });
        let done = self.wire_transmit(s, link as usize, dir as usize, skb);
        s.schedule_at(
            done,
            Event::TxDone {
                port: Port::Nic {
                    node: node as u32,
                    dev: dev as u32,
                },
            },
        );
    }

    /// Serializes a frame onto direction `dir` of `link` starting now: pads it to the
    /// Ethernet minimum, schedules its arrival at the far end (unless the link loses it), and
    /// returns when the last bit has left.
    pub(crate) fn wire_transmit(
        &mut self,
        s: &mut Scheduler<Event>,
        link: usize,
        dir: usize,
        mut skb: Skb,
    ) -> sim_core::SimTime {
        let now = s.now();
        if skb.len() < ETH_ZLEN {
            let pad = ETH_ZLEN - skb.len();
            skb.put(pad).fill(0);
        }
        let l = &mut self.links[link];
        let ser = l.serialization_time(skb.len());
        let done = now + ser;
        l.stats[dir].frames += 1;
        l.stats[dir].bytes += skb.len() as u64;
        self.frames_on_links += 1;
        // (Padding never matters here: the 60-byte minimum is below any MTU, at least 68.)
        let oversize = l.mtu.is_some_and(|mtu| skb.len() > ETH_HLEN + mtu as usize);
        let lost = !oversize && l.loss_ppm > 0 && l.rng.chance_ppm(l.loss_ppm);
        if oversize || lost {
            let what = if oversize {
                l.stats[dir].oversize += 1;
                "drop link_mtu"
            } else {
                l.stats[dir].lost += 1;
                "drop link_loss"
            };
            let end = l.ends[dir];
            if self.trace.frames() {
                let (node, devname) = self.port_names(end);
                let (node, devname) = (node.to_string(), devname.to_string());
                self.trace
                    .frame(now, &node, &devname, what, skb.data(), &[]);
            }
            self.kfree_skb(skb);
        } else {
            let arrive = done + l.delay;
            let slot = self.inflight.insert(skb);
            s.schedule_at(
                arrive,
                Event::Arrive {
                    link: link as u32,
                    dir: dir as u8,
                    frame: slot,
                },
            );
        }
        done
    }

    /// TX completion of a NIC: free the descriptor and the skb's socket memory, wake the
    /// queue, start the next frame.
    pub(crate) fn nic_tx_done(&mut self, s: &mut Scheduler<Event>, node: usize, dev: usize) {
        let d = &mut self.nodes[node].devs[dev];
        let desc = d.ring.on_wire.take().expect("a frame was on the wire");
        // The skb is consumed: its destructor releases the socket's send-buffer memory.
        if let Some(owner) = desc.sock {
            self.sock_wfree(owner, desc.truesize);
        }
        let d = &mut self.nodes[node].devs[dev];
        if !d.ring.waiting.is_empty() {
            self.nic_start_tx(s, node, dev);
        }
        let d = &mut self.nodes[node].devs[dev];
        if d.queue_stopped && !d.ring.is_full() {
            // netif_wake_queue → __netif_schedule → net_tx_action → qdisc_run
            d.queue_stopped = false;
            d.ring.stats.wakes += 1;
            self.qdisc_run(s, node, dev);
        }
    }

    /// A frame's last bit arrived at a NIC: `netif_receive_skb`.
    pub(crate) fn netif_receive_skb(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        mut skb: Skb,
    ) {
        let now = s.now();
        skb.clear_path();
        // RX checksum offload (ethtool's rx-checksumming, on by default): the NIC checks the
        // UDP/TCP checksum and marks the skb CHECKSUM_UNNECESSARY when it is right. Nothing
        // on a modeled link alters a frame's bytes, so the verdict is the sender's.
        skb.csum_unnecessary = skb.l4_csum_good;
        note!(self, skb, "netif_receive_skb");
        self.tap(now, node, dev, "rx", &skb);
        let d = &mut self.nodes[node].devs[dev];
        d.stats.rx_packets += 1;
        d.stats.rx_bytes += skb.len() as u64;
        let Ok(frame) = EthernetFrame::new_checked(skb.data()) else {
            d.stats.rx_errors += 1;
            self.drop_skb(now, node, dev, "rx_runt", skb);
            return;
        };
        let dst = frame.dst_addr();
        let ethertype = frame.ethertype();
        // eth_type_trans: PACKET_HOST / BROADCAST / OTHERHOST.
        let host = dst == d.mac;
        if !host && !dst.is_broadcast() && !dst.is_multicast() {
            // PACKET_OTHERHOST: not for us; dropped silently by the IP layer.
            self.kfree_skb(skb);
            return;
        }
        skb.pull(14);
        skb.network_offset = u16::from(host);
        match ethertype {
            EtherType::Arp => {
                note!(self, skb, "arp_rcv");
                self.arp_rcv(s, node, dev, skb);
            }
            EtherType::Ipv4 => {
                self.ip_rcv(s, node, dev, skb, host);
            }
            _ => {
                let d = &mut self.nodes[node].devs[dev];
                d.stats.rx_dropped += 1;
                self.drop_skb(now, node, dev, "unknown_ethertype", skb);
            }
        }
    }

    /// The AF_PACKET tap: trace line and pcap record of the frame as it is now. (Inlined
    /// always: with capture and frame tracing off it is one test, on every frame.)
    #[inline(always)]
    fn tap(&mut self, now: sim_core::SimTime, node: usize, dev: usize, dir: &str, skb: &Skb) {
        if self.capture.is_some() || self.trace.frames() {
            self.tap_slow(now, node, dev, dir, skb);
        }
    }

    fn tap_slow(&mut self, now: sim_core::SimTime, node: usize, dev: usize, dir: &str, skb: &Skb) {
        let d = &self.nodes[node].devs[dev];
        if let (Some(cap), Some(ifc)) = (self.capture.as_mut(), d.capture.as_ref())
            && let Err(e) = cap.record(ifc, now, skb.data(), skb.path_comment().as_deref())
        {
            self.io_error.get_or_insert(e);
        }
        if self.trace.frames() {
            let n = &self.nodes[node];
            self.trace
                .frame(now, &n.name, &n.devs[dev].name, dir, skb.data(), skb.path());
        }
    }
}
