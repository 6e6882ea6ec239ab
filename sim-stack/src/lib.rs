//! The modeled Linux network stack.
pub mod config;
pub mod units;
pub mod wire;
pub mod qdisc;
