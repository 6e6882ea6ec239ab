//! Diagnostics: source files, spans, errors and warnings, and their rendering.
//!
//! Every diagnostic that comes from the text carries a [`Span`] (file and byte range). It
//! renders as
//!
//! ```text
//! bad.net:12:6: error: unknown node `rouer`
//!    |
//! 12 | link rouer.eth0 -- sw0 { rate 1Gbit  delay 50us }
//!    |      ^^^^^ expected a host, router or switch
//!    = help: did you mean `router1`?
//! ```
//!
//! `file:line:col` first (what editors jump to), then the line with the exact span
//! underlined, the label saying what was expected, and notes and a suggestion. Columns count
//! characters, from 1.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range of one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// First byte.
    pub start: u32,
    /// One past the last byte (equal to `start` for a point).
    pub end: u32,
}

impl Span {
    /// A span in `file` from byte `start` to `end`.
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Self {
            file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }
    /// The part `[from, to)` of this span (offsets relative to its start), clamped.
    pub fn sub(self, from: usize, to: usize) -> Self {
        let len = (self.end - self.start) as usize;
        let from = from.min(len);
        let to = to.clamp(from, len);
        Self {
            file: self.file,
            start: self.start + from as u32,
            end: self.start + to as u32,
        }
    }
}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user wrote it (or as an include resolved it), for messages.
    pub path: PathBuf,
    /// The text.
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        Self {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and (character) column of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = offset.min(self.text.len() as u32);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.text[start..end].chars().count() + 1;
        (line + 1, col)
    }

    /// The text of line `line` (1-based), without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1] as usize;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&e| e as usize);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// All files of one load (the main file and its includes).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() as u32 - 1)
    }
    /// The file with this id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    /// The text a span covers.
    pub fn text(&self, span: Span) -> &str {
        let t = &self.file(span.file).text;
        t.get(span.start as usize..span.end as usize).unwrap_or("")
    }
    /// 1-based line and column where a span starts.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        self.file(span.file).line_col(span.start)
    }
    /// Every file read, in the order read: the main file first, then each included file
    /// once (what a run's `params.json` records the SHA-256 of).
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }
    /// The path of a file, for messages.
    pub fn path(&self, id: FileId) -> &Path {
        &self.file(id).path
    }
}

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The scenario cannot run.
    Error,
    /// The scenario runs, but probably not as meant.
    Warning,
}

/// One message about the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A short stable identifier of the kind of problem (`unknown-node`, `syntax`, …), for
    /// tests and for folding repeats from loop iterations.
    pub code: &'static str,
    /// The message: what is wrong.
    pub message: String,
    /// Where, when it comes from the text.
    pub span: Option<Span>,
    /// Shown under the span: what was expected there.
    pub label: Option<String>,
    /// Further context (`first defined here`, `in loop iteration i = 3`).
    pub notes: Vec<Note>,
    /// A suggestion (`did you mean `router1`?`).
    pub help: Option<String>,
}

/// A note attached to a diagnostic, optionally pointing at another place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text.
    pub message: String,
    /// The place it refers to, if any.
    pub span: Option<Span>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: Some(span),
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }
    /// A warning at `span`.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, span, message)
        }
    }
    /// An error about no place in the text (command line, file system).
    pub fn global(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            span: None,
            ..Self::error(code, Span::new(FileId(0), 0, 0), message)
        }
    }
    /// Sets the label under the span.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// Sets the help line to `did you mean `x`?` when there is a suggestion.
    #[must_use]
    pub fn suggest(self, suggestion: Option<&str>) -> Self {
        match suggestion {
            Some(s) => self.help(format!("did you mean `{s}`?")),
            None => self,
        }
    }
    /// Adds a note.
    #[must_use]
    pub fn note(mut self, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            message: message.into(),
            span: None,
        });
        self
    }
    /// Adds a note pointing at another place.
    #[must_use]
    pub fn note_at(mut self, span: Span, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            message: message.into(),
            span: Some(span),
        });
        self
    }
    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as text, with the source lines it points at.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let Some(span) = self.span else {
            let _ = writeln!(out, "{sev}: {}", self.message);
            for n in &self.notes {
                let _ = writeln!(out, "  = note: {}", n.message);
            }
            if let Some(h) = &self.help {
                let _ = writeln!(out, "  = help: {h}");
            }
            return out;
        };
        let file = sources.file(span.file);
        let (line, col) = file.line_col(span.start);
        let width = line.to_string().len().max(
            self.notes
                .iter()
                .filter_map(|n| n.span)
                .filter(|s| s.file == span.file)
                .map(|s| file.line_col(s.start).0.to_string().len())
                .max()
                .unwrap_or(0),
        );
        let _ = writeln!(
            out,
            "{}:{line}:{col}: {sev}: {}",
            file.path.display(),
            self.message
        );
        snippet(&mut out, file, span, width, self.label.as_deref(), '^');
        for n in &self.notes {
            match n.span {
                Some(s) if s.file == span.file => {
                    let (l, _) = file.line_col(s.start);
                    let _ = writeln!(out, "{:w$} = note: {} (line {l})", "", n.message, w = width);
                    snippet(&mut out, file, s, width, None, '-');
                }
                Some(s) => {
                    let f = sources.file(s.file);
                    let (l, c) = f.line_col(s.start);
                    let _ = writeln!(
                        out,
                        "{:w$} = note: {} ({}:{l}:{c})",
                        "",
                        n.message,
                        f.path.display(),
                        w = width
                    );
                }
                None => {
                    let _ = writeln!(out, "{:w$} = note: {}", "", n.message, w = width);
                }
            }
        }
        if let Some(h) = &self.help {
            let _ = writeln!(out, "{:w$} = help: {h}", "", w = width);
        }
        out
    }
}

