//! One TCP socket driven alone: the test plays the peer with hand-built segments on a bare
//! host ([`crate::testing::OneHost`]) and reads what the socket sends, through the socket
//! calls an application makes. No World, no second stack.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime};

use crate::config::Sysctls;
use crate::sock::syscall::{self, Ioctl, PollEvents, SockOpt, SockOptName, SockOptValue, SockType};
use crate::sock::{Errno, MsgFlags};
use crate::testing::{HOST, OneHost, PEER};
use crate::wire::{
    IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr,
};

pub(super) const PEER_PORT: u16 = 40_000;
const PORT: u16 = 8080;

/// A segment as the test's peer sends it.
fn seg(
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    win: u16,
    options: &[TcpOption<'_>],
    data: &[u8],
) -> Vec<u8> {
    seg_to(PORT, seq, ack, flags, win, options, data)
}

/// A segment from the test's peer to local port `port`.
pub(super) fn seg_to(
    port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    win: u16,
    options: &[TcpOption<'_>],
    data: &[u8],
) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: PEER_PORT,
        dst_port: port,
        seq,
        ack,
        flags,
        window: win,
        urgent: 0,
        options: TcpOptions::new(options).expect("options fit"),
    };
    let tlen = tcp.header_len() + data.len();
    let ip = Ipv4Repr {
        src_addr: PEER,
        dst_addr: HOST,
        protocol: IpProtocol::Tcp,
        payload_len: tlen,
        ttl: 64,
        dscp_ecn: 0,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut p = vec![0u8; 20 + tlen];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut p[..]));
    p[20 + tcp.header_len()..].copy_from_slice(data);
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut p[20..]),
        PEER,
        HOST,
        data.len(),
    );
    p
}

/// A segment the socket sent: (IP header, TCP header, payload length).
pub(super) fn parse(p: &[u8]) -> (Ipv4Repr, TcpRepr, usize) {
    let ipp = Ipv4Packet::new_checked(p).expect("an IPv4 packet");
    let ip = Ipv4Repr::parse(&ipp).expect("a valid header");
    let hl = usize::from(ipp.header_len());
    let t = &p[hl..hl + ip.payload_len];
    let tp = TcpPacket::new_checked(t).expect("a TCP segment");
    let tcp = TcpRepr::parse(&tp, ip.src_addr, ip.dst_addr).expect("a valid segment");
    let len = ip.payload_len - usize::from(tp.header_len());
    (ip, tcp, len)
}

/// A socket of "app 0" (whose wake-ups the harness records) with `opts` set, listening on
/// 8080.
fn listening(h: &mut OneHost, opts: &[SockOpt]) -> u32 {
    h.with(|n, cx| {
        let l = syscall::socket(n, cx, SockType::Stream, 0, Some(0))?;
        for o in opts {
            syscall::setsockopt(n, cx, l, o.clone())?;
        }
        syscall::bind(n, cx, l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT))?;
        syscall::listen(n, cx, l, 1)?;
        Ok::<_, Errno>(l)
    })
    .expect("listens")
}

/// A socket of "app 0" with `opts` set, its SYN to the peer sent.
fn connecting(h: &mut OneHost, opts: &[SockOpt]) -> u32 {
    h.with(|n, cx| {
        let c = syscall::socket(n, cx, SockType::Stream, 0, Some(0))?;
        for o in opts {
            syscall::setsockopt(n, cx, c, o.clone())?;
        }
        match syscall::connect(n, cx, c, SocketAddrV4::new(PEER, PEER_PORT)) {
            Err(Errno::InProgress) => Ok(c),
            other => other.map(|()| c),
        }
    })
    .expect("connecting")
}

/// A host listening on 8080, a connection accepted from the peer (ISN 1000, window 65535
/// with scale 7, MSS 1460, SACK, timestamps), and the socket's ISN.
fn accepted(h: &mut OneHost) -> (u32, u32) {
    let l = listening(h, &[]);
    let syn = seg(
        1000,
        0,
        TcpFlags::SYN,
        65_535,
        &[
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp {
                tsval: 100,
                tsecr: 0,
            },
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ],
        &[],
    );
    h.inject_ip(&syn);
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    assert_eq!(out.len(), 1, "one SYN-ACK");
    let (_, synack, _) = parse(&out[0].1);
    assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(synack.ack, 1001);
    let iss = synack.seq;
    h.inject_ip(&seg(
        1001,
        iss.wrapping_add(1),
        TcpFlags::ACK,
        1000,
        &[TcpOption::Timestamp {
            tsval: 101,
            tsecr: 0,
        }],
        &[],
    ));
    let (c, peer) = h
        .with(|n, _| syscall::accept(n, l, true))
        .expect("a connection to accept");
    assert_eq!(peer, SocketAddrV4::new(PEER, PEER_PORT).into());
    (c, iss)
}

#[test]
fn a_passive_open_answers_with_linux_options_and_accept_returns_the_child() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    let info = match h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::Info)) {
        Ok(SockOptValue::Info(i)) => i,
        other => panic!("TCP_INFO: {other:?}"),
    };
    assert_eq!(info.tcpi_state, 1, "ESTABLISHED");
    assert_eq!(info.tcpi_snd_wscale, 7);
    assert_eq!(info.tcpi_options & 7, 7, "timestamps, SACK, window scaling");
    assert_eq!(
        info.tcpi_snd_mss, 1448,
        "1460 minus the 12-byte timestamp option"
    );
    assert_eq!(info.tcpi_snd_cwnd, 10);
}

