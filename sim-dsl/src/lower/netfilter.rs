//! Netfilter rules of a node.

use super::*;

impl Lower<'_> {
    pub(super) fn netfilter(
        &mut self,
        hook: &Ident,
        action: &Ident,
        matches: &[(Ident, Val)],
        ctx: &Ctx,
    ) -> Option<Rule> {
        const HOOKS: &[&str] = &["prerouting", "input", "forward", "output", "postrouting"];
        let h = hook.name.to_ascii_lowercase();
        let hook_v = match h.as_str() {
            "prerouting" => Hook::PreRouting,
            "input" => Hook::LocalIn,
            "forward" => Hook::Forward,
            "output" => Hook::LocalOut,
            "postrouting" => Hook::PostRouting,
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
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
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
        let mut rule = Rule::new(hook_v, action_v);
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
                    Some("tcp") => rule.proto = Some(Proto::Tcp),
                    Some("udp") => rule.proto = Some(Proto::Udp),
                    Some(_) => rule.proto = Some(Proto::Icmp),
                    None => ok = false,
                },
                "src" | "dst" => {
                    let c = self.typed(v, ParamType::Cidr, &what, ctx, |t| {
                        if t.contains('/') {
                            t.parse::<Ipv4Cidr>()
                                .map_err(|e| ValErr::from(e.to_string()))
                        } else {
                            values::ip(t)
                                .map(|a| Ipv4Cidr::new(a, 32))
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
                        rule.proto = Some(Proto::Tcp);
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
                let nth = Nth {
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
}
