//! The rules a [`Scenario`] must meet before a world is built from it, in one place.
//!
//! Each rule is a function of the piece of configuration it is about:
//! [`QdiscConfig::validate`] (the qdisc constructors' own checks, as the kernel's `change`
//! functions make them), [`Nth::validate`](crate::netfilter::Nth::validate) (the netfilter match's), [`duration`] (the
//! longest time a scenario may use). The `.net` lowering calls them on each piece as it types
//! it, so `sim check` reports a violation at the text that caused it; [`Scenario::validate`]
//! calls them all, and `World::build` calls that first. So a scenario that passed `sim check`
//! cannot fail to build, and one written by hand in Rust is held to the same rules.

use sim_core::SimDuration;

use crate::config::{AppKind, QdiscConfig, Scenario, Sysctls, UdpPace};
use crate::netfilter::xt_match::StatisticMode;
use crate::netfilter::{Match, NthError, TableError};
use crate::qdisc::{Qdisc, QdiscError};

/// The longest time or duration a scenario may use: 1 000 000 hours (about 114 years).
///
/// The clock counts `u64` nanoseconds, 584 years. With the end of the run and every duration
/// at most a fifth of that, an instant of the run plus a few durations (a frame's departure
/// plus the link's delay, a timer's expiry) never leaves the clock's range.
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(3_600_000_000);

/// A time beyond [`MAX_DURATION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("longer than 1000000h (about 114 years), the longest time a scenario may use")]
pub struct TooLong;

/// Whether `d` is a time a scenario may use (at most [`MAX_DURATION`]).
pub fn duration(d: SimDuration) -> Result<(), TooLong> {
    if d > MAX_DURATION {
        Err(TooLong)
    } else {
        Ok(())
    }
}

impl QdiscConfig {
    /// Whether the kernel would take this qdisc: the checks of [`Qdisc::from_config`], which
    /// builds it (cheaply: no queue memory is allocated before packets arrive).
    pub fn validate(&self) -> Result<(), QdiscError> {
        Qdisc::from_config(self, 1, || sim_core::RngStreams::new(0).stream("netem", 0)).map(drop)
    }
}

/// Why a scenario cannot be built into a world.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A qdisc the kernel would refuse.
    #[error("qdisc on {node}.{iface}: {error}")]
    Qdisc {
        /// Node.
        node: String,
        /// Interface.
        iface: String,
        /// What is wrong.
        error: QdiscError,
    },
    /// A node's tables that the kernel would not load.
    #[error("netfilter on {node}: {error}")]
    Tables {
        /// Node.
        node: String,
        /// What is wrong.
        error: Box<TableError>,
    },
    /// A netfilter rule whose `every N packet P` cannot be evaluated.
    #[error("netfilter rule {rule} on {node}: {error}")]
    Nth {
        /// Node.
        node: String,
        /// The rule's position among the node's rules, from 1.
        rule: usize,
        /// What is wrong.
        error: NthError,
    },
    /// A time beyond [`MAX_DURATION`].
    #[error("{what} {value} is {error}")]
    Time {
        /// Whose time: `end`, `link a.eth0 -- b.eth0: delay`, …
        what: String,
        /// The time.
        value: SimDuration,
        /// What is wrong.
        error: TooLong,
    },
}

/// Checks `value` with [`duration`]; `what` names it in the error.
fn time(what: impl FnOnce() -> String, value: SimDuration) -> Result<(), Invalid> {
    duration(value).map_err(|error| Invalid::Time {
        what: what(),
        value,
        error,
    })
}

/// The durations of a qdisc's parameters, by tc name.
fn qdisc_times(q: &QdiscConfig) -> Vec<(&'static str, SimDuration)> {
    match q {
        QdiscConfig::Tbf { latency, .. } => vec![("latency", *latency)],
        QdiscConfig::FqCodel(f) => vec![("target", f.target), ("interval", f.interval)],
        QdiscConfig::Netem(c) => {
            let mut v = vec![("delay", c.latency), ("delay", c.jitter)];
            if let Some(s) = &c.slot {
                v.extend([("slot", s.min_delay), ("slot", s.max_delay)]);
            }
            v
        }
        QdiscConfig::Htb(h) => h
            .classes
            .iter()
            .filter_map(|c| c.leaf.as_ref())
            .flat_map(qdisc_times)
            .collect(),
        QdiscConfig::Prio(p) => p
            .children
            .iter()
            .flat_map(|(_, c)| qdisc_times(c))
            .collect(),
        QdiscConfig::Fq(f) => {
            let mut v = vec![("refill_delay", f.refill_delay), ("horizon", f.horizon)];
            v.extend(f.ce_threshold.map(|t| ("ce_threshold", t)));
            v
        }
        QdiscConfig::PfifoFast
        | QdiscConfig::Noqueue
        | QdiscConfig::Pfifo { .. }
        | QdiscConfig::Red(_)
        | QdiscConfig::Sfq(_) => Vec::new(),
    }
}

