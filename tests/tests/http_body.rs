//! The http_server's body on the wire: made as it is sent, window by window, it must still be
//! the page byte for byte (`body_bytes`, itself checked against the page's construction in
//! its unit test), read from the capture with an independent decoder.

mod common;

use std::collections::BTreeMap;

use common::{capture_into, load, read_pcap, run_scenario, temp_dir};
use etherparse::{SlicedPacket, TransportSlice};
use sim_stack::apps::http_server::body_bytes;
use sim_stack::capture::CaptureFormat;

#[test]
fn a_body_sent_over_many_windows_is_the_page() {
    let len = 2_000_000;
    let dir = temp_dir("http-body");
    let sc = load(
        "
end 5s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 100Mbit  delay 1ms  loss 0.5% }
app b: http_server { port 80  body 2000000B }
app a: curl \"http://10.0.0.2/\" at 10ms
",
        &[],
    );
    let ran = run_scenario(&sc, Some(capture_into(&dir, CaptureFormat::Pcap)));
    let curl = match &ran.world.app_reports()[1].1 {
        sim_stack::apps::AppReport::Curl(c) => (**c).clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(curl.size_download, len as u64, "{curl:?}");
    // What b sent from port 80, by sequence number (a retransmission carries the same bytes
    // again; the first copy is kept and must match any later one).
    let mut by_seq: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for rec in read_pcap(&dir.join("b-eth0.pcap")) {
        let p = SlicedPacket::from_ethernet(&rec.data).expect("decodes");
        let Some(TransportSlice::Tcp(t)) = p.transport else {
            continue;
        };
        if t.source_port() != 80 || t.payload().is_empty() {
            continue;
        }
        let seg = t.payload().to_vec();
        if let Some(old) = by_seq.get(&t.sequence_number()) {
            assert_eq!(
                &seg[..old.len().min(seg.len())],
                &old[..old.len().min(seg.len())]
            );
        }
        by_seq.entry(t.sequence_number()).or_insert(seg);
    }
    let mut stream = Vec::new();
    let mut next = *by_seq.keys().next().expect("data was sent");
    for (&seq, seg) in &by_seq {
        let skip = next.wrapping_sub(seq) as usize;
        if skip < seg.len() {
            assert!(seq <= next, "no hole before {seq}");
            stream.extend_from_slice(&seg[skip..]);
            next = seq.wrapping_add(seg.len() as u32);
        }
    }
    let header_end = stream
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header")
        + 4;
    assert!(stream.starts_with(b"HTTP/1.0 200 OK\r\n"));
    assert!(String::from_utf8_lossy(&stream[..header_end]).contains("Content-Length: 2000000\r\n"));
    let body = &stream[header_end..];
    assert_eq!(body.len(), len);
    assert!(body == body_bytes(len).as_slice(), "the body is the page");
    assert!(body.starts_with(b"<!DOCTYPE html>\n") && body.ends_with(b"</body></html>\n"));
    assert!(
        ran.stats.nodes["b"].tcp.RetransSegs > 0,
        "the loss made b resend"
    );
}