/// Writes the line of `span` with the span underlined by `mark`.
fn snippet(
    out: &mut String,
    file: &SourceFile,
    span: Span,
    width: usize,
    label: Option<&str>,
    mark: char,
) {
    let (line, col) = file.line_col(span.start);
    let text = file.line_text(line);
    // Expand tabs so the underline lines up.
    let mut shown = String::new();
    let mut pad = 0usize; // display columns before the span
    let mut len = 0usize; // display columns of the span (on this line)
    let (end_line, end_col) = file.line_col(span.end);
    let end_col = if end_line == line {
        end_col
    } else {
        text.chars().count() + 1
    };
    for (i, ch) in text.chars().enumerate() {
        let w = if ch == '\t' { 4 } else { 1 };
        if ch == '\t' {
            shown.push_str("    ");
        } else {
            shown.push(ch);
        }
        if i + 1 < col {
            pad += w;
        } else if i + 1 < end_col {
            len += w;
        }
    }
    let len = len.max(1);
    let _ = writeln!(out, "{:w$} |", "", w = width);
    let _ = writeln!(out, "{line:>width$} | {shown}");
    let marks: String = std::iter::repeat_n(mark, len).collect();
    match label {
        Some(l) => {
            let _ = writeln!(out, "{:w$} | {:pad$}{marks} {l}", "", "", w = width);
        }
        None => {
            let _ = writeln!(out, "{:w$} | {:pad$}{marks}", "", "", w = width);
        }
    }
}

/// The diagnostics of one load, as they are found.
///
/// A problem reported again at the same place for the same reason (one report per loop
/// iteration) is folded into the first report as it comes, and counted: the first report
/// keeps its "in loop iteration" note and gains one saying how many more there were. So
/// memory stays bounded by the number of distinct places, and a caller about to build a
/// costly report (a did-you-mean over every node of the scenario) asks [`Diags::repeated`]
/// first and skips the work for all but the first iteration.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    list: Vec<Diagnostic>,
    /// `(span, code)` of each report with a span → its index in `list`.
    first: BTreeMap<(Span, &'static str), usize>,
    /// Per entry of `list`, how many more times it was reported.
    repeats: Vec<u64>,
    errors: usize,
    /// Candidates the did-you-mean suggestions compared a word with.
    compared: u64,
}

impl Diags {
    /// Records `d`, or counts it when the same problem was reported at the same place.
    pub(crate) fn push(&mut self, d: Diagnostic) {
        if let Some(span) = d.span {
            if self.repeated(d.code, span) {
                return;
            }
            self.first.insert((span, d.code), self.list.len());
        }
        if d.is_error() {
            self.errors += 1;
        }
        self.list.push(d);
        self.repeats.push(0);
    }

    /// Whether a `code` problem was reported at `span` already; if so, it is counted as one
    /// more repeat, and the caller need not build the report.
    pub(crate) fn repeated(&mut self, code: &'static str, span: Span) -> bool {
        match self.first.get(&(span, code)) {
            Some(&i) => {
                self.repeats[i] += 1;
                true
            }
            None => false,
        }
    }

