//! Elaboration: params, `--set` overrides, loops and `{expression}` splicing.
//!
//! Walks the statements in order with the params declared so far and the loop variables in
//! scope, and produces a flat [`Program`]: every node, link and app once per loop iteration,
//! every value as concrete text ([`Val`]) that still remembers its span (and, when it was a
//! lone `$param`, which param, so the lowering can report a type mismatch precisely).
//!
//! Expressions are integer arithmetic (`+ - * / %`, checked: overflow and division by zero
//! are errors) over `i64`, with IPv4 addresses as a second type: `ip + int` and `ip - int`
//! give an address, `ip - ip` an integer. So `{10.0.0.0 + i * 4 + 1}` numbers /30 subnets
//! past the 256 boundary without splitting octets by hand.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;

use sim_core::SimDuration;
use sim_stack::config::Ipv4Cidr;
use sim_stack::units::{Bytes, Rate};

use crate::ast::*;
use crate::diag::{Diagnostic, Diags, Span};
use crate::values;

/// Most loop iterations one file may expand to, in all (a guard against `0..10^12`).
pub const MAX_ITERATIONS: u64 = 5_000_000;

/// The type of a param, given by annotation (`param n: int = 4`) or read off its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `16`
    Int,
    /// `100Mbit`
    Rate,
    /// `1500B`, `4KiB`
    Size,
    /// `10ms`
    Duration,
    /// `10.0.0.1`
    Ip,
    /// `10.0.0.0/24`
    Cidr,
    /// `0.01`, `1%`, `100ppm` (a probability)
    Ratio,
    /// `"text"`
    String,
    /// A bare word: `fq_codel`, `reno`, `auto`.
    Word,
}

impl ParamType {
    /// Type names accepted in annotations.
    pub const NAMES: &'static [&'static str] = &[
        "int", "rate", "size", "duration", "ip", "cidr", "ratio", "string", "word",
    ];

    /// The type named `s` in an annotation.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "int" => Self::Int,
            "rate" => Self::Rate,
            "size" => Self::Size,
            "duration" => Self::Duration,
            "ip" => Self::Ip,
            "cidr" => Self::Cidr,
            "ratio" => Self::Ratio,
            "string" => Self::String,
            "word" => Self::Word,
            _ => return None,
        })
    }

    /// `an int`, `a rate such as `100Mbit``, … for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Int => "an integer",
            Self::Rate => "a rate such as `100Mbit`",
            Self::Size => "a size such as `1500B`",
            Self::Duration => "a duration such as `10ms`",
            Self::Ip => "an IPv4 address such as `10.0.0.1`",
            Self::Cidr => "an address with a prefix such as `10.0.0.0/24`",
            Self::Ratio => "a probability such as `0.01` or `1%`",
            Self::String => "a string",
            Self::Word => "a word",
        }
    }

    /// The annotation name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Rate => "rate",
            Self::Size => "size",
            Self::Duration => "duration",
            Self::Ip => "ip",
            Self::Cidr => "cidr",
            Self::Ratio => "ratio",
            Self::String => "string",
            Self::Word => "word",
        }
    }

    /// Whether a value of this param type can stand where `expected` is needed.
    /// Strings and words are text: whether they fit is decided by parsing them.
    pub fn fits(self, expected: Self) -> bool {
        self == expected || matches!(self, Self::String | Self::Word)
    }

    /// Checks `text` against the type and returns its canonical spelling.
    pub fn check(self, text: &str) -> Result<String, String> {
        match self {
            Self::Int => values::int(text).map(|v| v.to_string()),
            Self::Rate => text
                .parse::<Rate>()
                .map(|v| v.to_string())
                .map_err(|e| e.to_string()),
            Self::Size => text
                .parse::<Bytes>()
                .map(|v| v.to_string())
                .map_err(|e| e.to_string()),
            // No place takes a time beyond the longest a scenario may use.
            Self::Duration => {
                let d = text.parse::<SimDuration>().map_err(|e| e.to_string())?;
                sim_stack::validate::duration(d).map_err(|e| format!("`{text}` is {e}"))?;
                Ok(d.to_string())
            }
            Self::Ip => values::ip(text).map(|v| v.to_string()),
            Self::Cidr => text
                .parse::<Ipv4Cidr>()
                .map(|v| v.to_string())
                .map_err(|e| e.to_string()),
            Self::Ratio => values::ppm(text).map(|_| text.to_string()),
            Self::String => Ok(text.to_string()),
            Self::Word => {
                if !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_alphanumeric() || "_-.:/".contains(c))
                {
                    Ok(text.to_string())
                } else {
                    Err(format!("`{text}` is not a single word"))
                }
            }
        }
    }

    /// The type a default value looks like.
    fn infer(text: &str, quoted: bool) -> Option<Self> {
        if quoted {
            return Some(Self::String);
        }
        let t = text.trim();
        if values::int(t).is_ok() {
            return Some(Self::Int);
        }
        if values::ip(t).is_ok() {
            return Some(Self::Ip);
        }
        if t.parse::<Ipv4Cidr>().is_ok() {
            return Some(Self::Cidr);
        }
        if t.parse::<Rate>().is_ok() {
            return Some(Self::Rate);
        }
        if t.parse::<Bytes>().is_ok() {
            return Some(Self::Size);
        }
        if t.parse::<SimDuration>().is_ok() {
            return Some(Self::Duration);
        }
        if values::ppm(t).is_ok() {
            return Some(Self::Ratio);
        }
        if t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && Self::Word.check(t).is_ok()
        {
            return Some(Self::Word);
        }
        Self::shape(t)
    }

    /// The type a default is written as when its value is not one of the type (it is out of
    /// range, too large to represent, or too fine): digits are an int, four dotted numbers an
    /// address, a number with a rate, size or time unit that unit's type, a number with `%`
    /// or `ppm` a ratio. So `param rate = 99999999999999999999Gbit` is a rate whose value is
    /// an error at its definition, not a word that fails only where it is used.
    fn shape(t: &str) -> Option<Self> {
        use sim_core::TimeParseError;
        use sim_stack::units::UnitParseError;
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '_');
        let quad = |s: &str| {
            let parts: Vec<&str> = s.split('.').collect();
            parts.len() == 4 && parts.iter().all(|p| digits(p))
        };
        if digits(t.strip_prefix('-').unwrap_or(t)) {
            return Some(Self::Int);
        }
        if quad(t) {
            return Some(Self::Ip);
        }
        if let Some((a, len)) = t.split_once('/')
            && quad(a)
            && digits(len)
        {
            return Some(Self::Cidr);
        }
        let unit_known = |e: UnitParseError| {
            matches!(
                e,
                UnitParseError::TooPrecise { .. } | UnitParseError::Overflow(_)
            )
        };
        if t.parse::<Rate>().is_err_and(unit_known) {
            return Some(Self::Rate);
        }
        if t.parse::<Bytes>().is_err_and(unit_known) {
            return Some(Self::Size);
        }
        if t.parse::<SimDuration>().is_err_and(|e| {
            matches!(
                e,
                TimeParseError::TooPrecise(_) | TimeParseError::Overflow(_)
            )
        }) {
            return Some(Self::Duration);
        }
        let number = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '_')
        };
        if t.strip_suffix('%')
            .or_else(|| t.strip_suffix("ppm"))
            .is_some_and(number)
        {
            return Some(Self::Ratio);
        }
        None
    }
}

