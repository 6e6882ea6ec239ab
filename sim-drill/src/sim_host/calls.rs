//! The system calls of a script, made on the simulated host: each maps onto
//! `sim_stack::sock::syscall` with Linux's argument checks, errno values and blocking
//! semantics; what the stack cannot carry is unsupported, with the reason.

use core::net::SocketAddr;

use sim_core::SimDuration;
use sim_stack::sock::syscall::{
    self as sc, Ioctl, PollEvents, Shutdown, SockOpt, SockOptName, SockOptValue, SockType,
};
use sim_stack::sock::{Errno, MsgFlags, SockId, Socket};
use sim_stack::tcp::TcpState;

use super::{FdObj, PROCESS, SimHost};
use crate::code::InfoVars;
use crate::host::{
    Buffer, CallId, Cmsg, CmsgData, ExtendedErr, Fd, OptVal, Output, PollFd, SockAddr, Syscall,
    SyscallReturn, Timespec,
};
use crate::symbols::{self, CODE_VARIABLES};

/// How a call went this time.
#[derive(Debug)]
pub(super) enum Exec {
    /// It returned.
    Done(SyscallReturn),
    /// It blocks until one of `socks` wakes; a write has copied `done` bytes so far.
    Block { socks: Vec<SockId>, done: usize },
    /// The stack cannot carry it.
    Unsupported(String),
}

/// Linux's value of a symbol the host names (`symbols.rs` holds them all).
fn sym(name: &str) -> i64 {
    symbols::lookup(name).unwrap_or_else(|| panic!("{name} is in symbols.rs"))
}

fn sym32(name: &str) -> i32 {
    sym(name) as i32
}

fn err(e: Errno) -> Exec {
    Exec::Done(SyscallReturn::err(e.number()))
}

fn errno(name: &str) -> Exec {
    Exec::Done(SyscallReturn::err(sym32(name)))
}

fn ok(v: i64) -> Exec {
    Exec::Done(SyscallReturn::ok(v))
}

fn done_with(ret: i64, out: Output) -> Exec {
    Exec::Done(SyscallReturn { ret, errno: 0, out })
}

fn unsupported(why: impl Into<String>) -> Exec {
    Exec::Unsupported(why.into())
}

/// The name of a `(level, option)` pair, as the headers spell it (`SO_TIMESTAMPING`), or
/// the numbers.
fn opt_name(level: i32, name: i32) -> String {
    let (level_name, prefix) = match level {
        1 => ("SOL_SOCKET", "SO_"),
        0 => ("SOL_IP", "IP_"),
        6 => ("SOL_TCP", "TCP_"),
        17 => ("SOL_UDP", "UDP_"),
        _ => return format!("level {level} option {name}"),
    };
    OPTION_NAMES
        .iter()
        .find(|n| n.starts_with(prefix) && symbols::lookup(n) == Some(i64::from(name)))
        .map_or_else(
            || format!("{level_name} option {name}"),
            |n| (*n).to_string(),
        )
}

/// Option names, for [`opt_name`] (the ones a message may need to name).
const OPTION_NAMES: &[&str] = &[
    "SO_REUSEADDR",
    "SO_TYPE",
    "SO_ERROR",
    "SO_SNDBUF",
    "SO_RCVBUF",
    "SO_KEEPALIVE",
    "SO_OOBINLINE",
    "SO_PRIORITY",
    "SO_LINGER",
    "SO_REUSEPORT",
    "SO_RCVLOWAT",
    "SO_SNDLOWAT",
    "SO_RCVTIMEO",
    "SO_SNDTIMEO",
    "SO_BINDTODEVICE",
    "SO_TIMESTAMP",
    "SO_TIMESTAMPING",
    "SO_MEMINFO",
    "SO_ZEROCOPY",
    "SO_MAX_PACING_RATE",
    "SO_INCOMING_CPU",
    "SO_TXTIME",
    "IP_TOS",
    "IP_TTL",
    "IP_RECVERR",
    "IP_MTU_DISCOVER",
    "IP_FREEBIND",
    "IP_TRANSPARENT",
    "IP_BIND_ADDRESS_NO_PORT",
    "TCP_NODELAY",
    "TCP_MAXSEG",
    "TCP_CORK",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_KEEPCNT",
    "TCP_SYNCNT",
    "TCP_LINGER2",
    "TCP_DEFER_ACCEPT",
    "TCP_WINDOW_CLAMP",
    "TCP_INFO",
    "TCP_QUICKACK",
    "TCP_CONGESTION",
    "TCP_MD5SIG",
    "TCP_THIN_LINEAR_TIMEOUTS",
    "TCP_THIN_DUPACK",
    "TCP_USER_TIMEOUT",
    "TCP_REPAIR",
    "TCP_FASTOPEN",
    "TCP_TIMESTAMP",
    "TCP_NOTSENT_LOWAT",
    "TCP_CC_INFO",
    "TCP_SAVE_SYN",
    "TCP_SAVED_SYN",
    "TCP_FASTOPEN_CONNECT",
    "TCP_ULP",
    "TCP_MD5SIG_EXT",
    "TCP_FASTOPEN_KEY",
    "TCP_FASTOPEN_NO_COOKIE",
    "TCP_ZEROCOPY_RECEIVE",
    "TCP_INQ",
    "TCP_TX_DELAY",
];

/// `sym(name)` when `name` is a symbol the host knows; for `matches!`-free comparisons.
fn is(v: i32, name: &str) -> bool {
    i64::from(v) == sym(name)
}

