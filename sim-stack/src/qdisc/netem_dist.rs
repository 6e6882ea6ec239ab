//! netem's delay distribution tables (`distribution normal|pareto|paretonormal`).
//!
//! `tc` loads these from iproute2's `/usr/lib/…/tc/NAME.dist`: 4096 `s16` values, an inverse
//! cumulative distribution function scaled by [`NETEM_DIST_SCALE`] (so a value of 8192 is one
//! standard deviation), and the kernel's `tabledist` picks one at random. The files are made
//! at iproute2's build time by three small public-domain (NIST-PD, from NIST Net) programs,
//! `netem/normal.c`, `pareto.c` and `paretonormal.c`; this module runs the same computation
//! (same loop, same step, same rounding), so the tables are the installed files value for value
//! without shipping them. The unit tests check them against the files when present and
//! against a digest of them always.
//!
//! Only the C library's `erf` differs: Rust has none, so [`erf`] sums its Taylor series in
//! the form whose terms are all positive, `2/√π · e^{−z²} · Σ (2z²)ⁿ z / (2n+1)!!`, which is
//! accurate to a few ulps; a table entry could only change if some `16384 · Φ(x)` of the 400 001
//! evaluated fell within that of a rounding boundary, and none does (the digest test).
//! `exp` and `powf` are the platform's `libm`, as in the C programs.

use std::sync::OnceLock;

use crate::config::NetemDist;

/// `NETEM_DIST_SCALE`: a table value of this is one standard deviation (`sigma`).
pub const NETEM_DIST_SCALE: i64 = 8192;

/// Entries of each table (`TABLESIZE / 4` in the generators).
pub const DIST_ENTRIES: usize = 4096;

/// The generators' `TABLESIZE`: the resolution of the inverse CDF before every 4th is kept.
const TABLESIZE: usize = 16384;

/// The table of `dist`, or `None` for `uniform` (no table: `tabledist`'s default).
pub fn table(dist: NetemDist) -> Option<&'static [i16]> {
    static NORMAL: OnceLock<Vec<i16>> = OnceLock::new();
    static PARETO: OnceLock<Vec<i16>> = OnceLock::new();
    static PARETONORMAL: OnceLock<Vec<i16>> = OnceLock::new();
    Some(match dist {
        NetemDist::Uniform => return None,
        NetemDist::Normal => NORMAL.get_or_init(normal_table),
        NetemDist::Pareto => PARETO.get_or_init(pareto_table),
        NetemDist::ParetoNormal => PARETONORMAL.get_or_init(paretonormal_table),
    })
}

/// The error function, by its everywhere-positive series (see the module doc). For
/// `|z| > 6` it is ±1 to double precision.
fn erf(z: f64) -> f64 {
    let a = z.abs();
    let r = if a > 6.0 {
        1.0
    } else {
        let two_z2 = 2.0 * a * a;
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        while term >= sum * 1e-17 {
            n += 1.0;
            term *= two_z2 / (2.0 * n + 1.0);
            sum += term;
        }
        2.0 / std::f64::consts::PI.sqrt() * (-a * a).exp() * sum
    };
    if z < 0.0 { -r } else { r }
}

/// `normal(x, 0, 1)` of the generators: the standard normal CDF.
fn normal_cdf(x: f64) -> f64 {
    0.5 + 0.5 * erf(x / 2f64.sqrt())
}

/// `rint`: round half to even, as the C programs do under the default rounding mode.
fn rint(x: f64) -> f64 {
    x.round_ties_even()
}

fn clamp_s16(v: i64) -> i16 {
    v.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
}

/// The normal inverse CDF at `TABLESIZE + 1` points: `table[rint(16384 Φ(x))] = x` for x from
/// −10 in steps of 0.00005 (the last x that lands on an index wins).
fn inverse_normal() -> Vec<f64> {
    let mut table = vec![0.0f64; TABLESIZE + 1];
    let mut x = -10.0f64;
    while x < 10.05 {
        let i = rint(TABLESIZE as f64 * normal_cdf(x)) as usize;
        table[i] = x;
        x += 0.00005;
    }
    table
}

