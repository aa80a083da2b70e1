//! A component's start command line (`greptime datanode start -c FILE --node-id 3 …`), read by
//! clap as GreptimeDB reads it and applied as its `StartCommand::merge_with_cli_options` does:
//! after defaults < environment < file, flags win. Many deployments (the Kubernetes operator
//! among them) set `--node-id`, `--metasrv-addrs`, `--store-addrs`, `--data-home` … on the
//! command line, so a pre-flight that ignores them checks a different config than the one that
//! runs.
//!
//! This file is the public face: [`parse`] (clap on the line, `src/cmd/src/bin/greptime.rs`),
//! [`StartFlags`], and the choice between the tool's own `-c`/`--env-prefix` and the line's.
//! `commands` mirrors the `StartCommand`s, `errors` turns clap's refusals into bad input,
//! `merge` applies the flags.

mod commands;
mod errors;
mod merge;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, FromArgMatches as _};

use self::commands::{GlobalOptions, StartCommand};
use super::{secrets_in_connection_string, Component};
use crate::diag::Diagnostic;

pub(crate) use self::merge::{annotate, apply};

/// A component's start arguments, parsed.
#[derive(Debug, Clone, Default)]
pub struct StartFlags {
    global: GlobalOptions,
    /// `None`: no start arguments, a bare `greptime <component> start`.
    command: Option<StartCommand>,
    /// Each flag given on the line (clap's id, e.g. `grpc_bind_addr`) and how it was written
    /// (`--rpc-addr`), for findings and origins.
    written: BTreeMap<String, String>,
}

impl StartFlags {
    /// No flags: what GreptimeDB does with a bare `greptime <component> start`.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// How the flag with clap id `id` was written, if it was given.
    fn written(&self, id: &str) -> Option<&str> {
        self.written.get(id).map(String::as_str)
    }

    /// `-c/--config-file`.
    pub fn config_file(&self) -> Option<&str> {
        self.command.as_ref().and_then(StartCommand::config_file)
    }

    /// `--env-prefix`, when the line gives one (not clap's default).
    pub fn env_prefix(&self) -> Option<&str> {
        self.written("env_prefix")?;
        self.command.as_ref().and_then(StartCommand::env_prefix)
    }

    /// The config file to read: the tool's own `-c`, else the start line's `-c`. Both, naming
    /// different files, is bad input: the check would read another file than the one that runs.
    pub fn choose_file(&self, tool: Option<PathBuf>) -> Result<Option<PathBuf>, Diagnostic> {
        match (tool, self.config_file()) {
            (Some(tool), Some(flag)) if !same_file(&tool, Path::new(flag)) => Err(Diagnostic::new(
                "two config files",
                format!(
                    "-c {} and the start line's -c {flag} name different files",
                    tool.display()
                ),
            )
            .with_hint("give the config file once: either the tool's -c or the start line's -c")),
            (Some(tool), _) => Ok(Some(tool)),
            (None, flag) => Ok(flag.map(PathBuf::from)),
        }
    }

