//! `completions` and `man`: what the real binary prints, checked against the clap definition
//! it is generated from.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;
use greptime_self_test::cli::{exit, Cli};

/// Runs the binary with `args`; returns exit code, stdout and stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_greptime-self-test"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The names of every subcommand the command line defines.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect()
}

#[test]
fn bash_completions_name_every_subcommand_and_are_valid_bash() {
    let (code, script, stderr) = run(&["completions", "bash"]);
    assert_eq!(code, i32::from(exit::OK), "{stderr}");
    for name in subcommands() {
        assert!(script.contains(&name), "`{name}` missing from:\n{script}");
    }
    for expected in ["completions", "man", "datanode"] {
        assert!(subcommands().iter().any(|n| n == expected), "{expected}");
    }
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let checked = bash.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "bash -n rejects the script: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn every_shell_gets_a_script() {
    for shell in Shell::value_variants() {
        let name = shell.to_possible_value().unwrap().get_name().to_string();
        let (code, script, stderr) = run(&["completions", &name]);
        assert_eq!(code, i32::from(exit::OK), "{name}: {stderr}");
        assert!(
            script.contains("greptime-self-test") && script.contains("datanode"),
            "{name}:\n{script}"
        );
    }
}

#[test]
fn man_page_is_roff_naming_every_subcommand_and_the_exit_codes() {
    let (code, page, stderr) = run(&["man"]);
    assert_eq!(code, i32::from(exit::OK), "{stderr}");
    // clap_mangen opens with the definition of a quote string, then the title macro
    let first_macro = page
        .lines()
        .find(|l| l.starts_with(".TH") || l.starts_with(".SH"))
        .unwrap_or_default();
    assert!(
        first_macro.starts_with(".TH greptime-self-test 1"),
        "not a roff man page:\n{page}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    // roff escapes the hyphens of names: `greptime\-self\-test\-datanode(1)`
    for name in subcommands() {
        let escaped = name.replace('-', "\\-");
        assert!(page.contains(&escaped), "`{name}` missing from:\n{page}");
    }
    assert!(
        page.contains("with \\-\\-strict"),
        "exit codes missing:\n{page}"
    );
}

#[test]
fn an_unknown_shell_is_bad_input() {
    let (code, stdout, stderr) = run(&["completions", "cmd.exe"]);
    assert_eq!(code, i32::from(exit::BAD_INPUT), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("invalid value 'cmd.exe'"), "{stderr}");
    assert!(
        stderr.contains("bash"),
        "the possible values are listed: {stderr}"
    );
}

#[test]
fn help_documents_both_commands() {
    let (code, help, stderr) = run(&["--help"]);
    assert_eq!(code, i32::from(exit::OK), "{stderr}");
    for line in ["completions", "man"] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{line} "))),
            "`{line}` missing from --help:\n{help}"
        );
    }
}
