//! The syntax tree of a packetdrill script, as the parser produces it: every construct of
//! the language with its span, numbers already range-checked, nothing yet interpreted
//! (words are not resolved to values, commands and code are text).
//!
//! [`crate::model`] turns this into the typed events the runner executes.

use sim_dsl::diag::Span;

/// Microseconds, packetdrill's unit of script time.
pub type Usecs = i64;

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// `--name[=value]` lines at the top, in order.
    pub options: Vec<ScriptOption>,
    /// A backtick block before the first event (packetdrill's init command).
    pub init_command: Option<Command>,
    /// The events, in script order.
    pub events: Vec<Event>,
    /// A backtick block after the last event (packetdrill's cleanup command).
    pub cleanup_command: Option<Command>,
}

/// `--name=value` (or `--name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOption {
    /// The name, without the dashes.
    pub name: String,
    /// The value, if any (quotes removed from a quoted value).
    pub value: Option<String>,
    /// The whole option.
    pub span: Span,
}

/// One timed line (or block) of a script.
#[derive(Debug, Clone)]
pub struct Event {
    /// The line of the event's time, which packetdrill's messages cite.
    pub line: u32,
    /// The whole event.
    pub span: Span,
    /// When it should happen.
    pub time: EventTime,
    /// What happens.
    pub action: Action,
}

/// When an event should happen, in script microseconds (not yet anchored for relative
/// times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTime {
    /// `1.5`: at that script time.
    Absolute(Usecs),
    /// `+0.1`: that long after the previous event.
    Relative(Usecs),
    /// `1~1.2`: within an absolute range (outbound packets only).
    AbsoluteRange(Usecs, Usecs),
    /// `+.3~+.31`: within a range relative to the previous event (outbound packets only).
    RelativeRange(Usecs, Usecs),
    /// `*`: at any time (outbound packets only).
    Any,
}

/// What an event does.
#[derive(Debug, Clone)]
pub enum Action {
    /// `<` or `>` packet.
    Packet(PacketSpec),
    /// A system call.
    Syscall(SyscallSpec),
    /// A backtick shell command.
    Command(Command),
    /// A `%{ … }%` block.
    Code(Code),
}

/// A backtick block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The text between the backticks, as written.
    pub text: String,
    /// The block, backticks included.
    pub span: Span,
    /// Its first line.
    pub line: u32,
}

/// A `%{ … }%` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The text between `%{` and `}%`, spaces and tabs stripped at both ends (as packetdrill
    /// strips them).
    pub text: String,
    /// Where the text starts (for locating errors inside it).
    pub text_span: Span,
}

/// The direction of a script packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `<`: injected into the host under test.
    Inbound,
    /// `>`: expected from the host under test.
    Outbound,
}

/// How the IP TOS byte of a packet is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TosSpec {
    /// Not given: not checked, zero when injected.
    #[default]
    None,
    /// `[noecn]`, `[ect0]`, `[ect1]`, `[ce]`: the two ECN bits.
    Ecn(u8),
    /// `[ect01]`: ECT(0) or ECT(1) (outbound only).
    Ect01,
    /// `(tos 0x…)`: the whole byte.
    Tos(u8),
}

/// `(tos …)` / `[ect0]` / `(ttl …)` / `flowlabel …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpInfo {
    /// The TOS byte.
    pub tos: TosSpec,
    /// The IPv6 flow label (0: not given).
    pub flow_label: u32,
    /// The TTL or hop limit (0: not given).
    pub ttl: u8,
}

/// An encapsulating IP header in front of the packet (`ipv4 a > b:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encap {
    /// `ipv4` or `ipv6`.
    pub version: u8,
    /// Its TOS/TTL.
    pub ip: IpInfo,
    /// Source address, as written.
    pub src: String,
    /// Destination address, as written.
    pub dst: String,
    /// Where it is written.
    pub span: Span,
}

/// A script packet.
#[derive(Debug, Clone)]
pub struct PacketSpec {
    /// `<` or `>`.
    pub direction: Direction,
    /// Encapsulating headers, outermost first.
    pub encap: Vec<Encap>,
    /// TOS/TTL of the packet's own IP header.
    pub ip: IpInfo,
    /// The transport part.
    pub body: PacketBody,
}

/// The transport part of a script packet.
#[derive(Debug, Clone)]
pub enum PacketBody {
    /// A TCP segment.
    Tcp(TcpSpec),
    /// `udp (len)`.
    Udp {
        /// `src > dst` ports, if given.
        ports: Option<(u16, u16)>,
        /// Payload bytes.
        len: u16,
    },
    /// `icmp type [code] [mtu N] [id N] [[echoed]]`.
    Icmp(IcmpSpec),
}

