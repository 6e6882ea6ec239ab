//! Backtick commands, read for what they mean to a simulated host.
//!
//! packetdrill hands a backtick block to `/bin/sh`. Here the block is split as the shell
//! would split it (lines, `\` continuations, `;`, `#` comments, quotes, `$((…))`
//! arithmetic, redirections) and each command is recognised as a typed [`HostAction`]:
//! `./defaults.sh` (read from the script's folder and interpreted line by line), `sysctl
//! -q a=b …`, `./set_sysctls.py /proc/sys/…=V …` and the `/tmp/sysctl_restore_${PPID}.sh`
//! that undoes it, `tc qdisc …`, `ethtool -K dev feature on|off …`, `ip route …`, `ip
//! tcp_metrics flush`, `nstat -n` and `nstat | grep NAME | grep -q " N "`, and the `rm -f`
//! / `dd if=/dev/zero` pair that makes a file for `sendfile`. Anything else is
//! [`Unsupported`](Parsed::Unsupported), never skipped.
//!
//! As in the shell, only the status of the last command of a block counts
//! ([`CommandBlock::actions`] keeps the order; the runner checks the last).

use std::path::Path;

/// What a recognised command asks of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAction {
    /// `sysctl -q net.ipv4.tcp_ecn=1`: set a sysctl (dotted name, value with its spaces
    /// normalised as sysctl writes it).
    Sysctl {
        /// `net.ipv4.tcp_ecn`.
        name: String,
        /// `1`.
        value: String,
    },
    /// `./set_sysctls.py /proc/sys/net/ipv4/x=V`: set a sysctl, remembering the old value
    /// for [`HostAction::RestoreSysctls`].
    SysctlSaved {
        /// Dotted name.
        name: String,
        /// New value.
        value: String,
    },
    /// `/tmp/sysctl_restore_${PPID}.sh`: put back what `set_sysctls.py` changed.
    RestoreSysctls,
    /// `tc qdisc add|del|replace|change dev D root|parent P [handle H] KIND [params]`.
    Qdisc {
        /// `add`, `del`, `replace` or `change` (`delete` is written `del`).
        op: String,
        /// The device.
        dev: String,
        /// `root` or the parent handle.
        parent: String,
        /// The qdisc kind (`pfifo`), absent for a delete without it.
        kind: Option<String>,
        /// The kind's parameters as written (`limit 0`).
        params: Vec<String>,
    },
    /// `ethtool -K tun0 tso off gso off`.
    Features {
        /// The device.
        dev: String,
        /// `(feature, on)` in order.
        features: Vec<(String, bool)>,
    },
    /// `ip route add|change|replace|del …`, the words after `route`.
    Route(Vec<String>),
    /// `ip tcp_metrics flush all`.
    TcpMetricsFlush,
    /// `nstat -n`: remember the counters now, as nstat's history does.
    NstatReset,
    /// `nstat | grep NAME | grep -q " N "`: succeed if counter NAME increased by N since the
    /// last `nstat`.
    NstatCheck {
        /// The counter, as nstat names it (`TcpExtBeyondWindow`).
        counter: String,
        /// The expected increase.
        value: u64,
    },
    /// `grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep ":1F90"`: succeed if a TCP socket
    /// in that state (`0A`: LISTEN) has that port (hex), local or remote.
    ProcNetTcp {
        /// The state, as `/proc/net/tcp` prints it (`TCP_LISTEN` is 0x0A).
        state: u8,
        /// The port.
        port: u16,
    },
    /// `rm -f PATH`.
    RemoveFile(String),
    /// `dd bs=B count=N if=/dev/zero of=PATH`: a file of `B×N` zero bytes.
    WriteZeros {
        /// The file.
        path: String,
        /// Its length.
        len: u64,
    },
}

