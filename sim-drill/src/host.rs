//! What the runner needs from the host under test: the [`DrillHost`] trait and the typed
//! system calls it takes.
//!
//! The host is one simulated Linux machine whose only interface is packetdrill's tun device
//! (`tun0`): IP datagrams the runner injects arrive on it, datagrams the stack sends out of
//! it are handed back with the instant they left (as packetdrill sniffs them: before any
//! segmentation, since the device has TSO/GSO on). System calls are typed — which call,
//! which descriptors, buffers and lengths — with Linux's numbers for levels, option names
//! and flags, exactly what the kernel would receive; results carry the return value, errno
//! and the output parameters packetdrill checks. A call that blocks returns
//! [`SyscallOutcome::Blocked`] and completes later through
//! [`DrillHost::take_completions`], stamped with the instant it returned.
//!
//! Time is the host's: integer nanoseconds ([`SimTime`]). The runner moves it only through
//! [`DrillHost::advance_to`], so a run is deterministic.

use core::net::IpAddr;

use sim_core::time::SimTime;

use crate::code::InfoVars;
use crate::command::HostAction;

/// A file descriptor of the host.
pub type Fd = i32;

/// How the tun device is set up before the script starts (packetdrill's `netdev.c` with the
/// options of the run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunSetup {
    /// `tun0`.
    pub name: String,
    /// The local address and prefix (`192.168.0.1/16`, `fd3d:a0b:17d6::1/48`), of the
    /// wire's family.
    pub local_ip: IpAddr,
    /// Prefix length of the local subnet.
    pub prefix_len: u8,
    /// The gateway the route to the remote goes through.
    pub gateway_ip: IpAddr,
    /// The remote peer's address.
    pub remote_ip: IpAddr,
    /// MTU (1500 unless `--mtu`).
    pub mtu: u32,
    /// Link speed in Mbit/s if `--speed` was given.
    pub speed_mbps: Option<u32>,
    /// TSO, GSO and checksum offload are on (`TUNSETOFFLOAD`): the runner sees packets as
    /// the stack builds them. A script turns them off with `ethtool -K`.
    pub offloads: bool,
}

impl TunSetup {
    /// `tun0` as a run's configuration sets it up, offloads on.
    pub fn of(c: &crate::config::DrillConfig) -> Self {
        Self {
            name: "tun0".into(),
            local_ip: c.local_ip,
            prefix_len: c.prefix_len,
            gateway_ip: c.gateway_ip,
            remote_ip: c.remote_ip,
            mtu: c.mtu,
            speed_mbps: c.speed_mbps,
            offloads: true,
        }
    }
}

/// A datagram injected into the tun device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The IPv4 or IPv6 datagram.
    pub bytes: Vec<u8>,
    /// `--mss`: the datagram is a GRO packet of this segment size (tun's
    /// `virtio_net_hdr.gso_size`).
    pub gso_size: Option<u16>,
}

/// A datagram the host sent out of the tun device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// When it left.
    pub time: SimTime,
    /// The IP datagram.
    pub bytes: Vec<u8>,
}

/// A user buffer: `NULL`, or `len` bytes (zeros when written, as packetdrill's `calloc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// The pointer is `NULL` (the script wrote `NULL` or `0`).
    pub null: bool,
    /// The length passed.
    pub len: usize,
}

/// A socket address: a `sockaddr_in`, or a `sockaddr_in6` for an IPv6 address (a
/// v4-mapped one in `ipv4-mapped-ipv6` runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockAddr {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

/// A `setsockopt` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptVal {
    /// `[N]`: an int.
    Int(i32),
    /// `"bytes"`.
    Bytes(Vec<u8>),
    /// `{onoff=N, linger=N}`.
    Linger {
        /// `l_onoff`.
        onoff: i32,
        /// `l_linger`.
        linger: i32,
    },
}

/// A `struct timespec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: i64,
}

/// `struct sock_extended_err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtendedErr {
    /// `ee_errno`.
    pub errno: u32,
    /// `ee_origin`.
    pub origin: u8,
    /// `ee_type`.
    pub ty: u8,
    /// `ee_code`.
    pub code: u8,
    /// `ee_info`.
    pub info: u32,
    /// `ee_data`.
    pub data: u32,
}

/// The data of a control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmsgData {
    /// An int (`TCP_CM_INQ`).
    Int(i32),
    /// `struct scm_timestamping`: software, (deprecated), hardware stamps in the host's
    /// clock.
    Timestamping([Timespec; 3]),
    /// `struct sock_extended_err` (followed by the offender's address, not modelled here).
    ExtendedErr(ExtendedErr),
    /// Anything else, as bytes.
    Bytes(Vec<u8>),
}

