//! Rates and sizes, as users write them: `100Mbit`, `2.5Gbit`, `1500B`, `4KiB`, `4KB`.
//!
//! Both are plain `u64` newtypes ([`Rate`] in bits per second, [`Bytes`] in bytes) parsed
//! with integer arithmetic only (via [`sim_core::time::scale_decimal`]), so `2.5Gbit` is
//! exactly 2 500 000 000 bit/s and a value that is not a whole number of bits or bytes
//! (`1.5bit`) is an error, never a silent rounding.
//!
//! * Rates use decimal SI prefixes, as `tc` does: `bit`, `kbit`, `Mbit`, `Gbit`, `Tbit`
//!   (the prefix letter is case-insensitive: `mbit` = `Mbit`). `Mbps`-style spellings are
//!   refused on purpose: `tc` reads `mbps` as mega*bytes* per second, the rest of the world
//!   as megabits, so the error asks for the unambiguous `Mbit`.
//! * Sizes: `B`; decimal `KB` (or `kB`), `MB`, `GB`, `TB`; binary `KiB`, `MiB`, `GiB`, `TiB`.
//!   Case matters (`b` would be a bit).
//!
//! [`Display`](fmt::Display) prints the largest unit that shows the value exactly, and the
//! printed form parses back to the same value. Serde writes the printed form as a string
//! (`"100Mbit"`) and reads either such a string or a plain integer (bits per second, bytes).
//!
//! ```
//! use sim_stack::units::{Bytes, Rate};
//! let r: Rate = "2.5Gbit".parse().unwrap();
//! assert_eq!(r.bits_per_sec(), 2_500_000_000);
//! assert_eq!(r.to_string(), "2.5Gbit");
//! let b: Bytes = "4KiB".parse().unwrap();
//! assert_eq!(b.get(), 4096);
//! assert_eq!("4KB".parse::<Bytes>().unwrap().get(), 4000);
//! assert!("100Mbps".parse::<Rate>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_core::SimDuration;
use sim_core::time::{DecimalError, scale_decimal};

/// A data rate in bits per second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(pub u64);

/// A size in bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

impl Rate {
    /// `bps` bits per second.
    pub const fn from_bps(bps: u64) -> Self {
        Self(bps)
    }
    /// The rate in bits per second.
    pub const fn bits_per_sec(self) -> u64 {
        self.0
    }
    /// The time to put `bytes` bytes on the wire at this rate, rounded up to a whole
    /// nanosecond (`bytes × 8 × 10⁹ / rate`). A zero rate takes forever: [`SimDuration::MAX`].
    pub fn transmit_time(self, bytes: u64) -> SimDuration {
        if self.0 == 0 {
            return SimDuration::MAX;
        }
        let num = u128::from(bytes) * 8 * 1_000_000_000;
        let ns = num.div_ceil(u128::from(self.0));
        SimDuration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

impl Bytes {
    /// `n` bytes.
    pub const fn new(n: u64) -> Self {
        Self(n)
    }
    /// The size in bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Which quantity a [`UnitParseError`] was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// A [`Rate`].
    Rate,
    /// A [`Bytes`] size.
    Size,
}

impl Quantity {
    fn noun(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Size => "size",
        }
    }
    fn units(self) -> &'static str {
        match self {
            Self::Rate => "bit, kbit, Mbit, Gbit, Tbit",
            Self::Size => "B, KB, MB, GB, KiB, MiB, GiB",
        }
    }
    fn example(self) -> &'static str {
        match self {
            Self::Rate => "100Mbit",
            Self::Size => "1500B",
        }
    }
}

