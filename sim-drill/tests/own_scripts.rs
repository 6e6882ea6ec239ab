//! The project's own packetdrill scripts (`tests/scripts/`), each checked against a real
//! Linux 6.18 kernel with the real packetdrill before it was added (the header of each says
//! what it pins down), over IPv4 and IPv6 (or the version its `--ip_version` line names):
//! the simulated host must pass every one in each. They run beside the kernel's
//! `defaults.sh` (and `set_sysctls.py`), as packetdrill's scripts do: each is copied with
//! them into a scratch folder.

mod common;

use std::path::Path;

use common::shared;

use sim_drill::report::Outcome;
use sim_drill::sim_host::{run_script, script_versions};

#[test]
fn every_own_script_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scripts")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pkt"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 2, "{paths:?}");
    let scratch = std::env::temp_dir().join(format!("sim-drill-own-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    for f in ["defaults.sh", "set_sysctls.py"] {
        std::fs::copy(shared().join(f), scratch.join(f)).expect("copy the kernel's helpers");
    }
    for p in &paths {
        let copy = scratch.join(p.file_name().expect("a file"));
        std::fs::copy(p, &copy).expect("copy the script");
        // In the versions ksft_runner.sh runs it in: IPv4 and IPv6 unless its own
        // --ip_version line says (each was checked in them against Linux 6.18).
        let versions = script_versions(&copy);
        assert!(!versions.is_empty());
        for v in versions {
            let r = run_script(&copy, v, &[]);
            assert_eq!(r.outcome, Outcome::Pass, "{} {}", p.display(), v.name());
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
