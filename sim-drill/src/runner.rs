//! The runner: a [`Program`]'s events in time order against a [`DrillHost`], with
//! packetdrill's semantics (run.c, run_packet.c, run_system_call.c, code.c).
//!
//! * **Time.** Script times are microseconds. A relative event is anchored when it is
//!   reached, at the host's current time — or, for an inbound packet right after an inbound
//!   packet, at that packet's script time (`adjust_relative_event_times`). Every event but an
//!   outbound packet first waits for its time (the host runs until then); then, except for
//!   the first event, `verify_time` checks it happened within the tolerance: the larger of
//!   `--tolerance_usecs` and `--tolerance_percent` of the time since the previous event.
//!   `*` matches any time; `a~b` ranges widen the window by the tolerance at both ends.
//! * **Outbound packets** are taken as soon as the script reaches the line — the host runs
//!   until one leaves, up to the script's time plus 2 s (`Timed out waiting for packet`) —
//!   so a packet sent early fails its time check. Packets of other connections are passed
//!   over. Consecutive packets are joined until they carry the payload the line expects
//!   (`aggregate_packets`), unless `--strict_segments`.
//! * **Sequence numbers** are relative to the initial sequence numbers on both sides, as the
//!   script writes them; inbound timestamp echo replies are mapped from script TS values to
//!   the live values the host sent (`unable to infer live TS ecr …` when there is none).
//! * **Blocking calls** (`+0...0.3 read(…)`) start at their time; while the host has not
//!   returned, later events run; when it returns, the result is checked and the return
//!   time must match the `...` time. A call without `...` that blocks holds the script until
//!   it returns.
//! * **`%{ }%` blocks** are evaluated over the host's values at their instant; as in
//!   packetdrill, whose Python runs after the script, a failed assert is reported only if
//!   the script otherwise passed, and stops the blocks after it.
//!
//! Errors read as packetdrill's (`tcp_x.pkt:18: error handling packet: live packet field
//! tcp_fin: expected: 1 (0x1) vs actual: 0 (0x0)` and the packet dumps).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use core::net::IpAddr;

use sim_core::SimTime;
use sim_stack::wire::TcpFlags;

use crate::ast::{Direction, EventTime, Usecs};
use crate::code::{CodeState, RunError};
use crate::command::{CommandBlock, Parsed};
use crate::host::{
    ActionOutcome, CallId, Cmsg, CmsgData, DrillHost, Fd, Inbound, Output, Syscall, SyscallOutcome,
    SyscallReturn, TunSetup,
};
use crate::model::{CheckMode, EventKind, ExpectOptval, ExpectOut, Program, SyscallEvent};
use crate::packet::{self, Segment, TsCheck};
use crate::symbols::strerror;

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every event happened as the script says.
    Pass,
    /// The first mismatch, in packetdrill's words.
    Fail(String),
    /// The script needs something the runner or the host does not model.
    Unsupported(String),
}

/// A packet of the exchange between the script and the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// When it was injected or left the host.
    pub time: SimTime,
    /// `Inbound`: injected by the script.
    pub direction: Direction,
    /// The IPv4 datagram.
    pub bytes: Vec<u8>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Pass, fail or unsupported.
    pub verdict: Verdict,
    /// Non-fatal mismatches (`--non_fatal=packet`).
    pub warnings: Vec<String>,
    /// Every packet injected or sent, in time order.
    pub exchange: Vec<Captured>,
}

/// Runs a program against a host.
pub fn run(program: &Program, host: &mut dyn DrillHost) -> RunReport {
    let mut r = Runner::new(program, host);
    let verdict = match r.run_script() {
        Ok(()) => Verdict::Pass,
        Err(Stop::Fail(m)) => Verdict::Fail(m),
        Err(Stop::Unsupported(m)) => Verdict::Unsupported(m),
    };
    let mut exchange = std::mem::take(&mut r.exchange);
    exchange.sort_by_key(|c| c.time);
    RunReport {
        verdict,
        warnings: std::mem::take(&mut r.warnings),
        exchange,
    }
}

/// Why the run stopped early, with the whole message.
#[derive(Debug)]
enum Stop {
    Fail(String),
    Unsupported(String),
}

/// An error inside an event: a message the event's handler frames with its line
/// (`Local`), or a stop already framed (a blocked call that returned badly meanwhile).
#[derive(Debug)]
enum Fault {
    Local(String),
    /// A packet mismatch `--non_fatal=packet` turns into a warning.
    NonFatal(String),
    Stop(Stop),
}

impl From<Stop> for Fault {
    fn from(s: Stop) -> Self {
        Self::Stop(s)
    }
}

impl From<String> for Fault {
    fn from(s: String) -> Self {
        Self::Local(s)
    }
}

/// How long a call the script does not expect to block may hold the script (simulated).
const STUCK_LIMIT_USECS: i64 = 600_000_000;
/// How long `*` waits for an outbound packet (packetdrill waits forever).
const ANY_TIME_LIMIT_USECS: i64 = 600_000_000;
/// packetdrill waits this long for a blocking call to return before the next one, or
/// before exiting (`await_idle_thread`).
const AWAIT_IDLE_USECS: i64 = 1_000_000;
/// The first port the script's peer uses for connections it opens (packetdrill binds port 0
/// for each; the simulation picks them in order from Linux's default ephemeral range).
const FIRST_REMOTE_PORT: u16 = 32768;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SockState {
    New,
    Listening,
    PassivePacketReceived,
    PassiveSynackSent,
    PassiveSynackAcked,
    ActiveConnecting,
    ActiveSynSent,
    ActiveSynAcked,
}

/// packetdrill's `struct socket`: what the script and the host call this connection.
#[derive(Debug, Clone)]
struct Socket {
    state: SockState,
    tcp: bool,
    live_fd: Option<Fd>,
    script_local_isn: u32,
    live_local: Option<(IpAddr, u16)>,
    live_remote: Option<(IpAddr, u16)>,
    live_local_isn: u32,
    live_remote_isn: u32,
    /// `flowlabel_map`: the (script, live) IPv6 flow labels of the last checked packet
    /// whose script gave one.
    flowlabels: Option<(u32, u32)>,
    /// Script TS val → the live TS val the host sent for it.
    ts_map: BTreeMap<u32, u32>,
    /// The first (script, live) TS val pair, the baseline of the live → script mapping.
    first_ts: Option<(u32, u32)>,
}