/// Makes `call`; `done` is what a parked write copied before, `retry` whether the call was
/// parked (a `connect` is not made twice: its retry looks at how the handshake went).
pub(super) fn exec(h: &mut SimHost, call: &Syscall, done: usize, retry: bool) -> Exec {
    match call {
        Syscall::Socket {
            domain,
            ty,
            protocol,
        } => socket(h, *domain, *ty, *protocol),
        Syscall::Bind { fd, addr } => on_sock(h, *fd, |h, s| {
            let a = sockaddr(*addr);
            result(h.with(|n, cx| sc::bind(n, cx, s, a)))
        }),
        Syscall::Listen { fd, backlog } => on_sock(h, *fd, |h, s| {
            // __sys_listen: a backlog above net.core.somaxconn (4096) is cut to it.
            let backlog = (*backlog as u32).min(4096);
            result(h.with(|n, cx| sc::listen(n, cx, s, backlog)))
        }),
        Syscall::Accept { fd } => on_sock(h, *fd, accept),
        Syscall::Connect { fd, addr } => on_sock(h, *fd, |h, s| connect(h, s, *addr, retry)),
        Syscall::Read { fd, buf } if is_pipe(h, *fd) => pipe_read(h, *fd, buf.len),
        Syscall::Read { fd, buf } => on_sock(h, *fd, |h, s| recv(h, s, &[*buf], 0, None)),
        Syscall::Readv { fd, iov } => on_sock(h, *fd, |h, s| recv(h, s, iov, 0, None)),
        Syscall::Recv { fd, buf, flags } | Syscall::Recvfrom { fd, buf, flags } => {
            on_sock(h, *fd, |h, s| recv(h, s, &[*buf], *flags, None))
        }
        Syscall::Recvmsg {
            fd,
            iov,
            flags,
            controllen,
        } => on_sock(h, *fd, |h, s| recv(h, s, iov, *flags, Some(*controllen))),
        Syscall::Write { fd, buf } if is_pipe(h, *fd) => pipe_write(h, *fd, buf.len),
        Syscall::Write { fd, buf } => on_sock(h, *fd, |h, s| send(h, s, &[*buf], 0, None, done)),
        Syscall::Writev { fd, iov } => on_sock(h, *fd, |h, s| send(h, s, iov, 0, None, done)),
        Syscall::Send { fd, buf, flags } => {
            on_sock(h, *fd, |h, s| send(h, s, &[*buf], *flags, None, done))
        }
        Syscall::Sendto {
            fd,
            buf,
            flags,
            addr,
        } => on_sock(h, *fd, |h, s| send(h, s, &[*buf], *flags, *addr, done)),
        Syscall::Sendmsg {
            fd,
            iov,
            flags,
            addr,
            control,
        } => {
            if let Some(c) = control.first() {
                return unsupported(format!(
                    "sendmsg with a control message (level {}, type {}): none is modeled",
                    c.level, c.ty
                ));
            }
            on_sock(h, *fd, |h, s| send(h, s, iov, *flags, *addr, done))
        }
        Syscall::Sendfile {
            out_fd,
            in_fd,
            offset,
            count,
        } => sendfile(h, *out_fd, *in_fd, *offset, *count, done),
        Syscall::Splice {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => splice(h, (*fd_in, *off_in), (*fd_out, *off_out), *len, *flags),
        Syscall::Pipe => {
            let id = h.pipes.keys().next_back().map_or(0, |k| k + 1);
            h.pipes.insert(id, super::pipe::Pipe::new());
            let end = |write| FdObj::Pipe {
                id,
                write,
                nonblock: false,
            };
            let r = h.new_fd(end(false));
            let w = h.new_fd(end(true));
            done_with(0, Output::Pipe([r, w]))
        }
        Syscall::Setsockopt {
            fd,
            level,
            name,
            value,
            optlen,
        } => on_sock(h, *fd, |h, s| {
            setsockopt(h, s, *level, *name, value, *optlen)
        }),
        Syscall::Getsockopt {
            fd,
            level,
            name,
            optlen,
        } => on_sock(h, *fd, |h, s| getsockopt(h, s, *level, *name, *optlen)),
        Syscall::Fcntl { fd, cmd, arg } => fcntl(h, *fd, *cmd, *arg),
        Syscall::Ioctl { fd, request, arg } => on_sock(h, *fd, |h, s| ioctl(h, s, *request, *arg)),
        Syscall::Close { fd } => close(h, *fd),
        Syscall::Shutdown { fd, how } => on_sock(h, *fd, |h, s| {
            let how = match how {
                0 => Shutdown::Read,
                1 => Shutdown::Write,
                2 => Shutdown::Both,
                _ => return err(Errno::Inval),
            };
            result(h.with(|n, cx| sc::shutdown(n, cx, s, how)))
        }),
        Syscall::Poll { fds, timeout_ms } => poll(h, fds, *timeout_ms),
        Syscall::Open { path, flags } => open(h, path, *flags),
    }
}

fn is_pipe(h: &SimHost, fd: Fd) -> bool {
    matches!(h.fds.get(&fd), Some(FdObj::Pipe { .. }))
}

/// `pipe_read` on a read end: what is queued, up to `len`; 0 once no writer is left;
/// `EAGAIN` when non-blocking; `EBADF` on the write end.
fn pipe_read(h: &mut SimHost, fd: Fd, len: usize) -> Exec {
    let Some(&FdObj::Pipe {
        id,
        write: false,
        nonblock,
    }) = h.fds.get(&fd)
    else {
        return err(Errno::BadF);
    };
    let p = h.pipes.get_mut(&id).expect("an open pipe");
    if len == 0 {
        return ok(0);
    }
    if p.len() > 0 {
        return ok(p.read(len) as i64);
    }
    if p.writers == 0 {
        return ok(0);
    }
    if nonblock {
        return err(Errno::Again);
    }
    unsupported(
        "a blocking read of an empty pipe: it waits for a writer, and the host runs the \
         script's calls one after another",
    )
}

/// `pipe_write` on a write end: `EPIPE` without a reader (SIGPIPE is not raised), what
/// fits, `EAGAIN` when full and non-blocking; `EBADF` on the read end.
fn pipe_write(h: &mut SimHost, fd: Fd, len: usize) -> Exec {
    let Some(&FdObj::Pipe {
        id,
        write: true,
        nonblock,
    }) = h.fds.get(&fd)
    else {
        return err(Errno::BadF);
    };
    let p = h.pipes.get_mut(&id).expect("an open pipe");
    if p.readers == 0 {
        return err(Errno::Pipe);
    }
    if len == 0 {
        return ok(0);
    }
    match p.write(len) {
        0 if nonblock => err(Errno::Again),
        0 => unsupported(
            "a blocking write to a full pipe: it waits for a reader, and the host runs the \
             script's calls one after another",
        ),
        k => ok(k as i64),
    }
}

/// `splice`: from a TCP socket into a pipe (`tcp_splice_read`), one pipe buffer per
/// received skb moved. A pipe to a socket, or anything with files, is unsupported.
fn splice(
    h: &mut SimHost,
    (fd_in, off_in): (Fd, Option<i64>),
    (fd_out, off_out): (Fd, Option<i64>),
    len: usize,
    flags: i32,
) -> Exec {
    let (Some(src), Some(dst)) = (h.fds.get(&fd_in).cloned(), h.fds.get(&fd_out).cloned()) else {
        return err(Errno::BadF);
    };
    let (s, id) = match (src, dst) {
        (
            FdObj::Sock(s),
            FdObj::Pipe {
                id, write: true, ..
            },
        ) => (s, id),
        (FdObj::Pipe { write: true, .. }, _) | (_, FdObj::Pipe { write: false, .. }) => {
            return err(Errno::BadF);
        }
        (FdObj::Pipe { .. }, FdObj::Sock(_)) => {
            return unsupported("splice from a pipe into a socket is not modeled by the host");
        }
        _ => {
            return unsupported(
                "splice between these descriptors: the host splices a TCP socket into a pipe",
            );
        }
    };
    // An offset on a socket or a pipe: ESPIPE.
    if off_in.is_some() || off_out.is_some() {
        return err_raw(29);
    }
    if h.n.socks.tcp(s).is_none() {
        return unsupported("splice from a socket that is not TCP");
    }
    let nonblock = nonblocking(h, s) || flags & sym32("SPLICE_F_NONBLOCK") != 0;
    if h.pipes[&id].readers == 0 {
        return err(Errno::Pipe);
    }
    let mut spliced = 0;
    while spliced < len && h.pipes[&id].room() > 0 {
        // The bytes left in the first skb of the receive queue: one pipe buffer.
        let in_skb = h.n.socks.tcp(s).map_or(0, |t| {
            t.rcvq_skbs.front().map_or(t.rcvq.len(), |&(end, _)| {
                end.wrapping_sub(t.copied_seq) as usize
            })
        });
        let want = (len - spliced).min(in_skb.max(1));
        match h.with(|n, cx| sim_stack::tcp::tcp_read_sock(n, cx, s, want)) {
            Ok(got) if !got.is_empty() => {
                h.pipes.get_mut(&id).expect("open").push_chunk(got.len());
                spliced += got.len();
            }
            // End of stream, or an urgent mark with data queued behind it: 0 rather than
            // loop (tcp_splice_read).
            Ok(_) => break,
            // What was spliced is returned; an error waits for the next call.
            Err(_) if spliced > 0 => break,
            Err(Errno::Again) if !nonblock => {
                return Exec::Block {
                    socks: vec![s],
                    done: 0,
                };
            }
            Err(e) => return err(e),
        }
    }
    if spliced == 0 && h.pipes[&id].room() == 0 {
        if nonblock {
            return err(Errno::Again);
        }
        return unsupported(
            "splice into a full pipe: it waits for a reader, and the host runs the script's \
             calls one after another",
        );
    }
    ok(spliced as i64)
}

/// The `sockaddr_in` or `sockaddr_in6` the script's address stands for.
fn sockaddr(a: SockAddr) -> SocketAddr {
    SocketAddr::new(a.ip, a.port)
}

/// A call returning 0 or an errno.
fn result(r: Result<(), Errno>) -> Exec {
    match r {
        Ok(()) => ok(0),
        Err(e) => err(e),
    }
}

/// A call on the socket behind `fd`: `EBADF` for no descriptor, `ENOTSOCK` for a file.
fn on_sock(h: &mut SimHost, fd: Fd, f: impl FnOnce(&mut SimHost, SockId) -> Exec) -> Exec {
    match h.fds.get(&fd) {
        None => err(Errno::BadF),
        Some(FdObj::File { .. } | FdObj::Pipe { .. }) => err(Errno::NotSock),
        Some(FdObj::Sock(s)) => {
            let s = *s;
            f(h, s)
        }
    }
}

fn nonblocking(h: &SimHost, s: SockId) -> bool {
    h.n.socks.get(s).is_some_and(|k| k.common().nonblock)
}

fn socket(h: &mut SimHost, domain: i32, ty: i32, protocol: i32) -> Exec {
    let domain = if is(domain, "AF_INET6") {
        sc::Domain::Inet6
    } else if is(domain, "AF_INET") {
        sc::Domain::Inet
    } else {
        return err_raw(sym32("EAFNOSUPPORT"));
    };
    let nonblock = ty & sym32("SOCK_NONBLOCK") != 0;
    let rest = ty & !(sym32("SOCK_NONBLOCK") | sym32("SOCK_CLOEXEC"));
    let ty = match rest {
        1 => SockType::Stream,
        2 => SockType::Dgram,
        3 => return unsupported("a SOCK_RAW socket: raw sockets are not modeled"),
        _ => return err(Errno::Inval),
    };
    let Ok(protocol) = u8::try_from(protocol) else {
        return err(Errno::ProtoNoSupport);
    };
    match h.with(|n, cx| sc::socket_domain(n, cx, domain, ty, protocol, Some(PROCESS))) {
        Ok(s) => {
            if nonblock {
                let _ = sc::fcntl_set_nonblock(&mut h.n, s, true);
            }
            ok(i64::from(h.new_fd(FdObj::Sock(s))))
        }
        Err(e) => err(e),
    }
}

fn err_raw(errno: i32) -> Exec {
    Exec::Done(SyscallReturn::err(errno))
}

fn accept(h: &mut SimHost, s: SockId) -> Exec {
    match sc::accept(&mut h.n, s, false) {
        Ok((child, _)) => ok(i64::from(h.new_fd(FdObj::Sock(child)))),
        Err(Errno::Again) if !nonblocking(h, s) => Exec::Block {
            socks: vec![s],
            done: 0,
        },
        Err(e) => err(e),
    }
}

fn connect(h: &mut SimHost, s: SockId, addr: Option<SockAddr>, retry: bool) -> Exec {
    let Some(addr) = addr else {
        return unsupported("connect(AF_UNSPEC): dissolving a connection is not modeled");
    };
    if !retry {
        let a = sockaddr(addr);
        match h.with(|n, cx| sc::connect(n, cx, s, a)) {
            Ok(()) => return ok(0),
            Err(Errno::InProgress) if !nonblocking(h, s) => {}
            Err(e) => return err(e),
        }
    }
    // inet_wait_for_connect: sleep while the handshake is under way; then a socket back in
    // CLOSE reports its error.
    match h.n.socks.tcp(s).map(|t| t.state) {
        Some(TcpState::SynSent | TcpState::SynRecv) => Exec::Block {
            socks: vec![s],
            done: 0,
        },
        Some(TcpState::Closed) | None => {
            match h.with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::Error)) {
                Ok(SockOptValue::Int(e)) if e != 0 => err_raw(e as i32),
                _ => errno("ECONNABORTED"),
            }
        }
        Some(_) => ok(0),
    }
}

