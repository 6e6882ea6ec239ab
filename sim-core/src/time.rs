//! Simulated time: integer nanoseconds, never floats.
//!
//! [`SimTime`] is an instant since the start of the run; [`SimDuration`] a span between two
//! instants. Both are `u64` nanoseconds, which covers 584 years. Arithmetic that could leave
//! that range has checked variants; the operator forms panic on overflow (a model bug, not an
//! input error), as integer arithmetic does in debug builds.
//!
//! Both parse and print the units people write: `10ns`, `250us` (or `250µs`), `1.5ms`, `2s`,
//! `1min`, `1h`. Parsing uses integer arithmetic only, so `0.1s` is exactly 100 000 000 ns;
//! a value finer than one nanosecond (`1.5ns`), a negative value, an unknown unit or an
//! overflow is a [`TimeParseError`], never a panic or a silent rounding.
//!
//! ```
//! use sim_core::{SimDuration, SimTime};
//! let d: SimDuration = "1.5ms".parse().unwrap();
//! assert_eq!(d.as_nanos(), 1_500_000);
//! assert_eq!(d.to_string(), "1.5ms");
//! let t = SimTime::ZERO + d;
//! assert_eq!(t.to_string(), "0.001500000");
//! assert!("-1ms".parse::<SimDuration>().is_err());
//! ```

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: Self = Self(0);
    /// The largest representable instant; used as "no limit".
    pub const MAX: Self = Self(u64::MAX);

    /// The instant `ns` nanoseconds after the start.
    pub const fn from_nanos(ns: u64) -> Self {
        Self(ns)
    }

    /// Nanoseconds since the start of the run.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The span since the start of the run.
    pub const fn since_start(self) -> SimDuration {
        SimDuration(self.0)
    }

    /// `self + d`, or `None` past [`SimTime::MAX`].
    pub const fn checked_add(self, d: SimDuration) -> Option<Self> {
        match self.0.checked_add(d.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self + d`, clamped at [`SimTime::MAX`].
    pub const fn saturating_add(self, d: SimDuration) -> Self {
        Self(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`, or `None` when `earlier` is later.
    pub const fn checked_since(self, earlier: Self) -> Option<SimDuration> {
        match self.0.checked_sub(earlier.0) {
            Some(v) => Some(SimDuration(v)),
            None => None,
        }
    }

    /// The span from `earlier` to `self`, zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: Self) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: Self = Self(0);
    /// The largest representable span.
    pub const MAX: Self = Self(u64::MAX);

    /// `ns` nanoseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        Self(ns)
    }
    /// `us` microseconds. Panics on overflow (beyond 584 years).
    pub const fn from_micros(us: u64) -> Self {
        Self(us.checked_mul(1_000).expect("SimDuration overflow"))
    }
    /// `ms` milliseconds. Panics on overflow (beyond 584 years).
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms.checked_mul(1_000_000).expect("SimDuration overflow"))
    }
    /// `s` seconds. Panics on overflow (beyond 584 years).
    pub const fn from_secs(s: u64) -> Self {
        Self(s.checked_mul(1_000_000_000).expect("SimDuration overflow"))
    }

    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole microseconds, rounded down.
    pub const fn as_micros(self) -> u64 {
        self.0 / 1_000
    }
    /// Whole milliseconds, rounded down.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
    /// The span in seconds as a float, for statistics only (never for scheduling).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }
    /// `self × k`, or `None` on overflow.
    pub const fn checked_mul(self, k: u64) -> Option<Self> {
        match self.0.checked_mul(k) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }
    /// Whether this is the zero duration.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self − other`, or zero if `other` is longer.
    pub const fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = Self;
    fn add(self, d: SimDuration) -> Self {
        self.checked_add(d).expect("SimTime overflow")
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}
impl Sub for SimTime {
    type Output = SimDuration;
    /// The span between two instants; panics when `rhs` is later (use `checked_since`).
    fn sub(self, rhs: Self) -> SimDuration {
        self.checked_since(rhs)
            .expect("SimTime subtraction underflow")
    }
}
impl Add for SimDuration {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        self.checked_add(rhs).expect("SimDuration overflow")
    }
}
impl AddAssign for SimDuration {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}
impl core::ops::Mul<u64> for SimDuration {
    type Output = Self;
    /// Scales a duration; saturates at the largest duration.
    fn mul(self, k: u64) -> Self {
        Self(self.0.saturating_mul(k))
    }
}

