//! The simulated Linux host `sim drill` runs scripts against: one [`Node`] of the modeled
//! stack whose only interface is a tun device, driven without a World.
//!
//! * **The device** is set up as packetdrill's `netdev.c` sets up `tun0` for the kernel's
//!   selftests: `IFF_TUN | IFF_NO_PI`, no ARP, the local address and prefix, MTU 1500, TSO
//!   and GSO on, the route to the remote peer through the gateway, Linux's default root
//!   qdisc (`pfifo_fast`) until `defaults.sh` replaces it. Outbound packets are read from the
//!   device's queue with the instant they passed `dev_hard_start_xmit`; inbound ones are
//!   written into it (`tun_get_user` → `netif_receive_skb` → `ip_rcv`).
//! * **Time** is the node's own scheduler: [`DrillHost::advance_to`] runs the node's events
//!   (TCP timers, the qdisc watchdog) up to an instant and never looks past it, so a packet
//!   may still be injected anywhere from the clock on.
//! * **System calls** go to `sim_stack::sock::syscall` ([`calls`]). Descriptors are
//!   numbered as Linux numbers them (the lowest free one from 3). A call on a blocking
//!   descriptor that would block is parked, and made again when the stack wakes one of the
//!   sockets it waits for (`sk_data_ready`, `sk_write_space`, `sk_state_change`,
//!   `sk_error_report`: the stack's `sk_wake`), at that instant; a blocking write keeps what
//!   it copied and waits for room for the rest, as `tcp_sendmsg` does.
//! * **Commands** (`sysctl`, `tc`, `ethtool`, `ip`, `nstat`, files) are in [`actions`].
//!
//! Anything the stack cannot carry is reported as unsupported with the reason, never
//! skipped.

mod actions;
mod calls;
mod pipe;

use std::collections::{BTreeMap, BTreeSet};

use core::net::{IpAddr, Ipv4Addr};
use sim_core::{RngStreams, SimTime};
use sim_stack::config::Sysctls;
use sim_stack::ctx::{NetCtx, Solo};
use sim_stack::dev::{NetDevice, TUN_READQ_SIZE};
use sim_stack::event::Event;
use sim_stack::ip::fib::{Fib, Route};
use sim_stack::node::Node;
use sim_stack::qdisc::{PfifoFast, Qdisc};
use sim_stack::sock::SockId;

use sim_stack::config::{IfaceConfig, Ipv6DevConf, QdiscConfig};
use sim_stack::wire::{Ipv4Cidr, Ipv6Cidr};

use crate::code::InfoVars;
use crate::command::HostAction;
use crate::host::{
    ActionOutcome, CallId, Completion, DrillHost, Fd, Inbound, Outbound, Syscall, SyscallOutcome,
    TunSetup,
};
use crate::packet::Segment;

/// The owner the stack wakes for every socket of the host (the script's process).
const PROCESS: u32 = 0;

/// What a descriptor refers to.
#[derive(Debug, Clone)]
enum FdObj {
    /// A socket of the node.
    Sock(SockId),
    /// A regular file opened for reading: its length (files hold zeros, as the scripts'
    /// `dd if=/dev/zero` makes them).
    File { len: u64 },
    /// One end of a pipe of `SimHost::pipes`.
    Pipe {
        /// The pipe.
        id: u32,
        /// The write end (else the read end).
        write: bool,
        /// `O_NONBLOCK` on this descriptor.
        nonblock: bool,
    },
}

/// A blocking call waiting for one of its sockets to wake.
#[derive(Debug, Clone)]
struct Parked {
    id: CallId,
    call: Syscall,
    /// The sockets whose wake-up makes the call try again.
    socks: Vec<SockId>,
    /// Bytes a blocking write has copied so far.
    done: usize,
}

/// The simulated host.
#[derive(Debug)]
pub struct SimHost {
    n: Node,
    /// Its clock, events and buffers.
    net: Solo,
    /// Open descriptors.
    fds: BTreeMap<Fd, FdObj>,
    /// Sockets with `SO_ZEROCOPY` set.
    zerocopy: BTreeSet<SockId>,
    /// Sockets that sent with `MSG_ZEROCOPY` (completion notifications are not modeled).
    zerocopy_sent: BTreeSet<SockId>,
    parked: Vec<Parked>,
    completions: Vec<Completion>,
    next_call: u64,
    outbound: Vec<Outbound>,
    /// Sockets woken since blocked calls were last retried.
    woken: BTreeSet<SockId>,
    /// Commands' state (sysctls as set, files, nstat history, the qdisc).
    env: actions::Env,
    /// Pipes, by the id their descriptors name.
    pipes: BTreeMap<u32, pipe::Pipe>,
}

