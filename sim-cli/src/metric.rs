//! Metric paths: dotted paths into a run's `stats.json` tree, as `sim sweep --metric` takes
//! them.
//!
//! A path is resolved against the tree in this order (docs/sweeps.md has the same rule with
//! examples):
//!
//! 1. If its first part is a top-level key of `stats.json` (`sim_time_ns`, `events`,
//!    `frames`, `drops`, `nodes`, `switches`, `links`), it is read from the root as written:
//!    `nodes.client.curl.time_total`, `drops.qdisc`, `links.0.dirs.1.lost`.
//! 2. Else, if its first part is a node's name, it is read under `nodes`:
//!    `client.curl.time_total` is `nodes.client.curl.time_total`.
//! 3. Else, if its first part is a switch's name, it is read under `switches`:
//!    `sw0.p1.drops` is `switches.sw0.p1.drops`.
//!
//! Interfaces and apps sit directly in a node's object (`nodes.r1.eth1`, `nodes.client.curl`),
//! so right after the node name a part `apps`, `ifaces` or `interfaces` that is not a key of
//! that node is skipped: `nodes.client.apps.curl.time_total` reads the same figure. A part
//! that is a number indexes a list (`links.0`). The path must end on a value (a number, a
//! string, `true`/`false` or `null`), not on an object or a list.

use serde_json::Value;

/// The parts after a node's name that may be left out (they are not levels of the tree).
const OPTIONAL_UNDER_NODE: [&str; 3] = ["apps", "ifaces", "interfaces"];

/// Resolves `path` in `stats` (a run's `stats.json` as a JSON value). The error says where
/// the path left the tree and what was there instead.
pub fn resolve<'a>(stats: &'a Value, path: &str) -> Result<&'a Value, String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "`{path}` is not a dotted path (it has an empty part)"
        ));
    }
    let first = parts[0];
    let under = |key: &str| stats.get(key).and_then(Value::as_object);
    // Where the walk starts, its printed name, and after how many parts it stands on a node.
    let (start, at, node_after) = if stats.get(first).is_some() {
        (stats, String::new(), (first == "nodes").then_some(2))
    } else if under("nodes").is_some_and(|n| n.contains_key(first)) {
        (&stats["nodes"], "nodes".to_string(), Some(1))
    } else if under("switches").is_some_and(|s| s.contains_key(first)) {
        (&stats["switches"], "switches".to_string(), None)
    } else {
        let names = |key: &str| {
            under(key).map_or_else(String::new, |m| {
                m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
            })
        };
        let mut msg = format!(
            "`{first}` is neither a top-level key of stats.json ({}) nor a node ({})",
            stats
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            names("nodes"),
        );
        let switches = names("switches");
        if !switches.is_empty() {
            msg.push_str(&format!(" or switch ({switches})"));
        }
        let candidates = stats
            .as_object()
            .into_iter()
            .chain(under("nodes"))
            .chain(under("switches"))
            .flat_map(|o| o.keys());
        if let Some(s) = suggest(first, candidates) {
            msg.push_str(&format!("; did you mean `{s}`?"));
        }
        return Err(msg);
    };
    let mut v = start;
    let mut at = at;
    for (i, part) in parts.iter().enumerate() {
        if node_after == Some(i)
            && OPTIONAL_UNDER_NODE.contains(part)
            && v.get(*part).is_none()
            && i + 1 < parts.len()
        {
            continue;
        }
        let here = if at.is_empty() { "stats.json" } else { &at };
        let next = match v {
            Value::Object(m) => m.get(*part).ok_or_else(|| {
                let mut msg = format!(
                    "`{here}` has no key `{part}` (keys: {})",
                    m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                );
                if let Some(s) = suggest(part, m.keys()) {
                    msg.push_str(&format!("; did you mean `{s}`?"));
                }
                msg
            })?,
            Value::Array(a) => {
                let idx: usize = part.parse().map_err(|_| {
                    format!(
                        "`{here}` is a list of {}: expected an index 0..{}, found `{part}`",
                        a.len(),
                        a.len()
                    )
                })?;
                a.get(idx)
                    .ok_or_else(|| format!("`{here}` is a list of {}: no index {idx}", a.len()))?
            }
            _ => {
                return Err(format!(
                    "`{here}` is a value, not an object: nothing under it"
                ));
            }
        };
        if !at.is_empty() {
            at.push('.');
        }
        at.push_str(part);
        v = next;
    }
    match v {
        Value::Object(m) => Err(format!(
            "`{at}` is an object, not a value: add one of its keys ({})",
            m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
        )),
        Value::Array(a) => Err(format!(
            "`{at}` is a list of {}, not a value: add an index",
            a.len()
        )),
        _ => Ok(v),
    }
}

/// A value as a CSV cell: numbers as JSON writes them, strings bare, `null` empty.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The closest of `candidates` to `word`, if it is close (a typo).
fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    let limit = (word.chars().count().div_ceil(3)).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stats() -> Value {
        json!({
            "sim_time_ns": 10,
            "events": 5,
            "frames": 3,
            "drops": {"qdisc": 1, "link_loss": 0},
            "nodes": {
                "client": {
                    "kind": "host",
                    "eth0": {"qdisc": {"drops": 2}},
                    "curl": {"time_total": 0.25, "error": null}
                },
                "r1": {"kind": "router", "eth1": {"qdisc": {"drops": 7}}}
            },
            "switches": {"sw0": {"p1": {"drops": 4}}},
            "links": [{"dirs": [{"lost": 0}, {"lost": 9}]}]
        })
    }

    #[test]
    fn full_paths_shorthands_and_optional_levels_reach_the_same_value() {
        let s = stats();
        let r = |p| resolve(&s, p).map(cell);
        assert_eq!(r("nodes.client.curl.time_total"), Ok("0.25".into()));
        assert_eq!(r("client.curl.time_total"), Ok("0.25".into()));
        assert_eq!(r("nodes.client.apps.curl.time_total"), Ok("0.25".into()));
        assert_eq!(r("client.apps.curl.time_total"), Ok("0.25".into()));
        assert_eq!(r("r1.eth1.qdisc.drops"), Ok("7".into()));
        assert_eq!(r("r1.ifaces.eth1.qdisc.drops"), Ok("7".into()));
        assert_eq!(r("sw0.p1.drops"), Ok("4".into()));
        assert_eq!(r("links.0.dirs.1.lost"), Ok("9".into()));
        assert_eq!(r("drops.qdisc"), Ok("1".into()));
        assert_eq!(r("client.curl.error"), Ok(String::new()));
        assert_eq!(r("client.kind"), Ok("host".into()));
    }

    #[test]
    fn errors_say_where_the_path_left_the_tree() {
        let s = stats();
        let e = |p| resolve(&s, p).unwrap_err();
        let m = e("r1.eth1.qdisc.dropped");
        assert!(
            m.contains("`nodes.r1.eth1.qdisc` has no key `dropped`") && m.contains("`drops`"),
            "{m}"
        );
        assert!(
            e("client.curl").contains("is an object"),
            "{}",
            e("client.curl")
        );
        assert!(e("links.0.dirs").contains("is a list of 2"));
        assert!(e("links.x").contains("expected an index"));
        assert!(e("links.3").contains("no index 3"));
        assert!(e("a..b").contains("empty part"));
        assert!(e("events.x").contains("is a value"));
        let m = e("clinet.curl.time_total");
        assert!(
            m.contains("nor a node (client, r1)") && m.contains("did you mean `client`"),
            "{m}"
        );
    }
}
