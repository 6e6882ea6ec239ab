//! The script model: a parsed script turned into what the runner executes — the run's
//! configuration, script packets as [`Segment`]s, system calls as typed [`Syscall`]s with
//! what the script expects back, commands as [`HostAction`](crate::command::HostAction)s
//! and code blocks parsed.
//!
//! Everything the script says is checked here, before anything runs: argument counts and
//! types with packetdrill's words (`Expected 3 args but got 2`, `Bad type; actual: string
//! expected: integer`), symbols (`unknown symbol: 'SO_NOPE'`), and every construct the
//! runner cannot carry out is reported as unsupported with its place — a script is never
//! half run and then found to need something missing.

use std::path::{Path, PathBuf};

use sim_dsl::diag::{Diagnostic, FileId, SourceMap, Span};

use crate::ast::{self, Action, Direction, EventTime, Expr, ExprKind, PacketBody, Script, Usecs};
use crate::code::{CodeBlock, CodeError};
use crate::command::CommandBlock;
use crate::config::DrillConfig;
use crate::host::{
    Buffer, Cmsg, CmsgData, ExtendedErr, OptVal, Output, PollFd, SockAddr, Syscall, Timespec,
};
use crate::packet::Segment;
use crate::parse::{self, Defines};
use crate::symbols;

/// A script ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    /// The script's path, as messages cite it.
    pub path: String,
    /// The run's configuration.
    pub config: DrillConfig,
    /// The init command (packetdrill runs it before time zero).
    pub init: Option<CommandEvent>,
    /// The events in script order.
    pub events: Vec<Event>,
    /// The cleanup command (run after the last event, pass or fail).
    pub cleanup: Option<CommandEvent>,
}

/// A command outside the timeline (init or cleanup).
#[derive(Debug, Clone)]
pub struct CommandEvent {
    /// Its line.
    pub line: u32,
    /// The command.
    pub block: CommandBlock,
}

/// One event of the timeline.
#[derive(Debug, Clone)]
pub struct Event {
    /// The line packetdrill's messages cite.
    pub line: u32,
    /// When.
    pub time: EventTime,
    /// What.
    pub kind: EventKind,
}

/// What an event does.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// Inject (`<`) or expect (`>`) a TCP segment.
    Packet {
        /// The direction.
        direction: Direction,
        /// The script packet.
        segment: Segment,
    },
    /// A system call.
    Syscall(SyscallEvent),
    /// A backtick command.
    Command(CommandBlock),
    /// A `%{ }%` block.
    Code(CodeBlock),
}

/// How the return value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckMode {
    /// Exactly (`CHECK_EXACT`).
    Exact,
    /// A descriptor: any non-negative value when the script expects one (`CHECK_FD`); the
    /// script's number becomes the name of the host's descriptor.
    Fd,
}

/// An expected `getsockopt` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectOptval {
    /// `[N]`.
    Int(i32),
    /// `"bytes"`.
    Bytes(Vec<u8>),
}

/// Output parameters the script expects (`getsockopt(…, [value], [optlen])`,
/// `ioctl(fd, REQ, [value])`, `recvmsg`'s `msg_flags` and control messages, `poll`'s
/// `revents`, `pipe([a, b])`).
pub type ExpectOut = Output<ExpectOptval>;

/// What the script expects a call to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The return value.
    pub ret: i64,
    /// How it is compared.
    pub mode: CheckMode,
    /// The errno name and number, if the script gives one.
    pub errno: Option<(String, i32)>,
    /// Output parameters.
    pub out: ExpectOut,
}

/// A system call event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallEvent {
    /// The call's name, for messages.
    pub name: String,
    /// `...N`: the call blocks and should return at script time N.
    pub end_time: Option<Usecs>,
    /// The call, with the script's descriptor numbers.
    pub call: Syscall,
    /// What it should return.
    pub expect: Expect,
}

/// Why a script cannot run: every problem found, with the sources to render them.
#[derive(Debug)]
pub struct LoadError {
    /// The script text.
    pub sources: SourceMap,
    /// The problems.
    pub diagnostics: Vec<Diagnostic>,
}

/// The diagnostic code of constructs the runner does not support.
pub const UNSUPPORTED: &str = "unsupported";

impl LoadError {
    /// Whether every problem is something the runner does not support (the script is valid
    /// packetdrill).
    pub fn is_unsupported(&self) -> bool {
        self.diagnostics.iter().all(|d| d.code == UNSUPPORTED)
    }
    /// The problems rendered with their source lines.
    pub fn render(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.sources))
            .collect()
    }
}

/// Reads and loads a script. `cli` are command-line options (`name`, value), applied after
/// the script's own, as packetdrill does; `config` is the starting configuration
/// ([`DrillConfig::ksft_ipv4`] for the kernel's selftests).
///
/// # Errors
/// A [`LoadError`] (an unreadable file is one diagnostic without a span).
pub fn load(
    path: &Path,
    config: DrillConfig,
    cli: &[(String, Option<String>)],
) -> Result<Program, LoadError> {
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(path, &text, config, cli),
        Err(e) => Err(LoadError {
            sources: SourceMap::new(),
            diagnostics: vec![Diagnostic::global(
                "io",
                format!("cannot read {}: {e}", path.display()),
            )],
        }),
    }
}