/// A control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmsg {
    /// `cmsg_level`.
    pub level: i32,
    /// `cmsg_type`.
    pub ty: i32,
    /// The data.
    pub data: CmsgData,
}

impl Cmsg {
    /// `cmsg_len` as the kernel fills it (`CMSG_LEN` of the data on 64-bit Linux; an
    /// extended error is followed by a `sockaddr_in` or `sockaddr_in6`).
    pub fn cmsg_len(&self) -> usize {
        16 + match &self.data {
            CmsgData::Int(_) => 4,
            CmsgData::Timestamping(_) => 48,
            CmsgData::ExtendedErr(_) => 16 + if self.level == 0 { 16 } else { 28 },
            CmsgData::Bytes(b) => b.len(),
        }
    }

    /// `CMSG_SPACE` of the data: its `cmsg_len` rounded up to 8 bytes.
    pub fn cmsg_space(&self) -> usize {
        self.cmsg_len().next_multiple_of(8)
    }
}

/// One `struct pollfd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor.
    pub fd: Fd,
    /// `events`.
    pub events: i16,
}

/// A system call, typed. Descriptors are the host's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the system calls' own arguments
pub enum Syscall {
    Socket {
        domain: i32,
        ty: i32,
        protocol: i32,
    },
    Bind {
        fd: Fd,
        addr: SockAddr,
    },
    Listen {
        fd: Fd,
        backlog: i32,
    },
    Accept {
        fd: Fd,
    },
    /// `addr` `None`: `AF_UNSPEC` (dissolve the association).
    Connect {
        fd: Fd,
        addr: Option<SockAddr>,
    },
    Read {
        fd: Fd,
        buf: Buffer,
    },
    Readv {
        fd: Fd,
        iov: Vec<Buffer>,
    },
    Recv {
        fd: Fd,
        buf: Buffer,
        flags: i32,
    },
    Recvfrom {
        fd: Fd,
        buf: Buffer,
        flags: i32,
    },
    /// `controllen`: the `msg_controllen` packetdrill passes, the `CMSG_SPACE` of each
    /// control message the script expects (`cmsg_new`).
    Recvmsg {
        fd: Fd,
        iov: Vec<Buffer>,
        flags: i32,
        controllen: usize,
    },
    Write {
        fd: Fd,
        buf: Buffer,
    },
    Writev {
        fd: Fd,
        iov: Vec<Buffer>,
    },
    Send {
        fd: Fd,
        buf: Buffer,
        flags: i32,
    },
    Sendto {
        fd: Fd,
        buf: Buffer,
        flags: i32,
        addr: Option<SockAddr>,
    },
    Sendmsg {
        fd: Fd,
        iov: Vec<Buffer>,
        flags: i32,
        addr: Option<SockAddr>,
        control: Vec<Cmsg>,
    },
    Sendfile {
        out_fd: Fd,
        in_fd: Fd,
        offset: i64,
        count: usize,
    },
    Splice {
        fd_in: Fd,
        off_in: Option<i64>,
        fd_out: Fd,
        off_out: Option<i64>,
        len: usize,
        flags: i32,
    },
    Setsockopt {
        fd: Fd,
        level: i32,
        name: i32,
        value: OptVal,
        optlen: u32,
    },
    Getsockopt {
        fd: Fd,
        level: i32,
        name: i32,
        optlen: u32,
    },
    Fcntl {
        fd: Fd,
        cmd: i32,
        arg: Option<i64>,
    },
    Ioctl {
        fd: Fd,
        request: u64,
        arg: Option<i32>,
    },
    Close {
        fd: Fd,
    },
    Shutdown {
        fd: Fd,
        how: i32,
    },
    Poll {
        fds: Vec<PollFd>,
        timeout_ms: i32,
    },
    Open {
        path: String,
        flags: i32,
    },
    Pipe,
}

impl Syscall {
    /// The same call with every descriptor passed through `f` (script → host numbers).
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn map_fds(&self, mut f: impl FnMut(Fd) -> Result<Fd, String>) -> Result<Self, String> {
        let mut c = self.clone();
        match &mut c {
            Self::Socket { .. } | Self::Open { .. } | Self::Pipe => {}
            Self::Bind { fd, .. }
            | Self::Listen { fd, .. }
            | Self::Accept { fd }
            | Self::Connect { fd, .. }
            | Self::Read { fd, .. }
            | Self::Readv { fd, .. }
            | Self::Recv { fd, .. }
            | Self::Recvfrom { fd, .. }
            | Self::Recvmsg { fd, .. }
            | Self::Write { fd, .. }
            | Self::Writev { fd, .. }
            | Self::Send { fd, .. }
            | Self::Sendto { fd, .. }
            | Self::Sendmsg { fd, .. }
            | Self::Setsockopt { fd, .. }
            | Self::Getsockopt { fd, .. }
            | Self::Fcntl { fd, .. }
            | Self::Ioctl { fd, .. }
            | Self::Close { fd }
            | Self::Shutdown { fd, .. } => *fd = f(*fd)?,
            Self::Sendfile { out_fd, in_fd, .. } => {
                *out_fd = f(*out_fd)?;
                *in_fd = f(*in_fd)?;
            }
            Self::Splice { fd_in, fd_out, .. } => {
                *fd_in = f(*fd_in)?;
                *fd_out = f(*fd_out)?;
            }
            Self::Poll { fds, .. } => {
                for p in fds {
                    p.fd = f(p.fd)?;
                }
            }
        }
        Ok(c)
    }
}

