//! The counter sections: each node's non-zero SNMP counters, its interfaces (link, qdisc,
//! TX ring), its apps and TCP connections; the switches and links; and the drops by place,
//! by node and interface, and by reason.

use std::fmt::Write as _;

use super::drawing::{delay_text, rate_text, util_text};
use super::html::{count, esc, note, table};
use super::json::Json;
use super::topology::{IP_DROP_KEYS, IP6_DROP_KEYS, Topology};
use super::trace::TraceDigest;

/// Nodes whose counters are shown in full; the others are in stats.json.
pub const DETAIL_MAX: usize = 40;
/// Apps listed without folding.
pub const APPS_OPEN: usize = 12;
/// Rows of the overview and link tables.
pub const ROWS_MAX: usize = 200;

/// The SNMP blocks shown per node, as `nstat` groups them.
const BLOCKS: [&str; 7] = ["Ip", "Icmp", "Udp", "Tcp", "TcpExt", "Snmp6", "arp"];

/// A block's non-zero numeric members.
fn non_zero(block: &Json) -> Vec<(&str, u64)> {
    block
        .members()
        .iter()
        .filter_map(|(k, v)| v.as_u64().filter(|&n| n > 0).map(|n| (k.as_str(), n)))
        .collect()
}

/// The interfaces of a node object: its members that have a `qdisc`.
fn ifaces(node: &Json) -> impl Iterator<Item = (&String, &Json)> {
    node.members()
        .iter()
        .filter(|(_, v)| v.get("qdisc").is_object())
        .map(|(k, v)| (k, v))
}

/// The apps of a node object: its members that have an `app`.
fn apps(node: &Json) -> impl Iterator<Item = (&String, &Json)> {
    node.members()
        .iter()
        .filter(|(_, v)| v.get("app").as_str().is_some())
        .map(|(k, v)| (k, v))
}

/// A number cell, greyed when 0.
fn num(n: u64) -> String {
    if n == 0 { "0".into() } else { count(n) }
}

/// A scalar of an app's report, short.
fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::Null | Json::Array(_) | Json::Object(_) => None,
        Json::Float(x) if x.abs() >= 100.0 => Some(format!("{x:.0}")),
        Json::Float(x) => Some(
            format!("{x:.6}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
        ),
        other => other.scalar_text(),
    }
}

/// One line per app: node, app, and its scalar results.
pub fn apps_table(stats: &Json, topo: &Topology) -> String {
    let mut rows = Vec::new();
    for n in &topo.nodes {
        for (key, app) in apps(stats.get("nodes").get(&n.name)) {
            let fields: Vec<String> = app
                .members()
                .iter()
                .filter(|(k, _)| k != "app")
                .filter_map(|(k, v)| scalar(v).map(|s| format!("{}&nbsp;{}", esc(k), esc(&s))))
                .collect();
            rows.push(vec![esc(&n.name), esc(key), fields.join(" · ")]);
        }
    }
    if rows.is_empty() {
        return note("no apps");
    }
    let apps = rows.len();
    let more = apps.saturating_sub(ROWS_MAX);
    rows.truncate(ROWS_MAX);
    let mut h = table("apps", &["node", "app", "results (stats.json)"], &rows);
    if more > 0 {
        h.push_str(&note(&format!("… and {more} more apps in stats.json")));
    }
    if apps > APPS_OPEN {
        h = format!("<details><summary>{apps} apps</summary>\n{h}</details>\n");
    }
    h
}

