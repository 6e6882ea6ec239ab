//! IPv6: interface addresses (`ip6`), routes (`route6`), `net.ipv6.conf.*` per interface,
//! and the rule that decides whether IPv6 is on at all.
//!
//! **Whether IPv6 is on.** Linux's default is `disable_ipv6 = 0`, but the IPv4 reference was
//! captured with IPv6 disabled and every IPv4-only scenario reproduces it. So a scenario that
//! configures no IPv6 at all ([`uses_ipv6`]) lowers with `disable_ipv6` on every interface;
//! one that does has IPv6 on (Linux's defaults) on every host and router interface, and
//! `net.ipv6.conf.{all,default,IFACE}.disable_ipv6 = 1` turns it off where written. Switch
//! ports never have IPv6, as the reference's bridge namespace.
//!
//! **all, default and IFACE.** The interfaces of a static scenario are created after the
//! node's sysctls apply, so each starts from `default`; `all.forwarding`,
//! `all.disable_ipv6` and `all.addr_gen_mode` are written through to `default` (and every
//! existing interface) as `addrconf_fixup_forwarding`, `addrconf_disable_ipv6` and
//! `addrconf_sysctl_addr_gen_mode` do; the other `all.*` act as the kernel reads them:
//! `accept_dad` is the larger of all and the interface (`addrconf_dad_begin`),
//! `enhanced_dad` and `ndisc_notify` are on if either is, and the rest of `all.*` is read
//! by no interface. `IFACE.*` is written after the interface exists, so it wins.

use std::net::Ipv6Addr;

use sim_stack::wire::ipv6::{is_link_local, link_local_eui64};

use super::*;
use crate::sysctl::{Dev6Name, Scope6};

/// An IPv6 route waiting for its `dev` to be resolved.
#[derive(Debug, Clone)]
pub(super) struct PendingRoute6 {
    pub route: Route6Config,
    pub dev_val: Option<Val>,
    pub via_span: Option<Span>,
    pub span: Span,
    pub ctx: Ctx,
}

/// One `net.ipv6.conf.SCOPE.KEY` or `net.ipv6.neigh.IFACE.KEY`, checked alone.
#[derive(Debug, Clone)]
pub(super) struct Conf6Entry {
    pub name: Dev6Name,
    pub vals: Vec<String>,
    /// The sysctl's name.
    pub span: Span,
    pub ctx: Ctx,
}

/// Whether `text` is an IPv6 address, with or without `[…]` and a `/prefix`.
pub(super) fn looks_v6(text: &str) -> bool {
    let t = text.trim();
    let t = t.split_once('/').map_or(t, |(a, _)| a);
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    t.contains(':') && t.parse::<Ipv6Addr>().is_ok()
}

/// The IPv6 address of an app's `to ADDRESS:PORT`, if it is one: `[2001:db8::2]:9`, or
/// written without brackets (`2001:db8::2:9`, which is ambiguous), or with no port.
pub(super) fn v6_endpoint(text: &str) -> Option<&str> {
    let t = text.trim();
    if let Some(a) = bracketed_v6(t) {
        return Some(a);
    }
    if looks_v6(t) {
        return Some(t);
    }
    t.rsplit_once(':').map(|(a, _)| a).filter(|a| looks_v6(a))
}

/// The IPv6 literal of `[addr]:port` or `http://[addr]…`, if the text has one.
pub(super) fn bracketed_v6(text: &str) -> Option<&str> {
    let start = text.find('[')?;
    let end = start + text[start..].find(']')?;
    let inner = &text[start + 1..end];
    looks_v6(inner).then_some(inner)
}