/// A declared param, as values made from it remember it.
#[derive(Debug)]
pub(crate) struct ParamInfo {
    pub name: String,
    pub ty: ParamType,
    pub decl: Span,
    pub value: String,
}

/// A value after splicing: concrete text, its span, and its origin.
#[derive(Debug, Clone)]
pub(crate) struct Val {
    pub text: String,
    pub span: Span,
    /// Set when the whole value was one `$param`.
    pub param: Option<Rc<ParamInfo>>,
    /// Written literally (no `$`/`{}` pieces, not quoted): offsets in `text` are offsets in
    /// the source, so an error can underline part of the value.
    pub literal: bool,
}

/// Loop context of an item: `i = 3` (for notes in diagnostics).
pub(crate) type Ctx = Option<Rc<str>>;

/// A property after splicing.
#[derive(Debug, Clone)]
pub(crate) enum IrProp {
    Plain {
        key: Ident,
        value: Val,
    },
    Qdisc {
        kw: Span,
        kind: Val,
        args: Vec<(Ident, Vec<Val>)>,
        body: Option<Box<QBody<Val>>>,
    },
    /// Boxed: rare, and three values would triple the size of every property.
    Record(Box<IrRecord>),
}

/// `record NAME TYPE ADDR` after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrRecord {
    pub kw: Span,
    pub name: Val,
    pub rtype: Val,
    pub addr: Val,
}

/// A node after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrNode {
    pub kind: Kind,
    pub name: Val,
    pub items: Vec<IrItem>,
    pub ctx: Ctx,
}

/// A node body item after splicing (loops expanded).
#[derive(Debug, Clone)]
pub(crate) enum IrItem {
    Iface {
        name: Val,
        props: Vec<IrProp>,
        span: Span,
        ctx: Ctx,
    },
    Route {
        /// `route6`.
        v6: bool,
        dest: Option<Val>,
        dest_span: Span,
        via: Option<Val>,
        dev: Option<Val>,
        span: Span,
        ctx: Ctx,
    },
    Resolver {
        value: Val,
        span: Span,
        ctx: Ctx,
    },
    Partition {
        value: Val,
        span: Span,
        ctx: Ctx,
    },
    Sysctl(IrSysctl),
    Netfilter {
        hook: Ident,
        action: Ident,
        matches: Vec<(Ident, Val)>,
        span: Span,
        ctx: Ctx,
    },
    /// `iptables …`: the command line, spliced.
    Iptables {
        line: Val,
        ctx: Ctx,
    },
}