impl Default for SimHost {
    fn default() -> Self {
        Self::new()
    }
}

impl SimHost {
    /// A host with Linux's defaults and no interface yet ([`DrillHost::setup`] adds tun0).
    pub fn new() -> Self {
        let streams = RngStreams::new(1);
        let sysctl = Sysctls::default();
        let n = Node::host(
            "drill",
            Vec::new(),
            Fib::new(),
            sysctl.clone(),
            streams.stream_named("node", "drill"),
        );
        Self {
            n,
            net: Solo::new(),
            pipes: BTreeMap::new(),
            fds: BTreeMap::new(),
            zerocopy: BTreeSet::new(),
            zerocopy_sent: BTreeSet::new(),
            parked: Vec::new(),
            completions: Vec::new(),
            next_call: 0,
            outbound: Vec::new(),
            woken: BTreeSet::new(),
            env: actions::Env::new(sysctl),
        }
    }

    /// Runs `f` on the node with a context, as an event handler would; then collects the
    /// wake-ups it asked for.
    fn with<R>(&mut self, f: impl FnOnce(&mut Node, &mut NetCtx<'_>) -> R) -> R {
        let r = self.net.with(&mut self.n, f);
        let woken = self.net.take_woken(&mut self.n);
        self.woken.extend(woken);
        r
    }

    /// The packets the device sent since last read, with the instants they left.
    fn read_device(&mut self) {
        while let Some((time, skb)) = sim_stack::dev::tun_read(&mut self.n, 0) {
            self.outbound.push(Outbound {
                time,
                bytes: skb.data().to_vec(),
            });
            self.net.shared.pool.free(skb);
        }
    }

    /// After anything happened: the packets the device sent, then the blocked calls whose
    /// sockets woke are made again, at this instant (which may wake others).
    fn settle(&mut self) {
        self.read_device();
        while !self.woken.is_empty() {
            let woken = std::mem::take(&mut self.woken);
            let parked = std::mem::take(&mut self.parked);
            for p in parked {
                if !p.socks.iter().any(|s| woken.contains(s)) {
                    self.parked.push(p);
                    continue;
                }
                match self.exec(&p.call, p.done, true) {
                    calls::Exec::Done(ret) => self.completions.push(Completion {
                        id: p.id,
                        time: self.net.sched.now(),
                        ret,
                    }),
                    calls::Exec::Block { socks, done } => {
                        self.parked.push(Parked { socks, done, ..p })
                    }
                    // What makes a call unsupported is checked when it is first made, and
                    // nothing done meanwhile changes it (see `calls::send` for MSG_ZEROCOPY).
                    calls::Exec::Unsupported(why) => {
                        unreachable!("a parked call became unsupported: {why}")
                    }
                }
            }
            self.read_device();
        }
    }

    /// Whether a blocked `poll` waits on socket `s`.
    fn polled(&self, s: SockId) -> bool {
        self.parked
            .iter()
            .any(|p| matches!(p.call, Syscall::Poll { .. }) && p.socks.contains(&s))
    }

    /// The lowest free descriptor from 3, as Linux allocates them (0–2 are the process's
    /// standard streams).
    fn new_fd(&mut self, obj: FdObj) -> Fd {
        let fd = (3..)
            .find(|f| !self.fds.contains_key(f))
            .expect("a free descriptor");
        self.fds.insert(fd, obj);
        fd
    }

    /// `tun0` as `netdev.c` creates it: `IFF_TUN | IFF_NO_PI`, offloads on unless told.
    fn tun_device(&mut self, tun: &TunSetup, v4: Option<Ipv4Cidr>) -> NetDevice {
        let mut dev = NetDevice::tun(
            &tun.name,
            v4.unwrap_or_else(|| Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0)),
            tun.mtu,
            Qdisc::PfifoFast(PfifoFast::new(TUN_READQ_SIZE)),
            self.net.sched.new_timer(),
        );
        if v4.is_none() {
            dev.addr = None;
        }
        dev.features.tso = tun.offloads;
        dev.features.gso = tun.offloads;
        dev
    }

