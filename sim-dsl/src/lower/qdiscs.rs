//! Qdiscs of interfaces and `defaults`.

use super::*;
use sim_stack::qdisc::red::RedTcArgs;

impl Lower<'_> {
    /// The `qdisc` of a property block, if any.
    pub(super) fn qdisc_of(&mut self, props: &[IrProp], ctx: &Ctx) -> Option<QSpec> {
        let mut found: Option<(Span, QSpec)> = None;
        for p in props {
            let IrProp::Qdisc {
                kw,
                kind,
                args,
                body,
            } = p
            else {
                continue;
            };
            if let Some((first, _)) = &found {
                let d = Diagnostic::error("duplicate-property", *kw, "`qdisc` is set twice")
                    .note_at(*first, "first set here");
                self.push(d, ctx);
                continue;
            }
            const KINDS: &[&str] = &[
                "pfifo_fast",
                "pfifo",
                "tbf",
                "fq_codel",
                "noqueue",
                "netem",
                "red",
                "htb",
                "prio",
                "fq",
                "sfq",
            ];
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
                    "ce_threshold",
                ],
                "netem" => NETEM_KEYS,
                "red" => RED_KEYS,
                "htb" => &["default", "r2q", "direct_qlen"],
                "prio" => &["bands", "priomap"],
                "fq" => FQ_KEYS,
                "sfq" => &[
                    "limit", "quantum", "divisor", "flows", "depth", "perturb", "headdrop",
                ],
                _ => &[],
            };
            let mut got: BTreeMap<&str, &[Val]> = BTreeMap::new();
            let mut keys: BTreeMap<&str, Span> = BTreeMap::new();
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
                let most = match (k, key.name.as_str()) {
                    ("netem", n) => netem_arity(n),
                    (_, "priomap") => 16,
                    _ => 1,
                };
                if let Some(extra) = val.get(most) {
                    let d = Diagnostic::error(
                        "bad-value",
                        extra.span,
                        format!(
                            "`{}` takes at most {most} value{}",
                            key.name,
                            if most == 1 { "" } else { "s" }
                        ),
                    )
                    .label("one value too many");
                    self.push(d, ctx);
                    ok = false;
                    continue;
                }
                keys.insert(&key.name, key.span);
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
            if let Some(b) = body
                && !matches!(k, "htb" | "prio")
            {
                let at = b.classes.first().map(|c| c.kw);
                let at = at.or(b.filters.first().map(|f| f.kw)).unwrap_or(kind.span);
                let d = Diagnostic::error(
                    "bad-value",
                    at,
                    format!("`{k}` is classless: it has no classes or filters"),
                )
                .label("classes and filters belong to `htb` and `prio`");
                self.push(d, ctx);
                ok = false;
            }
            let spec = match k {
                "htb" => self
                    .htb(&got, body.as_deref(), kind.span, ctx)
                    .map(|c| QSpec::Done(QdiscConfig::Htb(Box::new(c)))),
                "prio" => self
                    .prio(&got, body.as_deref(), ctx)
                    .map(|c| QSpec::Done(QdiscConfig::Prio(Box::new(c)))),
                "pfifo_fast" => Some(QSpec::Done(QdiscConfig::PfifoFast)),
                "noqueue" => Some(QSpec::Done(QdiscConfig::Noqueue)),
                "netem" => self
                    .netem(&got, &keys, ctx)
                    .map(|c| QSpec::Done(QdiscConfig::Netem(Box::new(c)))),
                "red" => self
                    .red(&got, kind.span, ctx)
                    .map(|c| QSpec::Done(QdiscConfig::Red(c))),
                "fq" => self
                    .fq(&got, &keys, ctx)
                    .map(|c| QSpec::Done(QdiscConfig::Fq(Box::new(c)))),
                "sfq" => self
                    .sfq(&got, ctx)
                    .map(|c| QSpec::Done(QdiscConfig::Sfq(c))),
                "pfifo" => match got.get("limit").and_then(|v| v.first()) {
                    Some(v) => self
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
                        let get = |k: &str| got.get(k).and_then(|v| v.first());
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
                        let Some(v) = val.first() else {
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
                            "ce_threshold" => {
                                c.ce_threshold = self.duration(v, &what, ctx).or(c.ce_threshold)
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
                    .and_then(|v| v.first())
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
}

/// The parameters of `netem`, as tc-netem(8) names them (`latency` and `drop` are tc's
/// other spellings of `delay` and `loss`).
const NETEM_KEYS: &[&str] = &[
    "limit",
    "delay",
    "latency",
    "distribution",
    "loss",
    "drop",
    "ecn",
    "duplicate",
    "corrupt",
    "reorder",
    "gap",
    "rate",
    "slot",
    "packets",
    "bytes",
];

/// The parameters of `fq`, as tc-fq(8) names them.
const FQ_KEYS: &[&str] = &[
    "limit",
    "flow_limit",
    "quantum",
    "initial_quantum",
    "maxrate",
    "buckets",
    "orphan_mask",
    "pacing",
    "nopacing",
    "refill_delay",
    "low_rate_threshold",
    "ce_threshold",
    "horizon",
    "horizon_drop",
    "horizon_cap",
];

impl Lower<'_> {
    /// `sfq_parse_opt`: tc-sfq(8)'s parameters as tc sends them (`tc_sfq_qopt_v1`), checked
    /// as `sfq_change` checks them; the kernel's clamps are applied by the qdisc.
    fn sfq(
        &mut self,
        got: &BTreeMap<&str, &[Val]>,
        ctx: &Ctx,
    ) -> Option<sim_stack::qdisc::SfqConfig> {
        use sim_stack::qdisc::sfq::SFQ_MAX_PERTURB;
        let mut c = sim_stack::qdisc::SfqConfig::default();
        let mut ok = true;
        for (key, val) in got {
            let Some(v) = val.first() else {
                c.headdrop |= *key == "headdrop";
                continue;
            };
            let what = format!("`{key}`");
            // 0 leaves a parameter at its default, as the kernel reads it.
            let hi: i64 = match *key {
                "quantum" => 1 << 20,
                "divisor" => 65536,
                "perturb" => SFQ_MAX_PERTURB.into(),
                _ => u32::MAX.into(),
            };
            let Some(n) = self.int(v, 0, hi, &what, ctx) else {
                ok = false;
                continue;
            };
            let n = n as u32;
            match *key {
                "limit" => c.limit = n,
                "quantum" => c.quantum = n,
                "flows" => c.flows = n,
                "depth" => c.depth = n,
                "perturb" => c.perturb = n,
                "divisor" => {
                    if n != 0 && !n.is_power_of_two() {
                        self.netem_err(
                            v.span,
                            &format!("`divisor` must be a power of two, got {n}"),
                            "sfq hashes into divisor buckets by masking",
                            ctx,
                        );
                        ok = false;
                    }
                    c.divisor = n;
                }
                _ => {}
            }
        }
        ok.then_some(c)
    }

    /// `fq_parse_opt`: tc-fq(8)'s parameters as tc sends them (rates in bytes/s, times in µs).
    fn fq(
        &mut self,
        got: &BTreeMap<&str, &[Val]>,
        keys: &BTreeMap<&str, Span>,
        ctx: &Ctx,
    ) -> Option<sim_stack::qdisc::FqConfig> {
        let mut c = sim_stack::qdisc::FqConfig::default();
        for (a, b) in [("pacing", "nopacing"), ("horizon_drop", "horizon_cap")] {
            if let (Some(_), Some(&span)) = (keys.get(a), keys.get(b)) {
                self.netem_err(
                    span,
                    &format!("`{a}` and `{b}` contradict each other"),
                    "give one of them",
                    ctx,
                );
                return None;
            }
        }
        let mut ok = true;
        for (key, val) in got {
            let Some(v) = val.first() else {
                match *key {
                    "nopacing" => c.pacing = false,
                    "horizon_cap" => c.horizon_drop = false,
                    _ => {}
                }
                continue;
            };
            let what = format!("`{key}`");
            let u32_int = |me: &mut Self, lo: i64| -> Option<u32> {
                me.int(v, lo, u32::MAX.into(), &what, ctx).map(|x| x as u32)
            };
            // tc sends times as a 32-bit count of µs.
            let us32 = |me: &mut Self| -> Option<SimDuration> {
                let d = me.duration(v, &what, ctx)?;
                if d.as_nanos() / 1000 > u64::from(u32::MAX) {
                    me.netem_err(
                        v.span,
                        &format!("{what} must be at most 4294967295us"),
                        "tc sends it as a 32-bit count of microseconds",
                        ctx,
                    );
                    return None;
                }
                Some(SimDuration::from_micros(d.as_nanos() / 1000))
            };
            // tc sends rates as 32-bit bytes/s.
            let rate32 = |me: &mut Self| -> Option<u64> {
                let r = me.rate(v, &what, ctx)?.bits_per_sec() / 8;
                if r > u64::from(u32::MAX) {
                    me.netem_err(
                        v.span,
                        &format!("{what} must be at most 34.3Gbit"),
                        "tc sends it as a 32-bit count of bytes per second",
                        ctx,
                    );
                    return None;
                }
                Some(r)
            };
            let done = match *key {
                "limit" => u32_int(self, 0).map(|x| c.limit = x),
                "flow_limit" => u32_int(self, 0).map(|x| c.flow_limit = x),
                "quantum" => u32_int(self, 0).map(|x| c.quantum = Some(x)),
                "initial_quantum" => u32_int(self, 0).map(|x| c.initial_quantum = Some(x)),
                "orphan_mask" => u32_int(self, 0).map(|x| c.orphan_mask = x),
                // tc: buckets N → ilog2(N).
                "buckets" => u32_int(self, 1).map(|x| c.buckets_log = x.ilog2()),
                "maxrate" => rate32(self).map(|r| c.maxrate = Some(r)),
                "low_rate_threshold" => rate32(self).map(|r| c.low_rate_threshold = r),
                "refill_delay" => us32(self).map(|t| c.refill_delay = t),
                "ce_threshold" => us32(self).map(|t| c.ce_threshold = Some(t)),
                _ => us32(self).map(|t| c.horizon = t),
            };
            ok &= done.is_some();
        }
        ok.then_some(c)
    }
}

/// The parameters of `red`, as tc-red(8) names them.
const RED_KEYS: &[&str] = &[
    "limit",
    "min",
    "max",
    "avpkt",
    "burst",
    "bandwidth",
    "probability",
    "ecn",
    "harddrop",
    "adaptive",
    "nodrop",
];

impl Lower<'_> {
    /// `red_parse_opt`: tc-red(8)'s parameters turned into the kernel's, as tc does.
    fn red(&mut self, got: &BTreeMap<&str, &[Val]>, kind: Span, ctx: &Ctx) -> Option<RedConfig> {
        let get = |k: &str| got.get(k).and_then(|v| v.first());
        let missing: Vec<&str> = ["limit", "avpkt"]
            .into_iter()
            .filter(|k| !got.contains_key(k))
            .collect();
        if !missing.is_empty() {
            let d = Diagnostic::error(
                "missing-property",
                kind,
                format!(
                    "`red` needs {}",
                    crate::diag::one_of(&missing).replace(" or ", " and ")
                ),
            )
            .label("e.g. `qdisc red limit 400KB min 30KB max 90KB avpkt 1000B`");
            self.push(d, ctx);
            return None;
        }
        let u32_size = |me: &mut Self, k: &str| -> Option<u32> {
            match get(k) {
                None => Some(0),
                Some(v) => {
                    let b = me.size(v, &format!("`{k}`"), ctx)?;
                    match u32::try_from(b.get()) {
                        Ok(x) => Some(x),
                        Err(_) => {
                            me.netem_err(
                                v.span,
                                &format!("`{k}` must be at most 4294967295 bytes"),
                                "tc sends it as a 32-bit number",
                                ctx,
                            );
                            None
                        }
                    }
                }
            }
        };
        let limit = u32_size(self, "limit")?;
        let min = u32_size(self, "min")?;
        let max = u32_size(self, "max")?;
        let avpkt = u32_size(self, "avpkt")?;
        let burst = match get("burst") {
            Some(v) => self.int(v, 1, u32::MAX.into(), "`burst` (packets)", ctx)? as u32,
            None => 0,
        };
        let bandwidth = match get("bandwidth") {
            Some(v) => self.rate(v, "`bandwidth`", ctx)?.bits_per_sec() / 8,
            None => 0,
        };
        let probability = match get("probability") {
            Some(v) => self.typed(v, ParamType::Ratio, "`probability`", ctx, |t| {
                match t.parse::<f64>() {
                    Ok(p) if p > 0.0 && p <= 1.0 => Ok(p),
                    _ => Err(ValErr {
                        label: Some("`probability` takes a number in (0, 1], e.g. `0.02`".into()),
                        ..ValErr::from(format!("`{t}` is not a probability"))
                    }),
                }
            })?,
            None => 0.02,
        };
        if avpkt == 0 || limit == 0 {
            let k = if limit == 0 { "limit" } else { "avpkt" };
            self.netem_err(
                get(k)?.span,
                &format!("`{k}` must be above 0"),
                "tc requires it",
                ctx,
            );
            return None;
        }
        let args = RedTcArgs {
            limit,
            min,
            max,
            avpkt,
            burst,
            bandwidth,
            probability,
        };
        let mut c = match RedConfig::from_tc(args) {
            Ok(c) => c,
            Err(msg) => {
                let span = get("burst").or(get("min")).map_or(kind, |v| v.span);
                self.netem_err(span, &msg, "as tc computes it (q_red.c)", ctx);
                return None;
            }
        };
        c.ecn = got.contains_key("ecn");
        c.harddrop = got.contains_key("harddrop");
        c.adaptive = got.contains_key("adaptive");
        c.nodrop = got.contains_key("nodrop");
        Some(c)
    }
}

/// How many values a netem parameter takes at most.
fn netem_arity(key: &str) -> usize {
    match key {
        "delay" | "latency" => 3,
        "loss" | "drop" => 6,
        "duplicate" | "corrupt" | "reorder" | "slot" => 2,
        "rate" => 4,
        _ => 1,
    }
}

/// tc's `get_percent`: `N%` as a fraction of `u32::MAX`, `rint(N / 100 × UINT32_MAX)`.
fn percent(text: &str) -> Result<u32, String> {
    let Some(num) = text.strip_suffix('%') else {
        return Err(format!(
            "`{text}` is not a percentage; netem takes `N%` (tc reads a bare `{text}` as {text}%)"
        ));
    };
    match num.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => {
            Ok((p / 100.0 * f64::from(u32::MAX)).round_ties_even() as u32)
        }
        Ok(_) => Err(format!("`{text}` is not between 0% and 100%")),
        Err(_) => Err(format!(
            "`{text}` is not a percentage such as `1%` or `0.1%`"
        )),
    }
}

