//! A small fake kernel implementing [`DrillHost`], for the runner's tests: one TCP endpoint
//! per socket with the handshake, data with immediate ACKs, FIN, blocking `connect`,
//! `accept` and `read`, the options Linux puts on SYNs and SYN-ACKs, timestamps at 1 ms per
//! tick. It is no model of Linux (no windows, no retransmission, no congestion control);
//! it plays the host well enough for the simple kernel scripts, and its [`Quirks`] make it
//! misbehave in each way the runner must catch.

use std::collections::{BTreeMap, VecDeque};

use core::net::{IpAddr, Ipv4Addr};

use sim_core::{SimDuration, SimTime};
use sim_drill::ast::{IpInfo, TcpOptionSpec, TcpSpec};
use sim_drill::code::InfoVars;
use sim_drill::command::HostAction;
use sim_drill::host::*;
use sim_drill::packet::Segment;
use sim_dsl::diag::{FileId, Span};
use sim_stack::wire::TcpFlags;

const EINPROGRESS: i32 = 115;
const EAGAIN: i32 = 11;
const EBADF: i32 = 9;
const EFAULT: i32 = 14;

/// Ways to misbehave.
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// Data segments also carry FIN.
    pub data_fin: bool,
    /// Added to the sequence number of data segments.
    pub seq_skew: u32,
    /// Data segments leave this much later.
    pub data_delay: SimDuration,
    /// Data goes out in segments of at most this many bytes.
    pub segment: Option<usize>,
    /// The MSS the host announces.
    pub mss: Option<u16>,
    /// What `tcpi_snd_cwnd` reads.
    pub cwnd: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    Closed,
}

#[derive(Debug, Clone)]
struct Conn {
    state: State,
    local: (IpAddr, u16),
    remote: (IpAddr, u16),
    snd_nxt: u32,
    rcv_nxt: u32,
    ts: bool,
    ts_recent: u32,
    /// Bytes received and not yet read.
    readable: usize,
    fin_in: bool,
    listener: Option<Fd>,
}

#[derive(Debug, Clone)]
enum Sock {
    Unbound,
    Listening { port: u16, queue: VecDeque<Fd> },
    Conn(Conn),
}

#[derive(Debug, Clone)]
struct FdState {
    sock: Sock,
    nonblock: bool,
}

#[derive(Debug, Clone, Copy)]
enum Waiting {
    Connect,
    Accept,
    Read(usize),
}

/// The fake kernel.
#[derive(Debug, Default)]
pub struct FakeHost {
    now: SimTime,
    local: Option<IpAddr>,
    fds: BTreeMap<Fd, FdState>,
    sent: Vec<Outbound>,
    later: Vec<(SimTime, Vec<u8>)>,
    completions: Vec<Completion>,
    waiting: Vec<(CallId, Fd, Waiting)>,
    next_call: u64,
    next_isn: u32,
    /// The commands the host was asked to carry out.
    pub actions: Vec<HostAction>,
    /// The tun setup it received.
    pub tun: Option<TunSetup>,
    /// How to misbehave.
    pub quirks: Quirks,
}

fn no_span() -> Span {
    Span::new(FileId(0), 0, 0)
}

impl FakeHost {
    /// A fake kernel with these quirks.
    pub fn new(quirks: Quirks) -> Self {
        Self {
            quirks,
            next_isn: 1_000_000,
            ..Self::default()
        }
    }

    fn tsval(&self) -> u32 {
        (self.now.as_nanos() / 1_000_000) as u32 + 5000
    }

    fn new_fd(&mut self, sock: Sock) -> Fd {
        let fd = (3..)
            .find(|f| !self.fds.contains_key(f))
            .expect("a free fd");
        self.fds.insert(
            fd,
            FdState {
                sock,
                nonblock: false,
            },
        );
        fd
    }

