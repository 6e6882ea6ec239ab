//! Capture writers: what the device taps write, so a run opens in Wireshark like a tcpdump
//! capture.
//!
//! The device layer registers every interface once ([`Capture::add_interface`]) and then calls
//! [`Capture::record`] for each frame at the two points where tcpdump sees it on Linux:
//! `dev_hard_start_xmit` for a transmitted frame (after the qdisc, before the driver's ring) and
//! `__netif_receive_skb` for a received one (after the last bit arrived).
//!
//! # Formats
//!
//! - [`CaptureFormat::Pcap`] (the default): one classic pcap file `<dir>/<name>.pcap` per
//!   interface, as `tcpdump -i <iface> -w` writes it: magic `0xa1b23c4d` (nanosecond
//!   timestamps), version 2.4, link type Ethernet (1), the configured snaplen (262144 by
//!   default, tcpdump's own).
//! - [`CaptureFormat::PcapNg`]: one file `<dir>/capture.pcapng` (the name is
//!   [`CaptureConfig::pcapng_name`]) holding every interface: one Interface Description Block
//!   per interface with `if_name` = the registered name (Wireshark's "Interface" column) and
//!   `if_tsresol` = 9, and one Enhanced Packet Block per frame, whose optional `opt_comment`
//!   carries the modeled kernel function path (Wireshark shows it under the frame as
//!   "Packet comments").
//!
//! # Timestamps
//!
//! A frame's timestamp is the simulated time since the start of the run, counted from the Unix
//! epoch: a frame at 1.5 s of simulated time is stamped 1970-01-01T00:00:01.500000000Z. We
//! chose a base of zero (rather than some fixed date such as 2026-01-01) because then the
//! absolute time Wireshark shows (`frame.time_epoch`) *is* the simulated time, the same number
//! `trace.txt` prints, with nothing to subtract. It is a constant
//! ([`TIMESTAMP_BASE_SECS`]); the wall clock is never read. Classic pcap stores seconds in 32
//! bits, so a frame past 2^32 s (≈ 136 years of simulated time) is rejected with an error.
//!
//! # Determinism
//!
//! Every file is written little-endian whatever the host, and the bytes depend only on the
//! sequence of calls: the same calls give byte-identical files. (Write-out order to the file
//! system depends on buffer sizes, the content of each file never does; neither depends on
//! the timing of the writer thread.)
//!
//! # Buffering, the writer thread, open files and memory
//!
//! The simulation thread only fills in-memory buffers; every write to a file is done by one
//! background thread (`capture-writer`), started by [`Capture::new`] and joined by
//! [`Capture::finish`] (or when the [`Capture`] is dropped). A buffer is handed to it whole,
//! through a queue, with the file it goes to; the thread appends the buffers to their files
//! in the order they were handed over and sends each one back emptied, to be reused. The
//! bytes of every file, and the order in which buffers are handed over, depend only on the
//! calls made, never on how fast the thread goes: the simulation waits for the thread only
//! when the bounds below are reached.
//!
//! Pcap: runs may have 2×10^5 interfaces, so the writer does not keep a file open per
//! interface. Each interface has an in-memory buffer; a buffer is handed over when it reaches
//! its full size (64 KiB, or the budget if smaller: the interface goes on at once with an
//! empty spare of the same size), when the buffers together hold more than
//! [`CaptureConfig::memory_budget`] (16 MiB by default: then the largest buffers are handed
//! over until at most half the budget is held), and at [`Capture::flush`] /
//! [`Capture::finish`], which then wait until the thread has written everything. The thread
//! keeps the files most recently written open, at most 128 of them (the least recently
//! written is closed to make room), so a run with up to 128 captured interfaces opens each
//! file once, and a larger one stays well inside the usual limit of 1024 descriptors. A file
//! is created (truncating any old one) at its first write and reopened in append mode after
//! being closed; interfaces that never saw a frame get their header-only file at
//! `flush`/`finish`, as tcpdump leaves on an idle interface. `finish` closes everything.
//!
//! Pcapng: the blocks are written into 64 KiB buffers, each handed over when the next block
//! would not fit (the file itself is created by [`Capture::new`]).
//!
//! Why 64 KiB: the writes of 64 KiB cost no more than bigger ones (the time goes into copying
//! the bytes into the page cache either way), and the buffers of a 66-interface dumbbell then
//! hold 4 MiB instead of 33 MiB; the memory target is ns-3's, which writes through small
//! stream buffers.
//!
//! Memory bound, pcap: buffers hold at most `memory_budget + 64 KiB + snaplen` bytes, and the
//! buffers they handed over without a replacement (evicted or flushed) and not yet written
//! count in that bound too, with 512 KiB of slack; add at most 24 full buffers in the queue
//! and 8 spares (2 MiB), plus per interface about 100 bytes and three times the name (the
//! name set that keeps names unique, and the file name). Pcapng: at most 33 buffers of 64 KiB
//! (one in use, 24 in the queue, 8 spares: about 2.1 MiB), plus per interface about 200 bytes
//! and twice the name (pcap-file's writer keeps a copy of every Interface Description Block).
//! The queue is that deep because interfaces carrying the same traffic fill their buffers at
//! the same time, and hand them over in bursts.
//!
//! The per-frame path makes no system call and, in steady state, no allocation: buffers are
//! reused, and a pcap buffer is only (re)allocated when it grows (doubling from 2 KiB up to its
//! full size) or starts again after the budget had it handed over and taken away. The writer
//! makes one system call per buffer handed over.
//!
//! # Errors
//!
//! Every I/O error comes back as an [`io::Error`] whose message names the file. An I/O failure
//! makes the capture fail for good: later calls to [`Capture::record`] return the same error,
//! and [`Capture::finish`] still writes out every other file and then returns it. As the
//! writes are done on the writer thread, the error of a write comes back from the first
//! `record` after the thread met it, or from `flush`/`finish` (which wait for the thread); a
//! file whose write failed is not written again (a retry could duplicate a partial write).
//! Invalid input for one frame (a timestamp out of range) fails that call only. `finish` (or
//! `flush`) leaves every file complete and valid, so a run interrupted with Ctrl-C that still
//! calls `finish` has usable captures; dropping a [`Capture`] without `finish` does the same
//! on a best effort basis, ignoring errors. Atomicity is the caller's: it writes into a
//! temporary folder and renames it.
//!
//! # Use of `pcap-file` 2.0.0
//!
//! `pcap-file` writes the pcap global header and every pcapng block. Its pcapng writer writes
//! timestamps in nanoseconds without declaring it; we add `if_tsresol = 9` to every Interface
//! Description Block (else Wireshark reads them as microseconds, 1000× off).
//!
//! A classic pcap *record* is four little-endian `u32`s and the bytes, and we write it
//! ourselves (`record_header`, with the checks of pcap-file's `PcapPacket::write_to` and the
//! same error messages): pcap-file 2.0.0 can only encode one through a `PcapWriter` that owns
//! its sink, which cost a writer per frame and took a quarter of a run's time with capture
//! on. A test checks the bytes against pcap-file's encoder.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pcap_file::pcap::PcapHeader;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgWriter};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};
use serde::{Deserialize, Serialize};
use sim_core::SimTime;

/// The default and largest snaplen: tcpdump's default, and the most Wireshark accepts.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// The default name of the single pcapng file.
pub const DEFAULT_PCAPNG_NAME: &str = "capture.pcapng";
/// The default bound on the memory the pcap buffers hold together.
pub const DEFAULT_MEMORY_BUDGET: usize = 16 << 20;
/// Seconds since the Unix epoch that simulated time zero is stamped with (see the module doc).
pub const TIMESTAMP_BASE_SECS: u64 = 0;
/// The longest interface name accepted (a file name is at most 255 bytes on most systems).
pub const MAX_NAME_LEN: usize = 200;

/// Full size of one interface's buffer in pcap mode: reaching it hands the buffer over.
const FILE_BUFFER: usize = 64 << 10;
/// Most pcap files kept open by the writer thread.
const MAX_OPEN: usize = 128;
/// Smallest allocation of an interface buffer.
const MIN_BUFFER: usize = 2 << 10;
/// Size of the pcapng file's buffers (each handed over when full).
const PCAPNG_BUFFER: usize = 64 << 10;
/// Most buffers handed over full (each replaced at once by a spare) that the writer thread
/// may not have written yet; the simulation waits for it beyond. Interfaces of the same
/// traffic fill their buffers in step, so they come in bursts: 8 made the simulation wait
/// for the writer, and took a third of the gain on the UDP dumbbell. 32 put dumbbell_udp's
/// peak RSS with pcap on level with ns-3's (24.8 MB both); 24 keeps it 0.5 MB below for
/// 6% more wall time (0.49 -> 0.52 s), 16 saved another 0.5 MB for 20% more.
const MAX_IN_FLIGHT: usize = 24;
/// How many buffers' worth of bytes handed over without a replacement (evicted or flushed)
/// may be in the queue beyond the pcap budget.
const DRAIN_SLACK: usize = 8;
/// Most written buffers kept for reuse.
const MAX_SPARE: usize = 8;
/// How many jobs (or buffers given back) wake the writer (or the simulation) when it sleeps.
const WAKE_BATCH: usize = 4;
/// How long a side spins before it sleeps (see [`spin_until`]).
const SPIN_ROUNDS: usize = 400;
/// Memory each buffer handed over without a replacement is counted for besides its bytes
/// (the job in the queue), so that a flush of many header-only files stays bounded too.
const JOB_COST: usize = 64;
/// The writer's id of the pcapng file (pcap files are numbered by interface).
const PCAPNG_FILE: u32 = u32::MAX;
/// Classic pcap global header and per-record header lengths.
const PCAP_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;
/// A pcapng option value's length is a 16-bit field.
const MAX_OPTION_LEN: usize = u16::MAX as usize;
/// Written as `shb_userappl` in the pcapng section header (no version: files must not change
/// with the build).
const USER_APPLICATION: &str = "netsim";

