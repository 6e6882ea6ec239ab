//! The Scapy expression a `craft` app sends, read as Python reads it: layers joined by `/`
//! (`IP(src='10.0.0.66', dst='10.0.1.53')/UDP(sport=40000)/DNS(qd=DNSQR(qname='baidu.com'))`),
//! each a call with keyword arguments, and string or bytes literals as payloads
//! (`/"GET / HTTP/1.0\r\n\r\n"`, `Raw(load=b'\x01')`).
//!
//! Values are the Python literals Scapy's fields take: integers (`10`, `0x1f`, `0o17`,
//! `0b101`, `1_000`, `-1`), strings (`'…'` or `"…"`, with Python's escapes, encoded as UTF-8
//! as Scapy encodes a `str`), bytes (`b'…'`, escapes as bytes), raw strings (`r'…'`),
//! `None`, `True`, `False`, lists `[…]`, tuples `(…)` and nested calls (`DNSQR(…)`).
//! Every node keeps its byte range in the expression, so that an error points at the
//! character that is wrong ([`CraftError`]).

/// An error in a craft expression, at a byte range of it, with what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CraftError {
    /// First byte of the offending text.
    pub at: usize,
    /// One past its last byte (equal to `at` at the end of the text).
    pub end: usize,
    /// What is wrong.
    pub message: String,
    /// What was expected there, or how to write it.
    pub expected: Option<String>,
    /// The names it could have meant (an unknown layer or field): the caller picks the
    /// closest as a suggestion.
    pub candidates: Vec<&'static str>,
}

impl CraftError {
    /// An error at `at..end`.
    pub fn new(at: usize, end: usize, message: impl Into<String>) -> Self {
        Self {
            at,
            end,
            message: message.into(),
            expected: None,
            candidates: Vec::new(),
        }
    }

    /// With what was expected.
    #[must_use]
    pub fn expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }

    /// With the names it could have meant.
    #[must_use]
    pub fn candidates(mut self, c: &[&'static str]) -> Self {
        self.candidates = c.to_vec();
        self
    }
}

impl std::fmt::Display for CraftError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.message)?;
        if let Some(e) = &self.expected {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// A value with the byte range it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub v: T,
    /// First byte.
    pub at: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A Python literal (or a nested call) as a field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer.
    Int(i128),
    /// A `str`, decoded.
    Str(String),
    /// A `bytes` literal.
    Bytes(Vec<u8>),
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// `[…]`.
    List(Vec<Spanned<Self>>),
    /// `(…)`.
    Tuple(Vec<Spanned<Self>>),
    /// `NAME(…)`.
    Call(Call),
}

impl Value {
    /// What Python calls its type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Int(_) => "an int",
            Self::Str(_) => "a str",
            Self::Bytes(_) => "bytes",
            Self::None => "None",
            Self::Bool(_) => "a bool",
            Self::List(_) => "a list",
            Self::Tuple(_) => "a tuple",
            Self::Call(_) => "a layer",
        }
    }
}

/// `NAME(args)`: a layer, or a nested packet such as `DNSQR(…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The name, with its range.
    pub name: Spanned<String>,
    /// Positional arguments.
    pub positional: Vec<Spanned<Value>>,
    /// Keyword arguments: the field's name (with its range) and value.
    pub kwargs: Vec<(Spanned<String>, Spanned<Value>)>,
    /// The whole call's range.
    pub at: usize,
    /// One past the closing parenthesis.
    pub end: usize,
}

/// One operand of `/`: a layer, or a payload written as a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `IP(…)`.
    Layer(Call),
    /// `'text'` or `b'bytes'`: a `Raw` layer.
    Payload(Spanned<Vec<u8>>),
}

/// The most packets one expression may stand for ([`expand`]).
pub const MAX_PACKETS: usize = 100_000;

/// Fields whose value is a list by nature, not a set of packets.
fn list_field(layer: &str, field: &str) -> bool {
    matches!(
        (layer, field),
        ("IP" | "TCP", "options") | ("DNS", "qd" | "an" | "ns" | "ar")
    )
}

