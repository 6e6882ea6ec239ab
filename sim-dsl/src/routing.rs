//! The L3 view of a topology: segments, automatic routes, and hop-by-hop reachability.
//!
//! A *segment* is a broadcast domain: the two interfaces of a point-to-point link, or every
//! interface reachable through a tree of switches (switches are transparent at L3). Segments
//! are the connected components of ports joined by links and by switches, found with
//! petgraph's union-find.
//!
//! **Automatic routes** ([`auto_routes`]) are shortest paths in router hops. petgraph's
//! `dijkstra` returns only a hash map of distances (no predecessors, unordered), so the next
//! hops come from our own breadth-first search over node indices with a fixed tie-break:
//! among equally short paths, the one whose first hop has the lowest neighbour index, then
//! the lowest interface index of the source. The search seeds its queue in that order and
//! keeps FIFO order, so every node and segment inherits the smallest first hop of its
//! shortest paths. Only forwarding nodes (routers, or hosts with `ip_forward`) are expanded.
//! A node with a single addressed interface whose segment holds exactly one forwarding
//! neighbour gets just a default route via it (the common host case; keeps 10⁵-host stars
//! cheap); every other node gets one route per non-connected destination subnet.
//!
//! **Reachability** ([`trace`]) walks the routing tables hop by hop with longest-prefix
//! match, as the kernel would, and says where and why a packet would be lost.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use petgraph::unionfind::UnionFind;
use sim_stack::config::{
    IfaceConfig, IfaceId, Ipv4Cidr, Ipv6Cidr, NodeConfig, NodeKind, Route6Config, RouteConfig,
};
pub(crate) use sim_stack::ip::fib::Fib;
use sim_stack::wire::ipv6::link_local_eui64;

/// A `(node, iface)` pair.
pub(crate) type Port = (u32, u32);

/// Segments and address owners of a topology.
#[derive(Debug, Default)]
pub(crate) struct Net {
    /// `[node][iface]` → segment.
    pub seg: Vec<Vec<u32>>,
    /// Segment → the (node, iface) of every host/router interface on it, in index order.
    pub members: Vec<Vec<(u32, u32)>>,
    /// Address → (node, iface) owning it.
    pub owner: BTreeMap<u32, (u32, u32)>,
    /// Segment → its members that forward (routers), for default-route selection.
    pub forwarders: Vec<Vec<(u32, u32)>>,
}

impl Net {
    /// Builds the segments of `nodes` joined by `links` (pairs of (node, iface)).
    pub fn build(nodes: &[NodeConfig], links: &[(Port, Port)]) -> Self {
        let mut base = Vec::with_capacity(nodes.len());
        let mut total = 0usize;
        for n in nodes {
            base.push(total);
            total += n.ifaces.len();
        }
        let port = |(n, i): (u32, u32)| base[n as usize] + i as usize;
        let mut uf = UnionFind::<usize>::new(total);
        for &(a, b) in links {
            uf.union(port(a), port(b));
        }
        for (ni, n) in nodes.iter().enumerate() {
            if n.kind == NodeKind::Switch {
                for i in 1..n.ifaces.len() {
                    uf.union(base[ni], base[ni] + i);
                }
            }
        }
        let mut id_of_root: BTreeMap<usize, u32> = BTreeMap::new();
        let mut net = Self::default();
        for (ni, n) in nodes.iter().enumerate() {
            let mut segs = Vec::with_capacity(n.ifaces.len());
            for (ii, iface) in n.ifaces.iter().enumerate() {
                let root = uf.find(base[ni] + ii);
                let next = id_of_root.len() as u32;
                let s = *id_of_root.entry(root).or_insert(next);
                if s as usize == net.members.len() {
                    net.members.push(Vec::new());
                }
                if s as usize == net.forwarders.len() {
                    net.forwarders.push(Vec::new());
                }
                if n.kind != NodeKind::Switch {
                    net.members[s as usize].push((ni as u32, ii as u32));
                    if forwards(n) {
                        net.forwarders[s as usize].push((ni as u32, ii as u32));
                    }
                    if let Some(a) = iface.addr {
                        net.owner
                            .entry(a.address().to_bits())
                            .or_insert((ni as u32, ii as u32));
                    }
                }
                segs.push(s);
            }
            net.seg.push(segs);
        }
        net
    }
}

