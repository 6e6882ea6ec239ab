//! The packet socket alone on a one-host harness: what it sends reaches the wire byte for
//! byte through the qdisc; what the device sends and receives comes back as copies with
//! their `sockaddr_ll`; errors and drops as `af_packet.c` gives them.

use super::*;
use crate::config::Sysctls;
use crate::sock::syscall::{
    self as sc, Domain, PollEvents, SockOpt, SockOptName, SockOptValue, SockType,
};
use crate::testing::{HOST, HOST_MAC, OneHost, PEER, PEER_MAC};
use sim_core::SimDuration;
use std::net::SocketAddrV4;

/// eth0's ifindex.
const ETH0: i32 = 2;

fn frame(dst: [u8; 6], src: [u8; 6], ty: u16, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + body.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn packet(h: &mut OneHost, ty: SockType, proto: u16) -> SockId {
    sc::socket_packet(&mut h.n, ty, proto, Some(0)).unwrap()
}

fn recv(h: &mut OneHost, s: SockId) -> Result<(Vec<u8>, SockaddrLl), Errno> {
    let mut buf = vec![0u8; 65536];
    let (m, ll) =
        h.with(|n, cx| sc::recvfrom_ll(n, cx, s, Some(&mut buf), 65536, MsgFlags::NONE))?;
    buf.truncate(m.len);
    Ok((buf, ll))
}

fn send(h: &mut OneHost, s: SockId, data: &[u8], to: Option<SockaddrLl>) -> Result<usize, Errno> {
    h.with(|n, cx| sc::sendto_ll(n, cx, s, data, to.as_ref()))
}

#[test]
fn a_raw_frame_goes_to_the_wire_as_written() {
    let mut h = OneHost::new(Sysctls::default());
    let s = packet(&mut h, SockType::Raw, 0);
    // Any source MAC and EtherType: the kernel writes nothing of its own.
    let f = frame(PEER_MAC.0, [2, 9, 9, 9, 9, 9], 0x88b5, &[0xab; 100]);
    let to = SockaddrLl::new(0, ETH0, [0; 6]);
    assert_eq!(send(&mut h, s, &f, Some(to)), Ok(f.len()));
    let truesize = crate::skb::truesize_for(f.len());
    assert_eq!(h.n.socks.get(s).unwrap().common().wmem_alloc, truesize);
    assert_eq!(h.n.devs[0].stats.tx_packets, 1);
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.sent.len(), 1);
    assert_eq!(h.sent[0].1, f);
    // TX completion gave the send buffer back.
    assert_eq!(h.n.socks.get(s).unwrap().common().wmem_alloc, 0);
}

#[test]
fn a_bound_socket_sends_without_an_address_and_an_unbound_one_cannot() {
    let mut h = OneHost::new(Sysctls::default());
    let s = packet(&mut h, SockType::Raw, ETH_P_ALL);
    let f = frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[1; 46]);
    // No device to send on: ENXIO, from sendto_ll and plain send alike.
    assert_eq!(send(&mut h, s, &f, None), Err(Errno::NxIo));
    assert_eq!(
        h.with(|n, cx| sc::send(n, cx, s, &f, MsgFlags::NONE)),
        Err(Errno::NxIo)
    );
    // A sockaddr_in is not a packet socket's address.
    let to4 = Some(SocketAddrV4::new(PEER, 9));
    assert_eq!(
        h.with(|n, cx| sc::sendto(n, cx, s, &f, to4, MsgFlags::NONE)),
        Err(Errno::Inval)
    );
    assert_eq!(
        sc::bind_ll(&mut h.n, s, &SockaddrLl::new(0, 7, [0; 6])),
        Err(Errno::NoDev)
    );
    assert_eq!(
        h.with(|n, cx| sc::bind(n, cx, s, SocketAddrV4::new(HOST, 0))),
        Err(Errno::Inval)
    );
    // What a packet socket does not do (Linux: sock_no_connect, sock_no_shutdown,
    // packet_getname with a peer, no SIOCATMARK).
    assert_eq!(
        h.with(|n, cx| sc::connect(n, cx, s, SocketAddrV4::new(PEER, 9))),
        Err(Errno::OpNotSupp)
    );
    assert_eq!(
        h.with(|n, cx| sc::shutdown(n, cx, s, sc::Shutdown::Both)),
        Err(Errno::OpNotSupp)
    );
    assert_eq!(sc::getpeername(&mut h.n, s), Err(Errno::OpNotSupp));
    assert_eq!(sc::ioctl(&mut h.n, s, sc::Ioctl::AtMark), Err(Errno::NoTty));
    assert_eq!(
        h.with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::Type)),
        Ok(SockOptValue::Int(3))
    );
    sc::bind_ll(&mut h.n, s, &SockaddrLl::new(0, ETH0, [0; 6])).unwrap();
    // Bound with protocol 0: the socket keeps ETH_P_ALL.
    let name = sc::getsockname_ll(&mut h.n, s).unwrap();
    assert_eq!(
        (name.protocol, name.ifindex, name.mac()),
        (ETH_P_ALL, ETH0, HOST_MAC.0)
    );
    assert_eq!(
        h.with(|n, cx| sc::send(n, cx, s, &f, MsgFlags::NONE)),
        Ok(f.len())
    );
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.sent.len(), 1);
}

