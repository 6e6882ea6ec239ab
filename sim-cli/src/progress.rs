//! The progress bars: `sim run`'s (simulated time reached against the end time, and events per
//! second) and `sim sweep`'s (runs finished against runs in the sweep). Drawn on stderr only
//! when stderr is a terminal and `--quiet` is not given, so scripts and CI logs never see
//! them; they never touch stdout or the outputs.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim_core::SimTime;

/// The bar, or nothing.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    end: SimTime,
}

impl Progress {
    /// A bar for a run ending at `end`; hidden when `quiet` or stderr is not a terminal.
    pub fn new(end: SimTime, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(
                Some(end.as_nanos().max(1)),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            b.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}%  {msg}")
                    .expect("a valid template")
                    .progress_chars("█▉▊▋▌▍▎▏ "),
            );
            b
        });
        Self {
            bar,
            start: Instant::now(),
            end,
        }
    }

    /// The run reached `now` after `events` events.
    pub fn update(&mut self, now: SimTime, events: u64) {
        let Some(bar) = &self.bar else { return };
        bar.set_position(now.as_nanos().min(self.end.as_nanos()));
        let secs = self
            .start
            .elapsed()
            .max(Duration::from_micros(1))
            .as_secs_f64();
        bar.set_message(format!(
            "sim {:.3} s / {:.3} s · {} events · {}/s",
            now.as_nanos() as f64 / 1e9,
            self.end.as_nanos() as f64 / 1e9,
            events,
            si(events as f64 / secs)
        ));
    }

    /// Removes the bar (the summary follows on stdout).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The bar of a sweep: runs finished out of all, with the failures so far and an ETA.
#[derive(Debug)]
pub struct SweepProgress {
    bar: Option<ProgressBar>,
    failed: u64,
}

impl SweepProgress {
    /// A bar for `total` runs; hidden when `quiet` or stderr is not a terminal.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10));
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} runs  {elapsed} (eta {eta})  {msg}",
                )
                .expect("a valid template")
                .progress_chars("█▉▊▋▌▍▎▏ "),
            );
            // Runs can be long: keep the elapsed time moving between them.
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        Self { bar, failed: 0 }
    }

    /// One more run finished (`ok` or with an error in its row).
    pub fn finished(&mut self, ok: bool) {
        if !ok {
            self.failed += 1;
        }
        let Some(bar) = &self.bar else { return };
        bar.inc(1);
        if self.failed > 0 {
            bar.set_message(format!("{} failed", self.failed));
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `1234567.0` → `1.23 M`.
pub fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}
