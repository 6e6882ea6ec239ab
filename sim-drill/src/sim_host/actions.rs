//! Backtick commands on the simulated host: sysctls (with `set_sysctls.py`'s save and
//! restore), the root qdisc (`tc`), device offloads (`ethtool -K`), routes (`ip route`),
//! counters (`nstat`), `/proc/net/tcp`, and the files `sendfile` reads.
//!
//! A sysctl the stack reads is set through the scenario language's own table (the same
//! names, checks and errors as a `.net` file's `sysctl`). A sysctl the stack does not read
//! is accepted only at the values whose meaning is what the model does — its "off" value
//! where the mechanism is missing, and Linux's default, where the model's documented gaps
//! are those of default Linux — and is unsupported at any other, with the reason.

use std::collections::BTreeMap;

use core::net::Ipv4Addr;

use sim_stack::config::{QdiscConfig, Sysctls};
use sim_stack::dev::TUN_READQ_SIZE;
use sim_stack::ip::fib::Route;
use sim_stack::qdisc::{PfifoFast, Qdisc};
use sim_stack::sock::Socket;

use super::SimHost;
use crate::command::HostAction;
use crate::host::{ActionOutcome, TunSetup};

/// The commands' state.
#[derive(Debug)]
pub(super) struct Env {
    /// The sysctls the node started with.
    base: Sysctls,
    /// Every sysctl set since, in order (name, value).
    log: Vec<(String, String)>,
    /// `set_sysctls.py`: the names it set, with the length of `log` before each.
    saved: Vec<(String, usize)>,
    /// Files by path, with their length (their bytes are zeros).
    files: BTreeMap<String, u64>,
    /// `nstat`'s history: the counters when it last ran.
    nstat: BTreeMap<String, u64>,
    /// The root qdisc is the device's default one (`tc qdisc add` may replace it).
    default_qdisc: bool,
    /// The tun device's name.
    dev: String,
}

impl Env {
    pub(super) fn new(base: Sysctls) -> Self {
        Self {
            base,
            log: Vec::new(),
            saved: Vec::new(),
            files: BTreeMap::new(),
            nstat: BTreeMap::new(),
            default_qdisc: true,
            dev: String::new(),
        }
    }

    /// The sysctls as set.
    pub(super) fn sysctl(&self) -> Sysctls {
        let mut s = self.base.clone();
        for (name, value) in &self.log {
            // Each was applied once already, with success.
            let _ = sim_dsl::set_sysctl(&mut s, name, value);
        }
        s
    }

    pub(super) fn setup(&mut self, tun: &TunSetup) {
        self.dev = tun.name.clone();
    }

    /// The length of the file at `path`, if it exists.
    pub(super) fn file_len(&self, path: &str) -> Option<u64> {
        self.files.get(path).copied()
    }
}