/// The flags of a call the stack takes: any of `refused` makes the call unsupported with
/// its reason, the `known` ones go to the stack, any other is unsupported.
fn msg_flags(flags: i32, refused: &[(&str, &str)], known: &[&str]) -> Result<u32, String> {
    if let Some((name, why)) = refused.iter().find(|(n, _)| flags & sym32(n) != 0) {
        return Err(format!("{name}: {why}"));
    }
    let known = known.iter().fold(0, |m, n| m | sym32(n));
    if flags & !known != 0 {
        return Err(format!("flags {:#x}", flags & !known));
    }
    Ok(flags as u32)
}

/// The flags of a receive.
fn recv_flags(flags: i32) -> Result<MsgFlags, String> {
    msg_flags(
        flags,
        &[],
        &[
            "MSG_OOB",
            "MSG_ERRQUEUE",
            "MSG_PEEK",
            "MSG_TRUNC",
            "MSG_DONTWAIT",
            "MSG_WAITALL",
            "MSG_NOSIGNAL",
        ],
    )
    .map(MsgFlags)
}

/// `read`, `readv`, `recv`, `recvfrom`, `recvmsg` (`msg`: report `msg_flags` and control
/// messages).
/// `msg`: a `recvmsg`, with its `msg_controllen`.
fn recv(h: &mut SimHost, s: SockId, iov: &[Buffer], flags: i32, msg: Option<usize>) -> Exec {
    let flags = match recv_flags(flags) {
        Ok(f) => f,
        Err(why) => return unsupported(why),
    };
    if flags.contains(MsgFlags::ERRQUEUE) {
        return recv_error(h, s, iov, msg);
    }
    let len: usize = iov.iter().map(|b| b.len).sum();
    let nonblock = nonblocking(h, s) || flags.contains(MsgFlags::DONTWAIT);
    if flags.contains(MsgFlags::WAITALL) && !nonblock {
        return unsupported("MSG_WAITALL on a blocking socket");
    }
    // A NULL buffer: the copy faults once there is something to copy; the data stays
    // queued (tcp_recvmsg returns -EFAULT before consuming). A length of 0 copies nothing.
    let null = iov.iter().any(|b| b.null && b.len > 0);
    let r = if null {
        let mut one = [0u8; 1];
        match h.with(|n, cx| sc::recv(n, cx, s, Some(&mut one), 1, flags | MsgFlags::PEEK)) {
            Ok(m) if m.len > 0 => return err(Errno::Fault),
            other => other,
        }
    } else {
        let mut buf = vec![0u8; len];
        h.with(|n, cx| sc::recv(n, cx, s, Some(&mut buf), len, flags))
    };
    match r {
        Ok(m) => {
            let out = if let Some(controllen) = msg {
                // tcp_recv_urg sets MSG_OOB when it returns the urgent byte.
                let oob = flags.contains(MsgFlags::OOB) && (m.len > 0 || m.truncated);
                let (control, ctrunc) = put_cmsgs(recv_cmsgs(h, s), controllen);
                Output::Msg {
                    flags: if m.truncated { sym32("MSG_TRUNC") } else { 0 }
                        | if oob { sym32("MSG_OOB") } else { 0 }
                        | ctrunc,
                    control,
                }
            } else {
                Output::None
            };
            done_with(m.len as i64, out)
        }
        Err(Errno::Again) if !nonblock => Exec::Block {
            socks: vec![s],
            done: 0,
        },
        Err(e) => err(e),
    }
}

