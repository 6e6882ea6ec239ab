//! `iptables -L -v -n` and `iptables-save` of a node's tables, byte for byte as iptables
//! 1.8.9 (nf_tables) prints them on this project's reference machine: the column widths of
//! `print_header`/`print_firewall`, the counters of `xtables_print_num`, and each match's and
//! target's own `print` and `save` (libxt_*).

use std::fmt::Write;

use super::rule::{Inv, Rule};
use super::table::{Policy, Ruleset, Table, TableId};
use super::target::{ConnmarkMode, NatTo, Target, Tcpmss};
use super::xt_match::{Match, MultiportDir, PortRange, StatisticMode, TtlOp, state};

/// How `-L` prints: `-x` (exact counters) and `--line-numbers`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFormat {
    /// `-x`.
    pub exact: bool,
    /// `--line-numbers`.
    pub line_numbers: bool,
}

/// `xtables_print_num`: a counter, in a column (`table`) or inline.
fn num(out: &mut String, n: u64, exact: bool, table: bool) {
    if exact {
        if table {
            let _ = write!(out, "{n:8} ");
        } else {
            let _ = write!(out, "{n} ");
        }
        return;
    }
    if n <= 99_999 {
        if table {
            let _ = write!(out, "{n:5} ");
        } else {
            let _ = write!(out, "{n} ");
        }
        return;
    }
    let mut v = n;
    for unit in ['K', 'M', 'G'] {
        v = (v + 500) / 1000;
        if v <= 9999 {
            if table {
                let _ = write!(out, "{v:4}{unit} ");
            } else {
                let _ = write!(out, "{v}{unit} ");
            }
            return;
        }
    }
    v = (v + 500) / 1000;
    if table {
        let _ = write!(out, "{v:4}T ");
    } else {
        let _ = write!(out, "{v}T ");
    }
}

/// `iptables -t TABLE -L -v -n`: every chain of the table.
pub fn list(t: &Table, f: ListFormat) -> String {
    let mut out = String::new();
    for (k, c) in t.chains.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let _ = write!(out, "Chain {}", c.name);
        match c.policy {
            Some(p) => {
                let _ = write!(out, " (policy {} ", policy_name(p));
                num(&mut out, c.policy_packets, f.exact, false);
                out.push_str("packets, ");
                num(&mut out, c.policy_bytes, f.exact, false);
                out.push_str("bytes)\n");
            }
            None => {
                let refs = t
                    .chains
                    .iter()
                    .flat_map(|ch| &ch.rules)
                    .filter(
                        |r| matches!(&r.target, Target::Jump(n) | Target::Goto(n) if *n == c.name),
                    )
                    .count();
                let _ = writeln!(out, " ({refs} references)");
            }
        }
        if f.line_numbers {
            out.push_str("num  ");
        }
        if f.exact {
            let _ = write!(out, "{:>8} {:>10} ", "pkts", "bytes");
        } else {
            let _ = write!(out, "{:>5} {:>5} ", "pkts", "bytes");
        }
        let _ = writeln!(
            out,
            "{:<10} prot opt {:<6} {:<6}  {:<19}  {:<19} ",
            "target", "in", "out", "source", "destination"
        );
        for (i, r) in c.rules.iter().enumerate() {
            if f.line_numbers {
                let _ = write!(out, "{:<4} ", i + 1);
            }
            num(&mut out, r.packets, f.exact, true);
            num(&mut out, r.bytes, f.exact, true);
            let _ = write!(out, "{:<9} ", r.target.name());
            let proto = r.ip.proto.map_or(0, |p| p.v);
            let pinv = r.ip.proto.is_some_and(|p| p.inv);
            let _ = write!(out, "{}{:<4} ", if pinv { '!' } else { ' ' }, proto);
            let (finv, frag) = match r.ip.frag {
                Some(f) => (f.inv, true),
                None => (false, false),
            };
            let _ = write!(
                out,
                "{}{} ",
                if finv { '!' } else { '-' },
                if frag { 'f' } else { '-' }
            );
            let iface = |m: &Option<Inv<super::rule::IfName>>| match m {
                Some(i) => format!("{}{}", if i.inv { "!" } else { "" }, i.v.0),
                None => "*".to_string(),
            };
            let _ = write!(out, " {:<6} {:<6} ", iface(&r.ip.iif), iface(&r.ip.oif));
            for a in [&r.ip.src, &r.ip.dst] {
                let (inv, text) = match a {
                    Some(c) => (c.inv, addr_text(c.v, false)),
                    None => (false, "0.0.0.0/0".to_string()),
                };
                let _ = write!(out, "{}{:<19} ", if inv { '!' } else { ' ' }, text);
            }
            if matches!(r.target, Target::Goto(_)) {
                out.push_str("[goto] ");
            }
            for m in &r.matches {
                print_match(&mut out, m);
            }
            print_target(&mut out, &r.target);
            out.push('\n');
        }
    }
    out
}

fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Accept => "ACCEPT",
        Policy::Drop => "DROP",
    }
}

/// An address as `-L -n` (`/32` dropped) or `iptables-save` (`/32` kept) writes it.
fn addr_text(c: crate::wire::Ipv4Cidr, save: bool) -> String {
    if c.prefix_len() == 0 {
        return "0.0.0.0/0".into();
    }
    if c.prefix_len() == 32 && !save {
        return c.address().to_string();
    }
    format!("{}/{}", c.address(), c.prefix_len())
}

/// `print_ports` of libxt_tcp/udp.
fn ports(out: &mut String, name: &str, r: &Option<Inv<PortRange>>) {
    let Some(r) = r else {
        return;
    };
    let inv = if r.inv { "!" } else { "" };
    if r.v.min == r.v.max {
        let _ = write!(out, " {name}:{inv}{}", r.v.min);
    } else {
        let _ = write!(out, " {name}s:{inv}{}:{}", r.v.min, r.v.max);
    }
}

fn range_text(r: &PortRange) -> String {
    if r.min == r.max {
        r.min.to_string()
    } else {
        format!("{}:{}", r.min, r.max)
    }
}

fn state_names(bits: u16) -> String {
    state::NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

fn status_names(bits: u32) -> String {
    const NAMES: [(u32, &str); 4] = [
        (1, "EXPECTED"),
        (2, "SEEN_REPLY"),
        (4, "ASSURED"),
        (8, "CONFIRMED"),
    ];
    let v: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "NONE".into()
    } else {
        v.join(",")
    }
}

/// Whether the tcp/udp match carries options (a bare `-p tcp` shows none).
fn has_options(m: &Match) -> bool {
    match m {
        Match::Tcp(t) => {
            t.sport.is_some() || t.dport.is_some() || t.flags.is_some() || t.option.is_some()
        }
        Match::Udp(u) => u.sport.is_some() || u.dport.is_some(),
        _ => true,
    }
}

