//! The kernel path of a few packets: for each distinct path in `trace.txt` (`--trace
//! path`), in order of first sight, the modeled kernel functions as a chain coloured by
//! layer, and the first frames that took it.

use std::fmt::Write as _;

use super::html::{count, esc, note};
use super::trace::{FRAMES_PER_PATH, TraceDigest};

/// The layer of a modeled kernel function, by its name: the CSS class of its chip.
pub fn layer(f: &str) -> &'static str {
    let starts = |p: &[&str]| p.iter().any(|p| f.starts_with(p));
    if f.starts_with("nf_hook") || f.starts_with("nf_") {
        "netfilter"
    } else if starts(&["neigh_", "arp_", "ndisc_"]) {
        "neigh"
    } else if starts(&[
        "dev_",
        "sch_",
        "__qdisc",
        "qdisc",
        "netif_",
        "ndo_",
        "loopback_",
        "validate_xmit",
        "__dev",
        "napi",
        "tc_",
        "skb_gso",
        "virtnet",
    ]) {
        "dev"
    } else if starts(&[
        "tcp_",
        "udp",
        "icmp",
        "ping_",
        "raw_",
        "__tcp",
        "__udp",
        "inet6_csk",
        "inet_csk",
    ]) {
        "transport"
    } else if starts(&[
        "ip_", "ip6_", "ipv6_", "dst_", "fib", "__ip", "inet_rcv", "rt6_",
    ]) {
        "ip"
    } else if starts(&[
        "send", "recv", "connect", "accept", "sock_", "inet_", "inet6_", "__sys", "write", "read",
        "close", "shutdown", "listen", "bind",
    ]) {
        "socket"
    } else {
        "other"
    }
}

/// The legend of the layers.
const LAYERS: [(&str, &str); 6] = [
    ("socket", "socket calls"),
    ("transport", "TCP / UDP / ICMP"),
    ("ip", "IP"),
    ("netfilter", "netfilter"),
    ("neigh", "neighbour (ARP, NDP)"),
    ("dev", "qdisc and device"),
];

/// The section: the paths, or how to get them.
pub fn section(trace: Option<&TraceDigest>) -> String {
    let Some(t) = trace.filter(|t| t.has_paths) else {
        return note(&format!(
            "{} Rerun with <code>--trace path</code> (<code>sim run --replay DIR --trace path \
             --out NEW</code>) to see the modeled kernel functions each packet went through.",
            if trace.is_some() {
                "This run's trace.txt has frames without their paths."
            } else {
                "This run has no trace.txt."
            }
        ));
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<p>{} distinct kernel paths among the frames sent, delivered or dropped; the first \
         {} of them, in the order they first appear, each with its first {} frames. \
         A path is what <code>trace.txt</code>'s <code>path:</code> line shows: the modeled \
         functions, named as the kernel names them.</p>\n<p>",
        count(t.distinct_paths as u64),
        t.paths.len(),
        FRAMES_PER_PATH
    );
    for (class, words) in LAYERS {
        let _ = write!(h, "<span class=\"fn l-{class}\">{}</span> ", esc(words));
    }
    h.push_str("</p>\n");
    for (i, p) in t.paths.iter().enumerate() {
        let first = &p.first[0];
        let _ = writeln!(
            h,
            "<h3>{}. {} <span class=\"zero\">({} frame{})</span></h3>",
            i + 1,
            esc(&headline(&first.line, &first.dir)),
            count(p.frames),
            if p.frames == 1 { "" } else { "s" }
        );
        h.push_str("<div class=\"path\">");
        for (k, f) in p.functions.iter().enumerate() {
            if k > 0 {
                h.push_str("<span class=\"arrow\">→</span>");
            }
            let _ = write!(h, "<span class=\"fn l-{}\">{}</span>", layer(f), esc(f));
        }
        h.push_str("</div>\n");
        for f in &p.first {
            let _ = writeln!(h, "<div class=\"frame\">{}</div>", esc(&f.line));
        }
    }
    if t.distinct_paths > t.paths.len() {
        h.push_str(&note(&format!(
            "… and {} more distinct paths in trace.txt",
            count((t.distinct_paths - t.paths.len()) as u64)
        )));
    }
    h
}

/// A frame line's gist: `client tx: IP 10.0.0.2.60071 > 10.0.1.53.53: 58367+ A? baidu.com. (27)`.
fn headline(line: &str, dir: &str) -> String {
    let w: Vec<&str> = line.splitn(6, ' ').collect();
    let (node, iface) = (w.get(1).unwrap_or(&""), w.get(2).unwrap_or(&""));
    let rest = match dir {
        // `drop REASON LEN SUMMARY`
        "drop" => {
            let reason = w.get(4).unwrap_or(&"");
            let tail = w
                .get(5)
                .map_or("", |s| s.split_once(' ').map_or("", |(_, x)| x));
            format!("drop {reason}: {tail}")
        }
        _ => format!("{dir}: {}", w.get(5).unwrap_or(&"")),
    };
    format!("{node} {iface} {rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_fall_in_their_layers() {
        assert_eq!(layer("udp_sendmsg"), "transport");
        assert_eq!(layer("tcp_v4_rcv"), "transport");
        assert_eq!(layer("ip_finish_output2"), "ip");
        assert_eq!(layer("nf_hook(LOCAL_OUT)"), "netfilter");
        assert_eq!(layer("neigh_resolve_output"), "neigh");
        assert_eq!(layer("arp_solicit"), "neigh");
        assert_eq!(layer("dev_hard_start_xmit"), "dev");
        assert_eq!(layer("sch_direct_xmit"), "dev");
        assert_eq!(layer("netif_receive_skb"), "dev");
        assert_eq!(layer("sendto"), "socket");
        assert_eq!(layer("inet_sendmsg"), "socket");
        assert_eq!(layer("dst_output"), "ip");
    }

    #[test]
    fn paths_are_drawn_with_their_frames_or_the_way_to_get_them() {
        let trace = "\
0.100002136 client eth0 tx 69 IP 10.0.0.2.60071 > 10.0.1.53.53: 58367+ A? baidu.com. (27)
    path: udp_sendmsg > ip_route_output_flow > nf_hook(LOCAL_OUT) > dev_hard_start_xmit
1.0 x
0.200000000 r eth0 drop qdisc_drop 1042 IP 10.0.0.2 > 10.0.1.2: ICMP echo request
    path: ip_forward > dev_queue_xmit
";
        let t = TraceDigest::read(trace.as_bytes()).unwrap();
        let h = section(Some(&t));
        assert!(h.contains("<span class=\"fn l-transport\">udp_sendmsg</span>"));
        assert!(h.contains("<span class=\"fn l-netfilter\">nf_hook(LOCAL_OUT)</span>"));
        assert!(h.contains("1. client eth0 tx: IP 10.0.0.2.60071 &gt; 10.0.1.53.53: 58367+ A?"));
        assert!(
            h.contains("2. r eth0 drop qdisc_drop: IP 10.0.0.2 &gt; 10.0.1.2"),
            "{h}"
        );
        let frames_only = TraceDigest::read("0.100000000 a eth0 tx 42 ARP\n".as_bytes()).unwrap();
        assert!(section(Some(&frames_only)).contains("--trace path"));
        assert!(section(None).contains("no trace.txt"));
    }
}
