//! `sysctl NAME = VALUE…`: the kernel settings the model honours, under their Linux names.
//!
//! Values are written as `sysctl -w` takes them: integers in the unit the name implies
//! (`retrans_time_ms` in milliseconds, `delay_first_probe_time` in seconds), booleans as
//! `0`/`1`, vectors as space-separated integers. Time values also accept an explicit unit
//! (`5s`, `250ms`). Names may use `/` instead of `.` (`net/ipv4/tcp_sack`), as sysctl does.

use sim_core::SimDuration;
use sim_stack::config::{CongestionControl, Ipv6DevConf, Sysctls};

use crate::values;

/// How a value is written.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Bool,
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// Three non-decreasing integers (`tcp_wmem`).
    Triple,
    /// Two ports, low ≤ high.
    PortRange,
    /// A congestion control name.
    Cc,
    /// A duration; a bare integer is in milliseconds.
    Millis,
    /// A duration; a bare integer is in seconds.
    Secs,
    /// A bit mask: an integer from 0 to 2^31 − 1, in decimal or with `0x` in hex (as
    /// `proc_dointvec` reads it).
    Mask,
}

/// `net.ipv4.tcp_available_congestion_control`, read-only: the algorithms the stack has.
const AVAILABLE_CC: [&str; 4] = sim_stack::tcp::cong::Cong::AVAILABLE;

/// Every sysctl the language knows, with its shape.
const TABLE: &[(&str, Shape)] = &[
    (
        "net.netfilter.nf_conntrack_max",
        Shape::Int(0, i32::MAX as i64),
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_syn_sent",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_syn_recv",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_established",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_fin_wait",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_last_ack",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
        Shape::Secs,
    ),
    ("net.netfilter.nf_conntrack_tcp_timeout_close", Shape::Secs),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_max_retrans",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_unacknowledged",
        Shape::Secs,
    ),
    (
        "net.netfilter.nf_conntrack_tcp_max_retrans",
        Shape::Int(0, 255),
    ),
    ("net.netfilter.nf_conntrack_tcp_loose", Shape::Bool),
    ("net.netfilter.nf_conntrack_tcp_be_liberal", Shape::Bool),
    ("net.netfilter.nf_conntrack_udp_timeout", Shape::Secs),
    ("net.netfilter.nf_conntrack_udp_timeout_stream", Shape::Secs),
    ("net.netfilter.nf_conntrack_icmp_timeout", Shape::Secs),
    ("net.netfilter.nf_conntrack_generic_timeout", Shape::Secs),
    ("net.netfilter.nf_conntrack_checksum", Shape::Bool),
    ("net.netfilter.nf_conntrack_acct", Shape::Bool),
    ("net.ipv4.ip_forward", Shape::Bool),
    ("net.ipv4.ip_default_ttl", Shape::Int(1, 255)),
    ("net.ipv4.ip_local_port_range", Shape::PortRange),
    ("net.ipv4.tcp_congestion_control", Shape::Cc),
    ("net.ipv4.tcp_sack", Shape::Bool),
    ("net.ipv4.tcp_dsack", Shape::Bool),
    ("net.ipv4.tcp_frto", Shape::Int(0, i32::MAX as i64)),
    ("net.ipv4.tcp_timestamps", Shape::Bool),
    ("net.ipv4.tcp_window_scaling", Shape::Bool),
    ("net.ipv4.tcp_wmem", Shape::Triple),
    ("net.ipv4.tcp_rmem", Shape::Triple),
    ("net.ipv4.tcp_syn_retries", Shape::Int(1, 127)),
    ("net.ipv4.tcp_synack_retries", Shape::Int(0, 255)),
    ("net.ipv4.tcp_retries2", Shape::Int(0, 255)),
    ("net.ipv4.tcp_fin_timeout", Shape::Secs),
    ("net.ipv4.tcp_slow_start_after_idle", Shape::Bool),
    ("net.ipv4.tcp_moderate_rcvbuf", Shape::Bool),
    ("net.ipv4.tcp_early_retrans", Shape::Int(0, 4)),
    ("net.ipv4.tcp_ecn", Shape::Int(0, 2)),
    ("net.ipv4.tcp_ecn_fallback", Shape::Bool),
    ("net.ipv4.tcp_stdurg", Shape::Bool),
    ("net.ipv4.tcp_fastopen", Shape::Mask),
    ("net.ipv4.tcp_min_tso_segs", Shape::Int(1, i32::MAX as i64)),
    ("net.ipv4.tcp_tso_win_divisor", Shape::Int(0, 255)),
    ("net.ipv4.tcp_tso_rtt_log", Shape::Int(0, 255)),
    ("net.ipv4.tcp_comp_sack_delay_ns", Shape::Int(0, i64::MAX)),
    ("net.ipv4.tcp_comp_sack_slack_ns", Shape::Int(0, i64::MAX)),
    ("net.ipv4.tcp_comp_sack_nr", Shape::Int(0, 255)),
    ("net.ipv4.tcp_pacing_ss_ratio", Shape::Int(0, 1000)),
    ("net.ipv4.tcp_pacing_ca_ratio", Shape::Int(0, 1000)),
    ("net.ipv4.tcp_notsent_lowat", Shape::Int(0, u32::MAX as i64)),
    ("net.core.wmem_default", Shape::Int(4608, i32::MAX as i64)),
    ("net.core.rmem_default", Shape::Int(2304, i32::MAX as i64)),
    ("net.core.wmem_max", Shape::Int(4608, i32::MAX as i64)),
    ("net.core.rmem_max", Shape::Int(2304, i32::MAX as i64)),
    ("net.ipv4.icmp_echo_ignore_all", Shape::Bool),
    ("net.ipv4.icmp_ratelimit", Shape::Millis),
    ("net.ipv4.icmp_ratemask", Shape::Mask),
    ("net.ipv4.icmp_msgs_per_sec", Shape::Int(0, i32::MAX as i64)),
    ("net.ipv4.icmp_msgs_burst", Shape::Int(0, i32::MAX as i64)),
    ("net.ipv4.ipfrag_high_thresh", Shape::Int(0, i64::MAX)),
    ("net.ipv4.ipfrag_low_thresh", Shape::Int(0, i64::MAX)),
    ("net.ipv4.ipfrag_time", Shape::Secs),
    ("net.ipv4.ipfrag_max_dist", Shape::Int(0, i32::MAX as i64)),
    ("net.ipv4.neigh.default.retrans_time_ms", Shape::Millis),
    ("net.ipv4.neigh.default.mcast_solicit", Shape::Int(0, 255)),
    ("net.ipv4.neigh.default.ucast_solicit", Shape::Int(0, 255)),
    ("net.ipv4.neigh.default.app_solicit", Shape::Int(0, 255)),
    ("net.ipv4.neigh.default.mcast_resolicit", Shape::Int(0, 255)),
    (
        "net.ipv4.neigh.default.unres_qlen_bytes",
        Shape::Int(0, i32::MAX as i64),
    ),
    (
        "net.ipv4.neigh.default.base_reachable_time_ms",
        Shape::Millis,
    ),
    ("net.ipv4.neigh.default.delay_first_probe_time", Shape::Secs),
    ("net.ipv4.neigh.default.gc_stale_time", Shape::Secs),
    ("net.ipv6.neigh.default.retrans_time_ms", Shape::Millis),
    ("net.ipv6.neigh.default.mcast_solicit", Shape::Int(0, 255)),
    ("net.ipv6.neigh.default.ucast_solicit", Shape::Int(0, 255)),
    ("net.ipv6.neigh.default.app_solicit", Shape::Int(0, 255)),
    ("net.ipv6.neigh.default.mcast_resolicit", Shape::Int(0, 255)),
    (
        "net.ipv6.neigh.default.unres_qlen_bytes",
        Shape::Int(0, i32::MAX as i64),
    ),
    (
        "net.ipv6.neigh.default.base_reachable_time_ms",
        Shape::Millis,
    ),
    ("net.ipv6.neigh.default.delay_first_probe_time", Shape::Secs),
    ("net.ipv6.neigh.default.gc_stale_time", Shape::Secs),
    // 0 off, 1 on (may be turned off per socket), 2 off but allowed per socket, 3 forced on.
    ("net.ipv6.auto_flowlabels", Shape::Int(0, 3)),
    ("net.ipv6.icmp.ratelimit", Shape::Millis),
    ("net.ipv6.icmp.echo_ignore_all", Shape::Bool),
];

