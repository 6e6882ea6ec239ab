//! TCP connection tracking (`nf_conntrack_proto_tcp.c` of Linux 6.1): the `tcp_conntracks`
//! state table, window tracking (`tcp_in_window`), the pickup of mid-stream connections
//! (`nf_conntrack_tcp_loose`) and the timeouts of each state.
//!
//! Not modeled: SYN proxy, sequence number adjustment (`nf_ct_seq_offset` is 0: no helper
//! rewrites payloads), the invalid-packet log lines, per-rule timeout policies (`CT
//! --timeout`).

use sim_core::SimDuration;

use super::conntrack::{ConntrackSysctl, IpsStatus, NfConn, to_jiffies};
use super::conntrack_tuple::IpCtDir;
use crate::jiffies::HZ;

/// `enum tcp_conntrack`: the states of the TCP tracker, in the kernel's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TcpConntrack {
    /// `TCP_CONNTRACK_NONE` (sNO).
    #[default]
    None = 0,
    /// `TCP_CONNTRACK_SYN_SENT` (sSS).
    SynSent = 1,
    /// `TCP_CONNTRACK_SYN_RECV` (sSR).
    SynRecv = 2,
    /// `TCP_CONNTRACK_ESTABLISHED` (sES).
    Established = 3,
    /// `TCP_CONNTRACK_FIN_WAIT` (sFW).
    FinWait = 4,
    /// `TCP_CONNTRACK_CLOSE_WAIT` (sCW).
    CloseWait = 5,
    /// `TCP_CONNTRACK_LAST_ACK` (sLA).
    LastAck = 6,
    /// `TCP_CONNTRACK_TIME_WAIT` (sTW).
    TimeWait = 7,
    /// `TCP_CONNTRACK_CLOSE` (sCL).
    Close = 8,
    /// `TCP_CONNTRACK_SYN_SENT2` (sS2): simultaneous open.
    SynSent2 = 9,
    /// `TCP_CONNTRACK_MAX` (sIV): the packet is invalid.
    Max = 10,
    /// `TCP_CONNTRACK_IGNORE` (sIG): the packet is let through without a state change.
    Ignore = 11,
}

impl TcpConntrack {
    /// `tcp_conntrack_names[]`, as `conntrack -L` prints the state.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::SynSent => "SYN_SENT",
            Self::SynRecv => "SYN_RECV",
            Self::Established => "ESTABLISHED",
            Self::FinWait => "FIN_WAIT",
            Self::CloseWait => "CLOSE_WAIT",
            Self::LastAck => "LAST_ACK",
            Self::TimeWait => "TIME_WAIT",
            Self::Close => "CLOSE",
            Self::SynSent2 => "SYN_SENT2",
            Self::Max => "MAX",
            Self::Ignore => "IGNORE",
        }
    }
}

/// `enum tcp_bit_set`: the row of the state table a segment selects
/// (`get_conntrack_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpBitSet {
    /// `TCP_SYN_SET`.
    Syn = 0,
    /// `TCP_SYNACK_SET`.
    SynAck = 1,
    /// `TCP_FIN_SET`.
    Fin = 2,
    /// `TCP_ACK_SET`.
    Ack = 3,
    /// `TCP_RST_SET`.
    Rst = 4,
    /// `TCP_NONE_SET`.
    None = 5,
}

use TcpConntrack::{
    Close as sCL, CloseWait as sCW, Established as sES, FinWait as sFW, Ignore as sIG,
    LastAck as sLA, Max as sIV, SynRecv as sSR, SynSent as sSS, SynSent2 as sS2, TimeWait as sTW,
};

/// `tcp_conntracks[dir][index][old_state]`, transcribed from Linux 6.1.
#[allow(non_upper_case_globals)]
pub static TCP_CONNTRACKS: [[[TcpConntrack; 10]; 6]; 2] = [
    [
        // ORIGINAL   sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
        /* syn    */
        [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
        /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
        /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
        /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
        /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
        /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
    ],
    [
        // REPLY      sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
        /* syn    */
        [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
        /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
        /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
        /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
        /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
        /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
    ],
];

/// `IP_CT_TCP_FLAG_WINDOW_SCALE`.
pub const IP_CT_TCP_FLAG_WINDOW_SCALE: u8 = 0x01;
/// `IP_CT_TCP_FLAG_SACK_PERM`.
pub const IP_CT_TCP_FLAG_SACK_PERM: u8 = 0x02;
/// `IP_CT_TCP_FLAG_CLOSE_INIT`: this side sent the first FIN.
pub const IP_CT_TCP_FLAG_CLOSE_INIT: u8 = 0x04;
/// `IP_CT_TCP_FLAG_BE_LIBERAL`: only out-of-window RSTs are invalid.
pub const IP_CT_TCP_FLAG_BE_LIBERAL: u8 = 0x08;
/// `IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED`.
pub const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED: u8 = 0x10;
/// `IP_CT_TCP_FLAG_MAXACK_SET`.
pub const IP_CT_TCP_FLAG_MAXACK_SET: u8 = 0x20;
/// `IP_CT_EXP_CHALLENGE_ACK`.
pub const IP_CT_EXP_CHALLENGE_ACK: u8 = 0x40;
/// `IP_CT_TCP_SIMULTANEOUS_OPEN`.
pub const IP_CT_TCP_SIMULTANEOUS_OPEN: u8 = 0x80;

/// `TCP_MAX_WSCALE`.
const TCP_MAX_WSCALE: u8 = 14;
/// `MAXACKWINCONST`.
const MAXACKWINCONST: u32 = 66000;

/// `struct ip_ct_tcp_state`: what the tracker knows of one direction's sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpCtTcpState {
    /// `td_end`: max of seq + len.
    pub td_end: u32,
    /// `td_maxend`: max of ack + max(win, 1).
    pub td_maxend: u32,
    /// `td_maxwin`: max(win).
    pub td_maxwin: u32,
    /// `td_maxack`: max of ack.
    pub td_maxack: u32,
    /// `td_scale`: window scale factor.
    pub td_scale: u8,
    /// `flags`: `IP_CT_TCP_FLAG_*`.
    pub flags: u8,
}

/// `struct ip_ct_tcp`: the TCP part of a conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpCtTcp {
    /// `seen[dir]`: per-direction window data.
    pub seen: [IpCtTcpState; 2],
    /// `state`.
    pub state: TcpConntrack,
    /// `last_dir`: direction of the last packet (`IpCtDir` index).
    pub last_dir: u8,
    /// `retrans`: number of retransmitted packets.
    pub retrans: u8,
    /// `last_index`: `TcpBitSet` of the last packet.
    pub last_index: u8,
    /// `last_seq`.
    pub last_seq: u32,
    /// `last_ack`.
    pub last_ack: u32,
    /// `last_end`.
    pub last_end: u32,
    /// `last_win`.
    pub last_win: u16,
    /// `last_wscale`.
    pub last_wscale: u8,
    /// `last_flags`.
    pub last_flags: u8,
}

