//! The "Snapshots" section: the text files a run wrote into `snapshots/` (`--snapshot`:
//! `tc`, and the other tools' as they are added), each in a `<pre>`, by name.

use std::fmt::Write as _;
use std::path::Path;

use super::html::{esc, note};

/// Text shown in all, bytes; the files beyond are named only.
pub const TEXT_MAX: usize = 2 << 20;

/// The files of `dir/snapshots/` (`*.txt`, by name) with their text, or a note.
pub fn read(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let sub = dir.join("snapshots");
    let rd = match std::fs::read_dir(&sub) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", sub.display())),
    };
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|e| format!("cannot read {}: {e}", sub.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") && e.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name);
        }
    }
    names.sort();
    let mut files = Vec::new();
    let mut total = 0;
    for name in names {
        let path = sub.join(&name);
        let text = if total < TEXT_MAX {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            total += bytes.len();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            String::new()
        };
        files.push((name, text));
    }
    Ok(files)
}

/// The section's HTML.
pub fn section(files: &[(String, String)]) -> String {
    if files.is_empty() {
        return note(
            "No snapshots: rerun with <code>--snapshot tc</code> for <code>tc -s qdisc \
             show</code> of every interface at the end of the run.",
        );
    }
    let mut h = String::new();
    let mut shown = 0;
    let mut skipped = Vec::new();
    for (i, (name, text)) in files.iter().enumerate() {
        if shown + text.len() > TEXT_MAX || (text.is_empty() && shown >= TEXT_MAX) {
            skipped.push(name.as_str());
            continue;
        }
        shown += text.len();
        let _ = write!(
            h,
            "<details{}><summary><code>snapshots/{}</code></summary>\n<pre>{}</pre>\n</details>\n",
            if i < 4 { " open" } else { "" },
            esc(name),
            esc(text)
        );
    }
    if !skipped.is_empty() {
        h.push_str(&note(&format!(
            "{} more files not shown here (the report keeps to {} MB of text): {}",
            skipped.len(),
            TEXT_MAX >> 20,
            esc(&skipped
                .iter()
                .take(10)
                .copied()
                .collect::<Vec<_>>()
                .join(", "))
        )));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_by_name_in_pre_escaped() {
        let h = section(&[
            ("r.tc.txt".into(), "qdisc <x> & y\n".into()),
            ("a.ss.txt".into(), "State Recv-Q\n".into()),
        ]);
        assert!(h.contains("<code>snapshots/r.tc.txt</code>"));
        assert!(h.contains("<pre>qdisc &lt;x&gt; &amp; y\n</pre>"));
        assert!(section(&[]).contains("--snapshot tc"));
    }

    #[test]
    fn read_lists_txt_files_by_name() {
        let dir = std::env::temp_dir().join(format!("netsim-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(read(&dir).unwrap().is_empty());
        std::fs::create_dir_all(dir.join("snapshots")).unwrap();
        std::fs::write(dir.join("snapshots/r.tc.txt"), "r").unwrap();
        std::fs::write(dir.join("snapshots/a.tc.txt"), "a").unwrap();
        std::fs::write(dir.join("snapshots/notes.md"), "x").unwrap();
        let f = read(&dir).unwrap();
        assert_eq!(
            f,
            [
                ("a.tc.txt".into(), "a".into()),
                ("r.tc.txt".into(), "r".into())
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