    /// `tun0` over IPv6, as packetdrill sets it up for `--ip_version=ipv6`: the device up
    /// (`SIOCSIFFLAGS`), then `ip addr add LOCAL/48 dev tun0` and `ip -6 route add
    /// REMOTE/128 dev tun0 via GATEWAY`. Linux gives the device (`ARPHRD_NONE`,
    /// `IFF_NOARP`) a random link-local address, skips DAD and joins no solicited-node
    /// group, so the address is usable at once and no Neighbour Discovery or MLD report
    /// leaves; the link-local address's completion sends a Router Solicitation, repeated
    /// with `rtr_solicit_interval`'s back-off (packetdrill skips them: they belong to no
    /// socket). IPv6 needs an MTU of at least 1280 (`IPV6_MIN_MTU`).
    fn setup6(&mut self, tun: &TunSetup) -> Result<(), String> {
        let (IpAddr::V6(local), IpAddr::V6(remote), IpAddr::V6(gateway)) =
            (tun.local_ip, tun.remote_ip, tun.gateway_ip)
        else {
            return Err("the local, remote and gateway addresses mix IPv4 and IPv6".into());
        };
        if !(1280..=65535).contains(&tun.mtu) {
            return Err(format!(
                "MTU {} is outside 1280..=65535 (IPv6's minimum MTU is 1280)",
                tun.mtu
            ));
        }
        let dev = self.tun_device(tun, None);
        let streams = RngStreams::new(1);
        self.n = Node::host(
            "drill",
            vec![dev],
            Fib::new(),
            self.env.sysctl(),
            streams.stream_named("node", "drill"),
        );
        let cidr = Ipv6Cidr::new(local, tun.prefix_len);
        let cfg = IfaceConfig {
            name: tun.name.clone(),
            addr: None,
            addrs6: vec![cidr],
            ipv6: Ipv6DevConf::default(),
            mac: self.n.devs[0].mac,
            mtu: tun.mtu,
            txqueuelen: TUN_READQ_SIZE,
            qdisc: QdiscConfig::PfifoFast,
            tx_ring: 1,
            tso: tun.offloads,
        };
        sim_stack::ipv6::addrconf::ipv6_add_dev(&mut self.n, &mut self.net.sched, 0, &cfg);
        // netdev.c: `ip -6 route add REMOTE/128 dev tun0 via GATEWAY`.
        self.n
            .fib6
            .add_static(Ipv6Cidr::new(remote, 128), Some(gateway), 0);
        // The link comes up as the script starts (packetdrill's comes up just before).
        self.net.sched.schedule_at(
            SimTime::ZERO,
            Event::Ipv6Timer {
                node: 0,
                dev: 0,
                which: sim_stack::ipv6::addrconf::Ipv6TimerKind::Up,
            },
        );
        self.n.jiffies_phase = sim_stack::jiffies::JIFFY_NS / 2;
        self.env.setup(tun);
        // Bring the link up now, before any call: the address is valid at time zero.
        self.advance_to(SimTime::ZERO);
        Ok(())
    }

    /// Makes a call, or a parked one again; `retry` when the call was parked before.
    fn exec(&mut self, call: &Syscall, done: usize, retry: bool) -> calls::Exec {
        calls::exec(self, call, done, retry)
    }
}

impl DrillHost for SimHost {
    fn setup(&mut self, tun: &TunSetup) -> Result<(), String> {
        if !self.n.devs.is_empty() {
            return Err("the host is already set up".into());
        }
        if tun.speed_mbps.is_some() {
            return Err("--speed: a tun device has no link speed in the model".into());
        }
        let (IpAddr::V4(local), IpAddr::V4(remote), IpAddr::V4(gateway)) =
            (tun.local_ip, tun.remote_ip, tun.gateway_ip)
        else {
            return self.setup6(tun);
        };
        if !(68..=65535).contains(&tun.mtu) {
            return Err(format!("MTU {} is outside 68..=65535", tun.mtu));
        }
        let cidr = Ipv4Cidr::new(local, tun.prefix_len);
        let dev = self.tun_device(tun, Some(cidr));
        let mut fib = Fib::new();
        fib.add_local(local);
        if let Some(b) = cidr.broadcast() {
            fib.add_broadcast(b);
        }
        fib.add(Route {
            dst: cidr.network().address(),
            prefix_len: tun.prefix_len,
            gateway: None,
            dev: 0,
        });
        // netdev.c: `ip route add REMOTE via GATEWAY dev tun0`.
        fib.add(Route {
            dst: remote,
            prefix_len: 32,
            gateway: Some(gateway),
            dev: 0,
        });
        let streams = RngStreams::new(1);
        self.n = Node::host(
            "drill",
            vec![dev],
            fib,
            self.env.sysctl(),
            streams.stream_named("node", "drill"),
        );
        // The kernel's jiffies ticks fall anywhere between packetdrill's instants, which are
        // whole milliseconds from its start: half a jiffy off, a timer armed on one of them
        // fires in the middle of the span the real kernel's does, not at its late edge.
        self.n.jiffies_phase = sim_stack::jiffies::JIFFY_NS / 2;
        self.env.setup(tun);
        Ok(())
    }

    fn now(&self) -> SimTime {
        self.net.sched.now()
    }

    fn next_event(&self) -> Option<SimTime> {
        self.net.sched.next_time()
    }

