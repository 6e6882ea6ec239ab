//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The kernel's packetdrill scripts, beside the workspace (`../shared/packetdrill`; CI
/// clones at the same depth). Fails with a clear message if the folder is missing.
pub fn shared() -> PathBuf {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/packetdrill"
    ));
    assert!(
        dir.is_dir(),
        "the kernel's packetdrill scripts are expected in {} (the workspace's ../shared/packetdrill)",
        dir.display()
    );
    dir.to_path_buf()
}

/// The `.pkt` scripts of the shared folder, sorted.
#[allow(dead_code)] // not every test file lists them
pub fn scripts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared())
        .expect("read the scripts folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pkt"))
        .collect();
    v.sort();
    v
}