/// A read of the error queue (`MSG_ERRQUEUE`: `ip_recv_error`), which never blocks: the
/// oldest entry's bytes, and for `recvmsg` `MSG_ERRQUEUE` (and `MSG_TRUNC`) in `msg_flags`
/// with `SCM_TIMESTAMPING` (when reported) and `IP_RECVERR` (`IPV6_RECVERR` on an
/// `AF_INET6` socket).
fn recv_error(h: &mut SimHost, s: SockId, iov: &[Buffer], msg: Option<usize>) -> Exec {
    if h.zerocopy_sent.contains(&s) {
        return unsupported(
            "MSG_ERRQUEUE on a socket that sent with MSG_ZEROCOPY: its completion \
             notifications are not modeled",
        );
    }
    if h.n.socks.get(s).is_some_and(|k| k.common().recverr) {
        return unsupported(
            "MSG_ERRQUEUE on a socket with IP_RECVERR: the ICMP and local errors it would \
             queue are not modeled (only transmit timestamps are)",
        );
    }
    let len: usize = iov.iter().map(|b| b.len).sum();
    // skb_copy_datagram_msg faults at the first NULL buffer it has to copy into.
    let null = iov.iter().any(|b| b.null && b.len > 0);
    let mut buf = vec![0u8; len];
    let r = h.with(|n, cx| sc::recv_error(n, cx, s, (!null).then_some(&mut buf[..]), len));
    let m = match r {
        Ok(m) => m,
        Err(e) => return err(e),
    };
    let Some(controllen) = msg else {
        return ok(m.len as i64);
    };
    let mut flags = sym32("MSG_ERRQUEUE");
    if m.truncated {
        flags |= sym32("MSG_TRUNC");
    }
    let mut control = Vec::with_capacity(2);
    if let Some(t) = m.tstamp {
        let ns = t.as_nanos() as i64;
        let ts = Timespec {
            sec: ns / 1_000_000_000,
            nsec: ns % 1_000_000_000,
        };
        control.push(Cmsg {
            level: sym32("SOL_SOCKET"),
            ty: sym32("SCM_TIMESTAMPING"),
            data: CmsgData::Timestamping([ts, Timespec::default(), Timespec::default()]),
        });
    }
    // inet_recv_error: ip_recv_error for an AF_INET socket, ipv6_recv_error (SOL_IPV6,
    // IPV6_RECVERR, a sockaddr_in6 after the error) for an AF_INET6 one, v4-mapped too.
    let (level, ty) = if h
        .n
        .socks
        .get(s)
        .is_some_and(|k| k.common().pinet6.is_some())
    {
        ("SOL_IPV6", "IPV6_RECVERR")
    } else {
        ("SOL_IP", "IP_RECVERR")
    };
    control.push(Cmsg {
        level: sym32(level),
        ty: sym32(ty),
        data: CmsgData::ExtendedErr(ExtendedErr {
            errno: m.ee.ee_errno,
            origin: m.ee.ee_origin,
            ty: m.ee.ee_type,
            code: m.ee.ee_code,
            info: m.ee.ee_info,
            data: m.ee.ee_data,
        }),
    });
    let (control, ctrunc) = put_cmsgs(control, controllen);
    done_with(
        m.len as i64,
        Output::Msg {
            flags: flags | ctrunc,
            control,
        },
    )
}