impl core::ops::Div<u64> for SimDuration {
    type Output = Self;
    /// Divides a duration, rounding down. Panics on division by zero.
    fn div(self, k: u64) -> Self {
        Self(self.0 / k)
    }
}

impl Sub for SimDuration {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0.checked_sub(rhs.0).expect("SimDuration underflow"))
    }
}

/// Units accepted by the parser, longest spelling first so `ms` is not read as `m` + `s`.
const UNITS: &[(&str, u64)] = &[
    ("min", 60_000_000_000),
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Why a time or duration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    /// Nothing to parse.
    #[error("empty duration; expected a number and a unit such as `5ms`")]
    Empty,
    /// A leading minus sign.
    #[error("negative duration `{0}`; simulated time only moves forward")]
    Negative(String),
    /// A number without a unit.
    #[error("`{0}` has no unit; expected one of ns, us, ms, s, min, h (e.g. `{0}ms`)")]
    MissingUnit(String),
    /// A unit that is not a time unit.
    #[error("unknown time unit `{unit}` in `{text}`; expected one of ns, us, ms, s, min, h{}",
        .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The unit as written.
        unit: String,
        /// The closest known unit, if any is close.
        suggestion: Option<String>,
    },
    /// The number part is not a decimal number.
    #[error("`{0}` is not a number; expected digits with an optional fraction, such as `1.5ms`")]
    BadNumber(String),
    /// A fraction finer than one nanosecond.
    #[error("`{0}` is finer than the simulator's 1 ns resolution")]
    TooPrecise(String),
    /// Larger than 2^64 - 1 nanoseconds (584 years).
    #[error("`{0}` is too large; the longest representable span is about 584 years")]
    Overflow(String),
}

impl FromStr for SimDuration {
    type Err = TimeParseError;

    fn from_str(text: &str) -> Result<Self, TimeParseError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(TimeParseError::Empty);
        }
        if s.starts_with('-') {
            return Err(TimeParseError::Negative(s.to_string()));
        }
        let s_num = s.strip_prefix('+').unwrap_or(s);
        let split = s_num
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(s_num.len());
        let (num, unit) = s_num.split_at(split);
        let unit = unit.trim_start();
        if num.is_empty() {
            return Err(TimeParseError::BadNumber(s.to_string()));
        }
        if unit.is_empty() {
            return Err(TimeParseError::MissingUnit(s.to_string()));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(TimeParseError::UnknownUnit {
                text: s.to_string(),
                unit: unit.to_string(),
                suggestion: suggest_unit(unit),
            });
        };
        let ns = scale_decimal(num, scale).map_err(|e| match e {
            DecimalError::Bad => TimeParseError::BadNumber(s.to_string()),
            DecimalError::TooPrecise => TimeParseError::TooPrecise(s.to_string()),
            DecimalError::Overflow => TimeParseError::Overflow(s.to_string()),
        })?;
        Ok(Self(ns))
    }
}

impl FromStr for SimTime {
    type Err = TimeParseError;
    /// An instant is written as the duration since the start: `100ms`, `5s`.
    fn from_str(s: &str) -> Result<Self, TimeParseError> {
        s.parse::<SimDuration>().map(|d| Self(d.0))
    }
}

/// Why a decimal number could not be scaled to an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not `digits[.digits]` (underscores allowed between digits).
    Bad,
    /// The fraction does not fit the scale (the result would not be an integer).
    TooPrecise,
    /// The result exceeds `u64::MAX`.
    Overflow,
}

