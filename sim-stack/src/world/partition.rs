//! Partitioning: which partition of a parallel run owns each node and switch.
//!
//! The topology is a graph (nodes and switches joined by links) split into `k` parts of
//! balanced weight with few links between them, by recursive bisection: each half is grown
//! greedily from a peripheral vertex of the part being split (the vertex with the most links
//! into the grown half first), then improved by moving boundary vertices whose move cuts
//! fewer links while the halves stay balanced (Kernighan–Lin / Fiduccia–Mattheyses style).
//! A vertex weighs 1 plus its number of interfaces or ports (a router or switch handles
//! the traffic of all its links). Everything is decided in vertex order, so the same
//! topology always gives the same partitions.
//!
//! Some links are never cut: those with no propagation delay (a partition would have to
//! wait after every frame: the window would be one serialization time), and those that
//! lose frames at random (their loss stream is drawn for both directions in turn, so both
//! ends must be handled by one partition). Their ends are contracted into one vertex first.
//!
//! A scenario may choose instead: a node's `partition K` puts it in partition `K mod N` of a
//! run on `N` threads; the nodes and switches without one go with the nearest node that has
//! one (breadth first over the links, the first reached in link order). A link that must not
//! be cut joins its ends even so (they go where the first hinted vertex of the group goes).
//!
//! The result does not change what a run computes — only how fast it goes: any partitioning
//! gives byte-identical outputs (see [`super::parallel`]).

use petgraph::graph::{NodeIndex, UnGraph};
use sim_core::SimDuration;

use super::World;
use crate::link::{Link, Port, serialization_time};

/// Which partition owns what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partitioning {
    /// How many partitions.
    pub parts: usize,
    /// Partition of each node.
    pub node_part: Vec<u32>,
    /// Partition of each switch.
    pub switch_part: Vec<u32>,
    /// Per link: whether its ends are in different partitions.
    pub cut: Vec<bool>,
    /// The smallest time between a frame starting on a cut link and its arrival at the far
    /// end (propagation delay plus the serialization of a minimum frame): how far the
    /// partitions may run ahead of each other. `None` when no link is cut.
    pub lookahead: Option<SimDuration>,
    /// Weight (1 + interfaces) of each partition.
    pub weights: Vec<u64>,
}

impl Partitioning {
    /// Splits `world`'s topology into `parts` partitions (fewer when it has fewer vertices
    /// that may be separated). `parts` of 0 is taken as 1.
    pub fn new(world: &World, parts: usize) -> Self {
        let n_nodes = world.nodes.len();
        let weights: Vec<u64> = world
            .nodes
            .iter()
            .map(|n| 1 + n.devs.len() as u64)
            .chain(world.switches.iter().map(|s| 1 + s.ports.len() as u64))
            .collect();
        let ends: Vec<[usize; 2]> = world
            .shared
            .links
            .iter()
            .map(|l| l.ends.map(|p| vertex(n_nodes, p)))
            .collect();
        let part = if world.partition_hints.is_empty() {
            split(&weights, &ends, &world.shared.links, parts.max(1))
        } else {
            hinted(
                &world.partition_hints,
                &ends,
                &world.shared.links,
                parts.max(1),
            )
        };
        Self::from_parts(world, part)
    }

    /// The partitioning that gives vertex `v` (node `i` is `i`, switch `s` is `nodes + s`)
    /// the partition `part[v]` (numbered from 0, none left empty).
    pub fn from_parts(world: &World, mut part: Vec<u32>) -> Self {
        let n_nodes = world.nodes.len();
        // Number the partitions in use 0, 1, … in order.
        let mut used: Vec<u32> = part.clone();
        used.sort_unstable();
        used.dedup();
        for p in &mut part {
            *p = used.binary_search(p).expect("in use") as u32;
        }
        let parts = used.len().max(1);
        let mut weights = vec![0; parts];
        for (v, &p) in part.iter().enumerate() {
            weights[p as usize] += 1 + if v < n_nodes {
                world.nodes[v].devs.len() as u64
            } else {
                world.switches[v - n_nodes].ports.len() as u64
            };
        }
        let cut: Vec<bool> = world
            .shared
            .links
            .iter()
            .map(|l| {
                let [a, b] = l.ends.map(|p| part[vertex(n_nodes, p)]);
                a != b
            })
            .collect();
        let lookahead = world
            .shared
            .links
            .iter()
            .zip(&cut)
            .filter(|(_, c)| **c)
            .map(|(l, _)| l.delay + serialization_time(0, l.rate_bps))
            .min();
        let (node_part, switch_part) = part.split_at(n_nodes);
        Self {
            parts,
            node_part: node_part.to_vec(),
            switch_part: switch_part.to_vec(),
            cut,
            lookahead,
            weights,
        }
    }

