//! The TCP metrics cache (`net/ipv4/tcp_metrics.c`): what a host remembers per destination
//! between connections. Only the Fast Open part is kept (`struct tcp_fastopen_metrics`):
//! the cookie the server gave, its MSS and the SYN-loss bookkeeping, read by
//! `tcp_fastopen_cache_get` before a Fast Open SYN and written by `tcp_fastopen_cache_set`
//! when the SYN-ACK comes. Cached RTTs, cwnds and the rest are not modeled. Entries are
//! keyed, as Linux's are, by (source, destination) address — IPv6 addresses for an IPv6
//! connection, IPv4 ones for IPv4 and v4-mapped ones (`__tcp_get_metrics` with
//! `inetpeer_set_addr_v4` / `_v6`); `ip tcp_metrics flush` empties the cache.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sim_core::SimTime;

use super::fastopen::FastOpenCookie;

/// `struct tcp_fastopen_metrics`: one destination's Fast Open state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFastopenMetrics {
    /// The MSS the server announced (0: none yet).
    pub mss: u16,
    /// Consecutive SYN-ACKs that showed the SYN with data was lost (`syn_loss`).
    pub syn_loss: u16,
    /// Whether to ask for a cookie with the experimental option (1) or the RFC 7413 one
    /// (0, or 2 once the experimental one failed too).
    pub try_exp: u8,
    /// When the last loss was seen (`last_syn_loss`).
    pub last_syn_loss: Option<SimTime>,
    /// The server's cookie (`len` 0 when none was given).
    pub cookie: FastOpenCookie,
}

/// The cache of one host (a network namespace's `tcp_metrics` table).
#[derive(Debug, Clone, Default)]
pub struct TcpMetrics {
    /// By (source address, destination address).
    blocks: BTreeMap<(IpAddr, IpAddr), TcpFastopenMetrics>,
}

impl TcpMetrics {
    /// `tcp_fastopen_cache_get`: the cached cookie for `saddr` → `daddr` into `cookie` and its
    /// MSS into `mss` (when known); without a cookie, `cookie.exp` says whether to ask for one
    /// with the experimental option. Nothing is touched for an unknown destination.
    pub fn tcp_fastopen_cache_get(
        &self,
        saddr: impl Into<IpAddr>,
        daddr: impl Into<IpAddr>,
        mss: &mut u16,
        cookie: &mut FastOpenCookie,
    ) {
        let Some(tfom) = self.blocks.get(&(saddr.into(), daddr.into())) else {
            return;
        };
        if tfom.mss != 0 {
            *mss = tfom.mss;
        }
        *cookie = tfom.cookie;
        if cookie.len <= 0 && tfom.try_exp == 1 {
            cookie.exp = true;
        }
    }

    /// `tcp_fastopen_cache_set`: after a Fast Open SYN-ACK, the server's MSS (unless 0), its
    /// cookie (when it gave one), the next way to ask for one (`try_exp`), and whether the
    /// SYN with data was lost (`syn_lost` at `now`; otherwise the count restarts).
    pub fn tcp_fastopen_cache_set(
        &mut self,
        key: (impl Into<IpAddr>, impl Into<IpAddr>),
        mss: u16,
        cookie: &FastOpenCookie,
        syn_lost: bool,
        try_exp: u8,
        now: SimTime,
    ) {
        let tfom = self.blocks.entry((key.0.into(), key.1.into())).or_default();
        if mss != 0 {
            tfom.mss = mss;
        }
        if cookie.len > 0 {
            tfom.cookie = *cookie;
        } else if try_exp > tfom.try_exp && tfom.cookie.len <= 0 && !tfom.cookie.exp {
            tfom.try_exp = try_exp;
        }
        if syn_lost {
            tfom.syn_loss += 1;
            tfom.last_syn_loss = Some(now);
        } else {
            tfom.syn_loss = 0;
        }
    }

    /// The entry for `saddr` → `daddr` (what `ip tcp_metrics show` prints).
    pub fn get(
        &self,
        saddr: impl Into<IpAddr>,
        daddr: impl Into<IpAddr>,
    ) -> Option<&TcpFastopenMetrics> {
        self.blocks.get(&(saddr.into(), daddr.into()))
    }

    /// `ip tcp_metrics flush`: every entry is gone.
    pub fn flush(&mut self) {
        self.blocks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn a_request_without_answer_tries_the_experimental_option_then_rfc_7413_again() {
        let mut m = TcpMetrics::default();
        let (s, d) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let none = FastOpenCookie::NONE;
        let get = |m: &TcpMetrics| {
            let (mut mss, mut c) = (0, FastOpenCookie::default());
            m.tcp_fastopen_cache_get(s, d, &mut mss, &mut c);
            (mss, c)
        };
        assert_eq!(get(&m), (0, FastOpenCookie::default()), "nothing known");
        m.tcp_fastopen_cache_set((s, d), 1400, &none, false, 1, SimTime::ZERO);
        let (mss, c) = get(&m);
        assert_eq!((mss, c.len, c.exp), (1400, 0, true));
        m.tcp_fastopen_cache_set((s, d), 0, &none, false, 2, SimTime::ZERO);
        assert!(!get(&m).1.exp);
        m.tcp_fastopen_cache_set((s, d), 0, &none, false, 1, SimTime::ZERO);
        assert!(!get(&m).1.exp, "try_exp only grows");
        let cookie = FastOpenCookie::new(&[1, 2, 3, 4]).expect("a cookie");
        m.tcp_fastopen_cache_set((s, d), 0, &cookie, true, 0, SimTime::from_nanos(5_000_000));
        let e = *m.get(s, d).expect("an entry");
        assert_eq!((e.cookie, e.syn_loss, e.mss), (cookie, 1, 1400));
        assert_eq!(e.last_syn_loss, Some(SimTime::from_nanos(5_000_000)));
        // An IPv6 connection between other addresses has its own entry.
        let (s6, d6) = (
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
        );
        assert!(m.get(s6, d6).is_none());
        m.tcp_fastopen_cache_set((s6, d6), 1440, &cookie, false, 0, SimTime::ZERO);
        assert_eq!(m.get(s6, d6).map(|e| e.mss), Some(1440));
        assert_eq!(m.get(s, d).map(|e| e.mss), Some(1400));
        m.flush();
        assert!(m.get(s, d).is_none() && m.get(s6, d6).is_none());
    }
}
