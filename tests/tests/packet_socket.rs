//! `AF_PACKET` sockets in a whole run: frames a user app builds byte by byte and sends with
//! `sendto(sockaddr_ll)` leave through the qdisc, appear in the sender's and the receiver's
//! pcaps exactly as written, and are taken by the receiver's stack as any frame (its UDP
//! sink reads them); an `ETH_P_ALL` socket on the receiver gets a copy of each, as
//! `PACKET_HOST`, and of the frames its own host sends, as `PACKET_OUTGOING`.

mod common;

use common::{capture_into, load, read_pcap, run_scenario, temp_dir};
use sim_core::SimTime;
use sim_stack::apps::registry::{AppProps, AppSpec, PropKind, PropSpec};
use sim_stack::apps::{App, AppCtx, AppReport, ReportValue, UserReport};
use sim_stack::capture::CaptureFormat;
use sim_stack::node::Node;
use sim_stack::sock::packet::{ETH_P_ALL, SockaddrLl, pkttype};
use sim_stack::sock::syscall::SockType;
use sim_stack::sock::{MsgFlags, SockId};

const A_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const B_MAC: [u8; 6] = [2, 0, 0, 0, 0, 3];

/// Ethernet / IPv4 10.0.0.2 → 10.0.0.3 / UDP 5000 → 9 carrying `payload`, every checksum
/// right (etherparse writes them).
fn udp_frame(id: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2(A_MAC, B_MAC)
        .ipv4([10, 0, 0, 2], [10, 0, 0, 3], 64)
        .udp(5000, 9);
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("frame builds");
    // IP ID `id`, and the header checksum again.
    out[18..20].copy_from_slice(&id.to_be_bytes());
    out[24..26].fill(0);
    let sum = etherparse::Ipv4HeaderSlice::from_slice(&out[14..34])
        .expect("ipv4")
        .to_header()
        .calc_header_checksum();
    out[24..26].copy_from_slice(&sum.to_be_bytes());
    out
}

fn payload(i: u64) -> Vec<u8> {
    // udp_sink reads a sequence number from the first 8 bytes.
    let mut p = i.to_be_bytes().to_vec();
    p.resize(100, 0x5a);
    p
}

/// `l2_send`: `count` frames on eth0 through an `AF_PACKET` `SOCK_RAW` socket at its start.
#[derive(Debug)]
struct L2Send {
    count: u64,
    sent: u64,
}

impl App for L2Send {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let s = cx.socket_packet_nonblock(SockType::Raw, 0).expect("socket");
        let ifindex = cx.if_nametoindex("eth0").expect("eth0");
        let to = SockaddrLl::new(0, ifindex, B_MAC);
        for i in 0..self.count {
            let f = udp_frame(i as u16 + 1, &payload(i));
            if cx.sendto_ll(s, &f, Some(&to)) == Ok(f.len()) {
                self.sent += 1;
            }
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::User(UserReport {
            app: "l2_send".into(),
            summary: format!("l2_send: {} sent", self.sent),
            fields: vec![("sent".into(), ReportValue::UInt(self.sent))],
        })
    }
}

/// `l2_watch`: an `ETH_P_ALL` socket counting the frames it reads, by `sll_pkttype`.
#[derive(Debug, Default)]
struct L2Watch {
    sock: Option<SockId>,
    host: u64,
    outgoing: u64,
    other: u64,
}

impl App for L2Watch {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.sock = Some(
            cx.socket_packet_nonblock(SockType::Raw, ETH_P_ALL)
                .expect("socket"),
        );
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let mut buf = [0u8; 2048];
        while let Ok((_, ll)) = cx.recvfrom_ll(sock, &mut buf, MsgFlags::NONE) {
            match ll.pkttype {
                pkttype::HOST => self.host += 1,
                pkttype::OUTGOING => self.outgoing += 1,
                _ => self.other += 1,
            }
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::User(UserReport {
            app: "l2_watch".into(),
            summary: format!("l2_watch: {} in, {} out", self.host, self.outgoing),
            fields: vec![
                ("host".into(), ReportValue::UInt(self.host)),
                ("outgoing".into(), ReportValue::UInt(self.outgoing)),
                ("other".into(), ReportValue::UInt(self.other)),
            ],
        })
    }
}

fn make_send(p: &AppProps) -> Result<Box<dyn App>, String> {
    let count = p.int("count").ok_or("count")?;
    Ok(Box::new(L2Send {
        count: u64::try_from(count).map_err(|e| e.to_string())?,
        sent: 0,
    }))
}

fn make_watch(_: &AppProps) -> Result<Box<dyn App>, String> {
    Ok(Box::<L2Watch>::default())
}

fn user(ran: &common::Ran, name: &str) -> Vec<(String, ReportValue)> {
    ran.world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::User(u) if u.app == name => Some(u.fields),
            _ => None,
        })
        .expect("report")
}

#[test]
fn frames_sent_through_af_packet_reach_the_wire_and_the_peers_stack() {
    sim_stack::apps::registry::register(AppSpec {
        name: "l2_send",
        about: "sends UDP frames through an AF_PACKET socket",
        props: &[PropSpec {
            name: "count",
            kind: PropKind::Int,
            required: true,
            example: "3",
        }],
        make: make_send,
    });
    sim_stack::apps::registry::register(AppSpec {
        name: "l2_watch",
        about: "counts the frames an ETH_P_ALL socket reads",
        props: &[],
        make: make_watch,
    });
    let src = "
end 2s
host a { iface eth0 { ip 10.0.0.2/24  mac 02:00:00:00:00:02 } }
host b { iface eth0 { ip 10.0.0.3/24  mac 02:00:00:00:00:03 } }
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms }
app b: udp_sink { port 9 }
app b: l2_watch
app a: l2_send { count 5 } at 1s
";
    let dir = temp_dir("af-packet");
    let ran = run_scenario(
        &load(src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    assert_eq!(user(&ran, "l2_send")[0].1, ReportValue::UInt(5));
    let want: Vec<Vec<u8>> = (0..5)
        .map(|i| udp_frame(i as u16 + 1, &payload(i)))
        .collect();
    // Byte for byte on both sides: no ARP first (the frames carry their own MACs), no
    // header of the kernel's.
    for side in ["a-eth0.pcap", "b-eth0.pcap"] {
        let got: Vec<Vec<u8>> = read_pcap(&dir.join(side))
            .into_iter()
            .map(|r| r.data)
            .collect();
        assert_eq!(got, want, "{side}");
    }
    // Serialized back to back at 100 Mbit/s: 142 bytes + 24 of overhead = 13.28 us apart.
    let times: Vec<u64> = read_pcap(&dir.join("b-eth0.pcap"))
        .iter()
        .map(|r| r.ts_ns)
        .collect();
    assert_eq!(times[1] - times[0], 13_280);
    // The receiver's stack took them as any datagrams.
    let sink = match &ran.world.app_reports()[0].1 {
        AppReport::UdpSink(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!((sink.received, sink.bytes, sink.lost), (5, 500, 0));
    assert_eq!(ran.stats.nodes["b"].udp.InDatagrams, 5);
    // Netfilter, routing and UDP were not on the sender's path.
    assert_eq!(ran.stats.nodes["a"].ip.OutRequests, 0);
    // The watcher: five frames in; nothing sent by b (no ARP was needed, no reply).
    let w = user(&ran, "l2_watch");
    assert_eq!(
        w,
        [
            ("host".to_string(), ReportValue::UInt(5)),
            ("outgoing".to_string(), ReportValue::UInt(0)),
            ("other".to_string(), ReportValue::UInt(0)),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
