//! From text to [`ast`](crate::ast): a bracket pre-scan, pest, then the checks packetdrill's
//! parser makes as it reduces each rule (its "semantic errors"), with spans.
//!
//! `-D NAME=VALUE` definitions (from the command line and `--define=NAME=VALUE` options in
//! the script) are substituted here, where packetdrill's lexer substitutes them: a defined
//! word becomes an integer if its value is one (C's `strtol` with base 0), a string if the
//! value is quoted, and otherwise the word the value spells.

use std::collections::BTreeMap;

use pest::Parser as _;
use pest::iterators::Pair;
use sim_dsl::diag::{Diagnostic, FileId, Span};

use crate::ast::*;

mod generated {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    /// The pest parser of packetdrill's grammar (`grammar.pest`).
    #[derive(pest_derive::Parser, Debug)]
    #[grammar = "grammar.pest"]
    pub(crate) struct DrillParser;
}

use generated::{DrillParser, Rule};

/// Deepest nesting of `(`, `[` and `{` accepted (packetdrill scripts nest at most 4).
pub const MAX_DEPTH: usize = 32;

/// `-D` definitions: name → value, as packetdrill's `definition_set` keeps them.
pub type Defines = BTreeMap<String, String>;

/// Parses the text of `file` into a script. `defines` are the command line's `-D`
/// definitions; the script's own `--define=` options are added to them (the command line
/// wins, as in packetdrill).
///
/// # Errors
/// Every syntax error (the first one pest finds) or semantic error, with its span.
pub fn parse(file: FileId, text: &str, defines: &Defines) -> Result<Script, Vec<Diagnostic>> {
    prescan(file, text).map_err(|d| vec![*d])?;
    let pairs =
        DrillParser::parse(Rule::script, text).map_err(|e| vec![syntax_error(&e, file, text)])?;
    let script_pair = pairs.into_iter().next().expect("script rule");
    let mut cx = Cx {
        file,
        defines: defines.clone(),
        diags: Vec::new(),
    };
    let mut options = Vec::new();
    let mut init_command = None;
    let mut events = Vec::new();
    let mut cleanup_command = None;
    for p in script_pair.into_inner() {
        match p.as_rule() {
            Rule::option => options.push(cx.option(p)),
            Rule::command if events.is_empty() => init_command = Some(cx.command(p)),
            Rule::command => cleanup_command = Some(cx.command(p)),
            Rule::event => {
                if events.is_empty() {
                    // Definitions in the script's options apply to the events that follow;
                    // the command line's win over them.
                    for o in &options {
                        if o.name == "define" {
                            if let Some((k, v)) = o.value.as_deref().and_then(|v| v.split_once('='))
                            {
                                if !defines.contains_key(k) {
                                    cx.defines.insert(k.to_string(), v.to_string());
                                }
                            }
                        }
                    }
                }
                if let Some(e) = cx.event(p) {
                    events.push(e);
                }
            }
            Rule::EOI => {}
            r => unreachable!("unexpected rule {r:?} in script"),
        }
    }
    if cx.diags.is_empty() {
        Ok(Script {
            options,
            init_command,
            events,
            cleanup_command,
        })
    } else {
        Err(cx.diags)
    }
}

// ---------------------------------------------------------------- pre-scan

/// Bounds the nesting of brackets (so pest's recursion cannot overflow the stack), skipping
/// comments, strings, backtick commands and code blocks.
fn prescan(file: FileId, text: &str) -> Result<(), Box<Diagnostic>> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let skip_to = |pat: &[u8], from: usize| -> usize {
            b[from..]
                .windows(pat.len())
                .position(|w| w == pat)
                .map_or(b.len(), |p| from + p + pat.len())
        };
        i = match b[i] {
            b'/' if rest.starts_with(b"//") => skip_to(b"\n", i + 2),
            b'/' if rest.starts_with(b"/*") => skip_to(b"*/", i + 2),
            b'%' if rest.starts_with(b"%{") => skip_to(b"}%", i + 2),
            b'`' | b'"' => {
                let q = b[i];
                let mut j = i + 1;
                while j < b.len() && b[j] != q {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                j + 1
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Box::new(
                        Diagnostic::error(
                            "nesting",
                            Span::new(file, i, i + 1),
                            format!("brackets nested more than {MAX_DEPTH} deep"),
                        )
                        .label("this bracket is too deep"),
                    ));
                }
                i + 1
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i + 1
            }
            _ => i + 1,
        };
    }
    Ok(())
}

// ---------------------------------------------------------------- syntax errors

