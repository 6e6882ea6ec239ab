//! The packetdrill script engine: runs Linux's own packetdrill scripts against one
//! simulated host.
//!
//! A script goes through four stages, one module each:
//! 1. [`parse`]: packetdrill's language (google/packetdrill `lexer.l` and `parser.y`) with a
//!    pest grammar (`grammar.pest`), into an [`ast`], every error located
//!    (`file:line:col`, the text, what was expected);
//! 2. [`model`]: the syntax tree into what runs — the [`config`] of the run from the
//!    script's options and the command line, script packets as [`packet::Segment`]s, system
//!    calls as typed [`host::Syscall`]s with their expected results, backtick commands as
//!    [`command::HostAction`]s, `%{ }%` blocks as [`code::CodeBlock`]s; anything the runner
//!    cannot carry out is reported here as unsupported, before anything runs;
//! 3. [`runner`]: the events in time order against a [`host::DrillHost`], with packetdrill's
//!    semantics — relative times anchored as `adjust_relative_event_times` anchors them,
//!    `verify_time` with its tolerance and ranges, blocking calls returning later, script
//!    sequence numbers and timestamps mapped to and from live ones, outbound packets
//!    matched with `verify_outbound_live_packet`'s checks in its order and words;
//! 4. [`report`]: a verdict per script and a summary table; the exchange as a pcap.
//!
//! The host is a trait, [`host::DrillHost`]; [`sim_host::SimHost`] implements it over the
//! modeled stack, and the tests also drive a small fake kernel.

pub mod ast;
pub mod code;
pub mod command;
pub mod config;
pub mod host;
pub mod model;
pub mod packet;
pub mod parse;
pub mod report;
pub mod runner;
pub mod sim_host;
pub mod symbols;