/// Whether the scenario configures IPv6 anywhere: an `ip6`, a `route6`, a `net.ipv6.*`
/// sysctl, an AAAA record, an IPv6 resolver or an IPv6 address given to an app.
pub(super) fn uses_ipv6(prog: &Program) -> bool {
    let v6_sysctl = |s: &IrSysctl| crate::sysctl::normalize(&s.name.name).starts_with("net.ipv6.");
    if prog.sysctls.iter().any(v6_sysctl) {
        return true;
    }
    let nodes = prog.nodes.iter().flat_map(|n| &n.items).any(|it| match it {
        IrItem::Iface { props, .. } => props
            .iter()
            .any(|p| matches!(p, IrProp::Plain { key, .. } if key.name == "ip6")),
        IrItem::Route { v6, .. } => *v6,
        IrItem::Sysctl(s) => v6_sysctl(s),
        IrItem::Resolver { value, .. } => looks_v6(&value.text),
        _ => false,
    });
    if nodes {
        return true;
    }
    prog.apps.iter().any(|a| {
        a.arg
            .as_ref()
            .is_some_and(|v| looks_v6(&v.text) || bracketed_v6(&v.text).is_some())
            || a.props.iter().any(|p| match p {
                IrProp::Record(r) => r.rtype.text.eq_ignore_ascii_case("aaaa"),
                IrProp::Plain { key, value } => {
                    key.name == "to" && v6_endpoint(&value.text).is_some()
                }
                IrProp::Qdisc { .. } => false,
            })
    })
}