/// Which file format a run's captures are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CaptureFormat {
    /// Classic pcap, one file per interface (`<name>.pcap`), nanosecond timestamps.
    #[default]
    Pcap,
    /// One pcapng file for all interfaces, with interface names and per-frame comments.
    PcapNg,
}

/// Where and how captures are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The folder the files are written into (created if missing).
    pub dir: PathBuf,
    /// The file format.
    pub format: CaptureFormat,
    /// Frames longer than this are truncated in the file (their original length is kept).
    /// 1 to [`DEFAULT_SNAPLEN`].
    pub snaplen: u32,
    /// File name of the single pcapng file ([`CaptureFormat::PcapNg`] only).
    pub pcapng_name: String,
    /// Bound on the bytes the per-interface buffers hold together ([`CaptureFormat::Pcap`]
    /// only; see the module doc for the full memory bound).
    pub memory_budget: usize,
}

impl CaptureConfig {
    /// A configuration writing `format` into `dir`, with the defaults for everything else.
    pub fn new(dir: impl Into<PathBuf>, format: CaptureFormat) -> Self {
        Self {
            dir: dir.into(),
            format,
            snaplen: DEFAULT_SNAPLEN,
            pcapng_name: DEFAULT_PCAPNG_NAME.to_owned(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// Handle of one capture interface, returned by [`Capture::add_interface`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaptureIf(u32);

impl CaptureIf {
    /// Registration index of the interface (0 for the first registered); in pcapng, its
    /// interface ID.
    pub const fn index(self) -> u32 {
        self.0
    }
}

/// One file written by a [`Capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// How many frames it holds.
    pub frames: u64,
}

/// What [`Capture::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    /// Every file, in interface registration order (one file for pcapng).
    pub files: Vec<CaptureFile>,
    /// Sum of the file sizes.
    pub total_bytes: u64,
    /// Sum of the frames.
    pub total_frames: u64,
}

/// The capture writers of one run: every interface's pcap file, or the run's pcapng file.
#[derive(Debug)]
pub struct Capture {
    dir: PathBuf,
    snaplen: u32,
    /// Registered names, to refuse duplicates (two interfaces sharing one file).
    names: BTreeSet<Box<str>>,
    total_frames: u64,
    /// The first I/O error; once set, the capture is failed for good.
    failed: Option<(io::ErrorKind, String)>,
    /// Where the writer thread reports its first I/O error.
    writer_failure: Arc<Failure>,
    finished: bool,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Pcap(Box<PcapFiles>),
    PcapNg(Box<PcapNgFile>),
}

impl Sink {
    fn writer(&mut self) -> &mut Writer {
        match self {
            Self::Pcap(p) => &mut p.io,
            Self::PcapNg(n) => &mut n.writer.get_mut().inner.io,
        }
    }
}

impl Capture {
    /// Prepares a capture into `config.dir`, creating the folder if needed (and, for pcapng,
    /// the file with its section header), and starts the writer thread.
    ///
    /// # Errors
    /// The folder or file cannot be created, the thread cannot be started, or `snaplen` is 0
    /// or above [`DEFAULT_SNAPLEN`].
    pub fn new(config: CaptureConfig) -> io::Result<Self> {
        if config.snaplen == 0 || config.snaplen > DEFAULT_SNAPLEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "capture snaplen {} is out of range 1..={DEFAULT_SNAPLEN}",
                    config.snaplen
                ),
            ));
        }
        fs::create_dir_all(&config.dir)
            .map_err(|e| path_error(&config.dir, "cannot create capture folder", e))?;
        let mut sink = match config.format {
            CaptureFormat::Pcap => Sink::Pcap(Box::new(PcapFiles::new(&config)?)),
            CaptureFormat::PcapNg => Sink::PcapNg(Box::new(PcapNgFile::create(&config)?)),
        };
        let writer_failure = Arc::clone(&sink.writer().failure);
        Ok(Self {
            dir: config.dir,
            snaplen: config.snaplen,
            names: BTreeSet::new(),
            total_frames: 0,
            failed: None,
            writer_failure,
            finished: false,
            sink,
        })
    }

    /// Registers interface `name` (e.g. `"client-eth0"`); handles are numbered in registration
    /// order. Pcap: its file will be `<dir>/<name>.pcap`. Pcapng: writes its Interface
    /// Description Block (`if_name` = `name`, `if_tsresol` = 9). Does no I/O in pcap mode; an
    /// I/O error in pcapng mode is returned by the next [`record`](Self::record) or
    /// [`finish`](Self::finish).
    ///
    /// # Panics
    /// If `name` was already registered, is empty, `.` or `..`, is longer than
    /// [`MAX_NAME_LEN`] bytes, or contains `/`, `\` or NUL: interface names come from the
    /// validated scenario, so these are bugs of the caller.
    pub fn add_interface(&mut self, name: &str) -> CaptureIf {
        if let Err(why) = check_name(name) {
            panic!("capture interface name {name:?} is invalid: {why}");
        }
        assert!(
            self.names.insert(name.into()),
            "capture interface {name:?} registered twice"
        );
        match &mut self.sink {
            Sink::Pcap(p) => p.add_interface(name),
            Sink::PcapNg(n) => {
                let (ifc, result) = n.add_interface(name, self.snaplen);
                if let Err(e) = result {
                    self.fail(e);
                }
                ifc
            }
        }
    }

    /// Records one frame as it crossed the tap of `ifc` at `time` (since the start of the run).
    /// Frames longer than the snaplen are truncated; the original length is kept. `comment`
    /// (pcapng only; ignored for pcap) becomes the frame's `opt_comment`, cut to 65535 bytes.
    ///
    /// # Errors
    /// `ifc` is not a handle of this capture, the timestamp does not fit the format, or
    /// writing failed (here, or earlier on the writer thread: see the module doc).
    pub fn record(
        &mut self,
        ifc: &CaptureIf,
        time: SimTime,
        frame: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        self.check_failed()?;
        let orig_len = u32::try_from(frame.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("capture: frame of {} bytes is too long", frame.len()),
            )
        })?;
        let captured = &frame[..frame.len().min(self.snaplen as usize)];
        let timestamp = Duration::from_nanos(time.as_nanos())
            .checked_add(Duration::from_secs(TIMESTAMP_BASE_SECS))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "timestamp overflow"))?;
        let result = match &mut self.sink {
            Sink::Pcap(p) => p.record(&self.dir, ifc.0, timestamp, orig_len, captured),
            Sink::PcapNg(n) => n.record(ifc.0, timestamp, orig_len, captured, comment),
        };
        match result {
            Ok(()) => {
                self.total_frames += 1;
                Ok(())
            }
            Err(WriteError::Io(e)) => Err(self.fail(e)),
            Err(WriteError::Input(e)) => Err(e),
        }
    }

    /// Writes every buffered byte out and waits for the writer thread to have written it, so
    /// that every file, including the header-only file of an interface without frames, is
    /// complete and valid as of now. Keeps the capture open.
    ///
    /// # Errors
    /// Writing failed (now or earlier); the other files are still written.
    pub fn flush(&mut self) -> io::Result<()> {
        let result = match &mut self.sink {
            Sink::Pcap(p) => p.flush_all(),
            Sink::PcapNg(n) => n.flush(),
        };
        if let Err(e) = result {
            self.fail(e);
        }
        self.check_failed()
    }

    /// Flushes and closes everything (the writer thread ends); returns per-file sizes and
    /// frame counts, and the total.
    ///
    /// # Errors
    /// Writing failed (now or earlier); every other file is still written out.
    pub fn finish(mut self) -> io::Result<CaptureSummary> {
        self.finished = true;
        self.flush()?;
        if let Err(e) = self.sink.writer().stop() {
            self.fail(e);
        }
        self.check_failed()?;
        let files = match &self.sink {
            Sink::Pcap(p) => p
                .ifaces
                .iter()
                .map(|i| CaptureFile {
                    path: self.dir.join(&*i.file_name),
                    bytes: i.bytes,
                    frames: i.frames,
                })
                .collect(),
            Sink::PcapNg(n) => vec![CaptureFile {
                path: n.path.clone(),
                bytes: n.writer.get_ref().bytes,
                frames: self.total_frames,
            }],
        };
        Ok(CaptureSummary {
            files,
            total_bytes: self.bytes_written(),
            total_frames: self.total_frames,
        })
    }

    /// Total size of the files so far, counting bytes still buffered and the headers of files
    /// not yet created: what the files will add up to once flushed.
    pub fn bytes_written(&self) -> u64 {
        match &self.sink {
            Sink::Pcap(p) => p.total_bytes,
            Sink::PcapNg(n) => n.writer.get_ref().bytes,
        }
    }

    /// Records the first I/O error, after which the capture is failed; returns `e`.
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.pick_up_writer_failure();
        if self.failed.is_none() {
            self.failed = Some((e.kind(), e.to_string()));
        }
        e
    }

    /// Adopts the writer thread's error, if it had one and the capture had not failed before.
    fn pick_up_writer_failure(&mut self) {
        if self.failed.is_none()
            && let Some(e) = self.writer_failure.get()
        {
            self.failed = Some(e);
        }
    }

    fn check_failed(&mut self) -> io::Result<()> {
        self.pick_up_writer_failure();
        match &self.failed {
            None => Ok(()),
            Some((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
        }
    }
}

impl Drop for Capture {
    /// Without [`finish`](Capture::finish), still writes everything out, ignoring errors
    /// (the writer thread is then joined as the sink is dropped).
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.flush();
        }
    }
}

