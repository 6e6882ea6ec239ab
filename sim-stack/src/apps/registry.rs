//! Users' own apps: a Rust crate that depends on `sim-stack` (and `sim-cli`) describes each
//! of its apps with an [`AppSpec`] — its name in the language, the properties it takes
//! with their types, and how to make it from them — and runs `sim` with them registered
//! (`sim_cli::main_with(vec![spec, …])`). A scenario then names the app like a built-in
//! one, `app client: rpc_client { server 10.0.0.2:7000  think 5ms }`; `sim check` checks
//! its properties against the spec with located errors, and `sim run` builds it with
//! [`AppSpec::make`] and drives it through the [`App`] trait, as the built-in apps are.
//!
//! The registry is the process's: specs registered before a scenario is loaded are known
//! to every later load (registering a name again replaces its spec).
//!
//! Built-in apps may be described the same way ([`BUILTIN`]: `dc_flows`); they are found
//! without registering, after the registered ones, so a user's app of the same name wins.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::App;

/// The type of an app property, as the language writes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropKind {
    /// An integer: `12`.
    Int,
    /// A word or a quoted string: `fast`, `"GET /"`.
    Text,
    /// A time: `5ms`, `1.5s`.
    Time,
    /// A size: `1500B`, `64KiB`.
    Size,
    /// A rate: `100Mbit`.
    Rate,
    /// An IPv4 address: `10.0.0.2`.
    Addr,
    /// An address and port: `10.0.0.2:7000`.
    Endpoint,
    /// `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0`.
    Bool,
}

impl PropKind {
    /// What the language calls it in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Int => "an integer",
            Self::Text => "a word or a quoted string",
            Self::Time => "a time such as `5ms`",
            Self::Size => "a size such as `1500B`",
            Self::Rate => "a rate such as `100Mbit`",
            Self::Addr => "an IPv4 address",
            Self::Endpoint => "an address and port such as `10.0.0.2:80`",
            Self::Bool => "`on` or `off`",
        }
    }
}

/// A property's value, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropValue {
    /// [`PropKind::Int`].
    Int(i64),
    /// [`PropKind::Text`].
    Text(String),
    /// [`PropKind::Time`].
    Time(SimDuration),
    /// [`PropKind::Size`], in bytes.
    Size(u64),
    /// [`PropKind::Rate`], in bits per second.
    Rate(u64),
    /// [`PropKind::Addr`].
    Addr(Ipv4Addr),
    /// [`PropKind::Endpoint`].
    Endpoint(SocketAddrV4),
    /// [`PropKind::Bool`].
    Bool(bool),
}

impl std::fmt::Display for PropValue {
    /// As the language writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(v) => write!(f, "{v}"),
            Self::Text(v) => write!(f, "{v:?}"),
            Self::Time(v) => write!(f, "{v}"),
            Self::Size(v) => write!(f, "{}", crate::units::Bytes(*v)),
            Self::Rate(v) => write!(f, "{}", crate::units::Rate(*v)),
            Self::Addr(v) => write!(f, "{v}"),
            Self::Endpoint(v) => write!(f, "{v}"),
            Self::Bool(v) => f.write_str(if *v { "on" } else { "off" }),
        }
    }
}

/// One property an app takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropSpec {
    /// Its name in the language.
    pub name: &'static str,
    /// Its type.
    pub kind: PropKind,
    /// Whether a scenario must give it.
    pub required: bool,
    /// An example value, shown when it is missing or wrong.
    pub example: &'static str,
}

/// The properties a scenario gave an app, typed and checked against its [`AppSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppProps(pub Vec<(String, PropValue)>);

impl AppProps {
    fn get(&self, name: &str) -> Option<&PropValue> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// An integer property.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            PropValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// A text property.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            PropValue::Text(v) => Some(v),
            _ => None,
        }
    }

    /// A time property.
    pub fn time(&self, name: &str) -> Option<SimDuration> {
        match self.get(name)? {
            PropValue::Time(v) => Some(*v),
            _ => None,
        }
    }

    /// A size property, in bytes.
    pub fn size(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            PropValue::Size(v) => Some(*v),
            _ => None,
        }
    }

    /// A rate property, in bits per second.
    pub fn rate(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            PropValue::Rate(v) => Some(*v),
            _ => None,
        }
    }

    /// An address property.
    pub fn addr(&self, name: &str) -> Option<Ipv4Addr> {
        match self.get(name)? {
            PropValue::Addr(v) => Some(*v),
            _ => None,
        }
    }

    /// An address-and-port property.
    pub fn endpoint(&self, name: &str) -> Option<SocketAddrV4> {
        match self.get(name)? {
            PropValue::Endpoint(v) => Some(*v),
            _ => None,
        }
    }

    /// A boolean property.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            PropValue::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

/// A user app: its name in the language, its properties, and how to make one.
#[derive(Debug, Clone, Copy)]
pub struct AppSpec {
    /// The name scenarios use (`app h: NAME { … }`).
    pub name: &'static str,
    /// What it does, in a few words (for `sim check` and messages).
    pub about: &'static str,
    /// The properties it takes.
    pub props: &'static [PropSpec],
    /// Makes the app from checked properties; an error is reported against the app's
    /// statement (`sim check` calls it too, so a scenario that checks, builds).
    pub make: fn(&AppProps) -> Result<Box<dyn App>, String>,
}

static REGISTRY: RwLock<Vec<AppSpec>> = RwLock::new(Vec::new());

/// The built-in apps described by a spec rather than by a kind of their own.
pub const BUILTIN: &[AppSpec] = &[super::dc_flows::SPEC];

/// Makes `spec` known to every scenario loaded afterwards.
pub fn register(spec: AppSpec) {
    let mut r = REGISTRY
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    r.retain(|s| s.name != spec.name);
    r.push(spec);
}

/// The user app named `name`, if one was registered.
pub fn find(name: &str) -> Option<AppSpec> {
    let r = REGISTRY
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    r.iter().chain(BUILTIN).find(|s| s.name == name).copied()
}

/// The names of every registered user app, in registration order, then those of the
/// [`BUILTIN`] ones no registered app shadows.
pub fn names() -> Vec<&'static str> {
    let r = REGISTRY
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut names: Vec<&'static str> = r.iter().map(|s| s.name).collect();
    for b in BUILTIN {
        if !names.contains(&b.name) {
            names.push(b.name);
        }
    }
    names
}
