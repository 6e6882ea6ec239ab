//! The topology as an inline SVG: a box per node (or group of collapsed nodes), a line per
//! link labelled with its rate, delay and utilization and coloured by it, drops in red, and
//! a legend. Positions come from [`super::layout`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sim_core::SimDuration;
use sim_stack::config::NodeKind;
use sim_stack::units::Rate;

use super::html::{count, esc};
use super::layout::{Item, Layout, NODE_H, NODE_W, What, layout};
use super::topology::Topology;

/// The colour of a utilization: grey when idle, then green, yellow, orange and red-orange
/// for under 10 %, under 50 %, under 90 % and the rest. `None` (no rate known): grey.
pub fn util_colour(u: Option<f64>) -> &'static str {
    match u {
        None => "#9aa0a6",
        Some(u) if u <= 0.0 => "#b0b5ba",
        Some(u) if u < 0.10 => "#43a047",
        Some(u) if u < 0.50 => "#f2b705",
        Some(u) if u < 0.90 => "#f57c00",
        Some(_) => "#d84315",
    }
}

/// The legend's entries: colour and words.
const LEGEND: [(Option<f64>, &str); 5] = [
    (Some(0.0), "idle"),
    (Some(0.05), "< 10 %"),
    (Some(0.2), "10–50 %"),
    (Some(0.6), "50–90 %"),
    (Some(0.95), "≥ 90 %"),
];

/// A utilization in words: `idle`, `<0.1%`, `12.3%`.
pub fn util_text(u: f64) -> String {
    if u <= 0.0 {
        "idle".into()
    } else if u < 0.001 {
        "<0.1%".into()
    } else {
        format!("{:.1}%", u * 100.0)
    }
}

/// A rate as the scenario language writes it: `10Gbit`.
pub fn rate_text(bps: u64) -> String {
    Rate::from_bps(bps).to_string()
}

/// A delay as the scenario language writes it: `1us`.
pub fn delay_text(ns: u64) -> String {
    SimDuration::from_nanos(ns).to_string()
}

/// A name cut to fit a box.
fn fit(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// What a group of collapsed nodes holds: `998 more hosts`, `12 more routers, 36 hosts`
/// (without `more`: `100 hosts`).
pub fn group_words(topo: &Topology, members: &[usize], more: bool) -> String {
    let mut by_kind: BTreeMap<u8, usize> = BTreeMap::new();
    for &m in members {
        let k = match topo.nodes[m].kind {
            NodeKind::Router => 0,
            NodeKind::Switch => 1,
            NodeKind::Host => 2,
        };
        *by_kind.entry(k).or_default() += 1;
    }
    let parts: Vec<String> = by_kind
        .iter()
        .enumerate()
        .map(|(j, (k, n))| {
            let word = match (k, n) {
                (0, 1) => "router",
                (0, _) => "routers",
                (1, 1) => "switch",
                (1, _) => "switches",
                (_, 1) => "host",
                _ => "hosts",
            };
            if j == 0 && more {
                format!("{n} more {word}")
            } else {
                format!("{n} {word}")
            }
        })
        .collect();
    parts.join(", ")
}

/// The SVG of `topo`, laid out by [`layout`].
pub fn svg(topo: &Topology) -> String {
    let pairs: Vec<(usize, usize)> = topo.links.iter().map(|l| (l.ends[0], l.ends[1])).collect();
    let lay = layout(topo.nodes.len(), &pairs);
    draw(topo, &lay)
}

/// The lines between boxes: for each pair of boxes (in order), the links they carry.
fn edges(topo: &Topology, lay: &Layout) -> BTreeMap<(usize, usize), Vec<usize>> {
    let mut e: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (i, l) in topo.links.iter().enumerate() {
        let a = lay.item_of[l.ends[0]];
        let b = lay.item_of[l.ends[1]];
        if a != b {
            e.entry((a.min(b), a.max(b))).or_default().push(i);
        }
    }
    e
}

const LEGEND_H: u32 = 58;
/// The legend's width: narrower drawings are centred above it.
const MIN_WIDTH: u32 = 940;

/// Draws a laid-out topology.
pub fn draw(topo: &Topology, lay: &Layout) -> String {
    let width = lay.width.max(MIN_WIDTH);
    let shift = (width - lay.width) / 2;
    let height = lay.height + LEGEND_H;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg id=\"topology\" class=\"topo\" xmlns=\"http://www.w3.org/2000/svg\" \
         viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"topology: {} nodes, {} links\" font-family=\"DejaVu Sans, Helvetica, \
         Arial, sans-serif\">",
        topo.nodes.len(),
        topo.links.len()
    );
    let _ = writeln!(s, "<g transform=\"translate({shift} 0)\">");
    s.push_str("<g class=\"links\">\n");
    for ((a, b), links) in edges(topo, lay) {
        link(&mut s, topo, &lay.items[a], &lay.items[b], &links);
    }
    s.push_str("</g>\n<g class=\"nodes\">\n");
    for item in &lay.items {
        node_box(&mut s, topo, item);
    }
    s.push_str("</g>\n</g>\n");
    legend(&mut s, lay.height + 8, width);
    s.push_str("</svg>\n");
    s
}

