//! Typed values: each property read as what its position expects (a rate, a size, a time,
//! an address …), with located errors.

use super::*;

impl Lower<'_> {
    /// Types `v` as `expect` with `parse`, reporting a param type mismatch or a parse error.
    pub(super) fn typed<T>(
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

    pub(super) fn rate(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Rate> {
        self.typed(v, ParamType::Rate, what, ctx, |t| {
            t.parse::<Rate>().map_err(unit_err)
        })
    }

    pub(super) fn size(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Bytes> {
        self.typed(v, ParamType::Size, what, ctx, |t| {
            t.parse::<Bytes>().map_err(unit_err)
        })
    }

    pub(super) fn duration(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<SimDuration> {
        self.typed(v, ParamType::Duration, what, ctx, |t| {
            let d = t.parse::<SimDuration>().map_err(time_err)?;
            validate::duration(d).map_err(|e| ValErr {
                label: Some("at most 1000000h".into()),
                ..ValErr::from(format!("`{t}` is {e}"))
            })?;
            Ok(d)
        })
    }

    pub(super) fn int(
        &mut self,
        v: &Val,
        min: i64,
        max: i64,
        what: &str,
        ctx: &Ctx,
    ) -> Option<i64> {
        self.typed(v, ParamType::Int, what, ctx, |t| {
            values::int_in(t, min, max).map_err(|msg| ValErr {
                label: Some(format!("{what} takes an integer from {min} to {max}")),
                ..ValErr::from(msg)
            })
        })
    }

    pub(super) fn ip(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<Ipv4Addr> {
        self.typed(v, ParamType::Ip, what, ctx, |t| {
            values::ip(t).map_err(ValErr::from)
        })
    }

    pub(super) fn ppm(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<u32> {
        self.typed(v, ParamType::Ratio, what, ctx, |t| {
            values::ppm(t).map_err(ValErr::from)
        })
    }

    /// A boolean (`on`/`off`, `1`/`0`, `yes`/`no`, `true`/`false`).
    pub(super) fn boolean(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<bool> {
        self.typed(v, ParamType::Word, what, ctx, |t| {
            values::boolean(t).map_err(ValErr::from)
        })
    }

    pub(super) fn word<'v>(
        &mut self,
        v: &'v Val,
        choices: &[&str],
        what: &str,
        ctx: &Ctx,
    ) -> Option<&'v str> {
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
    pub(super) fn plain<'p>(
        &mut self,
        props: &'p [IrProp],
        allowed: &[&str],
        block: &str,
        ctx: &Ctx,
    ) -> Vec<(&'p Ident, &'p Val)> {
        self.plain_rep(props, allowed, &[], block, ctx)
    }

    /// [`Self::plain`], where the keys in `repeatable` may be given more than once (`ip6`).
    pub(super) fn plain_rep<'p>(
        &mut self,
        props: &'p [IrProp],
        allowed: &[&str],
        repeatable: &[&str],
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
                    if let Some((first, _)) = out
                        .iter()
                        .find(|(k, _)| k.name == key.name)
                        .filter(|_| !repeatable.contains(&key.name.as_str()))
                    {
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

    pub(super) fn mtu(&mut self, v: &Val, ctx: &Ctx) -> Option<u32> {
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

    /// `congestion NAME`: an algorithm of `tcp_available_congestion_control`.
    pub(super) fn congestion(
        &mut self,
        v: &Val,
        ctx: &Ctx,
    ) -> Option<sim_stack::config::CongestionControl> {
        use sim_stack::config::CongestionControl;
        let names = CongestionControl::ALL.map(CongestionControl::name);
        let name = self.word(v, &names, "congestion control", ctx)?;
        CongestionControl::from_name(name)
    }

    pub(super) fn port(&mut self, v: &Val, ctx: &Ctx) -> Option<u16> {
        self.typed(v, ParamType::Int, "`port`", ctx, |t| {
            values::port(t).map_err(ValErr::from)
        })
    }

    pub(super) fn addr_port(&mut self, v: &Val, ctx: &Ctx) -> Option<(Ipv4Addr, u16)> {
        self.typed(v, ParamType::Word, "`to`", ctx, |t| {
            values::addr_port(t).map_err(|m| ValErr {
                label: Some("`to` takes ADDRESS:PORT, such as `10.0.0.2:9`".into()),
                ..ValErr::from(m)
            })
        })
    }
}

pub(super) fn cidr_err(text: &str, e: &CidrParseError) -> ValErr {
    let why = match e {
        CidrParseError::BadAddr(a) => values::ip(a).err().unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    };
    ValErr::from(format!("bad CIDR `{text}`: {why}"))
}
