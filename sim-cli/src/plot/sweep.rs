//! The figure of a sweep's table (`sim sweep --out results.csv`): a metric against one
//! varied param, one line per combination of the values of the other varied params, each
//! point the mean over the rows that differ only in the seed (or in any other column that is
//! not a param), with a bar from their minimum to their maximum.
//!
//! Which columns are params: those given with `--by`, else every column between `run` and
//! `error` that is not a metric — a metric is a dotted path (`R0.tcp_sink.bytes`) or one of
//! stats.json's top-level numbers (`events`, `frames`, `sim_time_ns`) — and is not `seed`,
//! the x param, or a column with a single value. Rows with an `error` are left out, and so
//! are rows whose metric cell is empty.
//!
//! The x axis is numeric when every x value is a number, else the values are categories in
//! the order of the table (the order of `--vary`).

use std::collections::BTreeMap;

use super::PlotError;
use super::render::{Chart, Kind, Series};
use super::samples::Table;

/// stats.json's top-level scalars, which `--metric` may name without a dot.
const TOP_LEVEL_METRICS: [&str; 3] = ["events", "frames", "sim_time_ns"];

/// The metric's values at each x (by the x value's index), over the rows of one line.
type ValuesAtX = BTreeMap<usize, Vec<f64>>;

/// Whether column `name` of a sweep table holds a metric (not a param).
fn is_metric(name: &str) -> bool {
    name.contains('.') || TOP_LEVEL_METRICS.contains(&name)
}

