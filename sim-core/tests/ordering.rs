//! Property tests of the engine's guarantees: `(time, sequence)` order, timers that are
//! cancelled never fire, moved timers fire once at their last time, and determinism.

use std::ops::ControlFlow;

use proptest::prelude::*;
use sim_core::{
    Limits, Model, RngStreams, Scheduler, SimDuration, SimTime, StopReason, TimerId, run,
};

/// Events name what they are so the reference model can be checked against the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Plain(u64),
    Timer { timer: usize, arming: u64 },
}

#[derive(Default)]
struct Recorder {
    fired: Vec<(u64, Ev)>,
}

impl Model for Recorder {
    type Event = Ev;
    fn handle(&mut self, sched: &mut Scheduler<Ev>, ev: Ev) {
        self.fired.push((sched.now().as_nanos(), ev));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Schedule(u64),
    NewTimer,
    Arm(usize, u64),
    Cancel(usize),
    Step,
}

fn op() -> impl Strategy<Value = Op> {
    let delay = prop_oneof![0u64..3, 0u64..100, 0u64..1_000_000_000];
    prop_oneof![
        3 => delay.clone().prop_map(Op::Schedule),
        1 => Just(Op::NewTimer),
        3 => (0usize..8, delay).prop_map(|(t, d)| Op::Arm(t, d)),
        2 => (0usize..8).prop_map(Op::Cancel),
        4 => Just(Op::Step),
    ]
}

/// What must be pending: (time, seq, event), popped in (time, seq) order.
#[derive(Default)]
struct Reference {
    live: Vec<(u64, u64, Ev)>,
    seq: u64,
}

impl Reference {
    fn add(&mut self, time: u64, ev: Ev) {
        self.seq += 1;
        self.live.push((time, self.seq, ev));
    }
    fn remove_timer(&mut self, timer: usize) {
        self.live
            .retain(|(_, _, e)| !matches!(e, Ev::Timer { timer: t, .. } if *t == timer));
    }
    fn pop(&mut self) -> Option<(u64, Ev)> {
        let i = (0..self.live.len()).min_by_key(|&i| (self.live[i].0, self.live[i].1))?;
        let (t, _, e) = self.live.remove(i);
        Some((t, e))
    }
}

fn step(model: &mut Recorder, sched: &mut Scheduler<Ev>) -> Option<(u64, Ev)> {
    let before = model.fired.len();
    let limits = Limits {
        max_events: 1,
        ..Limits::default()
    };
    run(model, sched, limits, |_| ControlFlow::Continue(()));
    (model.fired.len() > before).then(|| *model.fired.last().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_schedules_run_in_time_then_sequence_order(ops in proptest::collection::vec(op(), 0..300)) {
        let mut sched = Scheduler::new();
        let mut model = Recorder::default();
        let mut reference = Reference::default();
        let mut timers: Vec<TimerId> = Vec::new();
        let mut arming = 0u64;
        let mut cancelled: Vec<(usize, u64)> = Vec::new();
        for op in ops {
            let now = sched.now().as_nanos();
            match op {
                Op::Schedule(d) => {
                    let ev = Ev::Plain(reference.seq);
                    sched.schedule_in(SimDuration::from_nanos(d), ev);
                    reference.add(now + d, ev);
                }
                Op::NewTimer => timers.push(sched.new_timer()),
                Op::Arm(k, d) => {
                    if let Some(t) = timers.get(k) {
                        if let Some(Ev::Timer { arming: a, .. }) = reference
                            .live.iter().map(|x| x.2).find(|e| matches!(e, Ev::Timer { timer, .. } if *timer == k))
                        {
                            cancelled.push((k, a));
                        }
                        arming += 1;
                        let ev = Ev::Timer { timer: k, arming };
                        sched.arm_in(t, SimDuration::from_nanos(d), ev);
                        reference.remove_timer(k);
                        reference.add(now + d, ev);
                        prop_assert_eq!(sched.deadline(t), Some(SimTime(now + d)));
                    }
                }
                Op::Cancel(k) => {
                    if let Some(t) = timers.get(k) {
                        if let Some(Ev::Timer { arming: a, .. }) = reference
                            .live.iter().map(|x| x.2).find(|e| matches!(e, Ev::Timer { timer, .. } if *timer == k))
                        {
                            cancelled.push((k, a));
                        }
                        sched.cancel(t);
                        reference.remove_timer(k);
                        prop_assert_eq!(sched.deadline(t), None);
                    }
                }
                Op::Step => {
                    let got = step(&mut model, &mut sched);
                    prop_assert_eq!(got, reference.pop());
                }
            }
            prop_assert_eq!(sched.pending(), reference.live.len());
        }
        // Drain and compare the rest.
        while let Some(expect) = reference.pop() {
            prop_assert_eq!(step(&mut model, &mut sched), Some(expect));
        }
        prop_assert_eq!(step(&mut model, &mut sched), None);
        // Time never went backwards, and no cancelled or superseded arming ever fired.
        prop_assert!(model.fired.windows(2).all(|w| w[0].0 <= w[1].0));
        for (k, a) in cancelled {
            let fired = model.fired.iter().any(|(_, e)| *e == Ev::Timer { timer: k, arming: a });
            prop_assert!(!fired, "cancelled arming {} of timer {} fired", a, k);
        }
    }
}

/// A little world whose entities draw random delays: the trace depends only on the seed.
struct Jitter {
    rngs: Vec<sim_core::SimRng>,
    trace: Vec<(u64, usize)>,
}

impl Model for Jitter {
    type Event = usize;
    fn handle(&mut self, sched: &mut Scheduler<usize>, who: usize) {
        self.trace.push((sched.now().as_nanos(), who));
        let d = self.rngs[who].range(1, 1_000_000);
        sched.schedule_in(SimDuration::from_nanos(d), who);
    }
}

fn jitter_trace(seed: u64) -> Vec<(u64, usize)> {
    let streams = RngStreams::new(seed);
    let mut model = Jitter {
        rngs: (0..20).map(|e| streams.stream("jitter", e)).collect(),
        trace: Vec::new(),
    };
    let mut sched = Scheduler::new();
    for who in 0..20 {
        sched.schedule_at(SimTime::ZERO, who);
    }
    let report = run(
        &mut model,
        &mut sched,
        Limits::until("50ms".parse().unwrap()),
        |_| ControlFlow::Continue(()),
    );
    assert_eq!(report.reason, StopReason::TimeLimit);
    assert_eq!(report.now, "50ms".parse().unwrap());
    model.trace
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let a = jitter_trace(1);
    assert!(a.len() > 1000);
    assert_eq!(a, jitter_trace(1));
    assert_ne!(a, jitter_trace(2));
}

#[test]
fn event_limit_and_stop_request_and_interrupt() {
    struct Stopper(u32);
    impl Model for Stopper {
        type Event = ();
        fn handle(&mut self, sched: &mut Scheduler<()>, _: ()) {
            self.0 += 1;
            if self.0 == 5 {
                sched.request_stop();
            }
            sched.schedule_in(SimDuration::from_nanos(1), ());
        }
    }
    let mut sched = Scheduler::new();
    sched.schedule_at(SimTime::ZERO, ());
    let mut m = Stopper(0);
    let r = run(&mut m, &mut sched, Limits::default(), |_| {
        ControlFlow::Continue(())
    });
    assert_eq!((r.reason, r.events), (StopReason::ModelStopped, 5));

    let limits = Limits {
        max_events: 3,
        ..Limits::default()
    };
    let r = run(&mut m, &mut sched, limits, |_| ControlFlow::Continue(()));
    assert_eq!((r.reason, r.events), (StopReason::EventLimit, 3));

    let limits = Limits {
        progress_every: 2,
        ..Limits::default()
    };
    let mut calls = 0;
    let r = run(&mut m, &mut sched, limits, |p| {
        calls += 1;
        assert!(p.events > 0);
        if calls == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!((r.reason, r.events), (StopReason::Interrupted, 6));
}

#[test]
fn freed_timer_slots_are_reused_without_ghost_firings() {
    let mut sched: Scheduler<Ev> = Scheduler::new();
    let t = sched.new_timer();
    let idx = t.index();
    sched.arm_in(&t, SimDuration::from_nanos(10), Ev::Plain(1));
    sched.free_timer(t);
    let t2 = sched.new_timer();
    assert_eq!(t2.index(), idx);
    sched.arm_in(&t2, SimDuration::from_nanos(20), Ev::Plain(2));
    let mut m = Recorder::default();
    run(&mut m, &mut sched, Limits::default(), |_| {
        ControlFlow::Continue(())
    });
    assert_eq!(m.fired, vec![(20, Ev::Plain(2))]);
}

/// A model whose events ask for follow-ups at the same instant and later ones; with
/// `on_the_spot` it handles a follow-up right away whenever `may_handle_now` allows.
struct Chain {
    rng: sim_core::SimRng,
    on_the_spot: bool,
    trace: Vec<(u64, u32)>,
    next_id: u32,
}

impl Chain {
    fn run_one(&mut self, sched: &mut Scheduler<u32>, id: u32) {
        self.trace.push((sched.now().as_nanos(), id));
        // Odd ids are chains: each goes on with one later event. Every event also asks for
        // 0, 0, 1 or 2 even-numbered ones at this instant (3/4 on average, so a burst at one
        // instant stays finite and the number of chains stays what it was at the start).
        if id % 2 == 1 {
            self.next_id += 2;
            let delay = self.rng.range(1, 50);
            sched.schedule_in(SimDuration::from_nanos(delay), self.next_id + 1);
        }
        let mut follow_ups = Vec::new();
        for _ in 0..[0, 0, 1, 2][self.rng.below(4) as usize] {
            self.next_id += 2;
            follow_ups.push(self.next_id);
        }
        if follow_ups.len() == 1 && self.on_the_spot && sched.may_handle_now() {
            self.run_one(sched, follow_ups[0]);
        } else {
            for f in follow_ups {
                sched.schedule_in(SimDuration::ZERO, f);
            }
        }
    }
}

impl Model for Chain {
    type Event = u32;
    fn handle(&mut self, sched: &mut Scheduler<u32>, id: u32) {
        self.run_one(sched, id);
    }
}

fn chain_run(seed: u64, on_the_spot: bool, max_events: u64) -> (Vec<(u64, u32)>, u64, StopReason) {
    let mut m = Chain {
        rng: RngStreams::new(seed).stream("chain", 0),
        on_the_spot,
        trace: Vec::new(),
        next_id: 100,
    };
    let mut sched = Scheduler::new();
    for id in 0..5 {
        sched.schedule_at(SimTime::from_nanos(u64::from(id) % 2), 2 * id + 1);
    }
    let limits = Limits {
        until: SimTime::from_nanos(2_000),
        max_events,
        ..Limits::default()
    };
    let r = run(&mut m, &mut sched, limits, |_| ControlFlow::Continue(()));
    (m.trace, r.events, r.reason)
}

proptest! {
    /// Handling an event on the spot when `may_handle_now` allows gives the same run —
    /// the same events in the same order, the same count, the same stop — as scheduling it.
    #[test]
    fn handling_now_is_scheduling_now(seed in any::<u64>(), max_events in prop_oneof![Just(u64::MAX), 1u64..400]) {
        let queued = chain_run(seed, false, max_events);
        let spot = chain_run(seed, true, max_events);
        prop_assert_eq!(queued, spot);
    }
}