/// `icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpSpec {
    /// The type name (`unreachable`, `echo_request`, …).
    pub type_name: String,
    /// The code name, if given.
    pub code_name: Option<String>,
    /// `mtu N`.
    pub mtu: Option<u16>,
    /// `id N`.
    pub id: Option<u16>,
    /// The packet the ICMP message quotes.
    pub echoed: Option<Echoed>,
}

/// What an ICMP error quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echoed {
    /// `[start:end(len)]`: a TCP segment.
    Tcp {
        /// Start sequence.
        seq: u32,
        /// Payload bytes.
        len: u16,
    },
    /// `[udp (len)]`.
    Udp(u16),
    /// `[raw (len)]`.
    Raw(u16),
}

/// A TCP segment line: `S. 0:0(0) ack 1 win 65535 <mss 1460,...>`.
#[derive(Debug, Clone)]
pub struct TcpSpec {
    /// `src > dst` ports, if given.
    pub ports: Option<(u16, u16)>,
    /// The flags as written (`S.`, `P.`, `-`, …), validated.
    pub flags: String,
    /// Where the flags are written.
    pub flags_span: Span,
    /// Start sequence number.
    pub seq: u32,
    /// Payload bytes.
    pub len: u16,
    /// `ack N` (0 when absent, as packetdrill).
    pub ack: u32,
    /// `win N`; `None`: not checked (outbound only).
    pub win: Option<u16>,
    /// `urg N`.
    pub urg: u16,
    /// The options; `None` for `<...>` (not checked, outbound only).
    pub options: Option<Vec<TcpOptionSpec>>,
    /// Where the options are written.
    pub options_span: Option<Span>,
}

/// One TCP option of a script packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOptionSpec {
    /// `nop`.
    Nop,
    /// `eol`.
    Eol,
    /// `mss N`.
    Mss(u16),
    /// `wscale N`.
    WindowScale(u8),
    /// `sackOK`.
    SackPermitted,
    /// `sack a:b c:d`.
    Sack(Vec<(u32, u32)>),
    /// `md5 <hex>`: the digest bytes (up to 16).
    Md5(Vec<u8>),
    /// `TS val N ecr N`.
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// `FO [cookie]` (kind 34).
    FastOpen(Vec<u8>),
    /// `FOEXP [cookie]` (kind 254, magic 0xF989).
    FastOpenExp(Vec<u8>),
    /// `ECN e0b N ceb N e1b N` (AccECN, kinds 172/174): the fields in written order.
    AccEcn(Vec<(AccEcnField, u32)>),
}

/// An AccECN option field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccEcnField {
    /// `e0b`: ECT(0) bytes.
    E0b,
    /// `e1b`: ECT(1) bytes.
    E1b,
    /// `ceb`: CE bytes.
    Ceb,
}

/// A system call line.
#[derive(Debug, Clone)]
pub struct SyscallSpec {
    /// `...N` after the time: the call blocks and returns at script time N (absolute, or
    /// relative to the same anchor as the start for a relative start time).
    pub end_time: Option<Usecs>,
    /// The name (`socket`, `recvmsg`, …).
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The arguments.
    pub args: Vec<Expr>,
    /// The expected return value.
    pub result: Expr,
    /// `EINPROGRESS (text)`: the expected errno name, with its span.
    pub errno: Option<(String, Span)>,
    /// The note after the result (`(flags O_RDWR)`, or the errno's text).
    pub note: Option<String>,
}

/// An expression in a system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `...`: any value / a buffer the runner provides.
    Ellipsis,
    /// `4`, `-1`, `0x2` (`hex` records how it was written).
    Int {
        /// The value.
        value: i64,
        /// Written in hex.
        hex: bool,
    },
    /// A symbol (`SOCK_STREAM`, `NULL`, a `-D` definition).
    Word(String),
    /// `"text"` (adjacent strings concatenated; escapes not yet interpreted); `"text"...`
    /// sets `more`.
    Str {
        /// The text between the quotes, as written.
        raw: String,
        /// Followed by `...`.
        more: bool,
    },
    /// `A|B|C`.
    Or(Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{a, b}` or `{name=value, …}`.
    Struct(Vec<Expr>),
    /// `name=value` or `name(args)=value` (a struct field).
    Field {
        /// The field name.
        name: String,
        /// `(args)` after the name (`msg_iov(1)`), if any.
        params: Option<Vec<Expr>>,
        /// The value.
        value: Box<Expr>,
    },
    /// `htons(8080)`, `inet_addr("1.2.3.4")`.
    Call {
        /// The function.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
}

impl Expr {
    /// The integer value, if this is a literal integer.
    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            ExprKind::Int { value, .. } => Some(value),
            _ => None,
        }
    }
}
