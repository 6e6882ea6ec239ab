//! Loads packetdrill scripts without running them: prints, for each, what the runner would
//! execute, or every problem found (located), and exits non-zero if any script does not
//! load.
//!
//! ```sh
//! cargo run -p sim-drill --example check -- ../shared/packetdrill/*.pkt
//! ```

use std::path::Path;
use std::process::ExitCode;

use sim_drill::config::DrillConfig;
use sim_drill::model::{self, EventKind};

fn main() -> ExitCode {
    let mut ok = true;
    for arg in std::env::args().skip(1) {
        match model::load(Path::new(&arg), DrillConfig::ksft_ipv4(), &[]) {
            Ok(p) => {
                let count = |what: &str, f: fn(&EventKind) -> bool| {
                    let n = p.events.iter().filter(|e| f(&e.kind)).count();
                    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
                };
                println!(
                    "{arg}: {} events: {}, {}, {}, {}",
                    p.events.len(),
                    count("packet", |k| matches!(k, EventKind::Packet { .. })),
                    count("system call", |k| matches!(k, EventKind::Syscall(_))),
                    count("command", |k| matches!(k, EventKind::Command(_))),
                    count("code block", |k| matches!(k, EventKind::Code(_))),
                );
            }
            Err(e) => {
                ok = false;
                print!("{}", e.render());
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