/// `put_cmsg` of each control message into a buffer of `controllen` bytes: those that fit,
/// and `MSG_CTRUNC` when one does not (the kernel then copies what room is left of it,
/// which the runner's checks never reach: `msg_flags` is checked first).
fn put_cmsgs(control: Vec<Cmsg>, mut controllen: usize) -> (Vec<Cmsg>, i32) {
    let mut out = Vec::with_capacity(control.len());
    let mut ctrunc = 0;
    for c in control {
        if controllen < c.cmsg_len() {
            ctrunc = sym32("MSG_CTRUNC");
            controllen = 0;
            continue;
        }
        controllen -= c.cmsg_space().min(controllen);
        out.push(c);
    }
    (out, ctrunc)
}

/// The control messages a read returns: `TCP_CM_INQ` with `TCP_INQ` on.
fn recv_cmsgs(h: &mut SimHost, s: SockId) -> Vec<Cmsg> {
    match sc::tcp_inq(&mut h.n, s) {
        Some(inq) => vec![Cmsg {
            level: sym32("SOL_TCP"),
            ty: sym32("TCP_CM_INQ"),
            data: CmsgData::Int(inq as i32),
        }],
        None => Vec::new(),
    }
}

/// The flags of a send (`MSG_ZEROCOPY` is taken by the caller).
fn send_flags(flags: i32) -> Result<MsgFlags, String> {
    msg_flags(
        flags,
        &[(
            "MSG_OOB",
            "sending urgent data (the urgent pointer) is not modeled",
        )],
        &[
            "MSG_EOR",
            "MSG_MORE",
            "MSG_DONTWAIT",
            "MSG_NOSIGNAL",
            "MSG_ZEROCOPY",
            "MSG_FASTOPEN",
        ],
    )
    .map(|f| MsgFlags(f & !(sym32("MSG_ZEROCOPY") as u32)))
}

/// `write`, `writev`, `send`, `sendto`, `sendmsg`: zeros from the buffers (packetdrill's
/// payloads are zeros). A blocking socket copies what fits, waits for room and copies on
/// (`tcp_sendmsg`), returning only when all is copied or an error stops it after some was.
/// The stack is told the write's whole length, past a NULL buffer too: a Fast Open SYN that
/// can read none of it goes without data.
fn send(
    h: &mut SimHost,
    s: SockId,
    iov: &[Buffer],
    flags: i32,
    to: Option<SockAddr>,
    mut done: usize,
) -> Exec {
    let zerocopy = flags & sym32("MSG_ZEROCOPY") != 0;
    let flags = match send_flags(flags) {
        Ok(f) => f,
        Err(why) => return unsupported(why),
    };
    let nonblock = nonblocking(h, s) || flags.contains(MsgFlags::DONTWAIT);
    // The bytes before the first NULL buffer can be copied; the copy faults there.
    let mut len = 0;
    let mut fault = false;
    for b in iov {
        if b.null && b.len > 0 {
            fault = true;
            break;
        }
        len += b.len;
    }
    if zerocopy && h.zerocopy.contains(&s) && len > 0 {
        // The bytes go out as a copy would send them; the completion notifications on the
        // error queue are not modeled, and reading that queue, or polling the socket (its
        // POLLERR), is refused.
        if h.polled(s) {
            return unsupported(
                "MSG_ZEROCOPY on a socket a blocked poll waits on: its completion \
                 notifications (POLLERR) are not modeled",
            );
        }
        h.zerocopy_sent.insert(s);
    }
    let to = to.map(sockaddr);
    let size: usize = iov.iter().map(|b| b.len).sum();
    loop {
        let data = vec![0u8; len - done];
        let size = size - done;
        let r = if nonblock {
            h.with(|n, cx| sc::sendto_size(n, cx, s, (&data, size), to, flags))
        } else {
            h.with(|n, cx| sc::sendto_wait(n, cx, s, (&data, size), to, flags))
        };
        match r {
            Ok(k) => {
                done += k;
                if done == len {
                    if fault {
                        if done > 0 {
                            return ok(done as i64);
                        }
                        return err(Errno::Fault);
                    }
                    return ok(done as i64);
                }
                if k > 0 && !nonblock {
                    // Room for more may already have come: try again before sleeping.
                    continue;
                }
                if nonblock {
                    return ok(done as i64);
                }
                return Exec::Block {
                    socks: vec![s],
                    done,
                };
            }
            Err(Errno::Again) if !nonblock => {
                return Exec::Block {
                    socks: vec![s],
                    done,
                };
            }
            Err(_) if done > 0 => {
                if !nonblock {
                    sc::send_wait_end(&mut h.n, s);
                }
                return ok(done as i64);
            }
            Err(e) => return err(e),
        }
    }
}

fn sendfile(
    h: &mut SimHost,
    out_fd: Fd,
    in_fd: Fd,
    offset: i64,
    count: usize,
    done: usize,
) -> Exec {
    let len = match h.fds.get(&in_fd) {
        None => return err(Errno::BadF),
        Some(FdObj::Sock(_) | FdObj::Pipe { .. }) => return err(Errno::Inval),
        Some(FdObj::File { len, .. }) => *len,
    };
    let Ok(offset) = u64::try_from(offset) else {
        return err(Errno::Inval);
    };
    let avail = len.saturating_sub(offset).min(count as u64) as usize;
    if avail == 0 {
        return ok(0);
    }
    on_sock(h, out_fd, |h, s| {
        send(
            h,
            s,
            &[Buffer {
                null: false,
                len: avail,
            }],
            0,
            None,
            done,
        )
    })
}