    fn advance_to(&mut self, t: SimTime) {
        while let Some(event) = self.net.sched.pop_due(t) {
            match event {
                Event::AppTimer {
                    app: PROCESS,
                    token,
                } => calls::timeout(self, token),
                other => {
                    let _ = self.with(|n, cx| sim_stack::node::node_event(n, cx, other));
                }
            }
            self.settle();
        }
        let now = self.net.sched.now();
        self.net.sched.advance_idle(t.max(now));
    }

    fn inject(&mut self, packet: &Inbound) -> Result<(), String> {
        let mut skb = self.net.shared.pool.alloc_copy(&packet.bytes);
        // --mss: packetdrill writes each TCP packet behind a virtio_net_hdr saying
        // VIRTIO_NET_HDR_GSO_TCPV4 with gso_size = the MSS; one larger than a segment
        // arrives as a GRO packet.
        if let Some(g) = packet.gso_size
            && Segment::parse(&packet.bytes).is_ok()
        {
            sim_stack::virtio_net::virtio_net_hdr_to_skb(&mut skb, g);
        }
        self.with(|n, cx| sim_stack::dev::tun_get_user(n, cx, 0, skb));
        self.settle();
        Ok(())
    }

    fn take_outbound(&mut self) -> Vec<Outbound> {
        self.settle();
        std::mem::take(&mut self.outbound)
    }

    fn syscall(&mut self, call: &Syscall) -> SyscallOutcome {
        let out = match self.exec(call, 0, false) {
            calls::Exec::Done(ret) => SyscallOutcome::Done(ret),
            calls::Exec::Block { socks, done } => {
                self.next_call += 1;
                let id = CallId(self.next_call);
                self.parked.push(Parked {
                    id,
                    call: call.clone(),
                    socks,
                    done,
                });
                calls::arm_timeout(self, id, call);
                SyscallOutcome::Blocked(id)
            }
            calls::Exec::Unsupported(why) => SyscallOutcome::Unsupported(why),
        };
        self.settle();
        out
    }

    fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.completions)
    }

    fn code_vars(&mut self, fd: Fd) -> Result<InfoVars, i32> {
        calls::code_vars(self, fd)
    }

    fn run_action(&mut self, action: &HostAction) -> ActionOutcome {
        let out = actions::run(self, action);
        self.settle();
        out
    }
}

/// What running one script gave.
#[derive(Debug)]
pub struct ScriptRun {
    /// Pass, the first mismatch, unsupported, or the script's own errors.
    pub outcome: crate::report::Outcome,
    /// The run, when the script loaded (its exchange, for `--pcap`).
    pub report: Option<crate::runner::RunReport>,
}

/// Loads the script at `path` with the kernel selftests' setup for `version`
/// (`ksft_runner.sh`'s `ip_args`, its `--ip_version` winning over the script's as a
/// command-line option does) and the command-line options `cli` (`tolerance_usecs`, …),
/// and runs it against a fresh simulated host.
pub fn run_script(
    path: &std::path::Path,
    version: crate::config::IpVersion,
    cli: &[(String, Option<String>)],
) -> ScriptRun {
    let mut cli = cli.to_vec();
    cli.insert(0, ("ip_version".into(), Some(version.name().into())));
    match crate::model::load(path, crate::config::DrillConfig::ksft(version), &cli) {
        Ok(program) => {
            let mut host = SimHost::new();
            let report = crate::runner::run(&program, &mut host);
            ScriptRun {
                outcome: crate::report::Outcome::of_run(&report),
                report: Some(report),
            }
        }
        Err(e) => ScriptRun {
            outcome: crate::report::Outcome::of_load_error(&e),
            report: None,
        },
    }
}

/// The versions `ksft_runner.sh` runs a script in: those of its `--ip_version=` lines
/// (`grep -E '^--ip_version='`), or IPv4 and IPv6. An unreadable script gives both (its
/// runs then say why it cannot be read).
pub fn script_versions(path: &std::path::Path) -> Vec<crate::config::IpVersion> {
    use crate::config::IpVersion;
    let own = script_own_versions(path);
    if own.is_empty() {
        vec![IpVersion::V4, IpVersion::V6]
    } else {
        own
    }
}

/// The versions a script's own `--ip_version=` lines name, in order, without repeats
/// (none: the script runs in any).
pub fn script_own_versions(path: &std::path::Path) -> Vec<crate::config::IpVersion> {
    use crate::config::IpVersion;
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out: Vec<IpVersion> = text
        .lines()
        .filter_map(|l| l.strip_prefix("--ip_version="))
        .filter_map(|v| IpVersion::from_name(v.trim()))
        .collect();
    out.sort();
    out.dedup();
    out
}
