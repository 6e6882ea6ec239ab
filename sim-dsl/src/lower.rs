//! Lowering: from the elaborated [`Program`] to a checked [`Scenario`].
//!
//! Types every value for its position, resolves names into indices, fills in defaults,
//! creates switch ports, assigns MACs, computes automatic routes, and checks the topology:
//! duplicate and unknown names, links to missing interfaces, interfaces in two links,
//! duplicate and overlapping addresses, gateways off every connected subnet, unreachable
//! resolvers, app destinations. Every problem is collected; lowering goes on after an error
//! wherever the rest can still be checked meaningfully. The reachability checks need a
//! consistent topology, so they run only when the earlier checks found no error.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use petgraph::unionfind::UnionFind;
use sim_core::{SimDuration, SimTime, TimeParseError};
use sim_stack::config::*;
use sim_stack::ip::netfilter::NthError;
use sim_stack::units::{Bytes, Rate, UnitParseError};
use sim_stack::validate;

use crate::ast::{Ident, Kind};
use crate::diag::{Diagnostic, Diags, Span};
use crate::eval::{
    Ctx, IrApp, IrEnd, IrItem, IrLink, IrNode, IrProp, IrSysctl, ParamType, Program, Val,
};
use crate::routing::{self, Fib, Net};
use crate::sysctl::{self, SysErr};
use crate::values;

/// What went wrong with a value: a message, optionally the byte range of `text` to underline,
/// and a suggestion.
struct ValErr {
    msg: String,
    sub: Option<(usize, usize)>,
    help: Option<String>,
    /// Replaces the default label ("`x` takes …").
    label: Option<String>,
}

impl From<String> for ValErr {
    fn from(msg: String) -> Self {
        Self {
            msg,
            sub: None,
            help: None,
            label: None,
        }
    }
}

fn unit_err(e: UnitParseError) -> ValErr {
    match &e {
        UnitParseError::UnknownUnit {
            what,
            text,
            unit,
            suggestion,
        } => {
            let at = e.unit_offset().unwrap_or(0);
            let units = match what {
                sim_stack::units::Quantity::Rate => "bit, kbit, Mbit, Gbit or Tbit",
                sim_stack::units::Quantity::Size => "B, KB, MB, GB, KiB, MiB or GiB",
            };
            ValErr {
                msg: format!("unknown unit `{unit}` in `{text}`; expected {units}"),
                sub: Some((at, at + unit.len())),
                label: None,
                help: suggestion.as_ref().map(|s| {
                    if unit.to_ascii_lowercase().ends_with("bps") {
                        format!(
                            "did you mean {s}? (`bps` is ambiguous: tc reads it as bytes per second)"
                        )
                    } else {
                        format!("did you mean {s}?")
                    }
                }),
            }
        }
        _ => e.to_string().into(),
    }
}

fn time_err(e: TimeParseError) -> ValErr {
    match &e {
        TimeParseError::UnknownUnit {
            text,
            unit,
            suggestion,
        } => {
            let at = text.rfind(unit.as_str()).unwrap_or(0);
            ValErr {
                msg: format!("unknown unit `{unit}` in `{text}`; expected ns, us, ms, s, min or h"),
                sub: Some((at, at + unit.len())),
                label: None,
                help: suggestion.as_ref().map(|s| format!("did you mean `{s}`?")),
            }
        }
        _ => e.to_string().into(),
    }
}

#[derive(Debug, Default, Clone)]
struct IfaceDefaults {
    mtu: Option<u32>,
    txqueuelen: Option<u32>,
    tx_ring: Option<u32>,
    qdisc: Option<QSpec>,
}

#[derive(Debug, Default, Clone)]
struct LinkDefaults {
    rate: Option<Rate>,
    delay: Option<SimDuration>,
    loss: Option<u32>,
    mtu: Option<u32>,
}

/// A qdisc whose `pfifo` limit may still depend on the interface's txqueuelen.
#[derive(Debug, Clone)]
enum QSpec {
    Done(QdiscConfig),
    PfifoTxqueuelen,
}

#[derive(Debug, Clone)]
struct IfaceMeta {
    name_span: Span,
    addr_span: Option<Span>,
    mac_span: Option<Span>,
    mtu_set: bool,
    link: Option<Span>,
    ctx: Ctx,
}

#[derive(Debug, Clone)]
struct PendingRoute {
    route: RouteConfig,
    dev_val: Option<Val>,
    via_span: Option<Span>,
    span: Span,
    ctx: Ctx,
}

#[derive(Debug)]
struct NodeMeta {
    name_span: Span,
    /// Interface name → index (routers of big stars have thousands).
    iface_index: BTreeMap<String, u32>,
    ifaces: Vec<IfaceMeta>,
    routes: Vec<PendingRoute>,
    resolver: Option<(Span, Ctx)>,
}

/// A parsed app, with what the destination checks need.
#[derive(Debug)]
struct AppMeta {
    span: Span,
    ctx: Ctx,
    dst_span: Option<Span>,
}

pub(crate) struct Lower<'a> {
    diags: &'a mut Diags,
    /// Names that failed to parse, and whether a whole loop did: mute unknown-name errors.
    broken_names: &'a [String],
    broken_loop: bool,
    nodes: Vec<NodeConfig>,
    meta: Vec<NodeMeta>,
    by_name: BTreeMap<String, u32>,
    links: Vec<LinkConfig>,
    global_sysctls: Vec<(String, Vec<String>)>,
}

/// Lowers a program; `None` when there were errors.
pub(crate) fn lower(
    prog: &Program,
    default_name: &str,
    broken_names: &[String],
    broken_loop: bool,
    diags: &mut Diags,
) -> Option<Scenario> {
    let mut l = Lower {
        diags,
        broken_names,
        broken_loop,
        nodes: Vec::new(),
        meta: Vec::new(),
        by_name: BTreeMap::new(),
        links: Vec::new(),
        global_sysctls: Vec::new(),
    };
    l.run(prog, default_name)
}

fn valid_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && s.len() <= 64
}

fn with_ctx(d: Diagnostic, ctx: &Ctx) -> Diagnostic {
    match ctx {
        Some(c) => d.note(format!("in loop iteration {c}")),
        None => d,
    }
}