/// Carries out one command.
pub(super) fn run(h: &mut SimHost, action: &HostAction) -> ActionOutcome {
    match action {
        HostAction::Sysctl { name, value } => set_sysctl(h, name, value),
        HostAction::SysctlSaved { name, value } => {
            let at = h.env.log.len();
            let r = set_sysctl(h, name, value);
            if r == ActionOutcome::Ok {
                h.env.saved.push((name.clone(), at));
            }
            r
        }
        HostAction::RestoreSysctls => {
            // Each name saved goes back to its value before set_sysctls.py set it: what was
            // set to it from then on is forgotten.
            let saved = std::mem::take(&mut h.env.saved);
            let log = std::mem::take(&mut h.env.log);
            h.env.log = log
                .into_iter()
                .enumerate()
                .filter(|(i, (name, _))| !saved.iter().any(|(n, at)| n == name && i >= at))
                .map(|(_, e)| e)
                .collect();
            apply_sysctls(h);
            ActionOutcome::Ok
        }
        HostAction::Qdisc {
            op,
            dev,
            parent,
            kind,
            params,
        } => qdisc(h, op, dev, parent, kind.as_deref(), params),
        HostAction::Features { dev, features } => {
            if *dev != h.env.dev {
                return no_device(dev);
            }
            for (name, on) in features {
                let f = &mut h.n.devs[0].features;
                match name.as_str() {
                    "tso" | "tcp-segmentation-offload" => f.tso = *on,
                    "gso" | "generic-segmentation-offload" => f.gso = *on,
                    other => {
                        return ActionOutcome::Unsupported(format!(
                            "ethtool feature `{other}`: the device models tso and gso"
                        ));
                    }
                }
            }
            ActionOutcome::Ok
        }
        HostAction::Route(words) => route(h, words),
        // The stack's TCP metrics are the Fast Open cookies per destination (no cached RTTs
        // or cwnds): gone.
        HostAction::TcpMetricsFlush => {
            h.n.tcp_metrics.flush();
            ActionOutcome::Ok
        }
        HostAction::NstatReset => match counters(h) {
            Ok(now) => {
                h.env.nstat = now;
                ActionOutcome::Ok
            }
            Err(e) => ActionOutcome::Unsupported(e),
        },
        HostAction::NstatCheck { counter, value } => nstat_check(h, counter, *value),
        HostAction::ProcNetTcp { state, port } => {
            let found = h.n.socks.iter().any(|(_, s)| match s {
                Socket::Tcp(t) => {
                    sim_stack::tcp::info::state_number(t.state) == *state
                        && (t.sk.sport == *port || t.sk.dport == *port)
                }
                _ => false,
            });
            if found {
                ActionOutcome::Ok
            } else {
                ActionOutcome::Failed {
                    status: 1,
                    message: format!(
                        "no TCP socket in state {state:02X} with port {port:04X} in /proc/net/tcp"
                    ),
                }
            }
        }
        HostAction::RemoveFile(path) => {
            h.env.files.remove(path);
            ActionOutcome::Ok
        }
        HostAction::WriteZeros { path, len } => {
            h.env.files.insert(path.clone(), *len);
            ActionOutcome::Ok
        }
    }
}

fn no_device(dev: &str) -> ActionOutcome {
    ActionOutcome::Failed {
        status: 1,
        message: format!("Cannot find device \"{dev}\""),
    }
}

/// Puts the sysctls as set on the node (and what it keeps of them elsewhere).
fn apply_sysctls(h: &mut SimHost) {
    let s = h.env.sysctl();
    h.n.default_ttl = s.ip_default_ttl;
    h.n.forwarding = s.ip_forward;
    h.n.sysctl = s;
}

fn set_sysctl(h: &mut SimHost, name: &str, value: &str) -> ActionOutcome {
    let name = name.replace('/', ".");
    if let Some(r) = unread_sysctl(&name, value) {
        return match r {
            Ok(()) => ActionOutcome::Ok,
            Err(why) => ActionOutcome::Unsupported(format!("sysctl {name}={value}: {why}")),
        };
    }
    match sim_dsl::set_sysctl(&mut h.n.sysctl, &name, value) {
        Ok(()) => {
            h.env.log.push((name, value.to_string()));
            apply_sysctls(h);
            ActionOutcome::Ok
        }
        Err(sim_dsl::SysctlError::Unknown) => {
            ActionOutcome::Unsupported(format!("the simulated host has no sysctl {name}"))
        }
        Err(sim_dsl::SysctlError::Value(msg)) => ActionOutcome::Failed {
            status: 255,
            message: format!("sysctl: setting key \"{name}\": Invalid argument ({msg})"),
        },
    }
}