fn setsockopt(h: &mut SimHost, s: SockId, level: i32, name: i32, v: &OptVal, optlen: u32) -> Exec {
    let opt = opt_name(level, name);
    let int = match v {
        OptVal::Int(i) => Some(*i),
        _ => None,
    };
    // sock_setsockopt and do_tcp_setsockopt need a whole int; ip_setsockopt takes a
    // char as well.
    let min_len = if level == 0 { 1 } else { 4 };
    if int.is_some() && optlen < min_len {
        return err(Errno::Inval);
    }
    let i = int.unwrap_or(0);
    let set = |h: &mut SimHost, o: SockOpt| result(h.with(|n, cx| sc::setsockopt(n, cx, s, o)));
    match (opt.as_str(), v) {
        ("SO_REUSEADDR", OptVal::Int(_)) => set(h, SockOpt::ReuseAddr(i != 0)),
        ("SO_OOBINLINE", OptVal::Int(_)) => set(h, SockOpt::OobInline(i != 0)),
        ("SO_SNDBUF", OptVal::Int(_)) => set(h, SockOpt::SndBuf(i as u32)),
        ("SO_RCVBUF", OptVal::Int(_)) => set(h, SockOpt::RcvBuf(i as u32)),
        ("SO_LINGER", OptVal::Linger { onoff, linger }) => set(
            h,
            SockOpt::Linger((*onoff != 0).then_some((*linger).max(0) as u32)),
        ),
        ("SO_ZEROCOPY", OptVal::Int(_)) => {
            // sk_setsockopt: TCP and UDP sockets only, 0 or 1.
            if !matches!(h.n.socks.get(s), Some(Socket::Tcp(_) | Socket::Udp(_))) {
                return err(Errno::OpNotSupp);
            }
            match i {
                0 => {
                    h.zerocopy.remove(&s);
                }
                1 => {
                    h.zerocopy.insert(s);
                }
                _ => return err(Errno::Inval),
            }
            ok(0)
        }
        ("SO_TIMESTAMPING", OptVal::Int(_)) => {
            if let Some(why) = timestamping_unsupported(h, s, i as u32) {
                return unsupported(format!("setsockopt SO_TIMESTAMPING: {why}"));
            }
            set(h, SockOpt::Timestamping(i as u32))
        }
        ("TCP_NODELAY", OptVal::Int(_)) => set(h, SockOpt::NoDelay(i != 0)),
        ("TCP_CORK", OptVal::Int(_)) => set(h, SockOpt::Cork(i != 0)),
        ("TCP_MAXSEG", OptVal::Int(_)) => {
            if i < 0 {
                return err(Errno::Inval);
            }
            set(h, SockOpt::MaxSeg(i as u32))
        }
        ("TCP_USER_TIMEOUT", OptVal::Int(_)) => {
            if i < 0 {
                return err(Errno::Inval);
            }
            set(h, SockOpt::UserTimeout(i as u32))
        }
        ("TCP_NOTSENT_LOWAT", OptVal::Int(_)) => set(h, SockOpt::NotSentLowat(i as u32)),
        ("TCP_INQ", OptVal::Int(_)) => set(h, SockOpt::Inq(i != 0)),
        ("TCP_CONGESTION", OptVal::Bytes(b)) => {
            let name = String::from_utf8_lossy(b)
                .trim_end_matches('\0')
                .to_string();
            set(h, SockOpt::Congestion(name))
        }
        ("TCP_FASTOPEN_CONNECT", OptVal::Int(_)) => set(h, SockOpt::FastOpenConnect(i)),
        ("TCP_FASTOPEN_NO_COOKIE", OptVal::Int(_)) => set(h, SockOpt::FastOpenNoCookie(i)),
        ("TCP_FASTOPEN" | "TCP_FASTOPEN_KEY", _) => unsupported(format!(
            "setsockopt {opt}: server-side TCP Fast Open (a listener taking data from SYNs) \
             is not modeled; the host has the client side only"
        )),
        ("TCP_MD5SIG" | "TCP_MD5SIG_EXT", _) => unsupported(format!(
            "setsockopt {opt}: TCP MD5 signatures are not modeled"
        )),
        ("IP_TOS", OptVal::Int(_)) => set(h, SockOpt::Tos(i as u8)),
        ("IP_TTL", OptVal::Int(_)) => set(
            h,
            SockOpt::Ttl(match i {
                -1 => None,
                1..=255 => Some(i as u8),
                _ => return err(Errno::Inval),
            }),
        ),
        ("IP_RECVERR", OptVal::Int(_)) => set(h, SockOpt::RecvErr(i != 0)),
        ("IP_MTU_DISCOVER", OptVal::Int(_)) => {
            match sim_stack::sock::PmtuDisc::from_value(i64::from(i)) {
                Some(m) => set(h, SockOpt::MtuDiscover(m)),
                None => err(Errno::Inval),
            }
        }
        ("IP_FREEBIND", OptVal::Int(_)) => set(h, SockOpt::FreeBind(i != 0)),
        _ => unsupported(format!("setsockopt {opt} with {v:?}")),
    }
}

/// Why `SO_TIMESTAMPING` with `flags` asks for what the host does not model, if it does.
/// Flags Linux refuses (`EINVAL`) are left to the stack.
fn timestamping_unsupported(h: &SimHost, s: SockId, flags: u32) -> Option<String> {
    use sim_stack::sock::errqueue as eq;
    let refused = [
        (
            eq::SOF_TIMESTAMPING_RX_SOFTWARE,
            "SOF_TIMESTAMPING_RX_SOFTWARE: receive timestamps are not modeled",
        ),
        (
            eq::SOF_TIMESTAMPING_RX_HARDWARE,
            "SOF_TIMESTAMPING_RX_HARDWARE: receive timestamps are not modeled",
        ),
        (
            eq::SOF_TIMESTAMPING_OPT_CMSG,
            "SOF_TIMESTAMPING_OPT_CMSG: IP_PKTINFO with the error queue's timestamps is not \
             modeled",
        ),
        (
            eq::SOF_TIMESTAMPING_OPT_PKTINFO,
            "SOF_TIMESTAMPING_OPT_PKTINFO: IP_PKTINFO with the error queue's timestamps is \
             not modeled",
        ),
        (
            eq::SOF_TIMESTAMPING_OPT_STATS,
            "SOF_TIMESTAMPING_OPT_STATS: SCM_TIMESTAMPING_OPT_STATS (TCP statistics with each \
             timestamp) is not modeled",
        ),
        (
            eq::SOF_TIMESTAMPING_BIND_PHC,
            "SOF_TIMESTAMPING_BIND_PHC: PTP hardware clocks are not modeled",
        ),
        (
            eq::SOF_TIMESTAMPING_TX_COMPLETION,
            "SOF_TIMESTAMPING_TX_COMPLETION: transmit completion timestamps are not modeled",
        ),
    ];
    if let Some((_, why)) = refused.iter().find(|(f, _)| flags & f != 0) {
        return Some((*why).to_string());
    }
    let record = eq::SOF_TIMESTAMPING_TX_SOFTWARE
        | eq::SOF_TIMESTAMPING_TX_SCHED
        | eq::SOF_TIMESTAMPING_TX_ACK;
    if flags & record != 0 && !matches!(h.n.socks.get(s), Some(Socket::Tcp(_))) {
        return Some(
            "transmit timestamps are modeled for TCP sockets only (a datagram's are not)".into(),
        );
    }
    None
}

