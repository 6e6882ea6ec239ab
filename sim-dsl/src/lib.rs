//! The `.net` scenario language: parse, elaborate, check, and lower into
//! [`sim_stack::config::Scenario`].
//!
//! ```
//! use sim_dsl::{load_str, Options};
//! let src = r#"
//!     host a { iface eth0 { ip 10.0.0.1/24 } }
//!     host b { iface eth0 { ip 10.0.0.2/24 } }
//!     link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
//!     app b: udp_sink { port 9 }
//!     app a: udp_cbr { to 10.0.0.2:9  payload 1000B  interval 1ms } at 10ms
//! "#;
//! let loaded = load_str("pair.net", src, &Options::default());
//! assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
//! let scenario = loaded.scenario.unwrap();
//! assert_eq!(scenario.nodes.len(), 2);
//! ```
//!
//! The pipeline, one module a stage:
//! 1. `parser`: a bracket pre-scan (bounded nesting, chunking per top-level statement for
//!    error recovery), then the pest grammar (`grammar.pest`) into an `ast`;
//! 2. includes are spliced here ([`load_with`]), relative to the including file, each file
//!    once, cycles refused;
//! 3. `eval`: params and `--set` overrides, loops, `{expression}` splicing;
//! 4. `lower`: typing, name resolution, defaults, switch ports, MACs, routes (`routing`),
//!    and the checks; the result is a [`Scenario`] or the list of every error found.
//!
//! Every stage reports [`Diagnostic`]s with spans; [`Loaded::render_diagnostics`] prints them
//! rustc-style with the offending line and a caret under the exact span.

pub mod diag;

mod ast;
mod eval;
mod lower;
mod parser;
mod routing;
mod sysctl;
mod text;
mod values;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use diag::Diags;
pub use diag::{Diagnostic, FileId, Severity, SourceMap, Span};
pub use eval::{MAX_ITERATIONS, ParamType};
pub use parser::MAX_DEPTH;
pub use sim_stack::config::Scenario;

use ast::Stmt;

/// Why [`set_sysctl`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysctlError {
    /// The model has no sysctl of that name.
    Unknown,
    /// The value is wrong for it: why.
    Value(String),
}

/// Sets sysctl `name` (dotted, or with `/` as under `/proc/sys`) to `value` as `sysctl -w`
/// writes it (a vector's values separated by spaces), with the checks a scenario's `sysctl`
/// statement gets: what `sim drill` does with `sysctl -q net.ipv4.tcp_sack=1`.
///
/// ```
/// use sim_dsl::{set_sysctl, SysctlError};
/// let mut s = sim_stack::config::Sysctls::default();
/// set_sysctl(&mut s, "net/ipv4/tcp_wmem", "4096 262144 4194304").unwrap();
/// assert_eq!(s.tcp_wmem, [4096, 262144, 4194304]);
/// assert_eq!(set_sysctl(&mut s, "net.ipv4.tcp_sacks", "1"), Err(SysctlError::Unknown));
/// assert!(matches!(set_sysctl(&mut s, "net.ipv4.tcp_sack", "maybe"), Err(SysctlError::Value(_))));
/// ```
///
/// # Errors
/// An unknown name, or a value the sysctl does not take.
pub fn set_sysctl(
    s: &mut sim_stack::config::Sysctls,
    name: &str,
    value: &str,
) -> Result<(), SysctlError> {
    let vals: Vec<&str> = value.split_whitespace().collect();
    sysctl::apply(s, &sysctl::normalize(name), &vals).map_err(|e| match e {
        sysctl::SysErr::Unknown => SysctlError::Unknown,
        sysctl::SysErr::Arity { expected, example } => SysctlError::Value(format!(
            "takes {expected} value{} (e.g. `{example}`), found {}",
            if expected == 1 { "" } else { "s" },
            vals.len()
        )),
        sysctl::SysErr::Value { msg, .. } => SysctlError::Value(msg),
    })
}

/// How to load a scenario.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--set NAME=VALUE` overrides, applied to the params of the same name.
    pub overrides: Vec<(String, String)>,
}

/// The result of loading: the sources (for rendering), every diagnostic, and the scenario
/// when there was no error.
#[derive(Debug)]
pub struct Loaded {
    /// The files read.
    pub sources: SourceMap,
    /// Errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The lowered scenario, `None` if any error was found.
    pub scenario: Option<Scenario>,
    /// How many names the did-you-mean suggestions compared a misspelt one with: a measure
    /// of the checking work, which stays linear in the size of the expanded scenario however
    /// many loop iterations repeat a mistake (each place gets one suggestion).
    pub names_compared: u64,
    /// The data files the scenario read besides its text (a `replay` app's capture), each
    /// once, in the order first read, with their SHA-256: inputs of the run as much as the
    /// scenario's text.
    pub data_inputs: Vec<DataInput>,
}

