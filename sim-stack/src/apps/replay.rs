//! `replay`: tcpreplay in the simulator. The frames of a pcap or pcapng file, read when the
//! scenario is loaded ([`read_capture`]), are sent through an `AF_PACKET` socket on one of
//! the node's interfaces ([`crate::sock::packet`]) with the capture's spacing, as
//! `tcpreplay -i IFACE FILE` sends them; the options are named as tcpreplay and tcprewrite
//! name them.
//!
//! * **Timing** ([`ReplaySpeed`]): by default each frame leaves at the start plus its time
//!   since the capture's first frame (`--multiplier 1`); `multiplier X` divides those times
//!   by X; `mbps R` sends as if at R Mbit/s (each frame when the bytes sent before it would
//!   have taken that long), `pps N` N frames a second (a failed frame takes no slot, as in
//!   tcpreplay, whose rates count the packets sent), `topspeed` as fast as the socket takes
//!   them. A frame whose time has passed (a timestamp going backwards, or a send that had to
//!   wait) leaves at once, as tcpreplay's timer does. `loop N` replays the file N times
//!   (0: until the app stops), each loop starting when the last frame of the one before left;
//!   `limit N` stops after N frames sent (tcpreplay's `--limit` does not count failures).
//! * **Sending** is tcpreplay's `sendpacket` over `PF_PACKET`: a `SOCK_RAW` socket of
//!   protocol `ETH_P_ALL` bound to the interface, blocking (a full send buffer waits for TX
//!   completion). A frame the qdisc drops (`ENOBUFS`) is sent again, counted as "retried",
//!   after the time the interface takes to serialize it (tcpreplay retries at once, in a busy
//!   loop that gets through when the queue has room); any other error (`EMSGSIZE` for a frame
//!   above the MTU) fails that frame, counted by errno, and the replay goes on. A loop in
//!   which every frame failed ends the replay (tcpreplay would spin on it forever).
//! * **Rewriting** ([`Rewrite`], tcprewrite's): `srcipmap` / `dstipmap` (`A/len:B/len`, the
//!   first map matching an address gives it B's network bits and keeps its host bits, as
//!   tcpedit's `remap_ipv4` does), `pnat` (both addresses, when the two maps changed
//!   nothing; and the addresses of an ARP packet, as tcprewrite's `--pnat` rewrites them),
//!   `enet_smac` / `enet_dmac`. A frame whose IPv4 addresses changed gets its IPv4
//!   header checksum and its TCP, UDP or ICMP checksum computed again (tcprewrite's
//!   `fixcsum`, which it does whenever it rewrites); `fixcsum on` does so on every IPv4
//!   frame. A fragment other than a whole datagram keeps its transport checksum (it covers
//!   bytes the fragment does not hold). IPv6 addresses are left as they are, and so are
//!   ARP's but by `pnat`. The result is tcprewrite 4.4's byte for byte (a test runs it when
//!   it is installed).
//! * **Link types**: Ethernet (`EN10MB`), and Linux cooked captures (`LINUX_SLL`, what
//!   `tcpdump -i any` writes) made into Ethernet frames as `tcprewrite --dlt=enet` makes
//!   them: the destination from `enet_dmac` (required), the source from the cooked header's
//!   address (or `enet_smac`). Any other link type is refused when the scenario is loaded.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime, TimerId};

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use crate::sock::packet::{ETH_P_ALL, SockaddrLl};
use crate::sock::syscall::{Fd, PollEvents, SockType};
use crate::sock::{Errno, SockId};
use crate::wire::checksum;

/// `LINKTYPE_ETHERNET` (`DLT_EN10MB`).
pub const LINKTYPE_ETHERNET: u32 = 1;
/// `LINKTYPE_LINUX_SLL`: Linux cooked capture v1.
pub const LINKTYPE_LINUX_SLL: u32 = 113;

/// One frame of the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayFrame {
    /// Its time after the capture's first frame, in ns (0 for one stamped before it).
    pub offset_ns: u64,
    /// Its length on the wire when it was captured (`orig_len`); the bytes may be fewer.
    pub wire_len: u32,
    /// The captured bytes (hex in RON and JSON).
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