/// Why a rate or size could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitParseError {
    /// Nothing to parse.
    #[error("empty {}; expected a number and a unit such as `{}`", .0.noun(), .0.example())]
    Empty(Quantity),
    /// A leading minus sign.
    #[error("negative {} `{text}`", .what.noun())]
    Negative {
        /// Rate or size.
        what: Quantity,
        /// The whole text.
        text: String,
    },
    /// A number without a unit.
    #[error("`{text}` has no unit; a {} needs one of {} (e.g. `{text}{}`)",
        .what.noun(), .what.units(), if *.what == Quantity::Rate { "Mbit" } else { "B" })]
    MissingUnit {
        /// Rate or size.
        what: Quantity,
        /// The whole text.
        text: String,
    },
    /// A unit that is not a unit of this quantity.
    #[error("unknown {} unit `{unit}` in `{text}`; expected one of {}{}", .what.noun(), .what.units(),
        .suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownUnit {
        /// Rate or size.
        what: Quantity,
        /// The whole text.
        text: String,
        /// The unit as written.
        unit: String,
        /// The closest known unit(s), in backticks (`` `Mbit` ``), if any.
        suggestion: Option<String>,
    },
    /// The number part is not a decimal number.
    #[error("`{0}` is not a number; expected digits with an optional fraction, such as `2.5Gbit`")]
    BadNumber(String),
    /// Not a whole number of bits or bytes.
    #[error("`{text}` is not a whole number of {}", if *.what == Quantity::Rate { "bits per second" } else { "bytes" })]
    TooPrecise {
        /// Rate or size.
        what: Quantity,
        /// The whole text.
        text: String,
    },
    /// Larger than `u64::MAX`.
    #[error("`{0}` is too large")]
    Overflow(String),
}

impl UnitParseError {
    /// Byte offset of the unit inside the parsed text, when the error is about the unit
    /// (lets a caller underline just `Mbits` in `100Mbits`).
    pub fn unit_offset(&self) -> Option<usize> {
        match self {
            Self::UnknownUnit { text, unit, .. } => text.rfind(unit.as_str()),
            _ => None,
        }
    }
}

const RATE_UNITS: &[(&str, u64)] = &[
    ("bit", 1),
    ("kbit", 1_000),
    ("mbit", 1_000_000),
    ("gbit", 1_000_000_000),
    ("tbit", 1_000_000_000_000),
];

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Splits `text` into its number and unit, rejecting empty and negative input.
fn split(text: &str, what: Quantity) -> Result<(&str, &str), UnitParseError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(UnitParseError::Empty(what));
    }
    if s.starts_with('-') {
        return Err(UnitParseError::Negative {
            what,
            text: s.to_string(),
        });
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let at = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(at);
    if num.is_empty() {
        return Err(UnitParseError::BadNumber(text.trim().to_string()));
    }
    Ok((num, unit.trim_start()))
}

fn scale(num: &str, factor: u64, what: Quantity, text: &str) -> Result<u64, UnitParseError> {
    scale_decimal(num, factor).map_err(|e| match e {
        DecimalError::Bad => UnitParseError::BadNumber(text.trim().to_string()),
        DecimalError::TooPrecise => UnitParseError::TooPrecise {
            what,
            text: text.trim().to_string(),
        },
        DecimalError::Overflow => UnitParseError::Overflow(text.trim().to_string()),
    })
}

impl FromStr for Rate {
    type Err = UnitParseError;

    fn from_str(text: &str) -> Result<Self, UnitParseError> {
        let what = Quantity::Rate;
        let (num, unit) = split(text, what)?;
        if unit.is_empty() {
            return Err(UnitParseError::MissingUnit {
                what,
                text: text.trim().to_string(),
            });
        }
        let lower = unit.to_ascii_lowercase();
        let Some(&(_, factor)) = RATE_UNITS.iter().find(|(u, _)| *u == lower) else {
            return Err(UnitParseError::UnknownUnit {
                what,
                text: text.trim().to_string(),
                unit: unit.to_string(),
                suggestion: suggest_rate_unit(unit),
            });
        };
        scale(num, factor, what, text).map(Self)
    }
}

fn suggest_rate_unit(unit: &str) -> Option<String> {
    let lower = unit.to_ascii_lowercase();
    let prefix = match lower.chars().next() {
        Some('k') => "k",
        Some('m') => "M",
        Some('g') => "G",
        Some('t') => "T",
        _ => "",
    };
    let rest = lower.get(prefix.len()..).unwrap_or("");
    match rest {
        "bps" | "b/s" | "bit/s" | "bits" | "bits/s" | "b" | "ps" => Some(format!("`{prefix}bit`")),
        _ if lower.ends_with("bytes") || rest == "byte" => {
            Some(format!("`{prefix}bit`, with the number × 8"))
        }
        _ => None,
    }
}

