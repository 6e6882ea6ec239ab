//! The rows of the sample files, built by hand: a sample of a big network is thousands of
//! rows, and `write!`'s formatting machinery costs several times the values' own reading.
//! Integers are written two digits at a time; fractions as integer millionths.

/// One sample's rows of one kind, written out at once. In a distributed run a rank writes
/// only the rows of the items it owns, in runs of consecutive items ([`Rows::item`]).
#[derive(Debug, Default)]
pub(super) struct Rows {
    buf: Vec<u8>,
    /// Runs of consecutive items: the place of the first in the sequential order, and where
    /// its rows start in `buf` (only with [`Rows::item`]).
    runs: Vec<(u32, usize)>,
    /// The last item [`Rows::item`] was told of.
    last: u32,
}

const DIGITS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

impl Rows {
    /// The rows so far.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the rows (keeping the memory).
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.runs.clear();
    }

    /// The rows that follow are those of item `i` (its place in the sequential order).
    #[inline]
    pub(super) fn item(&mut self, i: usize) {
        let i = i as u32;
        if self.runs.is_empty() || self.last.wrapping_add(1) != i {
            self.runs.push((i, self.buf.len()));
        }
        self.last = i;
    }

    /// The runs of consecutive items: the place of the first, and their rows.
    pub(super) fn runs(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.runs.iter().enumerate().map(|(k, &(i, start))| {
            let end = self.runs.get(k + 1).map_or(self.buf.len(), |r| r.1);
            (i, &self.buf[start..end])
        })
    }

    /// Text as is (a prefix of precomputed fields, with its commas).
    #[inline]
    pub(super) fn text(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// `,` and an integer.
    #[inline]
    pub(super) fn int(&mut self, v: u64) {
        self.buf.push(b',');
        self.uint(v);
    }

    /// An integer without the comma (the first field).
    pub(super) fn uint(&mut self, mut v: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        while v >= 100 {
            let d = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&DIGITS[d..d + 2]);
        }
        if v >= 10 {
            let d = v as usize * 2;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&DIGITS[d..d + 2]);
        } else {
            i -= 1;
            tmp[i] = b'0' + v as u8;
        }
        self.buf.extend_from_slice(&tmp[i..]);
    }

    /// `,` and `millionths / 10^6` with up to six decimals, trailing zeros dropped (`0.5`,
    /// `1`, `0.031886`).
    pub(super) fn fraction(&mut self, millionths: u64) {
        self.int(millionths / 1_000_000);
        let mut frac = millionths % 1_000_000;
        if frac == 0 {
            return;
        }
        let mut digits = 6;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        self.buf.push(b'.');
        let start = self.buf.len();
        self.uint(frac);
        let written = self.buf.len() - start;
        // Leading zeros of the fraction (0.031886 → "031886").
        for _ in written..digits {
            self.buf.insert(start, b'0');
        }
    }

    /// The end of a row.
    #[inline]
    pub(super) fn end(&mut self) {
        self.buf.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: impl FnOnce(&mut Rows)) -> String {
        let mut r = Rows::default();
        f(&mut r);
        String::from_utf8(r.bytes().to_vec()).unwrap()
    }

    #[test]
    fn integers_as_display_writes_them() {
        for v in [0, 7, 10, 99, 100, 101, 1234, 99999, 2_147_483_647, u64::MAX] {
            assert_eq!(line(|r| r.uint(v)), v.to_string());
            assert_eq!(line(|r| r.int(v)), format!(",{v}"));
        }
    }

    #[test]
    fn items_in_runs_of_consecutive_ones() {
        let mut r = Rows::default();
        for i in [0, 1, 3, 4, 5, 9] {
            r.item(i);
            r.uint(i as u64);
        }
        let runs: Vec<(u32, &[u8])> = r.runs().collect();
        assert_eq!(runs, [(0, &b"01"[..]), (3, b"345"), (9, b"9")]);
        r.clear();
        r.item(2);
        assert_eq!(r.runs().collect::<Vec<_>>(), [(2, &b""[..])]);
    }

    #[test]
    fn fractions_with_six_decimals_at_most() {
        for (m, s) in [
            (0, ",0"),
            (1_000_000, ",1"),
            (500_000, ",0.5"),
            (31_886, ",0.031886"),
            (1, ",0.000001"),
            (1_250_000, ",1.25"),
            (100_000, ",0.1"),
        ] {
            assert_eq!(line(|r| r.fraction(m)), s, "{m}");
        }
    }
}