/// A capture file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// `pcap` or `pcapng`.
    pub format: &'static str,
    /// The frames' link type (`LINKTYPE_*`).
    pub linktype: u32,
    /// The frames, in file order.
    pub frames: Vec<ReplayFrame>,
}

/// Why a file cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// Neither pcap's nor pcapng's magic number.
    #[error("not a pcap or pcapng file (it starts with {0})")]
    NotCapture(String),
    /// The file stops inside a header or a frame.
    #[error("the file is cut short inside {0}")]
    Truncated(String),
    /// A block or record the reader refuses.
    #[error("{what} at frame {frame}")]
    Corrupt {
        /// Frames read before it, plus one.
        frame: usize,
        /// The reader's words.
        what: String,
    },
    /// No frame at all.
    #[error("the capture holds no frame")]
    Empty,
    /// A link type other than Ethernet or Linux cooked.
    #[error(
        "its link type is {name} ({code}); replay sends Ethernet frames (EN10MB, or LINUX_SLL made into Ethernet)"
    )]
    LinkType {
        /// `LINKTYPE_*`.
        code: u32,
        /// Its name.
        name: String,
    },
    /// A pcapng file whose interfaces have different link types.
    #[error("its interfaces have different link types ({0} and {1})")]
    MixedLinkTypes(u32, u32),
    /// A cooked frame too short for its header.
    #[error("frame {0} is shorter than a Linux cooked header (16 bytes)")]
    ShortSll(usize),
    /// A cooked capture without `enet_dmac`.
    #[error(
        "a Linux cooked capture has no destination MAC: give `enet_dmac` (as tcprewrite --dlt=enet needs --enet-dmac)"
    )]
    SllNeedsDmac,
}

/// The name libpcap gives link type `code`.
pub fn linktype_name(code: u32) -> String {
    match code {
        0 => "NULL".into(),
        1 => "EN10MB".into(),
        101 => "RAW".into(),
        105 => "IEEE802_11".into(),
        113 => "LINUX_SLL".into(),
        127 => "IEEE802_11_RADIOTAP".into(),
        276 => "LINUX_SLL2".into(),
        c => format!("LINKTYPE_{c}"),
    }
}

/// Reads a pcap (micro- or nanosecond, either byte order) or pcapng file: its link type and
/// frames, with their times after the first frame. A file of another link type than
/// Ethernet or Linux cooked is refused.
pub fn read_capture(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let magic = bytes.get(..4).ok_or_else(|| {
        if bytes.is_empty() {
            CaptureError::NotCapture("nothing: it is empty".into())
        } else {
            CaptureError::Truncated("the file header".into())
        }
    })?;
    let (format, linktype, stamped) = match magic {
        [0xa1, 0xb2, 0xc3, 0xd4]
        | [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d]
        | [0x4d, 0x3c, 0xb2, 0xa1] => {
            let (l, f) = read_pcap(bytes)?;
            ("pcap", l, f)
        }
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            let (l, f) = read_pcapng(bytes)?;
            ("pcapng", l, f)
        }
        m => {
            return Err(CaptureError::NotCapture(format!(
                "{:02x} {:02x} {:02x} {:02x}",
                m[0], m[1], m[2], m[3]
            )));
        }
    };
    if !matches!(linktype, LINKTYPE_ETHERNET | LINKTYPE_LINUX_SLL) {
        return Err(CaptureError::LinkType {
            code: linktype,
            name: linktype_name(linktype),
        });
    }
    let Some(&(first, _, _)) = stamped.first() else {
        return Err(CaptureError::Empty);
    };
    let frames = stamped
        .into_iter()
        .map(|(ts, wire_len, data)| ReplayFrame {
            offset_ns: ts.saturating_sub(first),
            wire_len,
            data,
        })
        .collect();
    Ok(Capture {
        format,
        linktype,
        frames,
    })
}

/// A frame as read: its time in ns, its wire length, its bytes.
type Stamped = (u64, u32, Vec<u8>);

