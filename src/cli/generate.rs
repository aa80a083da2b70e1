//! Commands that describe the command line itself, generated from its clap definition:
//! `completions` (a shell's completion script) and `man` (a roff man page).

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{exit, Cli};

/// `completions SHELL`: the completion script for `shell`, on stdout.
pub fn completions(shell: Shell) -> ExitCode {
    let mut command = Cli::command();
    let bin_name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, bin_name, &mut script);
    write_stdout(&script)
}

/// `man`: the man page of the tool, with its subcommands and the exit codes, as roff on stdout.
pub fn man() -> ExitCode {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .expect("rendering into memory cannot fail");
    write_stdout(&page)
}

/// Writes `bytes` to stdout. A reader that went away (`| head`) is not an error; any other
/// write failure (a full disk behind a redirection) is an internal error.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(exit::INTERNAL)
        }
    }
}
