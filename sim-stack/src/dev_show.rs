//! What `ip -s link` prints for a node's devices, byte for byte as iproute2 6.1 prints it
//! (`print_linkinfo` and `print_stats64` in `ip/ipaddress.c`), so that a snapshot diffs
//! against a real machine.
//!
//! Each device is two lines of `ip link` and the two-line RX and TX tables of `-s`: the
//! columns are as wide as their header or their widest figure (`size_columns`, per device),
//! each figure followed by a space.
//!
//! * The interface index is the one Linux would give: `lo` is 1, the scenario's interfaces
//!   follow in the order they are configured. `lo` itself is not listed: the model has no
//!   loopback device (a node's traffic to itself is not modeled).
//! * An Ethernet interface is `<BROADCAST,MULTICAST,UP,LOWER_UP>`, `state UP`, when a link is
//!   attached, `<NO-CARRIER,BROADCAST,MULTICAST,UP>`, `state DOWN`, when none is; a tun
//!   device is `<POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP>`, `state UNKNOWN`, `link/none`.
//! * `qdisc` is the root qdisc's kind as `tc` names it (`noqueue` when configured so).
//! * Counters the model does not keep are printed as 0, as Linux prints them when they never
//!   moved: `missed`, `mcast` (multicast frames received), `carrier`, `collsns`.

use std::fmt::Write as _;

use crate::dev::{DevKind, NetDevice};
use crate::stats::DevStats;

/// One device as `ip -s link` shows it: the device and what the node's configuration says
/// of it that the device does not hold.
#[derive(Debug, Clone, Copy)]
pub struct LinkShow<'a> {
    /// `ifindex`.
    pub ifindex: u32,
    /// The device.
    pub dev: &'a NetDevice,
    /// The root qdisc's kind (`pfifo_fast`, `noqueue`, `htb`, …).
    pub qdisc: &'a str,
    /// `txqueuelen`.
    pub qlen: u32,
}

/// The figures of the RX and TX tables, in the order `print_stats64` prints them (the
/// `compressed` counters are 0: not shown).
struct Row {
    bytes: u64,
    packets: u64,
    errors: u64,
    dropped: u64,
    /// `missed` (RX) / `carrier` (TX).
    fifth: u64,
    /// `mcast` (RX) / `collsns` (TX).
    sixth: u64,
}

/// The number of digits of `v` (`size_columns`).
fn digits(mut v: u64) -> usize {
    let mut len = 1;
    while v > 9 {
        len += 1;
        v /= 10;
    }
    len
}

/// `print_stats64`'s text part for one device's counters.
pub fn print_stats64(s: &DevStats) -> String {
    let rx = Row {
        bytes: s.rx_bytes,
        packets: s.rx_packets,
        errors: s.rx_errors,
        dropped: s.rx_dropped,
        fifth: 0,
        sixth: 0,
    };
    let tx = Row {
        bytes: s.tx_bytes,
        packets: s.tx_packets,
        errors: s.tx_errors,
        dropped: s.tx_dropped,
        fifth: 0,
        sixth: 0,
    };
    // strlen("*X errors:"), "packets", "errors", "dropped", "heartbt", "overrun",
    // "compressed".
    let mut cols = [10, 7, 6, 7, 7, 7, 10];
    for r in [&rx, &tx] {
        for (c, v) in cols
            .iter_mut()
            .zip([r.bytes, r.packets, r.errors, r.dropped, r.fifth, r.sixth, 0])
        {
            *c = (*c).max(digits(v));
        }
    }
    let mut out = String::new();
    for (dir, r, fifth, sixth) in [
        ("RX", &rx, "missed", "mcast"),
        ("TX", &tx, "carrier", "collsns"),
    ] {
        let _ = writeln!(
            out,
            "    {dir}: {:>w0$} {:>w1$} {:>w2$} {:>w3$} {:>w4$} {:>w5$} {:>w6$}",
            "bytes",
            "packets",
            "errors",
            "dropped",
            fifth,
            sixth,
            "",
            w0 = cols[0] - 4,
            w1 = cols[1],
            w2 = cols[2],
            w3 = cols[3],
            w4 = cols[4],
            w5 = cols[5],
            w6 = cols[6],
        );
        out.push_str("    ");
        for (c, v) in cols
            .iter()
            .zip([r.bytes, r.packets, r.errors, r.dropped, r.fifth, r.sixth])
        {
            let _ = write!(out, "{v:>c$} ");
        }
        out.push('\n');
    }
    out
}

