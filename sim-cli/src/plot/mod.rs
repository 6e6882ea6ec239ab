//! `sim plot`: figures of a run (its samples and captures) or of a sweep's table, as SVG
//! and PNG (docs/plots.md).
//!
//! - [`samples`] reads the CSV files; [`timeseries`] makes the figures of `samples/*.csv`
//!   (cwnd, RTT, throughput, qdisc backlog, link utilization, goodput); [`tcpseq`] the
//!   time-sequence graph of a TCP connection from the pcaps; [`sweep`] the figure of a
//!   sweep's table; [`render`] draws any of them with plotters.
//! - [`run_figures`] gives a run's figures as SVG strings and writes nothing: what
//!   `sim report` embeds. The command writes them into `OUTDIR/plots/`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

mod render;
mod samples;
mod sweep;
mod tcpseq;
mod timeseries;

use render::Chart;

/// A figure as SVG: what [`run_figures`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The file stem `sim plot` writes it under: `cwnd`, `qdisc-r1-eth1`, `tcpseq-h1-40000`.
    pub name: String,
    /// Its caption.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// Why `sim plot` could not make its figures.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error of the system call.
        source: std::io::Error,
    },
    /// A CSV file is malformed, or a cell is not the number it must be.
    #[error("{} line {line}: {msg}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line (1 is the header).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A CSV file lacks a column a figure needs.
    #[error("{} has no column `{column}` (its columns: {have})", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns it has.
        have: String,
    },
    /// A capture file cannot be read.
    #[error("{}: not a readable pcap/pcapng: {msg}", path.display())]
    Pcap {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        msg: String,
    },
    /// The folder has neither samples nor captures.
    #[error(
        "{} has no samples/ and no pcap: nothing to plot (run with `--sample 10ms` and/or with captures)",
        path.display()
    )]
    NoData {
        /// The folder.
        path: PathBuf,
    },
    /// There is data, but no figure comes out of it (no TCP payload, no busy link, …).
    #[error(
        "{}: nothing to plot: no sampled TCP flow, busy qdisc, link or app, and no TCP payload in its captures",
        path.display()
    )]
    NoFigure {
        /// The folder.
        path: PathBuf,
    },
    /// `--tcp-seq` names no connection in the captures.
    #[error("--tcp-seq {spec}: no TCP connection with payload matches (connections: {have})")]
    NoConnection {
        /// The word that matched nothing.
        spec: String,
        /// The connections there are.
        have: String,
    },
    /// A sweep table has no row with a value of the metric.
    #[error("no row of {} has a value of `{metric}` (every row has an error or an empty cell)", path.display())]
    NoRows {
        /// The table.
        path: PathBuf,
        /// The metric.
        metric: String,
    },
    /// The command line asks for something that does not fit the input.
    #[error("{0}")]
    Usage(String),
    /// Plotters or the PNG encoder failed.
    #[error("drawing {name}: {msg}")]
    Draw {
        /// The figure.
        name: String,
        /// What failed.
        msg: String,
    },
}

/// `sim plot` arguments.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sim plot out/dumbbell_tcp                        # out/dumbbell_tcp/plots/*.svg
  sim plot out/dumbbell_tcp --format svg,png --tcp-seq all
  sim plot out/dumbbell_tcp --tcp-seq S0:34754 --time 0.3s..0.65s --out out/zoom
  sim plot results.csv --x bottleneck_rate --y A.eth0.qdisc.drops   # results.*.svg")]
pub struct PlotArgs {
    /// A run's output folder (its samples/ and pcaps), or a sweep's CSV table.
    pub path: PathBuf,