/// `sysctl NAME = VALUES` after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrSysctl {
    pub name: Ident,
    pub values: Vec<Val>,
    pub span: Span,
    pub ctx: Ctx,
}

/// A link after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrLink {
    pub a: IrEnd,
    pub b: IrEnd,
    pub props: Vec<IrProp>,
    pub span: Span,
    pub ctx: Ctx,
}

/// A link end after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrEnd {
    pub node: Val,
    pub iface: Option<Val>,
    pub span: Span,
}

/// An app after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrApp {
    pub node: Val,
    pub kind: Ident,
    pub arg: Option<Val>,
    pub props: Vec<IrProp>,
    pub timings: Vec<(Ident, Val)>,
    pub span: Span,
    pub ctx: Ctx,
}

/// A `sample` statement after splicing.
#[derive(Debug, Clone)]
pub(crate) struct IrSample {
    pub interval: Val,
    /// `None` without a body: everything.
    pub items: Option<Vec<IrSampleItem>>,
    pub span: Span,
}

/// One kind of a `sample` body and its targets.
#[derive(Debug, Clone)]
pub(crate) struct IrSampleItem {
    pub kind: Ident,
    pub targets: Vec<IrEnd>,
}

/// Everything the file says, flat.
#[derive(Debug, Default)]
pub(crate) struct Program {
    pub settings: Vec<(Ident, Val)>,
    pub samples: Vec<IrSample>,
    pub params: Vec<(String, String)>,
    pub defaults: Vec<(Ident, Vec<IrProp>)>,
    pub sysctls: Vec<IrSysctl>,
    pub nodes: Vec<IrNode>,
    pub links: Vec<IrLink>,
    pub apps: Vec<IrApp>,
}

#[derive(Debug, Clone, Copy)]
enum EVal {
    Int(i64),
    Ip(u32),
}

impl EVal {
    fn text(self) -> String {
        match self {
            Self::Int(v) => v.to_string(),
            Self::Ip(v) => Ipv4Addr::from(v).to_string(),
        }
    }
}

/// Elaborates `stmts` with `overrides` (`--set`) into a [`Program`].
pub(crate) fn elaborate(
    stmts: &[Stmt],
    overrides: &[(String, String)],
    broken_names: &[String],
    diags: &mut Diags,
) -> Program {
    let mut e = Elab {
        params: BTreeMap::new(),
        overrides,
        used: vec![false; overrides.len()],
        vars: Vec::new(),
        ctx: None,
        budget: MAX_ITERATIONS,
        out: Program::default(),
        diags,
        broken_names,
        failed_params: Vec::new(),
    };
    for s in stmts {
        e.stmt(s, true);
    }
    for (i, (name, _)) in overrides.iter().enumerate() {
        if !e.used[i] && !broken_names.contains(name) {
            let known: Vec<&str> = e.params.keys().map(String::as_str).collect();
            let d = Diagnostic::global(
                "unknown-param",
                format!("--set {name}=…: the scenario has no param `{name}`"),
            );
            let d = match e.diags.suggest(name, known.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None if known.is_empty() => d.help("the scenario declares no params"),
                None => d.help(format!("its params are: {}", known.join(", "))),
            };
            e.diags.push(d);
        }
    }
    e.out
}

struct Elab<'a> {
    params: BTreeMap<String, Rc<ParamInfo>>,
    overrides: &'a [(String, String)],
    used: Vec<bool>,
    vars: Vec<(String, i64)>,
    ctx: Ctx,
    budget: u64,
    out: Program,
    diags: &'a mut Diags,
    broken_names: &'a [String],
    /// Params whose declaration had an error: uses of them are not reported again.
    failed_params: Vec<String>,
}

