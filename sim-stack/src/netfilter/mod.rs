//! Netfilter: the five IPv4 hooks, iptables' tables and chains, matches and targets.
//!
//! The hooks are traversed where the kernel traverses them: `PRE_ROUTING` and `LOCAL_IN` on
//! receive, `FORWARD` on routers, `LOCAL_OUT` and `POST_ROUTING` on output. At each hook the
//! tables run in the kernel's priority order ([`hook`]): `raw` (−300), connection tracking
//! (−200), `mangle` (−150), `nat` for destinations (−100), `filter` (0), `nat` for sources
//! (100), and the conntrack confirmation last. A node's rules are written as iptables
//! commands ([`iptables`]) and listed as `iptables -L -v -n` and `iptables-save` list them
//! ([`iptables_show`]).
//!
//! A node without rules pays one test per hook, as the kernel's static keys skip hooks
//! nobody registered.

pub mod conntrack;
pub mod conntrack_icmp;
pub mod conntrack_show;
pub mod conntrack_tcp;
pub mod conntrack_tuple;
pub mod conntrack_udp;
pub mod hook;
pub mod iptables;
pub mod iptables_show;
pub mod log;
pub mod nat;
pub mod nat_proto;
pub mod reject;
pub mod rule;
pub mod table;
pub mod target;
pub mod tcpmss;
pub mod xt_limit;
pub mod xt_match;

use serde::{Deserialize, Serialize};

pub use rule::{Inv, IpMatch, PacketInfo, Rule};
pub use table::{Chain, Policy, Ruleset, Table, TableError, TableId};
pub use target::{LogTarget, NatTo, RejectWith, Target};
pub use xt_match::{Match, Nth, NthError};

/// A hook point (`NF_INET_*`). A scenario names it as iptables names the chain
/// (`Input`, `Output`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Hook {
    /// `NF_INET_PRE_ROUTING`, chain `PREROUTING`: every received packet, before routing.
    PreRouting,
    /// `NF_INET_LOCAL_IN`, chain `INPUT`: packets for this node, before the socket.
    #[serde(rename = "Input")]
    LocalIn,
    /// `NF_INET_FORWARD`, chain `FORWARD`: packets being routed through.
    Forward,
    /// `NF_INET_LOCAL_OUT`, chain `OUTPUT`: locally generated packets, after routing.
    #[serde(rename = "Output")]
    LocalOut,
    /// `NF_INET_POST_ROUTING`, chain `POSTROUTING`: every packet leaving, after routing.
    PostRouting,
}

impl Hook {
    /// The name used in path traces: `nf_hook(LOCAL_OUT)`.
    pub fn trace_name(self) -> &'static str {
        match self {
            Self::PreRouting => "nf_hook(PRE_ROUTING)",
            Self::LocalIn => "nf_hook(LOCAL_IN)",
            Self::Forward => "nf_hook(FORWARD)",
            Self::LocalOut => "nf_hook(LOCAL_OUT)",
            Self::PostRouting => "nf_hook(POST_ROUTING)",
        }
    }

    /// The built-in chain's name (`PREROUTING`, `INPUT`, …).
    pub fn chain_name(self) -> &'static str {
        match self {
            Self::PreRouting => "PREROUTING",
            Self::LocalIn => "INPUT",
            Self::Forward => "FORWARD",
            Self::LocalOut => "OUTPUT",
            Self::PostRouting => "POSTROUTING",
        }
    }
}

/// A node's netfilter state: its tables and their counters, and its connection tracking.
#[derive(Debug, Default)]
pub struct Netfilter {
    /// The tables (linked: jumps resolved).
    pub ruleset: Ruleset,
    /// Whether any table has a rule or a DROP policy: hooks are skipped otherwise.
    pub active: bool,
    /// Packets dropped at a hook (DROP, a DROP policy, REJECT, a match's hot drop, conntrack
    /// or NAT refusing one).
    pub dropped: u64,
    /// The connection tracking table, when a rule needs it (the nat table, a state or
    /// connmark match, CONNMARK, NOTRACK), as `nf_conntrack` is loaded into a namespace that
    /// uses it.
    pub conntrack: Option<Box<conntrack::Conntrack>>,
    /// The stream NAT draws ports from (`--random`, clashes), with conntrack.
    pub nat_rng: Option<Box<sim_core::SimRng>>,
}

impl Netfilter {
    /// The node's netfilter with `ruleset`, checked and linked as the kernel loads a table;
    /// conntrack with `sysctl` on a clock of the node's `jiffies_phase` when a rule needs it.
    pub fn new(
        mut ruleset: Ruleset,
        sysctl: conntrack::ConntrackSysctl,
        jiffies_phase: u64,
        nat_rng: impl FnOnce() -> sim_core::SimRng,
    ) -> Result<Self, TableError> {
        ruleset.link()?;
        let tracks = ruleset.needs_conntrack();
        Ok(Self {
            active: !ruleset.is_empty(),
            ruleset,
            dropped: 0,
            conntrack: tracks.then(|| Box::new(conntrack::Conntrack::new(sysctl, jiffies_phase))),
            nat_rng: tracks.then(|| Box::new(nat_rng())),
        })
    }

    /// An skb carrying `nfct` was freed: an entry it created and never confirmed goes with
    /// it (`nf_conntrack_put` of an unconfirmed entry).
    pub(crate) fn skb_freed(&mut self, nfct: hook::NfCt) {
        if let (Some(ct), hook::NfCt::Conn { id, .. }) = (self.conntrack.as_mut(), nfct)
            && ct.get(id).is_some_and(|c| !c.is_confirmed())
        {
            ct.put_unconfirmed(id);
        }
    }
}