fn getsockopt(h: &mut SimHost, s: SockId, level: i32, name: i32, optlen: u32) -> Exec {
    let opt = opt_name(level, name);
    let which = match opt.as_str() {
        "SO_TYPE" => SockOptName::Type,
        "SO_ERROR" => SockOptName::Error,
        "SO_SNDBUF" => SockOptName::SndBuf,
        "SO_RCVBUF" => SockOptName::RcvBuf,
        "SO_REUSEADDR" => SockOptName::ReuseAddr,
        "SO_OOBINLINE" => SockOptName::OobInline,
        "SO_LINGER" => SockOptName::Linger,
        "TCP_NODELAY" => SockOptName::NoDelay,
        "TCP_CORK" => SockOptName::Cork,
        "TCP_MAXSEG" => SockOptName::MaxSeg,
        "TCP_CONGESTION" => SockOptName::Congestion,
        "TCP_NOTSENT_LOWAT" => SockOptName::NotSentLowat,
        "TCP_USER_TIMEOUT" => SockOptName::UserTimeout,
        "TCP_INQ" => SockOptName::Inq,
        "TCP_FASTOPEN_CONNECT" => SockOptName::FastOpenConnect,
        "TCP_FASTOPEN_NO_COOKIE" => SockOptName::FastOpenNoCookie,
        "IP_TOS" => SockOptName::Tos,
        "IP_TTL" => SockOptName::Ttl,
        "IP_RECVERR" => SockOptName::RecvErr,
        "IP_MTU_DISCOVER" => SockOptName::MtuDiscover,
        "SO_TIMESTAMPING" => {
            // struct so_timestamping: the flags, then bind_phc (the model binds no PHC).
            let flags = match h.with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::Timestamping)) {
                Ok(SockOptValue::Int(v)) => v as i32,
                Ok(_) => return unsupported("getsockopt SO_TIMESTAMPING"),
                Err(e) => return err(e),
            };
            let mut b = flags.to_le_bytes().to_vec();
            b.extend_from_slice(&0i32.to_le_bytes());
            return bytes_optval(b, optlen);
        }
        "SO_ZEROCOPY" => {
            let v = i32::from(h.zerocopy.contains(&s));
            return int_optval(v, optlen);
        }
        _ => return unsupported(format!("getsockopt {opt}")),
    };
    match h.with(|n, cx| sc::getsockopt(n, cx, s, which)) {
        Err(e) => err(e),
        Ok(SockOptValue::Int(v)) => int_optval(v as i32, optlen),
        Ok(SockOptValue::Linger(l)) => {
            let mut b = Vec::with_capacity(8);
            b.extend_from_slice(&i32::from(l.is_some()).to_le_bytes());
            b.extend_from_slice(&(l.unwrap_or(0) as i32).to_le_bytes());
            bytes_optval(b, optlen)
        }
        Ok(SockOptValue::Name(name)) => {
            // TCP_CA_NAME_MAX bytes, zero-padded.
            let mut b = name.into_bytes();
            b.resize(16, 0);
            bytes_optval(b, optlen)
        }
        Ok(SockOptValue::Info(_) | SockOptValue::PacketStats(_)) => {
            unsupported(format!("getsockopt {opt}"))
        }
    }
}

/// An int option's value: `min(optlen, sizeof(int))` bytes of it.
fn int_optval(v: i32, optlen: u32) -> Exec {
    bytes_optval(v.to_le_bytes().to_vec(), optlen)
}

fn bytes_optval(mut b: Vec<u8>, optlen: u32) -> Exec {
    let len = (optlen as usize).min(b.len());
    b.truncate(len);
    done_with(
        0,
        Output::Optval {
            value: b,
            optlen: len as u32,
        },
    )
}

fn fcntl(h: &mut SimHost, fd: Fd, cmd: i32, arg: Option<i64>) -> Exec {
    let Some(obj) = h.fds.get(&fd).cloned() else {
        return err(Errno::BadF);
    };
    let o_nonblock = sym("O_NONBLOCK");
    if is(cmd, "F_GETFL") {
        return match obj {
            FdObj::Sock(s) => {
                let nb = if nonblocking(h, s) { o_nonblock } else { 0 };
                ok(sym("O_RDWR") | nb)
            }
            FdObj::File { .. } => ok(sym("O_RDONLY")),
            FdObj::Pipe {
                write, nonblock, ..
            } => {
                let acc = if write {
                    sym("O_WRONLY")
                } else {
                    sym("O_RDONLY")
                };
                ok(acc | if nonblock { o_nonblock } else { 0 })
            }
        };
    }
    if is(cmd, "F_SETFL") {
        let on = arg.unwrap_or(0) & o_nonblock != 0;
        return match obj {
            FdObj::Sock(s) => result(sc::fcntl_set_nonblock(&mut h.n, s, on)),
            FdObj::File { .. } => ok(0),
            FdObj::Pipe { id, write, .. } => {
                h.fds.insert(
                    fd,
                    FdObj::Pipe {
                        id,
                        write,
                        nonblock: on,
                    },
                );
                ok(0)
            }
        };
    }
    unsupported(format!("fcntl command {cmd}"))
}

fn ioctl(h: &mut SimHost, s: SockId, request: u64, arg: Option<i32>) -> Exec {
    let req = request as i64;
    let which = if req == sym("SIOCINQ") || req == sym("FIONREAD") {
        Ioctl::InQ
    } else if req == sym("SIOCOUTQ") {
        Ioctl::OutQ
    } else if req == sym("SIOCOUTQNSD") {
        Ioctl::OutQNotSent
    } else if req == sym("SIOCATMARK") {
        Ioctl::AtMark
    } else {
        return unsupported(format!("ioctl request {request:#x}"));
    };
    if arg.is_none() {
        return err(Errno::Fault);
    }
    match sc::ioctl(&mut h.n, s, which) {
        Ok(v) => done_with(0, Output::Ioctl(v as i32)),
        Err(e) => err(e),
    }
}

fn close(h: &mut SimHost, fd: Fd) -> Exec {
    match h.fds.remove(&fd) {
        None => err(Errno::BadF),
        Some(FdObj::File { .. }) => ok(0),
        Some(FdObj::Pipe { id, write, .. }) => {
            let p = h.pipes.get_mut(&id).expect("an open pipe");
            if write {
                p.writers -= 1;
            } else {
                p.readers -= 1;
            }
            if p.readers == 0 && p.writers == 0 {
                h.pipes.remove(&id);
            }
            ok(0)
        }
        Some(FdObj::Sock(s)) => {
            h.zerocopy.remove(&s);
            h.zerocopy_sent.remove(&s);
            result(h.with(|n, cx| sc::close(n, cx, s)))
        }
    }
}

