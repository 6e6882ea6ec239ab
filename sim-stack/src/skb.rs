//! The packet buffer, modeled on the kernel's `struct sk_buff`.
//!
//! An [`Skb`] owns a byte buffer with *headroom*: the transport layer writes its header and
//! payload, then each lower layer [`push`](SkbData::push)es its header in front (IP, then
//! Ethernet), as `skb_push` does, without copying what is already there. On receive each
//! layer [`pull`](SkbData::pull)s its header off the front.
//!
//! Besides the bytes it carries the metadata the stack needs on the way down: `truesize` (what
//! the buffer costs the owning socket's memory accounting, charged until TX completion frees
//! the skb), `priority` (set from the TOS byte, it picks the pfifo_fast band), the owning
//! socket, a flow hash (fq_codel), and timestamps.
//!
//! Buffers are recycled through an [`SkbPool`] so the hot path does not allocate per packet.
//!
//! An [`Skb`] is a handle (one pointer) to its [`SkbData`], like the kernel's `struct sk_buff
//! *`: a packet passes by value through some twenty functions on its way down and up the
//! stack and sits in qdisc and ring queues, and moving 8 bytes instead of the 112 of the
//! metadata is measurably cheaper. The handle dereferences to the data, so `skb.truesize` and
//! `skb.data()` read as if it were the struct itself. The pool recycles the whole allocation
//! (metadata and byte buffer), so steady-state traffic allocates nothing.

use std::ops::{Deref, DerefMut};

use sim_core::SimTime;

/// Bytes reserved in front of the data for headers pushed later (`MAX_HEADER` in Linux is of
/// this order: Ethernet 14 + IPv4 60 + TCP 60 fits with room to spare).
pub const HEADROOM: usize = 128;

/// Overhead the kernel adds to `truesize` beyond the data: `SKB_TRUESIZE` accounts for the
/// `sk_buff` and `skb_shared_info` structures (≈ 256 + 320 bytes on x86_64, rounded).
pub const SKB_OVERHEAD: u32 = 576;

/// The socket that owns an skb for memory accounting: (node index, socket index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SockRef {
    /// Index of the node in the world.
    pub node: u32,
    /// Index of the socket in the node's socket table.
    pub sock: u32,
}

/// A packet: a handle to its buffer and metadata ([`SkbData`], which it dereferences to).
#[derive(Clone)]
pub struct Skb(Box<SkbData>);

impl Deref for Skb {
    type Target = SkbData;
    #[inline]
    fn deref(&self) -> &SkbData {
        &self.0
    }
}

impl DerefMut for Skb {
    #[inline]
    fn deref_mut(&mut self) -> &mut SkbData {
        &mut self.0
    }
}

impl std::fmt::Debug for Skb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

/// `PACKET_*`: whom a received frame was addressed to (`skb->pkt_type`, set by
/// `eth_type_trans`). Sent packets are `Host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `PACKET_HOST`: to this interface's MAC.
    Host,
    /// `PACKET_BROADCAST`: to ff:ff:ff:ff:ff:ff.
    Broadcast,
    /// `PACKET_MULTICAST`: to a group address.
    Multicast,
    /// `PACKET_OTHERHOST`: to someone else (seen in promiscuous mode only).
    OtherHost,
}

/// A hash of a flow's addresses, ports and protocol (`skb_get_hash`, Linux's
/// `__skb_get_hash` over the flow keys), for qdiscs that sort packets by flow (fq_codel).
pub fn flow_hash(
    saddr: std::net::Ipv4Addr,
    daddr: std::net::Ipv4Addr,
    sport: u16,
    dport: u16,
    proto: u8,
) -> u32 {
    let x = (u64::from(u32::from(saddr)) << 32 | u64::from(u32::from(daddr)))
        ^ (u64::from(sport) << 48 | u64::from(dport) << 32 | u64::from(proto));
    crate::ip::output::mix64(x) as u32
}