    /// How many links are cut.
    pub fn cut_links(&self) -> usize {
        self.cut.iter().filter(|&&c| c).count()
    }

    /// The partition that handles `event` in `world`: the owner of the node, switch or app
    /// it is for (a frame's: the far end of its link).
    pub fn owner(&self, world: &World, event: &crate::event::Event) -> usize {
        use crate::event::Event;
        match *event {
            Event::Arrive { link, dir, .. } => {
                self.of_port(world.shared.links[link as usize].ends[1 - dir as usize])
            }
            Event::TxDone { port } => self.of_port(port),
            Event::QdiscWatchdog { node, .. }
            | Event::NeighTimer { node, .. }
            | Event::NdiscTimer { node, .. }
            | Event::Ipv6Timer { node, .. }
            | Event::Frag6Timer { node, .. }
            | Event::FragTimer { node, .. }
            | Event::SockWake { node, .. }
            | Event::TcpTimer { node, .. } => self.node_part[node as usize] as usize,
            Event::AppStart { app } | Event::AppTimer { app, .. } | Event::AppStop { app } => {
                self.node_part[world.apps[app as usize].node] as usize
            }
        }
    }

    /// The partition of the entity at the far end of `port`.
    #[inline]
    pub fn of_port(&self, port: Port) -> usize {
        match port {
            Port::Nic { node, .. } => self.node_part[node as usize] as usize,
            Port::Switch { sw, .. } => self.switch_part[sw as usize] as usize,
        }
    }
}

/// The graph vertex of the entity `port` belongs to.
fn vertex(n_nodes: usize, port: Port) -> usize {
    match port {
        Port::Nic { node, .. } => node as usize,
        Port::Switch { sw, .. } => n_nodes + sw as usize,
    }
}

/// A link that must not be cut (see the module doc).
fn uncuttable(l: &Link) -> bool {
    l.delay == SimDuration::ZERO || l.loss_ppm > 0
}

/// The partition of every vertex, from the hints (see the module doc).
fn hinted(hints: &[Option<u32>], ends: &[[usize; 2]], links: &[Link], parts: usize) -> Vec<u32> {
    let n = hints.len();
    let mut adj: Vec<Vec<(usize, bool)>> = vec![Vec::new(); n];
    for (e, l) in ends.iter().zip(links) {
        adj[e[0]].push((e[1], uncuttable(l)));
        adj[e[1]].push((e[0], uncuttable(l)));
    }
    let mut part: Vec<Option<u32>> = hints.iter().map(|h| h.map(|k| k % parts as u32)).collect();
    // Groups joined by links that must not be cut take their first hinted member's.
    let mut seen = vec![false; n];
    for v in 0..n {
        if seen[v] {
            continue;
        }
        let mut group = vec![v];
        seen[v] = true;
        let mut i = 0;
        while i < group.len() {
            for &(u, glued) in &adj[group[i]] {
                if glued && !seen[u] {
                    seen[u] = true;
                    group.push(u);
                }
            }
            i += 1;
        }
        group.sort_unstable();
        if let Some(p) = group.iter().find_map(|&u| part[u]) {
            for &u in &group {
                part[u] = Some(p);
            }
        }
    }
    // The rest: breadth first from the hinted vertices, in vertex order.
    let mut queue: std::collections::VecDeque<usize> =
        (0..n).filter(|&v| part[v].is_some()).collect();
    while let Some(v) = queue.pop_front() {
        for &(u, _) in &adj[v] {
            if part[u].is_none() {
                part[u] = part[v];
                queue.push_back(u);
            }
        }
    }
    // Vertices joined to no hinted one: partition 0.
    part.into_iter().map(|p| p.unwrap_or(0)).collect()
}