impl Socket {
    fn new(state: SockState, tcp: bool) -> Self {
        Self {
            state,
            tcp,
            live_fd: None,
            script_local_isn: 0,
            live_local: None,
            live_remote: None,
            live_local_isn: 0,
            live_remote_isn: 0,
            flowlabels: None,
            ts_map: BTreeMap::new(),
            first_ts: None,
        }
    }
    /// `remote_seq_script_to_live_offset`.
    fn remote_offset(&self, syn: bool) -> u32 {
        if syn { 0 } else { self.live_remote_isn }
    }
    /// `local_seq_script_to_live_offset`.
    fn local_offset(&self, syn: bool) -> u32 {
        if syn {
            self.live_local_isn.wrapping_sub(self.script_local_isn)
        } else {
            self.live_local_isn
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FdKind {
    Socket(usize),
    File,
    Pipe,
}

#[derive(Debug, Clone, Copy)]
struct FdEntry {
    script: i32,
    live: Fd,
    closed: bool,
    kind: FdKind,
}

/// The kind of an event's time, as `verify_time` distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeType {
    Absolute,
    Relative,
    AbsoluteRange,
    RelativeRange,
    Any,
}

/// An event's times after anchoring.
#[derive(Debug, Clone, Copy)]
struct Timing {
    ty: TimeType,
    usecs: Usecs,
    /// Range end, or -1.
    end: Usecs,
    /// The anchor added to relative times, or -1.
    offset: Usecs,
    line: u32,
}

/// The previous event, as the next one needs it.
#[derive(Debug, Clone, Copy)]
struct Last {
    usecs: Usecs,
    inbound_packet: bool,
    absolute: bool,
}

/// A blocking call the host has not returned yet.
#[derive(Debug, Clone)]
struct Pending {
    id: CallId,
    call: SyscallEvent,
    ty: TimeType,
    start: Usecs,
    end: Usecs,
    line: u32,
}

struct Runner<'a> {
    p: &'a Program,
    host: &'a mut dyn DrillHost,
    live_start: Usecs,
    script_start: Usecs,
    script_last: Usecs,
    last: Option<Last>,
    ev: Timing,
    num_events: usize,
    sockets: Vec<Socket>,
    fds: Vec<FdEntry>,
    under_test: Option<usize>,
    queue: VecDeque<crate::host::Outbound>,
    pending: Option<Pending>,
    /// A call the script did not expect to block, and what it returned.
    stuck: Option<(CallId, Option<(SimTime, SyscallReturn)>)>,
    code: CodeState,
    code_failure: Option<String>,
    exchange: Vec<Captured>,
    warnings: Vec<String>,
    next_port: u16,
}

fn usecs_to_secs(us: Usecs) -> f64 {
    us as f64 / 1e6
}

fn time_type(t: EventTime) -> TimeType {
    match t {
        EventTime::Absolute(_) => TimeType::Absolute,
        EventTime::Relative(_) => TimeType::Relative,
        EventTime::AbsoluteRange(..) => TimeType::AbsoluteRange,
        EventTime::RelativeRange(..) => TimeType::RelativeRange,
        EventTime::Any => TimeType::Any,
    }
}

fn to_ns(us: Usecs) -> SimTime {
    SimTime::from_nanos(us.max(0) as u64 * 1000)
}

impl<'a> Runner<'a> {
    fn new(p: &'a Program, host: &'a mut dyn DrillHost) -> Self {
        Self {
            p,
            host,
            live_start: 0,
            script_start: 0,
            script_last: 0,
            last: None,
            ev: Timing {
                ty: TimeType::Absolute,
                usecs: 0,
                end: -1,
                offset: -1,
                line: 0,
            },
            num_events: 0,
            sockets: Vec::new(),
            fds: Vec::new(),
            under_test: None,
            queue: VecDeque::new(),
            pending: None,
            stuck: None,
            code: CodeState::default(),
            code_failure: None,
            exchange: Vec::new(),
            warnings: Vec::new(),
            next_port: FIRST_REMOTE_PORT,
        }
    }

    fn path(&self) -> &str {
        &self.p.path
    }

    fn now_us(&self) -> Usecs {
        (self.host.now().as_nanos() / 1000) as Usecs
    }

    fn fail(&self, line: u32, msg: impl std::fmt::Display) -> Stop {
        Stop::Fail(format!("{}:{line}: {msg}", self.path()))
    }

    fn unsupported(&self, line: u32, msg: impl std::fmt::Display) -> Stop {
        Stop::Unsupported(format!("{}:{line}: unsupported: {msg}", self.path()))
    }

    // ------------------------------------------------------------ the loop

    fn run_script(&mut self) -> Result<(), Stop> {
        if let Err(e) = self.host.setup(&TunSetup::of(&self.p.config)) {
            return Err(Stop::Unsupported(format!(
                "{}: unsupported: setting up tun0: {e}",
                self.path()
            )));
        }
        if let Some(init) = &self.p.init {
            if let Err(e) = self.commands(&init.block, init.line) {
                return Err(match e {
                    Fault::Local(m) | Fault::NonFatal(m) => Stop::Fail(format!(
                        "{}: error executing init command: {m}",
                        self.path()
                    )),
                    Fault::Stop(s) => s,
                });
            }
        }
        self.live_start = self.now_us();
        for i in 0..self.p.events.len() {
            self.next_event(i)?;
            let event = &self.p.events[i];
            let r = match &event.kind {
                EventKind::Packet { direction, segment } => self.packet_event(*direction, segment),
                EventKind::Syscall(s) => self.syscall_event(s),
                EventKind::Command(b) => self.command_event(b),
                EventKind::Code(b) => self.code_event(b),
            };
            match r {
                Ok(()) => {}
                Err(Fault::Stop(s)) => return Err(s),
                Err(Fault::Local(m)) => return Err(Stop::Fail(m)),
                Err(Fault::NonFatal(m)) => self.warnings.push(m),
            }
            self.num_events += 1;
        }
        if let Some(cleanup) = &self.p.cleanup {
            if let Err(e) = self.commands(&cleanup.block, cleanup.line) {
                return Err(match e {
                    Fault::Local(m) | Fault::NonFatal(m) => Stop::Fail(format!(
                        "{}: error executing cleanup command: {m}",
                        self.path()
                    )),
                    Fault::Stop(s) => s,
                });
            }
        }
        if let Some(f) = self.code_failure.take() {
            return Err(Stop::Fail(f));
        }
        if self.pending.is_some() {
            self.await_idle()?;
            if let Some(p) = &self.pending {
                return Err(self.fail(
                    p.line,
                    "runtime error: exiting while a blocking system call is in progress",
                ));
            }
        }
        Ok(())
    }

