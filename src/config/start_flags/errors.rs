//! clap's refusal of a start line, as bad input (exit 2) naming the flag and what it accepts.
//! The message is built from the error's context, never from clap's rendered text, which
//! repeats the refused value: a `--store-addrs` password must not reach a terminal.
//! Mirrors what `greptime <component> start` (`src/cmd/src/bin/greptime.rs`) refuses.

use clap::error::{ContextKind, ContextValue, Error, ErrorKind};
use clap::Arg;

use super::super::Component;
use super::commands::{self, COMPONENTS};
use super::{shown, spelling};
use crate::diag::{did_you_mean, Diagnostic};

/// `greptime <component> start [FLAGS]`.
pub(super) fn usage(component: Component) -> String {
    format!("greptime {} start [FLAGS]", component.as_str())
}

/// A pasted line of another component (or of no component GreptimeDB has).
pub(super) fn wrong_component(component: Component, sub: &str) -> Diagnostic {
    let hint = if COMPONENTS.iter().any(|c| c.as_str() == sub) {
        format!(
            "this is a {sub} command line: run `greptime-self-test {sub}` with it, or pass the {} start line",
            component.as_str()
        )
    } else {
        format!("write `{}`, or only the flags", usage(component))
    };
    Diagnostic::new(
        "wrong component",
        format!(
            "the start line is for `{}`, but this checks a {}",
            shown(sub),
            component.as_str()
        ),
    )
    .with_hint(hint)
}

/// The flags of `greptime <component> start`, its own then the global ones.
fn flags(component: Component) -> Vec<Arg> {
    let cmd = commands::start_line(component);
    let start = cmd
        .find_subcommand(component.as_str())
        .and_then(|c| c.find_subcommand("start"))
        .expect("start_line has `<component> start`");
    start
        .get_arguments()
        .chain(cmd.get_arguments())
        .cloned()
        .collect()
}

fn text(err: &Error, kind: ContextKind) -> Option<&str> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s),
        _ => None,
    }
}

fn strings(err: &Error, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The flag an error names, as the line wrote it: clap says `--config-file <CONFIG_FILE>` for
/// a `-c`.
fn written_flag(component: Component, argv: &[String], err: &Error) -> String {
    let shown_arg = text(err, ContextKind::InvalidArg).unwrap_or("the flag");
    let name = shown_arg.split_whitespace().next().unwrap_or(shown_arg);
    flags(component)
        .iter()
        .find(|arg| {
            name.strip_prefix("--") == arg.get_long()
                || name.strip_prefix('-').and_then(|s| s.chars().next()) == arg.get_short()
        })
        .map_or_else(|| name.to_string(), |arg| spelling(arg, argv))
}

/// Turns clap's refusal into bad input.
pub(super) fn diagnostic(component: Component, argv: &[String], err: Error) -> Diagnostic {
    let start = format!("`greptime {} start`", component.as_str());
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let token = argv
                .iter()
                .find(|t| matches!(t.as_str(), "-h" | "--help" | "-V" | "--version"))
                .map_or("--help", String::as_str);
            Diagnostic::new(
                "not a start command",
                format!("with `{token}` GreptimeDB prints and exits without starting"),
            )
            .with_hint(format!("remove `{token}` from the start arguments"))
        }
        ErrorKind::UnknownArgument => {
            let arg = text(&err, ContextKind::InvalidArg).unwrap_or_default();
            if arg.starts_with('-') && arg.len() > 1 {
                unknown_flag(
                    component,
                    &shown(arg),
                    text(&err, ContextKind::SuggestedArg),
                )
            } else {
                Diagnostic::new(
                    "unexpected start argument",
                    format!("`{}`: {start} takes no positional argument", shown(arg)),
                )
                .with_hint("every value follows its flag, e.g. --node-id 3")
            }
        }
        ErrorKind::InvalidSubcommand => {
            let sub = text(&err, ContextKind::InvalidSubcommand).unwrap_or_default();
            wrong_component(component, sub)
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let flag = written_flag(component, argv, &err);
            let value = text(&err, ContextKind::InvalidValue).unwrap_or_default();
            // clap reports a flag without its value as an empty value; `--flag=` is one
            let attached = argv.iter().any(|t| *t == format!("{flag}="));
            if value.is_empty() && err.kind() == ErrorKind::InvalidValue && !attached {
                return Diagnostic::new(
                    "bad start flag",
                    format!("{flag} needs a value, but none follows it"),
                )
                .with_hint(format!("write {flag} VALUE"));
            }
            bad_value(&flag, value, &err)
        }
        ErrorKind::ArgumentConflict => {
            let flag = written_flag(component, argv, &err);
            let prior = strings(&err, ContextKind::PriorArg);
            if prior
                .iter()
                .map(String::as_str)
                .eq(text(&err, ContextKind::InvalidArg))
            {
                Diagnostic::new(
                    "repeated start flag",
                    format!("{flag} is given more than once"),
                )
                .with_hint("GreptimeDB's clap refuses a repeated single-value flag: keep one")
            } else {
                Diagnostic::new(
                    "conflicting start flags",
                    format!("{flag} cannot be given with {}", prior.join(", ")),
                )
                .with_hint("keep one of them")
            }
        }
        ErrorKind::TooManyValues => {
            let flag = written_flag(component, argv, &err);
            Diagnostic::new(
                "bad start flag",
                format!("{flag} is a switch and takes no value"),
            )
            .with_hint(format!("write {flag} alone"))
        }
        kind => {
            let what = kind.as_str().unwrap_or("it does not parse");
            let flag = text(&err, ContextKind::InvalidArg)
                .map(|_| format!(" ({})", written_flag(component, argv, &err)))
                .unwrap_or_default();
            Diagnostic::new(
                "bad start line",
                format!("GreptimeDB's clap refuses the start line{flag}: {what}"),
            )
            .with_hint(format!("write `{}`", usage(component)))
        }
    }
}