#[test]
fn a_write_goes_out_with_psh_and_the_ack_frees_the_queue() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let sent = h.with(|n, cx| syscall::send(n, cx, c, &[7u8; 3000], MsgFlags::NONE));
    assert_eq!(sent, Ok(3000));
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    let segs: Vec<(TcpRepr, usize)> = out
        .iter()
        .map(|(_, p)| parse(p))
        .map(|(_, t, l)| (t, l))
        .collect();
    assert_eq!(segs.len(), 3, "1448 + 1448 + 104");
    assert_eq!(segs[0].0.seq, iss.wrapping_add(1));
    assert_eq!(
        segs.iter().map(|s| s.1).collect::<Vec<_>>(),
        [1448, 1448, 104]
    );
    assert!(
        segs[2].0.flags.contains(TcpFlags::PSH),
        "PSH ends the write"
    );
    assert!(!segs[0].0.flags.contains(TcpFlags::PSH));
    assert_eq!(h.with(|n, _| syscall::ioctl(n, c, Ioctl::OutQ)), Ok(3000));
    h.inject_ip(&seg(
        1001,
        iss.wrapping_add(3001),
        TcpFlags::ACK,
        1000,
        &[],
        &[],
    ));
    assert_eq!(h.with(|n, _| syscall::ioctl(n, c, Ioctl::OutQ)), Ok(0));
}

#[test]
fn cork_holds_a_partial_segment_until_uncorked() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, cx| syscall::setsockopt(n, cx, c, SockOpt::Cork(true)))
        .expect("TCP_CORK");
    h.with(|n, cx| syscall::send(n, cx, c, b"hello", MsgFlags::NONE))
        .expect("written");
    h.advance(SimDuration::from_millis(10));
    assert!(h.take_ip().is_empty(), "corked: nothing leaves");
    assert_eq!(
        h.with(|n, _| syscall::ioctl(n, c, Ioctl::OutQNotSent)),
        Ok(5)
    );
    h.with(|n, cx| syscall::setsockopt(n, cx, c, SockOpt::Cork(false)))
        .expect("uncork");
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    assert_eq!(out.len(), 1);
    assert_eq!(parse(&out[0].1).2, 5);
}

#[test]
fn msg_more_corks_one_write_and_the_next_pushes_both() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, cx| syscall::send(n, cx, c, b"GET ", MsgFlags::MORE))
        .expect("written");
    h.advance(SimDuration::from_millis(5));
    assert!(h.take_ip().is_empty(), "MSG_MORE: held back");
    h.with(|n, cx| syscall::send(n, cx, c, b"/\r\n", MsgFlags::NONE))
        .expect("written");
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    assert_eq!(out.len(), 1, "one segment with both writes");
    let (_, t, len) = parse(&out[0].1);
    assert_eq!(len, 7);
    assert!(t.flags.contains(TcpFlags::PSH));
}

#[test]
fn received_data_is_readable_peekable_and_acknowledged() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    h.inject_ip(&seg(
        1001,
        iss.wrapping_add(1),
        TcpFlags::ACK | TcpFlags::PSH,
        1000,
        &[],
        b"abcdef",
    ));
    assert!(h.woken.contains(&c), "the reader is woken");
    assert_eq!(h.with(|n, _| syscall::ioctl(n, c, Ioctl::InQ)), Ok(6));
    let ev = h.with(|n, _| syscall::poll(n, c)).expect("polls");
    assert!(ev.contains(PollEvents::IN | PollEvents::OUT));
    let mut buf = [0u8; 4];
    let m = h
        .with(|n, cx| syscall::recv(n, cx, c, Some(&mut buf), 4, MsgFlags::PEEK))
        .expect("peeks");
    assert_eq!((m.len, &buf), (4, b"abcd"));
    assert_eq!(
        h.with(|n, _| syscall::ioctl(n, c, Ioctl::InQ)),
        Ok(6),
        "peek consumes nothing"
    );
    let m = h
        .with(|n, cx| syscall::recv(n, cx, c, Some(&mut buf), 4, MsgFlags::NONE))
        .expect("reads");
    assert_eq!((m.len, &buf), (4, b"abcd"));
    assert_eq!(h.with(|n, _| syscall::ioctl(n, c, Ioctl::InQ)), Ok(2));
    // The first data segment is acknowledged at once (quick-ACK mode after the handshake).
    h.advance(SimDuration::from_millis(1));
    let acks = h.take_ip();
    assert_eq!(acks.len(), 1);
    assert_eq!(parse(&acks[0].1).1.ack, 1007);
}

#[test]
fn linger_zero_close_resets_and_user_timeout_gives_up() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, cx| syscall::setsockopt(n, cx, c, SockOpt::Linger(Some(0))))
        .expect("SO_LINGER");
    h.with(|n, cx| syscall::close(n, cx, c)).expect("closes");
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    assert_eq!(out.len(), 1);
    assert!(
        parse(&out[0].1).1.flags.contains(TcpFlags::RST),
        "an abort sends RST"
    );

    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, cx| syscall::setsockopt(n, cx, c, SockOpt::UserTimeout(1500)))
        .expect("TCP_USER_TIMEOUT");
    h.with(|n, cx| syscall::send(n, cx, c, b"x", MsgFlags::NONE))
        .expect("written");
    // Nothing is ever acknowledged: the connection gives up 1.5 s after the first
    // retransmission, not after tcp_retries2's ~15 minutes.
    h.run_until(SimTime::from_nanos(10_000_000_000));
    // The socket stays until the app closes it, with ETIMEDOUT pending (SO_ERROR).
    let err = h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::Error));
    assert_eq!(err, Ok(SockOptValue::Int(110)), "ETIMEDOUT");
    let ev = h.with(|n, _| syscall::poll(n, c)).expect("polls");
    assert!(
        ev.contains(PollEvents::HUP),
        "a dead connection polls HUP: {ev:?}"
    );
    let sent = h.take_ip();
    let last = sent.last().expect("retransmissions").0;
    assert!(
        last < SimTime::from_nanos(3_000_000_000),
        "no retransmission after the user timeout (last at {last:?})"
    );
}