/// Output parameters of a call that packetdrill checks: what a host returns, and (with
/// `V` the script's form of a `getsockopt` value) what a script expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output<V = Vec<u8>> {
    /// Nothing beyond the return value.
    #[default]
    None,
    /// `getsockopt`: the value and the returned `optlen`.
    Optval {
        /// The value written to `optval`.
        value: V,
        /// The returned length.
        optlen: u32,
    },
    /// `ioctl`: the int written through the pointer.
    Ioctl(i32),
    /// `recvmsg`: `msg_flags` and the control messages.
    Msg {
        /// `msg_flags`.
        flags: i32,
        /// The control messages.
        control: Vec<Cmsg>,
    },
    /// `poll`: the `revents` of each pollfd.
    Revents(Vec<i16>),
    /// `pipe`: the two descriptors (the script's names for them, in an expectation).
    Pipe([Fd; 2]),
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallReturn {
    /// The return value (a descriptor for `socket`, `accept`, `open`).
    pub ret: i64,
    /// `errno` when `ret` is -1 (0 otherwise).
    pub errno: i32,
    /// Output parameters.
    pub out: Output,
}

impl SyscallReturn {
    /// A plain success.
    pub fn ok(ret: i64) -> Self {
        Self {
            ret,
            errno: 0,
            out: Output::None,
        }
    }
    /// A failure with `errno`.
    pub fn err(errno: i32) -> Self {
        Self {
            ret: -1,
            errno,
            out: Output::None,
        }
    }
}

/// Identifies a blocked call until it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// How a call went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyscallOutcome {
    /// It returned at once.
    Done(SyscallReturn),
    /// It blocks; it will come back through [`DrillHost::take_completions`].
    Blocked(CallId),
    /// The host does not model this call (or this option of it).
    Unsupported(String),
}

/// A blocked call that returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The call.
    pub id: CallId,
    /// When it returned.
    pub time: SimTime,
    /// What it returned.
    pub ret: SyscallReturn,
}

/// How a command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// Exit status 0.
    Ok,
    /// A non-zero exit status, with what the tool would print.
    Failed {
        /// The status.
        status: i32,
        /// The tool's message (may be empty).
        message: String,
    },
    /// The host does not model this (a sysctl it does not have, a qdisc kind, …).
    Unsupported(String),
}

/// The simulated host the runner drives.
pub trait DrillHost {
    /// Creates and configures the tun device, before time zero.
    ///
    /// # Errors
    /// What the host cannot set up.
    fn setup(&mut self, tun: &TunSetup) -> Result<(), String>;
    /// The host's current time.
    fn now(&self) -> SimTime;
    /// When the host next has something to do (a timer, a queued transmit), if anything.
    fn next_event(&self) -> Option<SimTime>;
    /// Runs everything scheduled up to and including `t`, then sets the clock to `t`
    /// (`t` is never before [`now`](Self::now)).
    fn advance_to(&mut self, t: SimTime);
    /// A datagram arrives on the tun device now.
    ///
    /// # Errors
    /// Why the host cannot carry this packet (something in it the stack does not model):
    /// the script is unsupported.
    fn inject(&mut self, packet: &Inbound) -> Result<(), String>;
    /// The datagrams sent out of the tun device since the last call, oldest first.
    fn take_outbound(&mut self) -> Vec<Outbound>;
    /// Starts a system call now.
    fn syscall(&mut self, call: &Syscall) -> SyscallOutcome;
    /// Blocked calls that have returned since the last call, in the order they returned.
    fn take_completions(&mut self) -> Vec<Completion>;
    /// The values a `%{ }%` block sees for socket `fd` now (`getsockopt` of `TCP_INFO`,
    /// `TCP_CC_INFO`, `SO_MEMINFO`), by packetdrill's variable names.
    ///
    /// # Errors
    /// The errno of the `getsockopt`.
    fn code_vars(&mut self, fd: Fd) -> Result<InfoVars, i32>;
    /// Carries out what a backtick command means.
    fn run_action(&mut self, action: &HostAction) -> ActionOutcome;
}