/// `normal.c`.
fn normal_table() -> Vec<i16> {
    let t = inverse_normal();
    (0..TABLESIZE)
        .step_by(4)
        .map(|i| clamp_s16(rint(t[i] * NETEM_DIST_SCALE as f64) as i64))
        .collect()
}

/// One value of a Pareto distribution of shape `a = 3` (scale 1) at quantile `i / 65536` from
/// the top, shifted by its mean (1.5) and multiplied by NIST Net's `4/3 × TABLEFACTOR`, capped
/// at `SHRT_MAX`.
fn pareto_value(i: i64) -> i64 {
    let mut d = i as f64 / 65536.0;
    d = 1.0 / d.powf(1.0 / 3.0);
    d -= 1.5;
    d *= (4.0 / 3.0) * NETEM_DIST_SCALE as f64;
    if d > 32767.0 {
        d = 32767.0;
    }
    rint(d) as i64
}

/// `pareto.c`: `i` from 65536 down by 16.
fn pareto_table() -> Vec<i16> {
    (0..DIST_ENTRIES as i64)
        .map(|k| pareto_value(65536 - 16 * k) as i16)
        .collect()
}

/// `paretonormal.c`: `(normal + 3 × pareto) / 4`, C's truncating division.
fn paretonormal_table() -> Vec<i16> {
    let t = inverse_normal();
    (0..TABLESIZE)
        .step_by(4)
        .map(|i| {
            let norm = rint(t[i] * NETEM_DIST_SCALE as f64) as i64;
            let par = pareto_value(65536 - 4 * i as i64);
            clamp_s16((norm + 3 * par) / 4)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a over the little-endian bytes of a table.
    fn digest(t: &[i16]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in t.iter().flat_map(|v| v.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    }

    const ALL: [(NetemDist, &str, u64); 3] = [
        // Digests of iproute2's installed normal.dist, pareto.dist, paretonormal.dist.
        (NetemDist::Normal, "normal", 0x3f19_8b60_14c3_b3b8),
        (NetemDist::Pareto, "pareto", 0x209e_1d3c_8618_19fa),
        (
            NetemDist::ParetoNormal,
            "paretonormal",
            0x468c_e9c9_62a5_ecf9,
        ),
    ];

    #[test]
    fn tables_are_iproute2s() {
        for (dist, name, want) in ALL {
            let t = table(dist).unwrap();
            assert_eq!(t.len(), DIST_ENTRIES, "{name}");
            assert_eq!(digest(t), want, "{name}: digest");
            // The files themselves, where iproute2 is installed (the format tc reads).
            let path = format!("/usr/lib/x86_64-linux-gnu/tc/{name}.dist");
            if let Ok(text) = std::fs::read_to_string(&path) {
                let file: Vec<i16> = text
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .flat_map(|l| l.split_whitespace().map(|w| w.parse::<i16>().unwrap()))
                    .collect();
                assert_eq!(t, &file[..], "{path}");
            }
        }
        assert!(table(NetemDist::Uniform).is_none());
    }

    #[test]
    fn normal_table_has_mean_zero_and_sd_one_scale() {
        let t = table(NetemDist::Normal).unwrap();
        let n = t.len() as f64;
        let mean = t.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = t
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        // Quantiles of N(0, 1) at i/4096: mean 0 and standard deviation 1 up to the
        // table's resolution (the tails are cut at ±4 sd by the s16 range).
        assert!(mean.abs() < 0.002 * NETEM_DIST_SCALE as f64, "mean {mean}");
        let sd = var.sqrt() / NETEM_DIST_SCALE as f64;
        assert!((sd - 1.0).abs() < 0.01, "sd {sd}");
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "an inverse CDF rises");
    }

    #[test]
    fn erf_matches_known_values() {
        // erf(1), erf(0.5), erf(2) to 16 digits (Abramowitz & Stegun table 7.1).
        for (z, want) in [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
        ] {
            assert!((erf(z) - want).abs() < 4e-16, "erf({z})");
            assert!((erf(-z) + want).abs() < 4e-16);
        }
    }
}