impl Lower<'_> {
    fn errors(&self) -> usize {
        self.diags.errors()
    }

    fn push(&mut self, d: Diagnostic, ctx: &Ctx) {
        self.diags.push(with_ctx(d, ctx));
    }

    /// Reports the `code` problem at `span` with the diagnostic `build` makes, unless it was
    /// reported there already (by an earlier loop iteration): then it is only counted, and
    /// `build`, which may look through every name of the scenario for a suggestion, is not
    /// run. This keeps a mistake repeated by every iteration of a loop linear in total.
    fn report(
        &mut self,
        code: &'static str,
        span: Span,
        ctx: &Ctx,
        build: impl FnOnce(&mut Self) -> Diagnostic,
    ) {
        if !self.diags.repeated(code, span) {
            let d = build(self);
            debug_assert_eq!((d.code, d.span), (code, Some(span)));
            self.push(d, ctx);
        }
    }

    fn muted(&self, name: &str) -> bool {
        self.broken_loop || self.broken_names.iter().any(|b| b == name)
    }

    // ------------------------------------------------------------ typed values

    /// Types `v` as `expect` with `parse`, reporting a param type mismatch or a parse error.
    fn typed<T>(
        &mut self,
        v: &Val,
        expect: ParamType,
        what: &str,
        ctx: &Ctx,
        parse: impl FnOnce(&str) -> Result<T, ValErr>,
    ) -> Option<T> {
        if let Some(p) = &v.param
            && !p.ty.fits(expect)
        {
            let d = Diagnostic::error(
                "param-type",
                v.span,
                format!(
                    "param type mismatch: `${}` is {} param, but {what} takes {}",
                    p.name,
                    article(p.ty.name()),
                    expect.describe()
                ),
            )
            .label(format!("`${}` = {}", p.name, p.value))
            .note_at(p.decl, format!("`{}` declared here", p.name));
            self.push(d, ctx);
            return None;
        }
        match parse(&v.text) {
            Ok(t) => Some(t),
            Err(e) => {
                let span = match e.sub {
                    Some((a, b)) if v.literal => v.span.sub(a, b),
                    _ => v.span,
                };
                let code = if e.sub.is_some() {
                    "unknown-unit"
                } else {
                    "bad-value"
                };
                let label = e
                    .label
                    .unwrap_or_else(|| format!("{what} takes {}", expect.describe()));
                let mut d = Diagnostic::error(code, span, e.msg).label(label);
                if let Some(h) = e.help {
                    d = d.help(h);
                }
                if let Some(p) = &v.param {
                    d = d.note_at(p.decl, format!("the value comes from param `{}`", p.name));
                }
                self.push(d, ctx);
                None
            }
        }
    }

    fn rate(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Rate> {
        self.typed(v, ParamType::Rate, what, ctx, |t| {
            t.parse::<Rate>().map_err(unit_err)
        })
    }
    fn size(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Bytes> {
        self.typed(v, ParamType::Size, what, ctx, |t| {
            t.parse::<Bytes>().map_err(unit_err)
        })
    }
    fn duration(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<SimDuration> {
        self.typed(v, ParamType::Duration, what, ctx, |t| {
            let d = t.parse::<SimDuration>().map_err(time_err)?;
            validate::duration(d).map_err(|e| ValErr {
                label: Some("at most 1000000h".into()),
                ..ValErr::from(format!("`{t}` is {e}"))
            })?;
            Ok(d)
        })
    }
    fn int(&mut self, v: &Val, min: i64, max: i64, what: &str, ctx: &Ctx) -> Option<i64> {
        self.typed(v, ParamType::Int, what, ctx, |t| {
            values::int_in(t, min, max).map_err(|msg| ValErr {
                label: Some(format!("{what} takes an integer from {min} to {max}")),
                ..ValErr::from(msg)
            })
        })
    }
    fn ip(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Ipv4Addr> {
        self.typed(v, ParamType::Ip, what, ctx, |t| {
            values::ip(t).map_err(ValErr::from)
        })
    }
    fn ppm(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<u32> {
        self.typed(v, ParamType::Ratio, what, ctx, |t| {
            values::ppm(t).map_err(ValErr::from)
        })
    }
    fn word<'v>(&mut self, v: &'v Val, choices: &[&str], what: &str, ctx: &Ctx) -> Option<&'v str> {
        if choices.contains(&v.text.as_str()) {
            return Some(&v.text);
        }
        let d = Diagnostic::error("bad-value", v.span, format!("unknown {what} `{}`", v.text))
            .label(format!("expected {}", crate::diag::one_of(choices)))
            .suggest(self.diags.suggest(&v.text, choices.iter().copied()));
        self.push(d, ctx);
        None
    }

    /// The plain `key value` properties of a block, after reporting unknown and duplicate
    /// keys and properties of the wrong kind.
    fn plain<'p>(
        &mut self,
        props: &'p [IrProp],
        allowed: &[&str],
        block: &str,
        ctx: &Ctx,
    ) -> Vec<(&'p Ident, &'p Val)> {
        let mut out: Vec<(&Ident, &Val)> = Vec::new();
        for p in props {
            match p {
                IrProp::Plain { key, value } => {
                    if !allowed.contains(&key.name.as_str()) {
                        let d = Diagnostic::error(
                            "unknown-property",
                            key.span,
                            format!("unknown {block} property `{}`", key.name),
                        )
                        .label(if allowed.is_empty() {
                            format!("`{block}` takes no properties")
                        } else {
                            format!("expected {}", crate::diag::one_of(allowed))
                        })
                        .suggest(self.diags.suggest(&key.name, allowed.iter().copied()));
                        self.push(d, ctx);
                        continue;
                    }
                    if let Some((first, _)) = out.iter().find(|(k, _)| k.name == key.name) {
                        let d = Diagnostic::error(
                            "duplicate-property",
                            key.span,
                            format!("`{}` is set twice", key.name),
                        )
                        .label("second setting")
                        .note_at(first.span, "first set here");
                        self.push(d, ctx);
                        continue;
                    }
                    out.push((key, value));
                }
                IrProp::Qdisc { kw, .. } if !allowed.contains(&"qdisc") => {
                    let d = Diagnostic::error(
                        "unknown-property",
                        *kw,
                        format!("`qdisc` is not a {block} property"),
                    )
                    .label("qdiscs belong to interfaces");
                    self.push(d, ctx);
                }
                IrProp::Record(r) if !allowed.contains(&"record") => {
                    let d = Diagnostic::error(
                        "unknown-property",
                        r.kw,
                        format!("`record` is not a {block} property"),
                    )
                    .label("records belong to a dns_server app");
                    self.push(d, ctx);
                }
                _ => {}
            }
        }
        out
    }

    // ------------------------------------------------------------ the whole run

    fn run(&mut self, prog: &Program, default_name: &str) -> Option<Scenario> {
        let (name, seed, end, routing_mode) = self.settings(prog, default_name);
        let (idefs, ldefs) = self.defaults(prog);
        self.check_global_sysctls(&prog.sysctls);
        for n in &prog.nodes {
            self.node(n, &idefs);
        }
        let mut uf = UnionFind::<usize>::new(self.nodes.len());
        for l in &prog.links {
            self.link(l, &ldefs, &idefs, &mut uf);
        }
        self.resolve_routes_dev();
        let link_pairs: Vec<_> = self
            .links
            .iter()
            .map(|l| ((l.a.node.0, l.a.iface.0), (l.b.node.0, l.b.iface.0)))
            .collect();
        let net = Net::build(&self.nodes, &link_pairs);
        self.assign_macs(&net);
        self.check_addresses(&net);
        self.check_gateways();
        let topology_ok = self.errors() == 0;
        if topology_ok {
            self.unlinked_warnings();
        }
        if topology_ok && routing_mode == RoutingMode::Auto {
            routing::auto_routes(&mut self.nodes, &net);
        }
        let fibs: Vec<Fib> = if topology_ok {
            self.nodes.iter().map(Fib::new).collect()
        } else {
            Vec::new()
        };
        if topology_ok {
            self.check_resolvers(&net, &fibs);
        }
        let apps = self.apps(&prog.apps, end, topology_ok.then_some((&net, &fibs[..])));
        if self.errors() > 0 {
            return None;
        }
        let scenario = Scenario {
            name,
            seed,
            end_time: end,
            params: prog.params.clone(),
            routing: routing_mode,
            nodes: std::mem::take(&mut self.nodes),
            links: std::mem::take(&mut self.links),
            apps,
        };
        // Every rule `World::build` holds a scenario to was checked above, where the text
        // could be pointed at; this makes sure of it, so that `sim run` never refuses what
        // `sim check` passed. An error here is a check missing above.
        if let Err(e) = scenario.validate() {
            self.diags.push(
                Diagnostic::global("invalid", format!("the scenario cannot run: {e}"))
                    .note("`sim check` should have shown where; please report this"),
            );
            return None;
        }
        Some(scenario)
    }

    fn settings(
        &mut self,
        prog: &Program,
        default_name: &str,
    ) -> (String, u64, SimTime, RoutingMode) {
        let mut name = default_name.to_string();
        let mut seed = 1u64;
        let mut end = SimTime::from_nanos(10_000_000_000);
        let mut routing_mode = RoutingMode::Static;
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for (key, v) in &prog.settings {
            if let Some(first) = seen.get(key.name.as_str()) {
                let d = Diagnostic::error(
                    "duplicate-setting",
                    key.span,
                    format!("`{}` is set twice", key.name),
                )
                .note_at(*first, "first set here");
                self.push(d, &None);
                continue;
            }
            seen.insert(&key.name, key.span);
            match key.name.as_str() {
                "seed" => {
                    if let Some(s) = self.typed(v, ParamType::Int, "`seed`", &None, |t| {
                        t.replace('_', "")
                            .parse::<u64>()
                            .map_err(|_| ValErr::from(format!("`{t}` is not a seed (0 to 2^64-1)")))
                    }) {
                        seed = s;
                    }
                }
                "end" => {
                    if let Some(d) = self.duration(v, "`end`", &None) {
                        if d == SimDuration::ZERO {
                            let e = Diagnostic::error(
                                "bad-value",
                                v.span,
                                "the run must last longer than 0s",
                            )
                            .label("end time");
                            self.push(e, &None);
                        } else {
                            end = SimTime::from_nanos(d.as_nanos());
                        }
                    }
                }
                "routing" => {
                    if let Some(w) = self.word(v, &["static", "auto"], "routing mode", &None) {
                        routing_mode = if w == "auto" {
                            RoutingMode::Auto
                        } else {
                            RoutingMode::Static
                        };
                    }
                }
                _ => {
                    if v.text.is_empty() || v.text.contains(['/', '\\', '\0']) {
                        let e = Diagnostic::error("bad-value", v.span, "bad scenario name")
                            .label("the name is used as a folder name: no `/`, not empty");
                        self.push(e, &None);
                    } else {
                        name = v.text.clone();
                    }
                }
            }
        }
        (name, seed, end, routing_mode)
    }

    fn defaults(&mut self, prog: &Program) -> (IfaceDefaults, LinkDefaults) {
        let mut idefs = IfaceDefaults::default();
        let mut ldefs = LinkDefaults::default();
        let mut seen: Vec<&str> = Vec::new();
        for (what, props) in &prog.defaults {
            match what.name.as_str() {
                "iface" => {
                    if seen.contains(&"iface") {
                        self.push(
                            Diagnostic::error(
                                "duplicate-setting",
                                what.span,
                                "`defaults iface` given twice",
                            )
                            .label("merge the two blocks"),
                            &None,
                        );
                        continue;
                    }
                    seen.push("iface");
                    let ctx = None;
                    for (k, v) in self.plain(
                        props,
                        &["mtu", "txqueuelen", "tx_ring", "qdisc"],
                        "interface default",
                        &ctx,
                    ) {
                        match k.name.as_str() {
                            "mtu" => idefs.mtu = self.mtu(v, &ctx),
                            "txqueuelen" => {
                                idefs.txqueuelen = self
                                    .int(v, 0, u32::MAX.into(), "`txqueuelen`", &ctx)
                                    .map(|x| x as u32);
                            }
                            _ => {
                                idefs.tx_ring =
                                    self.int(v, 1, 65536, "`tx_ring`", &ctx).map(|x| x as u32);
                            }
                        }
                    }
                    idefs.qdisc = self.qdisc_of(props, &ctx);
                }
                "link" => {
                    if seen.contains(&"link") {
                        self.push(
                            Diagnostic::error(
                                "duplicate-setting",
                                what.span,
                                "`defaults link` given twice",
                            )
                            .label("merge the two blocks"),
                            &None,
                        );
                        continue;
                    }
                    seen.push("link");
                    let ctx = None;
                    for (k, v) in self.plain(
                        props,
                        &["rate", "delay", "loss", "mtu"],
                        "link default",
                        &ctx,
                    ) {
                        self.link_prop(k, v, &mut ldefs, &ctx);
                    }
                }
                other => {
                    let d = Diagnostic::error(
                        "unknown-defaults",
                        what.span,
                        format!("no defaults for `{other}`"),
                    )
                    .label("expected `iface` or `link`")
                    .suggest(self.diags.suggest(other, ["iface", "link"]));
                    self.push(d, &None);
                }
            }
        }
        (idefs, ldefs)
    }

    fn mtu(&mut self, v: &Val, ctx: &Ctx) -> Option<u32> {
        self.typed(v, ParamType::Int, "`mtu`", ctx, |t| {
            let n = values::int(t)?;
            if !(68..=65535).contains(&n) {
                return Err(ValErr {
                    label: Some("IPv4 needs an MTU from 68 to 65535".into()),
                    ..ValErr::from(format!("MTU {n} is out of range"))
                });
            }
            Ok(n as u32)
        })
    }

    fn link_prop(&mut self, k: &Ident, v: &Val, out: &mut LinkDefaults, ctx: &Ctx) {
        match k.name.as_str() {
            "rate" => {
                if let Some(r) = self.rate(v, "`rate`", ctx) {
                    if r.bits_per_sec() == 0 {
                        self.push(
                            Diagnostic::error("bad-value", v.span, "a link rate must be above 0")
                                .label("nothing would ever arrive"),
                            ctx,
                        );
                    } else {
                        out.rate = Some(r);
                    }
                }
            }
            "delay" => out.delay = self.duration(v, "`delay`", ctx),
            "loss" => out.loss = self.ppm(v, "`loss`", ctx),
            _ => out.mtu = self.mtu(v, ctx),
        }
    }

    /// The `qdisc` of a property block, if any.
    fn qdisc_of(&mut self, props: &[IrProp], ctx: &Ctx) -> Option<QSpec> {
        let mut found: Option<(Span, QSpec)> = None;
        for p in props {
            let IrProp::Qdisc { kw, kind, args } = p else {
                continue;
            };
            if let Some((first, _)) = &found {
                let d = Diagnostic::error("duplicate-property", *kw, "`qdisc` is set twice")
                    .note_at(*first, "first set here");
                self.push(d, ctx);
                continue;
            }
            const KINDS: &[&str] = &["pfifo_fast", "pfifo", "tbf", "fq_codel", "noqueue"];
            let Some(k) = self.word(kind, KINDS, "qdisc", ctx) else {
                continue;
            };
            let allowed: &[&str] = match k {
                "pfifo" => &["limit"],
                "tbf" => &["rate", "burst", "latency"],
                "fq_codel" => &[
                    "limit",
                    "flows",
                    "target",
                    "interval",
                    "quantum",
                    "memory_limit",
                    "ecn",
                    "noecn",
                ],
                _ => &[],
            };
            let mut got: BTreeMap<&str, &Option<Val>> = BTreeMap::new();
            let mut ok = true;
            for (key, val) in args {
                if !allowed.contains(&key.name.as_str()) {
                    let label = if allowed.is_empty() {
                        format!("`{k}` takes no parameters")
                    } else {
                        format!("`{k}` takes {}", crate::diag::one_of(allowed))
                    };
                    let d = Diagnostic::error(
                        "unknown-property",
                        key.span,
                        format!("`{}` is not a parameter of `{k}`", key.name),
                    )
                    .label(label);
                    self.push(d, ctx);
                    ok = false;
                    continue;
                }
                if got.insert(&key.name, val).is_some() {
                    let d = Diagnostic::error(
                        "duplicate-property",
                        key.span,
                        format!("`{}` is set twice", key.name),
                    );
                    self.push(d, ctx);
                    ok = false;
                }
            }
            let spec = match k {
                "pfifo_fast" => Some(QSpec::Done(QdiscConfig::PfifoFast)),
                "noqueue" => Some(QSpec::Done(QdiscConfig::Noqueue)),
                "pfifo" => match got.get("limit") {
                    Some(Some(v)) => self
                        .int(v, 1, u32::MAX.into(), "`limit`", ctx)
                        .map(|l| QSpec::Done(QdiscConfig::Pfifo { limit: l as u32 })),
                    _ => Some(QSpec::PfifoTxqueuelen),
                },
                "tbf" => {
                    let missing: Vec<&str> = ["rate", "burst", "latency"]
                        .into_iter()
                        .filter(|k| !got.contains_key(k))
                        .collect();
                    if !missing.is_empty() {
                        let d = Diagnostic::error(
                            "missing-property",
                            kind.span,
                            format!(
                                "`tbf` needs {}",
                                crate::diag::one_of(&missing).replace(" or ", " and ")
                            ),
                        )
                        .label("e.g. `qdisc tbf rate 10Mbit burst 32KiB latency 50ms`");
                        self.push(d, ctx);
                        None
                    } else {
                        let get = |k: &str| got.get(k).and_then(|v| v.as_ref());
                        let rate = get("rate").and_then(|v| self.rate(v, "`rate`", ctx));
                        let burst = get("burst").and_then(|v| self.size(v, "`burst`", ctx));
                        let latency =
                            get("latency").and_then(|v| self.duration(v, "`latency`", ctx));
                        match (rate, burst, latency) {
                            (Some(rate), Some(burst), Some(latency)) => {
                                Some(QSpec::Done(QdiscConfig::Tbf {
                                    rate,
                                    burst,
                                    latency,
                                }))
                            }
                            _ => None,
                        }
                    }
                }
                _ => {
                    let mut c = FqCodelConfig::default();
                    for (key, val) in &got {
                        let Some(v) = val else {
                            c.ecn = *key == "ecn";
                            continue;
                        };
                        let what = format!("`{key}`");
                        match *key {
                            "limit" => {
                                c.limit = self
                                    .int(v, 1, u32::MAX.into(), &what, ctx)
                                    .map_or(c.limit, |x| x as u32)
                            }
                            "flows" => {
                                c.flows = self
                                    .int(v, 0, u32::MAX.into(), &what, ctx)
                                    .map_or(c.flows, |x| x as u32)
                            }
                            "quantum" => {
                                c.quantum = self
                                    .int(v, 1, u32::MAX.into(), &what, ctx)
                                    .map_or(c.quantum, |x| x as u32)
                            }
                            "target" => c.target = self.duration(v, &what, ctx).unwrap_or(c.target),
                            "interval" => {
                                c.interval = self.duration(v, &what, ctx).unwrap_or(c.interval)
                            }
                            _ => {
                                c.memory_limit = self.size(v, &what, ctx).unwrap_or(c.memory_limit)
                            }
                        }
                    }
                    Some(QSpec::Done(QdiscConfig::FqCodel(c)))
                }
            };
            // The kernel's own checks, as `World::build` makes them, pointed at the parameter.
            if let Some(QSpec::Done(q)) = &spec
                && let Err(e) = q.validate()
            {
                let span = got
                    .get(e.param())
                    .and_then(|v| v.as_ref())
                    .map_or(kind.span, |v| v.span);
                let d = Diagnostic::error("bad-value", span, e.to_string())
                    .label(format!("Linux refuses this `{}`", e.param()));
                self.push(d, ctx);
                ok = false;
            }
            if let (true, Some(s)) = (ok, spec) {
                found = Some((*kw, s));
            } else {
                found = Some((*kw, QSpec::Done(QdiscConfig::PfifoFast)));
            }
        }
        found.map(|(_, s)| s)
    }

    // ------------------------------------------------------------ sysctls

    fn sysctl_values(&mut self, s: &IrSysctl) -> Option<(String, Vec<String>)> {
        let name = sysctl::normalize(&s.name.name);
        let vals: Vec<&str> = s.values.iter().map(|v| v.text.as_str()).collect();
        // The name, the count and each value alone; the fragment thresholds' order against
        // each other is checked where they are applied, against the values they meet there.
        let mut probe = Sysctls {
            ipfrag_low_thresh: 0,
            ipfrag_high_thresh: u64::MAX,
            ..Sysctls::default()
        };
        match sysctl::apply(&mut probe, &name, &vals) {
            Ok(()) => Some((name, vals.iter().map(|v| (*v).to_string()).collect())),
            Err(SysErr::Unknown) => {
                let d = Diagnostic::error(
                    "unknown-sysctl",
                    s.name.span,
                    format!("unknown sysctl `{}`", s.name.name),
                )
                .label("not a setting the model knows")
                .suggest(sysctl::suggest_name(&name));
                self.push(d, &s.ctx);
                None
            }
            Err(SysErr::Arity { expected, example }) => {
                let d = Diagnostic::error(
                    "bad-value",
                    s.span,
                    format!(
                        "`{name}` takes {expected} value{}, found {}",
                        if expected == 1 { "" } else { "s" },
                        vals.len()
                    ),
                )
                .label(format!("e.g. `sysctl {name} = {example}`"));
                self.push(d, &s.ctx);
                None
            }
            Err(SysErr::Value { index, msg }) => {
                let span = s.values.get(index).map_or(s.span, |v| v.span);
                let d =
                    Diagnostic::error("bad-value", span, msg).label(format!("value of `{name}`"));
                self.push(d, &s.ctx);
                None
            }
        }
    }

    fn check_global_sysctls(&mut self, list: &[IrSysctl]) {
        let mut applied = Sysctls::default();
        for s in list {
            if let Some(v) = self.sysctl_values(s)
                && self.sysctl_apply(&mut applied, s, &v)
            {
                self.global_sysctls.push(v);
            }
        }
    }

    /// Applies a checked sysctl to `to`, reporting a value refused there (a fragment
    /// threshold on the wrong side of the other); whether it applied.
    fn sysctl_apply(&mut self, to: &mut Sysctls, s: &IrSysctl, v: &(String, Vec<String>)) -> bool {
        let vals: Vec<&str> = v.1.iter().map(String::as_str).collect();
        match sysctl::apply(to, &v.0, &vals) {
            Ok(()) => true,
            Err(SysErr::Value { index, msg }) => {
                let span = s.values.get(index).map_or(s.span, |x| x.span);
                let d =
                    Diagnostic::error("bad-value", span, msg).label(format!("value of `{}`", v.0));
                self.push(d, &s.ctx);
                false
            }
            Err(_) => false,
        }
    }

    // ------------------------------------------------------------ nodes

    fn node(&mut self, n: &IrNode, idefs: &IfaceDefaults) {
        let ctx = &n.ctx;
        let name = n.name.text.clone();
        if !valid_name(&name) {
            let d = Diagnostic::error(
                "bad-name",
                n.name.span,
                format!("`{name}` is not a valid node name"),
            )
            .label(
                "names start with a letter or `_`, then letters, digits, `_` or `-` (at most 64)",
            );
            self.push(d, ctx);
            return;
        }
        if let Some(&first) = self.by_name.get(&name) {
            let d = Diagnostic::error(
                "duplicate-node",
                n.name.span,
                format!("node `{name}` is defined twice"),
            )
            .label("second definition")
            .note_at(self.meta[first as usize].name_span, "first defined here");
            self.push(d, ctx);
            return;
        }
        let kind = match n.kind {
            Kind::Host => NodeKind::Host,
            Kind::Router => NodeKind::Router,
            Kind::Switch => NodeKind::Switch,
        };
        let mut node = NodeConfig {
            name: name.clone(),
            kind,
            ifaces: Vec::new(),
            routes: Vec::new(),
            sysctls: Sysctls::for_kind(kind),
            resolver: None,
            netfilter: Vec::new(),
        };
        let mut meta = NodeMeta {
            name_span: n.name.span,
            iface_index: BTreeMap::new(),
            ifaces: Vec::new(),
            routes: Vec::new(),
            resolver: None,
        };
        if kind != NodeKind::Switch {
            for (k, v) in self.global_sysctls.clone() {
                let vals: Vec<&str> = v.iter().map(String::as_str).collect();
                let _ = sysctl::apply(&mut node.sysctls, &k, &vals);
            }
        }
        for item in &n.items {
            if kind == NodeKind::Switch {
                let (span, ictx) = match item {
                    IrItem::Iface { span, ctx, .. }
                    | IrItem::Route { span, ctx, .. }
                    | IrItem::Resolver { span, ctx, .. }
                    | IrItem::Netfilter { span, ctx, .. } => (*span, ctx),
                    IrItem::Sysctl(s) => (s.span, &s.ctx),
                };
                let d = Diagnostic::error(
                    "switch-body",
                    span,
                    format!("a switch has no such setting (`{name}` is a switch)"),
                )
                .label("a switch is transparent at L3: no interfaces, addresses, routes or sysctls")
                .help("links create its ports: `link h.eth0 -- sw0 { … }`");
                self.push(d, ictx);
                continue;
            }
            match item {
                IrItem::Iface {
                    name: iname,
                    props,
                    span: _,
                    ctx,
                } => {
                    self.iface(&mut node, &mut meta, iname, props, idefs, ctx);
                }
                IrItem::Route {
                    dest,
                    dest_span,
                    via,
                    dev,
                    span,
                    ctx,
                } => {
                    self.route(
                        &mut meta,
                        dest.as_ref(),
                        *dest_span,
                        via.as_ref(),
                        dev.as_ref(),
                        *span,
                        ctx,
                    );
                }
                IrItem::Resolver { value, span, ctx } => {
                    if let Some((first, _)) = meta.resolver {
                        let d = Diagnostic::error(
                            "duplicate-property",
                            *span,
                            "`resolver` is set twice",
                        )
                        .note_at(first, "first set here");
                        self.push(d, ctx);
                    } else if let Some(a) = self.ip(value, "`resolver`", ctx) {
                        node.resolver = Some(a);
                        meta.resolver = Some((value.span, ctx.clone()));
                    }
                }
                IrItem::Sysctl(s) => {
                    if let Some(v) = self.sysctl_values(s) {
                        self.sysctl_apply(&mut node.sysctls, s, &v);
                    }
                }
                IrItem::Netfilter {
                    hook,
                    action,
                    matches,
                    span: _,
                    ctx,
                } => {
                    if let Some(r) = self.netfilter(hook, action, matches, ctx) {
                        node.netfilter.push(r);
                    }
                }
            }
        }
        node.ifaces.shrink_to_fit();
        meta.ifaces.shrink_to_fit();
        let id = self.nodes.len() as u32;
        self.by_name.insert(name, id);
        self.nodes.push(node);
        self.meta.push(meta);
    }

    fn iface(
        &mut self,
        node: &mut NodeConfig,
        meta: &mut NodeMeta,
        name: &Val,
        props: &[IrProp],
        idefs: &IfaceDefaults,
        ctx: &Ctx,
    ) {
        if !valid_name(&name.text) {
            let d = Diagnostic::error(
                "bad-name",
                name.span,
                format!("`{}` is not a valid interface name", name.text),
            )
            .label("names start with a letter or `_`, then letters, digits, `_` or `-`");
            self.push(d, ctx);
            return;
        }
        if let Some(&i) = meta.iface_index.get(&name.text) {
            let i = i as usize;
            let d = Diagnostic::error(
                "duplicate-iface",
                name.span,
                format!("interface `{}.{}` is defined twice", node.name, name.text),
            )
            .label("second definition")
            .note_at(meta.ifaces[i].name_span, "first defined here");
            self.push(d, ctx);
            return;
        }
        let mut cfg = IfaceConfig {
            name: name.text.clone(),
            addr: None,
            mac: MacAddr([0; 6]),
            mtu: idefs.mtu.unwrap_or(1500),
            txqueuelen: idefs.txqueuelen.unwrap_or(1000),
            qdisc: QdiscConfig::PfifoFast,
            tx_ring: idefs.tx_ring.unwrap_or(256),
        };
        let mut im = IfaceMeta {
            name_span: name.span,
            addr_span: None,
            mac_span: None,
            mtu_set: false,
            link: None,
            ctx: ctx.clone(),
        };
        for (k, v) in self.plain(
            props,
            &["ip", "mac", "mtu", "txqueuelen", "qdisc", "tx_ring"],
            "interface",
            ctx,
        ) {
            match k.name.as_str() {
                "ip" => {
                    if let Some(c) = self.iface_addr(v, ctx) {
                        cfg.addr = Some(c);
                        im.addr_span = Some(v.span);
                    }
                }
                "mac" => {
                    if let Some(m) = self.typed(v, ParamType::Word, "`mac`", ctx, |t| {
                        t.parse::<MacAddr>().map_err(|e| ValErr {
                            label: Some(
                                "`mac` takes six hex bytes such as `02:00:00:00:00:01`".into(),
                            ),
                            ..ValErr::from(e.to_string())
                        })
                    }) {
                        if m.is_multicast() || m.0 == [0; 6] {
                            let d = Diagnostic::error("bad-mac", v.span, format!("{m} cannot be an interface address"))
                                .label(if m.is_multicast() { "the group bit (01 in the first byte) is set" } else { "all zeros" })
                                .help("use a locally administered unicast address such as 02:00:00:00:00:01");
                            self.push(d, ctx);
                        } else {
                            cfg.mac = m;
                            im.mac_span = Some(v.span);
                        }
                    }
                }
                "mtu" => {
                    if let Some(m) = self.mtu(v, ctx) {
                        cfg.mtu = m;
                        im.mtu_set = true;
                    }
                }
                "txqueuelen" => {
                    if let Some(q) = self.int(v, 0, u32::MAX.into(), "`txqueuelen`", ctx) {
                        cfg.txqueuelen = q as u32;
                    }
                }
                _ => {
                    if let Some(r) = self.int(v, 1, 65536, "`tx_ring`", ctx) {
                        cfg.tx_ring = r as u32;
                    }
                }
            }
        }
        let spec = self.qdisc_of(props, ctx).or_else(|| idefs.qdisc.clone());
        cfg.qdisc = match spec {
            None => QdiscConfig::PfifoFast,
            Some(QSpec::Done(q)) => q,
            Some(QSpec::PfifoTxqueuelen) => QdiscConfig::Pfifo {
                limit: cfg.txqueuelen.max(1),
            },
        };
        meta.iface_index
            .insert(cfg.name.clone(), node.ifaces.len() as u32);
        node.ifaces.push(cfg);
        meta.ifaces.push(im);
    }

    /// An interface address `a.b.c.d/n` that is a usable host address.
    fn iface_addr(&mut self, v: &Val, ctx: &Ctx) -> Option<Ipv4Cidr> {
        let c = self.typed(v, ParamType::Cidr, "`ip`", ctx, |t| {
            if !t.contains('/') && values::ip(t).is_ok() {
                return Err(ValErr {
                    help: Some(format!("write the subnet size too, e.g. `{t}/24`")),
                    ..ValErr::from(format!("`{t}` has no prefix length"))
                });
            }
            t.parse::<Ipv4Cidr>().map_err(|e| cidr_err(t, &e))
        })?;
        let bad = if c.prefix_len == 0 {
            Some("a /0 prefix makes every address on-link".to_string())
        } else if c.prefix_len <= 30 && c.addr == c.network() {
            Some(format!(
                "{} is the network address of {}/{}",
                c.addr,
                c.network(),
                c.prefix_len
            ))
        } else if c.prefix_len <= 30 && c.addr == c.broadcast() {
            Some(format!(
                "{} is the broadcast address of {}/{}",
                c.addr,
                c.network(),
                c.prefix_len
            ))
        } else {
            None
        };
        if let Some(msg) = bad {
            let first_host = Ipv4Addr::from_bits(c.network().to_bits() | 1);
            let d = Diagnostic::error(
                "bad-cidr",
                v.span,
                format!("bad interface address {c}: {msg}"),
            )
            .label("not a host address")
            .help(format!(
                "use a host address such as {first_host}/{}",
                c.prefix_len
            ));
            self.push(d, ctx);
            return None;
        }
        Some(c)
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &mut self,
        meta: &mut NodeMeta,
        dest: Option<&Val>,
        dest_span: Span,
        via: Option<&Val>,
        dev: Option<&Val>,
        span: Span,
        ctx: &Ctx,
    ) {
        let cidr = match dest {
            None => Some(Ipv4Cidr {
                addr: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
            }),
            Some(v) => self.typed(v, ParamType::Cidr, "`route`", ctx, |t| {
                if !t.contains('/') {
                    return values::ip(t)
                        .map(|a| Ipv4Cidr {
                            addr: a,
                            prefix_len: 32,
                        })
                        .map_err(ValErr::from);
                }
                let c = t.parse::<Ipv4Cidr>().map_err(|e| cidr_err(t, &e))?;
                if c.addr != c.network() {
                    return Err(ValErr {
                        help: Some(format!("did you mean `{}/{}`?", c.network(), c.prefix_len)),
                        ..ValErr::from(format!("bad CIDR `{t}`: the address has host bits set"))
                    });
                }
                Ok(c)
            }),
        };
        let gateway = match via {
            Some(v) => match self.ip(v, "`via`", ctx) {
                Some(a) => Some(a),
                None => return,
            },
            None => None,
        };
        let Some(cidr) = cidr else { return };
        if via.is_none() && dev.is_none() {
            let d = Diagnostic::error(
                "bad-route",
                span,
                "a route needs `via ADDRESS` or `dev IFACE`",
            )
            .label("where should packets go?");
            self.push(d, ctx);
            return;
        }
        if let Some(first) = meta
            .routes
            .iter()
            .find(|r| r.route.dest == cidr.addr && r.route.prefix_len == cidr.prefix_len)
        {
            let d = Diagnostic::error(
                "duplicate-route",
                dest_span,
                format!(
                    "a route to {}/{} is already set",
                    cidr.addr, cidr.prefix_len
                ),
            )
            .note_at(first.span, "first route");
            self.push(d, ctx);
            return;
        }
        meta.routes.push(PendingRoute {
            route: RouteConfig {
                dest: cidr.addr,
                prefix_len: cidr.prefix_len,
                gateway,
                dev: None,
            },
            dev_val: dev.cloned(),
            via_span: via.map(|v| v.span),
            span,
            ctx: ctx.clone(),
        });
    }

    /// Resolves `dev` names of routes (interfaces may be declared after the route).
    fn resolve_routes_dev(&mut self) {
        for ni in 0..self.nodes.len() {
            let pending = std::mem::take(&mut self.meta[ni].routes);
            let mut kept = Vec::new();
            for mut p in pending {
                if let Some(dv) = &p.dev_val {
                    match self.meta[ni].iface_index.get(&dv.text) {
                        Some(&i) => p.route.dev = Some(IfaceId(i)),
                        None => {
                            self.unknown_iface(ni, dv, &p.ctx);
                            continue;
                        }
                    }
                }
                self.nodes[ni].routes.push(p.route.clone());
                kept.push(p);
            }
            self.meta[ni].routes = kept;
        }
    }

    /// Reports `v` as an unknown interface of node `ni`.
    fn unknown_iface(&mut self, ni: usize, v: &Val, ctx: &Ctx) {
        self.report("unknown-iface", v.span, ctx, |l| {
            let node = &l.nodes[ni];
            let hint = l
                .diags
                .suggest(&v.text, node.ifaces.iter().map(|i| i.name.as_str()));
            let name = |i: usize| node.ifaces[i].name.as_str();
            let label = match node.ifaces.len() {
                0 => format!("`{}` has no interfaces", node.name),
                n @ 1..=6 => {
                    let names: Vec<&str> = (0..n).map(name).collect();
                    format!("`{}` has {}", node.name, crate::diag::one_of(&names))
                }
                n => format!(
                    "`{}` has {n} interfaces: {}, {}, {}, …, {}",
                    node.name,
                    name(0),
                    name(1),
                    name(2),
                    name(n - 1)
                ),
            };
            Diagnostic::error(
                "unknown-iface",
                v.span,
                format!("unknown interface `{}.{}`", node.name, v.text),
            )
            .label(label)
            .suggest(hint)
        });
    }

    fn netfilter(
        &mut self,
        hook: &Ident,
        action: &Ident,
        matches: &[(Ident, Val)],
        ctx: &Ctx,
    ) -> Option<NetfilterRule> {
        const HOOKS: &[&str] = &["prerouting", "input", "forward", "output", "postrouting"];
        let h = hook.name.to_ascii_lowercase();
        let hook_v = match h.as_str() {
            "prerouting" => NfHook::PreRouting,
            "input" => NfHook::Input,
            "forward" => NfHook::Forward,
            "output" => NfHook::Output,
            "postrouting" => NfHook::PostRouting,
            _ => {
                let d = Diagnostic::error(
                    "bad-value",
                    hook.span,
                    format!("unknown netfilter hook `{}`", hook.name),
                )
                .label(format!("expected {}", crate::diag::one_of(HOOKS)))
                .suggest(self.diags.suggest(&h, HOOKS.iter().copied()));
                self.push(d, ctx);
                return None;
            }
        };
        let action_v = match action.name.to_ascii_lowercase().as_str() {
            "accept" => NfAction::Accept,
            "drop" => NfAction::Drop,
            _ => {
                let d = Diagnostic::error(
                    "bad-value",
                    action.span,
                    format!("unknown netfilter action `{}`", action.name),
                )
                .label("expected `accept` or `drop`")
                .suggest(self.diags.suggest(&action.name, ["accept", "drop"]));
                self.push(d, ctx);
                return None;
            }
        };
        let mut rule = NetfilterRule::new(hook_v, action_v);
        const KEYS: &[&str] = &[
            "proto", "src", "dst", "sport", "dport", "flags", "every", "packet",
        ];
        let mut ok = true;
        // `every N packet P`: N, and P with where it was written, checked together below.
        let mut every: Option<(u32, &Val)> = None;
        let mut packet: Option<(u32, &Ident, &Val)> = None;
        for (k, v) in matches {
            let what = format!("`{}`", k.name);
            match k.name.as_str() {
                "proto" => match self.word(v, &["tcp", "udp", "icmp"], "protocol", ctx) {
                    Some("tcp") => rule.proto = Some(NfProto::Tcp),
                    Some("udp") => rule.proto = Some(NfProto::Udp),
                    Some(_) => rule.proto = Some(NfProto::Icmp),
                    None => ok = false,
                },
                "src" | "dst" => {
                    let c = self.typed(v, ParamType::Cidr, &what, ctx, |t| {
                        if t.contains('/') {
                            t.parse::<Ipv4Cidr>()
                                .map_err(|e| ValErr::from(e.to_string()))
                        } else {
                            values::ip(t)
                                .map(|a| Ipv4Cidr {
                                    addr: a,
                                    prefix_len: 32,
                                })
                                .map_err(ValErr::from)
                        }
                    });
                    match c {
                        Some(c) if k.name == "src" => rule.src = Some(c),
                        Some(c) => rule.dst = Some(c),
                        None => ok = false,
                    }
                }
                "sport" | "dport" => match self.typed(v, ParamType::Int, &what, ctx, |t| {
                    values::port(t).map_err(ValErr::from)
                }) {
                    Some(p) if k.name == "sport" => rule.sport = Some(p),
                    Some(p) => rule.dport = Some(p),
                    None => ok = false,
                },
                "flags" => {
                    for f in v.text.split(',') {
                        let bit = match f.to_ascii_lowercase().as_str() {
                            "fin" => 0x01,
                            "syn" => 0x02,
                            "rst" => 0x04,
                            "psh" => 0x08,
                            "ack" => 0x10,
                            "urg" => 0x20,
                            _ => {
                                let d = Diagnostic::error(
                                    "bad-value",
                                    v.span,
                                    format!("unknown TCP flag `{f}`"),
                                )
                                .label("expected flags such as `syn`, `rst` or `syn,ack`");
                                self.push(d, ctx);
                                ok = false;
                                continue;
                            }
                        };
                        rule.tcp_flags |= bit;
                    }
                    if rule.proto.is_none() {
                        rule.proto = Some(NfProto::Tcp);
                    }
                }
                "every" => match self.int(v, 0, i64::from(u32::MAX), &what, ctx) {
                    Some(n) => every = Some((n as u32, v)),
                    None => ok = false,
                },
                "packet" => match self.int(v, 0, i64::from(u32::MAX), &what, ctx) {
                    Some(p) => packet = Some((p as u32, k, v)),
                    None => ok = false,
                },
                _ => {
                    let d = Diagnostic::error(
                        "unknown-property",
                        k.span,
                        format!("unknown netfilter match `{}`", k.name),
                    )
                    .label(format!("expected {}", crate::diag::one_of(KEYS)))
                    .suggest(self.diags.suggest(&k.name, KEYS.iter().copied()));
                    self.push(d, ctx);
                    ok = false;
                }
            }
        }
        // iptables: `--packet can only be used with --every`; the rest is `Nth`'s to say.
        match (every, packet) {
            (Some((n, every_val)), p) => {
                let nth = NfNth {
                    every: n,
                    packet: p.map_or(0, |(p, _, _)| p),
                };
                match nth.validate() {
                    Ok(()) => rule.nth = Some(nth),
                    Err(e) => {
                        let d = match (e, p) {
                            (NthError::PacketNotBelow { every, .. }, Some((_, _, v))) => {
                                Diagnostic::error("bad-value", v.span, e.to_string()).label(
                                    format!(
                                        "the packets of each group of {every} are numbered from 0 to {}",
                                        every - 1
                                    ),
                                )
                            }
                            _ => Diagnostic::error("bad-value", every_val.span, e.to_string())
                                .label("`every N` matches one packet of every N"),
                        };
                        let d = d.help(
                            "`every N packet P` matches packets P, P + N, P + 2N, … counting from 0",
                        );
                        self.push(d, ctx);
                        ok = false;
                    }
                }
            }
            (None, Some((_, k, _))) => {
                let d = Diagnostic::error("bad-value", k.span, "`packet` without `every`")
                    .label("`packet P` numbers a packet within `every N`")
                    .help(
                        "write both, as `every 1000 packet 0` (iptables' `--every` and `--packet`)",
                    );
                self.push(d, ctx);
                ok = false;
            }
            (None, None) => {}
        }
        ok.then_some(rule)
    }

    // ------------------------------------------------------------ links

    fn lookup_node(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<u32> {
        if let Some(&id) = self.by_name.get(&v.text) {
            return Some(id);
        }
        if !self.muted(&v.text) {
            self.report("unknown-node", v.span, ctx, |l| {
                let hint = l
                    .diags
                    .suggest(&v.text, l.by_name.keys().map(String::as_str));
                Diagnostic::error("unknown-node", v.span, format!("unknown node `{}`", v.text))
                    .label(format!("expected {what}"))
                    .suggest(hint)
            });
        }
        None
    }

    /// One end of a link: `Ok((node, Some(iface)))`, or `(switch, None)`.
    fn end(&mut self, e: &IrEnd, ctx: &Ctx) -> Option<(u32, Option<u32>)> {
        let ni = self.lookup_node(&e.node, "the name of a host, router or switch", ctx)?;
        let node = &self.nodes[ni as usize];
        match (&e.iface, node.kind) {
            (Some(i), NodeKind::Switch) => {
                let d = Diagnostic::error(
                    "switch-port",
                    i.span,
                    format!("`{}` is a switch: links create its ports", node.name),
                )
                .label("remove this")
                .help(format!("write just `{}`", node.name));
                self.push(d, ctx);
                None
            }
            (None, NodeKind::Switch) => Some((ni, None)),
            (None, _) => {
                let mut d = Diagnostic::error(
                    "missing-iface",
                    e.node.span,
                    format!(
                        "`{}` is a {}: a link connects one of its interfaces",
                        node.name,
                        kind_name(node.kind)
                    ),
                )
                .label("expected `node.iface`");
                if let Some(first) = node.ifaces.first() {
                    d = d.help(format!("did you mean `{}.{}`?", node.name, first.name));
                }
                self.push(d, ctx);
                None
            }
            (Some(i), _) => match self.meta[ni as usize].iface_index.get(&i.text) {
                Some(&ii) => Some((ni, Some(ii))),
                None => {
                    self.unknown_iface(ni as usize, i, ctx);
                    None
                }
            },
        }
    }

    fn link(
        &mut self,
        l: &IrLink,
        ldefs: &LinkDefaults,
        idefs: &IfaceDefaults,
        switch_uf: &mut UnionFind<usize>,
    ) {
        let ctx = &l.ctx;
        let a = self.end(&l.a, ctx);
        let b = self.end(&l.b, ctx);
        let mut props = ldefs.clone();
        let mut own = LinkDefaults::default();
        for (k, v) in self.plain(&l.props, &["rate", "delay", "loss", "mtu"], "link", ctx) {
            self.link_prop(k, v, &mut own, ctx);
        }
        props.rate = own.rate.or(props.rate);
        props.delay = own.delay.or(props.delay);
        props.loss = own.loss.or(props.loss);
        props.mtu = own.mtu.or(props.mtu);
        let given: Vec<&str> = l
            .props
            .iter()
            .filter_map(|p| match p {
                IrProp::Plain { key, .. } => Some(key.name.as_str()),
                _ => None,
            })
            .collect();
        let mut missing = Vec::new();
        if props.rate.is_none() && !given.contains(&"rate") {
            missing.push("rate");
        }
        if props.delay.is_none() && !given.contains(&"delay") {
            missing.push("delay");
        }
        if !missing.is_empty() {
            let d = Diagnostic::error(
                "missing-property",
                l.span,
                format!(
                    "link needs {}",
                    crate::diag::one_of(&missing).replace(" or ", " and ")
                ),
            )
            .label("e.g. `{ rate 1Gbit  delay 1ms }`")
            .help("or set them for every link with `defaults link { rate …  delay … }`");
            self.push(d, ctx);
            return;
        }
        let (Some(a), Some(b), Some(rate), Some(delay)) = (a, b, props.rate, props.delay) else {
            return;
        };
        if a.0 == b.0 {
            let d = Diagnostic::error(
                "self-link",
                l.span,
                format!("link from `{}` to itself", self.nodes[a.0 as usize].name),
            )
            .label("both ends are on the same node");
            self.push(d, ctx);
            return;
        }
        // An interface in two links.
        for (end, ir) in [(a, &l.a), (b, &l.b)] {
            if let (n, Some(i)) = end
                && let Some(first) = self.meta[n as usize].ifaces[i as usize].link
            {
                let d = Diagnostic::error(
                    "iface-reused",
                    ir.span,
                    format!("`{}` is already in a link", ir_end_name(ir)),
                )
                .label("an interface connects to one link only")
                .note_at(first, "first link")
                .help("add another interface, or connect the hosts through a switch");
                self.push(d, ctx);
                return;
            }
        }
        // Switch loops.
        if a.1.is_none() && b.1.is_none() {
            if switch_uf.equiv(a.0 as usize, b.0 as usize) {
                let d = Diagnostic::error(
                    "switch-loop",
                    l.span,
                    format!(
                        "this link closes a loop of switches (`{}` and `{}` are already connected)",
                        self.nodes[a.0 as usize].name, self.nodes[b.0 as usize].name
                    ),
                )
                .label("learning switches without STP would flood frames around the loop forever");
                self.push(d, ctx);
                return;
            }
            switch_uf.union(a.0 as usize, b.0 as usize);
        }
        let mut ends = [LinkEnd {
            node: NodeId(0),
            iface: IfaceId(0),
        }; 2];
        for (k, (n, i)) in [a, b].into_iter().enumerate() {
            let iface = match i {
                Some(i) => {
                    let m = &mut self.meta[n as usize].ifaces[i as usize];
                    m.link = Some(l.span);
                    if !m.mtu_set
                        && let Some(mtu) = props.mtu
                    {
                        self.nodes[n as usize].ifaces[i as usize].mtu = mtu;
                    }
                    i
                }
                None => {
                    let sw = &mut self.nodes[n as usize];
                    let idx = sw.ifaces.len() as u32;
                    sw.ifaces.push(IfaceConfig {
                        name: format!("p{}", idx + 1),
                        addr: None,
                        mac: MacAddr([0; 6]),
                        mtu: props.mtu.or(idefs.mtu).unwrap_or(1500),
                        txqueuelen: idefs.txqueuelen.unwrap_or(1000),
                        qdisc: match &idefs.qdisc {
                            None => QdiscConfig::PfifoFast,
                            Some(QSpec::Done(q)) => q.clone(),
                            Some(QSpec::PfifoTxqueuelen) => QdiscConfig::Pfifo {
                                limit: idefs.txqueuelen.unwrap_or(1000).max(1),
                            },
                        },
                        tx_ring: idefs.tx_ring.unwrap_or(256),
                    });
                    self.meta[n as usize].ifaces.push(IfaceMeta {
                        name_span: l.span,
                        addr_span: None,
                        mac_span: None,
                        mtu_set: true,
                        link: Some(l.span),
                        ctx: ctx.clone(),
                    });
                    idx
                }
            };
            ends[k] = LinkEnd {
                node: NodeId(n),
                iface: IfaceId(iface),
            };
        }
        self.links.push(LinkConfig {
            a: ends[0],
            b: ends[1],
            rate,
            delay,
            loss_ppm: props.loss.unwrap_or(0),
            mtu: props.mtu,
        });
    }

    // ------------------------------------------------------------ addresses

    /// Explicit MACs are checked for duplicates on a segment; the others are derived from a
    /// hash of `node\0iface` (FNV-1a, 40 bits after `02:`), bumped past any collision.
    fn assign_macs(&mut self, net: &Net) {
        let mut used: BTreeSet<[u8; 6]> = BTreeSet::new();
        let mut by_seg: BTreeMap<(u32, [u8; 6]), (u32, u32)> = BTreeMap::new();
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                let Some(span) = self.meta[ni].ifaces[ii].mac_span else {
                    continue;
                };
                let mac = self.nodes[ni].ifaces[ii].mac;
                used.insert(mac.0);
                let seg = net.seg[ni][ii];
                if let Some(&(fn_, fi)) = by_seg.get(&(seg, mac.0)) {
                    let first = self.meta[fn_ as usize].ifaces[fi as usize]
                        .mac_span
                        .unwrap_or(span);
                    let other = format!(
                        "{}.{}",
                        self.nodes[fn_ as usize].name,
                        self.nodes[fn_ as usize].ifaces[fi as usize].name
                    );
                    let ctx = self.meta[ni].ifaces[ii].ctx.clone();
                    let d = Diagnostic::error(
                        "duplicate-mac",
                        span,
                        format!("MAC {mac} is already used by `{other}` on the same link"),
                    )
                    .label("duplicate hardware address")
                    .note_at(first, "first used here");
                    self.push(d, &ctx);
                } else {
                    by_seg.insert((seg, mac.0), (ni as u32, ii as u32));
                }
            }
        }
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                if self.meta[ni].ifaces[ii].mac_span.is_some() {
                    continue;
                }
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                let node = &self.nodes[ni];
                for b in node
                    .name
                    .bytes()
                    .chain([0])
                    .chain(node.ifaces[ii].name.bytes())
                {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
                let mut v = h & 0xff_ffff_ffff;
                loop {
                    let b = v.to_be_bytes();
                    let mac = [0x02, b[3], b[4], b[5], b[6], b[7]];
                    if used.insert(mac) {
                        self.nodes[ni].ifaces[ii].mac = MacAddr(mac);
                        break;
                    }
                    v = (v + 1) & 0xff_ffff_ffff;
                }
            }
        }
    }

    fn port_name(&self, n: u32, i: u32) -> String {
        let node = &self.nodes[n as usize];
        format!("{}.{}", node.name, node.ifaces[i as usize].name)
    }

    fn check_addresses(&mut self, net: &Net) {
        // Duplicates.
        let mut seen: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        let mut subnets: Vec<(u32, u8, u32, u32, u32)> = Vec::new(); // (network, len, seg, node, iface)
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                let Some(a) = self.nodes[ni].ifaces[ii].addr else {
                    continue;
                };
                let span = self.meta[ni].ifaces[ii].addr_span.expect("address span");
                if let Some(&(fn_, fi)) = seen.get(&a.addr.to_bits()) {
                    let first = self.meta[fn_ as usize].ifaces[fi as usize]
                        .addr_span
                        .expect("span");
                    let ctx = self.meta[ni].ifaces[ii].ctx.clone();
                    let d = Diagnostic::error(
                        "duplicate-address",
                        span,
                        format!(
                            "address {} is already used by `{}`",
                            a.addr,
                            self.port_name(fn_, fi)
                        ),
                    )
                    .label("duplicate address")
                    .note_at(first, "first used here");
                    self.push(d, &ctx);
                    continue;
                }
                seen.insert(a.addr.to_bits(), (ni as u32, ii as u32));
                if self.meta[ni].ifaces[ii].link.is_none() {
                    continue; // not on any link: cannot clash with anything
                }
                subnets.push((
                    a.network().to_bits(),
                    a.prefix_len,
                    net.seg[ni][ii],
                    ni as u32,
                    ii as u32,
                ));
            }
        }
        // Overlaps between segments: sweep the subnets in address order, keeping the chain of
        // enclosing subnets.
        subnets.sort_by_key(|&(netw, len, seg, n, i)| (netw, len, seg, n, i));
        let mut stack: Vec<(u64, u8, u32, u32, u32)> = Vec::new(); // (end, len, seg, node, iface)
        let mut reported: BTreeSet<(u32, u8)> = BTreeSet::new();
        for &(netw, len, seg, n, i) in &subnets {
            let start = u64::from(netw);
            let end = start + (1u64 << (32 - u32::from(len))) - 1;
            while stack.last().is_some_and(|&(e, ..)| e < start) {
                stack.pop();
            }
            if let Some(&(_, olen, oseg, on, oi)) = stack.last()
                && oseg != seg
            {
                if reported.insert((netw, len)) {
                    let span = self.meta[n as usize].ifaces[i as usize]
                        .addr_span
                        .expect("span");
                    let ospan = self.meta[on as usize].ifaces[oi as usize]
                        .addr_span
                        .expect("span");
                    let other = self.nodes[on as usize].ifaces[oi as usize]
                        .addr
                        .expect("addr");
                    let ctx = self.meta[n as usize].ifaces[i as usize].ctx.clone();
                    let msg = if olen == len {
                        format!(
                            "subnet {}/{len} is used on two different links",
                            Ipv4Addr::from_bits(netw)
                        )
                    } else {
                        format!(
                            "subnet {}/{len} overlaps {}/{olen} of `{}`, which is on another link",
                            Ipv4Addr::from_bits(netw),
                            other.network(),
                            self.port_name(on, oi)
                        )
                    };
                    let d = Diagnostic::error("overlapping-subnets", span, msg)
                        .label(format!(
                            "`{}` is on a different link than `{}`",
                            self.port_name(n, i),
                            self.port_name(on, oi)
                        ))
                        .note_at(ospan, "the other subnet")
                        .help("give every link (or switch) its own subnet");
                    self.push(d, &ctx);
                }
                continue;
            }
            if stack
                .last()
                .is_some_and(|&(e, l, s, ..)| e == end && l == len && s == seg)
            {
                continue;
            }
            stack.push((end, len, seg, n, i));
        }
        // Different subnets on one segment.
        for members in &net.members {
            let mut first: Option<(Ipv4Cidr, u32, u32)> = None;
            for &(n, i) in members {
                let Some(a) = self.nodes[n as usize].ifaces[i as usize].addr else {
                    continue;
                };
                match first {
                    None => first = Some((a, n, i)),
                    Some((f, fn_, fi))
                        if f.network() != a.network() || f.prefix_len != a.prefix_len =>
                    {
                        let span = self.meta[n as usize].ifaces[i as usize]
                            .addr_span
                            .expect("span");
                        let ctx = self.meta[n as usize].ifaces[i as usize].ctx.clone();
                        let d = Diagnostic::warning(
                            "mixed-subnets",
                            span,
                            format!(
                                "`{}` ({a}) and `{}` ({f}) are on the same link but in different subnets",
                                self.port_name(n, i),
                                self.port_name(fn_, fi)
                            ),
                        )
                        .label("they cannot reach each other directly");
                        self.push(d, &ctx);
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
    }

    fn check_gateways(&mut self) {
        for ni in 0..self.nodes.len() {
            for p in self.meta[ni].routes.clone() {
                let Some(gw) = p.route.gateway else { continue };
                let node = &self.nodes[ni];
                let span = p.via_span.unwrap_or(p.span);
                if node
                    .ifaces
                    .iter()
                    .any(|i| i.addr.is_some_and(|a| a.addr == gw))
                {
                    let d = Diagnostic::error(
                        "bad-gateway",
                        span,
                        format!("gateway {gw} is an address of `{}` itself", node.name),
                    )
                    .label("a gateway is a neighbour's address");
                    self.push(d, &p.ctx);
                    continue;
                }
                let ok = match p.route.dev {
                    Some(d) => node.ifaces[d.index()].addr.is_some_and(|a| a.contains(gw)),
                    None => node
                        .ifaces
                        .iter()
                        .any(|i| i.addr.is_some_and(|a| a.contains(gw))),
                };
                if ok {
                    continue;
                }
                let subnets: Vec<String> = node
                    .ifaces
                    .iter()
                    .filter_map(|i| {
                        i.addr
                            .map(|a| format!("{} ({}/{})", i.name, a.network(), a.prefix_len))
                    })
                    .collect();
                let msg = match p.route.dev {
                    Some(d) => format!(
                        "gateway {gw} is not on the subnet of `{}.{}`",
                        node.name,
                        node.ifaces[d.index()].name
                    ),
                    None => format!(
                        "gateway {gw} is not on any connected subnet of `{}`",
                        node.name
                    ),
                };
                let label = if subnets.is_empty() {
                    format!("`{}` has no addressed interface", node.name)
                } else {
                    format!("connected: {}", subnets.join(", "))
                };
                let d = Diagnostic::error("gateway-off-link", span, msg)
                    .label(label)
                    .help("a gateway must be a neighbour on one of the node's own subnets");
                self.push(d, &p.ctx);
            }
        }
    }

    fn unlinked_warnings(&mut self) {
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                let m = &self.meta[ni].ifaces[ii];
                if m.link.is_none() {
                    let (span, ctx) = (m.name_span, m.ctx.clone());
                    let d = Diagnostic::warning(
                        "unlinked-iface",
                        span,
                        format!(
                            "interface `{}` is not connected to any link",
                            self.port_name(ni as u32, ii as u32)
                        ),
                    )
                    .label("no link uses it");
                    self.push(d, &ctx);
                }
            }
        }
    }

    fn check_resolvers(&mut self, net: &Net, fibs: &[Fib]) {
        for ni in 0..self.nodes.len() {
            let (Some(r), Some((span, ctx))) =
                (self.nodes[ni].resolver, self.meta[ni].resolver.clone())
            else {
                continue;
            };
            if let Some(msg) = self.unreachable(net, fibs, ni as u32, r) {
                let d = Diagnostic::error(
                    "unreachable-resolver",
                    span,
                    format!("resolver {r} is unreachable from `{}`: {msg}", self.nodes[ni].name),
                )
                .label("DNS queries would be lost")
                .help("add routes (or `routing auto`), or point the resolver at a reachable DNS server");
                self.push(d, &ctx);
            }
        }
    }

    /// Why `to` cannot be reached from `from` and answered, if it cannot.
    fn unreachable(&self, net: &Net, fibs: &[Fib], from: u32, to: Ipv4Addr) -> Option<String> {
        if !net.owner.contains_key(&to.to_bits()) {
            return Some(format!("no interface has address {to}"));
        }
        match routing::trace(&self.nodes, fibs, net, from, to) {
            Err(lost) => Some(lost.describe(&self.nodes, to)),
            Ok((src, path)) => {
                let back_from = *path.last().expect("path");
                match routing::trace(&self.nodes, fibs, net, back_from, src) {
                    Ok(_) => None,
                    Err(lost) => Some(format!(
                        "replies to {src} are lost: {}",
                        lost.describe(&self.nodes, src)
                    )),
                }
            }
        }
    }

    // ------------------------------------------------------------ apps

    fn apps(
        &mut self,
        apps: &[IrApp],
        end: SimTime,
        checks: Option<(&Net, &[Fib])>,
    ) -> Vec<AppConfig> {
        let mut out: Vec<AppConfig> = Vec::new();
        let mut metas: Vec<AppMeta> = Vec::new();
        let mut listeners: BTreeMap<(u32, u8, u16), Span> = BTreeMap::new();
        for a in apps {
            if let Some((cfg, meta)) = self.app(a, end) {
                let listen = match &cfg.kind {
                    AppKind::DnsServer { .. } => Some((17u8, 53u16)),
                    AppKind::HttpServer { port, .. } | AppKind::TcpSink { port } => {
                        Some((6, *port))
                    }
                    AppKind::UdpSink { port } => Some((17, *port)),
                    _ => None,
                };
                if let Some((proto, port)) = listen {
                    let key = (cfg.node.0, proto, port);
                    if let Some(first) = listeners.get(&key) {
                        let d = Diagnostic::error(
                            "port-in-use",
                            a.span,
                            format!(
                                "{} port {port} of `{}` is already taken by another app",
                                if proto == 6 { "TCP" } else { "UDP" },
                                self.nodes[cfg.node.index()].name
                            ),
                        )
                        .label("bind() would fail with EADDRINUSE")
                        .note_at(*first, "first app on this port");
                        self.push(d, &a.ctx);
                        continue;
                    }
                    listeners.insert(key, a.span);
                }
                out.push(cfg);
                metas.push(meta);
            }
        }
        if let Some((net, fibs)) = checks {
            self.check_destinations(&out, &metas, &listeners, net, fibs);
        }
        out
    }

    fn app(&mut self, a: &IrApp, end: SimTime) -> Option<(AppConfig, AppMeta)> {
        let ctx = &a.ctx;
        const KINDS: &[&str] = &[
            "dns_server",
            "http_server",
            "curl",
            "tcp_bulk",
            "tcp_sink",
            "udp_cbr",
            "udp_sink",
            "ping",
        ];
        let node = self.lookup_node(&a.node, "the host or router the app runs on", ctx);
        let kind = a.kind.name.as_str();
        let user = sim_stack::apps::registry::find(kind);
        if !KINDS.contains(&kind) && user.is_none() {
            let mut known: Vec<&str> = KINDS.to_vec();
            let users = sim_stack::apps::registry::names();
            known.extend(users.iter().copied());
            let d = Diagnostic::error("unknown-app", a.kind.span, format!("unknown app `{kind}`"))
                .label(format!("expected {}", crate::diag::one_of(&known)))
                .suggest(self.diags.suggest(kind, known.iter().copied()));
            self.push(d, ctx);
            return None;
        }
        let node = node?;
        if self.nodes[node as usize].kind == NodeKind::Switch {
            let d = Diagnostic::error(
                "app-on-switch",
                a.node.span,
                format!("`{}` is a switch and cannot run apps", a.node.text),
            )
            .label("apps run on hosts and routers");
            self.push(d, ctx);
            return None;
        }
        // Timing.
        let mut start = SimTime::ZERO;
        let mut stop = None;
        let mut seen: Vec<&str> = Vec::new();
        for (kw, v) in &a.timings {
            if seen.contains(&kw.name.as_str()) {
                let d = Diagnostic::error(
                    "duplicate-property",
                    kw.span,
                    format!("`{}` is given twice", kw.name),
                );
                self.push(d, ctx);
                continue;
            }
            seen.push(&kw.name);
            let Some(d) = self.duration(v, &format!("`{}`", kw.name), ctx) else {
                continue;
            };
            let t = SimTime::from_nanos(d.as_nanos());
            if kw.name == "at" {
                start = t;
            } else {
                stop = Some((t, v.span));
            }
        }
        if let Some((t, span)) = stop
            && t <= start
        {
            let d = Diagnostic::error(
                "bad-timing",
                span,
                format!(
                    "the app stops at {} but starts at {}",
                    t.since_start(),
                    start.since_start()
                ),
            )
            .label("`until` must be after `at`");
            self.push(d, ctx);
        }
        if start >= end {
            let d = Diagnostic::warning(
                "late-app",
                a.span,
                format!(
                    "the app starts at {}, at or after the end of the run ({})",
                    start.since_start(),
                    end.since_start()
                ),
            )
            .label("it will never run");
            self.push(d, ctx);
        }
        // The positional argument.
        let needs_arg = matches!(kind, "curl" | "ping");
        match (&a.arg, needs_arg) {
            (Some(v), false) => {
                let d = Diagnostic::error(
                    "bad-app",
                    v.span,
                    format!("`{kind}` takes no argument here"),
                )
                .label("put settings inside `{ … }`");
                self.push(d, ctx);
                return None;
            }
            (None, true) => {
                let example = if kind == "curl" {
                    "curl \"http://baidu.com/\""
                } else {
                    "ping 10.0.0.1"
                };
                let d = Diagnostic::error(
                    "bad-app",
                    a.kind.span,
                    format!("`{kind}` needs a destination"),
                )
                .label(format!("e.g. `{example}`"));
                self.push(d, ctx);
                return None;
            }
            _ => {}
        }
        let mut dst_span = None;
        let app_kind = match kind {
            _ if let Some(spec) = user => self.user_app(a, &spec, ctx)?,
            "dns_server" => {
                let mut records = Vec::new();
                let mut ttl = 0u32;
                let mut other_types = DnsOtherTypes::NoData;
                for (k, v) in self.plain(
                    &a.props,
                    &["ttl", "record", "other_types"],
                    "dns_server",
                    ctx,
                ) {
                    if k.name == "ttl" {
                        ttl = self.int(v, 0, i64::from(i32::MAX), "`ttl`", ctx)? as u32;
                    } else if k.name == "other_types" {
                        other_types =
                            match self.word(v, &["nodata", "refused"], "`other_types` answer", ctx)
                            {
                                Some("refused") => DnsOtherTypes::Refused,
                                _ => DnsOtherTypes::NoData,
                            };
                    }
                }
                for p in &a.props {
                    if let IrProp::Record(r) = p {
                        let (name, rtype, addr) = (&r.name, &r.rtype, &r.addr);
                        if !rtype.text.eq_ignore_ascii_case("a") {
                            let d = Diagnostic::error(
                                "bad-value",
                                rtype.span,
                                format!("unsupported record type `{}`", rtype.text),
                            )
                            .label("only A records are modeled");
                            self.push(d, ctx);
                            continue;
                        }
                        let n = self.typed(name, ParamType::String, "`record`", ctx, |t| {
                            values::dns_name(t).map_err(ValErr::from)
                        });
                        let ip = self.ip(addr, "`record`", ctx);
                        if let (Some(name), Some(addr)) = (n, ip) {
                            records.push(DnsRecord { name, addr });
                        }
                    }
                }
                AppKind::DnsServer {
                    records,
                    ttl,
                    other_types,
                }
            }
            "http_server" => {
                let mut port = 80;
                let mut body = None;
                let mut think = SimDuration::from_millis(2);
                for (k, v) in self.plain(
                    &a.props,
                    &["port", "body", "think_time"],
                    "http_server",
                    ctx,
                ) {
                    match k.name.as_str() {
                        "port" => port = self.port(v, ctx)?,
                        "body" => body = Some(self.size(v, "`body`", ctx)?),
                        _ => think = self.duration(v, "`think_time`", ctx)?,
                    }
                }
                let Some(body) = body else {
                    return self.missing(a, "body", "{ port 80  body 4KiB }");
                };
                AppKind::HttpServer {
                    port,
                    body,
                    think_time: think,
                }
            }
            "curl" => {
                self.plain(&a.props, &[], "curl", ctx);
                let v = a.arg.as_ref().expect("checked");
                let u = self.typed(v, ParamType::String, "`curl`", ctx, |t| {
                    values::url(t).map_err(ValErr::from)
                })?;
                dst_span = Some(v.span);
                AppKind::Curl {
                    url: v.text.clone(),
                    host: u.host,
                    port: u.port,
                    path: u.path,
                }
            }
            "tcp_bulk" => {
                let mut to = None;
                let mut bytes = None;
                for (k, v) in self.plain(&a.props, &["to", "bytes"], "tcp_bulk", ctx) {
                    if k.name == "to" {
                        to = Some((self.addr_port(v, ctx)?, v.span));
                    } else if v.text == "unlimited" {
                        bytes = None;
                    } else {
                        bytes = Some(self.size(v, "`bytes`", ctx)?);
                    }
                }
                let Some(((dst, port), span)) = to else {
                    return self.missing(a, "to", "{ to 10.0.0.2:9 }");
                };
                dst_span = Some(span);
                AppKind::TcpBulk { dst, port, bytes }
            }
            "tcp_sink" | "udp_sink" => {
                let mut port = None;
                for (_, v) in self.plain(&a.props, &["port"], kind, ctx) {
                    port = Some(self.port(v, ctx)?);
                }
                let Some(port) = port else {
                    return self.missing(a, "port", "{ port 9 }");
                };
                if kind == "tcp_sink" {
                    AppKind::TcpSink { port }
                } else {
                    AppKind::UdpSink { port }
                }
            }
            "udp_cbr" => {
                let mut to = None;
                let mut payload = None;
                let mut pace = None;
                for (k, v) in self.plain(
                    &a.props,
                    &["to", "payload", "rate", "interval"],
                    "udp_cbr",
                    ctx,
                ) {
                    match k.name.as_str() {
                        "to" => to = Some((self.addr_port(v, ctx)?, v.span)),
                        "payload" => {
                            let p = self.size(v, "`payload`", ctx)?;
                            if p.get() > 65507 {
                                let d = Diagnostic::error(
                                    "bad-value",
                                    v.span,
                                    format!("a UDP payload of {p} does not fit an IPv4 datagram"),
                                )
                                .label("at most 65507 bytes");
                                self.push(d, ctx);
                                return None;
                            }
                            payload = Some(p);
                        }
                        "rate" | "interval" => {
                            if pace.is_some() {
                                let d = Diagnostic::error(
                                    "bad-app",
                                    k.span,
                                    "give either `rate` or `interval`, not both",
                                )
                                .label("the other one follows from the payload size");
                                self.push(d, ctx);
                                return None;
                            }
                            pace = Some(if k.name == "rate" {
                                let r = self.rate(v, "`rate`", ctx)?;
                                if r.bits_per_sec() == 0 {
                                    let d = Diagnostic::error(
                                        "bad-value",
                                        v.span,
                                        "a rate of 0 sends nothing",
                                    )
                                    .label("must be above 0");
                                    self.push(d, ctx);
                                    return None;
                                }
                                UdpPace::Rate(r)
                            } else {
                                let i = self.duration(v, "`interval`", ctx)?;
                                if i == SimDuration::ZERO {
                                    let d = Diagnostic::error(
                                        "bad-value",
                                        v.span,
                                        "an interval of 0 would send forever at one instant",
                                    )
                                    .label("must be above 0");
                                    self.push(d, ctx);
                                    return None;
                                }
                                UdpPace::Interval(i)
                            });
                        }
                        _ => unreachable!(),
                    }
                }
                let (Some(((dst, port), span)), Some(payload), Some(pace)) = (to, payload, pace)
                else {
                    return self.missing(
                        a,
                        "to`, `payload` and `rate` or `interval",
                        "{ to 10.0.0.2:9  payload 1000B  interval 400us }",
                    );
                };
                dst_span = Some(span);
                AppKind::UdpCbr {
                    dst,
                    port,
                    payload,
                    pace,
                }
            }
            _ => {
                // ping
                let v = a.arg.as_ref().expect("checked");
                let dst = self.ip(v, "`ping`", ctx)?;
                dst_span = Some(v.span);
                let mut count = None;
                let mut interval = SimDuration::from_secs(1);
                let mut size = Bytes(56);
                for (k, v) in self.plain(&a.props, &["count", "interval", "size"], "ping", ctx) {
                    match k.name.as_str() {
                        "count" => {
                            count = Some(self.int(v, 1, u32::MAX.into(), "`count`", ctx)? as u32)
                        }
                        "interval" => {
                            interval = self.duration(v, "`interval`", ctx)?;
                            if interval == SimDuration::ZERO {
                                let d =
                                    Diagnostic::error("bad-value", v.span, "a ping interval of 0")
                                        .label("must be above 0");
                                self.push(d, ctx);
                                return None;
                            }
                        }
                        _ => {
                            size = self.size(v, "`size`", ctx)?;
                            if size.get() > 65507 {
                                let d =
                                    Diagnostic::error("bad-value", v.span, "ping size too large")
                                        .label("at most 65507 bytes");
                                self.push(d, ctx);
                                return None;
                            }
                        }
                    }
                }
                AppKind::Ping {
                    dst,
                    count,
                    interval,
                    size,
                }
            }
        };
        Some((
            AppConfig {
                node: NodeId(node),
                start,
                stop: stop.map(|(t, _)| t),
                kind: app_kind,
            },
            AppMeta {
                span: a.span,
                ctx: ctx.clone(),
                dst_span,
            },
        ))
    }

    /// A user app's properties, checked against its spec ([`sim_stack::apps::registry`]),
    /// then handed to its maker, whose refusal is reported against the statement.
    fn user_app(
        &mut self,
        a: &IrApp,
        spec: &sim_stack::apps::registry::AppSpec,
        ctx: &Ctx,
    ) -> Option<AppKind> {
        use sim_stack::apps::registry::{AppProps, PropKind, PropValue};
        let names: Vec<&str> = spec.props.iter().map(|p| p.name).collect();
        let mut props = AppProps::default();
        let mut given: Vec<&str> = Vec::new();
        let mut ok = true;
        for (k, v) in self.plain(&a.props, &names, spec.name, ctx) {
            given.push(&k.name);
            let p = spec
                .props
                .iter()
                .find(|p| p.name == k.name)
                .expect("plain() keeps known names");
            let what = format!("`{}`", p.name);
            let value = match p.kind {
                PropKind::Int => self
                    .int(v, i64::MIN, i64::MAX, &what, ctx)
                    .map(PropValue::Int),
                PropKind::Text => Some(PropValue::Text(v.text.clone())),
                PropKind::Time => self.duration(v, &what, ctx).map(PropValue::Time),
                PropKind::Size => self.size(v, &what, ctx).map(|b| PropValue::Size(b.get())),
                PropKind::Rate => self
                    .rate(v, &what, ctx)
                    .map(|r| PropValue::Rate(r.bits_per_sec())),
                PropKind::Addr => self.ip(v, &what, ctx).map(PropValue::Addr),
                PropKind::Endpoint => self.typed(v, ParamType::Word, &what, ctx, |t| {
                    values::addr_port(t)
                        .map(|(ip, port)| {
                            PropValue::Endpoint(std::net::SocketAddrV4::new(ip, port))
                        })
                        .map_err(|m| ValErr {
                            label: Some(format!(
                                "{what} takes ADDRESS:PORT, such as `{}`",
                                p.example
                            )),
                            ..ValErr::from(m)
                        })
                }),
                PropKind::Bool => self.typed(v, ParamType::Word, &what, ctx, |t| {
                    values::boolean(t)
                        .map(PropValue::Bool)
                        .map_err(ValErr::from)
                }),
            };
            match value {
                Some(v) => props.0.push((p.name.to_string(), v)),
                None => ok = false,
            }
        }
        for p in spec.props.iter().filter(|p| p.required) {
            if !given.contains(&p.name) {
                let example = format!("{{ {} {} }}", p.name, p.example);
                let _: Option<()> = self.missing(a, p.name, &example);
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        if let Err(message) = (spec.make)(&props) {
            let d = Diagnostic::error(
                "bad-app",
                a.kind.span,
                format!("`{}`: {message}", spec.name),
            )
            .label(spec.about);
            self.push(d, ctx);
            return None;
        }
        Some(AppKind::User {
            name: spec.name.to_string(),
            props,
        })
    }

    fn missing<T>(&mut self, a: &IrApp, what: &str, example: &str) -> Option<T> {
        let d = Diagnostic::error(
            "missing-property",
            a.kind.span,
            format!("`{}` needs `{what}`", a.kind.name),
        )
        .label(format!(
            "e.g. `app {}: {} {example}`",
            a.node.text, a.kind.name
        ));
        self.push(d, &a.ctx);
        None
    }

    fn port(&mut self, v: &Val, ctx: &Ctx) -> Option<u16> {
        self.typed(v, ParamType::Int, "`port`", ctx, |t| {
            values::port(t).map_err(ValErr::from)
        })
    }

    fn addr_port(&mut self, v: &Val, ctx: &Ctx) -> Option<(Ipv4Addr, u16)> {
        self.typed(v, ParamType::Word, "`to`", ctx, |t| {
            values::addr_port(t).map_err(|m| ValErr {
                label: Some("`to` takes ADDRESS:PORT, such as `10.0.0.2:9`".into()),
                ..ValErr::from(m)
            })
        })
    }

    fn check_destinations(
        &mut self,
        apps: &[AppConfig],
        metas: &[AppMeta],
        listeners: &BTreeMap<(u32, u8, u16), Span>,
        net: &Net,
        fibs: &[Fib],
    ) {
        for (app, meta) in apps.iter().zip(metas) {
            let from = app.node.0;
            let span = meta.dst_span.unwrap_or(meta.span);
            let (dst, listen) = match &app.kind {
                AppKind::TcpBulk { dst, port, .. } => (*dst, Some((6u8, *port))),
                AppKind::UdpCbr { dst, port, .. } => (*dst, Some((17u8, *port))),
                AppKind::Ping { dst, .. } => (*dst, None),
                AppKind::Curl { host, port, .. } => {
                    if let Ok(a) = host.parse::<Ipv4Addr>() {
                        (a, Some((6, *port)))
                    } else {
                        let Some(r) = self.nodes[from as usize].resolver else {
                            let d = Diagnostic::error(
                                "no-resolver",
                                span,
                                format!(
                                    "curl must look up `{host}`, but `{}` has no resolver",
                                    self.nodes[from as usize].name
                                ),
                            )
                            .label("a name needs DNS")
                            .help(format!(
                                "add `resolver ADDRESS` to `{}`, or use an address in the URL",
                                self.nodes[from as usize].name
                            ));
                            self.push(d, &meta.ctx);
                            continue;
                        };
                        // Does the resolver serve this name?
                        let server = net.owner.get(&r.to_bits()).map(|&(n, _)| n);
                        let record = server.and_then(|s| {
                            apps.iter().find_map(|x| match &x.kind {
                                AppKind::DnsServer { records, .. } if x.node.0 == s => records
                                    .iter()
                                    .find(|rec| rec.name == *host)
                                    .map(|rec| rec.addr),
                                _ => None,
                            })
                        });
                        match record {
                            Some(a) => (a, Some((6, *port))),
                            None => {
                                let d = Diagnostic::warning(
                                    "no-record",
                                    span,
                                    format!("no dns_server at the resolver {r} has a record for `{host}`"),
                                )
                                .label("the lookup will fail");
                                self.push(d, &meta.ctx);
                                continue;
                            }
                        }
                    }
                }
                _ => continue,
            };
            if let Some(why) = self.unreachable(net, fibs, from, dst) {
                let d = Diagnostic::warning(
                    "unreachable",
                    span,
                    format!(
                        "{dst} is unreachable from `{}`: {why}",
                        self.nodes[from as usize].name
                    ),
                )
                .label("packets to it will be lost");
                self.push(d, &meta.ctx);
                continue;
            }
            if let Some((proto, port)) = listen {
                let owner = net.owner[&dst.to_bits()].0;
                if !listeners.contains_key(&(owner, proto, port)) {
                    let (p, sink) = if proto == 6 {
                        ("TCP", "tcp_sink or http_server")
                    } else {
                        ("UDP", "udp_sink")
                    };
                    let d = Diagnostic::warning(
                        "no-listener",
                        span,
                        format!(
                            "nothing listens on {p} port {port} of `{}` ({dst})",
                            self.nodes[owner as usize].name
                        ),
                    )
                    .label(format!("no {sink} app there"));
                    self.push(d, &meta.ctx);
                }
            }
        }
    }
}

fn cidr_err(text: &str, e: &CidrParseError) -> ValErr {
    let why = match e {
        CidrParseError::BadAddr(a) => values::ip(a).err().unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    };
    ValErr::from(format!("bad CIDR `{text}`: {why}"))
}

fn kind_name(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Host => "host",
        NodeKind::Router => "router",
        NodeKind::Switch => "switch",
    }
}

fn ir_end_name(e: &IrEnd) -> String {
    match &e.iface {
        Some(i) => format!("{}.{}", e.node.text, i.text),
        None => e.node.text.clone(),
    }
}

fn article(word: &str) -> String {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {word}")
    } else {
        format!("a {word}")
    }
}