fn read_pcap(bytes: &[u8]) -> Result<(u32, Vec<Stamped>), CaptureError> {
    use pcap_file::PcapError;
    let (mut rest, parser) = pcap_file::pcap::PcapParser::new(bytes).map_err(|e| match e {
        PcapError::IncompleteBuffer => CaptureError::Truncated("the file header".into()),
        e => CaptureError::Corrupt {
            frame: 0,
            what: e.to_string(),
        },
    })?;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let n = frames.len() + 1;
        match parser.next_packet(rest) {
            Ok((r, p)) => {
                frames.push((
                    p.timestamp.as_nanos() as u64,
                    p.orig_len,
                    p.data.into_owned(),
                ));
                rest = r;
            }
            Err(PcapError::IncompleteBuffer) => {
                return Err(CaptureError::Truncated(format!("frame {n}")));
            }
            Err(e) => {
                return Err(CaptureError::Corrupt {
                    frame: n,
                    what: e.to_string(),
                });
            }
        }
    }
    Ok((u32::from(parser.header().datalink), frames))
}

fn read_pcapng(bytes: &[u8]) -> Result<(u32, Vec<Stamped>), CaptureError> {
    use pcap_file::PcapError;
    use pcap_file::pcapng::Block;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    let trunc = |n: usize| {
        if n == 0 {
            CaptureError::Truncated("the section header".into())
        } else {
            CaptureError::Truncated(format!("the block after frame {}", n - 1))
        }
    };
    let (mut rest, mut parser) =
        pcap_file::pcapng::PcapNgParser::new(bytes).map_err(|e| match e {
            PcapError::IncompleteBuffer => trunc(0),
            e => CaptureError::Corrupt {
                frame: 0,
                what: e.to_string(),
            },
        })?;
    let mut frames: Vec<Stamped> = Vec::new();
    let mut linktype: Option<u32> = None;
    while !rest.is_empty() {
        let n = frames.len() + 1;
        let (r, block) = parser.next_block(rest).map_err(|e| match e {
            PcapError::IncompleteBuffer => trunc(n),
            e => CaptureError::Corrupt {
                frame: n,
                what: e.to_string(),
            },
        })?;
        rest = r;
        // The interface a frame was captured on: its link type and tick.
        let iface = |id: u32| -> Result<(u32, u8), CaptureError> {
            let i = parser
                .interfaces()
                .get(id as usize)
                .ok_or_else(|| CaptureError::Corrupt {
                    frame: n,
                    what: format!("a packet of interface {id}, which no block describes"),
                })?;
            let resol = i
                .options
                .iter()
                .find_map(|o| match o {
                    InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                    _ => None,
                })
                .unwrap_or(6);
            Ok((u32::from(i.linktype), resol))
        };
        let (id, ticks, wire_len, data) = match block {
            Block::EnhancedPacket(p) => (
                p.interface_id,
                Some(p.timestamp.as_nanos() as u64),
                p.original_len,
                p.data.into_owned(),
            ),
            Block::Packet(p) => (
                u32::from(p.interface_id),
                Some(p.timestamp),
                p.original_len,
                p.data.into_owned(),
            ),
            // No timestamp: it leaves with the frame before it.
            Block::SimplePacket(p) => (0, None, p.original_len, p.data.into_owned()),
            _ => continue,
        };
        let (lt, resol) = iface(id)?;
        match linktype {
            Some(l) if l != lt => return Err(CaptureError::MixedLinkTypes(l, lt)),
            _ => linktype = Some(lt),
        }
        let ts = match ticks {
            Some(t) => ticks_to_ns(t, resol),
            None => frames.last().map_or(0, |f| f.0),
        };
        frames.push((ts, wire_len, data));
    }
    Ok((linktype.unwrap_or(LINKTYPE_ETHERNET), frames))
}

