//! Rule targets (`-j`/`-g`): the verdicts, jumps into user chains, and the `xt_*`/`ipt_*`
//! target modules this model has.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::Hook;
use super::xt_match::PortRange;

/// What `REJECT --reject-with` sends back (`enum ipt_reject_with`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectWith {
    /// `icmp-net-unreachable`.
    NetUnreachable,
    /// `icmp-host-unreachable`.
    HostUnreachable,
    /// `icmp-port-unreachable` (the default).
    PortUnreachable,
    /// `icmp-proto-unreachable`.
    ProtoUnreachable,
    /// `icmp-net-prohibited`.
    NetProhibited,
    /// `icmp-host-prohibited`.
    HostProhibited,
    /// `icmp-admin-prohibited`.
    AdminProhibited,
    /// `tcp-reset`.
    TcpReset,
}

impl RejectWith {
    /// Every kind with its iptables name.
    pub const ALL: [(Self, &'static str); 8] = [
        (Self::NetUnreachable, "icmp-net-unreachable"),
        (Self::HostUnreachable, "icmp-host-unreachable"),
        (Self::PortUnreachable, "icmp-port-unreachable"),
        (Self::ProtoUnreachable, "icmp-proto-unreachable"),
        (Self::NetProhibited, "icmp-net-prohibited"),
        (Self::HostProhibited, "icmp-host-prohibited"),
        (Self::AdminProhibited, "icmp-admin-prohibited"),
        (Self::TcpReset, "tcp-reset"),
    ];

    /// The name iptables prints (`reject-with icmp-port-unreachable`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }

    /// The ICMP destination-unreachable code it sends (None for `tcp-reset`).
    pub fn icmp_code(self) -> Option<u8> {
        Some(match self {
            Self::NetUnreachable => 0,
            Self::HostUnreachable => 1,
            Self::ProtoUnreachable => 2,
            Self::PortUnreachable => 3,
            Self::NetProhibited => 9,
            Self::HostProhibited => 10,
            Self::AdminProhibited => 13,
            Self::TcpReset => return None,
        })
    }
}

/// `LOG`'s options (`struct xt_log_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTarget {
    /// `--log-prefix` (at most 29 characters).
    pub prefix: String,
    /// `--log-level` (syslog level, default 4: warning).
    pub level: u8,
    /// `--log-tcp-sequence`.
    #[serde(default)]
    pub tcp_seq: bool,
    /// `--log-tcp-options`.
    #[serde(default)]
    pub tcp_options: bool,
    /// `--log-ip-options`.
    #[serde(default)]
    pub ip_options: bool,
    /// `--log-uid`.
    #[serde(default)]
    pub uid: bool,
}

/// Where a NAT target maps to: an address range and optionally a port range
/// (`struct nf_nat_range2`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatTo {
    /// First address (`None`: keep the address, only ports — `REDIRECT`/`MASQUERADE` fill
    /// it in).
    pub min_addr: Option<Ipv4Addr>,
    /// Last address.
    pub max_addr: Option<Ipv4Addr>,
    /// The port range, if one was given.
    pub ports: Option<PortRange>,
    /// `--random`: `NF_NAT_RANGE_PROTO_RANDOM`.
    #[serde(default)]
    pub random: bool,
    /// `--random-fully`: `NF_NAT_RANGE_PROTO_RANDOM_FULLY`.
    #[serde(default)]
    pub random_fully: bool,
    /// `--persistent`: `NF_NAT_RANGE_PERSISTENT`.
    #[serde(default)]
    pub persistent: bool,
}

/// How `CONNMARK` changes marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnmarkMode {
    /// `--set-xmark V/M`: `ctmark = (ctmark & ~M) ^ V`.
    Set {
        /// V.
        value: u32,
        /// M.
        mask: u32,
    },
    /// `--save-mark --nfmask N --ctmask C`: `ctmark = (ctmark & ~C) ^ (mark & N)`.
    Save {
        /// N.
        nfmask: u32,
        /// C.
        ctmask: u32,
    },
    /// `--restore-mark --nfmask N --ctmask C`: `mark = (mark & ~N) ^ (ctmark & C)`.
    Restore {
        /// N.
        nfmask: u32,
        /// C.
        ctmask: u32,
    },
}

