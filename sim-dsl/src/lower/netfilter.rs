//! Netfilter rules of a node: `iptables …` command lines, and the shorter `netfilter HOOK
//! ACTION …` form (a rule appended to `filter`'s INPUT/FORWARD/OUTPUT, or to `mangle`'s
//! PREROUTING/POSTROUTING, which `filter` lacks).

use sim_stack::netfilter::iptables;
use sim_stack::netfilter::rule::Inv;
use sim_stack::netfilter::xt_match::{
    Match, PortRange, StatisticMode, TcpFlagsMatch, TcpMatch, UdpMatch,
};
use sim_stack::netfilter::{TableId, Target};

use super::*;

impl Lower<'_> {
    /// `iptables …` on `node`'s tables: the line split as a shell splits it and applied as
    /// iptables would apply it; an error points at the word at fault.
    pub(super) fn iptables(&mut self, rules: &mut Ruleset, line: &Val, ctx: &Ctx) {
        // A line without `$param`/`{expr}` maps byte for byte onto the file.
        let at = |r: std::ops::Range<usize>| {
            if line.literal {
                Span {
                    file: line.span.file,
                    start: line.span.start + r.start as u32,
                    end: line.span.start + r.end as u32,
                }
            } else {
                line.span
            }
        };
        let words = match iptables::split_words(&line.text) {
            Ok(w) => w,
            Err(q) => {
                let d = Diagnostic::error("iptables", at(q..q + 1), "unterminated quote")
                    .label("this quote is not closed before the end of the line");
                self.push(d, ctx);
                return;
            }
        };
        let texts: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
        if let Err(e) = iptables::apply(rules, &texts) {
            let span = match words.get(e.word) {
                Some((_, r)) => at(r.clone()),
                None => {
                    let end = words.last().map_or(0, |(_, r)| r.end);
                    at(end..end)
                }
            };
            let d = Diagnostic::error("iptables", span, format!("iptables: {}", e.msg))
                .label("iptables refuses the command here");
            self.push(d, ctx);
        }
    }

    pub(super) fn netfilter(
        &mut self,
        hook: &Ident,
        action: &Ident,
        matches: &[(Ident, Val)],
        ctx: &Ctx,
    ) -> Option<(TableId, Hook, Rule)> {
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
            "accept" => Target::Accept,
            "drop" => Target::Drop,
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
        let mut rule = Rule::new(action_v);
        // What the matches say, put into the rule's shape once all are read.
        let mut proto: Option<u8> = None;
        let mut sport: Option<(u16, &Ident)> = None;
        let mut dport: Option<(u16, &Ident)> = None;
        let mut tcp_flags = 0u8;
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
                    Some("tcp") => proto = Some(6),
                    Some("udp") => proto = Some(17),
                    Some(_) => proto = Some(1),
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
                        Some(c) if k.name == "src" => rule.ip.src = Some(Inv::new(c.network())),
                        Some(c) => rule.ip.dst = Some(Inv::new(c.network())),
                        None => ok = false,
                    }
                }
                "sport" | "dport" => match self.typed(v, ParamType::Int, &what, ctx, |t| {
                    values::port(t).map_err(ValErr::from)
                }) {
                    Some(p) if k.name == "sport" => sport = Some((p, k)),
                    Some(p) => dport = Some((p, k)),
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
                        tcp_flags |= bit;
                    }
                    if proto.is_none() {
                        proto = Some(6);
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
        let mut nth_match = None;
        match (every, packet) {
            (Some((n, every_val)), p) => {
                let nth = Nth {
                    every: n,
                    packet: p.map_or(0, |(p, _, _)| p),
                };
                match nth.validate() {
                    Ok(()) => nth_match = Some(nth),
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
        if let Some(p) = proto {
            rule.ip.proto = Some(Inv::new(p));
        }
        let port = |x: Option<(u16, &Ident)>| x.map(|(p, _)| Inv::new(PortRange::one(p)));
        match proto {
            Some(6) => rule.matches.push(Match::Tcp(TcpMatch {
                sport: port(sport),
                dport: port(dport),
                flags: (tcp_flags != 0).then(|| {
                    Inv::new(TcpFlagsMatch {
                        mask: tcp_flags,
                        comp: tcp_flags,
                    })
                }),
                option: None,
            })),
            Some(17) => rule.matches.push(Match::Udp(UdpMatch {
                sport: port(sport),
                dport: port(dport),
            })),
            _ => {
                if let Some((_, k)) = sport.or(dport) {
                    let d = Diagnostic::error(
                        "bad-value",
                        k.span,
                        format!("`{}` needs `proto tcp` or `proto udp`", k.name),
                    )
                    .label("ports belong to a protocol")
                    .help("as iptables' `--dport` needs `-p tcp` or `-p udp` before it");
                    self.push(d, ctx);
                    ok = false;
                }
            }
        }
        if let Some(nth) = nth_match {
            rule.matches.push(Match::Statistic {
                mode: StatisticMode::Nth(nth),
                inv: false,
                seen: 0,
            });
        }
        let table = match hook_v {
            Hook::PreRouting | Hook::PostRouting => TableId::Mangle,
            _ => TableId::Filter,
        };
        ok.then_some((table, hook_v, rule))
    }
}