/// A line between two boxes and its label.
fn link(s: &mut String, topo: &Topology, a: &Item, b: &Item, links: &[usize]) {
    let sim = topo.sim_ns;
    let utils: Vec<Option<f64>> = links
        .iter()
        .map(|&i| topo.links[i].max_utilization(sim))
        .collect();
    let known = utils.iter().all(Option::is_some);
    let util = known.then(|| utils.iter().flatten().copied().fold(0.0, f64::max));
    let lost: u64 = links.iter().map(|&i| topo.links[i].lost()).sum();
    let colour = util_colour(util);
    let width = 1.6 + 3.4 * util.unwrap_or(0.0);
    let dash = if known {
        ""
    } else {
        " stroke-dasharray=\"5 4\""
    };
    // From the facing sides of the boxes; boxes in one column join top to bottom, with a
    // curve when others lie between them.
    let (path, lx, ly) = if a.x == b.x {
        let (top, bottom) = if a.y < b.y { (a, b) } else { (b, a) };
        let y1 = top.y + NODE_H / 2;
        let y2 = bottom.y - NODE_H / 2;
        if bottom.y - top.y <= super::layout::DY {
            (
                format!("M{} {y1} L{} {y2}", top.x, bottom.x),
                top.x + 6,
                (y1 + y2) / 2 + 4,
            )
        } else {
            let bow = top.x + NODE_W / 2 + 40;
            (
                format!(
                    "M{} {} C{bow} {} {bow} {} {} {}",
                    top.x + NODE_W / 2,
                    top.y,
                    top.y,
                    bottom.y,
                    bottom.x + NODE_W / 2,
                    bottom.y
                ),
                bow - 20,
                (top.y + bottom.y) / 2,
            )
        }
    } else {
        let (l, r) = if a.x < b.x { (a, b) } else { (b, a) };
        let x1 = l.x + NODE_W / 2;
        let x2 = r.x - NODE_W / 2;
        (
            format!("M{x1} {} L{x2} {}", l.y, r.y),
            (x1 + x2) / 2,
            (l.y + r.y) / 2 - 4,
        )
    };
    // The tooltip: every link with its ends, rate, delay and per-direction figures.
    let mut title = String::new();
    for &i in links.iter().take(20) {
        let l = &topo.links[i];
        let end = |k: usize| format!("{}.{}", topo.nodes[l.ends[k]].name, l.ports[k]);
        let _ = write!(title, "{} — {}", end(0), end(1));
        if let (Some(r), Some(d)) = (l.rate_bps, l.delay_ns) {
            let _ = write!(title, ", {} {}", rate_text(r), delay_text(d));
        }
        let u = l.utilization(sim);
        for (k, d) in l.dirs.iter().enumerate() {
            let _ = write!(
                title,
                "\n  {} → {}: {} frames, {} bytes",
                topo.nodes[l.ends[k]].name,
                topo.nodes[l.ends[1 - k]].name,
                d.frames,
                d.bytes
            );
            if let Some(u) = u {
                let _ = write!(title, ", {}", util_text(u[k]));
            }
            if d.lost + d.oversize > 0 {
                let _ = write!(title, ", lost {}", d.lost + d.oversize);
            }
        }
        title.push('\n');
    }
    if links.len() > 20 {
        let _ = write!(title, "… and {} more links", links.len() - 20);
    }
    let _ = writeln!(
        s,
        "<g class=\"link\"><title>{}</title><path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" \
         stroke-width=\"{width:.1}\" stroke-linecap=\"round\"{dash}/>",
        esc(title.trim_end())
    );
    // The label: rate and delay (shared by all the links) above the line; below it, how
    // many links, the utilization, and losses in red.
    let first = &topo.links[links[0]];
    let same = links.iter().all(|&i| {
        topo.links[i].rate_bps == first.rate_bps && topo.links[i].delay_ns == first.delay_ns
    });
    let above = match (same, first.rate_bps, first.delay_ns) {
        (true, Some(r), Some(d)) => format!("{} {}", rate_text(r), delay_text(d)),
        _ => String::new(),
    };
    let mut below = Vec::new();
    if links.len() > 1 {
        below.push(format!("{} links", count(links.len() as u64)));
    }
    if let Some(u) = util {
        below.push(if links.len() > 1 {
            format!("max {}", util_text(u))
        } else {
            util_text(u)
        });
    }
    let anchor = if a.x == b.x { "start" } else { "middle" };
    let _ = write!(
        s,
        "<text class=\"link-label\" x=\"{lx}\" y=\"{ly}\" text-anchor=\"{anchor}\" \
         font-size=\"11\" fill=\"#333\" stroke=\"#fff\" stroke-width=\"3\" \
         paint-order=\"stroke\">{}<tspan x=\"{lx}\" dy=\"14\">{}",
        esc(&above),
        esc(&below.join(" · "))
    );
    if lost > 0 {
        let _ = write!(
            s,
            "<tspan fill=\"#c62828\" font-weight=\"bold\">{}lost {}</tspan>",
            if below.is_empty() { "" } else { " · " },
            count(lost)
        );
    }
    s.push_str("</tspan></text></g>\n");
}

