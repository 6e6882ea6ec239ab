//! NAT bindings (`nf_nat_core.c` of Linux 6.1), IPv4: a connection's source or
//! destination binding is chosen once, on its first packet, from the range the nat table's
//! target gave (`nf_nat_setup_info`), made unique against every entry's reply tuple
//! (`get_unique_tuple`, `nf_nat_used_tuple`), and then applied to every packet of the
//! connection in both directions (`nf_nat_packet`).
//!
//! Port choice as Linux 6.1 makes it: the original port when the tuple is unique and in
//! range; otherwise `nf_nat_l4proto_unique_tuple` walks the range (the given one, or by
//! the original port 1..511, 600..1023 or 1024..65535) from a random offset
//! (`get_random_u16()`, drawn from the node's [`SimRng`]) for at most 128 attempts, then
//! halves the attempts from a new random offset while they are at least 16. With several
//! addresses, `find_best_ips_proto` picks one by `jhash2` of the source address, seeded by
//! the destination (not with `--persistent`), read as an x86 (little-endian) kernel reads
//! the words.
//!
//! Not modeled: helpers and expectations (FTP, SIP…), `NF_NAT_RANGE_PROTO_OFFSET`
//! (NETMAP-style offsets), the masquerade device notifier (`nf_nat_oif_changed`), IPv6.

use std::net::Ipv4Addr;

use sim_core::{SimRng, SimTime};

use super::Hook;
use super::conntrack::{Conntrack, CtId, IpCtInfo, IpsStatus, NfConn};
use super::conntrack_tuple::{IpCtDir, Tuple};
use super::nat_proto;
use super::target::NatTo;
use crate::wire::IpProtocol;

/// `enum nf_nat_manip_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ManipType {
    /// `NF_NAT_MANIP_SRC`: SNAT, MASQUERADE (`POST_ROUTING`, `LOCAL_IN`).
    Src,
    /// `NF_NAT_MANIP_DST`: DNAT, REDIRECT (`PRE_ROUTING`, `LOCAL_OUT`).
    Dst,
}

impl ManipType {
    /// `HOOK2MANIP`: `Src` at `POST_ROUTING` and `LOCAL_IN`, `Dst` elsewhere.
    #[must_use]
    pub const fn of_hook(hook: Hook) -> Self {
        match hook {
            Hook::PostRouting | Hook::LocalIn => Self::Src,
            Hook::PreRouting | Hook::LocalOut | Hook::Forward => Self::Dst,
        }
    }

    /// The status bits that say this manip's binding is set up (`IPS_*_NAT_DONE`).
    const fn done_bit(self) -> IpsStatus {
        match self {
            Self::Src => IpsStatus::SRC_NAT_DONE,
            Self::Dst => IpsStatus::DST_NAT_DONE,
        }
    }

    /// The status bit that says this manip rewrites the packet (`IPS_SRC_NAT` / `IPS_DST_NAT`).
    const fn nat_bit(self) -> IpsStatus {
        match self {
            Self::Src => IpsStatus::SRC_NAT,
            Self::Dst => IpsStatus::DST_NAT,
        }
    }
}

/// `NF_NAT_RANGE_*` flags of a [`NatRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct NatRangeFlags(pub u32);

impl NatRangeFlags {
    /// `NF_NAT_RANGE_MAP_IPS`: the addresses are set.
    pub const MAP_IPS: Self = Self(1 << 0);
    /// `NF_NAT_RANGE_PROTO_SPECIFIED`: the ports (or ICMP ids) are set (`--to-ports`,
    /// `:port-port`).
    pub const PROTO_SPECIFIED: Self = Self(1 << 1);
    /// `NF_NAT_RANGE_PROTO_RANDOM`: `--random`.
    pub const PROTO_RANDOM: Self = Self(1 << 2);
    /// `NF_NAT_RANGE_PERSISTENT`: `--persistent`.
    pub const PERSISTENT: Self = Self(1 << 3);
    /// `NF_NAT_RANGE_PROTO_RANDOM_FULLY`: `--random-fully`.
    pub const PROTO_RANDOM_FULLY: Self = Self(1 << 4);
    /// `NF_NAT_RANGE_PROTO_RANDOM_ALL`.
    pub const PROTO_RANDOM_ALL: Self = Self(Self::PROTO_RANDOM.0 | Self::PROTO_RANDOM_FULLY.0);

    /// Any bit of `other` is set.
    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl NatRangeFlags {
    /// `--random`, `--random-fully` and `--persistent` of a NAT target.
    #[must_use]
    pub fn from_nat_to(to: &NatTo) -> Self {
        let mut f = Self::default();
        if to.random {
            f = f | Self::PROTO_RANDOM;
        }
        if to.random_fully {
            f = f | Self::PROTO_RANDOM_FULLY;
        }
        if to.persistent {
            f = f | Self::PERSISTENT;
        }
        f
    }
}

impl core::ops::BitOr for NatRangeFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// `struct nf_nat_range2` for IPv4: what a SNAT/DNAT/MASQUERADE/REDIRECT target asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatRange {
    /// Flags.
    pub flags: NatRangeFlags,
    /// `min_addr` (with `MAP_IPS`).
    pub min_addr: Ipv4Addr,
    /// `max_addr` (with `MAP_IPS`).
    pub max_addr: Ipv4Addr,
    /// `min_proto`: lowest port or ICMP id (with `PROTO_SPECIFIED`).
    pub min_proto: u16,
    /// `max_proto`: highest port or ICMP id (with `PROTO_SPECIFIED`).
    pub max_proto: u16,
}

