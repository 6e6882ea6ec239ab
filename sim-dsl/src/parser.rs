//! From text to [`ast`](crate::ast): a bracket pre-scan, then pest, one top-level statement
//! at a time.
//!
//! The pre-scan does three jobs before pest sees anything:
//! * it bounds nesting: more than [`MAX_DEPTH`] open `{`/`(` is an error, so pest's
//!   recursive descent can never overflow the stack (a file of 100 000 `{` is one error);
//! * it reports unbalanced brackets where they are (the unclosed `{`, the stray `}`);
//! * it splits the file into chunks, one per top-level statement: a new chunk starts at each
//!   line whose first word is a top-level keyword while no bracket is open. Each chunk is
//!   parsed on its own, so a syntax error in one statement does not hide the errors in the
//!   next ones.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::*;
use crate::diag::{Diagnostic, FileId, Span, suggest};

mod generated {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    /// The pest parser of the `.net` grammar (`grammar.pest`).
    #[derive(pest_derive::Parser, Debug)]
    #[grammar = "grammar.pest"]
    pub(crate) struct NetParser;
}

use generated::{NetParser, Rule};

/// Deepest nesting of `{`/`(` accepted.
pub const MAX_DEPTH: usize = 48;

/// Words that start a top-level statement.
pub(crate) const TOP_KEYWORDS: &[&str] = &[
    "include", "param", "defaults", "host", "router", "switch", "seed", "end", "routing", "name",
    "link", "app", "for", "sysctl",
];

/// What parsing one file produced.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub stmts: Vec<Stmt>,
    pub diags: Vec<Diagnostic>,
    /// Names declared by statements that failed to parse (nodes, params), so that later
    /// "unknown name" errors about them are not reported on top of the syntax error.
    pub broken_names: Vec<String>,
    /// A loop failed to parse: its names are unknown, so unknown-name errors are muted.
    pub broken_loop: bool,
}

/// Parses one file of the source map.
pub(crate) fn parse_file(file: FileId, text: &str) -> Parsed {
    let mut out = Parsed::default();
    for chunk in split(file, text, &mut out.diags) {
        let src = &text[chunk.start..chunk.end];
        if src.trim().is_empty() {
            continue;
        }
        if chunk.broken {
            note_broken(src, &mut out);
            continue;
        }
        match NetParser::parse(Rule::file, src) {
            Ok(mut pairs) => {
                let cx = Cx {
                    file,
                    off: chunk.start,
                };
                let file_pair = pairs.next().expect("file rule");
                for p in file_pair.into_inner() {
                    if p.as_rule() != Rule::EOI {
                        out.stmts.push(cx.stmt(p));
                    }
                }
            }
            Err(e) => {
                out.diags.push(syntax_error(&e, file, &chunk, text));
                note_broken(src, &mut out);
            }
        }
    }
    out
}

fn note_broken(src: &str, out: &mut Parsed) {
    let mut words = src.split_whitespace();
    match words.next() {
        Some("host" | "router" | "switch" | "param") => {
            if let Some(w) = words.next() {
                let name: String = w
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                out.broken_names.push(name);
            }
        }
        Some("for" | "include") => out.broken_loop = true,
        _ => {}
    }
}

// ---------------------------------------------------------------- pre-scan

#[derive(Debug)]
struct Chunk {
    start: usize,
    end: usize,
    broken: bool,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    ch: u8,
    pos: usize,
    /// A `{` opened inside a string literal (an interpolation): closing it resumes the string.
    in_string: bool,
}