#[test]
fn sizes_are_checked_as_packet_snd_checks_them() {
    let mut h = OneHost::new(Sysctls::default());
    let s = packet(&mut h, SockType::Raw, 0);
    let to = Some(SockaddrLl::new(0, ETH0, [0; 6]));
    let full = frame(PEER_MAC.0, HOST_MAC.0, 0x0800, &[0; 1500]);
    assert_eq!(send(&mut h, s, &full, to), Ok(1514));
    let over = frame(PEER_MAC.0, HOST_MAC.0, 0x0800, &[0; 1501]);
    assert_eq!(send(&mut h, s, &over, to), Err(Errno::MsgSize));
    // The VLAN tag's 4 bytes more pass on a tagged frame only.
    let tagged = frame(PEER_MAC.0, HOST_MAC.0, ETH_P_8021Q, &[0; 1504]);
    assert_eq!(send(&mut h, s, &tagged, to), Ok(1518));
    let untagged = frame(PEER_MAC.0, HOST_MAC.0, 0x0800, &[0; 1504]);
    assert_eq!(send(&mut h, s, &untagged, to), Err(Errno::MsgSize));
    let beyond = frame(PEER_MAC.0, HOST_MAC.0, ETH_P_8021Q, &[0; 1505]);
    assert_eq!(send(&mut h, s, &beyond, to), Err(Errno::MsgSize));
    // Shorter than an Ethernet header.
    assert_eq!(send(&mut h, s, &[0; 13], to), Err(Errno::Inval));
    h.advance(SimDuration::from_millis(1));
    assert_eq!(
        h.sent.iter().map(|(_, f)| f.len()).collect::<Vec<_>>(),
        [1514, 1518]
    );
}

#[test]
fn dgram_sockets_write_and_strip_the_header() {
    let mut h = OneHost::new(Sysctls::default());
    let s = packet(&mut h, SockType::Dgram, 0x88b5);
    let to = SockaddrLl::new(0x88b5, ETH0, PEER_MAC.0);
    assert_eq!(send(&mut h, s, &[7; 50], Some(to)), Ok(50));
    // Empty: the header alone goes, as Linux sends it.
    assert_eq!(send(&mut h, s, &[], Some(to)), Ok(0));
    // The MTU is the payload's limit.
    assert_eq!(send(&mut h, s, &[0; 1500], Some(to)), Ok(1500));
    assert_eq!(send(&mut h, s, &[0; 1501], Some(to)), Err(Errno::MsgSize));
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.sent.len(), 3);
    assert_eq!(h.sent[0].1, frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[7; 50]));
    // (The wire pads it to Ethernet's 60 bytes.)
    assert_eq!(h.sent[1].1, frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[0; 46]));
    // A frame of its protocol arrives: the payload, and the sender in sll_addr.
    h.inject(&frame(HOST_MAC.0, PEER_MAC.0, 0x88b5, &[9; 60]));
    let (data, ll) = recv(&mut h, s).unwrap();
    assert_eq!(data, [9; 60]);
    assert_eq!(
        (ll.protocol, ll.ifindex, ll.pkttype, ll.halen, ll.mac()),
        (0x88b5, ETH0, pkttype::HOST, 6, PEER_MAC.0)
    );
    assert_eq!(
        h.with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::Type)),
        Ok(SockOptValue::Int(2))
    );
}