/// A data file a scenario read (a capture to replay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataInput {
    /// Its path, as resolved against the file that named it.
    pub path: PathBuf,
    /// The SHA-256 of its bytes, in hex.
    pub sha256: String,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
    /// Every diagnostic rendered, separated by blank lines.
    pub fn render_diagnostics(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.sources))
            .collect::<Vec<_>>()
            .join("\n")
    }
    /// 1-based `(line, column)` where a diagnostic points, if it has a span.
    pub fn line_col(&self, d: &Diagnostic) -> Option<(usize, usize)> {
        d.span.map(|s| self.sources.line_col(s))
    }
}

/// Where files come from: the file system, or memory (tests, fuzzing).
pub trait FileLoader {
    /// Reads a file's bytes (whether they are text is checked by the caller, which can then
    /// say where they stop being text).
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// A canonical name for `path`, to recognise a file included twice or in a cycle.
    fn canonical(&self, path: &Path) -> PathBuf;
}

/// Reads files from disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsLoader;

impl FileLoader for FsLoader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(io::Error::other(format!(
                "file is larger than {} MiB",
                MAX_FILE_BYTES >> 20
            )));
        }
        std::fs::read(path)
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Files held in memory, keyed by path.
#[derive(Debug, Clone, Default)]
pub struct MemLoader {
    /// Path → contents.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemLoader {
    /// Adds a file: text (`&str`, `String`) or any bytes.
    #[must_use]
    pub fn with(mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), contents.into());
        self
    }
}

impl FileLoader for MemLoader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        normalize(path)
    }
}

/// Resolves `.` and `..` components lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Largest file accepted.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Loads and checks a scenario file from disk.
pub fn load_file(path: &Path, opts: &Options) -> Loaded {
    load_with(&FsLoader, path, opts)
}

/// Loads and checks a scenario given as text; `name` stands for its path (includes resolve
/// against the file system relative to it).
pub fn load_str(name: &str, text: &str, opts: &Options) -> Loaded {
    load_bytes(
        &FsLoader,
        Path::new(name),
        Ok(text.as_bytes().to_vec()),
        opts,
    )
}

/// Loads and checks a scenario with a given [`FileLoader`].
pub fn load_with(loader: &dyn FileLoader, path: &Path, opts: &Options) -> Loaded {
    load_bytes(loader, path, loader.read(path), opts)
}

fn load_bytes(
    loader: &dyn FileLoader,
    path: &Path,
    bytes: io::Result<Vec<u8>>,
    opts: &Options,
) -> Loaded {
    let mut sources = SourceMap::new();
    let failed = |sources, d| Loaded {
        sources,
        diagnostics: vec![d],
        scenario: None,
        names_compared: 0,
        data_inputs: Vec::new(),
    };
    match bytes {
        Ok(bytes) => match add_text(&mut sources, path.to_path_buf(), bytes) {
            (id, None) => run(loader, sources, id, opts),
            (_, Some(d)) => failed(sources, d),
        },
        Err(e) => failed(
            sources,
            Diagnostic::global("io", format!("cannot read `{}`: {e}", path.display())),
        ),
    }
}

/// Adds the file `path` with contents `bytes` to `sources`, and returns its id and, when the
/// contents are not text, the error at the first bad byte. The file is then added as a
/// printable stand-in (the same lines and columns), so the error shows its line.
fn add_text(
    sources: &mut SourceMap,
    path: PathBuf,
    bytes: Vec<u8>,
) -> (FileId, Option<Diagnostic>) {
    let e = match text::decode(bytes) {
        Ok(t) => return (sources.add(path, t), None),
        Err(e) => e,
    };
    let id = sources.add(path, e.shown);
    let span = Span::new(id, e.offset, e.offset + e.len);
    let d = match e.kind {
        text::Kind::Binary => {
            Diagnostic::error("not-text", span, format!("not a text file: {}", e.found))
                .label("a scenario is UTF-8 text")
                .help("is this the scenario you meant? it looks like a binary file")
        }
        text::Kind::Encoding => Diagnostic::error("not-text", span, e.found)
            .label("a scenario is UTF-8 text")
            .help(
                "save the file as UTF-8 (it may be in Latin-1 or another encoding, or cut short)",
            ),
        text::Kind::Control => Diagnostic::error("not-text", span, e.found)
            .label("a scenario has no control characters but tab and line breaks"),
    };
    (id, Some(d))
}