/// The overview of every node (one row each) and the full counters of the first
/// [`DETAIL_MAX`] (routers, switches and nodes with drops first).
pub fn nodes_section(stats: &Json, topo: &Topology) -> String {
    let nodes = stats.get("nodes");
    let mut h = String::new();
    let mut rows = Vec::new();
    for n in topo.nodes.iter().filter(|n| nodes.get(&n.name).is_object()) {
        let j = nodes.get(&n.name);
        let g = |b: &str, k: &str| num(j.get(b).get(k).u64_or_zero());
        let drops = n.drop_total();
        rows.push(vec![
            format!("<a href=\"#node-{}\">{}</a>", esc(&n.name), esc(&n.name)),
            n.kind.name().to_string(),
            g("Ip", "InReceives"),
            g("Ip", "InDelivers"),
            g("Ip", "OutRequests"),
            g("Ip", "ForwDatagrams"),
            g("Udp", "InDatagrams"),
            g("Udp", "OutDatagrams"),
            g("Tcp", "InSegs"),
            g("Tcp", "OutSegs"),
            g("Tcp", "RetransSegs"),
            if drops > 0 {
                format!("<span class=\"bad\">{}</span>", count(drops))
            } else {
                "0".into()
            },
        ]);
    }
    let total = rows.len();
    rows.truncate(ROWS_MAX);
    h.push_str(&table(
        "overview",
        &[
            "node",
            "kind",
            "IP in",
            "delivered",
            "sent",
            "forwarded",
            "UDP in",
            "UDP out",
            "TCP in",
            "TCP out",
            "retrans",
            "drops",
        ],
        &rows,
    ));
    h.push_str(&note(
        "IP in, delivered, sent, forwarded: Ip InReceives, InDelivers, OutRequests, \
         ForwDatagrams; UDP in, out: Udp InDatagrams, OutDatagrams; TCP in, out, retrans: Tcp \
         InSegs, OutSegs, RetransSegs; drops: as on the drawing.",
    ));
    if total > ROWS_MAX {
        h.push_str(&note(&format!(
            "… and {} more nodes: every counter is in stats.json",
            total - ROWS_MAX
        )));
    }

    // Full counters: routers and nodes with drops first, then the rest, in node order.
    let mut chosen: Vec<&super::topology::Node> = topo
        .nodes
        .iter()
        .filter(|n| nodes.get(&n.name).is_object())
        .collect();
    chosen.sort_by_key(|n| {
        u8::from(!(n.kind == sim_stack::config::NodeKind::Router || n.drop_total() > 0))
    });
    let shown = chosen.len().min(DETAIL_MAX);
    for (i, n) in chosen.iter().take(DETAIL_MAX).enumerate() {
        h.push_str(&node_detail(
            &n.name,
            nodes.get(&n.name),
            shown <= 6 || i < 3,
        ));
    }
    if chosen.len() > DETAIL_MAX {
        h.push_str(&note(&format!(
            "The counters of {} more nodes are in stats.json (<code>jq '.nodes.NAME' \
             stats.json</code>).",
            chosen.len() - DETAIL_MAX
        )));
    }
    h
}

