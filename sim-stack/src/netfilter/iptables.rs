//! `iptables` command lines, as users paste them: `-t nat -A POSTROUTING -o eth1 -j
//! MASQUERADE`. [`apply`] parses one command's words and changes a [`Ruleset`] as iptables
//! would change the kernel's tables; an error names the word at fault.
//!
//! Commands: `-A`, `-I [N]`, `-D` (a rule or its number), `-R N`, `-N`, `-X`, `-P`, `-F`,
//! `-Z`. Rule options: `-p`, `-s`, `-d` (comma lists expand to several rules, as iptables
//! does), `-i`, `-o`, `-f`, `-m`, `-j`, `-g`, each invertible with a leading `!` where
//! iptables allows it. Matches: `tcp`, `udp`, `icmp` (implied by `-p`), `multiport`,
//! `iprange`, `state`, `conntrack`, `mark`, `connmark`, `limit`, `statistic`, `length`, `ttl`,
//! `comment`. Targets: `ACCEPT`, `DROP`, `RETURN`, user chains, `REJECT`, `LOG`, `MARK`,
//! `CONNMARK`, `SNAT`, `DNAT`, `MASQUERADE`, `REDIRECT`, `NOTRACK`, `CT --notrack`.

use std::net::Ipv4Addr;

use super::Hook;
use super::rule::{IfName, Inv, IpMatch, Rule};
use super::table::{Chain, Policy, Ruleset, TableId};
use super::target::{ConnmarkMode, LogTarget, NatTo, RejectWith, Target, Tcpmss};
use super::xt_limit::{Limit, XT_LIMIT_SCALE};
use super::xt_match::{
    ConntrackMatch, IcmpType, MarkMask, Match, MultiportDir, Nth, PortRange, StatisticMode,
    TcpFlagsMatch, TcpMatch, TtlOp, UdpMatch, state,
};
use crate::wire::Ipv4Cidr;

/// Why a command cannot be applied, and at which word (`words.len()` when one is missing
/// at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptError {
    /// The word at fault.
    pub word: usize,
    /// What is wrong, as a sentence.
    pub msg: String,
}

impl IptError {
    fn at(word: usize, msg: impl Into<String>) -> Self {
        Self {
            word,
            msg: msg.into(),
        }
    }
}

type Res<T> = Result<T, IptError>;

/// Splits a command line into words as a shell would: whitespace separates, single and
/// double quotes group (`--log-prefix "FWD: "`), a backslash escapes the next character.
/// Returns each word with the byte range it came from, for errors.
pub fn split_words(line: &str) -> Result<Vec<(String, std::ops::Range<usize>)>, usize> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<(char, usize)> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some((q, _)), c) if c == q => quote = None,
            (Some(('"', _)), '\\') => {
                if let Some((_, n)) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                start.get_or_insert(i);
                quote = Some((c, i));
            }
            (None, '\\') => {
                start.get_or_insert(i);
                if let Some((_, n)) = chars.next() {
                    cur.push(n);
                }
            }
            (None, c) if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    out.push((std::mem::take(&mut cur), s..i));
                }
            }
            (None, c) => {
                start.get_or_insert(i);
                cur.push(c);
            }
        }
    }
    if let Some((_, at)) = quote {
        return Err(at);
    }
    if let Some(s) = start {
        out.push((cur, s..line.len()));
    }
    Ok(out)
}

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Append,
    Insert(usize),
    Delete(Option<usize>),
    Replace(usize),
    NewChain,
    DeleteChain,
    Policy(Policy),
    Flush,
    Zero,
}

struct Parser<'a> {
    w: &'a [&'a str],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.w.get(self.i).copied()
    }

    /// The value of option `opt` (at word `self.i - 1`).
    fn value(&mut self, opt: &str) -> Res<(&'a str, usize)> {
        match self.w.get(self.i) {
            Some(v) => {
                self.i += 1;
                Ok((v, self.i - 1))
            }
            None => Err(IptError::at(
                self.i,
                format!("option \"{opt}\" requires an argument"),
            )),
        }
    }

    /// An optional value that does not start with `-`.
    fn opt_value(&mut self) -> Option<(&'a str, usize)> {
        match self.w.get(self.i) {
            Some(v) if !v.starts_with('-') && *v != "!" => {
                self.i += 1;
                Some((v, self.i - 1))
            }
            _ => None,
        }
    }
}

fn num<T: TryFrom<u64>>(s: &str, at: usize, what: &str, max: u64) -> Res<T> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse::<u64>().ok()
    };
    v.filter(|&v| v <= max)
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| IptError::at(at, format!("invalid {what} \"{s}\"")))
}

/// `/etc/services` names iptables users write most.
const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("http", 80),
    ("www", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("submission", 587),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

fn port(s: &str, at: usize) -> Res<u16> {
    if let Some(&(_, p)) = SERVICES.iter().find(|(n, _)| *n == s) {
        return Ok(p);
    }
    num(s, at, "port/service", 65535)
}

/// `P`, `P:Q`, `:Q`, `P:` (`parse_ports`).
fn port_range(s: &str, at: usize) -> Res<PortRange> {
    let (a, b) = match s.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let min = if a.is_empty() { 0 } else { port(a, at)? };
    let max = match b {
        None => min,
        Some("") => 65535,
        Some(b) => port(b, at)?,
    };
    if min > max {
        return Err(IptError::at(
            at,
            format!("invalid portrange \"{s}\": the first port is above the last"),
        ));
    }
    Ok(PortRange { min, max })
}

fn proto_number(s: &str, at: usize) -> Res<Option<u8>> {
    let p = match s.to_ascii_lowercase().as_str() {
        "all" | "0" => return Ok(None),
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "igmp" => 2,
        "ipip" => 4,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        "udplite" => 136,
        other => num(other, at, "protocol", 255).map_err(|_| {
            IptError::at(
                at,
                format!(
                    "unknown protocol \"{s}\" specified (expected tcp, udp, icmp, all, a name such as gre, or a number)"
                ),
            )
        })?,
    };
    Ok(Some(p))
}

/// `ADDR`, `ADDR/LEN`, `ADDR/MASK`.
fn cidr(s: &str, at: usize) -> Res<Ipv4Cidr> {
    let bad = || IptError::at(at, format!("host/network \"{s}\" not found"));
    let (a, m) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let len = match m {
        None => 32,
        Some(m) if m.contains('.') => {
            let mask = u32::from(m.parse::<Ipv4Addr>().map_err(|_| bad())?);
            if mask.leading_ones() + mask.trailing_zeros() != 32 {
                return Err(IptError::at(
                    at,
                    format!(
                        "netmask \"{m}\" is not contiguous; this model takes prefix masks only"
                    ),
                ));
            }
            mask.leading_ones() as u8
        }
        Some(m) => num(m, at, "mask", 32)?,
    };
    Ok(Ipv4Cidr::new(addr, len).network())
}

fn addr(s: &str, at: usize) -> Res<Ipv4Addr> {
    s.parse()
        .map_err(|_| IptError::at(at, format!("invalid IP address \"{s}\"")))
}

/// `V` or `V/M`.
fn mark_mask(s: &str, at: usize) -> Res<MarkMask> {
    let (v, m) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    Ok(MarkMask {
        value: num(v, at, "mark", u64::from(u32::MAX))?,
        mask: match m {
            Some(m) => num(m, at, "mask", u64::from(u32::MAX))?,
            None => u32::MAX,
        },
    })
}

const TCP_FLAGS: &[(&str, u8)] = &[
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
    ("ALL", 0x3f),
    ("NONE", 0),
];

fn tcp_flags(s: &str, at: usize) -> Res<u8> {
    let mut f = 0;
    for name in s.split(',') {
        let up = name.to_ascii_uppercase();
        match TCP_FLAGS.iter().find(|(n, _)| *n == up) {
            Some((_, b)) => f |= b,
            None => {
                return Err(IptError::at(
                    at,
                    format!(
                        "unknown TCP flag \"{name}\" (expected SYN, ACK, FIN, RST, URG, PSH, ALL or NONE)"
                    ),
                ));
            }
        }
    }
    Ok(f)
}

/// The ICMP type names of libxt_icmp: name, type, code range.
pub const ICMP_TYPES: &[(&str, u8, u8, u8)] = &[
    ("any", 255, 0, 255),
    ("echo-reply", 0, 0, 255),
    ("destination-unreachable", 3, 0, 255),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 255),
    ("redirect", 5, 0, 255),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 255),
    ("router-advertisement", 9, 0, 255),
    ("router-solicitation", 10, 0, 255),
    ("time-exceeded", 11, 0, 255),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 255),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 255),
    ("timestamp-reply", 14, 0, 255),
    ("address-mask-request", 17, 0, 255),
    ("address-mask-reply", 18, 0, 255),
];