#[test]
fn options_read_back_as_linux_reports_them() {
    let mut h = OneHost::new(Sysctls::default());
    let fd = h
        .with(|n, cx| syscall::socket(n, cx, SockType::Stream, 0, None))
        .expect("socket");
    h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::SndBuf(10_000)))
        .expect("SO_SNDBUF");
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, fd, SockOptName::SndBuf)),
        Ok(SockOptValue::Int(20_000)),
        "the kernel doubles it"
    );
    h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::SndBuf(1)))
        .expect("SO_SNDBUF");
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, fd, SockOptName::SndBuf)),
        Ok(SockOptValue::Int(4608)),
        "SOCK_MIN_SNDBUF"
    );
    assert_eq!(
        h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::Congestion("vegas".into()))),
        Err(Errno::NoEnt)
    );
    h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::Congestion("reno".into())))
        .expect("reno exists");
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, fd, SockOptName::Congestion)),
        Ok(SockOptValue::Name("reno".into()))
    );
    assert_eq!(
        h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::MaxSeg(10))),
        Err(Errno::Inval),
        "below TCP_MIN_MSS"
    );
    assert_eq!(
        h.with(|n, cx| syscall::connect(n, cx, fd, SocketAddrV4::new(PEER, 80))),
        Err(Errno::InProgress)
    );
    assert_eq!(
        h.with(|n, cx| syscall::connect(n, cx, fd, SocketAddrV4::new(PEER, 80))),
        Err(Errno::Already)
    );
    assert_eq!(
        h.with(|n, cx| syscall::listen(n, cx, fd, 5)),
        Err(Errno::Inval),
        "a connecting socket cannot listen"
    );
}

#[test]
fn a_tun_device_carries_bare_ip_packets_without_arp_and_frees_the_sender_at_once() {
    let mut h = OneHost::tun(Sysctls::default());
    let c = connecting(&mut h, &[]);
    let start = h.net.sched.now();
    let out = h.read_tun();
    assert_eq!(out.len(), 1, "the SYN, with no ARP request before it");
    assert!(h.arp.is_empty());
    let (t, syn) = &out[0];
    assert_eq!(*t, start, "read as it left dev_hard_start_xmit");
    let (ip, tcp, _) = parse(syn);
    assert_eq!((ip.src_addr, ip.dst_addr), (HOST, PEER));
    assert_eq!(tcp.flags, TcpFlags::SYN);
    assert_eq!(
        h.n.socks.get(c).expect("socket").common().wmem_alloc,
        0,
        "tun_net_xmit orphans the skb"
    );
    // The peer's SYN-ACK, written into the device, completes the connection.
    let synack = seg_to(
        tcp.src_port,
        5000,
        tcp.seq.wrapping_add(1),
        TcpFlags::SYN | TcpFlags::ACK,
        65_535,
        &[TcpOption::MaxSegmentSize(1460)],
        &[],
    );
    h.write_tun(&synack);
    let out = h.read_tun();
    assert_eq!(out.len(), 1, "the handshake's ACK");
    assert_eq!(parse(&out[0].1).1.ack, 5001);
    let ev = h.with(|n, _| syscall::poll(n, c)).expect("poll");
    assert!(ev.contains(PollEvents::OUT), "connected");
    assert_eq!(h.n.devs[0].stats.rx_packets, 1);
    assert_eq!(h.n.devs[0].stats.tx_packets, 2);
}

#[test]
fn ip_pmtudisc_dont_sends_tcp_segments_without_df() {
    let mut h = OneHost::tun(Sysctls::default());
    let c = connecting(&mut h, &[SockOpt::MtuDiscover(crate::sock::PmtuDisc::Dont)]);
    let out = h.read_tun();
    let (ip, _, _) = parse(&out[0].1);
    assert!(
        !ip.dont_frag,
        "ip_dont_fragment is false for IP_PMTUDISC_DONT"
    );
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::MtuDiscover)),
        Ok(SockOptValue::Int(0))
    );
}

#[test]
fn a_child_inherits_the_listeners_options_and_a_locked_rcvbuf_sets_its_window_scale() {
    let mut h = OneHost::new(Sysctls::default());
    let l = listening(
        &mut h,
        &[
            SockOpt::RcvBuf(10_000),
            SockOpt::NoDelay(true),
            SockOpt::Tos(0x10),
        ],
    );
    h.inject_ip(&seg(
        1000,
        0,
        TcpFlags::SYN,
        32_792,
        &[
            TcpOption::MaxSegmentSize(1000),
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ],
        &[],
    ));
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    let (ip, synack, _) = parse(&out[0].1);
    // tcp_openreq_init_rwin: a locked receive buffer clamps the window, and the scale is
    // chosen for that clamp (20000 bytes of buffer, 10000 of window: no scaling).
    assert_eq!(synack.options.window_scale(), Some(0));
    assert_eq!(ip.dscp_ecn, 0x10, "the listener's IP_TOS");
    h.inject_ip(&seg(
        1001,
        synack.seq.wrapping_add(1),
        TcpFlags::ACK,
        257,
        &[],
        &[],
    ));
    let (c, _) = h
        .with(|n, _| syscall::accept(n, l, false))
        .expect("accepted");
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::RcvBuf)),
        Ok(SockOptValue::Int(20_000))
    );
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::NoDelay)),
        Ok(SockOptValue::Int(1))
    );
}

#[test]
fn sendto_on_a_connected_tcp_socket_ignores_the_address() {
    // tcp_sendmsg never reads msg_name (outside Fast Open): the data goes to the peer.
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    let elsewhere = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 9), 9);
    let sent =
        h.with(|n, cx| syscall::sendto(n, cx, c, &[0u8; 100], Some(elsewhere), MsgFlags::NONE));
    assert_eq!(sent, Ok(100));
}

