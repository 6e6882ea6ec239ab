//! The deterministic discrete-event engine of netsim. It knows nothing of networks.
//!
//! * [`SimTime`] / [`SimDuration`]: integer nanoseconds, parsed and printed in the units
//!   people write (`1.5ms`, `250us`, `2s`).
//! * [`Scheduler`]: the clock, the pending events, and timers that are cancelled or moved in
//!   O(1) ([`TimerId`]).
//! * [`run`]: the loop, with [`Limits`] (end time, event count) and a progress callback;
//!   [`run_observed`] also calls an [`Observer`] (samplers, snapshots) at its instants.
//! * [`RngStreams`]: seeded ChaCha streams per `(run seed, purpose, entity)`.
//! * [`queue`]: the pending-event queues (the radix heap the engine uses, and the heaps it
//!   was measured against).
//!
//! # Guarantees
//!
//! **Ordering.** Events run in order of time; events due at the same instant run in the order
//! they were scheduled (a timer counts as scheduled when it was last armed); those scheduled
//! at the same instant by different entities (the model names them with
//! [`Scheduler::set_source`]) in the order of the entities' numbers. Nothing else —
//! addresses, hashing, threads, how the model is split into partitions — influences the
//! order, so a run is the same on every machine and with any number of threads.
//!
//! **Cancellation.** A cancelled timer never fires. A timer armed again fires once, at the
//! time of its last arming; the earlier arming is discarded without reaching the model.
//!
//! **Time.** The clock never runs backwards: scheduling before [`Scheduler::now`] panics,
//! because it can only be a bug in a model. A time-limited run ends with the clock at the
//! limit, events due exactly at the limit included.
//!
//! **Randomness.** Every stream depends only on `(seed, purpose, entity)`. Adding an entity
//! or drawing more numbers from one stream never changes what another stream draws.
//!
//! ```
//! use sim_core::{run, Limits, Model, Scheduler, SimTime, StopReason};
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! enum Ev { Hello(u32) }
//! struct Log(Vec<(u64, u32)>);
//! impl Model for Log {
//!     type Event = Ev;
//!     fn handle(&mut self, s: &mut Scheduler<Ev>, Ev::Hello(n): Ev) {
//!         self.0.push((s.now().as_nanos(), n));
//!     }
//! }
//! let mut sched = Scheduler::new();
//! let t: SimTime = "5us".parse().unwrap();
//! sched.schedule_at(t, Ev::Hello(1));
//! sched.schedule_at(t, Ev::Hello(2));      // same instant: runs after 1
//! sched.schedule_at(SimTime::ZERO, Ev::Hello(0));
//! let timer = sched.new_timer();
//! sched.arm(&timer, t, Ev::Hello(9));
//! sched.cancel(&timer);                     // never fires
//! let mut log = Log(Vec::new());
//! let report = run(&mut log, &mut sched, Limits::default(), |_| std::ops::ControlFlow::Continue(()));
//! assert_eq!(log.0, vec![(0, 0), (5000, 1), (5000, 2)]);
//! assert_eq!(report.reason, StopReason::QueueEmpty);
//! ```

pub mod queue;
pub mod rng;
mod run;
mod scheduler;
pub mod time;

pub use rng::{RngPosition, RngStreams, SimRng};
pub use run::{
    Limits, Model, NoObserver, Observer, Progress, RunReport, StopReason, observe_until, run,
    run_observed, run_window,
};
pub use scheduler::{OrderKey, Scheduler, TimerId};
pub use time::{SimDuration, SimTime, TimeParseError};