/// What `TCPMSS` sets the MSS option of a SYN to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tcpmss {
    /// `--set-mss N`.
    Set(u16),
    /// `--clamp-mss-to-pmtu`: the path MTU less 40.
    ClampPmtu,
}

/// A rule's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// No `-j`: the rule counts and evaluation goes on.
    Continue,
    /// `ACCEPT`.
    Accept,
    /// `DROP`.
    Drop,
    /// `RETURN`.
    Return,
    /// `-j CHAIN`: into a user chain, coming back after it.
    Jump(String),
    /// `-g CHAIN`: into a user chain, returning to the caller of this one.
    Goto(String),
    /// `REJECT` (INPUT, FORWARD, OUTPUT).
    Reject(RejectWith),
    /// `LOG`: a kernel log line, then on.
    Log(LogTarget),
    /// `MARK --set-xmark V/M` (`--set-mark`, `--and-mark`, `--or-mark`, `--xor-mark` are
    /// written as it): `mark = (mark & ~M) ^ V`.
    Mark {
        /// V.
        value: u32,
        /// M.
        mask: u32,
    },
    /// `CONNMARK`.
    Connmark(ConnmarkMode),
    /// `SNAT --to-source` (nat POSTROUTING, INPUT).
    Snat(NatTo),
    /// `DNAT --to-destination` (nat PREROUTING, OUTPUT).
    Dnat(NatTo),
    /// `MASQUERADE [--to-ports] [--random]` (nat POSTROUTING): SNAT to the output device's
    /// address.
    Masquerade(NatTo),
    /// `REDIRECT [--to-ports]` (nat PREROUTING, OUTPUT): DNAT to the input device's address
    /// (127.0.0.1 on OUTPUT).
    Redirect(NatTo),
    /// `TCPMSS` (mangle): lower the MSS option of TCP SYNs.
    Tcpmss(Tcpmss),
    /// `NOTRACK` / `CT --notrack` (raw): the packet is not tracked. `ct`: written as `CT
    /// --notrack`.
    Notrack {
        /// Written as `-j CT --notrack` (else `-j NOTRACK`).
        ct: bool,
    },
}

impl Target {
    /// The hooks a built-in target may be used from (`xt_target.hooks`); `None` for any.
    pub fn hooks(&self) -> Option<&'static [Hook]> {
        use Hook::*;
        match self {
            Self::Reject(_) => Some(&[LocalIn, Forward, LocalOut]),
            Self::Tcpmss(Tcpmss::ClampPmtu) => Some(&[Forward, LocalOut, PostRouting]),
            Self::Snat(_) => Some(&[PostRouting, LocalIn]),
            Self::Masquerade(_) => Some(&[PostRouting]),
            Self::Dnat(_) | Self::Redirect(_) => Some(&[PreRouting, LocalOut]),
            _ => None,
        }
    }

    /// The table a built-in target is restricted to (`xt_target.table`), if any.
    pub fn table(&self) -> Option<super::table::TableId> {
        use super::table::TableId;
        match self {
            Self::Snat(_) | Self::Dnat(_) | Self::Masquerade(_) | Self::Redirect(_) => {
                Some(TableId::Nat)
            }
            Self::Notrack { .. } => Some(TableId::Raw),
            _ => None,
        }
    }

    /// The name iptables lists in the `target` column.
    pub fn name(&self) -> &str {
        match self {
            Self::Continue => "",
            Self::Accept => "ACCEPT",
            Self::Drop => "DROP",
            Self::Return => "RETURN",
            Self::Jump(c) | Self::Goto(c) => c,
            Self::Reject(_) => "REJECT",
            Self::Log(_) => "LOG",
            Self::Mark { .. } => "MARK",
            Self::Connmark(_) => "CONNMARK",
            Self::Snat(_) => "SNAT",
            Self::Dnat(_) => "DNAT",
            Self::Masquerade(_) => "MASQUERADE",
            Self::Redirect(_) => "REDIRECT",
            Self::Notrack { .. } => "CT",
            Self::Tcpmss(_) => "TCPMSS",
        }
    }

    /// Whether the target needs connection tracking in the node.
    pub fn needs_conntrack(&self) -> bool {
        matches!(
            self,
            Self::Connmark(_)
                | Self::Snat(_)
                | Self::Dnat(_)
                | Self::Masquerade(_)
                | Self::Redirect(_)
                | Self::Notrack { .. }
        )
    }
}