/// One command of a block, as recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A command with a meaning for the host.
    Action(HostAction),
    /// A command the runner does not interpret: its text and why.
    Unsupported {
        /// The command.
        text: String,
        /// Why it is not interpreted.
        why: String,
    },
}

/// A backtick block, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandBlock {
    /// The block as written.
    pub text: String,
    /// Its commands in order.
    pub actions: Vec<Parsed>,
}

impl CommandBlock {
    /// Interprets a block; `dir` is the script's folder (`./defaults.sh` is read from it).
    pub fn parse(text: &str, dir: &Path) -> Self {
        let mut actions = Vec::new();
        interpret(text, dir, 0, &mut actions);
        Self {
            text: text.to_string(),
            actions,
        }
    }

    /// The first command that is not supported, if any.
    pub fn unsupported(&self) -> Option<(&str, &str)> {
        self.actions.iter().find_map(|a| match a {
            Parsed::Unsupported { text, why } => Some((text.as_str(), why.as_str())),
            Parsed::Action(_) => None,
        })
    }
}

/// A shell word or operator.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    W(String),
    Pipe,
    Sep,
    /// `&&`, `||`, `&`, `(`, `` ` ``, `$(`: shell syntax the runner does not interpret.
    Other(String),
}

/// Splits shell text into words and operators; redirections are dropped.
fn words(text: &str) -> Result<Vec<Word>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has_word = false;
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    let flush = |cur: &mut String, has: &mut bool, out: &mut Vec<Word>| {
        if *has {
            out.push(Word::W(std::mem::take(cur)));
            *has = false;
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            '\\' if b.get(i + 1) == Some(&'\n') => i += 2,
            '\\' => {
                if let Some(&n) = b.get(i + 1) {
                    cur.push(n);
                    has_word = true;
                }
                i += 2;
            }
            ' ' | '\t' | '\r' => {
                flush(&mut cur, &mut has_word, &mut out);
                i += 1;
            }
            '\n' | ';' => {
                flush(&mut cur, &mut has_word, &mut out);
                out.push(Word::Sep);
                i += 1;
            }
            '#' if !has_word => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '\'' => {
                let end = b[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .ok_or("unterminated quote")?;
                cur.extend(&b[i + 1..i + 1 + end]);
                has_word = true;
                i += end + 2;
            }
            '"' => {
                i += 1;
                has_word = true;
                loop {
                    match b.get(i) {
                        None => return Err("unterminated quote".into()),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if matches!(b.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            cur.push(b[i + 1]);
                            i += 2;
                        }
                        Some('$') => i = dollar(&b, i, &mut cur)?,
                        Some(&x) => {
                            cur.push(x);
                            i += 1;
                        }
                    }
                }
            }
            '$' => {
                i = dollar(&b, i, &mut cur)?;
                has_word = true;
            }
            '|' if b.get(i + 1) == Some(&'|') => {
                flush(&mut cur, &mut has_word, &mut out);
                out.push(Word::Other("||".into()));
                i += 2;
            }
            '|' => {
                flush(&mut cur, &mut has_word, &mut out);
                out.push(Word::Pipe);
                i += 1;
            }
            '&' if b.get(i + 1) == Some(&'&') => {
                flush(&mut cur, &mut has_word, &mut out);
                out.push(Word::Other("&&".into()));
                i += 2;
            }
            '>' | '<' => {
                // A redirection: `> f`, `2>/dev/null`, `2>&1`, `>> f`. A leading fd digit
                // was collected as a word: drop it.
                if has_word && cur.chars().all(|d| d.is_ascii_digit()) {
                    cur.clear();
                    has_word = false;
                }
                flush(&mut cur, &mut has_word, &mut out);
                i += 1;
                if b.get(i) == Some(&'>') {
                    i += 1;
                }
                if b.get(i) == Some(&'&') {
                    i += 1;
                }
                while matches!(b.get(i), Some(' ' | '\t')) {
                    i += 1;
                }
                while i < b.len() && !" \t\n;|&".contains(b[i]) {
                    i += 1;
                }
            }
            '&' | '(' | ')' | '`' | '{' | '}' => {
                flush(&mut cur, &mut has_word, &mut out);
                out.push(Word::Other(c.to_string()));
                i += 1;
            }
            x => {
                cur.push(x);
                has_word = true;
                i += 1;
            }
        }
    }
    flush(&mut cur, &mut has_word, &mut out);
    Ok(out)
}

