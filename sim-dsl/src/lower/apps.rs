//! Apps: the built-in ones and users' own (their properties checked against their spec).

use super::*;

impl Lower<'_> {
    pub(super) fn apps(
        &mut self,
        apps: &[IrApp],
        end: SimTime,
        checks: Option<(&Net, &[Fib], &routing::Net6)>,
    ) -> Vec<AppConfig> {
        let mut out: Vec<AppConfig> = Vec::new();
        let mut metas: Vec<AppMeta> = Vec::new();
        let mut listeners: BTreeMap<(u32, u8, u16), Span> = BTreeMap::new();
        for a in apps {
            if let Some((cfg, meta)) = self.app(a, end) {
                let listen = match &cfg.kind {
                    AppKind::DnsServer { .. } => Some((17u8, 53u16)),
                    AppKind::HttpServer { port, .. } | AppKind::TcpSink { port, .. } => {
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
        if let Some(c) = checks {
            self.check_destinations(&out, &metas, &listeners, c);
        }
        out
    }

    pub(super) fn app(&mut self, a: &IrApp, end: SimTime) -> Option<(AppConfig, AppMeta)> {
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
            "craft",
            "replay",
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
        let needs_arg = matches!(kind, "curl" | "ping" | "replay");
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
                let example = match kind {
                    "curl" => "curl \"http://baidu.com/\"",
                    "replay" => "replay \"captures/client.pcap\" { iface eth0 }",
                    _ => "ping 10.0.0.1",
                };
                let what = if kind == "replay" {
                    "a capture file"
                } else {
                    "a destination"
                };
                let d = Diagnostic::error("bad-app", a.kind.span, format!("`{kind}` needs {what}"))
                    .label(format!("e.g. `{example}`"));
                self.push(d, ctx);
                return None;
            }
            _ => {}
        }
        let mut dst_span = None;
        let app_kind = match kind {
            _ if let Some(spec) = user => self.user_app(a, &spec, ctx)?,
            "replay" => self.replay_app(a, node, ctx)?,
            "dns_server" => {
                let mut records = Vec::new();
                let mut txt = Vec::new();
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
                        let aaaa = rtype.text.eq_ignore_ascii_case("aaaa");
                        if rtype.text.eq_ignore_ascii_case("txt") {
                            let n = self.typed(name, ParamType::String, "`record`", ctx, |t| {
                                values::dns_name(t).map_err(ValErr::from)
                            });
                            if addr.text.len() > 65_000 {
                                let d = Diagnostic::error(
                                    "bad-value",
                                    addr.span,
                                    "a TXT record this long does not fit a DNS message",
                                )
                                .label("at most 65000 bytes");
                                self.push(d, ctx);
                                continue;
                            }
                            if let Some(name) = n {
                                txt.push(sim_stack::config::DnsTxtRecord {
                                    name,
                                    text: addr.text.clone(),
                                });
                            }
                            continue;
                        }
                        if !aaaa && !rtype.text.eq_ignore_ascii_case("a") {
                            let d = Diagnostic::error(
                                "bad-value",
                                rtype.span,
                                format!("unsupported record type `{}`", rtype.text),
                            )
                            .label("only A, AAAA and TXT records are modeled")
                            .suggest(self.diags.suggest(&rtype.text, ["A", "AAAA", "TXT"]));
                            self.push(d, ctx);
                            continue;
                        }
                        let n = self.typed(name, ParamType::String, "`record`", ctx, |t| {
                            values::dns_name(t).map_err(ValErr::from)
                        });
                        let ip: Option<std::net::IpAddr> = if aaaa {
                            self.typed(addr, ParamType::Word, "an AAAA `record`", ctx, |t| {
                                if values::ip(t).is_ok() {
                                    return Err(ValErr {
                                        help: Some(format!("an IPv4 address is an A record: `record {} A {t}`", name.text)),
                                        label: Some("an AAAA record holds an IPv6 address".into()),
                                        ..ValErr::from(format!("`{t}` is an IPv4 address"))
                                    });
                                }
                                t.parse::<std::net::Ipv6Addr>().map(Into::into).map_err(|_| ValErr {
                                    label: Some("an AAAA record holds an IPv6 address such as `2001:db8:1::80`".into()),
                                    ..ValErr::from(format!("`{t}` is not an IPv6 address"))
                                })
                            })
                        } else if ipv6::looks_v6(&addr.text) {
                            let d = Diagnostic::error(
                                "bad-value",
                                addr.span,
                                format!("`{}` is an IPv6 address", addr.text),
                            )
                            .label("an A record holds an IPv4 address")
                            .help(format!(
                                "an IPv6 address is an AAAA record: `record {} AAAA {}`",
                                name.text, addr.text
                            ));
                            self.push(d, ctx);
                            None
                        } else {
                            self.ip(addr, "`record`", ctx).map(Into::into)
                        };
                        if let (Some(name), Some(addr)) = (n, ip) {
                            records.push(DnsRecord { name, addr });
                        }
                    }
                }
                AppKind::DnsServer {
                    records,
                    ttl,
                    other_types,
                    txt,
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
                let mut congestion = None;
                for (k, v) in self.plain(&a.props, &["to", "bytes", "congestion"], "tcp_bulk", ctx)
                {
                    if k.name == "congestion" {
                        congestion = Some(self.congestion(v, ctx)?);
                    } else if k.name == "to" {
                        let dst = if ipv6::v6_endpoint(&v.text).is_some() {
                            let (a, p) = self.addr_port6(v, "tcp_bulk", ctx)?;
                            (std::net::IpAddr::V6(a), p)
                        } else {
                            let (a, p) = self.addr_port(v, ctx)?;
                            (std::net::IpAddr::V4(a), p)
                        };
                        to = Some((dst, v.span));
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
                AppKind::TcpBulk {
                    dst,
                    port,
                    bytes,
                    congestion,
                }
            }
            "craft" => self.craft(a, node, ctx)?,
            "tcp_sink" | "udp_sink" => {
                let mut port = None;
                let mut congestion = None;
                let keys: &[&str] = if kind == "tcp_sink" {
                    &["port", "congestion"]
                } else {
                    &["port"]
                };
                for (k, v) in self.plain(&a.props, keys, kind, ctx) {
                    if k.name == "congestion" {
                        congestion = Some(self.congestion(v, ctx)?);
                    } else {
                        port = Some(self.port(v, ctx)?);
                    }
                }
                let Some(port) = port else {
                    return self.missing(a, "port", "{ port 9 }");
                };
                if kind == "tcp_sink" {
                    AppKind::TcpSink { port, congestion }
                } else {
                    AppKind::UdpSink { port }
                }
            }
            "udp_cbr" => {
                let mut to = None;
                let mut payload = None;
                let mut pace = None;
                let mut options = UdpCbrOptions::default();
                for (k, v) in self.plain(
                    &a.props,
                    &[
                        "to", "payload", "rate", "interval", "connect", "recverr", "tos",
                        "priority",
                    ],
                    "udp_cbr",
                    ctx,
                ) {
                    match k.name.as_str() {
                        "to" => {
                            let dst = if ipv6::v6_endpoint(&v.text).is_some() {
                                let (a, p) = self.addr_port6(v, "udp_cbr", ctx)?;
                                (std::net::IpAddr::V6(a), p)
                            } else {
                                let (a, p) = self.addr_port(v, ctx)?;
                                (std::net::IpAddr::V4(a), p)
                            };
                            to = Some((dst, v.span));
                        }
                        "connect" => options.connect = self.boolean(v, "`connect`", ctx)?,
                        "recverr" => options.recverr = self.boolean(v, "`recverr`", ctx)?,
                        "tos" => options.tos = Some(self.int(v, 0, 255, "`tos`", ctx)? as u8),
                        "priority" => {
                            options.priority =
                                Some(self.int(v, 0, u32::MAX.into(), "`priority`", ctx)? as u32)
                        }
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
                    options,
                }
            }
            _ => {
                // ping
                let v = a.arg.as_ref().expect("checked");
                let dst = self.ping_dst(v, ctx)?;
                dst_span = Some(v.span);
                let mut count = None;
                let mut interval = SimDuration::from_secs(1);
                let mut size = Bytes(56);
                let mut options = PingOptions::default();
                for (k, v) in self.plain(
                    &a.props,
                    &[
                        "count", "interval", "size", "ttl", "pmtudisc", "timeout", "deadline",
                    ],
                    "ping",
                    ctx,
                ) {
                    match k.name.as_str() {
                        "count" => {
                            count = Some(self.int(v, 1, u32::MAX.into(), "`count`", ctx)? as u32)
                        }
                        "interval" => {
                            interval =
                                self.positive_duration(v, "interval", "a ping interval", ctx)?;
                        }
                        // IP_TTL refuses 0 (ping: "cannot set unicast time-to-live").
                        "ttl" => options.ttl = Some(self.int(v, 1, 255, "`ttl`", ctx)? as u8),
                        "pmtudisc" => {
                            options.pmtudisc = Some(
                                match self.word(
                                    v,
                                    &["do", "dont", "want"],
                                    "`pmtudisc` mode",
                                    ctx,
                                )? {
                                    "do" => PmtuDisc::Do,
                                    "dont" => PmtuDisc::Dont,
                                    _ => PmtuDisc::Want,
                                },
                            );
                        }
                        "timeout" => {
                            options.timeout = Some(self.positive_duration(
                                v,
                                "timeout",
                                "a ping timeout",
                                ctx,
                            )?);
                        }
                        "deadline" => {
                            options.deadline = Some(self.positive_duration(
                                v,
                                "deadline",
                                "a ping deadline",
                                ctx,
                            )?);
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
                    options,
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
    pub(super) fn user_app(
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
                PropKind::Addr | PropKind::Endpoint
                    if let Some(addr) = ipv6::v6_endpoint(&v.text) =>
                {
                    self.v6_not_yet(v, spec.name, addr, ctx)
                }
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
                PropKind::Bool => self.boolean(v, &what, ctx).map(PropValue::Bool),
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

    /// `craft { packet "IP(…)/…"  count N  interval T  times "…"  loop on  iface eth0 }`: the
    /// packet checked as Scapy reads it, errors located inside the string.
    pub(super) fn craft(&mut self, a: &IrApp, node: u32, ctx: &Ctx) -> Option<AppKind> {
        use sim_stack::apps::craft::{CraftSchedule, Packet};
        let mut packet = None;
        let mut count = None;
        let mut interval = None;
        let mut times = None;
        let mut looping = None;
        let mut iface = None;
        for (k, v) in self.plain(
            &a.props,
            &["packet", "count", "interval", "times", "loop", "iface"],
            "craft",
            ctx,
        ) {
            match k.name.as_str() {
                "packet" => packet = Some(v),
                "count" => count = Some((self.int(v, 1, i64::MAX, "`count`", ctx)? as u64, k.span)),
                "interval" => interval = Some(self.duration(v, "`interval`", ctx)?),
                "loop" => looping = Some((self.boolean(v, "`loop`", ctx)?, k.span)),
                "iface" => iface = Some(v),
                _ => {
                    let mut list = Vec::new();
                    for t in v.text.split(|c: char| c == ',' || c.is_whitespace()) {
                        if t.is_empty() {
                            continue;
                        }
                        let Ok(d) = t.parse::<SimDuration>() else {
                            let d = Diagnostic::error(
                                "bad-value",
                                v.span,
                                format!("`{t}` is not a time"),
                            )
                            .label("`times` takes times after the start, such as \"0ms 5ms 1s\"");
                            self.push(d, ctx);
                            return None;
                        };
                        list.push(d);
                    }
                    if list.windows(2).any(|w| w[1] < w[0]) {
                        let d = Diagnostic::error("bad-value", v.span, "`times` go back in time")
                            .label("list them in increasing order");
                        self.push(d, ctx);
                        return None;
                    }
                    times = Some((list, k.span));
                }
            }
        }
        let Some(pv) = packet else {
            return self.missing(
                a,
                "packet",
                "{ packet \"IP(dst='10.0.0.2')/UDP(dport=9)/'hi'\" }",
            );
        };
        // Offsets in the packet's text are offsets in the source when the string was
        // written without escapes or interpolation (its text then fills the quotes).
        let verbatim =
            pv.param.is_none() && (pv.span.end - pv.span.start) as usize == pv.text.len() + 2;
        let p = match Packet::parse_all(&pv.text) {
            Ok(mut ps) => ps.swap_remove(0),
            Err(e) => {
                let span = if verbatim {
                    pv.span.sub(1 + e.at, 1 + e.end)
                } else {
                    pv.span
                };
                let word = pv.text.get(e.at..e.end).unwrap_or("");
                let suggestion = if e.candidates.is_empty() {
                    None
                } else {
                    self.diags.suggest(word, e.candidates.iter().copied())
                };
                let d = Diagnostic::error("bad-packet", span, e.message.clone())
                    .label(e.expected.clone().unwrap_or_else(|| "here".into()))
                    .suggest(suggestion);
                self.push(d, ctx);
                return None;
            }
        };
        let first_ip = matches!(
            p.layers.first(),
            Some(sim_stack::apps::craft::layers::Layer::Ip(_))
        );
        if !first_ip && !p.is_frame() {
            let d = Diagnostic::error(
                "bad-packet",
                pv.span,
                "the packet starts with neither `IP()` nor `Ether()`",
            )
            .label("`send()` takes an IP packet, `sendp()` a frame");
            self.push(d, ctx);
            return None;
        }
        let iface = match iface {
            None => None,
            Some(v) if !p.is_frame() => {
                let d = Diagnostic::error(
                    "bad-app",
                    v.span,
                    "`iface` is for a frame (a packet starting with `Ether()`)",
                )
                .label("an IP packet goes where the node's routes send it")
                .help("start the packet with `Ether()/` to send it on an interface, as sendp()");
                self.push(d, ctx);
                return None;
            }
            Some(v) => {
                let names: Vec<String> = self.nodes[node as usize]
                    .ifaces
                    .iter()
                    .map(|i| i.name.clone())
                    .collect();
                if !names.contains(&v.text) {
                    let d = Diagnostic::error(
                        "unknown-iface",
                        v.span,
                        format!("`{}` has no interface `{}`", a.node.text, v.text),
                    )
                    .label(format!(
                        "expected {}",
                        crate::diag::one_of(&names.iter().map(String::as_str).collect::<Vec<_>>())
                    ))
                    .suggest(
                        self.diags
                            .suggest(&v.text, names.iter().map(String::as_str)),
                    );
                    self.push(d, ctx);
                    return None;
                }
                Some(v.text.clone())
            }
        };
        let schedule = match (times, count, looping) {
            (Some((_, span)), Some(_), _) | (Some((_, span)), _, Some((true, _))) => {
                let d =
                    Diagnostic::error("bad-app", span, "give `times` or `count`/`loop`, not both")
                        .label("`times` sends once at each instant");
                self.push(d, ctx);
                return None;
            }
            (Some((t, _)), ..) => CraftSchedule::At(t),
            (None, Some((_, span)), Some((true, _))) => {
                let d = Diagnostic::error("bad-app", span, "give `count` or `loop on`, not both")
                    .label("`loop on` sends until the app stops");
                self.push(d, ctx);
                return None;
            }
            (None, c, l) => {
                let interval = interval.unwrap_or(SimDuration::ZERO);
                let forever = l.is_some_and(|(on, _)| on);
                if forever && interval == SimDuration::ZERO {
                    let d = Diagnostic::error(
                        "bad-app",
                        l.expect("set").1,
                        "`loop on` with an interval of 0 would send forever at one instant",
                    )
                    .label("give an `interval` above 0");
                    self.push(d, ctx);
                    return None;
                }
                CraftSchedule::Every {
                    count: if forever {
                        None
                    } else {
                        Some(c.map_or(1, |(c, _)| c))
                    },
                    interval,
                }
            }
        };
        Some(AppKind::Craft {
            packet: pv.text.clone(),
            schedule,
            iface,
        })
    }

    /// `ping`'s destination: an IPv4 address, or an IPv6 one (`ping -6`), bare or in `[…]`.
    pub(super) fn ping_dst(&mut self, v: &Val, ctx: &Ctx) -> Option<std::net::IpAddr> {
        let t = v.text.trim();
        let inner = t.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
        if inner.is_some() || t.contains(':') {
            let a = self.typed(v, ParamType::Word, "`ping`", ctx, |t| {
                let t = inner.unwrap_or(t);
                t.parse::<std::net::Ipv6Addr>().map_err(|_| ValErr {
                    label: Some(
                        "`ping` takes an address such as `10.0.0.1` or `2001:db8::1`".into(),
                    ),
                    ..ValErr::from(format!("`{t}` is not an IPv6 address"))
                })
            })?;
            if sim_stack::wire::ipv6::is_link_local(a) || a.is_multicast() || a.is_unspecified() {
                let d = Diagnostic::error(
                    "bad-value",
                    v.span,
                    format!("`{a}` is not a unicast global address"),
                )
                .label("`ping` here takes a global IPv6 address")
                .help("link-local and multicast destinations need an interface (`ping fe80::1%eth0`), which the language does not take; ping the neighbour's global address");
                self.push(d, ctx);
                return None;
            }
            return Some(a.into());
        }
        self.ip(v, "`ping`", ctx).map(Into::into)
    }

    /// An IPv6 `to [ADDRESS]:PORT` of `app` (the brackets are required: `2001:db8::2:9` could
    /// be an address alone): a global unicast address and a port above 0.
    pub(super) fn addr_port6(
        &mut self,
        v: &Val,
        app: &str,
        ctx: &Ctx,
    ) -> Option<(std::net::Ipv6Addr, u16)> {
        let (a, port) = self.typed(v, ParamType::Word, "`to`", ctx, |t| {
            let label =
                Some("`to` takes [ADDRESS]:PORT for IPv6, such as `[2001:db8::2]:9`".into());
            let parsed = t.parse::<std::net::SocketAddrV6>().map_err(|_| {
                let help = (!t.starts_with('[')).then(|| {
                    let (a, p) = t.rsplit_once(':').unwrap_or((t, "9"));
                    format!("write the address in brackets: `[{a}]:{p}`")
                });
                ValErr {
                    label: label.clone(),
                    help,
                    ..ValErr::from(format!("`{t}` is not an IPv6 address and port"))
                }
            })?;
            if parsed.port() == 0 {
                return Err(ValErr {
                    label,
                    ..ValErr::from("port 0 is not a destination".to_string())
                });
            }
            Ok((*parsed.ip(), parsed.port()))
        })?;
        if sim_stack::wire::ipv6::is_link_local(a) || a.is_multicast() || a.is_unspecified() {
            let d = Diagnostic::error(
                "bad-value",
                v.span,
                format!("`{a}` is not a unicast global address"),
            )
            .label(format!("`{app}` here takes a global IPv6 address"))
            .help("link-local and multicast destinations need an interface, which the language does not take; use the peer's global address");
            self.push(d, ctx);
            return None;
        }
        Some((a, port))
    }

    /// `resolver 2001:db8:1::53` (or `[2001:db8:1::53]`): the DNS server's global IPv6 address.
    pub(super) fn resolver6(&mut self, v: &Val, ctx: &Ctx) -> Option<std::net::Ipv6Addr> {
        let t = v.text.trim();
        let inner = t.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
        let a = self.typed(v, ParamType::Word, "`resolver`", ctx, |t| {
            let t = inner.unwrap_or(t);
            t.parse::<std::net::Ipv6Addr>().map_err(|_| ValErr {
                label: Some(
                    "`resolver` takes an address such as `10.0.1.53` or `2001:db8:1::53`".into(),
                ),
                ..ValErr::from(format!("`{t}` is not an IPv6 address"))
            })
        })?;
        if sim_stack::wire::ipv6::is_link_local(a) || a.is_multicast() || a.is_unspecified() {
            let d = Diagnostic::error(
                "bad-value",
                v.span,
                format!("`{a}` is not a unicast global address"),
            )
            .label("`resolver` here takes a global IPv6 address")
            .help("a link-local nameserver needs an interface (`fe80::1%eth0`), which the language does not take");
            self.push(d, ctx);
            return None;
        }
        Some(a)
    }

    /// An IPv6 destination given to an app that has only IPv4 sockets yet.
    pub(super) fn v6_not_yet<T>(&mut self, v: &Val, app: &str, addr: &str, ctx: &Ctx) -> Option<T> {
        let d = Diagnostic::error(
            "ipv6-not-yet",
            v.span,
            format!("`{app}` cannot send to IPv6 address {addr} yet"),
        )
        .label("user apps have IPv4 sockets only at present")
        .help("use an IPv4 address here");
        self.push(d, ctx);
        None
    }

    /// The duration of property `name`, which must be above zero (`what` names it in the
    /// message: "a ping interval of 0").
    pub(super) fn positive_duration(
        &mut self,
        v: &Val,
        name: &str,
        what: &str,
        ctx: &Ctx,
    ) -> Option<SimDuration> {
        let d = self.duration(v, &format!("`{name}`"), ctx)?;
        if d == SimDuration::ZERO {
            let d = Diagnostic::error("bad-value", v.span, format!("{what} of 0"))
                .label("must be above 0");
            self.push(d, ctx);
            return None;
        }
        Some(d)
    }

    pub(super) fn missing<T>(&mut self, a: &IrApp, what: &str, example: &str) -> Option<T> {
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
}