/// A node's or a group's box.
fn node_box(s: &mut String, topo: &Topology, item: &Item) {
    let x = item.x - NODE_W / 2;
    let y = item.y - NODE_H / 2;
    let (members, title, line1, line2, fill, stroke, rx, dashed) = match &item.what {
        What::Node(i) => {
            let n = &topo.nodes[*i];
            let (fill, stroke, rx) = match n.kind {
                NodeKind::Host => ("#e3effc", "#3465a4", 6),
                NodeKind::Router => ("#fdf0dc", "#b86e00", 20),
                NodeKind::Switch => ("#e6f4df", "#4e8a2a", 1),
            };
            let mut title = format!("{} ({})", n.name, n.kind.name());
            for (place, k) in &n.drops {
                let _ = write!(title, "\ndrops {place}: {k}");
            }
            (
                vec![*i],
                title,
                fit(&n.name, 16),
                n.kind.name().to_string(),
                fill,
                stroke,
                rx,
                false,
            )
        }
        What::Group { nodes: g, more } => {
            let words = group_words(topo, g, *more);
            let names: Vec<&str> = g
                .iter()
                .take(8)
                .map(|&i| topo.nodes[i].name.as_str())
                .collect();
            let title = format!(
                "{words}: {}{}",
                names.join(", "),
                if g.len() > 8 { ", …" } else { "" }
            );
            let (head, tail) = match words.split_once(", ") {
                Some((h, t)) => (h.to_string(), t.to_string()),
                None => (words.clone(), "collapsed".to_string()),
            };
            (g.clone(), title, head, tail, "#f7f7f7", "#7d8590", 6, true)
        }
    };
    let drops: u64 = members.iter().map(|&i| topo.nodes[i].drop_total()).sum();
    let (stroke, sw) = if drops > 0 {
        ("#c62828", 2.4)
    } else {
        (stroke, 1.4)
    };
    let dash = if dashed {
        " stroke-dasharray=\"4 3\""
    } else {
        ""
    };
    let class = if matches!(item.what, What::Group { .. }) {
        "group"
    } else {
        "node"
    };
    let _ = writeln!(
        s,
        "<g class=\"{class}\"><title>{}</title>\
         <rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"{rx}\" \
         fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"{dash}/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\" \
         fill=\"#1f2328\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10.5\" fill=\"#57606a\">{}</text>",
        esc(&title),
        item.x,
        item.y - 2,
        esc(&line1),
        item.x,
        item.y + 13,
        esc(&line2)
    );
    if drops > 0 {
        let label = format!("{} drop{}", count(drops), if drops == 1 { "" } else { "s" });
        let w = 12 + 6 * label.chars().count() as u32;
        let bx = x + NODE_W - w / 2;
        let by = y - 9;
        let _ = write!(
            s,
            "<g class=\"drops\"><rect x=\"{}\" y=\"{by}\" width=\"{w}\" height=\"16\" rx=\"8\" \
             fill=\"#c62828\"/><text x=\"{bx}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10.5\" \
             font-weight=\"bold\" fill=\"#fff\">{}</text></g>",
            bx - w / 2,
            by + 12,
            esc(&label)
        );
    }
    s.push_str("</g>\n");
}