impl Lower<'_> {
    /// An interface address `2001:db8::2/64` that Linux would add and the stack does not
    /// make itself.
    pub(super) fn iface_addr6(
        &mut self,
        v: &Val,
        mac: Option<EthernetAddress>,
        ctx: &Ctx,
    ) -> Option<Ipv6Cidr> {
        let c = self.typed(v, ParamType::Word, "`ip6`", ctx, |t| {
            let label =
                Some("`ip6` takes an IPv6 address and prefix such as `2001:db8::2/64`".into());
            let addr = t.split_once('/').map_or(t, |(a, _)| a);
            if values::ip(addr).is_ok() {
                return Err(ValErr {
                    help: Some(format!("IPv4 addresses are given with `ip`: `ip {t}`")),
                    label,
                    ..ValErr::from(format!("`{t}` is an IPv4 address"))
                });
            }
            t.parse::<Ipv6Cidr>().map_err(|e| {
                let help = match &e {
                    Cidr6ParseError::MissingPrefix(_) => {
                        Some(format!("write the prefix length too, e.g. `{t}/64`"))
                    }
                    Cidr6ParseError::BadPrefix(_) => {
                        Some("an IPv6 prefix is 0 to 128 bits; subnets are usually /64".into())
                    }
                    Cidr6ParseError::BadAddr(_) => None,
                };
                ValErr {
                    help,
                    label: label.clone(),
                    ..ValErr::from(e.to_string())
                }
            })
        })?;
        let a = c.address();
        let bad: Option<(String, String)> = if a.is_unspecified() {
            Some((
                "`::` is the unspecified address".into(),
                "Linux refuses it (EADDRNOTAVAIL)".into(),
            ))
        } else if a.is_loopback() {
            Some((
                "`::1` is the loopback address".into(),
                "Linux refuses it on any interface but `lo` (EADDRNOTAVAIL)".into(),
            ))
        } else if a.is_multicast() {
            Some((
                format!("{a} is a multicast address"),
                "Linux refuses a multicast address as an interface address (EADDRNOTAVAIL); groups are joined, not assigned".into(),
            ))
        } else if is_link_local(a) {
            Some((
                format!("{a} is a link-local address"),
                match mac {
                    Some(m) => format!(
                        "the link-local address is made automatically from the MAC (EUI-64): this interface's is {} ({m}); give only global addresses",
                        link_local_eui64(m)
                    ),
                    None => "the link-local address is made automatically from the MAC (EUI-64: 02:00:00:00:00:02 → fe80::ff:fe00:2); give only global addresses".into(),
                },
            ))
        } else if c.prefix_len() == 0 {
            Some((
                "a /0 prefix makes every address on-link".into(),
                format!("use a subnet prefix such as {}/64", c.address()),
            ))
        } else {
            None
        };
        if let Some((msg, help)) = bad {
            let d = Diagnostic::error(
                "bad-cidr",
                v.span,
                format!("bad interface address {c}: {msg}"),
            )
            .label("not a usable IPv6 interface address")
            .help(help);
            self.push(d, ctx);
            return None;
        }
        Some(c)
    }

    /// An IPv6 address (`via`, a `ping` destination), with the usual mistakes named.
    pub(super) fn ip6(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Ipv6Addr> {
        self.typed(v, ParamType::Word, what, ctx, |t| {
            if values::ip(t).is_ok() {
                return Err(ValErr {
                    help: Some("IPv4 routes are written `route`".into()),
                    label: Some(format!("{what} takes an IPv6 address here")),
                    ..ValErr::from(format!("`{t}` is an IPv4 address"))
                });
            }
            t.parse::<Ipv6Addr>().map_err(|_| ValErr {
                label: Some(format!(
                    "{what} takes an IPv6 address such as `2001:db8::1`"
                )),
                ..ValErr::from(if t.contains('/') {
                    format!("`{t}` has a prefix length; expected a plain address here")
                } else {
                    format!("`{t}` is not an IPv6 address")
                })
            })
        })
    }

    /// `route6 (default | PREFIX | ADDRESS) [via GATEWAY] [dev IFACE]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn route6(
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
            None => Some(Ipv6Cidr::new(Ipv6Addr::UNSPECIFIED, 0)),
            Some(v) => self.typed(v, ParamType::Word, "`route6`", ctx, |t| {
                let addr = t.split_once('/').map_or(t, |(a, _)| a);
                if values::ip(addr).is_ok() {
                    return Err(ValErr {
                        help: Some(format!("IPv4 routes are written `route`: `route {t} …`")),
                        label: Some("`route6` takes an IPv6 prefix".into()),
                        ..ValErr::from(format!("`{t}` is an IPv4 address"))
                    });
                }
                let c = if t.contains('/') {
                    t.parse::<Ipv6Cidr>().map_err(|e| ValErr {
                        help: matches!(e, Cidr6ParseError::BadPrefix(_))
                            .then(|| "an IPv6 prefix is 0 to 128 bits".to_string()),
                        label: Some(
                            "`route6` takes an IPv6 prefix such as `2001:db8:1::/64`".into(),
                        ),
                        ..ValErr::from(format!("bad prefix `{t}`: {e}"))
                    })?
                } else {
                    let a = t.parse::<Ipv6Addr>().map_err(|_| ValErr {
                        label: Some(
                            "`route6` takes an IPv6 prefix such as `2001:db8:1::/64`".into(),
                        ),
                        ..ValErr::from(format!("`{t}` is not an IPv6 address or prefix"))
                    })?;
                    Ipv6Cidr::new(a, 128)
                };
                if c.address() != c.network().address() {
                    return Err(ValErr {
                        help: Some(format!("did you mean `{}`?", c.network())),
                        label: Some(
                            "a route's destination is a prefix: its host bits are zero".into(),
                        ),
                        ..ValErr::from(format!("bad prefix `{t}`: the address has host bits set"))
                    });
                }
                Ok(c)
            }),
        };
        let gateway = match via {
            Some(v) => match self.ip6(v, "`via`", ctx) {
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
        if let (Some(gw), Some(v), None) = (gateway, via, dev)
            && is_link_local(gw)
        {
            let d = Diagnostic::error(
                "gateway-off-link",
                v.span,
                format!("link-local gateway {gw} needs `dev`"),
            )
            .label("which link is it on?")
            .help(format!(
                "a link-local address exists on every link, so Linux needs the interface: `ip -6 route add … via {gw}` alone fails with \"RTNETLINK answers: No route to host\"; write `via {gw} dev eth0`"
            ));
            self.push(d, ctx);
            return;
        }
        if let Some(first) = meta
            .routes6
            .iter()
            .find(|r| r.route.dest == cidr.address() && r.route.prefix_len == cidr.prefix_len())
        {
            let d = Diagnostic::error(
                "duplicate-route",
                dest_span,
                format!("a route to {cidr} is already set"),
            )
            .note_at(first.span, "first route")
            .help("Linux refuses it: \"RTNETLINK answers: File exists\"");
            self.push(d, ctx);
            return;
        }
        meta.routes6.push(PendingRoute6 {
            route: Route6Config {
                dest: cidr.address(),
                prefix_len: cidr.prefix_len(),
                gateway,
                dev: None,
            },
            dev_val: dev.cloned(),
            via_span: via.map(|v| v.span),
            span,
            ctx: ctx.clone(),
        });
    }

    /// Resolves the `dev` of IPv6 routes, as [`Self::resolve_routes_dev`] does for IPv4.
    pub(super) fn resolve_routes6_dev(&mut self) {
        for ni in 0..self.nodes.len() {
            let pending = std::mem::take(&mut self.meta[ni].routes6);
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
                self.nodes[ni].routes6.push(p.route.clone());
                kept.push(p);
            }
            self.meta[ni].routes6 = kept;
        }
    }

    /// A top-level `net.ipv6.conf.…` or `net.ipv6.neigh.IFACE.…`: `all` and `default` apply
    /// to every node; an interface name belongs inside its node.
    pub(super) fn global_conf6(&mut self, s: &IrSysctl, name: Dev6Name, vals: Vec<String>) {
        if let Scope6::Iface(i) = &name.scope {
            let d = Diagnostic::error(
                "bad-sysctl-scope",
                s.name.span,
                format!("`{}` names interface `{i}`, but a top-level sysctl applies to every node", s.name.name),
            )
            .label("an interface belongs to one node")
            .help(if name.neigh {
                format!("write it inside the node that has `{i}`, or use `net.ipv6.neigh.default.{}` for all", name.key)
            } else {
                format!("write it inside the node that has `{i}`, or use `net.ipv6.conf.default.{}` for all", name.key)
            });
            self.push(d, &s.ctx);
            return;
        }
        self.global_conf6.push(Conf6Entry {
            name,
            vals,
            span: s.name.span,
            ctx: s.ctx.clone(),
        });
    }

    /// Sets every interface's [`Ipv6DevConf`] from the rule of the module docs, and applies
    /// `net.ipv6.neigh.IFACE.*` to the node's NDP table.
    pub(super) fn finish_ipv6(&mut self, node: &mut NodeConfig, meta: &NodeMeta) {
        let mut base = Ipv6DevConf {
            disable_ipv6: !self.ipv6_on,
            forwarding: node.kind == NodeKind::Router,
            ..Ipv6DevConf::default()
        };
        let mut dflt = base.clone();
        // `all` differs from `default` in one key: all.accept_dad is 0 (ipv6_devconf).
        base.accept_dad = 0;
        let mut all = base;
        let mut per_iface: Vec<(u32, &Conf6Entry)> = Vec::new();
        let mut neigh: Vec<&Conf6Entry> = Vec::new();
        let global = std::mem::take(&mut self.global_conf6);
        for e in global.iter().chain(&meta.conf6) {
            let vals: Vec<&str> = e.vals.iter().map(String::as_str).collect();
            let key = e.name.key.as_str();
            match &e.name.scope {
                Scope6::All => {
                    let _ = sysctl::apply_conf6(&mut all, key, &vals);
                    if matches!(key, "forwarding" | "disable_ipv6" | "addr_gen_mode") {
                        let _ = sysctl::apply_conf6(&mut dflt, key, &vals);
                    }
                }
                Scope6::Default => {
                    let _ = sysctl::apply_conf6(&mut dflt, key, &vals);
                }
                Scope6::Iface(i) => match meta.iface_index.get(i) {
                    Some(_) if e.name.neigh => {
                        if node.ifaces.len() > 1 {
                            let d = Diagnostic::error(
                                "bad-sysctl-scope",
                                e.span,
                                format!(
                                    "`{}` has {} interfaces, and the model keeps one NDP table per node",
                                    node.name,
                                    node.ifaces.len()
                                ),
                            )
                            .label(format!("this would set the neighbour settings of every interface of `{}`", node.name))
                            .help(format!("use `net.ipv6.neigh.default.{key}`, which means exactly that"));
                            self.push(d, &e.ctx);
                        } else {
                            neigh.push(e);
                        }
                    }
                    Some(&ii) => per_iface.push((ii, e)),
                    None => {
                        // Underline the interface name inside the sysctl's name.
                        let at = if e.name.neigh {
                            "net.ipv6.neigh.".len()
                        } else {
                            "net.ipv6.conf.".len()
                        };
                        let span = e.span.sub(at, at + i.len());
                        let d = Diagnostic::error(
                            "unknown-iface",
                            span,
                            format!("unknown interface `{}.{i}`", node.name),
                        )
                        .label(match node.ifaces.len() {
                            0 => format!("`{}` has no interfaces", node.name),
                            _ => {
                                let names: Vec<&str> = node
                                    .ifaces
                                    .iter()
                                    .map(|x| x.name.as_str())
                                    .take(6)
                                    .collect();
                                format!("`{}` has {}", node.name, crate::diag::one_of(&names))
                            }
                        })
                        .suggest(
                            self.diags
                                .suggest(i, node.ifaces.iter().map(|x| x.name.as_str())),
                        );
                        self.push(d, &e.ctx);
                    }
                },
            }
        }
        for e in neigh {
            let vals: Vec<&str> = e.vals.iter().map(String::as_str).collect();
            let _ = sysctl::apply_neigh6_dev(&mut node.sysctls, &e.name.key, &vals);
        }
        // Grouped by interface, in the order written within each.
        per_iface.sort_by_key(|&(i, _)| i);
        let mut next = per_iface.iter().peekable();
        for (ii, iface) in node.ifaces.iter_mut().enumerate() {
            let mut c = dflt.clone();
            while let Some((_, e)) = next.next_if(|(i, _)| *i as usize == ii) {
                let vals: Vec<&str> = e.vals.iter().map(String::as_str).collect();
                let _ = sysctl::apply_conf6(&mut c, &e.name.key, &vals);
            }
            c.accept_dad = c.accept_dad.max(all.accept_dad);
            c.enhanced_dad |= all.enhanced_dad;
            c.ndisc_notify |= all.ndisc_notify;
            iface.ipv6 = c;
        }
        self.global_conf6 = global;
    }

    /// Overlapping IPv6 prefixes on two interfaces of one node: a warning (the kernel takes
    /// them, and routes by the longest prefix).
    pub(super) fn check_addresses6(&mut self) {
        for ni in 0..self.nodes.len() {
            // The node's prefixes in address order, swept with the chain of enclosing ones
            // (as the IPv4 check does across the scenario): linear after the sort, so a
            // router with thousands of interfaces stays cheap.
            let mut all: Vec<(u128, u8, usize, usize)> = Vec::new();
            for (ii, i) in self.nodes[ni].ifaces.iter().enumerate() {
                for (k, a) in i.addrs6.iter().enumerate() {
                    let n = a.network();
                    all.push((n.address().to_bits(), n.prefix_len(), ii, k));
                }
            }
            all.sort_unstable();
            let mut stack: Vec<(u128, u8, usize, usize)> = Vec::new(); // (last address, len, ii, k)
            let mut clashes: Vec<((usize, usize), (usize, usize))> = Vec::new();
            for &(start, len, ii, k) in &all {
                let end = start | (u128::MAX.checked_shr(u32::from(len)).unwrap_or(0));
                while stack.last().is_some_and(|&(e, ..)| e < start) {
                    stack.pop();
                }
                match stack.last() {
                    Some(&(_, _, oi, ok)) if oi != ii => {
                        // Reported at the one written later.
                        clashes.push(((ii, k).max((oi, ok)), (ii, k).min((oi, ok))));
                    }
                    Some(&(e, l, oi, _)) if oi == ii && e == end && l == len => continue,
                    _ => {}
                }
                stack.push((end, len, ii, k));
            }
            clashes.sort_unstable();
            clashes.dedup_by_key(|c| c.0);
            for ((ii, k), (oi, ok)) in clashes {
                let a = self.nodes[ni].ifaces[ii].addrs6[k];
                let o = self.nodes[ni].ifaces[oi].addrs6[ok];
                let span = self.meta[ni].ifaces[ii].addr6_spans[k];
                let ospan = self.meta[ni].ifaces[oi].addr6_spans[ok];
                let ctx = self.meta[ni].ifaces[ii].ctx.clone();
                let d = Diagnostic::warning(
                    "overlapping-prefixes",
                    span,
                    format!(
                        "prefix {} of `{}` overlaps {} of `{}`",
                        a.network(),
                        self.port_name(ni as u32, ii as u32),
                        o.network(),
                        self.port_name(ni as u32, oi as u32)
                    ),
                )
                .label("two interfaces of one node claim these addresses")
                .note_at(ospan, "the other prefix")
                .help("give every link its own prefix; the kernel sends to the longest match");
                self.push(d, &ctx);
            }
        }
    }

    /// Gateways of `route6`: on one of the node's IPv6 prefixes (of `dev`, when given), or a
    /// link-local address with `dev`; never the node's own address.
    pub(super) fn check_gateways6(&mut self) {
        for ni in 0..self.nodes.len() {
            for p in self.meta[ni].routes6.clone() {
                let node = &self.nodes[ni];
                if let Some(d) = p.route.dev
                    && node.ifaces[d.index()].ipv6.disable_ipv6
                {
                    let d = Diagnostic::error(
                        "bad-route",
                        p.span,
                        format!(
                            "`{}.{}` has IPv6 disabled",
                            node.name,
                            node.ifaces[d.index()].name
                        ),
                    )
                    .label("an IPv6 route out of it cannot be added")
                    .help("remove its `net.ipv6.conf.*.disable_ipv6 = 1`, or route out of another interface");
                    self.push(d, &p.ctx);
                    continue;
                }
                let Some(gw) = p.route.gateway else { continue };
                let span = p.via_span.unwrap_or(p.span);
                let own = node.ifaces.iter().any(|i| {
                    i.addrs6.iter().any(|a| a.address() == gw)
                        || (!i.ipv6.disable_ipv6 && link_local_eui64(i.mac) == gw)
                });
                if own {
                    let d = Diagnostic::error(
                        "bad-gateway",
                        span,
                        format!("gateway {gw} is an address of `{}` itself", node.name),
                    )
                    .label("a gateway is a neighbour's address");
                    self.push(d, &p.ctx);
                    continue;
                }
                if is_link_local(gw) {
                    continue; // with `dev` (checked when parsed): on that link by definition
                }
                let on = |i: &IfaceConfig| i.addrs6.iter().any(|a| a.contains(gw));
                let ok = match p.route.dev {
                    Some(d) => on(&node.ifaces[d.index()]),
                    None => node.ifaces.iter().any(on),
                };
                if ok {
                    continue;
                }
                let prefixes: Vec<String> = node
                    .ifaces
                    .iter()
                    .flat_map(|i| {
                        i.addrs6
                            .iter()
                            .map(move |a| format!("{} ({})", i.name, a.network()))
                    })
                    .collect();
                let msg = match p.route.dev {
                    Some(d) => format!(
                        "gateway {gw} is not on a prefix of `{}.{}`",
                        node.name,
                        node.ifaces[d.index()].name
                    ),
                    None => format!("gateway {gw} is not on any IPv6 prefix of `{}`", node.name),
                };
                let label = if prefixes.is_empty() {
                    format!("`{}` has no IPv6 address (`ip6`)", node.name)
                } else {
                    format!("connected: {}", prefixes.join(", "))
                };
                let d = Diagnostic::error("gateway-off-link", span, msg)
                    .label(label)
                    .help("a gateway must be a neighbour on one of the node's own prefixes, or its link-local address with `dev`");
                self.push(d, &p.ctx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_literals_are_recognised() {
        assert!(looks_v6("2001:db8::2/64"));
        assert!(looks_v6("[2001:db8::2]"));
        assert!(!looks_v6("10.0.0.2:9"));
        assert!(!looks_v6("02:00:00:00:00:01"));
        assert_eq!(
            bracketed_v6("http://[2001:db8:1::80]/"),
            Some("2001:db8:1::80")
        );
        assert_eq!(bracketed_v6("[2001:db8::2]:9"), Some("2001:db8::2"));
    }
}