/// The keys of `net.ipv6.conf.{all,default,IFACE}.*`, with their shapes (the ranges
/// `addrconf.c`'s sysctl table checks; `addr_gen_mode` is narrowed to the modes modeled).
const CONF6: &[(&str, Shape)] = &[
    ("forwarding", Shape::Bool),
    ("disable_ipv6", Shape::Bool),
    ("hop_limit", Shape::Int(1, 255)),
    ("accept_ra", Shape::Int(0, 2)),
    ("autoconf", Shape::Bool),
    ("accept_dad", Shape::Int(0, 2)),
    ("dad_transmits", Shape::Int(0, i32::MAX as i64)),
    ("enhanced_dad", Shape::Bool),
    ("router_solicitations", Shape::Int(-1, i32::MAX as i64)),
    ("router_solicitation_delay", Shape::Secs),
    ("router_solicitation_interval", Shape::Secs),
    ("router_solicitation_max_interval", Shape::Secs),
    ("mldv2_unsolicited_report_interval", Shape::Millis),
    ("addr_gen_mode", Shape::Int(0, 3)),
    ("ndisc_notify", Shape::Bool),
];

/// The keys of `net.ipv6.conf.*.KEY`, for suggestions and docs.
pub(crate) fn conf6_keys() -> impl Iterator<Item = &'static str> {
    CONF6.iter().map(|(n, _)| *n)
}

/// Which `net.ipv6.conf` or `net.ipv6.neigh` entry a name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope6 {
    /// `all`.
    All,
    /// `default`.
    Default,
    /// An interface name.
    Iface(String),
}

/// A per-interface IPv6 name: `net.ipv6.conf.SCOPE.KEY` (`neigh` false) or
/// `net.ipv6.neigh.IFACE.KEY` (`neigh` true, never `all`/`default`: those are node-wide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dev6Name {
    pub neigh: bool,
    pub scope: Scope6,
    pub key: String,
}