/// Splits `text` into top-level chunks, reporting bracket errors.
fn split(file: FileId, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut from = 0;
    while from < text.len() {
        match scan(file, text, from, &mut chunks, diags) {
            None => break,
            Some(unclosed) => {
                // Recover at the first later line that starts in column 1 with a top-level
                // keyword: most likely a `}` is missing just before it.
                let resume = line_starts_after(text, unclosed.pos)
                    .find(|&l| starts_with_top_keyword(&text[l..]));
                let (line_no, _) = line_col(text, unclosed.pos);
                let mut d = Diagnostic::error(
                    "unclosed",
                    Span::new(file, unclosed.pos, unclosed.pos + 1),
                    format!("unclosed `{}`", unclosed.ch as char),
                )
                .label(format!(
                    "this `{}` (line {line_no}) is never closed",
                    unclosed.ch as char
                ));
                if let Some(r) = resume {
                    let (l, _) = line_col(text, r);
                    d = d.help(format!(
                        "line {l} starts a new statement in column 1; is a `{}` missing before it?",
                        if unclosed.ch == b'{' { '}' } else { ')' }
                    ));
                }
                diags.push(d);
                let last = chunks.last_mut().expect("scan pushed the open chunk");
                last.broken = true;
                match resume {
                    Some(r) => {
                        last.end = r;
                        from = r;
                    }
                    None => break,
                }
            }
        }
    }
    chunks
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn line_starts_after(text: &str, pos: usize) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .skip(pos)
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
        .filter(move |&i| i < text.len())
}

fn starts_with_top_keyword(rest: &str) -> bool {
    let word: &str = rest
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    TOP_KEYWORDS.contains(&word)
}