/// The partition of every vertex.
fn split(weights: &[u64], ends: &[[usize; 2]], links: &[Link], parts: usize) -> Vec<u32> {
    let n = weights.len();
    // Contract the links that must not be cut (union-find; the smallest vertex leads).
    let mut leader: Vec<usize> = (0..n).collect();
    fn find(leader: &mut [usize], mut v: usize) -> usize {
        while leader[v] != v {
            leader[v] = leader[leader[v]];
            v = leader[v];
        }
        v
    }
    for (e, l) in ends.iter().zip(links) {
        if uncuttable(l) {
            let (a, b) = (find(&mut leader, e[0]), find(&mut leader, e[1]));
            if a != b {
                let (lo, hi) = (a.min(b), a.max(b));
                leader[hi] = lo;
            }
        }
    }
    let mut group = vec![usize::MAX; n];
    let mut graph: UnGraph<u64, u32> = UnGraph::with_capacity(n, ends.len());
    for v in 0..n {
        let l = find(&mut leader, v);
        if group[l] == usize::MAX {
            group[l] = graph.add_node(0).index();
        }
        group[v] = group[l];
        graph[NodeIndex::new(group[v])] += weights[v];
    }
    for e in ends {
        let (a, b) = (group[e[0]], group[e[1]]);
        if a != b {
            graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), 1);
        }
    }
    let g = graph.node_count();
    let parts = parts.min(g.max(1));
    let mut part = vec![0u32; g];
    let all: Vec<usize> = (0..g).collect();
    bisect(&graph, &all, parts, 0, &mut part);
    (0..n).map(|v| part[group[v]]).collect()
}