fn poll(h: &mut SimHost, fds: &[PollFd], timeout_ms: i32) -> Exec {
    let always = PollEvents::ERR.0 | PollEvents::HUP.0;
    let nval = sym("POLLNVAL") as u16;
    let mut revents = Vec::with_capacity(fds.len());
    let mut socks = Vec::new();
    for p in fds {
        let mask = match h.fds.get(&p.fd) {
            None => nval,
            Some(FdObj::File { .. }) => PollEvents::IN.0 | PollEvents::OUT.0,
            Some(&FdObj::Pipe { id, write, .. }) => {
                // pipe_poll.
                let p = &h.pipes[&id];
                let mut m = 0;
                if write {
                    if p.room() > 0 {
                        m |= PollEvents::OUT.0 | PollEvents::WRNORM.0;
                    }
                    if p.readers == 0 {
                        m |= PollEvents::ERR.0;
                    }
                } else {
                    if p.len() > 0 {
                        m |= PollEvents::IN.0 | PollEvents::RDNORM.0;
                    }
                    if p.writers == 0 {
                        m |= PollEvents::HUP.0;
                    }
                }
                m
            }
            Some(FdObj::Sock(s)) => {
                let s = *s;
                if h.zerocopy_sent.contains(&s) {
                    return unsupported(
                        "poll on a socket that sent with MSG_ZEROCOPY: its completion \
                         notifications (POLLERR) are not modeled",
                    );
                }
                socks.push(s);
                sc::poll(&mut h.n, s).map_or(nval, |e| e.0)
            }
        };
        revents.push((mask & (p.events as u16 | always | nval)) as i16);
    }
    let ready = revents.iter().filter(|r| **r != 0).count();
    if ready > 0 || timeout_ms == 0 {
        return done_with(ready as i64, Output::Revents(revents));
    }
    Exec::Block { socks, done: 0 }
}

/// Arms the timeout of a blocked `poll`.
pub(super) fn arm_timeout(h: &mut SimHost, id: CallId, call: &Syscall) {
    if let Syscall::Poll { timeout_ms, .. } = call {
        if *timeout_ms > 0 {
            let at = h.net.sched.now() + SimDuration::from_millis(*timeout_ms as u64);
            h.net.sched.schedule_at(
                at,
                sim_stack::event::Event::AppTimer {
                    app: PROCESS,
                    token: id.0 as u32,
                },
            );
        }
    }
}

/// A blocked `poll`'s timeout expired: it returns 0 with no events, unless it returned
/// already.
pub(super) fn timeout(h: &mut SimHost, token: u32) {
    let Some(i) = h.parked.iter().position(|p| p.id.0 as u32 == token) else {
        return;
    };
    let p = h.parked.remove(i);
    let n = match &p.call {
        Syscall::Poll { fds, .. } => fds.len(),
        _ => 0,
    };
    h.completions.push(crate::host::Completion {
        id: p.id,
        time: h.net.sched.now(),
        ret: SyscallReturn {
            ret: 0,
            errno: 0,
            out: Output::Revents(vec![0; n]),
        },
    });
}

fn open(h: &mut SimHost, path: &str, flags: i32) -> Exec {
    let access = flags & 3;
    if access != sym32("O_RDONLY") {
        return unsupported(format!(
            "open of {path} for writing: the host's files are made by the script's commands"
        ));
    }
    match h.env.file_len(path) {
        Some(len) => {
            let fd = h.new_fd(FdObj::File { len });
            ok(i64::from(fd))
        }
        None => errno("ENOENT"),
    }
}

/// The values of a `%{ }%` block for socket `fd`: `getsockopt(TCP_INFO)`'s fields by
/// packetdrill's names, and `SO_MEMINFO`'s that the stack keeps.
pub(super) fn code_vars(h: &mut SimHost, fd: Fd) -> Result<InfoVars, i32> {
    let s = match h.fds.get(&fd) {
        Some(FdObj::Sock(s)) => *s,
        Some(FdObj::File { .. } | FdObj::Pipe { .. }) => return Err(Errno::NotSock.number()),
        None => return Err(Errno::BadF.number()),
    };
    let info = match h.with(|n, cx| sc::getsockopt(n, cx, s, SockOptName::Info)) {
        Ok(SockOptValue::Info(i)) => i,
        Ok(_) => return Err(Errno::NoProtoOpt.number()),
        Err(e) => return Err(e.number()),
    };
    let mut vars = InfoVars::new();
    for name in CODE_VARIABLES {
        if let Some(v) = info.field(name) {
            vars.insert((*name).to_string(), v as i64);
        }
    }
    if let Some(m) = sc::meminfo(&mut h.n, s) {
        for (name, v) in [
            ("SK_MEMINFO_RMEM_ALLOC", m.rmem_alloc),
            ("SK_MEMINFO_RCVBUF", m.rcvbuf),
            ("SK_MEMINFO_WMEM_ALLOC", m.wmem_alloc),
            ("SK_MEMINFO_SNDBUF", m.sndbuf),
            ("SK_MEMINFO_WMEM_QUEUED", m.wmem_queued),
            ("SK_MEMINFO_BACKLOG", m.backlog),
        ] {
            vars.insert(name.to_string(), i64::from(v));
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_symbol_the_host_names_has_a_value() {
        // `sym` panics on a name symbols.rs lacks: check every one this file uses (the
        // SK_MEMINFO_ names are code variables, not symbols).
        let src = include_str!("calls.rs");
        let mut names = 0;
        for quoted in src.split('"').skip(1).step_by(2) {
            let is_symbol = quoted.len() > 2
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && quoted.contains('_')
                && !quoted.ends_with('_')
                && !quoted.starts_with("SK_MEMINFO_")
                || ["ENOENT", "ECONNABORTED", "EAFNOSUPPORT"].contains(&quoted);
            if is_symbol {
                assert!(symbols::lookup(quoted).is_some(), "{quoted} has no value");
                names += 1;
            }
        }
        assert!(names > 40, "{names} names checked");
    }

    #[test]
    fn option_names_are_found_at_their_level() {
        assert_eq!(opt_name(1, 2), "SO_REUSEADDR");
        assert_eq!(opt_name(0, 2), "IP_TTL");
        assert_eq!(opt_name(6, 36), "TCP_INQ");
        assert_eq!(opt_name(1, 9999), "SOL_SOCKET option 9999");
        for n in OPTION_NAMES {
            assert!(symbols::lookup(n).is_some(), "{n} has a value");
        }
    }
}