    /// `get_next_event` and `adjust_relative_event_times`.
    fn next_event(&mut self, i: usize) -> Result<(), Stop> {
        let e = &self.p.events[i];
        let (usecs, end) = match e.time {
            EventTime::Absolute(t) | EventTime::Relative(t) => (t, -1),
            EventTime::AbsoluteRange(a, b) | EventTime::RelativeRange(a, b) => (a, b),
            EventTime::Any => (0, -1),
        };
        let ty = time_type(e.time);
        let inbound = matches!(
            e.kind,
            EventKind::Packet {
                direction: Direction::Inbound,
                ..
            }
        );
        if i == 0 {
            self.script_start = usecs;
            if usecs != 0 {
                return Err(self.fail(e.line, "first event should be at time 0"));
            }
        } else {
            self.script_last = self.ev.usecs;
            let prev = &self.p.events[i - 1];
            self.last = Some(Last {
                usecs: self.ev.usecs,
                inbound_packet: matches!(
                    prev.kind,
                    EventKind::Packet {
                        direction: Direction::Inbound,
                        ..
                    }
                ),
                absolute: matches!(self.ev.ty, TimeType::Absolute | TimeType::AbsoluteRange),
            });
            let absolute = matches!(ty, TimeType::Absolute | TimeType::AbsoluteRange);
            if self.last.is_some_and(|l| l.absolute) && absolute && usecs < self.script_last {
                return Err(self.fail(
                    e.line,
                    format!(
                        "time goes backward in script from {} usec to {usecs} usec",
                        self.script_last
                    ),
                ));
            }
        }
        let mut t = Timing {
            ty,
            usecs,
            end,
            offset: -1,
            line: e.line,
        };
        if matches!(
            ty,
            TimeType::Any | TimeType::Relative | TimeType::RelativeRange
        ) {
            let offset = match self.last {
                Some(l) if l.inbound_packet && inbound => l.usecs,
                _ => self.now_us() - self.live_start,
            };
            t.offset = offset;
            t.usecs += offset;
            if ty == TimeType::RelativeRange {
                t.end += offset;
            }
        }
        self.ev = t;
        Ok(())
    }

    // ------------------------------------------------------------ time

    /// `verify_time`.
    #[allow(clippy::too_many_arguments)]
    fn verify_time(
        &self,
        ty: TimeType,
        script_usecs: Usecs,
        script_end: Usecs,
        live_usecs: Usecs,
        last_event: Option<Usecs>,
        offset: Usecs,
        description: &str,
    ) -> Result<(), String> {
        let c = &self.p.config;
        let expected = script_usecs - self.script_start;
        let expected_end = script_end - self.script_start;
        let actual = live_usecs - self.live_start;
        let mut tolerance = c.tolerance_usecs;
        if ty == TimeType::Any {
            return Ok(());
        }
        if let Some(last) = last_event {
            let dynamic = (c.tolerance_percent / 100.0 * (script_usecs - last) as f64) as i64;
            tolerance = tolerance.max(dynamic);
        }
        if matches!(ty, TimeType::AbsoluteRange | TimeType::RelativeRange) {
            if actual < expected - tolerance || actual > expected_end + tolerance {
                return Err(if ty == TimeType::AbsoluteRange {
                    format!(
                        "timing error: expected {description} in time range {:.6}~{:.6} sec but happened at {:.6} sec",
                        usecs_to_secs(script_usecs),
                        usecs_to_secs(script_end),
                        usecs_to_secs(actual)
                    )
                } else {
                    format!(
                        "timing error: expected {description} in relative time range +{:.6}~+{:.6} sec but happened at {:+.6} sec",
                        usecs_to_secs(script_usecs - offset),
                        usecs_to_secs(script_end - offset),
                        usecs_to_secs(actual - offset)
                    )
                });
            }
            return Ok(());
        }
        if actual < expected - tolerance || actual > expected + tolerance {
            return Err(format!(
                "timing error: expected {description} at {:.6} sec but happened at {:.6} sec; tolerance {:.6} sec",
                usecs_to_secs(script_usecs),
                usecs_to_secs(actual),
                usecs_to_secs(tolerance)
            ));
        }
        Ok(())
    }

    /// `wait_for_event`: runs the host until the event's time, then checks the time.
    fn wait_for_event(&mut self, description: &str) -> Result<(), Fault> {
        let target = self.live_start + (self.ev.usecs - self.script_start);
        self.advance_until(target)?;
        if self.num_events > 0 {
            let now = self.now_us();
            self.verify_time(
                self.ev.ty,
                self.ev.usecs,
                self.ev.end,
                now,
                self.last.map(|l| l.usecs),
                self.ev.offset,
                description,
            )
            .map_err(|e| Fault::Stop(self.fail(self.ev.line, e)))?;
        }
        Ok(())
    }

    /// Runs the host until live time `target` (µs), collecting what it sends and what
    /// returns.
    fn advance_until(&mut self, target: Usecs) -> Result<(), Stop> {
        let target = to_ns(target);
        while self.step(target)? {}
        Ok(())
    }

    /// Runs the host to its next event if that is no later than `limit` (true), else to
    /// `limit` (false), and collects what happened.
    fn step(&mut self, limit: SimTime) -> Result<bool, Stop> {
        let now = self.host.now();
        match self.host.next_event() {
            Some(t) if t <= limit => {
                self.host.advance_to(t.max(now));
                self.poll()?;
                // A host still busy at this instant after running it breaks the trait's
                // contract; moving on to the limit keeps the run finite.
                if self.host.next_event().is_some_and(|n| n <= self.host.now()) {
                    self.host.advance_to(limit.max(self.host.now()));
                    self.poll()?;
                    return Ok(false);
                }
                Ok(true)
            }
            _ => {
                self.host.advance_to(limit.max(now));
                self.poll()?;
                Ok(false)
            }
        }
    }

