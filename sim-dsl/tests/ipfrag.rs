//! The fragment reassembly sysctls: Linux's names, defaults and validation, with errors
//! pointing at the value.

use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::Sysctls;

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

fn errors(l: &Loaded) -> Vec<String> {
    l.errors()
        .map(|d| {
            let (line, col) = l.line_col(d).unwrap_or((0, 0));
            format!("{line}:{col} {}", d.message)
        })
        .collect()
}

fn sysctls_of(l: &Loaded, node: &str) -> Sysctls {
    let sc = l.scenario.as_ref().expect("no errors");
    sc.node(sc.node_by_name(node).expect("node"))
        .sysctls
        .clone()
}

#[test]
fn defaults_are_linuxs() {
    let l = load("host a { iface eth0 { ip 10.0.0.1/24 } }\n");
    let s = sysctls_of(&l, "a");
    assert_eq!(
        (s.ipfrag_high_thresh, s.ipfrag_low_thresh, s.ipfrag_max_dist),
        (4_194_304, 3_145_728, 64)
    );
    assert_eq!(s.ipfrag_time, "30s".parse().unwrap());
}

#[test]
fn thresholds_are_written_in_the_order_linux_accepts_them() {
    // Each write is checked against the other threshold's value at that point, as
    // proc_doulongvec_minmax does: lowering both takes the low one first.
    let ok = load(
        "sysctl net.ipv4.ipfrag_time = 5
host a {
    iface eth0 { ip 10.0.0.1/24 }
    sysctl net.ipv4.ipfrag_low_thresh = 65536
    sysctl net.ipv4.ipfrag_high_thresh = 262144
    sysctl net/ipv4/ipfrag_max_dist = 0
}
",
    );
    assert!(!ok.has_errors(), "{:?}", errors(&ok));
    let s = sysctls_of(&ok, "a");
    assert_eq!(
        (s.ipfrag_low_thresh, s.ipfrag_high_thresh, s.ipfrag_max_dist),
        (65_536, 262_144, 0)
    );
    assert_eq!(s.ipfrag_time, "5s".parse().unwrap());

    let bad = load(
        "host a {
    iface eth0 { ip 10.0.0.1/24 }
    sysctl net.ipv4.ipfrag_high_thresh = 262144
}
",
    );
    assert_eq!(
        errors(&bad),
        [
            "3:42 below net.ipv4.ipfrag_low_thresh (3145728); Linux refuses it (EINVAL): set the low threshold first"
        ]
    );
    let bad = load("sysctl net.ipv4.ipfrag_low_thresh = 5000000\n");
    assert_eq!(
        errors(&bad),
        [
            "1:37 above net.ipv4.ipfrag_high_thresh (4194304); Linux refuses it (EINVAL): set the high threshold first"
        ]
    );
    let bad = load("sysctl net.ipv4.ipfrag_max_dist = -1\n");
    assert_eq!(errors(&bad).len(), 1, "{:?}", errors(&bad));
}
