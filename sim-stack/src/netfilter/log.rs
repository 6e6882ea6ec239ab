//! The `LOG` target's line (`nf_log_syslog.c`: `nf_log_ip_packet` → `dump_ipv4_packet`),
//! byte for byte as the kernel prints it, trailing space included.

use std::fmt::Write;

use super::rule::PacketInfo;
use super::target::LogTarget;

/// The line the kernel logs for the packet (without the printk level), as `dmesg` shows it
/// after the timestamp: `PREFIX IN=eth0 OUT=eth1 MAC=… SRC=… DST=… LEN=… …`.
///
/// `mac` is the link-layer header of a received packet (printed for packets with an input
/// device; empty when there is none to show); `uid` the owner of the sending process's
/// socket (`--log-uid`: printed only for a local packet with one).
pub fn nf_log_line(
    l: &LogTarget,
    p: &PacketInfo<'_>,
    mac: Option<&[u8]>,
    uid: Option<u32>,
) -> String {
    let mut m = String::with_capacity(256);
    let _ = write!(
        m,
        "{}IN={} OUT={} ",
        l.prefix,
        p.in_dev.unwrap_or(""),
        p.out_dev.unwrap_or("")
    );
    if p.in_dev.is_some() {
        m.push_str("MAC=");
        match mac {
            Some(h) if !h.is_empty() => {
                for (i, b) in h.iter().enumerate() {
                    let sep = if i + 1 == h.len() { ' ' } else { ':' };
                    let _ = write!(m, "{b:02x}{sep}");
                }
            }
            _ => m.push(' '),
        }
    }
    if !dump_ipv4_packet(&mut m, l, p.ip, true) {
        return m;
    }
    if l.uid
        && let Some(u) = uid
    {
        // nf_log_dump_sk_uid_gid: the socket's file's credentials (apps run as root).
        let _ = write!(m, "UID={u} GID={u} ");
    }
    if p.mark != 0 {
        let _ = write!(m, "MARK=0x{:x} ", p.mark);
    }
    m
}

