//! Checks of the whole topology: addresses, gateways, unlinked interfaces, reachability of
//! resolvers and app destinations.

use super::*;
use sim_stack::netfilter::{TableId, Target};

impl Lower<'_> {
    pub(super) fn check_addresses(&mut self, net: &Net) {
        // Duplicates.
        let mut seen: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        let mut subnets: Vec<(u32, u8, u32, u32, u32)> = Vec::new(); // (network, len, seg, node, iface)
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                let Some(a) = self.nodes[ni].ifaces[ii].addr else {
                    continue;
                };
                let span = self.meta[ni].ifaces[ii].addr_span.expect("address span");
                if let Some(&(fn_, fi)) = seen.get(&a.address().to_bits()) {
                    let first = self.meta[fn_ as usize].ifaces[fi as usize]
                        .addr_span
                        .expect("span");
                    let ctx = self.meta[ni].ifaces[ii].ctx.clone();
                    let d = Diagnostic::error(
                        "duplicate-address",
                        span,
                        format!(
                            "address {} is already used by `{}`",
                            a.address(),
                            self.port_name(fn_, fi)
                        ),
                    )
                    .label("duplicate address")
                    .note_at(first, "first used here");
                    self.push(d, &ctx);
                    continue;
                }
                seen.insert(a.address().to_bits(), (ni as u32, ii as u32));
                if self.meta[ni].ifaces[ii].link.is_none() {
                    continue; // not on any link: cannot clash with anything
                }
                subnets.push((
                    a.network().address().to_bits(),
                    a.prefix_len(),
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
                            other.network().address(),
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
                        if f.network() != a.network() || f.prefix_len() != a.prefix_len() =>
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

    pub(super) fn check_gateways(&mut self) {
        for ni in 0..self.nodes.len() {
            for p in self.meta[ni].routes.clone() {
                let Some(gw) = p.route.gateway else { continue };
                let node = &self.nodes[ni];
                let span = p.via_span.unwrap_or(p.span);
                if node
                    .ifaces
                    .iter()
                    .any(|i| i.addr.is_some_and(|a| a.address() == gw))
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
                        i.addr.map(|a| {
                            format!("{} ({}/{})", i.name, a.network().address(), a.prefix_len())
                        })
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

    pub(super) fn unlinked_warnings(&mut self) {
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

    pub(super) fn check_resolvers(&mut self, net: &Net, fibs: &[Fib], net6: &routing::Net6) {
        for ni in 0..self.nodes.len() {
            let (Some(r), Some((span, ctx))) =
                (self.nodes[ni].resolver, self.meta[ni].resolver.clone())
            else {
                continue;
            };
            let why = match r {
                std::net::IpAddr::V4(r) => self.unreachable(net, fibs, ni as u32, r),
                std::net::IpAddr::V6(r) => self.unreachable6(net, net6, ni as u32, r),
            };
            if let Some(msg) = why {
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
    pub(super) fn unreachable(
        &self,
        net: &Net,
        fibs: &[Fib],
        from: u32,
        to: Ipv4Addr,
    ) -> Option<String> {
        if !net.owner.contains_key(&to.to_bits()) {
            return Some(format!("no interface has address {to}"));
        }
        match routing::trace(&self.nodes, fibs, net, from, to) {
            Err(lost) => Some(lost.describe(&self.nodes, to.into())),
            Ok((src, path)) => {
                let back_from = *path.last().expect("path");
                // Behind a source NAT (SNAT or MASQUERADE on a router of the path, the last
                // one counting), the replies go to that router's address on its way out, and
                // it forwards them back to the sender.
                let nat = path[1..path.len() - 1].iter().rev().find_map(|&r| {
                    let n = &self.nodes[r as usize];
                    let snat = n.netfilter.table(TableId::Nat).chains.iter().any(|c| {
                        c.rules
                            .iter()
                            .any(|rl| matches!(rl.target, Target::Snat(_) | Target::Masquerade(_)))
                    });
                    let out = fibs[r as usize].lookup(to)?.dev;
                    let addr = n.ifaces[out as usize].addr?.address();
                    snat.then_some((r, addr))
                });
                if let Some((r, addr)) = nat {
                    let lost = routing::trace(&self.nodes, fibs, net, back_from, addr)
                        .err()
                        .map(|l| (addr, l))
                        .or_else(|| {
                            routing::trace(&self.nodes, fibs, net, r, src)
                                .err()
                                .map(|l| (src, l))
                        });
                    return lost.map(|(a, l)| {
                        format!(
                            "replies to {a} are lost: {}",
                            l.describe(&self.nodes, a.into())
                        )
                    });
                }
                match routing::trace(&self.nodes, fibs, net, back_from, src) {
                    Ok(_) => None,
                    Err(lost) => Some(format!(
                        "replies to {src} are lost: {}",
                        lost.describe(&self.nodes, src.into())
                    )),
                }
            }
        }
    }

    /// [`Self::unreachable`] for IPv6.
    pub(super) fn unreachable6(
        &self,
        net: &Net,
        net6: &routing::Net6,
        from: u32,
        to: std::net::Ipv6Addr,
    ) -> Option<String> {
        if !net6.owner.contains_key(&to.to_bits()) {
            return Some(format!("no interface has address {to}"));
        }
        match routing::trace6(&self.nodes, net, net6, from, to) {
            Err(lost) => Some(lost.describe(&self.nodes, to.into())),
            Ok((src, path)) => {
                let back_from = *path.last().expect("path");
                match routing::trace6(&self.nodes, net, net6, back_from, src) {
                    Ok(_) => None,
                    Err(lost) => Some(format!(
                        "replies to {src} are lost: {}",
                        lost.describe(&self.nodes, src.into())
                    )),
                }
            }
        }
    }

    pub(super) fn check_destinations(
        &mut self,
        apps: &[AppConfig],
        metas: &[AppMeta],
        listeners: &BTreeMap<(u32, u8, u16), Span>,
        (net, fibs, net6): (&Net, &[Fib], &routing::Net6),
    ) {
        for (app, meta) in apps.iter().zip(metas) {
            let from = app.node.0;
            let span = meta.dst_span.unwrap_or(meta.span);
            let (dst, listen) = match &app.kind {
                AppKind::TcpBulk {
                    dst: std::net::IpAddr::V4(dst),
                    port,
                    ..
                } => (*dst, Some((6u8, *port))),
                AppKind::TcpBulk {
                    dst: std::net::IpAddr::V6(dst),
                    port,
                    ..
                } => {
                    self.check_dst6(
                        net,
                        net6,
                        listeners,
                        from,
                        *dst,
                        Some((6, *port)),
                        span,
                        &meta.ctx,
                    );
                    continue;
                }
                AppKind::UdpCbr {
                    dst: std::net::IpAddr::V4(dst),
                    port,
                    ..
                } => (*dst, Some((17u8, *port))),
                AppKind::UdpCbr {
                    dst: std::net::IpAddr::V6(dst),
                    port,
                    ..
                } => {
                    if let Some(why) = self.unreachable6(net, net6, from, *dst) {
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
                    } else {
                        let owner = net6.owner[&dst.to_bits()].0;
                        if !listeners.contains_key(&(owner, 17, *port)) {
                            let d = Diagnostic::warning(
                                "no-listener",
                                span,
                                format!(
                                    "nothing listens on UDP port {port} of `{}` ({dst})",
                                    self.nodes[owner as usize].name
                                ),
                            )
                            .label("no udp_sink app there");
                            self.push(d, &meta.ctx);
                        }
                    }
                    continue;
                }
                AppKind::Ping {
                    dst: std::net::IpAddr::V4(dst),
                    ..
                } => (*dst, None),
                AppKind::Ping {
                    dst: std::net::IpAddr::V6(dst),
                    ..
                } => {
                    if let Some(why) = self.unreachable6(net, net6, from, *dst) {
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
                    }
                    continue;
                }
                AppKind::Curl { host, port, .. } => {
                    let literal6 = host
                        .strip_prefix('[')
                        .and_then(|h| h.strip_suffix(']'))
                        .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok());
                    if let Ok(a) = host.parse::<Ipv4Addr>() {
                        (a, Some((6, *port)))
                    } else if let Some(a) = literal6 {
                        self.check_dst6(
                            net,
                            net6,
                            listeners,
                            from,
                            a,
                            Some((6, *port)),
                            span,
                            &meta.ctx,
                        );
                        continue;
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
                        let server = match r {
                            std::net::IpAddr::V4(r) => net.owner.get(&r.to_bits()),
                            std::net::IpAddr::V6(r) => net6.owner.get(&r.to_bits()),
                        }
                        .map(|&(n, _)| n);
                        let record = server.and_then(|s| {
                            apps.iter().find_map(|x| match &x.kind {
                                AppKind::DnsServer { records, .. } if x.node.0 == s => {
                                    records.iter().find_map(|rec| match rec.addr {
                                        std::net::IpAddr::V4(a) if rec.name == *host => Some(a),
                                        _ => None,
                                    })
                                }
                                _ => None,
                            })
                        });
                        let record6 = server.and_then(|s| {
                            apps.iter().find_map(|x| match &x.kind {
                                AppKind::DnsServer { records, .. } if x.node.0 == s => {
                                    records.iter().find_map(|rec| match rec.addr {
                                        std::net::IpAddr::V6(a) if rec.name == *host => Some(a),
                                        _ => None,
                                    })
                                }
                                _ => None,
                            })
                        });
                        match (record, record6) {
                            (Some(a), _) => (a, Some((6, *port))),
                            (None, Some(a)) => {
                                self.check_dst6(
                                    net,
                                    net6,
                                    listeners,
                                    from,
                                    a,
                                    Some((6, *port)),
                                    span,
                                    &meta.ctx,
                                );
                                continue;
                            }
                            (None, None) => {
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
    /// [`Self::check_destinations`] for an IPv6 destination `dst` of an app on node
    /// `from`: a warning when it is unreachable, or when nothing listens on
    /// `listen`'s (protocol, port) at its owner.
    #[allow(clippy::too_many_arguments)]
    fn check_dst6(
        &mut self,
        net: &Net,
        net6: &routing::Net6,
        listeners: &BTreeMap<(u32, u8, u16), Span>,
        from: u32,
        dst: std::net::Ipv6Addr,
        listen: Option<(u8, u16)>,
        span: Span,
        ctx: &Ctx,
    ) {
        if let Some(why) = self.unreachable6(net, net6, from, dst) {
            let d = Diagnostic::warning(
                "unreachable",
                span,
                format!(
                    "{dst} is unreachable from `{}`: {why}",
                    self.nodes[from as usize].name
                ),
            )
            .label("packets to it will be lost");
            self.push(d, ctx);
            return;
        }
        let Some((proto, port)) = listen else {
            return;
        };
        let Some(&(owner, _)) = net6.owner.get(&dst.to_bits()) else {
            return;
        };
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
            self.push(d, ctx);
        }
    }
}
