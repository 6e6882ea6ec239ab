//! Links: their ends, properties and the switch ports they make; MAC addresses.

use super::*;

impl Lower<'_> {
    pub(super) fn link_prop(&mut self, k: &Ident, v: &Val, out: &mut LinkDefaults, ctx: &Ctx) {
        match k.name.as_str() {
            "rate" => {
                if let Some(r) = self.rate(v, "`rate`", ctx) {
                    if r.bits_per_sec() == 0 {
                        self.push(
                            Diagnostic::error("bad-value", v.span, "a link rate must be above 0")
                                .label("nothing would ever arrive"),
                            ctx,
                        );
                    } else {
                        out.rate = Some(r);
                    }
                }
            }
            "delay" => out.delay = self.duration(v, "`delay`", ctx),
            "loss" => out.loss = self.ppm(v, "`loss`", ctx),
            _ => out.mtu = self.mtu(v, ctx),
        }
    }

    /// One end of a link: `Ok((node, Some(iface)))`, or `(switch, None)`.
    pub(super) fn end(&mut self, e: &IrEnd, ctx: &Ctx) -> Option<(u32, Option<u32>)> {
        let ni = self.lookup_node(&e.node, "the name of a host, router or switch", ctx)?;
        let node = &self.nodes[ni as usize];
        match (&e.iface, node.kind) {
            (Some(i), NodeKind::Switch) => {
                let d = Diagnostic::error(
                    "switch-port",
                    i.span,
                    format!("`{}` is a switch: links create its ports", node.name),
                )
                .label("remove this")
                .help(format!("write just `{}`", node.name));
                self.push(d, ctx);
                None
            }
            (None, NodeKind::Switch) => Some((ni, None)),
            (None, _) => {
                let mut d = Diagnostic::error(
                    "missing-iface",
                    e.node.span,
                    format!(
                        "`{}` is a {}: a link connects one of its interfaces",
                        node.name,
                        node.kind.name()
                    ),
                )
                .label("expected `node.iface`");
                if let Some(first) = node.ifaces.first() {
                    d = d.help(format!("did you mean `{}.{}`?", node.name, first.name));
                }
                self.push(d, ctx);
                None
            }
            (Some(i), _) => match self.meta[ni as usize].iface_index.get(&i.text) {
                Some(&ii) => Some((ni, Some(ii))),
                None => {
                    self.unknown_iface(ni as usize, i, ctx);
                    None
                }
            },
        }
    }

    pub(super) fn link(
        &mut self,
        l: &IrLink,
        ldefs: &LinkDefaults,
        idefs: &IfaceDefaults,
        switch_uf: &mut UnionFind<usize>,
    ) {
        let ctx = &l.ctx;
        let a = self.end(&l.a, ctx);
        let b = self.end(&l.b, ctx);
        let mut props = ldefs.clone();
        let mut own = LinkDefaults::default();
        for (k, v) in self.plain(&l.props, &["rate", "delay", "loss", "mtu"], "link", ctx) {
            self.link_prop(k, v, &mut own, ctx);
        }
        props.rate = own.rate.or(props.rate);
        props.delay = own.delay.or(props.delay);
        props.loss = own.loss.or(props.loss);
        props.mtu = own.mtu.or(props.mtu);
        let given: Vec<&str> = l
            .props
            .iter()
            .filter_map(|p| match p {
                IrProp::Plain { key, .. } => Some(key.name.as_str()),
                _ => None,
            })
            .collect();
        let mut missing = Vec::new();
        if props.rate.is_none() && !given.contains(&"rate") {
            missing.push("rate");
        }
        if props.delay.is_none() && !given.contains(&"delay") {
            missing.push("delay");
        }
        if !missing.is_empty() {
            let d = Diagnostic::error(
                "missing-property",
                l.span,
                format!(
                    "link needs {}",
                    crate::diag::one_of(&missing).replace(" or ", " and ")
                ),
            )
            .label("e.g. `{ rate 1Gbit  delay 1ms }`")
            .help("or set them for every link with `defaults link { rate …  delay … }`");
            self.push(d, ctx);
            return;
        }
        let (Some(a), Some(b), Some(rate), Some(delay)) = (a, b, props.rate, props.delay) else {
            return;
        };
        if a.0 == b.0 {
            let d = Diagnostic::error(
                "self-link",
                l.span,
                format!("link from `{}` to itself", self.nodes[a.0 as usize].name),
            )
            .label("both ends are on the same node");
            self.push(d, ctx);
            return;
        }
        // An interface in two links.
        for (end, ir) in [(a, &l.a), (b, &l.b)] {
            if let (n, Some(i)) = end
                && let Some(first) = self.meta[n as usize].ifaces[i as usize].link
            {
                let d = Diagnostic::error(
                    "iface-reused",
                    ir.span,
                    format!("`{}` is already in a link", ir_end_name(ir)),
                )
                .label("an interface connects to one link only")
                .note_at(first, "first link")
                .help("add another interface, or connect the hosts through a switch");
                self.push(d, ctx);
                return;
            }
        }
        // Switch loops.
        if a.1.is_none() && b.1.is_none() {
            if switch_uf.equiv(a.0 as usize, b.0 as usize) {
                let d = Diagnostic::error(
                    "switch-loop",
                    l.span,
                    format!(
                        "this link closes a loop of switches (`{}` and `{}` are already connected)",
                        self.nodes[a.0 as usize].name, self.nodes[b.0 as usize].name
                    ),
                )
                .label("learning switches without STP would flood frames around the loop forever");
                self.push(d, ctx);
                return;
            }
            switch_uf.union(a.0 as usize, b.0 as usize);
        }
        let mut ends = [LinkEnd {
            node: NodeId(0),
            iface: IfaceId(0),
        }; 2];
        for (k, (n, i)) in [a, b].into_iter().enumerate() {
            let iface = match i {
                Some(i) => {
                    let m = &mut self.meta[n as usize].ifaces[i as usize];
                    m.link = Some(l.span);
                    if !m.mtu_set
                        && let Some(mtu) = props.mtu
                    {
                        self.nodes[n as usize].ifaces[i as usize].mtu = mtu;
                    }
                    i
                }
                None => {
                    let sw = &mut self.nodes[n as usize];
                    let idx = sw.ifaces.len() as u32;
                    sw.ifaces.push(IfaceConfig {
                        name: format!("p{}", idx + 1),
                        addr: None,
                        addrs6: Vec::new(),
                        // A bridge port never has IPv6 (the reference's switch namespace
                        // sets disable_ipv6): the switch stays silent.
                        ipv6: Ipv6DevConf {
                            disable_ipv6: true,
                            ..Ipv6DevConf::default()
                        },
                        mac: EthernetAddress([0; 6]),
                        mtu: props.mtu.or(idefs.mtu).unwrap_or(1500),
                        txqueuelen: idefs.txqueuelen.unwrap_or(1000),
                        qdisc: match &idefs.qdisc {
                            None => QdiscConfig::PfifoFast,
                            Some(QSpec::Done(q)) => q.clone(),
                            Some(QSpec::PfifoTxqueuelen) => QdiscConfig::Pfifo {
                                limit: idefs.txqueuelen.unwrap_or(1000).max(1),
                            },
                        },
                        tx_ring: idefs.tx_ring.unwrap_or(256),
                        tso: false,
                    });
                    self.meta[n as usize].ifaces.push(IfaceMeta {
                        addr6_spans: Vec::new(),
                        name_span: l.span,
                        addr_span: None,
                        mac_span: None,
                        mtu_set: true,
                        link: Some(l.span),
                        ctx: ctx.clone(),
                    });
                    idx
                }
            };
            ends[k] = LinkEnd {
                node: NodeId(n),
                iface: IfaceId(iface),
            };
        }
        self.links.push(LinkConfig {
            a: ends[0],
            b: ends[1],
            rate,
            delay,
            loss_ppm: props.loss.unwrap_or(0),
            mtu: props.mtu,
        });
    }

    /// Explicit MACs are checked for duplicates on a segment; the others are derived from a
    /// hash of `node\0iface` (FNV-1a, 40 bits after `02:`), bumped past any collision.
    pub(super) fn assign_macs(&mut self, net: &Net) {
        let mut used: BTreeSet<[u8; 6]> = BTreeSet::new();
        let mut by_seg: BTreeMap<(u32, [u8; 6]), (u32, u32)> = BTreeMap::new();
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                let Some(span) = self.meta[ni].ifaces[ii].mac_span else {
                    continue;
                };
                let mac = self.nodes[ni].ifaces[ii].mac;
                used.insert(mac.0);
                let seg = net.seg[ni][ii];
                if let Some(&(fn_, fi)) = by_seg.get(&(seg, mac.0)) {
                    let first = self.meta[fn_ as usize].ifaces[fi as usize]
                        .mac_span
                        .unwrap_or(span);
                    let other = format!(
                        "{}.{}",
                        self.nodes[fn_ as usize].name,
                        self.nodes[fn_ as usize].ifaces[fi as usize].name
                    );
                    let ctx = self.meta[ni].ifaces[ii].ctx.clone();
                    let d = Diagnostic::error(
                        "duplicate-mac",
                        span,
                        format!("MAC {mac} is already used by `{other}` on the same link"),
                    )
                    .label("duplicate hardware address")
                    .note_at(first, "first used here");
                    self.push(d, &ctx);
                } else {
                    by_seg.insert((seg, mac.0), (ni as u32, ii as u32));
                }
            }
        }
        for ni in 0..self.nodes.len() {
            for ii in 0..self.nodes[ni].ifaces.len() {
                if self.meta[ni].ifaces[ii].mac_span.is_some() {
                    continue;
                }
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                let node = &self.nodes[ni];
                for b in node
                    .name
                    .bytes()
                    .chain([0])
                    .chain(node.ifaces[ii].name.bytes())
                {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
                let mut v = h & 0xff_ffff_ffff;
                loop {
                    let b = v.to_be_bytes();
                    let mac = [0x02, b[3], b[4], b[5], b[6], b[7]];
                    if used.insert(mac) {
                        self.nodes[ni].ifaces[ii].mac = EthernetAddress(mac);
                        break;
                    }
                    v = (v + 1) & 0xff_ffff_ffff;
                }
            }
        }
    }

    pub(super) fn port_name(&self, n: u32, i: u32) -> String {
        let node = &self.nodes[n as usize];
        format!("{}.{}", node.name, node.ifaces[i as usize].name)
    }
}