/// Why writing one frame failed: I/O (the capture is then failed) or bad input (that call only).
enum WriteError {
    Io(io::Error),
    Input(io::Error),
}

// ---------------------------------------------------------------------------------------------
// Classic pcap: one file per interface, written from per-interface buffers.

#[derive(Debug)]
struct PcapFiles {
    header: PcapHeader,
    /// The global header as written at the start of every file.
    header_bytes: [u8; PCAP_HEADER_LEN],
    ifaces: Vec<PcapIface>,
    /// Full size of one buffer.
    file_buffer: usize,
    budget: usize,
    /// Bytes allocated by all buffers (their capacities).
    held: usize,
    /// Interfaces whose buffer has an allocation (a superset, pruned at each eviction).
    holders: Vec<u32>,
    /// Sum of the files' sizes once flushed.
    total_bytes: u64,
    /// The writer thread, which owns the files.
    io: Writer,
    /// Most bytes `held` reached (checked by the tests).
    max_held: usize,
}

#[derive(Debug)]
struct PcapIface {
    /// `<name>.pcap`, shared with the writer's jobs.
    file_name: Arc<str>,
    /// Bytes not yet handed to the writer; starts with the global header while the file is
    /// not created.
    buf: Vec<u8>,
    /// The writer was told to create the file, with the header and every byte recorded
    /// before `buf`.
    created: bool,
    bytes: u64,
    frames: u64,
}

impl PcapFiles {
    fn new(config: &CaptureConfig) -> io::Result<Self> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: config.snaplen,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
        };
        let mut header_bytes = [0; PCAP_HEADER_LEN];
        let written = header
            .write_to(&mut &mut header_bytes[..])
            .expect("a pcap header is 24 bytes");
        debug_assert_eq!(written, PCAP_HEADER_LEN);
        let budget = config.memory_budget.max(MIN_BUFFER);
        let file_buffer = FILE_BUFFER.min(budget);
        Ok(Self {
            header,
            header_bytes,
            ifaces: Vec::new(),
            file_buffer,
            budget,
            held: 0,
            holders: Vec::new(),
            total_bytes: 0,
            io: Writer::spawn(&config.dir, file_buffer)?,
            max_held: 0,
        })
    }

    fn add_interface(&mut self, name: &str) -> CaptureIf {
        let index = u32::try_from(self.ifaces.len()).expect("fewer than 2^32 interfaces");
        self.ifaces.push(PcapIface {
            file_name: format!("{name}.pcap").into(),
            buf: Vec::new(),
            created: false,
            bytes: PCAP_HEADER_LEN as u64,
            frames: 0,
        });
        self.total_bytes += PCAP_HEADER_LEN as u64;
        CaptureIf(index)
    }

    fn record(
        &mut self,
        dir: &Path,
        index: u32,
        timestamp: Duration,
        orig_len: u32,
        data: &[u8],
    ) -> Result<(), WriteError> {
        let i = index as usize;
        if i >= self.ifaces.len() {
            return Err(WriteError::Input(unknown_interface(index)));
        }
        let record_len = PCAP_RECORD_HEADER_LEN + data.len();
        let iface = &self.ifaces[i];
        if iface.buf.len() + record_len > self.file_buffer && !iface.buf.is_empty() {
            self.write_out(i, true).map_err(WriteError::Io)?;
        }
        let iface = &mut self.ifaces[i];
        let header_len = if iface.created || !iface.buf.is_empty() {
            0
        } else {
            PCAP_HEADER_LEN
        };
        let need = header_len + record_len;
        let len = iface.buf.len();
        let capacity = iface.buf.capacity();
        if capacity - len < need {
            let target = (len + need)
                .max(MIN_BUFFER)
                .next_power_of_two()
                .min(self.file_buffer)
                .max(len + need);
            if capacity == 0 && target == self.file_buffer {
                iface.buf = self.io.buffer();
            } else {
                iface.buf.reserve_exact(target - len);
            }
            self.held += iface.buf.capacity() - capacity;
            if capacity == 0 {
                self.holders.push(index);
            }
        }
        let reserved = iface.buf.capacity();
        let header = match record_header(timestamp, orig_len, data.len(), self.header.snaplen) {
            Ok(h) => h,
            Err(e) => {
                let path = dir.join(&*iface.file_name);
                return Err(WriteError::Input(pcap_error(&path, e)));
            }
        };
        if header_len > 0 {
            iface.buf.extend_from_slice(&self.header_bytes);
        }
        iface.buf.extend_from_slice(&header);
        iface.buf.extend_from_slice(data);
        debug_assert_eq!(
            iface.buf.capacity(),
            reserved,
            "the record fit the reservation"
        );
        iface.bytes += record_len as u64;
        iface.frames += 1;
        self.total_bytes += record_len as u64;
        self.max_held = self.max_held.max(self.held);
        if self.held > self.budget {
            self.evict().map_err(WriteError::Io)?;
        }
        self.bound_draining().map_err(WriteError::Io)
    }

    /// Hands the largest buffers to the writer (without replacing them) until at most half
    /// the budget is held.
    fn evict(&mut self) -> io::Result<()> {
        let mut holders = mem::take(&mut self.holders);
        holders.sort_unstable_by_key(|&i| (Reverse(self.ifaces[i as usize].buf.capacity()), i));
        let mut result = Ok(());
        for &i in &holders {
            if self.held <= self.budget / 2 {
                break;
            }
            result = self.write_out(i as usize, false);
            if result.is_err() {
                break;
            }
        }
        holders.retain(|&i| self.ifaces[i as usize].buf.capacity() > 0);
        self.holders = holders;
        result
    }

    /// Waits for the writer until the buffers held and those handed over without a
    /// replacement (evicted or flushed) together stay within the budget plus a few buffers:
    /// the memory they take is bounded as if they had been written out at once.
    fn bound_draining(&mut self) -> io::Result<()> {
        let limit = (self.budget + DRAIN_SLACK * self.file_buffer).saturating_sub(self.held);
        self.io.bound_draining(limit)
    }

    /// Hands every buffer to the writer (and has it create the files not yet created), waits
    /// for it to have written them, and returns the first error.
    fn flush_all(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        for i in 0..self.ifaces.len() {
            let mut r = self.write_out(i, false);
            if r.is_ok() {
                r = self.bound_draining();
            }
            if result.is_ok() {
                result = r;
            }
        }
        self.holders.clear();
        let synced = self.io.sync();
        result.and(synced)
    }

    /// Hands interface `i`'s buffer to the writer, to be appended to its file (created first,
    /// with its header, if the writer was not told to create it yet). If `keep`, the
    /// interface goes on with an empty buffer of the same capacity (a spare when it is a full
    /// one, so a busy interface allocates nothing); otherwise it holds no buffer any more.
    ///
    /// An I/O error of the write is the writer's (see [`Writer`]); this fails only if the
    /// writer thread is gone.
    fn write_out(&mut self, i: usize, keep: bool) -> io::Result<()> {
        let iface = &mut self.ifaces[i];
        let capacity = iface.buf.capacity();
        let (buf, replaced) = if iface.buf.is_empty() {
            if !keep {
                self.held -= capacity;
                iface.buf = Vec::new();
            }
            if iface.created {
                return Ok(());
            }
            (self.header_bytes.to_vec(), false)
        } else if keep {
            let spare = if capacity == self.file_buffer {
                self.io.buffer()
            } else {
                Vec::with_capacity(capacity)
            };
            self.held = self.held - capacity + spare.capacity();
            (mem::replace(&mut iface.buf, spare), true)
        } else {
            self.held -= capacity;
            (mem::take(&mut iface.buf), false)
        };
        let create = !iface.created;
        iface.created = true;
        let file = u32::try_from(i).expect("fewer than 2^32 interfaces");
        self.io
            .hand_over(file, &iface.file_name, create, buf, replaced)
    }
}

/// The 16-byte header of a classic pcap record (nanosecond resolution, little-endian):
/// seconds, nanoseconds, captured length, original length. Refuses what pcap-file's
/// `PcapPacket::write_to` refuses, with its messages: seconds beyond 32 bits, or a captured
/// length above the snaplen or the original length.
fn record_header(
    timestamp: Duration,
    orig_len: u32,
    incl_len: usize,
    snaplen: u32,
) -> Result<[u8; PCAP_RECORD_HEADER_LEN], PcapError> {
    let ts_sec = u32::try_from(timestamp.as_secs())
        .map_err(|_| PcapError::InvalidField("PcapPacket: timestamp_secs > u32::MAX"))?;
    let incl_len = u32::try_from(incl_len)
        .map_err(|_| PcapError::InvalidField("PcapPacket: incl_len > u32::MAX"))?;
    if incl_len > snaplen {
        return Err(PcapError::InvalidField("PcapPacket: incl_len > snap_len"));
    }
    if incl_len > orig_len {
        return Err(PcapError::InvalidField("PcapPacket: incl_len > orig_len"));
    }
    let mut h = [0u8; PCAP_RECORD_HEADER_LEN];
    h[0..4].copy_from_slice(&ts_sec.to_le_bytes());
    h[4..8].copy_from_slice(&timestamp.subsec_nanos().to_le_bytes());
    h[8..12].copy_from_slice(&incl_len.to_le_bytes());
    h[12..16].copy_from_slice(&orig_len.to_le_bytes());
    Ok(h)
}