fn print_match(out: &mut String, m: &Match) {
    if !has_options(m) {
        return;
    }
    match m {
        Match::Tcp(t) => {
            out.push_str(" tcp");
            ports(out, "spt", &t.sport);
            ports(out, "dpt", &t.dport);
            if let Some(o) = &t.option {
                let _ = write!(out, " option={}{}", if o.inv { "!" } else { "" }, o.v);
            }
            if let Some(f) = &t.flags {
                let _ = write!(
                    out,
                    " flags:{}0x{:02X}/0x{:02X}",
                    if f.inv { "!" } else { "" },
                    f.v.mask,
                    f.v.comp
                );
            }
        }
        Match::Udp(u) => {
            out.push_str(" udp");
            ports(out, "spt", &u.sport);
            ports(out, "dpt", &u.dport);
        }
        Match::Icmp(i) => {
            out.push_str(" icmp");
            if i.inv {
                out.push_str(" !");
            }
            let _ = write!(out, "type {}", i.v.ty);
            if i.v.code_min == i.v.code_max {
                let _ = write!(out, " code {}", i.v.code_min);
            } else if i.v.code_min != 0 || i.v.code_max != 0xff {
                let _ = write!(out, " codes {}-{}", i.v.code_min, i.v.code_max);
            }
        }
        Match::Multiport { dir, ports, inv } => {
            let name = match dir {
                MultiportDir::Src => "sports",
                MultiportDir::Dst => "dports",
                MultiportDir::Any => "ports",
            };
            let _ = write!(out, " multiport {name} ");
            if *inv {
                out.push_str(" !");
            }
            out.push_str(&ports.iter().map(range_text).collect::<Vec<_>>().join(","));
        }
        Match::IpRange { src, dst } => {
            for (r, name) in [(src, "source"), (dst, "destination")] {
                if let Some(r) = r {
                    let _ = write!(
                        out,
                        " {name} IP range {}{}-{}",
                        if r.inv { "! " } else { "" },
                        r.v.0,
                        r.v.1
                    );
                }
            }
        }
        Match::State(s) => {
            let _ = write!(
                out,
                "{} state {}",
                if s.inv { " !" } else { "" },
                state_names(s.v)
            );
        }
        Match::Conntrack(c) => {
            if let Some(s) = &c.state {
                let _ = write!(
                    out,
                    "{} ctstate {}",
                    if s.inv { " !" } else { "" },
                    state_names(s.v)
                );
            }
            if let Some(s) = &c.status {
                let _ = write!(
                    out,
                    "{} ctstatus {}",
                    if s.inv { " !" } else { "" },
                    status_names(s.v)
                );
            }
        }
        Match::Mark(mm) => {
            out.push_str(" mark match");
            if mm.inv {
                out.push_str(" !");
            }
            let _ = write!(out, " 0x{:x}", mm.v.value);
            if mm.v.mask != u32::MAX {
                let _ = write!(out, "/0x{:x}", mm.v.mask);
            }
        }
        Match::Connmark(mm) => {
            out.push_str(" connmark match ");
            if mm.inv {
                out.push('!');
            }
            let _ = write!(out, " 0x{:x}", mm.v.value);
            if mm.v.mask != u32::MAX {
                let _ = write!(out, "/0x{:x}", mm.v.mask);
            }
        }
        Match::Limit(l) => {
            let _ = write!(out, " limit: avg {} burst {}", l.rate_text(), l.burst);
        }
        Match::Statistic { mode, inv, .. } => {
            let bang = if *inv { "! " } else { "" };
            match mode {
                StatisticMode::Random(p) => {
                    let _ = write!(
                        out,
                        " statistic mode random {bang}probability {:.11}",
                        f64::from(*p) / f64::from(0x8000_0000u32)
                    );
                }
                StatisticMode::Nth(n) => {
                    let _ = write!(out, " statistic mode nth {bang}every {}", n.every);
                    if n.packet != 0 {
                        let _ = write!(out, " packet {}", n.packet);
                    }
                }
            }
        }
        Match::Length(l) => {
            let _ = write!(out, " length {}", if l.inv { "!" } else { "" });
            if l.v.0 == l.v.1 {
                let _ = write!(out, "{}", l.v.0);
            } else {
                let _ = write!(out, "{}:{}", l.v.0, l.v.1);
            }
        }
        Match::Ttl { op, value } => {
            let sym = match op {
                TtlOp::Eq => "==",
                TtlOp::Ne => "!=",
                TtlOp::Lt => "<",
                TtlOp::Gt => ">",
            };
            let _ = write!(out, " TTL match TTL {sym} {value}");
        }
        Match::Comment(c) => {
            let _ = write!(out, " /* {c} */");
        }
    }
}

fn nat_range(to: &NatTo) -> String {
    let mut s = String::new();
    if let (Some(a), Some(b)) = (to.min_addr, to.max_addr) {
        let _ = write!(s, "{a}");
        if a != b {
            let _ = write!(s, "-{b}");
        }
    }
    if let Some(p) = to.ports {
        let _ = write!(s, ":{}", p.min);
        if p.max != p.min {
            let _ = write!(s, "-{}", p.max);
        }
    }
    s
}

fn nat_flags(out: &mut String, to: &NatTo, save: bool) {
    let dash = if save { "--" } else { "" };
    if to.random {
        let _ = write!(out, " {dash}random");
    }
    if to.random_fully {
        let _ = write!(out, " {dash}random-fully");
    }
    if to.persistent {
        let _ = write!(out, " {dash}persistent");
    }
}

fn ports_text(p: &PortRange) -> String {
    if p.min == p.max {
        p.min.to_string()
    } else {
        format!("{}-{}", p.min, p.max)
    }
}

