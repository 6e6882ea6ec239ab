//! IPv4: routing (`fib`), the output path (`output`: `ip_route_output_flow` … `ip_finish_output2`),
//! the input path (`input`: `ip_rcv` … `ip_local_deliver`), forwarding (`forward`),
//! fragmentation and reassembly (`frag`), and ICMP (`icmp`) and its rate limits (`icmp_limit`).
//! Netfilter, which hooks into these paths, is [`crate::netfilter`].

pub mod fib;
pub mod forward;
pub mod frag;
pub mod icmp;
pub mod icmp_limit;
pub mod input;
pub mod output;
pub mod route_show;
