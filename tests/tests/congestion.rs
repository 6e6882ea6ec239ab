//! `TCP_CONGESTION` per socket from the language (`tcp_bulk { … congestion bbr }`,
//! `tcp_sink { … congestion dctcp }`): each connection runs what its socket chose, whatever
//! the node's `net.ipv4.tcp_congestion_control`; an accepted connection inherits its
//! listener's algorithm (`tcp_create_openreq_child` copies `icsk_ca_ops`), and DCTCP on a
//! connection that did not negotiate ECN falls back to `dctcp-reno` (`dctcp_init`).

mod common;

use common::{load, run_scenario};

const TWO_FLOWS: &str = r#"
param sysctl_cc = cubic
end 2s
routing auto
sysctl net.ipv4.tcp_congestion_control = $sysctl_cc
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24  qdisc pfifo limit 100 }
}
host a { iface eth0 { ip 10.0.0.2/24 } }
host b { iface eth0 { ip 10.0.1.2/24 } }
link a.eth0 -- r.eth0 { rate 1Gbit  delay 1ms }
link r.eth1 -- b.eth0 { rate 10Mbit  delay 10ms }
app b: tcp_sink { port 9 }
app b: tcp_sink { port 10  congestion dctcp }
app a: tcp_bulk { to 10.0.1.2:9  bytes unlimited  congestion bbr }
app a: tcp_bulk { to 10.0.1.2:10  bytes unlimited }
"#;

/// `(local, remote, algorithm)` of every connection of `node`, with its bytes moved.
fn conns(ran: &common::Ran, node: &str) -> Vec<(String, String, &'static str, u64)> {
    ran.stats.nodes[node]
        .tcp_connections
        .iter()
        .map(|c| {
            (
                c.local.clone(),
                c.remote.clone(),
                c.cong,
                c.stats.bytes_acked.max(c.stats.bytes_received),
            )
        })
        .collect()
}

#[test]
fn each_socket_runs_the_algorithm_it_chose() {
    for sysctl_cc in ["cubic", "reno"] {
        let ran = run_scenario(&load(TWO_FLOWS, &[("sysctl_cc", sysctl_cc)]), None);
        let a = conns(&ran, "a");
        assert_eq!(a.len(), 2, "{a:?}");
        let to9 = a
            .iter()
            .find(|c| c.1 == "10.0.1.2:9")
            .expect("the flow to :9");
        let to10 = a
            .iter()
            .find(|c| c.1 == "10.0.1.2:10")
            .expect("the flow to :10");
        // The socket's TCP_CONGESTION wins over the sysctl; without it, the sysctl's.
        assert_eq!(to9.2, "bbr");
        assert_eq!(to10.2, sysctl_cc);
        // Both moved data through the bottleneck.
        assert!(to9.3 > 100_000 && to10.3 > 100_000, "{a:?}");

        let b = conns(&ran, "b");
        let on9 = b
            .iter()
            .find(|c| c.0 == "10.0.1.2:9")
            .expect("accepted on :9");
        let on10 = b
            .iter()
            .find(|c| c.0 == "10.0.1.2:10")
            .expect("accepted on :10");
        // Accepted connections inherit the listener's algorithm; DCTCP without ECN (the
        // client asked for none: tcp_ecn = 2) falls back to dctcp-reno.
        assert_eq!(on9.2, sysctl_cc);
        assert_eq!(on10.2, "dctcp-reno");
    }
}

#[test]
fn an_algorithm_the_stack_lacks_is_a_located_error() {
    let src = TWO_FLOWS.replace("congestion bbr", "congestion vegas");
    let loaded = sim_dsl::load_str("cc.net", &src, &sim_dsl::Options::default());
    assert!(loaded.has_errors());
    let text = loaded.render_diagnostics();
    assert!(
        text.contains("cc.net:16:62:")
            && text.contains("unknown congestion control `vegas`")
            && text.contains("`reno`, `cubic`, `bbr` or `dctcp`"),
        "{text}"
    );
}