fn print_target(out: &mut String, t: &Target) {
    match t {
        Target::Reject(w) => {
            let _ = write!(out, " reject-with {}", w.name());
        }
        Target::Log(l) => {
            let flags = u8::from(l.tcp_seq)
                | (u8::from(l.tcp_options) << 1)
                | (u8::from(l.ip_options) << 2)
                | (u8::from(l.uid) << 3);
            let _ = write!(out, " LOG flags {flags} level {}", l.level);
            if !l.prefix.is_empty() {
                let _ = write!(out, " prefix \"{}\"", l.prefix);
            }
        }
        Target::Mark { value, mask } => {
            let _ = match (*value, *mask) {
                (0, m) => write!(out, " MARK and 0x{:x}", !m),
                (v, m) if v == m => write!(out, " MARK or 0x{v:x}"),
                (v, 0) => write!(out, " MARK xor 0x{v:x}"),
                (v, u32::MAX) => write!(out, " MARK set 0x{v:x}"),
                (v, m) => write!(out, " MARK xset 0x{v:x}/0x{m:x}"),
            };
        }
        Target::Connmark(mode) => {
            let _ = match *mode {
                ConnmarkMode::Set { value: 0, mask } => write!(out, " CONNMARK and 0x{:x}", !mask),
                ConnmarkMode::Set { value, mask } if value == mask => {
                    write!(out, " CONNMARK or 0x{value:x}")
                }
                ConnmarkMode::Set { value, mask: 0 } => write!(out, " CONNMARK xor 0x{value:x}"),
                ConnmarkMode::Set {
                    value,
                    mask: u32::MAX,
                } => write!(out, " CONNMARK set 0x{value:x}"),
                ConnmarkMode::Set { value, mask } => {
                    write!(out, " CONNMARK xset 0x{value:x}/0x{mask:x}")
                }
                ConnmarkMode::Save { nfmask, ctmask }
                | ConnmarkMode::Restore { nfmask, ctmask } => {
                    let what = if matches!(mode, ConnmarkMode::Save { .. }) {
                        "save"
                    } else {
                        "restore"
                    };
                    if nfmask == u32::MAX && ctmask == u32::MAX {
                        write!(out, " CONNMARK {what}")
                    } else if nfmask == ctmask {
                        write!(out, " CONNMARK {what} mask 0x{nfmask:x}")
                    } else {
                        write!(
                            out,
                            " CONNMARK {what} nfmask 0x{nfmask:x} ctmask ~0x{ctmask:x}"
                        )
                    }
                }
            };
        }
        Target::Snat(to) | Target::Dnat(to) => {
            let _ = write!(out, " to:{}", nat_range(to));
            nat_flags(out, to, false);
        }
        Target::Masquerade(to) => {
            if let Some(p) = to.ports {
                let _ = write!(out, " masq ports: {}", ports_text(&p));
            }
            nat_flags(out, to, false);
        }
        Target::Redirect(to) => {
            if let Some(p) = to.ports {
                let _ = write!(out, " redir ports {}", ports_text(&p));
            }
            nat_flags(out, to, false);
        }
        Target::Tcpmss(Tcpmss::ClampPmtu) => out.push_str(" TCPMSS clamp to PMTU"),
        Target::Tcpmss(Tcpmss::Set(m)) => {
            let _ = write!(out, " TCPMSS set {m}");
        }
        Target::Notrack { ct: false } => out.push_str(" NOTRACK"),
        Target::Notrack { ct: true } => out.push_str(" CT notrack"),
        _ => {}
    }
}

