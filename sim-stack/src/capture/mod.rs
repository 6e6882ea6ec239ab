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

mod pcap;
mod pcapng;
#[cfg(test)]
mod tests;
mod writer;

use pcap::*;
use pcapng::*;
use writer::*;

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
    /// The interface registered `index`-th (as every rank of a distributed run registers
    /// the same interfaces in the same order).
    pub const fn from_index(index: u32) -> Self {
        Self(index)
    }

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
    /// A partition's frames of a parallel run, kept whole and in order, to be recorded into
    /// the run's capture in the run's order ([`Capture::take_log`]).
    Log(FrameLog),
}

impl Sink {
    fn writer(&mut self) -> Option<&mut Writer> {
        match self {
            Self::Pcap(p) => Some(&mut p.io),
            Self::PcapNg(n) => Some(&mut n.writer.get_mut().inner.io),
            Self::Log(_) => None,
        }
    }
}

/// Frames recorded in memory (see [`Capture::log`]).
#[derive(Debug, Default)]
pub struct FrameLog {
    /// The frames' bytes, one after another.
    pub bytes: Vec<u8>,
    /// Each frame: interface, time, end of its bytes, comment.
    pub frames: Vec<LoggedFrame>,
}

/// One frame of a [`FrameLog`].
#[derive(Debug)]
pub struct LoggedFrame {
    /// The interface.
    pub ifc: CaptureIf,
    /// When.
    pub time: SimTime,
    /// Where its bytes end in [`FrameLog::bytes`] (they start where the previous one's end).
    pub end: usize,
    /// The pcapng comment.
    pub comment: Option<Box<str>>,
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
        let writer_failure = match sink.writer() {
            Some(w) => Arc::clone(&w.failure),
            None => Arc::default(),
        };
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

    /// A capture that keeps the frames recorded in memory, whole, for a partition of a
    /// parallel run: the run hands them to its real capture in its order
    /// ([`take_log`](Self::take_log)). It has no interfaces of its own: frames name those of
    /// the real capture.
    pub fn log() -> Self {
        Self {
            dir: PathBuf::new(),
            snaplen: DEFAULT_SNAPLEN,
            names: BTreeSet::new(),
            total_frames: 0,
            failed: None,
            writer_failure: Arc::default(),
            finished: true,
            sink: Sink::Log(FrameLog::default()),
        }
    }

    /// How many frames a [`log`](Self::log) holds (0 for a capture to files).
    #[inline]
    pub fn logged(&self) -> usize {
        match &self.sink {
            Sink::Log(l) => l.frames.len(),
            _ => 0,
        }
    }

    /// Takes the frames a [`log`](Self::log) holds, leaving it empty.
    pub fn take_log(&mut self) -> FrameLog {
        match &mut self.sink {
            Sink::Log(l) => std::mem::take(l),
            _ => FrameLog::default(),
        }
    }

    /// Returns an emptied [`FrameLog`] (keeping its buffers' capacity).
    pub fn give_back(&mut self, mut log: FrameLog) {
        if let Sink::Log(l) = &mut self.sink {
            log.bytes.clear();
            log.frames.clear();
            *l = log;
        }
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
            Sink::Log(l) => CaptureIf(l.frames.len() as u32),
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
        if let Sink::Log(l) = &mut self.sink {
            l.bytes.extend_from_slice(frame);
            l.frames.push(LoggedFrame {
                ifc: *ifc,
                time,
                end: l.bytes.len(),
                comment: comment.map(Into::into),
            });
            return Ok(());
        }
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
            Sink::Log(_) => Ok(()),
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
            Sink::Log(_) => Ok(()),
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
        if let Some(Err(e)) = self.sink.writer().map(|w| w.stop()) {
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
            Sink::Log(_) => Vec::new(),
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
            Sink::Log(l) => l.bytes.len() as u64,
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
pub(super) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub(super) fn path_error(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

pub(super) fn pcap_error(path: &Path, e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => path_error(path, "cannot write", e),
        other => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot record into {}: {other}", path.display()),
        ),
    }
}

pub(super) fn unknown_interface(index: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("capture interface #{index} is not registered"),
    )
}

/// The writer thread stopped before it was told to (it panicked): nothing more is written.
pub(super) fn writer_gone() -> io::Error {
    io::Error::other("the capture writer thread stopped unexpectedly")
}
