//! ICMP connection tracking (`nf_conntrack_proto_icmp.c` of Linux 6.1): queries and their
//! replies paired by id (30 s); errors are `RELATED` to the connection of the header they
//! quote (see `Conntrack::nf_conntrack_in`).

use super::conntrack::{ConntrackSysctl, NfConn};

/// `NR_ICMP_TYPES`: the highest known ICMP type.
pub(crate) const NR_ICMP_TYPES: u8 = 18;

/// `icmp_is_err`: destination unreachable, source quench, redirect, time exceeded,
/// parameter problem.
#[must_use]
pub const fn icmp_is_err(icmp_type: u8) -> bool {
    matches!(icmp_type, 3 | 4 | 5 | 11 | 12)
}

/// `nf_conntrack_icmp_packet`: only a query (echo, timestamp, info, address mask) can
/// make an entry; a reply without its query is invalid. `false` for invalid.
pub(crate) fn nf_conntrack_icmp_packet(
    ct: &mut NfConn,
    now_j: u64,
    sysctl: &ConntrackSysctl,
) -> bool {
    if !matches!(ct.tuplehash[0].icmp_type(), 8 | 13 | 15 | 17) {
        return false;
    }
    ct.refresh(now_j, sysctl.nf_conntrack_icmp_timeout);
    true
}