// ---------------------------------------------------------------------------------------------
// Pcapng: one file for all interfaces.

struct PcapNgFile {
    path: PathBuf,
    writer: PcapNgWriter<CountingWriter<ChunkWriter>>,
    interfaces: u32,
    /// Reused for every Enhanced Packet Block so that writing one allocates nothing: the
    /// frame bytes (copied, as the block must own them to keep these buffers `'static`), its
    /// options, and the comment string.
    frame: Vec<u8>,
    options: Vec<EnhancedPacketOption<'static>>,
    comment: String,
}

impl std::fmt::Debug for PcapNgFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapNgFile")
            .field("path", &self.path)
            .field("interfaces", &self.interfaces)
            .field("bytes", &self.writer.get_ref().bytes)
            .finish_non_exhaustive()
    }
}

impl PcapNgFile {
    fn create(config: &CaptureConfig) -> io::Result<Self> {
        let path = config.dir.join(&config.pcapng_name);
        // Created here so that an error comes back from `Capture::new`; the writer thread
        // then only appends to it.
        File::create(&path).map_err(|e| path_error(&path, "cannot create", e))?;
        let sink = CountingWriter {
            inner: ChunkWriter {
                name: config.pcapng_name.as_str().into(),
                chunk: Vec::new(),
                io: Writer::spawn(&config.dir, PCAPNG_BUFFER)?,
            },
            bytes: 0,
        };
        let section = SectionHeaderBlock {
            endianness: Endianness::Little,
            major_version: 1,
            minor_version: 0,
            section_length: -1,
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                USER_APPLICATION,
            ))],
        };
        let writer =
            PcapNgWriter::with_section_header(sink, section).map_err(|e| pcap_error(&path, e))?;
        Ok(Self {
            path,
            writer,
            interfaces: 0,
            frame: Vec::new(),
            options: Vec::with_capacity(1),
            comment: String::new(),
        })
    }

    fn add_interface(&mut self, name: &str, snaplen: u32) -> (CaptureIf, io::Result<()>) {
        let ifc = CaptureIf(self.interfaces);
        self.interfaces = self
            .interfaces
            .checked_add(1)
            .expect("fewer than 2^32 interfaces");
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed(name)),
                // pcap-file writes EPB timestamps in nanoseconds but would not say so.
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        let result = self
            .writer
            .write_block(&Block::InterfaceDescription(idb))
            .map(drop)
            .map_err(|e| pcap_error(&self.path, e));
        (ifc, result)
    }

    fn record(
        &mut self,
        index: u32,
        timestamp: Duration,
        orig_len: u32,
        data: &[u8],
        comment: Option<&str>,
    ) -> Result<(), WriteError> {
        if index >= self.interfaces {
            return Err(WriteError::Input(unknown_interface(index)));
        }
        let mut frame = mem::take(&mut self.frame);
        frame.clear();
        frame.extend_from_slice(data);
        let mut options = mem::take(&mut self.options);
        if let Some(comment) = comment {
            let mut text = mem::take(&mut self.comment);
            text.clear();
            text.push_str(truncate_utf8(comment, MAX_OPTION_LEN));
            options.push(EnhancedPacketOption::Comment(Cow::Owned(text)));
        }
        let block = Block::EnhancedPacket(EnhancedPacketBlock {
            interface_id: index,
            timestamp,
            original_len: orig_len,
            data: Cow::Owned(frame),
            options,
        });
        let result = self.writer.write_block(&block);
        // Take the reusable buffers back.
        let Block::EnhancedPacket(epb) = block else {
            unreachable!("built as an enhanced packet block")
        };
        if let Cow::Owned(frame) = epb.data {
            self.frame = frame;
        }
        let mut options = epb.options;
        if let Some(EnhancedPacketOption::Comment(Cow::Owned(text))) = options.pop() {
            self.comment = text;
        }
        options.clear();
        self.options = options;
        match result {
            Ok(_) => Ok(()),
            Err(PcapError::IoError(e)) => {
                Err(WriteError::Io(path_error(&self.path, "cannot write", e)))
            }
            Err(e) => Err(WriteError::Input(pcap_error(&self.path, e))),
        }
    }

    /// Hands the buffered bytes to the writer and waits for it to have written them.
    fn flush(&mut self) -> io::Result<()> {
        let chunks = &mut self.writer.get_mut().inner;
        let handed = chunks.hand_over(false);
        let synced = chunks.io.sync();
        handed
            .and(synced)
            .map_err(|e| path_error(&self.path, "cannot write", e))
    }
}

/// Counts the bytes going through (the pcapng file's size, buffered bytes included).
struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.write_all(data)?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The pcapng file's buffer: fills a buffer and hands it to the writer thread when the next
/// write would not fit (a write larger than a buffer grows it).
struct ChunkWriter {
    name: Arc<str>,
    chunk: Vec<u8>,
    io: Writer,
}

impl ChunkWriter {
    /// Hands the buffered bytes to the writer; if `replace`, takes a spare for what follows.
    fn hand_over(&mut self, replace: bool) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let next = if replace {
            self.io.buffer()
        } else {
            Vec::new()
        };
        let chunk = mem::replace(&mut self.chunk, next);
        self.io
            .hand_over(PCAPNG_FILE, &self.name, false, chunk, replace)
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.chunk.len() + data.len() > self.chunk.capacity() && !self.chunk.is_empty() {
            self.hand_over(true)?;
        }
        if self.chunk.capacity() == 0 {
            self.chunk = self.io.buffer();
        }
        self.chunk.extend_from_slice(data);
        Ok(())
    }

    /// Does nothing: [`PcapNgFile::flush`] hands the bytes over and waits for the writer.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The writer thread: owns the files and does every write to them, in the order handed over.

/// The simulation's end of the writer thread. Buffers are handed over whole (no copy) through
/// a [`Queue`]; the thread appends each to its file, in order, and gives it back emptied, to
/// be reused. The thread keeps the files most recently written open (at most [`MAX_OPEN`]).
///
/// Memory in the queue is bounded two ways: buffers handed over full and replaced at once
/// by a spare (`replaced`) are at most [`MAX_IN_FLIGHT`]; buffers handed over without a
/// replacement (evicted or flushed) are counted in `draining`, which the pcap files keep
/// within their budget. Beyond either bound the simulation waits for the thread.
///
/// The thread records its first I/O error in [`Failure`] and carries on with the other
/// files (a file that failed is not written again: a retry could duplicate a partial
/// write); the capture picks the error up at its next call.
#[derive(Debug)]
struct Writer {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    failure: Arc<Failure>,
    /// Size of the buffers kept for reuse.
    buffer_size: usize,
    spare: Vec<Vec<u8>>,
    /// What came back, taken out of the queue in one go (kept for its allocation).
    returned: Vec<Back>,
    /// Buffers handed over with a replacement, not yet back.
    replaced: usize,
    /// Cost (capacity plus [`JOB_COST`]) of the buffers handed over without a replacement,
    /// not yet back.
    draining: usize,
    /// The last [`Job::Sync`] was answered.
    synced: bool,
    /// Buffers handed over so far (checked by the tests).
    handed: u64,
    /// The thread's file activity as of the last [`sync`](Self::sync) (checked by the tests).
    stats: IoStats,
}

/// What the writer thread is asked to do, in order.
#[derive(Debug)]
enum Job {
    /// Append `buf` to the file `<dir>/<name>` (whose id is `file`), creating it first
    /// (truncating any old one) if `create`.
    Write {
        file: u32,
        name: Arc<str>,
        create: bool,
        buf: Vec<u8>,
        replaced: bool,
    },
    /// Answer [`Back::Synced`]: every job before it is done.
    Sync,
}

/// What the writer thread gives back.
#[derive(Debug)]
enum Back {
    /// A buffer written (or dropped after an error), emptied, with its `replaced` flag.
    Buffer { buf: Vec<u8>, replaced: bool },
    /// Every job before the [`Job::Sync`] is done.
    Synced(IoStats),
}

/// The jobs for the writer thread and what it gives back, under one lock. A side with
/// nothing to do spins a little watching the other's counter ([`spin_until`]), then sleeps
/// on its condition variable; the other wakes it only when there is enough for it
/// ([`WAKE_BATCH`] items, or the other is about to wait, or a sync): a futex call per few
/// buffers at most rather than per buffer.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<QueueState>,
    /// Jobs pushed so far: what the writer watches while it spins before sleeping.
    pushed: AtomicU64,
    /// Items given back so far: what the simulation watches while it spins before sleeping.
    given: AtomicU64,
    /// The writer waits here for jobs.
    jobs_ready: Condvar,
    /// The simulation waits here for buffers to come back, or for a sync's answer.
    back_ready: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    back: Vec<Back>,
    /// The writer waits on `jobs_ready`.
    writer_asleep: bool,
    /// The simulation waits on `back_ready`.
    sim_asleep: bool,
    /// No more jobs will come: the writer ends once `jobs` is empty.
    closed: bool,
    /// The writer thread has ended (or is unwinding from a panic).
    writer_gone: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counters of the writer thread's file activity, checked by the tests.
#[derive(Debug, Default, Clone, Copy)]
struct IoStats {
    max_open: u32,
    opens: u64,
    open: u32,
}