#[test]
fn eth_p_all_sees_both_directions_and_a_type_only_its_received_frames() {
    let mut h = OneHost::new(Sysctls::default());
    let all = packet(&mut h, SockType::Raw, ETH_P_ALL);
    let arp = packet(&mut h, SockType::Raw, ETH_P_ARP);
    // A UDP datagram to the peer: an ARP request out, the reply in, the datagram out.
    let u = h
        .with(|n, cx| sc::socket_domain(n, cx, Domain::Inet, SockType::Dgram, 0, Some(0)))
        .unwrap();
    h.with(|n, cx| {
        sc::sendto(
            n,
            cx,
            u,
            b"hi",
            Some(SocketAddrV4::new(PEER, 9)),
            MsgFlags::NONE,
        )
    })
    .unwrap();
    h.advance(SimDuration::from_millis(1));
    let mut seen = Vec::new();
    while let Ok((f, ll)) = recv(&mut h, all) {
        seen.push((
            u16::from_be_bytes([f[12], f[13]]),
            ll.pkttype,
            ll.protocol,
            f.len(),
        ));
    }
    assert_eq!(
        seen,
        [
            (ETH_P_ARP, pkttype::OUTGOING, ETH_P_ARP, 42),
            (ETH_P_ARP, pkttype::HOST, ETH_P_ARP, 42),
            (ETH_P_IP, pkttype::OUTGOING, ETH_P_IP, 44),
        ]
    );
    // The ETH_P_ARP socket: the received reply only (ptype_base is the receive path's).
    let (f, ll) = recv(&mut h, arp).unwrap();
    assert_eq!(
        (f.len(), ll.pkttype, ll.mac()),
        (42, pkttype::HOST, PEER_MAC.0)
    );
    assert_eq!(recv(&mut h, arp), Err(Errno::Again));
    // Frames to others and to everyone, with their types.
    h.inject(&frame([2, 7, 7, 7, 7, 7], PEER_MAC.0, 0x88b5, &[0; 46]));
    h.inject(&frame([0xff; 6], PEER_MAC.0, 0x88b5, &[0; 46]));
    h.inject(&frame(
        [0x01, 0, 0x5e, 0, 0, 1],
        PEER_MAC.0,
        0x88b5,
        &[0; 46],
    ));
    let types: Vec<u8> = (0..3)
        .map(|_| recv(&mut h, all).unwrap().1.pkttype)
        .collect();
    assert_eq!(
        types,
        [pkttype::OTHERHOST, pkttype::BROADCAST, pkttype::MULTICAST]
    );
}

#[test]
fn the_sender_does_not_see_its_own_frame_but_another_socket_does() {
    let mut h = OneHost::new(Sysctls::default());
    let a = packet(&mut h, SockType::Raw, ETH_P_ALL);
    let b = packet(&mut h, SockType::Raw, ETH_P_ALL);
    // b sees eth0's frames only.
    sc::bind_ll(&mut h.n, b, &SockaddrLl::new(0, ETH0, [0; 6])).unwrap();
    let f = frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[3; 46]);
    send(&mut h, a, &f, Some(SockaddrLl::new(0, ETH0, [0; 6]))).unwrap();
    assert_eq!(recv(&mut h, a), Err(Errno::Again));
    let (got, ll) = recv(&mut h, b).unwrap();
    assert_eq!((got, ll.pkttype), (f, pkttype::OUTGOING));
    // Closed, a socket is off the list: the frame path tests an empty list again.
    h.with(|n, cx| sc::close(n, cx, a)).unwrap();
    h.with(|n, cx| sc::close(n, cx, b)).unwrap();
    assert!(h.n.socks.packet.is_empty());
}

#[test]
fn a_full_receive_buffer_drops_and_counts() {
    let mut h = OneHost::new(Sysctls::default());
    let s = packet(&mut h, SockType::Raw, ETH_P_ALL);
    // The smallest buffer: SOCK_MIN_RCVBUF (2304); a 60-byte frame's copy charges 1088.
    h.with(|n, cx| sc::setsockopt(n, cx, s, SockOpt::RcvBuf(1)))
        .unwrap();
    let f = frame(HOST_MAC.0, PEER_MAC.0, 0x88b5, &[0; 46]);
    h.woken.clear();
    for _ in 0..5 {
        h.inject(&f);
    }
    // 0, 1088, 2176 < 2304 are taken; the fourth and fifth find the buffer full.
    let p = |h: &OneHost| match h.n.socks.get(s) {
        Some(Socket::Packet(p)) => (p.queued(), p.sk.rmem_alloc, p.drops),
        _ => unreachable!(),
    };
    assert_eq!(p(&h), (3, 3 * crate::skb::truesize_for(60), 2));
    assert_eq!(h.woken, [s, s, s]);
    assert!(sc::poll(&mut h.n, s).unwrap().contains(PollEvents::IN));
    assert_eq!(sc::ioctl(&mut h.n, s, sc::Ioctl::InQ), Ok(60));
    let st = |h: &mut OneHost| match h
        .with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::PacketStatistics))
    {
        Ok(SockOptValue::PacketStats(st)) => st,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        st(&mut h),
        TpacketStats {
            tp_packets: 5,
            tp_drops: 2
        }
    );
    assert_eq!(st(&mut h), TpacketStats::default());
    for _ in 0..3 {
        recv(&mut h, s).unwrap();
    }
    assert_eq!(p(&h), (0, 0, 2));
    // IP options are not a packet socket's.
    assert_eq!(
        h.with(|n, cx| sc::setsockopt(n, cx, s, SockOpt::Tos(4))),
        Err(Errno::NoProtoOpt)
    );
}