/// `$((expr))`, `${PPID}`, `$PPID` at `b[i]`; returns the index after it.
fn dollar(b: &[char], i: usize, cur: &mut String) -> Result<usize, String> {
    let rest: String = b[i..].iter().collect();
    if let Some(inner) = rest.strip_prefix("$((") {
        let end = inner.find("))").ok_or("unterminated $((")?;
        let v = arith(&inner[..end])?;
        cur.push_str(&v.to_string());
        return Ok(i + 3 + end + 2);
    }
    let (name, used) = if let Some(r) = rest.strip_prefix("${") {
        let end = r.find('}').ok_or("unterminated ${")?;
        (r[..end].to_string(), end + 3)
    } else {
        let n: String = rest[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let len = n.len() + 1;
        (n, len)
    };
    match name.as_str() {
        // packetdrill's own pid, as the restore file name carries it.
        "PPID" | "PACKETDRILL_PID" => cur.push_str("${PPID}"),
        _ => return Err(format!("shell variable ${name}")),
    }
    Ok(i + used)
}

/// Shell arithmetic: integers, `+ - * / %`, parentheses.
fn arith(s: &str) -> Result<i64, String> {
    fn expr(t: &[u8], i: &mut usize) -> Result<i64, String> {
        let mut v = term(t, i)?;
        loop {
            skip(t, i);
            match t.get(*i) {
                Some(b'+') => {
                    *i += 1;
                    v = v.checked_add(term(t, i)?).ok_or("overflow")?;
                }
                Some(b'-') => {
                    *i += 1;
                    v = v.checked_sub(term(t, i)?).ok_or("overflow")?;
                }
                _ => return Ok(v),
            }
        }
    }
    fn term(t: &[u8], i: &mut usize) -> Result<i64, String> {
        let mut v = atom(t, i)?;
        loop {
            skip(t, i);
            let op = t.get(*i).copied();
            if !matches!(op, Some(b'*' | b'/' | b'%')) {
                return Ok(v);
            }
            *i += 1;
            let r = atom(t, i)?;
            v = match op {
                Some(b'*') => v.checked_mul(r).ok_or("overflow")?,
                _ if r == 0 => return Err("division by 0".into()),
                Some(b'/') => v / r,
                _ => v % r,
            };
        }
    }
    fn atom(t: &[u8], i: &mut usize) -> Result<i64, String> {
        skip(t, i);
        match t.get(*i) {
            Some(b'(') => {
                *i += 1;
                let v = expr(t, i)?;
                skip(t, i);
                if t.get(*i) != Some(&b')') {
                    return Err("missing )".into());
                }
                *i += 1;
                Ok(v)
            }
            Some(b'-') => {
                *i += 1;
                Ok(-atom(t, i)?)
            }
            _ => {
                let start = *i;
                while t.get(*i).is_some_and(u8::is_ascii_digit) {
                    *i += 1;
                }
                std::str::from_utf8(&t[start..*i])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| "not a number".to_string())
            }
        }
    }
    fn skip(t: &[u8], i: &mut usize) {
        while t.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    }
    let t = s.as_bytes();
    let mut i = 0;
    let v = expr(t, &mut i)?;
    skip(t, &mut i);
    if i != t.len() {
        return Err(format!("bad arithmetic `{s}`"));
    }
    Ok(v)
}

fn unsupported(text: &str, why: impl Into<String>) -> Parsed {
    Parsed::Unsupported {
        text: text.trim().to_string(),
        why: why.into(),
    }
}