    /// Builds and sends a segment of `c` now (or later, for delayed data).
    fn send(&mut self, c: &Conn, flags: &str, len: usize, options: Vec<TcpOptionSpec>, data: bool) {
        let spec = TcpSpec {
            ports: Some((c.local.1, c.remote.1)),
            flags: flags.into(),
            flags_span: no_span(),
            seq: c.snd_nxt,
            len: len as u16,
            ack: if flags.contains('.') { c.rcv_nxt } else { 0 },
            win: Some(1050),
            urg: 0,
            options: Some(options),
            options_span: None,
        };
        let mut seg = Segment::from_script(&spec, &IpInfo::default());
        seg.src = c.local.0;
        seg.dst = c.remote.0;
        seg.ttl = 64;
        seg.payload = vec![0; len];
        if data {
            seg.seq = seg.seq.wrapping_add(self.quirks.seq_skew);
            if self.quirks.data_fin {
                seg.flags.insert(TcpFlags::FIN);
            }
        }
        seg.total_len = (20 + usize::from(seg.doff) * 4 + len) as u16;
        let bytes = seg.emit();
        if data && !self.quirks.data_delay.is_zero() {
            let at = self.now.saturating_add(self.quirks.data_delay);
            self.later.push((at, bytes));
            self.later.sort_by_key(|l| l.0);
        } else {
            self.sent.push(Outbound {
                time: self.now,
                bytes,
            });
        }
    }

    fn ts_options(&self, c: &Conn) -> Vec<TcpOptionSpec> {
        if c.ts {
            vec![
                TcpOptionSpec::Nop,
                TcpOptionSpec::Nop,
                TcpOptionSpec::Timestamp {
                    val: self.tsval(),
                    ecr: c.ts_recent,
                },
            ]
        } else {
            Vec::new()
        }
    }

    fn ack(&mut self, c: &Conn) {
        let o = self.ts_options(c);
        self.send(c, ".", 0, o, false);
    }

    fn conn_mut(&mut self, fd: Fd) -> Option<&mut Conn> {
        match self.fds.get_mut(&fd).map(|f| &mut f.sock) {
            Some(Sock::Conn(c)) => Some(c),
            _ => None,
        }
    }

    fn complete(&mut self, fd: Fd, what: fn(Waiting) -> bool, ret: SyscallReturn) {
        if let Some(i) = self.waiting.iter().position(|w| w.1 == fd && what(w.2)) {
            let (id, _, _) = self.waiting.remove(i);
            self.completions.push(Completion {
                id,
                time: self.now,
                ret,
            });
        }
    }

    fn block(&mut self, fd: Fd, w: Waiting) -> SyscallOutcome {
        self.next_call += 1;
        let id = CallId(self.next_call);
        self.waiting.push((id, fd, w));
        SyscallOutcome::Blocked(id)
    }

    fn write(&mut self, fd: Fd, len: usize) -> SyscallReturn {
        let Some(c) = self.conn_mut(fd).cloned() else {
            return SyscallReturn::err(EBADF);
        };
        let mut c = c;
        let mut left = len;
        while left > 0 {
            let n = self.quirks.segment.map_or(left, |s| s.min(left));
            let o = self.ts_options(&c);
            self.send(&c, if n == left { "P." } else { "." }, n, o, true);
            c.snd_nxt = c.snd_nxt.wrapping_add(n as u32);
            left -= n;
        }
        *self.conn_mut(fd).expect("conn") = c;
        SyscallReturn::ok(len as i64)
    }

    fn read(&mut self, fd: Fd, buf: Buffer) -> SyscallOutcome {
        let nonblock = self.fds.get(&fd).is_some_and(|f| f.nonblock);
        let Some(c) = self.conn_mut(fd) else {
            return SyscallOutcome::Done(SyscallReturn::err(EBADF));
        };
        if c.readable > 0 {
            if buf.null {
                return SyscallOutcome::Done(SyscallReturn::err(EFAULT));
            }
            let n = buf.len.min(c.readable);
            c.readable -= n;
            return SyscallOutcome::Done(SyscallReturn::ok(n as i64));
        }
        if c.fin_in {
            return SyscallOutcome::Done(SyscallReturn::ok(0));
        }
        if nonblock {
            return SyscallOutcome::Done(SyscallReturn::err(EAGAIN));
        }
        self.block(fd, Waiting::Read(buf.len))
    }