/// The TCP header fields the tracker reads, from the L4 bytes of a packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpHdr<'a> {
    seq: u32,
    ack_seq: u32,
    doff: usize,
    flags: u8,
    window: u16,
    options: &'a [u8],
    /// `skb->len - dataoff`: the TCP header and payload length.
    tcplen: usize,
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

impl<'a> TcpHdr<'a> {
    /// Reads the header; `None` when the fixed 20 bytes are not there.
    pub(crate) fn parse(l4: &'a [u8]) -> Option<Self> {
        let b = l4.get(..20)?;
        let doff = usize::from(b[12] >> 4) * 4;
        Some(Self {
            seq: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ack_seq: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            doff,
            flags: b[13],
            window: u16::from_be_bytes([b[14], b[15]]),
            options: l4.get(20..doff).unwrap_or(&[]),
            tcplen: l4.len(),
        })
    }

    const fn syn(&self) -> bool {
        self.flags & SYN != 0
    }
    const fn ack(&self) -> bool {
        self.flags & ACK != 0
    }
    const fn fin(&self) -> bool {
        self.flags & FIN != 0
    }
    const fn rst(&self) -> bool {
        self.flags & RST != 0
    }

    /// `get_conntrack_index`.
    pub(crate) const fn index(&self) -> TcpBitSet {
        if self.rst() {
            TcpBitSet::Rst
        } else if self.syn() {
            if self.ack() {
                TcpBitSet::SynAck
            } else {
                TcpBitSet::Syn
            }
        } else if self.fin() {
            TcpBitSet::Fin
        } else if self.ack() {
            TcpBitSet::Ack
        } else {
            TcpBitSet::None
        }
    }

    /// `segment_seq_plus_len`.
    fn end(&self) -> u32 {
        let len = self.tcplen.saturating_sub(self.doff) as u32;
        self.seq
            .wrapping_add(len)
            .wrapping_add(u32::from(self.syn()))
            .wrapping_add(u32::from(self.fin()))
    }
}

/// `before(a, b)` of `net/tcp.h`.
const fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `after(a, b)`.
const fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// `tcp_valid_flags[]`: the flag combinations (without PSH, ECE, CWR) `tcp_error` accepts.
const fn tcp_valid_flags(f: u8) -> bool {
    matches!(
        f,
        SYN | 0x22 /* SYN|URG */ | 0x12 /* SYN|ACK */ | RST | 0x14 /* RST|ACK */
            | 0x11 /* FIN|ACK */ | 0x31 /* FIN|ACK|URG */ | ACK | 0x30 /* ACK|URG */
    )
}

/// `tcp_error`'s checks after the checksum: a truncated header or an invalid flag
/// combination. The caller checks the checksum (it needs the IP header).
pub(crate) fn tcp_error(th: &TcpHdr<'_>) -> bool {
    if th.doff < 20 || th.tcplen < th.doff {
        return true;
    }
    !tcp_valid_flags(th.flags & !(ECE | CWR | PSH))
}

/// `tcp_options`: window scale and SACK-permitted from a SYN's options.
fn tcp_options(th: &TcpHdr<'_>, state: &mut IpCtTcpState) {
    let mut opt = th.options;
    if opt.is_empty() {
        return;
    }
    state.td_scale = 0;
    state.flags &= IP_CT_TCP_FLAG_BE_LIBERAL;
    while let Some((&opcode, rest)) = opt.split_first() {
        match opcode {
            0 => return,
            1 => opt = rest,
            _ => {
                let Some(&opsize) = rest.first() else { return };
                let opsize = usize::from(opsize);
                if opsize < 2 || opsize > opt.len() {
                    return;
                }
                if opcode == 4 && opsize == 2 {
                    state.flags |= IP_CT_TCP_FLAG_SACK_PERM;
                } else if opcode == 3 && opsize == 3 {
                    state.td_scale = opt[2].min(TCP_MAX_WSCALE);
                    state.flags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
                }
                opt = &opt[opsize..];
            }
        }
    }
}

/// `tcp_sack`: raises `sack` to the highest right edge of the SACK blocks.
fn tcp_sack(th: &TcpHdr<'_>, sack: &mut u32) {
    let mut opt = th.options;
    if opt.len() == 12 && opt[..4] == [1, 1, 8, 10] {
        return;
    }
    while let Some((&opcode, rest)) = opt.split_first() {
        match opcode {
            0 => return,
            1 => opt = rest,
            _ => {
                let Some(&opsize) = rest.first() else { return };
                let opsize = usize::from(opsize);
                if opsize < 2 || opsize > opt.len() {
                    return;
                }
                if opcode == 5 && opsize >= 10 && (opsize - 2) % 8 == 0 {
                    for block in opt[2..opsize].chunks_exact(8) {
                        let tmp = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                        if after(tmp, *sack) {
                            *sack = tmp;
                        }
                    }
                    return;
                }
                opt = &opt[opsize..];
            }
        }
    }
}

/// `tcp_init_sender`.
fn tcp_init_sender(
    seen: &mut [IpCtTcpState; 2],
    dir: IpCtDir,
    th: &TcpHdr<'_>,
    end: u32,
    win: u32,
) {
    let sender = &mut seen[dir.index()];
    sender.td_end = end;
    sender.td_maxend = end;
    sender.td_maxwin = if win == 0 { 1 } else { win };
    tcp_options(th, sender);
    let s = seen[dir.index()].flags;
    let r = seen[dir.other().index()].flags;
    if dir == IpCtDir::Reply
        && !(s & IP_CT_TCP_FLAG_WINDOW_SCALE != 0 && r & IP_CT_TCP_FLAG_WINDOW_SCALE != 0)
    {
        seen[0].td_scale = 0;
        seen[1].td_scale = 0;
    }
}