fn forwards(n: &NodeConfig) -> bool {
    n.kind != NodeKind::Switch && n.sysctls.ip_forward
}

/// The address of `(node, iface)` if it is on `subnet`.
fn addr_in(nodes: &[NodeConfig], (n, i): (u32, u32), subnet: Ipv4Cidr) -> Option<Ipv4Addr> {
    nodes[n as usize].ifaces[i as usize]
        .addr
        .filter(|a| subnet.contains(a.address()))
        .map(|a| a.address())
}

/// Adds shortest-path routes to every host and router (see the module docs). Routes the
/// scenario wrote are kept, and a computed route whose destination is already in the table
/// is skipped.
pub(crate) fn auto_routes(nodes: &mut [NodeConfig], net: &Net) {
    // Subnets of each segment, in order.
    let seg_subnets: Vec<Vec<Ipv4Cidr>> = net
        .members
        .iter()
        .map(|m| {
            let mut s: Vec<Ipv4Cidr> = Vec::new();
            for &(n, i) in m {
                if let Some(a) = nodes[n as usize].ifaces[i as usize].addr {
                    let c = a.network();
                    if !s.contains(&c) {
                        s.push(c);
                    }
                }
            }
            s
        })
        .collect();
    let mut computed: Vec<(usize, Vec<RouteConfig>)> = Vec::new();
    for u in 0..nodes.len() {
        if nodes[u].kind == NodeKind::Switch {
            continue;
        }
        let routes = match default_only(nodes, net, u) {
            Some(r) => vec![r],
            None => bfs_routes(nodes, net, &seg_subnets, u),
        };
        computed.push((u, routes));
    }
    for (u, routes) in computed {
        let node = &mut nodes[u];
        for r in routes {
            if !node
                .routes
                .iter()
                .any(|x| x.dest == r.dest && x.prefix_len == r.prefix_len)
            {
                node.routes.push(r);
            }
        }
    }
}

/// The default route of a single-homed node whose segment has exactly one forwarding
/// neighbour; `None` when the node needs a full table.
fn default_only(nodes: &[NodeConfig], net: &Net, u: usize) -> Option<RouteConfig> {
    let node = &nodes[u];
    if forwards(node) {
        return None;
    }
    let mut addressed = node
        .ifaces
        .iter()
        .enumerate()
        .filter(|(_, i)| i.addr.is_some());
    let (ii, iface) = addressed.next()?;
    if addressed.next().is_some() {
        return None;
    }
    let subnet = iface.addr?;
    let seg = net.seg[u][ii] as usize;
    let mut gws = net.forwarders[seg]
        .iter()
        .filter(|&&(n, _)| n as usize != u)
        .filter_map(|&p| addr_in(nodes, p, subnet));
    let gw = gws.next()?;
    if gws.next().is_some() {
        return None;
    }
    Some(RouteConfig {
        dest: Ipv4Addr::UNSPECIFIED,
        prefix_len: 0,
        gateway: Some(gw),
        dev: Some(sim_stack::config::IfaceId(ii as u32)),
    })
}

