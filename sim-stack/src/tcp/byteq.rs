//! The bytes a TCP connection holds: its send buffer (what `sk_write_queue` and the
//! retransmit queue's skbs hold in the kernel, from the oldest unacknowledged byte on), its
//! receive queue and each out-of-order segment.
//!
//! Data is kept in chunks as it was written or received; a run of zero bytes — what
//! `tcp_bulk`, like `iperf`, writes — is kept as its length only and materialized when a
//! segment is built or the app reads, so a bulk transfer with multi-megabyte buffers costs a
//! few words, not megabytes. The bytes on the wire and those the app reads are the same
//! either way.

use std::collections::VecDeque;

/// Zeros an app can send from (like the kernel's `ZERO_PAGE`): bytes that lie in it are
/// known to be zeros without being compared.
pub static ZERO_PAGE: [u8; 64 * 1024] = [0; 64 * 1024];

/// Whether every byte of `data` is zero: at once for a slice of [`ZERO_PAGE`], else
/// compared a page at a time (memcmp is vectorized).
fn is_zero(data: &[u8]) -> bool {
    let (at, page) = (data.as_ptr() as usize, ZERO_PAGE.as_ptr() as usize);
    if at >= page && at + data.len() <= page + ZERO_PAGE.len() {
        return true;
    }
    data.chunks(4096).all(|c| c == &ZERO_PAGE[..c.len()])
}

/// One write's bytes, or a run of zeros.
#[derive(Debug, Clone)]
enum Chunk {
    Bytes(Vec<u8>),
    Zeros(usize),
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Zeros(n) => *n,
        }
    }
}

/// A byte queue: appended at the back, consumed at the front, read anywhere.
#[derive(Debug, Clone, Default)]
pub struct ByteQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes already consumed from the front chunk.
    head: usize,
    len: usize,
}

impl ByteQueue {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `data`: zeros as a run, anything else copied.
    pub fn extend(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if is_zero(data) {
            self.extend_zeros(data.len());
            return;
        }
        self.len += data.len();
        if let Some(Chunk::Bytes(b)) = self.chunks.back_mut()
            && b.len() < 64 * 1024
        {
            b.extend_from_slice(data);
        } else {
            self.chunks.push_back(Chunk::Bytes(data.to_vec()));
        }
    }

    /// Appends `n` zero bytes, as a run (bytes the caller knows to be zeros without
    /// reading them: a received segment's payload that the sender built from zeros).
    pub fn extend_zeros(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.len += n;
        if let Some(Chunk::Zeros(z)) = self.chunks.back_mut() {
            *z += n;
        } else {
            self.chunks.push_back(Chunk::Zeros(n));
        }
    }