/// Scapy's implicit packets: a layer field given as a list (`dport=[80, 443]`) or a range
/// `(first, last)` of integers (`seq=(1000, 1010)`, both ends included) stands for one
/// packet per value. Returns every packet's terms, in Scapy's order: an outer layer's
/// fields vary slowest, and within a layer the first field given varies fastest.
///
/// # Errors
/// An empty range or list, or more than [`MAX_PACKETS`] packets.
pub fn expand(terms: &[Term]) -> Result<Vec<Vec<Term>>, CraftError> {
    // Every generator: (term, kwarg, its values), outermost-slowest order.
    let mut gens: Vec<(usize, usize, Vec<Spanned<Value>>)> = Vec::new();
    for (ti, t) in terms.iter().enumerate() {
        let Term::Layer(c) = t else { continue };
        let mut layer_gens = Vec::new();
        for (ki, (k, v)) in c.kwargs.iter().enumerate() {
            if list_field(&c.name.v, &k.v) {
                continue;
            }
            let values = match &v.v {
                Value::List(l) => l.clone(),
                Value::Tuple(r) if r.len() == 2 => match (&r[0].v, &r[1].v) {
                    (Value::Int(a), Value::Int(b)) => {
                        if b < a {
                            return Err(CraftError::new(
                                v.at,
                                v.end,
                                "an empty range sends nothing",
                            )
                            .expected("(first, last) with first ≤ last"));
                        }
                        if b - a >= MAX_PACKETS as i128 {
                            return Err(too_many(v.at, v.end));
                        }
                        (*a..=*b)
                            .map(|i| Spanned {
                                v: Value::Int(i),
                                at: v.at,
                                end: v.end,
                            })
                            .collect()
                    }
                    _ => continue,
                },
                _ => continue,
            };
            if values.is_empty() {
                return Err(CraftError::new(v.at, v.end, "an empty list sends nothing"));
            }
            layer_gens.push((ti, ki, values));
        }
        // Within a layer the first field varies fastest: it goes last.
        layer_gens.reverse();
        gens.extend(layer_gens);
    }
    let total = gens
        .iter()
        .try_fold(1usize, |acc, (_, _, v)| acc.checked_mul(v.len()))
        .filter(|&t| t <= MAX_PACKETS);
    let Some(total) = total else {
        let (at, end) = gens.first().map_or((0, 0), |(_, _, v)| (v[0].at, v[0].end));
        return Err(too_many(at, end));
    };
    let mut out = Vec::with_capacity(total);
    for i in 0..total {
        let mut pkt = terms.to_vec();
        let mut rest = i;
        for (ti, ki, values) in gens.iter().rev() {
            let pick = &values[rest % values.len()];
            rest /= values.len();
            if let Term::Layer(c) = &mut pkt[*ti] {
                c.kwargs[*ki].1 = pick.clone();
            }
        }
        out.push(pkt);
    }
    Ok(out)
}

fn too_many(at: usize, end: usize) -> CraftError {
    CraftError::new(at, end, format!("more than {MAX_PACKETS} packets"))
        .expected("a smaller range or list")
}

/// Deepest nesting of calls, lists and tuples.
const MAX_DEPTH: usize = 32;