    /// The environment prefix: the tool's `--env-prefix`, else the start line's; both and
    /// different is bad input.
    pub fn choose_env_prefix(&self, tool: Option<String>) -> Result<Option<String>, Diagnostic> {
        match (tool, self.env_prefix()) {
            (Some(tool), Some(flag)) if tool != flag => Err(Diagnostic::new(
                "two environment prefixes",
                format!("--env-prefix {tool} and the start line's --env-prefix {flag} differ"),
            )
            .with_hint("give the environment prefix once")),
            (Some(tool), _) => Ok(Some(tool)),
            (None, flag) => Ok(flag.map(str::to_string)),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Reads a component's start arguments: the flags alone (`--node-id 3 …`), or a whole command
/// line (`greptime [--log-level info] datanode start -c FILE --node-id 3`). Whatever GreptimeDB's
/// clap refuses (an unknown flag, a value that does not parse, a single-value flag given twice)
/// is bad input naming the flag.
pub fn parse(component: Component, args: &[String]) -> Result<StartFlags, Diagnostic> {
    let argv = full_line(component, args)?;
    let cmd = commands::start_line(component);
    let refused = |e| errors::diagnostic(component, &argv, e);
    let matches = cmd.clone().try_get_matches_from(&argv).map_err(refused)?;
    let start = matches
        .subcommand_matches(component.as_str())
        .and_then(|m| m.subcommand_matches("start"))
        .expect("start_line requires `<component> start`");
    let command = StartCommand::from_matches(component, start).map_err(refused)?;
    let global = GlobalOptions::from_arg_matches(start).map_err(refused)?;
    let mut written = BTreeMap::new();
    let start_cmd = cmd
        .find_subcommand(component.as_str())
        .and_then(|c| c.find_subcommand("start"))
        .expect("start_line has `<component> start`");
    for arg in start_cmd.get_arguments().chain(cmd.get_arguments()) {
        let id = arg.get_id().as_str();
        let given = [start, &matches].iter().any(|m| given_on_line(m, id));
        if given && !written.contains_key(id) {
            written.insert(id.to_string(), spelling(arg, &argv));
        }
    }
    Ok(StartFlags {
        global,
        command: Some(command),
        written,
    })
}

fn given_on_line(matches: &ArgMatches, id: &str) -> bool {
    matches
        .try_contains_id(id)
        .is_ok_and(|present| present && matches.value_source(id) == Some(ValueSource::CommandLine))
}

/// The arguments as a whole `greptime … <component> start …` line for clap: flags alone get
/// that prefix; a pasted line is first checked to be this component's `start` (its flags are
/// left to the full parse).
fn full_line(component: Component, args: &[String]) -> Result<Vec<String>, Diagnostic> {
    let pasted = args.first().is_some_and(|first| !first.starts_with('-'));
    if !pasted {
        let prefix = ["greptime", component.as_str(), "start"].map(String::from);
        return Ok(prefix.into_iter().chain(args.iter().cloned()).collect());
    }
    let named_greptime = Path::new(&args[0])
        .file_name()
        .is_some_and(|n| n == "greptime");
    let argv: Vec<String> = if named_greptime {
        args.to_vec()
    } else {
        std::iter::once("greptime".to_string())
            .chain(args.iter().cloned())
            .collect()
    };
    let shape = commands::line_shape()
        .try_get_matches_from(&argv)
        .map_err(|e| errors::diagnostic(component, &argv, e))?;
    let usage = errors::usage(component);
    let Some((sub, sub_matches)) = shape.subcommand() else {
        return Err(Diagnostic::new(
            "incomplete start command",
            format!("`{}` names no component", shown(&args.join(" "))),
        )
        .with_hint(format!("write `{usage}`, or only the flags")));
    };
    if sub != component.as_str() {
        return Err(errors::wrong_component(component, sub));
    }
    match sub_matches.subcommand_name() {
        Some("start") => Ok(argv),
        other => Err(Diagnostic::new(
            "not a start command",
            format!(
                "`greptime {}` is followed by {}, not `start`",
                component.as_str(),
                other.map_or("nothing".to_string(), |o| format!("`{}`", shown(o)))
            ),
        )
        .with_hint(format!("write `{usage}`"))),
    }
}

/// How `arg` was written on the line: the first of its long name, aliases or short that
/// appears, e.g. `--rpc-addr` for `--grpc-bind-addr`.
fn spelling(arg: &Arg, argv: &[String]) -> String {
    let long = arg.get_long().unwrap_or(arg.get_id().as_str());
    let aliases = arg.get_all_aliases().unwrap_or_default();
    argv.iter()
        .skip(1)
        .find_map(|token| {
            if let Some(name) = token.strip_prefix("--") {
                let name = name.split_once('=').map_or(name, |(n, _)| n);
                (name == long || aliases.contains(&name)).then(|| format!("--{name}"))
            } else {
                let letter = token.strip_prefix('-')?.chars().next()?;
                (arg.get_short() == Some(letter)).then(|| format!("-{letter}"))
            }
        })
        .unwrap_or_else(|| format!("--{long}"))
}

/// A value as it may appear in an error: any password inside masked.
fn shown(value: &str) -> String {
    secrets_in_connection_string(value)
        .iter()
        .fold(value.to_string(), |text, secret| {
            text.replace(secret.as_str(), "******")
        })
}