/// Multiplies the decimal text `num` (`"1.5"`, `"1_000"`) by `scale` exactly, in integers.
///
/// Shared by every unit parser (time here; rates and sizes in the stack's units), so that
/// `1.5ms`, `2.5Gbit` and `1.5KiB` all round-trip without floating point.
///
/// ```
/// use sim_core::time::{scale_decimal, DecimalError};
/// assert_eq!(scale_decimal("1.5", 1_000_000), Ok(1_500_000));
/// assert_eq!(scale_decimal("0.5", 1), Err(DecimalError::TooPrecise));
/// ```
pub fn scale_decimal(num: &str, scale: u64) -> Result<u64, DecimalError> {
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (num, None),
    };
    let digits_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('_')
            && !p.ends_with('_')
            && p.chars().all(|c| c.is_ascii_digit() || c == '_')
    };
    if !digits_ok(int_part) || frac_part.is_some_and(|f| !digits_ok(f)) {
        return Err(DecimalError::Bad);
    }
    let mut value: u64 = 0;
    for c in int_part.chars().filter(|c| *c != '_') {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c as u8 - b'0')))
            .ok_or(DecimalError::Overflow)?;
    }
    let mut total = value.checked_mul(scale).ok_or(DecimalError::Overflow)?;
    if let Some(frac) = frac_part {
        // frac_total / denom is the fraction; frac_total * scale must divide by denom exactly.
        let mut frac_total: u128 = 0;
        let mut denom: u128 = 1;
        for (i, c) in frac.chars().filter(|c| *c != '_').enumerate() {
            let d = u128::from(c as u8 - b'0');
            if i >= 20 {
                // Beyond 20 digits no scale can use the digit; only zeros are acceptable.
                if d != 0 {
                    return Err(DecimalError::TooPrecise);
                }
                continue;
            }
            denom *= 10;
            frac_total = frac_total * 10 + d;
        }
        let scaled = frac_total
            .checked_mul(u128::from(scale))
            .ok_or(DecimalError::Overflow)?;
        if scaled % denom != 0 {
            return Err(DecimalError::TooPrecise);
        }
        let add = u64::try_from(scaled / denom).map_err(|_| DecimalError::Overflow)?;
        total = total.checked_add(add).ok_or(DecimalError::Overflow)?;
    }
    Ok(total)
}

fn suggest_unit(unit: &str) -> Option<String> {
    let lower = unit.to_ascii_lowercase();
    let aliases: &[(&str, &str)] = &[
        ("sec", "s"),
        ("secs", "s"),
        ("second", "s"),
        ("seconds", "s"),
        ("msec", "ms"),
        ("msecs", "ms"),
        ("millis", "ms"),
        ("usec", "us"),
        ("usecs", "us"),
        ("micros", "us"),
        ("nsec", "ns"),
        ("nanos", "ns"),
        ("mins", "min"),
        ("minute", "min"),
        ("minutes", "min"),
        ("m", "min"),
        ("hour", "h"),
        ("hours", "h"),
        ("hr", "h"),
    ];
    if let Some((_, s)) = aliases.iter().find(|(a, _)| *a == lower) {
        return Some((*s).to_string());
    }
    if UNITS.iter().any(|(u, _)| *u == lower) {
        return Some(lower);
    }
    None
}