impl FromStr for Bytes {
    type Err = UnitParseError;

    fn from_str(text: &str) -> Result<Self, UnitParseError> {
        let what = Quantity::Size;
        let (num, unit) = split(text, what)?;
        if unit.is_empty() {
            return Err(UnitParseError::MissingUnit {
                what,
                text: text.trim().to_string(),
            });
        }
        let Some(&(_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(UnitParseError::UnknownUnit {
                what,
                text: text.trim().to_string(),
                unit: unit.to_string(),
                suggestion: suggest_size_unit(unit),
            });
        };
        scale(num, factor, what, text).map(Self)
    }
}

fn suggest_size_unit(unit: &str) -> Option<String> {
    let lower = unit.to_ascii_lowercase();
    let s = match lower.as_str() {
        "b" | "byte" | "bytes" => "`B`",
        "k" | "kb" | "kbyte" | "kbytes" => "`KB` (1000 bytes) or `KiB` (1024 bytes)",
        "m" | "mb" | "mbyte" | "mbytes" => "`MB` or `MiB`",
        "g" | "gb" | "gbyte" | "gbytes" => "`GB` or `GiB`",
        _ => {
            return SIZE_UNITS
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(unit))
                .map(|(u, _)| format!("`{u}`"));
        }
    };
    Some(s.to_string())
}

/// Writes `value / scale` exactly with the given unit, when the fraction has at most
/// `max_frac` digits; `None` otherwise.
fn exact(value: u64, scale: u64, max_frac: usize, unit: &str) -> Option<String> {
    let whole = value / scale;
    let rem = value % scale;
    if rem == 0 {
        return Some(format!("{whole}{unit}"));
    }
    let width = scale.ilog10() as usize;
    let frac = format!("{rem:0width$}");
    let frac = frac.trim_end_matches('0');
    (frac.len() <= max_frac).then(|| format!("{whole}.{frac}{unit}"))
}

impl fmt::Display for Rate {
    /// `100Mbit`, `2.5Gbit`, `1bit`: the largest unit that shows the value exactly with
    /// at most three decimals, else plain `bit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        for (unit, scale) in [
            ("Tbit", 1_000_000_000_000u64),
            ("Gbit", 1_000_000_000),
            ("Mbit", 1_000_000),
            ("kbit", 1_000),
        ] {
            if v >= scale
                && let Some(s) = exact(v, scale, 3, unit)
            {
                return f.write_str(&s);
            }
        }
        write!(f, "{v}bit")
    }
}

impl fmt::Display for Bytes {
    /// `4KiB`, `1MB`, `1500B`: a whole number of the largest binary unit, or of a decimal
    /// unit from MB up, else plain bytes (`1000B` reads better than `1KB`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v != 0 {
            for (unit, scale) in [
                ("TiB", 1u64 << 40),
                ("TB", 1_000_000_000_000),
                ("GiB", 1 << 30),
                ("GB", 1_000_000_000),
                ("MiB", 1 << 20),
                ("MB", 1_000_000),
                ("KiB", 1 << 10),
            ] {
                if v % scale == 0 {
                    return write!(f, "{}{unit}", v / scale);
                }
            }
        }
        write!(f, "{v}B")
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads a unit value from a string (`"100Mbit"`) or a plain integer.
struct UnitVisitor<T>(std::marker::PhantomData<T>);

impl<T> serde::de::Visitor<'_> for UnitVisitor<T>
where
    T: FromStr<Err = UnitParseError> + From<u64>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number with a unit such as \"100Mbit\" or \"4KiB\", or an integer")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        u64::try_from(v)
            .map(T::from)
            .map_err(|_| E::custom("negative value"))
    }
}

impl From<u64> for Rate {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl From<u64> for Bytes {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> u64 {
        s.parse::<Rate>().unwrap().0
    }
    fn size(s: &str) -> u64 {
        s.parse::<Bytes>().unwrap().0
    }

