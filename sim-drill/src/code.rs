//! The `%{ … }%` blocks: the subset of Python the kernel's scripts write, evaluated over the
//! `tcp_info` (and `SO_MEMINFO`, `TCP_CC_INFO`) values a host reports at that instant.
//!
//! packetdrill writes each block, preceded by assignments of every `tcpi_*` value read at
//! the block's instant, into one Python file that runs after the script; the first failing
//! `assert` fails the script. Variables a block assigns stay visible to later blocks. This
//! module does the same without Python: [`CodeBlock::parse`] reads a block, and
//! [`CodeState::run`] evaluates it over a snapshot.
//!
//! Supported: statements separated by newlines or `;`, `\` line continuations, `#`
//! comments; `assert test[, message]`, `name = expr`, `pass`, expression statements;
//! integers (decimal, hex, octal, binary, `_`), floats, strings (`'…'`, `"…"`), `True`,
//! `False`, `None`, tuples in parentheses; `or`, `and`, `not`; chained comparisons; `|`,
//! `^`, `&`, `<<`, `>>`, `+`, `-`, `*`, `/`, `//`, `%` (also `str % args` formatting), `**`,
//! unary `-`, `+`, `~`. Anything else (calls, attributes, subscripts, `if`, `for`, `def`,
//! `import`, …) is refused as unsupported when the script is loaded.

use std::collections::BTreeMap;

use crate::symbols::{CODE_CONSTANTS, CODE_VARIABLES};

/// Why a block cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// Python itself would reject the block (`SyntaxError: …`, `IndentationError: …`).
    Syntax {
        /// Byte offset in the block's text.
        at: usize,
        /// Python's words.
        message: String,
    },
    /// Valid Python outside the supported subset.
    Unsupported {
        /// Byte offset in the block's text.
        at: usize,
        /// What is not supported.
        what: String,
    },
}

/// A failure while running a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// An exception Python would raise: the statement's text and `AssertionError: 7`,
    /// `NameError: name 'x' is not defined`, …
    Exception {
        /// The statement, as written.
        statement: String,
        /// The exception line.
        exception: String,
    },
    /// The block names a variable packetdrill would define but the host did not report.
    Unsupported(String),
}

// ---------------------------------------------------------------- values

/// A Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `int` (and `bool` arithmetic).
    Int(i128),
    /// `float`.
    Float(f64),
    /// `bool`.
    Bool(bool),
    /// `str`.
    Str(String),
    /// `None`.
    None,
    /// `tuple`.
    Tuple(Vec<Self>),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Self::Int(i) => *i != 0,
            Self::Float(f) => *f != 0.0,
            Self::Bool(b) => *b,
            Self::Str(s) => !s.is_empty(),
            Self::None => false,
            Self::Tuple(t) => !t.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Bool(_) => "bool",
            Self::Str(_) => "str",
            Self::None => "NoneType",
            Self::Tuple(_) => "tuple",
        }
    }

    /// `str(v)`.
    pub fn py_str(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            other => other.py_repr(),
        }
    }

    /// `repr(v)`.
    pub fn py_repr(&self) -> String {
        match self {
            Self::Int(i) => i.to_string(),
            Self::Float(f) => float_repr(*f),
            Self::Bool(b) => if *b { "True" } else { "False" }.into(),
            Self::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Self::None => "None".into(),
            Self::Tuple(t) => {
                let items: Vec<String> = t.iter().map(Self::py_repr).collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
        }
    }

    fn number(&self) -> Option<Num> {
        match self {
            Self::Int(i) => Some(Num::I(*i)),
            Self::Bool(b) => Some(Num::I(i128::from(*b))),
            Self::Float(f) => Some(Num::F(*f)),
            _ => None,
        }
    }
}

fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

#[derive(Clone, Copy)]
enum Num {
    I(i128),
    F(f64),
}

impl Num {
    fn f(self) -> f64 {
        match self {
            Self::I(i) => i as f64,
            Self::F(f) => f,
        }
    }
}

// ---------------------------------------------------------------- syntax tree

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Or,
    Xor,
    And,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Const(Value),
    Name(String),
    Neg(Box<Self>),
    Pos(Box<Self>),
    Invert(Box<Self>),
    Not(Box<Self>),
    Bin(BinOp, Box<Self>, Box<Self>),
    Compare(Box<Self>, Vec<(CmpOp, Self)>),
    And(Vec<Self>),
    Or(Vec<Self>),
    Tuple(Vec<Self>),
}

#[derive(Debug, Clone, PartialEq)]
enum StmtKind {
    Assert(Expr, Option<Expr>),
    Assign(String, Expr),
    Expr(Expr),
    Pass,
}