    /// File formats to write, comma-separated: `svg`, `png` or both.
    #[arg(
        long,
        value_name = "svg,png",
        default_value = "svg",
        value_delimiter = ','
    )]
    pub format: Vec<Format>,

    /// Time-sequence graphs (from the pcaps): of the connection that sent the most payload
    /// (the default), `all` connections, `none`, or those named, comma-separated: a socket
    /// as tcp.csv names it (`10.0.0.1:40000-10.0.1.1:5001`), one end (`10.0.0.1:40000`), or
    /// the sender's node and port (`h1:40000`).
    #[arg(long, value_name = "SOCK|all|none")]
    pub tcp_seq: Option<String>,

    /// Draw only this stretch of simulated time (a run's figures): `--time 0.3s..0.7s`,
    /// `--time 2s..` (to the end), `--time ..500ms`; the time-sequence graph's y axis then
    /// fits that stretch, to zoom on a recovery.
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    pub time: Option<Window>,

    /// Sweep table: the varied param on the x axis (a column of the table).
    #[arg(long, value_name = "PARAM")]
    pub x: Option<String>,

    /// Sweep table: the metric on the y axis (a column; repeatable, one figure each).
    #[arg(long, value_name = "METRIC")]
    pub y: Vec<String>,

    /// Sweep table: the params that split the lines (repeatable) [default: every other
    /// varied param except `seed`].
    #[arg(long, value_name = "PARAM")]
    pub by: Vec<String>,

    /// Where to write: a run's figures go to OUTDIR/plots/, a sweep's beside the table;
    /// `--out DIR` writes them into DIR instead. A run's folder of figures is replaced as a
    /// whole, and only if it holds nothing but .svg and .png files.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// A stretch of simulated time, in seconds: `--time FROM..TO`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Its start (s).
    pub from: f64,
    /// Its end (s); infinite when open.
    pub to: f64,
}

/// Parses `FROM..TO` with either end optional, each a time as `sim run --until` takes it.
fn parse_window(s: &str) -> Result<Window, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not FROM..TO (`0.3s..0.7s`, `2s..`, `..500ms`)"))?;
    let end = |t: &str, open: f64| -> Result<f64, String> {
        if t.is_empty() {
            return Ok(open);
        }
        t.parse::<sim_core::time::SimTime>()
            .map(|t| t.as_nanos() as f64 / 1e9)
            .map_err(|e| format!("`{t}`: {e}"))
    };
    let w = Window {
        from: end(a, 0.0)?,
        to: end(b, f64::INFINITY)?,
    };
    if w.from >= w.to {
        return Err(format!("`{s}` ends before it starts"));
    }
    Ok(w)
}

/// A file format of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// Scalable vector graphics (text as text; no font needed to write them).
    Svg,
    /// A 1000 × 560 bitmap, text drawn with the embedded DejaVu Sans.
    Png,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }
}

/// A run's charts: the time series of its samples, then the time-sequence graphs that
/// `tcp_seq` selects (as `--tcp-seq`).
fn run_charts(
    outdir: &Path,
    tcp_seq: Option<&str>,
    window: Option<Window>,
) -> Result<Vec<Chart>, PlotError> {
    if !outdir.is_dir() {
        return Err(PlotError::Io {
            path: outdir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    let s = samples::Samples::read(outdir)?;
    let files = tcpseq::capture_files(outdir)?;
    if !s.any() && files.is_empty() {
        return Err(PlotError::NoData {
            path: outdir.to_path_buf(),
        });
    }
    let mut charts = timeseries::charts(&s)?;
    if let Some(w) = window {
        for c in &mut charts {
            c.clip_x(w.from, w.to);
        }
    }
    if !files.is_empty() && tcp_seq != Some("none") {
        let mut caps = tcpseq::read(&files)?;
        caps.name_nodes(&socket_nodes(outdir, &s)?);
        let mut names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
        for c in tcpseq::select(&caps, tcp_seq)? {
            let mut chart = caps.chart(c, window.map(|w| (w.from, w.to)))?;
            // Two connections from one node and port (to different peers) get -2, -3, ….
            let stem = chart.name.clone();
            let mut n = 1;
            while names.contains(&chart.name) {
                n += 1;
                chart.name = format!("{stem}-{n}");
            }
            names.push(chart.name.clone());
            charts.push(chart);
        }
    }
    if charts.is_empty() {
        return Err(PlotError::NoFigure {
            path: outdir.to_path_buf(),
        });
    }
    Ok(charts)
}

/// Which node each TCP socket's local end belongs to (`10.0.0.1:40000` → `h1`): from
/// stats.json's `tcp_connections` (sockets open at the end) and tcp.csv (every socket
/// sampled).
fn socket_nodes(
    outdir: &Path,
    s: &samples::Samples,
) -> Result<std::collections::BTreeMap<String, String>, PlotError> {
    let mut map = std::collections::BTreeMap::new();
    let stats = outdir.join("stats.json");
    if stats.is_file() {
        let text = std::fs::read_to_string(&stats).map_err(io(&stats))?;
        // A stats.json that does not parse (stats.ron runs have none) names no node.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(nodes) = v.get("nodes").and_then(|n| n.as_object())
        {
            for (node, n) in nodes {
                let conns = n.get("tcp_connections").and_then(|c| c.as_array());
                for c in conns.into_iter().flatten() {
                    if let Some(local) = c.get("local").and_then(|l| l.as_str()) {
                        map.insert(local.to_string(), node.clone());
                    }
                }
            }
        }
    }
    if let Some(t) = &s.tcp {
        let (node, sock) = (t.col("node")?, t.col("sock")?);
        for r in &t.rows {
            if let Some((local, _)) = split_sock(&r[sock]) {
                map.insert(local.to_string(), r[node].clone());
            }
        }
    }
    Ok(map)
}

/// `LOCAL-PEER` split at the `-` between the two ends (IPv6 addresses are in brackets, so
/// the only `-` outside brackets is that one).
fn split_sock(sock: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, ch) in sock.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            '-' if depth == 0 => return Some((&sock[..i], &sock[i + 1..])),
            _ => {}
        }
    }
    None
}

