//! The run configuration: packetdrill's options, from the script's `--name=value` lines and
//! then the command line (which wins, as in packetdrill), with the kernel selftests'
//! defaults (`ksft_runner.sh`: the addresses, the `-D` definitions, for IPv4 and IPv6).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::parse::Defines;

/// Which IP version the script runs with (`--ip_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv4 addresses on AF_INET6 sockets.
    V4MappedV6,
    /// IPv6.
    V6,
}

impl IpVersion {
    /// packetdrill's name for it (`ipv4`, `ipv4-mapped-ipv6`, `ipv6`).
    pub fn name(self) -> &'static str {
        match self {
            Self::V4 => "ipv4",
            Self::V4MappedV6 => "ipv4-mapped-ipv6",
            Self::V6 => "ipv6",
        }
    }

    /// The version of a name [`Self::name`] gives.
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::V4, Self::V4MappedV6, Self::V6]
            .into_iter()
            .find(|v| v.name() == s)
    }

    /// Whether the sockets are `AF_INET6` (`config->socket_domain`).
    pub fn inet6_sockets(self) -> bool {
        self != Self::V4
    }

    /// Whether the packets are IPv6 (`config->wire_protocol`).
    pub fn ipv6_wire(self) -> bool {
        self == Self::V6
    }
}

/// Everything that shapes a run.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillConfig {
    /// `--ip_version`.
    pub ip_version: IpVersion,
    /// `--local_ip`: the tun device's address (of the wire's family).
    pub local_ip: IpAddr,
    /// `--gateway_ip`.
    pub gateway_ip: IpAddr,
    /// `--netmask_ip`, as a prefix length (IPv6: always 48,
    /// `DEFAULT_V6_LIVE_PREFIX_LEN`).
    pub prefix_len: u8,
    /// `--remote_ip`: the peer the script plays.
    pub remote_ip: IpAddr,
    /// `--bind_port`: the port `bind()` binds and inbound SYNs are sent to.
    pub bind_port: u16,
    /// `--connect_port`: the port `connect()` connects to.
    pub connect_port: u16,
    /// `--mss`: inbound TCP packets carry this GSO size (the tun `virtio_net_hdr`).
    pub mss: Option<u16>,
    /// `--mtu` of the tun device.
    pub mtu: u32,
    /// `--speed` of the tun device in Mbit/s (`None`: unchanged).
    pub speed_mbps: Option<u32>,
    /// `--tolerance_usecs`.
    pub tolerance_usecs: i64,
    /// `--tolerance_percent`: the tolerance grows to this share of the time since the
    /// previous event.
    pub tolerance_percent: f64,
    /// `--tcp_ts_tick_usecs` (0: outbound TS val not checked).
    pub tcp_ts_tick_usecs: i64,
    /// `--tcp_ts_ecr_scaled`.
    pub tcp_ts_ecr_scaled: bool,
    /// `--strict_segments`: no aggregation of outbound fragments.
    pub strict_segments: bool,
    /// `--non_fatal=packet`: packet mismatches are warnings.
    pub non_fatal_packet: bool,
    /// `--non_fatal=syscall`.
    pub non_fatal_syscall: bool,
    /// `-D` / `--define` definitions.
    pub defines: Defines,
}

impl DrillConfig {
    /// The kernel selftests' setup for `version` (`ksft_runner.sh`'s `ip_args`): IPv4's for
    /// `ipv4` and `ipv4-mapped-ipv6` (whose sockets are `AF_INET6`), IPv6's for `ipv6`.
    pub fn ksft(version: IpVersion) -> Self {
        match version {
            IpVersion::V6 => Self::ksft_ipv6(),
            v => Self {
                ip_version: v,
                ..Self::ksft_ipv4()
            },
        }
    }