#[derive(Debug, Clone, PartialEq)]
struct Stmt {
    kind: StmtKind,
    /// The statement as written (for tracebacks).
    text: String,
}

/// A parsed `%{ }%` block.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeBlock {
    stmts: Vec<Stmt>,
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Int(i128),
    Float(f64),
    Str(String),
    Op(&'static str),
    /// End of a statement (newline or `;`).
    End,
}

const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", "+=", "-=",
    "*=", "/=", "%=", "&=", "|=", "^=", ":=", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<",
    ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", "=", "@",
];

fn syntax(at: usize, message: impl Into<String>) -> CodeError {
    CodeError::Syntax {
        at,
        message: message.into(),
    }
}

/// Splits the block into tokens with their byte offsets.
fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, CodeError> {
    let b = text.as_bytes();
    let mut out: Vec<(Tok, usize)> = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if line_start && depth == 0 {
            // Indentation at the start of a logical line is an error in Python.
            let mut j = i;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            let blank = j >= b.len() || b[j] == b'\n' || b[j] == b'#' || b[j] == b'\r';
            if j > i && !blank {
                return Err(syntax(j, "IndentationError: unexpected indent"));
            }
            line_start = false;
            i = j;
            continue;
        }
        match c {
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\n' => {
                if depth == 0 {
                    out.push((Tok::End, i));
                    line_start = true;
                }
                i += 1;
            }
            b';' => {
                out.push((Tok::End, i));
                i += 1;
            }
            b'\'' | b'"' => {
                let (s, n) = string(&text[i..])
                    .ok_or_else(|| syntax(i, "SyntaxError: unterminated string literal"))?;
                out.push((Tok::Str(s), i));
                i += n;
            }
            b'0'..=b'9' | b'.' if c != b'.' || b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (t, n) = number(&text[i..])
                    .ok_or_else(|| syntax(i, "SyntaxError: invalid decimal literal"))?;
                out.push((t, i));
                i += n;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let n = text[i..]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                out.push((Tok::Name(text[i..i + n].to_string()), i));
                i += n;
            }
            _ => {
                let Some(op) = OPS.iter().find(|o| text[i..].starts_with(**o)) else {
                    return Err(syntax(
                        i,
                        format!(
                            "SyntaxError: invalid character '{}'",
                            text[i..].chars().next().unwrap_or(' ')
                        ),
                    ));
                };
                match *op {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                out.push((Tok::Op(op), i));
                i += op.len();
            }
        }
    }
    out.push((Tok::End, b.len()));
    Ok(out)
}

/// A string literal at the start of `s`: its value and length.
fn string(s: &str) -> Option<(String, usize)> {
    let q = s.chars().next()?;
    let mut out = String::new();
    let mut it = s.char_indices().skip(1);
    while let Some((i, c)) = it.next() {
        match c {
            '\n' => return None,
            '\\' => {
                let (_, e) = it.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    '\\' | '\'' | '"' => out.push(e),
                    '\n' => {}
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c if c == q => return Some((out, i + 1)),
            c => out.push(c),
        }
    }
    None
}

/// A number literal at the start of `s`.
fn number(s: &str) -> Option<(Tok, usize)> {
    let n = s
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        .count();
    let mut n = n;
    // An exponent sign: `1e-3`.
    let lower = s[..n].to_ascii_lowercase();
    if (lower.ends_with('e') && !lower.starts_with("0x"))
        && matches!(s.as_bytes().get(n), Some(b'+' | b'-'))
    {
        n += 1 + s[n + 1..].bytes().take_while(u8::is_ascii_digit).count();
    }
    let lit: String = s[..n].chars().filter(|c| *c != '_').collect();
    let l = lit.to_ascii_lowercase();
    let radix = |p: &str, r: u32| {
        l.strip_prefix(p)
            .and_then(|d| i128::from_str_radix(d, r).ok())
    };
    let tok = if l.starts_with("0x") {
        Tok::Int(radix("0x", 16)?)
    } else if l.starts_with("0o") {
        Tok::Int(radix("0o", 8)?)
    } else if l.starts_with("0b") {
        Tok::Int(radix("0b", 2)?)
    } else if l.bytes().all(|c| c.is_ascii_digit()) {
        if l.len() > 1 && l.starts_with('0') && l.bytes().any(|c| c != b'0') {
            return None; // `010` is a SyntaxError in Python 3
        }
        Tok::Int(l.parse().ok()?)
    } else {
        Tok::Float(l.parse().ok()?)
    };
    Some((tok, n))
}

// ---------------------------------------------------------------- parser

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    text: &'a str,
}