    /// Drops the first `n` bytes (acknowledged).
    pub fn consume(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let front = self.chunks.front().expect("len counts the chunks").len() - self.head;
            if n < front {
                self.head += n;
                return;
            }
            n -= front;
            self.chunks.pop_front();
            self.head = 0;
        }
        if self.chunks.front().is_some_and(|c| c.len() == self.head) {
            self.chunks.pop_front();
            self.head = 0;
        }
    }

    /// Moves `other`'s bytes from `skip` on to the back of this queue.
    pub fn append(&mut self, mut other: Self, skip: usize) {
        other.consume(skip);
        if other.is_empty() {
            return;
        }
        self.len += other.len;
        if other.head > 0 {
            let front = other.chunks.pop_front().expect("non-empty");
            let rest = match front {
                Chunk::Bytes(b) => Chunk::Bytes(b[other.head..].to_vec()),
                Chunk::Zeros(n) => Chunk::Zeros(n - other.head),
            };
            other.chunks.push_front(rest);
        }
        for c in other.chunks {
            match (self.chunks.back_mut(), c) {
                (Some(Chunk::Zeros(n)), Chunk::Zeros(m)) => *n += m,
                (_, c) => self.chunks.push_back(c),
            }
        }
    }

    /// Takes up to `max` bytes from the front.
    pub fn read(&mut self, max: usize) -> Vec<u8> {
        let k = max.min(self.len);
        let mut out = vec![0u8; k];
        self.copy_to(0, &mut out);
        self.consume(k);
        out
    }

    /// Copies the bytes at `off..off + out.len()` into `out`.
    ///
    /// # Panics
    /// If the range is not held.
    pub fn copy_to(&self, off: usize, out: &mut [u8]) {
        self.copy_to_zeros(off, out);
    }

    /// [`copy_to`](Self::copy_to), returning the one's-complement sum of the bytes copied
    /// ([`checksum::data`](crate::wire::checksum::data) of `out`) as `csum_and_copy` does.
    /// A range made only of zero runs sums to 0 without being read back.
    pub fn copy_and_sum(&self, off: usize, out: &mut [u8]) -> u16 {
        if self.copy_to_zeros(off, out) {
            0
        } else {
            crate::wire::checksum::data(out)
        }
    }

    /// Whether bytes `off..off + len` all lie in runs of zeros (what a bulk sender writes),
    /// so a segment of them can be built without copying anything.
    pub fn is_zeros(&self, off: usize, len: usize) -> bool {
        assert!(off + len <= self.len, "range beyond the buffer");
        let mut skip = off + self.head;
        let mut left = len;
        for c in &self.chunks {
            if left == 0 {
                break;
            }
            let l = c.len();
            if skip >= l {
                skip -= l;
                continue;
            }
            if let Chunk::Bytes(_) = c {
                return false;
            }
            left -= (l - skip).min(left);
            skip = 0;
        }
        true
    }

    /// The copy; returns whether every byte copied came from a run of zeros.
    fn copy_to_zeros(&self, off: usize, out: &mut [u8]) -> bool {
        let mut zeros = true;
        assert!(off + out.len() <= self.len, "range beyond the buffer");
        let mut skip = off + self.head;
        let mut done = 0;
        for c in &self.chunks {
            if done == out.len() {
                break;
            }
            let l = c.len();
            if skip >= l {
                skip -= l;
                continue;
            }
            let take = (l - skip).min(out.len() - done);
            match c {
                Chunk::Bytes(b) => {
                    out[done..done + take].copy_from_slice(&b[skip..skip + take]);
                    zeros = false;
                }
                Chunk::Zeros(_) => out[done..done + take].fill(0),
            }
            done += take;
            skip = 0;
        }
        zeros
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zeros_are_recognized_in_and_out_of_the_zero_page() {
        assert!(is_zero(&ZERO_PAGE[100..5000]));
        assert!(is_zero(&vec![0u8; 10_000]));
        let mut v = vec![0u8; 10_000];
        v[9_999] = 1;
        assert!(!is_zero(&v));
        assert!(!is_zero(&v[9_000..]));
        assert!(is_zero(&v[..9_999]));
    }

    #[test]
    fn a_range_of_zero_runs_is_known_as_zeros() {
        let mut q = ByteQueue::new();
        q.extend(&ZERO_PAGE[..1000]);
        q.extend(&ZERO_PAGE[..1000]);
        q.extend(b"data");
        q.extend(&ZERO_PAGE[..100]);
        assert!(q.is_zeros(0, 2000));
        assert!(q.is_zeros(500, 1000));
        assert!(!q.is_zeros(1990, 20));
        assert!(q.is_zeros(2004, 100));
        assert!(q.is_zeros(2104, 0));
        q.consume(1998);
        assert!(q.is_zeros(0, 2));
        assert!(!q.is_zeros(0, 3));
    }

    #[test]
    fn zeros_are_kept_as_a_length() {
        let mut q = ByteQueue::new();
        q.extend(&[0u8; 65536]);
        q.extend(&[0u8; 65536]);
        assert_eq!(q.len(), 131_072);
        assert_eq!(q.chunks.len(), 1);
        let mut out = [7u8; 10];
        q.copy_to(65530, &mut out);
        assert_eq!(out, [0; 10]);
    }

    proptest! {
        /// Against a plain VecDeque<u8>: any writes, consumes and reads give the same bytes.
        #[test]
        fn behaves_as_a_byte_deque(
            ops in prop::collection::vec((0u8..3, 0usize..3000, any::<u8>()), 1..60)
        ) {
            let mut q = ByteQueue::new();
            let mut model: VecDeque<u8> = VecDeque::new();
            for (op, n, byte) in ops {
                match op {
                    0 => {
                        // Alternate zero runs and patterned data.
                        let data: Vec<u8> = if byte % 2 == 0 {
                            vec![0; n]
                        } else {
                            (0..n).map(|i| (i as u8).wrapping_add(byte)).collect()
                        };
                        if byte % 4 == 2 {
                            q.extend_zeros(n);
                        } else {
                            q.extend(&data);
                        }
                        model.extend(&data);
                    }
                    1 => {
                        let k = n.min(model.len());
                        q.consume(k);
                        model.drain(..k);
                    }
                    _ => {
                        if !model.is_empty() {
                            let off = n % model.len();
                            let len = (byte as usize).min(model.len() - off);
                            let mut out = vec![9u8; len];
                            q.copy_to(off, &mut out);
                            let want: Vec<u8> = model.iter().skip(off).take(len).copied().collect();
                            let mut summed = vec![9u8; len];
                            let sum = q.copy_and_sum(off, &mut summed);
                            prop_assert_eq!(sum, crate::wire::checksum::data(&want));
                            prop_assert_eq!(&summed, &want);
                            // A range said to be zeros is zeros; a range of one zero write is.
                            if q.is_zeros(off, len) {
                                prop_assert!(want.iter().all(|&b| b == 0));
                            }
                            prop_assert_eq!(out, want);
                        }
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                // Splitting and re-joining keeps the bytes.
                let all = q.clone().read(usize::MAX);
                let cut = (n % (all.len() + 1)).min(all.len());
                let mut left = ByteQueue::new();
                left.extend(&all[..cut.min(all.len())]);
                let mut right = ByteQueue::new();
                right.extend(&all[cut..]);
                left.append(right.clone(), 0);
                prop_assert_eq!(left.read(usize::MAX), all.clone());
            }
        }
    }
}