/// A packet buffer with headroom, and the metadata that travels with it.
#[derive(Debug, Clone)]
pub struct SkbData {
    /// The buffer. A recycled skb keeps its bytes (the pool does not clear them): what lies
    /// outside `head..tail` is stale, and every way of adding bytes writes them first.
    buf: Vec<u8>,
    head: usize,
    tail: usize,
    /// `buf[zeros.0..zeros.1]` is known to hold zeros: written by
    /// [`put_zeros`](Self::put_zeros) and not written since. The next packet in a recycled
    /// buffer that puts zeros over the same bytes (a traffic generator's padding) need not
    /// write them again: a kilobyte less to pull into the cache per datagram.
    zeros: (usize, usize),
    /// Memory charged to the owning socket while the skb is alive (`skb->truesize`).
    pub truesize: u32,
    /// `skb->priority`, from the socket or the TOS byte; picks the pfifo_fast band.
    pub priority: u32,
    /// `skb->mark` (netfilter's `MARK`, `-m mark`), 0 unless a rule set it.
    pub mark: u32,
    /// Where the received frame's Ethernet header starts in the buffer (`skb->mac_header`),
    /// `u32::MAX` for a packet that was not received as a frame.
    mac_off: u32,
    /// `skb->_nfct`: the connection the packet belongs to and how
    /// ([`crate::netfilter::hook::NfCt`]), once conntrack has seen it.
    pub nfct: Option<crate::netfilter::hook::NfCt>,
    /// The owning socket, whose send buffer is charged until TX completion.
    pub sock: Option<SockRef>,
    /// A hash of the flow (addresses, ports, protocol), used by fq_codel.
    pub hash: u32,
    /// When the skb entered the current queue (CoDel's sojourn time).
    pub enqueue_time: SimTime,
    /// `skb->tstamp` on transmit: the earliest departure time a pacing TCP socket gave it
    /// (`tcp_wstamp_ns`, EDT), for a qdisc that honours it (fq); `ZERO` when not paced.
    pub tstamp: SimTime,
    /// A run-unique number for following one packet through the trace.
    pub id: u64,
    /// `skb->pkt_type`: whom a received frame was addressed to, as `eth_type_trans` says.
    pub pkt_type: PacketType,
    /// The transport checksum in the bytes is right: set where the stack computes it (UDP,
    /// TCP), kept while only the IP header changes (forwarding), false on anything built
    /// otherwise. The simulator's stand-in for what a receiving NIC's checksum engine would
    /// find, so that it need not re-read the payload (see `csum_unnecessary`).
    pub l4_csum_good: bool,
    /// `skb->ip_summed == CHECKSUM_UNNECESSARY`: the receiving NIC verified the transport
    /// checksum (RX checksum offload, on by default on Linux NICs), so UDP and TCP skip the
    /// software check. Set in `netif_receive_skb` from `l4_csum_good`.
    pub csum_unnecessary: bool,
    /// `skb_shinfo(skb)->gso_size`: the payload of each segment of a GSO packet (TCP's
    /// MSS), 0 for a packet that is not one.
    pub gso_size: u16,
    /// `skb_shinfo(skb)->gso_segs`: the segments a GSO packet stands for (1 otherwise).
    pub gso_segs: u16,
    /// What `qdisc_pkt_len_init` adds to a GSO packet's length for the headers of its
    /// segments after the first (`(gso_segs - 1) × hdr_len`), so that a qdisc accounts the
    /// bytes the segments take on the wire.
    pub gso_hdr_extra: u32,
    /// `skb_shinfo(skb)->tx_flags`: the transmit timestamps asked for
    /// (`SKBTX_*`, [`crate::sock::errqueue`]), 0 for nearly every packet.
    pub tx_flags: u8,
    /// `skb_shinfo(skb)->tskey`: the key of those timestamps (for TCP, the sequence number of
    /// the byte they are for).
    pub tskey: u32,
    /// The modeled kernel functions this packet went through (only with `--trace path`).
    path: Vec<&'static str>,
}

impl SkbData {
    /// Writes what a frame on a link carries to the receiving NIC, for a receiver in another
    /// process ([`SkbPool::wire_decode`]): its bytes and the metadata the receive path reads
    /// (`netif_receive_skb` clears the path, departure time, conntrack entry and mark, and
    /// works out the packet type itself).
    pub fn wire_encode(&self, out: &mut Vec<u8>) {
        let data = self.data();
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(data);
        for v in [
            u64::from(self.truesize),
            u64::from(self.priority),
            u64::from(self.hash),
            self.enqueue_time.as_nanos(),
            self.id,
            u64::from(self.l4_csum_good),
            u64::from(self.csum_unnecessary),
            u64::from(self.gso_size),
            u64::from(self.gso_segs),
            u64::from(self.gso_hdr_extra),
            u64::from(self.tx_flags),
            u64::from(self.tskey),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// The bytes currently in the packet, from the outermost header on.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.tail]
    }

    /// The bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.writing(self.head, self.tail);
        &mut self.buf[self.head..self.tail]
    }

