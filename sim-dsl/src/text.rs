//! Reading a file's bytes as scenario text: UTF-8, without NUL or other control characters
//! (tab, line feed and carriage return aside).
//!
//! Anything else — a Latin-1 `é`, a UTF-8 character cut short, a pcap or an executable given
//! by mistake — is refused at its first bad byte: [`decode`] says where it is and what it is,
//! and gives a printable stand-in for the text so the error can show the line with a caret
//! under the byte, as every other error does.

use std::fmt::Write as _;

/// Text whose first bad byte is at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotText {
    /// Byte offset of the first bad byte.
    pub offset: usize,
    /// Byte length of its stand-in in `shown` (the span to underline).
    pub len: usize,
    /// What was found: `byte 0xe9 is not UTF-8`.
    pub found: String,
    /// What the file looks like.
    pub kind: Kind,
    /// The file up to the end of the bad line, with every bad byte (or sequence) replaced by
    /// U+FFFD: the same lines and columns, safe to print.
    pub shown: String,
}

/// What a file that is not scenario text looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A binary file (see [`looks_binary`]).
    Binary,
    /// Text in another encoding (a Latin-1 `é`), or cut in the middle of a character.
    Encoding,
    /// Text with a control character in it.
    Control,
}

/// Bytes after the bad one kept in [`NotText::shown`] (the rest of its line, cut short: a
/// binary file's "line" may be megabytes long).
const SHOWN_AFTER: usize = 60;

fn is_control(c: char) -> bool {
    (c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// Whether a file whose first bad byte is at `offset` looks binary: it has a NUL, or goes
/// bad within its first 16 bytes, before any line break (the magic number of a pcap, an ELF
/// or a gzip file).
fn looks_binary(bytes: &[u8], offset: usize) -> bool {
    bytes.contains(&0) || (offset < 16 && !bytes[..offset].contains(&b'\n'))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().enumerate() {
        let _ = write!(s, "{}0x{b:02x}", if i > 0 { " " } else { "" });
    }
    s
}

/// The file's bytes as text, or where and why they are not.
pub(crate) fn decode(bytes: Vec<u8>) -> Result<String, NotText> {
    let (valid, utf8) = match String::from_utf8(bytes) {
        Ok(text) => {
            return match text.char_indices().find(|&(_, c)| is_control(c)) {
                None => Ok(text),
                Some((offset, c)) => Err(control(text.as_bytes(), offset, c)),
            };
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            (valid, e)
        }
    };
    let bytes = utf8.as_bytes();
    // A control character before the first invalid byte comes first.
    let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
    if let Some((offset, c)) = prefix.char_indices().find(|&(_, c)| is_control(c)) {
        return Err(control(bytes, offset, c));
    }
    let bad = match utf8.utf8_error().error_len() {
        Some(n) => &bytes[valid..valid + n],
        None => &bytes[valid..],
    };
    let found = match (bad.len(), utf8.utf8_error().error_len()) {
        (1, None) => format!(
            "byte {} ends the file in the middle of a UTF-8 character",
            hex(bad)
        ),
        (_, None) => format!(
            "bytes {} end the file in the middle of a UTF-8 character",
            hex(bad)
        ),
        (1, _) => format!("byte {} is not UTF-8", hex(bad)),
        _ => format!("bytes {} are not UTF-8", hex(bad)),
    };
    // A file cut in the middle of a character is text cut short, whatever its length.
    let cut = utf8.utf8_error().error_len().is_none();
    let kind = if !cut && looks_binary(bytes, valid) {
        Kind::Binary
    } else {
        Kind::Encoding
    };
    Err(NotText {
        offset: valid,
        len: '\u{fffd}'.len_utf8(),
        found,
        kind,
        shown: shown(bytes, valid),
    })
}

fn control(bytes: &[u8], offset: usize, c: char) -> NotText {
    let found = if c == '\0' {
        "byte 0x00 (NUL)".to_string()
    } else {
        format!("control character {}", hex(&[c as u8]))
    };
    NotText {
        offset,
        len: '\u{fffd}'.len_utf8(),
        found,
        kind: if looks_binary(bytes, offset) {
            Kind::Binary
        } else {
            Kind::Control
        },
        shown: shown(bytes, offset),
    }
}

/// The text before `offset` as it is (valid), then the rest of that line, cut short, with
/// bad bytes and control characters replaced by U+FFFD.
fn shown(bytes: &[u8], offset: usize) -> String {
    let mut out = String::from_utf8_lossy(&bytes[..offset]).into_owned();
    let rest = &bytes[offset..];
    let end = rest
        .iter()
        .take(SHOWN_AFTER)
        .position(|&b| b == b'\n')
        .unwrap_or(rest.len().min(SHOWN_AFTER));
    out.extend(
        String::from_utf8_lossy(&rest[..end])
            .chars()
            .map(|c| if is_control(c) { '\u{fffd}' } else { c }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(bytes: &[u8]) -> NotText {
        decode(bytes.to_vec()).expect_err("not text")
    }

    #[test]
    fn text_is_text() {
        let t = "host a\t{ }\r\n# ça va — µs\n";
        assert_eq!(decode(t.as_bytes().to_vec()), Ok(t.to_string()));
    }

    #[test]
    fn the_first_bad_byte_is_found_and_named() {
        let e = bad(b"host a\n# caf\xe9 au lait\nhost b\n");
        assert_eq!((e.offset, e.found.as_str()), (12, "byte 0xe9 is not UTF-8"));
        assert_eq!(e.kind, Kind::Encoding);
        assert_eq!(e.shown, "host a\n# caf\u{fffd} au lait");

        let e = bad(b"# \xe2\x82");
        assert_eq!(
            (e.offset, e.found.as_str()),
            (
                2,
                "bytes 0xe2 0x82 end the file in the middle of a UTF-8 character"
            )
        );
        assert_eq!(e.kind, Kind::Encoding);

        let e = bad(b"# \xe2\x28\xa1");
        assert_eq!(
            e.found, "byte 0xe2 is not UTF-8",
            "the invalid sequence only"
        );

        let e = bad(b"host a\x00 { }\n\xff");
        assert_eq!((e.offset, e.found.as_str()), (6, "byte 0x00 (NUL)"));
        assert_eq!(e.kind, Kind::Binary);
        assert_eq!(e.shown, "host a\u{fffd} { }");

        let e = bad(b"# a comment\nhost \x01b\n");
        assert_eq!((e.offset, e.found.as_str()), (17, "control character 0x01"));
        assert_eq!(e.kind, Kind::Control);

        let e = bad(b"\x7fELF\x02\x01\x01\x00");
        assert_eq!((e.offset, e.found.as_str()), (0, "control character 0x7f"));
        assert_eq!(e.kind, Kind::Binary);
    }

    #[test]
    fn a_binary_line_is_shown_cut_short() {
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1];
        pcap.extend(std::iter::repeat_n(0x41, 10_000));
        let e = bad(&pcap);
        assert_eq!((e.offset, e.found.as_str()), (0, "byte 0xd4 is not UTF-8"));
        assert_eq!(e.kind, Kind::Binary);
        assert!(e.shown.chars().count() <= SHOWN_AFTER, "{}", e.shown);
    }
}