/// Splits `net.ipv6.conf.X.KEY` and `net.ipv6.neigh.IFACE.KEY` (IFACE not `default`); `None`
/// for every other name. The key is not checked here (see [`apply_conf6`]).
pub(crate) fn dev6_name(name: &str) -> Option<Dev6Name> {
    let (neigh, rest) = if let Some(r) = name.strip_prefix("net.ipv6.conf.") {
        (false, r)
    } else {
        (true, name.strip_prefix("net.ipv6.neigh.")?)
    };
    let (scope, key) = rest.rsplit_once('.')?;
    if scope.is_empty() || key.is_empty() {
        return None;
    }
    let scope = match scope {
        "all" if !neigh => Scope6::All,
        "default" if !neigh => Scope6::Default,
        "default" => return None,
        s => Scope6::Iface(s.to_string()),
    };
    Some(Dev6Name {
        neigh,
        scope,
        key: key.to_string(),
    })
}

/// Checks a `net.ipv6.neigh.IFACE.KEY` value against what `net.ipv6.neigh.default.KEY`
/// takes, and applies it to `s` (the node's one NDP table).
pub(crate) fn apply_neigh6_dev(s: &mut Sysctls, key: &str, vals: &[&str]) -> Result<(), SysErr> {
    apply(s, &format!("net.ipv6.neigh.default.{key}"), vals)
}

/// Sets `net.ipv6.conf.*.KEY` to `vals` in `c`.
pub(crate) fn apply_conf6(c: &mut Ipv6DevConf, key: &str, vals: &[&str]) -> Result<(), SysErr> {
    let Some(&(_, shape)) = CONF6.iter().find(|(n, _)| *n == key) else {
        return Err(SysErr::Unknown);
    };
    let value = |index: usize, msg: String| SysErr::Value { index, msg };
    if vals.len() != 1 {
        return Err(SysErr::Arity {
            expected: 1,
            example: if matches!(shape, Shape::Bool) {
                "1"
            } else {
                "…"
            },
        });
    }
    match shape {
        Shape::Bool => {
            let b = values::boolean(vals[0]).map_err(|m| value(0, m))?;
            match key {
                "forwarding" => c.forwarding = b,
                "disable_ipv6" => c.disable_ipv6 = b,
                "autoconf" => c.autoconf = b,
                "enhanced_dad" => c.enhanced_dad = b,
                "ndisc_notify" => c.ndisc_notify = b,
                _ => unreachable!("bool conf {key}"),
            }
        }
        Shape::Int(min, max) => {
            let v = values::int_in(vals[0], min, max).map_err(|m| value(0, m))?;
            match key {
                "hop_limit" => c.hop_limit = v as u8,
                "accept_ra" => c.accept_ra = v as u8,
                "accept_dad" => c.accept_dad = v as u8,
                "dad_transmits" => c.dad_transmits = v as u32,
                "router_solicitations" => c.router_solicitations = v as i32,
                "addr_gen_mode" => {
                    if v > 1 {
                        return Err(value(
                            0,
                            format!(
                                "addr_gen_mode {v} ({}) is not modeled; 0 (EUI-64 link-local from the MAC) and 1 (no link-local) are",
                                if v == 2 { "stable privacy" } else { "random" }
                            ),
                        ));
                    }
                    c.addr_gen_mode = v as u8;
                }
                _ => unreachable!("int conf {key}"),
            }
        }
        Shape::Millis | Shape::Secs => {
            let unit = if matches!(shape, Shape::Millis) {
                "ms"
            } else {
                "s"
            };
            let d = duration(vals[0], unit).map_err(|m| value(0, m))?;
            sim_stack::validate::duration(d)
                .map_err(|e| value(0, format!("`{}` is {e}", vals[0])))?;
            match key {
                "router_solicitation_delay" => c.router_solicitation_delay = d,
                "router_solicitation_interval" => c.router_solicitation_interval = d,
                "router_solicitation_max_interval" => c.router_solicitation_max_interval = d,
                "mldv2_unsolicited_report_interval" => c.mldv2_unsolicited_report_interval = d,
                _ => unreachable!("time conf {key}"),
            }
        }
        _ => unreachable!("conf shape"),
    }
    Ok(())
}

