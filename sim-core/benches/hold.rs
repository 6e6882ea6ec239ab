//! The classic hold model: with N events pending, pop the earliest and schedule one at
//! now + a random delay. Measures each queue implementation, and the full `Scheduler` the
//! engine uses, at N = 10^3, 10^5 and 10^6.
//!
//! Run: `cargo bench -p sim-core --bench hold` (figures in docs/performance.md).
//! Delays are uniform in [0, 2 ms) in whole nanoseconds, drawn beforehand from a seeded
//! ChaCha stream into a table, so the figures measure the queue, not the generator.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sim_core::queue::{BinaryHeapQueue, PendingQueue, QuaternaryHeapQueue, RadixQueue};
use sim_core::{RngStreams, Scheduler, SimDuration, SimTime};

const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];
const OPS_PER_ITER: u64 = 10_000;
const MEAN_DELAY_NS: u64 = 1_000_000;

struct Delays {
    table: Vec<u64>,
    next: usize,
}

impl Delays {
    fn new() -> Self {
        let mut rng = RngStreams::new(1).stream("hold", 0);
        let table = (0..1 << 16).map(|_| rng.below(2 * MEAN_DELAY_NS)).collect();
        Self { table, next: 0 }
    }
    #[inline]
    fn next(&mut self) -> u64 {
        let d = self.table[self.next];
        self.next = (self.next + 1) & ((1 << 16) - 1);
        d
    }
}

/// An event payload of realistic size (the stack's events are about this big).
#[derive(Clone, Copy)]
struct Payload {
    _a: u64,
    _b: u32,
}

fn hold_queue<Q: PendingQueue<Payload> + Default>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group(format!("hold/{name}"));
    group
        .throughput(Throughput::Elements(OPS_PER_ITER))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for &n in &SIZES {
        let mut q = Q::default();
        let mut delays = Delays::new();
        for i in 0..n {
            q.push(
                SimTime(delays.next()),
                Payload {
                    _a: i as u64,
                    _b: 0,
                },
            );
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                for _ in 0..OPS_PER_ITER {
                    let (now, p) = q.pop().expect("steady state");
                    q.push(SimTime(now.0 + delays.next()), black_box(p));
                }
            });
        });
    }
    group.finish();
}

fn hold_scheduler(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold/scheduler");
    group
        .throughput(Throughput::Elements(OPS_PER_ITER))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for &n in &SIZES {
        let mut sched: Scheduler<Payload> = Scheduler::new();
        let mut delays = Delays::new();
        for i in 0..n {
            sched.schedule_at(
                SimTime(delays.next()),
                Payload {
                    _a: i as u64,
                    _b: 0,
                },
            );
        }
        // Drive the scheduler exactly as `sim_core::run` does, one event at a time.
        struct Hold<'a>(&'a mut Delays);
        impl sim_core::Model for Hold<'_> {
            type Event = Payload;
            fn handle(&mut self, s: &mut Scheduler<Payload>, p: Payload) {
                s.schedule_in(SimDuration::from_nanos(self.0.next()), black_box(p));
            }
        }
        let mut model = Hold(&mut delays);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let limits = sim_core::Limits {
                    max_events: OPS_PER_ITER,
                    progress_every: u64::MAX,
                    ..sim_core::Limits::default()
                };
                sim_core::run(&mut model, &mut sched, limits, |_| {
                    std::ops::ControlFlow::Continue(())
                })
            });
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    hold_queue::<BinaryHeapQueue<Payload>>(c, "binary_heap");
    hold_queue::<QuaternaryHeapQueue<Payload>>(c, "quaternary_heap");
    hold_queue::<RadixQueue<Payload>>(c, "radix");
    hold_scheduler(c);
}

criterion_group!(hold, benches);
criterion_main!(hold);