/// The raw option bytes of the SYN-ACK answering a SYN with `options`.
fn synack_options(options: &[TcpOption<'_>]) -> Vec<u8> {
    let mut h = OneHost::new(Sysctls::default());
    listening(&mut h, &[]);
    h.inject_ip(&seg(1000, 0, TcpFlags::SYN, 32_792, options, &[]));
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    let p = &out[0].1;
    let tp = TcpPacket::new_checked(&p[20..]).expect("TCP");
    p[40..20 + usize::from(tp.header_len())].to_vec()
}

#[test]
fn syn_ack_options_are_laid_out_as_tcp_options_write_lays_them() {
    // SACK without timestamps: NOP NOP SACK_PERM, with or without a window scale after.
    assert_eq!(
        synack_options(&[TcpOption::MaxSegmentSize(1000), TcpOption::SackPermitted]),
        [2, 4, 0x05, 0xb4, 1, 1, 4, 2]
    );
    // Timestamps without SACK: NOP NOP TS.
    let o = synack_options(&[
        TcpOption::MaxSegmentSize(1000),
        TcpOption::Timestamp {
            tsval: 100,
            tsecr: 0,
        },
    ]);
    assert_eq!(o[..8], [2, 4, 0x05, 0xb4, 1, 1, 8, 10]);
    assert_eq!(o.len(), 16);
}

#[test]
fn last_data_recv_counts_from_the_handshake_until_data_comes() {
    // tcp_finish_connect (and tcp_create_openreq_child) start lrcvtime at the handshake.
    let mut h = OneHost::tun(Sysctls::default());
    let c = connecting(&mut h, &[]);
    let syn = parse(&h.read_tun()[0].1).1;
    h.advance(SimDuration::from_millis(30));
    h.write_tun(&seg_to(
        syn.src_port,
        5000,
        syn.seq.wrapping_add(1),
        TcpFlags::SYN | TcpFlags::ACK,
        10_000,
        &[TcpOption::MaxSegmentSize(1000)],
        &[],
    ));
    h.advance(SimDuration::from_secs(1));
    let info = match h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::Info)) {
        Ok(SockOptValue::Info(i)) => i,
        other => panic!("TCP_INFO: {other:?}"),
    };
    assert_eq!(info.tcpi_last_data_recv, 1000);
}

#[test]
fn a_segment_with_an_unexpected_md5_signature_is_dropped() {
    // tcp_inbound_md5_hash: no key for the peer, yet an MD5 option: TCPMD5Unexpected.
    let mut h = OneHost::new(Sysctls::default());
    let l = listening(&mut h, &[]);
    h.inject_ip(&seg(
        1000,
        0,
        TcpFlags::SYN,
        32_792,
        &[TcpOption::MaxSegmentSize(1000)],
        &[],
    ));
    h.advance(SimDuration::from_millis(1));
    let iss = parse(&h.take_ip()[0].1).1.seq;
    let md5 = [TcpOption::Unknown {
        kind: 19,
        data: &[7; 16],
    }];
    h.inject_ip(&seg(
        1001,
        iss.wrapping_add(1),
        TcpFlags::ACK,
        514,
        &md5,
        &[],
    ));
    assert_eq!(
        h.with(|n, _| syscall::accept(n, l, true)).map(|_| ()),
        Err(Errno::Again),
        "the signed ACK does not complete the handshake"
    );
    h.inject_ip(&seg(
        1001,
        iss.wrapping_add(1),
        TcpFlags::ACK,
        514,
        &[],
        &[],
    ));
    assert!(h.with(|n, _| syscall::accept(n, l, true)).is_ok());
}

#[test]
fn tcp_inq_reports_what_is_left_to_read_and_the_fin() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    assert_eq!(
        h.with(|n, _| syscall::tcp_inq(n, c)),
        None,
        "TCP_INQ is off"
    );
    h.with(|n, cx| syscall::setsockopt(n, cx, c, SockOpt::Inq(true)))
        .expect("TCP_INQ");
    let ack = iss.wrapping_add(1);
    h.inject_ip(&seg(
        1001,
        ack,
        TcpFlags::ACK | TcpFlags::PSH,
        1000,
        &[],
        &[0; 1000],
    ));
    let mut buf = [0u8; 400];
    h.with(|n, cx| syscall::recv(n, cx, c, Some(&mut buf), 400, MsgFlags::NONE))
        .expect("read");
    assert_eq!(h.with(|n, _| syscall::tcp_inq(n, c)), Some(600));
    h.inject_ip(&seg(
        2001,
        ack,
        TcpFlags::ACK | TcpFlags::FIN,
        1000,
        &[],
        &[],
    ));
    let mut buf = [0u8; 600];
    h.with(|n, cx| syscall::recv(n, cx, c, Some(&mut buf), 600, MsgFlags::NONE))
        .expect("read");
    assert_eq!(
        h.with(|n, _| syscall::tcp_inq(n, c)),
        Some(1),
        "the FIN: read on, to the end of the stream"
    );
    assert_eq!(
        h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::Inq)),
        Ok(SockOptValue::Int(1))
    );
}

#[test]
fn ip_freebind_lets_a_socket_bind_an_address_the_host_lacks() {
    let mut h = OneHost::new(Sysctls::default());
    let elsewhere = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 9), PORT);
    let r = h.with(|n, cx| {
        let a = syscall::socket(n, cx, SockType::Stream, 0, None)?;
        let refused = syscall::bind(n, cx, a, elsewhere);
        let b = syscall::socket(n, cx, SockType::Stream, 0, None)?;
        syscall::setsockopt(n, cx, b, SockOpt::FreeBind(true))?;
        Ok::<_, Errno>((refused, syscall::bind(n, cx, b, elsewhere)))
    });
    assert_eq!(r, Ok((Err(Errno::AddrNotAvail), Ok(()))));
}