    /// The first `n` bytes (a header), writable; the rest of the packet is left as it is.
    /// Panics if `n > len()`.
    #[inline]
    pub fn head_mut(&mut self, n: usize) -> &mut [u8] {
        assert!(n <= self.len(), "header beyond the data");
        self.writing(self.head, self.head + n);
        &mut self.buf[self.head..self.head + n]
    }

    /// Bytes `start..end` of the buffer are about to be written: they may no longer be
    /// zeros.
    #[inline]
    fn writing(&mut self, start: usize, end: usize) {
        if start < self.zeros.1 && self.zeros.0 < end {
            self.zeros = (0, 0);
        }
    }

    /// Whether packet bytes `off..off + len` are known to be zeros (put by
    /// [`put_zeros`](Self::put_zeros) and not written since), so a receiver can take them as
    /// zeros without reading them. False means unknown, not non-zero.
    #[inline]
    pub fn known_zeros(&self, off: usize, len: usize) -> bool {
        let start = self.head + off;
        self.zeros.0 <= start && start + len <= self.zeros.1 && start + len <= self.tail
    }

    /// Length of the packet in bytes (`skb->len`).
    #[inline]
    pub fn len(&self) -> usize {
        self.tail - self.head
    }

    /// Whether the packet holds no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// Bytes free in front of the data.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.head
    }

    /// Prepends `n` bytes and returns them for the caller to fill (`skb_push`). Grows the
    /// headroom if needed (a copy, as `skb_realloc_headroom` would do).
    #[inline]
    pub fn push(&mut self, n: usize) -> &mut [u8] {
        if n > self.head {
            let extra = n - self.head + HEADROOM;
            self.buf.splice(0..0, std::iter::repeat_n(0u8, extra));
            self.head += extra;
            self.tail += extra;
            self.zeros = (0, 0);
        }
        self.head -= n;
        self.writing(self.head, self.head + n);
        &mut self.buf[self.head..self.head + n]
    }

    /// `eth_type_trans`'s pull of the Ethernet header: removes the 14 bytes from the front and
    /// remembers where they are (`skb_mac_header`).
    #[inline]
    pub fn pull_mac(&mut self) {
        self.mac_off = self.head as u32;
        self.pull(14);
    }

    /// The received frame's Ethernet header, while it is still in front of the data.
    pub fn mac_header(&self) -> Option<[u8; 14]> {
        let at = self.mac_off as usize;
        (self.mac_off != u32::MAX && at + 14 <= self.head)
            .then(|| self.buf[at..at + 14].try_into().expect("14 bytes"))
    }

    /// Removes `n` bytes from the front (`skb_pull`). Panics if `n > len()`.
    #[inline]
    pub fn pull(&mut self, n: usize) {
        assert!(n <= self.len(), "skb_pull beyond the data");
        self.head += n;
    }

    /// Appends `n` bytes, zeroed, and returns them for the caller to fill (`skb_put`).
    #[inline]
    pub fn put(&mut self, n: usize) -> &mut [u8] {
        let (start, end) = (self.tail, self.tail + n);
        self.writing(start, end);
        let reused = self.buf.len().min(end);
        if start < reused {
            self.buf[start..reused].fill(0);
        }
        if end > self.buf.len() {
            self.buf.resize(end, 0);
        }
        self.tail = end;
        &mut self.buf[start..end]
    }

    /// Appends a copy of `bytes` (`skb_put_data`).
    #[inline]
    pub fn put_data(&mut self, bytes: &[u8]) {
        let (start, end) = (self.tail, self.tail + bytes.len());
        self.writing(start, end);
        if end <= self.buf.len() {
            self.buf[start..end].copy_from_slice(bytes);
        } else {
            // Copy what fits over stale bytes, append the rest: once, without zeroing first.
            let fits = self.buf.len() - start;
            self.buf[start..].copy_from_slice(&bytes[..fits]);
            self.buf.extend_from_slice(&bytes[fits..]);
        }
        self.tail = end;
    }

    /// Appends `n` zero bytes (`skb_put_zero`). Bytes known to be zeros already (see
    /// `zeros`) are not written again; those beyond the buffer's end are zeroed once, by
    /// growing it.
    #[inline]
    pub fn put_zeros(&mut self, n: usize) {
        let (start, end) = (self.tail, self.tail + n);
        if n > 0 && !(self.zeros.0 <= start && end <= self.zeros.1) {
            let reused = self.buf.len().min(end);
            if start < reused {
                self.buf[start..reused].fill(0);
            }
            if end > self.buf.len() {
                self.buf.resize(end, 0);
            }
            self.zeros = (start, end);
        }
        self.tail = end;
    }

    /// `skb_is_gso`: the packet stands for several segments, cut below the qdisc
    /// (`skb_gso_segment`) or by the NIC (TSO).
    #[inline]
    pub fn is_gso(&self) -> bool {
        self.gso_segs > 1
    }

    /// A copy of the recorded path, for a packet made from this one (a GSO segment).
    pub(crate) fn path_from(&mut self, other: &Self) {
        self.path.clear();
        self.path.extend_from_slice(&other.path);
    }

    /// Records that the packet went through the modeled function `f` (path tracing).
    #[inline]
    pub fn note(&mut self, f: &'static str) {
        self.path.push(f);
    }

    /// The functions recorded so far.
    #[inline]
    pub fn path(&self) -> &[&'static str] {
        &self.path
    }

    /// Forgets the recorded path (a received frame starts a new one).
    #[inline]
    pub fn clear_path(&mut self) {
        self.path.clear();
    }

    /// The path as one line (`a > b > c`), or `None` when nothing was recorded.
    pub fn path_comment(&self) -> Option<String> {
        (!self.path.is_empty()).then(|| self.path.join(" > "))
    }

    /// Shortens the packet to `len` bytes (`skb_trim`). Does nothing if already shorter.
    #[inline]
    pub fn trim(&mut self, len: usize) {
        if len < self.len() {
            self.tail = self.head + len;
        }
    }
}