    /// A segment arrives.
    fn receive(&mut self, seg: &Segment) {
        let key = (seg.dst, seg.dst_port);
        let from = (seg.src, seg.src_port);
        let syn = seg.flags.contains(TcpFlags::SYN);
        let ack = seg.flags.contains(TcpFlags::ACK);
        let ts = seg.timestamp();
        // An existing connection.
        let found = self.fds.iter().find_map(|(fd, f)| match &f.sock {
            Sock::Conn(c) if c.local == key && c.remote == from && c.state != State::Closed => {
                Some(*fd)
            }
            _ => None,
        });
        if let Some(fd) = found {
            let mut c = self.conn_mut(fd).cloned().expect("conn");
            if let Some((val, _)) = ts {
                c.ts_recent = val;
            }
            match c.state {
                // A handshake segment that does not acknowledge our SYN is dropped.
                State::SynSent | State::SynRecv if ack && seg.ack != c.snd_nxt.wrapping_add(1) => {
                    return;
                }
                State::SynSent if syn && ack => {
                    c.rcv_nxt = seg.seq.wrapping_add(1);
                    c.snd_nxt = c.snd_nxt.wrapping_add(1);
                    c.ts = c.ts && ts.is_some();
                    c.state = State::Established;
                    self.ack(&c);
                    *self.conn_mut(fd).expect("conn") = c;
                    self.complete(fd, |w| matches!(w, Waiting::Connect), SyscallReturn::ok(0));
                    return;
                }
                State::SynRecv if ack => {
                    c.state = State::Established;
                    c.snd_nxt = c.snd_nxt.wrapping_add(1);
                    let listener = c.listener;
                    *self.conn_mut(fd).expect("conn") = c;
                    if let Some(l) = listener {
                        if let Some(Sock::Listening { queue, .. }) =
                            self.fds.get_mut(&l).map(|f| &mut f.sock)
                        {
                            queue.push_back(fd);
                        }
                        if let Some(i) = self
                            .waiting
                            .iter()
                            .position(|w| w.1 == l && matches!(w.2, Waiting::Accept))
                        {
                            let (id, _, _) = self.waiting.remove(i);
                            if let Some(Sock::Listening { queue, .. }) =
                                self.fds.get_mut(&l).map(|f| &mut f.sock)
                            {
                                queue.pop_front();
                            }
                            self.completions.push(Completion {
                                id,
                                time: self.now,
                                ret: SyscallReturn::ok(i64::from(fd)),
                            });
                        }
                    }
                    let c = self.conn_mut(fd).cloned().expect("conn");
                    if !seg.payload.is_empty() {
                        self.data_in(fd, c, seg);
                    }
                    return;
                }
                State::LastAck if ack => {
                    c.state = State::Closed;
                    *self.conn_mut(fd).expect("conn") = c;
                    return;
                }
                _ => {}
            }
            if !ack {
                return; // segments without ACK are dropped once established
            }
            self.data_in(fd, c, seg);
            return;
        }
        // A SYN for a listener.
        let listener = self.fds.iter().find_map(|(fd, f)| match &f.sock {
            Sock::Listening { port, .. } if *port == key.1 => Some(*fd),
            _ => None,
        });
        if let (Some(l), true) = (listener, syn && !ack) {
            let opts = sim_drill::packet::split_options(&seg.options).unwrap_or_default();
            let sack = opts.iter().any(|o| o.kind == 4);
            let ws = opts.iter().any(|o| o.kind == 3);
            let isn = self.next_isn;
            self.next_isn += 1_000_000;
            let c = Conn {
                state: State::SynRecv,
                local: key,
                remote: from,
                snd_nxt: isn,
                rcv_nxt: seg.seq.wrapping_add(1),
                ts: ts.is_some(),
                ts_recent: ts.map_or(0, |t| t.0),
                readable: 0,
                fin_in: false,
                listener: Some(l),
            };
            let mut o = vec![TcpOptionSpec::Mss(self.quirks.mss.unwrap_or(1460))];
            let tso = TcpOptionSpec::Timestamp {
                val: self.tsval(),
                ecr: c.ts_recent,
            };
            match (sack, c.ts) {
                (true, true) => o.extend([TcpOptionSpec::SackPermitted, tso]),
                (true, false) => o.extend([
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::SackPermitted,
                ]),
                (false, true) => o.extend([TcpOptionSpec::Nop, TcpOptionSpec::Nop, tso]),
                (false, false) => {}
            }
            if ws {
                o.extend([TcpOptionSpec::Nop, TcpOptionSpec::WindowScale(8)]);
            }
            self.send(&c, "S.", 0, o, false);
            self.new_fd(Sock::Conn(c));
        }
    }