/// An integer as sysctl takes it (decimal or `0x` hex).
fn parse_int(v: &str) -> Option<i64> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The verdict on a sysctl the stack does not read (`None`: the stack reads it).
fn unread_sysctl(name: &str, value: &str) -> Option<Result<(), String>> {
    let v = parse_int(value);
    let only = |ok: &[i64], why: &str| -> Result<(), String> {
        if v.is_some_and(|v| ok.contains(&v)) {
            Ok(())
        } else {
            Err(why.to_string())
        }
    };
    Some(match name {
        // ip-sysctl.rst: "a legacy option, it has no effect anymore".
        "net.ipv4.tcp_fack" => only(&[0, 1], "a boolean"),
        "net.ipv4.tcp_reordering" => only(
            &[3],
            "the initial reordering degree is fixed at Linux's default, 3",
        ),
        "net.ipv4.tcp_recovery" => only(
            &[1],
            "loss detection is RACK (1, Linux's default); the other modes are not modeled",
        ),
        "net.ipv4.tcp_syncookies" => only(
            &[0, 1],
            "SYN cookies are not modeled: 0 and 1 (cookies only when the SYN queue \
             overflows, which the model does not bound) behave alike; 2 would send them always",
        ),
        // 0–2 are classic ECN, which the stack reads; 3–5 are Accurate ECN.
        "net.ipv4.tcp_ecn" if matches!(v, Some(3..=5)) => {
            Err("Accurate ECN (AccECN, tcp_ecn 3 to 5) is not modeled".into())
        }
        // The stack reads the client bits (0x1, 0x4); the server ones (0x2, 0x200) act only
        // on listeners asking for Fast Open (TCP_FASTOPEN), which the host refuses; 0x400
        // would make every listener take it.
        "net.ipv4.tcp_fastopen" => match v {
            Some(v) if v >= 0 && v & !(0x1 | 0x2 | 0x4 | 0x200) == 0 => return None,
            _ => Err(
                "server-side TCP Fast Open is not modeled; the bits taken are the client's \
                 (0x1, 0x4) and the server's that act only on listeners asking for it \
                 (0x2, 0x200), which the host refuses"
                    .into(),
            ),
        },
        // Used only by a Fast Open server, which the host refuses.
        "net.ipv4.tcp_fastopen_key" => Ok(()),
        "net.ipv4.tcp_fastopen_blackhole_timeout_sec" => only(
            &[0],
            "Fast Open's blackhole pause is not modeled (the host takes 0, Linux's default)",
        ),
        _ => return None,
    })
}

fn qdisc(
    h: &mut SimHost,
    op: &str,
    dev: &str,
    parent: &str,
    kind: Option<&str>,
    params: &[String],
) -> ActionOutcome {
    if dev != h.env.dev {
        return no_device(dev);
    }
    if parent != "root" {
        return ActionOutcome::Unsupported(format!(
            "tc qdisc … parent {parent}: the model has one root qdisc per device"
        ));
    }
    let failed = |m: &str| ActionOutcome::Failed {
        status: 2,
        message: m.to_string(),
    };
    let new = match (op, kind) {
        ("del", _) => {
            if h.env.default_qdisc {
                return failed("Error: Cannot delete qdisc with handle of zero.");
            }
            // The device gets its default qdisc back.
            h.env.default_qdisc = true;
            let q = Qdisc::PfifoFast(PfifoFast::new(TUN_READQ_SIZE));
            h.with(|n, cx| sim_stack::dev::dev_graft_qdisc(n, cx, 0, q));
            return ActionOutcome::Ok;
        }
        (_, None) => return failed("Error: Qdisc kind missing."),
        (_, Some(k)) => match qdisc_of(k, params) {
            Ok(q) => q,
            Err(why) => return ActionOutcome::Unsupported(why),
        },
    };
    match op {
        "add" if !h.env.default_qdisc => {
            return failed("Error: Exclusivity flag on, cannot modify.");
        }
        "change" if h.env.default_qdisc || h.n.devs[0].qdisc.kind() != new.kind() => {
            return failed("Error: Specified qdisc kind is different.");
        }
        "add" | "replace" | "change" => {}
        other => return ActionOutcome::Unsupported(format!("tc qdisc {other}")),
    }
    h.env.default_qdisc = false;
    h.with(|n, cx| sim_stack::dev::dev_graft_qdisc(n, cx, 0, new));
    ActionOutcome::Ok
}