/// The legend under the drawing: link colours, then node kinds and the drop marker.
fn legend(s: &mut String, top: u32, width: u32) {
    let _ = writeln!(
        s,
        "<g class=\"legend\" font-size=\"11\" fill=\"#333\">\
         <line x1=\"12\" y1=\"{top}\" x2=\"{}\" y2=\"{top}\" stroke=\"#d0d7de\"/>\
         <text x=\"16\" y=\"{}\" font-weight=\"bold\">link utilization</text>",
        width - 12,
        top + 20
    );
    let mut x = 130;
    for (u, words) in LEGEND {
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"4\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            top + 16,
            x + 24,
            top + 16,
            util_colour(u),
            x + 30,
            top + 20,
            esc(words)
        );
        x += 92;
    }
    let _ = write!(
        s,
        "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9aa0a6\" stroke-width=\"2\" \
         stroke-dasharray=\"5 4\"/><text x=\"{}\" y=\"{}\">rate unknown</text>",
        top + 16,
        x + 24,
        top + 16,
        x + 30,
        top + 20
    );
    let y = top + 40;
    let _ = write!(
        s,
        "<text x=\"16\" y=\"{y}\" font-weight=\"bold\">nodes</text>\
         <rect x=\"130\" y=\"{}\" width=\"22\" height=\"14\" rx=\"3\" fill=\"#e3effc\" stroke=\"#3465a4\"/>\
         <text x=\"158\" y=\"{y}\">host</text>\
         <rect x=\"200\" y=\"{}\" width=\"22\" height=\"14\" rx=\"7\" fill=\"#fdf0dc\" stroke=\"#b86e00\"/>\
         <text x=\"228\" y=\"{y}\">router</text>\
         <rect x=\"280\" y=\"{}\" width=\"22\" height=\"14\" rx=\"1\" fill=\"#e6f4df\" stroke=\"#4e8a2a\"/>\
         <text x=\"308\" y=\"{y}\">switch</text>\
         <rect x=\"362\" y=\"{}\" width=\"22\" height=\"14\" rx=\"3\" fill=\"#f7f7f7\" stroke=\"#7d8590\" stroke-dasharray=\"4 3\"/>\
         <text x=\"390\" y=\"{y}\">collapsed nodes</text>\
         <rect x=\"492\" y=\"{}\" width=\"54\" height=\"15\" rx=\"7\" fill=\"#c62828\"/>\
         <text x=\"519\" y=\"{}\" text-anchor=\"middle\" fill=\"#fff\" font-weight=\"bold\" font-size=\"10\">N drops</text>\
         <text x=\"552\" y=\"{y}\">drops counted at a node (qdisc, neighbour, IP, switch)</text></g>",
        y - 11,
        y - 11,
        y - 11,
        y - 11,
        y - 11,
        y - 1
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::topology::{Dir, Link, Node};

    fn star(hosts: usize) -> Topology {
        let mut nodes = vec![Node {
            name: "r".into(),
            kind: NodeKind::Router,
            drops: vec![("qdisc", 7)],
        }];
        let mut links = Vec::new();
        for i in 0..hosts {
            nodes.push(Node {
                name: format!("H{i}"),
                kind: NodeKind::Host,
                drops: Vec::new(),
            });
            links.push(Link {
                ends: [i + 1, 0],
                ports: ["eth0".into(), format!("eth{i}")],
                rate_bps: Some(1_000_000_000),
                delay_ns: Some(100_000),
                dirs: [
                    Dir {
                        frames: 1000,
                        bytes: 142_000,
                        lost: 0,
                        oversize: 0,
                    },
                    Dir::default(),
                ],
            });
        }
        Topology {
            nodes,
            links,
            sim_ns: 1_000_000_000,
        }
    }

    #[test]
    fn colours_and_words_of_utilization() {
        assert_eq!(util_colour(None), "#9aa0a6");
        assert_ne!(util_colour(Some(0.0)), util_colour(Some(0.05)));
        assert_ne!(util_colour(Some(0.95)), util_colour(Some(0.6)));
        assert_eq!(util_text(0.0), "idle");
        assert_eq!(util_text(0.0004), "<0.1%");
        assert_eq!(util_text(0.1234), "12.3%");
        assert_eq!(rate_text(10_000_000_000), "10Gbit");
        assert_eq!(delay_text(1_000), "1us");
    }

    #[test]
    fn a_star_draws_its_router_two_hosts_and_the_rest_as_a_group() {
        let svg = svg(&star(1000));
        assert_eq!(svg.matches("<g class=\"node\">").count(), 3);
        assert_eq!(svg.matches("<g class=\"group\">").count(), 1);
        assert!(svg.contains(">998 more hosts</text>"), "{svg}");
        // One line per box pair: two hosts and the group.
        assert_eq!(svg.matches("<g class=\"link\">").count(), 3);
        assert!(
            svg.contains(">1Gbit 100us<tspan x=\"")
                && svg.contains(">998 links · max 0.1%</tspan>"),
            "{svg}"
        );
        // The router's drops are marked.
        assert!(svg.contains(">7 drops</text>"));
    }

    #[test]
    fn names_are_escaped_and_cut_to_fit() {
        let mut t = star(1);
        t.nodes[1].name = "<h&1>-with-a-very-long-name".into();
        let svg = svg(&t);
        assert!(svg.contains(">&lt;h&amp;1&gt;-with-a-ve…</text>"), "{svg}");
        assert!(!svg.contains("<h&1>"));
    }

    #[test]
    fn group_words_count_by_kind() {
        let t = star(3);
        assert_eq!(group_words(&t, &[1, 2], true), "2 more hosts");
        assert_eq!(group_words(&t, &[1, 2], false), "2 hosts");
        assert_eq!(
            group_words(&t, &[0, 1, 2, 3], true),
            "1 more router, 3 hosts"
        );
    }
}