fn bfs_routes(
    nodes: &[NodeConfig],
    net: &Net,
    seg_subnets: &[Vec<Ipv4Cidr>],
    u: usize,
) -> Vec<RouteConfig> {
    let mut visited = vec![false; nodes.len()];
    // First hop of each node / segment: (gateway, source iface).
    let mut hop: Vec<Option<(Ipv4Addr, u32)>> = vec![None; nodes.len()];
    let mut seg_hop: Vec<Option<(Ipv4Addr, u32)>> = vec![None; net.members.len()];
    let mut direct = vec![false; net.members.len()];
    visited[u] = true;
    // Level 1: neighbours on our segments, sorted by (neighbour, our iface).
    let mut first: Vec<(u32, u32, Ipv4Addr)> = Vec::new();
    for (ii, iface) in nodes[u].ifaces.iter().enumerate() {
        let seg = net.seg[u][ii] as usize;
        direct[seg] = true;
        let Some(subnet) = iface.addr else { continue };
        for &(v, vi) in &net.members[seg] {
            if v as usize == u {
                continue;
            }
            if let Some(gw) = addr_in(nodes, (v, vi), subnet) {
                first.push((v, ii as u32, gw));
            }
        }
    }
    first.sort_by_key(|&(v, ii, _)| (v, ii));
    let mut queue: VecDeque<u32> = VecDeque::new();
    for (v, ii, gw) in first {
        if !visited[v as usize] {
            visited[v as usize] = true;
            hop[v as usize] = Some((gw, ii));
            if forwards(&nodes[v as usize]) {
                queue.push_back(v);
            }
        }
    }
    while let Some(v) = queue.pop_front() {
        let h = hop[v as usize];
        for (vi, _) in nodes[v as usize].ifaces.iter().enumerate() {
            let seg = net.seg[v as usize][vi] as usize;
            if direct[seg] || seg_hop[seg].is_some() {
                continue;
            }
            seg_hop[seg] = h;
            for &(w, _) in &net.members[seg] {
                if !visited[w as usize] {
                    visited[w as usize] = true;
                    hop[w as usize] = h;
                    if forwards(&nodes[w as usize]) {
                        queue.push_back(w);
                    }
                }
            }
        }
    }
    let connected: BTreeSet<(u32, u8)> = nodes[u]
        .ifaces
        .iter()
        .filter_map(|i| i.addr)
        .map(|a| (a.network().address().to_bits(), a.prefix_len()))
        .collect();
    let mut routes: Vec<RouteConfig> = Vec::new();
    for (seg, h) in seg_hop.iter().enumerate() {
        let Some((gw, ii)) = *h else { continue };
        for s in &seg_subnets[seg] {
            if connected.contains(&(s.address().to_bits(), s.prefix_len())) {
                continue;
            }
            routes.push(RouteConfig {
                dest: s.address(),
                prefix_len: s.prefix_len(),
                gateway: Some(gw),
                dev: Some(sim_stack::config::IfaceId(ii)),
            });
        }
    }
    routes.sort_by_key(|r| (r.dest, r.prefix_len));
    routes.dedup_by_key(|r| (r.dest, r.prefix_len));
    routes
}

/// Why a packet would not arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lost {
    /// No route at `at`.
    NoRoute { at: u32 },
    /// Nobody on the link of `(at, iface)` has `addr`.
    NoNeighbour { at: u32, iface: u32, addr: IpAddr },
    /// `at` would have to forward but does not.
    NotForwarding { at: u32 },
    /// The path revisits a node.
    Loop { path: Vec<u32> },
    /// The sending interface has no address.
    NoSource { at: u32 },
}

impl Lost {
    /// A sentence for messages.
    pub fn describe(&self, nodes: &[NodeConfig], dst: IpAddr) -> String {
        let name = |n: &u32| nodes[*n as usize].name.as_str();
        match self {
            Self::NoRoute { at } => format!("`{}` has no route to {dst}", name(at)),
            Self::NoNeighbour { at, iface, addr } => format!(
                "no interface on the link of `{}.{}` has address {addr}",
                name(at),
                nodes[*at as usize].ifaces[*iface as usize].name
            ),
            Self::NotForwarding { at } => format!(
                "`{}` would have to forward it, but it does not route ({} is off)",
                name(at),
                if dst.is_ipv6() {
                    "net.ipv6.conf.*.forwarding"
                } else {
                    "ip_forward"
                }
            ),
            Self::Loop { path } => {
                let names: Vec<&str> = path.iter().map(name).collect();
                format!("routing loop: {}", names.join(" → "))
            }
            Self::NoSource { at } => format!(
                "`{}` would send it from an interface without an address",
                name(at)
            ),
        }
    }
}

