//! `sim check FILE [--set NAME=VALUE]... [--dump ron]`
//!
//! Loads and checks a scenario. Every error and warning goes to stderr, rendered with the
//! offending line. On success it prints a one-screen summary of the topology to stdout (or,
//! with `--dump ron`, the lowered `Scenario` as RON and nothing else) and exits 0; on any
//! error it exits 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use clap::{Args, ValueEnum};
use sim_stack::config::{AppKind, NodeKind, Scenario, UdpPace};

use crate::scenario_args::ScenarioArgs;

/// Arguments of `sim check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Print the lowered scenario in this format instead of the summary.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub dump: Option<DumpFormat>,
}

/// Formats for `--dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// Rusty Object Notation; reads back into an equal `Scenario`.
    Ron,
}

/// Exit code for a scenario with errors.
pub const EXIT_ERRORS: u8 = 2;

/// Runs `sim check`; returns the exit code.
pub fn run(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let loaded = args.scenario.load(err);
    let errors = loaded.errors().count();
    let Some(scenario) = loaded.scenario.as_ref().filter(|_| errors == 0) else {
        // One error is its own message; the count only helps when there are several (as
        // `sim run` does it).
        if errors > 1 {
            let _ = writeln!(
                err,
                "error: {} has {errors} errors",
                args.scenario.file.display()
            );
        }
        return EXIT_ERRORS;
    };
    match args.dump {
        Some(DumpFormat::Ron) => {
            let pretty = ron::ser::PrettyConfig::default();
            match ron::ser::to_string_pretty(scenario, pretty) {
                Ok(s) => {
                    let _ = writeln!(out, "{s}");
                }
                Err(e) => {
                    let _ = writeln!(err, "error: cannot write RON: {e}");
                    return EXIT_ERRORS;
                }
            }
        }
        None => {
            let warnings = loaded.warnings().count();
            let _ = write!(out, "{}", summary(scenario, &args.scenario.file, warnings));
        }
    }
    0
}

/// Lines of each list shown before "… and N more".
const SHOW: usize = 6;

fn more(out: &mut String, total: usize) {
    if total > SHOW {
        let _ = writeln!(out, "    … and {} more", total - SHOW);
    }
}

fn names(list: &[&str]) -> String {
    if list.len() <= 4 {
        list.join(", ")
    } else {
        format!("{}, … {}", list[..3].join(", "), list[list.len() - 1])
    }
}