/// `enum nf_ct_tcp_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TcpAction {
    Ignore,
    Invalid,
    Accept,
}

fn maxackwindow(s: &IpCtTcpState) -> u32 {
    s.td_maxwin.max(MAXACKWINCONST)
}

/// `nf_tcp_store_invalid` without the log: liberal senders accept.
fn store_invalid(sender: &IpCtTcpState, sysctl: &ConntrackSysctl, ret: TcpAction) -> TcpAction {
    if sender.flags & IP_CT_TCP_FLAG_BE_LIBERAL != 0 || sysctl.nf_conntrack_tcp_be_liberal {
        TcpAction::Accept
    } else {
        ret
    }
}

/// `tcp_in_window`.
fn tcp_in_window(
    state: &mut IpCtTcp,
    dir: IpCtDir,
    index: TcpBitSet,
    th: &TcpHdr<'_>,
    sysctl: &ConntrackSysctl,
) -> TcpAction {
    let (d, r) = (dir.index(), dir.other().index());
    let mut seq = th.seq;
    let mut ack = th.ack_seq;
    let mut sack = ack;
    let win_raw = th.window;
    let mut win = u32::from(win_raw);
    let mut end = th.end();

    if state.seen[r].flags & IP_CT_TCP_FLAG_SACK_PERM != 0 {
        tcp_sack(th, &mut sack);
    }

    if state.seen[d].td_maxwin == 0 {
        if th.syn() {
            tcp_init_sender(&mut state.seen, dir, th, end, win);
            if !th.ack() {
                return TcpAction::Accept;
            }
        } else {
            let sender = &mut state.seen[d];
            sender.td_end = end;
            let swin = win << sender.td_scale;
            sender.td_maxwin = if swin == 0 { 1 } else { swin };
            sender.td_maxend = end.wrapping_add(sender.td_maxwin);
            let receiver = &mut state.seen[r];
            if receiver.td_maxwin == 0 {
                receiver.td_end = sack;
                receiver.td_maxend = sack;
            } else if sack == receiver.td_end.wrapping_add(1) {
                receiver.td_end = receiver.td_end.wrapping_add(1);
            }
        }
    } else if th.syn()
        && after(end, state.seen[d].td_end)
        && matches!(state.state, TcpConntrack::SynSent | TcpConntrack::SynRecv)
    {
        tcp_init_sender(&mut state.seen, dir, th, end, win);
        if dir == IpCtDir::Reply && !th.ack() {
            return TcpAction::Accept;
        }
    }

    if !th.ack() || (th.flags & (ACK | RST) == ACK | RST && ack == 0) {
        ack = state.seen[r].td_end;
        sack = ack;
    }

    if th.rst() && seq == 0 && state.state == TcpConntrack::SynSent {
        seq = state.seen[d].td_end;
        end = seq;
    }

    let sender = state.seen[d];
    let receiver = state.seen[r];
    let seq_ok = before(seq, sender.td_maxend.wrapping_add(1));
    if !seq_ok {
        let overshot = end.wrapping_sub(sender.td_maxend).wrapping_add(1);
        let ack_ok = after(
            sack,
            receiver
                .td_end
                .wrapping_sub(maxackwindow(&sender))
                .wrapping_sub(1),
        );
        let in_recv_win = receiver.td_maxwin != 0
            && after(
                end,
                sender
                    .td_end
                    .wrapping_sub(receiver.td_maxwin)
                    .wrapping_sub(1),
            );
        if in_recv_win
            && ack_ok
            && overshot <= receiver.td_maxwin
            && before(sack, receiver.td_end.wrapping_add(1))
        {
            let s = &mut state.seen[d];
            s.td_end = end;
            s.flags |= IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
            return store_invalid(&sender, sysctl, TcpAction::Ignore);
        }
        return store_invalid(&sender, sysctl, TcpAction::Invalid);
    }

    if !before(sack, receiver.td_end.wrapping_add(1)) {
        return store_invalid(&sender, sysctl, TcpAction::Invalid);
    }

    let in_recv_win = receiver.td_maxwin == 0
        || after(
            end,
            sender
                .td_end
                .wrapping_sub(receiver.td_maxwin)
                .wrapping_sub(1),
        );
    if !in_recv_win {
        return store_invalid(&sender, sysctl, TcpAction::Ignore);
    }
    if !after(
        sack,
        receiver
            .td_end
            .wrapping_sub(maxackwindow(&sender))
            .wrapping_sub(1),
    ) {
        return store_invalid(&sender, sysctl, TcpAction::Ignore);
    }

    if !th.syn() {
        win <<= sender.td_scale;
    }

    // Update sender data.
    let swin = win.wrapping_add(sack.wrapping_sub(ack));
    let s = &mut state.seen[d];
    if s.td_maxwin < swin {
        s.td_maxwin = swin;
    }
    if after(end, s.td_end) {
        s.td_end = end;
        s.flags |= IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
    }
    if th.ack() {
        if s.flags & IP_CT_TCP_FLAG_MAXACK_SET == 0 {
            s.td_maxack = ack;
            s.flags |= IP_CT_TCP_FLAG_MAXACK_SET;
        } else if after(ack, s.td_maxack) {
            s.td_maxack = ack;
        }
    }
    let sender_maxend = s.td_maxend;

    // Update receiver data.
    let rcv = &mut state.seen[r];
    if rcv.td_maxwin != 0 && after(end, sender_maxend) {
        rcv.td_maxwin = rcv.td_maxwin.wrapping_add(end.wrapping_sub(sender_maxend));
    }
    if after(sack.wrapping_add(win), rcv.td_maxend.wrapping_sub(1)) {
        rcv.td_maxend = sack.wrapping_add(win);
        if win == 0 {
            rcv.td_maxend = rcv.td_maxend.wrapping_add(1);
        }
    }
    if ack == rcv.td_end {
        rcv.flags &= !IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
    }

    // Check retransmissions.
    if index == TcpBitSet::Ack {
        if state.last_dir == d as u8
            && state.last_seq == seq
            && state.last_ack == ack
            && state.last_end == end
            && state.last_win == win_raw
        {
            state.retrans = state.retrans.saturating_add(1);
        } else {
            state.last_dir = d as u8;
            state.last_seq = seq;
            state.last_ack = ack;
            state.last_end = end;
            state.last_win = win_raw;
            state.retrans = 0;
        }
    }
    TcpAction::Accept
}

