//! A run split over ranks that share nothing — each builds its own world from the scenario,
//! as the processes of `mpirun -np N sim run --mpi` do — joined by channels
//! (`sim_stack::world::distributed::local`) instead of MPI: rank 0's trace and stats.json
//! must be the run's in one process, byte for byte. (`.ci/run` runs real MPI ranks.)

use std::ops::ControlFlow;

use sim_core::{Limits, run};
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::world::distributed::{end_ranks, local, run_rank};
use sim_stack::world::{Outputs, Partitioning, World};

fn load(path: &str, until: Option<&str>) -> sim_stack::config::Scenario {
    let mut overrides = Vec::new();
    let _ = &mut overrides;
    let loaded = sim_dsl::load_file(
        std::path::Path::new(&format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))),
        &sim_dsl::Options { overrides },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    let mut sc = loaded.scenario.expect("no errors");
    if let Some(u) = until {
        sc.end_time = sim_core::SimTime::from_nanos(u.parse::<u64>().unwrap());
    }
    sc
}

fn sequential(sc: &sim_stack::config::Scenario) -> (String, String) {
    let sink = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Path, Box::new(sink.clone())),
        capture: None,
        record_paths: true,
    };
    let (mut world, mut sched) = World::build(sc, outputs).expect("builds");
    let report = run(&mut world, &mut sched, Limits::until(sc.end_time), |_| {
        ControlFlow::Continue(())
    });
    world.finish_outputs().expect("in memory");
    let stats =
        serde_json::to_string_pretty(&world.stats_view(report.now.as_nanos(), report.events))
            .expect("serializes");
    (sink.text(), stats)
}

fn on_ranks(sc: &sim_stack::config::Scenario, n: usize) -> (String, String) {
    let comms = local::ranks(n);
    let sink0 = MemorySink::default();
    let stats0 = std::sync::Mutex::new(String::new());
    std::thread::scope(|s| {
        for mut comm in comms {
            let sink = sink0.clone();
            let stats0 = &stats0;
            s.spawn(move || {
                let rank0 = sim_stack::world::distributed::Comm::rank(&comm) == 0;
                let trace = if rank0 {
                    Trace::new(TraceLevel::Path, Box::new(sink))
                } else {
                    Trace::new(TraceLevel::Path, Box::new(MemorySink::default()))
                };
                let outputs = Outputs {
                    trace,
                    capture: None,
                    record_paths: true,
                };
                let (mut world, sched) = World::build(sc, outputs).expect("builds");
                let plan = Partitioning::new(&world, n);
                assert_eq!(plan.parts, n);
                let (report, _) = run_rank(
                    &mut world,
                    sched,
                    &plan,
                    Limits::until(sc.end_time),
                    &mut comm,
                );
                world.finish_outputs().expect("in memory");
                if let Some(mut ended) = end_ranks(&mut world, &plan, &report, &mut comm) {
                    *stats0.lock().unwrap() =
                        serde_json::to_string_pretty(&ended.stats_view(&world))
                            .expect("serializes");
                }
            });
        }
    });
    (sink0.text(), stats0.into_inner().unwrap())
}

#[test]
fn rank_0_writes_the_trace_and_stats_of_the_run_in_one_process() {
    for (path, until) in [
        ("scenarios/two_sites.net", None),
        ("scenarios/dns_then_http.net", None),
        ("scenarios/dual_stack.net", None),
        ("scenarios/netfilter/masquerade.net", None),
        ("scenarios/dc/fattree_k4_websearch.net", Some("2000000")),
    ] {
        let sc = load(path, until);
        let seq = sequential(&sc);
        let parts = |n| {
            let outputs = Outputs {
                trace: Trace::disabled(),
                capture: None,
                record_paths: false,
            };
            Partitioning::new(&World::build(&sc, outputs).expect("builds").0, n).parts
        };
        for n in [2, 3, 4].into_iter().filter(|&n| parts(n) == n) {
            let got = on_ranks(&sc, n);
            assert!(got.0 == seq.0, "{path} on {n} ranks: trace differs");
            if got.1 != seq.1 {
                let d = got
                    .1
                    .bytes()
                    .zip(seq.1.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{path} on {n} ranks: stats differ at {d}: {:?} vs {:?}",
                    &got.1[d.saturating_sub(200)..(d + 200).min(got.1.len())],
                    &seq.1[d.saturating_sub(200)..(d + 200).min(seq.1.len())]
                );
            }
        }
    }
}