/// The writer thread's first I/O error, as the capture keeps it.
#[derive(Debug, Default)]
struct Failure {
    failed: AtomicBool,
    first: Mutex<Option<(io::ErrorKind, String)>>,
}

impl Failure {
    fn set(&self, e: &io::Error) {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some((e.kind(), e.to_string()));
        }
        self.failed.store(true, Ordering::Release);
    }

    /// The error, if any (one atomic load when there is none).
    fn get(&self) -> Option<(io::ErrorKind, String)> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Writer {
    /// Starts the thread, writing into `dir`; spare buffers are of `buffer_size` bytes.
    fn spawn(dir: &Path, buffer_size: usize) -> io::Result<Self> {
        let queue = Arc::new(Queue::default());
        let failure = Arc::new(Failure::default());
        let thread = {
            let dir = dir.to_owned();
            let queue = Arc::clone(&queue);
            let failure = Arc::clone(&failure);
            thread::Builder::new()
                .name("capture-writer".into())
                .spawn(move || write_files(&dir, &queue, &failure))
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot start capture writer: {e}"))
                })?
        };
        Ok(Self {
            queue,
            thread: Some(thread),
            failure,
            buffer_size,
            spare: Vec::new(),
            returned: Vec::new(),
            replaced: 0,
            draining: 0,
            synced: false,
            handed: 0,
            stats: IoStats::default(),
        })
    }

    /// An empty buffer of `buffer_size` bytes: a spare if there is one.
    fn buffer(&mut self) -> Vec<u8> {
        if self.spare.is_empty() {
            self.collect();
        }
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buffer_size))
    }

    /// Queues `buf` to be appended to file `file` (`<dir>/<name>`), created first if
    /// `create`. `replaced`: the buffer was replaced by a spare (at most [`MAX_IN_FLIGHT`]
    /// such in flight: waits for the thread beyond); else it counts in `draining`.
    fn hand_over(
        &mut self,
        file: u32,
        name: &Arc<str>,
        create: bool,
        buf: Vec<u8>,
        replaced: bool,
    ) -> io::Result<()> {
        while replaced && self.replaced >= MAX_IN_FLIGHT {
            self.wait()?;
        }
        let cost = buf.capacity() + JOB_COST;
        self.push(Job::Write {
            file,
            name: Arc::clone(name),
            create,
            buf,
            replaced,
        })?;
        if replaced {
            self.replaced += 1;
        } else {
            self.draining += cost;
        }
        self.handed += 1;
        Ok(())
    }

    /// Waits for the thread until at most `limit` bytes are draining.
    fn bound_draining(&mut self, limit: usize) -> io::Result<()> {
        if self.draining > limit {
            self.collect();
            while self.draining > limit {
                self.wait()?;
            }
        }
        Ok(())
    }

    /// Waits for the thread to have done every job queued so far.
    fn sync(&mut self) -> io::Result<()> {
        self.synced = false;
        self.push(Job::Sync)?;
        while !self.synced {
            self.wait()?;
        }
        Ok(())
    }

    /// Tells the thread to stop once its queue is done, and waits for it: every file is then
    /// written and closed.
    fn stop(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let mut state = self.queue.lock();
        state.closed = true;
        // Ends the writer's spin, if it spins.
        self.queue.pushed.fetch_add(1, Ordering::Release);
        let wake = mem::take(&mut state.writer_asleep);
        drop(state);
        if wake {
            self.queue.jobs_ready.notify_one();
        }
        thread.join().map_err(|_| writer_gone())
    }

    /// Queues `job`, waking the writer if it sleeps and there is enough to do.
    fn push(&mut self, job: Job) -> io::Result<()> {
        let urgent = matches!(job, Job::Sync);
        let mut state = self.queue.lock();
        if state.writer_gone || state.closed {
            return Err(writer_gone());
        }
        state.jobs.push_back(job);
        self.queue.pushed.fetch_add(1, Ordering::Release);
        let wake = state.writer_asleep && (urgent || state.jobs.len() >= WAKE_BATCH);
        if wake {
            state.writer_asleep = false;
        }
        drop(state);
        if wake {
            self.queue.jobs_ready.notify_one();
        }
        Ok(())
    }

    /// Takes back what the thread gave back, without waiting.
    fn collect(&mut self) {
        let mut returned = mem::take(&mut self.returned);
        mem::swap(&mut self.queue.lock().back, &mut returned);
        self.take_back(&mut returned);
        self.returned = returned;
    }

    /// Waits for something to come back (waking the writer first if it sleeps on jobs), and
    /// takes it.
    fn wait(&mut self) -> io::Result<()> {
        let mut returned = mem::take(&mut self.returned);
        {
            let mut state = self.queue.lock();
            if state.writer_asleep && !state.jobs.is_empty() {
                state.writer_asleep = false;
                self.queue.jobs_ready.notify_one();
            }
            let mut spun = false;
            while state.back.is_empty() {
                if state.writer_gone {
                    return Err(writer_gone());
                }
                if !spun {
                    spun = true;
                    let seen = self.queue.given.load(Ordering::Acquire);
                    drop(state);
                    spin_until(|| self.queue.given.load(Ordering::Acquire) != seen);
                    state = self.queue.lock();
                    continue;
                }
                state.sim_asleep = true;
                state = self
                    .queue
                    .back_ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.sim_asleep = false;
            mem::swap(&mut state.back, &mut returned);
        }
        self.take_back(&mut returned);
        self.returned = returned;
        Ok(())
    }

    fn take_back(&mut self, returned: &mut Vec<Back>) {
        for back in returned.drain(..) {
            match back {
                Back::Buffer { buf, replaced } => {
                    if replaced {
                        self.replaced -= 1;
                    } else {
                        self.draining -= buf.capacity() + JOB_COST;
                    }
                    if buf.capacity() == self.buffer_size && self.spare.len() < MAX_SPARE {
                        self.spare.push(buf);
                    }
                }
                Back::Synced(stats) => {
                    self.stats = stats;
                    self.synced = true;
                }
            }
        }
    }
}

impl Drop for Writer {
    /// Lets the thread finish its queue and waits for it.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Spins until `done`, for at most [`SPIN_ROUNDS`] rounds of a few pause instructions and a
/// `yield_now` (about 200 µs on an idle machine; on a busy one, the yields let other threads
/// run). A thread that would sleep spins first: waking a sleeping thread costs a system call
/// on the other side, and on a virtual machine an interrupt to an idle CPU, each about as
/// long as writing a buffer.
fn spin_until(done: impl Fn() -> bool) {
    for _ in 0..SPIN_ROUNDS {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
        if done() {
            return;
        }
        thread::yield_now();
    }
}

/// Marks the writer thread gone when it ends, even by a panic, and wakes the simulation so
/// that it never waits for a thread that is not there.
struct Gone<'a>(&'a Queue);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.writer_gone = true;
        state.sim_asleep = false;
        self.0.given.fetch_add(1, Ordering::Release);
        drop(state);
        self.0.back_ready.notify_all();
    }
}

/// The writer thread: does the jobs in order until the queue is closed and empty, then
/// closes the files. Reports I/O errors in `failure` and never panics on one.
fn write_files(dir: &Path, queue: &Queue, failure: &Failure) {
    let _gone = Gone(queue);
    let mut files = OpenFiles {
        dir,
        open: Vec::new(),
        clock: 0,
        stats: IoStats::default(),
    };
    // Files whose write failed: not written again.
    let mut broken = BTreeSet::new();
    let mut done = None;
    loop {
        // Give back what was done and take the next job, under one lock.
        let job = {
            let mut spun = false;
            let mut state = queue.lock();
            let mut wake = false;
            if let Some(back) = done.take() {
                wake = matches!(back, Back::Synced(_));
                state.back.push(back);
                queue.given.fetch_add(1, Ordering::Release);
            }
            wake = state.sim_asleep
                && (wake || state.back.len() >= WAKE_BATCH || state.jobs.is_empty());
            if wake {
                state.sim_asleep = false;
                queue.back_ready.notify_one();
            }
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    break job;
                }
                if state.closed {
                    return;
                }
                if !spun {
                    spun = true;
                    let seen = queue.pushed.load(Ordering::Acquire);
                    drop(state);
                    spin_until(|| queue.pushed.load(Ordering::Acquire) != seen);
                    state = queue.lock();
                    continue;
                }
                state.writer_asleep = true;
                state = queue
                    .jobs_ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.writer_asleep = false;
            }
        };
        done = Some(match job {
            Job::Write {
                file,
                name,
                create,
                mut buf,
                replaced,
            } => {
                if !broken.contains(&file)
                    && let Err(e) = files.append(file, &name, create, &buf)
                {
                    broken.insert(file);
                    failure.set(&e);
                }
                buf.clear();
                Back::Buffer { buf, replaced }
            }
            Job::Sync => {
                files.stats.open = files.open.len() as u32;
                Back::Synced(files.stats)
            }
        });
    }
}

/// The writer thread's files: the most recently written kept open.
struct OpenFiles<'a> {
    dir: &'a Path,
    /// Files kept open: (id, file, last write), at most [`MAX_OPEN`].
    open: Vec<(u32, File, u64)>,
    /// Counts writes, to find the least recently written open file.
    clock: u64,
    stats: IoStats,
}