/// [`load`] of a script given as text; `path` names it in messages and locates
/// `./defaults.sh`.
///
/// # Errors
/// A [`LoadError`].
pub fn load_str(
    path: &Path,
    text: &str,
    mut config: DrillConfig,
    cli: &[(String, Option<String>)],
) -> Result<Program, LoadError> {
    let mut sources = SourceMap::new();
    let file = sources.add(path.to_path_buf(), text.to_string());
    let mut diags = Vec::new();
    // Command-line definitions win over the script's `--define`s.
    let mut defines: Defines = config.defines.clone();
    for (name, value) in cli {
        if name == "define" {
            if let Some((k, v)) = value.as_deref().and_then(|v| v.split_once('=')) {
                defines.insert(k.to_string(), v.to_string());
            }
        }
    }
    let script = match parse::parse(file, text, &defines) {
        Ok(s) => s,
        Err(d) => {
            return Err(LoadError {
                sources,
                diagnostics: d,
            });
        }
    };
    for o in &script.options {
        if let Err(e) = config.apply(&o.name, o.value.as_deref()) {
            diags.push(option_error(o.span, e));
        }
    }
    for (name, value) in cli {
        if let Err(e) = config.apply(name, value.as_deref()) {
            diags.push(match e.strip_prefix("unsupported: ") {
                Some(rest) => Diagnostic::global(UNSUPPORTED, format!("command line: {rest}")),
                None => Diagnostic::global("option", format!("command line: {e}")),
            });
        }
    }
    config.defines = defines;
    if let Err(e) = config.finalize() {
        diags.push(Diagnostic::global("option", e));
    }
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut lx = Lx {
        file,
        config: &config,
        dir: &dir,
        diags,
    };
    let program = lx.program(path, &script);
    if lx.diags.is_empty() {
        Ok(program)
    } else {
        Err(LoadError {
            sources,
            diagnostics: lx.diags,
        })
    }
}

fn option_error(span: Span, e: String) -> Diagnostic {
    match e.strip_prefix("unsupported: ") {
        Some(rest) => Diagnostic::error(UNSUPPORTED, span, format!("unsupported: {rest}")),
        None => Diagnostic::error("option", span, e),
    }
}

/// A struct field: its value and the `(args)` after its name.
type Field<'e> = (&'e Expr, Option<&'e [Expr]>);

struct Lx<'a> {
    file: FileId,
    config: &'a DrillConfig,
    dir: &'a Path,
    diags: Vec<Diagnostic>,
}

/// packetdrill's name for the type of an expression (`expression_type_to_string`).
fn type_name(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Ellipsis => "ellipsis",
        ExprKind::Int { .. } => "integer",
        ExprKind::Word(_) => "word",
        ExprKind::Str { .. } => "string",
        ExprKind::Or(_) | ExprKind::Field { .. } => "binary_expression",
        ExprKind::List(_) => "list",
        ExprKind::Call { name, .. } if name == "inet6_addr" => "in6_addr",
        ExprKind::Call { .. } => "integer",
        ExprKind::Struct(items) => {
            let first = items.first().and_then(|i| match &i.kind {
                ExprKind::Field { name, .. } => Some(name.as_str()),
                _ => None,
            });
            match first {
                Some("msg_name") => "msghdr",
                Some("cmsg_level") => "cmsg",
                Some("fd") => "pollfd",
                Some("onoff") => "linger",
                Some("scm_sec") => "scm_timestamping",
                Some("ee_errno") => "sock_extended_err",
                Some("sa_family") => "sockaddr_in",
                Some("events") => "epollev",
                None if items.len() == 2 && items[0].kind == ExprKind::Ellipsis => "iovec",
                _ => "list",
            }
        }
    }
}