/// `tcp_new`: initialises the TCP part of an unconfirmed entry from its first packet;
/// `false` when the packet cannot start a connection (the entry is deleted).
pub(crate) fn tcp_new(tcp: &mut IpCtTcp, th: &TcpHdr<'_>, sysctl: &ConntrackSysctl) -> bool {
    let new_state = TCP_CONNTRACKS[0][th.index() as usize][TcpConntrack::None as usize];
    if new_state >= TcpConntrack::Max {
        return false;
    }
    *tcp = IpCtTcp::default();
    let s0 = &mut tcp.seen[0];
    s0.td_end = th.end();
    s0.td_maxwin = u32::from(th.window).max(1);
    if new_state == TcpConntrack::SynSent {
        s0.td_maxend = s0.td_end;
        tcp_options(th, s0);
    } else if !sysctl.nf_conntrack_tcp_loose {
        return false;
    } else {
        s0.td_maxend = s0.td_end.wrapping_add(s0.td_maxwin);
        tcp.seen[0].flags = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
        tcp.seen[1].flags = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
    }
    tcp.last_index = TcpBitSet::None as u8;
    true
}

/// `tcp_can_early_drop`.
pub(crate) const fn tcp_can_early_drop(tcp: &IpCtTcp) -> bool {
    matches!(
        tcp.state,
        TcpConntrack::FinWait
            | TcpConntrack::LastAck
            | TcpConntrack::TimeWait
            | TcpConntrack::Close
            | TcpConntrack::CloseWait
    )
}

/// What `nf_conntrack_tcp_packet` tells `nf_conntrack_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpVerdict {
    /// `NF_ACCEPT`; the entry's timeout was refreshed (or deliberately not).
    Accept,
    /// `NF_ACCEPT` after `nf_ct_kill_acct`: the packet keeps its entry, the table drops it.
    AcceptKill,
    /// `-NF_ACCEPT`: invalid, the packet goes on without an entry.
    Invalid,
    /// `-NF_REPEAT`: the entry was killed to reopen the connection; look up again.
    Repeat,
}

/// `nf_tcp_handle_invalid`: shortens an assured entry's timeout after an out-of-window
/// FIN/RST in each direction.
fn nf_tcp_handle_invalid(
    ct: &mut NfConn,
    dir: IpCtDir,
    index: TcpBitSet,
    now_j: u64,
    sysctl: &ConntrackSysctl,
) {
    if !ct.status.contains(IpsStatus::ASSURED) {
        return;
    }
    if !matches!(index, TcpBitSet::Rst | TcpBitSet::Fin) {
        return;
    }
    let Some(tcp) = ct.tcp_mut() else { return };
    if tcp.last_dir != dir as u8
        && (tcp.last_index == TcpBitSet::Fin as u8 || tcp.last_index == TcpBitSet::Rst as u8)
    {
        let expires = ct.expires_jiffies(now_j);
        if expires < 120 * HZ {
            return;
        }
        let timeout = sysctl.nf_conntrack_tcp_timeout_unacknowledged;
        if expires > to_jiffies(timeout) {
            ct.set_timeout(now_j, timeout);
        }
    } else {
        tcp.last_index = index as u8;
        tcp.last_dir = dir as u8;
    }
}