/// pcapng ticks of `if_tsresol` `resol` (10^-r s, or 2^-r s with the high bit) in ns.
fn ticks_to_ns(ticks: u64, resol: u8) -> u64 {
    let ns = u128::from(ticks) * 1_000_000_000;
    let per_s: u128 = if resol & 0x80 != 0 {
        1u128 << (resol & 0x7f).min(64)
    } else {
        10u128.pow(u32::from(resol.min(30)))
    };
    u64::try_from(ns / per_s).unwrap_or(u64::MAX)
}

/// Linux cooked (v1) frames made Ethernet, as `tcprewrite --dlt=enet` makes them: the
/// destination `dmac`, the source the cooked header's address when it is 6 bytes long
/// (else `smac`, else zeros), the cooked header's protocol.
pub fn sll_to_ethernet(
    frames: &mut [ReplayFrame],
    dmac: [u8; 6],
    smac: Option<[u8; 6]>,
) -> Result<(), CaptureError> {
    for (i, f) in frames.iter_mut().enumerate() {
        if f.data.len() < 16 {
            return Err(CaptureError::ShortSll(i + 1));
        }
        let halen = u16::from_be_bytes([f.data[4], f.data[5]]);
        let src = match (halen, smac) {
            (_, Some(m)) => m,
            (6, None) => f.data[6..12].try_into().expect("6 bytes"),
            _ => [0; 6],
        };
        let mut eth = Vec::with_capacity(f.data.len() - 2);
        eth.extend_from_slice(&dmac);
        eth.extend_from_slice(&src);
        eth.extend_from_slice(&f.data[14..]);
        f.wire_len = f.wire_len.saturating_sub(2);
        f.data = eth;
    }
    Ok(())
}

/// How fast the frames go (tcpreplay's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplaySpeed {
    /// `--multiplier`: the capture's spacing divided by this many millionths (1_000_000 = 1x).
    Multiplier(u64),
    /// `--mbps`: this many bits per second.
    Mbps(u64),
    /// `--pps`: this many millionths of a frame per second.
    Pps(u64),
    /// `--topspeed`: as fast as the socket takes them.
    Topspeed,
}

impl std::fmt::Display for ReplaySpeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Multiplier(m) => write!(f, "multiplier {}", micro(*m)),
            Self::Mbps(b) => write!(f, "mbps {}", micro(*b)),
            Self::Pps(p) => write!(f, "pps {}", micro(*p)),
            Self::Topspeed => f.write_str("topspeed"),
        }
    }
}

/// `12_500_000` millionths as `12.5`.
fn micro(v: u64) -> String {
    let (i, f) = (v / 1_000_000, v % 1_000_000);
    if f == 0 {
        format!("{i}")
    } else {
        format!("{i}.{f:06}").trim_end_matches('0').to_string()
    }
}

/// A tcprewrite CIDR map, `from:to` (`--srcipmap=10.0.0.0/24:10.1.0.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrMap {
    /// The network matched.
    pub from: (Ipv4Addr, u8),
    /// The network it becomes (its prefix length says how many bits are replaced).
    pub to: (Ipv4Addr, u8),
}

impl CidrMap {
    /// Parses `A[/len]:B[/len]` (a missing length is /32).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not a map `A/len:B/len`"))?;
        let cidr = |t: &str| -> Result<(Ipv4Addr, u8), String> {
            let (ip, len) = match t.split_once('/') {
                Some((ip, len)) => (
                    ip,
                    len.parse::<u8>()
                        .ok()
                        .filter(|l| *l <= 32)
                        .ok_or_else(|| format!("`{len}` is not a prefix length (0 to 32)"))?,
                ),
                None => (t, 32),
            };
            let ip = ip
                .parse::<Ipv4Addr>()
                .map_err(|_| format!("`{ip}` is not an IPv4 address"))?;
            Ok((ip, len))
        };
        Ok(Self {
            from: cidr(a)?,
            to: cidr(b)?,
        })
    }

    /// `ip_in_cidr` then `remap_ipv4`: `ip` with `to`'s network bits when it is in `from`.
    pub fn remap(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        let mask = |len: u8| if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let (f, fl) = self.from;
        if u32::from(ip) & mask(fl) != u32::from(f) & mask(fl) {
            return None;
        }
        let (t, tl) = self.to;
        let m = mask(tl);
        Some(Ipv4Addr::from((u32::from(t) & m) | (u32::from(ip) & !m)))
    }
}