fn icmp_type(s: &str, at: usize) -> Res<IcmpType> {
    if let Some(&(_, ty, lo, hi)) = ICMP_TYPES.iter().find(|t| t.0.eq_ignore_ascii_case(s)) {
        return Ok(IcmpType {
            ty,
            code_min: lo,
            code_max: hi,
        });
    }
    let (t, c) = match s.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (s, None),
    };
    let ty = num(t, at, "ICMP type", 255).map_err(|_| {
        IptError::at(
            at,
            format!("invalid ICMP type `{s}' (a name such as echo-request, or TYPE[/CODE])"),
        )
    })?;
    let (lo, hi) = match c {
        Some(c) => {
            let c = num(c, at, "ICMP code", 255)?;
            (c, c)
        }
        None => (0, 255),
    };
    Ok(IcmpType {
        ty,
        code_min: lo,
        code_max: hi,
    })
}

fn states(s: &str, at: usize, status: bool) -> Res<u32> {
    let mut m = 0u32;
    for name in s.split(',') {
        let up = name.to_ascii_uppercase();
        let bit = if status {
            match up.as_str() {
                "NONE" => 0,
                "EXPECTED" => 1 << 0,
                "SEEN_REPLY" => 1 << 1,
                "ASSURED" => 1 << 2,
                "CONFIRMED" => 1 << 3,
                _ => {
                    return Err(IptError::at(
                        at,
                        format!(
                            "bad ctstatus \"{name}\" (expected NONE, EXPECTED, SEEN_REPLY, ASSURED or CONFIRMED)"
                        ),
                    ));
                }
            }
        } else {
            match state::NAMES.iter().find(|(_, n)| *n == up) {
                Some((b, _)) => u32::from(*b),
                None => {
                    return Err(IptError::at(
                        at,
                        format!(
                            "bad state \"{name}\" (expected INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED, SNAT or DNAT)"
                        ),
                    ));
                }
            }
        };
        m |= bit;
    }
    Ok(m)
}

/// `--limit 3/hour`: to `avg` in 1/10000 s per packet (`parse_rate`).
fn rate(s: &str, at: usize) -> Res<u32> {
    let (n, unit) = match s.split_once('/') {
        Some((n, u)) => (n, u),
        None => (s, "second"),
    };
    let mult: u64 = match unit {
        u if "second".starts_with(u) && !u.is_empty() => 1,
        u if "minute".starts_with(u) && !u.is_empty() => 60,
        u if "hour".starts_with(u) && !u.is_empty() => 3600,
        u if "day".starts_with(u) && !u.is_empty() => 86400,
        _ => {
            return Err(IptError::at(
                at,
                format!("bad rate \"{s}\" (expected N/second, N/minute, N/hour or N/day)"),
            ));
        }
    };
    let count: u64 = num(n, at, "rate", u64::from(u32::MAX))?;
    if count == 0 {
        return Err(IptError::at(at, format!("rate \"{s}\" is zero")));
    }
    let r = u64::from(XT_LIMIT_SCALE) * mult / count;
    if r == 0 {
        return Err(IptError::at(at, format!("rate \"{s}\" too fast")));
    }
    u32::try_from(r).map_err(|_| IptError::at(at, format!("rate \"{s}\" too slow")))
}

/// `ADDR[-ADDR][:PORT[-PORT]]` of `--to-source`/`--to-destination`.
fn nat_to(s: &str, at: usize, ports_ok: bool) -> Res<NatTo> {
    let (a, p) = match s.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let (min_addr, max_addr) = if a.is_empty() {
        (None, None)
    } else {
        let (lo, hi) = match a.split_once('-') {
            Some((lo, hi)) => (addr(lo, at)?, addr(hi, at)?),
            None => {
                let x = addr(a, at)?;
                (x, x)
            }
        };
        if u32::from(lo) > u32::from(hi) {
            return Err(IptError::at(at, format!("bad address range \"{a}\"")));
        }
        (Some(lo), Some(hi))
    };
    let ports = match p {
        None => None,
        Some(_) if !ports_ok => {
            return Err(IptError::at(
                at,
                "a port needs a protocol with ports: -p tcp, -p udp, -p sctp or -p dccp",
            ));
        }
        Some(p) => Some(nat_ports(p, at)?),
    };
    Ok(NatTo {
        min_addr,
        max_addr,
        ports,
        random: false,
        random_fully: false,
        persistent: false,
    })
}

/// `P` or `P-Q` (NAT port ranges use `-`).
fn nat_ports(s: &str, at: usize) -> Res<PortRange> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let (min, max) = (port(a, at)?, port(b, at)?);
    if min == 0 || min > max {
        return Err(IptError::at(at, format!("port range \"{s}\" invalid")));
    }
    Ok(PortRange { min, max })
}

