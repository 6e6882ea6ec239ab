//! The modeled Linux network stack.

/// Notes that a packet went through the modeled kernel function `$f`, when the world records
/// paths (`--trace path`, pcapng comments). A macro rather than a method so that it borrows
/// only the `record_paths` field.
macro_rules! note {
    ($world:expr, $skb:expr, $f:expr) => {
        if $world.record_paths {
            $skb.note($f)
        }
    };
}
pub mod apps;
pub mod capture;
pub mod config;
pub mod dev;
pub mod ip;
pub mod jiffies;
pub mod link;
pub mod neigh;
pub mod node;
pub mod qdisc;
pub mod report;
pub mod setup;
pub mod skb;
pub mod sock;
pub mod stats;
pub mod switch;
pub mod tcp;
pub mod trace;
pub mod units;
pub mod validate;
pub mod wire;
pub mod world;