/// Recycles packets (metadata and buffer) so that steady-state traffic allocates nothing.
///
/// Three free lists: small buffers (control packets: ARP, TCP ACKs and SYNs, DNS), large
/// ones (frames up to [`SkbPool::BIG`]), and big ones (TCP's GSO packets, up to 64 KiB). A
/// large buffer is allocated to the size first asked for and grows if a later packet needs
/// more, so a scenario's buffers settle at its largest frame rather than a fixed 1.7 KiB: a
/// queue of 10 240 1042-byte frames holds 11 MiB of buffers, not 17. GSO packets recycle
/// among themselves: were their buffers reused for frames, every frame queued in the
/// network would hold a 64 KiB buffer (6 ms of the k = 8 fat-tree of docs/datacenter.md
/// peaked at 154 MB that way, at 67 MB with the big buffers apart).
#[derive(Debug, Default)]
// The boxes are the point: a recycled skb reuses its allocation, metadata and buffer both.
#[allow(clippy::vec_box)]
pub struct SkbPool {
    free: Vec<Box<SkbData>>,
    free_small: Vec<Box<SkbData>>,
    free_big: Vec<Box<SkbData>>,
    next_id: u64,
    /// Buffers allocated fresh (not recycled), for the performance figures.
    pub allocated: u64,
}

impl SkbPool {
    /// Maximum number of idle buffers of each class kept for reuse.
    const KEEP: usize = 4096;
    /// Capacity of a small buffer: headroom and a packet of up to 128 bytes.
    const SMALL: usize = HEADROOM + 128;
    /// The largest capacity of a large buffer: headroom and a 9000-byte jumbo frame, with
    /// room for `Vec`'s doubling; a packet or buffer beyond it is big.
    pub const BIG: usize = 16 * 1024;

