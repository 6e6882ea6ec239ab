//! Determinism: every scenario in `scenarios/`, `scenarios/attacks/`, `scenarios/bench/`,
//! `scenarios/tc/` and `scenarios/dc/`, run twice in this process — at the same time, as
//! `sim sweep` runs them — with the most detailed trace (`--trace path`) and a pcap for every
//! interface, must give the same bytes: the trace, every pcap, and the statistics
//! (`stats.json`, and the tree it is made from; it holds no wall-clock figure — those are only
//! in `sim run`'s summary). Each output is compared through a 64-bit FNV-1a hash, and by name,
//! so a failure says which output differs.
//!
//! The first run is on one thread and samples every time series (`sim run --sample`; every
//! millisecond on the runs cut at 200 ms, a thousand times on the others). When the topology
//! splits, the second one runs on 2 ranks that share nothing (`mpirun -np 2 sim run --mpi`,
//! here joined by channels), sampled too: each builds its own world and runs its partition,
//! and rank 0 writes the trace, every pcap, the samples and stats.json. Then the scenario runs
//! on 2 threads unsampled and on 4 threads sampled (`sim run --threads`: the topology split
//! into partitions that run in windows on their own threads, the outputs merged in the run's
//! order). The sampler is not an event and only reads, so the unsampled runs (the second one
//! when the topology does not split, the 2-thread one when it does) must give the same bytes.
//!
//! The benchmark and traffic-control scenarios stop at 200 ms of simulated time to keep the
//! test fast (their random draws — netem's, RED's — start at once), the data-centre ones at
//! 1 ms (their fat-trees are busy from the start); the scenarios in `scenarios/` and
//! `scenarios/attacks/` run to their end.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use common::{capture_into, temp_dir};
use sim_core::{Limits, SimDuration, SimTime, run_observed};
use sim_stack::capture::CaptureFormat;
use sim_stack::config::{SampleConfig, Scenario};
use sim_stack::sample::Sampler;
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::world::distributed::local;
use sim_stack::world::{Outputs, Partitioning, World, run_parallel};

/// Where the benchmark and traffic-control scenarios stop.
const BENCH_UNTIL_NS: u64 = 200_000_000;

/// Where the data-centre scenarios stop: their fat-trees (up to 1024 hosts at 10 Gbit/s)
/// have handled some 10^5 events by then.
const DC_UNTIL_NS: u64 = 1_000_000;

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `(scenario file, stop time)` for every scenario, sorted.
fn scenarios() -> Vec<(PathBuf, Option<SimTime>)> {
    let mut v = Vec::new();
    for (dir, until) in [
        ("scenarios", None),
        ("scenarios/attacks", None),
        ("scenarios/bench", Some(SimTime::from_nanos(BENCH_UNTIL_NS))),
        ("scenarios/tc", Some(SimTime::from_nanos(BENCH_UNTIL_NS))),
        ("scenarios/dc", Some(SimTime::from_nanos(DC_UNTIL_NS))),
    ] {
        let mut files: Vec<PathBuf> = fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}/ is readable: {e}"))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "net"))
            .collect();
        files.sort();
        v.extend(files.into_iter().map(|f| (f, until)));
    }
    v
}