/// What a rule looks like, for "expected …" labels.
fn describe(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::script => &["an event time (`0`, `+0.1`, `*`, `+.3~+.31`)"],
        Rule::option => &["an option (`--name=value`)"],
        Rule::event
        | Rule::any_time
        | Rule::rel_range
        | Rule::rel_time
        | Rule::abs_range
        | Rule::abs_time
        | Rule::time => &["an event time (`0`, `+0.1`, `*`, `+.3~+.31`)"],
        Rule::command => &["a backtick command"],
        Rule::code => &["a `%{ … }%` block"],
        Rule::packet | Rule::direction => &["`<` or `>`"],
        Rule::syscall | Rule::syscall_name | Rule::end_time => &["a system call"],
        Rule::ip_info => &["`[ect0]`, `(tos …)`"],
        Rule::encap => &["`ipv4`, `ipv6`"],
        Rule::tcp_packet | Rule::ports | Rule::flags => {
            &["TCP flags (`S`, `S.`, `.`, `P.`, `F.`, `R`, `-`)"]
        }
        Rule::udp_packet | Rule::kw_udp => &["`udp`"],
        Rule::icmp_packet | Rule::kw_icmp => &["`icmp`"],
        Rule::seq => &["a sequence range (`1:1001(1000)`)"],
        Rule::ack | Rule::kw_ack => &["`ack`"],
        Rule::win | Rule::kw_win => &["`win`"],
        Rule::urg | Rule::kw_urg => &["`urg`"],
        Rule::tcp_options => &["TCP options (`<mss 1460,…>`)"],
        Rule::opt_nop
        | Rule::opt_eol
        | Rule::opt_mss
        | Rule::opt_wscale
        | Rule::opt_sackok
        | Rule::opt_sack
        | Rule::opt_md5
        | Rule::opt_ts
        | Rule::opt_fo
        | Rule::opt_foexp
        | Rule::opt_accecn => &[
            "a TCP option (`nop`, `eol`, `mss N`, `wscale N`, `sackOK`, `sack A:B`, `TS val N ecr N`, `md5 HEX`, `FO`, `FOEXP`, `ECN`)",
        ],
        Rule::sack_block => &["a SACK block (`1001:2001`)"],
        Rule::int => &["an integer"],
        Rule::word => &["a word"],
        Rule::hex_blob => &["hex digits"],
        Rule::kw_val => &["`val`"],
        Rule::kw_ecr => &["`ecr`"],
        Rule::args
        | Rule::expr
        | Rule::ellipsis
        | Rule::strings
        | Rule::field
        | Rule::call
        | Rule::list
        | Rule::structure
        | Rule::string => &["an expression"],
        Rule::errno => &["an errno name (`EINPROGRESS`)"],
        Rule::note | Rule::note_text => &["a note in parentheses"],
        Rule::EOI => &["end of file"],
        Rule::lparen => &["`(`"],
        Rule::rparen => &["`)`"],
        Rule::equals => &["`=` and the expected result"],
        Rule::rangle => &["`,` or `>`"],
        _ => &[],
    }
}

fn syntax_error(e: &pest::error::Error<Rule>, file: FileId, text: &str) -> Diagnostic {
    let mut pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    // A line that ends early: point just after its last token, not at the next line.
    let before = text[..pos].trim_end();
    let ended_line = text[before.len()..pos].contains('\n');
    if ended_line {
        pos = before.len();
    }
    let rest = &text[pos..];
    let (found, len) = match rest.chars().next() {
        None => ("end of file".to_string(), 0),
        _ if ended_line => ("end of line".to_string(), 0),
        Some('\n' | '\r') => ("end of line".to_string(), 0),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let w: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let n = w.len();
            (format!("`{w}`"), n)
        }
        Some(c) => (format!("`{c}`"), c.len_utf8()),
    };
    let mut expected: Vec<&str> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for r in positives {
            for d in describe(*r) {
                if !expected.contains(d) {
                    expected.push(d);
                }
            }
        }
    }
    let label = if expected.is_empty() {
        "unexpected here".to_string()
    } else {
        format!("expected {}", join_or(&expected))
    };
    Diagnostic::error(
        "syntax",
        Span::new(file, pos, pos + len),
        format!("syntax error: unexpected {found}"),
    )
    .label(label)
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------- building the tree

struct Cx {
    file: FileId,
    defines: Defines,
    diags: Vec<Diagnostic>,
}

/// A value after `-D` substitution of a word.
enum Defined {
    Int(i64),
    Str(String),
    Word(String),
}