/// `dump_ipv4_packet`: the IP header and the transport's; an ICMP error's quoted packet
/// once, in brackets. Returns false where the kernel returns early (a truncated transport
/// header), which skips what follows the packet (the mark).
fn dump_ipv4_packet(m: &mut String, l: &LogTarget, ip: &[u8], outer: bool) -> bool {
    if ip.len() < 20 {
        m.push_str("TRUNCATED");
        return false;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let tot = u16::from_be_bytes([ip[2], ip[3]]);
    let id = u16::from_be_bytes([ip[4], ip[5]]);
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    let _ = write!(
        m,
        "SRC={} DST={} LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        tot,
        ip[1] & 0x1e,
        ip[1] & 0xe0,
        ip[8],
        id
    );
    if frag & 0x8000 != 0 {
        m.push_str("CE ");
    }
    if frag & 0x4000 != 0 {
        m.push_str("DF ");
    }
    if frag & 0x2000 != 0 {
        m.push_str("MF ");
    }
    let off = frag & 0x1fff;
    if off != 0 {
        let _ = write!(m, "FRAG:{off} ");
    }
    if l.ip_options && ihl > 20 && ip.len() >= ihl {
        m.push_str("OPT (");
        for b in &ip[20..ihl] {
            let _ = write!(m, "{b:02X}");
        }
        m.push_str(") ");
    }
    let t = ip.get(ihl..).unwrap_or(&[]);
    match ip[9] {
        6 => {
            m.push_str("PROTO=TCP ");
            if off != 0 {
                return true;
            }
            if t.len() < 20 {
                let _ = write!(m, "INCOMPLETE [{} bytes] ", t.len());
                return false;
            }
            let _ = write!(
                m,
                "SPT={} DPT={} ",
                u16::from_be_bytes([t[0], t[1]]),
                u16::from_be_bytes([t[2], t[3]])
            );
            if l.tcp_seq {
                let _ = write!(
                    m,
                    "SEQ={} ACK={} ",
                    u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
                    u32::from_be_bytes([t[8], t[9], t[10], t[11]])
                );
            }
            let _ = write!(
                m,
                "WINDOW={} RES=0x{:02x} ",
                u16::from_be_bytes([t[14], t[15]]),
                // TCP_RESERVED_BITS of the flag word, >> 22.
                (t[12] & 0x0f) << 2
            );
            for (bit, name) in [
                (0x80, "CWR "),
                (0x40, "ECE "),
                (0x20, "URG "),
                (0x10, "ACK "),
                (0x08, "PSH "),
                (0x04, "RST "),
                (0x02, "SYN "),
                (0x01, "FIN "),
            ] {
                if t[13] & bit != 0 {
                    m.push_str(name);
                }
            }
            let _ = write!(m, "URGP={} ", u16::from_be_bytes([t[18], t[19]]));
            let doff = usize::from(t[12] >> 4) * 4;
            if l.tcp_options && doff > 20 && t.len() >= doff {
                m.push_str("OPT (");
                for b in &t[20..doff] {
                    let _ = write!(m, "{b:02X}");
                }
                m.push_str(") ");
            }
        }
        17 => {
            m.push_str("PROTO=UDP ");
            if off != 0 {
                return true;
            }
            if t.len() < 8 {
                let _ = write!(m, "INCOMPLETE [{} bytes] ", t.len());
                return false;
            }
            let _ = write!(
                m,
                "SPT={} DPT={} LEN={} ",
                u16::from_be_bytes([t[0], t[1]]),
                u16::from_be_bytes([t[2], t[3]]),
                u16::from_be_bytes([t[4], t[5]])
            );
        }
        1 => {
            m.push_str("PROTO=ICMP ");
            if off != 0 {
                return true;
            }
            if t.len() < 4 {
                let _ = write!(m, "INCOMPLETE [{} bytes] ", t.len());
                return true;
            }
            let (ty, code) = (t[0], t[1]);
            let _ = write!(m, "TYPE={ty} CODE={code} ");
            // required_len[] of dump_ipv4_packet.
            let need = match ty {
                0 | 8 => 4,
                3 | 4 | 5 | 11 | 12 => 8 + 20,
                13 | 14 => 20,
                17 | 18 => 12,
                _ => 0,
            };
            if need != 0 && t.len() < need {
                let _ = write!(m, "INCOMPLETE [{} bytes] ", t.len());
                return true;
            }
            match ty {
                0 | 8 => {
                    let _ = write!(
                        m,
                        "ID={} SEQ={} ",
                        u16::from_be_bytes([t[4], t[5]]),
                        u16::from_be_bytes([t[6], t[7]])
                    );
                }
                12 => {
                    let _ = write!(m, "PARAMETER={} ", t[4]);
                }
                3 | 4 | 5 | 11 => {
                    if ty == 5 {
                        let _ = write!(
                            m,
                            "GATEWAY={} ",
                            std::net::Ipv4Addr::new(t[4], t[5], t[6], t[7])
                        );
                    }
                    if outer {
                        m.push('[');
                        dump_ipv4_packet(m, l, &t[8..], false);
                        m.push_str("] ");
                    }
                    if ty == 3 && code == 4 {
                        let _ = write!(m, "MTU={} ", u16::from_be_bytes([t[6], t[7]]));
                    }
                }
                _ => {}
            }
        }
        proto => {
            let _ = write!(m, "PROTO={proto} ");
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        ip: &[u8],
        in_dev: Option<&'static str>,
        out_dev: Option<&'static str>,
    ) -> PacketInfo<'static> {
        let ip: &'static [u8] = Box::leak(ip.to_vec().into_boxed_slice());
        PacketInfo {
            ip,
            src: std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            proto: ip[9],
            len: u16::from_be_bytes([ip[2], ip[3]]),
            ttl: ip[8],
            tos: ip[1],
            frag_off: 0,
            thoff: 20,
            in_dev,
            out_dev,
            mark: 0,
            ct_state: 0,
            ct_mark: 0,
            ct_status: 0,
            jiffies: 0,
            tcpmss: None,
        }
    }

    fn log(prefix: &str) -> LogTarget {
        LogTarget {
            prefix: prefix.into(),
            level: 4,
            tcp_seq: false,
            tcp_options: false,
            ip_options: false,
            uid: false,
        }
    }

    #[test]
    fn a_forwarded_syn_logs_as_the_kernel_prints_it() {
        // 10.0.0.2:37200 → 10.0.1.80:80 SYN, TTL 63 after forwarding, ID 0xfa1a, DF, with
        // options (MSS, SACK_PERM, TS, NOP, WS): total length 60.
        let mut ip = vec![
            0x45, 0x00, 0x00, 0x3c, 0xfa, 0x1a, 0x40, 0x00, 63, 6, 0, 0, 10, 0, 0, 2, 10, 0, 1, 80,
        ];
        let mut tcp = vec![0u8; 40];
        tcp[0..2].copy_from_slice(&37200u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[12] = 0xa0;
        tcp[13] = 0x02;
        tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
        tcp[20..24].copy_from_slice(&[2, 4, 5, 0xb4]);
        ip.extend(tcp);
        let mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0];
        let line = nf_log_line(
            &log("FWD: "),
            &info(&ip, Some("eth0"), Some("eth1")),
            Some(&mac),
            None,
        );
        assert_eq!(
            line,
            "FWD: IN=eth0 OUT=eth1 MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 \
             SRC=10.0.0.2 DST=10.0.1.80 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=64026 DF \
             PROTO=TCP SPT=37200 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0 "
        );
    }

    #[test]
    fn an_icmp_error_quotes_its_packet_once() {
        // Port unreachable from 10.0.1.80 about a UDP datagram 10.0.0.2:41000 → :9.
        let mut inner = vec![
            0x45, 0, 0, 29, 0x12, 0x34, 0x40, 0, 63, 17, 0, 0, 10, 0, 0, 2, 10, 0, 1, 80,
        ];
        inner.extend([0xa0, 0x28, 0, 9, 0, 9, 0, 0]);
        let mut ip = vec![
            0x45, 0xc0, 0, 56, 0x00, 0x07, 0, 0, 64, 1, 0, 0, 10, 0, 1, 80, 10, 0, 0, 2,
        ];
        ip.extend([3, 3, 0, 0, 0, 0, 0, 0]);
        ip.extend(inner);
        let line = nf_log_line(&log(""), &info(&ip, None, Some("eth0")), None, None);
        assert_eq!(
            line,
            "IN= OUT=eth0 SRC=10.0.1.80 DST=10.0.0.2 LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=7 \
             PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.2 DST=10.0.1.80 LEN=29 TOS=0x00 PREC=0x00 \
             TTL=63 ID=4660 DF PROTO=UDP SPT=41000 DPT=9 LEN=9 ] "
        );
    }
}
