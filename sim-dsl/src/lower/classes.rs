//! The classful qdiscs, `htb` and `prio`: their classes, leaf qdiscs and filters.
//!
//! Class ids are written as tc writes them, in hex: `1:10` (or just `10`) is minor 0x10, and
//! htb's `default 20` is class `1:20`, as `tc qdisc add … htb default 20` means (tc reads it
//! with `get_u32(…, 16)`). The qdisc's handle is always `1:`. A prio band is the class
//! `1:N`, band `N − 1`: `class 1:1` is the first (highest priority) band, whose index the
//! priomap writes as `0`.

use super::*;
use crate::ast::{QBody, QClass, QFilter, QNode};
use sim_stack::qdisc::filter::{Filter, Match};
use sim_stack::qdisc::htb::{HtbClassConfig, HtbConfig};
use sim_stack::qdisc::prio::{MAX_BANDS, PrioConfig};

/// The parameters of an htb class, as tc-htb(8) names them.
const HTB_CLASS_KEYS: &[&str] = &["rate", "ceil", "burst", "cburst", "quantum", "prio"];

/// A number as tc's `get_u32(…, 0)` reads it: `0x…` hex, else decimal.
fn tc_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => text.parse().ok(),
    }
}

impl Lower<'_> {
    /// A `bad-value` error at `span`.
    fn class_err(&mut self, span: Span, msg: String, label: &str, ctx: &Ctx) {
        let d = Diagnostic::error("bad-value", span, msg).label(label.to_string());
        self.push(d, ctx);
    }

    /// A class id as tc's `get_tc_classid` reads it: `1:MINOR` or `MINOR`, both hex; the
    /// major, when written, must be the qdisc's `1`.
    pub(super) fn classid(&mut self, v: &Val, what: &str, ctx: &Ctx) -> Option<u32> {
        let (major, minor) = match v.text.split_once(':') {
            Some((maj, min)) => (Some(maj), min),
            None => (None, v.text.as_str()),
        };
        let hex = |s: &str| {
            (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(s, 16).ok())
                .flatten()
        };
        let Some(id) = hex(minor) else {
            self.class_err(
                v.span,
                format!("`{}` is not a class id", v.text),
                &format!("{what} takes a class id such as `1:10` (hex, as tc writes it)"),
                ctx,
            );
            return None;
        };
        if let Some(maj) = major
            && hex(maj) != Some(1)
        {
            self.class_err(
                v.span,
                format!("`{}` is not a class of this qdisc", v.text),
                "the qdisc's handle is `1:`, so its classes are `1:MINOR`",
                ctx,
            );
            return None;
        }
        Some(id)
    }

    /// `htb default D r2q R direct_qlen N { class … filter … }`.
    pub(super) fn htb(
        &mut self,
        got: &BTreeMap<&str, &[Val]>,
        body: Option<&QBody<Val>>,
        kind: Span,
        ctx: &Ctx,
    ) -> Option<HtbConfig> {
        let get = |k: &str| got.get(k).and_then(|v| v.first());
        let mut c = HtbConfig::default();
        let mut ok = true;
        if let Some(v) = get("r2q") {
            match self.int(v, 1, u32::MAX.into(), "`r2q`", ctx) {
                Some(r) => c.r2q = r as u32,
                None => ok = false,
            }
        }
        if let Some(v) = get("direct_qlen") {
            match self.int(v, 0, u32::MAX.into(), "`direct_qlen`", ctx) {
                Some(q) => c.direct_qlen = Some(q as u32),
                None => ok = false,
            }
        }
        let empty = QBody {
            classes: Vec::new(),
            filters: Vec::new(),
        };
        let body = body.unwrap_or(&empty);
        // Classes, parents before children, with where each id was written.
        let mut spans: BTreeMap<u32, (Span, bool)> = BTreeMap::new();
        let mut stack: Vec<(&QClass<Val>, Option<u32>)> =
            body.classes.iter().rev().map(|k| (k, None)).collect();
        while let Some((k, parent)) = stack.pop() {
            let Some(cl) = self.htb_class(k, parent, ctx) else {
                ok = false;
                continue;
            };
            if let Some(&(first, _)) = spans.get(&cl.id) {
                let d = Diagnostic::error(
                    "duplicate-class",
                    k.id.span,
                    format!("class 1:{:x} is defined twice", cl.id),
                )
                .label("class ids are unique in a qdisc")
                .note_at(first, "first defined here");
                self.push(d, ctx);
                ok = false;
                continue;
            }
            spans.insert(cl.id, (k.id.span, k.children.is_empty()));
            for ch in k.children.iter().rev() {
                stack.push((ch, Some(cl.id)));
            }
            c.classes.push(cl);
        }
        if let Some(v) = get("default") {
            match self.classid(v, "`default`", ctx) {
                Some(0) => c.default = 0,
                Some(id) => match spans.get(&id) {
                    Some(&(_, true)) => c.default = id,
                    Some(&(at, false)) => {
                        let d = Diagnostic::error(
                            "bad-value",
                            v.span,
                            format!("the default class 1:{id:x} is an inner class"),
                        )
                        .label("the default must be a leaf class")
                        .note_at(at, "it has classes under it")
                        .help("Linux would send unclassified packets unshaped through the direct queue; write `default 0` if that is meant");
                        self.push(d, ctx);
                        ok = false;
                    }
                    None if ok => {
                        let d = Diagnostic::error(
                            "unknown-class",
                            v.span,
                            format!("no class 1:{id:x} for `default`"),
                        )
                        .label(format!(
                            "classes here: {}",
                            ids_list(spans.keys().copied())
                        ))
                        .help("class ids are hex, as in tc: `default 20` is class 1:20. Linux would send unclassified packets unshaped through the direct queue; write `default 0` if that is meant");
                        self.push(d, ctx);
                        ok = false;
                    }
                    None => {}
                },
                None => ok = false,
            }
        }
        for f in &body.filters {
            let Some(filter) = self.filter(f, ctx) else {
                ok = false;
                continue;
            };
            match spans.get(&filter.flowid) {
                Some((_, true)) => c.filters.push(filter),
                Some(&(at, false)) => {
                    let d = Diagnostic::error(
                        "bad-value",
                        f.flowid.span,
                        format!("flowid 1:{:x} is an inner class", filter.flowid),
                    )
                    .label("a filter selects a leaf class")
                    .note_at(at, "it has classes under it");
                    self.push(d, ctx);
                    ok = false;
                }
                None if !ok => {}
                None => {
                    let d = Diagnostic::error(
                        "unknown-class",
                        f.flowid.span,
                        format!("no class 1:{:x} for this filter", filter.flowid),
                    )
                    .label(format!("classes here: {}", ids_list(spans.keys().copied())))
                    .help("class ids are hex, as in tc: `flowid 1:10` is minor 0x10");
                    self.push(d, ctx);
                    ok = false;
                }
            }
        }
        if c.classes.is_empty() && ok {
            let d = Diagnostic::warning(
                "empty-htb",
                kind,
                "an htb without classes sends everything through its direct queue, unshaped",
            )
            .label("add `{ class 1:10 rate … }`");
            self.push(d, ctx);
        }
        ok.then_some(c)
    }

    /// One htb class (not its children): `class ID rate R [ceil C] [burst B] [cburst CB]
    /// [quantum Q] [prio P] [{ qdisc … }]`.
    fn htb_class(
        &mut self,
        k: &QClass<Val>,
        parent: Option<u32>,
        ctx: &Ctx,
    ) -> Option<HtbClassConfig> {
        let id = self.classid(&k.id, "`class`", ctx)?;
        if id == 0 {
            self.class_err(
                k.id.span,
                "class 1:0 is the qdisc itself".into(),
                "classes are 1:1 to 1:ffff",
                ctx,
            );
            return None;
        }
        let mut ok = true;
        let mut seen: BTreeMap<&str, &Val> = BTreeMap::new();
        for (key, v) in &k.args {
            if !HTB_CLASS_KEYS.contains(&key.name.as_str()) {
                let d = Diagnostic::error(
                    "unknown-property",
                    key.span,
                    format!("`{}` is not a parameter of an htb class", key.name),
                )
                .label(format!(
                    "an htb class takes {}",
                    crate::diag::one_of(HTB_CLASS_KEYS)
                ))
                .suggest(
                    self.diags
                        .suggest(&key.name, HTB_CLASS_KEYS.iter().copied()),
                );
                self.push(d, ctx);
                ok = false;
            } else if seen.insert(&key.name, v).is_some() {
                let d = Diagnostic::error(
                    "duplicate-property",
                    key.span,
                    format!("`{}` is set twice", key.name),
                );
                self.push(d, ctx);
                ok = false;
            }
        }
        let Some(rate_v) = seen.get("rate").copied() else {
            if ok {
                let d = Diagnostic::error(
                    "missing-property",
                    k.kw,
                    format!("class 1:{id:x} needs a `rate`"),
                )
                .label("e.g. `class 1:10 rate 50Mbit ceil 100Mbit`");
                self.push(d, ctx);
            }
            return None;
        };
        let mut c = HtbClassConfig::new(id, parent, 0);
        c.rate_bps = self.rate(rate_v, "`rate`", ctx)?.bits_per_sec();
        if c.rate_bps == 0 {
            self.class_err(
                rate_v.span,
                "an htb class needs a rate above 0".into(),
                "Linux refuses a zero rate",
                ctx,
            );
            ok = false;
        }
        if let Some(v) = seen.get("ceil") {
            let ceil = self.rate(v, "`ceil`", ctx)?.bits_per_sec();
            if ceil < c.rate_bps {
                let d = Diagnostic::error(
                    "bad-value",
                    v.span,
                    format!("the ceil of class 1:{id:x} is below its rate"),
                )
                .label("`ceil` must be at least the `rate`")
                .note_at(rate_v.span, "the rate");
                self.push(d, ctx);
                ok = false;
            }
            c.ceil_bps = Some(ceil);
        }
        for (key, slot) in [("burst", &mut c.burst), ("cburst", &mut c.cburst)] {
            if let Some(v) = seen.get(key) {
                let b = self.size(v, &format!("`{key}`"), ctx)?;
                match u32::try_from(b.get()) {
                    Ok(b) if b > 0 => *slot = Some(b),
                    _ => {
                        self.class_err(
                            v.span,
                            format!("`{key}` must be 1 to 4294967295 bytes"),
                            "tc sends it as a 32-bit number",
                            ctx,
                        );
                        ok = false;
                    }
                }
            }
        }
        if let Some(v) = seen.get("quantum") {
            c.quantum = Some(self.int(v, 1, u32::MAX.into(), "`quantum` (bytes)", ctx)? as u32);
        }
        if let Some(v) = seen.get("prio") {
            c.prio = self.int(v, 0, 7, "`prio`", ctx)? as u8;
        }
        if let Some(q) = k.leaves.first() {
            if let Some(extra) = k.leaves.get(1) {
                let d = Diagnostic::error(
                    "duplicate-property",
                    extra.kw,
                    format!("class 1:{id:x} has two qdiscs"),
                )
                .note_at(q.kw, "first set here");
                self.push(d, ctx);
                ok = false;
            }
            if let Some(ch) = k.children.first() {
                let d = Diagnostic::error(
                    "bad-value",
                    q.kw,
                    format!("class 1:{id:x} has classes under it, so no qdisc of its own"),
                )
                .label("only leaf classes hold a qdisc")
                .note_at(ch.kw, "a class under it");
                self.push(d, ctx);
                ok = false;
            }
            match self.leaf_qdisc(q, ctx) {
                Some(leaf) => c.leaf = leaf,
                None => ok = false,
            }
        }
        ok.then_some(c)
    }

    /// A class's own qdisc: `None` inside for a pfifo of `txqueuelen`, which is also what
    /// a class without one gets (`htb_change_class`, `prio_tune`).
    fn leaf_qdisc(&mut self, q: &QNode<Val>, ctx: &Ctx) -> Option<Option<QdiscConfig>> {
        if q.kind.text == "noqueue" {
            self.class_err(
                q.kind.span,
                "`noqueue` cannot be a class's qdisc".into(),
                "it only exists as a device's root qdisc",
                ctx,
            );
            return None;
        }
        let prop = [IrProp::Qdisc {
            kw: q.kw,
            kind: q.kind.clone(),
            args: q.args.clone(),
            body: q.body.clone(),
        }];
        let errors = self.errors();
        let spec = self.qdisc_of(&prop, ctx);
        if self.errors() > errors {
            return None;
        }
        match spec {
            Some(QSpec::Done(c)) => Some(Some(c)),
            _ => Some(None),
        }
    }

    /// `prio bands N priomap P0 … P15 { class 1:N { qdisc … } filter … }`.
    pub(super) fn prio(
        &mut self,
        got: &BTreeMap<&str, &[Val]>,
        body: Option<&QBody<Val>>,
        ctx: &Ctx,
    ) -> Option<PrioConfig> {
        let mut c = PrioConfig::default();
        let mut ok = true;
        if let Some(v) = got.get("bands").and_then(|v| v.first()) {
            c.bands = self.int(v, 2, MAX_BANDS.into(), "`bands`", ctx)? as u32;
        }
        // tc's q_prio.c: up to 16 bands, each below `bands`; the rest keep the default map.
        for (i, v) in got
            .get("priomap")
            .copied()
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let b = self.int(v, 0, i64::from(c.bands) - 1, "a priomap band", ctx)?;
            c.priomap[i] = b as u8;
        }
        if !got.contains_key("priomap")
            && let Some(&b) = c.priomap.iter().find(|&&b| u32::from(b) >= c.bands)
        {
            let span = got.get("bands").and_then(|v| v.first()).map(|v| v.span)?;
            self.class_err(
                span,
                format!("the default priomap uses band {b}, past the last"),
                "give a `priomap` of bands below this count",
                ctx,
            );
            return None;
        }
        let Some(body) = body else { return Some(c) };
        let mut seen: BTreeMap<u32, Span> = BTreeMap::new();
        for k in &body.classes {
            let Some(n) = self.prio_band(&k.id, c.bands, "`class`", ctx) else {
                ok = false;
                continue;
            };
            if let Some(&first) = seen.get(&n) {
                let d = Diagnostic::error(
                    "duplicate-class",
                    k.id.span,
                    format!("band 1:{n:x} is given twice"),
                )
                .note_at(first, "first given here");
                self.push(d, ctx);
                ok = false;
                continue;
            }
            seen.insert(n, k.id.span);
            if let Some((key, _)) = k.args.first() {
                let d = Diagnostic::error(
                    "unknown-property",
                    key.span,
                    format!("`{}` is not a parameter of a prio band", key.name),
                )
                .label("a prio band takes only a qdisc: `class 1:1 { qdisc … }`");
                self.push(d, ctx);
                ok = false;
            }
            if let Some(ch) = k.children.first() {
                let d = Diagnostic::error(
                    "bad-value",
                    ch.kw,
                    "prio's bands have no classes under them".to_string(),
                )
                .label("a band holds one qdisc");
                self.push(d, ctx);
                ok = false;
            }
            if let Some(extra) = k.leaves.get(1) {
                let d = Diagnostic::error(
                    "duplicate-property",
                    extra.kw,
                    format!("band 1:{n:x} has two qdiscs"),
                );
                self.push(d, ctx);
                ok = false;
            }
            if let Some(q) = k.leaves.first() {
                match self.leaf_qdisc(q, ctx) {
                    Some(Some(leaf)) => c.children.push((n, leaf)),
                    Some(None) => {}
                    None => ok = false,
                }
            }
        }
        for f in &body.filters {
            let Some(filter) = self.filter(f, ctx) else {
                ok = false;
                continue;
            };
            match self.prio_band(&f.flowid, c.bands, "`flowid`", ctx) {
                Some(_) => c.filters.push(filter),
                None => ok = false,
            }
        }
        ok.then_some(c)
    }

    /// A band's class id `1:N`, N from 1 to `bands` (hex).
    fn prio_band(&mut self, v: &Val, bands: u32, what: &str, ctx: &Ctx) -> Option<u32> {
        let n = self.classid(v, what, ctx)?;
        if n == 0 || n > bands {
            let d = Diagnostic::error("unknown-class", v.span, format!("prio has no band 1:{n:x}"))
                .label(format!(
                    "its {bands} bands are 1:1 to 1:{bands:x} (1:1 is band 0, served first)"
                ));
            self.push(d, ctx);
            return None;
        }
        Some(n)
    }

    /// `filter handle N[/MASK] fw flowid ID` (or `filter fw handle …`): `cls_fw` on the mark
    /// netfilter's MARK sets.
    fn fw_filter(&mut self, f: &QFilter<Val>, flowid: u32, ctx: &Ctx) -> Option<Filter> {
        let words: Vec<&Val> = f.words.iter().collect();
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        let handle = match texts.as_slice() {
            ["handle", _, "fw"] => words[1],
            ["fw", "handle", _] => words[2],
            _ => {
                let at = words.first().map_or(f.flowid.span, |w| w.span);
                self.class_err(
                    at,
                    "an fw filter is `filter handle N fw flowid ID`".into(),
                    "as `tc filter add … handle N[/MASK] fw flowid ID`: it matches skb->mark (netfilter's MARK) under MASK",
                    ctx,
                );
                return None;
            }
        };
        let (v, m) = match handle.text.split_once('/') {
            Some((v, m)) => (v, Some(m)),
            None => (handle.text.as_str(), None),
        };
        let value = tc_number(v).and_then(|x| u32::try_from(x).ok());
        let mask = match m {
            Some(m) => tc_number(m).and_then(|x| u32::try_from(x).ok()),
            None => Some(u32::MAX),
        };
        let (Some(value), Some(mask)) = (value, mask) else {
            self.class_err(
                handle.span,
                format!("`{}` is not a mark", handle.text),
                "a 32-bit number, optionally /MASK: `handle 10`, `handle 0x10/0xff`",
                ctx,
            );
            return None;
        };
        Some(Filter {
            matches: vec![Match::FwMark {
                value: value & mask,
                mask,
            }],
            flowid,
        })
    }

    /// `filter [u32] match SELECTOR… flowid ID`: the subset of u32 (and `priority`) that
    /// [`sim_stack::qdisc::filter`] models.
    fn filter(&mut self, f: &QFilter<Val>, ctx: &Ctx) -> Option<Filter> {
        let flowid = self.classid(&f.flowid, "`flowid`", ctx)?;
        let mut words = f.words.iter().peekable();
        if words.peek().is_some_and(|w| w.text == "u32") {
            words.next();
        }
        let mut matches = Vec::new();
        const SELECTORS: &[&str] = &["src", "dst", "protocol", "tos", "dsfield", "sport", "dport"];
        let next_is_value = |w: Option<&&Val>| w.is_some_and(|w| w.text != "match");
        // cls_fw: `handle N[/MASK] fw` (tc's order) or `fw handle N[/MASK]`.
        let texts: Vec<&str> = f.words.iter().map(|w| w.text.as_str()).collect();
        if texts.contains(&"fw") {
            return self.fw_filter(f, flowid, ctx);
        }
        while let Some(w) = words.next() {
            if w.text != "match" {
                self.class_err(
                    w.span,
                    format!("expected `match`, found `{}`", w.text),
                    "a filter is `filter match ip dst 10.0.2.0/24 … flowid 1:10`",
                    ctx,
                );
                return None;
            }
            let Some(on) = words.next() else {
                self.class_err(
                    w.span,
                    "`match` needs a selector".into(),
                    "`match ip …` or `match priority N`",
                    ctx,
                );
                return None;
            };
            if self.word(on, &["ip", "priority"], "match", ctx)? == "priority" {
                let Some(v) = words.next() else {
                    self.class_err(
                        on.span,
                        "`priority` needs a value".into(),
                        "e.g. `match priority 6`",
                        ctx,
                    );
                    return None;
                };
                let Some(p) = tc_number(&v.text).and_then(|p| u32::try_from(p).ok()) else {
                    self.class_err(
                        v.span,
                        format!("`{}` is not a priority", v.text),
                        "skb->priority is a 32-bit number",
                        ctx,
                    );
                    return None;
                };
                matches.push(Match::Priority(p));
                continue;
            }
            let Some(sel) = words.next() else {
                self.class_err(
                    on.span,
                    "`match ip` needs a selector".into(),
                    &format!("expected {}", crate::diag::one_of(SELECTORS)),
                    ctx,
                );
                return None;
            };
            let sel_name = self.word(sel, SELECTORS, "u32 selector", ctx)?;
            let Some(v) = words.next() else {
                self.class_err(
                    sel.span,
                    format!("`{sel_name}` needs a value"),
                    "e.g. `match ip dport 80`",
                    ctx,
                );
                return None;
            };
            let mask = next_is_value(words.peek()).then(|| words.next()).flatten();
            let m = match sel_name {
                "src" | "dst" => {
                    if let Some(m) = mask {
                        self.class_err(
                            m.span,
                            format!("`{sel_name}` takes a prefix, not a mask"),
                            "write `ADDR/LEN`, e.g. `10.0.2.0/24`",
                            ctx,
                        );
                        return None;
                    }
                    let text = if v.text.contains('/') {
                        v.text.clone()
                    } else {
                        format!("{}/32", v.text)
                    };
                    let cidr =
                        self.typed(v, ParamType::Cidr, &format!("`{sel_name}`"), ctx, |_| {
                            text.parse::<Ipv4Cidr>().map_err(|e| cidr_err(&v.text, &e))
                        })?;
                    let addr = u32::from(cidr.address());
                    let len = cidr.prefix_len();
                    if sel_name == "src" {
                        Match::Src { addr, len }
                    } else {
                        Match::Dst { addr, len }
                    }
                }
                _ => {
                    let (max, full) = match sel_name {
                        "protocol" | "tos" | "dsfield" => (0xff, 0xff),
                        _ => (0xffff, 0xffff),
                    };
                    let Some(val) = tc_number(&v.text).filter(|&n| n <= max) else {
                        self.class_err(
                            v.span,
                            format!("`{}` is not a valid `{sel_name}`", v.text),
                            &format!("`{sel_name}` takes 0 to {max} (decimal, or hex as `0x…`)"),
                            ctx,
                        );
                        return None;
                    };
                    let mask_v = match mask {
                        None => full,
                        Some(m) => match tc_number(&m.text).filter(|&n| n <= max) {
                            Some(n) => n,
                            None => {
                                self.class_err(
                                    m.span,
                                    format!("`{}` is not a mask of `{sel_name}`", m.text),
                                    &format!("a mask from 0 to {max:#x}"),
                                    ctx,
                                );
                                return None;
                            }
                        },
                    };
                    match sel_name {
                        "tos" | "dsfield" => Match::Tos {
                            value: (val & mask_v) as u8,
                            mask: mask_v as u8,
                        },
                        _ if mask_v != full => {
                            let m = mask.expect("a mask was given");
                            self.class_err(
                                m.span,
                                format!("only the full mask {full:#x} is modeled for `{sel_name}`"),
                                "port and protocol matches are exact",
                                ctx,
                            );
                            return None;
                        }
                        "protocol" => Match::Protocol(val as u8),
                        "sport" => Match::Sport(val as u16),
                        _ => Match::Dport(val as u16),
                    }
                }
            };
            matches.push(m);
        }
        Some(Filter { matches, flowid })
    }
}

/// `1:10, 1:20` for a label.
fn ids_list(ids: impl Iterator<Item = u32>) -> String {
    let v: Vec<String> = ids.map(|i| format!("1:{i:x}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
