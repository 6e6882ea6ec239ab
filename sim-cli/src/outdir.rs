//! The output folder of a run, written atomically: everything goes into a hidden temporary
//! folder beside the destination, which replaces the destination only when the run's outputs
//! are complete. A failed run leaves no half-written folder behind (the temporary one is
//! removed), and an earlier run's folder is kept until the new one is ready.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A run's output folder in the making.
#[derive(Debug)]
pub struct OutDir {
    /// Where the outputs end up.
    pub dest: PathBuf,
    /// Where they are written meanwhile.
    pub tmp: PathBuf,
    committed: bool,
}

impl OutDir {
    /// Creates the temporary folder for `dest` (and `dest`'s parent folders).
    pub fn create(dest: &Path) -> io::Result<Self> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// A path inside the temporary folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Moves the finished outputs to the destination, replacing an earlier run's folder.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        if self.dest.exists() {
            if !self.dest.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a folder", self.dest.display()),
                ));
            }
            let old = self.tmp.with_file_name(format!(
                "{}.old",
                self.tmp.file_name().unwrap_or_default().to_string_lossy()
            ));
            fs::rename(&self.dest, &old)?;
            if let Err(e) = fs::rename(&self.tmp, &self.dest) {
                // Put the earlier run back.
                let _ = fs::rename(&old, &self.dest);
                return Err(e);
            }
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.tmp, &self.dest)?;
        }
        self.committed = true;
        Ok(self.dest.clone())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("netsim-outdir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn commit_replaces_an_earlier_run_and_abandon_leaves_nothing() {
        let root = scratch("commit");
        let dest = root.join("out").join("ping");
        let o = OutDir::create(&dest).unwrap();
        fs::write(o.file("a.txt"), "first").unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read_to_string(dest.join("a.txt")).unwrap(), "first");

        let o = OutDir::create(&dest).unwrap();
        fs::write(o.file("b.txt"), "second").unwrap();
        o.commit().unwrap();
        assert!(!dest.join("a.txt").exists());
        assert_eq!(fs::read_to_string(dest.join("b.txt")).unwrap(), "second");

        let o = OutDir::create(&dest).unwrap();
        fs::write(o.file("c.txt"), "abandoned").unwrap();
        drop(o);
        assert!(dest.join("b.txt").exists());
        let left: Vec<_> = fs::read_dir(root.join("out")).unwrap().collect();
        assert_eq!(left.len(), 1, "only the committed folder remains");
        fs::remove_dir_all(&root).unwrap();
    }
}