/// The figure of metric `y` against param `x` of the sweep table `t`; `by` overrides the
/// params that split the lines.
pub(crate) fn chart(t: &Table, x: &str, y: &str, by: &[String]) -> Result<Chart, PlotError> {
    let xc = t.col(x)?;
    let yc = t.col(y)?;
    let error = t.header.iter().position(|h| h == "error");
    let by_cols: Vec<usize> = if by.is_empty() {
        (0..t.header.len())
            .filter(|&c| {
                let h = t.header[c].as_str();
                c != xc
                    && c != yc
                    && Some(c) != error
                    && h != "run"
                    && h != "seed"
                    && !is_metric(h)
                    && t.rows.iter().any(|r| r[c] != t.rows[0][c])
            })
            .collect()
    } else {
        by.iter().map(|b| t.col(b)).collect::<Result<_, _>>()?
    };

    // x values in table order, and per line (its params' values) the y values at each x.
    let mut xs: Vec<String> = Vec::new();
    let mut lines: Vec<(Vec<String>, ValuesAtX)> = Vec::new();
    let mut skipped = 0usize;
    for (r, row) in t.rows.iter().enumerate() {
        if error.is_some_and(|e| !row[e].is_empty()) || row[yc].trim().is_empty() {
            skipped += 1;
            continue;
        }
        let v = t.num(r, yc)?;
        let xi = xs.iter().position(|s| *s == row[xc]).unwrap_or_else(|| {
            xs.push(row[xc].clone());
            xs.len() - 1
        });
        let key: Vec<String> = by_cols.iter().map(|&c| row[c].clone()).collect();
        let li = lines.iter().position(|l| l.0 == key).unwrap_or_else(|| {
            lines.push((key, BTreeMap::new()));
            lines.len() - 1
        });
        lines[li].1.entry(xi).or_default().push(v);
    }
    if lines.is_empty() {
        return Err(PlotError::NoRows {
            path: t.path.clone(),
            metric: y.to_string(),
        });
    }
    let numeric: Option<Vec<f64>> = xs.iter().map(|s| s.trim().parse::<f64>().ok()).collect();
    let mut most = 0usize;
    let series = lines
        .iter()
        .enumerate()
        .map(|(i, (key, at))| {
            let mut pts: Vec<(f64, f64, f64, f64)> = at
                .iter()
                .map(|(&xi, vs)| {
                    most = most.max(vs.len());
                    let mean = vs.iter().sum::<f64>() / vs.len() as f64;
                    let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let x = numeric.as_ref().map_or(xi as f64, |n| n[xi]);
                    (x, mean, lo, hi)
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let label = if by_cols.is_empty() {
                y.to_string()
            } else {
                by_cols
                    .iter()
                    .zip(key)
                    .map(|(&c, v)| format!("{}={v}", t.header[c]))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Series {
                label,
                color: i,
                kind: Kind::ErrorBars(pts),
            }
        })
        .collect();
    let mut notes = vec![
        "dot: mean over the runs at a point".to_string(),
        "bar: their minimum to maximum".to_string(),
        format!("(up to {most} runs per point)"),
    ];
    if skipped > 0 {
        notes.push(format!("{skipped} rows with an error or no value left out"));
    }
    Ok(Chart {
        name: format!("{}-vs-{}", file_part(y), file_part(x)),
        title: format!("{y} against {x}"),
        x_label: x.to_string(),
        y_label: y.to_string(),
        series,
        x_categories: if numeric.is_some() { None } else { Some(xs) },
        notes,
        y_from_zero: true,
    })
}

/// A column name made safe for a file name: `/`, `\` and spaces become `_`.
fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CSV: &str = "\
run,bottleneck_rate,pairs,seed,R0.tcp_sink.bytes,drops.qdisc,error
1,10Mbit,1,1,100,5,
2,10Mbit,1,2,300,6,
3,10Mbit,2,1,50,7,
4,10Mbit,2,2,70,8,
5,100Mbit,1,1,1000,1,
6,100Mbit,1,2,1200,1,
7,100Mbit,2,1,,1,
8,100Mbit,2,2,900,1,timeout
";

    fn table() -> Table {
        Table::parse(Path::new("results.csv"), CSV).unwrap()
    }

    #[test]
    fn mean_and_range_over_seeds_one_line_per_other_param() {
        let c = chart(&table(), "bottleneck_rate", "R0.tcp_sink.bytes", &[]).unwrap();
        assert_eq!(c.name, "R0.tcp_sink.bytes-vs-bottleneck_rate");
        assert_eq!(
            c.x_categories.as_deref(),
            Some(&["10Mbit".to_string(), "100Mbit".to_string()][..])
        );
        assert_eq!(c.series.len(), 2);
        assert_eq!(c.series[0].label, "pairs=1");
        let Kind::ErrorBars(p) = &c.series[0].kind else {
            panic!()
        };
        assert_eq!(
            p,
            &[(0.0, 200.0, 100.0, 300.0), (1.0, 1100.0, 1000.0, 1200.0)]
        );
        // pairs=2 at 100Mbit: one row empty, one with an error: no point.
        let Kind::ErrorBars(p) = &c.series[1].kind else {
            panic!()
        };
        assert_eq!(p, &[(0.0, 60.0, 50.0, 70.0)]);
        assert!(c.notes.iter().any(|n| n.starts_with("2 rows")));
    }

    #[test]
    fn numeric_x_and_explicit_by() {
        let c = chart(
            &table(),
            "pairs",
            "drops.qdisc",
            &["bottleneck_rate".to_string()],
        )
        .unwrap();
        assert!(c.x_categories.is_none());
        assert_eq!(c.series[0].label, "bottleneck_rate=10Mbit");
        let Kind::ErrorBars(p) = &c.series[0].kind else {
            panic!()
        };
        assert_eq!(p, &[(1.0, 5.5, 5.0, 6.0), (2.0, 7.5, 7.0, 8.0)]);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = chart(&table(), "rate", "drops.qdisc", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `rate`"), "{e}");
        let t = Table::parse(Path::new("r.csv"), "run,a,m.x,error\n1,1,abc,\n").unwrap();
        let e = chart(&t, "a", "m.x", &[]).unwrap_err().to_string();
        assert_eq!(e, "r.csv line 2: `m.x` is `abc`, not a number");
        let t = Table::parse(Path::new("r.csv"), "run,a,m.x,error\n1,1,,\n").unwrap();
        let e = chart(&t, "a", "m.x", &[]).unwrap_err().to_string();
        assert!(e.contains("no row of r.csv has a value of `m.x`"), "{e}");
    }
}