/// Applies one iptables command (its words, without the leading `iptables`) to `rs`.
pub fn apply<'a>(rs: &mut Ruleset, w: &'a [&'a str]) -> Res<()> {
    let mut p = Parser { w, i: 0 };
    let mut table = TableId::Filter;
    let mut cmd: Option<(Cmd, &str, usize)> = None;
    let mut ip = IpMatch::default();
    let (mut srcs, mut dsts): (Vec<Ipv4Cidr>, Vec<Ipv4Cidr>) = (Vec::new(), Vec::new());
    let mut src_inv = false;
    let mut dst_inv = false;
    let mut matches: Vec<Match> = Vec::new();
    let mut target: Option<(Target, usize)> = None;
    // The match whose options come next (`-m NAME` or the protocol's own).
    let mut cur: Option<&str> = None;
    let mut inv = false;
    while let Some(word) = p.peek() {
        let at = p.i;
        p.i += 1;
        if word == "!" {
            if inv {
                return Err(IptError::at(at, "multiple `!' flags not allowed"));
            }
            inv = true;
            continue;
        }
        let was_inv = std::mem::take(&mut inv);
        let set_cmd = |cmd: &mut Option<(Cmd, &'a str, usize)>, c: Cmd, chain: &'a str| {
            if let Some((_, _, prev)) = cmd {
                return Err(IptError::at(
                    at,
                    format!(
                        "only one command per line (the command at word {} came first)",
                        *prev + 1
                    ),
                ));
            }
            *cmd = Some((c, chain, at));
            Ok(())
        };
        match word {
            "-t" | "--table" => {
                let (t, k) = p.value(word)?;
                table = TableId::from_name(t).ok_or_else(|| {
                    IptError::at(
                        k,
                        format!("table `{t}' does not exist (expected raw, mangle, nat or filter)"),
                    )
                })?;
            }
            "-A" | "--append" | "-N" | "--new-chain" | "-F" | "--flush" | "-X"
            | "--delete-chain" | "-Z" | "--zero" => {
                let needs = matches!(word, "-A" | "--append" | "-N" | "--new-chain");
                let chain = if needs {
                    p.value(word)?.0
                } else {
                    p.opt_value().map_or("", |v| v.0)
                };
                let c = match word {
                    "-A" | "--append" => Cmd::Append,
                    "-N" | "--new-chain" => Cmd::NewChain,
                    "-F" | "--flush" => Cmd::Flush,
                    "-X" | "--delete-chain" => Cmd::DeleteChain,
                    _ => Cmd::Zero,
                };
                set_cmd(&mut cmd, c, chain)?;
            }
            "-I" | "--insert" | "-D" | "--delete" | "-R" | "--replace" => {
                let chain = p.value(word)?.0;
                let n = match p.opt_value() {
                    Some((v, k)) => Some(num::<usize>(v, k, "rule number", 1 << 20)?)
                        .filter(|&n| n > 0)
                        .ok_or_else(|| IptError::at(k, "rule numbers start at 1"))
                        .map(Some)?,
                    None => None,
                };
                let c = match word {
                    "-I" | "--insert" => Cmd::Insert(n.unwrap_or(1)),
                    "-D" | "--delete" => Cmd::Delete(n),
                    _ => Cmd::Replace(n.ok_or_else(|| {
                        IptError::at(p.i, "-R needs the number of the rule to replace")
                    })?),
                };
                set_cmd(&mut cmd, c, chain)?;
            }
            "-P" | "--policy" => {
                let chain = p.value(word)?.0;
                let (t, k) = p.value(word)?;
                let pol = match t {
                    "ACCEPT" => Policy::Accept,
                    "DROP" => Policy::Drop,
                    _ => {
                        return Err(IptError::at(
                            k,
                            format!("bad policy name `{t}' (expected ACCEPT or DROP)"),
                        ));
                    }
                };
                set_cmd(&mut cmd, Cmd::Policy(pol), chain)?;
            }
            "-p" | "--protocol" => {
                let (v, k) = p.value(word)?;
                ip.proto = proto_number(v, k)?.map(|n| Inv { v: n, inv: was_inv });
                let implicit = match ip.proto.map(|x| x.v) {
                    Some(6) => Some(Match::Tcp(TcpMatch::default())),
                    Some(17) => Some(Match::Udp(UdpMatch::default())),
                    _ => None,
                };
                if let Some(m) = implicit
                    && !was_inv
                {
                    matches.push(m);
                    cur = Some(if ip.proto.map(|x| x.v) == Some(6) {
                        "tcp"
                    } else {
                        "udp"
                    });
                } else if ip.proto.map(|x| x.v) == Some(1) && !was_inv {
                    cur = Some("icmp");
                }
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let (v, k) = p.value(word)?;
                let list = v.split(',').map(|a| cidr(a, k)).collect::<Res<Vec<_>>>()?;
                if word.starts_with("-s") || word == "--source" || word == "--src" {
                    srcs = list;
                    src_inv = was_inv;
                } else {
                    dsts = list;
                    dst_inv = was_inv;
                }
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                let (v, k) = p.value(word)?;
                if v.is_empty() || v.len() > 15 || v.contains('/') {
                    return Err(IptError::at(k, format!("bad interface name \"{v}\"")));
                }
                let m = Some(Inv {
                    v: IfName(v.to_string()),
                    inv: was_inv,
                });
                if word.starts_with("-i") || word == "--in-interface" {
                    ip.iif = m;
                } else {
                    ip.oif = m;
                }
            }
            "-f" | "--fragment" => {
                ip.frag = Some(Inv {
                    v: (),
                    inv: was_inv,
                });
            }
            "-m" | "--match" => {
                let (name, k) = p.value(word)?;
                let m = match name {
                    "tcp" | "udp" | "icmp" => {
                        let want = match name {
                            "tcp" => 6,
                            "udp" => 17,
                            _ => 1,
                        };
                        if ip.proto.map(|x| x.v) != Some(want) {
                            return Err(IptError::at(
                                k,
                                format!("-m {name} needs -p {name} before it"),
                            ));
                        }
                        cur = Some(name);
                        continue;
                    }
                    "multiport" => {
                        if !matches!(ip.proto.map(|x| x.v), Some(6 | 17 | 132 | 33 | 136))
                            || ip.proto.is_some_and(|x| x.inv)
                        {
                            return Err(IptError::at(
                                k,
                                "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
                            ));
                        }
                        Match::Multiport {
                            dir: MultiportDir::Any,
                            ports: Vec::new(),
                            inv: false,
                        }
                    }
                    "iprange" => Match::IpRange {
                        src: None,
                        dst: None,
                    },
                    "state" => Match::State(Inv::new(0)),
                    "conntrack" => Match::Conntrack(ConntrackMatch::default()),
                    "mark" => Match::Mark(Inv::new(MarkMask {
                        value: 0,
                        mask: u32::MAX,
                    })),
                    "connmark" => Match::Connmark(Inv::new(MarkMask {
                        value: 0,
                        mask: u32::MAX,
                    })),
                    "limit" => Match::Limit(Limit::new(XT_LIMIT_SCALE * 3600 / 3, 5)),
                    "statistic" => Match::Statistic {
                        mode: StatisticMode::Random(0),
                        inv: false,
                        seen: 0,
                    },
                    "length" => Match::Length(Inv::new((0, u16::MAX))),
                    "ttl" => Match::Ttl {
                        op: TtlOp::Eq,
                        value: 0,
                    },
                    "comment" => Match::Comment(String::new()),
                    _ => {
                        return Err(IptError::at(
                            k,
                            format!(
                                "Couldn't load match `{name}' (this model has tcp, udp, icmp, multiport, iprange, state, conntrack, mark, connmark, limit, statistic, length, ttl and comment)"
                            ),
                        ));
                    }
                };
                matches.push(m);
                cur = Some(name);
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let (t, k) = p.value(word)?;
                if target.is_some() {
                    return Err(IptError::at(at, "only one -j or -g per rule"));
                }
                let goto = word.starts_with("-g") || word == "--goto";
                let tgt = parse_target(&mut p, t, k, goto, &ip)?;
                target = Some((tgt, k));
            }
            w if w.starts_with("--") => {
                let opt = &w[2..];
                match_option(&mut p, &mut matches, cur, opt, at, was_inv)?;
            }
            _ => {
                return Err(IptError::at(at, format!("bad argument `{word}'")));
            }
        }
    }
    if inv {
        return Err(IptError::at(w.len() - 1, "`!' must come before an option"));
    }
    let Some((cmd, chain, cmd_at)) = cmd else {
        return Err(IptError::at(
            0,
            "no command given (expected -A, -I, -D, -R, -N, -X, -P, -F or -Z)",
        ));
    };
    // Checks the matches make of their options once all are read.
    for m in &matches {
        if let Match::Multiport { ports, .. } = m
            && ports.is_empty()
        {
            return Err(IptError::at(
                cmd_at,
                "multiport needs --sports, --dports or --ports",
            ));
        }
        if let Match::Statistic {
            mode: StatisticMode::Nth(n),
            ..
        } = m
        {
            if n.packet == u32::MAX {
                return Err(IptError::at(
                    cmd_at,
                    "statistic: option \"--every\" also requires \"--packet\"",
                ));
            }
            n.validate()
                .map_err(|e| IptError::at(cmd_at, format!("statistic: {e}")))?;
        }
    }
    let t = rs.table_mut(table);
    let chain_idx = |t: &super::table::Table, at: usize| -> Res<usize> {
        t.chain(chain).ok_or_else(|| {
            IptError::at(
                at + 1,
                format!(
                    "chain `{chain}' does not exist in table `{}' (built-in chains: {})",
                    table.name(),
                    table
                        .hooks()
                        .iter()
                        .map(|h| h.chain_name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    };
    let rule_cmd = matches!(
        cmd,
        Cmd::Append | Cmd::Insert(_) | Cmd::Replace(_) | Cmd::Delete(None)
    );
    if !rule_cmd
        && (target.is_some()
            || !matches.is_empty()
            || ip != IpMatch::default()
            || !srcs.is_empty()
            || !dsts.is_empty())
    {
        return Err(IptError::at(cmd_at, "this command takes no rule options"));
    }
    match cmd {
        Cmd::NewChain => {
            if chain.len() > 28 {
                return Err(IptError::at(
                    cmd_at + 1,
                    format!("chain name `{chain}' too long (must be under 29 chars)"),
                ));
            }
            if chain.starts_with('-') || chain == "!" || Target::builtin_name(chain) {
                return Err(IptError::at(
                    cmd_at + 1,
                    format!("invalid chain name `{chain}'"),
                ));
            }
            if t.chain(chain).is_some() {
                return Err(IptError::at(cmd_at + 1, "Chain already exists"));
            }
            t.chains.push(Chain {
                name: chain.to_string(),
                hook: None,
                policy: None,
                rules: Vec::new(),
                policy_packets: 0,
                policy_bytes: 0,
            });
            return Ok(());
        }
        Cmd::DeleteChain => {
            let victims: Vec<usize> = if chain.is_empty() {
                (0..t.chains.len())
                    .filter(|&c| t.chains[c].hook.is_none())
                    .collect()
            } else {
                let c = chain_idx(t, cmd_at)?;
                if t.chains[c].hook.is_some() {
                    return Err(IptError::at(
                        cmd_at + 1,
                        "a built-in chain cannot be deleted",
                    ));
                }
                vec![c]
            };
            for &c in &victims {
                let name = &t.chains[c].name;
                let used = t.chains.iter().any(|ch| {
                    ch.rules.iter().any(
                        |r| matches!(&r.target, Target::Jump(n) | Target::Goto(n) if n == name),
                    )
                });
                if used {
                    return Err(IptError::at(
                        cmd_at,
                        format!("chain `{name}' is in use (a rule jumps to it)"),
                    ));
                }
                if !t.chains[c].rules.is_empty() {
                    return Err(IptError::at(
                        cmd_at,
                        format!("chain `{name}' is not empty (flush it first with -F)"),
                    ));
                }
            }
            for c in victims.into_iter().rev() {
                t.chains.remove(c);
            }
            return Ok(());
        }
        Cmd::Flush | Cmd::Zero => {
            let list: Vec<usize> = if chain.is_empty() {
                (0..t.chains.len()).collect()
            } else {
                vec![chain_idx(t, cmd_at)?]
            };
            for c in list {
                if cmd == Cmd::Flush {
                    t.chains[c].rules.clear();
                } else {
                    for r in &mut t.chains[c].rules {
                        r.packets = 0;
                        r.bytes = 0;
                    }
                }
            }
            return Ok(());
        }
        Cmd::Policy(pol) => {
            let c = chain_idx(t, cmd_at)?;
            if t.chains[c].hook.is_none() {
                return Err(IptError::at(
                    cmd_at + 1,
                    "only built-in chains have a policy",
                ));
            }
            if table == TableId::Nat && pol == Policy::Drop {
                return Err(IptError::at(
                    cmd_at,
                    "the \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited",
                ));
            }
            t.chains[c].policy = Some(pol);
            return Ok(());
        }
        _ => {}
    }
    let c = chain_idx(t, cmd_at)?;
    // -i/-o where the chain's hook has no such device (user chains are checked at load).
    if let Some(h) = t.chains[c].hook {
        if ip.iif.is_some() && matches!(h, Hook::LocalOut | Hook::PostRouting) {
            return Err(IptError::at(
                cmd_at,
                format!("Can't use -i with {}", h.chain_name()),
            ));
        }
        if ip.oif.is_some() && matches!(h, Hook::PreRouting | Hook::LocalIn) {
            return Err(IptError::at(
                cmd_at,
                format!("Can't use -o with {}", h.chain_name()),
            ));
        }
    }
    let (target, target_at) = target.unwrap_or((Target::Continue, cmd_at));
    if let Target::Jump(to) | Target::Goto(to) = &target
        && t.chain(to).is_none_or(|k| t.chains[k].hook.is_some())
    {
        return Err(IptError::at(
            target_at,
            format!(
                "Couldn't load target `{to}' (no such user chain in table `{}'; create it with -N)",
                table.name()
            ),
        ));
    }
    if let Some(want) = target.table()
        && want != table
    {
        return Err(IptError::at(
            target_at,
            format!(
                "{} is only valid in the `{}' table, not in `{}'",
                target.name(),
                want.name(),
                table.name()
            ),
        ));
    }
    if let (Some(h), Some(allowed)) = (t.chains[c].hook, target.hooks())
        && !allowed.contains(&h)
    {
        return Err(IptError::at(
            target_at,
            format!(
                "{} is only usable from {}, not from {}",
                target.name(),
                allowed
                    .iter()
                    .map(|h| h.chain_name())
                    .collect::<Vec<_>>()
                    .join("/"),
                h.chain_name()
            ),
        ));
    }
    // One rule per source × destination, as iptables expands address lists.
    let srcs: Vec<Option<Ipv4Cidr>> = if srcs.is_empty() {
        vec![None]
    } else {
        srcs.into_iter().map(Some).collect()
    };
    let dsts: Vec<Option<Ipv4Cidr>> = if dsts.is_empty() {
        vec![None]
    } else {
        dsts.into_iter().map(Some).collect()
    };
    let mut rules = Vec::new();
    for s in &srcs {
        for d in &dsts {
            let mut r = Rule::new(target.clone());
            r.ip = ip.clone();
            r.ip.src = s.map(|v| Inv { v, inv: src_inv });
            r.ip.dst = d.map(|v| Inv { v, inv: dst_inv });
            r.matches = matches.clone();
            rules.push(r);
        }
    }
    let list = &mut t.chains[c].rules;
    match cmd {
        Cmd::Append => list.extend(rules),
        Cmd::Insert(n) => {
            if n > list.len() + 1 {
                return Err(IptError::at(
                    cmd_at + 2,
                    format!(
                        "Index of insertion too big (the chain has {} rules)",
                        list.len()
                    ),
                ));
            }
            for (k, r) in rules.into_iter().enumerate() {
                list.insert(n - 1 + k, r);
            }
        }
        Cmd::Replace(n) => {
            if n > list.len() || rules.len() != 1 {
                return Err(IptError::at(cmd_at + 2, "Index of replacement too big"));
            }
            list[n - 1] = rules.remove(0);
        }
        Cmd::Delete(Some(n)) => {
            if n > list.len() {
                return Err(IptError::at(cmd_at + 2, "Index of deletion too big"));
            }
            list.remove(n - 1);
        }
        Cmd::Delete(None) => {
            for r in rules {
                let Some(k) = list
                    .iter()
                    .position(|x| x.ip == r.ip && x.matches == r.matches && x.target == r.target)
                else {
                    return Err(IptError::at(
                        cmd_at,
                        "Bad rule (does a matching rule exist in that chain?)",
                    ));
                };
                list.remove(k);
            }
        }
        _ => {}
    }
    Ok(())
}

/// An option of the current match (`--dport 80` after `-p tcp`, `--state NEW` after `-m
/// state`, …).
fn match_option(
    p: &mut Parser<'_>,
    matches: &mut Vec<Match>,
    cur: Option<&str>,
    opt: &str,
    at: usize,
    inv: bool,
) -> Res<()> {
    let unknown = || {
        IptError::at(
            at,
            format!(
                "unknown option \"--{opt}\"{}",
                match cur {
                    Some(m) => format!(" for match `{m}'"),
                    None => " (a match's options follow -p tcp|udp|icmp or -m NAME; a target's follow -j)".into(),
                }
            ),
        )
    };
    let Some(cur) = cur else {
        return Err(unknown());
    };
    let full = format!("--{opt}");
    if cur == "icmp" {
        if opt != "icmp-type" {
            return Err(unknown());
        }
        let (v, k) = p.value(&full)?;
        let t = icmp_type(v, k)?;
        // The icmp match is loaded by its option (`-p icmp` alone has none).
        if matches.iter().any(|m| matches!(m, Match::Icmp(_))) {
            return Err(IptError::at(at, "--icmp-type given twice"));
        }
        matches.push(Match::Icmp(Inv { v: t, inv }));
        return Ok(());
    }
    let Some(m) = matches.iter_mut().rev().find(|m| match_name(m) == cur) else {
        return Err(unknown());
    };
    match m {
        Match::Tcp(t) => match opt {
            "sport" | "source-port" | "dport" | "destination-port" => {
                set_port(p, &full, inv, &mut t.sport, &mut t.dport)?;
            }
            "tcp-flags" => {
                let (mask, k1) = p.value(&full)?;
                let (comp, k2) = p.value(&full)?;
                t.flags = Some(Inv {
                    v: TcpFlagsMatch {
                        mask: tcp_flags(mask, k1)?,
                        comp: tcp_flags(comp, k2)?,
                    },
                    inv,
                });
            }
            "syn" => {
                t.flags = Some(Inv {
                    v: TcpFlagsMatch {
                        mask: 0x17,
                        comp: 0x02,
                    },
                    inv,
                });
            }
            "tcp-option" => {
                let (v, k) = p.value(&full)?;
                t.option = Some(Inv {
                    v: num(v, k, "TCP option", 255)?,
                    inv,
                });
            }
            _ => return Err(unknown()),
        },
        Match::Udp(u) => match opt {
            "sport" | "source-port" | "dport" | "destination-port" => {
                set_port(p, &full, inv, &mut u.sport, &mut u.dport)?;
            }
            _ => return Err(unknown()),
        },
        Match::Multiport {
            dir,
            ports,
            inv: minv,
        } => {
            *dir = match opt {
                "sports" | "source-ports" => MultiportDir::Src,
                "dports" | "destination-ports" => MultiportDir::Dst,
                "ports" => MultiportDir::Any,
                _ => return Err(unknown()),
            };
            let (v, k) = p.value(&full)?;
            let mut list = Vec::new();
            let mut slots = 0;
            for part in v.split(',') {
                let r = port_range(part, k)?;
                slots += if r.min == r.max { 1 } else { 2 };
                list.push(r);
            }
            if slots > 15 {
                return Err(IptError::at(
                    k,
                    "too many ports specified (multiport takes up to 15, a range counting as two)",
                ));
            }
            *ports = list;
            *minv = inv;
        }
        Match::IpRange { src, dst } => {
            let (v, k) = p.value(&full)?;
            let (a, b) = v
                .split_once('-')
                .ok_or_else(|| IptError::at(k, format!("bad IP range \"{v}\" (expected A-B)")))?;
            let r = Some(Inv {
                v: (addr(a, k)?, addr(b, k)?),
                inv,
            });
            match opt {
                "src-range" => *src = r,
                "dst-range" => *dst = r,
                _ => return Err(unknown()),
            }
        }
        Match::State(s) => {
            if opt != "state" {
                return Err(unknown());
            }
            let (v, k) = p.value(&full)?;
            *s = Inv {
                v: states(v, k, false)? as u16,
                inv,
            };
        }
        Match::Conntrack(c) => match opt {
            "ctstate" => {
                let (v, k) = p.value(&full)?;
                c.state = Some(Inv {
                    v: states(v, k, false)? as u16,
                    inv,
                });
            }
            "ctstatus" => {
                let (v, k) = p.value(&full)?;
                c.status = Some(Inv {
                    v: states(v, k, true)?,
                    inv,
                });
            }
            _ => return Err(unknown()),
        },
        Match::Mark(mm) | Match::Connmark(mm) => {
            if opt != "mark" {
                return Err(unknown());
            }
            let (v, k) = p.value(&full)?;
            *mm = Inv {
                v: mark_mask(v, k)?,
                inv,
            };
        }
        Match::Limit(l) => match opt {
            "limit" => {
                let (v, k) = p.value(&full)?;
                *l = Limit::new(rate(v, k)?, l.burst);
            }
            "limit-burst" => {
                let (v, k) = p.value(&full)?;
                let b: u32 = num(v, k, "burst", 10000)?;
                if b == 0 {
                    return Err(IptError::at(k, "bad --limit-burst `0'"));
                }
                *l = Limit::new(l.avg, b);
            }
            _ => return Err(unknown()),
        },
        Match::Statistic {
            mode, inv: sinv, ..
        } => match opt {
            "mode" => {
                let (v, k) = p.value(&full)?;
                *mode = match v {
                    "random" => StatisticMode::Random(match mode {
                        StatisticMode::Random(x) => *x,
                        StatisticMode::Nth(_) => 0,
                    }),
                    "nth" => StatisticMode::Nth(match mode {
                        StatisticMode::Nth(n) => *n,
                        StatisticMode::Random(_) => Nth {
                            every: 1,
                            packet: 0,
                        },
                    }),
                    _ => {
                        return Err(IptError::at(
                            k,
                            format!("bad mode \"{v}\" (expected random or nth)"),
                        ));
                    }
                };
            }
            "probability" => {
                let (v, k) = p.value(&full)?;
                let pr: f64 = v
                    .parse()
                    .ok()
                    .filter(|x: &f64| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        IptError::at(
                            k,
                            format!("--probability must be between 0 and 1, not \"{v}\""),
                        )
                    })?;
                *mode = StatisticMode::Random((pr * f64::from(0x8000_0000u32)).round() as u32);
                *sinv = inv;
            }
            "every" | "packet" => {
                let (v, k) = p.value(&full)?;
                let x: u32 = num(v, k, opt, u64::from(u32::MAX))?;
                let mut n = match mode {
                    StatisticMode::Nth(n) => *n,
                    StatisticMode::Random(_) => Nth {
                        every: 1,
                        packet: 0,
                    },
                };
                if opt == "every" {
                    if x == 0 {
                        return Err(IptError::at(k, "--every 0 matches no packet"));
                    }
                    n.every = x;
                    *sinv = inv;
                } else {
                    n.packet = x;
                }
                *mode = StatisticMode::Nth(n);
            }
            _ => return Err(unknown()),
        },
        Match::Length(l) => {
            if opt != "length" {
                return Err(unknown());
            }
            let (v, k) = p.value(&full)?;
            let r = port_range(v, k).map_err(|_| {
                IptError::at(k, format!("bad length \"{v}\" (expected MIN or MIN:MAX)"))
            })?;
            *l = Inv {
                v: (r.min, r.max),
                inv,
            };
        }
        Match::Ttl { op, value } => {
            let (v, k) = p.value(&full)?;
            *value = num(v, k, "TTL", 255)?;
            *op = match (opt, inv) {
                ("ttl-eq", false) => TtlOp::Eq,
                ("ttl-eq", true) => TtlOp::Ne,
                ("ttl-lt", false) => TtlOp::Lt,
                ("ttl-gt", false) => TtlOp::Gt,
                ("ttl-lt" | "ttl-gt", true) => {
                    return Err(IptError::at(at, "`!' is only allowed with --ttl-eq"));
                }
                _ => return Err(unknown()),
            };
        }
        Match::Comment(c) => {
            if opt != "comment" {
                return Err(unknown());
            }
            let (v, k) = p.value(&full)?;
            if v.len() > 255 {
                return Err(IptError::at(k, "comment too long (at most 255 characters)"));
            }
            *c = v.to_string();
        }
        Match::Icmp(_) => return Err(unknown()),
    }
    Ok(())
}

/// `--sport`/`--dport` (and their long names) of the tcp and udp matches: the range into
/// the port it names.
fn set_port(
    p: &mut Parser<'_>,
    full: &str,
    inv: bool,
    sport: &mut Option<Inv<PortRange>>,
    dport: &mut Option<Inv<PortRange>>,
) -> Res<()> {
    let (v, k) = p.value(full)?;
    let r = Some(Inv {
        v: port_range(v, k)?,
        inv,
    });
    if full.starts_with("--s") {
        *sport = r;
    } else {
        *dport = r;
    }
    Ok(())
}

/// The `-m` name of a match.
pub fn match_name(m: &Match) -> &'static str {
    match m {
        Match::Tcp(_) => "tcp",
        Match::Udp(_) => "udp",
        Match::Icmp(_) => "icmp",
        Match::Multiport { .. } => "multiport",
        Match::IpRange { .. } => "iprange",
        Match::State(_) => "state",
        Match::Conntrack(_) => "conntrack",
        Match::Mark(_) => "mark",
        Match::Connmark(_) => "connmark",
        Match::Limit(_) => "limit",
        Match::Statistic { .. } => "statistic",
        Match::Length(_) => "length",
        Match::Ttl { .. } => "ttl",
        Match::Comment(_) => "comment",
    }
}

fn parse_target(
    p: &mut Parser<'_>,
    name: &str,
    at: usize,
    goto: bool,
    ip: &IpMatch,
) -> Res<Target> {
    let ports_ok = matches!(
        ip.proto.map(|x| (x.v, x.inv)),
        Some((6 | 17 | 132 | 33, false))
    );
    if goto {
        if Target::builtin_name(name) {
            return Err(IptError::at(
                at,
                format!("-g needs a user chain, not `{name}'"),
            ));
        }
        return Ok(Target::Goto(name.to_string()));
    }
    let mut t = match name {
        "ACCEPT" => return Ok(Target::Accept),
        "DROP" => return Ok(Target::Drop),
        "RETURN" => return Ok(Target::Return),
        "REJECT" => Target::Reject(RejectWith::PortUnreachable),
        "LOG" => Target::Log(LogTarget {
            prefix: String::new(),
            level: 4,
            tcp_seq: false,
            tcp_options: false,
            ip_options: false,
            uid: false,
        }),
        "MARK" => Target::Mark { value: 0, mask: 0 },
        "CONNMARK" => Target::Connmark(ConnmarkMode::Set { value: 0, mask: 0 }),
        "SNAT" => Target::Snat(NatTo::default()),
        "DNAT" => Target::Dnat(NatTo::default()),
        "MASQUERADE" => Target::Masquerade(NatTo::default()),
        "REDIRECT" => Target::Redirect(NatTo::default()),
        "NOTRACK" => return Ok(Target::Notrack { ct: false }),
        "TCPMSS" => {
            // tcpmss_tg4_check: only on SYNs, which the rule must say it matches.
            let syn = ip.proto.is_some_and(|p| p.v == 6 && !p.inv);
            let opt = p.peek();
            let mode = match opt {
                Some("--clamp-mss-to-pmtu") => {
                    p.i += 1;
                    Tcpmss::ClampPmtu
                }
                Some("--set-mss") => {
                    p.i += 1;
                    let (v, k) = p.value("--set-mss")?;
                    Tcpmss::Set(num(v, k, "MSS", 65535)?)
                }
                _ => {
                    return Err(IptError::at(
                        at,
                        "TCPMSS target: exactly one of --set-mss or --clamp-mss-to-pmtu is required",
                    ));
                }
            };
            if !syn {
                return Err(IptError::at(at, "TCPMSS target: only valid for -p tcp"));
            }
            return Ok(Target::Tcpmss(mode));
        }
        "CT" => Target::Notrack { ct: true },
        n if is_unknown_module(n) => {
            return Err(IptError::at(
                at,
                format!(
                    "Couldn't load target `{n}' (this model has ACCEPT, DROP, RETURN, REJECT, LOG, MARK, CONNMARK, SNAT, DNAT, MASQUERADE, REDIRECT, NOTRACK, CT --notrack, and user chains)"
                ),
            ));
        }
        n => return Ok(Target::Jump(n.to_string())),
    };
    let mut seen_mark = false;
    let mut to_seen = false;
    let mut ct_notrack = false;
    while let Some(word) = p.peek() {
        let Some(opt) = word.strip_prefix("--") else {
            break;
        };
        // Options of matches cannot follow a target's in this model; iptables allows mixing,
        // so an option this target does not know ends its options.
        let k = p.i;
        let known = match (&t, opt) {
            (Target::Reject(_), "reject-with") => true,
            (
                Target::Log(_),
                "log-prefix" | "log-level" | "log-tcp-sequence" | "log-tcp-options"
                | "log-ip-options" | "log-uid",
            ) => true,
            (
                Target::Mark { .. },
                "set-mark" | "set-xmark" | "and-mark" | "or-mark" | "xor-mark",
            ) => true,
            (
                Target::Connmark(_),
                "set-mark" | "set-xmark" | "save-mark" | "restore-mark" | "nfmask" | "ctmask"
                | "mask",
            ) => true,
            (Target::Snat(_), "to-source" | "to" | "random" | "random-fully" | "persistent") => {
                true
            }
            (Target::Dnat(_), "to-destination" | "to" | "random" | "persistent") => true,
            (
                Target::Masquerade(_) | Target::Redirect(_),
                "to-ports" | "random" | "random-fully",
            ) => true,
            (Target::Notrack { .. }, "notrack") => name == "CT",
            _ => false,
        };
        if !known {
            break;
        }
        p.i += 1;
        let full = word;
        match (&mut t, opt) {
            (Target::Reject(w), _) => {
                let (v, vk) = p.value(full)?;
                let alias = match v {
                    "icmp-net-unreachable" | "net-unreach" => Some(RejectWith::NetUnreachable),
                    "icmp-host-unreachable" | "host-unreach" => Some(RejectWith::HostUnreachable),
                    "icmp-port-unreachable" | "port-unreach" => Some(RejectWith::PortUnreachable),
                    "icmp-proto-unreachable" | "proto-unreach" => {
                        Some(RejectWith::ProtoUnreachable)
                    }
                    "icmp-net-prohibited" | "net-prohib" => Some(RejectWith::NetProhibited),
                    "icmp-host-prohibited" | "host-prohib" => Some(RejectWith::HostProhibited),
                    "icmp-admin-prohibited" | "admin-prohib" => Some(RejectWith::AdminProhibited),
                    "tcp-reset" | "tcp-rst" => Some(RejectWith::TcpReset),
                    _ => None,
                };
                *w = alias.ok_or_else(|| {
                    IptError::at(vk, format!("unknown reject type \"{v}\" (expected icmp-net-unreachable, icmp-host-unreachable, icmp-port-unreachable, icmp-proto-unreachable, icmp-net-prohibited, icmp-host-prohibited, icmp-admin-prohibited or tcp-reset)"))
                })?;
                if *w == RejectWith::TcpReset && ip.proto.map(|x| (x.v, x.inv)) != Some((6, false))
                {
                    return Err(IptError::at(
                        vk,
                        "--reject-with tcp-reset is only valid with -p tcp",
                    ));
                }
            }
            (Target::Log(l), o) => match o {
                "log-prefix" => {
                    let (v, vk) = p.value(full)?;
                    if v.len() > 29 {
                        return Err(IptError::at(
                            vk,
                            "Maximum prefix length 29 for --log-prefix",
                        ));
                    }
                    if v.contains('\n') {
                        return Err(IptError::at(vk, "newlines not allowed in --log-prefix"));
                    }
                    l.prefix = v.to_string();
                }
                "log-level" => {
                    let (v, vk) = p.value(full)?;
                    const LEVELS: [&str; 8] = [
                        "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
                    ];
                    l.level = match LEVELS.iter().position(|x| {
                        *x == v
                            || (v == "panic" && *x == "emerg")
                            || (v == "err" && *x == "error")
                            || (v == "warn" && *x == "warning")
                    }) {
                        Some(i) => i as u8,
                        None => num(v, vk, "log level (0-7 or a name such as warning)", 7)?,
                    };
                }
                "log-tcp-sequence" => l.tcp_seq = true,
                "log-tcp-options" => l.tcp_options = true,
                "log-ip-options" => l.ip_options = true,
                _ => l.uid = true,
            },
            (Target::Mark { value, mask }, o) => {
                if seen_mark {
                    return Err(IptError::at(
                        k,
                        "MARK: only one of --set-mark, --set-xmark, --and-mark, --or-mark, --xor-mark",
                    ));
                }
                seen_mark = true;
                let (v, vk) = p.value(full)?;
                let mm = mark_mask(v, vk)?;
                let given_mask = v.contains('/');
                (*value, *mask) = match o {
                    "set-xmark" => (mm.value, mm.mask),
                    "set-mark" => (
                        mm.value,
                        if given_mask {
                            mm.value | mm.mask
                        } else {
                            u32::MAX
                        },
                    ),
                    "and-mark" => (0, !mm.value),
                    "or-mark" => (mm.value, mm.value),
                    _ => (mm.value, 0),
                };
            }
            (Target::Connmark(mode), o) => match o {
                "set-mark" | "set-xmark" => {
                    let (v, vk) = p.value(full)?;
                    let mm = mark_mask(v, vk)?;
                    let given = v.contains('/');
                    *mode = ConnmarkMode::Set {
                        value: mm.value,
                        mask: if o == "set-mark" {
                            if given { mm.value | mm.mask } else { u32::MAX }
                        } else {
                            mm.mask
                        },
                    };
                    seen_mark = true;
                }
                "save-mark" => {
                    *mode = ConnmarkMode::Save {
                        nfmask: u32::MAX,
                        ctmask: u32::MAX,
                    };
                    seen_mark = true;
                }
                "restore-mark" => {
                    *mode = ConnmarkMode::Restore {
                        nfmask: u32::MAX,
                        ctmask: u32::MAX,
                    };
                    seen_mark = true;
                }
                "nfmask" | "ctmask" | "mask" => {
                    let (v, vk) = p.value(full)?;
                    let m: u32 = num(v, vk, "mask", u64::from(u32::MAX))?;
                    match mode {
                        ConnmarkMode::Save { nfmask, ctmask }
                        | ConnmarkMode::Restore { nfmask, ctmask } => {
                            if o != "ctmask" {
                                *nfmask = m;
                            }
                            if o != "nfmask" {
                                *ctmask = m;
                            }
                        }
                        ConnmarkMode::Set { .. } => {
                            return Err(IptError::at(
                                k,
                                format!("--{o} goes with --save-mark or --restore-mark"),
                            ));
                        }
                    }
                }
                _ => unreachable!("checked above"),
            },
            (Target::Snat(to) | Target::Dnat(to), o) => match o {
                "random" => to.random = true,
                "random-fully" => to.random_fully = true,
                "persistent" => to.persistent = true,
                _ => {
                    if to_seen {
                        return Err(IptError::at(
                            k,
                            "only one --to-source/--to-destination (this kernel's NAT takes one range)",
                        ));
                    }
                    to_seen = true;
                    let (v, vk) = p.value(full)?;
                    let n = nat_to(v, vk, ports_ok)?;
                    *to = NatTo {
                        random: to.random,
                        random_fully: to.random_fully,
                        persistent: to.persistent,
                        ..n
                    };
                }
            },
            (Target::Masquerade(to) | Target::Redirect(to), o) => match o {
                "random" => to.random = true,
                "random-fully" => to.random_fully = true,
                _ => {
                    let (v, vk) = p.value(full)?;
                    if !ports_ok {
                        return Err(IptError::at(
                            vk,
                            "--to-ports needs -p tcp, -p udp, -p sctp or -p dccp",
                        ));
                    }
                    to.ports = Some(nat_ports(v, vk)?);
                }
            },
            (Target::Notrack { .. }, _) => ct_notrack = true,
            _ => unreachable!("checked above"),
        }
    }
    match &t {
        Target::Mark { .. } if !seen_mark => {
            return Err(IptError::at(
                at,
                "MARK target: one of --set-mark, --set-xmark, --and-mark, --or-mark or --xor-mark is required",
            ));
        }
        Target::Connmark(_) if !seen_mark => {
            return Err(IptError::at(
                at,
                "CONNMARK target: one of --set-mark, --set-xmark, --save-mark or --restore-mark is required",
            ));
        }
        Target::Snat(_) if !to_seen => {
            return Err(IptError::at(
                at,
                "SNAT: option \"--to-source\" must be specified",
            ));
        }
        Target::Dnat(_) if !to_seen => {
            return Err(IptError::at(
                at,
                "DNAT: option \"--to-destination\" must be specified",
            ));
        }
        Target::Notrack { .. } if name == "CT" && !ct_notrack => {
            return Err(IptError::at(at, "CT: this model has only `CT --notrack'"));
        }
        _ => {}
    }
    Ok(t)
}

/// Whether an all-capitals `-j` name is a target module this model lacks (rather than a user
/// chain someone named in capitals: those are resolved when the rule is added).
fn is_unknown_module(name: &str) -> bool {
    const KNOWN_ELSEWHERE: &[&str] = &[
        "TCPMSS",
        "TOS",
        "TTL",
        "DSCP",
        "CLASSIFY",
        "NFQUEUE",
        "QUEUE",
        "TEE",
        "TPROXY",
        "NFLOG",
        "ULOG",
        "SET",
        "AUDIT",
        "CHECKSUM",
        "CLUSTERIP",
        "ECN",
        "HMARK",
        "IDLETIMER",
        "LED",
        "NETMAP",
        "RATEEST",
        "SECMARK",
        "CONNSECMARK",
        "SYNPROXY",
        "TRACE",
        "HL",
    ];
    KNOWN_ELSEWHERE.contains(&name)
}

impl Target {
    /// Whether `name` is a built-in verdict or target (not a user chain's name).
    pub fn builtin_name(name: &str) -> bool {
        matches!(
            name,
            "ACCEPT"
                | "DROP"
                | "RETURN"
                | "QUEUE"
                | "REJECT"
                | "LOG"
                | "MARK"
                | "CONNMARK"
                | "SNAT"
                | "DNAT"
                | "MASQUERADE"
                | "REDIRECT"
                | "NOTRACK"
                | "CT"
        ) || is_unknown_module(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rs: &mut Ruleset, line: &str) -> Res<()> {
        let words = split_words(line).expect("quotes close");
        let w: Vec<&str> = words.iter().map(|(s, _)| s.as_str()).collect();
        apply(rs, &w)
    }

    #[test]
    fn words_split_as_a_shell_splits_them() {
        let w = split_words(r#"-j LOG --log-prefix "FWD: " --x 'a b' c\ d"#).unwrap();
        let words: Vec<&str> = w.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            words,
            ["-j", "LOG", "--log-prefix", "FWD: ", "--x", "a b", "c d"]
        );
        assert_eq!(w[3].1, 20..27);
        assert_eq!(split_words("-j \"open"), Err(3));
    }

    #[test]
    fn a_masquerade_goes_into_nat_postrouting() {
        let mut rs = Ruleset::default();
        run(&mut rs, "-t nat -A POSTROUTING -o eth1 -j MASQUERADE").unwrap();
        let nat = rs.table(TableId::Nat);
        let post = &nat.chains[nat.hook_chain(Hook::PostRouting).unwrap()];
        assert_eq!(post.rules.len(), 1);
        assert_eq!(post.rules[0].ip.oif.as_ref().unwrap().v.0, "eth1");
        assert!(matches!(post.rules[0].target, Target::Masquerade(_)));
        assert!(rs.needs_conntrack());
    }

    #[test]
    fn address_lists_expand_to_one_rule_each() {
        let mut rs = Ruleset::default();
        run(&mut rs, "-A INPUT -s 10.0.0.0/8,192.168.1.1 -d 1.2.3.4/255.255.255.0 -p tcp --dport 22 -j ACCEPT").unwrap();
        let f = rs.table(TableId::Filter);
        let input = &f.chains[0];
        assert_eq!(input.rules.len(), 2);
        assert_eq!(
            input.rules[1].ip.src.unwrap().v,
            Ipv4Cidr::new([192, 168, 1, 1].into(), 32)
        );
        assert_eq!(
            input.rules[0].ip.dst.unwrap().v,
            Ipv4Cidr::new([1, 2, 3, 0].into(), 24)
        );
    }

    #[test]
    fn what_iptables_refuses_is_refused_at_the_word() {
        let mut rs = Ruleset::default();
        let err = |rs: &mut Ruleset, l: &str| run(rs, l).unwrap_err();
        assert_eq!(err(&mut rs, "-A INPUT -j MASQUERADE").word, 3);
        assert_eq!(err(&mut rs, "-A INPUT --dport 80 -j ACCEPT").word, 2);
        assert_eq!(
            err(&mut rs, "-A INPUT -p udp -j REJECT --reject-with tcp-reset").word,
            7
        );
        assert_eq!(err(&mut rs, "-t nat -P POSTROUTING DROP").word, 2);
        assert_eq!(err(&mut rs, "-A NOPE -j ACCEPT").word, 1);
        assert_eq!(err(&mut rs, "-A OUTPUT -i eth0 -j DROP").word, 0);
        assert!(
            err(&mut rs, "-A INPUT -j nochain")
                .msg
                .contains("create it with -N")
        );
        assert!(
            err(&mut rs, "-A INPUT -m recent -j DROP")
                .msg
                .contains("Couldn't load match")
        );
        assert!(
            err(&mut rs, "-A FORWARD -j TCPMSS --set-mss 1400")
                .msg
                .contains("only valid for -p tcp")
        );
        assert!(
            err(&mut rs, "-A FORWARD -j NFQUEUE")
                .msg
                .contains("Couldn't load target")
        );
        assert_eq!(err(&mut rs, "-A INPUT -p tcp --dport").word, 5);
    }

    #[test]
    fn user_chains_insert_delete_and_policies() {
        let mut rs = Ruleset::default();
        for l in [
            "-N web",
            "-A FORWARD -p tcp -j web",
            "-A web -p tcp --dport 80 -j ACCEPT",
            "-A web -j RETURN",
            "-I web 1 -p tcp --dport 443 -j ACCEPT",
            "-P FORWARD DROP",
        ] {
            run(&mut rs, l).unwrap();
        }
        rs.link().unwrap();
        let f = rs.table(TableId::Filter);
        let web = &f.chains[f.chain("web").unwrap()];
        assert_eq!(web.rules.len(), 3);
        run(&mut rs, "-D web 1").unwrap();
        run(&mut rs, "-D web -j RETURN").unwrap();
        assert_eq!(rs.table(TableId::Filter).chains[3].rules.len(), 1);
        assert!(run(&mut rs, "-X web").unwrap_err().msg.contains("in use"));
    }

    #[test]
    fn marks_follow_libxt_mark() {
        let mut rs = Ruleset::default();
        run(
            &mut rs,
            "-t mangle -A PREROUTING -j MARK --set-mark 0x10/0xf0",
        )
        .unwrap();
        run(&mut rs, "-t mangle -A PREROUTING -j MARK --or-mark 1").unwrap();
        let m = &rs.table(TableId::Mangle).chains[0].rules;
        assert_eq!(
            m[0].target,
            Target::Mark {
                value: 0x10,
                mask: 0xf0
            }
        );
        assert_eq!(m[1].target, Target::Mark { value: 1, mask: 1 });
    }
}