/// Sets `net.netfilter.KEY` (conntrack's, `nf_conntrack_*`) to `v`.
fn apply_conntrack(
    c: &mut sim_stack::netfilter::conntrack::ConntrackSysctl,
    key: &str,
    shape: Shape,
    v: &str,
) -> Result<(), SysErr> {
    let value = |msg: String| SysErr::Value { index: 0, msg };
    match shape {
        Shape::Bool => {
            let b = values::boolean(v).map_err(value)?;
            match key {
                "nf_conntrack_tcp_loose" => c.nf_conntrack_tcp_loose = b,
                "nf_conntrack_tcp_be_liberal" => c.nf_conntrack_tcp_be_liberal = b,
                "nf_conntrack_checksum" => c.nf_conntrack_checksum = b,
                "nf_conntrack_acct" => c.nf_conntrack_acct = b,
                _ => unreachable!("bool sysctl {key}"),
            }
        }
        Shape::Int(min, max) => {
            let n = values::int_in(v, min, max).map_err(value)?;
            match key {
                "nf_conntrack_max" => c.nf_conntrack_max = n as u32,
                "nf_conntrack_tcp_max_retrans" => c.nf_conntrack_tcp_max_retrans = n as u8,
                _ => unreachable!("int sysctl {key}"),
            }
        }
        Shape::Secs => {
            let d = duration(v, "s").map_err(value)?;
            sim_stack::validate::duration(d).map_err(|e| value(format!("`{v}` is {e}")))?;
            match key {
                "nf_conntrack_tcp_timeout_syn_sent" => c.nf_conntrack_tcp_timeout_syn_sent = d,
                "nf_conntrack_tcp_timeout_syn_recv" => c.nf_conntrack_tcp_timeout_syn_recv = d,
                "nf_conntrack_tcp_timeout_established" => {
                    c.nf_conntrack_tcp_timeout_established = d;
                }
                "nf_conntrack_tcp_timeout_fin_wait" => c.nf_conntrack_tcp_timeout_fin_wait = d,
                "nf_conntrack_tcp_timeout_close_wait" => c.nf_conntrack_tcp_timeout_close_wait = d,
                "nf_conntrack_tcp_timeout_last_ack" => c.nf_conntrack_tcp_timeout_last_ack = d,
                "nf_conntrack_tcp_timeout_time_wait" => c.nf_conntrack_tcp_timeout_time_wait = d,
                "nf_conntrack_tcp_timeout_close" => c.nf_conntrack_tcp_timeout_close = d,
                "nf_conntrack_tcp_timeout_max_retrans" => {
                    c.nf_conntrack_tcp_timeout_max_retrans = d;
                }
                "nf_conntrack_tcp_timeout_unacknowledged" => {
                    c.nf_conntrack_tcp_timeout_unacknowledged = d;
                }
                "nf_conntrack_udp_timeout" => c.nf_conntrack_udp_timeout = d,
                "nf_conntrack_udp_timeout_stream" => c.nf_conntrack_udp_timeout_stream = d,
                "nf_conntrack_icmp_timeout" => c.nf_conntrack_icmp_timeout = d,
                "nf_conntrack_generic_timeout" => c.nf_conntrack_generic_timeout = d,
                _ => unreachable!("time sysctl {key}"),
            }
        }
        _ => unreachable!("conntrack sysctl shape"),
    }
    Ok(())
}

/// The names, for suggestions and docs.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    TABLE
        .iter()
        .map(|(n, _)| *n)
        .chain(CONF6_NAMES.iter().copied())
}

/// `net.ipv6.conf.{all,default}.KEY` for every key, for suggestions.
const CONF6_NAMES: &[&str] = &[
    "net.ipv6.conf.all.forwarding",
    "net.ipv6.conf.all.disable_ipv6",
    "net.ipv6.conf.all.hop_limit",
    "net.ipv6.conf.all.accept_ra",
    "net.ipv6.conf.all.autoconf",
    "net.ipv6.conf.all.accept_dad",
    "net.ipv6.conf.all.dad_transmits",
    "net.ipv6.conf.all.enhanced_dad",
    "net.ipv6.conf.all.router_solicitations",
    "net.ipv6.conf.all.router_solicitation_delay",
    "net.ipv6.conf.all.router_solicitation_interval",
    "net.ipv6.conf.all.router_solicitation_max_interval",
    "net.ipv6.conf.all.mldv2_unsolicited_report_interval",
    "net.ipv6.conf.all.addr_gen_mode",
    "net.ipv6.conf.all.ndisc_notify",
    "net.ipv6.conf.default.forwarding",
    "net.ipv6.conf.default.disable_ipv6",
    "net.ipv6.conf.default.hop_limit",
    "net.ipv6.conf.default.accept_ra",
    "net.ipv6.conf.default.autoconf",
    "net.ipv6.conf.default.accept_dad",
    "net.ipv6.conf.default.dad_transmits",
    "net.ipv6.conf.default.enhanced_dad",
    "net.ipv6.conf.default.router_solicitations",
    "net.ipv6.conf.default.router_solicitation_delay",
    "net.ipv6.conf.default.router_solicitation_interval",
    "net.ipv6.conf.default.router_solicitation_max_interval",
    "net.ipv6.conf.default.mldv2_unsolicited_report_interval",
    "net.ipv6.conf.default.addr_gen_mode",
    "net.ipv6.conf.default.ndisc_notify",
];

/// A sysctl name in canonical (dotted) form.
pub(crate) fn normalize(name: &str) -> String {
    name.replace('/', ".")
}

/// A near miss for an unknown name: same last component elsewhere, or a typo.
pub(crate) fn suggest_name(name: &str) -> Option<String> {
    // A per-interface IPv6 name with a misspelt key: keep the scope, fix the key.
    if let Some(d) = dev6_name(name) {
        let (prefix, keys): (&str, Vec<&str>) = if d.neigh {
            (
                "net.ipv6.neigh",
                TABLE
                    .iter()
                    .filter_map(|(n, _)| n.strip_prefix("net.ipv6.neigh.default."))
                    .collect(),
            )
        } else {
            ("net.ipv6.conf", conf6_keys().collect())
        };
        let scope = match &d.scope {
            Scope6::All => "all",
            Scope6::Default => "default",
            Scope6::Iface(i) => i.as_str(),
        };
        if let Some(k) = crate::diag::suggest(&d.key, keys.iter().copied()) {
            return Some(format!("{prefix}.{scope}.{k}"));
        }
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    let same_last: Vec<&str> = names()
        .filter(|n| n.rsplit('.').next() == Some(last))
        .collect();
    if let [one] = same_last.as_slice() {
        return Some((*one).to_string());
    }
    crate::diag::suggest(name, names()).map(str::to_string)
}

/// Why a sysctl could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SysErr {
    /// No such sysctl (the caller suggests).
    Unknown,
    /// Wrong number of values.
    Arity {
        expected: usize,
        example: &'static str,
    },
    /// The value at `index` is wrong.
    Value { index: usize, msg: String },
}

