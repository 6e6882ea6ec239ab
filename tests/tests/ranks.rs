//! A run split over ranks that share nothing — each builds its own world from the scenario,
//! as the processes of `mpirun -np N sim run --mpi` do — joined by channels
//! (`sim_stack::world::distributed::local`) instead of MPI: rank 0's trace and stats.json
//! must be the run's in one process, byte for byte, and so must its samples (every kind).
//! (`.ci/run` runs real MPI ranks; sim-cli's `observe` tests compare whole output folders of
//! ranks, snapshots included.)

use std::ops::ControlFlow;

use sim_core::{Limits, SimDuration, run, run_observed};
use sim_stack::capture::{Capture, CaptureConfig, CaptureFormat};
use sim_stack::config::SampleConfig;
use sim_stack::sample::{SampleKind, Sampler};
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
                    &mut sim_core::NoObserver,
                    |_| ControlFlow::Continue(()),
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

/// Outputs without a capture, the trace with kernel paths into `sink`.
fn traced(sink: &MemorySink) -> Outputs {
    Outputs {
        trace: Trace::new(TraceLevel::Path, Box::new(sink.clone())),
        capture: None,
        record_paths: true,
    }
}

/// The trace with kernel paths into `sink`, a pcap per interface into `dir`.
fn captured(sink: &MemorySink, dir: &std::path::Path) -> Outputs {
    std::fs::create_dir_all(dir).expect("a folder for pcaps");
    Outputs {
        capture: Some((CaptureConfig::new(dir, CaptureFormat::Pcap), None)),
        ..traced(sink)
    }
}

