//! Fuzzing with proptest: the loader never panics, whatever the input — random bytes, random
//! token soup, or random mutations of the shipped scenarios. Every input either lowers or
//! yields at least one error, and every diagnostic renders.
//!
//! Files are served from memory, so a fuzzed `include` cannot reach the file system.

use proptest::prelude::*;
use sim_dsl::{MemLoader, Options, load_with};

const EXAMPLES: &[&str] = &[
    include_str!("../../scenarios/dns_then_http.net"),
    include_str!("../../scenarios/ping.net"),
    include_str!("../../scenarios/bench/dumbbell_udp.net"),
    include_str!("../../scenarios/bench/dumbbell_tcp.net"),
    include_str!("../../scenarios/bench/star_udp_1000.net"),
    // Dual stack (no shipped scenario has IPv6 yet).
    "routing auto
host client {
    iface eth0 { ip 10.0.0.2/24  ip6 2001:db8::2/64  mac 02:00:00:00:00:02 }
    route6 default via 2001:db8::1
    resolver 10.0.1.53
    sysctl net.ipv6.conf.eth0.accept_dad = 0
}
router r1 {
    iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/64 }
    iface eth1 { ip 10.0.1.1/24 }
    sysctl net.ipv6.conf.all.forwarding = 1
}
host web {
    iface eth0 { ip 10.0.1.80/24  ip6 2001:db8:1::80/64 }
    route6 default via fe80::ff:fe00:101 dev eth0
}
link client.eth0 -- r1.eth0 { rate 1Gbit  delay 10us }
link r1.eth1 -- web.eth0 { rate 1Gbit  delay 10us }
app web: dns_server { record baidu.com A 10.0.1.80  record baidu.com AAAA 2001:db8:1::80 }
app client: ping [2001:db8:1::80] { count 3 } at 1s
",
];

/// Pieces of the language (and of things that are not), for insertions.
const TOKENS: &[&str] = &[
    "host",
    "router",
    "switch",
    "link",
    "app",
    "param",
    "for",
    "in",
    "include",
    "defaults",
    "iface",
    "route",
    "via",
    "dev",
    "default",
    "resolver",
    "sysctl",
    "netfilter",
    "qdisc",
    "record",
    "at",
    "until",
    "seed",
    "end",
    "routing",
    "name",
    "{",
    "}",
    "(",
    ")",
    "{i}",
    "$n",
    "$",
    "--",
    ".",
    ":",
    "=",
    "..",
    "..=",
    "\"",
    "\\",
    "#",
    "\n",
    " ",
    "0",
    "-1",
    "99999999999999999999",
    "10.0.0.1",
    "10.0.0.0/24",
    "10.0.0.1/33",
    "1Gbit",
    "5ms",
    "4KiB",
    "02:00:00:00:00:01",
    "fq_codel",
    "tbf",
    "eth0",
    "a.eth0",
    "µs",
    "é",
    "\u{0}",
    "{1/0}",
    "{10.0.0.0 + i}",
    "include \"x.net\"",
    "for i in 0..3 {",
    "%",
    "*",
    "ip6",
    "route6",
    "2001:db8::1",
    "[2001:db8::1]",
    "2001:db8::/64",
    "2001:db8::1/129",
    "fe80::1",
    "::",
    "::/0",
    "AAAA",
    "net.ipv6.conf.eth0.accept_dad",
    "net.ipv6.conf.all.forwarding",
    "net.ipv6.neigh.eth0.retrans_time_ms",
];

fn check(text: &str) {
    let loader = MemLoader::default()
        .with("main.net", text)
        .with("x.net", "include \"main.net\"\nhost inc\n");
    let l = load_with(&loader, "main.net".as_ref(), &Options::default());
    assert_eq!(l.has_errors(), l.scenario.is_none());
    for d in &l.diagnostics {
        let _ = d.render(&l.sources);
        let _ = l.line_col(d);
    }
}

/// A mutation: (kind, position fraction, length, token index).
fn mutate(src: &str, muts: &[(u8, u32, u16, usize)]) -> String {
    // Shrink the star so that a case stays fast.
    let mut s: Vec<char> = src.replace("= 1000", "= 12").chars().collect();
    for &(kind, pos, len, tok) in muts {
        let at = (pos as usize) % (s.len() + 1);
        let len = (len as usize % 40).min(s.len() - at);
        match kind % 4 {
            0 => {
                s.drain(at..at + len);
            }
            1 => {
                let t: Vec<char> = TOKENS[tok % TOKENS.len()].chars().collect();
                s.splice(at..at, t);
            }
            2 => {
                let piece: Vec<char> = s[at..at + len].to_vec();
                s.splice(at..at, piece);
            }
            _ => {
                let t: Vec<char> = TOKENS[tok % TOKENS.len()].chars().collect();
                s.splice(at..at + len, t);
            }
        }
    }
    s.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(0..TOKENS.len(), 0..80)) {
        let text: Vec<&str> = toks.iter().map(|&i| TOKENS[i]).collect();
        check(&text.join(" "));
    }

    #[test]
    fn mutated_scenarios_never_panic(
        which in 0..EXAMPLES.len(),
        muts in proptest::collection::vec((any::<u8>(), any::<u32>(), any::<u16>(), any::<usize>()), 1..6),
    ) {
        check(&mutate(EXAMPLES[which], &muts));
    }
}

#[test]
fn pathological_inputs() {
    check(&"{".repeat(100_000));
    check(&"(".repeat(100_000));
    check(&"\"{".repeat(50_000));
    check(&format!(
        "host a {{ iface e {{ mtu {{{}}} }} }}",
        "-".repeat(10_000)
    ));
    check(&"host a\n".repeat(5_000));
    check(&"}".repeat(10_000));
    check(
        "param n = 9223372036854775807\nhost h{$n + 1}\nhost g{-$n - 1}\nhost k{(0 - $n - 1) / -1}\n",
    );
    check("for i in 0..3 { for i in 0..3 { host h{i} } }");
}
