//! The modeled Linux network stack.

/// Notes that a packet went through the modeled kernel function `$f`, when the run records
/// paths (`--trace path`, pcapng comments): `note!(cx, skb, "ip_rcv")`. A macro rather than a
/// method so that it borrows only the context's `record_paths` field.
macro_rules! note {
    ($cx:expr, $skb:expr, $f:expr) => {
        if $cx.shared.record_paths {
            $skb.note($f)
        }
    };
}
pub mod apps;
pub mod capture;
pub mod config;
pub mod ctx;
pub mod dev;
pub mod dev_show;
pub mod event;
pub mod gso;
pub mod ip;
pub mod ipv6;
pub mod jiffies;
pub mod link;
pub mod neigh;
pub mod netfilter;
pub mod node;
pub mod nstat;
pub mod on_demand;
pub mod qdisc;
pub mod sample;
pub mod skb;
pub mod sock;
pub mod stats;
pub mod switch;
pub mod tcp;
#[cfg(test)]
mod testing;
pub mod trace;
pub mod units;
pub mod validate;
pub mod virtio_net;
pub mod wire;
pub mod world;