/// One node's counters, in a `<details>` (open when `open`).
fn node_detail(name: &str, j: &Json, open: bool) -> String {
    let mut h = format!(
        "<details id=\"node-{}\"{}><summary>{} <span class=\"zero\">({})</span></summary>\n",
        esc(name),
        if open { " open" } else { "" },
        esc(name),
        esc(j.get("kind").as_str().unwrap_or("node"))
    );
    h.push_str("<div class=\"grid\">\n");
    let mut any = false;
    for b in BLOCKS {
        let nz = non_zero(j.get(b));
        if nz.is_empty() {
            continue;
        }
        any = true;
        let rows: Vec<Vec<String>> = nz.iter().map(|(k, n)| vec![esc(k), count(*n)]).collect();
        h.push_str(&table("counters", &[b, ""], &rows));
    }
    h.push_str("</div>\n");
    if !any {
        h.push_str(&note("every SNMP counter is 0"));
    }
    let mut rows = Vec::new();
    for (iface, v) in ifaces(j) {
        let l = v.get("link");
        let q = v.get("qdisc");
        let r = v.get("ring");
        let u = |x: &Json, k: &str| num(x.get(k).u64_or_zero());
        rows.push(vec![
            esc(iface),
            u(l, "rx_packets"),
            u(l, "rx_bytes"),
            u(l, "tx_packets"),
            u(l, "tx_bytes"),
            u(l, "rx_dropped"),
            u(l, "tx_dropped"),
            esc(q.get("kind").as_str().unwrap_or("?")),
            u(q, "packets"),
            drop_cell(q.get("drops").u64_or_zero()),
            u(q, "overlimits"),
            u(q, "requeues"),
            format!("{}b {}p", u(q, "backlog"), u(q, "qlen")),
            format!("{} / {}", u(r, "max_used"), u(r, "size")),
            u(r, "busy"),
        ]);
    }
    if !rows.is_empty() {
        h.push_str(&table(
            "ifaces",
            &[
                "iface",
                "rx pkts",
                "rx bytes",
                "tx pkts",
                "tx bytes",
                "rx drop",
                "tx drop",
                "qdisc",
                "sent",
                "drops",
                "overlimits",
                "requeues",
                "backlog",
                "ring used",
                "ring full",
            ],
            &rows,
        ));
    }
    let conns = j.get("tcp_connections").items();
    if !conns.is_empty() {
        let rows: Vec<Vec<String>> = conns
            .iter()
            .take(20)
            .map(|c| {
                let s = |k: &str| esc(&c.get(k).scalar_text().unwrap_or_default());
                vec![
                    s("local"),
                    s("remote"),
                    s("state"),
                    s("cong"),
                    s("cwnd"),
                    s("srtt_us"),
                    s("bytes_sent"),
                    s("bytes_received"),
                    s("retrans"),
                ]
            })
            .collect();
        h.push_str(&table(
            "tcp",
            &[
                "local",
                "remote",
                "state",
                "cc",
                "cwnd",
                "srtt µs",
                "bytes sent",
                "bytes received",
                "retrans",
            ],
            &rows,
        ));
        if conns.len() > 20 {
            h.push_str(&note(&format!(
                "… and {} more connections in stats.json",
                conns.len() - 20
            )));
        }
    }
    h.push_str("</details>\n");
    h
}

/// A drop count, red when not 0.
fn drop_cell(n: u64) -> String {
    if n == 0 {
        "0".into()
    } else {
        format!("<span class=\"bad\">{}</span>", count(n))
    }
}

/// Switch ports and links.
pub fn network_section(stats: &Json, topo: &Topology) -> String {
    let mut h = String::new();
    let mut rows = Vec::new();
    for (sw, ports) in stats.get("switches").members() {
        for (port, p) in ports.members() {
            let u = |k: &str| num(p.get(k).u64_or_zero());
            rows.push(vec![
                esc(sw),
                esc(port),
                u("rx_frames"),
                u("tx_frames"),
                u("flooded"),
                drop_cell(p.get("drops").u64_or_zero()),
            ]);
        }
    }
    if !rows.is_empty() {
        h.push_str("<h3>Switches</h3>\n");
        h.push_str(&table(
            "switches",
            &[
                "switch",
                "port",
                "rx frames",
                "tx frames",
                "flooded",
                "drops",
            ],
            &rows,
        ));
    }
    h.push_str("<h3>Links</h3>\n");
    let mut rows = Vec::new();
    for l in topo.links.iter().take(ROWS_MAX) {
        let end = |k: usize| esc(&format!("{}.{}", topo.nodes[l.ends[k]].name, l.ports[k]));
        let u = l.utilization(topo.sim_ns);
        for k in 0..2 {
            let d = &l.dirs[k];
            rows.push(vec![
                format!("{} → {}", end(k), end(1 - k)),
                l.rate_bps.map_or("?".into(), rate_text),
                l.delay_ns.map_or("?".into(), delay_text),
                num(d.frames),
                num(d.bytes),
                u.map_or("?".into(), |u| util_text(u[k])),
                drop_cell(d.lost),
                drop_cell(d.oversize),
            ]);
        }
    }
    h.push_str(&table(
        "links",
        &[
            "direction",
            "rate",
            "delay",
            "frames",
            "bytes",
            "utilization",
            "lost",
            "over MTU",
        ],
        &rows,
    ));
    if topo.links.len() > ROWS_MAX {
        h.push_str(&note(&format!(
            "… and {} more links in stats.json",
            topo.links.len() - ROWS_MAX
        )));
    }
    h.push_str(&note(
        "Utilization: the time the sending line was busy (frames with preamble, FCS and \
         inter-frame gap at the link's rate) over the simulated time.",
    ));
    h
}

