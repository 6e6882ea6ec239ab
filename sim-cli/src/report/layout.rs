//! Where the topology drawing puts each node: a deterministic layered layout.
//!
//! The nodes with more than one neighbour (routers and switches, mostly) are the *core*;
//! a node whose only neighbour is a core node is a *leaf* of it (a host, mostly). Each
//! connected piece of the core is laid out in columns by breadth-first distance from one end
//! of a longest shortest path, so a chain (`a – r – b`), a dumbbell (`S* – A – B – R*`) or
//! the flagship (`client – r1 – sw0 – {dns, web}`) reads left to right; the columns are
//! ordered by the mean row of each node's neighbours in the column before, which keeps
//! links from crossing. Leaves sit in a column left of the first core column or right of
//! the last (half on each side when the core is one node: a star), and below their core
//! node in the columns between.
//!
//! Large fan-outs are collapsed: a core node with more than [`LEAF_MAX`] leaves shows its
//! first [`LEAF_SHOW`] and one group for the rest ("998 more hosts"); a column of more than
//! [`CORE_MAX`] core nodes shows the first `CORE_MAX - 1` and one group for the rest and
//! their leaves. Nothing depends on anything but the node order and the links, so the
//! same network always gets the same picture.

use std::collections::{BTreeSet, VecDeque};

/// Leaves a core node shows individually before its leaves are collapsed.
pub const LEAF_MAX: usize = 8;
/// Leaves shown beside the group when they are collapsed.
pub const LEAF_SHOW: usize = 2;
/// Core nodes a column shows before it is collapsed.
pub const CORE_MAX: usize = 8;

/// Horizontal distance between columns, px.
pub const DX: u32 = 250;
/// Vertical distance between rows, px.
pub const DY: u32 = 66;
/// A node's box, px.
pub const NODE_W: u32 = 128;
/// A node's box, px.
pub const NODE_H: u32 = 42;
/// Space around the drawing, px.
pub const MARGIN: u32 = 24;
/// Space between two pieces of a disconnected network, px.
const GAP: u32 = 24;

/// One box of the drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A node, by index.
    Node(usize),
    /// Several nodes collapsed into one box, by index.
    Group {
        /// The nodes.
        nodes: Vec<usize>,
        /// Whether others like them are drawn beside it ("998 more hosts"), or it stands for
        /// all of a node's leaves ("100 hosts").
        more: bool,
    },
}

/// A box and its centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it stands for.
    pub what: What,
    /// Centre, px.
    pub x: u32,
    /// Centre, px.
    pub y: u32,
}

/// The boxes of a drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The boxes.
    pub items: Vec<Item>,
    /// For each node, the box that shows it.
    pub item_of: Vec<usize>,
    /// Size of the drawing, px.
    pub width: u32,
    /// Size of the drawing, px.
    pub height: u32,
}

/// Breadth-first distances from `from` over the nodes `keep` allows.
fn bfs(adj: &[BTreeSet<usize>], from: usize, keep: &dyn Fn(usize) -> bool) -> Vec<Option<u32>> {
    let mut dist = vec![None; adj.len()];
    dist[from] = Some(0);
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        let d = dist[v].unwrap_or(0);
        for &w in &adj[v] {
            if dist[w].is_none() && keep(w) {
                dist[w] = Some(d + 1);
                queue.push_back(w);
            }
        }
    }
    dist
}

/// Which side of its core node a leaf goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Below,
    /// Half left, half right (the core is one node).
    Split,
}

