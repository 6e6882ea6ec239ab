//! Runs on several threads (`sim run --threads`): the scenario's `partition` hints decide
//! where nodes go, and whatever the partitioning the trace and statistics are the sequential
//! run's. (Every scenario of `scenarios/` is compared on 1, 2 and 4 threads in
//! determinism.rs.)

use std::ops::ControlFlow;

use sim_core::{Limits, run};
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::world::{Outputs, Partitioning, World, run_parallel};

/// Two routers, each with two hosts behind it, pinging across, each router with a
/// `partition` hint.
const TWO_SITES: &str = include_str!("../../scenarios/two_sites.net");

fn load(text: &str, set: &[(&str, &str)]) -> sim_stack::config::Scenario {
    let opts = sim_dsl::Options {
        overrides: set
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let loaded = sim_dsl::load_str("two_sites.net", text, &opts);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    loaded.scenario.expect("no errors")
}

/// The trace and the statistics of a run on `threads` threads (1: sequential).
fn run_on(sc: &sim_stack::config::Scenario, threads: usize) -> (String, String, Partitioning) {
    let sink = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Path, Box::new(sink.clone())),
        capture: None,
        record_paths: true,
    };
    let (mut world, mut sched) = World::build(sc, outputs).expect("builds");
    let plan = Partitioning::new(&world, threads);
    let limits = Limits::until(sc.end_time);
    let report = if plan.parts > 1 {
        let mut none = sim_core::NoObserver;
        run_parallel(&mut world, sched, &plan, limits, &mut none, |_| {
            ControlFlow::Continue(())
        })
        .0
    } else {
        run(
            &mut world,
            &mut sched,
            limits,
            |_| ControlFlow::Continue(()),
        )
    };
    world.finish_outputs().expect("in memory");
    let stats = world.stats(report.now.as_nanos(), report.events);
    (sink.text(), format!("{stats:?}"), plan)
}

#[test]
fn hints_put_each_site_in_its_partition_and_the_run_is_the_sequential_one() {
    let sc = load(TWO_SITES, &[]);
    let (trace1, stats1, _) = run_on(&sc, 1);
    assert!(trace1.contains("ICMP echo reply"), "the pings are answered");
    let (trace2, stats2, plan) = run_on(&sc, 2);
    // ra (node 0) and its hosts in partition 0, rb and its hosts in 1: one link cut, the
    // 5 ms WAN link, so windows of 5 ms and a little.
    let names = ["ra", "rb", "a0", "b0", "a1", "b1"];
    let part: Vec<(&str, u32)> = names
        .iter()
        .map(|&n| (n, plan.node_part[node(&sc, n)]))
        .collect();
    assert_eq!(
        part,
        vec![
            ("ra", 0),
            ("rb", 1),
            ("a0", 0),
            ("b0", 1),
            ("a1", 0),
            ("b1", 1)
        ]
    );
    assert_eq!(plan.cut_links(), 1);
    assert!(plan.lookahead.unwrap().as_nanos() > 5_000_000);
    assert_eq!(trace1, trace2);
    assert_eq!(stats1, stats2);
    // Hints are taken modulo the threads: 2 and 4 on 2 threads put both sites together.
    let sc = load(TWO_SITES, &[("pa", "2"), ("pb", "4")]);
    let (trace, stats, plan) = run_on(&sc, 2);
    assert_eq!(plan.parts, 1, "one partition in use: run sequentially");
    assert_eq!((trace, stats), (trace1, stats1));
}

#[test]
fn the_partitioner_cuts_the_long_link_between_two_sites_by_itself() {
    let text = TWO_SITES
        .replace("partition $pa", "")
        .replace("partition $pb", "");
    let sc = load(&text, &[]);
    let (_, _, plan) = run_on(&sc, 2);
    assert_eq!(plan.parts, 2);
    let ra = plan.node_part[node(&sc, "ra")];
    for n in ["a0", "a1"] {
        assert_eq!(plan.node_part[node(&sc, n)], ra, "{n} with ra");
    }
    assert_eq!(plan.cut_links(), 1, "only the WAN link is cut");
}

#[test]
fn a_bad_partition_is_a_located_error() {
    let text = TWO_SITES.replace("partition $pa", "partition -1");
    let loaded = sim_dsl::load_str("two_sites.net", &text, &sim_dsl::Options::default());
    let r = loaded.render_diagnostics();
    assert!(loaded.has_errors());
    let line = 1 + text
        .lines()
        .position(|l| l.contains("partition -1"))
        .unwrap();
    let col = 1 + text.lines().nth(line - 1).unwrap().find("-1").unwrap();
    let want =
        format!("two_sites.net:{line}:{col}: error: -1 is out of range; expected 0 to 4294967295");
    assert!(r.contains(&want), "{r}");
    assert!(
        r.contains("`partition` takes an integer from 0 to 4294967295"),
        "{r}"
    );
    let text = TWO_SITES.replace("partition $pa", "partition 1 partition 2");
    let loaded = sim_dsl::load_str("two_sites.net", &text, &sim_dsl::Options::default());
    assert!(
        loaded
            .render_diagnostics()
            .contains("`partition` is set twice")
    );
}

/// The world index of node `name` (the scenario's hosts and routers, in order).
fn node(sc: &sim_stack::config::Scenario, name: &str) -> usize {
    sc.nodes
        .iter()
        .filter(|n| n.kind != sim_stack::config::NodeKind::Switch)
        .position(|n| n.name == name)
        .expect("a node")
}