/// The scenario of `path`, stopped at `until` if given and earlier than its end.
fn load(path: &Path, until: Option<SimTime>) -> Scenario {
    let loaded = sim_dsl::load_file(path, &sim_dsl::Options::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    let mut sc = loaded.scenario.expect("no errors, so a scenario");
    if let Some(t) = until {
        sc.end_time = sc.end_time.min(t);
    }
    sc
}

/// How often a sampled run samples `sc`: every millisecond on the runs cut at 200 ms, a
/// thousand times on the longer ones.
fn sample_every(sc: &Scenario) -> SimDuration {
    SimDuration::from_nanos((sc.end_time.as_nanos() / 1000).max(1_000_000))
}

/// Adds the hash of every pcap in `dir` to `h`, by file name; returns how many there were.
fn hash_pcaps(dir: &Path, h: &mut BTreeMap<String, u64>) -> usize {
    let mut pcaps = 0;
    for entry in fs::read_dir(dir).expect("capture folder") {
        let p = entry.expect("entry").path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        h.insert(name, fnv1a(&fs::read(&p).expect("pcap readable")));
        pcaps += 1;
    }
    pcaps
}

/// Runs `path` (until `until`, if given) with a path-level trace and a pcap per interface
/// written into `dir`, sampling everything every millisecond if `sample`, on `threads`
/// threads; returns a hash per output, by name (the samples are hashed as `samples`).
fn outputs_hashed(
    path: &Path,
    until: Option<SimTime>,
    dir: &Path,
    sample: bool,
    threads: usize,
) -> BTreeMap<String, u64> {
    let sc = load(path, until);
    let sink = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Path, Box::new(sink.clone())),
        capture: Some((capture_into(dir, CaptureFormat::Pcap), None)),
        record_paths: true,
    };
    let (mut world, mut sched) = World::build(&sc, outputs).expect("builds");
    let samples = MemorySink::default();
    let mut sampler = sample.then(|| {
        let cfg = SampleConfig::everything(sample_every(&sc));
        Sampler::new(&world, &sc, &cfg, |_| {
            Ok(Box::new(samples.clone()) as Box<dyn std::io::Write>)
        })
        .expect("in memory")
    });
    let plan = Partitioning::new(&world, threads);
    let report = if threads > 1 {
        assert!(
            plan.parts > 1,
            "{}: not split into {threads}",
            path.display()
        );
        run_parallel(
            &mut world,
            sched,
            &plan,
            Limits::until(sc.end_time),
            &mut sampler,
            |_| ControlFlow::Continue(()),
        )
        .0
    } else {
        run_observed(
            &mut world,
            &mut sched,
            Limits::until(sc.end_time),
            &mut sampler,
            |_| ControlFlow::Continue(()),
        )
    };
    if let Some(s) = sampler {
        let taken = s.samples;
        s.finish().expect("samples written");
        let expected = sc.end_time.as_nanos() / sample_every(&sc).as_nanos() + 1;
        assert_eq!(taken, expected, "{}: samples taken", path.display());
        assert!(!samples.text().is_empty());
    }
    let samples = samples.text();
    world.finish_outputs().expect("outputs written");
    let stats = world.stats(report.now.as_nanos(), report.events);
    // What `sim run` writes, made one node at a time, is the tree's serialization.
    let tree = serde_json::to_string_pretty(&stats).expect("serializes");
    let streamed =
        serde_json::to_string_pretty(&world.stats_view(report.now.as_nanos(), report.events))
            .expect("serializes");
    assert!(
        tree == streamed,
        "{}: the streamed stats.json differs from the tree's",
        path.display()
    );

    let mut h = BTreeMap::new();
    let trace = sink.text();
    assert!(!trace.is_empty(), "{}: no trace", path.display());
    h.insert("trace".to_string(), fnv1a(trace.as_bytes()));
    if sample {
        h.insert("samples".to_string(), fnv1a(samples.as_bytes()));
    }
    // The statistics tree, every field (Debug prints the tree, maps in key order), and
    // stats.json as `sim run` writes it.
    h.insert("stats".to_string(), fnv1a(format!("{stats:?}").as_bytes()));
    h.insert("stats.json".to_string(), fnv1a(streamed.as_bytes()));
    let pcaps = hash_pcaps(dir, &mut h);
    assert!(pcaps > 0, "{}: no pcap written", path.display());
    h
}

/// Runs `path` (until `until`, if given) on `n` ranks that share nothing, joined by
/// channels, as `outputs_hashed` runs it sampled: rank 0 writes its trace and pcaps (into
/// `dir`), the samples and stats.json; returns a hash per output, by name.
fn outputs_hashed_on_ranks(
    path: &Path,
    until: Option<SimTime>,
    dir: &Path,
    n: usize,
) -> BTreeMap<String, u64> {
    let sc = load(path, until);
    let sink = MemorySink::default();
    let samples = MemorySink::default();
    let every = sample_every(&sc);
    let cfg = SampleConfig::everything(every);
    let outputs = |trace: &MemorySink, into: &Path| Outputs {
        trace: Trace::new(TraceLevel::Path, Box::new(trace.clone())),
        capture: Some((capture_into(into, CaptureFormat::Pcap), None)),
        record_paths: true,
    };
    let r0 = local::run_ranks(
        n,
        Limits::until(sc.end_time),
        |rank| {
            if rank == 0 {
                return World::build(&sc, outputs(&sink, dir)).expect("builds");
            }
            // The other ranks' captures register the interfaces rank 0's does (the frames
            // they log carry their numbers), then only log frames for rank 0, as `sim run
            // --mpi` does.
            let scratch = dir.with_extension(format!("rank{rank}"));
            let (mut world, sched) =
                World::build(&sc, outputs(&MemorySink::default(), &scratch)).expect("builds");
            world.shared.capture = Some(sim_stack::capture::Capture::log());
            let _ = fs::remove_dir_all(&scratch);
            (world, sched)
        },
        |rank, world| {
            Sampler::new(world, &sc, &cfg, |_| {
                Ok(if rank == 0 {
                    Box::new(samples.clone()) as Box<dyn std::io::Write>
                } else {
                    Box::new(std::io::sink())
                })
            })
            .expect("in memory")
        },
    );
    let mut world = r0.world;
    let taken = r0.observer.samples;
    r0.observer.finish().expect("samples written");
    assert_eq!(
        taken,
        sc.end_time.as_nanos() / every.as_nanos() + 1,
        "{}: samples taken on ranks",
        path.display()
    );
    world.finish_outputs().expect("outputs written");
    let mut ended = r0.ended;
    let stats = serde_json::to_string_pretty(&ended.stats_view(&world)).expect("serializes");
    let mut h = BTreeMap::new();
    h.insert("trace".to_string(), fnv1a(sink.text().as_bytes()));
    h.insert("samples".to_string(), fnv1a(samples.text().as_bytes()));
    h.insert("stats.json".to_string(), fnv1a(stats.as_bytes()));
    hash_pcaps(dir, &mut h);
    h
}