    #[test]
    fn parses_rates() {
        assert_eq!(rate("100Mbit"), 100_000_000);
        assert_eq!(rate("1Gbit"), 1_000_000_000);
        assert_eq!(rate("10kbit"), 10_000);
        assert_eq!(rate("10Kbit"), 10_000);
        assert_eq!(rate("2.5Gbit"), 2_500_000_000);
        assert_eq!(rate("1bit"), 1);
        assert_eq!(rate("100mbit"), 100_000_000);
        assert_eq!(rate("1Tbit"), 1_000_000_000_000);
        assert_eq!(rate("1_000bit"), 1_000);
    }

    #[test]
    fn rejects_bad_rates() {
        let err = |s: &str| s.parse::<Rate>().unwrap_err();
        assert!(matches!(err("100"), UnitParseError::MissingUnit { .. }));
        assert!(matches!(err("ten"), UnitParseError::BadNumber(_)));
        assert!(matches!(err("-5Mbit"), UnitParseError::Negative { .. }));
        assert!(matches!(err("1.5bit"), UnitParseError::TooPrecise { .. }));
        assert!(matches!(err(""), UnitParseError::Empty(_)));
        assert!(matches!(
            err("99999999999Tbit"),
            UnitParseError::Overflow(_)
        ));
        let e = err("100Mbps");
        assert!(e.to_string().contains("did you mean `Mbit`"), "{e}");
        assert_eq!(e.unit_offset(), Some(3));
        let e = err("100Mbits");
        assert!(e.to_string().contains("did you mean `Mbit`"), "{e}");
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(size("1500B"), 1500);
        assert_eq!(size("4KiB"), 4096);
        assert_eq!(size("1MiB"), 1 << 20);
        assert_eq!(size("4KB"), 4000);
        assert_eq!(size("4kB"), 4000);
        assert_eq!(size("1MB"), 1_000_000);
        assert_eq!(size("1.5KiB"), 1536);
        assert_eq!(size("0B"), 0);
    }

    #[test]
    fn rejects_bad_sizes() {
        let err = |s: &str| s.parse::<Bytes>().unwrap_err();
        assert!(matches!(err("1500"), UnitParseError::MissingUnit { .. }));
        assert!(matches!(err("0.5B"), UnitParseError::TooPrecise { .. }));
        let e = err("4kib");
        assert!(e.to_string().contains("did you mean `KiB`"), "{e}");
        let e = err("4Kb");
        assert!(e.to_string().contains("KiB"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for v in [
            0,
            1,
            999,
            1_000,
            1_500,
            1_234_567,
            2_500_000_000,
            100_000_000,
            u64::MAX,
        ] {
            let r = Rate(v);
            assert_eq!(r.to_string().parse::<Rate>().unwrap(), r, "{r}");
            let b = Bytes(v);
            assert_eq!(b.to_string().parse::<Bytes>().unwrap(), b, "{b}");
        }
        assert_eq!(Rate(2_500_000_000).to_string(), "2.5Gbit");
        assert_eq!(Rate(100_000_000).to_string(), "100Mbit");
        assert_eq!(Rate(1_234_567).to_string(), "1234.567kbit");
        assert_eq!(Bytes(4096).to_string(), "4KiB");
        assert_eq!(Bytes(4000).to_string(), "4000B");
        assert_eq!(Bytes(2_000_000).to_string(), "2MB");
        assert_eq!(Bytes(1500).to_string(), "1500B");
    }

    proptest::proptest! {
        #[test]
        fn any_rate_prints_and_parses_back(v: u64) {
            let r = Rate(v);
            proptest::prop_assert_eq!(r.to_string().parse::<Rate>(), Ok(r));
        }

        #[test]
        fn any_size_prints_and_parses_back(v: u64) {
            let b = Bytes(v);
            proptest::prop_assert_eq!(b.to_string().parse::<Bytes>(), Ok(b));
        }
    }

    #[test]
    fn transmit_time_rounds_up() {
        let r: Rate = "1Gbit".parse().unwrap();
        assert_eq!(r.transmit_time(1500).as_nanos(), 12_000);
        let r: Rate = "3bit".parse().unwrap();
        assert_eq!(r.transmit_time(1).as_nanos(), 2_666_666_667);
        assert_eq!(Rate(0).transmit_time(1), SimDuration::MAX);
    }
}