/// The durations among the sysctls, by sysctl name.
fn sysctl_times(s: &Sysctls) -> [(&'static str, SimDuration); 6] {
    [
        ("net.ipv4.tcp_fin_timeout", s.tcp_fin_timeout),
        ("net.ipv4.icmp_ratelimit", s.icmp_ratelimit),
        (
            "net.ipv4.neigh.default.retrans_time_ms",
            s.neigh.retrans_time,
        ),
        (
            "net.ipv4.neigh.default.base_reachable_time_ms",
            s.neigh.base_reachable_time,
        ),
        (
            "net.ipv4.neigh.default.delay_first_probe_time",
            s.neigh.delay_first_probe_time,
        ),
        (
            "net.ipv4.neigh.default.gc_stale_time",
            s.neigh.gc_stale_time,
        ),
    ]
}

/// The durations of an app's parameters, by property name.
fn app_times(k: &AppKind) -> Vec<(&str, SimDuration)> {
    match k {
        AppKind::User { props, .. } => props
            .0
            .iter()
            .filter_map(|(name, v)| match v {
                crate::apps::registry::PropValue::Time(d) => Some((name.as_str(), *d)),
                _ => None,
            })
            .collect(),
        AppKind::HttpServer { think_time, .. } => vec![("think_time", *think_time)],
        AppKind::UdpCbr {
            pace: UdpPace::Interval(i),
            ..
        } => vec![("interval", *i)],
        AppKind::Ping {
            interval, options, ..
        } => [
            Some(("interval", *interval)),
            options.timeout.map(|t| ("timeout", t)),
            options.deadline.map(|t| ("deadline", t)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        AppKind::DnsServer { .. }
        | AppKind::Curl { .. }
        | AppKind::TcpBulk { .. }
        | AppKind::TcpSink { .. }
        | AppKind::UdpCbr { .. }
        | AppKind::UdpSink { .. }
        | AppKind::Replay(_) => Vec::new(),
        AppKind::Craft { schedule, .. } => match schedule {
            crate::apps::craft::CraftSchedule::Every { interval, .. } => {
                vec![("interval", *interval)]
            }
            crate::apps::craft::CraftSchedule::At(times) => {
                times.iter().map(|t| ("times", *t)).collect()
            }
        },
    }
}

impl Scenario {
    /// Whether a world can be built from this scenario: every rule of this module, on every
    /// piece. The first violation found is returned.
    pub fn validate(&self) -> Result<(), Invalid> {
        time(|| "end".into(), self.end_time.since_start())?;
        for n in &self.nodes {
            for (name, d) in sysctl_times(&n.sysctls) {
                time(|| format!("{}: sysctl {name}", n.name), d)?;
            }
            for i in &n.ifaces {
                i.qdisc.validate().map_err(|error| Invalid::Qdisc {
                    node: n.name.clone(),
                    iface: i.name.clone(),
                    error,
                })?;
                for (param, d) in qdisc_times(&i.qdisc) {
                    time(|| format!("qdisc on {}.{}: {param}", n.name, i.name), d)?;
                }
            }
            let rules = n
                .netfilter
                .tables()
                .iter()
                .flat_map(|t| &t.chains)
                .flat_map(|c| &c.rules);
            for (k, r) in rules.enumerate() {
                for m in &r.matches {
                    if let Match::Statistic {
                        mode: StatisticMode::Nth(nth),
                        ..
                    } = m
                    {
                        nth.validate().map_err(|error| Invalid::Nth {
                            node: n.name.clone(),
                            rule: k + 1,
                            error,
                        })?;
                    }
                }
            }
            n.netfilter
                .clone()
                .link()
                .map_err(|error| Invalid::Tables {
                    node: n.name.clone(),
                    error: Box::new(error),
                })?;
        }
        for l in &self.links {
            let name = || format!("link {} -- {}", self.end_name(l.a), self.end_name(l.b));
            time(|| format!("{}: delay", name()), l.delay)?;
        }
        for a in &self.apps {
            let name = || format!("app on {}", self.node(a.node).name);
            time(|| format!("{}: start", name()), a.start.since_start())?;
            if let Some(stop) = a.stop {
                time(|| format!("{}: stop", name()), stop.since_start())?;
            }
            for (param, d) in app_times(&a.kind) {
                time(|| format!("{}: {param}", name()), d)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sim_core::SimTime;

    use super::*;
    use crate::config::{FqCodelConfig, NodeConfig, NodeKind};
    use crate::units::{Bytes, Rate};

    #[test]
    fn the_longest_duration_is_a_million_hours() {
        assert_eq!(MAX_DURATION, "1000000h".parse().unwrap());
        assert_eq!(duration(MAX_DURATION), Ok(()));
        assert_eq!(
            duration(SimDuration::from_nanos(MAX_DURATION.as_nanos() + 1)),
            Err(TooLong)
        );
        // Five of them still fit the clock.
        assert!(MAX_DURATION.checked_mul(5).is_some());
    }

    #[test]
    fn qdiscs_are_checked_by_their_constructors() {
        let tbf = |burst: u64| QdiscConfig::Tbf {
            rate: Rate::from_bps(10_000_000),
            burst: Bytes(burst),
            latency: SimDuration::from_millis(50),
        };
        assert_eq!(tbf(0).validate(), Err(QdiscError::ZeroBurst));
        assert_eq!(tbf(u64::from(u32::MAX)).validate(), Ok(()));
        assert_eq!(
            tbf(1 << 32).validate(),
            Err(QdiscError::BurstTooLarge(1 << 32)),
            "not truncated to 0"
        );
        let fq = |f: FqCodelConfig| QdiscConfig::FqCodel(f).validate();
        assert_eq!(
            fq(FqCodelConfig {
                quantum: u32::MAX,
                ..FqCodelConfig::default()
            }),
            Err(QdiscError::QuantumTooLarge(u32::MAX))
        );
        assert_eq!(
            fq(FqCodelConfig {
                memory_limit: Bytes(5 << 30),
                ..FqCodelConfig::default()
            })
            .map_err(|e| e.param()),
            Err("memory_limit"),
            "not truncated to 1 GiB"
        );
        assert_eq!(fq(FqCodelConfig::default()), Ok(()));
    }

    fn one_host() -> Scenario {
        Scenario {
            name: "t".into(),
            seed: 1,
            end_time: SimTime::from_nanos(1_000_000),
            params: Vec::new(),
            routing: crate::config::RoutingMode::Static,
            nodes: vec![NodeConfig {
                partition: None,
                name: "h".into(),
                kind: NodeKind::Host,
                ifaces: Vec::new(),
                routes: Vec::new(),
                routes6: Vec::new(),
                sysctls: Sysctls::default(),
                resolver: None,
                netfilter: Default::default(),
            }],
            links: Vec::new(),
            apps: Vec::new(),
            sample: None,
        }
    }

    #[test]
    fn a_scenario_is_checked_piece_by_piece() {
        let mut s = one_host();
        assert_eq!(s.validate(), Ok(()));
        let hour_too_long = SimDuration::from_secs(3_600_003_600); // 1000001h
        s.nodes[0].sysctls.tcp_fin_timeout = hour_too_long;
        assert_eq!(
            s.validate().map_err(|e| e.to_string()),
            Err(
                "h: sysctl net.ipv4.tcp_fin_timeout 3600003600s is longer than \
                 1000000h (about 114 years), the longest time a scenario may use"
                    .into()
            )
        );
        let mut s = one_host();
        s.end_time = SimTime::from_nanos(u64::MAX);
        assert!(matches!(s.validate(), Err(Invalid::Time { .. })));
        let mut s = one_host();
        let mut r = crate::config::Rule::new(crate::netfilter::Target::Drop);
        r.matches.push(Match::Statistic {
            mode: StatisticMode::Nth(crate::config::Nth {
                every: 0,
                packet: 0,
            }),
            inv: false,
            seen: 0,
        });
        s.nodes[0]
            .netfilter
            .table_mut(crate::netfilter::TableId::Filter)
            .chains[0]
            .rules
            .push(r);
        assert_eq!(
            s.validate().map_err(|e| e.to_string()),
            Err("netfilter rule 1 on h: `every 0` matches no packet; N must be at least 1".into())
        );
        let mut s = one_host();
        s.apps.push(crate::config::AppConfig {
            node: crate::config::NodeId(0),
            start: SimTime::ZERO,
            stop: None,
            kind: AppKind::Ping {
                dst: Ipv4Addr::LOCALHOST.into(),
                count: None,
                interval: hour_too_long,
                size: Bytes(56),
                options: Default::default(),
            },
        });
        assert_eq!(
            s.validate().map_err(|e| e.to_string()),
            Err(
                "app on h: interval 3600003600s is longer than 1000000h (about 114 \
                 years), the longest time a scenario may use"
                    .into()
            )
        );
    }
}