/// Follows the routing tables from `from` towards `dst`. On success returns the source
/// address the first hop would use and the nodes visited.
pub(crate) fn trace(
    nodes: &[NodeConfig],
    fibs: &[Fib],
    net: &Net,
    from: u32,
    dst: Ipv4Addr,
) -> Result<(Ipv4Addr, Vec<u32>), Lost> {
    let d = dst.to_bits();
    let mut at = from;
    let mut path = vec![from];
    let mut src = None;
    loop {
        let node = &nodes[at as usize];
        if net.owner.get(&d).is_some_and(|&(n, _)| n == at) {
            let s = src.unwrap_or(dst);
            return Ok((s, path));
        }
        if at != from && !forwards(node) {
            return Err(Lost::NotForwarding { at });
        }
        let (out, next_addr) = match fibs[at as usize].lookup(dst) {
            None => return Err(Lost::NoRoute { at }),
            Some(r) => (r.dev, r.nexthop),
        };
        if src.is_none() {
            match node.ifaces[out as usize].addr {
                Some(a) => src = Some(a.address()),
                None => return Err(Lost::NoSource { at }),
            }
        }
        let seg = net.seg[at as usize][out as usize] as usize;
        let Some(&(next, _)) = net
            .owner
            .get(&next_addr.to_bits())
            .filter(|&&(n, i)| n != at && net.seg[n as usize][i as usize] as usize == seg)
        else {
            return Err(Lost::NoNeighbour {
                at,
                iface: out,
                addr: next_addr.into(),
            });
        };
        if path.contains(&next) || path.len() > 255 {
            path.push(next);
            return Err(Lost::Loop { path });
        }
        path.push(next);
        at = next;
    }
}

// ---------------------------------------------------------------- IPv6

/// Whether a node forwards IPv6: one of its interfaces with IPv6 on has `forwarding`.
pub(crate) fn forwards6(n: &NodeConfig) -> bool {
    n.kind != NodeKind::Switch && n.ifaces.iter().any(|i| on6(i) && i.ipv6.forwarding)
}

/// Whether an interface has IPv6.
fn on6(i: &IfaceConfig) -> bool {
    !i.ipv6.disable_ipv6
}

/// The link-local address of an interface with IPv6 on, if it makes one (`addr_gen_mode` 0).
fn link_local(i: &IfaceConfig) -> Option<Ipv6Addr> {
    (on6(i) && i.ipv6.addr_gen_mode == 0).then(|| link_local_eui64(i.mac))
}

/// Whether interface `i` answers to `addr` (a global address of it, or its link-local).
fn has6(i: &IfaceConfig, addr: Ipv6Addr) -> bool {
    on6(i) && (i.addrs6.iter().any(|a| a.address() == addr) || link_local(i) == Some(addr))
}

/// The next hop to reach neighbour `them` from our interface `ours` on a shared link: their
/// global address on one of our prefixes, else their link-local.
fn nexthop6(ours: &IfaceConfig, them: &IfaceConfig) -> Option<Ipv6Addr> {
    if !on6(ours) || !on6(them) {
        return None;
    }
    them.addrs6
        .iter()
        .map(|a| a.address())
        .find(|&a| ours.addrs6.iter().any(|o| o.contains(a)))
        .or_else(|| link_local(them))
}

/// One entry of a node's IPv6 table.
#[derive(Debug, Clone)]
pub(crate) struct Fib6Entry {
    pub prefix: Ipv6Cidr,
    pub gateway: Option<Ipv6Addr>,
    pub dev: u32,
}

/// The IPv6 view of a topology: global address owners and every node's table (connected
/// prefixes first, then `routes6`).
#[derive(Debug, Default)]
pub(crate) struct Net6 {
    /// Global address → (node, iface), first owner in declaration order.
    pub owner: BTreeMap<u128, (u32, u32)>,
    /// `[node]` → table.
    pub fib: Vec<Vec<Fib6Entry>>,
}

impl Net6 {
    /// Builds the tables from the interfaces and routes of `nodes`.
    pub fn build(nodes: &[NodeConfig], _net: &Net) -> Self {
        let mut net6 = Self::default();
        for (ni, n) in nodes.iter().enumerate() {
            let mut fib = Vec::new();
            if n.kind != NodeKind::Switch {
                for (ii, i) in n.ifaces.iter().enumerate().filter(|(_, i)| on6(i)) {
                    for a in &i.addrs6 {
                        net6.owner
                            .entry(a.address().to_bits())
                            .or_insert((ni as u32, ii as u32));
                        fib.push(Fib6Entry {
                            prefix: a.network(),
                            gateway: None,
                            dev: ii as u32,
                        });
                    }
                }
                for r in &n.routes6 {
                    let dev = r.dev.map(|d| d.0).or_else(|| {
                        let gw = r.gateway?;
                        n.ifaces
                            .iter()
                            .position(|i| on6(i) && i.addrs6.iter().any(|a| a.contains(gw)))
                            .map(|p| p as u32)
                    });
                    if let Some(dev) = dev {
                        fib.push(Fib6Entry {
                            prefix: Ipv6Cidr::new(r.dest, r.prefix_len),
                            gateway: r.gateway,
                            dev,
                        });
                    }
                }
            }
            net6.fib.push(fib);
        }
        net6
    }