/// C escapes of a string literal (`\n`, `\t`, `\\`, `\"`, `\xNN`, octal).
fn unescape(raw: &str) -> Vec<u8> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0'..=b'7' => {
                let n = b[i..]
                    .iter()
                    .take(3)
                    .take_while(|c| (b'0'..=b'7').contains(c))
                    .count();
                let v = u8::from_str_radix(&raw[i..i + n], 8).unwrap_or(0);
                out.push(v);
                i += n;
                continue;
            }
            b'x' => {
                let n = b[i + 1..]
                    .iter()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count();
                out.push(u8::from_str_radix(&raw[i + 1..i + 1 + n], 16).unwrap_or(0));
                i += 1 + n;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

impl Lx<'_> {
    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error("semantic", span, msg));
    }

    fn unsupported(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(
            UNSUPPORTED,
            span,
            format!("unsupported: {}", msg.into()),
        ));
    }

    fn program(&mut self, path: &Path, script: &Script) -> Program {
        let init = script.init_command.as_ref().map(|c| self.command_event(c));
        let cleanup = script
            .cleanup_command
            .as_ref()
            .map(|c| self.command_event(c));
        let mut events = Vec::new();
        for e in &script.events {
            let kind = match &e.action {
                Action::Packet(p) => self.packet(p, e.span),
                Action::Syscall(s) => self.syscall(s).map(EventKind::Syscall),
                Action::Command(c) => Some(EventKind::Command(self.command(c))),
                Action::Code(c) => self.code(c),
            };
            if let Some(kind) = kind {
                events.push(Event {
                    line: e.line,
                    time: e.time,
                    kind,
                });
            }
        }
        Program {
            path: path.display().to_string(),
            config: self.config.clone(),
            init,
            events,
            cleanup,
        }
    }

    fn command_event(&mut self, c: &ast::Command) -> CommandEvent {
        CommandEvent {
            line: c.line,
            block: self.command(c),
        }
    }

    fn command(&mut self, c: &ast::Command) -> CommandBlock {
        let block = CommandBlock::parse(&c.text, self.dir);
        for a in &block.actions {
            if let crate::command::Parsed::Unsupported { text, why } = a {
                self.unsupported(c.span, format!("command `{text}`: {why}"));
            }
        }
        block
    }

    fn code(&mut self, c: &ast::Code) -> Option<EventKind> {
        match CodeBlock::parse(&c.text) {
            Ok(b) => Some(EventKind::Code(b)),
            Err(e) => {
                let (at, msg, unsupported) = match e {
                    CodeError::Syntax { at, message } => (at, message, false),
                    CodeError::Unsupported { at, what } => (at, what, true),
                };
                let start = c.text_span.start as usize + at;
                let span = Span::new(self.file, start, start + 1);
                if unsupported {
                    self.unsupported(span, format!("{msg} in a `%{{ }}%` block"));
                } else {
                    self.err(span, format!("error in Python code: {msg}"));
                }
                None
            }
        }
    }

    fn packet(&mut self, p: &ast::PacketSpec, span: Span) -> Option<EventKind> {
        if let Some(e) = p.encap.first() {
            self.unsupported(e.span, "encapsulated packets (`ipv4 … > …:`)");
            return None;
        }
        match &p.body {
            PacketBody::Tcp(t) => {
                // A flow label is IPv6's; over IPv4 packetdrill's set_ipv4_header drops it.
                Some(EventKind::Packet {
                    direction: p.direction,
                    segment: if self.config.ip_version.ipv6_wire() {
                        Segment::from_script(t, &p.ip).into_ipv6(&p.ip)
                    } else {
                        Segment::from_script(t, &p.ip)
                    },
                })
            }
            PacketBody::Udp { .. } => {
                self.unsupported(span, "UDP packet lines (the runner matches TCP only)");
                None
            }
            PacketBody::Icmp(_) => {
                self.unsupported(span, "ICMP packet lines (the runner matches TCP only)");
                None
            }
        }
    }

    // ------------------------------------------------------------ expressions

    fn type_error(&mut self, e: &Expr, expected: &str) {
        let actual = type_name(e);
        self.err(
            e.span,
            format!("Bad type; actual: {actual} expected: {expected}"),
        );
    }

    /// An integer expression: a literal, a symbol, `A|B`, `htons(N)`, `inet_addr("a.b.c.d")`.
    fn int(&mut self, e: &Expr) -> Option<i64> {
        match &e.kind {
            ExprKind::Int { value, .. } => Some(*value),
            ExprKind::Word(w) => match symbols::lookup(w) {
                Some(v) => Some(v),
                None => {
                    self.err(e.span, format!("unknown symbol: '{w}'"));
                    None
                }
            },
            ExprKind::Or(items) => {
                let mut v = 0;
                for (i, it) in items.iter().enumerate() {
                    if !matches!(
                        it.kind,
                        ExprKind::Int { .. } | ExprKind::Word(_) | ExprKind::Call { .. }
                    ) {
                        let side = if i == 0 { "left" } else { "right" };
                        self.err(it.span, format!("{side} hand side of | not an integer"));
                        return None;
                    }
                    v |= self.int(it)?;
                }
                Some(v)
            }
            ExprKind::Call { name, args } if name == "htons" && args.len() == 1 => {
                let v = self.int(&args[0])?;
                // The script's numbers are x86-64's: a network-order u16 read as little-endian.
                Some(i64::from((v as u16).swap_bytes()))
            }
            ExprKind::Call { name, args } if name == "inet_addr" && args.len() == 1 => {
                match &args[0].kind {
                    ExprKind::Str { raw, .. } => match raw.parse::<core::net::Ipv4Addr>() {
                        Ok(a) => Some(i64::from(u32::from_le_bytes(a.octets()))),
                        Err(_) => {
                            self.err(args[0].span, "invalid IPv4 address");
                            None
                        }
                    },
                    _ => {
                        self.type_error(&args[0], "string");
                        None
                    }
                }
            }
            _ => {
                self.type_error(e, "integer");
                None
            }
        }
    }

    /// `get_s32`: an integer in `i32::MIN..=u32::MAX`, as the C `s32` it lands in.
    fn s32(&mut self, e: &Expr) -> Option<i32> {
        let v = self.int(e)?;
        if v > i64::from(u32::MAX) || v < i64::from(i32::MIN) {
            self.err(
                e.span,
                format!("Value out of range for 32-bit integer: {v}"),
            );
            return None;
        }
        Some(v as i32)
    }

    fn nonneg(&mut self, e: &Expr) -> Option<usize> {
        let v = self.s32(e)?;
        Some(v.max(0) as usize)
    }

    /// `[N]`: a list of one integer.
    fn bracketed(&mut self, e: &Expr) -> Option<i32> {
        match &e.kind {
            ExprKind::List(items) if items.len() == 1 => self.s32(&items[0]),
            ExprKind::List(_) => {
                self.err(e.span, "Expected [<element>] but got multiple elements");
                None
            }
            _ => {
                self.type_error(e, "list");
                None
            }
        }
    }

    fn ellipsis(&mut self, e: &Expr) -> Option<()> {
        if e.kind == ExprKind::Ellipsis {
            Some(())
        } else {
            self.type_error(e, "ellipsis");
            None
        }
    }

    /// `...` (a buffer) or `NULL`/`0`.
    fn buffer(&mut self, e: &Expr, len: usize) -> Option<Buffer> {
        let null = match &e.kind {
            ExprKind::Ellipsis => false,
            ExprKind::Int { value: 0, .. } => true,
            ExprKind::Word(w) if symbols::lookup(w) == Some(0) => true,
            _ => {
                self.err(e.span, "Expected ... or NULL for buffer");
                return None;
            }
        };
        Some(Buffer { null, len })
    }

    /// `[{..., N}, …]`: an iovec array.
    fn iovec(&mut self, e: &Expr) -> Option<Vec<Buffer>> {
        let ExprKind::List(items) = &e.kind else {
            self.type_error(e, "list");
            return None;
        };
        let mut out = Vec::new();
        for it in items {
            match &it.kind {
                ExprKind::Struct(parts)
                    if parts.len() == 2 && parts[0].kind == ExprKind::Ellipsis =>
                {
                    out.push(Buffer {
                        null: false,
                        len: self.nonneg(&parts[1])?,
                    });
                }
                _ => {
                    self.type_error(it, "iovec");
                    return None;
                }
            }
        }
        Some(out)
    }

    /// The fields of `{name=value, …}` in order, each name required once.
    fn fields<'e>(&mut self, e: &'e Expr, names: &[&str], what: &str) -> Option<Vec<Field<'e>>> {
        let ExprKind::Struct(items) = &e.kind else {
            self.type_error(e, what);
            return None;
        };
        let mut out = Vec::new();
        for (i, want) in names.iter().enumerate() {
            let found = items.get(i).and_then(|it| match &it.kind {
                ExprKind::Field {
                    name,
                    params,
                    value,
                } if name == want => Some((value.as_ref(), params.as_deref())),
                _ => None,
            });
            match found {
                Some(f) => out.push(f),
                None => {
                    let at = items.get(i).map_or(e.span, |it| it.span);
                    self.err(
                        at,
                        format!("expected `{want}=` in {what} ({})", names.join(", ")),
                    );
                    return None;
                }
            }
        }
        if items.len() > names.len() {
            self.err(
                items[names.len()].span,
                format!("unexpected field in {what}"),
            );
            return None;
        }
        Some(out)
    }

    /// A msghdr: `{msg_name(...)=..., msg_iov(N)=[…], msg_flags=F[, msg_control=[…]]}`.
    fn msghdr<'e>(&mut self, e: &'e Expr) -> Option<(Vec<Buffer>, i32, Option<&'e Expr>)> {
        let with_control = matches!(&e.kind, ExprKind::Struct(items) if items.len() == 4);
        let names: &[&str] = if with_control {
            &["msg_name", "msg_iov", "msg_flags", "msg_control"]
        } else {
            &["msg_name", "msg_iov", "msg_flags"]
        };
        let f = self.fields(e, names, "msghdr")?;
        let (name, name_params) = f[0];
        if name.kind != ExprKind::Ellipsis
            || !matches!(name_params, Some([p]) if p.kind == ExprKind::Ellipsis)
        {
            self.unsupported(name.span, "msg_name other than `msg_name(...)=...`");
            return None;
        }
        let (iov_expr, iov_params) = f[1];
        let iov = self.iovec(iov_expr)?;
        let Some([n]) = iov_params else {
            self.err(iov_expr.span, "msg_iov needs its length: `msg_iov(N)=[…]`");
            return None;
        };
        let n = self.s32(n)?;
        if n as usize != iov.len() {
            self.err(
                e.span,
                format!(
                    "msg_iovlen {n} does not match {}-element iovec array",
                    iov.len()
                ),
            );
            return None;
        }
        let flags = self.s32(f[2].0)?;
        Some((iov, flags, f.get(3).map(|c| c.0)))
    }

    fn cmsgs(&mut self, e: &Expr) -> Option<Vec<Cmsg>> {
        let ExprKind::List(items) = &e.kind else {
            self.type_error(e, "list");
            return None;
        };
        let mut out = Vec::new();
        for it in items {
            let f = self.fields(it, &["cmsg_level", "cmsg_type", "cmsg_data"], "cmsg")?;
            let level = self.s32(f[0].0)?;
            let ty = self.s32(f[1].0)?;
            let d = f[2].0;
            let data = match type_name(d) {
                "integer" | "word" | "binary_expression" => CmsgData::Int(self.s32(d)?),
                "scm_timestamping" => {
                    let g = self.fields(d, &["scm_sec", "scm_nsec"], "scm_timestamping")?;
                    let sec = self.int(g[0].0)?;
                    let nsec = self.int(g[1].0)?;
                    let mut ts = [Timespec::default(); 3];
                    ts[0] = Timespec { sec, nsec };
                    CmsgData::Timestamping(ts)
                }
                "sock_extended_err" => {
                    let g = self.fields(
                        d,
                        &[
                            "ee_errno",
                            "ee_origin",
                            "ee_type",
                            "ee_code",
                            "ee_info",
                            "ee_data",
                        ],
                        "sock_extended_err",
                    )?;
                    let mut v = [0i64; 6];
                    for (i, (x, _)) in g.iter().enumerate() {
                        v[i] = self.int(x)?;
                    }
                    CmsgData::ExtendedErr(ExtendedErr {
                        errno: v[0] as u32,
                        origin: v[1] as u8,
                        ty: v[2] as u8,
                        code: v[3] as u8,
                        info: v[4] as u32,
                        data: v[5] as u32,
                    })
                }
                "list" => {
                    self.unsupported(d.span, "SCM_TIMESTAMPING_OPT_STATS control messages");
                    return None;
                }
                _ => {
                    self.err(d.span, "Unrecognized type for cmsg_data");
                    return None;
                }
            };
            out.push(Cmsg { level, ty, data });
        }
        Some(out)
    }

    fn check_args(&mut self, s: &ast::SyscallSpec, n: usize) -> Option<()> {
        if s.args.len() == n {
            Some(())
        } else {
            self.err(
                s.name_span,
                format!("Expected {n} args but got {}", s.args.len()),
            );
            None
        }
    }

    fn bind_addr(&self) -> SockAddr {
        SockAddr {
            ip: self.config.bind_ip(),
            port: self.config.bind_port,
        }
    }

    fn connect_addr(&self) -> SockAddr {
        SockAddr {
            ip: self.config.connect_ip(),
            port: self.config.connect_port,
        }
    }

    /// The address argument of `connect`/`sendto`: `...` (the remote) or a family
    /// (`AF_UNSPEC` dissolves the association).
    fn peer(&mut self, e: &Expr) -> Option<Option<SockAddr>> {
        if e.kind == ExprKind::Ellipsis {
            return Some(Some(self.connect_addr()));
        }
        let family = self.s32(e)?;
        if family == 0 {
            Some(None)
        } else {
            Some(Some(self.connect_addr()))
        }
    }

    // ------------------------------------------------------------ system calls

    fn syscall(&mut self, s: &ast::SyscallSpec) -> Option<SyscallEvent> {
        let a = &s.args;
        let mut mode = CheckMode::Exact;
        let mut out = ExpectOut::None;
        let call = match s.name.as_str() {
            "socket" => {
                self.check_args(s, 3)?;
                mode = CheckMode::Fd;
                // `...`: the run's socket domain (AF_INET, or AF_INET6 = 10).
                let domain = if a[0].kind == ExprKind::Ellipsis {
                    if self.config.ip_version.inet6_sockets() {
                        10
                    } else {
                        2
                    }
                } else {
                    self.s32(&a[0])?
                };
                Syscall::Socket {
                    domain,
                    ty: self.s32(&a[1])?,
                    protocol: self.s32(&a[2])?,
                }
            }
            "bind" => {
                self.check_args(s, 3)?;
                let fd = self.s32(&a[0])?;
                self.ellipsis(&a[1])?;
                self.ellipsis(&a[2])?;
                Syscall::Bind {
                    fd,
                    addr: self.bind_addr(),
                }
            }
            "listen" => {
                self.check_args(s, 2)?;
                Syscall::Listen {
                    fd: self.s32(&a[0])?,
                    backlog: self.s32(&a[1])?,
                }
            }
            "accept" => {
                self.check_args(s, 3)?;
                mode = CheckMode::Fd;
                let fd = self.s32(&a[0])?;
                self.ellipsis(&a[1])?;
                self.ellipsis(&a[2])?;
                Syscall::Accept { fd }
            }
            "connect" => {
                self.check_args(s, 3)?;
                let fd = self.s32(&a[0])?;
                let addr = self.peer(&a[1])?;
                self.ellipsis(&a[2])?;
                Syscall::Connect { fd, addr }
            }
            "read" | "write" => {
                self.check_args(s, 3)?;
                let fd = self.s32(&a[0])?;
                let len = self.nonneg(&a[2])?;
                let buf = self.buffer(&a[1], len)?;
                if s.name == "read" {
                    Syscall::Read { fd, buf }
                } else {
                    Syscall::Write { fd, buf }
                }
            }
            "readv" | "writev" => {
                self.check_args(s, 3)?;
                let fd = self.s32(&a[0])?;
                let iov = self.iovec(&a[1])?;
                let n = self.s32(&a[2])?;
                if n as usize != iov.len() {
                    self.err(
                        a[2].span,
                        format!(
                            "iov_count {n} does not match {}-element iovec array",
                            iov.len()
                        ),
                    );
                    return None;
                }
                if s.name == "readv" {
                    Syscall::Readv { fd, iov }
                } else {
                    Syscall::Writev { fd, iov }
                }
            }
            "recv" | "send" => {
                self.check_args(s, 4)?;
                let fd = self.s32(&a[0])?;
                let len = self.nonneg(&a[2])?;
                let buf = self.buffer(&a[1], len)?;
                let flags = self.s32(&a[3])?;
                if s.name == "recv" {
                    Syscall::Recv { fd, buf, flags }
                } else {
                    Syscall::Send { fd, buf, flags }
                }
            }
            "recvfrom" => {
                self.check_args(s, 6)?;
                let fd = self.s32(&a[0])?;
                let len = self.nonneg(&a[2])?;
                let buf = self.buffer(&a[1], len)?;
                let flags = self.s32(&a[3])?;
                self.ellipsis(&a[4])?;
                self.ellipsis(&a[5])?;
                Syscall::Recvfrom { fd, buf, flags }
            }
            "sendto" => {
                self.check_args(s, 6)?;
                let fd = self.s32(&a[0])?;
                let len = self.nonneg(&a[2])?;
                let buf = self.buffer(&a[1], len)?;
                let flags = self.s32(&a[3])?;
                let addr = self.peer(&a[4])?;
                self.ellipsis(&a[5])?;
                Syscall::Sendto {
                    fd,
                    buf,
                    flags,
                    addr,
                }
            }
            "recvmsg" => {
                self.check_args(s, 3)?;
                let fd = self.s32(&a[0])?;
                let (iov, msg_flags, control) = self.msghdr(&a[1])?;
                let control = match control {
                    Some(c) => self.cmsgs(c)?,
                    None => Vec::new(),
                };
                let controllen = control.iter().map(Cmsg::cmsg_space).sum();
                out = ExpectOut::Msg {
                    flags: msg_flags,
                    control,
                };
                Syscall::Recvmsg {
                    fd,
                    iov,
                    flags: self.s32(&a[2])?,
                    controllen,
                }
            }
            "sendmsg" => {
                self.check_args(s, 3)?;
                let fd = self.s32(&a[0])?;
                let (iov, msg_flags, control) = self.msghdr(&a[1])?;
                if msg_flags != 0 {
                    self.err(a[1].span, "sendmsg ignores msg_flags field in msghdr");
                    return None;
                }
                let control = match control {
                    Some(c) => self.cmsgs(c)?,
                    None => Vec::new(),
                };
                Syscall::Sendmsg {
                    fd,
                    iov,
                    flags: self.s32(&a[2])?,
                    addr: Some(self.connect_addr()),
                    control,
                }
            }
            "fcntl" => {
                if !(2..=3).contains(&a.len()) {
                    self.err(
                        s.name_span,
                        format!("fcntl expected 2-3 args but got {}", a.len()),
                    );
                    return None;
                }
                Syscall::Fcntl {
                    fd: self.s32(&a[0])?,
                    cmd: self.s32(&a[1])?,
                    arg: match a.get(2) {
                        Some(x) => Some(i64::from(self.s32(x)?)),
                        None => None,
                    },
                }
            }
            "ioctl" => {
                if !(2..=3).contains(&a.len()) {
                    self.err(
                        s.name_span,
                        format!("ioctl expected 2-3 args but got {}", a.len()),
                    );
                    return None;
                }
                let fd = self.s32(&a[0])?;
                let request = u64::from(self.s32(&a[1])? as u32);
                let arg = match a.get(2) {
                    Some(x) => {
                        let v = self.bracketed(x)?;
                        out = ExpectOut::Ioctl(v);
                        Some(v)
                    }
                    None => None,
                };
                Syscall::Ioctl { fd, request, arg }
            }
            "close" => {
                self.check_args(s, 1)?;
                Syscall::Close {
                    fd: self.s32(&a[0])?,
                }
            }
            "shutdown" => {
                self.check_args(s, 2)?;
                Syscall::Shutdown {
                    fd: self.s32(&a[0])?,
                    how: self.s32(&a[1])?,
                }
            }
            "getsockopt" => {
                self.check_args(s, 5)?;
                let fd = self.s32(&a[0])?;
                let level = self.s32(&a[1])?;
                let name = self.s32(&a[2])?;
                let optlen = self.bracketed(&a[4])?;
                let value = match &a[3].kind {
                    ExprKind::List(_) => {
                        if optlen != 4 {
                            self.err(
                                a[4].span,
                                format!("Unsupported getsockopt optlen: {optlen}"),
                            );
                            return None;
                        }
                        ExpectOptval::Int(self.bracketed(&a[3])?)
                    }
                    ExprKind::Str { raw, .. } => {
                        let b = unescape(raw);
                        if b.len() != optlen as usize {
                            self.err(a[3].span, format!(
                                "Bad getsockopt optval: expected optlen ({optlen} bytes) does not match length of expected optval string '{raw}' ({} bytes)",
                                b.len()
                            ));
                            return None;
                        }
                        ExpectOptval::Bytes(b)
                    }
                    _ => {
                        // packetdrill also compares GRE headers and in6_addrs; anything else
                        // it refuses too.
                        let t = type_name(&a[3]);
                        if t == "in6_addr" {
                            self.unsupported(a[3].span, format!("getsockopt value type: {t}"));
                        } else {
                            self.err(a[3].span, format!("unsupported getsockopt value type: {t}"));
                        }
                        return None;
                    }
                };
                out = ExpectOut::Optval {
                    value,
                    optlen: optlen as u32,
                };
                Syscall::Getsockopt {
                    fd,
                    level,
                    name,
                    optlen: optlen as u32,
                }
            }
            "setsockopt" => {
                self.check_args(s, 5)?;
                let fd = self.s32(&a[0])?;
                let level = self.s32(&a[1])?;
                let name = self.s32(&a[2])?;
                let optlen = self.s32(&a[4])? as u32;
                let value = match type_name(&a[3]) {
                    "list" => OptVal::Int(self.bracketed(&a[3])?),
                    "string" => match &a[3].kind {
                        ExprKind::Str { raw, .. } => OptVal::Bytes(unescape(raw)),
                        _ => return None,
                    },
                    "linger" => {
                        let f = self.fields(&a[3], &["onoff", "linger"], "linger")?;
                        OptVal::Linger {
                            onoff: self.s32(f[0].0)?,
                            linger: self.s32(f[1].0)?,
                        }
                    }
                    t @ "in6_addr" => {
                        self.unsupported(a[3].span, format!("setsockopt value type: {t}"));
                        return None;
                    }
                    t => {
                        self.err(a[3].span, format!("unsupported setsockopt value type: {t}"));
                        return None;
                    }
                };
                Syscall::Setsockopt {
                    fd,
                    level,
                    name,
                    value,
                    optlen,
                }
            }
            "poll" => {
                self.check_args(s, 3)?;
                let ExprKind::List(items) = &a[0].kind else {
                    self.type_error(&a[0], "list");
                    return None;
                };
                let mut fds = Vec::new();
                let mut revents = Vec::new();
                for it in items {
                    let with_revents = matches!(&it.kind, ExprKind::Struct(v) if v.len() == 3);
                    let names: &[&str] = if with_revents {
                        &["fd", "events", "revents"]
                    } else {
                        &["fd", "events"]
                    };
                    let f = self.fields(it, names, "pollfd")?;
                    fds.push(PollFd {
                        fd: self.s32(f[0].0)?,
                        events: self.s32(f[1].0)? as i16,
                    });
                    revents.push(match f.get(2) {
                        Some((r, _)) => self.s32(r)? as i16,
                        None => 0,
                    });
                }
                let nfds = self.s32(&a[1])?;
                if nfds as usize != fds.len() {
                    self.err(
                        a[1].span,
                        format!(
                            "nfds {nfds} does not match {}-element pollfd array",
                            fds.len()
                        ),
                    );
                    return None;
                }
                out = ExpectOut::Revents(revents);
                Syscall::Poll {
                    fds,
                    timeout_ms: self.s32(&a[2])?,
                }
            }
            "open" => {
                self.check_args(s, 2)?;
                mode = CheckMode::Fd;
                let ExprKind::Str { raw, .. } = &a[0].kind else {
                    self.type_error(&a[0], "string");
                    return None;
                };
                Syscall::Open {
                    path: String::from_utf8_lossy(&unescape(raw)).into_owned(),
                    flags: self.s32(&a[1])?,
                }
            }
            "sendfile" => {
                self.check_args(s, 4)?;
                let offset = match &a[2].kind {
                    ExprKind::List(items) if items.len() == 1 => self.int(&items[0])?,
                    _ => {
                        self.bracketed(&a[2])?;
                        return None;
                    }
                };
                Syscall::Sendfile {
                    out_fd: self.s32(&a[0])?,
                    in_fd: self.s32(&a[1])?,
                    offset,
                    count: self.nonneg(&a[3])?,
                }
            }
            "pipe" => {
                self.check_args(s, 1)?;
                let ExprKind::List(items) = &a[0].kind else {
                    self.type_error(&a[0], "list");
                    return None;
                };
                if items.len() != 2 {
                    self.err(
                        a[0].span,
                        format!("{} pipe file descriptors instead of 2", items.len()),
                    );
                    return None;
                }
                let (r, w) = (self.s32(&items[0])?, self.s32(&items[1])?);
                out = ExpectOut::Pipe([r, w]);
                Syscall::Pipe
            }
            "splice" => {
                self.check_args(s, 6)?;
                let off = |lx: &mut Self, e: &Expr| -> Option<Option<i64>> {
                    let v = lx.int(e)?;
                    Some(if v == 0 { None } else { Some(v) })
                };
                Syscall::Splice {
                    fd_in: self.s32(&a[0])?,
                    off_in: off(self, &a[1])?,
                    fd_out: self.s32(&a[2])?,
                    off_out: off(self, &a[3])?,
                    len: self.nonneg(&a[4])?,
                    flags: self.s32(&a[5])?,
                }
            }
            "epoll_create" | "epoll_ctl" | "epoll_wait" | "cap_set" | "psp_rx_assoc"
            | "psp_tx_assoc" => {
                self.unsupported(s.name_span, format!("system call `{}`", s.name));
                return None;
            }
            other => {
                self.err(s.name_span, format!("Unknown system call: '{other}'"));
                return None;
            }
        };
        let ret = match &s.result.kind {
            ExprKind::Int { value, .. } => *value,
            _ => i64::from(self.s32(&s.result)?),
        };
        let errno = match &s.errno {
            Some((name, span)) => match symbols::errno(name)
                .map(|e| e.0)
                .or_else(|| symbols::lookup(name).map(|v| v as i32))
            {
                Some(v) => Some((name.clone(), v)),
                None => {
                    self.err(*span, format!("unknown symbol: '{name}'"));
                    return None;
                }
            },
            None => None,
        };
        Some(SyscallEvent {
            name: s.name.clone(),
            end_time: s.end_time,
            call,
            expect: Expect {
                ret,
                mode,
                errno,
                out,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Program, LoadError> {
        load_str(Path::new("t.pkt"), text, DrillConfig::ksft_ipv4(), &[])
    }

    fn errors(text: &str) -> String {
        load(text).map(|_| ()).expect_err("fails to load").render()
    }

    fn call(text: &str) -> SyscallEvent {
        let p = load(text).unwrap_or_else(|e| panic!("{}", e.render()));
        match &p.events[0].kind {
            EventKind::Syscall(s) => s.clone(),
            k => panic!("not a syscall: {k:?}"),
        }
    }

    #[test]
    fn system_calls_become_typed_calls() {
        let s = call("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
        assert_eq!(
            s.call,
            Syscall::Socket {
                domain: 2,
                ty: 1,
                protocol: 6
            }
        );
        assert_eq!(s.expect.mode, CheckMode::Fd);
        let s = call("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
        assert_eq!(
            s.call,
            Syscall::Fcntl {
                fd: 3,
                cmd: 4,
                arg: Some(2050)
            }
        );
        let s = call("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
        assert_eq!(s.expect.errno, Some(("EINPROGRESS".into(), 115)));
        assert_eq!(s.expect.ret, -1);
        let s = call("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0");
        assert_eq!(
            s.expect.out,
            ExpectOut::Optval {
                value: ExpectOptval::Int(0),
                optlen: 4
            }
        );
        let s = call("0 write(4, NULL, 1000) = -1 EFAULT (Bad address)");
        assert_eq!(
            s.call,
            Syscall::Write {
                fd: 4,
                buf: Buffer {
                    null: true,
                    len: 1000
                }
            }
        );
        let s = call("0...0.3 read(4, ..., 2000) = 2000");
        assert_eq!(s.end_time, Some(300_000));
        let s = call(
            "0 sendmsg(4, {msg_name(...)=..., msg_iov(4)=[{..., 0}, {..., 40}, {..., 0}, {..., 20}], msg_flags=0}, MSG_ZEROCOPY) = 60",
        );
        let Syscall::Sendmsg { iov, flags, .. } = &s.call else {
            panic!()
        };
        assert_eq!(
            iov.iter().map(|b| b.len).collect::<Vec<_>>(),
            [0, 40, 0, 20]
        );
        assert_eq!(*flags, 0x400_0000);
        let s = call("0 splice(4, NULL, 6, NULL, 99, 0) = 99");
        assert_eq!(
            s.call,
            Syscall::Splice {
                fd_in: 4,
                off_in: None,
                fd_out: 6,
                off_out: None,
                len: 99,
                flags: 0
            }
        );
        let s = call("0 pipe([5, 6]) = 0");
        assert_eq!(s.expect.out, ExpectOut::Pipe([5, 6]));
        let s = call("0 ioctl(4, SIOCINQ, [1000]) = 0");
        assert_eq!(s.expect.out, ExpectOut::Ioctl(1000));
        let s = call("0 sendfile(4, 5, [0], 5) = 5");
        assert_eq!(
            s.call,
            Syscall::Sendfile {
                out_fd: 4,
                in_fd: 5,
                offset: 0,
                count: 5
            }
        );
    }

    #[test]
    fn recvmsg_expectations() {
        let s = call(
            "0 recvmsg(3, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE|MSG_TRUNC,
               msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=0,scm_nsec=20000000}},
                            {cmsg_level=CMSG_LEVEL_IP, cmsg_type=CMSG_TYPE_RECVERR,
                             cmsg_data={ee_errno=ENOMSG, ee_origin=SO_EE_ORIGIN_TIMESTAMPING, ee_type=0, ee_code=0, ee_info=SCM_TSTAMP_SCHED, ee_data=10999}}]},
               MSG_ERRQUEUE) = 0",
        );
        let ExpectOut::Msg { flags, control } = s.expect.out else {
            panic!()
        };
        assert_eq!(flags, 0x2020);
        assert_eq!(control[0].cmsg_len(), 64);
        assert_eq!(control[1].level, 0);
        assert_eq!(
            control[1].data,
            CmsgData::ExtendedErr(ExtendedErr {
                errno: 42,
                origin: 4,
                ty: 0,
                code: 0,
                info: 1,
                data: 10999
            })
        );
        assert_eq!(control[1].cmsg_len(), 48);
    }

    #[test]
    fn argument_errors_are_located() {
        let e = errors("0 socket(..., SOCK_STREAM) = 3");
        assert!(
            e.starts_with("t.pkt:1:3: error: Expected 3 args but got 2"),
            "{e}"
        );
        let e = errors("0 socket(..., SOCK_STREEM, IPPROTO_TCP) = 3");
        assert!(
            e.starts_with("t.pkt:1:15: error: unknown symbol: 'SOCK_STREEM'"),
            "{e}"
        );
        let e = errors("0 listen(\"3\", 1) = 0");
        assert!(
            e.contains("Bad type; actual: string expected: integer"),
            "{e}"
        );
        let e = errors("0 read(3, [1], 10) = 0");
        assert!(e.contains("Expected ... or NULL for buffer"), "{e}");
        let e = errors("0 frobnicate(3) = 0");
        assert!(e.contains("Unknown system call: 'frobnicate'"), "{e}");
        let l = load("0 epoll_create(1) = 3").unwrap_err();
        assert!(l.is_unsupported(), "{}", l.render());
    }

    #[test]
    fn unsupported_constructs_are_reported_not_skipped() {
        let l = load("0 `./defaults.sh`\n+0 < udp (10)\n+0 `grep x /proc/net/tcp | wc -l`")
            .unwrap_err();
        assert!(l.is_unsupported());
        let r = l.render();
        assert!(r.contains("unsupported: UDP packet lines"), "{r}");
        assert!(
            r.contains("unsupported: command `grep x /proc/net/tcp | wc -l`: a shell pipeline"),
            "{r}"
        );
        let l = load("0 %{ import os }%").unwrap_err();
        assert!(l.is_unsupported() && l.render().contains("Python `import` statements"));
    }

    #[test]
    fn an_ipv6_run_has_af_inet6_sockets_ipv6_addresses_and_ipv6_packets() {
        use crate::config::IpVersion;
        use crate::host::Syscall;
        use core::net::IpAddr;
        let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                    +0 bind(3, ..., ...) = 0\n\
                    +0 connect(3, ..., ...) = 0\n\
                    +0 > (flowlabel 0x12345) S 0:0(0) <...>\n";
        let calls = |p: &Program| -> Vec<Syscall> {
            p.events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Syscall(s) => Some(s.call.clone()),
                    _ => None,
                })
                .collect()
        };
        let packet = |p: &Program| {
            p.events
                .iter()
                .find_map(|e| match &e.kind {
                    EventKind::Packet { segment, .. } => Some(segment.clone()),
                    _ => None,
                })
                .expect("a packet")
        };
        let v6 = load_str(Path::new("t.pkt"), text, DrillConfig::ksft_ipv6(), &[]).unwrap();
        let c = calls(&v6);
        // `...` is AF_INET6 (10); the addresses are the ksft IPv6 ones.
        assert!(matches!(c[0], Syscall::Socket { domain: 10, .. }), "{c:?}");
        let Syscall::Bind { addr, .. } = c[1] else {
            panic!("{c:?}")
        };
        assert_eq!(addr.ip, "fd3d:a0b:17d6::1".parse::<IpAddr>().unwrap());
        let Syscall::Connect { addr: Some(a), .. } = c[2] else {
            panic!("{c:?}")
        };
        assert_eq!(a.ip, "fd3d:fa7b:d17d::1".parse::<IpAddr>().unwrap());
        let s = packet(&v6);
        // The SYN's payload length: its 20-byte header, no options given (`<...>`).
        assert_eq!((s.version, s.total_len, s.flow_label), (6, 20, 0x12345));
        assert_eq!(v6.config.mtu, 1520);
        // ipv4-mapped-ipv6: AF_INET6 sockets with v4-mapped addresses, IPv4 packets.
        let m = load_str(
            Path::new("t.pkt"),
            text,
            DrillConfig::ksft(IpVersion::V4MappedV6),
            &[],
        )
        .unwrap();
        let c = calls(&m);
        assert!(matches!(c[0], Syscall::Socket { domain: 10, .. }), "{c:?}");
        let Syscall::Bind { addr, .. } = c[1] else {
            panic!("{c:?}")
        };
        assert_eq!(addr.ip, "::ffff:192.168.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(packet(&m).version, 4);
        // A script asking for IPv6 under the IPv4 addresses: packetdrill's ipv6_parse
        // refuses them.
        let e = load(&format!("--ip_version=ipv6\n{text}"))
            .unwrap_err()
            .render();
        assert!(
            e.contains("bad --local_ip for --ip_version=ipv6: 192.168.0.1 is not an IPv6 address"),
            "{e}"
        );
    }

    #[test]
    fn options_configure_and_defines_substitute() {
        let p =
            load("--tolerance_usecs=7000\n--define=PORT=9090\n--mss=1000\n0 listen(3, PORT) = 0")
                .unwrap();
        assert_eq!((p.config.tolerance_usecs, p.config.mss), (7000, Some(1000)));
        let EventKind::Syscall(s) = &p.events[0].kind else {
            panic!()
        };
        assert_eq!(
            s.call,
            Syscall::Listen {
                fd: 3,
                backlog: 9090
            }
        );
        let cli = [("tolerance_usecs".to_string(), Some("14000".to_string()))];
        let p = load_str(
            Path::new("t.pkt"),
            "--tolerance_usecs=7000\n0 close(3) = 0",
            DrillConfig::ksft_ipv4(),
            &cli,
        )
        .unwrap();
        assert_eq!(p.config.tolerance_usecs, 14000, "the command line wins");
        let e = errors("--tolerance_usec=7000\n0 close(3) = 0");
        assert!(
            e.starts_with("t.pkt:1:1: error: option 'tolerance_usec' unknown"),
            "{e}"
        );
    }
}