#[test]
fn a_closed_window_is_probed_with_backoff_until_it_opens() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    assert_eq!(
        h.with(|n, cx| syscall::send(n, cx, c, &[7u8; 1000], MsgFlags::NONE)),
        Ok(1000)
    );
    h.advance(SimDuration::from_millis(1));
    h.take_ip();
    // The peer takes it all and closes its window.
    let una = iss.wrapping_add(1001);
    h.inject_ip(&seg(1001, una, TcpFlags::ACK, 0, &[], &[]));
    let t0 = h.with(|_, cx| cx.now);
    assert_eq!(
        h.with(|n, cx| syscall::send(n, cx, c, &[7u8; 5000], MsgFlags::NONE)),
        Ok(5000)
    );
    h.advance(SimDuration::from_secs(2));
    let out = h.take_ip();
    // tcp_probe0_base (the RTO: 200 ms, the RTT and the timer wheel's rounding) doubled after
    // each probe: bare ACKs one below snd_una, the gaps doubling.
    let probes: Vec<(u64, TcpRepr, usize)> = out
        .iter()
        .map(|(at, p)| {
            let (_, t, l) = parse(p);
            (at.saturating_since(t0).as_nanos() / 1_000_000, t, l)
        })
        .collect();
    assert_eq!(probes.len(), 3, "{probes:?}");
    let base = probes[0].0;
    assert!((200..240).contains(&base), "first probe at {base} ms");
    for (i, (ms, t, len)) in probes.iter().enumerate() {
        assert_eq!(
            (t.seq, t.flags, *len),
            (una.wrapping_sub(1), TcpFlags::ACK, 0)
        );
        if i > 0 {
            // The wheel rounds a longer timeout up to a coarser grain (32 ms from 64
            // jiffies on).
            let gap = ms - probes[i - 1].0;
            let want = base << i;
            assert!(
                (want - 8..want + 40).contains(&gap),
                "probe {i} {gap} ms after the last, not {want}"
            );
        }
    }
    let info = tcp_info(&mut h, c);
    assert_eq!((info.tcpi_probes, info.tcpi_backoff), (3, 3));
    assert_eq!(h.with(|n, _| n.snmp.tcp_ext.TCPWinProbe), 3);
    // The window opens: the data goes, and the probing is over.
    h.inject_ip(&seg(1001, una, TcpFlags::ACK, 1000, &[], &[]));
    h.advance(SimDuration::from_millis(1));
    let sent: usize = h.take_ip().iter().map(|(_, p)| parse(p).2).sum();
    assert_eq!(sent, 5000);
    let info = tcp_info(&mut h, c);
    assert_eq!((info.tcpi_probes, info.tcpi_backoff), (0, 0));
}

pub(super) fn tcp_info(h: &mut OneHost, fd: u32) -> crate::tcp::info::TcpInfo {
    match h.with(|n, cx| syscall::getsockopt(n, cx, fd, SockOptName::Info)) {
        Ok(SockOptValue::Info(i)) => *i,
        other => panic!("TCP_INFO: {other:?}"),
    }
}

#[test]
fn each_write_asks_for_timestamps_on_its_last_byte_and_finds_them_on_the_error_queue() {
    use crate::sock::errqueue::*;
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let flags = SOF_TIMESTAMPING_TX_SCHED
        | SOF_TIMESTAMPING_TX_SOFTWARE
        | SOF_TIMESTAMPING_TX_ACK
        | SOF_TIMESTAMPING_SOFTWARE
        | SOF_TIMESTAMPING_OPT_ID;
    let set = SockOpt::Timestamping(flags);
    h.with(|n, cx| syscall::setsockopt(n, cx, c, set)).unwrap();
    let got = h.with(|n, cx| syscall::getsockopt(n, cx, c, SockOptName::Timestamping));
    assert_eq!(got, Ok(SockOptValue::Int(i64::from(flags))));
    assert_eq!(
        h.with(|n, cx| syscall::send(n, cx, c, &[7u8; 3000], MsgFlags::NONE)),
        Ok(3000)
    );
    assert_eq!(
        h.with(|n, cx| syscall::send(n, cx, c, &[7u8; 1000], MsgFlags::NONE)),
        Ok(1000)
    );
    h.advance(SimDuration::from_millis(1));
    assert_eq!(
        h.take_ip().len(),
        3,
        "1448 + 1448 + 104; Nagle holds the 1000 back"
    );
    assert!(
        syscall::poll(&mut h.n, c)
            .unwrap()
            .contains(PollEvents::ERR)
    );
    // The peer acknowledges the first write, then the second, a millisecond apart.
    for ack in [3001, 4001] {
        h.advance(SimDuration::from_millis(1));
        h.inject_ip(&seg(
            1001,
            iss.wrapping_add(ack),
            TcpFlags::ACK,
            1000,
            &[],
            &[],
        ));
    }
    let mut stamps = Vec::new();
    loop {
        let mut buf = [0u8; 64];
        match h.with(|n, cx| syscall::recv_error(n, cx, c, Some(&mut buf), 64)) {
            Ok(m) => stamps.push((
                m.ee.ee_info,
                m.ee.ee_data,
                m.tstamp.unwrap().as_nanos(),
                m.len,
            )),
            Err(e) => {
                assert_eq!(e, Errno::Again);
                break;
            }
        }
    }
    // Keys count from snd_una when OPT_ID was set; SCHED and SND come as each packet goes
    // (the second write's when the first ACK lets Nagle send it), ACK as the peer
    // acknowledges the byte.
    let ms = 1_000_000;
    assert_eq!(
        stamps,
        [
            (1, 2999, ms, 64),
            (0, 2999, ms, 64),
            (2, 2999, 3 * ms, 64),
            (1, 3999, 3 * ms, 64),
            (0, 3999, 3 * ms, 64),
            (2, 3999, 4 * ms, 64),
        ]
    );
    assert!(
        !syscall::poll(&mut h.n, c)
            .unwrap()
            .contains(PollEvents::ERR)
    );
    assert_eq!(
        h.n.socks.tcp(c).unwrap().rmem_alloc,
        0,
        "the queue's charge is given back"
    );
}