/// Parses `text` into its layers, in order.
///
/// # Errors
/// A [`CraftError`] at the first character that does not fit Python's syntax for a
/// Scapy expression.
pub fn parse(text: &str) -> Result<Vec<Term>, CraftError> {
    let mut p = Parser {
        s: text,
        pos: 0,
        depth: 0,
    };
    let mut terms = vec![p.term()?];
    loop {
        p.ws();
        match p.peek() {
            None => break,
            Some('/') => {
                p.pos += 1;
                terms.push(p.term()?);
            }
            Some(_) => {
                return Err(p
                    .err_here("unexpected text after a layer")
                    .expected("`/` and the next layer, or the end of the packet"));
            }
        }
    }
    Ok(terms)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    /// An error at the current character (or the end).
    fn err_here(&self, msg: impl Into<String>) -> CraftError {
        let end = self.peek().map_or(self.pos, |c| self.pos + c.len_utf8());
        CraftError::new(self.pos, end, msg)
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("`{c}`"),
            None => "the end of the packet".to_string(),
        }
    }

    fn ident(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        let rest = &self.s[start..];
        let mut len = 0;
        for (i, c) in rest.char_indices() {
            let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
            if !ok {
                break;
            }
            len = i + c.len_utf8();
        }
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(Spanned {
            v: rest[..len].to_string(),
            at: start,
            end: self.pos,
        })
    }

    fn term(&mut self) -> Result<Term, CraftError> {
        self.ws();
        let at = self.pos;
        match self.peek() {
            Some('\'' | '"') => {
                let s = self.string_lit(false)?;
                Ok(Term::Payload(Spanned {
                    v: s.into_bytes(),
                    at,
                    end: self.pos,
                }))
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                if let Some(v) = self.prefixed_string()? {
                    let bytes = match v {
                        Value::Bytes(b) => b,
                        Value::Str(s) => s.into_bytes(),
                        _ => unreachable!("prefixed_string returns a string"),
                    };
                    return Ok(Term::Payload(Spanned {
                        v: bytes,
                        at,
                        end: self.pos,
                    }));
                }
                let name = self.ident().expect("a letter starts a name");
                self.ws();
                if self.peek() != Some('(') {
                    return Err(self
                        .err_here(format!("expected `(` after `{}`", name.v))
                        .expected(format!("a layer is called: `{}()`", name.v)));
                }
                Ok(Term::Layer(self.call(name)?))
            }
            _ => Err(self
                .err_here(format!("expected a layer, found {}", self.found()))
                .expected("a layer such as `IP(dst='10.0.0.1')`, or a payload string")),
        }
    }

    /// `b'…'`, `r'…'`, `rb'…'`, `br'…'` (any case), or `None` if the text is a name.
    fn prefixed_string(&mut self) -> Result<Option<Value>, CraftError> {
        let rest = &self.s[self.pos..];
        let lower: String = rest
            .chars()
            .take(3)
            .collect::<String>()
            .to_ascii_lowercase();
        let (prefix_len, bytes, raw) = if lower.starts_with("rb") || lower.starts_with("br") {
            (2, true, true)
        } else if lower.starts_with('b') {
            (1, true, false)
        } else if lower.starts_with('r') {
            (1, false, true)
        } else {
            return Ok(None);
        };
        let quote = rest[prefix_len..].chars().next();
        if !matches!(quote, Some('\'' | '"')) {
            return Ok(None);
        }
        self.pos += prefix_len;
        if bytes {
            let b = self.bytes_lit(raw)?;
            Ok(Some(Value::Bytes(b)))
        } else {
            Ok(Some(Value::Str(self.string_lit(raw)?)))
        }
    }

    fn call(&mut self, name: Spanned<String>) -> Result<Call, CraftError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here("layers nested too deeply"));
        }
        let at = name.at;
        self.pos += 1; // (
        let mut positional = Vec::new();
        let mut kwargs = Vec::new();
        loop {
            self.ws();
            if self.peek() == Some(')') {
                self.pos += 1;
                break;
            }
            // NAME = value, or a positional value.
            let save = self.pos;
            let mut keyword = None;
            if let Some(id) = self.ident() {
                self.ws();
                if self.peek() == Some('=') && !self.s[self.pos..].starts_with("==") {
                    self.pos += 1;
                    keyword = Some(id);
                } else {
                    self.pos = save;
                }
            }
            let v = self.value()?;
            match keyword {
                Some(k) => kwargs.push((k, v)),
                None if !kwargs.is_empty() => {
                    return Err(CraftError::new(
                        v.at,
                        v.end,
                        "positional argument follows keyword argument",
                    )
                    .expected("name the field: `field=value`"));
                }
                None => positional.push(v),
            }
            self.ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {}
                _ => {
                    return Err(self
                        .err_here(format!(
                            "expected `,` or `)` in `{}(…)`, found {}",
                            name.v,
                            self.found()
                        ))
                        .expected("`field=value` pairs separated by commas"));
                }
            }
        }
        self.depth -= 1;
        Ok(Call {
            name,
            positional,
            kwargs,
            at,
            end: self.pos,
        })
    }

    fn value(&mut self) -> Result<Spanned<Value>, CraftError> {
        self.ws();
        let at = self.pos;
        let v = match self.peek() {
            Some('\'' | '"') => Value::Str(self.string_lit(false)?),
            Some('[') => Value::List(self.seq(']')?),
            Some('(') => Value::Tuple(self.seq(')')?),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => Value::Int(self.int()?),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                if let Some(v) = self.prefixed_string()? {
                    v
                } else {
                    let id = self.ident().expect("a letter starts a name");
                    match id.v.as_str() {
                        "None" => Value::None,
                        "True" => Value::Bool(true),
                        "False" => Value::Bool(false),
                        _ => {
                            self.ws();
                            if self.peek() != Some('(') {
                                return Err(CraftError::new(
                                    id.at,
                                    id.end,
                                    format!("`{}` is not a value", id.v),
                                )
                                .expected(
                                    "a number, a quoted string, None, a list, or a layer call",
                                ));
                            }
                            Value::Call(self.call(id)?)
                        }
                    }
                }
            }
            _ => {
                return Err(self
                    .err_here(format!("expected a value, found {}", self.found()))
                    .expected("a number, a quoted string, None, a list, or a layer call"));
            }
        };
        Ok(Spanned {
            v,
            at,
            end: self.pos,
        })
    }

    fn seq(&mut self, close: char) -> Result<Vec<Spanned<Value>>, CraftError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here("values nested too deeply"));
        }
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                break;
            }
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(
                        self.err_here(format!("expected `,` or `{close}`, found {}", self.found()))
                    );
                }
            }
        }
        self.depth -= 1;
        Ok(items)
    }

    fn int(&mut self) -> Result<i128, CraftError> {
        let at = self.pos;
        let mut neg = false;
        if let Some(c @ ('-' | '+')) = self.peek() {
            neg = c == '-';
            self.pos += 1;
        }
        let rest = &self.s[self.pos..];
        let (radix, skip) = match rest.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("0x") => (16, 2),
            Some("0o") => (8, 2),
            Some("0b") => (2, 2),
            _ => (10, 0),
        };
        let digits: String = rest[skip..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        self.pos += skip + digits.len();
        let clean: String = digits.chars().filter(|c| *c != '_').collect();
        let bad = || {
            CraftError::new(
                at,
                self.pos.max(at + 1),
                format!("`{}` is not an integer", &self.s[at..self.pos]),
            )
            .expected("an integer: `10`, `0x1f`, `0o17` or `0b101`")
        };
        if clean.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
            return Err(bad());
        }
        if self.peek() == Some('.') {
            return Err(
                CraftError::new(at, self.pos + 1, "a float is not a field value here")
                    .expected("an integer"),
            );
        }
        let v = i128::from_str_radix(&clean, radix).map_err(|_| bad())?;
        Ok(if neg { -v } else { v })
    }

    /// A quoted `str` (`raw`: backslashes kept), decoded.
    fn string_lit(&mut self, raw: bool) -> Result<String, CraftError> {
        let quote = self.peek().expect("a quote");
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(CraftError::new(open, open + 1, "this string is not closed")
                    .expected(format!("a closing {quote}")));
            };
            if c == quote {
                self.pos += 1;
                return Ok(out);
            }
            if c == '\n' {
                return Err(self.err_here("a line break inside a string"));
            }
            if c == '\\' && !raw {
                let esc_at = self.pos;
                self.pos += 1;
                match self.escape(esc_at, false)? {
                    Some(Esc::Char(ch)) => out.push(ch),
                    Some(Esc::Byte(b)) => out.push(char::from(b)),
                    None => {}
                }
                continue;
            }
            if c == '\\' && raw {
                // r'\'' keeps both characters.
                out.push('\\');
                self.pos += 1;
                if let Some(n) = self.peek() {
                    out.push(n);
                    self.pos += n.len_utf8();
                }
                continue;
            }
            out.push(c);
            self.pos += c.len_utf8();
        }
    }

    /// A quoted `bytes` literal (after its `b`).
    fn bytes_lit(&mut self, raw: bool) -> Result<Vec<u8>, CraftError> {
        let quote = self.peek().expect("a quote");
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(
                    CraftError::new(open, open + 1, "this bytes literal is not closed")
                        .expected(format!("a closing {quote}")),
                );
            };
            if c == quote {
                self.pos += 1;
                return Ok(out);
            }
            if !c.is_ascii() {
                return Err(self
                    .err_here("bytes can only contain ASCII literal characters")
                    .expected("write other bytes as `\\xHH`"));
            }
            if c == '\\' && !raw {
                let esc_at = self.pos;
                self.pos += 1;
                match self.escape(esc_at, true)? {
                    Some(Esc::Byte(b)) => out.push(b),
                    Some(Esc::Char(ch)) => out.push(ch as u8),
                    None => {}
                }
                continue;
            }
            out.push(c as u8);
            self.pos += 1;
        }
    }

    /// A backslash escape, after the backslash at `esc_at`.
    fn escape(&mut self, esc_at: usize, bytes: bool) -> Result<Option<Esc>, CraftError> {
        let Some(c) = self.peek() else {
            return Err(CraftError::new(
                esc_at,
                esc_at + 1,
                "a backslash at the end",
            ));
        };
        self.pos += c.len_utf8();
        let simple = |b: u8| Ok(Some(Esc::Byte(b)));
        match c {
            '\n' => Ok(None),
            '\\' => simple(b'\\'),
            '\'' => simple(b'\''),
            '"' => simple(b'"'),
            'a' => simple(7),
            'b' => simple(8),
            'f' => simple(12),
            'n' => simple(b'\n'),
            'r' => simple(b'\r'),
            't' => simple(b'\t'),
            'v' => simple(11),
            '0'..='7' => {
                let mut v = c.to_digit(8).expect("octal");
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                if bytes {
                    Ok(Some(Esc::Byte((v & 0xff) as u8)))
                } else {
                    Ok(char::from_u32(v).map(Esc::Char))
                }
            }
            'x' => {
                let v = self.hex_digits(esc_at, 2)?;
                if bytes {
                    Ok(Some(Esc::Byte(v as u8)))
                } else {
                    Ok(char::from_u32(v).map(Esc::Char))
                }
            }
            'u' | 'U' if !bytes => {
                let v = self.hex_digits(esc_at, if c == 'u' { 4 } else { 8 })?;
                char::from_u32(v)
                    .map(|ch| Some(Esc::Char(ch)))
                    .ok_or_else(|| CraftError::new(esc_at, self.pos, "not a Unicode code point"))
            }
            // Python keeps an unknown escape as it is: "\q" is a backslash and a q.
            other => {
                self.pos -= other.len_utf8();
                Ok(Some(Esc::Byte(b'\\')))
            }
        }
    }

    fn hex_digits(&mut self, esc_at: usize, n: usize) -> Result<u32, CraftError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                }
                None => {
                    return Err(CraftError::new(
                        esc_at,
                        self.pos.max(esc_at + 2),
                        "a truncated escape",
                    )
                    .expected(format!("{n} hexadecimal digits")));
                }
            }
        }
        Ok(v)
    }
}

