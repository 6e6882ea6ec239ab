//! `sim run --snapshot ss,ip,nstat,all`: the files per node and their key lines, against
//! what stats.json says of the same run (the byte-for-byte layouts are held by sim-stack's
//! unit tests against real iproute2 output).

mod common;

use std::fs;

use common::{json, listing, said, scenario, scratch, sim_in};

#[test]
fn snapshot_all_writes_every_kind_for_every_node() {
    let dir = scratch("snapshot-all");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            ping.to_str().unwrap(),
            "--snapshot",
            "all",
            "--pcap",
            "none",
            "--out",
            "o",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let out = dir.join("o");
    let mut want = Vec::new();
    for node in ["a", "b", "r"] {
        for kind in ["ip", "iptables", "nstat", "ss", "tc"] {
            want.push(format!("{node}.{kind}.txt"));
        }
    }
    assert_eq!(listing(&out.join("snapshots")), want);
    let params = json(&out.join("params.json"));
    assert_eq!(params["snapshot"], serde_json::json!(["all"]));
    let stats = json(&out.join("stats.json"));
    let read = |f: &str| fs::read_to_string(out.join("snapshots").join(f)).unwrap();

    // ip: the link with stats.json's counters, the gateway's entry, the routes.
    let a = read("a.ip.txt");
    let link = &stats["nodes"]["a"]["eth0"]["link"];
    let link = |k: &str| link[k].as_u64().unwrap();
    let rx = format!(
        "    RX:  bytes packets errors dropped  missed   mcast           \n{:>14} {:>7} {:>6} {:>7}       0       0 \n",
        link("rx_bytes"),
        link("rx_packets"),
        link("rx_errors"),
        link("rx_dropped")
    );
    let tx = format!(
        "    TX:  bytes packets errors dropped carrier collsns           \n{:>14} {:>7} {:>6} {:>7}       0       0 \n",
        link("tx_bytes"),
        link("tx_packets"),
        link("tx_errors"),
        link("tx_dropped")
    );
    assert!(
        a.starts_with(
            "$ ip -s link\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc \
             pfifo_fast state UP mode DEFAULT group default qlen 1000\n    link/ether "
        ),
        "{a}"
    );
    assert!(
        a.contains(&format!("{rx}{tx}$ ip neigh\n10.0.0.1 dev eth0 lladdr ")),
        "{a}"
    );
    assert!(
        a.ends_with(
            "$ ip route\ndefault via 10.0.0.1 dev eth0 \n\
             10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2 \n"
        ),
        "{a}"
    );
    assert!(!a.contains("ip -6"), "no IPv6 on a: {a}");
    let r = read("r.ip.txt");
    assert!(
        r.contains("\n3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 "),
        "{r}"
    );
    assert!(r.contains("10.0.1.2 dev eth1 lladdr "), "{r}");

    // nstat: the ICMP echoes of the four pings, as stats.json counts them.
    let icmp = &stats["nodes"]["a"]["Icmp"];
    assert_eq!(icmp["OutEchos"], 4);
    let n = read("a.nstat.txt");
    assert!(n.starts_with("$ nstat -a\n#kernel\nIpInReceives "), "{n}");
    for (name, v) in [
        ("IcmpOutEchos", &icmp["OutEchos"]),
        ("IcmpInEchoReps", &icmp["InEchoReps"]),
        ("IcmpMsgInType0", &icmp["InEchoReps"]),
        ("IcmpMsgOutType8", &icmp["OutEchos"]),
        ("IpOutRequests", &stats["nodes"]["a"]["Ip"]["OutRequests"]),
    ] {
        let line = format!("\n{name:<32}{:<16}   0.0\n", v.as_u64().unwrap());
        assert!(n.contains(&line), "{line:?} not in {n}");
    }
    assert!(!n.contains("Tcp"), "no TCP counter moved: {n}");
    assert!(read("b.nstat.txt").contains("\nIcmpOutEchoReps                 4 "));

    // ss: a ping socket is neither TCP nor UDP.
    assert_eq!(
        read("a.ss.txt"),
        "$ ss -tuni\nNetid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
    );
}

#[test]
fn snapshot_ss_shows_a_connection_open_at_the_end() {
    let dir = scratch("snapshot-ss");
    let flagship = scenario("dns_then_http.net");
    // curl starts at 100 ms; 2 ms later its connection is established and its request
    // acknowledged, the response not yet sent.
    let o = sim_in(
        &dir,
        &[
            "run",
            flagship.to_str().unwrap(),
            "--snapshot",
            "ss,ip",
            "--until",
            "102ms",
            "--pcap",
            "none",
            "--out",
            "o",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let out = dir.join("o/snapshots");
    let files = listing(&out);
    assert!(files.contains(&"client.ss.txt".to_string()));
    assert!(files.contains(&"client.ip.txt".to_string()));
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with(".tc.txt") || f.ends_with(".nstat.txt"))
    );
    let client = fs::read_to_string(out.join("client.ss.txt")).unwrap();
    let lines: Vec<&str> = client.lines().collect();
    assert_eq!(lines[0], "$ ss -tuni");
    assert!(lines[1].starts_with("Netid State Recv-Q Send-Q Local Address:Port"));
    assert!(
        lines[2].starts_with("tcp   ESTAB 0      0           10.0.0.2:"),
        "{client}"
    );
    assert!(lines[2].contains(" 10.0.1.80:80"), "{client}");
    let details = lines[3];
    for item in [
        "\t cubic wscale:",
        " mss:1448 pmtu:1500 ",
        " cwnd:10 ",
        " bytes_sent:",
        " bytes_acked:",
        " segs_out:",
        " send ",
        " minrtt:",
    ] {
        assert!(details.contains(item), "{item:?} not in {details}");
    }
    let web = fs::read_to_string(out.join("web.ss.txt")).unwrap();
    assert!(web.contains(":80 "), "{web}");
    assert!(web.contains(" bytes_received:"), "{web}");
}