#[test]
fn a_write_cut_short_asks_on_its_last_byte_after_sending_what_it_could() {
    use crate::sock::errqueue::*;
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let flags = SOF_TIMESTAMPING_TX_SCHED
        | SOF_TIMESTAMPING_TX_SOFTWARE
        | SOF_TIMESTAMPING_TX_ACK
        | SOF_TIMESTAMPING_SOFTWARE
        | SOF_TIMESTAMPING_OPT_ID
        | SOF_TIMESTAMPING_OPT_TSONLY;
    h.with(|n, cx| {
        syscall::setsockopt(n, cx, c, SockOpt::SndBuf(1000))?;
        syscall::setsockopt(n, cx, c, SockOpt::Timestamping(flags))
    })
    .unwrap();
    // Three segments fit the 4608-byte buffer; they all go at once (wait_for_space's push),
    // and only then does the write ask for stamps on its last byte: the packet carrying it
    // has left, so only the ACK stamp comes (tcp_tx_timestamp on the retransmit queue).
    let sent = h.with(|n, cx| syscall::send(n, cx, c, &[0u8; 10_000], MsgFlags::NONE));
    assert_eq!(sent, Ok(3 * 1448));
    h.advance(SimDuration::from_millis(1));
    assert_eq!(h.take_ip().len(), 3);
    let e = h.with(|n, cx| syscall::recv_error(n, cx, c, None, 0));
    assert_eq!(e, Err(Errno::Again));
    h.inject_ip(&seg(
        1001,
        iss.wrapping_add(1 + 3 * 1448),
        TcpFlags::ACK,
        1000,
        &[],
        &[],
    ));
    let m = h
        .with(|n, cx| syscall::recv_error(n, cx, c, None, 0))
        .unwrap();
    assert_eq!((m.ee.ee_info, m.ee.ee_data, m.len), (2, 3 * 1448 - 1, 0));
    assert_eq!(m.tstamp, Some(SimTime::from_nanos(2_000_000)));
}

#[test]
fn a_retransmission_is_stamped_again() {
    use crate::sock::errqueue::*;
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    let flags = SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID;
    let set = SockOpt::Timestamping(flags);
    h.with(|n, cx| syscall::setsockopt(n, cx, c, set)).unwrap();
    assert_eq!(
        h.with(|n, cx| syscall::send(n, cx, c, &[1u8; 100], MsgFlags::NONE)),
        Ok(100)
    );
    // No ACK: the retransmission timer sends the segment again.
    h.advance(SimDuration::from_secs(2));
    assert!(h.take_ip().len() >= 2, "sent, then retransmitted");
    let mut keys = Vec::new();
    while let Ok(m) = h.with(|n, cx| syscall::recv_error(n, cx, c, None, 0)) {
        keys.push((m.ee.ee_info, m.ee.ee_data));
    }
    assert!(keys.len() >= 2, "{keys:?}");
    assert!(keys.iter().all(|k| *k == (1, 99)), "{keys:?}");
}

#[test]
fn a_gro_packet_teaches_its_segment_size_not_its_length() {
    let data = vec![0u8; 4000];
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let s = seg(
        1001,
        iss.wrapping_add(1),
        TcpFlags::ACK | TcpFlags::PSH,
        1000,
        &[],
        &data,
    );
    h.inject_ip_gro(&s, 1000);
    assert_eq!(tcp_info(&mut h, c).tcpi_rcv_mss, 1000, "gso_size");
    // The same bytes taken for one segment: its length, capped at advmss.
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.inject_ip(&s);
    assert_eq!(tcp_info(&mut h, c).tcpi_rcv_mss, 1460);
}

#[test]
fn a_segment_whose_data_ends_beyond_the_window_is_dropped_while_data_waits_unread() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let ack = iss.wrapping_add(1);
    h.inject_ip(&seg(1001, ack, TcpFlags::ACK, 1000, &[], &[1u8; 1000]));
    h.advance(SimDuration::from_millis(50));
    let _ = h.take_ip();
    let end = h.with(|n, _| {
        let t = n.socks.tcp(c).expect("the socket");
        t.rwin.rcv_wup.wrapping_add(t.rwin.rcv_wnd)
    });
    // From rcv_nxt to one byte past the window: dropped, rcv_nxt acknowledged again.
    let len = end.wrapping_sub(2001) as usize + 1;
    assert!(len < 65_400, "{len}");
    let beyond = seg(2001, ack, TcpFlags::ACK, 1000, &[], &vec![2u8; len]);
    h.inject_ip_gro(&beyond, 1000);
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    assert_eq!(out.len(), 1, "a duplicate ACK");
    assert_eq!(parse(&out[0].1).1.ack, 2001);
    assert_eq!(h.n.snmp.tcp_ext.BeyondWindow, 1);
    // Its FIN does not count: data up to the window's end with a FIN is taken.
    let upto = seg(
        2001,
        ack,
        TcpFlags::ACK | TcpFlags::FIN,
        1000,
        &[],
        &vec![3u8; len - 1],
    );
    h.inject_ip_gro(&upto, 1000);
    assert_eq!(h.n.snmp.tcp_ext.BeyondWindow, 1);
    assert_eq!(
        h.with(|n, _| syscall::ioctl(n, c, Ioctl::InQ)),
        Ok(1000 + len as u32 - 1)
    );
}