/// C's `strtol(s, &end, 0)` accepting only a whole string: decimal, `0x` hex or `0` octal.
pub(crate) fn strtol_whole(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        body.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

impl Cx {
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn line(&self, p: &Pair<'_, Rule>) -> u32 {
        p.as_span().start_pos().line_col().0 as u32
    }

    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error("semantic", span, msg));
    }

    fn define(&self, word: &str) -> Option<Defined> {
        let v = self.defines.get(word)?;
        Some(
            if let Some(s) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Defined::Str(s.to_string())
            } else if let Some(i) = strtol_whole(v) {
                Defined::Int(i)
            } else {
                Defined::Word(v.clone())
            },
        )
    }

    fn option(&mut self, p: Pair<'_, Rule>) -> ScriptOption {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let name = inner.next().expect("option name").as_str().to_string();
        let value = inner.next().map(|v| {
            let s = v.as_str();
            s.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(s)
                .to_string()
        });
        ScriptOption { name, value, span }
    }

    fn command(&mut self, p: Pair<'_, Rule>) -> Command {
        let s = p.as_str();
        Command {
            text: s[1..s.len() - 1].to_string(),
            span: self.span(&p),
            line: self.line(&p),
        }
    }

    /// An integer token, range-checked to `0..=max` (packetdrill's `is_valid_uN`).
    fn uint(&mut self, p: &Pair<'_, Rule>, max: u64, what: &str) -> u64 {
        match self.int(p) {
            Some(v) if v >= 0 && v as u64 <= max => v as u64,
            Some(_) => {
                let span = self.span(p);
                self.err(span, format!("{what} out of range"));
                0
            }
            None => 0,
        }
    }

    fn int(&mut self, p: &Pair<'_, Rule>) -> Option<i64> {
        let s = p.as_str();
        let v = match s.strip_prefix("0x") {
            Some(h) => i64::from_str_radix(h, 16).ok(),
            None => s.parse::<i64>().ok(),
        };
        if v.is_none() {
            let span = self.span(p);
            self.err(span, format!("integer `{s}` out of range"));
        }
        v
    }

    /// Seconds as written → microseconds, as packetdrill computes them: `(s64)(atof(s) *
    /// 1.0e6)` for a float, `n * 1000000` for an integer.
    fn time(&mut self, p: &Pair<'_, Rule>) -> Usecs {
        let s = p.as_str();
        let us = if s.contains('.') {
            let f: f64 = s.parse().unwrap_or(0.0);
            (f * 1.0e6) as i64
        } else {
            s.parse::<i64>()
                .map_or(i64::MAX, |n| n.saturating_mul(1_000_000))
        };
        if us < 0 {
            let span = self.span(p);
            self.err(span, "negative time");
        }
        us
    }

    fn event(&mut self, p: Pair<'_, Rule>) -> Option<Event> {
        let span = self.span(&p);
        let line = self.line(&p);
        let mut inner = p.into_inner();
        let tp = inner.next().expect("event time");
        let time = match tp.as_rule() {
            Rule::any_time => EventTime::Any,
            Rule::abs_time => {
                let t = tp.into_inner().next().expect("time");
                EventTime::Absolute(self.time(&t))
            }
            Rule::rel_time => {
                let t = tp.into_inner().next().expect("time");
                EventTime::Relative(self.time(&t))
            }
            Rule::abs_range | Rule::rel_range => {
                let relative = tp.as_rule() == Rule::rel_range;
                let tspan = self.span(&tp);
                let mut ts = tp.into_inner();
                let a = ts.next().expect("range start");
                let b = ts.next().expect("range end");
                let (a, b) = (self.time(&a), self.time(&b));
                if b < a {
                    self.err(tspan, "time range is backwards");
                }
                if relative {
                    EventTime::RelativeRange(a, b)
                } else {
                    EventTime::AbsoluteRange(a, b)
                }
            }
            r => unreachable!("event time {r:?}"),
        };
        let ap = inner.next().expect("action");
        let action = match ap.as_rule() {
            Rule::packet => Action::Packet(self.packet(ap)?),
            Rule::syscall => Action::Syscall(self.syscall(ap)),
            Rule::command => Action::Command(self.command(ap)),
            Rule::code => Action::Code(self.code(ap)),
            r => unreachable!("action {r:?}"),
        };
        let outbound = matches!(&action, Action::Packet(p) if p.direction == Direction::Outbound);
        match time {
            EventTime::Any if !outbound => {
                self.err(
                    span,
                    "event time <star> can only be used with outbound packets",
                );
            }
            EventTime::AbsoluteRange(..) | EventTime::RelativeRange(..) if !outbound => {
                self.err(
                    span,
                    "event time range can only be used with outbound packets",
                );
            }
            _ => {}
        }
        Some(Event {
            line,
            span,
            time,
            action,
        })
    }

    fn code(&mut self, p: Pair<'_, Rule>) -> Code {
        let s = p.as_str();
        let start = p.as_span().start();
        let body = &s[2..s.len() - 2];
        let lead = body.len() - body.trim_start_matches([' ', '\t']).len();
        let text = body.trim_matches([' ', '\t']);
        Code {
            text: text.to_string(),
            text_span: Span::new(self.file, start + 2 + lead, start + 2 + lead + text.len()),
        }
    }

    // ------------------------------------------------------------ packets

    fn packet(&mut self, p: Pair<'_, Rule>) -> Option<PacketSpec> {
        let mut direction = Direction::Inbound;
        let mut encap = Vec::new();
        let mut ip = IpInfo::default();
        let mut ip_span = None;
        let mut body = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::direction => {
                    direction = if q.as_str() == "<" {
                        Direction::Inbound
                    } else {
                        Direction::Outbound
                    };
                }
                Rule::encap => encap.push(self.encap(q)),
                Rule::ip_info => {
                    ip_span = Some(self.span(&q));
                    ip = self.ip_info(q);
                }
                Rule::tcp_packet => body = Some(PacketBody::Tcp(self.tcp(q, direction)?)),
                Rule::udp_packet => {
                    if matches!(ip.tos, TosSpec::Ecn(_)) {
                        let span = self.span(&q);
                        self.err(span, "ECN can only be used with TCP packets");
                    }
                    let mut ports = None;
                    let mut len = 0;
                    for r in q.into_inner() {
                        match r.as_rule() {
                            Rule::ports => ports = Some(self.ports(r)),
                            Rule::int => len = self.uint(&r, 0xffff, "UDP payload size") as u16,
                            _ => {}
                        }
                    }
                    body = Some(PacketBody::Udp { ports, len });
                }
                Rule::icmp_packet => body = Some(PacketBody::Icmp(self.icmp(q))),
                r => unreachable!("packet part {r:?}"),
            }
        }
        if ip.tos == TosSpec::Ect01 && direction == Direction::Inbound {
            let span = ip_span.unwrap_or(Span::new(self.file, 0, 0));
            self.err(span, "[ect01] can only be used with outbound packets");
        }
        Some(PacketSpec {
            direction,
            encap,
            ip,
            body: body?,
        })
    }

    fn encap(&mut self, p: Pair<'_, Rule>) -> Encap {
        let span = self.span(&p);
        let mut version = 4;
        let mut ip = IpInfo::default();
        let mut addrs = Vec::new();
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::kw_ipv4 => version = 4,
                Rule::kw_ipv6 => version = 6,
                Rule::ip_info => ip = self.ip_info(q),
                Rule::ipv4_addr | Rule::ipv6_addr => addrs.push(q.as_str().to_string()),
                _ => {}
            }
        }
        let mut addrs = addrs.into_iter();
        Encap {
            version,
            ip,
            src: addrs.next().unwrap_or_default(),
            dst: addrs.next().unwrap_or_default(),
            span,
        }
    }

    fn ip_info(&mut self, p: Pair<'_, Rule>) -> IpInfo {
        let mut info = IpInfo::default();
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::tos_spec => {
                    let mut inner = q.into_inner();
                    let first = inner.next().expect("tos spec");
                    info.tos = match first.as_rule() {
                        Rule::ip_ecn => match first.as_str() {
                            "noecn" => TosSpec::Ecn(0),
                            "ect1" => TosSpec::Ecn(1),
                            "ect0" => TosSpec::Ecn(2),
                            "ce" => TosSpec::Ecn(3),
                            _ => TosSpec::Ect01,
                        },
                        _ => {
                            let v = inner.next().expect("tos value");
                            TosSpec::Tos(self.uint(&v, 0xff, "tos") as u8)
                        }
                    };
                }
                Rule::flow_label => {
                    let v = q.into_inner().nth(1).expect("flow label value");
                    info.flow_label = self.uint(&v, 0xfffff, "flowlabel") as u32;
                }
                Rule::ttl_spec => {
                    let v = q.into_inner().nth(1).expect("ttl value");
                    info.ttl = self.uint(&v, 0xff, "ttl") as u8;
                }
                r => unreachable!("ip info {r:?}"),
            }
        }
        info
    }

    fn ports(&mut self, p: Pair<'_, Rule>) -> (u16, u16) {
        let mut it = p.into_inner();
        let a = it.next().expect("src port");
        let b = it.next().expect("dst port");
        (
            self.uint(&a, 0xffff, "src port") as u16,
            self.uint(&b, 0xffff, "dst port") as u16,
        )
    }

    /// `start:end(len)` → (start, len), checking `end == start + len`.
    fn seq(&mut self, p: Pair<'_, Rule>) -> (u32, u16) {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let (a, b, c) = (
            it.next().expect("start"),
            it.next().expect("end"),
            it.next().expect("len"),
        );
        let start = self.uint(&a, u64::from(u32::MAX), "TCP start sequence number");
        let end = self.uint(&b, u64::from(u32::MAX), "TCP end sequence number");
        let len = self.uint(&c, 0xffff, "TCP payload size");
        if end != start + len {
            self.err(span, "inconsistent TCP sequence numbers and payload size");
        }
        (start as u32, len as u16)
    }

    fn tcp(&mut self, p: Pair<'_, Rule>, direction: Direction) -> Option<TcpSpec> {
        let mut spec = TcpSpec {
            ports: None,
            flags: String::new(),
            flags_span: Span::new(self.file, 0, 0),
            seq: 0,
            len: 0,
            ack: 0,
            win: None,
            urg: 0,
            options: Some(Vec::new()),
            options_span: None,
        };
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::ports => spec.ports = Some(self.ports(q)),
                Rule::flags => {
                    spec.flags_span = self.span(&q);
                    spec.flags = if q.as_str() == "-" {
                        String::new()
                    } else {
                        q.as_str().to_string()
                    };
                    if let Err(e) = crate::packet::check_flags(&spec.flags) {
                        self.err(spec.flags_span, e);
                    }
                }
                Rule::seq => (spec.seq, spec.len) = self.seq(q),
                Rule::ack => {
                    let v = q.into_inner().nth(1).expect("ack value");
                    spec.ack = self.uint(&v, u64::from(u32::MAX), "TCP ack sequence number") as u32;
                }
                Rule::win => {
                    let v = q.into_inner().nth(1).expect("win value");
                    spec.win = Some(self.uint(&v, 0xffff, "TCP window value") as u16);
                }
                Rule::urg => {
                    let v = q.into_inner().nth(1).expect("urg value");
                    spec.urg = self.uint(&v, 0xffff, "urg_ptr value") as u16;
                }
                Rule::tcp_options => {
                    let span = self.span(&q);
                    spec.options_span = Some(span);
                    spec.options = self.tcp_options(q);
                    if spec.options.is_none() && direction == Direction::Inbound {
                        self.err(
                            span,
                            "<...> for TCP options can only be used with outbound packets",
                        );
                    }
                }
                r => unreachable!("tcp part {r:?}"),
            }
        }
        if spec.win.is_none() && direction == Direction::Inbound {
            let span = spec.flags_span;
            self.err(span, "window must be specified for inbound packets");
        }
        if let Some(opts) = &spec.options {
            let bytes: usize = opts.iter().map(crate::packet::option_len).sum();
            let span = spec.options_span.unwrap_or(spec.flags_span);
            if bytes > 40 {
                self.err(span, "TCP option list too long");
            } else if bytes % 4 != 0 {
                self.err(
                    span,
                    format!(
                        "TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: {} excess bytes",
                        bytes % 4
                    ),
                );
            }
        }
        Some(spec)
    }

    fn tcp_options(&mut self, p: Pair<'_, Rule>) -> Option<Vec<TcpOptionSpec>> {
        let mut out = Vec::new();
        for q in p.into_inner() {
            let span = self.span(&q);
            let o = match q.as_rule() {
                Rule::ellipsis => return None,
                Rule::rangle => continue,
                Rule::opt_nop => TcpOptionSpec::Nop,
                Rule::opt_eol => TcpOptionSpec::Eol,
                Rule::opt_mss => {
                    let v = q.into_inner().nth(1).expect("mss value");
                    TcpOptionSpec::Mss(self.uint(&v, 0xffff, "mss value") as u16)
                }
                Rule::opt_wscale => {
                    let v = q.into_inner().nth(1).expect("wscale value");
                    TcpOptionSpec::WindowScale(self.uint(&v, 0xff, "window scale shift count") as u8)
                }
                Rule::opt_sackok => TcpOptionSpec::SackPermitted,
                Rule::opt_sack => {
                    let mut blocks = Vec::new();
                    for b in q.into_inner().skip(1) {
                        let mut it = b.into_inner();
                        let (l, r) = (it.next().expect("left"), it.next().expect("right"));
                        let l = self.uint(&l, u64::from(u32::MAX), "TCP SACK left sequence number");
                        let r =
                            self.uint(&r, u64::from(u32::MAX), "TCP SACK right sequence number");
                        blocks.push((l as u32, r as u32));
                    }
                    if blocks.len() > 4 {
                        self.err(span, "TCP option list too long");
                    }
                    TcpOptionSpec::Sack(blocks)
                }
                Rule::opt_md5 => {
                    let blob = q.into_inner().nth(1).expect("md5 digest");
                    let text = self.blob(&blob);
                    if text.len() / 2 > 16 {
                        self.err(span, "TCP MD5 digest longer than 16 bytes");
                    }
                    match parse_hex(&text, 16) {
                        Some(b) => TcpOptionSpec::Md5(b),
                        None => {
                            self.err(span, "TCP MD5 digest is not a valid hex string");
                            TcpOptionSpec::Md5(Vec::new())
                        }
                    }
                }
                Rule::opt_ts => {
                    let mut it = q.into_inner();
                    let v = it.nth(2).expect("TS val");
                    let e = it.nth(1).expect("TS ecr");
                    TcpOptionSpec::Timestamp {
                        val: self.uint(&v, u64::from(u32::MAX), "ts val") as u32,
                        ecr: self.uint(&e, u64::from(u32::MAX), "ecr val") as u32,
                    }
                }
                Rule::opt_fo | Rule::opt_foexp => {
                    let exp = q.as_rule() == Rule::opt_foexp;
                    let cookie = q
                        .into_inner()
                        .nth(1)
                        .map(|b| self.blob(&b))
                        .unwrap_or_default();
                    // 40 option bytes less the kind, length (and magic) bytes.
                    let max = if exp { 36 } else { 38 };
                    let bytes = self.cookie(&cookie, max, span);
                    if exp {
                        TcpOptionSpec::FastOpenExp(bytes)
                    } else {
                        TcpOptionSpec::FastOpen(bytes)
                    }
                }
                Rule::opt_accecn => {
                    let mut fields = Vec::new();
                    for f in q.into_inner().skip(1) {
                        let mut it = f.into_inner();
                        let name = it.next().expect("field name");
                        let v = it.next().expect("field value");
                        let field = match name.as_str() {
                            "e0b" => AccEcnField::E0b,
                            "e1b" => AccEcnField::E1b,
                            _ => AccEcnField::Ceb,
                        };
                        fields.push((
                            field,
                            self.uint(&v, 0xff_ffff, "TCP AccECN field value") as u32,
                        ));
                    }
                    if !crate::packet::accecn_order_valid(&fields) {
                        self.err(
                            span,
                            "AccECN fields must be `e0b [ceb [e1b]]` or `e1b [ceb [e0b]]`",
                        );
                    }
                    TcpOptionSpec::AccEcn(fields)
                }
                r => unreachable!("tcp option {r:?}"),
            };
            out.push(o);
        }
        Some(out)
    }

    /// A hex blob after `-D` substitution.
    fn blob(&self, p: &Pair<'_, Rule>) -> String {
        match self.define(p.as_str()) {
            Some(Defined::Int(_)) => self.defines[p.as_str()].clone(),
            Some(Defined::Str(s) | Defined::Word(s)) => s,
            None => p.as_str().to_string(),
        }
    }

    fn cookie(&mut self, text: &str, max: usize, span: Span) -> Vec<u8> {
        if text.len() % 2 == 1 {
            self.err(span, "TCP fast open cookie has an odd number of digits");
            return Vec::new();
        }
        if text.len() / 2 > max {
            self.err(
                span,
                format!(
                    "TCP fast open cookie of {} bytes exceeds maximum cookie length of {max} bytes",
                    text.len() / 2
                ),
            );
            return Vec::new();
        }
        parse_hex(text, max).unwrap_or_else(|| {
            self.err(
                span,
                format!("TCP fast open cookie '{text}' is not a valid hex string"),
            );
            Vec::new()
        })
    }

    fn icmp(&mut self, p: Pair<'_, Rule>) -> IcmpSpec {
        let mut spec = IcmpSpec {
            type_name: String::new(),
            code_name: None,
            mtu: None,
            id: None,
            echoed: None,
        };
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::kw_icmp => {}
                Rule::word if spec.type_name.is_empty() => spec.type_name = q.as_str().to_string(),
                Rule::word => spec.code_name = Some(q.as_str().to_string()),
                Rule::icmp_mtu => {
                    let v = q.into_inner().nth(1).expect("mtu");
                    spec.mtu = Some(self.uint(&v, 0xffff, "ICMP MTU") as u16);
                }
                Rule::icmp_id => {
                    let v = q.into_inner().nth(1).expect("id");
                    spec.id = Some(self.uint(&v, 0xffff, "ICMP echo id") as u16);
                }
                Rule::icmp_echoed => {
                    let e = q.into_inner().next().expect("echoed");
                    spec.echoed = Some(match e.as_rule() {
                        Rule::seq => {
                            let (seq, len) = self.seq(e);
                            Echoed::Tcp { seq, len }
                        }
                        Rule::echoed_udp | Rule::echoed_raw => {
                            let udp = e.as_rule() == Rule::echoed_udp;
                            let v = e.into_inner().nth(1).expect("len");
                            let n = self.uint(&v, 0xffff, "payload size") as u16;
                            if udp { Echoed::Udp(n) } else { Echoed::Raw(n) }
                        }
                        r => unreachable!("echoed {r:?}"),
                    });
                }
                r => unreachable!("icmp part {r:?}"),
            }
        }
        spec
    }

    // ------------------------------------------------------------ system calls

    fn syscall(&mut self, p: Pair<'_, Rule>) -> SyscallSpec {
        let mut spec = SyscallSpec {
            end_time: None,
            name: String::new(),
            name_span: Span::new(self.file, 0, 0),
            args: Vec::new(),
            result: Expr {
                kind: ExprKind::Ellipsis,
                span: Span::new(self.file, 0, 0),
            },
            errno: None,
            note: None,
        };
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::end_time => {
                    let t = q.into_inner().nth(1).expect("end time");
                    spec.end_time = Some(self.time(&t));
                }
                Rule::syscall_name => {
                    spec.name_span = self.span(&q);
                    spec.name = q.as_str().to_string();
                }
                Rule::args => spec.args = self.args(q),
                Rule::expr => spec.result = self.expr(q),
                Rule::lparen | Rule::rparen | Rule::equals => {}
                Rule::errno => {
                    let mut it = q.into_inner();
                    let w = it.next().expect("errno word");
                    let name = match self.define(w.as_str()) {
                        Some(Defined::Word(v)) => v,
                        _ => w.as_str().to_string(),
                    };
                    spec.errno = Some((name, self.span(&w)));
                    let note = it.next().expect("errno note");
                    spec.note = Some(
                        note.into_inner()
                            .next()
                            .map_or(String::new(), |t| t.as_str().to_string()),
                    );
                }
                Rule::note => {
                    spec.note = Some(
                        q.into_inner()
                            .next()
                            .map_or(String::new(), |t| t.as_str().to_string()),
                    );
                }
                r => unreachable!("syscall part {r:?}"),
            }
        }
        spec
    }

    fn args(&mut self, p: Pair<'_, Rule>) -> Vec<Expr> {
        p.into_inner().map(|q| self.expr(q)).collect()
    }

    fn expr(&mut self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        let mut atoms: Vec<Expr> = p.into_inner().map(|q| self.atom(q)).collect();
        if atoms.len() == 1 {
            atoms.pop().expect("one atom")
        } else {
            Expr {
                kind: ExprKind::Or(atoms),
                span,
            }
        }
    }

    fn atom(&mut self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::ellipsis => ExprKind::Ellipsis,
            Rule::int => ExprKind::Int {
                value: self.int(&p).unwrap_or(0),
                hex: p.as_str().starts_with("0x"),
            },
            Rule::word => match self.define(p.as_str()) {
                Some(Defined::Int(value)) => ExprKind::Int { value, hex: false },
                Some(Defined::Str(raw)) => ExprKind::Str { raw, more: false },
                Some(Defined::Word(w)) => ExprKind::Word(w),
                None => ExprKind::Word(p.as_str().to_string()),
            },
            Rule::strings => {
                let mut raw = String::new();
                let mut more = false;
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::string => {
                            let s = q.as_str();
                            raw.push_str(&s[1..s.len() - 1]);
                        }
                        _ => more = true,
                    }
                }
                ExprKind::Str { raw, more }
            }
            Rule::field => {
                let mut it = p.into_inner();
                let name = it.next().expect("field name").as_str().to_string();
                let mut params = None;
                let mut value = None;
                for q in it {
                    match q.as_rule() {
                        Rule::args => params = Some(self.args(q)),
                        Rule::expr => value = Some(self.expr(q)),
                        r => unreachable!("field part {r:?}"),
                    }
                }
                // `name()` with no arguments still records that parentheses were written.
                ExprKind::Field {
                    name,
                    params,
                    value: Box::new(value.expect("field value")),
                }
            }
            Rule::call => {
                let mut it = p.into_inner();
                let name = it.next().expect("call name").as_str().to_string();
                let args = it.next().map(|a| self.args(a)).unwrap_or_default();
                ExprKind::Call { name, args }
            }
            Rule::list => ExprKind::List(
                p.into_inner()
                    .next()
                    .map(|a| self.args(a))
                    .unwrap_or_default(),
            ),
            Rule::structure => ExprKind::Struct(
                p.into_inner()
                    .next()
                    .map(|a| self.args(a))
                    .unwrap_or_default(),
            ),
            r => unreachable!("expression atom {r:?}"),
        };
        Expr { kind, span }
    }
}