#[test]
fn every_scenario_gives_the_same_bytes_twice_sampled_or_not_on_threads_and_on_ranks() {
    let mut failures = Vec::new();
    let mut split = 0;
    for (path, until) in scenarios() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let dirs = ["a", "b", "t2", "t4"].map(|d| temp_dir(&format!("{name}-{d}")));
        // How many partitions the topology splits into (at most 4).
        let parts = {
            let sc = load(&path, None);
            let (w, _) = World::build(
                &sc,
                Outputs {
                    trace: Trace::disabled(),
                    capture: None,
                    record_paths: false,
                },
            )
            .expect("builds");
            Partitioning::new(&w, 4).parts
        };
        // Two runs at once, as `sim sweep` runs them: one on one thread, sampled; the other
        // on 2 ranks, sampled, when the topology splits, else on one thread, unsampled.
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| outputs_hashed(&path, until, &dirs[0], true, 1));
            let b = s.spawn(|| {
                if parts >= 2 {
                    outputs_hashed_on_ranks(&path, until, &dirs[1], 2)
                } else {
                    outputs_hashed(&path, until, &dirs[1], false, 1)
                }
            });
            (a.join().expect("run a"), b.join().expect("run b"))
        });
        // Every output of `b` must be `a`'s (the ranks hand over no statistics tree, only
        // stats.json); `a`'s samples are checked against an unsampled run below when the
        // topology splits, here when it does not.
        let b_is = if parts >= 2 {
            "2 ranks"
        } else {
            "a second run"
        };
        let compare = |other: &BTreeMap<String, u64>, is: &str, failures: &mut Vec<String>| {
            let skip = |k: &str| {
                (k == "samples" && !other.contains_key("samples"))
                    || (k == "stats" && !other.contains_key("stats"))
            };
            assert_eq!(
                a.keys().filter(|k| !skip(k)).collect::<Vec<_>>(),
                other.keys().collect::<Vec<_>>(),
                "{name}: {is} wrote different files"
            );
            for (output, hash) in other {
                if a[output] != *hash {
                    failures.push(format!(
                        "{name}: {output} differs on {is} ({:016x} vs {hash:016x})",
                        a[output]
                    ));
                }
            }
        };
        compare(&b, b_is, &mut failures);
        // Then on 2 threads unsampled and 4 (as many as the topology can be split into,
        // when fewer) sampled: the same bytes, samples included.
        if parts >= 2 {
            split += 1;
            let threads = [2, parts.min(4)];
            let (t2, t4) = std::thread::scope(|s| {
                let t2 = s.spawn(|| outputs_hashed(&path, until, &dirs[2], false, threads[0]));
                let t4 = s.spawn(|| outputs_hashed(&path, until, &dirs[3], true, threads[1]));
                (t2.join().expect("run t2"), t4.join().expect("run t4"))
            });
            compare(&t2, &format!("{} threads", threads[0]), &mut failures);
            compare(&t4, &format!("{} threads", threads[1]), &mut failures);
        }
        for d in &dirs {
            let _ = fs::remove_dir_all(d);
        }
    }
    assert!(split >= 10, "only {split} scenarios could be split");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_hash_tells_bytes_apart() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(fnv1a(b"ab"), fnv1a(b"ba"));
}