/// The figures of the run folder `outdir` as SVG documents, without writing anything: the
/// time series of its `samples/` and the time-sequence graph of the connection that sent
/// the most payload, in the order `sim plot` lists them.
pub fn run_figures(outdir: &Path) -> Result<Vec<Figure>, PlotError> {
    run_charts(outdir, None, None)?
        .into_iter()
        .map(|c| {
            Ok(Figure {
                svg: render::svg(&c)?,
                name: c.name,
                title: c.title,
            })
        })
        .collect()
}

/// [`run_figures`], also written as SVG files into `OUTDIR/plots/` (what `sim run
/// --report` draws; the folder is replaced whole, as `sim plot OUTDIR` replaces it).
pub(crate) fn write_run_figures(outdir: &Path) -> Result<Vec<Figure>, PlotError> {
    let figures = run_figures(outdir)?;
    let files: Vec<(String, Vec<u8>)> = figures
        .iter()
        .map(|f| (format!("{}.svg", f.name), f.svg.clone().into_bytes()))
        .collect();
    write_folder(&outdir.join("plots"), &files)?;
    Ok(figures)
}

/// The files of `charts` in `formats`: (file name, bytes).
fn files(charts: &[Chart], formats: &[Format]) -> Result<Vec<(String, Vec<u8>)>, PlotError> {
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    let mut out = Vec::new();
    for c in charts {
        for &f in &formats {
            let bytes = match f {
                Format::Svg => render::svg(c)?.into_bytes(),
                Format::Png => render::png(c)?,
            };
            out.push((format!("{}.{}", c.name, f.ext()), bytes));
        }
    }
    Ok(out)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PlotError + '_ {
    move |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `files` as the folder `dir`, replacing it whole: into `.NAME.partial-PID` beside
/// it, then renamed into place (an earlier `dir` is moved aside first and removed after).
fn write_folder(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), PlotError> {
    // The real folder (`--out .` is the current folder, whose parent is not "").
    let dir = &if dir.exists() {
        dir.canonicalize().map_err(io(dir))?
    } else {
        std::path::absolute(dir).map_err(io(dir))?
    };
    if std::env::current_dir().is_ok_and(|cwd| cwd.starts_with(dir)) {
        return Err(PlotError::Usage(format!(
            "{} is the current folder or holds it: not replacing it (choose another --out)",
            dir.display()
        )));
    }
    if dir.exists()
        && let Some(other) = not_a_figure(dir)?
    {
        return Err(PlotError::Usage(format!(
            "{} holds {} besides figures: not replacing it (choose another --out)",
            dir.display(),
            other.display()
        )));
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map_or_else(|| "plots".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.partial-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let placed = fill_and_place(dir, &tmp, &old, files);
    // Whatever failed, no temporary folder is left behind.
    let _ = std::fs::remove_dir_all(&tmp);
    placed?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// Writes `files` into the new folder `tmp`, moves an earlier `dir` to `old` and renames
/// `tmp` to `dir`; on failure puts the earlier `dir` back.
fn fill_and_place(
    dir: &Path,
    tmp: &Path,
    old: &Path,
    files: &[(String, Vec<u8>)],
) -> Result<(), PlotError> {
    for (n, b) in files {
        std::fs::write(tmp.join(n), b).map_err(io(&tmp.join(n)))?;
    }
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, old).map_err(io(dir))?;
    }
    if let Err(e) = std::fs::rename(tmp, dir) {
        if had_old {
            let _ = std::fs::rename(old, dir);
        }
        return Err(io(dir)(e));
    }
    Ok(())
}

/// The first entry of the folder `dir` that is not an `.svg` or `.png` file: a folder that
/// has one is not a plots folder, and `sim plot` does not replace it.
fn not_a_figure(dir: &Path) -> Result<Option<PathBuf>, PlotError> {
    if !dir.is_dir() {
        return Ok(Some(dir.to_path_buf()));
    }
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let p = e.map_err(io(dir))?.path();
        let ext = p.extension().and_then(|e| e.to_str());
        if !p.is_file() || !matches!(ext, Some("svg" | "png")) {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Writes each of `files` into `dir` under a temporary name, renamed into place.
fn write_each(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), PlotError> {
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let pid = std::process::id();
    for (n, b) in files {
        let tmp = dir.join(format!(".{n}.partial-{pid}"));
        std::fs::write(&tmp, b).map_err(io(&tmp))?;
        std::fs::rename(&tmp, dir.join(n)).map_err(io(&dir.join(n)))?;
    }
    Ok(())
}

/// Makes and writes the figures; returns the paths written.
fn plot(args: &PlotArgs) -> Result<Vec<PathBuf>, PlotError> {
    let is_table = args.path.is_file();
    if is_table {
        let Some(x) = &args.x else {
            return Err(PlotError::Usage(format!(
                "{} is a file: plotting a sweep's table needs --x PARAM and --y METRIC",
                args.path.display()
            )));
        };
        if args.y.is_empty() {
            return Err(PlotError::Usage(
                "plotting a sweep's table needs --y METRIC (repeatable)".to_string(),
            ));
        }
        if args.tcp_seq.is_some() || args.time.is_some() {
            return Err(PlotError::Usage(
                "--tcp-seq and --time are for a run's folder, not a sweep's table".to_string(),
            ));
        }
        let t = samples::Table::read(&args.path)?;
        let charts = args
            .y
            .iter()
            .map(|y| sweep::chart(&t, x, y, &args.by))
            .collect::<Result<Vec<_>, _>>()?;
        let stem = args
            .path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let mut fs = files(&charts, &args.format)?;
        for f in &mut fs {
            f.0 = format!("{stem}.{}", f.0);
        }
        // Beside the table (its parent is "" for a bare file name: the current folder).
        let dir = args
            .out
            .clone()
            .unwrap_or_else(|| args.path.parent().unwrap_or(Path::new("")).to_path_buf());
        write_each(&dir, &fs)?;
        Ok(fs.iter().map(|f| dir.join(&f.0)).collect())
    } else {
        if args.x.is_some() || !args.y.is_empty() || !args.by.is_empty() {
            return Err(PlotError::Usage(format!(
                "--x, --y and --by are for a sweep's CSV table; {} is not a file",
                args.path.display()
            )));
        }
        let charts = run_charts(&args.path, args.tcp_seq.as_deref(), args.time)?;
        let fs = files(&charts, &args.format)?;
        let dir = args.out.clone().unwrap_or_else(|| args.path.join("plots"));
        write_folder(&dir, &fs)?;
        Ok(fs.iter().map(|f| dir.join(&f.0)).collect())
    }
}

/// Runs `sim plot`: prints the files written, one a line; exit code 0, or 2 with the error.
pub(crate) fn run(args: &PlotArgs, out: &mut impl Write, err: &mut impl Write) -> u8 {
    match plot(args) {
        Ok(paths) => {
            for p in paths {
                let _ = writeln!(out, "{}", p.display());
            }
            0
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `s` is well-formed XML (as far as SVG needs: tags nest and close, attributes
    /// are quoted, entities are known), and its root is `<svg>`.
    pub(crate) fn well_formed(s: &str) -> Result<(), String> {
        let body = s.trim_start();
        let body = if body.starts_with("<?xml") {
            &body[body.find("?>").ok_or("unclosed <?xml")? + 2..]
        } else {
            body
        };
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = body;
        let mut root = None;
        while let Some(i) = rest.find('<') {
            check_text(&rest[..i])?;
            rest = &rest[i + 1..];
            let end = rest.find('>').ok_or("unclosed tag")?;
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
                if open != name.trim() {
                    return Err(format!("<{open}> closed by </{name}>"));
                }
            } else if tag.starts_with('!') || tag.starts_with('?') {
                continue;
            } else {
                let selfclosing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name = tag.split_whitespace().next().ok_or("empty tag")?;
                let mut attrs = &tag[name.len()..];
                while !attrs.trim().is_empty() {
                    let eq = attrs
                        .find('=')
                        .ok_or(format!("attribute without value in <{name}>"))?;
                    let after = attrs[eq + 1..].trim_start();
                    let q = after.chars().next().ok_or("no value")?;
                    if q != '"' && q != '\'' {
                        return Err(format!("unquoted attribute in <{name}>"));
                    }
                    let close = after[1..].find(q).ok_or("unclosed attribute")?;
                    check_text(&after[1..=close])?;
                    attrs = &after[close + 2..];
                }
                root.get_or_insert(name);
                if !selfclosing {
                    stack.push(name);
                }
            }
        }
        check_text(rest)?;
        if let Some(open) = stack.pop() {
            return Err(format!("<{open}> not closed"));
        }
        if root != Some("svg") {
            return Err(format!("root is {root:?}, not <svg>"));
        }
        Ok(())
    }

    fn check_text(t: &str) -> Result<(), String> {
        let mut rest = t;
        while let Some(i) = rest.find('&') {
            let semi = rest[i..].find(';').ok_or("bare &")?;
            let ent = &rest[i + 1..i + semi];
            let known = ["amp", "lt", "gt", "quot", "apos"].contains(&ent) || ent.starts_with('#');
            if !known {
                return Err(format!("unknown entity &{ent};"));
            }
            rest = &rest[i + semi + 1..];
        }
        if t.contains('<') {
            return Err("< in text".to_string());
        }
        Ok(())
    }

    #[test]
    fn time_windows() {
        assert_eq!(
            parse_window("300ms..0.7s"),
            Ok(Window { from: 0.3, to: 0.7 })
        );
        assert_eq!(
            parse_window("2s.."),
            Ok(Window {
                from: 2.0,
                to: f64::INFINITY
            })
        );
        assert_eq!(parse_window("..1s"), Ok(Window { from: 0.0, to: 1.0 }));
        assert!(parse_window("1s").unwrap_err().contains("is not FROM..TO"));
        assert!(parse_window("2s..1s").unwrap_err().contains("ends before"));
        assert!(parse_window("x..1s").unwrap_err().starts_with("`x`"));
    }

    #[test]
    fn sockets_split_at_the_dash_between_their_ends() {
        assert_eq!(
            split_sock("10.0.0.1:40000-10.0.1.1:5001"),
            Some(("10.0.0.1:40000", "10.0.1.1:5001"))
        );
        assert_eq!(
            split_sock("[2001:db8::1]:40000-[2001:db8:1::2]:80"),
            Some(("[2001:db8::1]:40000", "[2001:db8:1::2]:80"))
        );
        assert_eq!(split_sock("nothing"), None);
    }

    #[test]
    fn the_xml_check_catches_what_it_must() {
        assert!(well_formed("<svg a=\"1\"><g><text>x &amp; y</text></g><p/></svg>").is_ok());
        assert!(well_formed("<svg><g></svg>").is_err());
        assert!(well_formed("<svg a=1></svg>").is_err());
        assert!(well_formed("<svg>a & b</svg>").is_err());
        assert!(well_formed("<g></g>").is_err());
    }

    fn run_dir(name: &str) -> PathBuf {
        let d = tcpseq::tests::temp(name);
        let s = d.join("samples");
        std::fs::create_dir_all(&s).unwrap();
        use timeseries::tests as ts;
        for (f, text) in [
            ("tcp.csv", ts::TCP_CSV),
            ("qdisc.csv", ts::QDISC_CSV),
            ("link.csv", ts::LINK_CSV),
            ("app.csv", ts::APP_CSV),
        ] {
            std::fs::write(s.join(f), text).unwrap();
        }
        let (h1, h2) = tcpseq::tests::transfer(100);
        tcpseq::tests::write_pcap(&d.join("h1-eth0.pcap"), &h1);
        tcpseq::tests::write_pcap(&d.join("h2-eth0.pcap"), &h2);
        d
    }

    #[test]
    fn run_figures_are_well_formed_svg_and_deterministic() {
        let d = run_dir("figures");
        let f = run_figures(&d).unwrap();
        let names: Vec<_> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cwnd",
                "rtt",
                "throughput",
                "qdisc-r1-eth1",
                "link-util",
                "goodput",
                "tcpseq-h1-40000"
            ]
        );
        for fig in &f {
            well_formed(&fig.svg).unwrap_or_else(|e| panic!("{}: {e}", fig.name));
            assert!(fig.svg.contains("time (s)"), "{}", fig.name);
        }
        assert!(f[0].svg.contains("h1 10.0.0.1:40000 → 10.0.1.1:5001"));
        assert_eq!(run_figures(&d).unwrap(), f);
        assert!(!d.join("plots").exists(), "run_figures writes nothing");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_command_replaces_the_plots_folder() {
        let d = run_dir("command");
        std::fs::create_dir_all(d.join("plots")).unwrap();
        std::fs::write(d.join("plots/stale.svg"), "old").unwrap();
        let args = PlotArgs {
            path: d.clone(),
            format: vec![Format::Svg, Format::Png],
            tcp_seq: Some("all".to_string()),
            time: None,
            x: None,
            y: Vec::new(),
            by: Vec::new(),
            out: None,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(&args, &mut out, &mut err),
            0,
            "{}",
            String::from_utf8_lossy(&err)
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 14, "{out}");
        assert!(!d.join("plots/stale.svg").exists());
        let png = std::fs::read(d.join("plots/cwnd.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "temporary folders left: {names:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_folder_with_other_files_is_not_replaced() {
        let d = run_dir("keep");
        let keep = d.join("mine");
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(keep.join("notes.txt"), "mine").unwrap();
        let args = PlotArgs {
            path: d.clone(),
            format: vec![Format::Svg],
            tcp_seq: None,
            time: None,
            x: None,
            y: Vec::new(),
            by: Vec::new(),
            out: Some(keep.clone()),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args, &mut out, &mut err), 2);
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("mine/notes.txt besides figures"), "{err}");
        assert_eq!(
            std::fs::read_to_string(keep.join("notes.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            4,
            "no temporary folder left"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn clear_errors() {
        let d = tcpseq::tests::temp("empty");
        let e = run_charts(&d, None, None).unwrap_err().to_string();
        assert!(e.contains("has no samples/ and no pcap"), "{e}");
        tcpseq::tests::write_pcap(&d.join("a-eth0.pcap"), &[]);
        let e = run_charts(&d, None, None).unwrap_err().to_string();
        assert!(e.contains("nothing to plot: no sampled TCP flow"), "{e}");
        std::fs::remove_file(d.join("a-eth0.pcap")).unwrap();
        let args = PlotArgs {
            path: d.clone(),
            format: vec![Format::Svg],
            tcp_seq: None,
            time: None,
            x: Some("rate".to_string()),
            y: Vec::new(),
            by: Vec::new(),
            out: None,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args, &mut out, &mut err), 2);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.contains("--x, --y and --by are for a sweep's CSV table"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_sweep_table_is_plotted_beside_it() {
        let d = tcpseq::tests::temp("sweep");
        let csv = d.join("results.csv");
        std::fs::write(
            &csv,
            "run,rate,seed,a.b,error\n1,1,1,5,\n2,1,2,7,\n3,2,1,9,\n",
        )
        .unwrap();
        let args = PlotArgs {
            path: csv,
            format: vec![Format::Svg],
            tcp_seq: None,
            time: None,
            x: Some("rate".to_string()),
            y: vec!["a.b".to_string()],
            by: Vec::new(),
            out: None,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(&args, &mut out, &mut err),
            0,
            "{}",
            String::from_utf8_lossy(&err)
        );
        let svg = std::fs::read_to_string(d.join("results.a.b-vs-rate.svg")).unwrap();
        well_formed(&svg).unwrap();
        let _ = std::fs::remove_dir_all(&d);
    }
}
