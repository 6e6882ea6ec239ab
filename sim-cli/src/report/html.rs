//! The page: escaping, the document around the sections, its style sheet and table helpers.
//!
//! Plain HTML with one inline style sheet and no script: the file opens the same with or
//! without network access, and `<details>` folds the long parts without JavaScript.

use std::fmt::Write as _;

/// `s` with `& < > " '` escaped: safe as element text and inside a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One section of the page: its anchor id, its heading and its HTML body.
#[derive(Debug)]
pub struct Section {
    /// The element id (`topology`), also the table of contents' link.
    pub id: &'static str,
    /// The heading.
    pub title: &'static str,
    /// The body, HTML.
    pub body: String,
}

/// The whole document: a title, the table of contents and the sections in order.
pub fn page(title: &str, sections: &[Section]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(h, "<title>{}</title>", esc(title));
    let _ = writeln!(h, "<style>{CSS}</style>");
    h.push_str("</head>\n<body>\n<main>\n");
    let _ = writeln!(h, "<h1>{}</h1>", esc(title));
    h.push_str("<nav>");
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            h.push_str(" · ");
        }
        let _ = write!(h, "<a href=\"#{}\">{}</a>", s.id, esc(s.title));
    }
    h.push_str("</nav>\n");
    for s in sections {
        let _ = write!(
            h,
            "<section id=\"{}\">\n<h2>{}</h2>\n{}\n</section>\n",
            s.id,
            esc(s.title),
            s.body
        );
    }
    h.push_str(
        "<footer>Written by <code>sim report</code> from the run's folder: the figures are \
         those of its stats.json, params.json, run.json and trace.txt, with the links' rates \
         and delays from its scenario.</footer>\n",
    );
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// A table: its head cells and rows of cells, all already HTML. A cell that starts with a
/// digit is right-aligned (numbers line up).
pub fn table(class: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = format!("<div class=\"scroll\"><table class=\"{class}\">\n<thead><tr>");
    for c in head {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        h.push_str("<tr>");
        for c in row {
            if numeric(c) {
                let _ = write!(h, "<td class=\"n\">{c}</td>");
            } else {
                let _ = write!(h, "<td>{c}</td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
    h
}

/// Whether a cell's text (after any leading tags) starts with a digit.
fn numeric(cell: &str) -> bool {
    let mut rest = cell;
    while let Some(tail) = rest.strip_prefix('<') {
        match tail.split_once('>') {
            Some((_, after)) => rest = after,
            None => return false,
        }
    }
    rest.starts_with(|ch: char| ch.is_ascii_digit())
}

/// A note in grey: what is missing and how to get it.
pub fn note(html: &str) -> String {
    format!("<p class=\"note\">{html}</p>\n")
}

/// A count with thin-space thousands separators: `1 234 567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Nanoseconds as seconds with six decimals, as `sim run`'s summary prints them:
/// `10.000000 s`.
pub fn seconds(ns: u64) -> String {
    format!(
        "{}.{:06} s",
        ns / 1_000_000_000,
        (ns % 1_000_000_000) / 1000
    )
}

/// The style sheet: light, readable, print-friendly.
const CSS: &str = "
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa; --red:#c62828; }
* { box-sizing:border-box; }
body { margin:0; background:var(--soft); color:var(--fg);
  font:14px/1.45 -apple-system, 'Segoe UI', 'DejaVu Sans', Helvetica, Arial, sans-serif; }
main { max-width:1180px; margin:0 auto; padding:18px 24px 40px; background:var(--bg);
  min-height:100vh; box-shadow:0 0 0 1px var(--line); }
h1 { font-size:24px; margin:4px 0 6px; }
h2 { font-size:19px; margin:0 0 10px; padding-bottom:4px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:16px 0 6px; }
nav { margin:0 0 14px; color:var(--muted); }
nav a { color:#0969da; text-decoration:none; }
section { margin:22px 0 10px; }
code, pre, .mono { font-family:'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size:12.5px; }
pre { background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:8px 10px;
  overflow:auto; max-height:480px; margin:6px 0; }
table { border-collapse:collapse; margin:6px 0 10px; }
th, td { border:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; }
.scroll { overflow-x:auto; max-width:100%; }
.grid .scroll { max-width:none; }
th { white-space:nowrap; }
td.n { text-align:right; font-variant-numeric:tabular-nums; }
table.kv th { width:170px; }
.note { color:var(--muted); font-style:italic; }
.bad { color:var(--red); font-weight:600; }
.zero { color:var(--muted); }
details { margin:6px 0; }
summary { cursor:pointer; font-weight:600; }
.grid { display:flex; flex-wrap:wrap; gap:4px 18px; align-items:flex-start; }
.grid table { margin:4px 0; }
figure { margin:10px 0 16px; }
figcaption { font-weight:600; margin-bottom:4px; }
svg { max-width:100%; height:auto; }
.topo { border:1px solid var(--line); border-radius:6px; background:#fff; }
.path { display:flex; flex-wrap:wrap; gap:3px; align-items:center; margin:4px 0 12px; }
.fn { border-radius:4px; padding:1px 6px; font-family:'DejaVu Sans Mono', Menlo, monospace;
  font-size:12px; border:1px solid rgba(0,0,0,.15); }
.arrow { color:var(--muted); font-size:11px; }
.l-socket { background:#e8daef; } .l-transport { background:#d6eaf8; } .l-ip { background:#d5f5e3; }
.l-netfilter { background:#fdebd0; } .l-neigh { background:#fcf3cf; } .l-dev { background:#eaeded; }
.l-other { background:#ffffff; }
.frame { font-family:'DejaVu Sans Mono', Menlo, monospace; font-size:12px; white-space:pre-wrap;
  word-break:break-all; }
footer { margin-top:28px; color:var(--muted); font-size:12px; }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            esc(r#"<script>alert("x&y")</script> it's"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; it&#39;s"
        );
        assert_eq!(esc("H10.eth0"), "H10.eth0");
    }

    #[test]
    fn page_has_the_sections_in_order_with_their_anchors() {
        let p = page(
            "run <x>",
            &[
                Section {
                    id: "summary",
                    title: "Summary",
                    body: "<p>a</p>".into(),
                },
                Section {
                    id: "topology",
                    title: "Topology",
                    body: "<p>b</p>".into(),
                },
            ],
        );
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<title>run &lt;x&gt;</title>"));
        let s = p.find("<section id=\"summary\">").unwrap();
        let t = p.find("<section id=\"topology\">").unwrap();
        assert!(s < t);
        assert!(p.contains("<a href=\"#topology\">Topology</a>"));
        // Nothing is fetched: no external script, style sheet or image.
        assert!(!p.contains("src=") && !p.contains("<link"));
    }

    #[test]
    fn numbers_right_aligned_and_grouped() {
        let t = table("x", &["a", "b"], &[vec!["eth0".into(), count(1234567)]]);
        assert!(t.contains("<td>eth0</td><td class=\"n\">1\u{2009}234\u{2009}567</td>"));
        assert_eq!(count(999), "999");
        assert!(numeric("<span class=\"bad\">33</span>"));
        assert!(!numeric("<code>qdisc</code>") && !numeric("eth0") && !numeric("<b"));
        assert_eq!(seconds(10_000_000_000), "10.000000 s");
        assert_eq!(seconds(1_500_000), "0.001500 s");
    }
}
