//! The pcapng file of all interfaces: its blocks and their buffers.

use super::*;

pub(super) struct PcapNgFile {
    pub(super) path: PathBuf,
    pub(super) writer: PcapNgWriter<CountingWriter<ChunkWriter>>,
    pub(super) interfaces: u32,
    /// Reused for every Enhanced Packet Block so that writing one allocates nothing: the
    /// frame bytes (copied, as the block must own them to keep these buffers `'static`), its
    /// options, and the comment string.
    pub(super) frame: Vec<u8>,
    pub(super) options: Vec<EnhancedPacketOption<'static>>,
    pub(super) comment: String,
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
    pub(super) fn create(config: &CaptureConfig) -> io::Result<Self> {
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

    pub(super) fn add_interface(
        &mut self,
        name: &str,
        snaplen: u32,
    ) -> (CaptureIf, io::Result<()>) {
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

    pub(super) fn record(
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
    pub(super) fn flush(&mut self) -> io::Result<()> {
        let chunks = &mut self.writer.get_mut().inner;
        let handed = chunks.hand_over(false);
        let synced = chunks.io.sync();
        handed
            .and(synced)
            .map_err(|e| path_error(&self.path, "cannot write", e))
    }
}

/// Counts the bytes going through (the pcapng file's size, buffered bytes included).
pub(super) struct CountingWriter<W> {
    pub(super) inner: W,
    pub(super) bytes: u64,
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
pub(super) struct ChunkWriter {
    pub(super) name: Arc<str>,
    pub(super) chunk: Vec<u8>,
    pub(super) io: Writer,
}

impl ChunkWriter {
    /// Hands the buffered bytes to the writer; if `replace`, takes a spare for what follows.
    pub(super) fn hand_over(&mut self, replace: bool) -> io::Result<()> {
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