impl OpenFiles<'_> {
    /// Appends `bytes` to file `id` (`<dir>/<name>`), creating it first if `create`, else
    /// reopening it for appending if it was closed to make room.
    fn append(&mut self, id: u32, name: &str, create: bool, bytes: &[u8]) -> io::Result<()> {
        self.clock += 1;
        if let Some((_, file, used)) = self.open.iter_mut().find(|(f, _, _)| *f == id) {
            *used = self.clock;
            return file
                .write_all(bytes)
                .map_err(|e| path_error(&self.dir.join(name), "cannot write", e));
        }
        let path = self.dir.join(name);
        let mut file = if create {
            File::create(&path)
        } else {
            OpenOptions::new().append(true).open(&path)
        }
        .map_err(|e| path_error(&path, "cannot open", e))?;
        self.stats.opens += 1;
        let written = file
            .write_all(bytes)
            .map_err(|e| path_error(&path, "cannot write", e));
        if self.open.len() >= MAX_OPEN {
            // Close the least recently written.
            let lru = (0..self.open.len())
                .min_by_key(|&k| self.open[k].2)
                .expect("MAX_OPEN > 0");
            self.open.swap_remove(lru);
        }
        self.open.push((id, file, self.clock));
        self.stats.max_open = self.stats.max_open.max(self.open.len() as u32);
        written
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty")
    } else if name == "." || name == ".." {
        Err("not a file name")
    } else if name.len() > MAX_NAME_LEN {
        Err("too long")
    } else if name.contains(['/', '\\', '\0']) {
        Err("contains '/', '\\' or NUL")
    } else {
        Ok(())
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn path_error(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

fn pcap_error(path: &Path, e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => path_error(path, "cannot write", e),
        other => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot record into {}: {other}", path.display()),
        ),
    }
}

fn unknown_interface(index: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("capture interface #{index} is not registered"),
    )
}