impl fmt::Display for SimDuration {
    /// The largest unit that shows the value exactly: `1.5ms`, `250us`, `2s`, `10ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        for &(unit, scale) in &[("s", 1_000_000_000u64), ("ms", 1_000_000), ("us", 1_000)] {
            if ns >= scale {
                let whole = ns / scale;
                let rem = ns % scale;
                if rem == 0 {
                    return write!(f, "{whole}{unit}");
                }
                let width = scale.ilog10() as usize;
                let frac = format!("{rem:0width$}");
                let frac = frac.trim_end_matches('0');
                // Prefer a smaller unit over long fractions: 1.000001s reads worse than 1000001us.
                if frac.len() <= 3 {
                    return write!(f, "{whole}.{frac}{unit}");
                }
            }
        }
        write!(f, "{ns}ns")
    }
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SimTime {
    /// Seconds with nine decimals, `12.000345678`: fixed width per second, sorts and diffs well.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimTime({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> u64 {
        s.parse::<SimDuration>().unwrap().as_nanos()
    }

    #[test]
    fn parses_common_units() {
        assert_eq!(d("10ns"), 10);
        assert_eq!(d("250us"), 250_000);
        assert_eq!(d("250µs"), 250_000);
        assert_eq!(d("1.5ms"), 1_500_000);
        assert_eq!(d("2s"), 2_000_000_000);
        assert_eq!(d("0.1s"), 100_000_000);
        assert_eq!(d("1min"), 60_000_000_000);
        assert_eq!(d("1h"), 3_600_000_000_000);
        assert_eq!(d("1_000ms"), 1_000_000_000);
        assert_eq!(d(" 5 ms "), 5_000_000);
        assert_eq!(d("0s"), 0);
        assert_eq!(d("1.500000000s"), 1_500_000_000);
    }

    #[test]
    fn rejects_nonsense_with_clear_errors() {
        let err = |s: &str| s.parse::<SimDuration>().unwrap_err();
        assert!(matches!(err("-1ms"), TimeParseError::Negative(_)));
        assert!(matches!(
            err("5 parsecs"),
            TimeParseError::UnknownUnit { .. }
        ));
        assert!(matches!(err("5"), TimeParseError::MissingUnit(_)));
        assert!(matches!(err(""), TimeParseError::Empty));
        assert!(matches!(err("ms"), TimeParseError::BadNumber(_)));
        assert!(matches!(err("1.2.3ms"), TimeParseError::BadNumber(_)));
        assert!(matches!(err(".5ms"), TimeParseError::BadNumber(_)));
        assert!(matches!(err("1.5ns"), TimeParseError::TooPrecise(_)));
        assert!(matches!(
            err("600years"),
            TimeParseError::UnknownUnit { .. }
        ));
        assert!(matches!(
            err("585000000000000h"),
            TimeParseError::Overflow(_)
        ));
        assert!(matches!(
            err("18446744073709551616ns"),
            TimeParseError::Overflow(_)
        ));
        let msg = err("5secs").to_string();
        assert!(msg.contains("did you mean `s`"), "{msg}");
        assert_eq!(
            err("5 parsecs").to_string(),
            "unknown time unit `parsecs` in `5 parsecs`; expected one of ns, us, ms, s, min, h"
        );
    }

    #[test]
    fn max_is_representable() {
        assert_eq!(d("18446744073709551615ns"), u64::MAX);
    }

    #[test]
    fn prints_the_shortest_exact_form() {
        let p = |ns: u64| SimDuration(ns).to_string();
        assert_eq!(p(0), "0s");
        assert_eq!(p(10), "10ns");
        assert_eq!(p(1_500_000), "1.5ms");
        assert_eq!(p(250_000), "250us");
        assert_eq!(p(2_000_000_000), "2s");
        assert_eq!(p(1_000_001_000), "1000.001ms");
        assert_eq!(p(1_234), "1.234us");
        assert_eq!(p(1_000_000_001), "1000000.001us");
    }

    #[test]
    fn print_parse_round_trip() {
        for ns in [0, 1, 999, 1_000, 1_500, 1_234_567, 5_000_000_000, u64::MAX] {
            let s = SimDuration(ns).to_string();
            assert_eq!(s.parse::<SimDuration>().unwrap().as_nanos(), ns, "{s}");
        }
    }

    #[test]
    fn simtime_prints_fixed_width_seconds() {
        assert_eq!(SimTime(0).to_string(), "0.000000000");
        assert_eq!(SimTime(12_000_345_678).to_string(), "12.000345678");
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(SimTime::MAX.checked_add(SimDuration(1)), None);
        assert_eq!(SimTime(5).checked_since(SimTime(6)), None);
        assert_eq!(SimTime(7) - SimTime(5), SimDuration(2));
    }
}