/// `ip -s link`'s output for `links`, in the order given (ifindex order).
pub fn ip_s_link(links: &[LinkShow<'_>]) -> String {
    let mut out = String::new();
    for l in links {
        let d = l.dev;
        let (flags, state) = match (&d.kind, d.link.is_some()) {
            (DevKind::Tun(_), _) => ("POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP", "UNKNOWN"),
            (DevKind::Ether, true) => ("BROADCAST,MULTICAST,UP,LOWER_UP", "UP"),
            (DevKind::Ether, false) => ("NO-CARRIER,BROADCAST,MULTICAST,UP", "DOWN"),
        };
        let _ = writeln!(
            out,
            "{}: {}: <{flags}> mtu {} qdisc {} state {state} mode DEFAULT group default qlen {}",
            l.ifindex, d.name, d.mtu, l.qdisc, l.qlen
        );
        match d.kind {
            DevKind::Tun(_) => out.push_str("    link/none \n"),
            DevKind::Ether => {
                let _ = writeln!(out, "    link/ether {} brd ff:ff:ff:ff:ff:ff", d.mac);
            }
        }
        out.push_str(&print_stats64(&d.stats));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ip -s link` of a veth on Linux 6.18, iproute2 6.1 (its stats part).
    const REAL: &str = "    RX:  bytes packets errors dropped  missed   mcast           
          2331      34      0       0       0       0 
    TX:  bytes packets errors dropped carrier collsns           
       2003249      48      0       0       0       0 
";

    #[test]
    fn stats_as_iproute2() {
        let s = DevStats {
            rx_bytes: 2331,
            rx_packets: 34,
            tx_bytes: 2_003_249,
            tx_packets: 48,
            ..DevStats::default()
        };
        assert_eq!(print_stats64(&s), REAL);
    }

    #[test]
    fn zero_and_wide_columns() {
        // lo of the same machine: every figure 0.
        let zero = "    RX:  bytes packets errors dropped  missed   mcast           
             0       0      0       0       0       0 
    TX:  bytes packets errors dropped carrier collsns           
             0       0      0       0       0       0 
";
        assert_eq!(print_stats64(&DevStats::default()), zero);
        // Figures wider than their headers widen both tables' columns.
        let s = DevStats {
            rx_bytes: 123_456_789_012,
            rx_packets: 123_456_789,
            tx_dropped: 12_345_678,
            ..DevStats::default()
        };
        let text = print_stats64(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "    RX:    bytes   packets errors  dropped  missed   mcast           "
        );
        assert_eq!(
            lines[1],
            "    123456789012 123456789      0        0       0       0 "
        );
        assert_eq!(
            lines[3],
            "               0         0      0 12345678       0       0 "
        );
    }
    /// `ip -s link show eth0` of this machine's virtio NIC (Linux 6.18, iproute2 6.1), and
    /// the same device without a link (what Linux shows of a NIC without carrier).
    #[test]
    fn ip_s_link_as_iproute2() {
        use sim_core::{Scheduler, SimDuration};

        use crate::config::QdiscConfig;
        use crate::dev::TxRing;
        use crate::qdisc::Qdisc;
        use crate::wire::EthernetAddress;

        let real = "4: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000
    link/ether 02:fc:00:00:00:01 brd ff:ff:ff:ff:ff:ff
    RX:  bytes packets errors dropped  missed   mcast           
     318265874    8844      0       0       0       0 
    TX:  bytes packets errors dropped carrier collsns           
        462864    5668      0       0       0       0 
";
        let mut timers = Scheduler::<()>::new();
        let qdisc = Qdisc::from_config(&QdiscConfig::PfifoFast, 1000, || unreachable!())
            .expect("pfifo_fast");
        let mut dev = NetDevice::ether(
            "eth0",
            EthernetAddress([2, 0xfc, 0, 0, 0, 1]),
            None,
            1400,
            qdisc,
            TxRing::new(256),
            timers.new_timer(),
            SimDuration::from_secs(30),
        );
        dev.stats = DevStats {
            rx_bytes: 318_265_874,
            rx_packets: 8844,
            tx_bytes: 462_864,
            tx_packets: 5668,
            ..DevStats::default()
        };
        fn show(dev: &NetDevice) -> LinkShow<'_> {
            LinkShow {
                ifindex: 4,
                dev,
                qdisc: "pfifo_fast",
                qlen: 1000,
            }
        }
        let no_carrier = ip_s_link(&[show(&dev)]);
        assert!(
            no_carrier.starts_with(
                "4: eth0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1400 qdisc pfifo_fast state \
                 DOWN mode DEFAULT group default qlen 1000\n"
            ),
            "{no_carrier}"
        );
        dev.link = Some((0, 0));
        assert_eq!(ip_s_link(&[show(&dev)]), real);
    }
}