/// The writer thread stopped before it was told to (it panicked): nothing more is written.
fn writer_gone() -> io::Error {
    io::Error::other("the capture writer thread stopped unexpectedly")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use pcap_file::pcap::PcapReader;
    use pcap_file::pcapng::PcapNgReader;

    use super::*;

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("netsim-capture-{}-{test}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A recognisable frame: `len` bytes derived from `seed`.
    fn frame(seed: u32, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (seed as usize * 31 + i * 7) as u8)
            .collect()
    }

    fn read_pcap(path: &Path) -> (PcapHeader, Vec<(Duration, u32, Vec<u8>)>) {
        let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
        let header = reader.header();
        let mut frames = Vec::new();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            frames.push((packet.timestamp, packet.orig_len, packet.data.into_owned()));
        }
        (header, frames)
    }

    const EXPECTED_HEADER: [u8; 24] = [
        0x4d, 0x3c, 0xb2, 0xa1, // magic, nanosecond resolution, little-endian
        0x02, 0x00, 0x04, 0x00, // version 2.4
        0x00, 0x00, 0x00, 0x00, // thiszone
        0x00, 0x00, 0x00, 0x00, // sigfigs
        0x00, 0x00, 0x04, 0x00, // snaplen 262144
        0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
    ];

    #[test]
    fn record_headers_are_the_bytes_pcap_file_writes() {
        use pcap_file::pcap::{PcapPacket, PcapWriter};
        let header = PcapFiles::new(&CaptureConfig::new("unused", CaptureFormat::Pcap))
            .unwrap()
            .header;
        for (t, orig, incl) in [
            (0u64, 60u32, 60usize),
            (1, 1514, 1514),
            (999_999_999, 300_000, 262_144),
            (4_294_967_295_999_999_999, 42, 42),
        ] {
            let data = frame(t as u32, incl);
            let mut theirs = Vec::new();
            PcapWriter::with_header(&mut theirs, header)
                .unwrap()
                .write_packet(&PcapPacket::new(Duration::from_nanos(t), orig, &data))
                .unwrap();
            let ours = record_header(Duration::from_nanos(t), orig, incl, header.snaplen).unwrap();
            assert_eq!(
                &theirs[PCAP_HEADER_LEN..PCAP_HEADER_LEN + 16],
                &ours[..],
                "t={t}"
            );
        }
        // What pcap-file refuses, refused with its message.
        for (t, orig, incl) in [
            (4_294_967_296_000_000_000u64, 60u32, 60usize),
            (0, 60, 262_145),
            (0, 59, 60),
        ] {
            let data = frame(0, incl);
            let mut sink = Vec::new();
            let mut w = PcapWriter::with_header(&mut sink, header).unwrap();
            let theirs = w
                .write_packet(&PcapPacket::new(Duration::from_nanos(t), orig, &data))
                .unwrap_err();
            let ours =
                record_header(Duration::from_nanos(t), orig, incl, header.snaplen).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string());
        }
    }

    #[test]
    fn files_closed_for_room_are_reopened_for_appending() {
        let tmp = TempDir::new("reopen");
        let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
        config.memory_budget = 4 << 10;
        let mut cap = Capture::new(config).unwrap();
        let n = MAX_OPEN + 20;
        let ifcs: Vec<CaptureIf> = (0..n)
            .map(|i| cap.add_interface(&format!("h{i}")))
            .collect();
        let mut expected = vec![Vec::new(); n];
        for k in 0..(4 * n as u32) {
            let i = (k as usize * 7) % n;
            let f = frame(k, 100 + k as usize % 300);
            cap.record(&ifcs[i], SimTime::from_nanos(u64::from(k)), &f, None)
                .unwrap();
            expected[i].push((Duration::from_nanos(u64::from(k)), f.len() as u32, f));
        }
        cap.flush().unwrap();
        let Sink::Pcap(p) = &cap.sink else {
            unreachable!()
        };
        assert!(
            p.io.stats.opens > n as u64,
            "some files were closed and reopened"
        );
        assert!(p.io.stats.max_open as usize <= MAX_OPEN);
        cap.finish().unwrap();
        for (i, want) in expected.iter().enumerate() {
            let (_, frames) = read_pcap(&tmp.path(&format!("h{i}.pcap")));
            assert_eq!(&frames, want, "interface {i}");
        }
    }

    #[test]
    fn pcap_frames_and_ns_timestamps_read_back() {
        let tmp = TempDir::new("roundtrip");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        let a = cap.add_interface("client-eth0");
        let b = cap.add_interface("r1-eth0");
        let times = [
            0,
            1,
            999_999_999,
            1_000_000_000,
            1_234_567_891,
            86_400_000_000_007,
        ];
        let mut expected_a = Vec::new();
        for (k, &t) in times.iter().enumerate() {
            let f = frame(k as u32, 60 + k * 100);
            cap.record(&a, SimTime::from_nanos(t), &f, Some("ignored for pcap"))
                .unwrap();
            expected_a.push((Duration::from_nanos(t), f.len() as u32, f));
        }
        let fb = frame(99, 1514);
        cap.record(&b, SimTime::from_nanos(5), &fb, None).unwrap();
        let written = cap.bytes_written();
        let summary = cap.finish().unwrap();

        let (header, frames) = read_pcap(&tmp.path("client-eth0.pcap"));
        assert_eq!(header.ts_resolution, TsResolution::NanoSecond);
        assert_eq!(header.datalink, DataLink::ETHERNET);
        assert_eq!(frames, expected_a);
        let (_, frames) = read_pcap(&tmp.path("r1-eth0.pcap"));
        assert_eq!(frames, vec![(Duration::from_nanos(5), 1514, fb)]);

        assert_eq!(summary.files.len(), 2);
        assert_eq!(summary.files[0].path, tmp.path("client-eth0.pcap"));
        assert_eq!(summary.files[0].frames, times.len() as u64);
        assert_eq!(summary.files[1].frames, 1);
        assert_eq!(summary.total_frames, times.len() as u64 + 1);
        assert_eq!(summary.total_bytes, written);
        for file in &summary.files {
            assert_eq!(fs::metadata(&file.path).unwrap().len(), file.bytes);
        }
        assert_eq!(summary.files.iter().map(|f| f.bytes).sum::<u64>(), written);
    }

    #[test]
    fn pcap_global_header_bytes_are_exact() {
        let tmp = TempDir::new("header");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        let a = cap.add_interface("h-eth0");
        let f = frame(1, 42);
        cap.record(&a, SimTime::from_nanos(1_500_000_001), &f, None)
            .unwrap();
        cap.finish().unwrap();
        let bytes = fs::read(tmp.path("h-eth0.pcap")).unwrap();
        assert_eq!(bytes[..24], EXPECTED_HEADER);
        // The record header: ts_sec 1, ts_nsec 500000001, incl_len 42, orig_len 42.
        let mut record = Vec::new();
        for v in [1u32, 500_000_001, 42, 42] {
            record.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(bytes[24..40], record[..]);
        assert_eq!(bytes[40..], f[..]);
    }

    #[test]
    fn idle_interface_gets_a_header_only_file() {
        let tmp = TempDir::new("idle");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        cap.add_interface("idle-eth0");
        let busy = cap.add_interface("busy-eth0");
        cap.record(&busy, SimTime::ZERO, &frame(0, 60), None)
            .unwrap();
        let summary = cap.finish().unwrap();
        assert_eq!(
            fs::read(tmp.path("idle-eth0.pcap")).unwrap(),
            EXPECTED_HEADER
        );
        assert_eq!(summary.files[0].bytes, 24);
        assert_eq!(summary.files[0].frames, 0);
        let (_, frames) = read_pcap(&tmp.path("idle-eth0.pcap"));
        assert!(frames.is_empty());
    }

    #[test]
    fn long_frames_are_cut_at_snaplen_keeping_the_original_length() {
        let tmp = TempDir::new("snaplen");
        let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
        config.snaplen = 100;
        let mut cap = Capture::new(config).unwrap();
        let a = cap.add_interface("a");
        let f = frame(3, 300);
        cap.record(&a, SimTime::ZERO, &f, None).unwrap();
        cap.finish().unwrap();
        let bytes = fs::read(tmp.path("a.pcap")).unwrap();
        assert_eq!(bytes[16..20], 100u32.to_le_bytes());
        assert_eq!(bytes[24 + 8..24 + 16], [100, 0, 0, 0, 44, 1, 0, 0]); // incl 100, orig 300
        assert_eq!(bytes[40..], f[..100]);
        // (pcap-file 2.0.0's reader rejects records whose orig_len exceeds the snaplen, so
        // this is checked on the bytes; tshark reads such files.)
    }

    #[test]
    fn timestamp_past_u32_seconds_fails_that_call_only() {
        let tmp = TempDir::new("tsrange");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        let a = cap.add_interface("a");
        let too_late = SimTime::from_nanos((u64::from(u32::MAX) + 1) * 1_000_000_000);
        let err = cap.record(&a, too_late, &frame(0, 60), None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("a.pcap"), "{err}");
        cap.record(&a, SimTime::from_nanos(7), &frame(1, 60), None)
            .unwrap();
        cap.finish().unwrap();
        let (_, frames) = read_pcap(&tmp.path("a.pcap"));
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn pcapng_has_names_tsresol_comments_and_ns_timestamps() {
        let tmp = TempDir::new("pcapng");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::PcapNg)).unwrap();
        let a = cap.add_interface("client-eth0");
        let b = cap.add_interface("r1-eth0");
        let fa = frame(1, 60);
        let fb = frame(2, 1514);
        let path = "dev_hard_start_xmit ← sch_direct_xmit ← __qdisc_run";
        cap.record(&a, SimTime::from_nanos(1_234_567_891), &fa, Some(path))
            .unwrap();
        cap.record(&b, SimTime::from_nanos(2_000_000_003), &fb, None)
            .unwrap();
        cap.record(&a, SimTime::from_nanos(3_000_000_000), &fb[..61], Some("x"))
            .unwrap();
        // A comment longer than an option can hold is cut on a character boundary.
        let long = "é".repeat(40_000);
        cap.record(&b, SimTime::from_nanos(4), &fa, Some(&long))
            .unwrap();
        // An interface registered after frames were written gets its block there.
        let late = cap.add_interface("late-eth9");
        cap.record(&late, SimTime::from_nanos(5), &fa, None)
            .unwrap();
        let written = cap.bytes_written();
        let summary = cap.finish().unwrap();
        let file = tmp.path("capture.pcapng");
        assert_eq!(summary.files.len(), 1);
        assert_eq!(summary.files[0].path, file);
        assert_eq!(summary.files[0].frames, 5);
        assert_eq!(summary.total_bytes, written);
        assert_eq!(fs::metadata(&file).unwrap().len(), written);

        let mut reader = PcapNgReader::new(File::open(&file).unwrap()).unwrap();
        assert_eq!(reader.section().endianness, Endianness::Little);
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            if let Block::EnhancedPacket(epb) = block.unwrap() {
                let comments: Vec<String> = epb
                    .options
                    .iter()
                    .map(|o| match o {
                        EnhancedPacketOption::Comment(c) => c.to_string(),
                        other => panic!("unexpected option {other:?}"),
                    })
                    .collect();
                packets.push((
                    epb.interface_id,
                    epb.timestamp,
                    epb.original_len,
                    epb.data.into_owned(),
                    comments,
                ));
            }
        }
        let interfaces = reader.interfaces();
        assert_eq!(interfaces.len(), 3);
        for (idb, name) in interfaces
            .iter()
            .zip(["client-eth0", "r1-eth0", "late-eth9"])
        {
            assert_eq!(idb.linktype, DataLink::ETHERNET);
            assert_eq!(idb.snaplen, DEFAULT_SNAPLEN);
            assert_eq!(
                idb.options,
                vec![
                    InterfaceDescriptionOption::IfName(Cow::Borrowed(name)),
                    InterfaceDescriptionOption::IfTsResol(9),
                ]
            );
        }
        let cut = "é".repeat(MAX_OPTION_LEN / 2);
        assert_eq!(
            packets,
            vec![
                (
                    0,
                    Duration::from_nanos(1_234_567_891),
                    60,
                    fa.clone(),
                    vec![path.to_owned()]
                ),
                (
                    1,
                    Duration::from_nanos(2_000_000_003),
                    1514,
                    fb.clone(),
                    vec![]
                ),
                (
                    0,
                    Duration::from_secs(3),
                    61,
                    fb[..61].to_vec(),
                    vec!["x".to_owned()]
                ),
                (1, Duration::from_nanos(4), 60, fa.clone(), vec![cut]),
                (2, Duration::from_nanos(5), 60, fa, vec![]),
            ]
        );
    }

    #[test]
    fn five_thousand_interfaces_with_few_files_open() {
        let tmp = TempDir::new("many");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        let n = 5_000;
        let ifcs: Vec<CaptureIf> = (0..n)
            .map(|i| cap.add_interface(&format!("h{i}-eth0")))
            .collect();
        for round in 0..3u32 {
            for (i, ifc) in ifcs.iter().enumerate() {
                let t = SimTime::from_nanos(u64::from(round) * 1_000 + i as u64);
                cap.record(ifc, t, &frame(i as u32 + round, 60 + i % 100), None)
                    .unwrap();
            }
        }
        let Sink::Pcap(p) = &cap.sink else {
            unreachable!()
        };
        // Nothing handed to the writer yet: 15,000 small frames fit in the budget.
        assert_eq!(p.io.handed, 0);
        cap.flush().unwrap();
        let Sink::Pcap(p) = &cap.sink else {
            unreachable!()
        };
        assert_eq!(p.io.stats.max_open as usize, MAX_OPEN);
        assert_eq!(p.io.stats.opens, n as u64);
        let summary = cap.finish().unwrap();
        assert_eq!(summary.files.len(), n);
        for (i, file) in summary.files.iter().enumerate() {
            let (_, frames) = read_pcap(&file.path);
            assert_eq!(frames.len(), 3);
            assert_eq!(frames[2].2, frame(i as u32 + 2, 60 + i % 100));
        }
    }

    #[test]
    fn at_most_max_open_files_and_one_open_per_file_at_finish() {
        let tmp = TempDir::new("opens");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        let ifcs: Vec<CaptureIf> = (0..300)
            .map(|i| cap.add_interface(&format!("h{i}")))
            .collect();
        for ifc in &ifcs {
            cap.record(ifc, SimTime::ZERO, &frame(0, 100), None)
                .unwrap();
        }
        cap.flush().unwrap();
        let Sink::Pcap(p) = &cap.sink else {
            unreachable!()
        };
        assert_eq!(p.io.stats.max_open as usize, MAX_OPEN);
        assert_eq!(p.io.stats.opens, 300);
        assert_eq!(p.io.stats.open as usize, MAX_OPEN);
        cap.finish().unwrap();
    }

    #[test]
    fn tiny_budget_evicts_and_keeps_every_frame_in_order() {
        let tmp = TempDir::new("budget");
        let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
        config.memory_budget = 16 << 10;
        let mut cap = Capture::new(config).unwrap();
        let ifcs: Vec<CaptureIf> = (0..50)
            .map(|i| cap.add_interface(&format!("h{i}")))
            .collect();
        let mut expected = vec![Vec::new(); ifcs.len()];
        for k in 0..2_000u32 {
            // Skewed traffic: a few busy interfaces, many quiet ones.
            let i = if k % 3 == 0 {
                (k as usize / 3) % 50
            } else {
                k as usize % 4
            };
            let f = frame(k, 60 + (k as usize * 37) % 1400);
            cap.record(&ifcs[i], SimTime::from_nanos(u64::from(k)), &f, None)
                .unwrap();
            expected[i].push((Duration::from_nanos(u64::from(k)), f.len() as u32, f));
        }
        let Sink::Pcap(p) = &cap.sink else {
            unreachable!()
        };
        assert!(p.io.handed > 0, "the budget forced write-outs");
        assert!(
            p.max_held <= (16 << 10) + (16 << 10) + 2_000,
            "{}",
            p.max_held
        );
        cap.flush().unwrap();
        let Sink::Pcap(p) = &cap.sink else {
            unreachable!()
        };
        assert!(p.io.stats.opens > 0);
        assert!(p.io.stats.max_open as usize <= MAX_OPEN);
        cap.finish().unwrap();
        for (i, want) in expected.iter().enumerate() {
            let (_, frames) = read_pcap(&tmp.path(&format!("h{i}.pcap")));
            assert_eq!(&frames, want, "interface {i}");
        }
    }

    #[test]
    fn same_calls_give_identical_files() {
        fn run(dir: &Path, format: CaptureFormat) -> Vec<(PathBuf, Vec<u8>)> {
            let mut config = CaptureConfig::new(dir, format);
            config.memory_budget = 8 << 10;
            let mut cap = Capture::new(config).unwrap();
            let ifcs: Vec<CaptureIf> = (0..7)
                .map(|i| cap.add_interface(&format!("n{i}-eth{}", i % 2)))
                .collect();
            for k in 0..500u32 {
                let ifc = &ifcs[(k as usize * 5) % 7];
                let comment = format!("ip_output → dev_queue_xmit #{k}");
                cap.record(
                    ifc,
                    SimTime::from_nanos(u64::from(k) * 1_003),
                    &frame(k, 64 + k as usize % 900),
                    Some(&comment),
                )
                .unwrap();
            }
            let summary = cap.finish().unwrap();
            summary
                .files
                .into_iter()
                .map(|f| {
                    (
                        f.path.file_name().unwrap().into(),
                        fs::read(&f.path).unwrap(),
                    )
                })
                .collect()
        }
        for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
            let (one, two) = (TempDir::new("det1"), TempDir::new("det2"));
            assert_eq!(run(&one.0, format), run(&two.0, format), "{format:?}");
        }
    }

    #[test]
    fn drop_without_finish_still_writes_everything() {
        let tmp = TempDir::new("drop");
        for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
            let mut cap = Capture::new(CaptureConfig::new(&tmp.0, format)).unwrap();
            let a = cap.add_interface("a");
            cap.add_interface("b");
            cap.record(&a, SimTime::ZERO, &frame(0, 60), Some("c"))
                .unwrap();
            drop(cap);
        }
        assert_eq!(read_pcap(&tmp.path("a.pcap")).1.len(), 1);
        assert_eq!(fs::read(tmp.path("b.pcap")).unwrap(), EXPECTED_HEADER);
        let mut reader =
            PcapNgReader::new(File::open(tmp.path("capture.pcapng")).unwrap()).unwrap();
        let mut blocks = 0;
        while let Some(block) = reader.next_block() {
            block.unwrap();
            blocks += 1;
        }
        assert_eq!(blocks, 3); // 2 IDBs, 1 EPB (the SHB is read by `new`)
    }

    /// A capture of two interfaces in a fresh folder where `bad.pcap` is a directory, so
    /// that writing `bad` fails; `good` has recorded one frame.
    fn good_and_bad(name: &str) -> (TempDir, Capture, CaptureIf, CaptureIf) {
        let tmp = TempDir::new(name);
        fs::create_dir_all(tmp.path("bad.pcap")).unwrap();
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        let good = cap.add_interface("good");
        let bad = cap.add_interface("bad");
        cap.record(&good, SimTime::ZERO, &frame(0, 60), None)
            .unwrap();
        (tmp, cap, good, bad)
    }

    /// After `bad.pcap` failed: the error sticks for every interface, `finish` returns it,
    /// and the other file was still written whole.
    fn error_sticks(tmp: &TempDir, mut cap: Capture, good: &CaptureIf) {
        let err = cap
            .record(good, SimTime::ZERO, &frame(2, 60), None)
            .unwrap_err();
        assert!(err.to_string().contains("bad.pcap"), "{err}");
        let err = cap.finish().unwrap_err();
        assert!(err.to_string().contains("bad.pcap"), "{err}");
        assert_eq!(read_pcap(&tmp.path("good.pcap")).1.len(), 1);
    }

    #[test]
    fn io_errors_name_the_file_and_stick() {
        let (tmp, mut cap, good, bad) = good_and_bad("errors");
        cap.record(&bad, SimTime::ZERO, &frame(1, 60), None)
            .unwrap();
        let err = cap.flush().unwrap_err();
        assert!(err.to_string().contains("bad.pcap"), "{err}");
        error_sticks(&tmp, cap, &good);

        // A file where the capture folder should go.
        fs::write(tmp.path("file"), b"x").unwrap();
        for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
            let err = Capture::new(CaptureConfig::new(tmp.path("file"), format)).unwrap_err();
            assert!(err.to_string().contains("file"), "{err}");
        }
    }

    #[test]
    fn a_write_error_on_the_writer_thread_comes_back_from_a_later_record() {
        let (tmp, mut cap, good, bad) = good_and_bad("thread-errors");
        // The first full buffer of `bad` fails on the thread. At the latest, the record that
        // hands over one buffer more than may be in flight waits for that first one to come
        // back, after its error was recorded: the record after it fails.
        let per_buffer = FILE_BUFFER / (PCAP_RECORD_HEADER_LEN + 1500);
        let most = per_buffer * (MAX_IN_FLIGHT + 2) + 2;
        let mut failed_at = None;
        for k in 0..most {
            let t = SimTime::from_nanos(k as u64);
            if let Err(e) = cap.record(&bad, t, &frame(k as u32, 1500), None) {
                assert!(e.to_string().contains("bad.pcap"), "{e}");
                failed_at = Some(k);
                break;
            }
        }
        let k = failed_at.expect("the error came back");
        assert!(k > per_buffer, "not before a buffer was handed over: {k}");
        error_sticks(&tmp, cap, &good);

        // Pcapng: the file is replaced by a folder after `new` created it.
        let mut config = CaptureConfig::new(tmp.path("ng"), CaptureFormat::PcapNg);
        config.pcapng_name = "x.pcapng".into();
        let mut cap = Capture::new(config).unwrap();
        let a = cap.add_interface("a");
        fs::remove_file(tmp.path("ng/x.pcapng")).unwrap();
        fs::create_dir(tmp.path("ng/x.pcapng")).unwrap();
        cap.record(&a, SimTime::ZERO, &frame(0, 60), None).unwrap();
        let err = cap.finish().unwrap_err();
        assert!(err.to_string().contains("x.pcapng"), "{err}");
    }

    #[test]
    fn bad_handles_and_config_are_errors() {
        let tmp = TempDir::new("handles");
        let mut config = CaptureConfig::new(&tmp.0, CaptureFormat::Pcap);
        config.snaplen = 0;
        assert!(Capture::new(config.clone()).is_err());
        config.snaplen = DEFAULT_SNAPLEN + 1;
        assert!(Capture::new(config).is_err());
        for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
            let mut cap = Capture::new(CaptureConfig::new(&tmp.0, format)).unwrap();
            let err = cap
                .record(&CaptureIf(3), SimTime::ZERO, &[0; 60], None)
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            cap.finish().unwrap();
        }
    }

    /// Writes sample captures of a DNS query and its answer for a manual look with tshark or
    /// Wireshark: `NETSIM_CAPTURE_SAMPLE_DIR=/tmp/cap cargo test -p sim-stack --lib
    /// capture::tests::sample -- --ignored`, then `tshark -r /tmp/cap/pcap/client-eth0.pcap`
    /// and `tshark -r /tmp/cap/pcapng/capture.pcapng -T fields -e frame.interface_name -e
    /// frame.comment`.
    #[test]
    #[ignore = "writes files for a manual check with tshark"]
    fn sample() {
        let Some(dir) = std::env::var_os("NETSIM_CAPTURE_SAMPLE_DIR") else {
            return;
        };
        let dir = PathBuf::from(dir);
        let client = [0x02, 0, 0, 0, 0, 2];
        let router = [0x02, 0, 0, 0, 0, 1];
        let query: &[u8] =
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05baidu\x03com\x00\x00\x01\x00\x01";
        let mut answer = query.to_vec();
        answer[2..4].copy_from_slice(&[0x81, 0x80]);
        answer[6..8].copy_from_slice(&[0, 1]);
        answer
            .extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x01\x50");
        let udp = |src, dst, sport, dport, payload: &[u8]| {
            let mut out = Vec::new();
            etherparse::PacketBuilder::ethernet2(src, dst)
                .ipv4([10, 0, 0, 2], [10, 0, 1, 53], 64)
                .udp(sport, dport)
                .write(&mut out, payload)
                .unwrap();
            out
        };
        let mut reply = udp(router, client, 53, 40000, &answer);
        // Swap the IPv4 addresses of the answer (the checksum is unchanged by a swap).
        let (src, dst) = (reply[26..30].to_vec(), reply[30..34].to_vec());
        reply[26..30].copy_from_slice(&dst);
        reply[30..34].copy_from_slice(&src);
        let frames = [
            (
                "client-eth0",
                100_000_000,
                udp(client, router, 40000, 53, query),
                "udp_sendmsg → ip_output → dev_hard_start_xmit",
            ),
            (
                "r1-eth0",
                105_000_123,
                udp(client, router, 40000, 53, query),
                "netif_receive_skb → ip_rcv → ip_forward",
            ),
            (
                "r1-eth0",
                115_200_456,
                reply.clone(),
                "ip_forward → ip_output → dev_hard_start_xmit",
            ),
            (
                "client-eth0",
                120_200_789,
                reply,
                "netif_receive_skb → ip_rcv → udp_rcv",
            ),
        ];
        for (format, sub) in [
            (CaptureFormat::Pcap, "pcap"),
            (CaptureFormat::PcapNg, "pcapng"),
        ] {
            let mut cap = Capture::new(CaptureConfig::new(dir.join(sub), format)).unwrap();
            let ifcs = [
                cap.add_interface("client-eth0"),
                cap.add_interface("r1-eth0"),
            ];
            for (name, t, frame, comment) in &frames {
                let ifc = if *name == "client-eth0" {
                    &ifcs[0]
                } else {
                    &ifcs[1]
                };
                cap.record(ifc, SimTime::from_nanos(*t), frame, Some(comment))
                    .unwrap();
            }
            // Registered after frames: its pcapng block comes after theirs.
            cap.add_interface("idle-eth0");
            cap.finish().unwrap();
        }
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn duplicate_names_panic() {
        let tmp = TempDir::new("dup");
        let mut cap = Capture::new(CaptureConfig::new(&tmp.0, CaptureFormat::Pcap)).unwrap();
        cap.add_interface("a");
        cap.add_interface("a");
    }

    #[test]
    fn names_that_are_not_file_names_are_refused() {
        for name in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
        assert!(check_name(&"x".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(check_name("client-eth0").is_ok());
    }
}
