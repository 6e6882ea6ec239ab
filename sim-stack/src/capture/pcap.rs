//! Classic pcap files, one per interface: buffers, records and the memory budget.

use super::*;

#[derive(Debug)]
pub(super) struct PcapFiles {
    pub(super) header: PcapHeader,
    /// The global header as written at the start of every file.
    pub(super) header_bytes: [u8; PCAP_HEADER_LEN],
    pub(super) ifaces: Vec<PcapIface>,
    /// Full size of one buffer.
    pub(super) file_buffer: usize,
    pub(super) budget: usize,
    /// Bytes allocated by all buffers (their capacities).
    pub(super) held: usize,
    /// Interfaces whose buffer has an allocation (a superset, pruned at each eviction).
    pub(super) holders: Vec<u32>,
    /// Sum of the files' sizes once flushed.
    pub(super) total_bytes: u64,
    /// The writer thread, which owns the files.
    pub(super) io: Writer,
    /// Most bytes `held` reached (checked by the tests).
    pub(super) max_held: usize,
}

#[derive(Debug)]
pub(super) struct PcapIface {
    /// `<name>.pcap`, shared with the writer's jobs.
    pub(super) file_name: Arc<str>,
    /// Bytes not yet handed to the writer; starts with the global header while the file is
    /// not created.
    pub(super) buf: Vec<u8>,
    /// The writer was told to create the file, with the header and every byte recorded
    /// before `buf`.
    pub(super) created: bool,
    pub(super) bytes: u64,
    pub(super) frames: u64,
}

impl PcapFiles {
    pub(super) fn new(config: &CaptureConfig) -> io::Result<Self> {
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

    pub(super) fn add_interface(&mut self, name: &str) -> CaptureIf {
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

    pub(super) fn record(
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
    pub(super) fn evict(&mut self) -> io::Result<()> {
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
    pub(super) fn bound_draining(&mut self) -> io::Result<()> {
        let limit = (self.budget + DRAIN_SLACK * self.file_buffer).saturating_sub(self.held);
        self.io.bound_draining(limit)
    }

    /// Hands every buffer to the writer (and has it create the files not yet created), waits
    /// for it to have written them, and returns the first error.
    pub(super) fn flush_all(&mut self) -> io::Result<()> {
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
    pub(super) fn write_out(&mut self, i: usize, keep: bool) -> io::Result<()> {
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
pub(super) fn record_header(
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