enum Esc {
    Char(char),
    Byte(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_values_and_payloads() {
        let t = parse(
            "IP(src='10.0.0.66', dst=\"10.0.1.53\", ttl=0x10)/UDP(sport=40000)/DNS(qd=[DNSQR(qname='a')], rd=True)/b'\\x01\\xff'/'\\xff'",
        )
        .unwrap();
        assert_eq!(t.len(), 5);
        let Term::Layer(ip) = &t[0] else { panic!() };
        assert_eq!(ip.name.v, "IP");
        assert_eq!(ip.kwargs[2].1.v, Value::Int(16));
        assert_eq!(ip.kwargs[1].1.v, Value::Str("10.0.1.53".into()));
        let Term::Payload(b) = &t[3] else { panic!() };
        assert_eq!(b.v, [1, 0xff]);
        let Term::Payload(s) = &t[4] else { panic!() };
        assert_eq!(
            s.v,
            "\u{ff}".as_bytes(),
            "a str is UTF-8 encoded, as Scapy does"
        );
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = parse("IP(dst='1.2.3.4' ttl=3)").unwrap_err();
        assert_eq!(e.at, 17, "{e}");
        assert!(e.message.contains("expected `,` or `)`"), "{e}");
        let e = parse("IP(dst='1.2.3.4)").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (7, "this string is not closed"));
        let e = parse("IP()/").unwrap_err();
        assert_eq!(e.at, 5);
        let e = parse("IP(ttl=1.5)").unwrap_err();
        assert_eq!(e.at, 7);
        let e = parse("IP(ttl=0xzz)").unwrap_err();
        assert_eq!(e.at, 7);
        let e = parse("IP").unwrap_err();
        assert!(e.message.contains("expected `(`"));
        let deep = "IP(x=".repeat(100);
        assert!(parse(&deep).is_err());
    }
}
