//! The TCP chronographs (`tcp_chrono_start`/`tcp_chrono_stop`, tcp_output.c): how long the
//! connection was busy sending, and of that, how long it was held back by the peer's
//! window (`RWND_LIMITED`) or by its own send buffer (`SNDBUF_LIMITED`). One chronograph
//! runs at a time, the highest kind winning; times are counted in jiffies, as the kernel
//! does, and `tcp_info` reports them in µs (`tcpi_busy_time`, `tcpi_rwnd_limited`,
//! `tcpi_sndbuf_limited`, what `ss -i` prints as `busy:`, `rwnd_limited:`,
//! `sndbuf_limited:`).

use crate::jiffies::HZ;

/// `enum tcp_chrono`, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ChronoKind {
    /// `TCP_CHRONO_UNSPEC`: nothing to send.
    #[default]
    Unspec,
    /// `TCP_CHRONO_BUSY`: actively sending data (write or retransmit queue not empty).
    Busy,
    /// `TCP_CHRONO_RWND_LIMITED`: stalled by the receiver's window.
    RwndLimited,
    /// `TCP_CHRONO_SNDBUF_LIMITED`: stalled by the send buffer.
    SndbufLimited,
}

/// `tp->chrono_type`, `chrono_start`, `chrono_stat[3]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chrono {
    /// The chronograph running.
    pub kind: ChronoKind,
    /// When it started, in jiffies (`tcp_jiffies32`).
    pub start: u32,
    /// Jiffies spent in each kind but `Unspec`, before the running one.
    pub stat: [u32; 3],
}

impl Chrono {
    /// `tcp_chrono_set`.
    fn set(&mut self, new: ChronoKind, now: u32) {
        if self.kind > ChronoKind::Unspec {
            let i = self.kind as usize - 1;
            self.stat[i] = self.stat[i].wrapping_add(now.wrapping_sub(self.start));
        }
        self.start = now;
        self.kind = new;
    }

    /// `tcp_chrono_start`: `kind` begins, unless a higher kind is running.
    pub fn start(&mut self, kind: ChronoKind, now: u32) {
        if kind > self.kind {
            self.set(kind, now);
        }
    }

    /// `tcp_chrono_stop`: `kind` ends. With both queues empty nothing runs any more;
    /// otherwise, if `kind` was the one running, the connection is back to plain busy.
    pub fn stop(&mut self, kind: ChronoKind, now: u32, queues_empty: bool) {
        if queues_empty {
            self.set(ChronoKind::Unspec, now);
        } else if kind == self.kind {
            self.set(ChronoKind::Busy, now);
        }
    }

    /// `tcp_get_info_chrono_stats`: (`tcpi_busy_time`, `tcpi_rwnd_limited`,
    /// `tcpi_sndbuf_limited`) in µs at `now` (jiffies); busy time includes the limited ones.
    pub fn info(&self, now: u32) -> (u64, u64, u64) {
        let mut stats = [0u64; 3];
        for (i, s) in stats.iter_mut().enumerate() {
            let mut j = u64::from(self.stat[i]);
            if self.kind as usize == i + 1 {
                j += u64::from(now.wrapping_sub(self.start));
            }
            *s = j * (1_000_000 / HZ);
        }
        (stats.iter().sum(), stats[1], stats[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_kind_runs_and_busy_time_is_the_sum() {
        let mut c = Chrono::default();
        c.start(ChronoKind::Busy, 100);
        c.start(ChronoKind::RwndLimited, 110); // 10 busy
        c.start(ChronoKind::Busy, 115); // lower: ignored
        c.stop(ChronoKind::RwndLimited, 130, false); // 20 rwnd-limited, back to busy
        c.start(ChronoKind::SndbufLimited, 140); // 10 busy
        c.stop(ChronoKind::Busy, 150, false); // not the running kind: still sndbuf-limited
        assert_eq!(c.kind, ChronoKind::SndbufLimited);
        assert_eq!(c.info(160), (60 * 4000, 20 * 4000, 20 * 4000));
        c.stop(ChronoKind::SndbufLimited, 160, true); // queues empty: stops
        assert_eq!(c.kind, ChronoKind::Unspec);
        assert_eq!(c.info(500), (60 * 4000, 20 * 4000, 20 * 4000));
    }
}