impl Elab<'_> {
    fn error(&mut self, d: Diagnostic) {
        let d = match &self.ctx {
            Some(c) => d.note(format!("in loop iteration {c}")),
            None => d,
        };
        self.diags.push(d);
    }

    fn stmt(&mut self, s: &Stmt, top: bool) {
        match s {
            Stmt::Include { span, .. } => {
                // Top-level includes were spliced by the loader; these are inside loops.
                self.error(
                    Diagnostic::error("include-in-loop", *span, "`include` inside a loop")
                        .label("includes are only allowed at the top level of a file"),
                );
            }
            Stmt::Param {
                name,
                ty,
                value,
                span,
            } => {
                if !top {
                    self.error(
                        Diagnostic::error("param-in-loop", *span, "`param` inside a loop")
                            .label("params are declared at the top level of a file"),
                    );
                    return;
                }
                self.param(name, ty.as_ref(), value);
            }
            Stmt::Setting { key, value } => {
                if !top {
                    self.error(
                        Diagnostic::error(
                            "setting-in-loop",
                            key.span,
                            format!("`{}` inside a loop", key.name),
                        )
                        .label("scenario settings belong at the top level"),
                    );
                    return;
                }
                if let Some(v) = self.word(value) {
                    self.out.settings.push((key.clone(), v));
                }
            }
            Stmt::Defaults { what, props } => {
                if !top {
                    self.error(
                        Diagnostic::error(
                            "defaults-in-loop",
                            what.span,
                            "`defaults` inside a loop",
                        )
                        .label("defaults belong at the top level"),
                    );
                    return;
                }
                let (props, _) = self.props(props);
                self.out.defaults.push((what.clone(), props));
            }
            Stmt::Node(n) => {
                let Some(name) = self.word(&n.name) else {
                    return;
                };
                let mut items = Vec::new();
                if let Some((body, _)) = &n.body {
                    for it in body {
                        self.node_item(it, &mut items);
                    }
                }
                items.shrink_to_fit();
                self.out.nodes.push(IrNode {
                    kind: n.kind,
                    name,
                    items,
                    ctx: self.ctx.clone(),
                });
            }
            Stmt::Link(l) => {
                let (Some(a), Some(b)) = (self.end(&l.a), self.end(&l.b)) else {
                    return;
                };
                let (props, ok) = self.props(&l.props);
                if !ok {
                    return; // the error is reported; a half link would only add noise
                }
                self.out.links.push(IrLink {
                    a,
                    b,
                    props,
                    span: l.span,
                    ctx: self.ctx.clone(),
                });
            }
            Stmt::App(a) => {
                let Some(node) = self.word(&a.node) else {
                    return;
                };
                let arg = match &a.arg {
                    Some(w) => match self.word(w) {
                        Some(v) => Some(v),
                        None => return,
                    },
                    None => None,
                };
                let (props, ok) = self.props(&a.props);
                if !ok {
                    return;
                }
                let mut timings = Vec::new();
                for (k, w) in &a.timings {
                    if let Some(v) = self.word(w) {
                        timings.push((k.clone(), v));
                    }
                }
                self.out.apps.push(IrApp {
                    node,
                    kind: a.kind.clone(),
                    arg,
                    props,
                    timings,
                    span: a.span,
                    ctx: self.ctx.clone(),
                });
            }
            Stmt::For(f) => {
                self.each(f, |e, body| {
                    for s in body {
                        e.stmt(s, false);
                    }
                });
            }
            Stmt::Sysctl(s) => {
                if let Some(s) = self.sysctl(s) {
                    self.out.sysctls.push(s);
                }
            }
            Stmt::Sample(d) => {
                if !top {
                    self.error(
                        Diagnostic::error("setting-in-loop", d.span, "`sample` inside a loop")
                            .label("`sample` belongs at the top level"),
                    );
                    return;
                }
                let Some(interval) = self.word(&d.interval) else {
                    return;
                };
                let items = match &d.items {
                    None => None,
                    Some(items) => {
                        let mut out = Vec::with_capacity(items.len());
                        for it in items {
                            let mut targets = Vec::with_capacity(it.targets.len());
                            for t in &it.targets {
                                let Some(e) = self.end(t) else {
                                    return;
                                };
                                targets.push(e);
                            }
                            out.push(IrSampleItem {
                                kind: it.kind.clone(),
                                targets,
                            });
                        }
                        Some(out)
                    }
                };
                self.out.samples.push(IrSample {
                    interval,
                    items,
                    span: d.span,
                });
            }
        }
    }

    fn node_item(&mut self, it: &NodeItem, out: &mut Vec<IrItem>) {
        match it {
            NodeItem::Iface(i) => {
                let Some(name) = self.word(&i.name) else {
                    return;
                };
                let (props, _) = self.props(&i.props);
                out.push(IrItem::Iface {
                    name,
                    props,
                    span: i.span,
                    ctx: self.ctx.clone(),
                });
            }
            NodeItem::Route(r) => {
                let dest = match &r.dest {
                    Some(w) => match self.word(w) {
                        Some(v) => Some(v),
                        None => return,
                    },
                    None => None,
                };
                let via = r.via.as_ref().and_then(|w| self.word(w));
                let dev = r.dev.as_ref().and_then(|w| self.word(w));
                if (r.via.is_some() && via.is_none()) || (r.dev.is_some() && dev.is_none()) {
                    return;
                }
                out.push(IrItem::Route {
                    v6: r.v6,
                    dest,
                    dest_span: r.dest_span,
                    via,
                    dev,
                    span: r.span,
                    ctx: self.ctx.clone(),
                });
            }
            NodeItem::Resolver { value, span } => {
                if let Some(v) = self.word(value) {
                    out.push(IrItem::Resolver {
                        value: v,
                        span: *span,
                        ctx: self.ctx.clone(),
                    });
                }
            }
            NodeItem::Partition { value, span } => {
                if let Some(v) = self.word(value) {
                    out.push(IrItem::Partition {
                        value: v,
                        span: *span,
                        ctx: self.ctx.clone(),
                    });
                }
            }
            NodeItem::Sysctl(s) => {
                if let Some(s) = self.sysctl(s) {
                    out.push(IrItem::Sysctl(s));
                }
            }
            NodeItem::Netfilter(n) => {
                let mut matches = Vec::new();
                for (k, w) in &n.matches {
                    if let Some(v) = self.word(w) {
                        matches.push((k.clone(), v));
                    }
                }
                out.push(IrItem::Netfilter {
                    hook: n.hook.clone(),
                    action: n.action.clone(),
                    matches,
                    span: n.span,
                    ctx: self.ctx.clone(),
                });
            }
            NodeItem::Iptables(w) => {
                if let Some(line) = self.word(w) {
                    out.push(IrItem::Iptables {
                        line,
                        ctx: self.ctx.clone(),
                    });
                }
            }
            NodeItem::For(f) => {
                self.each(f, |e, body| {
                    for it in body {
                        e.node_item(it, out);
                    }
                });
            }
        }
    }

    /// Runs `body` once per value of the loop variable.
    fn each<T>(&mut self, f: &For<T>, mut body: impl FnMut(&mut Self, &[T])) {
        let (Some(lo), Some(hi)) = (self.int_expr(&f.lo), self.int_expr(&f.hi)) else {
            return;
        };
        let hi = if f.inclusive {
            hi.saturating_add(1)
        } else {
            hi
        };
        if hi <= lo {
            return;
        }
        let count = hi.abs_diff(lo);
        if count > self.budget {
            let msg = if self.budget == MAX_ITERATIONS {
                format!("loop of {count} iterations is too long")
            } else {
                format!(
                    "loop of {count} iterations exceeds what is left of the budget ({} of {MAX_ITERATIONS} iterations in all)",
                    self.budget
                )
            };
            self.error(
                Diagnostic::error("loop-too-long", f.span, msg)
                    .label(format!("at most {MAX_ITERATIONS} loop iterations per file")),
            );
            self.budget = 0;
            return;
        }
        self.budget -= count;
        if self.vars.iter().any(|(n, _)| *n == f.var.name) {
            self.error(
                Diagnostic::error(
                    "shadowed-var",
                    f.var.span,
                    format!("loop variable `{}` is already in use", f.var.name),
                )
                .label("an enclosing loop uses the same name; pick another"),
            );
            return;
        }
        let saved = self.ctx.clone();
        for v in lo..hi {
            self.vars.push((f.var.name.clone(), v));
            let here = format!("{} = {v}", f.var.name);
            self.ctx = Some(match &saved {
                Some(outer) => format!("{outer}, {here}").into(),
                None => here.into(),
            });
            body(self, &f.body);
            self.vars.pop();
        }
        self.ctx = saved;
    }

    fn sysctl(&mut self, s: &SysctlDecl) -> Option<IrSysctl> {
        let mut values = Vec::new();
        for w in &s.values {
            values.push(self.word(w)?);
        }
        Some(IrSysctl {
            name: s.name.clone(),
            values,
            span: s.span,
            ctx: self.ctx.clone(),
        })
    }

    fn end(&mut self, e: &Endpoint) -> Option<IrEnd> {
        let node = self.word(&e.node)?;
        let iface = match &e.iface {
            Some(w) => Some(self.word(w)?),
            None => None,
        };
        Some(IrEnd {
            node,
            iface,
            span: e.span,
        })
    }

    /// The properties after splicing, and whether every value could be spliced.
    fn props(&mut self, props: &[Prop]) -> (Vec<IrProp>, bool) {
        let mut out = Vec::with_capacity(props.len());
        let mut ok = true;
        for p in props {
            match p {
                Prop::Plain { key, value } => match self.word(value) {
                    Some(v) => out.push(IrProp::Plain {
                        key: key.clone(),
                        value: v,
                    }),
                    None => ok = false,
                },
                Prop::Qdisc {
                    kw,
                    kind,
                    args,
                    body,
                } => {
                    let Some(kind) = self.word(kind) else {
                        ok = false;
                        continue;
                    };
                    let body = match body {
                        None => None,
                        Some(b) => match b.map(&mut |w| self.word(w)) {
                            Some(b) => Some(Box::new(b)),
                            None => {
                                ok = false;
                                continue;
                            }
                        },
                    };
                    let mut a = Vec::new();
                    for (k, ws) in args {
                        let vals: Vec<Val> = ws.iter().filter_map(|w| self.word(w)).collect();
                        if vals.len() == ws.len() {
                            a.push((k.clone(), vals));
                        } else {
                            ok = false;
                        }
                    }
                    out.push(IrProp::Qdisc {
                        kw: *kw,
                        kind,
                        args: a,
                        body,
                    });
                }
                Prop::Record {
                    kw,
                    name,
                    rtype,
                    addr,
                } => {
                    if let (Some(name), Some(rtype), Some(addr)) =
                        (self.word(name), self.word(rtype), self.word(addr))
                    {
                        out.push(IrProp::Record(Box::new(IrRecord {
                            kw: *kw,
                            name,
                            rtype,
                            addr,
                        })));
                    } else {
                        ok = false;
                    }
                }
            }
        }
        (out, ok)
    }

    /// Declares a param; when the declaration has an error, later uses of the name and
    /// `--set`s of it are not reported again.
    fn param(&mut self, name: &Ident, ty: Option<&Ident>, value: &Word) {
        if !self.param_inner(name, ty, value) {
            if !self.params.contains_key(&name.name) {
                self.failed_params.push(name.name.clone());
            }
            for (u, (n, _)) in self.used.iter_mut().zip(self.overrides) {
                *u |= *n == name.name;
            }
        }
    }

    fn param_inner(&mut self, name: &Ident, ty: Option<&Ident>, value: &Word) -> bool {
        if let Some(prev) = self.params.get(&name.name) {
            let decl = prev.decl;
            self.error(
                Diagnostic::error(
                    "duplicate-param",
                    name.span,
                    format!("param `{}` is declared twice", name.name),
                )
                .label("second declaration")
                .note_at(decl, "first declared here"),
            );
            return false;
        }
        let annotated = match ty {
            Some(t) => match ParamType::from_name(&t.name) {
                Some(pt) => Some(pt),
                None => {
                    let hint = self
                        .diags
                        .suggest(&t.name, ParamType::NAMES.iter().copied());
                    self.error(
                        Diagnostic::error(
                            "unknown-type",
                            t.span,
                            format!("unknown param type `{}`", t.name),
                        )
                        .label(format!("expected one of: {}", ParamType::NAMES.join(", ")))
                        .suggest(hint),
                    );
                    return false;
                }
            },
            None => None,
        };
        // The default: a lone expression keeps its type (int or ip).
        let (text, expr_ty) = match value.parts.as_slice() {
            [Part::Expr(e)] => match self.expr(e) {
                Some(v) => (
                    v.text(),
                    Some(match v {
                        EVal::Int(_) => ParamType::Int,
                        EVal::Ip(_) => ParamType::Ip,
                    }),
                ),
                None => return false,
            },
            _ => match self.word(value) {
                Some(v) => {
                    let pt = v.param.as_ref().map(|p| p.ty);
                    (v.text, pt)
                }
                None => return false,
            },
        };
        let inferred = expr_ty.or_else(|| ParamType::infer(&text, value.quoted));
        let ty = match (annotated, inferred) {
            (Some(a), _) => a,
            (None, Some(i)) => i,
            (None, None) => {
                if let Some((msg, help)) = unit_typo(&text) {
                    let d = Diagnostic::error("unknown-unit", value.span, msg)
                        .label("the default's unit decides the param's type");
                    self.error(match help {
                        Some(h) => d.help(h),
                        None => d,
                    });
                    return false;
                }
                if ParamType::Word.check(&text).is_ok() {
                    // `02:00:00:00:00:07`, `10.0.0.2:9`: text, checked where it is used.
                    ParamType::Word
                } else {
                    self.error(
                        Diagnostic::error(
                            "param-type",
                            value.span,
                            format!("cannot tell the type of `{text}`"),
                        )
                        .label("not a number, rate, size, duration, address or word")
                        .help(format!(
                            "annotate it, e.g. `param {}: string = \"{text}\"`",
                            name.name
                        )),
                    );
                    return false;
                }
            }
        };
        let default = match ty.check(&text) {
            Ok(c) => c,
            Err(msg) if annotated.is_some() => {
                self.error(
                    Diagnostic::error(
                        "param-type",
                        value.span,
                        format!(
                            "param type mismatch: `{}` is declared {}",
                            name.name,
                            ty.name()
                        ),
                    )
                    .label(msg)
                    .help(format!(
                        "a {} param takes {}",
                        ty.name(),
                        ty.describe()
                    )),
                );
                return false;
            }
            Err(msg) => {
                // Written as a value of `ty`, but not one it can hold.
                self.error(
                    Diagnostic::error("bad-value", value.span, msg)
                        .label(format!(
                            "the default of `{}`, {} param",
                            name.name,
                            article(ty.name())
                        ))
                        .help(format!(
                            "{} param takes {}",
                            article(ty.name()),
                            ty.describe()
                        )),
                );
                return false;
            }
        };
        let mut effective = default;
        // The last `--set` of a name wins, as on most command lines.
        if let Some(i) = self.overrides.iter().rposition(|(n, _)| *n == name.name) {
            for (u, (n, _)) in self.used.iter_mut().zip(self.overrides) {
                *u |= *n == name.name;
            }
            let given = &self.overrides[i].1;
            match ty.check(given) {
                Ok(c) => effective = c,
                Err(msg) => {
                    self.error(
                        Diagnostic::global(
                            "param-type",
                            format!(
                                "--set {}={given}: param type mismatch: `{}` is {} param, which takes {}",
                                name.name,
                                name.name,
                                article(ty.name()),
                                ty.describe()
                            ),
                        )
                        .note(msg),
                    );
                }
            }
        }
        self.out.params.push((name.name.clone(), effective.clone()));
        self.params.insert(
            name.name.clone(),
            Rc::new(ParamInfo {
                name: name.name.clone(),
                ty,
                decl: name.span,
                value: effective,
            }),
        );
        true
    }

    fn lookup_param(&mut self, name: &str, span: Span) -> Option<Rc<ParamInfo>> {
        if let Some(p) = self.params.get(name) {
            return Some(p.clone());
        }
        if self.broken_names.iter().any(|b| b == name)
            || self.failed_params.iter().any(|b| b == name)
        {
            return None;
        }
        if self.diags.repeated("unknown-param", span) {
            return None; // an earlier loop iteration reported it, with its suggestion
        }
        let mut d = Diagnostic::error("unknown-param", span, format!("unknown param `${name}`"))
            .label("no param of this name is declared above");
        if self.vars.iter().any(|(v, _)| v == name) {
            d = d.help(format!(
                "`{name}` is a loop variable; inside `{{…}}` write it without `$`: `{{{name}}}`"
            ));
        } else {
            d = d.suggest(
                self.diags
                    .suggest(name, self.params.keys().map(String::as_str)),
            );
        }
        self.error(d);
        None
    }

    /// Splices a word into text.
    fn word(&mut self, w: &Word) -> Option<Val> {
        let mut text = String::new();
        let mut ok = true;
        for p in &w.parts {
            match p {
                Part::Text(t) => text.push_str(t),
                Part::Param(id) => match self.lookup_param(&id.name, id.span) {
                    Some(p) => text.push_str(&p.value),
                    None => ok = false,
                },
                Part::Expr(e) => match self.expr(e) {
                    Some(v) => text.push_str(&v.text()),
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        let param = w
            .sole_param()
            .and_then(|id| self.params.get(&id.name).cloned());
        Some(Val {
            text,
            span: w.span,
            param,
            literal: !w.quoted && w.literal().is_some(),
        })
    }

    fn int_expr(&mut self, e: &Expr) -> Option<i64> {
        match self.expr(e)? {
            EVal::Int(v) => Some(v),
            EVal::Ip(_) => {
                self.error(
                    Diagnostic::error("expr-type", e.span, "expected an integer, found an address")
                        .label("loop bounds are integers"),
                );
                None
            }
        }
    }

    fn expr(&mut self, e: &Expr) -> Option<EVal> {
        match &e.kind {
            ExprKind::Int(digits) => match values::int(digits) {
                Ok(v) => Some(EVal::Int(v)),
                Err(msg) => {
                    self.error(Diagnostic::error("expr", e.span, msg).label("too large"));
                    None
                }
            },
            ExprKind::Ip(text) => match values::ip(text) {
                Ok(v) => Some(EVal::Ip(v.to_bits())),
                Err(msg) => {
                    self.error(Diagnostic::error("bad-ip", e.span, msg).label("not an address"));
                    None
                }
            },
            ExprKind::Var(name) => {
                if let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) {
                    return Some(EVal::Int(*v));
                }
                if self.diags.repeated("unknown-var", e.span) {
                    return None; // an earlier loop iteration reported it
                }
                let mut d =
                    Diagnostic::error("unknown-var", e.span, format!("unknown variable `{name}`"))
                        .label("not a loop variable in scope");
                if self.params.contains_key(name) {
                    d = d.help(format!("params are written with `$`: `${name}`"));
                } else {
                    let vars: Vec<&str> = self.vars.iter().map(|(n, _)| n.as_str()).collect();
                    d = d.suggest(self.diags.suggest(name, vars));
                }
                self.error(d);
                None
            }
            ExprKind::Param(name) => {
                let p = self.lookup_param(name, e.span)?;
                match p.ty {
                    ParamType::Int => values::int(&p.value).ok().map(EVal::Int),
                    ParamType::Ip => values::ip(&p.value).ok().map(|a| EVal::Ip(a.to_bits())),
                    other => {
                        self.error(
                            Diagnostic::error(
                                "param-type",
                                e.span,
                                format!(
                                    "param type mismatch: `${name}` is {} param; arithmetic needs an int or ip",
                                    article(other.name())
                                ),
                            )
                            .label(format!("`${name}` = {}", p.value))
                            .note_at(p.decl, "declared here"),
                        );
                        None
                    }
                }
            }
            ExprKind::Neg(inner) => match self.expr(inner)? {
                EVal::Int(v) => match v.checked_neg() {
                    Some(n) => Some(EVal::Int(n)),
                    None => {
                        self.overflow(e.span);
                        None
                    }
                },
                EVal::Ip(_) => {
                    self.error(
                        Diagnostic::error("expr-type", e.span, "cannot negate an address")
                            .label("`-` needs an integer"),
                    );
                    None
                }
            },
            ExprKind::Bin(op, a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                self.binop(*op, x, y, e.span, b.span)
            }
        }
    }

    fn overflow(&mut self, span: Span) {
        self.error(
            Diagnostic::error("overflow", span, "arithmetic overflow")
                .label("the result does not fit a 64-bit integer"),
        );
    }

    fn binop(&mut self, op: BinOp, x: EVal, y: EVal, span: Span, rhs: Span) -> Option<EVal> {
        use EVal::{Int, Ip};
        let r = match (op, x, y) {
            (BinOp::Div | BinOp::Rem, Int(_), Int(0)) => {
                self.error(
                    Diagnostic::error("div-zero", rhs, "division by zero").label("this is zero"),
                );
                return None;
            }
            (BinOp::Add, Int(a), Int(b)) => a.checked_add(b).map(Int),
            (BinOp::Sub, Int(a), Int(b)) => a.checked_sub(b).map(Int),
            (BinOp::Mul, Int(a), Int(b)) => a.checked_mul(b).map(Int),
            (BinOp::Div, Int(a), Int(b)) => a.checked_div(b).map(Int),
            (BinOp::Rem, Int(a), Int(b)) => a.checked_rem(b).map(Int),
            (BinOp::Add, Ip(a), Int(b)) | (BinOp::Add, Int(b), Ip(a)) => {
                return self.ip_result(i64::from(a).checked_add(b), span);
            }
            (BinOp::Sub, Ip(a), Int(b)) => {
                return self.ip_result(i64::from(a).checked_sub(b), span);
            }
            (BinOp::Sub, Ip(a), Ip(b)) => Some(Int(i64::from(a) - i64::from(b))),
            _ => {
                self.error(
                    Diagnostic::error(
                        "expr-type",
                        span,
                        "this arithmetic is not defined on addresses",
                    )
                    .label("addresses can only add or subtract integers"),
                );
                return None;
            }
        };
        if r.is_none() {
            self.overflow(span);
        }
        r
    }

    fn ip_result(&mut self, v: Option<i64>, span: Span) -> Option<EVal> {
        match v.and_then(|v| u32::try_from(v).ok()) {
            Some(v) => Some(EVal::Ip(v)),
            None => {
                self.error(
                    Diagnostic::error("overflow", span, "address out of range")
                        .label("the result is not between 0.0.0.0 and 255.255.255.255"),
                );
                None
            }
        }
    }
}

/// For a default like `100Mbits` (a number with a unit nobody knows): the unit error of the
/// quantity the unit looks closest to, with its suggestion.
fn unit_typo(text: &str) -> Option<(String, Option<String>)> {
    use sim_core::TimeParseError;
    use sim_stack::units::UnitParseError;
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let unit_help = |e: UnitParseError| match e {
        UnitParseError::UnknownUnit {
            unit,
            suggestion: Some(s),
            ..
        } => Some((
            format!("unknown unit `{unit}` in `{text}`"),
            Some(format!("did you mean {s}?")),
        )),
        _ => None,
    };
    if let Err(e) = text.parse::<Rate>()
        && let Some(r) = unit_help(e)
    {
        return Some(r);
    }
    if let Err(e) = text.parse::<Bytes>()
        && let Some(r) = unit_help(e)
    {
        return Some(r);
    }
    match text.parse::<SimDuration>() {
        Err(TimeParseError::UnknownUnit {
            unit,
            suggestion: Some(s),
            ..
        }) => Some((
            format!("unknown unit `{unit}` in `{text}`"),
            Some(format!("did you mean `{s}`?")),
        )),
        _ => None,
    }
}

fn article(word: &str) -> String {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {word}")
    } else {
        format!("a {word}")
    }
}

