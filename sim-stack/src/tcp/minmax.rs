//! Kathleen Nichols' windowed min/max filter, as Linux's lib/win_minmax.c keeps it: the best,
//! second-best and third-best values over a window of time, each with the time it was
//! measured, so that when the best ages out of the window the next one is already known.
//! BBR keeps its bottleneck bandwidth with [`Minmax::running_max`] over 10 round trips.
//!
//! Times and window are whatever unit the caller counts in (`u32`, compared with wrapping
//! arithmetic as the kernel's are): round trips for BBR's `bw`, jiffies or µs elsewhere.

/// One measurement (`struct minmax_sample`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinmaxSample {
    /// When it was measured.
    pub t: u32,
    /// The value.
    pub v: u32,
}

/// The filter (`struct minmax`): `s[0]` is the best, `s[1]` and `s[2]` the best of the
/// later parts of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minmax {
    s: [MinmaxSample; 3],
}

impl Minmax {
    /// `minmax_get`: the best value in the window.
    pub fn get(&self) -> u32 {
        self.s[0].v
    }

    /// `minmax_reset`: forget everything; `meas` at `t` is all three choices.
    pub fn reset(&mut self, t: u32, meas: u32) -> u32 {
        self.s = [MinmaxSample { t, v: meas }; 3];
        self.s[0].v
    }

    /// `minmax_running_max`: a new measurement; returns the windowed maximum.
    pub fn running_max(&mut self, win: u32, t: u32, meas: u32) -> u32 {
        let val = MinmaxSample { t, v: meas };
        // A new maximum, or nothing left in the window: forget earlier samples.
        if val.v >= self.s[0].v || val.t.wrapping_sub(self.s[2].t) > win {
            return self.reset(t, meas);
        }
        if val.v >= self.s[1].v {
            self.s[1] = val;
            self.s[2] = val;
        } else if val.v >= self.s[2].v {
            self.s[2] = val;
        }
        self.subwin_update(win, val)
    }

    /// `minmax_running_min`: a new measurement; returns the windowed minimum.
    pub fn running_min(&mut self, win: u32, t: u32, meas: u32) -> u32 {
        let val = MinmaxSample { t, v: meas };
        if val.v <= self.s[0].v || val.t.wrapping_sub(self.s[2].t) > win {
            return self.reset(t, meas);
        }
        if val.v <= self.s[1].v {
            self.s[1] = val;
            self.s[2] = val;
        } else if val.v <= self.s[2].v {
            self.s[2] = val;
        }
        self.subwin_update(win, val)
    }

    /// `minmax_subwin_update`: the best is older than the window: the second choice
    /// becomes the best, the third the second (twice if need be); or a quarter (half) of the
    /// window passed with no new second (third) choice: this value takes its place.
    fn subwin_update(&mut self, win: u32, val: MinmaxSample) -> u32 {
        let dt = val.t.wrapping_sub(self.s[0].t);
        if dt > win {
            self.s[0] = self.s[1];
            self.s[1] = self.s[2];
            self.s[2] = val;
            if val.t.wrapping_sub(self.s[0].t) > win {
                self.s[0] = self.s[1];
                self.s[1] = self.s[2];
                self.s[2] = val;
            }
        } else if self.s[1].t == self.s[0].t && dt > win / 4 {
            self.s[1] = val;
            self.s[2] = val;
        } else if self.s[2].t == self.s[1].t && dt > win / 2 {
            self.s[2] = val;
        }
        self.s[0].v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_holds_the_best_for_the_window_then_falls_to_the_next_best() {
        // BBR's use: a window of 10 rounds.
        let mut m = Minmax::default();
        m.reset(0, 0);
        assert_eq!(m.running_max(10, 0, 100), 100);
        // Lower samples do not replace it while it is in the window.
        for t in 1..=10 {
            assert_eq!(m.running_max(10, t, 50 + t), 100, "round {t}");
        }
        // Round 11: the maximum of round 0 is 11 rounds old; the best of the later choices
        // (kept from the second quarter and second half of the window) takes over.
        let after = m.running_max(10, 11, 40);
        assert!((50..100).contains(&after), "{after}");
        // A new maximum resets all three choices.
        assert_eq!(m.running_max(10, 12, 500), 500);
        assert_eq!(m.s, [MinmaxSample { t: 12, v: 500 }; 3]);
    }

    #[test]
    fn max_forgets_everything_when_the_third_choice_is_too_old() {
        let mut m = Minmax::default();
        m.reset(0, 100);
        // Nothing for 11 rounds: the window holds nothing, the new sample is the max.
        assert_eq!(m.running_max(10, 11, 3), 3);
    }

    #[test]
    fn min_is_the_mirror_image() {
        let mut m = Minmax::default();
        m.reset(0, 20);
        assert_eq!(m.running_min(100, 10, 30), 20);
        assert_eq!(m.running_min(100, 50, 15), 15);
        assert_eq!(m.running_min(100, 200, 40), 40);
    }
}