    /// The free list of buffers of capacity `cap`.
    #[allow(clippy::vec_box)] // the lists of the struct, boxes and all
    fn class(&mut self, cap: usize) -> &mut Vec<Box<SkbData>> {
        if cap <= Self::SMALL {
            &mut self.free_small
        } else if cap <= Self::BIG {
            &mut self.free
        } else {
            &mut self.free_big
        }
    }

    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new empty skb with [`HEADROOM`] in front and room for `payload` bytes after it
    /// (`alloc_skb` + `skb_reserve`). `truesize` is set from the allocation as Linux does
    /// (`SKB_TRUESIZE(size)`): the data rounded up to a power-of-two slab plus overhead.
    pub fn alloc(&mut self, payload: usize) -> Skb {
        let want = HEADROOM + payload;
        self.next_id += 1;
        let id = self.next_id;
        let truesize = truesize_for(payload);
        let small = want <= Self::SMALL;
        let Some(mut d) = self.class(want).pop() else {
            self.allocated += 1;
            let mut buf = Vec::with_capacity(if small { Self::SMALL } else { want });
            buf.resize(HEADROOM, 0);
            return Skb(Box::new(SkbData {
                buf,
                head: HEADROOM,
                tail: HEADROOM,
                zeros: (0, 0),
                truesize,
                priority: 0,
                mark: 0,
                mac_off: u32::MAX,
                nfct: None,
                sock: None,
                hash: 0,
                enqueue_time: SimTime::ZERO,
                tstamp: SimTime::ZERO,
                id,
                pkt_type: PacketType::Host,
                l4_csum_good: false,
                csum_unnecessary: false,
                gso_size: 0,
                gso_segs: 1,
                gso_hdr_extra: 0,
                tx_flags: 0,
                tskey: 0,
                path: Vec::new(),
            }));
        };
        // The bytes stay as the last packet left them (see `SkbData::buf`).
        if d.buf.len() < HEADROOM {
            d.buf.resize(HEADROOM, 0);
        }
        d.buf.reserve(want.saturating_sub(d.buf.len()));
        d.head = HEADROOM;
        d.tail = HEADROOM;
        d.truesize = truesize;
        d.priority = 0;
        d.mark = 0;
        d.mac_off = u32::MAX;
        d.nfct = None;
        d.sock = None;
        d.hash = 0;
        d.enqueue_time = SimTime::ZERO;
        d.tstamp = SimTime::ZERO;
        d.id = id;
        d.pkt_type = PacketType::Host;
        d.l4_csum_good = false;
        d.csum_unnecessary = false;
        d.gso_size = 0;
        d.gso_segs = 1;
        d.gso_hdr_extra = 0;
        d.tx_flags = 0;
        d.tskey = 0;
        d.path.clear();
        Skb(d)
    }

    /// An skb holding a copy of `frame` (a received frame, a clone for a flood).
    pub fn alloc_copy(&mut self, frame: &[u8]) -> Skb {
        let mut skb = self.alloc(frame.len());
        skb.put_data(frame);
        skb
    }

    /// The skb [`SkbData::wire_encode`] wrote, read from the front of `inp`.
    pub fn wire_decode(&mut self, inp: &mut &[u8]) -> Skb {
        fn word(inp: &mut &[u8]) -> u64 {
            let (head, rest) = inp.split_at(8);
            *inp = rest;
            u64::from_le_bytes(head.try_into().expect("8 bytes"))
        }
        let len = word(inp) as usize;
        let (data, rest) = inp.split_at(len);
        let mut skb = self.alloc_copy(data);
        *inp = rest;
        let mut take = || word(inp);
        skb.truesize = take() as u32;
        skb.priority = take() as u32;
        skb.hash = take() as u32;
        skb.enqueue_time = SimTime::from_nanos(take());
        skb.id = take();
        skb.l4_csum_good = take() != 0;
        skb.csum_unnecessary = take() != 0;
        skb.gso_size = take() as u16;
        skb.gso_segs = take() as u16;
        skb.gso_hdr_extra = take() as u32;
        skb.tx_flags = take() as u8;
        skb.tskey = take() as u32;
        skb
    }

    /// Returns the buffer of a freed skb (`kfree_skb` / `consume_skb`) for reuse.
    pub fn free(&mut self, skb: Skb) {
        let list = self.class(skb.buf.capacity());
        if list.len() < Self::KEEP {
            list.push(skb.0);
        }
    }
}

