//! Reading the CSV files `sim plot` draws from: a run's `samples/*.csv` (the format of
//! docs/outputs.md, "samples") and a sweep's table (docs/sweeps.md, "the table").
//!
//! Both are RFC 4180 CSV with a header line; fields are quoted when they hold a comma, a
//! quote or a line break. A [`Table`] keeps the cells as text; the figures ask for the
//! columns they need by name and parse the numbers they read, so an error names the file,
//! the line and the column.

use std::path::{Path, PathBuf};

use super::PlotError;

/// A CSV file: its header and its rows of text cells, in file order.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Where it was read from (for error messages).
    pub path: PathBuf,
    /// The column names of the header line.
    pub header: Vec<String>,
    /// The rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads and parses the CSV file at `path`.
    pub fn read(path: &Path) -> Result<Self, PlotError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (the contents of `path`) as CSV with a header line.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PlotError> {
        let bad = |line: usize, msg: String| PlotError::Csv {
            path: path.to_path_buf(),
            line,
            msg,
        };
        let records = split_records(text).map_err(|(line, msg)| bad(line, msg))?;
        let mut records = records.into_iter();
        let Some((_, header)) = records.next() else {
            return Err(bad(1, "the file is empty (no header line)".to_string()));
        };
        let mut rows = Vec::new();
        for (line, r) in records {
            if r.len() != header.len() {
                return Err(bad(
                    line,
                    format!(
                        "{} fields where the header has {} columns",
                        r.len(),
                        header.len()
                    ),
                ));
            }
            rows.push(r);
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// The index of column `name`, or an error naming the columns there are.
    pub fn col(&self, name: &str) -> Result<usize, PlotError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| PlotError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                have: self.header.join(", "),
            })
    }

    /// The number in row `row` (0-based, after the header), column `col`.
    pub fn num(&self, row: usize, col: usize) -> Result<f64, PlotError> {
        let cell = &self.rows[row][col];
        cell.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| PlotError::Csv {
                path: self.path.clone(),
                line: row + 2,
                msg: format!("`{}` is `{cell}`, not a number", self.header[col]),
            })
    }
}

/// A CSV record: the line it starts on (1-based) and its fields.
type Record = (usize, Vec<String>);

/// Splits CSV text into records. A trailing line break (or none) both end the last record;
/// empty lines are skipped. The error is the line where a quoted field starts that is not
/// closed.
fn split_records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if field.is_empty() => quoted = true,
                '\n' if quoted => {
                    line += 1;
                    field.push('\n');
                }
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    break;
                }
                c => field.push(c),
            }
        }
        if quoted {
            return Err((start, "a quoted field is not closed".to_string()));
        }
        fields.push(field);
        if !(fields.len() == 1 && fields[0].is_empty()) {
            out.push((start, fields));
        }
    }
    Ok(out)
}

/// The sample files of a run folder that exist: `samples/{tcp,qdisc,link,app}.csv`.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    /// `samples/tcp.csv`: one row per TCP socket per instant.
    pub tcp: Option<Table>,
    /// `samples/qdisc.csv`: one row per root qdisc per instant.
    pub qdisc: Option<Table>,
    /// `samples/link.csv`: one row per link direction per instant.
    pub link: Option<Table>,
    /// `samples/app.csv`: one row per app per instant.
    pub app: Option<Table>,
}

impl Samples {
    /// Reads the sample files under `outdir/samples/` (those that exist).
    pub fn read(outdir: &Path) -> Result<Self, PlotError> {
        let dir = outdir.join("samples");
        let read = |kind: &str| {
            let p = dir.join(format!("{kind}.csv"));
            if p.is_file() {
                Table::read(&p).map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(Self {
            tcp: read("tcp")?,
            qdisc: read("qdisc")?,
            link: read("link")?,
            app: read("app")?,
        })
    }

    /// Whether any sample file exists.
    pub fn any(&self) -> bool {
        self.tcp.is_some() || self.qdisc.is_some() || self.link.is_some() || self.app.is_some()
    }
}

/// One object's values over time, as a figure draws it: a key (`node sock`, `r1 eth1`, …)
/// and its `(time in s, row index)` pairs in time order.
#[derive(Debug)]
pub(crate) struct Track {
    /// The values of the key columns, joined with a space.
    pub key: Vec<String>,
    /// `(time_ns, row)` for each sample of this object.
    pub rows: Vec<(u64, usize)>,
}

/// Groups `t`'s rows by the values of the columns `keys`, in the order the objects first
/// appear (the scenario's order); `time_ns` gives each row's instant.
pub(crate) fn tracks(t: &Table, keys: &[&str]) -> Result<Vec<Track>, PlotError> {
    let time = t.col("time_ns")?;
    let cols = keys
        .iter()
        .map(|k| t.col(k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut index = std::collections::BTreeMap::<Vec<String>, usize>::new();
    let mut out: Vec<Track> = Vec::new();
    for r in 0..t.rows.len() {
        let key: Vec<String> = cols.iter().map(|&c| t.rows[r][c].clone()).collect();
        let ns = t.rows[r][time].parse::<u64>().map_err(|_| PlotError::Csv {
            path: t.path.clone(),
            line: r + 2,
            msg: format!("`time_ns` is `{}`, not a whole number", t.rows[r][time]),
        })?;
        let i = *index.entry(key.clone()).or_insert_with(|| {
            out.push(Track {
                key,
                rows: Vec::new(),
            });
            out.len() - 1
        });
        out[i].rows.push((ns, r));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_crlf_and_no_final_newline() {
        let t = Table::parse(
            Path::new("x.csv"),
            "a,b,c\r\n1,\"x,y\",\"say \"\"hi\"\"\"\r\n2,,\"two\nlines\"",
        )
        .unwrap();
        assert_eq!(t.header, ["a", "b", "c"]);
        assert_eq!(t.rows[0], ["1", "x,y", "say \"hi\""]);
        assert_eq!(t.rows[1], ["2", "", "two\nlines"]);
        assert_eq!(t.num(1, 0).unwrap(), 2.0);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let t = Table::parse(Path::new("s/tcp.csv"), "time_ns,x\n0,1\n10,zz\n").unwrap();
        let e = t.num(1, 1).unwrap_err().to_string();
        assert_eq!(e, "s/tcp.csv line 3: `x` is `zz`, not a number");
        let e = t.col("cwnd").unwrap_err().to_string();
        assert_eq!(
            e,
            "s/tcp.csv has no column `cwnd` (its columns: time_ns, x)"
        );
        let e = Table::parse(Path::new("a.csv"), "a,b\n1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.csv line 2: 1 fields where the header has 2 columns");
        let e = Table::parse(Path::new("a.csv"), "a\n\"1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.csv line 2: a quoted field is not closed");
    }

    #[test]
    fn tracks_keep_first_appearance_order() {
        let t = Table::parse(
            Path::new("q.csv"),
            "time_ns,node,dev\n0,r2,eth0\n0,r1,eth1\n10,r2,eth0\n10,r1,eth1\n",
        )
        .unwrap();
        let tr = tracks(&t, &["node", "dev"]).unwrap();
        assert_eq!(tr.len(), 2);
        assert_eq!(tr[0].key, ["r2", "eth0"]);
        assert_eq!(tr[0].rows, [(0, 0), (10, 2)]);
        assert_eq!(tr[1].rows, [(0, 1), (10, 3)]);
    }
}