struct Includer<'a> {
    loader: &'a dyn FileLoader,
    sources: SourceMap,
    diags: Vec<Diagnostic>,
    broken_names: Vec<String>,
    broken_loop: bool,
    /// Canonical paths of the files being included, outermost first.
    stack: Vec<PathBuf>,
    /// Canonical paths already included once.
    done: Vec<PathBuf>,
}

impl Includer<'_> {
    fn file(&mut self, id: FileId, out: &mut Vec<Stmt>) {
        let text = self.sources.file(id).text.clone();
        let parsed = parser::parse_file(id, &text);
        self.diags.extend(parsed.diags);
        self.broken_names.extend(parsed.broken_names);
        self.broken_loop |= parsed.broken_loop;
        for s in parsed.stmts {
            match s {
                Stmt::Include { path, span } => self.include(id, &path, span, out),
                other => out.push(other),
            }
        }
    }

    fn include(&mut self, from: FileId, word: &ast::Word, span: Span, out: &mut Vec<Stmt>) {
        let Some(rel) = word.literal() else {
            self.diags.push(
                Diagnostic::error(
                    "bad-include",
                    word.span,
                    "an include path cannot use `$` or `{}`",
                )
                .label("write the path literally"),
            );
            return;
        };
        let base = self.sources.path(from).parent().unwrap_or(Path::new(""));
        let path = base.join(rel);
        let canon = self.loader.canonical(&path);
        if let Some(pos) = self.stack.iter().position(|p| *p == canon) {
            let chain: Vec<String> = self.stack[pos..]
                .iter()
                .chain(std::iter::once(&canon))
                .map(|p| {
                    p.file_name().map_or_else(
                        || p.display().to_string(),
                        |f| f.to_string_lossy().into_owned(),
                    )
                })
                .collect();
            self.diags.push(
                Diagnostic::error(
                    "include-cycle",
                    word.span,
                    format!("include cycle: {}", chain.join(" → ")),
                )
                .label("this file is already being included")
                .help("remove one of the includes; shared definitions can go in a third file"),
            );
            return;
        }
        if self.done.contains(&canon) {
            return; // each file once
        }
        if self.stack.len() >= 32 {
            self.diags.push(
                Diagnostic::error("include-depth", span, "includes nest more than 32 deep")
                    .label("too deep"),
            );
            return;
        }
        match self.loader.read(&path) {
            Ok(bytes) => match add_text(&mut self.sources, path, bytes) {
                (id, None) => {
                    self.stack.push(canon.clone());
                    self.file(id, out);
                    self.stack.pop();
                    self.done.push(canon);
                }
                (_, Some(d)) => {
                    self.diags.push(d.note_at(word.span, "included here"));
                    self.broken_loop = true;
                }
            },
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "include-missing",
                        word.span,
                        format!("cannot read `{}`: {e}", path.display()),
                    )
                    .label("included here")
                    .help("include paths are relative to the including file"),
                );
                self.broken_loop = true;
            }
        }
    }
}

fn run(loader: &dyn FileLoader, sources: SourceMap, main: FileId, opts: &Options) -> Loaded {
    let main_path = sources.path(main).to_path_buf();
    let canon = loader.canonical(&main_path);
    let mut inc = Includer {
        loader,
        sources,
        diags: Vec::new(),
        broken_names: Vec::new(),
        broken_loop: false,
        stack: vec![canon.clone()],
        done: vec![canon],
    };
    let mut stmts = Vec::new();
    inc.file(main, &mut stmts);
    let mut diags = Diags::default();
    diags.extend(inc.diags);
    let program = eval::elaborate(&stmts, &opts.overrides, &inc.broken_names, &mut diags);
    let default_name = main_path.file_stem().map_or_else(
        || "scenario".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let (scenario, data_inputs) = lower::lower(
        &program,
        &default_name,
        &inc.broken_names,
        inc.broken_loop,
        &mut diags,
        lower::DataFiles::new(loader, &inc.sources),
    );
    let names_compared = diags.compared();
    let mut diagnostics = diags.into_vec();
    // In file order (command-line problems first), each file's problems top to bottom.
    diagnostics.sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
    let scenario = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        scenario
    };
    Loaded {
        sources: inc.sources,
        diagnostics,
        scenario,
        names_compared,
        data_inputs,
    }
}