/// Scans from `from` to the end, pushing chunks. Returns the outermost unclosed bracket, if
/// the text ends with one open (the last chunk then runs to the end).
fn scan(
    file: FileId,
    text: &str,
    from: usize,
    chunks: &mut Vec<Chunk>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Open> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut overflow = 0usize; // opens beyond MAX_DEPTH, not on the stack
    let mut in_string = false;
    let mut chunk = Chunk {
        start: from,
        end: text.len(),
        broken: false,
    };
    let mut i = from;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if line_start && !in_string && stack.is_empty() && overflow == 0 {
            // First non-blank of a line at depth 0: a new statement?
            let mut j = i;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t' || bytes[j] == b'\r') {
                j += 1;
            }
            if j < bytes.len() && starts_with_top_keyword(&text[j..]) && j > chunk.start {
                let has_content = text[chunk.start..j]
                    .lines()
                    .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
                if has_content {
                    chunk.end = j;
                    let next = Chunk {
                        start: j,
                        end: text.len(),
                        broken: false,
                    };
                    chunks.push(std::mem::replace(&mut chunk, next));
                }
            }
        }
        line_start = false;
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                b'\n' => {
                    in_string = false; // unterminated; the parser reports it
                    line_start = true;
                }
                b'{' => {
                    in_string = false;
                    push(
                        &mut stack,
                        &mut overflow,
                        b,
                        i,
                        true,
                        file,
                        &mut chunk,
                        diags,
                    );
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => in_string = true,
            b'\n' => line_start = true,
            b'{' | b'(' => push(
                &mut stack,
                &mut overflow,
                b,
                i,
                false,
                file,
                &mut chunk,
                diags,
            ),
            b'}' | b')' => {
                if overflow > 0 {
                    overflow -= 1;
                } else if let Some(top) = stack.pop() {
                    let want = if top.ch == b'{' { b'}' } else { b')' };
                    if want != b {
                        if !chunk.broken {
                            let (l, _) = line_col(text, top.pos);
                            diags.push(
                                Diagnostic::error(
                                    "unbalanced",
                                    Span::new(file, i, i + 1),
                                    format!("mismatched `{}`", b as char),
                                )
                                .label(format!(
                                    "expected `{}` to close the `{}` of line {l}",
                                    want as char, top.ch as char
                                )),
                            );
                        }
                        chunk.broken = true;
                    }
                    in_string = top.in_string;
                } else {
                    if !chunk.broken {
                        diags.push(
                            Diagnostic::error(
                                "unbalanced",
                                Span::new(file, i, i + 1),
                                format!("unmatched `{}`", b as char),
                            )
                            .label("nothing is open here"),
                        );
                    }
                    chunk.broken = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let unclosed = if overflow == 0 {
        stack.first().copied()
    } else {
        None
    };
    chunks.push(chunk);
    unclosed
}

#[allow(clippy::too_many_arguments)]
fn push(
    stack: &mut Vec<Open>,
    overflow: &mut usize,
    ch: u8,
    pos: usize,
    in_string: bool,
    file: FileId,
    chunk: &mut Chunk,
    diags: &mut Vec<Diagnostic>,
) {
    if stack.len() >= MAX_DEPTH || *overflow > 0 {
        if *overflow == 0 && !chunk.broken {
            diags.push(
                Diagnostic::error(
                    "too-deep",
                    Span::new(file, pos, pos + 1),
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                )
                .label("one level too many here")
                .help("blocks, loops and parentheses nest at most 48 deep; flatten the file"),
            );
        }
        chunk.broken = true;
        *overflow += 1;
    } else {
        stack.push(Open { ch, pos, in_string });
    }
}

// ---------------------------------------------------------------- syntax errors

fn describe(rule: Rule) -> Vec<&'static str> {
    let one = |s: &'static str| vec![s];
    match rule {
        Rule::kw_include => one("`include`"),
        Rule::kw_param => one("`param`"),
        Rule::kw_defaults => one("`defaults`"),
        Rule::kw_link => one("`link`"),
        Rule::kw_app => one("`app`"),
        Rule::kw_for => one("`for`"),
        Rule::kw_in => one("`in`"),
        Rule::kw_iface => one("`iface`"),
        Rule::kw_route => one("`route`"),
        Rule::kw_route6 => one("`route6`"),
        Rule::kw_via => one("`via`"),
        Rule::kw_dev => one("`dev`"),
        Rule::kw_default => one("`default`"),
        Rule::kw_resolver => one("`resolver`"),
        Rule::kw_partition => one("`partition`"),
        Rule::kw_sysctl => one("`sysctl`"),
        Rule::kw_netfilter => one("`netfilter`"),
        Rule::kw_iptables | Rule::iptables => one("`iptables`"),
        Rule::ipt_line | Rule::ipt_text => {
            one("an iptables command line such as `-A INPUT -j DROP`")
        }
        Rule::kw_qdisc => one("`qdisc`"),
        Rule::kw_record => one("`record`"),
        Rule::kw_at => one("`at`"),
        Rule::kw_until => one("`until`"),
        Rule::kw_sample | Rule::sample => one("`sample`"),
        Rule::sample_kind | Rule::sample_item => vec!["`tcp`", "`qdisc`", "`link`", "`app`"],
        Rule::semi => one("`;`"),
        Rule::node_kind => vec!["`host`", "`router`", "`switch`"],
        Rule::setting_key => vec!["`seed`", "`end`", "`routing`", "`name`"],
        Rule::qdisc_key | Rule::qdisc_flag | Rule::qdisc_arg | Rule::classful_key => {
            one("a qdisc parameter")
        }
        Rule::kw_class | Rule::qclass => one("`class`"),
        Rule::kw_filter | Rule::qfilter => one("`filter`"),
        Rule::kw_flowid => one("`flowid`"),
        Rule::class_arg => one("a class parameter"),
        Rule::lbrace => one("`{`"),
        Rule::rbrace => one("`}`"),
        Rule::colon => one("`:`"),
        Rule::equals => one("`=`"),
        Rule::dashdash => one("`--`"),
        Rule::dot => one("`.`"),
        Rule::ident | Rule::name | Rule::name_text => one("a name"),
        Rule::int => one("an integer"),
        Rule::param_ref => one("`$param`"),
        Rule::interp => one("`{expression}`"),
        Rule::value | Rule::value_text | Rule::app_arg => one("a value"),
        Rule::string | Rule::str_text | Rule::str_escape => one("a string"),
        Rule::expr | Rule::prod | Rule::unary | Rule::paren | Rule::ip_lit | Rule::neg => {
            one("an expression")
        }
        Rule::add_op | Rule::mul_op => one("an operator"),
        Rule::range_op => one("`..` or `..=`"),
        Rule::range | Rule::bound => one("a range such as `0..$n`"),
        Rule::sysctl_name => one("a sysctl name"),
        Rule::nf_match => one("a match such as `proto tcp`"),
        Rule::plain_prop | Rule::record_prop | Rule::qdisc_prop | Rule::props => one("a property"),
        Rule::EOI => one("end of file"),
        Rule::timing => vec!["`at`", "`until`"],
        _ => Vec::new(),
    }
}

fn syntax_error(
    e: &pest::error::Error<Rule>,
    file: FileId,
    chunk: &Chunk,
    text: &str,
) -> Diagnostic {
    let local = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut pos = (chunk.start + local).min(chunk.end);
    // An unterminated string: point at its opening quote.
    if let Some(q) = unterminated_string(text, pos) {
        return Diagnostic::error("syntax", Span::new(file, q, q + 1), "unterminated string")
            .label("this string is not closed on its line")
            .help("add the closing `\"`");
    }
    let at_chunk_end = text[pos..chunk.end].trim().is_empty();
    let (found, len) = if at_chunk_end {
        // The statement ended early: point just after its last token.
        pos = chunk.start + text[chunk.start..pos].trim_end().len();
        let what = if chunk.end >= text.len() {
            "end of file"
        } else {
            "end of statement"
        };
        (what.to_string(), 0)
    } else {
        let rest = &text[pos..];
        match rest.chars().next() {
            None => ("end of file".to_string(), 0),
            Some('\n' | '\r') => ("end of line".to_string(), 0),
            Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => {
                let w: &str = rest
                    .split(|c: char| c.is_whitespace() || "{}()\"#=".contains(c))
                    .next()
                    .unwrap_or("");
                (format!("`{w}`"), w.len())
            }
            Some(c) => (format!("`{c}`"), c.len_utf8()),
        }
    };
    let mut expected: Vec<&str> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for r in positives {
            for d in describe(*r) {
                if !expected.contains(&d) {
                    expected.push(d);
                }
            }
        }
    }
    // Keyword typos: compare the word found with the keywords that would fit here.
    let keywords: Vec<&str> = expected
        .iter()
        .filter_map(|d| d.strip_prefix('`').and_then(|d| d.strip_suffix('`')))
        .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let word = found.trim_matches('`');
    let hint = suggest(word, keywords.iter().copied());
    let statement_keywords = keywords.iter().filter(|k| TOP_KEYWORDS.contains(k)).count();
    let label = if expected.is_empty() {
        "unexpected here".to_string()
    } else if statement_keywords >= 6 {
        "expected a new statement, such as `host`, `router`, `switch`, `link`, `app`, `param` or `for`"
            .to_string()
    } else {
        format!("expected {}", join_or(&expected))
    };
    let d = Diagnostic::error(
        "syntax",
        Span::new(file, pos, pos + len),
        format!("syntax error: unexpected {found}"),
    )
    .label(label);
    let is_word = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match hint {
        Some(h) => d.help(format!("did you mean `{h}`?")),
        None if is_word
            && expected
                .iter()
                .any(|e| e.contains("$param") || e.contains("0..$n")) =>
        {
            d.help(format!("params are written with `$`: `${word}`"))
        }
        None => d,
    }
}