/// The qdisc `tc qdisc … KIND PARAMS` makes on the tun device.
fn qdisc_of(kind: &str, params: &[String]) -> Result<Qdisc, String> {
    let cfg = match (kind, params) {
        ("pfifo", []) => QdiscConfig::Pfifo {
            limit: TUN_READQ_SIZE,
        },
        ("pfifo", [k, v]) if k == "limit" => QdiscConfig::Pfifo {
            limit: v
                .parse()
                .map_err(|_| format!("tc qdisc pfifo limit {v}: not a packet count"))?,
        },
        ("pfifo_fast", []) => QdiscConfig::PfifoFast,
        ("fq_codel", []) => QdiscConfig::FqCodel(Default::default()),
        _ => {
            return Err(format!(
                "tc qdisc {kind} {}: the host makes pfifo [limit N], pfifo_fast and fq_codel \
                 with its defaults",
                params.join(" ")
            ));
        }
    };
    // None of these kinds draws random numbers (netem would).
    Qdisc::from_config(&cfg, TUN_READQ_SIZE, || {
        sim_core::RngStreams::new(0).stream("netem", 0)
    })
    .map_err(|e| e.to_string())
}

/// `ip route add|replace|change|del PREFIX [via GATEWAY] [dev DEV]`.
fn route(h: &mut SimHost, words: &[String]) -> ActionOutcome {
    let unsupported = || {
        ActionOutcome::Unsupported(format!(
            "ip route {}: the host takes add, replace, change and del of a prefix with \
             `via` and `dev`",
            words.join(" ")
        ))
    };
    let [op, prefix, rest @ ..] = words else {
        return unsupported();
    };
    let Some((dst, len)) = parse_prefix(prefix) else {
        return unsupported();
    };
    let mut gateway = None;
    let mut i = 0;
    while i < rest.len() {
        match (rest[i].as_str(), rest.get(i + 1)) {
            ("via", Some(g)) => match g.parse::<Ipv4Addr>() {
                Ok(g) => gateway = Some(g),
                Err(_) => return unsupported(),
            },
            ("dev", Some(d)) if *d == h.env.dev => {}
            ("dev", Some(d)) => return no_device(d),
            _ => return unsupported(),
        }
        i += 2;
    }
    let r = Route {
        dst,
        prefix_len: len,
        gateway,
        dev: 0,
    };
    let exists =
        h.n.fib.routes().iter().any(|x| {
            x.prefix_len == len && u32::from(x.dst) & mask(len) == u32::from(dst) & mask(len)
        });
    let failed = |m: &str| ActionOutcome::Failed {
        status: 2,
        message: format!("RTNETLINK answers: {m}"),
    };
    match op.as_str() {
        "add" if exists => failed("File exists"),
        "change" if !exists => failed("No such file or directory"),
        "del" | "delete" => {
            if h.n.fib.remove(dst, len).is_some() {
                ActionOutcome::Ok
            } else {
                failed("No such process")
            }
        }
        "add" | "change" | "replace" => {
            h.n.fib.remove(dst, len);
            h.n.fib.add(r);
            ActionOutcome::Ok
        }
        _ => unsupported(),
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// `default`, `A.B.C.D` or `A.B.C.D/N`.
fn parse_prefix(p: &str) -> Option<(Ipv4Addr, u8)> {
    if p == "default" {
        return Some((Ipv4Addr::UNSPECIFIED, 0));
    }
    match p.split_once('/') {
        Some((a, l)) => {
            let l: u8 = l.parse().ok()?;
            (l <= 32).then_some((a.parse().ok()?, l))
        }
        None => Some((p.parse().ok()?, 32)),
    }
}

/// The counters `nstat` shows, by its names (`TcpInSegs`, `IpInReceives`).
fn counters(h: &SimHost) -> Result<BTreeMap<String, u64>, String> {
    let v = serde_json::to_value(&h.n.snmp).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    let groups = [
        ("ip", "Ip"),
        ("icmp", "Icmp"),
        ("udp", "Udp"),
        ("tcp", "Tcp"),
        ("tcp_ext", "TcpExt"),
    ];
    for (key, prefix) in groups {
        if let Some(m) = v.get(key).and_then(|g| g.as_object()) {
            for (name, n) in m {
                if let Some(n) = n.as_u64() {
                    out.insert(format!("{prefix}{name}"), n);
                }
            }
        }
    }
    Ok(out)
}

/// `nstat | grep NAME | grep -q " N "`: nstat prints the counters that moved since its last
/// run (and remembers them); the check holds if NAME moved by N.
fn nstat_check(h: &mut SimHost, counter: &str, value: u64) -> ActionOutcome {
    let now = match counters(h) {
        Ok(c) => c,
        Err(e) => return ActionOutcome::Unsupported(e),
    };
    let Some(&cur) = now.get(counter) else {
        return ActionOutcome::Unsupported(format!(
            "nstat counter {counter}: the stack does not count it"
        ));
    };
    let delta = cur - h.env.nstat.get(counter).copied().unwrap_or(0);
    h.env.nstat = now;
    if delta == value {
        ActionOutcome::Ok
    } else {
        ActionOutcome::Failed {
            status: 1,
            message: format!("{counter} moved by {delta}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DrillConfig;
    use crate::host::DrillHost;

    fn host() -> SimHost {
        let mut h = SimHost::new();
        h.setup(&TunSetup::of(&DrillConfig::ksft_ipv4()))
            .expect("set up");
        h
    }

    fn sysctl(name: &str, value: &str) -> HostAction {
        HostAction::Sysctl {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn set_sysctls_py_puts_back_what_it_set_and_only_that() {
        let mut h = host();
        assert_eq!(
            run(&mut h, &sysctl("net.ipv4.tcp_sack", "0")),
            ActionOutcome::Ok
        );
        let saved = HostAction::SysctlSaved {
            name: "net.ipv4.tcp_timestamps".into(),
            value: "0".into(),
        };
        assert_eq!(run(&mut h, &saved), ActionOutcome::Ok);
        assert!(!h.n.sysctl.tcp_timestamps);
        assert_eq!(
            run(&mut h, &sysctl("net.ipv4.ip_default_ttl", "9")),
            ActionOutcome::Ok
        );
        assert_eq!(h.n.default_ttl, 9, "what the node keeps of it follows");
        assert_eq!(run(&mut h, &HostAction::RestoreSysctls), ActionOutcome::Ok);
        assert!(h.n.sysctl.tcp_timestamps, "restored");
        assert!(!h.n.sysctl.tcp_sack, "not set by set_sysctls.py: kept");
        assert_eq!(h.n.sysctl.ip_default_ttl, 9);
    }

    #[test]
    fn sysctls_the_stack_does_not_read_are_taken_only_where_they_mean_the_model() {
        let mut h = host();
        assert_eq!(
            run(&mut h, &sysctl("net.ipv4.tcp_frto", "0")),
            ActionOutcome::Ok
        );
        assert_eq!(h.n.sysctl.tcp_frto, 0, "the stack reads it");
        assert_eq!(
            run(&mut h, &sysctl("net.ipv4.tcp_fastopen", "0x5")),
            ActionOutcome::Ok
        );
        assert_eq!(h.n.sysctl.tcp_fastopen, 5, "the stack reads it");
        assert!(matches!(
            run(&mut h, &sysctl("net.ipv4.tcp_fastopen", "0x403")),
            ActionOutcome::Unsupported(m) if m.contains("server-side TCP Fast Open")
        ));
        assert_eq!(h.n.sysctl.tcp_fastopen, 5);
        assert!(matches!(
            run(&mut h, &sysctl("net.ipv4.tcp_fastopen_blackhole_timeout_sec", "3600")),
            ActionOutcome::Unsupported(m) if m.contains("blackhole pause is not modeled")
        ));
        assert!(matches!(
            run(&mut h, &sysctl("net.ipv4.tcp_nonexistent", "1")),
            ActionOutcome::Unsupported(m) if m.contains("no sysctl net.ipv4.tcp_nonexistent")
        ));
        assert!(matches!(
            run(&mut h, &sysctl("net.ipv4.tcp_sack", "yes please")),
            ActionOutcome::Failed { status: 255, .. }
        ));
    }

    fn tc(op: &str, kind: Option<&str>, params: &[&str]) -> HostAction {
        HostAction::Qdisc {
            op: op.into(),
            dev: "tun0".into(),
            parent: "root".into(),
            kind: kind.map(Into::into),
            params: params.iter().map(|p| (*p).to_string()).collect(),
        }
    }

    #[test]
    fn tc_replaces_the_root_qdisc_with_tcs_errors() {
        let mut h = host();
        assert_eq!(h.n.devs[0].qdisc.kind(), "pfifo_fast");
        assert_eq!(
            run(&mut h, &tc("add", Some("pfifo"), &[])),
            ActionOutcome::Ok
        );
        assert_eq!(h.n.devs[0].qdisc.kind(), "pfifo");
        assert!(matches!(
            run(&mut h, &tc("add", Some("pfifo"), &["limit", "0"])),
            ActionOutcome::Failed { message, .. } if message.contains("Exclusivity flag on")
        ));
        assert_eq!(run(&mut h, &tc("del", None, &[])), ActionOutcome::Ok);
        assert!(matches!(
            run(&mut h, &tc("del", None, &[])),
            ActionOutcome::Failed { message, .. } if message.contains("handle of zero")
        ));
        assert_eq!(
            run(&mut h, &tc("add", Some("pfifo"), &["limit", "0"])),
            ActionOutcome::Ok
        );
        assert!(matches!(
            run(&mut h, &tc("add", Some("tbf"), &[])),
            ActionOutcome::Unsupported(_)
        ));
    }

    #[test]
    fn routes_are_added_and_deleted() {
        let mut h = host();
        let r = |w: &str| HostAction::Route(w.split(' ').map(String::from).collect());
        assert_eq!(
            run(&mut h, &r("add 10.0.0.0/8 via 192.168.0.9")),
            ActionOutcome::Ok
        );
        assert!(matches!(
            run(&mut h, &r("add 10.0.0.0/8 via 192.168.0.9")),
            ActionOutcome::Failed { message, .. } if message == "RTNETLINK answers: File exists"
        ));
        let hop = h.n.fib.lookup(Ipv4Addr::new(10, 1, 2, 3)).expect("a route");
        assert_eq!(hop.nexthop, Ipv4Addr::new(192, 168, 0, 9));
        assert_eq!(run(&mut h, &r("del 10.0.0.0/8")), ActionOutcome::Ok);
        assert!(h.n.fib.lookup(Ipv4Addr::new(10, 1, 2, 3)).is_none());
        assert!(matches!(
            run(&mut h, &r("add 10.0.0.0/8 dev eth7")),
            ActionOutcome::Failed { .. }
        ));
    }

    #[test]
    fn nstat_reports_how_much_a_counter_moved_since_it_last_ran() {
        let mut h = host();
        assert_eq!(run(&mut h, &HostAction::NstatReset), ActionOutcome::Ok);
        h.n.snmp.tcp.InSegs += 3;
        let check = |n: u64| HostAction::NstatCheck {
            counter: "TcpInSegs".into(),
            value: n,
        };
        assert_eq!(run(&mut h, &check(3)), ActionOutcome::Ok);
        h.n.snmp.tcp_ext.TCPTimeouts += 2;
        let ext = HostAction::NstatCheck {
            counter: "TcpExtTCPTimeouts".into(),
            value: 2,
        };
        assert_eq!(run(&mut h, &ext), ActionOutcome::Ok, "TcpExt is kept too");
        assert!(
            matches!(run(&mut h, &check(3)), ActionOutcome::Failed { .. }),
            "history moved"
        );
        assert!(matches!(
            run(
                &mut h,
                &HostAction::NstatCheck {
                    counter: "TcpExtTCPRcvQDrop".into(),
                    value: 3
                }
            ),
            ActionOutcome::Unsupported(_)
        ));
    }
}
