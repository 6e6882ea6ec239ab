//! The data-centre scenarios (scenarios/dc/, docs/datacenter.md): the fat-tree's routes
//! reach every host from every host over a shortest path and spread over the cores as
//! Al-Fares' two-level tables do, and the `dc_flows` workload's flows finish with FCTs no
//! shorter than their ideal, the same in two runs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use common::run_scenario;
use sim_dsl::{Options, Scenario, load_file};
use sim_stack::apps::AppReport;
use sim_stack::apps::dc_flows::{DcFlowsReport, FctSummary};
use sim_stack::ip::fib::Fib;

fn scenario_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/dc")
        .join(file)
}

fn load(file: &str, overrides: &[(&str, &str)]) -> Scenario {
    let opts = Options {
        overrides: overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let loaded = load_file(&scenario_path(file), &opts);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    loaded.scenario.expect("no errors, so a scenario")
}

/// `H{p}_{e}_{i}` → (p, e, i).
fn host_position(name: &str) -> Option<(u32, u32, u32)> {
    let mut it = name.strip_prefix('H')?.split('_').map(|x| x.parse().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// Follows the routing tables hop by hop from every host to every other host, as the
/// stack's FIB looks them up; checks the path length against the fat-tree's distance and
/// that the cores carry traffic as the two-level tables spread it.
fn check_routes(k: u32) {
    let sc = load(&format!("fattree_k{k}_websearch.net"), &[]);
    let half = k / 2;
    assert_eq!(
        sc.nodes
            .iter()
            .filter_map(|n| host_position(&n.name))
            .count() as u32,
        k * k * k / 4
    );
    assert_eq!(sc.nodes.len() as u32, k * k * k / 4 + 5 * k * k / 4);
    let fibs: Vec<Fib> = sc.nodes.iter().map(Fib::from_config).collect();
    let mut owner: BTreeMap<Ipv4Addr, (usize, usize)> = BTreeMap::new();
    for (ni, n) in sc.nodes.iter().enumerate() {
        for (ii, i) in n.ifaces.iter().enumerate() {
            if let Some(c) = i.addr {
                owner.insert(c.address(), (ni, ii));
            }
        }
    }
    let mut peer: BTreeMap<(usize, usize), (usize, usize)> = BTreeMap::new();
    for l in &sc.links {
        let a = (l.a.node.0 as usize, l.a.iface.0 as usize);
        let b = (l.b.node.0 as usize, l.b.iface.0 as usize);
        peer.insert(a, b);
        peer.insert(b, a);
    }
    let hosts: Vec<(usize, (u32, u32, u32), Ipv4Addr)> = sc
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(ni, n)| {
            let pos = host_position(&n.name)?;
            Some((ni, pos, n.ifaces[0].addr?.address()))
        })
        .collect();
    let mut cores_used: BTreeSet<usize> = BTreeSet::new();
    for &(src, (sp, se, _), _) in &hosts {
        let mut cores_from_here: BTreeSet<usize> = BTreeSet::new();
        for &(dst, (dp, de, _), daddr) in &hosts {
            if src == dst {
                continue;
            }
            let want = if (sp, se) == (dp, de) {
                2
            } else if sp == dp {
                4
            } else {
                6
            };
            let mut at = src;
            let mut hops = 0;
            while at != dst {
                let r = fibs[at]
                    .lookup(daddr)
                    .unwrap_or_else(|| panic!("{}: no route to {daddr}", sc.nodes[at].name));
                let next = peer[&(at, r.dev as usize)];
                assert!(
                    r.nexthop == daddr || owner.get(&r.nexthop) == Some(&next),
                    "{}: the gateway {} of {daddr} is not across {}",
                    sc.nodes[at].name,
                    r.nexthop,
                    sc.nodes[at].ifaces[r.dev as usize].name
                );
                at = next.0;
                hops += 1;
                if sc.nodes[at].name.starts_with('C') {
                    cores_from_here.insert(at);
                }
                assert!(
                    hops <= want,
                    "{} → {}: longer than {want} links",
                    sc.nodes[src].name,
                    sc.nodes[dst].name
                );
            }
            assert_eq!(
                hops, want,
                "{} → {}",
                sc.nodes[src].name, sc.nodes[dst].name
            );
        }
        // One edge router reaches the other pods through k/2 cores, one per host index.
        assert_eq!(cores_from_here.len() as u32, half, "{}", sc.nodes[src].name);
        cores_used.extend(cores_from_here);
    }
    assert_eq!(
        cores_used.len() as u32,
        half * half,
        "every core carries traffic"
    );
}

#[test]
fn fat_tree_k4_routes_reach_every_host_over_a_shortest_path() {
    check_routes(4);
}

#[test]
fn fat_tree_k8_routes_reach_every_host_over_a_shortest_path() {
    check_routes(8);
}

fn flows(sc: &Scenario) -> (String, Vec<DcFlowsReport>) {
    let ran = run_scenario(sc, None);
    let reports = ran
        .world
        .app_reports()
        .into_iter()
        .map(|(node, r)| match r {
            AppReport::DcFlows(d) => *d,
            other => panic!("{node}: not a dc_flows report: {other:?}"),
        })
        .collect();
    (format!("{:?}", ran.stats), reports)
}

#[test]
fn a_short_k4_web_search_run_finishes_flows_no_faster_than_ideal() {
    // 2 ms of arrivals at 50 % load (about 12 flows of 1.7 MB on average), 40 ms to finish.
    let set = [("arrivals", "2ms"), ("run_for", "40ms")];
    let sc = load("fattree_k4_websearch.net", &set);
    let (stats, reports) = flows(&sc);
    assert_eq!(reports.len(), 16);
    let s = FctSummary::of(&reports).expect("16 hosts");
    assert!(s.started >= 4, "{s:?}");
    assert!(s.finished >= 1, "{s:?}");
    assert_eq!(s.finished + s.unfinished, s.started);
    assert_eq!(s.failed, 0, "{reports:?}");
    let mut finished_bytes = 0;
    for r in &reports {
        assert!(r.error.is_none(), "{r:?}");
        for f in &r.flows {
            assert!(f.fct_ns > 0 && f.finish_ns > f.start_ns, "{f:?}");
            assert!(f.fct_ns >= f.ideal_fct_ns && f.slowdown >= 1.0, "{f:?}");
            assert!(f.start_ns < 2_000_000, "arrivals stop at 2 ms: {f:?}");
            assert_ne!(f.src, f.dst);
            finished_bytes += f.size;
        }
    }
    // Every finished byte was read by a sink.
    let received: u64 = reports.iter().map(|r| r.bytes_received).sum();
    assert!(received >= finished_bytes, "{received} < {finished_bytes}");
    let accepted: u64 = reports.iter().map(|r| r.connections_accepted).sum();
    assert!(accepted >= s.finished);
    // The same seed: the same flows and the same counters.
    let (stats2, reports2) = flows(&sc);
    assert_eq!(reports, reports2);
    assert!(stats == stats2, "two runs differ");
    // Another seed: other flows.
    let mut other = sc.clone();
    other.seed = 2;
    let (_, reports3) = flows(&other);
    assert_ne!(reports, reports3);
}

#[test]
fn bad_properties_are_errors_at_the_app_and_a_host_outside_peers_says_so() {
    let pair = "
end 10ms
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 10Gbit  delay 1us }
";
    let check = |app: &str| {
        let l = sim_dsl::load_str("t.net", &format!("{pair}{app}\n"), &Options::default());
        assert!(l.has_errors(), "{app}: no error");
        l.render_diagnostics()
    };
    let base = "peers \"10.0.0.1 1x2\"  rate 10Gbit  host_delay 1us";
    let e = check(&format!(
        "app a: dc_flows {{ {base}  cdf hadoop  load 50% }}"
    ));
    assert!(e.contains("unknown cdf `hadoop`"), "{e}");
    let e = check(&format!(
        "app a: dc_flows {{ {base}  cdf web_search  load 150% }}"
    ));
    assert!(e.contains("`load 150%` is not a load"), "{e}");
    let e = check(
        "app a: dc_flows { peers \"10.0.0.1 1x2 1x2\"  rate 10Gbit  host_delay 1us  cdf web_search  load 0.5 }",
    );
    assert!(e.contains("names 10.0.0.2 twice"), "{e}");
    let e = check("app a: dc_flows { rate 10Gbit  host_delay 1us  cdf web_search  load 0.5 }");
    assert!(e.contains("peers"), "{e}");

    // A host whose address is not among the peers starts nothing and reports why.
    let l = sim_dsl::load_str(
        "t.net",
        &format!(
            "{pair}app a: dc_flows {{ peers \"10.0.0.5 1x2\"  rate 10Gbit  host_delay 1us  cdf web_search  load 0.5 }}\n"
        ),
        &Options::default(),
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let (_, reports) = flows(&l.scenario.expect("checks"));
    assert_eq!(reports[0].started, 0);
    assert!(
        reports[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("no address of this node")
    );
}