    /// Appends diagnostics found elsewhere (the parser's).
    pub(crate) fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        for d in ds {
            self.push(d);
        }
    }

    /// The errors recorded so far (each place once).
    pub(crate) fn errors(&self) -> usize {
        self.errors
    }

    /// [`suggest`], counting the candidates compared.
    pub(crate) fn suggest<'a, I>(&mut self, word: &str, candidates: I) -> Option<&'a str>
    where
        I: IntoIterator<Item = &'a str>,
    {
        suggest_counting(word, candidates, &mut self.compared)
    }

    /// Candidates the did-you-mean suggestions have compared a word with so far.
    pub(crate) fn compared(&self) -> u64 {
        self.compared
    }

    /// The diagnostics, each noting how many times it repeated.
    pub(crate) fn into_vec(self) -> Vec<Diagnostic> {
        let mut out = self.list;
        for (d, n) in out.iter_mut().zip(self.repeats) {
            if n > 0 {
                d.notes.push(Note {
                    message: format!(
                        "the same problem occurs {n} more time{} here (other loop iterations)",
                        if n == 1 { "" } else { "s" }
                    ),
                    span: None,
                });
            }
        }
        out
    }
}

/// Levenshtein distance between two strings (characters), capped work: O(|a|·|b|).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
///
/// Exact case-insensitive matches win, then the smallest edit distance (ties: the first
/// candidate). "Close enough" is at most 1 edit for words of up to 3 characters, else at
/// most a third of the length, and never less than 2.
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    suggest_counting(word, candidates, &mut 0)
}

/// [`suggest`], adding the number of candidates looked at to `compared`.
fn suggest_counting<'a, I>(word: &str, candidates: I, compared: &mut u64) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let len = word.chars().count();
    if len == 0 || len > 200 {
        return None;
    }
    let limit = if len <= 3 { 1 } else { (len / 3).max(2) };
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        *compared += 1;
        if c == word {
            continue;
        }
        if c.to_lowercase() == lower {
            return Some(c);
        }
        if c.len().abs_diff(word.len()) > limit || c.len() > 200 {
            continue;
        }
        let d = levenshtein(&lower, &c.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Joins names for a message: "`a`, `b` or `c`".
pub fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let head: Vec<String> = init.iter().map(|s| format!("`{s}`")).collect();
            format!("{} or `{last}`", head.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(levenshtein("rouer", "router1"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }

    #[test]
    fn suggestions() {
        let names = ["client", "router1", "dns", "web"];
        assert_eq!(suggest("rouer", names), Some("router1"));
        assert_eq!(suggest("clinet", names), Some("client"));
        assert_eq!(suggest("WEB", names), Some("web"));
        assert_eq!(suggest("xyz", names), None);
        assert_eq!(suggest("h1", ["h2", "h10"]), Some("h2"));
    }

    #[test]
    fn repeats_fold_into_the_first_report_as_they_come() {
        let f = FileId(0);
        let (a, b) = (Span::new(f, 0, 3), Span::new(f, 5, 8));
        let mut ds = Diags::default();
        ds.push(Diagnostic::error("unknown-node", a, "first").note("in loop iteration i = 0"));
        ds.push(Diagnostic::error("unknown-node", a, "second"));
        assert!(ds.repeated("unknown-node", a));
        assert!(
            !ds.repeated("unknown-iface", a),
            "another reason at the same place"
        );
        ds.push(Diagnostic::warning("unlinked", b, "a warning"));
        ds.push(Diagnostic::global("io", "no place"));
        ds.push(Diagnostic::global("io", "no place"));
        assert_eq!(ds.errors(), 3);
        let out = ds.into_vec();
        let messages: Vec<&str> = out.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["first", "a warning", "no place", "no place"]);
        let notes: Vec<&str> = out[0].notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(
            notes,
            [
                "in loop iteration i = 0",
                "the same problem occurs 2 more times here (other loop iterations)"
            ]
        );
        assert!(out[1].notes.is_empty());
    }

    #[test]
    fn suggestions_count_the_names_compared() {
        let mut ds = Diags::default();
        assert_eq!(
            ds.suggest("rouer", ["client", "router1", "dns"]),
            Some("router1")
        );
        assert_eq!(ds.compared(), 3);
        assert_eq!(ds.suggest("CLIENT", ["client", "router1"]), Some("client"));
        assert_eq!(ds.compared(), 4, "an exact match ends the search");
    }

    #[test]
    fn renders_caret_under_span() {
        let mut sm = SourceMap::new();
        let f = sm.add("t.net".into(), "a\n\tlink rouer.eth0 -- x\n".into());
        let start = sm.file(f).text.find("rouer").unwrap();
        let d = Diagnostic::error(
            "unknown-node",
            Span::new(f, start, start + 5),
            "unknown node",
        )
        .label("here")
        .help("did you mean `router1`?");
        let r = d.render(&sm);
        assert_eq!(
            r,
            "t.net:2:7: error: unknown node\n  |\n2 |     link rouer.eth0 -- x\n  |          ^^^^^ here\n  = help: did you mean `router1`?\n"
        );
    }
}