    /// Longest-prefix match in `node`'s table; the first of equally long entries.
    fn lookup(&self, node: u32, dst: Ipv6Addr) -> Option<&Fib6Entry> {
        let mut best: Option<&Fib6Entry> = None;
        for e in &self.fib[node as usize] {
            if e.prefix.contains(dst)
                && best.is_none_or(|b| e.prefix.prefix_len() > b.prefix.prefix_len())
            {
                best = Some(e);
            }
        }
        best
    }
}

/// [`trace`] for IPv6: follows the tables from `from` towards `dst`.
pub(crate) fn trace6(
    nodes: &[NodeConfig],
    net: &Net,
    net6: &Net6,
    from: u32,
    dst: Ipv6Addr,
) -> Result<(Ipv6Addr, Vec<u32>), Lost> {
    let mut at = from;
    let mut path = vec![from];
    let mut src = None;
    loop {
        let node = &nodes[at as usize];
        if net6
            .owner
            .get(&dst.to_bits())
            .is_some_and(|&(n, _)| n == at)
        {
            return Ok((src.unwrap_or(dst), path));
        }
        if at != from && !forwards6(node) {
            return Err(Lost::NotForwarding { at });
        }
        let Some(e) = net6.lookup(at, dst) else {
            return Err(Lost::NoRoute { at });
        };
        let (out, next_addr) = (e.dev, e.gateway.unwrap_or(dst));
        if src.is_none() {
            // A global address of the outgoing interface, else of any (RFC 6724's rules
            // prefer the outgoing interface's).
            let own = node.ifaces[out as usize].addrs6.first().or_else(|| {
                node.ifaces
                    .iter()
                    .filter(|i| on6(i))
                    .find_map(|i| i.addrs6.first())
            });
            match own {
                Some(a) => src = Some(a.address()),
                None => return Err(Lost::NoSource { at }),
            }
        }
        let seg = net.seg[at as usize][out as usize] as usize;
        let Some(&(next, _)) = net.members[seg]
            .iter()
            .find(|&&(n, i)| n != at && has6(&nodes[n as usize].ifaces[i as usize], next_addr))
        else {
            return Err(Lost::NoNeighbour {
                at,
                iface: out,
                addr: next_addr.into(),
            });
        };
        if path.contains(&next) || path.len() > 255 {
            path.push(next);
            return Err(Lost::Loop { path });
        }
        path.push(next);
        at = next;
    }
}

/// [`auto_routes`] for IPv6: shortest paths over the links where both ends have IPv6, with
/// the same tie-breaks; the next hop is the neighbour's global address on a shared prefix,
/// else its link-local (always with `dev`).
pub(crate) fn auto_routes6(nodes: &mut [NodeConfig], net: &Net) {
    let seg_prefixes: Vec<Vec<Ipv6Cidr>> = net
        .members
        .iter()
        .map(|m| {
            let mut s: Vec<Ipv6Cidr> = Vec::new();
            for &(n, i) in m {
                let iface = &nodes[n as usize].ifaces[i as usize];
                if !on6(iface) {
                    continue;
                }
                for a in &iface.addrs6 {
                    let c = a.network();
                    if !s.contains(&c) {
                        s.push(c);
                    }
                }
            }
            s
        })
        .collect();
    // Computed once: a router's interfaces are many, and every neighbour asks.
    let fwd: Vec<bool> = nodes.iter().map(forwards6).collect();
    let mut computed: Vec<(usize, Vec<Route6Config>)> = Vec::new();
    for u in 0..nodes.len() {
        if nodes[u].kind == NodeKind::Switch || !nodes[u].ifaces.iter().any(on6) {
            continue;
        }
        let routes = match default_only6(nodes, net, &fwd, u) {
            Some(r) => vec![r],
            None => bfs_routes6(nodes, net, &fwd, &seg_prefixes, u),
        };
        computed.push((u, routes));
    }
    for (u, routes) in computed {
        let node = &mut nodes[u];
        for r in routes {
            if !node
                .routes6
                .iter()
                .any(|x| x.dest == r.dest && x.prefix_len == r.prefix_len)
            {
                node.routes6.push(r);
            }
        }
    }
}