/// The one-screen summary of a checked scenario.
pub fn summary(s: &Scenario, path: &Path, warnings: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "ok: {} — scenario `{}`{}",
        path.display(),
        s.name,
        if warnings > 0 {
            format!(
                " ({warnings} warning{})",
                if warnings == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "  seed {}, end {}, routing {}",
        s.seed,
        s.end_time.since_start(),
        match s.routing {
            sim_stack::config::RoutingMode::Static => "static",
            sim_stack::config::RoutingMode::Auto => "auto",
        }
    );
    if !s.params.is_empty() {
        let p: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(o, "  params  {}", p.join("  "));
    }

    // Nodes by kind.
    let mut kinds: Vec<String> = Vec::new();
    for (k, one, many) in [
        (NodeKind::Host, "host", "hosts"),
        (NodeKind::Router, "router", "routers"),
        (NodeKind::Switch, "switch", "switches"),
    ] {
        let list: Vec<&str> = s
            .nodes
            .iter()
            .filter(|n| n.kind == k)
            .map(|n| n.name.as_str())
            .collect();
        if !list.is_empty() {
            kinds.push(format!(
                "{} {} ({})",
                list.len(),
                if list.len() == 1 { one } else { many },
                names(&list)
            ));
        }
    }
    let _ = writeln!(o, "  nodes   {}: {}", s.nodes.len(), kinds.join(", "));

    // Links.
    let _ = writeln!(o, "  links   {}", s.links.len());
    let ends: Vec<(String, String)> = s
        .links
        .iter()
        .map(|l| (s.end_name(l.a), s.end_name(l.b)))
        .collect();
    let wa = ends.iter().take(SHOW).map(|e| e.0.len()).max().unwrap_or(0);
    let wb = ends.iter().take(SHOW).map(|e| e.1.len()).max().unwrap_or(0);
    for (l, (a, b)) in s.links.iter().zip(&ends).take(SHOW) {
        let mut extra = String::new();
        if l.loss_ppm > 0 {
            let _ = write!(extra, "  loss {}ppm", l.loss_ppm);
        }
        if let Some(m) = l.mtu {
            let _ = write!(extra, "  mtu {m}");
        }
        let _ = writeln!(o, "    {a:wa$} -- {b:wb$}  {}  {}{extra}", l.rate, l.delay);
    }
    more(&mut o, s.links.len());

    // Subnets: every addressed interface, grouped by network, IPv4 ones first.
    let mut subnets: BTreeMap<(u8, u128, u8), Vec<String>> = BTreeMap::new();
    for n in &s.nodes {
        for i in &n.ifaces {
            if let Some(a) = i.addr {
                subnets
                    .entry((4, a.network().address().to_bits().into(), a.prefix_len()))
                    .or_default()
                    .push(format!("{}.{} {}", n.name, i.name, a.address()));
            }
            for a in &i.addrs6 {
                subnets
                    .entry((6, a.network().address().to_bits(), a.prefix_len()))
                    .or_default()
                    .push(format!("{}.{} {}", n.name, i.name, a.address()));
            }
        }
    }
    let _ = writeln!(o, "  subnets {}", subnets.len());
    for ((family, net, len), members) in subnets.iter().take(SHOW) {
        let shown: Vec<&str> = members.iter().map(String::as_str).collect();
        let list = if shown.len() <= 4 {
            shown.join(", ")
        } else {
            format!("{}, … ({} interfaces)", shown[..3].join(", "), shown.len())
        };
        let cidr = if *family == 4 {
            format!("{}/{len}", std::net::Ipv4Addr::from_bits(*net as u32))
        } else {
            format!("{}/{len}", std::net::Ipv6Addr::from_bits(*net))
        };
        let _ = writeln!(o, "    {cidr:18} {list}");
    }
    more(&mut o, subnets.len());

    // Apps.
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &s.apps {
        *by_kind.entry(app_kind(&a.kind)).or_default() += 1;
    }
    let counts: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        o,
        "  apps    {}{}",
        s.apps.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        }
    );
    let wn = s
        .apps
        .iter()
        .take(SHOW)
        .map(|a| s.node(a.node).name.len())
        .max()
        .unwrap_or(0);
    for a in s.apps.iter().take(SHOW) {
        let when = match a.stop {
            Some(t) => format!("{}..{}", a.start.since_start(), t.since_start()),
            None => a.start.since_start().to_string(),
        };
        let _ = writeln!(
            o,
            "    {when:>8}  {:wn$}  {}",
            s.node(a.node).name,
            describe_app(&a.kind)
        );
    }
    more(&mut o, s.apps.len());

    // Time series (`sample`).
    if let Some(c) = &s.sample {
        let nodes = |ids: &[sim_stack::config::NodeId]| -> String {
            if ids.is_empty() {
                "all".into()
            } else {
                ids.iter()
                    .map(|&id| s.node(id).name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let ends = |ends: &[sim_stack::config::LinkEnd]| -> String {
            if ends.is_empty() {
                "all".into()
            } else {
                ends.iter()
                    .map(|&e| s.end_name(e))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut kinds = Vec::new();
        if let Some(t) = &c.tcp {
            kinds.push(format!("tcp ({})", nodes(t)));
        }
        if let Some(q) = &c.qdisc {
            kinds.push(format!("qdisc ({})", ends(q)));
        }
        if let Some(l) = &c.link {
            kinds.push(format!("link ({})", ends(l)));
        }
        if let Some(a) = &c.app {
            kinds.push(format!("app ({})", nodes(a)));
        }
        let _ = writeln!(
            o,
            "  sample  every {}: {}",
            c.interval,
            if kinds.is_empty() {
                "nothing".to_string()
            } else {
                kinds.join(", ")
            }
        );
    }
    o
}

fn app_kind(k: &AppKind) -> &str {
    match k {
        AppKind::User { name, .. } => name,
        AppKind::DnsServer { .. } => "dns_server",
        AppKind::HttpServer { .. } => "http_server",
        AppKind::Curl { .. } => "curl",
        AppKind::TcpBulk { .. } => "tcp_bulk",
        AppKind::TcpSink { .. } => "tcp_sink",
        AppKind::UdpCbr { .. } => "udp_cbr",
        AppKind::UdpSink { .. } => "udp_sink",
        AppKind::Craft { .. } => "craft",
        AppKind::Ping { .. } => "ping",
        AppKind::Replay(_) => "replay",
    }
}

fn describe_app(k: &AppKind) -> String {
    match k {
        AppKind::User { name, props } => {
            let p: Vec<String> = props.0.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!("{name}  {}", p.join("  "))
        }
        AppKind::DnsServer {
            records, ttl, txt, ..
        } => {
            let r: Vec<String> = records
                .iter()
                .take(3)
                .map(|r| {
                    let ty = if r.addr.is_ipv6() { "AAAA" } else { "A" };
                    format!("{} {ty} {}", r.name, r.addr)
                })
                .collect();
            let more = if records.len() > 3 { ", …" } else { "" };
            let txt = match txt.len() {
                0 => String::new(),
                k => format!(" + {k} TXT"),
            };
            format!("dns_server  {}{more}{txt} (ttl {ttl})", r.join(", "))
        }
        AppKind::HttpServer {
            port,
            body,
            think_time,
        } => format!("http_server :{port}  body {body}  think {think_time}"),
        AppKind::Curl { url, .. } => format!("curl {url}"),
        AppKind::TcpBulk {
            dst, port, bytes, ..
        } => format!(
            "tcp_bulk → {dst}:{port}  {}",
            bytes.map_or_else(|| "unlimited".to_string(), |b| b.to_string())
        ),
        AppKind::TcpSink { port, .. } => format!("tcp_sink :{port}"),
        AppKind::UdpCbr {
            dst,
            port,
            payload,
            pace,
            options,
        } => format!(
            "udp_cbr → {}  {payload} {}{}{}",
            std::net::SocketAddr::new(*dst, *port),
            match pace {
                UdpPace::Rate(r) => format!("at {r}"),
                UdpPace::Interval(i) => format!("every {i}"),
            },
            if options.connect { "" } else { "  sendto" },
            if options.recverr { "  IP_RECVERR" } else { "" }
        ),
        AppKind::UdpSink { port } => format!("udp_sink :{port}"),
        AppKind::Craft {
            packet, schedule, ..
        } => format!(
            "craft {packet}  {}",
            match schedule {
                sim_stack::apps::craft::CraftSchedule::Every {
                    count: None,
                    interval,
                } => {
                    format!("loop every {interval}")
                }
                sim_stack::apps::craft::CraftSchedule::Every {
                    count: Some(c),
                    interval,
                } => format!("×{c} every {interval}"),
                sim_stack::apps::craft::CraftSchedule::At(t) => format!("at {} instants", t.len()),
            }
        ),
        AppKind::Replay(r) => {
            let mut s = format!(
                "replay {:?} ({} frames, {})  iface {}  {}",
                r.file,
                r.frames.len(),
                sim_stack::apps::replay::linktype_name(r.linktype),
                r.iface,
                r.speed
            );
            if r.loops != 1 {
                let _ = write!(s, "  loop {}", r.loops);
            }
            if let Some(l) = r.limit {
                let _ = write!(s, "  limit {l}");
            }
            if !r.rewrite.is_empty() {
                s.push_str("  rewritten");
            }
            s
        }
        AppKind::Ping {
            dst,
            count,
            interval,
            size,
            options,
        } => {
            let mut s = format!(
                "ping {dst}  {}every {interval}  size {size}",
                count.map_or_else(String::new, |c| format!("×{c} "))
            );
            if let Some(t) = options.ttl {
                let _ = write!(s, "  ttl {t}");
            }
            if let Some(m) = options.pmtudisc {
                let _ = write!(s, "  pmtudisc {}", m.name());
            }
            if let Some(t) = options.timeout {
                let _ = write!(s, "  timeout {t}");
            }
            if let Some(t) = options.deadline {
                let _ = write!(s, "  deadline {t}");
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn scenario(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(rel)
    }

    fn check(
        file: PathBuf,
        set: &[(&str, &str)],
        dump: Option<DumpFormat>,
    ) -> (u8, String, String) {
        let args = CheckArgs {
            scenario: ScenarioArgs {
                file,
                set: set
                    .iter()
                    .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
                    .collect(),
            },
            dump,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&args, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn summary_of_the_flagship() {
        let (code, out, err) = check(scenario("dns_then_http.net"), &[], None);
        assert_eq!(code, 0, "{err}");
        assert!(err.is_empty(), "{err}");
        assert!(out.contains("scenario `dns_then_http`"), "{out}");
        assert!(
            out.contains("nodes   5: 3 hosts (client, dns, web), 1 router (r1), 1 switch (sw0)"),
            "{out}"
        );
        assert!(out.contains("r1.eth1     -- sw0.p1"), "{out}");
        assert!(out.contains("10.0.1.0/24"), "{out}");
        assert!(
            out.contains("100ms  client  curl http://baidu.com/"),
            "{out}"
        );
        assert!(out.lines().count() <= 24, "one screen:\n{out}");
    }

    #[test]
    fn the_sample_statement_is_summed_up() {
        let src = "host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
sample 10ms { tcp a; link a.eth0; app }
";
        let l = sim_dsl::load_str("t.net", src, &sim_dsl::Options::default());
        let out = summary(l.scenario.as_ref().unwrap(), Path::new("t.net"), 0);
        assert!(
            out.ends_with("  sample  every 10ms: tcp (a), link (a.eth0), app (all)\n"),
            "{out}"
        );
        let (_, out, _) = check(scenario("dns_then_http.net"), &[], None);
        assert!(!out.contains("sample"), "{out}");
    }

    #[test]
    fn big_scenarios_still_fit_one_screen() {
        let (code, out, _) = check(scenario("bench/star_udp_1000.net"), &[], None);
        assert_eq!(code, 0);
        assert!(out.lines().count() <= 30, "{out}");
        assert!(out.contains("… and 994 more"), "{out}");
    }

    #[test]
    fn dump_ron_reads_back_equal() {
        let (code, out, err) = check(scenario("dns_then_http.net"), &[], Some(DumpFormat::Ron));
        assert_eq!(code, 0, "{err}");
        let back: Scenario = ron::from_str(&out).unwrap();
        let direct =
            sim_dsl::load_file(&scenario("dns_then_http.net"), &sim_dsl::Options::default())
                .scenario
                .unwrap();
        assert_eq!(back, direct);
    }

    #[test]
    fn overrides_apply_and_are_type_checked() {
        let (code, out, _) = check(scenario("bench/dumbbell_udp.net"), &[("pairs", "3")], None);
        assert_eq!(code, 0);
        assert!(out.contains("nodes   8:"), "{out}");
        let (code, _, err) = check(
            scenario("bench/dumbbell_udp.net"),
            &[("bottleneck_rate", "ten")],
            None,
        );
        assert_eq!(code, EXIT_ERRORS);
        assert!(
            err.contains("--set bottleneck_rate=ten: param type mismatch"),
            "{err}"
        );
    }

    #[test]
    fn errors_exit_2_and_are_all_printed() {
        let dir = std::env::temp_dir().join(format!("sim-check-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.net");
        std::fs::write(
            &f,
            "host a { iface eth0 { ip 10.0.0.1/24 mtu 40 } }\nlink a.eth0 -- b.eth0 { rate 1Gbit delay 1ms }\n",
        )
        .unwrap();
        let (code, out, err) = check(f.clone(), &[], None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(code, EXIT_ERRORS);
        assert!(out.is_empty());
        assert!(
            err.contains("bad.net:1:42: error: MTU 40 is out of range"),
            "{err}"
        );
        assert!(
            err.contains("bad.net:2:16: error: unknown node `b`"),
            "{err}"
        );
        assert!(err.contains("has 2 errors"), "{err}");
    }

    #[test]
    fn missing_file() {
        let (code, _, err) = check(PathBuf::from("/nonexistent/x.net"), &[], None);
        assert_eq!(code, EXIT_ERRORS);
        assert!(
            err.contains("error: cannot read `/nonexistent/x.net`"),
            "{err}"
        );
    }
}