/// Lays out `n` nodes joined by `links` (pairs of node indexes; repeated pairs and loops are
/// fine).
pub fn layout(n: usize, links: &[(usize, usize)]) -> Layout {
    let mut adj = vec![BTreeSet::new(); n];
    for &(a, b) in links {
        if a != b && a < n && b < n {
            adj[a].insert(b);
            adj[b].insert(a);
        }
    }
    let parent: Vec<Option<usize>> = (0..n)
        .map(|i| match adj[i].iter().next() {
            Some(&p) if adj[i].len() == 1 && adj[p].len() > 1 => Some(p),
            _ => None,
        })
        .collect();
    let core = |i: usize| parent[i].is_none();
    let mut leaves = vec![Vec::new(); n];
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            leaves[p].push(i);
        }
    }

    // The core's connected pieces, each as its slots of boxes: slot 0 left of the first
    // column, slots 1..=cols the columns, slot cols + 1 right of the last.
    let mut placed = vec![false; n];
    let mut pieces: Vec<Vec<Vec<What>>> = Vec::new();
    for start in 0..n {
        if !core(start) || placed[start] {
            continue;
        }
        let from_start = bfs(&adj, start, &core);
        let members: Vec<usize> = (0..n).filter(|&i| from_start[i].is_some()).collect();
        for &m in &members {
            placed[m] = true;
        }
        // One end of a longest shortest path: the farthest from the first member, the
        // first such in node order.
        let far = |d: &[Option<u32>]| {
            let mut best = members[0];
            for &m in &members {
                if d[m] > d[best] {
                    best = m;
                }
            }
            best
        };
        let u = far(&from_start);
        let from_u = bfs(&adj, u, &core);
        let maxd = members.iter().filter_map(|&m| from_u[m]).max().unwrap_or(0);
        // Mirrored so the piece's first node is on the left half.
        let mirror = from_u[start].unwrap_or(0) * 2 > maxd;
        let cols = maxd as usize + 1;
        let mut columns: Vec<Vec<usize>> = vec![Vec::new(); cols];
        for &m in &members {
            let d = from_u[m].unwrap_or(0);
            let c = if mirror { maxd - d } else { d };
            columns[c as usize].push(m);
        }
        // Order each column by the mean row of its neighbours in the column before.
        for c in 1..cols {
            let (before, rest) = columns.split_at_mut(c);
            let prev = &before[c - 1];
            let key = |v: usize| {
                let rows: Vec<usize> = prev
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| adj[v].contains(p))
                    .map(|(r, _)| r)
                    .collect();
                if rows.is_empty() {
                    u64::MAX
                } else {
                    (rows.iter().sum::<usize>() as u64 * 1024) / rows.len() as u64
                }
            };
            rest[0].sort_by_key(|&v| key(v));
        }

        // A large fan-out shows a few leaves and a group; when more than two nodes of a
        // column have one, each is a group alone.
        let leaf_boxes = |p: usize, alone: bool| -> Vec<What> {
            let l = &leaves[p];
            if l.len() <= LEAF_MAX {
                l.iter().map(|&i| What::Node(i)).collect()
            } else if alone {
                vec![What::Group {
                    nodes: l.clone(),
                    more: false,
                }]
            } else {
                let mut v: Vec<What> = l[..LEAF_SHOW].iter().map(|&i| What::Node(i)).collect();
                v.push(What::Group {
                    nodes: l[LEAF_SHOW..].to_vec(),
                    more: true,
                });
                v
            }
        };
        let mut slots: Vec<Vec<What>> = vec![Vec::new(); cols + 2];
        for (c, column) in columns.iter().enumerate() {
            let side = match (cols, c) {
                (1, _) => Side::Split,
                (_, 0) => Side::Left,
                (_, c) if c == cols - 1 => Side::Right,
                _ => Side::Below,
            };
            let (shown, hidden) = if column.len() > CORE_MAX {
                column.split_at(CORE_MAX - 1)
            } else {
                (&column[..], &[][..])
            };
            let fans = shown
                .iter()
                .filter(|&&p| leaves[p].len() > LEAF_MAX)
                .count();
            for &p in shown {
                slots[c + 1].push(What::Node(p));
                let boxes = leaf_boxes(p, fans > 2);
                match side {
                    Side::Left => slots[0].extend(boxes),
                    Side::Right => slots[cols + 1].extend(boxes),
                    Side::Below => slots[c + 1].extend(boxes),
                    Side::Split => {
                        let half = boxes.len().div_ceil(2);
                        let mut boxes = boxes;
                        let right = boxes.split_off(half);
                        slots[0].extend(boxes);
                        slots[cols + 1].extend(right);
                    }
                }
            }
            if !hidden.is_empty() {
                let mut group: Vec<usize> = Vec::new();
                for &p in hidden {
                    group.push(p);
                    group.extend(&leaves[p]);
                }
                group.sort_unstable();
                slots[c + 1].push(What::Group {
                    nodes: group,
                    more: true,
                });
            }
        }
        pieces.push(slots);
    }

    // Coordinates: the left slot exists when some piece uses it.
    let has_left = pieces.iter().any(|s| !s[0].is_empty());
    let skip = u32::from(!has_left);
    let mut items = Vec::new();
    let mut item_of = vec![usize::MAX; n];
    let mut top = MARGIN;
    let mut slots_used = 1;
    for slots in &pieces {
        let rows = slots.iter().map(Vec::len).max().unwrap_or(1) as u32;
        for (s, boxes) in slots.iter().enumerate() {
            if boxes.is_empty() {
                continue;
            }
            let slot = s as u32 - (if s == 0 { 0 } else { skip });
            slots_used = slots_used.max(slot + 1);
            let first = top + (rows - boxes.len() as u32) * DY / 2;
            for (r, what) in boxes.iter().enumerate() {
                let idx = items.len();
                match what {
                    What::Node(i) => item_of[*i] = idx,
                    What::Group { nodes, .. } => nodes.iter().for_each(|&i| item_of[i] = idx),
                }
                items.push(Item {
                    what: what.clone(),
                    x: MARGIN + slot * DX + NODE_W / 2,
                    y: first + r as u32 * DY + DY / 2,
                });
            }
        }
        top += rows * DY + GAP;
    }
    Layout {
        items,
        item_of,
        width: 2 * MARGIN + (slots_used - 1) * DX + NODE_W,
        height: top - GAP + MARGIN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The box of each node, as (column, row) of the grid.
    fn grid(l: &Layout, n: usize) -> Vec<(u32, u32)> {
        (0..n)
            .map(|i| {
                let it = &l.items[l.item_of[i]];
                ((it.x - MARGIN - NODE_W / 2) / DX, (it.y - MARGIN) / DY)
            })
            .collect()
    }

    #[test]
    fn a_chain_reads_left_to_right() {
        // a – r – b: r is the core, a left, b right.
        let l = layout(3, &[(0, 1), (1, 2)]);
        let g = grid(&l, 3);
        assert_eq!((g[0].0, g[1].0, g[2].0), (0, 1, 2));
        assert_eq!(g[0].1, g[2].1);
        // Two hosts alone: both core, side by side.
        let l = layout(2, &[(0, 1)]);
        assert_eq!(grid(&l, 2), [(0, 0), (1, 0)]);
    }

    #[test]
    fn the_flagship_puts_the_client_left_and_the_servers_right() {
        // client, r1, sw0, dns, web: client–r1, r1–sw0, dns–sw0, web–sw0.
        let l = layout(5, &[(0, 1), (1, 2), (3, 2), (4, 2)]);
        let g = grid(&l, 5);
        assert_eq!(g.iter().map(|c| c.0).collect::<Vec<_>>(), [0, 1, 2, 3, 3]);
        assert!(g[3].1 < g[4].1, "dns above web");
    }

    #[test]
    fn a_dumbbell_collapses_its_fan_outs_and_keeps_a_left_of_b() {
        // A = 0, B = 1, then S0, R0, S1, R1, … as the scenario declares them.
        let pairs = 16;
        let mut links = vec![(0, 1)];
        for i in 0..pairs {
            links.push((2 + 2 * i, 0));
            links.push((1, 3 + 2 * i));
        }
        let n = 2 + 2 * pairs;
        let l = layout(n, &links);
        let g = grid(&l, n);
        assert_eq!((g[0].0, g[1].0), (1, 2));
        assert_eq!(g[2].0, 0);
        assert_eq!(g[3].0, 3);
        // S0, S1 and a group of 14 on the left.
        let groups: Vec<&Vec<usize>> = l
            .items
            .iter()
            .filter_map(|it| match &it.what {
                What::Group { nodes, .. } => Some(nodes),
                What::Node(_) => None,
            })
            .collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].len(), pairs - LEAF_SHOW);
        assert_eq!(l.items.len(), 2 + 2 * (LEAF_SHOW + 1));
    }

    #[test]
    fn a_star_of_a_thousand_hosts_shows_a_few_and_one_group() {
        let n = 1001;
        let links: Vec<(usize, usize)> = (1..n).map(|h| (h, 0)).collect();
        let l = layout(n, &links);
        assert_eq!(l.items.len(), 1 + LEAF_SHOW + 1);
        let group = l
            .items
            .iter()
            .find_map(|it| match &it.what {
                What::Group { nodes, .. } => Some(nodes.len()),
                What::Node(_) => None,
            })
            .unwrap();
        assert_eq!(group, 1000 - LEAF_SHOW);
        assert!(l.height < 400, "{}", l.height);
        assert!(l.item_of.iter().all(|&i| i < l.items.len()));
    }

    #[test]
    fn wide_columns_collapse_with_their_leaves() {
        // A root with 20 leaf routers of 3 hosts each.
        let mut links = Vec::new();
        let mut n = 1;
        for _ in 0..20 {
            let leaf = n;
            links.push((0, leaf));
            n += 1;
            for _ in 0..3 {
                links.push((n, leaf));
                n += 1;
            }
        }
        let l = layout(n, &links);
        assert!(l.item_of.iter().all(|&i| i < l.items.len()));
        let biggest = l
            .items
            .iter()
            .filter_map(|it| match &it.what {
                What::Group { nodes, .. } => Some(nodes.len()),
                What::Node(_) => None,
            })
            .max()
            .unwrap();
        // 12 of the 19 leaf routers not on the path, each with its 3 hosts.
        assert_eq!(biggest, (19 - (CORE_MAX - 1)) * 4);
        // With 100 hosts each, the shown leaf routers' hosts are a group each.
        let mut links = Vec::new();
        let mut n = 1;
        for _ in 0..5 {
            let leaf = n;
            links.push((0, leaf));
            n += 1;
            for _ in 0..100 {
                links.push((n, leaf));
                n += 1;
            }
        }
        let l = layout(n, &links);
        let groups: Vec<(usize, bool)> = l
            .items
            .iter()
            .filter_map(|it| match &it.what {
                What::Group { nodes, more } => Some((nodes.len(), *more)),
                What::Node(_) => None,
            })
            .collect();
        // The first leaf router's (alone in its column): two hosts and 98 more; the four
        // others': 100 hosts each.
        assert_eq!(
            groups,
            [
                (98, true),
                (100, false),
                (100, false),
                (100, false),
                (100, false)
            ]
        );
    }

    #[test]
    fn the_same_network_gets_the_same_picture_and_pieces_stack() {
        let links = [(0, 1), (1, 2), (3, 4), (2, 5), (5, 6), (6, 2)];
        let a = layout(8, &links);
        let b = layout(8, &links);
        assert_eq!(a, b);
        // Node 7 has no link: it is drawn all the same, below the rest.
        let last = &a.items[a.item_of[7]];
        assert!(a.items.iter().all(|it| it.y <= last.y));
        assert!(last.y < a.height);
    }
}
