//! What `ip neigh` (and `ip -6 neigh`) prints for a node's neighbour tables, byte for byte
//! as iproute2 6.1 prints it (`print_neigh` in `ip/ipneigh.c`), so that a snapshot diffs
//! against a real machine.
//!
//! One line an entry: `ADDR dev DEV lladdr MAC STATE ` (with the trailing space `ip` leaves),
//! without `lladdr` while the address is not valid (`INCOMPLETE`, `FAILED`: the kernel
//! dumps `NDA_LLADDR` only for `NUD_VALID` states). Entries in `NONE` state are left out, as
//! `ip neigh`'s default filter leaves them out. Order: the node's interfaces in ifindex
//! order, each table's entries by address (Linux walks its hash buckets, an order no model
//! can repeat). The `router` flag of IPv6 neighbours is not modeled, nor `PERMANENT` and
//! `NOARP` entries (the model creates none).

use std::fmt::{Display, Write as _};

use super::{NeighEntry, NeighTable, NudState};

/// The lines of one table, entries by address, for interface `dev`.
pub fn neigh_show<K: Display + Copy + Ord>(table: &NeighTable<K>, dev: &str) -> String {
    let mut out = String::new();
    for (addr, e) in table.entries.iter() {
        print_neigh(&mut out, addr, dev, e);
    }
    out
}

/// `print_neigh` for one entry.
fn print_neigh(out: &mut String, addr: &impl Display, dev: &str, e: &NeighEntry) {
    if e.state == NudState::None {
        return;
    }
    let _ = write!(out, "{addr} dev {dev} ");
    if e.state.valid()
        && let Some(ha) = e.ha
    {
        let _ = write!(out, "lladdr {ha} ");
    }
    let _ = writeln!(out, "{} ", e.state.name());
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sim_core::{Scheduler, SimTime};

    use super::*;
    use crate::wire::EthernetAddress;

    fn entry(state: NudState, ha: Option<[u8; 6]>) -> NeighEntry {
        let mut timers = Scheduler::<()>::new();
        let mut e = NeighEntry::alloc(timers.new_timer(), SimTime::ZERO, 0);
        e.state = state;
        e.ha = ha.map(EthernetAddress);
        e
    }

    /// `ip neigh` on Linux 6.18 (iproute2 6.1) for the same states.
    #[test]
    fn as_ip_neigh() {
        let mut out = String::new();
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let mac = Some([0x36, 0xcd, 0x73, 0xb0, 0xe8, 0xf6]);
        print_neigh(
            &mut out,
            &a("10.0.0.7"),
            "veth0",
            &entry(NudState::Incomplete, None),
        );
        print_neigh(
            &mut out,
            &a("10.0.0.7"),
            "veth0",
            &entry(NudState::Failed, mac),
        );
        print_neigh(
            &mut out,
            &a("10.0.0.8"),
            "veth0",
            &entry(NudState::Stale, Some([2, 0, 0, 0, 0, 8])),
        );
        print_neigh(
            &mut out,
            &a("10.0.0.2"),
            "veth0",
            &entry(NudState::Reachable, mac),
        );
        print_neigh(
            &mut out,
            &a("10.0.0.3"),
            "veth0",
            &entry(NudState::None, None),
        );
        assert_eq!(
            out,
            "10.0.0.7 dev veth0 INCOMPLETE \n\
             10.0.0.7 dev veth0 FAILED \n\
             10.0.0.8 dev veth0 lladdr 02:00:00:00:00:08 STALE \n\
             10.0.0.2 dev veth0 lladdr 36:cd:73:b0:e8:f6 REACHABLE \n"
        );
    }
}