    fn data_in(&mut self, fd: Fd, mut c: Conn, seg: &Segment) {
        let fin = seg.flags.contains(TcpFlags::FIN);
        if seg.payload.is_empty() && !fin {
            *self.conn_mut(fd).expect("conn") = c;
            return;
        }
        c.rcv_nxt = c.rcv_nxt.wrapping_add(seg.payload.len() as u32);
        c.readable += seg.payload.len();
        if fin {
            c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
            c.fin_in = true;
            c.state = match c.state {
                State::FinWait => State::Closed,
                _ => State::CloseWait,
            };
        }
        self.ack(&c);
        let readable = c.readable;
        let fin_in = c.fin_in;
        *self.conn_mut(fd).expect("conn") = c;
        if let Some(i) = self
            .waiting
            .iter()
            .position(|w| w.1 == fd && matches!(w.2, Waiting::Read(_)))
        {
            let Waiting::Read(len) = self.waiting[i].2 else {
                unreachable!()
            };
            if readable > 0 || fin_in {
                let (id, _, _) = self.waiting.remove(i);
                let n = len.min(readable);
                if let Some(c) = self.conn_mut(fd) {
                    c.readable -= n;
                }
                self.completions.push(Completion {
                    id,
                    time: self.now,
                    ret: SyscallReturn::ok(n as i64),
                });
            }
        }
    }
}

impl DrillHost for FakeHost {
    fn setup(&mut self, tun: &TunSetup) -> Result<(), String> {
        self.local = Some(tun.local_ip);
        self.tun = Some(tun.clone());
        Ok(())
    }

    fn now(&self) -> SimTime {
        self.now
    }

    fn next_event(&self) -> Option<SimTime> {
        self.later.first().map(|l| l.0)
    }

    fn advance_to(&mut self, t: SimTime) {
        while let Some((at, _)) = self.later.first() {
            if *at > t {
                break;
            }
            let (at, bytes) = self.later.remove(0);
            self.sent.push(Outbound { time: at, bytes });
        }
        self.now = t;
    }

    fn inject(&mut self, packet: &Inbound) -> Result<(), String> {
        let seg = Segment::parse(&packet.bytes).expect("the runner injects valid TCP");
        self.receive(&seg);
        Ok(())
    }

    fn take_outbound(&mut self) -> Vec<Outbound> {
        std::mem::take(&mut self.sent)
    }

