//! The syntax tree of a `.net` file, as parsed: statements with spans, values still text
//! with `$param` and `{expression}` pieces. The elaborator ([`crate::eval`]) expands loops
//! and splices values; the lowering ([`crate::lower`]) types and checks them.

use crate::diag::Span;

/// An identifier (keyword-like position: param names, property keys, app kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    pub name: String,
    pub span: Span,
}

/// A name or value, possibly with interpolated pieces: `h{i}`, `$rate`, `"http://x/"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub parts: Vec<Part>,
    pub span: Span,
    /// Written as a string literal.
    pub quoted: bool,
}

/// A piece of a [`Word`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Literal text (escapes already resolved).
    Text(String),
    /// `$name`.
    Param(Ident),
    /// `{expr}`.
    Expr(Expr),
}

impl Word {
    /// The literal text, when the word has no interpolated pieces.
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Text(t)] => Some(t),
            [] => Some(""),
            _ => None,
        }
    }
    /// When the whole word is one `$param`, that param.
    pub fn sole_param(&self) -> Option<&Ident> {
        match self.parts.as_slice() {
            [Part::Param(p)] => Some(p),
            _ => None,
        }
    }
}

/// An integer (or IPv4) expression inside `{…}` or a loop bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// What an [`Expr`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExprKind {
    /// Decimal digits (underscores allowed).
    Int(String),
    /// `a.b.c.d`, as written.
    Ip(String),
    /// A loop variable.
    Var(String),
    /// `$param`.
    Param(String),
    /// `-e`.
    Neg(Box<Expr>),
    /// `a op b`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A top-level (or loop-body) statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stmt {
    Include {
        path: Word,
        span: Span,
    },
    Param {
        name: Ident,
        ty: Option<Ident>,
        value: Word,
        span: Span,
    },
    Setting {
        key: Ident,
        value: Word,
    },
    Defaults {
        what: Ident,
        props: Vec<Prop>,
    },
    Node(NodeDecl),
    Link(LinkDecl),
    App(AppDecl),
    For(For<Self>),
    Sysctl(SysctlDecl),
    Sample(SampleDecl),
}

/// `sample INTERVAL [{ KIND [TARGET…] [;] … }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleDecl {
    pub interval: Word,
    /// `None` without a body (everything is sampled).
    pub items: Option<Vec<SampleItem>>,
    pub span: Span,
}

/// `tcp a b`, `qdisc r1.eth1`, `link`, `app c`: a kind and its targets (none: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleItem {
    pub kind: Ident,
    pub targets: Vec<Endpoint>,
}

/// `for VAR in LO..HI { BODY }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct For<T> {
    pub var: Ident,
    pub lo: Expr,
    pub hi: Expr,
    pub inclusive: bool,
    pub body: Vec<T>,
    /// The header, `for i in 0..$n`.
    pub span: Span,
}

/// Node kinds as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Host,
    Router,
    Switch,
}

/// `host NAME { … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeDecl {
    pub kind: Kind,
    pub name: Word,
    pub body: Option<(Vec<NodeItem>, Span)>,
}

/// A statement inside a node body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeItem {
    Iface(IfaceDecl),
    Route(RouteDecl),
    Resolver {
        value: Word,
        span: Span,
    },
    /// `partition K`: the partition of a parallel run the node goes into (mod N).
    Partition {
        value: Word,
        span: Span,
    },
    Sysctl(SysctlDecl),
    Netfilter(NfDecl),
    /// `iptables …`: the command line after the keyword.
    Iptables(Word),
    For(For<Self>),
}

/// `iface NAME { props }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IfaceDecl {
    pub name: Word,
    pub props: Vec<Prop>,
    pub span: Span,
}

/// `route (default | CIDR) [via ADDR] [dev IFACE]`, or `route6 …` (`ip -6 route`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteDecl {
    /// Written `route6`: an IPv6 route.
    pub v6: bool,
    /// `None` for `default`.
    pub dest: Option<Word>,
    pub dest_span: Span,
    pub via: Option<Word>,
    pub dev: Option<Word>,
    pub span: Span,
}

/// `sysctl NAME = VALUE…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SysctlDecl {
    pub name: Ident,
    pub values: Vec<Word>,
    pub span: Span,
}

/// `netfilter HOOK ACTION [key value]…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NfDecl {
    pub hook: Ident,
    pub action: Ident,
    pub matches: Vec<(Ident, Word)>,
    pub span: Span,
}

/// `link A -- B { props }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkDecl {
    pub a: Endpoint,
    pub b: Endpoint,
    pub props: Vec<Prop>,
    pub span: Span,
}

/// `node` or `node.iface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub node: Word,
    pub iface: Option<Word>,
    pub span: Span,
}

