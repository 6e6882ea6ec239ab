//! One test per kind of mistake: the line, column and message of the error, and the
//! suggestion where there is one.

use sim_dsl::{Loaded, MemLoader, Options, load_str, load_with};

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

fn show(l: &Loaded) -> String {
    l.diagnostics
        .iter()
        .map(|d| {
            let (line, col) = l.line_col(d).unwrap_or((0, 0));
            format!("{line}:{col} [{}] {}", d.code, d.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts an error at `line:col` whose message contains `msg`; returns it rendered.
fn expect(l: &Loaded, line: usize, col: usize, msg: &str) -> String {
    assert!(
        l.scenario.is_none(),
        "a scenario with errors must not lower"
    );
    let d = l
        .errors()
        .find(|d| l.line_col(d) == Some((line, col)) && d.message.contains(msg))
        .unwrap_or_else(|| panic!("no error `{msg}` at {line}:{col}; got:\n{}", show(l)));
    d.render(&l.sources)
}

fn error_count(l: &Loaded) -> usize {
    l.errors().count()
}

/// Two hosts on one link.
const PAIR: &str = "host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
";

#[test]
fn syntax_error_points_at_the_token_and_suggests_the_keyword() {
    let l = load("host a {\n    ifce eth0 { ip 10.0.0.1/24 }\n}\n");
    let r = expect(&l, 2, 5, "syntax error: unexpected `ifce`");
    assert!(r.contains("expected `for`, `iface`, `route`"), "{r}");
    assert!(r.contains("did you mean `iface`?"), "{r}");
    assert!(
        r.contains("\n2 |     ifce eth0 { ip 10.0.0.1/24 }\n  |     ^^^^ "),
        "{r}"
    );
    assert_eq!(error_count(&l), 1);
}

#[test]
fn syntax_errors_in_several_statements_are_all_reported() {
    let l = load(
        "hots a\nhost b { iface eth0 { ip 10.0.0.2/24 } }\nlink a.eth0 -> b.eth0\nhost c { iface }\n",
    );
    expect(&l, 1, 1, "unexpected `hots`");
    expect(&l, 3, 13, "unexpected `-`");
    expect(&l, 4, 16, "unexpected `}`");
    assert_eq!(error_count(&l), 3, "{}", show(&l));
}

#[test]
fn syntax_error_at_end_of_file() {
    let l = load("link a.eth0 --");
    expect(&l, 1, 15, "unexpected end of file");
}

#[test]
fn unknown_rate_unit() {
    let l = load(&PAIR.replace("rate 1Gbit", "rate 100Mbits"));
    let r = expect(&l, 3, 33, "unknown unit `Mbits` in `100Mbits`");
    assert!(r.contains("^^^^^ `rate` takes a rate"), "{r}");
    assert!(r.contains("did you mean `Mbit`?"), "{r}");
}

#[test]
fn ambiguous_mbps_is_refused() {
    let l = load(&PAIR.replace("rate 1Gbit", "rate 100Mbps"));
    let r = expect(&l, 3, 33, "unknown unit `Mbps`");
    assert!(
        r.contains("did you mean `Mbit`? (`bps` is ambiguous"),
        "{r}"
    );
}

#[test]
fn unknown_time_unit() {
    let l = load(&PAIR.replace("delay 1ms", "delay 1msec"));
    let r = expect(&l, 3, 44, "unknown unit `msec`");
    assert!(r.contains("did you mean `ms`?"), "{r}");
}

#[test]
fn unknown_size_unit() {
    let l = load(&format!("{PAIR}app b: http_server {{ body 4kb }}\n"));
    let r = expect(&l, 4, 28, "unknown unit `kb`");
    assert!(r.contains("`KB` (1000 bytes) or `KiB` (1024 bytes)"), "{r}");
}

#[test]
fn unknown_node_with_suggestion() {
    let l = load(&format!(
        "{PAIR}router router1 {{ iface eth0 {{ ip 10.0.1.1/24 }} }}\nlink rouer.eth0 -- a.eth0 {{ rate 1Gbit delay 1ms }}\n"
    ));
    let r = expect(&l, 5, 6, "unknown node `rouer`");
    assert!(r.contains("did you mean `router1`?"), "{r}");
}

#[test]
fn duplicate_node() {
    let l = load(&format!("{PAIR}host a {{ }}\n"));
    let r = expect(&l, 4, 6, "node `a` is defined twice");
    assert!(r.contains("first defined here (line 1)"), "{r}");
}

#[test]
fn unknown_interface() {
    let l = load(&PAIR.replace("link a.eth0", "link a.eht0"));
    let r = expect(&l, 3, 8, "unknown interface `a.eht0`");
    assert!(r.contains("did you mean `eth0`?"), "{r}");
}

#[test]
fn duplicate_interface() {
    let l = load("host a { iface eth0 { } iface eth0 { } }\n");
    expect(&l, 1, 31, "interface `a.eth0` is defined twice");
}

#[test]
fn link_to_a_host_without_interface() {
    let l = load(&PAIR.replace("link a.eth0", "link a"));
    let r = expect(
        &l,
        3,
        6,
        "`a` is a host: a link connects one of its interfaces",
    );
    assert!(r.contains("did you mean `a.eth0`?"), "{r}");
}

#[test]
fn link_to_a_switch_port() {
    let l = load(
        "switch sw\nhost a { iface eth0 { ip 10.0.0.1/24 } }\nlink a.eth0 -- sw.p1 { rate 1Gbit delay 1ms }\n",
    );
    expect(&l, 3, 19, "`sw` is a switch: links create its ports");
}

#[test]
fn interface_in_two_links() {
    let l = load(&format!(
        "{PAIR}host c {{ iface eth0 {{ ip 10.0.0.3/24 }} }}\nlink c.eth0 -- a.eth0 {{ rate 1Gbit delay 1ms }}\n"
    ));
    let r = expect(&l, 5, 16, "`a.eth0` is already in a link");
    assert!(r.contains("first link (line 3)"), "{r}");
}

#[test]
fn duplicate_address() {
    let l = load(&PAIR.replace("10.0.0.2/24", "10.0.0.1/24"));
    let r = expect(&l, 2, 26, "address 10.0.0.1 is already used by `a.eth0`");
    assert!(r.contains("first used here (line 1)"), "{r}");
}

#[test]
fn overlapping_subnets() {
    let l = load(&format!(
        "{PAIR}host c {{ iface eth0 {{ ip 10.0.0.129/25 }} }}\nhost d {{ iface eth0 {{ ip 10.0.0.130/25 }} }}\nlink c.eth0 -- d.eth0 {{ rate 1Gbit delay 1ms }}\n"
    ));
    expect(
        &l,
        4,
        26,
        "subnet 10.0.0.128/25 overlaps 10.0.0.0/24 of `a.eth0`",
    );
}

#[test]
fn same_subnet_on_two_links() {
    let l = load(&format!(
        "{PAIR}host c {{ iface eth0 {{ ip 10.0.0.3/24 }} }}\nhost d {{ iface eth0 {{ ip 10.0.0.4/24 }} }}\nlink c.eth0 -- d.eth0 {{ rate 1Gbit delay 1ms }}\n"
    ));
    expect(
        &l,
        4,
        26,
        "subnet 10.0.0.0/24 is used on two different links",
    );
}

#[test]
fn gateway_not_on_a_connected_subnet() {
    let l = load(&PAIR.replace(
        "host a { iface eth0 { ip 10.0.0.1/24 } }",
        "host a { iface eth0 { ip 10.0.0.1/24 } route default via 10.0.9.1 }",
    ));
    let r = expect(
        &l,
        1,
        58,
        "gateway 10.0.9.1 is not on any connected subnet of `a`",
    );
    assert!(r.contains("connected: eth0 (10.0.0.0/24)"), "{r}");
}

#[test]
fn unreachable_resolver() {
    // b's resolver is on another subnet and b has no route there.
    let l = load(&format!(
        "{PAIR}router r {{ iface e0 {{ ip 10.0.1.1/24 }} }}\nhost dns {{ iface eth0 {{ ip 10.0.1.53/24 }} }}\nlink r.e0 -- dns.eth0 {{ rate 1Gbit delay 1ms }}\n"
    )
    .replace(
        "host b { iface eth0 { ip 10.0.0.2/24 } }",
        "host b { iface eth0 { ip 10.0.0.2/24 } resolver 10.0.1.53 }",
    ));
    let r = expect(
        &l,
        2,
        49,
        "resolver 10.0.1.53 is unreachable from `b`: `b` has no route to 10.0.1.53",
    );
    assert!(r.contains("DNS queries would be lost"), "{r}");
}

#[test]
fn unreachable_resolver_because_replies_are_lost() {
    let src = "
host c { iface eth0 { ip 10.0.0.2/24 } route default via 10.0.0.1  resolver 10.0.1.53 }
router r { iface e0 { ip 10.0.0.1/24 } iface e1 { ip 10.0.1.1/24 } }
host dns { iface eth0 { ip 10.0.1.53/24 } }
link c.eth0 -- r.e0 { rate 1Gbit delay 1ms }
link r.e1 -- dns.eth0 { rate 1Gbit delay 1ms }
";
    let l = load(src);
    expect(
        &l,
        2,
        77,
        "replies to 10.0.0.2 are lost: `dns` has no route to 10.0.0.2",
    );
}

#[test]
fn resolver_that_is_nobodys_address() {
    let l = load(&PAIR.replace(
        "host b { iface eth0 { ip 10.0.0.2/24 } }",
        "host b { iface eth0 { ip 10.0.0.2/24 } resolver 10.0.0.99 }",
    ));
    expect(&l, 2, 49, "no interface has address 10.0.0.99");
}

#[test]
fn bad_cidr_host_bits_in_route() {
    let l = load("host a { iface eth0 { ip 10.0.0.1/24 } route 10.1.0.5/16 via 10.0.0.2 }\n");
    let r = expect(
        &l,
        1,
        46,
        "bad CIDR `10.1.0.5/16`: the address has host bits set",
    );
    assert!(r.contains("did you mean `10.1.0.0/16`?"), "{r}");
}

#[test]
fn bad_cidr_prefix_and_octet() {
    let l = load("host a { iface eth0 { ip 10.0.0.1/33 } iface eth1 { ip 10.0.300.1/24 } }\n");
    expect(&l, 1, 26, "bad CIDR `10.0.0.1/33`: prefix length `33`");
    expect(&l, 1, 56, "300 is larger than 255");
}

#[test]
fn interface_address_without_prefix_or_on_network_address() {
    let l = load("host a { iface eth0 { ip 10.0.0.1 } iface eth1 { ip 10.0.1.0/24 } }\n");
    let r = expect(&l, 1, 26, "`10.0.0.1` has no prefix length");
    assert!(r.contains("e.g. `10.0.0.1/24`"), "{r}");
    expect(&l, 1, 53, "10.0.1.0 is the network address of 10.0.1.0/24");
}

#[test]
fn mtu_out_of_range() {
    let l = load("host a { iface eth0 { mtu 67 } iface eth1 { mtu 65536 } }\n");
    let r = expect(&l, 1, 27, "MTU 67 is out of range");
    assert!(r.contains("IPv4 needs an MTU from 68 to 65535"), "{r}");
    expect(&l, 1, 49, "MTU 65536 is out of range");
}

#[test]
fn param_type_mismatch_at_use() {
    let l = load(&format!(
        "param n = 16\n{}",
        PAIR.replace("rate 1Gbit", "rate $n")
    ));
    let r = expect(
        &l,
        4,
        30,
        "param type mismatch: `$n` is an int param, but `rate` takes a rate such as `100Mbit`",
    );
    assert!(r.contains("`n` declared here (line 1)"), "{r}");
}

#[test]
fn param_type_mismatch_in_declaration() {
    let l = load("param rate: rate = ten\n");
    expect(&l, 1, 20, "param type mismatch: `rate` is declared rate");
}

#[test]
fn param_type_mismatch_from_the_command_line() {
    let opts = Options {
        overrides: vec![("rate".into(), "ten".into())],
    };
    let l = load_str("t.net", "param rate = 10Mbit\n", &opts);
    let d = l.errors().next().expect("an error");
    assert_eq!(d.span, None);
    assert!(
        d.message
            .contains("--set rate=ten: param type mismatch: `rate` is a rate param"),
        "{}",
        d.message
    );
    let opts = Options {
        overrides: vec![("rtae".into(), "1Mbit".into())],
    };
    let l = load_str("t.net", "param rate = 10Mbit\n", &opts);
    let d = l.errors().next().expect("an error");
    assert!(d.message.contains("no param `rtae`"));
    assert_eq!(d.help.as_deref(), Some("did you mean `rate`?"));
}

#[test]
fn param_in_arithmetic_must_be_int() {
    let l = load("param r = 1Gbit\nhost h{$r + 1}\n");
    expect(
        &l,
        2,
        8,
        "`$r` is a rate param; arithmetic needs an int or ip",
    );
}

#[test]
fn unknown_param_and_variable() {
    let l =
        load("param rate = 1Gbit\nhost h { iface e { mtu $mtu } }\nfor i in 0..2 { host x{j} }\n");
    expect(&l, 2, 24, "unknown param `$mtu`");
    let r = expect(&l, 3, 24, "unknown variable `j`");
    assert!(r.contains("did you mean `i`?"), "{r}");
}

#[test]
fn unknown_sysctl_with_suggestion() {
    let l = load("host a { sysctl net.ipv4.tcp_congestion_contrl = reno }\n");
    let r = expect(&l, 1, 17, "unknown sysctl `net.ipv4.tcp_congestion_contrl`");
    assert!(
        r.contains("did you mean `net.ipv4.tcp_congestion_control`?"),
        "{r}"
    );
}

#[test]
fn bad_sysctl_value() {
    let l = load("host a { sysctl net.ipv4.tcp_congestion_control = vegas }\n");
    expect(&l, 1, 51, "unsupported congestion control `vegas`");
    let l = load("host a { sysctl net.ipv4.tcp_wmem = 4096 16384 }\n");
    expect(&l, 1, 10, "`net.ipv4.tcp_wmem` takes 3 values, found 2");
}

#[test]
fn app_on_a_missing_node() {
    let l = load(&format!("{PAIR}app c: udp_sink {{ port 9 }}\n"));
    expect(&l, 4, 5, "unknown node `c`");
    let l = load(&format!("{PAIR}app bb: udp_sink {{ port 9 }}\n"));
    let r = expect(&l, 4, 5, "unknown node `bb`");
    assert!(r.contains("did you mean `b`?"), "{r}");
}

#[test]
fn unknown_app_and_property() {
    let l = load(&format!(
        "{PAIR}app b: udp_snk {{ port 9 }}\napp b: tcp_sink {{ prot 9 }}\n"
    ));
    let r = expect(&l, 4, 8, "unknown app `udp_snk`");
    assert!(r.contains("did you mean `udp_sink`?"), "{r}");
    let r = expect(&l, 5, 19, "unknown tcp_sink property `prot`");
    assert!(r.contains("did you mean `port`?"), "{r}");
}

#[test]
fn ping_options_out_of_range() {
    let l = load(&format!(
        "{PAIR}app a: ping 10.0.0.2 {{ ttl 0 }}\napp a: ping 10.0.0.2 {{ pmtudisc dno }}\napp a: ping 10.0.0.2 {{ timeout 0s }}\napp a: ping 10.0.0.2 {{ deadline 0ms }}\n"
    ));
    let r = expect(&l, 4, 28, "0 is out of range; expected 1 to 255");
    assert!(r.contains("`ttl` takes an integer from 1 to 255"), "{r}");
    let r = expect(&l, 5, 33, "unknown `pmtudisc` mode `dno`");
    assert!(r.contains("expected `do`, `dont` or `want`"), "{r}");
    assert!(r.contains("did you mean `do`?"), "{r}");
    expect(&l, 6, 32, "a ping timeout of 0");
    expect(&l, 7, 33, "a ping deadline of 0");
    assert_eq!(error_count(&l), 4, "{}", show(&l));
}

#[test]
fn udp_cbr_socket_options_are_booleans() {
    let l = load(&format!(
        "{PAIR}app a: udp_cbr {{ to 10.0.0.2:9  payload 10B  interval 1ms  connect maybe }}\n"
    ));
    let r = expect(&l, 4, 68, "`maybe` is not a boolean");
    assert!(r.contains("`connect`"), "{r}");
}

#[test]
fn include_cycle() {
    let loader = MemLoader::default()
        .with("a.net", "include \"b.net\"\n")
        .with("b.net", "# b\ninclude \"c.net\"\n")
        .with("c.net", "include \"a.net\"\n");
    let l = load_with(&loader, "a.net".as_ref(), &Options::default());
    let d = l.errors().next().expect("an error");
    assert_eq!(l.line_col(d), Some((1, 9)));
    assert_eq!(l.sources.path(d.span.unwrap().file).to_str(), Some("c.net"));
    assert_eq!(d.message, "include cycle: a.net → b.net → c.net → a.net");
    assert_eq!(error_count(&l), 1);
}

#[test]
fn include_of_a_missing_file() {
    let loader = MemLoader::default().with("a.net", "\ninclude \"nope.net\"\n");
    let l = load_with(&loader, "a.net".as_ref(), &Options::default());
    expect(&l, 2, 9, "cannot read `nope.net`");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let l = load(&"{".repeat(100_000));
    let r = expect(&l, 1, 49, "nesting deeper than 48 levels");
    assert!(r.contains("^ one level too many here"), "{r}");
    let l = load(&format!(
        "host a {{ iface e {{ mtu {{{}1{} }} }} }}",
        "(".repeat(50_000),
        ")".repeat(50_000)
    ));
    assert!(l.errors().any(|d| d.code == "too-deep"), "{}", show(&l));
}

#[test]
fn unclosed_brace_points_at_the_opening() {
    let l = load("host a {\n    iface eth0 { ip 10.0.0.1/24\n}\nhost b { }\n");
    let r = expect(&l, 1, 8, "unclosed `{`");
    assert!(
        r.contains("line 4 starts a new statement in column 1"),
        "{r}"
    );
}

#[test]
fn loop_errors_are_reported_once_with_the_iteration() {
    let l = load("for i in 0..100 { host h{i} { iface eth0 { mtu 40 } } }\n");
    assert_eq!(error_count(&l), 1, "{}", show(&l));
    let r = expect(&l, 1, 48, "MTU 40 is out of range");
    assert!(r.contains("in loop iteration i = 0"), "{r}");
    assert!(r.contains("occurs 99 more times"), "{r}");
}

#[test]
fn huge_loops_are_refused() {
    let l = load("for i in 0..1000000000000 { host h{i} }\n");
    expect(&l, 1, 1, "loop of 1000000000000 iterations is too long");
}

#[test]
fn division_by_zero() {
    let l = load("param z = 0\nhost h{10 / $z}\n");
    expect(&l, 2, 13, "division by zero");
}

#[test]
fn curl_without_resolver() {
    let l = load(&format!("{PAIR}app a: curl \"http://web/\"\n"));
    expect(
        &l,
        4,
        13,
        "curl must look up `web`, but `a` has no resolver",
    );
}

#[test]
fn switch_loop() {
    let l = load(
        "switch s1\nswitch s2\nlink s1 -- s2 { rate 1Gbit delay 1ms }\nlink s2 -- s1 { rate 1Gbit delay 1ms }\n",
    );
    expect(&l, 4, 1, "this link closes a loop of switches");
}

#[test]
fn link_without_rate() {
    let l = load(&PAIR.replace("rate 1Gbit  ", ""));
    expect(&l, 3, 1, "link needs `rate`");
}

#[test]
fn port_in_use() {
    let l = load(&format!(
        "{PAIR}app b: udp_sink {{ port 9 }}\napp b: udp_sink {{ port 9 }}\n"
    ));
    expect(&l, 5, 1, "UDP port 9 of `b` is already taken");
}

#[test]
fn every_error_of_a_file_is_reported() {
    let src = "\
param n = 4
host client {
    iface eth0 { ip 10.0.0.2/24 mtu 40 }
}
host client { }
link rouer.eth0 -- client.eth0 { rate 100Mbits delay 5ms }
host x { ifce eth0 }
app clinet: curl \"http://baidu.com/\"
sysctl net.ipv4.tcp_sacks = 1
";
    let l = load(src);
    let codes: Vec<&str> = l.errors().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "bad-value",
            "duplicate-node",
            "unknown-node",
            "unknown-unit",
            "syntax",
            "unknown-node",
            "unknown-sysctl"
        ],
        "{}",
        show(&l)
    );
}

#[test]
fn unit_typo_in_a_param_default() {
    let l = load("param rate = 100Mbits\n");
    let r = expect(&l, 1, 14, "unknown unit `Mbits` in `100Mbits`");
    assert!(r.contains("did you mean `Mbit`?"), "{r}");
    let l = load("param d = 5secs\n");
    let r = expect(&l, 1, 11, "unknown unit `secs` in `5secs`");
    assert!(r.contains("did you mean `s`?"), "{r}");
}

#[test]
fn the_last_set_of_a_name_wins() {
    let opts = Options {
        overrides: vec![("n".into(), "2".into()), ("n".into(), "3".into())],
    };
    let l = load_str("t.net", "param n = 1\n", &opts);
    assert!(!l.has_errors(), "{}", show(&l));
    assert_eq!(
        l.scenario.unwrap().params,
        vec![("n".to_string(), "3".to_string())]
    );
}

#[test]
fn netfilter_every_and_packet_out_of_range() {
    let l = load(
        "host a {\n    iface eth0 { ip 10.0.0.1/24 }\n    netfilter output drop flags syn every 0\n    netfilter input drop every 5 packet 5\n    netfilter input drop packet 1\n    netfilter input drop every 4294967296\n    netfilter input drop every 2 packet -1\n    netfilter input drop every ten\n}\n",
    );
    let r = expect(
        &l,
        3,
        43,
        "`every 0` matches no packet; N must be at least 1",
    );
    assert!(
        r.contains("^ `every N` matches one packet of every N"),
        "{r}"
    );
    let r = expect(&l, 4, 41, "`packet 5` is not below `every 5`");
    assert!(
        r.contains("^ the packets of each group of 5 are numbered from 0 to 4"),
        "{r}"
    );
    assert!(r.contains("matches packets P, P + N, P + 2N"), "{r}");
    let r = expect(&l, 5, 26, "`packet` without `every`");
    assert!(r.contains("^^^^^^ `packet P` numbers a packet"), "{r}");
    expect(&l, 6, 32, "4294967296 is out of range");
    expect(&l, 7, 41, "-1 is out of range; expected 0 to 4294967295");
    expect(&l, 8, 32, "`ten` is not an integer");
    assert_eq!(error_count(&l), 6, "{}", show(&l));
}

#[test]
fn netfilter_unknown_match_lists_every_and_packet() {
    let l =
        load("host a {\n    iface eth0 { ip 10.0.0.1/24 }\n    netfilter input drop evry 3\n}\n");
    let r = expect(&l, 3, 26, "unknown netfilter match `evry`");
    assert!(r.contains("`every`"), "{r}");
    assert!(r.contains("did you mean `every`?"), "{r}");
}

/// A `craft` packet is checked as Scapy reads it: an error inside the string points at the
/// character (line and column in the scenario), says what was expected, and suggests the
/// layer or field meant.
#[test]
fn craft_packet_errors_point_inside_the_string() {
    let l = load(&format!(
        "{PAIR}app a: craft {{ packet \"IP(dst='10.0.0.2')/Udp(dport=9)\" }}\n"
    ));
    let r = expect(&l, 4, 43, "unknown layer `Udp`");
    assert!(r.contains("did you mean `UDP`?"), "{r}");
    assert!(r.contains("^^^"), "{r}");
    let l = load(&format!(
        "{PAIR}app a: craft {{ packet \"IP(dst='10.0.0.2')/TCP(flasg='S')\" }}\n"
    ));
    let r = expect(&l, 4, 47, "`TCP` has no field `flasg`");
    assert!(r.contains("did you mean `flags`?"), "{r}");
    let l = load(&format!(
        "{PAIR}app a: craft {{ packet \"IP(dst='10.0.0.2' ttl=3)\" }}\n"
    ));
    expect(&l, 4, 42, "expected `,` or `)`");
    let l = load(&format!(
        "{PAIR}app a: craft {{ packet \"IP(dst='10.0.0.2')/UDP()/DNS(qd=DNSQR(qtype='ANY'))\" }}\n"
    ));
    let r = expect(&l, 4, 68, "`ANY` is not a DNS type");
    assert!(r.contains("ALL"), "{r}");
    let l = load(&format!("{PAIR}app a: craft {{ packet \"UDP()\" }}\n"));
    expect(&l, 4, 23, "neither `IP()` nor `Ether()`");
    let l = load(&format!(
        "{PAIR}app a: craft {{ packet \"IP(dst='10.0.0.2')\"  loop on }}\n"
    ));
    expect(&l, 4, 45, "`loop on` with an interval of 0");
}