impl Lower<'_> {
    fn percent(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<u32> {
        self.typed(v, ParamType::Ratio, what, ctx, |t| {
            percent(t).map_err(|msg| ValErr {
                label: Some(format!("{what} takes a percentage from 0% to 100%")),
                ..ValErr::from(msg)
            })
        })
    }

    /// A netem error about `span`.
    fn netem_err(&mut self, span: Span, msg: &str, label: &str, ctx: &Ctx) {
        let d = Diagnostic::error("bad-value", span, msg.to_string()).label(label.to_string());
        self.push(d, ctx);
    }

    /// `netem_parse_opt`: the parameters of `qdisc netem …`, with tc's defaults and checks.
    fn netem(
        &mut self,
        got: &BTreeMap<&str, &[Val]>,
        keys: &BTreeMap<&str, Span>,
        ctx: &Ctx,
    ) -> Option<NetemConfig> {
        let mut c = NetemConfig::default();
        let mut ok = true;
        let one = |k: &str| got.get(k).copied().unwrap_or(&[]);
        // Either spelling, not both.
        for (a, b) in [("delay", "latency"), ("loss", "drop")] {
            if got.contains_key(a) && got.contains_key(b) {
                self.netem_err(keys[b], &format!("`{b}` is `{a}` again"), "set once", ctx);
                ok = false;
            }
        }
        let delay = if got.contains_key("delay") {
            one("delay")
        } else {
            one("latency")
        };
        if let Some(v) = delay.first() {
            c.latency = self.duration(v, "`delay`", ctx)?;
        }
        if let Some(v) = delay.get(1) {
            c.jitter = self.duration(v, "the jitter", ctx)?;
        }
        if let Some(v) = delay.get(2) {
            c.delay_corr = self.percent(v, "the delay correlation", ctx)?;
        }
        if let Some(v) = one("limit").first() {
            c.limit = self.int(v, 0, u32::MAX.into(), "`limit`", ctx)? as u32;
        }
        if let Some(v) = one("distribution").first() {
            c.distribution = match self.word(
                v,
                &["uniform", "normal", "pareto", "paretonormal"],
                "distribution",
                ctx,
            )? {
                "normal" => NetemDist::Normal,
                "pareto" => NetemDist::Pareto,
                "paretonormal" => NetemDist::ParetoNormal,
                _ => NetemDist::Uniform,
            };
            if c.latency.is_zero() || c.jitter.is_zero() {
                self.netem_err(
                    v.span,
                    "distribution specified but no latency and jitter values",
                    "needs `delay TIME JITTER`",
                    ctx,
                );
                ok = false;
            }
        }
        let loss = if got.contains_key("loss") {
            one("loss")
        } else {
            one("drop")
        };
        if let Some(first) = loss.first() {
            c.loss = self.netem_loss(first, &loss[1..], ctx)?;
        }
        for (key, slot) in [
            ("duplicate", &mut c.duplicate),
            ("corrupt", &mut c.corrupt),
            ("reorder", &mut c.reorder),
        ] {
            let vals = one(key);
            if let Some(v) = vals.first() {
                slot.0 = self.percent(v, &format!("`{key}`"), ctx)?;
            }
            if let Some(v) = vals.get(1) {
                slot.1 = self.percent(v, &format!("the {key} correlation"), ctx)?;
            }
        }
        if let Some(v) = one("gap").first() {
            c.gap = self.int(v, 0, u32::MAX.into(), "`gap`", ctx)? as u32;
        }
        if c.reorder.0 != 0 {
            if c.latency.is_zero() {
                let span = one("reorder")[0].span;
                self.netem_err(
                    span,
                    "reordering not possible without specifying some delay",
                    "needs `delay TIME`",
                    ctx,
                );
                ok = false;
            }
            if c.gap == 0 {
                c.gap = 1;
            }
        } else if c.gap > 0 {
            let span = one("gap")[0].span;
            self.netem_err(
                span,
                "gap specified without reorder probability",
                "needs `reorder PERCENT`",
                ctx,
            );
            ok = false;
        }
        if let Some(&span) = keys.get("ecn")
            && matches!(c.loss, NetemLoss::Random { p: 0, .. })
        {
            self.netem_err(
                span,
                "ecn requested without loss model",
                "needs `loss …`",
                ctx,
            );
            ok = false;
        }
        c.ecn = got.contains_key("ecn");
        let rate = one("rate");
        if let Some(v) = rate.first() {
            let r = self.rate(v, "`rate`", ctx)?;
            let mut nr = NetemRate {
                bytes_per_sec: r.bits_per_sec() / 8,
                packet_overhead: 0,
                cell_size: 0,
                cell_overhead: 0,
            };
            if let Some(v) = rate.get(1) {
                nr.packet_overhead = self.int(
                    v,
                    i32::MIN.into(),
                    i32::MAX.into(),
                    "the packet overhead",
                    ctx,
                )? as i32;
            }
            if let Some(v) = rate.get(2) {
                nr.cell_size = self.int(v, 0, u32::MAX.into(), "the cell size", ctx)? as u32;
            }
            if let Some(v) = rate.get(3) {
                nr.cell_overhead = self.int(
                    v,
                    i32::MIN.into(),
                    i32::MAX.into(),
                    "the cell overhead",
                    ctx,
                )? as i32;
            }
            c.rate = Some(nr);
        }
        let slot = one("slot");
        if let Some(v) = slot.first() {
            if v.text == "distribution" {
                self.netem_err(
                    v.span,
                    "`slot distribution` is not modeled",
                    "use `slot MIN [MAX]`",
                    ctx,
                );
                return None;
            }
            let min = self.duration(v, "the slot's min delay", ctx)?;
            let max = match slot.get(1) {
                Some(v) => self.duration(v, "the slot's max delay", ctx)?,
                None => min,
            };
            let mut s = NetemSlot {
                min_delay: min,
                max_delay: max,
                max_packets: 0,
                max_bytes: 0,
            };
            if let Some(v) = one("packets").first() {
                s.max_packets = self.int(v, 0, i32::MAX.into(), "`packets`", ctx)? as u32;
            }
            if let Some(v) = one("bytes").first() {
                let b = self.size(v, "`bytes`", ctx)?;
                s.max_bytes = u32::try_from(b.get())
                    .unwrap_or(u32::MAX)
                    .min(i32::MAX as u32);
            }
            c.slot = Some(s);
        } else {
            for k in ["packets", "bytes"] {
                if let Some(v) = one(k).first() {
                    self.netem_err(
                        v.span,
                        &format!("`{k}` belongs to `slot`"),
                        "needs `slot MIN [MAX]`",
                        ctx,
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(c)
    }

    /// `loss [random] P [CORR]`, `loss state p13 [p31 [p32 [p23 [p14]]]]`,
    /// `loss gemodel p [r [1-h [1-k]]]`, with tc's defaults for what is left out.
    fn netem_loss(&mut self, first: &Val, rest: &[Val], ctx: &Ctx) -> Option<NetemLoss> {
        let (model, vals): (&str, Vec<&Val>) =
            if first.text.starts_with(|c: char| c.is_ascii_digit()) {
                ("random", std::iter::once(first).chain(rest).collect())
            } else {
                let m = self.word(first, &["random", "state", "gemodel"], "loss model", ctx)?;
                (m, rest.iter().collect())
            };
        let most = match model {
            "random" => 2,
            "state" => 5,
            _ => 4,
        };
        if vals.is_empty() {
            self.netem_err(
                first.span,
                &format!("`loss {model}` needs a probability"),
                "e.g. `1%`",
                ctx,
            );
            return None;
        }
        if let Some(extra) = vals.get(most) {
            self.netem_err(
                extra.span,
                &format!("`loss {model}` takes at most {most} values"),
                "one value too many",
                ctx,
            );
            return None;
        }
        let mut p = Vec::with_capacity(vals.len());
        for v in &vals {
            p.push(self.percent(v, &format!("`loss {model}`"), ctx)?);
        }
        let get = |i: usize, default: u32| p.get(i).copied().unwrap_or(default);
        Some(match model {
            "random" => NetemLoss::Random {
                p: p[0],
                corr: get(1, 0),
            },
            "state" => NetemLoss::State {
                p13: p[0],
                // tc's defaults: p31 = 1 − p13, p32 = 0, p23 = 100%, p14 = 0.
                p31: get(1, u32::MAX - p[0]),
                p32: get(2, 0),
                p23: get(3, u32::MAX),
                p14: get(4, 0),
            },
            _ => NetemLoss::GilbertElliott {
                p: p[0],
                // tc's defaults: r = 1 − p, 1-h = 100% (h = 0), 1-k = 0.
                r: get(1, u32::MAX - p[0]),
                // tc takes 1-h and sends h.
                h: u32::MAX - get(2, u32::MAX),
                k1: get(3, 0),
            },
        })
    }
}