const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "if", "elif", "else", "for", "while", "def", "class", "import", "from", "with", "try",
    "except", "finally", "return", "yield", "lambda", "global", "nonlocal", "del", "raise",
    "break", "continue", "async", "await", "in", "is", "print",
];

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn at(&self) -> usize {
        self.toks[self.pos].1
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Tok::Op(o) if *o == op) {
            self.next();
            true
        } else {
            false
        }
    }
    fn eat_name(&mut self, name: &str) -> bool {
        if matches!(self.peek(), Tok::Name(n) if n == name) {
            self.next();
            true
        } else {
            false
        }
    }
    fn unsupported(&self, what: impl Into<String>) -> CodeError {
        CodeError::Unsupported {
            at: self.at(),
            what: what.into(),
        }
    }
    fn invalid(&self) -> CodeError {
        syntax(self.at(), "SyntaxError: invalid syntax")
    }

    fn statement(&mut self) -> Result<Option<Stmt>, CodeError> {
        while *self.peek() == Tok::End {
            if self.pos + 1 >= self.toks.len() {
                return Ok(None);
            }
            self.next();
        }
        let start = self.at();
        let kind = match self.peek().clone() {
            Tok::Name(n) if n == "assert" => {
                self.next();
                let test = self.expr()?;
                let msg = if self.eat_op(",") {
                    Some(self.expr()?)
                } else {
                    None
                };
                StmtKind::Assert(test, msg)
            }
            Tok::Name(n) if n == "pass" => {
                self.next();
                StmtKind::Pass
            }
            Tok::Name(n) if UNSUPPORTED_KEYWORDS.contains(&n.as_str()) => {
                return Err(self.unsupported(format!("Python `{n}` statements")));
            }
            Tok::Name(n) if matches!(self.toks.get(self.pos + 1), Some((Tok::Op("="), _))) => {
                self.next();
                self.next();
                StmtKind::Assign(n, self.expr()?)
            }
            _ => StmtKind::Expr(self.expr()?),
        };
        match self.peek() {
            Tok::End => {}
            Tok::Op(o)
                if o.ends_with('=') && o.len() > 1 && !["==", "!=", "<=", ">="].contains(o) =>
            {
                return Err(self.unsupported(format!("Python `{o}`")));
            }
            _ => return Err(self.invalid()),
        }
        let end = self.at();
        let text = self.text[start..end].trim().to_string();
        Ok(Some(Stmt { kind, text }))
    }

    fn expr(&mut self) -> Result<Expr, CodeError> {
        let first = self.or()?;
        if let Tok::Name(n) = self.peek() {
            if n == "if" {
                return Err(self.unsupported("Python conditional expressions"));
            }
        }
        Ok(first)
    }

    fn or(&mut self) -> Result<Expr, CodeError> {
        let mut items = vec![self.and()?];
        while self.eat_name("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one")
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, CodeError> {
        let mut items = vec![self.not()?];
        while self.eat_name("and") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one")
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self) -> Result<Expr, CodeError> {
        if self.eat_name("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, CodeError> {
        let first = self.bitor()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Op("<") => CmpOp::Lt,
                Tok::Op("<=") => CmpOp::Le,
                Tok::Op(">") => CmpOp::Gt,
                Tok::Op(">=") => CmpOp::Ge,
                Tok::Op("==") => CmpOp::Eq,
                Tok::Op("!=") => CmpOp::Ne,
                Tok::Name(n) if n == "in" || n == "is" => {
                    return Err(self.unsupported(format!("Python `{n}`")));
                }
                _ => break,
            };
            self.next();
            rest.push((op, self.bitor()?));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Expr::Compare(Box::new(first), rest)
        })
    }

    fn binary(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, CodeError>,
    ) -> Result<Expr, CodeError> {
        let mut lhs = next(self)?;
        'outer: loop {
            for (tok, op) in ops {
                if self.eat_op(tok) {
                    let rhs = next(self)?;
                    lhs = Expr::Bin(*op, Box::new(lhs), Box::new(rhs));
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    fn bitor(&mut self) -> Result<Expr, CodeError> {
        self.binary(&[("|", BinOp::Or)], Self::bitxor)
    }
    fn bitxor(&mut self) -> Result<Expr, CodeError> {
        self.binary(&[("^", BinOp::Xor)], Self::bitand)
    }
    fn bitand(&mut self) -> Result<Expr, CodeError> {
        self.binary(&[("&", BinOp::And)], Self::shift)
    }
    fn shift(&mut self) -> Result<Expr, CodeError> {
        self.binary(&[("<<", BinOp::Shl), (">>", BinOp::Shr)], Self::arith)
    }
    fn arith(&mut self) -> Result<Expr, CodeError> {
        self.binary(&[("+", BinOp::Add), ("-", BinOp::Sub)], Self::term)
    }
    fn term(&mut self) -> Result<Expr, CodeError> {
        self.binary(
            &[
                ("*", BinOp::Mul),
                ("//", BinOp::FloorDiv),
                ("/", BinOp::Div),
                ("%", BinOp::Mod),
            ],
            Self::factor,
        )
    }

    fn factor(&mut self) -> Result<Expr, CodeError> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.factor()?)));
        }
        if self.eat_op("+") {
            return Ok(Expr::Pos(Box::new(self.factor()?)));
        }
        if self.eat_op("~") {
            return Ok(Expr::Invert(Box::new(self.factor()?)));
        }
        let base = self.atom()?;
        if self.eat_op("**") {
            let exp = self.factor()?;
            return Ok(Expr::Bin(BinOp::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr, CodeError> {
        let e = match self.peek().clone() {
            Tok::Int(i) => {
                self.next();
                Expr::Const(Value::Int(i))
            }
            Tok::Float(f) => {
                self.next();
                Expr::Const(Value::Float(f))
            }
            Tok::Str(mut s) => {
                self.next();
                // Adjacent literals concatenate.
                while let Tok::Str(t) = self.peek().clone() {
                    s.push_str(&t);
                    self.next();
                }
                Expr::Const(Value::Str(s))
            }
            Tok::Name(n) => {
                let e = match n.as_str() {
                    "True" => Expr::Const(Value::Bool(true)),
                    "False" => Expr::Const(Value::Bool(false)),
                    "None" => Expr::Const(Value::None),
                    k if UNSUPPORTED_KEYWORDS.contains(&k) => {
                        return Err(self.unsupported(format!("Python `{k}`")));
                    }
                    "and" | "or" | "not" | "assert" | "pass" => return Err(self.invalid()),
                    _ => Expr::Name(n),
                };
                self.next();
                e
            }
            Tok::Op("(") => {
                self.next();
                if self.eat_op(")") {
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat_op(")") {
                    first
                } else if self.eat_op(",") {
                    let mut items = vec![first];
                    while !self.eat_op(")") {
                        items.push(self.expr()?);
                        if !self.eat_op(",") {
                            if !self.eat_op(")") {
                                return Err(self.invalid());
                            }
                            break;
                        }
                    }
                    Expr::Tuple(items)
                } else {
                    return Err(self.invalid());
                }
            }
            Tok::Op(o @ ("[" | "{")) => {
                return Err(self.unsupported(format!("Python `{o}` displays")));
            }
            _ => return Err(self.invalid()),
        };
        match self.peek() {
            Tok::Op(o @ ("(" | "[" | ".")) => {
                let what = match *o {
                    "(" => "Python function calls",
                    "[" => "Python subscripts",
                    _ => "Python attributes",
                };
                Err(self.unsupported(what))
            }
            _ => Ok(e),
        }
    }
}

impl CodeBlock {
    /// Parses a block's text (as packetdrill passes it: spaces stripped at both ends).
    ///
    /// # Errors
    /// [`CodeError`] with the byte offset in `text`.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let mut p = Parser {
            toks: tokenize(text)?,
            pos: 0,
            text,
        };
        let mut stmts = Vec::new();
        while let Some(s) = p.statement()? {
            stmts.push(s);
        }
        Ok(Self { stmts })
    }

    /// The variable names the block reads, in order of first use (to check a host
    /// supplies them).
    pub fn names(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::Name(n) if !out.contains(n) => out.push(n.clone()),
                Expr::Neg(a) | Expr::Pos(a) | Expr::Invert(a) | Expr::Not(a) => walk(a, out),
                Expr::Bin(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Compare(a, rest) => {
                    walk(a, out);
                    rest.iter().for_each(|(_, e)| walk(e, out));
                }
                Expr::And(v) | Expr::Or(v) | Expr::Tuple(v) => v.iter().for_each(|e| walk(e, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for s in &self.stmts {
            match &s.kind {
                StmtKind::Assert(a, b) => {
                    walk(a, &mut out);
                    if let Some(b) = b {
                        walk(b, &mut out);
                    }
                }
                StmtKind::Assign(_, e) | StmtKind::Expr(e) => walk(e, &mut out),
                StmtKind::Pass => {}
            }
        }
        out
    }
}

// ---------------------------------------------------------------- evaluation

/// The values a host reports for a `%{ }%` block: `tcpi_*` fields, `SK_MEMINFO_*`, the
/// congestion control's `TCP_CC_INFO` fields, by packetdrill's names.
pub type InfoVars = BTreeMap<String, i64>;

/// Python's state across the blocks of one script.
#[derive(Debug, Clone, Default)]
pub struct CodeState {
    env: BTreeMap<String, Value>,
}

struct Exc(String);

impl CodeState {
    /// Runs a block over a snapshot, as packetdrill's Python file would at the end of the
    /// script: the constants and the snapshot are assigned first, then the statements run
    /// in order until one raises.
    ///
    /// # Errors
    /// The first exception; [`RunError::Unsupported`] if the block reads a variable
    /// packetdrill defines that the snapshot lacks.
    pub fn run(&mut self, block: &CodeBlock, vars: &InfoVars) -> Result<(), RunError> {
        for (k, v) in CODE_CONSTANTS {
            self.env
                .insert((*k).to_string(), Value::Int(i128::from(*v)));
        }
        for (k, v) in vars {
            self.env.insert(k.clone(), Value::Int(i128::from(*v)));
        }
        for s in &block.stmts {
            let r = match &s.kind {
                StmtKind::Assert(test, msg) => self.eval(test).and_then(|t| {
                    if t.truthy() {
                        Ok(())
                    } else {
                        match msg {
                            Some(m) => {
                                let m = self.eval(m)?;
                                Err(Exc(format!("AssertionError: {}", m.py_str())))
                            }
                            None => Err(Exc("AssertionError".into())),
                        }
                    }
                }),
                StmtKind::Assign(n, e) => self.eval(e).map(|v| {
                    self.env.insert(n.clone(), v);
                }),
                StmtKind::Expr(e) => self.eval(e).map(|_| ()),
                StmtKind::Pass => Ok(()),
            };
            if let Err(Exc(exception)) = r {
                if let Some(name) = exception
                    .strip_prefix("NameError: name '")
                    .and_then(|r| r.strip_suffix("' is not defined"))
                {
                    if CODE_VARIABLES.contains(&name) {
                        return Err(RunError::Unsupported(format!(
                            "the simulated host does not report `{name}`"
                        )));
                    }
                }
                return Err(RunError::Exception {
                    statement: s.text.clone(),
                    exception,
                });
            }
        }
        Ok(())
    }

    fn eval(&self, e: &Expr) -> Result<Value, Exc> {
        Ok(match e {
            Expr::Const(v) => v.clone(),
            Expr::Name(n) => self
                .env
                .get(n)
                .cloned()
                .ok_or_else(|| Exc(format!("NameError: name '{n}' is not defined")))?,
            Expr::Not(a) => Value::Bool(!self.eval(a)?.truthy()),
            Expr::Neg(a) => match self.eval(a)?.number() {
                Some(Num::I(i)) => Value::Int(-i),
                Some(Num::F(f)) => Value::Float(-f),
                None => return Err(unary_type_error("-", &self.eval(a)?)),
            },
            Expr::Pos(a) => match self.eval(a)?.number() {
                Some(Num::I(i)) => Value::Int(i),
                Some(Num::F(f)) => Value::Float(f),
                None => return Err(unary_type_error("+", &self.eval(a)?)),
            },
            Expr::Invert(a) => match self.eval(a)?.number() {
                Some(Num::I(i)) => Value::Int(!i),
                _ => return Err(unary_type_error("~", &self.eval(a)?)),
            },
            Expr::And(items) => {
                let mut v = Value::Bool(true);
                for i in items {
                    v = self.eval(i)?;
                    if !v.truthy() {
                        break;
                    }
                }
                v
            }
            Expr::Or(items) => {
                let mut v = Value::Bool(false);
                for i in items {
                    v = self.eval(i)?;
                    if v.truthy() {
                        break;
                    }
                }
                v
            }
            Expr::Tuple(items) => Value::Tuple(
                items
                    .iter()
                    .map(|i| self.eval(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Compare(first, rest) => {
                let mut lhs = self.eval(first)?;
                for (op, e) in rest {
                    let rhs = self.eval(e)?;
                    if !compare(*op, &lhs, &rhs)? {
                        return Ok(Value::Bool(false));
                    }
                    lhs = rhs;
                }
                Value::Bool(true)
            }
            Expr::Bin(op, a, b) => binary(*op, self.eval(a)?, self.eval(b)?)?,
        })
    }
}

fn unary_type_error(op: &str, v: &Value) -> Exc {
    Exc(format!(
        "TypeError: bad operand type for unary {op}: '{}'",
        v.type_name()
    ))
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, Exc> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a.number(), b.number()) {
        (Some(Num::I(x)), Some(Num::I(y))) => Some(x.cmp(&y)),
        (Some(x), Some(y)) => x.f().partial_cmp(&y.f()),
        _ => match (a, b) {
            (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
            _ => {
                return match op {
                    CmpOp::Eq => Ok(a == b),
                    CmpOp::Ne => Ok(a != b),
                    _ => Err(Exc(format!(
                        "TypeError: '{}' not supported between instances of '{}' and '{}'",
                        match op {
                            CmpOp::Lt => "<",
                            CmpOp::Le => "<=",
                            CmpOp::Gt => ">",
                            _ => ">=",
                        },
                        a.type_name(),
                        b.type_name()
                    ))),
                };
            }
        },
    };
    Ok(match (op, ord) {
        (_, None) => op == CmpOp::Ne,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
    })
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Or => "|",
        BinOp::Xor => "^",
        BinOp::And => "&",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::FloorDiv => "//",
        BinOp::Mod => "%",
        BinOp::Pow => "** or pow()",
    }
}

fn binary(op: BinOp, a: Value, b: Value) -> Result<Value, Exc> {
    if let (BinOp::Mod, Value::Str(fmt)) = (op, &a) {
        return format_percent(fmt, &b).map(Value::Str);
    }
    if let (BinOp::Add, Value::Str(x), Value::Str(y)) = (op, &a, &b) {
        return Ok(Value::Str(format!("{x}{y}")));
    }
    let type_error = || {
        Exc(format!(
            "TypeError: unsupported operand type(s) for {}: '{}' and '{}'",
            op_symbol(op),
            a.type_name(),
            b.type_name()
        ))
    };
    let (Some(x), Some(y)) = (a.number(), b.number()) else {
        return Err(type_error());
    };
    let overflow = || Exc("OverflowError: integer too large for this evaluator".into());
    let zero = |msg: &str| Exc(format!("ZeroDivisionError: {msg}"));
    Ok(match (x, y) {
        (Num::I(x), Num::I(y)) => match op {
            BinOp::Or => Value::Int(x | y),
            BinOp::Xor => Value::Int(x ^ y),
            BinOp::And => Value::Int(x & y),
            BinOp::Shl | BinOp::Shr if y < 0 => {
                return Err(Exc("ValueError: negative shift count".into()));
            }
            BinOp::Shl => Value::Int(
                x.checked_shl(u32::try_from(y).map_err(|_| overflow())?)
                    .ok_or_else(overflow)?,
            ),
            BinOp::Shr => Value::Int(if y >= 128 {
                if x < 0 { -1 } else { 0 }
            } else {
                x >> y
            }),
            BinOp::Add => Value::Int(x.checked_add(y).ok_or_else(overflow)?),
            BinOp::Sub => Value::Int(x.checked_sub(y).ok_or_else(overflow)?),
            BinOp::Mul => Value::Int(x.checked_mul(y).ok_or_else(overflow)?),
            BinOp::Div if y == 0 => return Err(zero("division by zero")),
            BinOp::Div => Value::Float(x as f64 / y as f64),
            BinOp::FloorDiv | BinOp::Mod if y == 0 => {
                return Err(zero("integer division or modulo by zero"));
            }
            BinOp::FloorDiv => {
                Value::Int(x.div_euclid(y) - i128::from(y < 0 && x.rem_euclid(y) != 0))
            }
            BinOp::Mod => {
                let r = x.rem_euclid(y);
                Value::Int(if y < 0 && r != 0 { r + y } else { r })
            }
            BinOp::Pow if y < 0 => Value::Float((x as f64).powf(y as f64)),
            BinOp::Pow => Value::Int(
                x.checked_pow(u32::try_from(y).map_err(|_| overflow())?)
                    .ok_or_else(overflow)?,
            ),
        },
        (x, y) => {
            let (x, y) = (x.f(), y.f());
            match op {
                BinOp::Add => Value::Float(x + y),
                BinOp::Sub => Value::Float(x - y),
                BinOp::Mul => Value::Float(x * y),
                BinOp::Div if y == 0.0 => return Err(zero("float division by zero")),
                BinOp::Div => Value::Float(x / y),
                BinOp::FloorDiv | BinOp::Mod if y == 0.0 => return Err(zero("float modulo")),
                BinOp::FloorDiv => Value::Float((x / y).floor()),
                BinOp::Mod => Value::Float(x - y * (x / y).floor()),
                BinOp::Pow => Value::Float(x.powf(y)),
                _ => return Err(type_error()),
            }
        }
    })
}

/// `fmt % args` with the conversions `d i u s r x X o f e g c %`, flags `-+ 0#`, width and
/// precision.
fn format_percent(fmt: &str, args: &Value) -> Result<String, Exc> {
    let args: Vec<Value> = match args {
        Value::Tuple(t) => t.clone(),
        v => vec![v.clone()],
    };
    let mut it = args.into_iter();
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "-+ 0#".contains(f) {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let conv = chars
            .next()
            .ok_or_else(|| Exc("ValueError: incomplete format".into()))?;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = it
            .next()
            .ok_or_else(|| Exc("TypeError: not enough arguments for format string".into()))?;
        let num_err = || {
            Exc(format!(
                "TypeError: %{conv} format: a real number is required, not {}",
                arg.type_name()
            ))
        };
        let body = match conv {
            'd' | 'i' | 'u' => match arg.number().ok_or_else(num_err)? {
                Num::I(i) => i.to_string(),
                Num::F(f) => (f.trunc() as i128).to_string(),
            },
            'x' | 'X' | 'o' => {
                let Some(Num::I(i)) = arg.number() else {
                    return Err(Exc(format!(
                        "TypeError: %{conv} format: an integer is required, not {}",
                        arg.type_name()
                    )));
                };
                let mag = i.unsigned_abs();
                let digits = match conv {
                    'x' => format!("{mag:x}"),
                    'X' => format!("{mag:X}"),
                    _ => format!("{mag:o}"),
                };
                let prefix = if flags.contains('#') {
                    match conv {
                        'x' => "0x",
                        'X' => "0X",
                        _ => "0o",
                    }
                } else {
                    ""
                };
                format!("{}{prefix}{digits}", if i < 0 { "-" } else { "" })
            }
            'f' | 'F' => format!(
                "{:.*}",
                precision.unwrap_or(6),
                arg.number().ok_or_else(num_err)?.f()
            ),
            'e' | 'E' => {
                let s = format!(
                    "{:.*e}",
                    precision.unwrap_or(6),
                    arg.number().ok_or_else(num_err)?.f()
                );
                // Rust writes `1.5e3`; Python `1.500000e+03`.
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let e: i32 = e.parse().unwrap_or(0);
                let s = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
                if conv == 'E' { s.to_uppercase() } else { s }
            }
            'g' | 'G' => float_repr(arg.number().ok_or_else(num_err)?.f()),
            's' => arg.py_str(),
            'r' => arg.py_repr(),
            'c' => match &arg {
                Value::Str(s) => s.clone(),
                v => match v.number() {
                    Some(Num::I(i)) => char::from_u32(i as u32)
                        .map(String::from)
                        .unwrap_or_default(),
                    _ => return Err(Exc("TypeError: %c requires int or char".into())),
                },
            },
            other => {
                return Err(Exc(format!(
                    "ValueError: unsupported format character '{other}'"
                )));
            }
        };
        let body = if flags.contains('+') && "diufFeE".contains(conv) && !body.starts_with('-') {
            format!("+{body}")
        } else if flags.contains(' ') && "diufFeE".contains(conv) && !body.starts_with('-') {
            format!(" {body}")
        } else {
            body
        };
        let body = match precision {
            Some(p) if "sr".contains(conv) => body.chars().take(p).collect(),
            _ => body,
        };
        let w: usize = width.parse().unwrap_or(0);
        let n = body.chars().count();
        if n >= w {
            out.push_str(&body);
        } else if flags.contains('-') {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', w - n));
        } else if flags.contains('0') && "diuxXofFeE".contains(conv) {
            let (sign, digits) = match body.strip_prefix(['-', '+', ' ']) {
                Some(d) => (&body[..1], d),
                None => ("", body.as_str()),
            };
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', w - n));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', w - n));
            out.push_str(&body);
        }
    }
    if it.next().is_some() {
        return Err(Exc(
            "TypeError: not all arguments converted during string formatting".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, vars: &[(&str, i64)]) -> Result<(), RunError> {
        let b = CodeBlock::parse(text).expect("parses");
        let vars: InfoVars = vars.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
        CodeState::default().run(&b, &vars)
    }

    fn exception(r: Result<(), RunError>) -> String {
        match r {
            Err(RunError::Exception { exception, .. }) => exception,
            other => panic!("expected an exception, got {other:?}"),
        }
    }

    #[test]
    fn the_scripts_asserts_pass_and_fail() {
        let ok = [
            (
                "assert tcpi_ca_state == TCP_CA_Recovery, tcpi_ca_state",
                vec![("tcpi_ca_state", 3)],
            ),
            (
                "assert 990 <= tcpi_last_data_recv <= 1010, tcpi_last_data_recv",
                vec![("tcpi_last_data_recv", 1000)],
            ),
            (
                "assert 5000 <= tcpi_rtt <= 20000, 'srtt=%d us' % tcpi_rtt",
                vec![("tcpi_rtt", 10000)],
            ),
            (
                "assert tcpi_lost == 7, tcpi_lost  # RACK thinks 1:7001 are lost\nassert tcpi_reordering == 3, tcpi_reordering",
                vec![("tcpi_lost", 7), ("tcpi_reordering", 3)],
            ),
            (
                "assert tcpi_probes == 0, tcpi_probes; \\\n         assert tcpi_backoff == 0, tcpi_backoff",
                vec![("tcpi_probes", 0), ("tcpi_backoff", 0)],
            ),
            (
                "assert SK_MEMINFO_RCVBUF > 131072, SK_MEMINFO_RCVBUF",
                vec![("SK_MEMINFO_RCVBUF", 131073)],
            ),
            (
                "x = tcpi_snd_cwnd * 2 + 1\nassert x == 21 and not x != 21 or False",
                vec![("tcpi_snd_cwnd", 10)],
            ),
        ];
        for (text, vars) in ok {
            assert_eq!(run(text, &vars), Ok(()), "{text}");
        }
        assert_eq!(
            exception(run(
                "assert 5000 <= tcpi_rtt <= 20000, 'srtt=%d us' % tcpi_rtt",
                &[("tcpi_rtt", 30000)]
            )),
            "AssertionError: srtt=30000 us"
        );
        assert_eq!(
            exception(run(
                "assert 990 <= tcpi_last_data_recv <= 1010",
                &[("tcpi_last_data_recv", 989)]
            )),
            "AssertionError"
        );
        let r = run(
            "assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd\nassert tcpi_snd_cwnd == 7, tcpi_snd_cwnd",
            &[("tcpi_snd_cwnd", 10)],
        );
        assert_eq!(
            r,
            Err(RunError::Exception {
                statement: "assert tcpi_snd_cwnd == 7, tcpi_snd_cwnd".into(),
                exception: "AssertionError: 10".into()
            })
        );
    }

    #[test]
    fn python_semantics() {
        let ok = [
            "assert 7 // 2 == 3 and -7 // 2 == -4 and -7 % 3 == 2 and 7 % -3 == -2",
            "assert 7 / 2 == 3.5 and 2 ** 10 == 1024 and -2 ** 2 == -4",
            "assert 1 < 2 < 3 and not 1 < 3 < 2",
            "assert (0 or 5) == 5 and (3 and 0) == 0",
            "assert 0x10 | 1 == 17 and 1 << 4 == 16 and ~0 == -1 and 0b101 ^ 1 == 4 and 0o17 & 7 == 7",
            "assert '%05d|%-3s|%x|%.2f' % (42, 'a', 255, 1.5) == '00042|a  |ff|1.50'",
            "assert True == 1 and 1 == 1.0 and 'a' != 1",
            "assert 1_000 == 1000; assert (1, 2) == (1, 2)",
        ];
        for text in ok {
            assert_eq!(run(text, &[]), Ok(()), "{text}");
        }
        assert_eq!(
            exception(run("assert x", &[])),
            "NameError: name 'x' is not defined"
        );
        assert_eq!(
            exception(run("assert 1 // 0", &[])),
            "ZeroDivisionError: integer division or modulo by zero"
        );
        assert_eq!(
            exception(run("assert 'a' < 1", &[])),
            "TypeError: '<' not supported between instances of 'str' and 'int'"
        );
        assert_eq!(
            run("assert tcpi_rcv_ooopack == 0", &[]),
            Err(RunError::Unsupported(
                "the simulated host does not report `tcpi_rcv_ooopack`".into()
            ))
        );
    }

    #[test]
    fn variables_persist_across_blocks() {
        let mut st = CodeState::default();
        let a = CodeBlock::parse("start = tcpi_snd_cwnd").unwrap();
        let b =
            CodeBlock::parse("assert tcpi_snd_cwnd == start * 2, (start, tcpi_snd_cwnd)").unwrap();
        st.run(&a, &[("tcpi_snd_cwnd".to_string(), 10)].into())
            .unwrap();
        assert_eq!(
            st.run(&b, &[("tcpi_snd_cwnd".to_string(), 15)].into()),
            Err(RunError::Exception {
                statement: "assert tcpi_snd_cwnd == start * 2, (start, tcpi_snd_cwnd)".into(),
                exception: "AssertionError: (10, 15)".into()
            })
        );
    }

    #[test]
    fn outside_the_subset_is_unsupported_and_bad_python_is_a_syntax_error() {
        let unsupported =
            |t: &str| matches!(CodeBlock::parse(t), Err(CodeError::Unsupported { .. }));
        assert!(unsupported("import os"));
        assert!(unsupported("assert len(x) == 1"));
        assert!(unsupported("assert x[0] == 1"));
        assert!(unsupported("assert os.path"));
        assert!(unsupported("if x: pass"));
        assert!(unsupported("x += 1"));
        assert!(unsupported("assert 1 in (1, 2)"));
        assert_eq!(
            CodeBlock::parse("assert 1 ==").unwrap_err(),
            CodeError::Syntax {
                at: 11,
                message: "SyntaxError: invalid syntax".into()
            }
        );
        assert_eq!(
            CodeBlock::parse("assert 1\n  assert 2").unwrap_err(),
            CodeError::Syntax {
                at: 11,
                message: "IndentationError: unexpected indent".into()
            }
        );
        assert_eq!(
            CodeBlock::parse("assert a and b or c").unwrap().names(),
            vec!["a", "b", "c"]
        );
    }
}