/// `nf_conntrack_tcp_packet` after `tcp_error` and `tcp_new`: the state machine, window
/// check and timeout refresh for one packet of `ct`.
pub(crate) fn nf_conntrack_tcp_packet(
    ct: &mut NfConn,
    dir: IpCtDir,
    th: &TcpHdr<'_>,
    now_j: u64,
    sysctl: &ConntrackSysctl,
) -> TcpVerdict {
    let index = th.index();
    let seen_reply = ct.status.contains(IpsStatus::SEEN_REPLY);
    let assured = ct.status.contains(IpsStatus::ASSURED);
    let Some(tcp) = ct.tcp_mut() else {
        return TcpVerdict::Invalid;
    };
    let mut old_state = tcp.state;
    let mut new_state = TCP_CONNTRACKS[dir.index()][index as usize][old_state as usize];
    let (d, r) = (dir.index(), dir.other().index());
    let mut skip_window = false;

    match new_state {
        TcpConntrack::SynSent | TcpConntrack::Ignore => {
            let reopen = new_state == TcpConntrack::SynSent
                && old_state >= TcpConntrack::TimeWait
                && ((tcp.seen[d].flags | tcp.seen[r].flags) & IP_CT_TCP_FLAG_CLOSE_INIT != 0
                    || (tcp.last_dir == d as u8 && tcp.last_index == TcpBitSet::Rst as u8));
            if reopen {
                return TcpVerdict::Repeat;
            }
            if new_state == TcpConntrack::SynSent && old_state < TcpConntrack::TimeWait {
                // Plain SYN (re)transmission: handled below like any in-window packet.
            } else {
                if index == TcpBitSet::SynAck
                    && tcp.last_index == TcpBitSet::Syn as u8
                    && tcp.last_dir != d as u8
                    && th.ack_seq == tcp.last_end
                {
                    // b) A SYN/ACK answering a SYN we ignored: resync from it.
                    old_state = TcpConntrack::SynSent;
                    new_state = TcpConntrack::SynRecv;
                    let ld = usize::from(tcp.last_dir);
                    tcp.seen[ld].td_end = tcp.last_end;
                    tcp.seen[ld].td_maxend = tcp.last_end;
                    tcp.seen[ld].td_maxwin = u32::from(tcp.last_win).max(1);
                    tcp.seen[ld].td_scale = tcp.last_wscale;
                    tcp.last_flags &= !IP_CT_EXP_CHALLENGE_ACK;
                    tcp.seen[ld].flags = tcp.last_flags;
                    // nf_ct_tcp_state_reset(&seen[dir])
                    let s = &mut tcp.seen[d];
                    s.td_end = 0;
                    s.td_maxend = 0;
                    s.td_maxwin = 0;
                    s.td_maxack = 0;
                    s.td_scale = 0;
                    s.flags &= IP_CT_TCP_FLAG_BE_LIBERAL;
                } else {
                    tcp.last_index = index as u8;
                    tcp.last_dir = d as u8;
                    tcp.last_seq = th.seq;
                    tcp.last_end = th.end();
                    tcp.last_win = th.window;
                    if index == TcpBitSet::Syn && dir == IpCtDir::Original {
                        let mut seen = IpCtTcpState::default();
                        tcp.last_flags = 0;
                        tcp.last_wscale = 0;
                        tcp_options(th, &mut seen);
                        if seen.flags & IP_CT_TCP_FLAG_WINDOW_SCALE != 0 {
                            tcp.last_flags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
                            tcp.last_wscale = seen.td_scale;
                        }
                        if seen.flags & IP_CT_TCP_FLAG_SACK_PERM != 0 {
                            tcp.last_flags |= IP_CT_TCP_FLAG_SACK_PERM;
                        }
                        if old_state == TcpConntrack::LastAck {
                            tcp.last_flags |= IP_CT_EXP_CHALLENGE_ACK;
                        }
                    }
                    if old_state == TcpConntrack::SynSent
                        && index == TcpBitSet::Ack
                        && dir == IpCtDir::Reply
                    {
                        tcp.last_ack = th.ack_seq;
                    }
                    return TcpVerdict::Accept;
                }
            }
        }
        TcpConntrack::Max => return TcpVerdict::Invalid,
        // RFC 5961 challenge ACK: not the ACK of the last FIN.
        TcpConntrack::TimeWait
            if old_state == TcpConntrack::LastAck
                && index == TcpBitSet::Ack
                && tcp.last_dir != d as u8
                && tcp.last_index == TcpBitSet::Syn as u8
                && tcp.last_flags & IP_CT_EXP_CHALLENGE_ACK != 0 =>
        {
            tcp.last_flags &= !IP_CT_EXP_CHALLENGE_ACK;
            return TcpVerdict::Accept;
        }
        TcpConntrack::SynSent2 => tcp.last_flags |= IP_CT_TCP_SIMULTANEOUS_OPEN,
        TcpConntrack::SynRecv
            if dir == IpCtDir::Reply
                && index == TcpBitSet::Ack
                && tcp.last_flags & IP_CT_TCP_SIMULTANEOUS_OPEN != 0 =>
        {
            new_state = TcpConntrack::Established;
        }
        TcpConntrack::Close if index == TcpBitSet::Rst => 'close: {
            if tcp_can_early_drop(tcp) {
                skip_window = true;
                break 'close;
            }
            let established = tcp.state == TcpConntrack::Established;
            if tcp.seen[r].flags & IP_CT_TCP_FLAG_MAXACK_SET != 0
                && tcp.last_index != TcpBitSet::Syn as u8
            {
                let seq = th.seq;
                if seq == 0 && !established {
                    break 'close;
                }
                if before(seq, tcp.seen[r].td_maxack) {
                    // tcp_ignore_invalid_rst = 0
                    return TcpVerdict::Invalid;
                }
                if !established || seq == tcp.seen[r].td_maxack {
                    break 'close;
                }
                if tcp.last_index == TcpBitSet::Ack as u8
                    && tcp.last_dir == d as u8
                    && seq == tcp.last_end
                {
                    break 'close;
                }
                new_state = old_state;
            }
            if ((seen_reply && tcp.last_index == TcpBitSet::Syn as u8 && tcp.last_dir != d as u8)
                || (!assured && tcp.last_index == TcpBitSet::Ack as u8))
                && th.ack_seq == tcp.last_end
            {
                skip_window = true;
                break 'close;
            }
            if old_state == TcpConntrack::SynSent
                && tcp.last_index == TcpBitSet::Ack as u8
                && tcp.last_dir == IpCtDir::Reply as u8
                && th.seq == tcp.last_ack
            {
                skip_window = true;
            }
        }
        _ => {}
    }

    if !skip_window {
        match tcp_in_window(tcp, dir, index, th, sysctl) {
            TcpAction::Ignore => return TcpVerdict::Accept,
            TcpAction::Invalid => {
                nf_tcp_handle_invalid(ct, dir, index, now_j, sysctl);
                return TcpVerdict::Invalid;
            }
            TcpAction::Accept => {}
        }
    }
    let Some(tcp) = ct.tcp_mut() else {
        return TcpVerdict::Invalid;
    };

    // in_window:
    tcp.last_index = index as u8;
    tcp.last_dir = d as u8;
    tcp.state = new_state;
    if old_state != new_state && new_state == TcpConntrack::FinWait {
        tcp.seen[d].flags |= IP_CT_TCP_FLAG_CLOSE_INIT;
    }

    let timeouts = |s: TcpConntrack| sysctl.tcp_timeout(s);
    let retrans_t = sysctl.nf_conntrack_tcp_timeout_max_retrans;
    let unack_t = sysctl.nf_conntrack_tcp_timeout_unacknowledged;
    let mut timeout =
        if tcp.retrans >= sysctl.nf_conntrack_tcp_max_retrans && timeouts(new_state) > retrans_t {
            retrans_t
        } else if index == TcpBitSet::Rst {
            timeouts(TcpConntrack::Close)
        } else if (tcp.seen[0].flags | tcp.seen[1].flags) & IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED != 0
            && timeouts(new_state) > unack_t
        {
            unack_t
        } else if tcp.last_win == 0 && timeouts(new_state) > retrans_t {
            retrans_t
        } else {
            timeouts(new_state)
        };

    if !seen_reply {
        if th.rst() {
            ct.refresh_acct_only();
            return TcpVerdict::AcceptKill;
        }
        if index == TcpBitSet::Syn && old_state == TcpConntrack::SynSent {
            return TcpVerdict::Accept;
        }
        if new_state == TcpConntrack::Established && timeout > unack_t {
            timeout = unack_t;
        }
    } else if !assured
        && matches!(old_state, TcpConntrack::SynRecv | TcpConntrack::Established)
        && new_state == TcpConntrack::Established
    {
        ct.status.insert(IpsStatus::ASSURED);
    }
    ct.refresh(now_j, timeout);
    TcpVerdict::Accept
}