/// The drops: by place (stats.json's `drops`), by node and interface (the counters), and
/// by reason (trace.txt's `drop` lines).
pub fn drops_section(stats: &Json, topo: &Topology, trace: Option<&TraceDigest>) -> String {
    let mut h = String::from("<h3>By place (stats.json <code>drops</code>)</h3>\n");
    let places: Vec<Vec<String>> = stats
        .get("drops")
        .members()
        .iter()
        .map(|(k, v)| {
            vec![
                format!("<code>{}</code>", esc(k)),
                drop_cell(v.u64_or_zero()),
            ]
        })
        .collect();
    h.push_str(&table("drops", &["place", "packets"], &places));

    h.push_str("<h3>By node and interface (counters)</h3>\n");
    let nodes = stats.get("nodes");
    let mut rows = Vec::new();
    for n in &topo.nodes {
        let j = nodes.get(&n.name);
        for (iface, v) in ifaces(j) {
            for (what, k) in [
                ("qdisc drops", v.get("qdisc").get("drops").u64_or_zero()),
                (
                    "link rx_dropped",
                    v.get("link").get("rx_dropped").u64_or_zero(),
                ),
                (
                    "link tx_dropped",
                    v.get("link").get("tx_dropped").u64_or_zero(),
                ),
            ] {
                if k > 0 {
                    rows.push(vec![esc(&n.name), esc(iface), what.into(), drop_cell(k)]);
                }
            }
        }
        for (block, key) in [
            ("arp", "unresolved_discards"),
            ("ndisc", "unresolved_discards"),
        ] {
            let k = j.get(block).get(key).u64_or_zero();
            if k > 0 {
                rows.push(vec![
                    esc(&n.name),
                    String::new(),
                    format!("{block} {key}"),
                    drop_cell(k),
                ]);
            }
        }
        for (block, keys) in [("Ip", &IP_DROP_KEYS), ("Snmp6", &IP6_DROP_KEYS)] {
            for key in keys {
                let k = j.get(block).get(key).u64_or_zero();
                if k > 0 {
                    rows.push(vec![
                        esc(&n.name),
                        String::new(),
                        format!("{block} {key}"),
                        drop_cell(k),
                    ]);
                }
            }
        }
    }
    for (sw, ports) in stats.get("switches").members() {
        for (port, p) in ports.members() {
            let k = p.get("drops").u64_or_zero();
            if k > 0 {
                rows.push(vec![
                    esc(sw),
                    esc(port),
                    "switch drops".into(),
                    drop_cell(k),
                ]);
            }
        }
    }
    for l in &topo.links {
        for k in 0..2 {
            let d = &l.dirs[k];
            let from = topo.nodes[l.ends[k]].name.as_str();
            for (what, n) in [
                ("link lost (sent here)", d.lost),
                ("over the link MTU", d.oversize),
            ] {
                if n > 0 {
                    rows.push(vec![esc(from), esc(&l.ports[k]), what.into(), drop_cell(n)]);
                }
            }
        }
    }
    if rows.is_empty() {
        h.push_str(&note("no counter shows a drop"));
    } else {
        let more = rows.len().saturating_sub(ROWS_MAX);
        rows.truncate(ROWS_MAX);
        h.push_str(&table(
            "drops-where",
            &["node", "interface", "counter", "packets"],
            &rows,
        ));
        if more > 0 {
            h.push_str(&note(&format!("… and {more} more rows")));
        }
    }

    h.push_str("<h3>By reason (trace.txt)</h3>\n");
    match trace {
        None => h.push_str(&note(
            "This run has no trace.txt (<code>--trace none</code>): rerun with <code>--trace \
             frames</code> (the default) to see each drop's reason.",
        )),
        Some(t) if t.drops.is_empty() => h.push_str(&note("trace.txt shows no drop")),
        Some(t) => {
            let mut rows: Vec<Vec<String>> = t
                .drops
                .iter()
                .map(|((node, iface, reason), c)| {
                    vec![
                        esc(node),
                        esc(iface),
                        format!("<code>{}</code>", esc(reason)),
                        drop_cell(c.packets),
                        super::html::seconds(c.first_ns),
                    ]
                })
                .collect();
            let more = rows.len().saturating_sub(ROWS_MAX);
            rows.truncate(ROWS_MAX);
            h.push_str(&table(
                "drops-why",
                &["node", "interface", "reason", "packets", "first at"],
                &rows,
            ));
            if more > 0 {
                h.push_str(&note(&format!("… and {more} more rows")));
            }
            let _ = write!(
                h,
                "{}",
                note(&format!(
                    "{} drops in trace.txt; the reasons are listed in docs/outputs.md (drop lines).",
                    count(t.drop_total())
                ))
            );
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> Json {
        serde_json::from_str(
            r#"{
              "sim_time_ns": 3000000000,
              "drops": {"qdisc": 33, "arp_queue": 0, "ip": 0, "link_loss": 1},
              "nodes": {
                "a": {"kind": "host",
                      "Ip": {"Forwarding": 2, "InReceives": 6, "InDiscards": 0},
                      "Tcp": {"ActiveOpens": 0},
                      "TcpExt": {"DelayedACKs": 3},
                      "arp": {"unresolved_discards": 0},
                      "eth0": {"link": {"tx_packets": 7}, "qdisc": {"kind": "pfifo", "drops": 33},
                               "ring": {"size": 2, "max_used": 2}},
                      "ping": {"app": "ping", "transmitted": 40, "received": 6, "rtt_avg_ns": 11339000}},
                "b": {"kind": "host", "Ip": {}, "eth0": {"link": {}, "qdisc": {"kind": "pfifo_fast"}}}
              },
              "switches": {},
              "links": [{"ends": ["a.eth0", "b.eth0"],
                         "dirs": [{"frames": 7, "bytes": 7000, "lost": 0}, {"frames": 6, "bytes": 6000, "lost": 1}]}]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn node_tables_show_non_zero_counters_in_linux_order() {
        let s = stats();
        let t = Topology::from_stats(&s, None).unwrap();
        let h = nodes_section(&s, &t);
        let fwd = h.find("<td>Forwarding</td>").unwrap();
        let inr = h.find("<td>InReceives</td>").unwrap();
        assert!(fwd < inr, "the file's order, not sorted");
        assert!(!h.contains("<td>InDiscards</td>"), "zeros left out");
        assert!(!h.contains("<td>ActiveOpens</td>"));
        assert!(h.contains("<th>TcpExt</th>") && h.contains("<td>DelayedACKs</td>"));
        assert!(h.contains("<td>pfifo</td>"));
        assert!(h.contains("id=\"node-a\""));
        assert!(h.contains("<span class=\"bad\">33</span>"));
    }

    #[test]
    fn drops_by_place_node_and_reason() {
        let s = stats();
        let t = Topology::from_stats(&s, None).unwrap();
        let trace =
            TraceDigest::read("1.002134400 a eth0 drop qdisc_drop 1042 IP x\n".as_bytes()).unwrap();
        let h = drops_section(&s, &t, Some(&trace));
        assert!(h.contains("<code>qdisc</code></td><td class=\"n\"><span class=\"bad\">33"));
        assert!(h.contains("<td>a</td><td>eth0</td><td>qdisc drops</td>"));
        assert!(h.contains("<td>b</td><td>eth0</td><td>link lost (sent here)</td>"));
        assert!(h.contains("<code>qdisc_drop</code>"));
        assert!(h.contains("1.002134 s"));
        let none = drops_section(&s, &t, None);
        assert!(none.contains("--trace none"));
    }

    #[test]
    fn apps_show_their_scalar_results() {
        let s = stats();
        let t = Topology::from_stats(&s, None).unwrap();
        let h = apps_table(&s, &t);
        assert!(h.contains("<td>ping</td>"));
        assert!(h.contains("transmitted&nbsp;40 · received&nbsp;6"), "{h}");
    }
}