/// The pcaps in `dir`, by name.
fn pcaps(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("the pcaps' folder")
        .map(|e| {
            let p = e.expect("an entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect()
}

/// A sampler of everything every `every`, each kind into its sink of `sinks`.
fn sampler(
    world: &World,
    sc: &sim_stack::config::Scenario,
    every: SimDuration,
    sinks: &[MemorySink; 4],
) -> Sampler {
    Sampler::new(world, sc, &SampleConfig::everything(every), |kind| {
        let k = SampleKind::ALL.iter().position(|&x| x == kind).unwrap();
        Ok(Box::new(sinks[k].clone()) as Box<dyn std::io::Write>)
    })
    .expect("in memory")
}

/// Every sample file and the trace of `sc`, in one process, its pcaps into `dir`.
fn sampled_in_one_process(
    sc: &sim_stack::config::Scenario,
    every: SimDuration,
    dir: &std::path::Path,
) -> Vec<String> {
    let trace = MemorySink::default();
    let sinks: [MemorySink; 4] = Default::default();
    let (mut world, mut sched) = World::build(sc, captured(&trace, dir)).expect("builds");
    let mut s = sampler(&world, sc, every, &sinks);
    run_observed(
        &mut world,
        &mut sched,
        Limits::until(sc.end_time),
        &mut s,
        |_| ControlFlow::Continue(()),
    );
    s.finish().expect("in memory");
    world.finish_outputs().expect("in memory");
    let mut out: Vec<String> = sinks.iter().map(MemorySink::text).collect();
    out.push(trace.text());
    out
}

/// The same on `n` ranks ([`local::run_ranks`]): rank 0 samples into memory and captures
/// into `dir`, the others into nothing; with the number of rows rank 0 counted.
fn sampled_on_ranks(
    sc: &sim_stack::config::Scenario,
    every: SimDuration,
    n: usize,
    dir: &std::path::Path,
) -> (Vec<String>, u64) {
    let trace = MemorySink::default();
    let sinks: [MemorySink; 4] = Default::default();
    let nowhere: [MemorySink; 4] = Default::default();
    let r0 = local::run_ranks(
        n,
        Limits::until(sc.end_time),
        |rank| {
            if rank == 0 {
                return World::build(sc, captured(&trace, dir)).expect("builds");
            }
            // Its capture registers the interfaces rank 0's does (the frames it logs carry
            // their numbers), then only logs them for rank 0, as `sim run --mpi` does.
            let scratch = dir.with_extension(format!("rank{rank}"));
            let (mut world, sched) =
                World::build(sc, captured(&MemorySink::default(), &scratch)).expect("builds");
            world.shared.capture = Some(Capture::log());
            let _ = std::fs::remove_dir_all(&scratch);
            (world, sched)
        },
        |rank, world| {
            let to = if rank == 0 { &sinks } else { &nowhere };
            sampler(world, sc, every, to)
        },
    );
    let mut world = r0.world;
    let rows = r0.observer.rows;
    r0.observer.finish().expect("in memory");
    world.finish_outputs().expect("in memory");
    assert!(
        nowhere
            .iter()
            .zip(SampleKind::ALL)
            .all(|(s, k)| s.text().lines().all(|l| format!("{l}\n") == k.header())),
        "a rank other than 0 wrote rows"
    );
    let mut out: Vec<String> = sinks.iter().map(MemorySink::text).collect();
    out.push(trace.text());
    (out, rows)
}

#[test]
fn rank_0_writes_the_samples_and_pcaps_of_the_run_in_one_process() {
    let mut seen = [false; 4];
    let mut ranks_run = 0;
    for (path, until, every_us) in [
        ("scenarios/dns_then_http.net", Some("2000000000"), 1_000),
        ("scenarios/two_sites.net", None, 1_000),
        ("scenarios/dc/fattree_k4_websearch.net", Some("2000000"), 50),
    ] {
        let sc = load(path, until);
        let every = SimDuration::from_micros(every_us);
        let root = std::env::temp_dir().join(format!("netsim-ranks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let seq = sampled_in_one_process(&sc, every, &root.join("one"));
        let pcaps_seq = pcaps(&root.join("one"));
        assert!(!pcaps_seq.is_empty(), "{path}: pcaps");
        let rows_seq: u64 = seq[..4]
            .iter()
            .map(|t| t.lines().count().saturating_sub(1) as u64)
            .sum();
        for (k, text) in seq[..4].iter().enumerate() {
            seen[k] |= text.lines().count() > 1;
        }
        let parts = |n| {
            let outputs = Outputs {
                trace: Trace::disabled(),
                capture: None,
                record_paths: false,
            };
            Partitioning::new(&World::build(&sc, outputs).expect("builds").0, n).parts
        };
        for n in [2, 3].into_iter().filter(|&n| parts(n) == n) {
            ranks_run += 1;
            let dir = root.join(format!("ranks{n}"));
            let (got, rows) = sampled_on_ranks(&sc, every, n, &dir);
            assert_eq!(rows, rows_seq, "{path} on {n} ranks: rows counted");
            let got_pcaps = pcaps(&dir);
            assert_eq!(
                got_pcaps.keys().collect::<Vec<_>>(),
                pcaps_seq.keys().collect::<Vec<_>>(),
                "{path} on {n} ranks: the pcaps"
            );
            for (name, bytes) in &pcaps_seq {
                assert!(
                    &got_pcaps[name] == bytes,
                    "{path} on {n} ranks: {name} differs"
                );
            }
            for (k, (a, b)) in got.iter().zip(&seq).enumerate() {
                let what = SampleKind::ALL.get(k).map_or("trace", |k| k.file_name());
                if a != b {
                    let line = a
                        .lines()
                        .zip(b.lines())
                        .position(|(x, y)| x != y)
                        .unwrap_or(0);
                    panic!(
                        "{path} on {n} ranks: {what} differs at line {line}: {:?} vs {:?}",
                        a.lines().nth(line),
                        b.lines().nth(line)
                    );
                }
            }
        }
    }
    assert_eq!(
        seen, [true; 4],
        "rows of every kind (tcp, qdisc, link, app)"
    );
    // two_sites.net splits into 2 partitions at most.
    assert_eq!(ranks_run, 5, "each scenario on 2 and 3 ranks");
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("netsim-ranks-{}", std::process::id())),
    );
}

/// A rank asked to stop (a signal, under mpirun) stops every rank before the same window,
/// with the smallest code asked; rank 0's trace is then the run in one process stopped after
/// as many events (what `sim run --replay` of an interrupted run does).
#[test]
fn a_stop_asked_by_any_rank_stops_every_rank_at_the_same_window() {
    let sc = load("scenarios/dc/fattree_k4_websearch.net", Some("2000000"));
    let n = 3;
    let trace0 = MemorySink::default();
    let ends = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for mut comm in local::ranks(n) {
            let (trace0, ends, sc) = (&trace0, &ends, &sc);
            s.spawn(move || {
                let rank = sim_stack::world::distributed::Comm::rank(&comm);
                let sink = if rank == 0 {
                    trace0.clone()
                } else {
                    MemorySink::default()
                };
                let (mut world, sched) = World::build(sc, traced(&sink)).expect("builds");
                let plan = Partitioning::new(&world, n);
                let mut windows = 0;
                // Rank 1 is told to stop at its 40th window, rank 2 at its 41st.
                let (report, st) = run_rank(
                    &mut world,
                    sched,
                    &plan,
                    Limits::until(sc.end_time),
                    &mut sim_core::NoObserver,
                    |_| {
                        windows += 1;
                        match rank {
                            1 if windows >= 40 => ControlFlow::Break(15),
                            2 if windows >= 41 => ControlFlow::Break(2),
                            _ => ControlFlow::Continue(()),
                        }
                    },
                    &mut comm,
                );
                world.finish_outputs().expect("in memory");
                let ended = end_ranks(&mut world, &plan, &report, &mut comm);
                ends.lock().unwrap().push((
                    rank,
                    report.reason,
                    report.now,
                    st.stop_code,
                    ended.map(|e| e.events),
                ));
            });
        }
    });
    let mut ends = ends.into_inner().unwrap();
    ends.sort_by_key(|e| e.0);
    for e in &ends {
        assert_eq!(e.1, sim_core::StopReason::Interrupted, "{e:?}");
        assert_eq!(e.3, Some(15), "rank 1 asked first: {e:?}");
        assert_eq!(e.2, ends[0].2, "the same window everywhere: {e:?}");
    }
    assert!(ends[0].2 < sc.end_time, "stopped before the end");
    let events = ends[0].4.expect("rank 0 gets the end");
    // The run in one process, stopped after as many events.
    let sink = MemorySink::default();
    let (mut world, mut sched) = World::build(&sc, traced(&sink)).expect("builds");
    let limits = Limits {
        max_events: events,
        ..Limits::until(sc.end_time)
    };
    let report = run(
        &mut world,
        &mut sched,
        limits,
        |_| ControlFlow::Continue(()),
    );
    assert_eq!(report.events, events);
    assert_eq!(report.now, ends[0].2, "stopped at the same instant");
    world.finish_outputs().expect("in memory");
    assert!(
        sink.text() == trace0.text(),
        "the trace of the interrupted ranks is the one-process run's up to its events"
    );
}