/// The default timeouts of each state (`tcp_timeouts[]`).
pub(crate) const fn default_timeout_secs(s: TcpConntrack) -> u64 {
    match s {
        TcpConntrack::SynSent | TcpConntrack::SynSent2 => 120,
        TcpConntrack::SynRecv => 60,
        TcpConntrack::Established => 5 * 24 * 3600,
        TcpConntrack::FinWait => 120,
        TcpConntrack::CloseWait => 60,
        TcpConntrack::LastAck => 30,
        TcpConntrack::TimeWait => 120,
        TcpConntrack::Close => 10,
        TcpConntrack::None | TcpConntrack::Max | TcpConntrack::Ignore => 0,
    }
}

/// A timeout in seconds as a [`SimDuration`].
pub(crate) const fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sim_core::SimTime;

    use super::*;
    use crate::netfilter::Hook;
    use crate::netfilter::conntrack::testpkt::tcp;
    use crate::netfilter::conntrack::{Conntrack, CtId, CtVerdict, IpCtInfo};

    /// `tcp_conntracks` as Linux 6.1 writes it (the rows of `nf_conntrack_proto_tcp.c`,
    /// ORIGINAL then REPLY), compared with the table the tracker uses.
    const KERNEL_TABLE: &str = "
/*syn*/	   { sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
/*synack*/ { sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR },
/*fin*/    { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
/*ack*/	   { sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
/*rst*/    { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/*none*/   { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV }
/*syn*/	   { sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 },
/*synack*/ { sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
/*fin*/    { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
/*ack*/	   { sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
/*rst*/    { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/*none*/   { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV }";

    #[test]
    fn state_table_is_the_kernels() {
        let abbrev = |s: TcpConntrack| match s {
            TcpConntrack::None => "sNO",
            TcpConntrack::SynSent => "sSS",
            TcpConntrack::SynRecv => "sSR",
            TcpConntrack::Established => "sES",
            TcpConntrack::FinWait => "sFW",
            TcpConntrack::CloseWait => "sCW",
            TcpConntrack::LastAck => "sLA",
            TcpConntrack::TimeWait => "sTW",
            TcpConntrack::Close => "sCL",
            TcpConntrack::SynSent2 => "sS2",
            TcpConntrack::Max => "sIV",
            TcpConntrack::Ignore => "sIG",
        };
        let rows: Vec<Vec<&str>> = KERNEL_TABLE
            .lines()
            .filter_map(|l| l.split_once('{'))
            .map(|(_, r)| {
                r.split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|w| w.starts_with('s'))
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 12);
        for dir in 0..2 {
            for index in 0..6 {
                let ours: Vec<&str> = TCP_CONNTRACKS[dir][index]
                    .iter()
                    .map(|s| abbrev(*s))
                    .collect();
                assert_eq!(ours, rows[dir * 6 + index], "dir {dir} index {index}");
            }
        }
    }

    const C: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const S: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 80);
    const SYN_OPTS: [u8; 12] = [2, 4, 5, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7];

    fn t(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    /// Feeds `pkt` at PRE_ROUTING and confirms; returns the verdict.
    fn feed(ct: &mut Conntrack, now: SimTime, pkt: &[u8]) -> CtVerdict {
        let v = ct.nf_conntrack_in(now, Hook::PreRouting, pkt, false);
        if let CtVerdict::Tracked { id, .. } = v {
            assert!(ct.confirm(now, id));
        }
        v
    }

    fn state(ct: &Conntrack, v: CtVerdict) -> (IpCtInfo, TcpConntrack, u64, CtId) {
        let CtVerdict::Tracked { id, info } = v else {
            panic!("{v:?}")
        };
        let e = ct.get(id).unwrap();
        let exp = ct.expires(id, SimTime::ZERO).unwrap().as_nanos();
        (info, e.tcp_state().unwrap(), exp, id)
    }

    fn c2s(seq: u32, ack: u32, flags: u8, len: usize) -> Vec<u8> {
        tcp((C, 37200), (S, 80), seq, ack, flags, 502, &[], len)
    }

    fn s2c(seq: u32, ack: u32, flags: u8, len: usize) -> Vec<u8> {
        tcp((S, 80), (C, 37200), seq, ack, flags, 509, &[], len)
    }

    #[test]
    fn a_connection_walks_the_states_with_their_timeouts() {
        let mut ct = Conntrack::default();
        let syn = tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0);
        let v = feed(&mut ct, t(0), &syn);
        let (info, st, exp, id) = state(&ct, v);
        assert_eq!(
            (info, st, exp),
            (IpCtInfo::New, TcpConntrack::SynSent, 120_000_000_000)
        );
        let synack = tcp(
            (S, 80),
            (C, 37200),
            5000,
            1001,
            SYN | ACK,
            65160,
            &SYN_OPTS,
            0,
        );
        let v = feed(&mut ct, t(0), &synack);
        let (info, st, _, _) = state(&ct, v);
        assert_eq!(
            (info, st),
            (IpCtInfo::EstablishedReply, TcpConntrack::SynRecv)
        );
        assert_eq!(ct.expires(id, t(0)), Some(secs(60)));
        let steps: [(Vec<u8>, IpCtInfo, TcpConntrack, u64); 7] = [
            (
                c2s(1001, 5001, ACK, 0),
                IpCtInfo::Established,
                TcpConntrack::Established,
                432_000,
            ),
            // Data not yet acknowledged: the 300 s UNACK timeout.
            (
                c2s(1001, 5001, ACK | PSH, 100),
                IpCtInfo::Established,
                TcpConntrack::Established,
                300,
            ),
            (
                s2c(5001, 1101, ACK, 0),
                IpCtInfo::EstablishedReply,
                TcpConntrack::Established,
                432_000,
            ),
            (
                c2s(1101, 5001, FIN | ACK, 0),
                IpCtInfo::Established,
                TcpConntrack::FinWait,
                120,
            ),
            (
                s2c(5001, 1102, ACK, 0),
                IpCtInfo::EstablishedReply,
                TcpConntrack::CloseWait,
                60,
            ),
            (
                s2c(5001, 1102, FIN | ACK, 0),
                IpCtInfo::EstablishedReply,
                TcpConntrack::LastAck,
                30,
            ),
            (
                c2s(1102, 5002, ACK, 0),
                IpCtInfo::Established,
                TcpConntrack::TimeWait,
                120,
            ),
        ];
        for (i, (pkt, info, st, secs)) in steps.iter().enumerate() {
            let v = feed(&mut ct, t(1), pkt);
            let (gi, gs, _, gid) = state(&ct, v);
            assert_eq!((gi, gs, gid), (*info, *st, id), "step {i}");
            assert_eq!(
                ct.expires(id, t(1)).unwrap().as_nanos(),
                secs * 1_000_000_000,
                "step {i}"
            );
            if i == 0 {
                assert!(ct.get(id).unwrap().status.contains(IpsStatus::ASSURED));
            }
        }
        // TIME_WAIT lasts 120 s; then the entry is gone and a SYN makes a new one.
        assert_eq!(ct.count(t(120)), 1);
        assert_eq!(ct.count(t(121)), 0);
    }

    #[test]
    fn a_syn_in_time_wait_reopens_the_connection() {
        let mut ct = Conntrack::default();
        feed(
            &mut ct,
            t(0),
            &tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0),
        );
        feed(
            &mut ct,
            t(0),
            &tcp(
                (S, 80),
                (C, 37200),
                5000,
                1001,
                SYN | ACK,
                65160,
                &SYN_OPTS,
                0,
            ),
        );
        for p in [
            c2s(1001, 5001, ACK, 0),
            c2s(1001, 5001, FIN | ACK, 0),
            s2c(5001, 1002, FIN | ACK, 0),
            c2s(1002, 5002, ACK, 0),
        ] {
            feed(&mut ct, t(1), &p);
        }
        let v = feed(
            &mut ct,
            t(2),
            &tcp((C, 37200), (S, 80), 90_000, 0, SYN, 64240, &SYN_OPTS, 0),
        );
        let (info, st, _, _) = state(&ct, v);
        assert_eq!((info, st), (IpCtInfo::New, TcpConntrack::SynSent));
        assert_eq!(ct.count(t(2)), 1);
    }

    /// The same three segments (data 10 M beyond the next sequence number, an ACK 9 M
    /// beyond what was sent, 1000 bytes in the window), injected with a raw socket into a
    /// real connection through a Linux 6.18 router, moved its `invalid` counter by 1, 1, 0.
    #[test]
    fn out_of_window_data_is_invalid_and_counted() {
        let mut ct = Conntrack::default();
        feed(
            &mut ct,
            t(0),
            &tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0),
        );
        feed(
            &mut ct,
            t(0),
            &tcp(
                (S, 80),
                (C, 37200),
                5000,
                1001,
                SYN | ACK,
                65160,
                &SYN_OPTS,
                0,
            ),
        );
        feed(&mut ct, t(0), &c2s(1001, 5001, ACK, 0));
        // Far beyond what the server advertised (509 << 7): SEQ over the upper bound.
        assert_eq!(
            feed(&mut ct, t(0), &c2s(1001 + 10_000_000, 5001, ACK, 10)),
            CtVerdict::Invalid
        );
        // An ACK for data never sent: ACK over the upper bound.
        assert_eq!(
            feed(&mut ct, t(0), &c2s(1001, 9_000_000, ACK, 0)),
            CtVerdict::Invalid
        );
        // In the window: fine.
        assert!(matches!(
            feed(&mut ct, t(0), &c2s(1001, 5001, ACK, 1000)),
            CtVerdict::Tracked { .. }
        ));
        assert_eq!(ct.stat().invalid, 2);
    }

    #[test]
    fn loose_pickup_and_invalid_first_packets() {
        let mut ct = Conntrack::default();
        // A mid-stream ACK picks the connection up (loose = 1): ESTABLISHED, 300 s, unassured.
        let v = feed(&mut ct, t(0), &c2s(1, 1, ACK, 10));
        let (info, st, exp, _) = state(&ct, v);
        assert_eq!(
            (info, st, exp),
            (IpCtInfo::New, TcpConntrack::Established, 300_000_000_000)
        );
        // A SYN/ACK, a FIN or a RST cannot start one.
        let mut ct = Conntrack::default();
        for f in [SYN | ACK, FIN | ACK, RST] {
            assert_eq!(feed(&mut ct, t(0), &c2s(1, 1, f, 0)), CtVerdict::Invalid);
        }
        // loose = 0: an ACK cannot either.
        let mut ct = Conntrack::new(
            ConntrackSysctl {
                nf_conntrack_tcp_loose: false,
                ..Default::default()
            },
            0,
        );
        assert_eq!(feed(&mut ct, t(0), &c2s(1, 1, ACK, 0)), CtVerdict::Invalid);
        // Invalid flags (SYN|FIN) are refused by tcp_error.
        assert_eq!(
            feed(&mut ct, t(0), &c2s(1, 0, SYN | FIN, 0)),
            CtVerdict::Invalid
        );
        assert_eq!(ct.count(t(0)), 0);
        assert_eq!(ct.stat().invalid, 2);
    }

    #[test]
    fn rst_before_a_reply_kills_and_simultaneous_open_establishes() {
        let mut ct = Conntrack::default();
        feed(
            &mut ct,
            t(0),
            &tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0),
        );
        let v = feed(
            &mut ct,
            t(0),
            &tcp((S, 80), (C, 37200), 0, 1001, RST | ACK, 0, &[], 0),
        );
        assert!(matches!(
            v,
            CtVerdict::Tracked {
                info: IpCtInfo::EstablishedReply,
                ..
            }
        ));
        assert_eq!(ct.count(t(0)), 1, "still held by the RST");
        ct.nf_conntrack_in(t(0), Hook::PreRouting, &c2s(1, 1, SYN | FIN, 0), false);
        assert_eq!(ct.count(t(0)), 0);

        let mut ct = Conntrack::default();
        feed(
            &mut ct,
            t(0),
            &tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0),
        );
        let v = feed(
            &mut ct,
            t(0),
            &tcp((S, 80), (C, 37200), 5000, 0, SYN, 65160, &SYN_OPTS, 0),
        );
        assert_eq!(state(&ct, v).1, TcpConntrack::SynSent2);
        let v = feed(
            &mut ct,
            t(0),
            &tcp(
                (C, 37200),
                (S, 80),
                1000,
                5001,
                SYN | ACK,
                64240,
                &SYN_OPTS,
                0,
            ),
        );
        assert_eq!(state(&ct, v).1, TcpConntrack::SynRecv);
        let v = feed(
            &mut ct,
            t(0),
            &tcp((S, 80), (C, 37200), 5001, 1001, ACK, 509, &[], 0),
        );
        assert_eq!(state(&ct, v).1, TcpConntrack::Established);
    }

    /// Every cell of `tcp_conntracks` driven through the tracker: an entry is put in
    /// `old` (after a real SYN and SYN/ACK, so a reply was seen), with liberal window
    /// checking so that only the state machine decides, and a segment of each kind is sent
    /// in each direction. sIV must be INVALID, sIG must leave the state, a SYN that the table
    /// sends from TIME_WAIT or CLOSE back to SYN_SENT must reopen the connection (a new
    /// entry), everything else must land where the table says.
    #[test]
    fn every_cell_of_the_state_table_drives_the_tracker() {
        const STATES: [TcpConntrack; 10] = [
            TcpConntrack::None,
            TcpConntrack::SynSent,
            TcpConntrack::SynRecv,
            TcpConntrack::Established,
            TcpConntrack::FinWait,
            TcpConntrack::CloseWait,
            TcpConntrack::LastAck,
            TcpConntrack::TimeWait,
            TcpConntrack::Close,
            TcpConntrack::SynSent2,
        ];
        const FLAGS: [u8; 6] = [SYN, SYN | ACK, FIN | ACK, ACK, RST, 0];
        let sysctl = ConntrackSysctl {
            nf_conntrack_tcp_be_liberal: true,
            ..Default::default()
        };
        let mut checked = 0;
        for (dir, table) in TCP_CONNTRACKS.iter().enumerate() {
            for (index, &flags) in FLAGS.iter().enumerate() {
                for (o, &old) in STATES.iter().enumerate() {
                    let mut ct = Conntrack::new(sysctl, 0);
                    feed(
                        &mut ct,
                        t(0),
                        &tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0),
                    );
                    let v = feed(
                        &mut ct,
                        t(0),
                        &tcp(
                            (S, 80),
                            (C, 37200),
                            5000,
                            1001,
                            SYN | ACK,
                            65160,
                            &SYN_OPTS,
                            0,
                        ),
                    );
                    let CtVerdict::Tracked { id, .. } = v else {
                        panic!()
                    };
                    let tcp_state = ct.get_mut(id).unwrap().tcp_mut().unwrap();
                    tcp_state.state = old;
                    tcp_state.last_index = TcpBitSet::None as u8;
                    tcp_state.last_flags = 0;
                    for s in &mut tcp_state.seen {
                        s.flags =
                            (s.flags & !IP_CT_TCP_FLAG_MAXACK_SET) | IP_CT_TCP_FLAG_CLOSE_INIT;
                    }
                    let pkt = if dir == 0 {
                        c2s(1001, 5001, flags, 0)
                    } else {
                        s2c(5001, 1001, flags, 0)
                    };
                    let v = feed(&mut ct, t(1), &pkt);
                    let want = table[index][o];
                    let cell = format!("dir {dir} index {index} old {}", old.name());
                    match want {
                        TcpConntrack::Max => {
                            assert_eq!(v, CtVerdict::Invalid, "{cell}");
                            assert_eq!(ct.get(id).unwrap().tcp_state(), Some(old), "{cell}");
                        }
                        TcpConntrack::Ignore => {
                            assert!(
                                matches!(v, CtVerdict::Tracked { id: i, .. } if i == id),
                                "{cell}"
                            );
                            assert_eq!(ct.get(id).unwrap().tcp_state(), Some(old), "{cell}");
                        }
                        TcpConntrack::SynSent if old >= TcpConntrack::TimeWait => {
                            let CtVerdict::Tracked { id: new, info } = v else {
                                panic!("{cell}")
                            };
                            assert!(new != id && info == IpCtInfo::New, "{cell}");
                            assert!(ct.get(id).is_none(), "{cell}");
                            assert_eq!(
                                ct.get(new).unwrap().tcp_state(),
                                Some(TcpConntrack::SynSent)
                            );
                        }
                        _ => {
                            assert!(
                                matches!(v, CtVerdict::Tracked { id: i, .. } if i == id),
                                "{cell}"
                            );
                            assert_eq!(ct.get(id).unwrap().tcp_state(), Some(want), "{cell}");
                        }
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 120);
    }

    #[test]
    fn repeated_acks_and_zero_windows_shorten_the_established_timeout() {
        let mut ct = Conntrack::default();
        feed(
            &mut ct,
            t(0),
            &tcp((C, 37200), (S, 80), 1000, 0, SYN, 64240, &SYN_OPTS, 0),
        );
        feed(
            &mut ct,
            t(0),
            &tcp(
                (S, 80),
                (C, 37200),
                5000,
                1001,
                SYN | ACK,
                65160,
                &SYN_OPTS,
                0,
            ),
        );
        let CtVerdict::Tracked { id, .. } = feed(&mut ct, t(0), &c2s(1001, 5001, ACK, 0)) else {
            panic!()
        };
        assert_eq!(ct.expires(id, t(0)), Some(secs(432_000)));
        // The same ACK three more times: retrans reaches tcp_max_retrans (3), 300 s.
        for n in 1..=3 {
            feed(&mut ct, t(n), &c2s(1001, 5001, ACK, 0));
        }
        assert_eq!(ct.expires(id, t(3)), Some(secs(300)));
        // Something new: back to 5 days.
        feed(&mut ct, t(4), &s2c(5001, 1001, ACK, 0));
        assert_eq!(ct.expires(id, t(4)), Some(secs(432_000)));
        // A zero window advertised: the 300 s of max_retrans.
        feed(
            &mut ct,
            t(5),
            &tcp((S, 80), (C, 37200), 5001, 1001, ACK, 0, &[], 0),
        );
        assert_eq!(ct.expires(id, t(5)), Some(secs(300)));
    }
}