impl std::fmt::Display for CidrMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}:{}/{}",
            self.from.0, self.from.1, self.to.0, self.to.1
        )
    }
}

/// tcprewrite's edits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// `--srcipmap`: the first map matching the IPv4 source rewrites it.
    pub srcipmap: Vec<CidrMap>,
    /// `--dstipmap`: the same for the destination.
    pub dstipmap: Vec<CidrMap>,
    /// `--pnat`: both addresses, on a frame the two maps above did not change; an ARP
    /// packet's sender and target addresses too.
    pub pnat: Vec<CidrMap>,
    /// `--enet-smac`.
    pub enet_smac: Option<[u8; 6]>,
    /// `--enet-dmac`.
    pub enet_dmac: Option<[u8; 6]>,
    /// `--fixcsum`: checksums computed again on every IPv4 frame, rewritten or not.
    pub fixcsum: bool,
}

impl Rewrite {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Edits one Ethernet frame in place; whether it changed.
    pub fn apply(&self, frame: &mut [u8]) -> bool {
        if frame.len() < 14 {
            return false;
        }
        let mut changed = false;
        if let Some(m) = self.enet_dmac {
            changed |= frame[..6] != m;
            frame[..6].copy_from_slice(&m);
        }
        if let Some(m) = self.enet_smac {
            changed |= frame[6..12] != m;
            frame[6..12].copy_from_slice(&m);
        }
        if frame[12..14] == [0x08, 0x00] {
            let ip = &mut frame[14..];
            let remapped = rewrite_ipv4l3(self, ip);
            if remapped || self.fixcsum {
                fix_ipv4_checksums(ip);
            }
            changed |= remapped;
        } else if frame[12..14] == [0x08, 0x06] {
            changed |= rewrite_iparp(&self.pnat, &mut frame[14..]);
        }
        changed
    }
}

/// tcpedit's `rewrite_ipv4l3`: the maps on an IPv4 packet's addresses; whether one changed.
fn rewrite_ipv4l3(r: &Rewrite, ip: &mut [u8]) -> bool {
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return false;
    }
    let get = |ip: &[u8], at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let first = |maps: &[CidrMap], a: Ipv4Addr| maps.iter().find_map(|m| m.remap(a));
    let (src, dst) = (get(ip, 12), get(ip, 16));
    let mut new = (
        first(&r.srcipmap, src).unwrap_or(src),
        first(&r.dstipmap, dst).unwrap_or(dst),
    );
    if new == (src, dst) {
        new = (
            first(&r.pnat, src).unwrap_or(src),
            first(&r.pnat, dst).unwrap_or(dst),
        );
    }
    ip[12..16].copy_from_slice(&new.0.octets());
    ip[16..20].copy_from_slice(&new.1.octets());
    new != (src, dst)
}

/// tcpedit's `rewrite_iparp`: `--pnat` on an Ethernet/IPv4 ARP packet's sender and target
/// addresses; whether one changed.
fn rewrite_iparp(pnat: &[CidrMap], arp: &mut [u8]) -> bool {
    if pnat.is_empty() || arp.len() < 28 || arp[..6] != [0, 1, 8, 0, 6, 4] {
        return false;
    }
    let mut changed = false;
    for at in [14, 24] {
        let a = Ipv4Addr::new(arp[at], arp[at + 1], arp[at + 2], arp[at + 3]);
        if let Some(b) = pnat.iter().find_map(|m| m.remap(a)) {
            changed |= a != b;
            arp[at..at + 4].copy_from_slice(&b.octets());
        }
    }
    changed
}