    fn syscall(&mut self, call: &Syscall) -> SyscallOutcome {
        let done = SyscallOutcome::Done;
        match call {
            Syscall::Socket { .. } => {
                let fd = self.new_fd(Sock::Unbound);
                done(SyscallReturn::ok(i64::from(fd)))
            }
            Syscall::Bind { .. } | Syscall::Setsockopt { .. } => done(SyscallReturn::ok(0)),
            Syscall::Listen { fd, .. } => {
                let port = 8080;
                match self.fds.get_mut(fd) {
                    Some(f) => {
                        f.sock = Sock::Listening {
                            port,
                            queue: VecDeque::new(),
                        };
                        done(SyscallReturn::ok(0))
                    }
                    None => done(SyscallReturn::err(EBADF)),
                }
            }
            Syscall::Accept { fd } => {
                let nonblock = self.fds.get(fd).is_some_and(|f| f.nonblock);
                match self.fds.get_mut(fd).map(|f| &mut f.sock) {
                    Some(Sock::Listening { queue, .. }) => match queue.pop_front() {
                        Some(child) => done(SyscallReturn::ok(i64::from(child))),
                        None if nonblock => done(SyscallReturn::err(EAGAIN)),
                        None => self.block(*fd, Waiting::Accept),
                    },
                    _ => done(SyscallReturn::err(EBADF)),
                }
            }
            Syscall::Connect { fd, addr } => {
                let Some(addr) = addr else {
                    return done(SyscallReturn::ok(0));
                };
                let isn = self.next_isn;
                self.next_isn += 1_000_000;
                let c = Conn {
                    state: State::SynSent,
                    local: (
                        self.local.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                        40000 + *fd as u16,
                    ),
                    remote: (addr.ip, addr.port),
                    snd_nxt: isn,
                    rcv_nxt: 0,
                    ts: true,
                    ts_recent: 0,
                    readable: 0,
                    fin_in: false,
                    listener: None,
                };
                let o = vec![
                    TcpOptionSpec::Mss(self.quirks.mss.unwrap_or(1460)),
                    TcpOptionSpec::SackPermitted,
                    TcpOptionSpec::Timestamp {
                        val: self.tsval(),
                        ecr: 0,
                    },
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::WindowScale(8),
                ];
                self.send(&c, "S", 0, o, false);
                let nonblock = self.fds.get(fd).is_some_and(|f| f.nonblock);
                if let Some(f) = self.fds.get_mut(fd) {
                    f.sock = Sock::Conn(c);
                }
                if nonblock {
                    done(SyscallReturn::err(EINPROGRESS))
                } else {
                    self.block(*fd, Waiting::Connect)
                }
            }
            Syscall::Write { fd, buf }
            | Syscall::Send { fd, buf, .. }
            | Syscall::Sendto { fd, buf, .. } => {
                if buf.null {
                    return done(SyscallReturn::err(EFAULT));
                }
                let r = self.write(*fd, buf.len);
                done(r)
            }
            Syscall::Read { fd, buf } | Syscall::Recv { fd, buf, .. } => self.read(*fd, *buf),
            Syscall::Fcntl { fd, cmd, arg } => {
                let Some(f) = self.fds.get_mut(fd) else {
                    return done(SyscallReturn::err(EBADF));
                };
                match (cmd, arg) {
                    (3, _) => done(SyscallReturn::ok(2 | if f.nonblock { 0o4000 } else { 0 })),
                    (4, Some(a)) => {
                        f.nonblock = a & 0o4000 != 0;
                        done(SyscallReturn::ok(0))
                    }
                    _ => SyscallOutcome::Unsupported(format!("fcntl command {cmd}")),
                }
            }
            Syscall::Getsockopt { optlen, .. } => done(SyscallReturn {
                ret: 0,
                errno: 0,
                out: Output::Optval {
                    value: vec![0; *optlen as usize],
                    optlen: *optlen,
                },
            }),
            Syscall::Close { fd } => {
                let Some(f) = self.fds.remove(fd) else {
                    return done(SyscallReturn::err(EBADF));
                };
                if let Sock::Conn(mut c) = f.sock {
                    if matches!(c.state, State::Established | State::CloseWait) {
                        let o = self.ts_options(&c);
                        self.send(&c, "F.", 0, o, false);
                        c.snd_nxt = c.snd_nxt.wrapping_add(1);
                        c.state = if c.state == State::CloseWait {
                            State::LastAck
                        } else {
                            State::FinWait
                        };
                        // The connection lives on without its descriptor.
                        let spare = (1000..).find(|f| !self.fds.contains_key(f)).expect("spare");
                        self.fds.insert(
                            spare,
                            FdState {
                                sock: Sock::Conn(c),
                                nonblock: false,
                            },
                        );
                    }
                }
                done(SyscallReturn::ok(0))
            }
            other => SyscallOutcome::Unsupported(format!("the fake kernel has no {other:?}")),
        }
    }

    fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.completions)
    }

    fn code_vars(&mut self, fd: Fd) -> Result<InfoVars, i32> {
        if !self.fds.contains_key(&fd) {
            return Err(EBADF);
        }
        let mut v = InfoVars::new();
        v.insert("tcpi_snd_cwnd".into(), self.quirks.cwnd.unwrap_or(10));
        v.insert("tcpi_ca_state".into(), 0);
        v.insert("tcpi_state".into(), 1);
        Ok(v)
    }

    fn run_action(&mut self, action: &HostAction) -> ActionOutcome {
        self.actions.push(action.clone());
        match action {
            HostAction::Route(_) => {
                ActionOutcome::Unsupported("the fake kernel has no routes".into())
            }
            HostAction::NstatCheck { counter, .. } => ActionOutcome::Failed {
                status: 1,
                message: format!("{counter} did not change"),
            },
            _ => ActionOutcome::Ok,
        }
    }
}
