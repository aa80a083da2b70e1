//! Commands that look at playbooks without running checks: `list`, `explain`, `validate`,
//! `render` and `schema`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::run::{component_of, ensure_valid, load_config, var_overrides};
use super::{exit, ConfigArgs, Failure, RunContext, SchemaKind};
use crate::config::Component;
use crate::diag::{did_you_mean, Diagnostic};
use crate::engine::mask::Masker;
use crate::engine::options::{new_run_id, RunOptions, TemplateOptions};
use crate::engine::run::Engine;
use crate::playbook::model::DEFAULT_CHECK_TIMEOUT;
use crate::playbook::{self, load::BUILTIN};
use crate::plugins::registry;

/// `list`: built-in playbooks, fragments and step types.
pub fn list() -> ExitCode {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Built-in playbooks (greptime-self-test <component> -c FILE):"
    );
    for (name, text) in BUILTIN.iter().filter(|(n, _)| !n.contains('/')) {
        let _ = writeln!(out, "  {name:<12} {}", description(text));
    }
    let _ = writeln!(out, "\nBuilt-in fragments (include: [name]):");
    for (name, text) in BUILTIN
        .iter()
        .filter_map(|(n, t)| Some((n.strip_prefix("fragments/")?, t)))
    {
        let _ = writeln!(out, "  {name:<24} {}", description(text));
    }
    let _ = writeln!(out, "\nStep types (greptime-self-test explain TYPE):");
    for step in registry::all() {
        let _ = writeln!(out, "  {:<22} {}", step.name(), step.summary());
    }
    print_stdout(&out);
    ExitCode::from(exit::OK)
}

fn description(yaml: &str) -> String {
    serde_yaml::from_str::<serde_yaml::Value>(yaml)
        .ok()
        .and_then(|v| v.get("description")?.as_str().map(str::to_string))
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `explain TYPE`: parameters, output fields and an example.
pub fn explain(name: &str) -> Result<ExitCode, Failure> {
    let Some(step) = registry::get(name) else {
        let mut d = Diagnostic::new("unknown step type", format!("`{name}` is not a step type"));
        d = d.with_hint(
            did_you_mean(name, registry::all().map(|s| s.name()))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| "run `greptime-self-test list`".into()),
        );
        return Err(Failure::bad_input(d));
    };
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}\n", step.name(), step.summary());
    let _ = writeln!(
        out,
        "In a cluster run: {}\n",
        if step.shareable() {
            "nodes that would run it with equal parameters run it once and share the outcome"
        } else {
            "each node runs its own"
        }
    );
    let _ = writeln!(out, "Parameters (step.with):");
    print_fields(&mut out, &step.params_schema());
    let _ = writeln!(
        out,
        "\nOutput fields (usable in assert, outcomes, message and capture):"
    );
    print_fields(&mut out, &step.output_schema());
    let _ = writeln!(
        out,
        "\nExample:\n  step:\n    type: {}\n    with:",
        step.name()
    );
    for line in step.example().lines() {
        let _ = writeln!(out, "      {line}");
    }
    print_stdout(&out);
    Ok(ExitCode::from(exit::OK))
}

fn print_fields(out: &mut String, schema: &schemars::Schema) {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else {
        let _ = writeln!(out, "  (none)");
        return;
    };
    for (name, prop) in props {
        let kind = type_name(prop);
        let flag = if required.contains(&name.as_str()) {
            ", required"
        } else {
            ""
        };
        let doc = prop
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        let _ = writeln!(out, "  {name} ({kind}{flag})");
        for line in doc.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
}

fn type_name(prop: &serde_json::Value) -> String {
    match prop.get("type") {
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(serde_json::Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        _ if prop.get("$ref").is_some() || prop.get("anyOf").is_some() => "object".into(),
        _ => "any".into(),
    }
}

/// `validate PLAYBOOK…`: every problem with file:line:col; exit 2 if any.
pub fn validate(paths: &[PathBuf]) -> Result<ExitCode, Failure> {
    let mut out = String::new();
    for path in paths {
        let playbook = playbook::load_file(path)?;
        ensure_valid(&playbook)?;
        let _ = writeln!(
            out,
            "{}: ok ({} checks, {} cleanup)",
            path.display(),
            playbook.checks.len(),
            playbook.cleanup.len()
        );
    }
    print_stdout(&out);
    Ok(ExitCode::from(exit::OK))
}

/// `render PLAYBOOK -c FILE`: the resolved plan, secrets masked, nothing executed.
pub fn render(
    target: &str,
    config_args: &ConfigArgs,
    component: Option<Component>,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    let playbook = match Component::ALL.iter().find(|c| c.as_str() == target) {
        Some(c) => playbook::load_builtin(*c)?,
        None => playbook::load_file(Path::new(target))?,
    };
    ensure_valid(&playbook)?;
    let engine = Engine::new(masker.clone());
    let component = component_of(&playbook, component)?;
    let config = load_config(component, config_args, ctx)?;
    let opts = RunOptions {
        jobs: Arc::new(Semaphore::new(1)),
        progress: None,
        node: None,
        overall_timeout: DEFAULT_CHECK_TIMEOUT,
        answer_timeout: None,
        read_only: true,
        options: TemplateOptions {
            include_performance: false,
            read_only: true,
            local_host: true,
        }
        .to_map(),
        var_overrides: var_overrides(&config_args.vars)?,
        run_id: new_run_id(),
        shared: None,
        observer: None,
    };
    let plan = engine.plan(&playbook, &config, &opts)?;
    let text = serde_yaml::to_string(&plan).map_err(|e| Failure {
        code: exit::INTERNAL,
        diagnostics: vec![Diagnostic::new("cannot render plan", e.to_string())],
    })?;
    print_stdout(&masker.mask(&text));
    Ok(ExitCode::from(exit::OK))
}

/// `schema playbook|report|inventory`: the generated JSON Schema.
pub fn schema(which: SchemaKind) -> ExitCode {
    let schema = match which {
        SchemaKind::Playbook => playbook::schema::playbook_schema(),
        SchemaKind::Report => crate::report::report_schema(),
        SchemaKind::Inventory => crate::inventory::inventory_schema(),
    };
    print_stdout(&format!(
        "{}\n",
        serde_json::to_string_pretty(&schema).expect("schema serializes")
    ));
    ExitCode::from(exit::OK)
}

/// Writes to stdout; a reader that went away (`| head`) is not an error worth a panic.
fn print_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
