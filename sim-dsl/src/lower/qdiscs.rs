//! Qdiscs of interfaces and `defaults`.

use super::*;

impl Lower<'_> {
    /// The `qdisc` of a property block, if any.
    pub(super) fn qdisc_of(&mut self, props: &[IrProp], ctx: &Ctx) -> Option<QSpec> {
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
}
