//! `sim`: the command-line front end of netsim (see the library, [`sim_cli`]).

fn main() -> std::process::ExitCode {
    sim_cli::main_with(Vec::new())
}