/// Splits `set` into `k` parts numbered from `first`.
fn bisect(g: &UnGraph<u64, u32>, set: &[usize], k: usize, first: u32, part: &mut [u32]) {
    if k <= 1 || set.len() <= 1 {
        for &v in set {
            part[v] = first;
        }
        return;
    }
    let k1 = k / 2;
    let w = |v: usize| g[NodeIndex::new(v)];
    let total: u64 = set.iter().map(|&v| w(v)).sum();
    let target = total * k1 as u64 / k as u64;
    // side: 0 = not in set, 1 = in set (second half), 2 = first half.
    let mut side = vec![0u8; g.node_count()];
    for &v in set {
        side[v] = 1;
    }
    let neighbors = |v: usize| g.neighbors(NodeIndex::new(v)).map(|x| x.index());
    // A peripheral seed: the last vertex reached by a breadth-first search from the first.
    let seed = {
        let mut seen = vec![false; g.node_count()];
        let mut queue = std::collections::VecDeque::from([set[0]]);
        seen[set[0]] = true;
        let mut last = set[0];
        while let Some(v) = queue.pop_front() {
            last = v;
            for u in neighbors(v) {
                if side[u] == 1 && !seen[u] {
                    seen[u] = true;
                    queue.push_back(u);
                }
            }
        }
        last
    };
    // Grow the first half: repeatedly take the frontier vertex with the most links into it
    // (minus links to the rest), the smallest number among equals.
    let mut gain: std::collections::BTreeMap<usize, i64> = std::collections::BTreeMap::new();
    let mut grown = 0u64;
    let mut next = Some(seed);
    let mut rest_from = 0; // where to look for a new seed in a disconnected set
    while grown < target {
        let v = match next.take() {
            Some(v) => v,
            None => match gain
                .iter()
                .max_by_key(|(v, g)| (**g, std::cmp::Reverse(**v)))
            {
                Some((&v, _)) => v,
                None => {
                    while rest_from < set.len() && side[set[rest_from]] != 1 {
                        rest_from += 1;
                    }
                    match set.get(rest_from) {
                        Some(&v) => v,
                        None => break,
                    }
                }
            },
        };
        if w(v) > 0 && grown + w(v) > target && grown > 0 && grown + w(v) - target > target - grown
        {
            break; // taking it would unbalance more than leaving it
        }
        gain.remove(&v);
        side[v] = 2;
        grown += w(v);
        for u in neighbors(v) {
            if side[u] == 1 {
                *gain
                    .entry(u)
                    .or_insert_with(|| -(neighbors(u).filter(|&x| side[x] != 0).count() as i64)) +=
                    2;
            }
        }
    }
    // Improve: move boundary vertices that cut fewer links, while balance holds.
    let max_w = set.iter().map(|&v| w(v)).max().unwrap_or(0);
    let slack = (total / 50).max(max_w);
    for _ in 0..8 {
        let mut moved = false;
        for &v in set {
            let (mut same, mut other) = (0i64, 0i64);
            for u in neighbors(v) {
                if side[u] == side[v] {
                    same += 1;
                } else if side[u] != 0 {
                    other += 1;
                }
            }
            if other <= same {
                continue;
            }
            let new_grown = if side[v] == 2 {
                grown - w(v)
            } else {
                grown + w(v)
            };
            if new_grown.abs_diff(target) > slack || new_grown == 0 || new_grown == total {
                continue;
            }
            side[v] = if side[v] == 2 { 1 } else { 2 };
            grown = new_grown;
            moved = true;
        }
        if !moved {
            break;
        }
    }
    let (a, b): (Vec<usize>, Vec<usize>) = set.iter().partition(|&&v| side[v] == 2);
    if a.is_empty() || b.is_empty() {
        // Nothing to split by links (one heavy vertex): halve by order.
        let mid = set.len() / 2;
        bisect(g, &set[..mid], k1, first, part);
        bisect(g, &set[mid..], k - k1, first + k1 as u32, part);
        return;
    }
    bisect(g, &a, k1, first, part);
    bisect(g, &b, k - k1, first + k1 as u32, part);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{RngStreams, SimDuration};

    fn link(delay_ns: u64, loss_ppm: u32) -> Link {
        Link {
            ends: [Port::Nic { node: 0, dev: 0 }; 2],
            rate_bps: 1_000_000_000,
            delay: SimDuration::from_nanos(delay_ns),
            loss_ppm,
            mtu: None,
            rng: Some(Box::new(RngStreams::new(1).stream_named("link", "l"))),
            stats: Default::default(),
            line: Default::default(),
            cut: false,
        }
    }

    /// Two stars of 8 leaves joined by one link between their centres.
    fn two_stars(join_delay: u64) -> (Vec<u64>, Vec<[usize; 2]>, Vec<Link>) {
        let mut ends = Vec::new();
        let mut links = Vec::new();
        let mut weights = vec![9, 9];
        for c in 0..2 {
            for i in 0..8 {
                let v = weights.len();
                weights.push(2);
                ends.push([c, v]);
                links.push(link(1000 + i, 0));
            }
        }
        ends.push([0, 1]);
        links.push(link(join_delay, 0));
        (weights, ends, links)
    }

    #[test]
    fn two_stars_split_at_the_link_between_them() {
        let (w, e, l) = two_stars(5000);
        let part = split(&w, &e, &l, 2);
        assert_ne!(part[0], part[1]);
        for (i, &p) in part.iter().enumerate().skip(2) {
            let centre = if i < 10 { 0 } else { 1 };
            assert_eq!(p, part[centre], "leaf {i} with its centre");
        }
    }

    #[test]
    fn zero_delay_and_lossy_links_are_never_cut() {
        let (w, e, l) = two_stars(0);
        let part = split(&w, &e, &l, 2);
        assert_eq!(part[0], part[1], "the zero-delay link joins the centres");
        let (w, e, mut l) = two_stars(5000);
        l.last_mut().unwrap().loss_ppm = 10;
        let part = split(&w, &e, &l, 4);
        assert_eq!(part[0], part[1], "the lossy link joins the centres");
        assert!(part.iter().any(|&p| p != part[0]), "the leaves are spread");
    }

    #[test]
    fn hints_place_their_nodes_and_neighbours_follow() {
        let (_, e, mut l) = two_stars(5000);
        // Centre 0 hinted 3, centre 1 hinted 4: with 2 threads, 3 % 2 = 1 and 4 % 2 = 0.
        let mut hints = vec![None; 18];
        hints[0] = Some(3);
        hints[1] = Some(4);
        let part = hinted(&hints, &e, &l, 2);
        assert_eq!(part[0], 1);
        assert_eq!(part[1], 0);
        assert!(part[2..10].iter().all(|&p| p == 1), "{part:?}");
        assert!(part[10..].iter().all(|&p| p == 0), "{part:?}");
        // A zero-delay leaf of centre 1 hinted like centre 0 stays with centre 1 all the
        // same when it is the group's first hinted member… here centre 1 (vertex 1) is.
        l[8].delay = SimDuration::ZERO; // centre 1 -- vertex 10
        hints[10] = Some(3);
        let part = hinted(&hints, &e, &l, 2);
        assert_eq!(part[10], part[1]);
    }

    #[test]
    fn more_parts_than_vertices_gives_one_each() {
        let w = vec![1, 1, 1];
        let e = vec![[0, 1], [1, 2]];
        let l = vec![link(10, 0), link(10, 0)];
        let mut part = split(&w, &e, &l, 8);
        part.sort();
        assert_eq!(part, vec![0, 1, 2]);
    }

    #[test]
    fn parts_are_balanced_on_a_ring() {
        let n = 64;
        let w = vec![3; n];
        let e: Vec<[usize; 2]> = (0..n).map(|i| [i, (i + 1) % n]).collect();
        let l: Vec<Link> = (0..n).map(|_| link(100, 0)).collect();
        let part = split(&w, &e, &l, 4);
        let mut count = [0; 4];
        for &p in &part {
            count[p as usize] += 1;
        }
        assert_eq!(count, [16; 4]);
        let cut = e.iter().filter(|[a, b]| part[*a] != part[*b]).count();
        assert_eq!(cut, 4, "a ring in 4 arcs");
    }
}