/// `SKB_TRUESIZE` for a linear skb of `payload` bytes: the kmalloc size class of headroom +
/// data (powers of two from 512) plus the `sk_buff` overhead.
pub fn truesize_for(payload: usize) -> u32 {
    let data = (HEADROOM + payload).next_power_of_two().max(512);
    u32::try_from(data)
        .unwrap_or(u32::MAX)
        .saturating_add(SKB_OVERHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_push_in_front_and_pull_off() {
        let mut pool = SkbPool::new();
        let mut skb = pool.alloc(4);
        skb.put_data(b"data");
        skb.push(2).copy_from_slice(b"L4");
        skb.push(3).copy_from_slice(b"IP3");
        assert_eq!(skb.data(), b"IP3L4data");
        skb.pull(3);
        assert_eq!(skb.data(), b"L4data");
        skb.trim(3);
        assert_eq!(skb.data(), b"L4d");
    }

    #[test]
    fn push_beyond_headroom_grows() {
        let mut pool = SkbPool::new();
        let mut skb = pool.alloc(1);
        skb.put_data(b"x");
        let big = vec![7u8; HEADROOM + 10];
        skb.push(big.len()).copy_from_slice(&big);
        assert_eq!(skb.len(), HEADROOM + 11);
        assert_eq!(*skb.data().last().unwrap(), b'x');
    }

    #[test]
    fn buffers_are_recycled() {
        let mut pool = SkbPool::new();
        for _ in 0..100 {
            let mut skb = pool.alloc(1500);
            skb.put(1500);
            pool.free(skb);
        }
        assert_eq!(pool.allocated, 1);
    }

    #[test]
    fn small_and_large_buffers_recycle_separately_and_large_ones_grow() {
        let mut pool = SkbPool::new();
        let ack = pool.alloc(66);
        let seg = pool.alloc(1000);
        assert!(ack.buf.capacity() <= SkbPool::SMALL);
        assert!(seg.buf.capacity() >= HEADROOM + 1000);
        pool.free(ack);
        pool.free(seg);
        assert_eq!((pool.free_small.len(), pool.free.len()), (1, 1));
        // A bigger packet reuses the large buffer and grows it; the small one stays small.
        let mut big = pool.alloc(1500);
        big.put(1500);
        let small = pool.alloc(40);
        assert_eq!(pool.allocated, 2);
        assert!(big.buf.capacity() >= HEADROOM + 1500);
        assert!(small.buf.capacity() <= SkbPool::SMALL);
        assert_eq!(big.data(), &[0u8; 1500][..]);
    }

    #[test]
    fn gso_sized_buffers_are_not_reused_for_frames() {
        let mut pool = SkbPool::new();
        let mut gso = pool.alloc(64 * 1024);
        gso.put(64 * 1024);
        pool.free(gso);
        assert_eq!((pool.free.len(), pool.free_big.len()), (0, 1));
        let frame = pool.alloc(1514);
        assert!(
            frame.buf.capacity() <= SkbPool::BIG,
            "a fresh frame-sized buffer"
        );
        let again = pool.alloc(60 * 1024);
        assert!(
            again.buf.capacity() >= HEADROOM + 64 * 1024,
            "the GSO buffer reused"
        );
        assert_eq!(pool.allocated, 2);
    }

    #[test]
    fn put_zeros_zeroes_reused_bytes_and_grows() {
        let mut pool = SkbPool::new();
        let mut skb = pool.alloc(64);
        skb.put(64).fill(0xAB);
        pool.free(skb);
        let mut skb = pool.alloc(64);
        skb.put_data(b"seq");
        skb.put_zeros(61);
        skb.put_zeros(100);
        assert_eq!(&skb.data()[..3], b"seq");
        assert_eq!(skb.len(), 164);
        assert!(skb.data()[3..].iter().all(|&b| b == 0));
        // Zeros after data written further on (a trim leaves stale bytes behind the tail).
        skb.trim(10);
        skb.data_mut()[9] = 1;
        skb.put_zeros(20);
        assert_eq!(skb.data()[9], 1);
        assert!(skb.data()[10..].iter().all(|&b| b == 0));
    }

    /// What a packet's bytes must be, kept as a plain vector, against the skb's calls.
    #[derive(Debug, Clone)]
    enum Op {
        /// Free the skb and allocate a new one for this many payload bytes.
        Realloc(usize),
        Put(usize),
        PutData(Vec<u8>),
        PutZeros(usize),
        Push(usize),
        Pull(usize),
        Trim(usize),
        /// Write a byte through `data_mut` (at an index modulo the length).
        Write(usize, u8),
        /// Write a byte through `head_mut` over the first bytes.
        WriteHead(usize, u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0usize..1500).prop_map(Op::Realloc),
            (0usize..64).prop_map(Op::Put),
            proptest::collection::vec(1u8..=255, 0..64).prop_map(Op::PutData),
            prop_oneof![0usize..64, 900usize..1100].prop_map(Op::PutZeros),
            (0usize..40).prop_map(Op::Push),
            (0usize..40).prop_map(Op::Pull),
            (0usize..1200).prop_map(Op::Trim),
            (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Op::Write(i, b)),
            (0usize..20, 1u8..=255).prop_map(|(i, b)| Op::WriteHead(i, b)),
        ]
    }

    proptest::proptest! {
        /// Recycled buffers keep stale bytes, and zeros known to be there are not written
        /// again: whatever the calls, the packet's bytes are what they should be.
        #[test]
        fn recycled_buffers_hold_exactly_the_bytes_put(
            ops in proptest::collection::vec(op(), 0..80),
        ) {
            let mut pool = SkbPool::new();
            let mut skb = pool.alloc(0);
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                match op {
                    Op::Realloc(n) => {
                        pool.free(skb);
                        skb = pool.alloc(n);
                        model.clear();
                    }
                    Op::Put(n) => {
                        skb.put(n);
                        model.resize(model.len() + n, 0);
                    }
                    Op::PutData(b) => {
                        skb.put_data(&b);
                        model.extend_from_slice(&b);
                    }
                    Op::PutZeros(n) => {
                        skb.put_zeros(n);
                        model.resize(model.len() + n, 0);
                    }
                    Op::Push(n) => {
                        skb.push(n).fill(0x5a);
                        model.splice(0..0, std::iter::repeat_n(0x5a, n));
                    }
                    Op::Pull(n) => {
                        let n = n.min(model.len());
                        skb.pull(n);
                        model.drain(..n);
                    }
                    Op::Trim(n) => {
                        skb.trim(n);
                        model.truncate(n);
                    }
                    Op::Write(i, b) if !model.is_empty() => {
                        let i = i % model.len();
                        skb.data_mut()[i] = b;
                        model[i] = b;
                    }
                    Op::WriteHead(i, b) if i < model.len() => {
                        skb.head_mut(i + 1)[i] = b;
                        model[i] = b;
                    }
                    Op::Write(..) | Op::WriteHead(..) => {}
                }
                proptest::prop_assert_eq!(skb.data(), &model[..]);
            }
        }
    }

    #[test]
    fn zeros_already_there_are_not_written_again() {
        let mut pool = SkbPool::new();
        let mut skb = pool.alloc(1008);
        skb.put(8);
        skb.put_data(b"seq");
        skb.put_zeros(997);
        let zeros = skb.zeros;
        assert_eq!(zeros, (HEADROOM + 11, HEADROOM + 1008));
        pool.free(skb);
        // The same layout again: the zeros are still there, so the range is unchanged and
        // the bytes are not rewritten; a write into them forgets it.
        let mut skb = pool.alloc(1008);
        skb.put(8);
        skb.put_data(b"SEQ");
        skb.put_zeros(997);
        assert_eq!(skb.zeros, zeros);
        assert!(skb.data()[11..].iter().all(|&b| b == 0));
        skb.head_mut(8)[0] = 1;
        assert_eq!(
            skb.zeros, zeros,
            "a header write leaves the payload's zeros alone"
        );
        // What a receiver may take as zeros: inside the zeros put, wherever the head is.
        assert!(skb.known_zeros(11, 997));
        assert!(!skb.known_zeros(10, 997), "b\"SEQ\" is not zeros");
        skb.pull(8);
        assert!(skb.known_zeros(3, 997) && !skb.known_zeros(3, 998));
        skb.data_mut()[500] = 1;
        assert_eq!(skb.zeros, (0, 0));
        assert!(!skb.known_zeros(3, 10));
    }

    #[test]
    fn truesize_follows_slab_classes() {
        assert_eq!(truesize_for(0), 512 + SKB_OVERHEAD);
        assert_eq!(truesize_for(1500), 2048 + SKB_OVERHEAD);
    }
}