#[test]
fn a_full_send_buffer_is_eagain_until_tx_completion() {
    let mut h = OneHost::new(Sysctls::default());
    let s = packet(&mut h, SockType::Raw, 0);
    h.with(|n, cx| sc::setsockopt(n, cx, s, SockOpt::SndBuf(1)))
        .unwrap();
    let to = Some(SockaddrLl::new(0, ETH0, [0; 6]));
    let f = frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[0; 1000]);
    // SOCK_MIN_SNDBUF is 4608; each frame charges 2624.
    assert_eq!(send(&mut h, s, &f, to), Ok(1014));
    assert_eq!(send(&mut h, s, &f, to), Ok(1014));
    assert_eq!(send(&mut h, s, &f, to), Err(Errno::Again));
    assert!(!sc::poll(&mut h.n, s).unwrap().contains(PollEvents::OUT));
    h.woken.clear();
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.woken, [s]);
    assert_eq!(send(&mut h, s, &f, to), Ok(1014));
}

#[test]
fn a_qdisc_drop_is_enobufs() {
    let mut h = OneHost::new(Sysctls::default());
    h.with(|n, cx| {
        crate::dev::dev_graft_qdisc(
            n,
            cx,
            0,
            crate::qdisc::Qdisc::Pfifo(crate::qdisc::Pfifo::new(1)),
        )
    });
    // Ring of 256: fill it, then the qdisc's one slot, then a drop.
    h.n.devs[0].ring = crate::dev::TxRing::new(1);
    let s = packet(&mut h, SockType::Raw, 0);
    let to = Some(SockaddrLl::new(0, ETH0, [0; 6]));
    let f = frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[0; 46]);
    assert_eq!(send(&mut h, s, &f, to), Ok(60));
    assert_eq!(send(&mut h, s, &f, to), Ok(60));
    assert_eq!(send(&mut h, s, &f, to), Err(Errno::NoBufs));
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.sent.len(), 2);
    assert_eq!(h.n.socks.get(s).unwrap().common().wmem_alloc, 0);
}

#[test]
fn qdisc_bypass_goes_past_the_qdisc_and_the_taps() {
    let mut h = OneHost::new(Sysctls::default());
    h.n.devs[0].ring = crate::dev::TxRing::new(1);
    let s = packet(&mut h, SockType::Raw, 0);
    let watch = packet(&mut h, SockType::Raw, ETH_P_ALL);
    h.with(|n, cx| sc::setsockopt(n, cx, s, SockOpt::PacketQdiscBypass(true)))
        .unwrap();
    assert_eq!(
        h.with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::PacketQdiscBypass)),
        Ok(SockOptValue::Int(1))
    );
    let to = Some(SockaddrLl::new(0, ETH0, [0; 6]));
    let f = frame(PEER_MAC.0, HOST_MAC.0, 0x88b5, &[0; 46]);
    // The first takes the ring's one descriptor; the second finds it full: NETDEV_TX_BUSY,
    // ENOBUFS, where the qdisc would have queued it.
    assert_eq!(send(&mut h, s, &f, to), Ok(60));
    assert_eq!(send(&mut h, s, &f, to), Err(Errno::NoBufs));
    assert_eq!(
        h.n.devs[0].qdisc.stats().packets,
        0,
        "nothing went through the qdisc"
    );
    // No copy for the other socket (Linux: a socket bound to the device sees nothing).
    assert_eq!(recv(&mut h, watch), Err(Errno::Again));
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.sent.len(), 1);
    assert_eq!(h.n.devs[0].stats.tx_packets, 1);
    assert_eq!(h.n.socks.get(s).unwrap().common().wmem_alloc, 0);
    // Off again: through the qdisc, and seen.
    h.with(|n, cx| sc::setsockopt(n, cx, s, SockOpt::PacketQdiscBypass(false)))
        .unwrap();
    assert_eq!(send(&mut h, s, &f, to), Ok(60));
    assert_eq!(recv(&mut h, watch).unwrap().1.pkttype, pkttype::OUTGOING);
}