fn duration(text: &str, bare_unit: &str) -> Result<SimDuration, String> {
    if values::int(text).is_ok() {
        return format!("{text}{bare_unit}")
            .parse::<SimDuration>()
            .map_err(|e| e.to_string());
    }
    text.parse::<SimDuration>().map_err(|e| e.to_string())
}

/// Sets `name` (canonical) to `vals` in `s`.
pub(crate) fn apply(s: &mut Sysctls, name: &str, vals: &[&str]) -> Result<(), SysErr> {
    if name == "net.ipv4.tcp_available_congestion_control" {
        // Mode 0444 in Linux; on this 6.18 host, root's `sysctl -w` of it answers
        // "Invalid argument" and changes nothing.
        return Err(SysErr::Value {
            index: 0,
            msg: format!(
                "`{name}` is read-only (Linux lists what is loaded there; here: `{}`); \
                 choose one with `net.ipv4.tcp_congestion_control`",
                AVAILABLE_CC.join(" ")
            ),
        });
    }
    let Some(&(_, shape)) = TABLE.iter().find(|(n, _)| *n == name) else {
        return Err(SysErr::Unknown);
    };
    let value = |index: usize, msg: String| SysErr::Value { index, msg };
    let want = match shape {
        Shape::Triple => 3,
        Shape::PortRange => 2,
        _ => 1,
    };
    if vals.len() != want {
        let example = match shape {
            Shape::Triple => "4096 131072 6291456",
            Shape::PortRange => "32768 60999",
            Shape::Bool => "1",
            Shape::Cc => "cubic",
            _ => "…",
        };
        return Err(SysErr::Arity {
            expected: want,
            example,
        });
    }
    if let Some(key) = name.strip_prefix("net.netfilter.") {
        let c = s.netfilter.get_or_insert_with(Default::default);
        return apply_conntrack(c, key, shape, vals[0]);
    }
    match shape {
        Shape::Bool => {
            let b = values::boolean(vals[0]).map_err(|m| value(0, m))?;
            match name {
                "net.ipv4.ip_forward" => s.ip_forward = b,
                "net.ipv4.tcp_sack" => s.tcp_sack = b,
                "net.ipv4.tcp_dsack" => s.tcp_dsack = b,
                "net.ipv4.tcp_timestamps" => s.tcp_timestamps = b,
                "net.ipv4.tcp_window_scaling" => s.tcp_window_scaling = b,
                "net.ipv4.tcp_ecn_fallback" => s.tcp_ecn_fallback = b,
                "net.ipv4.tcp_stdurg" => s.tcp_stdurg = b,
                "net.ipv4.tcp_slow_start_after_idle" => s.tcp_slow_start_after_idle = b,
                "net.ipv4.tcp_moderate_rcvbuf" => s.tcp_moderate_rcvbuf = b,
                "net.ipv4.icmp_echo_ignore_all" => s.icmp_echo_ignore_all = b,
                "net.ipv6.icmp.echo_ignore_all" => s.icmpv6_echo_ignore_all = b,
                _ => unreachable!("bool sysctl {name}"),
            }
        }
        Shape::Int(min, max) => {
            let v = values::int_in(vals[0], min, max).map_err(|m| value(0, m))?;
            let n = if name.starts_with("net.ipv6.neigh.") {
                &mut s.neigh6
            } else {
                &mut s.neigh
            };
            let name = name.replace("net.ipv6.neigh.", "net.ipv4.neigh.");
            let name = name.as_str();
            match name {
                "net.ipv6.auto_flowlabels" => s.ipv6_auto_flowlabels = v as u8,
                "net.ipv4.ip_default_ttl" => s.ip_default_ttl = v as u8,
                "net.ipv4.tcp_syn_retries" => s.tcp_syn_retries = v as u8,
                "net.ipv4.tcp_synack_retries" => s.tcp_synack_retries = v as u8,
                "net.ipv4.tcp_retries2" => s.tcp_retries2 = v as u8,
                "net.ipv4.tcp_ecn" => s.tcp_ecn = v as u8,
                "net.ipv4.tcp_early_retrans" => s.tcp_early_retrans = v as u8,
                "net.ipv4.tcp_frto" => s.tcp_frto = v as u32,
                "net.ipv4.tcp_min_tso_segs" => s.tcp_min_tso_segs = v as u32,
                "net.ipv4.tcp_tso_win_divisor" => s.tcp_tso_win_divisor = v as u32,
                "net.ipv4.tcp_tso_rtt_log" => s.tcp_tso_rtt_log = v as u32,
                "net.ipv4.tcp_comp_sack_delay_ns" => s.tcp_comp_sack_delay_ns = v as u64,
                "net.ipv4.tcp_comp_sack_slack_ns" => s.tcp_comp_sack_slack_ns = v as u64,
                "net.ipv4.tcp_comp_sack_nr" => s.tcp_comp_sack_nr = v as u32,
                "net.ipv4.tcp_pacing_ss_ratio" => s.tcp_pacing_ss_ratio = v as u32,
                "net.ipv4.tcp_pacing_ca_ratio" => s.tcp_pacing_ca_ratio = v as u32,
                "net.ipv4.tcp_notsent_lowat" => s.tcp_notsent_lowat = v as u32,
                "net.core.wmem_default" => s.wmem_default = v as u32,
                "net.core.rmem_default" => s.rmem_default = v as u32,
                "net.core.wmem_max" => s.wmem_max = v as u32,
                "net.core.rmem_max" => s.rmem_max = v as u32,
                "net.ipv4.neigh.default.mcast_solicit" => n.mcast_solicit = v as u32,
                "net.ipv4.neigh.default.ucast_solicit" => n.ucast_solicit = v as u32,
                "net.ipv4.neigh.default.app_solicit" => n.app_solicit = v as u32,
                "net.ipv4.neigh.default.mcast_resolicit" => n.mcast_resolicit = v as u32,
                "net.ipv4.neigh.default.unres_qlen_bytes" => n.unres_qlen_bytes = v as u32,
                "net.ipv4.ipfrag_max_dist" => s.ipfrag_max_dist = v as u32,
                "net.ipv4.icmp_msgs_per_sec" => s.icmp_msgs_per_sec = v as u32,
                "net.ipv4.icmp_msgs_burst" => s.icmp_msgs_burst = v as u32,
                // Each threshold is checked against the other's current value, as Linux's
                // proc_doulongvec_minmax does with extra1/extra2: lowering both means
                // lowering the low one first.
                "net.ipv4.ipfrag_high_thresh" => {
                    let low = s.ipfrag_low_thresh;
                    if (v as u64) < low {
                        return Err(value(
                            0,
                            format!(
                                "below net.ipv4.ipfrag_low_thresh ({low}); Linux refuses it (EINVAL): set the low threshold first"
                            ),
                        ));
                    }
                    s.ipfrag_high_thresh = v as u64;
                }
                "net.ipv4.ipfrag_low_thresh" => {
                    let high = s.ipfrag_high_thresh;
                    if v as u64 > high {
                        return Err(value(
                            0,
                            format!(
                                "above net.ipv4.ipfrag_high_thresh ({high}); Linux refuses it (EINVAL): set the high threshold first"
                            ),
                        ));
                    }
                    s.ipfrag_low_thresh = v as u64;
                }
                _ => unreachable!("int sysctl {name}"),
            }
        }
        Shape::Triple => {
            let mut t = [0u32; 3];
            for (i, v) in vals.iter().enumerate() {
                t[i] = values::int_in(v, 1, i32::MAX.into()).map_err(|m| value(i, m))? as u32;
            }
            if t[0] > t[1] || t[1] > t[2] {
                return Err(value(1, "expected min ≤ default ≤ max".to_string()));
            }
            if name == "net.ipv4.tcp_wmem" {
                s.tcp_wmem = t;
            } else {
                s.tcp_rmem = t;
            }
        }
        Shape::PortRange => {
            let lo = values::int_in(vals[0], 1, 65535).map_err(|m| value(0, m))?;
            let hi = values::int_in(vals[1], 1, 65535).map_err(|m| value(1, m))?;
            if lo > hi {
                return Err(value(1, format!("the range is empty: {lo} > {hi}")));
            }
            s.ip_local_port_range = (lo as u16, hi as u16);
        }
        Shape::Cc => {
            s.tcp_congestion_control = match CongestionControl::from_name(vals[0]) {
                Some(cc) => cc,
                None => {
                    let other = vals[0];
                    return Err(value(
                        0,
                        format!(
                            "unsupported congestion control `{other}`; \
                             net.ipv4.tcp_available_congestion_control is `{}`",
                            AVAILABLE_CC.join(" ")
                        ),
                    ));
                }
            };
        }
        Shape::Mask => {
            let t = vals[0];
            let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16)
                    .map_err(|_| value(0, format!("`{t}` is not a hexadecimal mask")))?,
                None => values::int(t).map_err(|m| value(0, m))?,
            };
            if !(0..=i64::from(i32::MAX)).contains(&v) {
                return Err(value(
                    0,
                    format!("{t} is out of range; expected 0 to 0x7fffffff"),
                ));
            }
            match name {
                "net.ipv4.icmp_ratemask" => s.icmp_ratemask = v as u32,
                "net.ipv4.tcp_fastopen" => {
                    // The server bits other than 0x2 and 0x200 (which act only on listeners
                    // asking for Fast Open, and none can) would make listeners take it.
                    let known = 0x1 | 0x2 | 0x4 | 0x200;
                    if v & !known != 0 {
                        return Err(value(
                            0,
                            format!(
                                "{t}: server-side Fast Open is not modeled; the bits taken are \
                                 0x1 (client), 0x4 (client without cookie), 0x2 and 0x200 \
                                 (which act only on listeners asking for Fast Open, and none can)"
                            ),
                        ));
                    }
                    s.tcp_fastopen = v as u32;
                }
                _ => unreachable!("mask sysctl {name}"),
            }
        }
        Shape::Millis | Shape::Secs => {
            let unit = if matches!(shape, Shape::Millis) {
                "ms"
            } else {
                "s"
            };
            let d = duration(vals[0], unit).map_err(|m| value(0, m))?;
            sim_stack::validate::duration(d)
                .map_err(|e| value(0, format!("`{}` is {e}", vals[0])))?;
            let n = if name.starts_with("net.ipv6.neigh.") {
                &mut s.neigh6
            } else {
                &mut s.neigh
            };
            let name = name.replace("net.ipv6.neigh.", "net.ipv4.neigh.");
            let name = name.as_str();
            match name {
                "net.ipv6.icmp.ratelimit" => s.icmpv6_ratelimit = d,
                "net.ipv4.tcp_fin_timeout" => s.tcp_fin_timeout = d,
                "net.ipv4.icmp_ratelimit" => s.icmp_ratelimit = d,
                "net.ipv4.ipfrag_time" => s.ipfrag_time = d,
                "net.ipv4.neigh.default.retrans_time_ms" => n.retrans_time = d,
                "net.ipv4.neigh.default.base_reachable_time_ms" => n.base_reachable_time = d,
                "net.ipv4.neigh.default.delay_first_probe_time" => n.delay_first_probe_time = d,
                "net.ipv4.neigh.default.gc_stale_time" => n.gc_stale_time = d,
                _ => unreachable!("time sysctl {name}"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_applies() {
        for &(name, shape) in TABLE {
            let mut s = Sysctls::default();
            let vals: &[&str] = match shape {
                Shape::Bool
                    if name.ends_with("ip_forward")
                        || name.ends_with("ignore_all")
                        || name.ends_with("tcp_stdurg")
                        || name.ends_with("tcp_be_liberal")
                        || name.ends_with("nf_conntrack_acct") =>
                {
                    &["1"]
                }
                _ if name.ends_with("auto_flowlabels") => &["2"],
                // At least the low threshold (3 MiB).
                _ if name.ends_with("ipfrag_high_thresh") => &["8388608"],
                Shape::Bool => &["0"],
                Shape::Int(min, _) => &[if min > 1 { "1000000" } else { "1" }],
                Shape::Triple => &["4096", "8192", "16384"],
                Shape::PortRange => &["1000", "2000"],
                Shape::Cc => &["reno"],
                Shape::Millis | Shape::Secs => &["7"],
                _ if name.ends_with("tcp_fastopen") => &["0x5"],
                Shape::Mask => &["0x18"],
            };
            apply(&mut s, name, vals).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_ne!(s, Sysctls::default(), "{name} changed nothing");
        }
    }

    #[test]
    fn ipv6_names_and_units() {
        let mut s = Sysctls::default();
        apply(&mut s, "net.ipv6.neigh.default.retrans_time_ms", &["250"]).unwrap();
        assert_eq!(s.neigh6.retrans_time, SimDuration::from_millis(250));
        assert_eq!(s.neigh, Sysctls::default().neigh, "IPv4's table is apart");
        apply(
            &mut s,
            "net.ipv6.neigh.default.delay_first_probe_time",
            &["2"],
        )
        .unwrap();
        assert_eq!(s.neigh6.delay_first_probe_time, SimDuration::from_secs(2));
        apply(&mut s, "net.ipv6.icmp.ratelimit", &["100"]).unwrap();
        assert_eq!(s.icmpv6_ratelimit, SimDuration::from_millis(100));
        assert!(apply(&mut s, "net.ipv6.auto_flowlabels", &["4"]).is_err());

        let mut c = Ipv6DevConf::default();
        for (key, v) in [
            ("forwarding", "1"),
            ("disable_ipv6", "1"),
            ("hop_limit", "32"),
            ("accept_ra", "2"),
            ("autoconf", "0"),
            ("accept_dad", "0"),
            ("dad_transmits", "3"),
            ("enhanced_dad", "0"),
            ("router_solicitations", "3"),
            ("router_solicitation_delay", "2"),
            ("router_solicitation_interval", "8"),
            ("router_solicitation_max_interval", "60"),
            ("mldv2_unsolicited_report_interval", "500"),
            ("addr_gen_mode", "1"),
            ("ndisc_notify", "1"),
        ] {
            let before = c.clone();
            apply_conf6(&mut c, key, &[v]).unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert_ne!(c, before, "{key} changed nothing");
        }
        assert_eq!(c.router_solicitation_delay, SimDuration::from_secs(2));
        assert_eq!(
            c.mldv2_unsolicited_report_interval,
            SimDuration::from_millis(500)
        );
        assert_eq!(conf6_keys().count(), CONF6.len());
        for (key, bad) in [
            ("hop_limit", "0"),
            ("hop_limit", "256"),
            ("router_solicitations", "-2"),
            ("addr_gen_mode", "2"),
            ("addr_gen_mode", "3"),
            ("addr_gen_mode", "4"),
            ("accept_dad", "3"),
        ] {
            assert!(
                matches!(
                    apply_conf6(&mut c, key, &[bad]),
                    Err(SysErr::Value { index: 0, .. })
                ),
                "{key} = {bad}"
            );
        }
        assert_eq!(
            apply_conf6(&mut c, "acept_dad", &["1"]),
            Err(SysErr::Unknown)
        );
        assert_eq!(
            dev6_name("net.ipv6.conf.eth0.accept_dad"),
            Some(Dev6Name {
                neigh: false,
                scope: Scope6::Iface("eth0".into()),
                key: "accept_dad".into()
            })
        );
        assert_eq!(dev6_name("net.ipv6.neigh.default.retrans_time_ms"), None);
        assert_eq!(
            suggest_name("net.ipv6.conf.eth0.acept_dad").as_deref(),
            Some("net.ipv6.conf.eth0.accept_dad")
        );
        assert_eq!(
            suggest_name("net.ipv6.conf.all.forwardin").as_deref(),
            Some("net.ipv6.conf.all.forwarding")
        );
    }

    #[test]
    fn tcp_fastopen_takes_the_client_bits_and_refuses_server_fast_open() {
        let mut s = Sysctls::default();
        apply(&mut s, "net.ipv4.tcp_fastopen", &["5"]).unwrap();
        assert_eq!(s.tcp_fastopen, 5);
        let e = apply(&mut s, "net.ipv4.tcp_fastopen", &["0x401"]).unwrap_err();
        assert!(
            matches!(&e, SysErr::Value { msg, .. } if msg.contains("server-side Fast Open is not modeled")),
            "{e:?}"
        );
        assert_eq!(s.tcp_fastopen, 5);
    }

    #[test]
    fn units_and_errors() {
        let mut s = Sysctls::default();
        apply(&mut s, "net.ipv4.neigh.default.retrans_time_ms", &["250"]).unwrap();
        assert_eq!(s.neigh.retrans_time, SimDuration::from_millis(250));
        apply(
            &mut s,
            "net.ipv4.neigh.default.delay_first_probe_time",
            &["2s"],
        )
        .unwrap();
        assert_eq!(s.neigh.delay_first_probe_time, SimDuration::from_secs(2));
        assert_eq!(
            apply(&mut s, "net.ipv4.tcp_sacks", &["1"]),
            Err(SysErr::Unknown)
        );
        assert!(matches!(
            apply(&mut s, "net.ipv4.tcp_wmem", &["1", "2"]),
            Err(SysErr::Arity { expected: 3, .. })
        ));
        assert!(matches!(
            apply(&mut s, "net.ipv4.tcp_congestion_control", &["vegas"]),
            Err(SysErr::Value { index: 0, .. })
        ));
        assert_eq!(
            apply(&mut s, "net.ipv4.tcp_congestion_control", &["bbr"]),
            Ok(())
        );
        assert_eq!(s.tcp_congestion_control, CongestionControl::Bbr);
        // Every algorithm tcp_available_congestion_control lists can be chosen; the list
        // itself is read-only, and says what it holds.
        for cc in AVAILABLE_CC {
            assert_eq!(
                apply(&mut s, "net.ipv4.tcp_congestion_control", &[cc]),
                Ok(())
            );
        }
        assert!(matches!(
            apply(&mut s, "net.ipv4.tcp_available_congestion_control", &["reno"]),
            Err(SysErr::Value { index: 0, msg }) if msg.contains("read-only") && msg.contains("reno cubic bbr dctcp")
        ));
        assert_eq!(
            suggest_name("net.ipv4.tcp_sacks").as_deref(),
            Some("net.ipv4.tcp_sack")
        );
        assert_eq!(
            suggest_name("net.core.tcp_sack").as_deref(),
            Some("net.ipv4.tcp_sack")
        );
    }

    #[test]
    fn icmp_rate_limits() {
        let mut s = Sysctls::default();
        assert_eq!(
            (s.icmp_ratemask, s.icmp_msgs_per_sec, s.icmp_msgs_burst),
            (0x1818, 1000, 50)
        );
        apply(&mut s, "net.ipv4.icmp_ratemask", &["0x800"]).unwrap();
        assert_eq!(s.icmp_ratemask, 1 << 11);
        apply(&mut s, "net.ipv4.icmp_ratemask", &["6168"]).unwrap();
        assert_eq!(s.icmp_ratemask, 0x1818);
        for bad in ["0x", "0xg", "-1", "0x80000000", "mask"] {
            assert!(
                matches!(
                    apply(&mut s, "net.ipv4.icmp_ratemask", &[bad]),
                    Err(SysErr::Value { index: 0, .. })
                ),
                "{bad}"
            );
        }
        apply(&mut s, "net.ipv4.icmp_msgs_per_sec", &["0"]).unwrap();
        apply(&mut s, "net.ipv4.icmp_msgs_burst", &["10000"]).unwrap();
        assert_eq!((s.icmp_msgs_per_sec, s.icmp_msgs_burst), (0, 10000));
        apply(&mut s, "net.ipv4.icmp_ratelimit", &["250"]).unwrap();
        assert_eq!(s.icmp_ratelimit, SimDuration::from_millis(250));
    }

    #[test]
    fn ipfrag_thresholds_are_checked_against_each_other_as_linux_does() {
        let mut s = Sysctls::default();
        // 1 MiB is below the low threshold (3 MiB): refused until that is lowered.
        let high = "net.ipv4.ipfrag_high_thresh";
        let low = "net.ipv4.ipfrag_low_thresh";
        assert!(matches!(
            apply(&mut s, high, &["1048576"]),
            Err(SysErr::Value { index: 0, .. })
        ));
        assert_eq!(s.ipfrag_high_thresh, 4 << 20);
        apply(&mut s, low, &["524288"]).unwrap();
        apply(&mut s, high, &["1048576"]).unwrap();
        assert_eq!(
            (s.ipfrag_low_thresh, s.ipfrag_high_thresh),
            (524_288, 1 << 20)
        );
        assert!(matches!(
            apply(&mut s, low, &["2097152"]),
            Err(SysErr::Value { index: 0, .. })
        ));
        apply(&mut s, "net.ipv4.ipfrag_time", &["5"]).unwrap();
        assert_eq!(s.ipfrag_time, SimDuration::from_secs(5));
        apply(&mut s, "net.ipv4.ipfrag_max_dist", &["0"]).unwrap();
        assert_eq!(s.ipfrag_max_dist, 0);
    }
}
