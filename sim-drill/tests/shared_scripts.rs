//! The kernel's packetdrill scripts in `../shared/packetdrill/`: every one parses and loads
//! into a program (every command, call and code block interpreted).

mod common;

use std::path::PathBuf;

use sim_drill::config::DrillConfig;
use sim_drill::model;
use sim_drill::parse;
use sim_dsl::diag::SourceMap;

fn scripts() -> Vec<PathBuf> {
    let v = common::scripts();
    assert_eq!(v.len(), 36, "36 scripts in the shared folder");
    v
}

#[test]
fn all_36_scripts_parse() {
    let defines = DrillConfig::ksft_ipv4().defines;
    for path in scripts() {
        let text = std::fs::read_to_string(&path).expect("read script");
        let mut sm = SourceMap::new();
        let f = sm.add(path.clone(), text.clone());
        if let Err(d) = parse::parse(f, &text, &defines) {
            let r: String = d.iter().map(|d| d.render(&sm)).collect();
            panic!("{} does not parse:\n{r}", path.display());
        }
    }
}

#[test]
fn every_script_loads() {
    let mut unsupported = Vec::new();
    for (path, config) in scripts().into_iter().flat_map(|p| {
        [
            (p.clone(), DrillConfig::ksft_ipv4()),
            (p, DrillConfig::ksft_ipv6()),
        ]
    }) {
        match model::load(&path, config, &[]) {
            Ok(p) => assert!(!p.events.is_empty()),
            Err(e) => {
                assert!(
                    e.is_unsupported(),
                    "{} fails to load:\n{}",
                    path.display(),
                    e.render()
                );
                unsupported.push(e.render());
            }
        }
    }
    let report = unsupported.join("\n");
    eprintln!("{report}");
    assert!(unsupported.is_empty(), "{report}");
}
