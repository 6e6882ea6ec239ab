//! Hosts, routers and switches: interfaces and their addresses, routes, sysctls.

use super::*;

impl Lower<'_> {
    pub(super) fn sysctl_values(&mut self, s: &IrSysctl) -> Option<(String, Vec<String>)> {
        let name = sysctl::normalize(&s.name.name);
        let vals: Vec<&str> = s.values.iter().map(|v| v.text.as_str()).collect();
        // The name, the count and each value alone; the fragment thresholds' order against
        // each other is checked where they are applied, against the values they meet there.
        let mut probe = Sysctls {
            ipfrag_low_thresh: 0,
            ipfrag_high_thresh: u64::MAX,
            ..Sysctls::default()
        };
        let probed = match sysctl::dev6_name(&name) {
            Some(d) if d.neigh => sysctl::apply_neigh6_dev(&mut probe, &d.key, &vals),
            Some(d) => sysctl::apply_conf6(&mut Ipv6DevConf::default(), &d.key, &vals),
            None => sysctl::apply(&mut probe, &name, &vals),
        };
        match probed {
            Ok(()) => Some((name, vals.iter().map(|v| (*v).to_string()).collect())),
            Err(SysErr::Unknown) => {
                let d = Diagnostic::error(
                    "unknown-sysctl",
                    s.name.span,
                    format!("unknown sysctl `{}`", s.name.name),
                )
                .label("not a setting the model knows")
                .suggest(sysctl::suggest_name(&name).as_deref());
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

    pub(super) fn check_global_sysctls(&mut self, list: &[IrSysctl]) {
        let mut applied = Sysctls::default();
        for s in list {
            let Some(v) = self.sysctl_values(s) else {
                continue;
            };
            if let Some(d) = sysctl::dev6_name(&v.0) {
                self.global_conf6(s, d, v.1);
                continue;
            }
            if self.sysctl_apply(&mut applied, s, &v) {
                self.global_sysctls.push(v);
            }
        }
    }

    /// Applies a checked sysctl to `to`, reporting a value refused there (a fragment
    /// threshold on the wrong side of the other); whether it applied.
    pub(super) fn sysctl_apply(
        &mut self,
        to: &mut Sysctls,
        s: &IrSysctl,
        v: &(String, Vec<String>),
    ) -> bool {
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

    pub(super) fn node(&mut self, n: &IrNode, idefs: &IfaceDefaults) {
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
            routes6: Vec::new(),
            sysctls: Sysctls::for_kind(kind),
            resolver: None,
            netfilter: Ruleset::default(),
            partition: None,
        };
        let mut partition_span: Option<(Span, Ctx)> = None;
        let mut meta = NodeMeta {
            name_span: n.name.span,
            iface_index: BTreeMap::new(),
            ifaces: Vec::new(),
            routes: Vec::new(),
            routes6: Vec::new(),
            conf6: Vec::new(),
            resolver: None,
        };
        if kind != NodeKind::Switch {
            for (k, v) in self.global_sysctls.clone() {
                let vals: Vec<&str> = v.iter().map(String::as_str).collect();
                let _ = sysctl::apply(&mut node.sysctls, &k, &vals);
            }
        }
        for item in &n.items {
            if let IrItem::Partition { value, span, ctx } = item {
                if let Some((first, _)) = &partition_span {
                    let d =
                        Diagnostic::error("duplicate-property", *span, "`partition` is set twice")
                            .note_at(*first, "first set here");
                    self.push(d, ctx);
                } else if let Some(k) = self.int(value, 0, i64::from(u32::MAX), "`partition`", ctx)
                {
                    node.partition = Some(k as u32);
                    partition_span = Some((*span, ctx.clone()));
                }
                continue;
            }
            if kind == NodeKind::Switch {
                let (span, ictx) = match item {
                    IrItem::Iface { span, ctx, .. }
                    | IrItem::Route { span, ctx, .. }
                    | IrItem::Resolver { span, ctx, .. }
                    | IrItem::Partition { span, ctx, .. }
                    | IrItem::Netfilter { span, ctx, .. } => (*span, ctx),
                    IrItem::Iptables { line, ctx } => (line.span, ctx),
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
                    v6: true,
                    dest,
                    dest_span,
                    via,
                    dev,
                    span,
                    ctx,
                } => {
                    self.route6(
                        &mut meta,
                        dest.as_ref(),
                        *dest_span,
                        via.as_ref(),
                        dev.as_ref(),
                        *span,
                        ctx,
                    );
                }
                IrItem::Route {
                    v6: false,
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
                    } else if value.text.contains(':') || value.text.starts_with('[') {
                        // nameserver 2001:db8:1::53: the resolver asks over IPv6.
                        if let Some(a) = self.resolver6(value, ctx) {
                            node.resolver = Some(a.into());
                            meta.resolver = Some((value.span, ctx.clone()));
                        }
                    } else if let Some(a) = self.ip(value, "`resolver`", ctx) {
                        node.resolver = Some(a.into());
                        meta.resolver = Some((value.span, ctx.clone()));
                    }
                }
                // Taken before the match.
                IrItem::Partition { .. } => {}
                IrItem::Sysctl(s) => {
                    if let Some(v) = self.sysctl_values(s) {
                        match sysctl::dev6_name(&v.0) {
                            Some(d) => meta.conf6.push(ipv6::Conf6Entry {
                                name: d,
                                vals: v.1,
                                span: s.name.span,
                                ctx: s.ctx.clone(),
                            }),
                            None => {
                                self.sysctl_apply(&mut node.sysctls, s, &v);
                            }
                        }
                    }
                }
                IrItem::Netfilter {
                    hook,
                    action,
                    matches,
                    span: _,
                    ctx,
                } => {
                    if let Some((table, hook, r)) = self.netfilter(hook, action, matches, ctx) {
                        let t = node.netfilter.table_mut(table);
                        if let Some(c) = t.hook_chain(hook) {
                            t.chains[c].rules.push(r);
                        }
                    }
                }
                IrItem::Iptables { line, ctx } => {
                    self.iptables(&mut node.netfilter, line, ctx);
                }
            }
        }
        if kind != NodeKind::Switch {
            self.finish_ipv6(&mut node, &meta);
        }
        node.ifaces.shrink_to_fit();
        meta.ifaces.shrink_to_fit();
        let id = self.nodes.len() as u32;
        self.by_name.insert(name, id);
        self.nodes.push(node);
        self.meta.push(meta);
    }

    pub(super) fn iface(
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
            addrs6: Vec::new(),
            ipv6: Ipv6DevConf::disabled(),
            mac: EthernetAddress([0; 6]),
            mtu: idefs.mtu.unwrap_or(1500),
            txqueuelen: idefs.txqueuelen.unwrap_or(1000),
            qdisc: QdiscConfig::PfifoFast,
            tx_ring: idefs.tx_ring.unwrap_or(256),
            tso: false,
        };
        let mut im = IfaceMeta {
            name_span: name.span,
            addr_span: None,
            addr6_spans: Vec::new(),
            mac_span: None,
            mtu_set: false,
            link: None,
            ctx: ctx.clone(),
        };
        for (k, v) in self.plain_rep(
            props,
            &[
                "ip",
                "ip6",
                "mac",
                "mtu",
                "txqueuelen",
                "qdisc",
                "tx_ring",
                "tso",
            ],
            &["ip6"],
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
                "ip6" => {
                    // The written MAC, if any, names this interface's link-local in the
                    // link-local error.
                    let mac = props.iter().find_map(|p| match p {
                        IrProp::Plain { key, value } if key.name == "mac" => {
                            value.text.parse::<EthernetAddress>().ok()
                        }
                        _ => None,
                    });
                    if let Some(c) = self.iface_addr6(v, mac, ctx) {
                        let pos = cfg.addrs6.iter().position(|a| a.address() == c.address());
                        if let Some(first) = pos {
                            let d = Diagnostic::error(
                                "duplicate-address",
                                v.span,
                                format!("address {} is already on `{}`", c.address(), cfg.name),
                            )
                            .label("duplicate address")
                            .note_at(im.addr6_spans[first], "first given here")
                            .help("Linux refuses it: `ip -6 addr add` says \"RTNETLINK answers: File exists\"");
                            self.push(d, ctx);
                        } else {
                            cfg.addrs6.push(c);
                            im.addr6_spans.push(v.span);
                        }
                    }
                }
                "mac" => {
                    if let Some(m) = self.typed(v, ParamType::Word, "`mac`", ctx, |t| {
                        t.parse::<EthernetAddress>().map_err(|e| ValErr {
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
                "tso" => {
                    let on = self.typed(v, ParamType::Word, "`tso`", ctx, |t| {
                        crate::values::boolean(t).map_err(|m| ValErr {
                            label: Some("`tso` takes `on` or `off`".into()),
                            ..ValErr::from(m)
                        })
                    });
                    if let Some(on) = on {
                        cfg.tso = on;
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
    pub(super) fn iface_addr(&mut self, v: &Val, ctx: &Ctx) -> Option<Ipv4Cidr> {
        let c = self.typed(v, ParamType::Cidr, "`ip`", ctx, |t| {
            if ipv6::looks_v6(t) {
                return Err(ValErr {
                    help: Some(format!("IPv6 addresses are given with `ip6`: `ip6 {t}`")),
                    label: Some("`ip` takes an IPv4 address and prefix".into()),
                    ..ValErr::from(format!("`{t}` is an IPv6 address"))
                });
            }
            if !t.contains('/') && values::ip(t).is_ok() {
                return Err(ValErr {
                    help: Some(format!("write the subnet size too, e.g. `{t}/24`")),
                    ..ValErr::from(format!("`{t}` has no prefix length"))
                });
            }
            t.parse::<Ipv4Cidr>().map_err(|e| cidr_err(t, &e))
        })?;
        let bad = if c.prefix_len() == 0 {
            Some("a /0 prefix makes every address on-link".to_string())
        } else if c.prefix_len() <= 30 && c.address() == c.network().address() {
            Some(format!(
                "{} is the network address of {}/{}",
                c.address(),
                c.network().address(),
                c.prefix_len()
            ))
        } else if c.prefix_len() <= 30 && Some(c.address()) == c.broadcast() {
            Some(format!(
                "{} is the broadcast address of {}/{}",
                c.address(),
                c.network().address(),
                c.prefix_len()
            ))
        } else {
            None
        };
        if let Some(msg) = bad {
            let first_host = Ipv4Addr::from_bits(c.network().address().to_bits() | 1);
            let d = Diagnostic::error(
                "bad-cidr",
                v.span,
                format!("bad interface address {c}: {msg}"),
            )
            .label("not a host address")
            .help(format!(
                "use a host address such as {first_host}/{}",
                c.prefix_len()
            ));
            self.push(d, ctx);
            return None;
        }
        Some(c)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn route(
        &mut self,
        meta: &mut NodeMeta,
        dest: Option<&Val>,
        dest_span: Span,
        via: Option<&Val>,
        dev: Option<&Val>,
        span: Span,
        ctx: &Ctx,
    ) {
        for v in dest.into_iter().chain(via) {
            if ipv6::looks_v6(&v.text) {
                let d = Diagnostic::error(
                    "bad-value",
                    v.span,
                    format!("`{}` is an IPv6 address", v.text),
                )
                .label("`route` takes IPv4 destinations and gateways")
                .help("IPv6 routes are written `route6` (`ip -6 route`)");
                self.push(d, ctx);
                return;
            }
        }
        let cidr = match dest {
            None => Some(Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0)),
            Some(v) => self.typed(v, ParamType::Cidr, "`route`", ctx, |t| {
                if !t.contains('/') {
                    return values::ip(t)
                        .map(|a| Ipv4Cidr::new(a, 32))
                        .map_err(ValErr::from);
                }
                let c = t.parse::<Ipv4Cidr>().map_err(|e| cidr_err(t, &e))?;
                if c.address() != c.network().address() {
                    return Err(ValErr {
                        help: Some(format!(
                            "did you mean `{}/{}`?",
                            c.network().address(),
                            c.prefix_len()
                        )),
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
            .find(|r| r.route.dest == cidr.address() && r.route.prefix_len == cidr.prefix_len())
        {
            let d = Diagnostic::error(
                "duplicate-route",
                dest_span,
                format!(
                    "a route to {}/{} is already set",
                    cidr.address(),
                    cidr.prefix_len()
                ),
            )
            .note_at(first.span, "first route");
            self.push(d, ctx);
            return;
        }
        meta.routes.push(PendingRoute {
            route: RouteConfig {
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

    /// Resolves `dev` names of routes (interfaces may be declared after the route).
    pub(super) fn resolve_routes_dev(&mut self) {
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
    pub(super) fn unknown_iface(&mut self, ni: usize, v: &Val, ctx: &Ctx) {
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

    pub(super) fn lookup_node(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<u32> {
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
}
