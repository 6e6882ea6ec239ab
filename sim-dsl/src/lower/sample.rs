//! `sample INTERVAL { tcp [NODE…]; qdisc [NODE[.IFACE]…]; link [NODE[.IFACE]…]; app [NODE…] }`:
//! which time series a run records, lowered to [`SampleConfig`]. Without a body every kind
//! is sampled; a kind without targets samples all of its objects.

use super::*;
use crate::eval::{IrSample, IrSampleItem};

impl Lower<'_> {
    /// The scenario's `sample` statement (at most one), checked.
    pub(super) fn sample(&mut self, samples: &[IrSample]) -> Option<SampleConfig> {
        let first = samples.first()?;
        for again in &samples[1..] {
            let d = Diagnostic::error("duplicate-setting", again.span, "`sample` is written twice")
                .note_at(first.span, "first written here")
                .label("one `sample` statement lists every kind to record");
            self.push(d, &None);
        }
        let interval = self.duration(&first.interval, "the sampling interval", &None)?;
        if interval == SimDuration::ZERO {
            let e = Diagnostic::error(
                "bad-value",
                first.interval.span,
                "the sampling interval must be longer than 0s",
            )
            .label("interval");
            self.push(e, &None);
            return None;
        }
        let Some(items) = &first.items else {
            return Some(SampleConfig::everything(interval));
        };
        if items.is_empty() {
            let d = Diagnostic::warning("empty-sample", first.span, "`sample` records nothing")
                .label("list what to record (`{ tcp; qdisc; link; app }`), or drop the braces for everything");
            self.push(d, &None);
        }
        let mut cfg = SampleConfig {
            interval,
            ..SampleConfig::default()
        };
        for it in items {
            self.sample_item(it, &mut cfg);
        }
        Some(cfg)
    }

    fn sample_item(&mut self, it: &IrSampleItem, cfg: &mut SampleConfig) {
        let kind = it.kind.name.as_str();
        let taken = match kind {
            "tcp" => cfg.tcp.is_some(),
            "qdisc" => cfg.qdisc.is_some(),
            "link" => cfg.link.is_some(),
            _ => cfg.app.is_some(),
        };
        if taken {
            let d = Diagnostic::error(
                "duplicate-setting",
                it.kind.span,
                format!("`{kind}` is listed twice in `sample`"),
            )
            .label("list its targets once: `qdisc r1.eth1 r2.eth0`");
            self.push(d, &None);
            return;
        }
        match kind {
            "tcp" | "app" => {
                let mut nodes = Vec::new();
                for t in &it.targets {
                    if let Some(iface) = &t.iface {
                        let d = Diagnostic::error(
                            "bad-value",
                            iface.span,
                            format!("`{kind}` samples whole nodes, not interfaces"),
                        )
                        .label(format!("write `{kind} {}`", t.node.text));
                        self.push(d, &None);
                        continue;
                    }
                    if let Some(id) = self.sample_node(&t.node, kind) {
                        nodes.push(NodeId(id));
                    }
                }
                if kind == "tcp" {
                    cfg.tcp = Some(nodes);
                } else {
                    cfg.app = Some(nodes);
                }
            }
            _ => {
                let mut ends = Vec::new();
                for t in &it.targets {
                    self.sample_ends(t, kind, &mut ends);
                }
                if kind == "qdisc" {
                    cfg.qdisc = Some(ends);
                } else {
                    cfg.link = Some(ends);
                }
            }
        }
    }

    /// A node named in `sample`: a host or router for every kind but `link`.
    fn sample_node(&mut self, v: &Val, kind: &str) -> Option<u32> {
        let what = if kind == "link" {
            "a node or switch"
        } else {
            "a host or router"
        };
        let id = self.lookup_node(v, what, &None)?;
        if kind != "link" && self.nodes[id as usize].kind == NodeKind::Switch {
            let d = Diagnostic::error(
                "bad-value",
                v.span,
                format!("`{}` is a switch: it has no {kind}s to sample", v.text),
            )
            .label("expected a host or router");
            self.push(d, &None);
            return None;
        }
        Some(id)
    }

    /// `NODE` (all its interfaces) or `NODE.IFACE`, appended to `out` once each.
    fn sample_ends(&mut self, t: &IrEnd, kind: &str, out: &mut Vec<LinkEnd>) {
        let Some(ni) = self.sample_node(&t.node, kind) else {
            return;
        };
        let node = NodeId(ni);
        let ifaces: Vec<u32> = match &t.iface {
            // A switch's ports are named by the links (`p1`, `p2`, …), not declared.
            Some(v) => match self.meta[ni as usize]
                .iface_index
                .get(&v.text)
                .copied()
                .or_else(|| {
                    self.nodes[ni as usize]
                        .ifaces
                        .iter()
                        .position(|i| i.name == v.text)
                        .map(|i| i as u32)
                }) {
                Some(i) => vec![i],
                None => {
                    self.unknown_iface(ni as usize, v, &None);
                    return;
                }
            },
            None => (0..self.nodes[ni as usize].ifaces.len() as u32).collect(),
        };
        for i in ifaces {
            let end = LinkEnd {
                node,
                iface: IfaceId(i),
            };
            if !out.contains(&end) {
                out.push(end);
            }
        }
    }
}