    /// Collects outbound packets and returned calls; checks a returned blocking call.
    fn poll(&mut self) -> Result<(), Stop> {
        for o in self.host.take_outbound() {
            self.exchange.push(Captured {
                time: o.time,
                direction: Direction::Outbound,
                bytes: o.bytes.clone(),
            });
            self.queue.push_back(o);
        }
        for c in self.host.take_completions() {
            if self.stuck.as_ref().is_some_and(|s| s.0 == c.id) {
                self.stuck = Some((c.id, Some((c.time, c.ret))));
            } else if self.pending.as_ref().is_some_and(|p| p.id == c.id) {
                let p = self.pending.take().expect("pending");
                self.blocking_returned(&p, c.time, &c.ret)?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ packets

    fn packet_event(&mut self, direction: Direction, script: &Segment) -> Result<(), Fault> {
        let line = self.ev.line;
        let r = self.packet_inner(direction, script);
        match r {
            Ok(()) => Ok(()),
            Err(Fault::Local(m)) => Err(Fault::Local(format!(
                "{}:{line}: error handling packet: {m}",
                self.path()
            ))),
            Err(Fault::NonFatal(m)) if self.p.config.non_fatal_packet => Err(Fault::NonFatal(
                format!("{}:{line}: warning handling packet: {m}", self.path()),
            )),
            Err(Fault::NonFatal(m)) => Err(Fault::Local(format!(
                "{}:{line}: error handling packet: {m}",
                self.path()
            ))),
            Err(e) => Err(e),
        }
    }

    fn packet_inner(&mut self, direction: Direction, script: &Segment) -> Result<(), Fault> {
        let sock = self.socket_for_script_packet(direction, script)?;
        match direction {
            Direction::Outbound => self.outbound(script, sock),
            Direction::Inbound => {
                self.wait_for_event("inbound packet")?;
                self.inbound(script, sock)
            }
        }
    }

    /// `find_or_create_socket_for_script_packet`.
    fn socket_for_script_packet(
        &mut self,
        direction: Direction,
        script: &Segment,
    ) -> Result<usize, Fault> {
        let syn = script.flags.contains(TcpFlags::SYN);
        let ack = script.flags.contains(TcpFlags::ACK);
        let under = self.under_test.map(|i| self.sockets[i].state);
        // An inbound packet for a listener (or for no socket) opens a passive connection.
        if direction == Direction::Inbound && matches!(under, None | Some(SockState::Listening)) {
            let c = &self.p.config;
            let mut s = Socket::new(SockState::PassivePacketReceived, true);
            s.live_remote = Some((c.remote_ip, self.next_port));
            self.next_port = self.next_port.wrapping_add(1).max(FIRST_REMOTE_PORT);
            s.live_local = Some((c.local_ip, c.bind_port));
            s.live_remote_isn = script.seq;
            self.sockets.push(s);
            self.under_test = Some(self.sockets.len() - 1);
            return Ok(self.sockets.len() - 1);
        }
        // An outbound SYN from a socket that called connect().
        if direction == Direction::Outbound
            && syn
            && !ack
            && under == Some(SockState::ActiveConnecting)
        {
            let i = self.under_test.expect("socket under test");
            let s = &mut self.sockets[i];
            s.state = SockState::ActiveSynSent;
            s.script_local_isn = script.seq;
            return Ok(i);
        }
        match self.under_test {
            Some(i) if self.sockets[i].tcp => Ok(i),
            Some(i) if script.src_port != 0 || script.dst_port != 0 => Ok(i),
            _ => Err("no matching socket for script packet".to_string().into()),
        }
    }

    /// `do_inbound_script_packet`: maps the script packet to live values and injects it.
    fn inbound(&mut self, script: &Segment, sock: usize) -> Result<(), Fault> {
        let syn = script.flags.contains(TcpFlags::SYN);
        let ack = script.flags.contains(TcpFlags::ACK);
        {
            let s = &mut self.sockets[sock];
            if s.state == SockState::PassiveSynackSent && ack {
                s.state = SockState::PassiveSynackAcked;
            } else if s.state == SockState::ActiveSynSent && syn && ack {
                s.state = SockState::ActiveSynAcked;
                s.live_remote_isn = script.seq;
            }
        }
        let s = &self.sockets[sock];
        let mut live = script.clone();
        let (rip, rport) = s.live_remote.unwrap_or((script.src, 0));
        let (lip, lport) = s.live_local.unwrap_or((script.dst, 0));
        live.src = rip;
        live.dst = lip;
        if script.src_port == 0 {
            live.src_port = rport;
        }
        if script.dst_port == 0 {
            live.dst_port = lport;
        }
        live.seq = script.seq.wrapping_add(s.remote_offset(syn));
        let ack_offset = s.local_offset(syn);
        if ack {
            live.ack = script.ack.wrapping_add(ack_offset);
        }
        live.offset_sack_blocks(ack_offset)?;
        if ack {
            if let Some((_, ecr)) = script.timestamp() {
                let live_ecr = if let Some(v) = s.ts_map.get(&ecr) {
                    *v
                } else if let (true, Some((first_script, first_live))) =
                    (self.p.config.tcp_ts_ecr_scaled, s.first_ts)
                {
                    ecr.wrapping_sub(first_script).wrapping_add(first_live)
                } else {
                    return Err(format!(
                        "unable to infer live TS ecr for script TS ecr {ecr};  no matching or preceding outbound TS val"
                    )
                    .into());
                };
                live.set_timestamp(None, Some(live_ecr));
            }
        }
        let bytes = live.emit();
        self.exchange.push(Captured {
            time: self.host.now(),
            direction: Direction::Inbound,
            bytes: bytes.clone(),
        });
        if let Err(why) = self.host.inject(&Inbound {
            bytes,
            gso_size: self.p.config.mss,
        }) {
            return Err(Fault::Stop(
                self.unsupported(self.ev.line, format!("inbound packet: {why}")),
            ));
        }
        self.poll()?;
        Ok(())
    }

    /// Whether a live packet belongs to the socket (`find_socket_for_live_packet`), or is
    /// the SYN of its `connect()` (`find_connect_for_live_packet`, which learns the local
    /// address, port and ISN).
    fn live_packet_matches(&mut self, sock: usize, live: &Segment) -> bool {
        let s = &mut self.sockets[sock];
        let tuple = ((live.src, live.src_port), (live.dst, live.dst_port));
        if let (Some(l), Some(r)) = (s.live_local, s.live_remote) {
            if tuple == (l, r) {
                return true;
            }
        }
        let syn_only = live.flags.contains(TcpFlags::SYN) && !live.flags.contains(TcpFlags::ACK);
        if syn_only
            && s.tcp
            && s.state == SockState::ActiveSynSent
            && Some(tuple.1) == s.live_remote
        {
            s.live_local = Some(tuple.0);
            s.live_local_isn = live.seq;
            return true;
        }
        false
    }

    /// `sniff_outbound_live_packet`: the next outbound packet of the socket, running the
    /// host until one leaves or the event's timeout passes.
    fn sniff(&mut self, sock: usize) -> Result<(Segment, Usecs), Fault> {
        let expected = self.ev.usecs - self.script_last;
        let expected_end = self.ev.end - self.script_last;
        let timeout_secs = (usecs_to_secs(expected.max(expected_end)) as i64) + 2;
        let start = self.now_us();
        let deadline = if self.ev.ty == TimeType::Any {
            start + ANY_TIME_LIMIT_USECS
        } else {
            start + timeout_secs * 1_000_000
        };
        loop {
            while let Some(o) = self.queue.pop_front() {
                let Ok(seg) = Segment::parse(&o.bytes) else {
                    continue;
                };
                if self.live_packet_matches(sock, &seg) {
                    return Ok((seg, (o.time.as_nanos() / 1000) as Usecs));
                }
            }
            if !self.step(to_ns(deadline))? && self.queue.is_empty() {
                return Err("Timed out waiting for packet".to_string().into());
            }
        }
    }

    /// `tcp_convert_seq_number`: a live outbound packet's numbers into script space.
    fn to_script_space(&self, sock: usize, seg: &mut Segment) -> Result<(), String> {
        let s = &self.sockets[sock];
        let syn = seg.flags.contains(TcpFlags::SYN);
        seg.seq = seg.seq.wrapping_sub(s.local_offset(syn));
        let ack_offset = s.remote_offset(syn).wrapping_neg();
        if seg.flags.contains(TcpFlags::ACK) {
            seg.ack = seg.ack.wrapping_add(ack_offset);
        }
        seg.offset_sack_blocks(ack_offset)
    }

    /// `do_outbound_script_packet`.
    fn outbound(&mut self, script: &Segment, sock: usize) -> Result<(), Fault> {
        let synack = script.flags.contains(TcpFlags::SYN | TcpFlags::ACK);
        if self.sockets[sock].state == SockState::PassivePacketReceived && synack {
            self.sockets[sock].script_local_isn = script.seq;
        }
        let expected_len = script.payload.len();
        let mut frags: Vec<(Segment, Usecs)> = Vec::new();
        let mut sniffed_len = 0;
        loop {
            let (mut live, time) = self.sniff(sock)?;
            if self.sockets[sock].state == SockState::PassivePacketReceived && synack {
                self.sockets[sock].state = SockState::PassiveSynackSent;
                self.sockets[sock].live_local_isn = live.seq;
            }
            self.to_script_space(sock, &mut live)?;
            let live_payload = live.payload.len();
            if let Some((prev, _)) = frags.last() {
                let mut err = String::new();
                let r = packet::verify_headers(&live, prev, false).and_then(|()| {
                    if live_payload + sniffed_len < expected_len && live_payload != prev.payload.len() {
                        Err(format!(
                            "fragment payload: expected {} bytes vs actual {live_payload} bytes; total payload: expected {expected_len} bytes vs actual {} bytes",
                            prev.payload.len(),
                            live_payload + sniffed_len
                        ))
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = r {
                    err.push_str(&e);
                    packet::add_dump(&mut err, "   script", script, self.ev.usecs);
                    for (i, (f, t)) in frags.iter().chain([(live, time)].iter()).enumerate() {
                        packet::add_dump(
                            &mut err,
                            &format!("actual #{i}"),
                            f,
                            self.to_script_time(*t),
                        );
                    }
                    return Err(err.into());
                }
            }
            frags.push((live, time));
            sniffed_len += live_payload;
            if sniffed_len >= expected_len || self.p.config.strict_segments {
                break;
            }
        }
        if sniffed_len != expected_len {
            return Err(format!(
                "live packet payload: expected {expected_len} bytes vs actual {sniffed_len} bytes"
            )
            .into());
        }
        let time = frags.last().expect("one packet").1;
        let live = if frags.len() == 1 {
            frags.pop().expect("one packet").0
        } else {
            let segs: Vec<Segment> = frags.into_iter().map(|f| f.0).collect();
            packet::aggregate(&segs)
        };
        self.verify_outbound(sock, script, &live, time)
    }

    fn to_script_time(&self, live: Usecs) -> Usecs {
        self.script_start + (live - self.live_start)
    }

    /// `verify_outbound_live_packet`.
    fn verify_outbound(
        &mut self,
        sock: usize,
        script: &Segment,
        live: &Segment,
        time: Usecs,
    ) -> Result<(), Fault> {
        let mut actual = live.clone();
        let actual_usecs = self.to_script_time(time);
        let r = self.check_outbound(sock, script, live, &mut actual, time);
        match r {
            Ok(()) => Ok(()),
            Err((mut e, non_fatal)) => {
                packet::add_dump(&mut e, "script", script, self.ev.usecs);
                packet::add_dump(&mut e, "actual", &actual, actual_usecs);
                Err(if non_fatal {
                    Fault::NonFatal(e)
                } else {
                    Fault::Local(e)
                })
            }
        }
    }

    fn check_outbound(
        &mut self,
        sock: usize,
        script: &Segment,
        live: &Segment,
        actual: &mut Segment,
        time: Usecs,
    ) -> Result<(), (String, bool)> {
        if !live.ip_checksum_ok {
            return Err(("bad outbound IP checksum".into(), false));
        }
        // map_outbound_live_packet: learn the script → live TS val mapping, and show the
        // live TS val in script space.
        if let (Some((sv, _)), Some((av, _))) = (script.timestamp(), actual.timestamp()) {
            let s = &mut self.sockets[sock];
            s.ts_map.insert(sv, av);
            let (fs, fa) = *s.first_ts.get_or_insert((sv, av));
            actual.set_timestamp(Some(fs.wrapping_add(av.wrapping_sub(fa))), None);
        }
        let nf = |e: String| (e, true);
        packet::verify_headers(actual, script, true).map_err(nf)?;
        if script.version == 6 {
            self.verify_flowlabel(sock, script.flow_label, actual.flow_label)
                .map_err(nf)?;
        }
        let c = &self.p.config;
        let dynamic =
            (c.tolerance_percent / 100.0 * (self.ev.usecs - self.script_start) as f64) as i64;
        let ts = TsCheck {
            tick_usecs: c.tcp_ts_tick_usecs,
            tolerance_usecs: c.tolerance_usecs.max(dynamic),
        };
        packet::verify_options(actual, script, ts).map_err(nf)?;
        packet::verify_payload(actual, script).map_err(nf)?;
        self.verify_time(
            self.ev.ty,
            self.ev.usecs,
            self.ev.end,
            time,
            self.last.map(|l| l.usecs),
            self.ev.offset,
            "outbound packet",
        )
        .map_err(nf)
    }

    /// `verify_outbound_live_ipv6_flowlabel`: a script flow label (non-zero) asks that the
    /// live packet carry one, the same live label as long as the script's stays the same,
    /// and a different one when the script's changes.
    fn verify_flowlabel(&mut self, sock: usize, script: u32, live: u32) -> Result<(), String> {
        if script == 0 {
            return Ok(());
        }
        if live == 0 {
            return Err("flowlabel unmarked in the live packet".into());
        }
        let map = &mut self.sockets[sock].flowlabels;
        match *map {
            None => *map = Some((script, live)),
            Some((s, l)) if s != script => {
                if live == l {
                    return Err("expected a different flowlabel but got the same".into());
                }
                *map = Some((script, live));
            }
            Some((_, l)) if live != l => {
                return Err(format!(
                    "inconsistent flowlabels for this packet: expected: {l:#x} vs actual: {live:#x}"
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    // ------------------------------------------------------------ commands and code

    fn command_event(&mut self, block: &CommandBlock) -> Result<(), Fault> {
        self.wait_for_event("command")?;
        let line = self.ev.line;
        self.commands(block, line).map_err(|e| match e {
            Fault::Local(m) | Fault::NonFatal(m) => Fault::Local(format!(
                "{}:{line}: error executing `{}` command: {m}",
                self.path(),
                block.text
            )),
            other => other,
        })
    }

    /// Runs a block's actions; as in the shell, the status is the last command's.
    fn commands(&mut self, block: &CommandBlock, line: u32) -> Result<(), Fault> {
        let mut last = ActionOutcome::Ok;
        for a in &block.actions {
            let Parsed::Action(action) = a else {
                // Refused when the script was loaded.
                continue;
            };
            last = self.host.run_action(action);
            if let ActionOutcome::Unsupported(why) = &last {
                // The block on one line (`;` between commands, continuations joined), so
                // that the reason stays on the message's first line.
                let text = block.text.replace("\\\n", " ");
                let text: Vec<String> = text
                    .lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|l| !l.is_empty())
                    .collect();
                return Err(Fault::Stop(self.unsupported(
                    line,
                    format!("command `{}`: {why}", text.join("; ")),
                )));
            }
            self.poll()?;
        }
        match last {
            ActionOutcome::Failed { status, message } => {
                let mut m = format!("non-zero status {status}");
                if !message.is_empty() {
                    let _ = write!(m, " ({message})");
                }
                Err(Fault::Local(m))
            }
            _ => Ok(()),
        }
    }

    fn code_event(&mut self, block: &crate::code::CodeBlock) -> Result<(), Fault> {
        self.wait_for_event("data collection for code")?;
        let line = self.ev.line;
        let runtime =
            |r: &Self, m: &str| Fault::Stop(r.fail(line, format!("runtime error in code: {m}")));
        let Some(sock) = self.under_test else {
            return Err(runtime(self, "no socket to use for code"));
        };
        let Some(fd) = self.sockets[sock].live_fd else {
            return Err(runtime(self, "can't find getsockopt to get TCP info"));
        };
        let Ok(vars) = self.host.code_vars(fd) else {
            return Err(runtime(self, "can't find getsockopt to get TCP info"));
        };
        if self.code_failure.is_some() {
            // Python stopped at the first exception; later blocks never run.
            return Ok(());
        }
        match self.code.run(block, &vars) {
            Ok(()) => Ok(()),
            Err(RunError::Unsupported(m)) => Err(Fault::Stop(self.unsupported(line, m))),
            Err(RunError::Exception {
                statement,
                exception,
            }) => {
                self.code_failure = Some(format!(
                    "{}:{line}: error in Python code\n    {statement}\n{exception}",
                    self.path()
                ));
                Ok(())
            }
        }
    }

    // ------------------------------------------------------------ system calls

    fn to_live_fd(&self, script_fd: i32) -> Result<Fd, String> {
        self.fds
            .iter()
            .find(|f| !f.closed && f.script == script_fd)
            .map(|f| f.live)
            .ok_or_else(|| format!("unable to find fd with script fd {script_fd}"))
    }

    fn add_fd(&mut self, script: i32, live: Fd, kind: FdKind) -> Result<(), String> {
        if self.fds.iter().any(|f| !f.closed && f.script == script) {
            return Err(format!("duplicate fd {script} in script"));
        }
        if self.fds.iter().any(|f| !f.closed && f.live == live) {
            return Err(format!("duplicate live fd {live}"));
        }
        self.fds.push(FdEntry {
            script,
            live,
            closed: false,
            kind,
        });
        Ok(())
    }

    fn socket_of_fd(&self, script_fd: i32) -> Option<usize> {
        self.fds.iter().find_map(|f| match f.kind {
            FdKind::Socket(i) if !f.closed && f.script == script_fd => Some(i),
            _ => None,
        })
    }

    /// `run_syscall_connect`, before `connect`, `sendto` and `sendmsg` with an address.
    fn before_connect(&mut self, script_fd: i32, unspec: bool) {
        let Some(i) = self.socket_of_fd(script_fd) else {
            return;
        };
        let remote = (self.p.config.remote_ip, self.p.config.connect_port);
        let s = &mut self.sockets[i];
        if unspec {
            s.state = SockState::New;
        } else if s.state == SockState::New {
            s.state = SockState::ActiveConnecting;
            s.live_remote = Some(remote);
        }
    }

    fn syscall_event(&mut self, ev: &SyscallEvent) -> Result<(), Fault> {
        let line = self.ev.line;
        let framed = |r: &Self, m: String| {
            Fault::Stop(r.fail(line, format!("runtime error in {} call: {m}", ev.name)))
        };
        let mut end = ev.end_time;
        if let Some(e) = &mut end {
            if self.ev.ty == TimeType::Relative {
                *e += self.ev.offset;
            }
        }
        if self.pending.is_some() {
            self.await_idle()?;
            if end.is_some() && self.pending.is_some() {
                return Err(framed(
                    self,
                    "blocking system call while another blocking system call is already in progress".into(),
                ));
            }
        }
        self.wait_for_event("system call start")?;
        // Before the call: what packetdrill's handlers do before invoking it.
        match &ev.call {
            Syscall::Connect { addr, .. } | Syscall::Sendto { addr, .. } => {
                let fd = script_fd(&ev.call);
                self.before_connect(fd, addr.is_none());
            }
            Syscall::Sendmsg { .. } => self.before_connect(script_fd(&ev.call), false),
            _ => {}
        }
        let call = ev
            .call
            .map_fds(|fd| self.to_live_fd(fd))
            .map_err(|m| framed(self, m))?;
        match self.host.syscall(&call) {
            SyscallOutcome::Unsupported(why) => Err(Fault::Stop(
                self.unsupported(line, format!("{} call: {why}", ev.name)),
            )),
            SyscallOutcome::Done(ret) => {
                self.poll()?;
                self.finish_call(ev, &ret).map_err(|m| framed(self, m))?;
                if let Some(end) = end {
                    let now = self.now_us();
                    self.verify_time(
                        self.ev.ty,
                        end,
                        0,
                        now,
                        Some(self.ev.usecs),
                        self.ev.offset,
                        "system call return",
                    )
                    .map_err(|e| Fault::Stop(self.fail(line, e)))?;
                }
                Ok(())
            }
            SyscallOutcome::Blocked(id) => {
                if let Some(end) = end {
                    self.pending = Some(Pending {
                        id,
                        call: ev.clone(),
                        ty: self.ev.ty,
                        start: self.ev.usecs,
                        end,
                        line,
                    });
                    self.poll()?;
                    return Ok(());
                }
                // Not expected to block: the script is held until the call returns.
                self.stuck = Some((id, None));
                let limit = self.now_us() + STUCK_LIMIT_USECS;
                loop {
                    self.poll()?;
                    if let Some((_, Some((_, ret)))) = self.stuck.clone() {
                        self.stuck = None;
                        return self.finish_call(ev, &ret).map_err(|m| framed(self, m));
                    }
                    if !self.step(to_ns(limit))? {
                        self.poll()?;
                        if self.stuck.as_ref().is_some_and(|s| s.1.is_some()) {
                            continue;
                        }
                        return Err(framed(
                            self,
                            "the call blocks and never returns; a call the script expects to block needs `...` and its return time".into(),
                        ));
                    }
                }
            }
        }
    }

    /// Waits (up to 1 s of host time) for the pending blocking call to return.
    fn await_idle(&mut self) -> Result<(), Stop> {
        let limit = to_ns(self.now_us() + AWAIT_IDLE_USECS);
        while self.pending.is_some() && self.step(limit)? {}
        Ok(())
    }

    /// A blocking call returned at `time`: its result, then its return time.
    fn blocking_returned(
        &mut self,
        p: &Pending,
        time: SimTime,
        ret: &SyscallReturn,
    ) -> Result<(), Stop> {
        if let Err(m) = self.finish_call(&p.call, ret) {
            return Err(self.fail(
                p.line,
                format!("runtime error in {} call: {m}", p.call.name),
            ));
        }
        let live = (time.as_nanos() / 1000) as Usecs;
        self.verify_time(
            p.ty,
            p.end,
            0,
            live,
            Some(p.start),
            -1,
            "system call return",
        )
        .map_err(|e| self.fail(p.line, e))
    }

    /// `end_syscall` and the call's own checks and bookkeeping.
    fn finish_call(&mut self, ev: &SyscallEvent, ret: &SyscallReturn) -> Result<(), String> {
        let x = &ev.expect;
        let actual = ret.ret;
        let errno_text = || format!("with errno {} ({})", ret.errno, strerror(ret.errno));
        if x.mode == CheckMode::Fd && x.ret >= 0 {
            if actual < 0 {
                return Err(format!(
                    "Expected non-negative result but got {actual} {}",
                    errno_text()
                ));
            }
        } else if actual != x.ret {
            return Err(format!(
                "Expected result {} but got {actual} {}",
                x.ret,
                errno_text()
            ));
        }
        if let Some((_, want)) = &x.errno {
            if ret.errno != *want {
                return Err(format!(
                    "Expected errno {want} ({}) but got {} ({})",
                    strerror(*want),
                    ret.errno,
                    strerror(ret.errno)
                ));
            }
        }
        let live = actual as Fd;
        match &ev.call {
            Syscall::Socket { ty, protocol, .. } if actual >= 0 => {
                let script = x.ret as i32;
                if script < 0 {
                    return Err(format!("invalid socket fd {script} in script"));
                }
                let tcp = *ty & 0xf == 1 || *protocol == 6;
                self.sockets.push(Socket::new(SockState::New, tcp));
                let i = self.sockets.len() - 1;
                self.sockets[i].live_fd = Some(live);
                self.add_fd(script, live, FdKind::Socket(i))?;
                self.under_test = Some(i);
            }
            Syscall::Listen { fd, .. } => {
                let Some(i) = self.socket_of_fd(*fd) else {
                    return Err(format!("unable to find socket with script fd {fd}"));
                };
                self.sockets[i].state = SockState::Listening;
            }
            Syscall::Accept { .. } if actual >= 0 => {
                let Some(i) = self.sockets.iter().position(|s| {
                    matches!(
                        s.state,
                        SockState::PassiveSynackSent | SockState::PassiveSynackAcked
                    ) && s.live_fd.is_none()
                }) else {
                    return Err("unable to find socket matching accept() call".into());
                };
                self.sockets[i].live_fd = Some(live);
                self.add_fd(x.ret as i32, live, FdKind::Socket(i))?;
            }
            Syscall::Open { .. } if actual >= 0 => self.add_fd(x.ret as i32, live, FdKind::File)?,
            Syscall::Close { fd } => {
                let entry = self.fds.iter_mut().find(|f| !f.closed && f.script == *fd);
                match entry {
                    Some(e) => e.closed = true,
                    None => {
                        return Err(format!(
                            "unable to find fd with script fd {fd} and live fd {live}"
                        ));
                    }
                }
            }
            _ => {}
        }
        if actual < 0 {
            return Ok(());
        }
        match (&x.out, &ret.out) {
            (ExpectOut::None, _) => Ok(()),
            (ExpectOut::Pipe(script), Output::Pipe(live)) => {
                self.add_fd(script[0], live[0], FdKind::Pipe)?;
                self.add_fd(script[1], live[1], FdKind::Pipe)
            }
            (
                ExpectOut::Optval { value, optlen },
                Output::Optval {
                    value: got,
                    optlen: got_len,
                },
            ) => {
                if got_len != optlen {
                    return Err(format!(
                        "Bad getsockopt optlen: expected: {optlen} actual: {got_len}"
                    ));
                }
                match value {
                    ExpectOptval::Int(want) => {
                        let mut b = [0u8; 4];
                        for (d, s) in b.iter_mut().zip(got) {
                            *d = *s;
                        }
                        let got = i32::from_le_bytes(b);
                        if got != *want {
                            return Err(format!(
                                "Bad getsockopt optval: expected: {want} actual: {got}"
                            ));
                        }
                        Ok(())
                    }
                    ExpectOptval::Bytes(want) => {
                        if got != want {
                            return Err(format!(
                                "Bad getsockopt optval: expected: '{}' actual: '{}'",
                                printable(want),
                                printable(got)
                            ));
                        }
                        Ok(())
                    }
                }
            }
            (ExpectOut::Ioctl(want), Output::Ioctl(got)) => {
                if got != want {
                    return Err(format!("Bad ioctl optval: expected: {want} actual: {got}"));
                }
                Ok(())
            }
            (
                ExpectOut::Msg { flags, control },
                Output::Msg {
                    flags: got_flags,
                    control: got,
                },
            ) => {
                if got_flags != flags {
                    return Err(format!(
                        "Expected msg_flags 0x{flags:08X} but got 0x{got_flags:08X}"
                    ));
                }
                self.cmsgs_match(control, got)
            }
            (ExpectOut::Revents(want), Output::Revents(got)) => {
                for (i, (w, g)) in want.iter().zip(got).enumerate() {
                    if w != g {
                        return Err(format!(
                            "Expected revents of {} but got {} for pollfd {i}",
                            poll_flags(*w),
                            poll_flags(*g)
                        ));
                    }
                }
                Ok(())
            }
            (want, got) => Err(format!(
                "the host returned {got:?} where the script checks {want:?}"
            )),
        }
    }

    /// `cmsg_expect_eq`.
    fn cmsgs_match(&self, want: &[Cmsg], got: &[Cmsg]) -> Result<(), String> {
        for (i, (e, a)) in want.iter().zip(got).enumerate() {
            if a.level != e.level {
                return Err(format!(
                    "Bad level in cmsg {i}: expected={} actual={}",
                    e.level, a.level
                ));
            }
            if a.ty != e.ty {
                return Err(format!(
                    "Bad type in cmsg {i}: expected={} actual={}",
                    e.ty, a.ty
                ));
            }
            if a.cmsg_len() != e.cmsg_len() {
                return Err(format!(
                    "Bad len in cmsg {i}: expected={} actual={}",
                    e.cmsg_len(),
                    a.cmsg_len()
                ));
            }
            match (&e.data, &a.data) {
                (CmsgData::ExtendedErr(x), CmsgData::ExtendedErr(y)) => {
                    let fields = [
                        ("errno", x.errno, y.errno),
                        ("origin", x.origin.into(), y.origin.into()),
                        ("type", x.ty.into(), y.ty.into()),
                        ("code", x.code.into(), y.code.into()),
                        ("info", x.info, y.info),
                        ("data", x.data, y.data),
                    ];
                    for (name, w, g) in fields {
                        if w != g {
                            return Err(format!(
                                "Bad {name} in extended err {i}: expected={w} actual={g}"
                            ));
                        }
                    }
                }
                (CmsgData::Timestamping(x), CmsgData::Timestamping(y)) => {
                    for (k, (w, g)) in x.iter().zip(y).enumerate() {
                        if w.sec == 0 && w.nsec == 0 {
                            continue;
                        }
                        let exp = self.live_start + (w.sec * 1_000_000 + w.nsec / 1000)
                            - self.script_start;
                        let act = g.sec * 1_000_000 + g.nsec / 1000;
                        if (exp - act).abs() > self.p.config.tolerance_usecs {
                            return Err(format!(
                                "Bad timestamp {k} in scm_timestamping {i}: expected={exp} ({}) actual={act} ({}) start={}",
                                exp - self.live_start,
                                act - self.live_start,
                                self.live_start
                            ));
                        }
                    }
                }
                (x, y) if x != y => {
                    return Err(format!("Bad data in cmsg {i}: expected={x:?} actual={y:?}"));
                }
                _ => {}
            }
        }
        match want.len().cmp(&got.len()) {
            core::cmp::Ordering::Less => Err(format!("received more than {} cmsgs", want.len())),
            core::cmp::Ordering::Greater => Err(format!("received only {} cmsgs", got.len())),
            core::cmp::Ordering::Equal => Ok(()),
        }
    }
}

/// The script descriptor a call acts on.
fn script_fd(call: &Syscall) -> i32 {
    let mut fd = -1;
    let _ = call.map_fds(|f| {
        if fd < 0 {
            fd = f;
        }
        Ok(f)
    });
    fd
}

/// `to_printable_string`: bytes with non-printable ones escaped.
fn printable(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if c.is_ascii_graphic() || c == b' ' {
            s.push(char::from(c));
        } else {
            let _ = write!(s, "\\x{c:02x}");
        }
    }
    s
}

/// `flags_to_string(poll_flags, …)`: `POLLIN|POLLOUT`.
fn poll_flags(v: i16) -> String {
    const NAMES: [(i16, &str); 11] = [
        (0x1, "POLLIN"),
        (0x2, "POLLPRI"),
        (0x4, "POLLOUT"),
        (0x40, "POLLRDNORM"),
        (0x80, "POLLRDBAND"),
        (0x100, "POLLWRNORM"),
        (0x200, "POLLWRBAND"),
        (0x400, "POLLMSG"),
        (0x2000, "POLLRDHUP"),
        (0x8, "POLLERR"),
        (0x10, "POLLHUP"),
    ];
    let mut parts: Vec<String> = NAMES
        .iter()
        .filter(|(bit, _)| v & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    let rest = NAMES.iter().fold(v, |acc, (bit, _)| acc & !bit);
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}