/// The default route of a node with one IPv6 interface whose link has exactly one IPv6
/// router.
fn default_only6(nodes: &[NodeConfig], net: &Net, fwd: &[bool], u: usize) -> Option<Route6Config> {
    let node = &nodes[u];
    if fwd[u] {
        return None;
    }
    let mut enabled = node.ifaces.iter().enumerate().filter(|(_, i)| on6(i));
    let (ii, iface) = enabled.next()?;
    if enabled.next().is_some() {
        return None;
    }
    let seg = net.seg[u][ii] as usize;
    let mut gws = net.members[seg]
        .iter()
        .filter(|&&(n, _)| n as usize != u && fwd[n as usize])
        .filter_map(|&(n, i)| nexthop6(iface, &nodes[n as usize].ifaces[i as usize]));
    let gw = gws.next()?;
    if gws.next().is_some() {
        return None;
    }
    Some(Route6Config {
        dest: Ipv6Addr::UNSPECIFIED,
        prefix_len: 0,
        gateway: Some(gw),
        dev: Some(IfaceId(ii as u32)),
    })
}

fn bfs_routes6(
    nodes: &[NodeConfig],
    net: &Net,
    fwd: &[bool],
    seg_prefixes: &[Vec<Ipv6Cidr>],
    u: usize,
) -> Vec<Route6Config> {
    let mut visited = vec![false; nodes.len()];
    let mut hop: Vec<Option<(Ipv6Addr, u32)>> = vec![None; nodes.len()];
    let mut seg_hop: Vec<Option<(Ipv6Addr, u32)>> = vec![None; net.members.len()];
    let mut direct = vec![false; net.members.len()];
    visited[u] = true;
    let mut first: Vec<(u32, u32, Ipv6Addr)> = Vec::new();
    for (ii, iface) in nodes[u].ifaces.iter().enumerate() {
        if !on6(iface) {
            continue;
        }
        let seg = net.seg[u][ii] as usize;
        direct[seg] = true;
        for &(v, vi) in &net.members[seg] {
            if v as usize == u {
                continue;
            }
            if let Some(gw) = nexthop6(iface, &nodes[v as usize].ifaces[vi as usize]) {
                first.push((v, ii as u32, gw));
            }
        }
    }
    first.sort_by_key(|&(v, ii, _)| (v, ii));
    let mut queue: VecDeque<u32> = VecDeque::new();
    for (v, ii, gw) in first {
        if !visited[v as usize] {
            visited[v as usize] = true;
            hop[v as usize] = Some((gw, ii));
            if fwd[v as usize] {
                queue.push_back(v);
            }
        }
    }
    while let Some(v) = queue.pop_front() {
        let h = hop[v as usize];
        for (vi, viface) in nodes[v as usize].ifaces.iter().enumerate() {
            if !on6(viface) {
                continue;
            }
            let seg = net.seg[v as usize][vi] as usize;
            if direct[seg] || seg_hop[seg].is_some() {
                continue;
            }
            seg_hop[seg] = h;
            for &(w, wi) in &net.members[seg] {
                if !visited[w as usize] && on6(&nodes[w as usize].ifaces[wi as usize]) {
                    visited[w as usize] = true;
                    hop[w as usize] = h;
                    if fwd[w as usize] {
                        queue.push_back(w);
                    }
                }
            }
        }
    }
    let connected: BTreeSet<(u128, u8)> = nodes[u]
        .ifaces
        .iter()
        .filter(|i| on6(i))
        .flat_map(|i| &i.addrs6)
        .map(|a| (a.network().address().to_bits(), a.prefix_len()))
        .collect();
    let mut routes: Vec<Route6Config> = Vec::new();
    for (seg, h) in seg_hop.iter().enumerate() {
        let Some((gw, ii)) = *h else { continue };
        for s in &seg_prefixes[seg] {
            if connected.contains(&(s.address().to_bits(), s.prefix_len())) {
                continue;
            }
            routes.push(Route6Config {
                dest: s.address(),
                prefix_len: s.prefix_len(),
                gateway: Some(gw),
                dev: Some(IfaceId(ii)),
            });
        }
    }
    routes.sort_by_key(|r| (r.dest, r.prefix_len));
    routes.dedup_by_key(|r| (r.dest, r.prefix_len));
    routes
}
