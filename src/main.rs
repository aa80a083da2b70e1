//! Binary entry point: read the process environment once, hand it to the CLI.

use std::io::IsTerminal;
use std::process::ExitCode;

use greptime_self_test::cli::{self, RunContext};

fn main() -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let no_color = env.iter().any(|(k, v)| k == "NO_COLOR" && !v.is_empty());
    cli::main(RunContext {
        args: std::env::args_os().collect(),
        color: std::io::stdout().is_terminal() && !no_color,
        progress: std::io::stderr().is_terminal(),
        env,
    })
}