    /// The kernel selftests' IPv6 setup (`ksft_runner.sh`): `--mtu=1520` (so that the MSS
    /// is 1460 = 1520 − 40 − 20, as over IPv4), local fd3d:a0b:17d6::1/48, gateway
    /// fd3d:a0b:17d6:8888::1, remote fd3d:fa7b:d17d::1, the IPv6 Fast Open cookies and
    /// cmsg names (`SOL_IPV6`, `IPV6_RECVERR`).
    pub fn ksft_ipv6() -> Self {
        let mut c = Self::ksft_ipv4();
        for (k, v) in [
            ("TFO_COOKIE", "c1d1e9742a47a9bc"),
            ("TFO_COOKIE_ZERO", "82af1a8f9a205c34"),
            ("CMSG_LEVEL_IP", "SOL_IPV6"),
            ("CMSG_TYPE_RECVERR", "IPV6_RECVERR"),
        ] {
            c.defines.insert(k.to_string(), v.to_string());
        }
        Self {
            ip_version: IpVersion::V6,
            local_ip: IpAddr::V6(Ipv6Addr::new(0xfd3d, 0x0a0b, 0x17d6, 0, 0, 0, 0, 1)),
            gateway_ip: IpAddr::V6(Ipv6Addr::new(0xfd3d, 0x0a0b, 0x17d6, 0x8888, 0, 0, 0, 1)),
            prefix_len: 48,
            remote_ip: IpAddr::V6(Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1)),
            mtu: 1520,
            ..c
        }
    }

    /// The address `bind(…, ...)` binds (`live_bind_ip`): the local one, v4-mapped for
    /// `ipv4-mapped-ipv6`.
    pub fn bind_ip(&self) -> IpAddr {
        self.socket_ip(self.local_ip)
    }

    /// The address `connect(…, ...)` connects to (`live_connect_ip`).
    pub fn connect_ip(&self) -> IpAddr {
        self.socket_ip(self.remote_ip)
    }

    fn socket_ip(&self, a: IpAddr) -> IpAddr {
        match (self.ip_version, a) {
            (IpVersion::V4MappedV6, IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            _ => a,
        }
    }

    /// packetdrill's `finalize_config`: the addresses must be of the wire's family
    /// (`ipv4_parse` / `ipv6_parse` die on the other); over IPv6 the prefix is 48
    /// whatever `--netmask_ip` says.
    ///
    /// # Errors
    /// Which option holds an address of the other family.
    pub fn finalize(&mut self) -> Result<(), String> {
        let v6 = self.ip_version.ipv6_wire();
        if v6 {
            self.prefix_len = 48;
        }
        for (name, a) in [
            ("local_ip", self.local_ip),
            ("gateway_ip", self.gateway_ip),
            ("remote_ip", self.remote_ip),
        ] {
            if a.is_ipv6() != v6 {
                return Err(format!(
                    "bad --{name} for --ip_version={}: {a} is not an IPv{} address",
                    self.ip_version.name(),
                    if v6 { 6 } else { 4 }
                ));
            }
        }
        Ok(())
    }

    /// The kernel selftests' IPv4 setup (`ksft_runner.sh`): local 192.168.0.1/16, gateway
    /// 192.168.0.1, remote 192.0.2.1, the TFO cookies and cmsg names, packetdrill's
    /// defaults elsewhere (port 8080, MTU 1500, tolerance 4 ms and 12.5 %).
    pub fn ksft_ipv4() -> Self {
        let defines = [
            ("TFO_COOKIE", "3021b9d889017eeb"),
            ("TFO_COOKIE_ZERO", "b7c12350a90dc8f5"),
            ("CMSG_LEVEL_IP", "SOL_IP"),
            ("CMSG_TYPE_RECVERR", "IP_RECVERR"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            ip_version: IpVersion::V4,
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            gateway_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            prefix_len: 16,
            remote_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            bind_port: 8080,
            connect_port: 8080,
            mss: None,
            mtu: 1500,
            speed_mbps: None,
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            tcp_ts_tick_usecs: 0,
            tcp_ts_ecr_scaled: false,
            strict_segments: false,
            non_fatal_packet: false,
            non_fatal_syscall: false,
            defines,
        }
    }

    /// Applies one `--name[=value]` option with packetdrill's checks.
    ///
    /// # Errors
    /// packetdrill's words: `option 'x' unknown`, `option 'x' requires an argument`,
    /// `option 'x' forbids an argument`, `bad --mss: x`; options for packetdrill modes a
    /// simulated host has no use for (`--wire_client`, `--so_filename`, …) are refused as
    /// unsupported.
    pub fn apply(&mut self, name: &str, value: Option<&str>) -> Result<(), String> {
        const WITH_ARG: &[&str] = &[
            "ip_version",
            "bind_port",
            "code_command",
            "code_format",
            "code_sockopt",
            "connect_port",
            "remote_ip",
            "local_ip",
            "gateway_ip",
            "netmask_ip",
            "speed",
            "mss",
            "mtu",
            "init_scripts",
            "tolerance_usecs",
            "tolerance_percent",
            "tcp_ts_tick_usecs",
            "non_fatal",
            "wire_server_ip",
            "wire_server_at",
            "wire_server_port",
            "wire_client_dev",
            "wire_server_dev",
            "so_filename",
            "so_flags",
            "psp_udp_port",
            "define",
        ];
        const NO_ARG: &[&str] = &[
            "wire_client",
            "wire_server",
            "tcp_ts_ecr_scaled",
            "strict_segments",
            "dry_run",
            "is_anyip",
            "send_omit_free",
            "debug",
            "verbose",
        ];
        let has_arg = if WITH_ARG.contains(&name) {
            true
        } else if NO_ARG.contains(&name) {
            false
        } else {
            return Err(format!("option '{name}' unknown"));
        };
        let v = match (has_arg, value) {
            (true, None) => return Err(format!("option '{name}' requires an argument")),
            (false, Some(_)) => return Err(format!("option '{name}' forbids an argument")),
            (_, v) => v.unwrap_or(""),
        };
        let bad = || format!("bad --{name}: {v}");
        let port = || match v.parse::<u32>() {
            Ok(p) if (1..=0xffff).contains(&p) => Ok(p as u16),
            _ => Err(bad()),
        };
        let ip = || v.parse::<IpAddr>().map_err(|_| bad());
        match name {
            "ip_version" => {
                self.ip_version =
                    IpVersion::from_name(v).ok_or_else(|| format!("bad --ip_version: {v}"))?;
            }
            "bind_port" => self.bind_port = port()?,
            "connect_port" => self.connect_port = port()?,
            "remote_ip" => self.remote_ip = ip()?,
            "local_ip" => self.local_ip = ip()?,
            "gateway_ip" => self.gateway_ip = ip()?,
            "netmask_ip" => {
                let m = u32::from(v.parse::<Ipv4Addr>().map_err(|_| bad())?);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return Err(bad());
                }
                self.prefix_len = m.leading_ones() as u8;
            }
            "speed" => self.speed_mbps = Some(v.parse().map_err(|_| bad())?),
            "mss" => match v.parse::<u16>() {
                Ok(m) if m > 0 => self.mss = Some(m),
                _ => return Err(bad()),
            },
            "mtu" => self.mtu = v.parse().map_err(|_| bad())?,
            "tolerance_usecs" => match v.parse::<i64>() {
                Ok(t) if t > 0 => self.tolerance_usecs = t,
                _ => return Err(bad()),
            },
            "tolerance_percent" => match v.parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => self.tolerance_percent = p,
                _ => return Err(bad()),
            },
            "tcp_ts_tick_usecs" => match v.parse::<i64>() {
                Ok(t) if (0..=1_000_000).contains(&t) => self.tcp_ts_tick_usecs = t,
                _ => return Err(bad()),
            },
            "tcp_ts_ecr_scaled" => self.tcp_ts_ecr_scaled = true,
            "strict_segments" => self.strict_segments = true,
            "non_fatal" => {
                for t in v.split([',', ' ']) {
                    match t {
                        "packet" => self.non_fatal_packet = true,
                        "syscall" => self.non_fatal_syscall = true,
                        _ => {}
                    }
                }
            }
            "define" => {
                let (k, val) = v
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| format!("bad definition: {v}"))?;
                self.defines.insert(k.to_string(), val.to_string());
            }
            "code_command" | "code_format" if v == "python3" || v == "python" => {}
            "code_sockopt" if v.is_empty() || v == "TCP_INFO" => {}
            // Buffers are not reused by a simulated application; nothing to change.
            "send_omit_free" | "debug" | "verbose" => {}
            _ => {
                return Err(format!(
                    "unsupported: option '{name}' (a packetdrill mode the simulated host has no use for)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply_with_packetdrill_messages() {
        let mut c = DrillConfig::ksft_ipv4();
        c.apply("tolerance_usecs", Some("10000")).unwrap();
        c.apply("mss", Some("1000")).unwrap();
        c.apply("send_omit_free", None).unwrap();
        c.apply("netmask_ip", Some("255.255.255.0")).unwrap();
        c.apply("define", Some("X=7")).unwrap();
        assert_eq!(
            (c.tolerance_usecs, c.mss, c.prefix_len),
            (10000, Some(1000), 24)
        );
        assert_eq!(c.defines["X"], "7");
        assert_eq!(c.apply("nope", None).unwrap_err(), "option 'nope' unknown");
        assert_eq!(
            c.apply("mss", None).unwrap_err(),
            "option 'mss' requires an argument"
        );
        assert_eq!(
            c.apply("strict_segments", Some("1")).unwrap_err(),
            "option 'strict_segments' forbids an argument"
        );
        assert_eq!(
            c.apply("tolerance_usecs", Some("0")).unwrap_err(),
            "bad --tolerance_usecs: 0"
        );
        assert!(
            c.apply("wire_client", None)
                .unwrap_err()
                .starts_with("unsupported")
        );
    }
}