/// Interprets `text` into `out`; `depth` bounds `./defaults.sh` inclusion.
fn interpret(text: &str, dir: &Path, depth: usize, out: &mut Vec<Parsed>) {
    let ws = match words(text) {
        Ok(w) => w,
        Err(e) => {
            out.push(unsupported(text, format!("shell syntax: {e}")));
            return;
        }
    };
    for cmd in ws.split(|w| *w == Word::Sep) {
        if cmd.is_empty() {
            continue;
        }
        let shown = show(cmd);
        if let Some(Word::Other(op)) = cmd.iter().find(|w| matches!(w, Word::Other(_))) {
            out.push(unsupported(&shown, format!("shell `{op}`")));
            continue;
        }
        let stages: Vec<Vec<&str>> = cmd
            .split(|w| *w == Word::Pipe)
            .map(|s| {
                s.iter()
                    .filter_map(|w| match w {
                        Word::W(x) => Some(x.as_str()),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        if stages.len() > 1 {
            out.push(pipeline(&shown, &stages));
            continue;
        }
        let argv = &stages[0];
        if matches!(argv.first(), Some(&("./defaults.sh" | "defaults.sh"))) && argv.len() == 1 {
            let path = dir.join("defaults.sh");
            match std::fs::read_to_string(&path) {
                Ok(t) if depth == 0 => interpret(&t, dir, depth + 1, out),
                Ok(_) => out.push(unsupported(&shown, "defaults.sh runs itself")),
                Err(e) => out.push(unsupported(
                    &shown,
                    format!("cannot read {}: {e}", path.display()),
                )),
            }
            continue;
        }
        out.extend(simple(&shown, argv));
    }
}

fn show(cmd: &[Word]) -> String {
    cmd.iter()
        .map(|w| match w {
            Word::W(x) if x.contains(' ') || x.is_empty() => format!("\"{x}\""),
            Word::W(x) => x.clone(),
            Word::Pipe => "|".into(),
            Word::Sep => ";".into(),
            Word::Other(o) => o.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `name=value` of a sysctl; the value's runs of blanks become single spaces, as the
/// kernel's vector sysctls print it back.
fn sysctl_assignment(a: &str) -> Option<(String, String)> {
    let (k, v) = a.split_once('=')?;
    if k.is_empty() {
        return None;
    }
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    Some((k.replace('/', "."), v))
}

fn simple(shown: &str, argv: &[&str]) -> Vec<Parsed> {
    let Some((&prog, args)) = argv.split_first() else {
        return vec![unsupported(shown, "empty command")];
    };
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let one = match base {
        "sysctl" => {
            let assigns: Vec<&&str> = args
                .iter()
                .filter(|a| !matches!(**a, "-q" | "-w" | "-e"))
                .collect();
            if assigns.is_empty() {
                return vec![unsupported(shown, "sysctl reading values")];
            }
            return assigns
                .into_iter()
                .map(|a| match sysctl_assignment(a) {
                    Some((name, value)) => Parsed::Action(HostAction::Sysctl { name, value }),
                    None => unsupported(shown, "sysctl without `name=value`"),
                })
                .collect();
        }
        "set_sysctls.py" => {
            if args.is_empty() {
                return vec![unsupported(shown, "set_sysctls.py without arguments")];
            }
            return args
                .iter()
                .map(
                    |a| match a.strip_prefix("/proc/sys/").and_then(sysctl_assignment) {
                        Some((name, value)) => {
                            Parsed::Action(HostAction::SysctlSaved { name, value })
                        }
                        None => unsupported(shown, "set_sysctls.py wants /proc/sys/NAME=VALUE"),
                    },
                )
                .collect();
        }
        _ if prog.starts_with("/tmp/sysctl_restore_")
            && prog.ends_with(".sh")
            && args.is_empty() =>
        {
            Parsed::Action(HostAction::RestoreSysctls)
        }
        "tc" => tc(shown, args),
        "ethtool" => match args {
            ["-K" | "--features" | "--offload", dev, rest @ ..]
                if !rest.is_empty() && rest.len() % 2 == 0 =>
            {
                let mut features = Vec::new();
                for pair in rest.chunks(2) {
                    let on = match pair[1] {
                        "on" => true,
                        "off" => false,
                        _ => return vec![unsupported(shown, "ethtool -K wants `feature on|off`")],
                    };
                    features.push((pair[0].to_string(), on));
                }
                Parsed::Action(HostAction::Features {
                    dev: (*dev).to_string(),
                    features,
                })
            }
            _ => unsupported(
                shown,
                "only `ethtool -K DEV FEATURE on|off …` is interpreted",
            ),
        },
        "ip" => match args {
            ["route" | "r" | "ro", rest @ ..] if !rest.is_empty() => Parsed::Action(
                HostAction::Route(rest.iter().map(|s| (*s).to_string()).collect()),
            ),
            ["tcp_metrics" | "tcpmetrics", "flush", ..] => {
                Parsed::Action(HostAction::TcpMetricsFlush)
            }
            _ => unsupported(
                shown,
                "only `ip route …` and `ip tcp_metrics flush` are interpreted",
            ),
        },
        "nstat" => match args {
            ["-n"] => Parsed::Action(HostAction::NstatReset),
            _ => unsupported(
                shown,
                "only `nstat -n` and `nstat | grep NAME | grep -q \" N \"` are interpreted",
            ),
        },
        "rm" => match args {
            ["-f", path] => Parsed::Action(HostAction::RemoveFile((*path).to_string())),
            _ => unsupported(shown, "only `rm -f PATH` is interpreted"),
        },
        "dd" => dd(shown, args),
        _ => unsupported(
            shown,
            format!("`{prog}` is not a command the runner interprets"),
        ),
    };
    vec![one]
}

fn tc(shown: &str, args: &[&str]) -> Parsed {
    let ["qdisc", op, rest @ ..] = args else {
        return unsupported(shown, "only `tc qdisc …` is interpreted");
    };
    let op = match *op {
        "add" | "replace" | "change" => *op,
        "del" | "delete" => "del",
        _ => return unsupported(shown, format!("tc qdisc {op}")),
    };
    let mut dev = None;
    let mut parent = None;
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            "dev" if i + 1 < rest.len() => {
                dev = Some(rest[i + 1]);
                i += 2;
            }
            "root" => {
                parent = Some("root".to_string());
                i += 1;
            }
            "parent" if i + 1 < rest.len() => {
                parent = Some(rest[i + 1].to_string());
                i += 2;
            }
            "handle" if i + 1 < rest.len() => i += 2,
            _ => break,
        }
    }
    let (Some(dev), Some(parent)) = (dev, parent) else {
        return unsupported(shown, "tc qdisc without `dev D` and `root` or `parent P`");
    };
    let kind = rest.get(i).map(|k| (*k).to_string());
    if kind.is_none() && op != "del" {
        return unsupported(shown, "tc qdisc without a kind");
    }
    Parsed::Action(HostAction::Qdisc {
        op: op.to_string(),
        dev: dev.to_string(),
        parent,
        kind,
        params: rest
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
    })
}

fn dd(shown: &str, args: &[&str]) -> Parsed {
    let mut bs = 512u64;
    let mut count = None;
    let mut input = None;
    let mut output = None;
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            return unsupported(shown, format!("dd operand `{a}`"));
        };
        match k {
            "bs" => match v.parse() {
                Ok(n) => bs = n,
                Err(_) => return unsupported(shown, format!("dd bs={v}")),
            },
            "count" => count = v.parse::<u64>().ok(),
            "if" => input = Some(v),
            "of" => output = Some(v),
            "status" => {}
            _ => return unsupported(shown, format!("dd operand `{a}`")),
        }
    }
    match (input, output, count) {
        (Some("/dev/zero"), Some(path), Some(n)) => Parsed::Action(HostAction::WriteZeros {
            path: path.to_string(),
            len: bs * n,
        }),
        _ => unsupported(
            shown,
            "only `dd bs=B count=N if=/dev/zero of=PATH` is interpreted",
        ),
    }
}

fn pipeline(shown: &str, stages: &[Vec<&str>]) -> Parsed {
    match stages {
        [nstat, grep1, grep2]
            if nstat.first() == Some(&"nstat")
                && nstat.len() == 1
                && matches!(grep1.as_slice(), ["grep", _])
                && matches!(grep2.as_slice(), ["grep", "-q", _]) =>
        {
            match grep2[2].trim().parse::<u64>() {
                Ok(value) if grep2[2].starts_with(' ') && grep2[2].ends_with(' ') => {
                    Parsed::Action(HostAction::NstatCheck {
                        counter: grep1[1].to_string(),
                        value,
                    })
                }
                _ => unsupported(
                    shown,
                    "nstat | grep NAME | grep -q \" N \" wants a number in spaces",
                ),
            }
        }
        [grep1, grep2]
            if matches!(grep1.as_slice(), ["grep", pat, files @ ..]
                if pat.len() == 4 && pat.starts_with(' ') && pat.ends_with(' ')
                    && !files.is_empty()
                    && files.iter().all(|f| *f == "/proc/net/tcp" || *f == "/proc/net/tcp6"))
                && matches!(grep2.as_slice(), ["grep", p] if p.len() == 5 && p.starts_with(':')) =>
        {
            let state = u8::from_str_radix(grep1[1].trim(), 16);
            let port = u16::from_str_radix(&grep2[1][1..], 16);
            match (state, port) {
                (Ok(state), Ok(port)) => Parsed::Action(HostAction::ProcNetTcp { state, port }),
                _ => unsupported(shown, "grep of /proc/net/tcp wants a hex state and `:PORT`"),
            }
        }
        _ => unsupported(shown, "a shell pipeline"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(text: &str) -> Vec<Parsed> {
        CommandBlock::parse(
            text,
            Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/packetdrill"
            )),
        )
        .actions
    }

    fn act(a: HostAction) -> Parsed {
        Parsed::Action(a)
    }

    fn sysctl(name: &str, value: &str) -> Parsed {
        act(HostAction::Sysctl {
            name: name.into(),
            value: value.into(),
        })
    }

    #[test]
    fn arithmetic_and_quotes() {
        assert_eq!(arith("15*1024*1024").unwrap(), 15_728_640);
        assert_eq!(arith("(2 + 3) * -4 % 7").unwrap(), -6);
        assert_eq!(
            actions("sysctl -q net.ipv4.tcp_rmem=\"4096 131072 $((32*1024*1024))\""),
            vec![sysctl("net.ipv4.tcp_rmem", "4096 131072 33554432")]
        );
    }

    #[test]
    fn the_scripts_commands() {
        assert_eq!(
            actions("./defaults.sh\nsysctl -q net.ipv4.tcp_ecn=1  # fully enabled\n")[..2],
            [
                act(HostAction::TcpMetricsFlush),
                sysctl("net.ipv4.tcp_rmem", "4096 540000 15728640")
            ]
        );
        let d = actions("./defaults.sh");
        assert_eq!(
            d.last(),
            Some(&act(HostAction::Qdisc {
                op: "add".into(),
                dev: "tun0".into(),
                parent: "root".into(),
                kind: Some("pfifo".into()),
                params: vec![],
            }))
        );
        assert!(d.contains(&sysctl("net.ipv4.tcp_early_retrans", "4")));
        assert!(d.contains(&sysctl("net.ipv4.tcp_recovery", "1")));
        assert!(d.contains(&sysctl("net.ipv4.tcp_notsent_lowat", "4294967295")));
        assert!(d.iter().all(|a| matches!(a, Parsed::Action(_))), "{d:?}");
        assert_eq!(
            actions(
                "./set_sysctls.py /proc/sys/net/ipv4/tcp_slow_start_after_idle=1 \\\n\t\t /proc/sys/net/ipv4/tcp_min_tso_segs=10"
            ),
            vec![
                act(HostAction::SysctlSaved {
                    name: "net.ipv4.tcp_slow_start_after_idle".into(),
                    value: "1".into()
                }),
                act(HostAction::SysctlSaved {
                    name: "net.ipv4.tcp_min_tso_segs".into(),
                    value: "10".into()
                }),
            ]
        );
        assert_eq!(
            actions("/tmp/sysctl_restore_${PPID}.sh"),
            vec![act(HostAction::RestoreSysctls)]
        );
        assert_eq!(
            actions(
                "tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo limit 0"
            ),
            vec![
                act(HostAction::Qdisc {
                    op: "del".into(),
                    dev: "tun0".into(),
                    parent: "root".into(),
                    kind: None,
                    params: vec![]
                }),
                act(HostAction::Qdisc {
                    op: "add".into(),
                    dev: "tun0".into(),
                    parent: "root".into(),
                    kind: Some("pfifo".into()),
                    params: vec!["limit".into(), "0".into()]
                }),
            ]
        );
        assert_eq!(
            actions("ethtool -K tun0 tso off gso off"),
            vec![act(HostAction::Features {
                dev: "tun0".into(),
                features: vec![("tso".into(), false), ("gso".into(), false)]
            })]
        );
        assert_eq!(actions("nstat -n"), vec![act(HostAction::NstatReset)]);
        assert_eq!(
            actions("nstat | grep TcpExtBeyondWindow | grep -q \" 3 \""),
            vec![act(HostAction::NstatCheck {
                counter: "TcpExtBeyondWindow".into(),
                value: 3
            })]
        );
        assert_eq!(
            actions(
                "/bin/rm -f /tmp/testfile\n/bin/dd bs=1 count=5 if=/dev/zero of=/tmp/testfile status=none\n"
            ),
            vec![
                act(HostAction::RemoveFile("/tmp/testfile".into())),
                act(HostAction::WriteZeros {
                    path: "/tmp/testfile".into(),
                    len: 5
                }),
            ]
        );
        assert_eq!(
            actions("ip route change 192.0.2.0/24 via 192.168.0.1 dev tun0 mtu 1200"),
            vec![act(HostAction::Route(
                [
                    "change",
                    "192.0.2.0/24",
                    "via",
                    "192.168.0.1",
                    "dev",
                    "tun0",
                    "mtu",
                    "1200"
                ]
                .map(String::from)
                .to_vec()
            ))]
        );
    }

    #[test]
    fn everything_else_is_unsupported() {
        assert_eq!(
            actions("grep \" 0A \" /proc/net/tcp /proc/net/tcp6 | grep \":1F90\""),
            vec![act(HostAction::ProcNetTcp {
                state: 0x0a,
                port: 8080
            })]
        );
        let b = CommandBlock::parse("grep x /proc/net/tcp | wc -l", Path::new("."));
        assert_eq!(
            b.unsupported(),
            Some(("grep x /proc/net/tcp | wc -l", "a shell pipeline"))
        );
        for t in [
            "false",
            "true && true",
            "echo $HOME",
            "ip link set tun0 up",
            "sleep 1 &",
        ] {
            assert!(
                CommandBlock::parse(t, Path::new("."))
                    .unsupported()
                    .is_some(),
                "{t}"
            );
        }
        let missing = CommandBlock::parse("./defaults.sh", Path::new("/nonexistent"));
        assert!(
            missing
                .unsupported()
                .unwrap()
                .1
                .starts_with("cannot read /nonexistent/defaults.sh")
        );
    }
}