/// The opening quote of a string left open on the line of `pos`, if any.
fn unterminated_string(text: &str, pos: usize) -> Option<usize> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let mut open: Option<usize> = None;
    let mut depth = 0usize; // `{…}` interpolation inside a string
    let mut chars = text[line_start..line_end].char_indices();
    while let Some((i, c)) = chars.next() {
        match (open, c) {
            (None, '#') => return None,
            (None, '"') => open = Some(line_start + i),
            (Some(_), '\\') if depth == 0 => {
                chars.next();
            }
            (Some(_), '{') => depth += 1,
            (Some(_), '}') if depth > 0 => depth -= 1,
            (Some(_), '"') if depth == 0 => open = None,
            _ => {}
        }
    }
    open
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------- tree building

struct Cx {
    file: FileId,
    off: usize,
}

impl Cx {
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.off + s.start(), self.off + s.end())
    }

    fn ident(&self, p: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    fn stmt(&self, p: Pair<'_, Rule>) -> Stmt {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = p.into_inner();
        match rule {
            Rule::include => {
                it.next(); // kw
                Stmt::Include {
                    path: self.word(it.next().expect("path")),
                    span,
                }
            }
            Rule::param => {
                it.next(); // kw
                let name = self.ident(&it.next().expect("name"));
                let mut ty = None;
                let mut value = None;
                for q in it {
                    match q.as_rule() {
                        Rule::ident => ty = Some(self.ident(&q)),
                        Rule::colon | Rule::equals => {}
                        _ => value = Some(self.word(q)),
                    }
                }
                Stmt::Param {
                    name,
                    ty,
                    value: value.expect("param value"),
                    span,
                }
            }
            Rule::setting => {
                let key = self.ident(&it.next().expect("key"));
                Stmt::Setting {
                    key,
                    value: self.word(it.next().expect("value")),
                }
            }
            Rule::defaults => {
                it.next();
                let what = self.ident(&it.next().expect("what"));
                Stmt::Defaults {
                    what,
                    props: self.props(it.next().expect("props")),
                }
            }
            Rule::node => {
                let kind = match it.next().expect("kind").as_str() {
                    "host" => Kind::Host,
                    "router" => Kind::Router,
                    _ => Kind::Switch,
                };
                let name = self.word(it.next().expect("name"));
                let body = it.next().map(|b| {
                    let bspan = self.span(&b);
                    let items = b
                        .into_inner()
                        .filter(|q| !matches!(q.as_rule(), Rule::lbrace | Rule::rbrace))
                        .map(|q| self.node_item(q))
                        .collect();
                    (items, bspan)
                });
                Stmt::Node(NodeDecl { kind, name, body })
            }
            Rule::link => {
                it.next();
                let a = self.endpoint(it.next().expect("a"));
                it.next(); // --
                let b = self.endpoint(it.next().expect("b"));
                let props = it.next().map(|q| self.props(q)).unwrap_or_default();
                Stmt::Link(LinkDecl { a, b, props, span })
            }
            Rule::app => {
                it.next();
                let node = self.word(it.next().expect("node"));
                it.next(); // :
                let kind = self.ident(&it.next().expect("kind"));
                let mut arg = None;
                let mut props = Vec::new();
                let mut timings = Vec::new();
                for q in it {
                    match q.as_rule() {
                        Rule::app_arg => arg = Some(self.word(q.into_inner().next().expect("arg"))),
                        Rule::props => props = self.props(q),
                        Rule::timing => {
                            let mut t = q.into_inner();
                            let kw = self.ident(&t.next().expect("kw"));
                            timings.push((kw, self.word(t.next().expect("time"))));
                        }
                        _ => {}
                    }
                }
                Stmt::App(AppDecl {
                    node,
                    kind,
                    arg,
                    props,
                    timings,
                    span,
                })
            }
            Rule::for_stmt => {
                let (var, lo, hi, inclusive, header, rest) = self.for_head(span, &mut it);
                let body = rest.into_iter().map(|q| self.stmt(q)).collect();
                Stmt::For(For {
                    var,
                    lo,
                    hi,
                    inclusive,
                    body,
                    span: header,
                })
            }
            Rule::sysctl => Stmt::Sysctl(self.sysctl(span, it)),
            Rule::sample => {
                it.next(); // kw
                let interval = self.word(it.next().expect("interval"));
                let items = it.next().map(|body| {
                    body.into_inner()
                        .filter(|q| q.as_rule() == Rule::sample_item)
                        .map(|q| {
                            let mut parts = q.into_inner();
                            let kind = self.ident(&parts.next().expect("kind"));
                            let targets = parts.map(|e| self.endpoint(e)).collect();
                            SampleItem { kind, targets }
                        })
                        .collect()
                });
                Stmt::Sample(SampleDecl {
                    interval,
                    items,
                    span,
                })
            }
            r => unreachable!("unexpected statement rule {r:?}"),
        }
    }

    /// Reads `for VAR in RANGE {` and returns the body pairs.
    #[allow(clippy::type_complexity)]
    fn for_head<'i>(
        &self,
        span: Span,
        it: &mut pest::iterators::Pairs<'i, Rule>,
    ) -> (Ident, Expr, Expr, bool, Span, Vec<Pair<'i, Rule>>) {
        it.next(); // for
        let var = self.ident(&it.next().expect("var"));
        it.next(); // in
        let range = it.next().expect("range");
        let rspan = self.span(&range);
        let mut r = range.into_inner();
        let lo = self.bound(r.next().expect("lo"));
        let inclusive = r.next().expect("op").as_str() == "..=";
        let hi = self.bound(r.next().expect("hi"));
        let header = Span {
            end: rspan.end,
            ..span
        };
        let body: Vec<_> = it
            .filter(|q| !matches!(q.as_rule(), Rule::lbrace | Rule::rbrace))
            .collect();
        (var, lo, hi, inclusive, header, body)
    }

    fn bound(&self, p: Pair<'_, Rule>) -> Expr {
        let q = p.into_inner().next().expect("bound");
        let span = self.span(&q);
        match q.as_rule() {
            Rule::int => Expr {
                kind: ExprKind::Int(q.as_str().to_string()),
                span,
            },
            Rule::param_ref => Expr {
                kind: ExprKind::Param(q.as_str()[1..].to_string()),
                span,
            },
            _ => self.expr(q.into_inner().next().expect("expr")),
        }
    }

    fn sysctl(&self, span: Span, mut it: pest::iterators::Pairs<'_, Rule>) -> SysctlDecl {
        it.next(); // kw
        let name = self.ident(&it.next().expect("name"));
        it.next(); // =
        SysctlDecl {
            name,
            values: it.map(|q| self.word(q)).collect(),
            span,
        }
    }

    fn node_item(&self, p: Pair<'_, Rule>) -> NodeItem {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = p.into_inner();
        match rule {
            Rule::iface => {
                it.next();
                let name = self.word(it.next().expect("name"));
                let props = it.next().map(|q| self.props(q)).unwrap_or_default();
                NodeItem::Iface(IfaceDecl { name, props, span })
            }
            Rule::route | Rule::route6 => {
                let v6 = it.next().expect("kw").as_rule() == Rule::kw_route6;
                let d = it.next().expect("dest");
                let dest_span = self.span(&d);
                let dest = (d.as_rule() != Rule::kw_default).then(|| self.word(d));
                let mut via = None;
                let mut dev = None;
                while let Some(kw) = it.next() {
                    let v = it.next().expect("value");
                    if kw.as_rule() == Rule::kw_via {
                        via = Some(self.word(v));
                    } else {
                        dev = Some(self.word(v));
                    }
                }
                NodeItem::Route(RouteDecl {
                    v6,
                    dest,
                    dest_span,
                    via,
                    dev,
                    span,
                })
            }
            Rule::resolver => {
                it.next();
                NodeItem::Resolver {
                    value: self.word(it.next().expect("value")),
                    span,
                }
            }
            Rule::partition => {
                it.next();
                NodeItem::Partition {
                    value: self.word(it.next().expect("value")),
                    span,
                }
            }
            Rule::sysctl => NodeItem::Sysctl(self.sysctl(span, it)),
            Rule::netfilter => {
                it.next();
                let hook = self.ident(&it.next().expect("hook"));
                let action = self.ident(&it.next().expect("action"));
                let matches = it
                    .map(|m| {
                        let mut m = m.into_inner();
                        let k = self.ident(&m.next().expect("key"));
                        (k, self.word(m.next().expect("value")))
                    })
                    .collect();
                NodeItem::Netfilter(NfDecl {
                    hook,
                    action,
                    matches,
                    span,
                })
            }
            Rule::iptables => {
                it.next();
                NodeItem::Iptables(self.word(it.next().expect("the command line")))
            }
            Rule::node_for => {
                let (var, lo, hi, inclusive, header, rest) = self.for_head(span, &mut it);
                let body = rest.into_iter().map(|q| self.node_item(q)).collect();
                NodeItem::For(For {
                    var,
                    lo,
                    hi,
                    inclusive,
                    body,
                    span: header,
                })
            }
            r => unreachable!("unexpected node item {r:?}"),
        }
    }

    fn endpoint(&self, p: Pair<'_, Rule>) -> Endpoint {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let node = self.word(it.next().expect("node"));
        let iface = it.nth(1).map(|q| self.word(q));
        Endpoint { node, iface, span }
    }

    fn props(&self, p: Pair<'_, Rule>) -> Vec<Prop> {
        p.into_inner()
            .filter(|q| !matches!(q.as_rule(), Rule::lbrace | Rule::rbrace))
            .map(|q| {
                let rule = q.as_rule();
                let mut it = q.into_inner();
                match rule {
                    Rule::plain_prop => {
                        let key = self.ident(&it.next().expect("key"));
                        Prop::Plain {
                            key,
                            value: self.word(it.next().expect("value")),
                        }
                    }
                    Rule::qdisc_prop => {
                        let n = self.qdisc_node(it);
                        Prop::Qdisc {
                            kw: n.kw,
                            kind: n.kind,
                            args: n.args,
                            body: n.body,
                        }
                    }
                    Rule::record_prop => {
                        let kw = self.span(&it.next().expect("kw"));
                        let name = self.word(it.next().expect("name"));
                        let rtype = self.word(it.next().expect("type"));
                        let addr = self.word(it.next().expect("addr"));
                        Prop::Record {
                            kw,
                            name,
                            rtype,
                            addr,
                        }
                    }
                    r => unreachable!("unexpected prop {r:?}"),
                }
            })
            .collect()
    }

    /// The inside of a `qdisc_prop`: `qdisc KIND [args] [{ body }]`.
    fn qdisc_node<'i>(&self, mut it: impl Iterator<Item = Pair<'i, Rule>>) -> QNode<Word> {
        let kw = self.span(&it.next().expect("kw"));
        let kind = self.word(it.next().expect("kind"));
        let mut args = Vec::new();
        let mut body = None;
        for a in it {
            if a.as_rule() == Rule::qdisc_body {
                body = Some(Box::new(self.qdisc_body(a)));
                continue;
            }
            let mut a = a.into_inner();
            let k = a.next().expect("key");
            let key = self.ident(&k);
            args.push((key, a.map(|v| self.word(v)).collect()));
        }
        QNode {
            kw,
            kind,
            args,
            body,
        }
    }

    /// `{ class … filter … }` of a classful qdisc.
    fn qdisc_body(&self, p: Pair<'_, Rule>) -> QBody<Word> {
        let mut body = QBody {
            classes: Vec::new(),
            filters: Vec::new(),
        };
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::qclass => body.classes.push(self.qclass(q)),
                Rule::qfilter => {
                    let mut it = q.into_inner();
                    let kw = self.span(&it.next().expect("kw"));
                    let mut words = Vec::new();
                    let mut flowid = false;
                    for w in it {
                        match w.as_rule() {
                            Rule::kw_flowid => flowid = true,
                            _ if flowid => {
                                body.filters.push(QFilter {
                                    kw,
                                    words: std::mem::take(&mut words),
                                    flowid: self.word(w),
                                });
                            }
                            _ => words.push(self.word(w)),
                        }
                    }
                }
                _ => {}
            }
        }
        body
    }

    /// `class ID [key value]… [{ qdisc … | class … }]`.
    fn qclass(&self, p: Pair<'_, Rule>) -> QClass<Word> {
        let mut it = p.into_inner();
        let kw = self.span(&it.next().expect("kw"));
        let id = self.word(it.next().expect("id"));
        let mut c = QClass {
            kw,
            id,
            args: Vec::new(),
            leaves: Vec::new(),
            children: Vec::new(),
        };
        for q in it {
            match q.as_rule() {
                Rule::class_arg => {
                    let mut a = q.into_inner();
                    let key = self.ident(&a.next().expect("key"));
                    c.args.push((key, self.word(a.next().expect("value"))));
                }
                Rule::class_body => {
                    for b in q.into_inner() {
                        match b.as_rule() {
                            Rule::qdisc_prop => c.leaves.push(self.qdisc_node(b.into_inner())),
                            Rule::qclass => c.children.push(self.qclass(b)),
                            _ => {}
                        }
                    }
                }
                r => unreachable!("unexpected class item {r:?}"),
            }
        }
        c
    }

    /// A `name`, `value` or `string` pair as a [`Word`].
    fn word(&self, p: Pair<'_, Rule>) -> Word {
        let span = self.span(&p);
        let quoted = p.as_rule() == Rule::string;
        let mut parts: Vec<Part> = Vec::new();
        let push_text = |parts: &mut Vec<Part>, s: &str| {
            if let Some(Part::Text(t)) = parts.last_mut() {
                t.push_str(s);
            } else {
                parts.push(Part::Text(s.to_string()));
            }
        };
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::value_text | Rule::name_text | Rule::str_text | Rule::ipt_text => {
                    push_text(&mut parts, q.as_str());
                }
                Rule::str_escape => {
                    let c = match &q.as_str()[1..] {
                        "n" => "\n",
                        "t" => "\t",
                        other => other,
                    };
                    push_text(&mut parts, c);
                }
                Rule::param_ref => parts.push(Part::Param(Ident {
                    name: q.as_str()[1..].to_string(),
                    span: self.span(&q),
                })),
                Rule::interp => {
                    let e = q.into_inner().next().expect("expr");
                    parts.push(Part::Expr(self.expr(e)));
                }
                r => unreachable!("unexpected word piece {r:?}"),
            }
        }
        if quoted && parts.is_empty() {
            parts.push(Part::Text(String::new()));
        }
        Word {
            parts,
            span,
            quoted,
        }
    }

    fn expr(&self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::prod => {
                let mut it = p.into_inner();
                let mut acc = self.expr(it.next().expect("operand"));
                while let Some(op) = it.next() {
                    let rhs = self.expr(it.next().expect("operand"));
                    let op = match op.as_str() {
                        "+" => BinOp::Add,
                        "-" => BinOp::Sub,
                        "*" => BinOp::Mul,
                        "/" => BinOp::Div,
                        _ => BinOp::Rem,
                    };
                    let s = Span {
                        start: acc.span.start,
                        end: rhs.span.end,
                        file: self.file,
                    };
                    acc = Expr {
                        kind: ExprKind::Bin(op, Box::new(acc), Box::new(rhs)),
                        span: s,
                    };
                }
                acc
            }
            Rule::unary => {
                let mut it = p.into_inner();
                let first = it.next().expect("atom");
                if first.as_rule() == Rule::neg {
                    let inner = self.expr(it.next().expect("atom"));
                    Expr {
                        kind: ExprKind::Neg(Box::new(inner)),
                        span,
                    }
                } else {
                    self.expr(first)
                }
            }
            Rule::paren => {
                let inner = self.expr(p.into_inner().next().expect("expr"));
                Expr { span, ..inner }
            }
            Rule::int => Expr {
                kind: ExprKind::Int(p.as_str().to_string()),
                span,
            },
            Rule::ip_lit => Expr {
                kind: ExprKind::Ip(p.as_str().to_string()),
                span,
            },
            Rule::param_ref => Expr {
                kind: ExprKind::Param(p.as_str()[1..].to_string()),
                span,
            },
            Rule::ident => Expr {
                kind: ExprKind::Var(p.as_str().to_string()),
                span,
            },
            r => unreachable!("unexpected expression rule {r:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Parsed {
        parse_file(FileId(0), src)
    }

    #[test]
    fn parses_a_small_file() {
        let p = parse(
            "param rate = 100Mbit\nhost a { iface eth0 { ip 10.0.0.1/24 } route default via 10.0.0.2 }\n\
             link a.eth0 -- sw { rate $rate delay 5ms }\napp a: curl \"http://x/\" at 1s\n",
        );
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        assert_eq!(p.stmts.len(), 4);
    }

    #[test]
    fn recovers_per_statement() {
        let p = parse("host a { ifce eth0 }\nhost b { iface eth0 }\nlink a.eth0 -> b.eth0\n");
        assert_eq!(p.diags.len(), 2, "{:?}", p.diags);
        assert_eq!(p.stmts.len(), 1);
        assert_eq!(p.broken_names, vec!["a".to_string()]);
        assert_eq!(p.diags[0].help.as_deref(), Some("did you mean `iface`?"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "{".repeat(100_000);
        let p = parse(&src);
        assert_eq!(p.diags.len(), 1);
        assert_eq!(p.diags[0].code, "too-deep");
        let src = format!(
            "host a {{ iface x {{ ip {}1{} }} }}",
            "{(".repeat(60),
            ")}".repeat(60)
        );
        let p = parse(&src);
        assert_eq!(p.diags[0].code, "too-deep");
    }

    #[test]
    fn unclosed_brace_recovers_at_next_statement() {
        let p = parse("host a {\n  iface eth0 {\n}\nhost b { }\nhost c {{ }\n");
        let codes: Vec<_> = p.diags.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"unclosed"), "{codes:?}");
    }

    #[test]
    fn interpolation_in_strings_and_names() {
        let p = parse("for i in 0..3 { app h{i}: curl \"http://10.0.{i}.1/\" at {i * 25}us }");
        assert!(p.diags.is_empty(), "{:?}", p.diags);
    }
}