/// Hex digits → bytes (at most `max`), `None` if a character is not a hex digit.
fn parse_hex(text: &str, max: usize) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks(2) {
        if out.len() >= max || pair.len() < 2 {
            return None;
        }
        let s = std::str::from_utf8(pair).ok()?;
        out.push(u8::from_str_radix(s, 16).ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_dsl::diag::SourceMap;

    fn parse_ok(text: &str) -> Script {
        let mut sm = SourceMap::new();
        let f = sm.add("t.pkt".into(), text.to_string());
        let mut defines = Defines::new();
        defines.insert("COOKIE".into(), "abcd".into());
        defines.insert("NUM".into(), "0x10".into());
        parse(f, text, &defines)
            .unwrap_or_else(|d| panic!("{}", d.iter().map(|d| d.render(&sm)).collect::<String>()))
    }

    fn parse_err(text: &str) -> String {
        let mut sm = SourceMap::new();
        let f = sm.add("t.pkt".into(), text.to_string());
        match parse(f, text, &Defines::new()) {
            Ok(_) => panic!("parses: {text}"),
            Err(d) => d.iter().map(|d| d.render(&sm)).collect(),
        }
    }

    fn tcp(e: &Event) -> &TcpSpec {
        match &e.action {
            Action::Packet(PacketSpec {
                body: PacketBody::Tcp(t),
                ..
            }) => t,
            a => panic!("not a TCP packet: {a:?}"),
        }
    }

    #[test]
    fn times() {
        let s = parse_ok(
            "0 close(3) = 0\n+.1 close(3) = 0\n1.5 close(3) = 0\n* > . 1:1(0) ack 1\n\
             +.3~+.310 > . 1:1(0) ack 1\n1~1.2 > . 1:1(0) ack 1\n+0...0.3 read(3, ..., 1) = 1\n\
             +.1...0.200 read(3, ..., 1) = 1\n+.002 ... 0.004 connect(4, ..., ...) = 0",
        );
        let times: Vec<EventTime> = s.events.iter().map(|e| e.time).collect();
        assert_eq!(
            times,
            [
                EventTime::Absolute(0),
                EventTime::Relative(100_000),
                EventTime::Absolute(1_500_000),
                EventTime::Any,
                EventTime::RelativeRange(300_000, 310_000),
                EventTime::AbsoluteRange(1_000_000, 1_200_000),
                EventTime::Relative(0),
                EventTime::Relative(100_000),
                EventTime::Relative(2000),
            ]
        );
        let ends: Vec<Option<Usecs>> = s.events[6..]
            .iter()
            .map(|e| match &e.action {
                Action::Syscall(s) => s.end_time,
                _ => None,
            })
            .collect();
        assert_eq!(ends, [Some(300_000), Some(200_000), Some(4000)]);
        // packetdrill's float conversion: (s64)(1.001 * 1e6) truncates to 1000999.
        assert_eq!(
            parse_ok("1.001 close(3) = 0").events[0].time,
            EventTime::Absolute(1_000_999)
        );
        assert_eq!(s.events[4].line, 5);
    }

    #[test]
    fn tcp_packets() {
        let s = parse_ok(
            "0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n\
             +0 > S. 0:0(0) ack 1 <...>\n\
             +0 > [ect0] P. 1:1001(1000) ack 1\n\
             +0 < - 1:1001(1000) win 20000\n\
             +0 < U. 1:101(100) ack 1 win 257 urg 100\n\
             +0 > (tos 0x4, flowlabel 0x12) SEW 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>\n\
             +0 > (ttl 3) F. 1:1(0) ack 1 <nop,nop,sack 1001:2001 3001:4001,eol,eol,eol,eol>\n\
             +0 < 1234>8080 S 0:0(0) win 10 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>\n\
             +0 < S 0:0(0) win 10 <FO COOKIE,FOEXP,nop,nop,nop,nop>\n\
             +0 > S.5 0:0(0) <ECN e1b 1 ceb 2 e0b 3,nop>",
        );
        let t = tcp(&s.events[0]);
        assert_eq!(
            (t.flags.as_str(), t.seq, t.len, t.win),
            ("S", 0, 0, Some(32792))
        );
        assert_eq!(
            t.options.as_deref(),
            Some(
                &[
                    TcpOptionSpec::Mss(1000),
                    TcpOptionSpec::SackPermitted,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::WindowScale(7)
                ][..]
            )
        );
        let t = tcp(&s.events[1]);
        assert_eq!((t.ack, t.win, t.options.is_none()), (1, None, true));
        let Action::Packet(p) = &s.events[2].action else {
            panic!()
        };
        assert_eq!(
            (p.direction, p.ip.tos),
            (Direction::Outbound, TosSpec::Ecn(2))
        );
        assert_eq!(tcp(&s.events[3]).flags, "");
        assert_eq!(tcp(&s.events[4]).urg, 100);
        let Action::Packet(p) = &s.events[5].action else {
            panic!()
        };
        assert_eq!((p.ip.tos, p.ip.flow_label), (TosSpec::Tos(4), 0x12));
        let Action::Packet(p) = &s.events[6].action else {
            panic!()
        };
        assert_eq!(p.ip.ttl, 3);
        assert_eq!(
            tcp(&s.events[6]).options.as_ref().unwrap()[2],
            TcpOptionSpec::Sack(vec![(1001, 2001), (3001, 4001)])
        );
        assert_eq!(tcp(&s.events[7]).ports, Some((1234, 8080)));
        assert_eq!(
            tcp(&s.events[7]).options.as_ref().unwrap()[0],
            TcpOptionSpec::Md5((0..16).collect())
        );
        assert_eq!(
            tcp(&s.events[8]).options.as_ref().unwrap()[..2],
            [
                TcpOptionSpec::FastOpen(vec![0xab, 0xcd]),
                TcpOptionSpec::FastOpenExp(vec![])
            ]
        );
        assert_eq!(
            tcp(&s.events[9]).options.as_ref().unwrap()[0],
            TcpOptionSpec::AccEcn(vec![
                (AccEcnField::E1b, 1),
                (AccEcnField::Ceb, 2),
                (AccEcnField::E0b, 3)
            ])
        );
    }

    #[test]
    fn udp_icmp_and_encapsulation() {
        let s = parse_ok(
            "0 < udp (100)\n+0 > udp 53>1234 (10)\n\
             +0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]\n\
             +0 < icmp echo_reply id 7\n\
             +0 < ipv4 192.0.2.2 > 192.168.0.1: S 0:0(0) win 10",
        );
        assert!(matches!(
            s.events[1].action,
            Action::Packet(PacketSpec {
                body: PacketBody::Udp {
                    ports: Some((53, 1234)),
                    len: 10
                },
                ..
            })
        ));
        let Action::Packet(PacketSpec {
            body: PacketBody::Icmp(i),
            ..
        }) = &s.events[2].action
        else {
            panic!()
        };
        assert_eq!(i.type_name, "unreachable");
        assert_eq!(i.code_name.as_deref(), Some("frag_needed"));
        assert_eq!(i.mtu, Some(1200));
        assert_eq!(i.echoed, Some(Echoed::Tcp { seq: 1, len: 1460 }));
        let Action::Packet(PacketSpec {
            body: PacketBody::Icmp(i),
            ..
        }) = &s.events[3].action
        else {
            panic!()
        };
        assert_eq!((i.code_name.as_deref(), i.id), (None, Some(7)));
        let Action::Packet(p) = &s.events[4].action else {
            panic!()
        };
        assert_eq!(
            (p.encap[0].src.as_str(), p.encap[0].dst.as_str()),
            ("192.0.2.2", "192.168.0.1")
        );
    }

    #[test]
    fn system_calls_and_expressions() {
        let s = parse_ok(
            "0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)\n\
             +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
             +0 setsockopt(3, SOL_SOCKET, SO_TIMESTAMPING, [SOF_A | SOF_B|SOF_C], 4) = 0\n\
             +0 open(\"/tmp/x\" \"y\", O_RDONLY) = 5\n\
             +0 listen(3, NUM) = 0\n\
             +0 recvmsg(3, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0, \
                msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=9000}]}, 0) = 1000\n\
             +0 bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"1.2.3.4\")}, 16) = 0\n\
             +0 sendto(4, NULL, 1, MSG_FASTOPEN, ..., ...) = -1",
        );
        let sys = |i: usize| match &s.events[i].action {
            Action::Syscall(c) => c.clone(),
            _ => panic!(),
        };
        let c = sys(0);
        assert_eq!(
            (
                c.name.as_str(),
                c.result.as_int(),
                c.errno.is_none(),
                c.note.as_deref()
            ),
            ("fcntl", Some(2), true, Some("flags O_RDWR"))
        );
        let c = sys(1);
        assert_eq!(c.result.as_int(), Some(-1));
        assert_eq!(c.errno.as_ref().map(|e| e.0.as_str()), Some("EINPROGRESS"));
        assert_eq!(c.note.as_deref(), Some("Operation now in progress"));
        let ExprKind::List(items) = &sys(2).args[3].kind else {
            panic!()
        };
        assert!(matches!(&items[0].kind, ExprKind::Or(v) if v.len() == 3));
        assert_eq!(
            sys(3).args[0].kind,
            ExprKind::Str {
                raw: "/tmp/xy".into(),
                more: false
            }
        );
        assert_eq!(
            sys(4).args[1].as_int(),
            Some(16),
            "-D NUM=0x10 is an integer"
        );
        let ExprKind::Struct(fields) = &sys(5).args[1].kind else {
            panic!()
        };
        assert!(
            matches!(&fields[1].kind, ExprKind::Field { name, params: Some(p), .. } if name == "msg_iov" && p[0].as_int() == Some(1))
        );
        let ExprKind::Struct(fields) = &sys(6).args[1].kind else {
            panic!()
        };
        assert!(
            matches!(&fields[1].kind, ExprKind::Field { value, .. } if matches!(&value.kind, ExprKind::Call { name, .. } if name == "htons"))
        );
        assert_eq!(sys(7).errno, None);
    }

    #[test]
    fn options_commands_code_and_comments() {
        let s = parse_ok(
            "// header\n--tolerance_usecs=10000\n--send_omit_free\t// comment\n\
             `./defaults.sh\nsysctl -q net.ipv4.tcp_ecn=1  # on\n`\n\
             /* a\n block */ 0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             +0 %{\nassert tcpi_snd_cwnd == 10, tcpi_snd_cwnd\n}%\n\
             +0 `tc qdisc add dev tun0 root pfifo limit 0`\n\
             `/tmp/sysctl_restore_${PPID}.sh`\n",
        );
        assert_eq!(s.options.len(), 2);
        assert_eq!(
            (s.options[0].name.as_str(), s.options[0].value.as_deref()),
            ("tolerance_usecs", Some("10000"))
        );
        assert_eq!(s.options[1].value, None);
        assert_eq!(
            s.init_command.as_ref().unwrap().text,
            "./defaults.sh\nsysctl -q net.ipv4.tcp_ecn=1  # on\n"
        );
        assert_eq!(
            s.cleanup_command.as_ref().unwrap().text,
            "/tmp/sysctl_restore_${PPID}.sh"
        );
        assert_eq!(s.events.len(), 3);
        assert_eq!(s.events[0].line, 8);
        let Action::Code(c) = &s.events[1].action else {
            panic!()
        };
        assert_eq!(c.text, "\nassert tcpi_snd_cwnd == 10, tcpi_snd_cwnd\n");
        assert!(matches!(&s.events[2].action, Action::Command(c) if c.line == 12));
    }

    #[test]
    fn syntax_errors_point_at_the_text() {
        let e = parse_err(
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale>\n",
        );
        assert!(
            e.starts_with("t.pkt:2:57: error: syntax error: unexpected `>`\n"),
            "{e}"
        );
        assert!(e.contains("expected an integer"), "{e}");
        let e = parse_err("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0 > S 0:0 <mss 1460>\n");
        assert!(
            e.starts_with("t.pkt:2:8: error: syntax error: unexpected `0`"),
            "{e}"
        );
        assert!(
            e.contains("expected a sequence range (`1:1001(1000)`)"),
            "{e}"
        );
        let e = parse_err("socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n");
        assert!(
            e.starts_with("t.pkt:1:1: error: syntax error: unexpected `socket`"),
            "{e}"
        );
        assert!(e.contains("an event time"), "{e}");
        // A line that ends early is reported at its end, not at the next line.
        let e = parse_err("0 close(3)\n\n+0 close(4) = 0\n");
        assert!(
            e.starts_with("t.pkt:1:11: error: syntax error: unexpected end of line"),
            "{e}"
        );
        assert!(e.contains("expected `=` and the expected result"), "{e}");
        let e = parse_err("0 close(3) =");
        assert!(
            e.starts_with("t.pkt:1:13: error: syntax error: unexpected end of file"),
            "{e}"
        );
    }

    #[test]
    fn semantic_errors_in_packetdrill_words() {
        let cases = [
            (
                "0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,wscale 7>",
                "1:14: error: TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 3 excess bytes",
            ),
            (
                "0 > P. 1:1001(999) ack 1",
                "1:8: error: inconsistent TCP sequence numbers and payload size",
            ),
            (
                "0 < S 0:0(0) <mss 1460>",
                "window must be specified for inbound packets",
            ),
            (
                "0 < S 0:0(0) win 1 <...>",
                "<...> for TCP options can only be used with outbound packets",
            ),
            (
                "* close(3) = 0",
                "event time <star> can only be used with outbound packets",
            ),
            (
                "+.1~+.2 < . 1:1(0) ack 1 win 1",
                "event time range can only be used with outbound packets",
            ),
            ("1~0.5 > . 1:1(0) ack 1", "time range is backwards"),
            ("0 > SX 0:0(0)", "Invalid TCP flag: 'X'"),
            (
                "0 > . 1:1(0) ack 1 win 70000",
                "TCP window value out of range",
            ),
            (
                "0 < [ect01] . 1:1(0) ack 1 win 1",
                "[ect01] can only be used with outbound packets",
            ),
            (
                "0 > S 0:0(0) <FO abc>",
                "TCP fast open cookie has an odd number of digits",
            ),
            (
                "0 > S 0:0(0) <md5 zz,nop,nop>",
                "TCP MD5 digest is not a valid hex string",
            ),
        ];
        for (text, want) in cases {
            let e = parse_err(text);
            assert!(e.contains(want), "{text}\n{e}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("0 close({}) = 0", "[".repeat(100_000));
        let e = parse_err(&text);
        assert!(e.contains("brackets nested more than 32 deep"), "{e}");
        // Brackets inside strings, comments, commands and code do not count.
        parse_ok(&format!(
            "// {}\n0 close(\"{}\") = 0\n+0 `{}`\n+0 %{{ {} }}%",
            "[".repeat(99),
            "(".repeat(99),
            "{".repeat(99),
            "#".repeat(9)
        ));
    }
}