/// `xtables_save_string`: quoted when it has characters a shell would split on.
fn save_string(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,+@%=".contains(c))
    {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn tcp_flag_names(mut f: u8) -> String {
    const NAMES: [(u8, &str); 6] = [
        (0x01, "FIN"),
        (0x02, "SYN"),
        (0x04, "RST"),
        (0x08, "PSH"),
        (0x10, "ACK"),
        (0x20, "URG"),
    ];
    let mut v = Vec::new();
    for (b, n) in NAMES {
        if f & b != 0 {
            v.push(n);
            f &= !b;
        }
    }
    if v.is_empty() {
        "NONE".into()
    } else {
        v.join(",")
    }
}

fn save_match(out: &mut String, m: &Match) {
    if !has_options(m) {
        return;
    }
    let bang = |inv: bool| if inv { " !" } else { "" };
    let _ = write!(out, " -m {}", super::iptables::match_name(m));
    match m {
        Match::Tcp(t) => {
            for (name, r) in [("sport", &t.sport), ("dport", &t.dport)] {
                if let Some(r) = r {
                    let _ = write!(out, "{} --{name} {}", bang(r.inv), range_text(&r.v));
                }
            }
            if let Some(o) = &t.option {
                let _ = write!(out, "{} --tcp-option {}", bang(o.inv), o.v);
            }
            if let Some(f) = &t.flags {
                let _ = write!(
                    out,
                    "{} --tcp-flags {} {}",
                    bang(f.inv),
                    tcp_flag_names(f.v.mask),
                    tcp_flag_names(f.v.comp)
                );
            }
        }
        Match::Udp(u) => {
            for (name, r) in [("sport", &u.sport), ("dport", &u.dport)] {
                if let Some(r) = r {
                    let _ = write!(out, "{} --{name} {}", bang(r.inv), range_text(&r.v));
                }
            }
        }
        Match::Icmp(i) => {
            let _ = write!(out, "{} --icmp-type ", bang(i.inv));
            if i.v.ty == 255 {
                out.push_str("any");
            } else {
                let _ = write!(out, "{}", i.v.ty);
                if i.v.code_min == i.v.code_max {
                    let _ = write!(out, "/{}", i.v.code_min);
                }
            }
        }
        Match::Multiport { dir, ports, inv } => {
            let name = match dir {
                MultiportDir::Src => "sports",
                MultiportDir::Dst => "dports",
                MultiportDir::Any => "ports",
            };
            let _ = write!(
                out,
                "{} --{name} {}",
                bang(*inv),
                ports.iter().map(range_text).collect::<Vec<_>>().join(",")
            );
        }
        Match::IpRange { src, dst } => {
            for (r, name) in [(src, "src-range"), (dst, "dst-range")] {
                if let Some(r) = r {
                    let _ = write!(out, "{} --{name} {}-{}", bang(r.inv), r.v.0, r.v.1);
                }
            }
        }
        Match::State(s) => {
            let _ = write!(out, "{} --state {}", bang(s.inv), state_names(s.v));
        }
        Match::Conntrack(c) => {
            if let Some(s) = &c.state {
                let _ = write!(out, "{} --ctstate {}", bang(s.inv), state_names(s.v));
            }
            if let Some(s) = &c.status {
                let _ = write!(out, "{} --ctstatus {}", bang(s.inv), status_names(s.v));
            }
        }
        Match::Mark(mm) | Match::Connmark(mm) => {
            let _ = write!(out, "{} --mark 0x{:x}", bang(mm.inv), mm.v.value);
            if mm.v.mask != u32::MAX {
                let _ = write!(out, "/0x{:x}", mm.v.mask);
            }
        }
        Match::Limit(l) => {
            let _ = write!(out, " --limit {}", l.rate_text());
            if l.burst != 5 {
                let _ = write!(out, " --limit-burst {}", l.burst);
            }
        }
        Match::Statistic { mode, inv, .. } => match mode {
            StatisticMode::Random(p) => {
                let _ = write!(
                    out,
                    " --mode random{} --probability {:.11}",
                    bang(*inv),
                    f64::from(*p) / f64::from(0x8000_0000u32)
                );
            }
            StatisticMode::Nth(n) => {
                let _ = write!(
                    out,
                    " --mode nth{} --every {} --packet {}",
                    bang(*inv),
                    n.every,
                    n.packet
                );
            }
        },
        Match::Length(l) => {
            let _ = write!(out, "{} --length {}", bang(l.inv), l.v.0);
            if l.v.0 != l.v.1 {
                let _ = write!(out, ":{}", l.v.1);
            }
        }
        Match::Ttl { op, value } => {
            let _ = match op {
                TtlOp::Eq => write!(out, " --ttl-eq {value}"),
                TtlOp::Ne => write!(out, " ! --ttl-eq {value}"),
                TtlOp::Lt => write!(out, " --ttl-lt {value}"),
                TtlOp::Gt => write!(out, " --ttl-gt {value}"),
            };
        }
        Match::Comment(c) => {
            let _ = write!(out, " --comment {}", save_string(c));
        }
    }
}

fn save_target(out: &mut String, t: &Target) {
    match t {
        Target::Continue => {}
        Target::Goto(c) => {
            let _ = write!(out, " -g {c}");
        }
        Target::Notrack { ct: true } => out.push_str(" -j CT --notrack"),
        t => {
            let _ = write!(out, " -j {}", t.name());
            match t {
                Target::Reject(w) => {
                    let _ = write!(out, " --reject-with {}", w.name());
                }
                Target::Log(l) => {
                    if !l.prefix.is_empty() {
                        let _ = write!(out, " --log-prefix {}", save_string(&l.prefix));
                    }
                    if l.level != 4 {
                        let _ = write!(out, " --log-level {}", l.level);
                    }
                    for (on, name) in [
                        (l.tcp_seq, "--log-tcp-sequence"),
                        (l.tcp_options, "--log-tcp-options"),
                        (l.ip_options, "--log-ip-options"),
                        (l.uid, "--log-uid"),
                    ] {
                        if on {
                            let _ = write!(out, " {name}");
                        }
                    }
                }
                Target::Mark { value, mask } => {
                    let _ = write!(out, " --set-xmark 0x{value:x}/0x{mask:x}");
                }
                Target::Tcpmss(Tcpmss::ClampPmtu) => out.push_str(" --clamp-mss-to-pmtu"),
                Target::Tcpmss(Tcpmss::Set(m)) => {
                    let _ = write!(out, " --set-mss {m}");
                }
                Target::Connmark(mode) => {
                    let _ = match *mode {
                        ConnmarkMode::Set { value, mask } => {
                            write!(out, " --set-xmark 0x{value:x}/0x{mask:x}")
                        }
                        ConnmarkMode::Save { nfmask, ctmask } => write!(
                            out,
                            " --save-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                        ),
                        ConnmarkMode::Restore { nfmask, ctmask } => write!(
                            out,
                            " --restore-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                        ),
                    };
                }
                Target::Snat(to) => {
                    let _ = write!(out, " --to-source {}", nat_range(to));
                    nat_flags(out, to, true);
                }
                Target::Dnat(to) => {
                    let _ = write!(out, " --to-destination {}", nat_range(to));
                    nat_flags(out, to, true);
                }
                Target::Masquerade(to) | Target::Redirect(to) => {
                    if let Some(p) = to.ports {
                        let _ = write!(out, " --to-ports {}", ports_text(&p));
                    }
                    nat_flags(out, to, true);
                }
                _ => {}
            }
        }
    }
}

/// One rule as `iptables-save` writes it, after `-A CHAIN`.
pub fn save_rule(r: &Rule) -> String {
    let mut out = String::new();
    let bang = |inv: bool| if inv { " !" } else { "" };
    if let Some(s) = &r.ip.src {
        let _ = write!(out, "{} -s {}", bang(s.inv), addr_text(s.v, true));
    }
    if let Some(d) = &r.ip.dst {
        let _ = write!(out, "{} -d {}", bang(d.inv), addr_text(d.v, true));
    }
    if let Some(i) = &r.ip.iif {
        let _ = write!(out, "{} -i {}", bang(i.inv), i.v.0);
    }
    if let Some(o) = &r.ip.oif {
        let _ = write!(out, "{} -o {}", bang(o.inv), o.v.0);
    }
    if let Some(p) = &r.ip.proto {
        let name = match p.v {
            1 => "icmp".to_string(),
            6 => "tcp".to_string(),
            17 => "udp".to_string(),
            47 => "gre".to_string(),
            50 => "esp".to_string(),
            51 => "ah".to_string(),
            132 => "sctp".to_string(),
            n => n.to_string(),
        };
        let _ = write!(out, "{} -p {name}", bang(p.inv));
    }
    if let Some(f) = &r.ip.frag {
        let _ = write!(out, "{} -f", bang(f.inv));
    }
    for m in &r.matches {
        save_match(&mut out, m);
    }
    save_target(&mut out, &r.target);
    out
}

/// `iptables-save` (`-c`: with counters) of the tables in use, in the order iptables-nft
/// lists them; `stamp` stands in for the date line's time.
pub fn save(rs: &Ruleset, counters: bool, stamp: &str) -> String {
    let mut out = String::new();
    for id in [TableId::Mangle, TableId::Raw, TableId::Filter, TableId::Nat] {
        let t = rs.table(id);
        if t.is_trivial() {
            continue;
        }
        let _ = writeln!(
            out,
            "# Generated by iptables-save v1.8.9 (nf_tables) on {stamp}"
        );
        let _ = writeln!(out, "*{}", id.name());
        for c in &t.chains {
            let _ = writeln!(
                out,
                ":{} {} [{}:{}]",
                c.name,
                c.policy.map_or("-", policy_name),
                c.policy_packets,
                c.policy_bytes
            );
        }
        for c in &t.chains {
            for r in &c.rules {
                if counters {
                    let _ = write!(out, "[{}:{}] ", r.packets, r.bytes);
                }
                let _ = writeln!(out, "-A {}{}", c.name, save_rule(r));
            }
        }
        out.push_str("COMMIT\n");
        let _ = writeln!(out, "# Completed on {stamp}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::iptables::{apply, split_words};

    fn rules(lines: &[&str]) -> Ruleset {
        let mut rs = Ruleset::default();
        for l in lines {
            let w = split_words(l).unwrap();
            let w: Vec<&str> = w.iter().map(|(s, _)| s.as_str()).collect();
            apply(&mut rs, &w).unwrap_or_else(|e| panic!("{l}: {e:?}"));
        }
        rs
    }

    /// Lines from `iptables -L -v -n` and `iptables-save` of iptables v1.8.9 (nf_tables)
    /// on this project's reference machine, for the same commands.
    #[test]
    fn listings_match_iptables_1_8_9_byte_for_byte() {
        let rs = rules(&[
            "-A INPUT -p tcp --dport 81 -j REJECT --reject-with tcp-reset",
            "-A INPUT -p udp ! --sport 1000:2000 -j REJECT --reject-with icmp-host-prohibited",
            "-A INPUT -j LOG --log-prefix \"FWD: \" --log-level 6 --log-tcp-options",
            "-A INPUT -p tcp --tcp-flags SYN,RST SYN -m multiport --dports 22,80,1000:2000 -j DROP",
            "-A INPUT -p tcp --syn -m limit --limit 3/min --limit-burst 7 -j ACCEPT",
            "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -m length --length 100:200 -j DROP",
            "-A INPUT -m statistic --mode random --probability 0.25 -j DROP",
            "-A INPUT -m connmark --mark 7 -m comment --comment \"hello world\" -j ACCEPT",
            "-A INPUT -p icmp --icmp-type 3/4 -j ACCEPT",
            "-A INPUT ! -s 10.0.0.0/8 -p tcp -m tcp --tcp-option 8 -f -j DROP",
            "-A INPUT -m conntrack ! --ctstate NEW,UNTRACKED --ctstatus ASSURED -j DROP",
            "-A INPUT -i eth+ -j ACCEPT",
            "-P FORWARD DROP",
            "-N web",
            "-A FORWARD -i eth0 -o eth1 -p tcp -j web",
            "-A web -p tcp -d 10.0.1.80 --dport 80 -j ACCEPT",
            "-t nat -A POSTROUTING -o eth1 -j MASQUERADE",
            "-t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.80:80",
            "-t mangle -A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf0",
        ]);
        let filter = list(rs.table(TableId::Filter), ListFormat::default());
        let want = [
            "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)",
            " pkts bytes target     prot opt in     out     source               destination         ",
            "    0     0 REJECT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:81 reject-with tcp-reset",
            "    0     0 REJECT     17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp spts:!1000:2000 reject-with icmp-host-prohibited",
            "    0     0 LOG        0    --  *      *       0.0.0.0/0            0.0.0.0/0            LOG flags 2 level 6 prefix \"FWD: \"",
            "    0     0 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x06/0x02 multiport dports 22,80,1000:2000",
            "    0     0 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x17/0x02 limit: avg 3/min burst 7",
            "    0     0 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            source IP range 10.0.0.1-10.0.0.9 length 100:200",
            "    0     0 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            statistic mode random probability 0.25000000000",
            "    0     0 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0            connmark match  0x7 /* hello world */",
            "    0     0 ACCEPT     1    --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 3 code 4",
            "    0     0 DROP       6    -f  *      *      !10.0.0.0/8           0.0.0.0/0            tcp option=8",
            "    0     0 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! ctstate NEW,UNTRACKED ctstatus ASSURED",
            "    0     0 ACCEPT     0    --  eth+   *       0.0.0.0/0            0.0.0.0/0           ",
            "",
            "Chain FORWARD (policy DROP 0 packets, 0 bytes)",
            " pkts bytes target     prot opt in     out     source               destination         ",
            "    0     0 web        6    --  eth0   eth1    0.0.0.0/0            0.0.0.0/0           ",
            "",
            "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)",
            " pkts bytes target     prot opt in     out     source               destination         ",
            "",
            "Chain web (1 references)",
            " pkts bytes target     prot opt in     out     source               destination         ",
            "    0     0 ACCEPT     6    --  *      *       0.0.0.0/0            10.0.1.80            tcp dpt:80",
            "",
        ]
        .join("\n");
        assert_eq!(filter, want);
        let nat = list(rs.table(TableId::Nat), ListFormat::default());
        assert!(nat.contains("    0     0 MASQUERADE  0    --  *      eth1    0.0.0.0/0            0.0.0.0/0           \n"), "{nat}");
        assert!(nat.contains("tcp dpt:8080 to:10.0.1.80:80\n"), "{nat}");
        let exact = list(
            rs.table(TableId::Filter),
            ListFormat {
                exact: true,
                line_numbers: true,
            },
        );
        assert!(exact.contains("num      pkts      bytes target     prot opt in     out     source               destination         \n1           0        0 REJECT     6    --"), "{exact}");
        let saved = save(&rs, false, "T");
        for line in [
            "*mangle\n:PREROUTING ACCEPT [0:0]\n",
            "-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf0\n",
            ":FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n",
            "-A INPUT -p udp -m udp ! --sport 1000:2000 -j REJECT --reject-with icmp-host-prohibited\n",
            "-A INPUT -j LOG --log-prefix \"FWD: \" --log-level 6 --log-tcp-options\n",
            "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m limit --limit 3/min --limit-burst 7 -j ACCEPT\n",
            "-A INPUT -m statistic --mode random --probability 0.25000000000 -j DROP\n",
            "-A INPUT -m connmark --mark 0x7 -m comment --comment \"hello world\" -j ACCEPT\n",
            "-A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT\n",
            "-A INPUT ! -s 10.0.0.0/8 -p tcp -f -m tcp --tcp-option 8 -j DROP\n",
            "-A INPUT -m conntrack ! --ctstate NEW,UNTRACKED --ctstatus ASSURED -j DROP\n",
            "-A FORWARD -i eth0 -o eth1 -p tcp -j web\n",
            "-A web -d 10.0.1.80/32 -p tcp -m tcp --dport 80 -j ACCEPT\n",
            "-A POSTROUTING -o eth1 -j MASQUERADE\n",
            "-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.1.80:80\n",
        ] {
            assert!(saved.contains(line), "missing {line:?} in\n{saved}");
        }
        // What iptables-save writes, iptables takes back to the same tables.
        let mut again = Ruleset::default();
        let mut table = "filter";
        for l in saved.lines() {
            if let Some(t) = l.strip_prefix('*') {
                table = t;
            } else if let Some(rest) = l.strip_prefix("-A ") {
                let line = format!("-t {table} -A {rest}");
                let w = split_words(&line).unwrap();
                let w: Vec<&str> = w.iter().map(|(s, _)| s.as_str()).collect();
                apply(&mut again, &w).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            } else if let Some(chain) = l.strip_prefix(':') {
                let mut it = chain.split(' ');
                let (name, policy) = (it.next().unwrap(), it.next().unwrap());
                let cmd: Vec<&str> = if policy == "-" {
                    vec!["-t", table, "-N", name]
                } else {
                    vec!["-t", table, "-P", name, policy]
                };
                apply(&mut again, &cmd).unwrap();
            }
        }
        assert_eq!(save(&again, false, "T"), saved);
    }

    #[test]
    fn counters_abbreviate_as_xtables_print_num() {
        let mut s = String::new();
        for n in [
            0,
            99_999,
            100_000,
            1_234_567,
            9_999_499,
            9_999_500,
            12_345_678_901,
        ] {
            num(&mut s, n, false, true);
        }
        assert_eq!(s, "    0 99999  100K 1235K 9999K   10M   12G ");
    }
}