#[test]
fn a_segment_whose_data_ends_beyond_the_window_is_taken_into_an_empty_queue() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let ack = iss.wrapping_add(1);
    let end = h.with(|n, _| {
        let t = n.socks.tcp(c).expect("the socket");
        t.rwin.rcv_wup.wrapping_add(t.rwin.rcv_wnd)
    });
    let len = end.wrapping_sub(1001) as usize + 1;
    assert!(len < 65_400, "{len}");
    h.inject_ip_gro(
        &seg(1001, ack, TcpFlags::ACK, 1000, &[], &vec![1u8; len]),
        1000,
    );
    assert_eq!(h.n.snmp.tcp_ext.BeyondWindow, 0);
    assert_eq!(
        h.with(|n, _| syscall::ioctl(n, c, Ioctl::InQ)),
        Ok(len as u32)
    );
}

#[test]
fn out_of_order_data_grows_the_receive_buffer_of_an_accepted_socket() {
    let mut h = OneHost::new(Sysctls::default());
    let (c, iss) = accepted(&mut h);
    let before = h.with(|n, _| n.socks.tcp(c).expect("the socket").sk.rcvbuf);
    // A hole at 1001..3001, then 60000 bytes: tcp_rcvbuf_grow provisions for twice
    // rcvq_space plus what the out-of-order queue spans.
    let s = seg(
        3001,
        iss.wrapping_add(1),
        TcpFlags::ACK,
        1000,
        &[],
        &vec![0u8; 60_000],
    );
    h.inject_ip_gro(&s, 1000);
    let (rcvbuf, space, ratio) = h.with(|n, _| {
        let t = n.socks.tcp(c).expect("the socket");
        (t.sk.rcvbuf, t.rwin.rcvq_space, t.rwin.scaling_ratio)
    });
    let want = super::rcv_window::space_from_win(ratio, 2 * space + 62_000);
    assert!(want > before, "{want} > {before}");
    assert_eq!(rcvbuf, want);
}

/// The SACK blocks of the one segment the socket sent since the last look.
fn sent_sack_blocks(h: &mut OneHost) -> Vec<(u32, u32)> {
    h.advance(SimDuration::from_millis(1));
    let out = h.take_ip();
    assert_eq!(out.len(), 1, "one segment");
    let (_, tcp, _) = parse(&out[0].1);
    tcp.options
        .sack()
        .map_or_else(Vec::new, |b| b.as_slice().to_vec())
}

#[test]
fn a_duplicate_is_dsacked_once_first_in_the_sack_option() {
    let mut h = OneHost::new(Sysctls::default());
    let (_, iss) = accepted(&mut h);
    let ack = iss.wrapping_add(1);
    h.inject_ip(&seg(1001, ack, TcpFlags::ACK, 1000, &[], &[1u8; 1000]));
    h.advance(SimDuration::from_millis(50));
    let _ = h.take_ip();
    // The whole segment again: a D-SACK for it, at once (tcp_data_queue's out_of_window).
    h.inject_ip(&seg(1001, ack, TcpFlags::ACK, 1000, &[], &[1u8; 1000]));
    assert_eq!(sent_sack_blocks(&mut h), [(1001, 2001)]);
    assert_eq!(h.n.snmp.tcp_ext.TCPDSACKOldSent, 1);
    // Out of order: the SACK block alone (the D-SACK went once).
    h.inject_ip(&seg(3001, ack, TcpFlags::ACK, 1000, &[], &[3u8; 1000]));
    assert_eq!(sent_sack_blocks(&mut h), [(3001, 4001)]);
    // Out-of-order data covering the queued chunk from the same start replaces it: the
    // chunk is D-SACKed (tcp_dsack_extend), first, then the SACK block.
    h.inject_ip(&seg(3001, ack, TcpFlags::ACK, 1000, &[], &[3u8; 1500]));
    assert_eq!(sent_sack_blocks(&mut h), [(3001, 4001), (3001, 4501)]);
    assert_eq!(h.n.snmp.tcp_ext.TCPDSACKOfoSent, 1);
    // A partial duplicate of in-order data: its head below rcv_nxt.
    h.inject_ip(&seg(1501, ack, TcpFlags::ACK, 1000, &[], &[1u8; 1000]));
    assert_eq!(sent_sack_blocks(&mut h), [(1501, 2001), (3001, 4501)]);
    assert_eq!(h.n.snmp.tcp_ext.TCPDSACKOldSent, 2);
}

#[test]
fn tcp_dsack_0_sends_no_dsack() {
    let mut h = OneHost::new(Sysctls {
        tcp_dsack: false,
        ..Sysctls::default()
    });
    let (_, iss) = accepted(&mut h);
    let ack = iss.wrapping_add(1);
    h.inject_ip(&seg(1001, ack, TcpFlags::ACK, 1000, &[], &[1u8; 1000]));
    h.advance(SimDuration::from_millis(50));
    let _ = h.take_ip();
    h.inject_ip(&seg(1001, ack, TcpFlags::ACK, 1000, &[], &[1u8; 1000]));
    assert_eq!(sent_sack_blocks(&mut h), []);
    assert_eq!(h.n.snmp.tcp_ext.TCPDSACKOldSent, 0);
}

