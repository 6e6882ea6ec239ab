//! Pipes of the simulated host (`pipe`, and `splice` from a TCP socket into one), as
//! fs/pipe.c and `tcp_splice_read` behave for what the scripts do with them.
//!
//! A pipe holds at most `PIPE_DEF_BUFFERS` (16) buffers; splicing from a socket fills one
//! buffer per chunk moved, a `write` one per page. The bytes themselves are not kept: the
//! scripts' buffers are zeros and packetdrill checks lengths, not contents. Both ends are
//! descriptors of the host; a read of an empty pipe with a writer left returns `EAGAIN`
//! when non-blocking, and is unsupported when blocking (the host runs the script's calls
//! one after another, so no other writer could fill it).

use std::collections::VecDeque;

/// `PIPE_DEF_BUFFERS`.
pub(super) const PIPE_DEF_BUFFERS: usize = 16;
/// `PAGE_SIZE`.
const PAGE_SIZE: usize = 4096;

/// One pipe: the buffers it holds (length, and whether a write may add to it: a page a
/// write filled, `PIPE_BUF_FLAG_CAN_MERGE`, not a spliced chunk), and how many
/// descriptors hold each end.
#[derive(Debug, Clone, Default)]
pub(super) struct Pipe {
    bufs: VecDeque<(usize, bool)>,
    pub(super) readers: u32,
    pub(super) writers: u32,
}

impl Pipe {
    /// A pipe with one reader and one writer.
    pub(super) fn new() -> Self {
        Self {
            bufs: VecDeque::new(),
            readers: 1,
            writers: 1,
        }
    }

    /// Free buffer slots.
    pub(super) fn room(&self) -> usize {
        PIPE_DEF_BUFFERS - self.bufs.len()
    }

    /// Bytes queued.
    pub(super) fn len(&self) -> usize {
        self.bufs.iter().map(|b| b.0).sum()
    }

    /// `splice_to_pipe`: one buffer of `len` bytes (a spliced chunk).
    pub(super) fn push_chunk(&mut self, len: usize) {
        debug_assert!(self.room() > 0 && len > 0);
        self.bufs.push_back((len, false));
    }

    /// `pipe_write`: up to `len` bytes, filling the last buffer's page first, then a page
    /// per new buffer. Returns the bytes taken.
    pub(super) fn write(&mut self, len: usize) -> usize {
        let mut left = len;
        if let Some((last, true)) = self.bufs.back_mut()
            && *last < PAGE_SIZE
        {
            let k = (PAGE_SIZE - *last).min(left);
            *last += k;
            left -= k;
        }
        while left > 0 && self.room() > 0 {
            let k = PAGE_SIZE.min(left);
            self.bufs.push_back((k, true));
            left -= k;
        }
        len - left
    }

    /// `pipe_read`: up to `len` bytes from the front buffers.
    pub(super) fn read(&mut self, len: usize) -> usize {
        let mut got = 0;
        while got < len {
            let Some((front, _)) = self.bufs.front_mut() else {
                break;
            };
            let k = (*front).min(len - got);
            *front -= k;
            got += k;
            if *front == 0 {
                self.bufs.pop_front();
            }
        }
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_buffers_of_chunks_or_pages() {
        let mut p = Pipe::new();
        for _ in 0..PIPE_DEF_BUFFERS {
            p.push_chunk(99);
        }
        assert_eq!((p.room(), p.len()), (0, 99 * 16));
        assert_eq!(p.write(10), 0, "full: nothing more");
        assert_eq!(p.read(100), 100);
        assert_eq!(p.room(), 1, "the first buffer was read whole");
        let mut p = Pipe::new();
        assert_eq!(p.write(100_000), 16 * PAGE_SIZE, "16 pages");
        assert_eq!(p.read(5000), 5000);
        assert_eq!(p.len(), 16 * PAGE_SIZE - 5000);
    }
}