impl NatRange {
    /// `--to-source`/`--to-destination ADDR[-ADDR][:PORT[-PORT]]` and the flags.
    #[must_use]
    pub fn new(
        addrs: (Ipv4Addr, Ipv4Addr),
        ports: Option<(u16, u16)>,
        extra: NatRangeFlags,
    ) -> Self {
        let mut flags = extra | NatRangeFlags::MAP_IPS;
        let (min_proto, max_proto) = match ports {
            Some(p) => {
                flags = flags | NatRangeFlags::PROTO_SPECIFIED;
                p
            }
            None => (0, 0),
        };
        Self {
            flags,
            min_addr: addrs.0,
            max_addr: addrs.1,
            min_proto,
            max_proto,
        }
    }

    /// The range of an `-j SNAT`/`-j DNAT` target (`--to-source`/`--to-destination
    /// [ADDR[-ADDR]][:PORT[-PORT]]` and its flags). Without an address (`--to-destination
    /// :8080`) the addresses are not mapped (no `NF_NAT_RANGE_MAP_IPS`), as in the kernel.
    #[must_use]
    pub fn from_nat_to(to: &NatTo) -> Self {
        let mut flags = NatRangeFlags::from_nat_to(to);
        let (min_addr, max_addr) = match to.min_addr {
            Some(min) => {
                flags = flags | NatRangeFlags::MAP_IPS;
                (min, to.max_addr.unwrap_or(min))
            }
            None => (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED),
        };
        let (min_proto, max_proto) = match to.ports {
            Some(p) => {
                flags = flags | NatRangeFlags::PROTO_SPECIFIED;
                (p.min, p.max)
            }
            None => (0, 0),
        };
        Self {
            flags,
            min_addr,
            max_addr,
            min_proto,
            max_proto,
        }
    }

    /// `nf_nat_masquerade_ipv4`'s range: the out device's address (`inet_select_addr`,
    /// chosen by the caller) with the target's `--to-ports` and flags.
    #[must_use]
    pub fn masquerade(
        newsrc: Ipv4Addr,
        to_ports: Option<(u16, u16)>,
        extra: NatRangeFlags,
    ) -> Self {
        Self::new((newsrc, newsrc), to_ports, extra)
    }

    /// `nf_nat_redirect_ipv4`'s range: the in device's first address at `PRE_ROUTING`,
    /// 127.0.0.1 at `LOCAL_OUT` (chosen by the caller), with `--to-ports` and flags.
    #[must_use]
    pub fn redirect(newdst: Ipv4Addr, to_ports: Option<(u16, u16)>, extra: NatRangeFlags) -> Self {
        Self::new((newdst, newdst), to_ports, extra)
    }
}

/// What the nat table's chain decided for a new connection, as the caller of
/// [`Conntrack::nf_nat_ipv4_fn`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatTableVerdict {
    /// The chain ended without a NAT target (ACCEPT or policy): a null binding is set up.
    NoBinding,
    /// A SNAT/DNAT/MASQUERADE/REDIRECT target chose this range.
    Range(NatRange),
    /// MASQUERADE on a connection from 0.0.0.0: accepted without a binding for now.
    AcceptUnbound,
    /// A DROP in the nat chain.
    Drop,
}

/// `nf_nat_masquerade_ipv4`: the verdict of a MASQUERADE target for the entry `ct`.
/// `newsrc` is the address `inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE)` gives on
/// the out device (`None`: the device has none, "ate my IP address", dropped); a
/// connection from 0.0.0.0 is accepted without a binding.
#[must_use]
pub fn nf_nat_masquerade(
    ct: &NfConn,
    newsrc: Option<Ipv4Addr>,
    to_ports: Option<(u16, u16)>,
    flags: NatRangeFlags,
) -> NatTableVerdict {
    if ct.tuplehash[0].src == Ipv4Addr::UNSPECIFIED {
        return NatTableVerdict::AcceptUnbound;
    }
    match newsrc {
        Some(a) => NatTableVerdict::Range(NatRange::masquerade(a, to_ports, flags)),
        None => NatTableVerdict::Drop,
    }
}

/// The IP packet in `buf`: up to its total length, without link-layer padding after it.
fn ip_packet(buf: &mut [u8]) -> &mut [u8] {
    let total = buf
        .get(2..4)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let len = total.min(buf.len());
    &mut buf[..len]
}