/// A value clap refused: the accepted ones from the error (possible values), else a number
/// (the only other typed flags are `u64`/`usize`).
fn bad_value(flag: &str, value: &str, err: &Error) -> Diagnostic {
    let valid = strings(err, ContextKind::ValidValue);
    let given = if value.is_empty() {
        format!("{flag}=")
    } else {
        format!("{flag} {}", shown(value))
    };
    let accepted = if valid.is_empty() {
        "a non-negative integer, e.g. 3".to_string()
    } else if valid == ["true", "false"] {
        "`true` or `false`".to_string()
    } else {
        let names: Vec<String> = valid.iter().map(|v| format!("`{v}`")).collect();
        format!("one of {}", names.join(", "))
    };
    let mut hint = format!("{flag} takes {accepted}");
    if let Some(close) = text(err, ContextKind::SuggestedValue) {
        hint.push_str(&format!("; did you mean `{close}`?"));
    }
    Diagnostic::new(
        "bad start flag value",
        format!("{given}: GreptimeDB refuses this value"),
    )
    .with_hint(hint)
}

/// A flag the component's start command does not have: clap's suggestion (which knows the
/// aliases), else the flags it has.
fn unknown_flag(component: Component, written: &str, suggested: Option<&str>) -> Diagnostic {
    let flags = flags(component);
    let name = written.trim_start_matches('-');
    let close = suggested.map(str::to_string).or_else(|| {
        let names = flags.iter().flat_map(|a| {
            a.get_long()
                .into_iter()
                .chain(a.get_all_aliases().unwrap_or_default())
        });
        did_you_mean(name, names).map(|n| format!("--{n}"))
    });
    let hint = match close {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!(
            "`greptime {} start` takes: {}",
            component.as_str(),
            flags
                .iter()
                .filter_map(Arg::get_long)
                .map(|l| format!("--{l}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Diagnostic::new(
        "unknown start flag",
        format!(
            "`greptime {} start` has no flag {written}",
            component.as_str()
        ),
    )
    .with_hint(hint)
}