#[test]
fn undo_restores_cwnd_and_ssthresh_only_with_prior_ssthresh() {
    use super::undo;
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, _| {
        let t = n.socks.tcp(c).expect("the socket");
        t.cwnd = 20;
        t.ssthresh = u32::MAX >> 1;
        // tcp_enter_recovery from Open: prior_ssthresh is at least 3/4 of cwnd.
        super::recovery::tcp_enter_recovery(t, false, &mut n.snmp.tcp_ext);
        assert_eq!(t.recovery.undo_marker, Some(t.snd_una));
        assert_eq!(t.recovery.undo_retrans, -1, "nothing retransmitted yet");
        assert_eq!(t.recovery.prior_ssthresh, u32::MAX >> 1);
        assert_eq!((t.recovery.prior_cwnd, t.ssthresh), (20, 14));
        t.cwnd = 9;
        assert!(!undo::tcp_try_undo_dsack(t, &mut n.snmp.tcp_ext));
        t.recovery.undo_retrans = 0;
        assert!(undo::tcp_try_undo_dsack(t, &mut n.snmp.tcp_ext));
        assert_eq!((t.cwnd, t.ssthresh), (20, u32::MAX >> 1));
        assert_eq!(t.recovery.undo_marker, None);
        assert_eq!(n.snmp.tcp_ext.TCPDSACKUndo, 1);
        // With ECE (prior_ssthresh 0) the reduction stands; only the marker goes.
        t.recovery.ca_state = super::CaState::Open;
        super::recovery::tcp_enter_recovery(t, true, &mut n.snmp.tcp_ext);
        assert_eq!(t.recovery.prior_ssthresh, 0);
        let (cwnd, ssthresh) = (t.cwnd, t.ssthresh);
        t.recovery.undo_retrans = 0;
        assert!(undo::tcp_try_undo_dsack(t, &mut n.snmp.tcp_ext));
        assert_eq!((t.cwnd, t.ssthresh), (cwnd, ssthresh));
    });
}

#[test]
fn eifel_compares_the_echo_with_the_first_retransmission() {
    use super::undo::tcp_packet_delayed;
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, _| {
        let t = n.socks.tcp(c).expect("the socket");
        // No retransmission yet, with SACK: a delayed packet.
        t.recovery.retrans_stamp = None;
        assert!(tcp_packet_delayed(t, None));
        t.recovery.retrans_stamp = Some(SimTime::from_nanos(500_000_000));
        assert!(tcp_packet_delayed(t, Some(499)), "echo older than 500 ms");
        assert!(!tcp_packet_delayed(t, Some(500)));
        assert!(!tcp_packet_delayed(t, Some(0)), "0 echoes nothing");
        assert!(!tcp_packet_delayed(t, None), "no timestamp");
    });
}

#[test]
fn check_dsack_tells_old_ofo_and_dubious_blocks_apart() {
    use super::dsack::tcp_check_dsack;
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, _| {
        let ext = &mut n.snmp.tcp_ext;
        let t = n.socks.tcp(c).expect("the socket");
        t.stats.retrans = 2;
        t.max_window = 65_535;
        t.mss_cache = 1000;
        // Below the ACK: TCPDSACKRecv; two segments reported.
        let f = tcp_check_dsack(t, &[(1000, 3000)], 5000, 5000, ext);
        assert!(f.dup);
        assert_eq!(f.dup_segs, 2);
        assert_eq!((ext.TCPDSACKRecv, ext.TCPDSACKRecvSegs), (1, 2));
        // Above it, inside the second block: TCPDSACKOfoRecv, but more duplicates than
        // retransmissions now: dubious.
        let f = tcp_check_dsack(t, &[(6000, 7000), (6000, 8000)], 5000, 5000, ext);
        assert!(!f.dup);
        assert_eq!((ext.TCPDSACKOfoRecv, ext.TCPDSACKIgnoredDubious), (1, 1));
        assert_eq!(t.dsack_dups, 3);
        // A plain SACK block is no D-SACK.
        assert!(!tcp_check_dsack(t, &[(6000, 7000)], 5000, 5000, ext).dup);
    });
}

#[test]
fn dsacks_widen_rack_reordering_window_for_sixteen_recoveries() {
    use super::recovery::tcp_rack_update_reo_wnd;
    let mut h = OneHost::new(Sysctls::default());
    let (c, _) = accepted(&mut h);
    h.with(|n, _| {
        let ext = &mut n.snmp.tcp_ext;
        let t = n.socks.tcp(c).expect("the socket");
        t.stats.retrans = 4;
        t.max_window = 65_535;
        t.mss_cache = 1000;
        assert_eq!(t.recovery.reo_wnd_steps, 1);
        // Without reordering seen a D-SACK does not count for RACK.
        super::dsack::tcp_check_dsack(t, &[(1000, 2000)], 5000, 5000, ext);
        assert!(!t.recovery.rack_dsack_seen);
        t.reord_seen = 1;
        super::dsack::tcp_check_dsack(t, &[(1000, 2000)], 5000, 5000, ext);
        assert!(t.recovery.rack_dsack_seen);
        // No delivery: nothing to judge by.
        tcp_rack_update_reo_wnd(t, 0, 30);
        assert_eq!(t.recovery.reo_wnd_steps, 1);
        tcp_rack_update_reo_wnd(t, 10, 30);
        assert_eq!(t.recovery.reo_wnd_steps, 2);
        assert_eq!(
            (t.recovery.reo_wnd_persist, t.recovery.rack_last_delivered),
            (16, 30)
        );
        // A D-SACK for data sent before the last widening is disregarded.
        t.recovery.rack_dsack_seen = true;
        tcp_rack_update_reo_wnd(t, 29, 40);
        assert_eq!(t.recovery.reo_wnd_steps, 2);
        assert!(!t.recovery.rack_dsack_seen);
        // Once the recoveries it persists for are spent, one step again.
        t.recovery.reo_wnd_persist = 0;
        tcp_rack_update_reo_wnd(t, 35, 41);
        assert_eq!(t.recovery.reo_wnd_steps, 1);
    });
}
