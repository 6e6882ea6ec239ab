//! Lowering: from the elaborated [`Program`] to a checked [`Scenario`].
//!
//! Types every value for its position, resolves names into indices, fills in defaults,
//! creates switch ports, assigns MACs, computes automatic routes, and checks the topology:
//! duplicate and unknown names, links to missing interfaces, interfaces in two links,
//! duplicate and overlapping addresses, gateways off every connected subnet, unreachable
//! resolvers, app destinations. IPv6 (`ip6`, `route6`, `net.ipv6.conf.*`, and the rule that
//! decides whether IPv6 is on at all) is the `ipv6` module's. Every problem is collected; lowering goes on after an error
//! wherever the rest can still be checked meaningfully. The reachability checks need a
//! consistent topology, so they run only when the earlier checks found no error.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use petgraph::unionfind::UnionFind;
use sim_core::{SimDuration, SimTime, TimeParseError};
use sim_stack::config::*;
use sim_stack::netfilter::NthError;
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

mod apps;
mod checks;
mod classes;
mod ipv6;
mod links;
mod netfilter;
mod nodes;
mod qdiscs;
mod replay;
mod sample;
mod typed;

use typed::*;

pub(crate) use replay::DataFiles;

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
    /// The span of each `ip6`, in the order of `IfaceConfig::addrs6`.
    addr6_spans: Vec<Span>,
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
    routes6: Vec<ipv6::PendingRoute6>,
    /// `net.ipv6.conf.*` and `net.ipv6.neigh.IFACE.*` of the node, in order, applied once
    /// its interfaces are known.
    conf6: Vec<ipv6::Conf6Entry>,
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
    /// Top-level `net.ipv6.conf.{all,default}.*`, applied to every node before its own.
    global_conf6: Vec<ipv6::Conf6Entry>,
    /// Whether the scenario configures IPv6 anywhere (see `ipv6::uses_ipv6`): if not, every
    /// interface lowers with `disable_ipv6`.
    ipv6_on: bool,
    /// The data files apps read (captures), and the loader they come from.
    data: DataFiles<'a>,
}

/// Lowers a program; `None` when there were errors. Also gives the data files read.
pub(crate) fn lower<'a>(
    prog: &Program,
    default_name: &str,
    broken_names: &'a [String],
    broken_loop: bool,
    diags: &'a mut Diags,
    data: DataFiles<'a>,
) -> (Option<Scenario>, Vec<crate::DataInput>) {
    let mut l = Lower {
        diags,
        broken_names,
        broken_loop,
        nodes: Vec::new(),
        meta: Vec::new(),
        by_name: BTreeMap::new(),
        links: Vec::new(),
        global_sysctls: Vec::new(),
        global_conf6: Vec::new(),
        ipv6_on: ipv6::uses_ipv6(prog),
        data,
    };
    let scenario = l.run(prog, default_name);
    (scenario, l.data.into_inputs())
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
        self.resolve_routes6_dev();
        let link_pairs: Vec<_> = self
            .links
            .iter()
            .map(|l| ((l.a.node.0, l.a.iface.0), (l.b.node.0, l.b.iface.0)))
            .collect();
        let net = Net::build(&self.nodes, &link_pairs);
        self.assign_macs(&net);
        self.check_addresses(&net);
        self.check_addresses6();
        self.check_gateways();
        self.check_gateways6();
        let topology_ok = self.errors() == 0;
        if topology_ok {
            self.unlinked_warnings();
        }
        if topology_ok && routing_mode == RoutingMode::Auto {
            routing::auto_routes(&mut self.nodes, &net);
            routing::auto_routes6(&mut self.nodes, &net);
        }
        let fibs: Vec<Fib> = if topology_ok {
            self.nodes.iter().map(Fib::from_config).collect()
        } else {
            Vec::new()
        };
        let net6 = topology_ok.then(|| routing::Net6::build(&self.nodes, &net));
        if let Some(net6) = &net6 {
            self.check_resolvers(&net, &fibs, net6);
        }
        let apps = self.apps(
            &prog.apps,
            end,
            net6.as_ref().map(|n6| (&net, &fibs[..], n6)),
        );
        let sample = self.sample(&prog.samples);
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
            sample,
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