#[cfg(test)]
mod tests {
    use super::ParamType::{self, *};

    fn infer(t: &str) -> Option<ParamType> {
        ParamType::infer(t, false)
    }

    #[test]
    fn a_default_is_typed_by_how_it_is_written() {
        for (text, ty) in [
            ("16", Int),
            ("10.0.0.1", Ip),
            ("10.0.0.0/24", Cidr),
            ("100Mbit", Rate),
            ("1500B", Size),
            ("10ms", Duration),
            ("1%", Ratio),
            ("fq_codel", Word),
        ] {
            assert_eq!(infer(text), Some(ty), "{text}");
            assert!(ty.check(text).is_ok(), "{text}");
        }
    }

    /// Values of a type that the type cannot hold keep the type, so that checking the default
    /// against it reports them where the param is defined.
    #[test]
    fn out_of_range_values_keep_their_type() {
        for (text, ty) in [
            ("99999999999999999999", Int),
            ("-99999999999999999999", Int),
            ("10.0.0.300", Ip),
            ("10.0.0.0/33", Cidr),
            ("99999999999999999999999Gbit", Rate),
            ("1.5bit", Rate),
            ("99999999999999999999TiB", Size),
            ("0.5B", Size),
            ("99999999999999999999h", Duration),
            ("0.5ns", Duration),
            ("1000001h", Duration),
            ("200%", Ratio),
            ("1000001ppm", Ratio),
        ] {
            assert_eq!(infer(text), Some(ty), "{text}");
            assert!(ty.check(text).is_err(), "{text}");
        }
        // Not written as any type: text (a word, if it is one), checked where it is used.
        for text in [
            "1.2.3",
            "100Mbits",
            "%",
            "1e5",
            "02:00:00:00:00:07",
            "10.2.3.2:9",
        ] {
            assert!(
                infer(text).is_none_or(|t| t == Word),
                "{text}: {:?}",
                infer(text)
            );
        }
    }
}