/// `jhash2` (`include/linux/jhash.h`) of `k`.
fn jhash2(k: &[u32], initval: u32) -> u32 {
    let mut a = 0xdead_beef_u32
        .wrapping_add((k.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut b, mut c) = (a, a);
    let mut k = k;
    while k.len() > 3 {
        a = a.wrapping_add(k[0]);
        b = b.wrapping_add(k[1]);
        c = c.wrapping_add(k[2]);
        // __jhash_mix
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(4);
        b = b.wrapping_add(a);
        k = &k[3..];
    }
    if k.is_empty() {
        return c;
    }
    if k.len() == 3 {
        c = c.wrapping_add(k[2]);
    }
    if k.len() >= 2 {
        b = b.wrapping_add(k[1]);
    }
    a = a.wrapping_add(k[0]);
    // __jhash_final
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// An IPv4 address as the u32 an x86 kernel reads from its network-order bytes.
fn addr_word(a: Ipv4Addr) -> u32 {
    u32::from_le_bytes(a.octets())
}

/// `nf_nat_inet_in_range` for IPv4 (on the source address).
fn inet_in_range(t: &Tuple, range: &NatRange) -> bool {
    let s = u32::from(t.src);
    s >= u32::from(range.min_addr) && s <= u32::from(range.max_addr)
}

/// `l4proto_in_range`.
fn l4proto_in_range(t: &Tuple, maniptype: ManipType, min: u16, max: u16) -> bool {
    let v = match IpProtocol(t.protonum) {
        IpProtocol::Icmp => t.src_u,
        IpProtocol::Tcp | IpProtocol::Udp => match maniptype {
            ManipType::Src => t.src_u,
            ManipType::Dst => t.dst_u,
        },
        _ => return true,
    };
    v >= min && v <= max
}

/// `nf_in_range`.
fn nf_in_range(t: &Tuple, range: &NatRange) -> bool {
    if range.flags.intersects(NatRangeFlags::MAP_IPS) && !inet_in_range(t, range) {
        return false;
    }
    if !range.flags.intersects(NatRangeFlags::PROTO_SPECIFIED) {
        return true;
    }
    l4proto_in_range(t, ManipType::Src, range.min_proto, range.max_proto)
}

/// `find_best_ips_proto`.
fn find_best_ips_proto(t: &mut Tuple, range: &NatRange, maniptype: ManipType) {
    if !range.flags.intersects(NatRangeFlags::MAP_IPS) {
        return;
    }
    let var = match maniptype {
        ManipType::Src => &mut t.src,
        ManipType::Dst => &mut t.dst,
    };
    if range.min_addr == range.max_addr {
        *var = range.min_addr;
        return;
    }
    // union nf_inet_addr is four words; IPv4 uses the first.
    let words = [addr_word(t.src), 0, 0, 0];
    let persistent = range.flags.intersects(NatRangeFlags::PERSISTENT);
    let j = jhash2(&words, if persistent { 0 } else { addr_word(t.dst) });
    let minip = u32::from(range.min_addr);
    let dist = u32::from(range.max_addr)
        .wrapping_sub(minip)
        .wrapping_add(1);
    // reciprocal_scale(j, dist)
    let scaled = ((u64::from(j) * u64::from(dist)) >> 32) as u32;
    let chosen = Ipv4Addr::from(minip.wrapping_add(scaled));
    match maniptype {
        ManipType::Src => t.src = chosen,
        ManipType::Dst => t.dst = chosen,
    }
}

impl Conntrack {
    /// `nf_nat_initialized`: the binding of `manip` is set up.
    #[must_use]
    pub fn nf_nat_initialized(&self, id: CtId, manip: ManipType) -> bool {
        self.get(id)
            .is_some_and(|ct| ct.status.contains(manip.done_bit()))
    }

    /// `nf_nat_used_tuple`: whether `tuple`'s reply is some other entry's tuple.
    fn nf_nat_used_tuple(&mut self, now: SimTime, tuple: &Tuple, ignored: CtId) -> bool {
        let reply = tuple.inverted();
        self.tuple_taken(now, &reply, ignored)
    }

    /// `find_appropriate_src`: an existing SNAT mapping of the same source.
    fn find_appropriate_src(&self, now: SimTime, tuple: &Tuple, range: &NatRange) -> Option<Tuple> {
        self.by_source(now, tuple).find_map(|ct| {
            let mut result = ct.tuplehash[1].inverted();
            result.dst = tuple.dst;
            result.dst_u = tuple.dst_u;
            nf_in_range(&result, range).then_some(result)
        })
    }

    /// `nf_nat_l4proto_unique_tuple`.
    fn nf_nat_l4proto_unique_tuple(
        &mut self,
        now: SimTime,
        tuple: &mut Tuple,
        range: &NatRange,
        maniptype: ManipType,
        id: CtId,
        rng: &mut SimRng,
    ) {
        const MAX_ATTEMPTS: u32 = 128;
        let specified = range.flags.intersects(NatRangeFlags::PROTO_SPECIFIED);
        let is_icmp = tuple.protonum == IpProtocol::Icmp.0;
        // A reversed range is swapped (the kernel swaps ports; for ICMP ids a reversed range
        // would divide by zero there and cannot come from iptables).
        let given = || {
            let (lo, hi) = if range.max_proto < range.min_proto {
                (range.max_proto, range.min_proto)
            } else {
                (range.min_proto, range.max_proto)
            };
            (u32::from(lo), u32::from(hi) - u32::from(lo) + 1)
        };
        let (min, range_size): (u32, u32) = if is_icmp {
            if specified { given() } else { (0, 65536) }
        } else if matches!(
            IpProtocol(tuple.protonum),
            IpProtocol::Tcp | IpProtocol::Udp
        ) {
            if specified {
                given()
            } else {
                if maniptype == ManipType::Dst {
                    return;
                }
                let port = if maniptype == ManipType::Src {
                    tuple.src_u
                } else {
                    tuple.dst_u
                };
                if port < 1024 {
                    if port < 512 {
                        (1, 511)
                    } else {
                        (600, 1023 - 600 + 1)
                    }
                } else {
                    (1024, 65535 - 1024 + 1)
                }
            }
        } else {
            return;
        };
        let set = |t: &mut Tuple, v: u16| {
            if is_icmp || maniptype == ManipType::Src {
                t.src_u = v;
            } else {
                t.dst_u = v;
            }
        };
        let mut off = rng.next_u32() as u16;
        let mut attempts = range_size.min(MAX_ATTEMPTS);
        loop {
            for _ in 0..attempts {
                let v = (min + u32::from(off) % range_size) as u16;
                set(tuple, v);
                if !self.nf_nat_used_tuple(now, tuple, id) {
                    return;
                }
                off = off.wrapping_add(1);
            }
            if attempts >= range_size || attempts < 16 {
                return;
            }
            attempts /= 2;
            off = rng.next_u32() as u16;
        }
    }

    /// `get_unique_tuple`: the tuple the connection will have after this manip.
    fn get_unique_tuple(
        &mut self,
        now: SimTime,
        orig: &Tuple,
        range: &NatRange,
        id: CtId,
        maniptype: ManipType,
        rng: &mut SimRng,
    ) -> Tuple {
        let random_all = range.flags.intersects(NatRangeFlags::PROTO_RANDOM_ALL);
        if maniptype == ManipType::Src && !random_all {
            if nf_in_range(orig, range) {
                if !self.nf_nat_used_tuple(now, orig, id) {
                    return *orig;
                }
            } else if let Some(t) = self.find_appropriate_src(now, orig, range) {
                if !self.nf_nat_used_tuple(now, &t, id) {
                    return t;
                }
            }
        }
        let mut tuple = *orig;
        find_best_ips_proto(&mut tuple, range, maniptype);
        if !random_all {
            if range.flags.intersects(NatRangeFlags::PROTO_SPECIFIED) {
                if l4proto_in_range(&tuple, maniptype, range.min_proto, range.max_proto)
                    && (range.min_proto == range.max_proto
                        || !self.nf_nat_used_tuple(now, &tuple, id))
                {
                    return tuple;
                }
            } else if !self.nf_nat_used_tuple(now, &tuple, id) {
                return tuple;
            }
        }
        self.nf_nat_l4proto_unique_tuple(now, &mut tuple, range, maniptype, id, rng);
        tuple
    }

    /// `nf_nat_setup_info`: sets up the `manip` binding of the unconfirmed entry `id` from
    /// `range`. A confirmed entry is left alone (`NF_ACCEPT`); `false` (`NF_DROP`) when the
    /// binding is already set up or the entry is gone.
    pub fn nf_nat_setup_info(
        &mut self,
        now: SimTime,
        id: CtId,
        range: &NatRange,
        manip: ManipType,
        rng: &mut SimRng,
    ) -> bool {
        let Some(ct) = self.get(id) else { return false };
        if ct.is_confirmed() {
            return true;
        }
        if ct.status.contains(manip.done_bit()) {
            return false;
        }
        let curr = ct.tuplehash[1].inverted();
        let new = self.get_unique_tuple(now, &curr, range, id, manip, rng);
        if new != curr {
            self.alter_reply(id, new.inverted());
            if let Some(ct) = self.get_mut(id) {
                ct.status.insert(manip.nat_bit());
            }
        }
        if manip == ManipType::Src {
            self.nat_bysource_add(id);
        }
        if let Some(ct) = self.get_mut(id) {
            ct.status.insert(manip.done_bit());
        }
        true
    }

    /// `nf_nat_alloc_null_binding`: the binding that keeps the addresses (only a port
    /// clash with another connection changes the port).
    pub fn nf_nat_alloc_null_binding(
        &mut self,
        now: SimTime,
        id: CtId,
        hook: Hook,
        rng: &mut SimRng,
    ) -> bool {
        let manip = ManipType::of_hook(hook);
        let Some(ct) = self.get(id) else { return false };
        let r = ct.tuplehash[1];
        let ip = match manip {
            ManipType::Src => r.dst,
            ManipType::Dst => r.src,
        };
        let range = NatRange {
            flags: NatRangeFlags::MAP_IPS,
            min_addr: ip,
            max_addr: ip,
            min_proto: 0,
            max_proto: 0,
        };
        self.nf_nat_setup_info(now, id, &range, manip, rng)
    }

    /// `nf_nat_packet`: applies the entry's binding for this hook's manip to the packet in
    /// place. `false` (`NF_DROP`) when the packet is too short to rewrite.
    pub fn nf_nat_packet(&self, id: CtId, info: IpCtInfo, hook: Hook, ip: &mut [u8]) -> bool {
        let Some(ct) = self.get(id) else { return true };
        let mtype = ManipType::of_hook(hook);
        let dir = info.dir();
        let mut statusbit = mtype.nat_bit();
        if dir == IpCtDir::Reply {
            statusbit = IpsStatus(statusbit.0 ^ IpsStatus::NAT_MASK.0);
        }
        if !ct.status.intersects(statusbit) {
            return true;
        }
        let target = ct.tuplehash[dir.other().index()].inverted();
        nat_proto::nf_nat_ipv4_manip_pkt(ip_packet(ip), 0, &target, mtype)
    }

    /// `nf_nat_icmp_reply_translation`: an ICMP error `RELATED` to a NAT'd connection gets
    /// its quoted packet, ICMP checksum and outer header translated. `false` (`NF_DROP`)
    /// when the message is short or its ICMP checksum bad.
    pub fn nf_nat_icmp_reply_translation(
        &self,
        id: CtId,
        info: IpCtInfo,
        hook: Hook,
        ip: &mut [u8],
    ) -> bool {
        let Some(ct) = self.get(id) else { return true };
        let dir = info.dir();
        let manip = ManipType::of_hook(hook);
        let hdrlen = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
        if ip.len() < hdrlen + 8 + 20 {
            return false;
        }
        if ip[hdrlen] == 5 {
            // ICMP_REDIRECT: only for connections without any NAT.
            if !ct.status.contains(IpsStatus::NAT_DONE_MASK) {
                return false;
            }
            if ct.status.intersects(IpsStatus::NAT_MASK) {
                return false;
            }
        }
        let mut statusbit = manip.nat_bit();
        if dir == IpCtDir::Reply {
            statusbit = IpsStatus(statusbit.0 ^ IpsStatus::NAT_MASK.0);
        }
        if !ct.status.intersects(statusbit) {
            return true;
        }
        let other = ct.tuplehash[dir.other().index()];
        nat_proto::icmp_reply_translate(ip_packet(ip), &other, &other.inverted(), manip)
    }

    /// `nf_nat_ipv4_fn` (with `nf_nat_inet_fn`): the work of the NAT hook at `hook`
    /// (`PRE_ROUTING` and `LOCAL_OUT` for DNAT, `POST_ROUTING` and `LOCAL_IN` for SNAT) on a
    /// packet carrying the entry `ct` (`None`: untracked or invalid, left alone). For a new
    /// connection (or an ICMP error related to one) whose binding for this hook is not set
    /// up, `consult` evaluates the nat table's chain on the entry and packet and says
    /// which range its target chose ([`nf_nat_masquerade`] for MASQUERADE); the binding (or the null binding) is set up, then the packet
    /// rewritten. `false` means `NF_DROP`. The caller compares the destination before and
    /// after to know whether to route again (`PRE_ROUTING`: `skb_dst_drop`; `LOCAL_OUT`:
    /// `ip_route_me_harder`).
    pub fn nf_nat_ipv4_fn(
        &mut self,
        now: SimTime,
        hook: Hook,
        ct: Option<(CtId, IpCtInfo)>,
        ip: &mut [u8],
        rng: &mut SimRng,
        consult: impl FnOnce(&NfConn, &[u8]) -> NatTableVerdict,
    ) -> bool {
        let Some((id, info)) = ct else { return true };
        if self.get(id).is_none() {
            return true;
        }
        let related = matches!(info, IpCtInfo::Related | IpCtInfo::RelatedReply);
        if related && ip.get(9) == Some(&IpProtocol::Icmp.0) {
            return self.nf_nat_icmp_reply_translation(id, info, hook, ip);
        }
        let manip = ManipType::of_hook(hook);
        if (related || info == IpCtInfo::New) && !self.nf_nat_initialized(id, manip) {
            let Some(ct) = self.get(id) else { return true };
            match consult(ct, ip) {
                NatTableVerdict::Drop => return false,
                NatTableVerdict::AcceptUnbound => return true,
                NatTableVerdict::Range(range) => {
                    if !self.nf_nat_setup_info(now, id, &range, manip, rng) {
                        return false;
                    }
                }
                NatTableVerdict::NoBinding => {}
            }
            if !self.nf_nat_initialized(id, manip)
                && !self.nf_nat_alloc_null_binding(now, id, hook, rng)
            {
                return false;
            }
        }
        self.nf_nat_packet(id, info, hook, ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::conntrack::CtVerdict;
    use crate::netfilter::conntrack::testpkt::{icmp, tcp, udp};

    #[test]
    fn jhash2_matches_the_kernel() {
        // Vectors from Linux 6.1's include/linux/jhash.h compiled with gcc on x86-64.
        assert_eq!(jhash2(&[], 0), 0xdead_beef);
        assert_eq!(jhash2(&[1, 2, 3, 4], 0), 0x6649_1246);
        // 10.0.0.1 seeded by 10.0.1.1, as find_best_ips_proto hashes them.
        let src = addr_word(Ipv4Addr::new(10, 0, 0, 1));
        let dst = addr_word(Ipv4Addr::new(10, 0, 1, 1));
        assert_eq!((src, dst), (0x0100_000a, 0x0101_000a));
        assert_eq!(jhash2(&[src, 0, 0, 0], dst), 0x8020_c4a0);
    }

    const C1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const C2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
    const WAN: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
    const SRV: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 80);
    const T0: SimTime = SimTime::ZERO;

    fn rng() -> SimRng {
        sim_core::RngStreams::new(7).stream("nat", 0)
    }

    /// A router's hooks for a forwarded packet: conntrack and DNAT at PRE_ROUTING, SNAT
    /// at POST_ROUTING with `snat` as the nat POSTROUTING chain's verdict, confirm.
    fn forward(
        ct: &mut Conntrack,
        rng: &mut SimRng,
        pkt: &mut [u8],
        dnat: NatTableVerdict,
        snat: NatTableVerdict,
    ) -> (CtId, IpCtInfo) {
        let CtVerdict::Tracked { id, info } = ct.nf_conntrack_in(T0, Hook::PreRouting, pkt, false)
        else {
            panic!("untracked")
        };
        assert!(
            ct.nf_nat_ipv4_fn(T0, Hook::PreRouting, Some((id, info)), pkt, rng, |_, _| {
                dnat
            })
        );
        assert!(
            ct.nf_nat_ipv4_fn(T0, Hook::PostRouting, Some((id, info)), pkt, rng, |_, _| {
                snat
            })
        );
        assert!(ct.confirm(T0, id));
        (id, info)
    }

    fn masq() -> NatTableVerdict {
        NatTableVerdict::Range(NatRange::masquerade(WAN, None, NatRangeFlags::default()))
    }

    fn ports(pkt: &[u8]) -> (u16, u16) {
        (
            u16::from_be_bytes([pkt[20], pkt[21]]),
            u16::from_be_bytes([pkt[22], pkt[23]]),
        )
    }

    /// The packet as it should be, checksums recomputed from scratch, vs the rewritten one.
    fn assert_checksums_valid(pkt: &[u8]) {
        let ip = etherparse::Ipv4Slice::from_slice(pkt).expect("ipv4");
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum(), "ip checksum");
        let l4 = ip.payload().payload;
        let (s, d) = (h.source, h.destination);
        match h.protocol.0 {
            6 => {
                let t = etherparse::TcpHeaderSlice::from_slice(l4)
                    .unwrap()
                    .to_header();
                let want = t
                    .calc_checksum_ipv4_raw(s, d, &l4[t.header_len()..])
                    .unwrap();
                assert_eq!(t.checksum, want, "tcp checksum");
            }
            17 => {
                let u = etherparse::UdpHeaderSlice::from_slice(l4)
                    .unwrap()
                    .to_header();
                if u.checksum != 0 {
                    let want = u.calc_checksum_ipv4_raw(s, d, &l4[8..]).unwrap();
                    assert_eq!(u.checksum, want, "udp checksum");
                }
            }
            _ => {}
        }
    }

    #[test]
    fn masquerade_gives_colliding_clients_different_ports() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let opts = [2, 4, 5, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7];
        let mut a = tcp((C1, 40000), (SRV, 80), 1, 0, 0x02, 64240, &opts, 0);
        forward(
            &mut ct,
            &mut rng,
            &mut a,
            NatTableVerdict::NoBinding,
            masq(),
        );
        // The first keeps its port: unique and no range asked for.
        assert_eq!(a, tcp((WAN, 40000), (SRV, 80), 1, 0, 0x02, 64240, &opts, 0));
        let mut b = tcp((C2, 40000), (SRV, 80), 9, 0, 0x02, 64240, &opts, 0);
        let (idb, _) = forward(
            &mut ct,
            &mut rng,
            &mut b,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let (pb, _) = ports(&b);
        assert_ne!(pb, 40000);
        assert!((1024..=65535).contains(&pb));
        assert_eq!(b, tcp((WAN, pb), (SRV, 80), 9, 0, 0x02, 64240, &opts, 0));
        assert_checksums_valid(&b);
        let e = ct.get(idb).unwrap();
        assert!(
            e.status
                .contains(IpsStatus(IpsStatus::SRC_NAT.0 | IpsStatus::NAT_DONE_MASK.0))
        );
        assert!(!e.status.contains(IpsStatus::DST_NAT));
        assert_eq!(ct.stat().found, 1, "one nf_conntrack_tuple_taken hit");

        // The server's answer to the second port goes back to the second client.
        let mut r = tcp((SRV, 80), (WAN, pb), 500, 10, 0x12, 65160, &opts, 0);
        let (id, info) = forward(
            &mut ct,
            &mut rng,
            &mut r,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!((id, info), (idb, IpCtInfo::EstablishedReply));
        assert_eq!(
            r,
            tcp((SRV, 80), (C2, 40000), 500, 10, 0x12, 65160, &opts, 0)
        );
        // Same seed, same choice: the port is a function of the node's RNG stream.
        let mut ct2 = Conntrack::default();
        let mut rng2 = self::rng();
        let mut a2 = tcp((C1, 40000), (SRV, 80), 1, 0, 0x02, 64240, &opts, 0);
        forward(
            &mut ct2,
            &mut rng2,
            &mut a2,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let mut b2 = tcp((C2, 40000), (SRV, 80), 9, 0, 0x02, 64240, &opts, 0);
        forward(
            &mut ct2,
            &mut rng2,
            &mut b2,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!(b2, b);
    }

    #[test]
    fn a_remapped_source_keeps_its_mapping_to_other_destinations() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let mut a = udp((C1, 40000), (SRV, 53), 4);
        forward(
            &mut ct,
            &mut rng,
            &mut a,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let mut b = udp((C2, 40000), (SRV, 53), 4);
        forward(
            &mut ct,
            &mut rng,
            &mut b,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let pb = ports(&b).0;
        // find_appropriate_src: the second client's next flow, elsewhere, reuses its port
        // although 40000 would be free there.
        let other = Ipv4Addr::new(10, 0, 1, 90);
        let mut c = udp((C2, 40000), (other, 123), 4);
        forward(
            &mut ct,
            &mut rng,
            &mut c,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!(c, udp((WAN, pb), (other, 123), 4));
        // Once that mapping is gone, the original port is used again.
        let mut ct2 = Conntrack::default();
        let mut d = udp((C2, 40000), (other, 123), 4);
        forward(
            &mut ct2,
            &mut rng,
            &mut d,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!(ports(&d).0, 40000);
    }

    #[test]
    fn snat_to_an_address_range_picks_as_linux_does() {
        // `-j SNAT --to-source 10.0.1.1-10.0.1.4` (and with --persistent) on Linux 6.18:
        // the address each (client, server) pair got, read from conntrack -L.
        let range = |flags| {
            NatTableVerdict::Range(NatRange::new(
                (Ipv4Addr::new(10, 0, 1, 1), Ipv4Addr::new(10, 0, 1, 4)),
                None,
                flags,
            ))
        };
        let srv2 = Ipv4Addr::new(10, 0, 1, 90);
        let cases = [
            (C1, SRV, 2, 4),
            (C1, srv2, 4, 4),
            (C2, SRV, 1, 4),
            (C2, srv2, 2, 4),
        ];
        for (c, s, plain, persistent) in cases {
            for (flags, want) in [
                (NatRangeFlags::default(), plain),
                (NatRangeFlags::PERSISTENT, persistent),
            ] {
                let mut ct = Conntrack::default();
                let mut p = udp((c, 5000), (s, 9), 1);
                forward(
                    &mut ct,
                    &mut rng(),
                    &mut p,
                    NatTableVerdict::NoBinding,
                    range(flags),
                );
                assert_eq!(p[12..16], [10, 0, 1, want], "{c} -> {s} {flags:?}");
            }
        }
    }

    #[test]
    fn nat_targets_give_kernel_ranges() {
        use crate::netfilter::xt_match::PortRange;
        let to = NatTo {
            min_addr: Some(WAN),
            max_addr: None,
            ports: Some(PortRange {
                min: 1000,
                max: 2000,
            }),
            random: true,
            persistent: true,
            ..NatTo::default()
        };
        let r = NatRange::from_nat_to(&to);
        assert_eq!(
            (r.min_addr, r.max_addr, r.min_proto, r.max_proto),
            (WAN, WAN, 1000, 2000)
        );
        let want = NatRangeFlags::MAP_IPS
            | NatRangeFlags::PROTO_SPECIFIED
            | NatRangeFlags::PROTO_RANDOM
            | NatRangeFlags::PERSISTENT;
        assert_eq!(r.flags, want);
        // DNAT --to-destination :8080 maps the port only.
        let port_only = NatTo {
            ports: Some(PortRange {
                min: 8080,
                max: 8080,
            }),
            ..NatTo::default()
        };
        let r = NatRange::from_nat_to(&port_only);
        assert_eq!(r.flags, NatRangeFlags::PROTO_SPECIFIED);
        let mut ct = Conntrack::default();
        let mut p = udp((SRV, 3333), (WAN, 80), 1);
        forward(
            &mut ct,
            &mut rng(),
            &mut p,
            NatTableVerdict::Range(r),
            NatTableVerdict::NoBinding,
        );
        assert_eq!(p, udp((SRV, 3333), (WAN, 8080), 1));
    }

    #[test]
    fn low_ports_stay_low_and_to_ports_is_obeyed() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let mut a = udp((C1, 600), (SRV, 53), 4);
        forward(
            &mut ct,
            &mut rng,
            &mut a,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let mut b = udp((C2, 600), (SRV, 53), 4);
        forward(
            &mut ct,
            &mut rng,
            &mut b,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let (pb, _) = ports(&b);
        assert!((600..=1023).contains(&pb) && pb != 600, "{pb}");
        assert_checksums_valid(&b);
        // --to-ports 2000-2001: both ports used, a third connection gets one of them anyway
        // (the kernel gives up after the range and keeps the last port tried).
        let range = NatTableVerdict::Range(NatRange::masquerade(
            WAN,
            Some((2000, 2001)),
            NatRangeFlags::default(),
        ));
        let mut got = Vec::new();
        for (i, c) in [C1, C2].into_iter().enumerate() {
            let mut p = udp((c, 7000 + i as u16), (SRV, 53), 4);
            forward(&mut ct, &mut rng, &mut p, NatTableVerdict::NoBinding, range);
            got.push(ports(&p).0);
        }
        got.sort_unstable();
        assert_eq!(got, [2000, 2001]);
    }

    #[test]
    fn dnat_rewrites_both_ways_and_a_zero_udp_checksum_stays_zero() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let inside = Ipv4Addr::new(10, 0, 0, 5);
        let dnat = NatTableVerdict::Range(NatRange::new(
            (inside, inside),
            Some((8080, 8080)),
            NatRangeFlags::default(),
        ));
        let mut q = udp((SRV, 3333), (WAN, 80), 10);
        forward(&mut ct, &mut rng, &mut q, dnat, NatTableVerdict::NoBinding);
        assert_eq!(q, udp((SRV, 3333), (inside, 8080), 10));
        let mut r = udp((inside, 8080), (SRV, 3333), 10);
        forward(&mut ct, &mut rng, &mut r, dnat, NatTableVerdict::NoBinding);
        assert_eq!(r, udp((WAN, 80), (SRV, 3333), 10));
        // Without a checksum (0): rewritten but left at 0.
        let mut z = udp((inside, 8080), (SRV, 3333), 10);
        z[26] = 0;
        z[27] = 0;
        forward(&mut ct, &mut rng, &mut z, dnat, NatTableVerdict::NoBinding);
        assert_eq!((z[26], z[27]), (0, 0));
        assert_eq!(ports(&z), (80, 3333));
    }

    #[test]
    fn icmp_echo_ids_are_nat_ports() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let mut a = icmp(C1, SRV, 8, 0, [0, 7, 0, 1], b"ping");
        forward(
            &mut ct,
            &mut rng,
            &mut a,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!(a, icmp(WAN, SRV, 8, 0, [0, 7, 0, 1], b"ping"));
        let mut b = icmp(C2, SRV, 8, 0, [0, 7, 0, 1], b"ping");
        forward(
            &mut ct,
            &mut rng,
            &mut b,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let id = u16::from_be_bytes([b[24], b[25]]);
        assert_ne!(id, 7);
        assert_eq!(
            b,
            icmp(
                WAN,
                SRV,
                8,
                0,
                id.to_be_bytes()
                    .into_iter()
                    .chain([0, 1])
                    .collect::<Vec<_>>()
                    .try_into()
                    .unwrap(),
                b"ping"
            )
        );
        let mut r = icmp(
            SRV,
            WAN,
            0,
            0,
            [id.to_be_bytes()[0], id.to_be_bytes()[1], 0, 1],
            b"ping",
        );
        forward(
            &mut ct,
            &mut rng,
            &mut r,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!(r, icmp(SRV, C2, 0, 0, [0, 7, 0, 1], b"ping"));
        // A range given backwards (5 down to 3) is used forwards.
        let back = NatTableVerdict::Range(NatRange::masquerade(
            WAN,
            Some((5, 3)),
            NatRangeFlags::default(),
        ));
        let mut c = icmp(C1, SRV, 8, 0, [0, 9, 0, 1], b"ping");
        forward(&mut ct, &mut rng, &mut c, NatTableVerdict::NoBinding, back);
        let id = u16::from_be_bytes([c[24], c[25]]);
        assert!((3..=5).contains(&id), "{id}");
    }

    #[test]
    fn icmp_errors_are_translated_with_their_quote() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let first = udp((C1, 40000), (SRV, 53), 30);
        let mut out = first.clone();
        forward(
            &mut ct,
            &mut rng,
            &mut out,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let mut second = udp((C2, 40000), (SRV, 53), 30);
        forward(
            &mut ct,
            &mut rng,
            &mut second,
            NatTableVerdict::NoBinding,
            masq(),
        );
        let port = ports(&second).0;
        // The server quotes what it received: the second client's datagram after NAT and
        // one hop (TTL 63, header checksum adjusted).
        let mut received = second.clone();
        received[8] = 63;
        let c = u16::from_be_bytes([received[10], received[11]]);
        received[10..12]
            .copy_from_slice(&crate::wire::checksum::update_word(c, 0x4011, 0x3f11).to_be_bytes());
        let mut err = icmp(SRV, WAN, 3, 3, [0; 4], &received[..48]);
        let (_, info) = forward(
            &mut ct,
            &mut rng,
            &mut err,
            NatTableVerdict::NoBinding,
            masq(),
        );
        assert_eq!(info, IpCtInfo::RelatedReply);
        // By hand: the client's own datagram, one hop older, quoted to the client.
        let mut orig = udp((C2, 40000), (SRV, 53), 30);
        orig[8] = 63;
        orig[10] = 0;
        orig[11] = 0;
        let c = !crate::wire::checksum::data(&orig[..20]);
        orig[10..12].copy_from_slice(&c.to_be_bytes());
        let expected = icmp(SRV, C2, 3, 3, [0; 4], &orig[..48]);
        assert_ne!(port, 40000);
        assert_eq!(err, expected);
        // A bad ICMP checksum: dropped.
        let mut bad = icmp(SRV, WAN, 3, 3, [0; 4], &received[..48]);
        let CtVerdict::Tracked { id, info } = ct.nf_conntrack_in(T0, Hook::LocalOut, &bad, false)
        else {
            panic!()
        };
        bad[22] ^= 1;
        assert!(!ct.nf_nat_ipv4_fn(
            T0,
            Hook::PreRouting,
            Some((id, info)),
            &mut bad,
            &mut rng,
            |_, _| masq()
        ));
    }

    /// Frames captured on Linux 6.18 (this machine) in network namespaces: a client
    /// 10.0.0.2 behind a router with `iptables -t nat -A POSTROUTING -o ctr1 -j
    /// MASQUERADE` (10.0.1.1) sends a UDP datagram to 10.0.1.80:5353, which has no
    /// listener and answers with a port unreachable. Checksum offload was off on every
    /// veth (`ethtool -K … tx off rx off`) so the captured checksums are complete. IP
    /// headers onwards, as tcpdump saw them on the router's two interfaces.
    const CLIENT_IN: &str = "4500003a68b740004011bcaa0a0000020a0001509c4014e900262a18787878787878787878787878787878787878787878787878787878787878";
    const SERVER_SIDE_OUT: &str = "4500003a68b740003f11bcab0a0001010a0001509c4014e900262919787878787878787878787878787878787878787878787878787878787878";
    const ERROR_IN: &str = "45c000562444000040013f530a0001500a00010103031385000000004500003a68b740003f11bcab0a0001010a0001509c4014e900262919787878787878787878787878787878787878787878787878787878787878";
    const CLIENT_SIDE_OUT: &str = "45c00056244400003f0141520a0001500a00000203031286000000004500003a68b740003f11bdaa0a0000020a0001509c4014e900262a18787878787878787878787878787878787878787878787878787878787878";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `ip_forward` between the two NAT hooks: the TTL, decremented as Linux does.
    fn route_and_forward(ct: &mut Conntrack, rng: &mut SimRng, pkt: &mut [u8]) -> (CtId, IpCtInfo) {
        let CtVerdict::Tracked { id, info } = ct.nf_conntrack_in(T0, Hook::PreRouting, pkt, false)
        else {
            panic!("untracked")
        };
        assert!(
            ct.nf_nat_ipv4_fn(T0, Hook::PreRouting, Some((id, info)), pkt, rng, |_, _| {
                NatTableVerdict::NoBinding
            })
        );
        crate::wire::Ipv4Packet::new_unchecked(&mut pkt[..]).decrement_ttl();
        assert!(
            ct.nf_nat_ipv4_fn(T0, Hook::PostRouting, Some((id, info)), pkt, rng, |c, _| {
                nf_nat_masquerade(c, Some(WAN), None, NatRangeFlags::default())
            })
        );
        assert!(ct.confirm(T0, id));
        (id, info)
    }

    #[test]
    fn masquerade_and_icmp_error_translation_match_linux_byte_for_byte() {
        let mut ct = Conntrack::default();
        let mut rng = rng();
        let mut out = unhex(CLIENT_IN);
        route_and_forward(&mut ct, &mut rng, &mut out);
        assert_eq!(out, unhex(SERVER_SIDE_OUT));
        let mut err = unhex(ERROR_IN);
        let (_, info) = route_and_forward(&mut ct, &mut rng, &mut err);
        assert_eq!(info, IpCtInfo::RelatedReply);
        assert_eq!(err, unhex(CLIENT_SIDE_OUT));
        // Link-layer padding after the packet is neither summed nor rewritten.
        let mut padded = unhex(CLIENT_IN);
        padded.extend_from_slice(&[0xee; 6]);
        let mut ct2 = Conntrack::default();
        route_and_forward(&mut ct2, &mut rng, &mut padded);
        let mut want = unhex(SERVER_SIDE_OUT);
        want.extend_from_slice(&[0xee; 6]);
        assert_eq!(padded, want);
        assert_eq!(
            ct.show_list(T0),
            "udp      17 30 src=10.0.0.2 dst=10.0.1.80 sport=40000 dport=5353 [UNREPLIED] \
             src=10.0.1.80 dst=10.0.1.1 sport=5353 dport=40000 mark=0 use=1\n"
        );
    }
}