/// `app NODE: KIND [ARG] [{ props }] [at T] [until T]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppDecl {
    pub node: Word,
    pub kind: Ident,
    pub arg: Option<Word>,
    pub props: Vec<Prop>,
    /// `(at|until, value)`.
    pub timings: Vec<(Ident, Word)>,
    pub span: Span,
}

/// One entry of a property block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prop {
    /// `key value`.
    Plain { key: Ident, value: Word },
    /// `qdisc KIND [key value… | flag]…`: a flag has no value, a key one or more.
    Qdisc {
        kw: Span,
        kind: Word,
        args: Vec<(Ident, Vec<Word>)>,
        /// A classful qdisc's `{ class … filter … }`.
        body: Option<Box<QBody<Word>>>,
    },
    /// `record NAME TYPE ADDR`.
    Record {
        kw: Span,
        name: Word,
        rtype: Word,
        addr: Word,
    },
}

/// A classful qdisc's body, `{ class … filter … }`, over words `W` ([`Word`] as parsed, a
/// spliced value after elaboration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QBody<W> {
    /// The classes directly under the qdisc, each with its subtree.
    pub classes: Vec<QClass<W>>,
    /// The filters, in order.
    pub filters: Vec<QFilter<W>>,
}

/// `class ID [key value]… [{ qdisc … | class … }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QClass<W> {
    pub kw: Span,
    pub id: W,
    pub args: Vec<(Ident, W)>,
    /// The `qdisc` lines of its body (one at most is right).
    pub leaves: Vec<QNode<W>>,
    pub children: Vec<Self>,
}

/// `filter WORD… flowid ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QFilter<W> {
    pub kw: Span,
    pub words: Vec<W>,
    pub flowid: W,
}

/// A qdisc inside a class: `qdisc KIND [key value… | flag]… [{ … }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QNode<W> {
    pub kw: Span,
    pub kind: W,
    pub args: Vec<(Ident, Vec<W>)>,
    pub body: Option<Box<QBody<W>>>,
}

impl<W> QBody<W> {
    /// The same body with every word mapped by `f`; `None` if `f` failed on any (all are
    /// tried, so each failure is reported).
    pub fn map<V>(&self, f: &mut impl FnMut(&W) -> Option<V>) -> Option<QBody<V>> {
        let mut ok = true;
        let mut classes = Vec::with_capacity(self.classes.len());
        for c in &self.classes {
            match c.map(f) {
                Some(c) => classes.push(c),
                None => ok = false,
            }
        }
        let mut filters = Vec::with_capacity(self.filters.len());
        for q in &self.filters {
            let words: Vec<V> = q.words.iter().filter_map(&mut *f).collect();
            let flowid = f(&q.flowid);
            match flowid {
                Some(flowid) if words.len() == q.words.len() => filters.push(QFilter {
                    kw: q.kw,
                    words,
                    flowid,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(QBody { classes, filters })
    }
}

impl<W> QClass<W> {
    fn map<V>(&self, f: &mut impl FnMut(&W) -> Option<V>) -> Option<QClass<V>> {
        let id = f(&self.id);
        let args: Vec<(Ident, V)> = self
            .args
            .iter()
            .filter_map(|(k, w)| f(w).map(|v| (k.clone(), v)))
            .collect();
        let leaves: Vec<QNode<V>> = self.leaves.iter().filter_map(|n| n.map(f)).collect();
        let children: Vec<QClass<V>> = self.children.iter().filter_map(|c| c.map(f)).collect();
        let whole = args.len() == self.args.len()
            && leaves.len() == self.leaves.len()
            && children.len() == self.children.len();
        match id {
            Some(id) if whole => Some(QClass {
                kw: self.kw,
                id,
                args,
                leaves,
                children,
            }),
            _ => None,
        }
    }
}

impl<W> QNode<W> {
    fn map<V>(&self, f: &mut impl FnMut(&W) -> Option<V>) -> Option<QNode<V>> {
        let kind = f(&self.kind);
        let mut ok = true;
        let mut args = Vec::with_capacity(self.args.len());
        for (k, ws) in &self.args {
            let vals: Vec<V> = ws.iter().filter_map(&mut *f).collect();
            if vals.len() == ws.len() {
                args.push((k.clone(), vals));
            } else {
                ok = false;
            }
        }
        let body = match &self.body {
            None => None,
            Some(b) => match b.map(f) {
                Some(b) => Some(Box::new(b)),
                None => {
                    ok = false;
                    None
                }
            },
        };
        match kind {
            Some(kind) if ok => Some(QNode {
                kw: self.kw,
                kind,
                args,
                body,
            }),
            _ => None,
        }
    }
}