/// `fixcsum`: the IPv4 header checksum, and the TCP, UDP or ICMP checksum of an unfragmented
/// datagram, computed again over what the frame holds (a captured frame cut short keeps its
/// transport checksum: the bytes it would cover are not there).
pub fn fix_ipv4_checksums(ip: &mut [u8]) {
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ihl < 20 || ip.len() < ihl {
        return;
    }
    ip[10..12].fill(0);
    let sum = !checksum::data(&ip[..ihl]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    if frag || total < ihl || total > ip.len() {
        return;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let proto = ip[9];
    let l4 = &mut ip[ihl..total];
    let at = match proto {
        6 if l4.len() >= 20 => 16,
        17 if l4.len() >= 8 => 6,
        1 if l4.len() >= 4 => 2,
        _ => return,
    };
    l4[at..at + 2].fill(0);
    let mut sum = checksum::data(l4);
    if proto != 1 {
        let pseudo = checksum::pseudo_header_v4(src, dst, proto, l4.len() as u32);
        sum = checksum::combine(&[sum, pseudo]);
    }
    let mut c = !sum;
    if proto == 17 && c == 0 {
        // RFC 768: a computed 0 is sent as all ones.
        c = 0xffff;
    }
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// A `replay` app as the scenario gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayConfig {
    /// The file as the scenario names it.
    pub file: String,
    /// The SHA-256 of its bytes, in hex.
    pub sha256: String,
    /// `pcap` or `pcapng`.
    pub format: String,
    /// The file's link type (`LINKTYPE_*`; the frames are Ethernet whatever it was).
    pub linktype: u32,
    /// The interface it sends on (`-i`).
    pub iface: String,
    /// How fast.
    pub speed: ReplaySpeed,
    /// `--loop`: times through the file (0: until the app stops).
    pub loops: u32,
    /// `--limit`: at most this many frames sent in all.
    pub limit: Option<u64>,
    /// tcprewrite's edits.
    pub rewrite: Rewrite,
    /// The frames, Ethernet, as read (before `rewrite`).
    pub frames: Vec<ReplayFrame>,
}

/// What a replay did (tcpreplay's closing statistics).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplayReport {
    /// The file.
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The interface.
    pub iface: String,
    /// Frames in the file.
    pub frames: u64,
    /// Frames the rewrite changed (each counted once).
    pub rewritten: u64,
    /// Loops finished.
    pub loops: u32,
    /// "Successful packets": frames the socket took.
    pub sent: u64,
    /// Their bytes.
    pub bytes: u64,
    /// "Failed packets": frames a send refused for good.
    pub failed: u64,
    /// The failures by errno name.
    pub errors: BTreeMap<String, u64>,
    /// "Retried packets (ENOBUFS)": sends the qdisc dropped, made again.
    pub retried_enobufs: u64,
    /// Frames the replay did not get to: the run or the app ended (or a whole loop failed)
    /// before its loops or its `limit` were through.
    pub skipped: u64,
    /// When the first frame left, ns.
    pub first_ns: Option<u64>,
    /// When the last frame left, ns.
    pub last_ns: Option<u64>,
    /// An error that stopped the replay (no socket, no such interface).
    pub error: Option<String>,
}

/// Timer tokens.
const DUE: u32 = 0;

/// The `replay` app.
#[derive(Debug)]
pub struct Replay {
    cfg: ReplayConfig,
    /// The frames as they will be sent (rewritten).
    frames: Vec<Vec<u8>>,
    timer: TimerId,
    sock: Option<Fd>,
    to: SockaddrLl,
    /// Next frame of the current loop.
    idx: usize,
    /// When the current loop started, and when the replay did.
    loop_start: SimTime,
    start: SimTime,
    /// Frames taken from the file (sent or failed).
    taken: u64,
    /// Finished, by the end of its last loop or its `limit`.
    completed: bool,
    /// Frames sent in the current loop.
    sent_in_loop: u64,
    /// Waiting for room in the send buffer, or for an `ENOBUFS` retry.
    blocked: bool,
    done: bool,
    report: ReplayReport,
}

impl Replay {
    /// A replay of `cfg`, its frames rewritten now; `timer` is its own.
    pub fn new(cfg: ReplayConfig, timer: TimerId) -> Self {
        let mut rewritten = 0;
        let frames = cfg
            .frames
            .iter()
            .map(|f| {
                let mut d = f.data.clone();
                if cfg.rewrite.apply(&mut d) {
                    rewritten += 1;
                }
                d
            })
            .collect();
        let report = ReplayReport {
            file: cfg.file.clone(),
            sha256: cfg.sha256.clone(),
            iface: cfg.iface.clone(),
            frames: cfg.frames.len() as u64,
            rewritten,
            ..ReplayReport::default()
        };
        Self {
            cfg,
            frames,
            timer,
            sock: None,
            to: SockaddrLl::default(),
            idx: 0,
            loop_start: SimTime::ZERO,
            start: SimTime::ZERO,
            taken: 0,
            completed: false,
            sent_in_loop: 0,
            blocked: false,
            done: false,
            report,
        }
    }

    /// The report so far.
    pub fn report(&self) -> ReplayReport {
        let mut r = self.report.clone();
        if !self.completed {
            // What the loops left to go would have taken, or the sends short of the limit.
            let n = self.frames.len() as u64;
            let loops = n * u64::from(self.cfg.loops);
            let left = match (self.cfg.loops, self.cfg.limit) {
                (0, None) => 0,
                (0, Some(l)) => l.saturating_sub(r.sent),
                (_, None) => loops.saturating_sub(self.taken),
                (_, Some(l)) => loops
                    .saturating_sub(self.taken)
                    .min(l.saturating_sub(r.sent)),
            };
            r.skipped = left;
        }
        r
    }

    /// When frame `idx` of the loop is due.
    fn due(&self) -> SimTime {
        let ns = |v: u128| SimDuration::from_nanos(u64::try_from(v).unwrap_or(u64::MAX));
        match self.cfg.speed {
            ReplaySpeed::Topspeed => SimTime::ZERO,
            ReplaySpeed::Multiplier(m) => {
                let off = u128::from(self.cfg.frames[self.idx].offset_ns);
                self.loop_start
                    .saturating_add(ns(off * 1_000_000 / u128::from(m.max(1))))
            }
            // tcpreplay's rate counts what was sent: a failed frame takes no time.
            ReplaySpeed::Mbps(bps) => self.start.saturating_add(ns(u128::from(self.report.bytes)
                * 8_000_000_000
                / u128::from(bps.max(1)))),
            ReplaySpeed::Pps(p) => self.start.saturating_add(ns(u128::from(self.report.sent)
                * 1_000_000_000_000_000
                / u128::from(p.max(1)))),
        }
    }

    /// Sends every frame that is due, until one must wait.
    fn pump(&mut self, cx: &mut AppCtx<'_>) {
        let Some(s) = self.sock else {
            return;
        };
        while !self.done && !self.blocked {
            let due = self.due();
            if due > cx.now() {
                cx.arm(&self.timer, due, DUE);
                return;
            }
            let len = self.frames[self.idx].len();
            match cx.sendto_ll(s, &self.frames[self.idx], Some(&self.to)) {
                Ok(_) => {
                    let now = cx.now().as_nanos();
                    self.report.first_ns.get_or_insert(now);
                    self.report.last_ns = Some(now);
                    self.report.sent += 1;
                    self.report.bytes += len as u64;
                    self.sent_in_loop += 1;
                }
                // A blocking send sleeps until TX completion frees room.
                Err(Errno::Again) => {
                    self.blocked = true;
                    return;
                }
                Err(Errno::NoBufs) => {
                    self.report.retried_enobufs += 1;
                    self.blocked = true;
                    let wait = frame_time(cx, &self.cfg.iface, len);
                    cx.arm(&self.timer, cx.now().saturating_add(wait), DUE);
                    return;
                }
                Err(e) => {
                    self.report.failed += 1;
                    *self.report.errors.entry(e.to_string()).or_insert(0) += 1;
                }
            }
            self.next(cx);
        }
    }

    /// The frame was taken: on to the next, the next loop, or the end.
    fn next(&mut self, cx: &mut AppCtx<'_>) {
        self.taken += 1;
        self.idx += 1;
        let loop_end = self.idx == self.frames.len();
        if loop_end {
            self.report.loops += 1;
        }
        // tcpreplay's --limit counts the packets sent, not the failed ones.
        if self.cfg.limit.is_some_and(|l| self.report.sent >= l) {
            self.completed = true;
            self.finish(cx, "limit reached");
            return;
        }
        if !loop_end {
            return;
        }
        let last = self.cfg.loops != 0 && self.report.loops >= self.cfg.loops;
        if last {
            self.completed = true;
            self.finish(cx, "done");
        } else if self.sent_in_loop == 0 {
            self.finish(cx, "a whole loop failed");
        } else {
            self.idx = 0;
            self.sent_in_loop = 0;
            self.loop_start = cx.now();
        }
    }

    fn finish(&mut self, cx: &mut AppCtx<'_>, why: &str) {
        self.done = true;
        cx.cancel(&self.timer);
        let r = &self.report;
        cx.trace(format_args!(
            "replay {}: {why}: {} packets ({} bytes) sent, {} failed, {} retried",
            r.file, r.sent, r.bytes, r.failed, r.retried_enobufs
        ));
    }
}

/// The time interface `iface` takes to serialize a `len`-byte frame (preamble, FCS and gap
/// included), at least 1 ns: how long an `ENOBUFS` retry waits.
fn frame_time(cx: &AppCtx<'_>, iface: &str, len: usize) -> SimDuration {
    let rate = (0..cx.n.devs.len())
        .find(|&d| cx.n.devs[d].name == iface)
        .and_then(|d| cx.n.devs[d].link)
        .and_then(|(l, _)| cx.net.shared.links.get(l as usize))
        .map_or(0, |l| l.rate_bps);
    if rate == 0 {
        return SimDuration::from_nanos(1);
    }
    let bits = (len as u128 + 24) * 8;
    SimDuration::from_nanos(((bits * 1_000_000_000).div_ceil(u128::from(rate))).max(1) as u64)
}

impl App for Replay {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let Some(ifindex) = cx.if_nametoindex(&self.cfg.iface) else {
            self.report.error = Some(format!("no interface {}", self.cfg.iface));
            return;
        };
        // sendpacket_open_pf: socket(PF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), bound to the
        // interface.
        let s = match cx.socket_packet_nonblock(SockType::Raw, ETH_P_ALL) {
            Ok(s) => s,
            Err(e) => {
                self.report.error = Some(format!("socket: {e}"));
                return;
            }
        };
        let to = SockaddrLl::new(ETH_P_ALL, ifindex, [0; 6]);
        if let Err(e) = cx.bind_ll(s, &to) {
            self.report.error = Some(format!("bind: {e}"));
            return;
        }
        self.sock = Some(s);
        self.to = to;
        self.start = cx.now();
        self.loop_start = cx.now();
        let c = &self.cfg;
        cx.trace(format_args!(
            "replay {}: {} frames ({} {}) on {}, {}{}",
            c.file,
            c.frames.len(),
            c.format,
            linktype_name(c.linktype),
            c.iface,
            c.speed,
            if c.loops == 1 {
                String::new()
            } else {
                format!(", loop {}", c.loops)
            }
        ));
        self.pump(cx);
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        self.blocked = false;
        self.pump(cx);
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        // The socket also queues copies of the interface's frames (ETH_P_ALL), which
        // tcpreplay never reads: only room to send matters.
        if !self.blocked || self.done || self.sock != Some(sock) {
            return;
        }
        let retry_armed = cx.net.sched.deadline(&self.timer).is_some();
        if cx.poll(sock).is_ok_and(|e| e.contains(PollEvents::OUT)) && !retry_armed {
            self.blocked = false;
            self.pump(cx);
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::Replay(Box::new(self.report()))
    }
}

/// Bytes as a hex string in serde formats.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        use std::fmt::Write;
        let mut out = String::with_capacity(b.len() * 2);
        for x in b {
            let _ = write!(out, "{x:02x}");
        }
        s.serialize_str(&out)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() % 2 != 0 {
            return Err(serde::de::Error::custom("an odd number of hex digits"));
        }
        (0..s.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16)
                    .map_err(|_| serde::de::Error::custom("not hex"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
