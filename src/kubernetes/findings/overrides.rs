//! Settings the resource states that something else then overrides: `SetDefaults` rewriting
//! `configMergeStrategy` and explicit `false`s, the initializer rewriting `node_id` and the
//! gRPC addresses, `template.main.args` dropping the generated flags (and the config file),
//! a `command` that is not `greptime`, environment the check cannot see.

use super::{finding, Context};
use crate::kubernetes::args::reads_config_file;
use crate::kubernetes::dbconfig;
use crate::kubernetes::defaults::{INJECTED_DATA_FIRST, OPERATOR_FIRST};
use crate::kubernetes::pods::{is_greptime, Workload};
use crate::kubernetes::rendered::{FindingSeverity, ResourceFinding};
use crate::kubernetes::resource::{ClusterSpec, LoggingSpec, PodTemplate, TracingSpec};

pub fn find(cx: &Context, out: &mut Vec<ResourceFinding>) {
    merge_strategy(cx, out);
    explicit_false(cx, out);
    for w in cx.workloads {
        initializer(w, out);
        args(cx.raw, w, out);
        env(cx, w, out);
        references(cx, w, out);
    }
}

fn merge_strategy(cx: &Context, out: &mut Vec<ResourceFinding>) {
    let Some(asked) = cx.raw.config_merge_strategy.as_deref() else {
        return;
    };
    if asked == INJECTED_DATA_FIRST {
        return;
    }
    // The keys where the two strategies differ: generated, and set by the user's config.
    let mut overlaps = Vec::new();
    for w in cx.workloads {
        for (key, _) in &w.config.generated {
            if dbconfig::has(&w.config.user, key) {
                overlaps.push(format!("{} in {}.config", key, w.field));
            }
        }
    }
    overlaps.dedup();
    let what = if asked == OPERATOR_FIRST {
        "asks for the operator's values to win".to_string()
    } else {
        format!("is `{asked}`, not a strategy the operator knows")
    };
    let effect = if overlaps.is_empty() {
        "no component config sets a key the operator generates, so nothing changes yet".into()
    } else {
        format!(
            "the configs' own values win for {}",
            overlaps
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    out.push(finding(
        "merge_strategy_overwritten",
        FindingSeverity::Warning,
        "spec.configMergeStrategy",
        format!(
            "configMergeStrategy {what}, but the operator's SetDefaults overwrites it with \
             {INJECTED_DATA_FIRST} on every reconcile: a key set in a component's config wins \
             over the value the operator generates; {effect}"
        ),
        format!(
            "remove spec.configMergeStrategy (or write {INJECTED_DATA_FIRST}), and remove from \
             the component configs the keys the operator should set"
        ),
    ));
}

/// Every component's `(field, logging, tracing)` in the resource as written.
fn components(spec: &ClusterSpec) -> Vec<(String, Option<&LoggingSpec>, Option<&TracingSpec>)> {
    let mut out = Vec::new();
    if let Some(m) = &spec.meta {
        out.push(("spec.meta".into(), m.logging.as_ref(), m.tracing.as_ref()));
    }
    if let Some(f) = &spec.frontend {
        out.push((
            "spec.frontend".into(),
            f.logging.as_ref(),
            f.tracing.as_ref(),
        ));
    }
    for (i, f) in spec.frontend_groups.iter().flatten().enumerate() {
        out.push((
            format!("spec.frontendGroups[{i}]"),
            f.logging.as_ref(),
            f.tracing.as_ref(),
        ));
    }
    if let Some(d) = &spec.datanode {
        out.push((
            "spec.datanode".into(),
            d.logging.as_ref(),
            d.tracing.as_ref(),
        ));
    }
    for (i, d) in spec.datanode_groups.iter().flatten().enumerate() {
        out.push((
            format!("spec.datanodeGroups[{i}]"),
            d.logging.as_ref(),
            d.tracing.as_ref(),
        ));
    }
    if let Some(f) = &spec.flownode {
        out.push((
            "spec.flownode".into(),
            f.logging.as_ref(),
            f.tracing.as_ref(),
        ));
    }
    out
}

/// mergo fills a `false` like an absent value: a component's `false` loses to a `true` default
/// or global setting.
fn explicit_false(cx: &Context, out: &mut Vec<ResourceFinding>) {
    let raw = cx.raw;
    let frontends = raw
        .frontend
        .iter()
        .map(|f| ("spec.frontend".to_string(), f))
        .chain(
            raw.frontend_groups
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, f)| (format!("spec.frontendGroups[{i}]"), f)),
        );
    for (field, frontend) in frontends {
        let asked_off = frontend
            .slow_query
            .as_ref()
            .is_some_and(|s| s.enabled == Some(false));
        let still_on = cx.workloads.iter().any(|w| {
            w.field == field
                && dbconfig::get(&w.config.merged, "slow_query.enable")
                    .and_then(toml::Value::as_bool)
                    == Some(true)
        });
        if asked_off && still_on {
            out.push(finding(
                "explicit_false_overridden",
                FindingSeverity::Warning,
                format!("{field}.slowQuery.enabled"),
                "slowQuery.enabled: false is filled with the default true by the operator's \
                 SetDefaults (it merges defaults over Go's empty values, and false is one), so \
                 the frontend still records slow queries (slow_query.enable = true)",
                format!(
                    "add `[slow_query]` with `enable = false` to {field}.config; the \
                     resource field cannot turn it off"
                ),
            ));
        }
    }
    let global_tracing = raw
        .tracing
        .as_ref()
        .is_some_and(|t| t.enabled == Some(true));
    let global_stdout = raw
        .logging
        .as_ref()
        .is_some_and(|l| l.only_log_to_stdout == Some(true));
    for (field, logging, tracing) in components(raw) {
        if global_tracing && tracing.is_some_and(|t| t.enabled == Some(false)) {
            out.push(finding(
                "explicit_false_overridden",
                FindingSeverity::Warning,
                format!("{field}.tracing.enabled"),
                "tracing.enabled: false is filled with the global spec.tracing.enabled: true \
                 (the operator merges global over Go's empty values, and false is one), so this \
                 component still exports traces",
                format!(
                    "turn tracing on per component instead of globally, or set \
                     `enable_otlp_tracing = false` under [logging] in {field}.config"
                ),
            ));
        }
        if global_stdout && logging.is_some_and(|l| l.only_log_to_stdout == Some(false)) {
            out.push(finding(
                "explicit_false_overridden",
                FindingSeverity::Warning,
                format!("{field}.logging.onlyLogToStdout"),
                "logging.onlyLogToStdout: false is filled with the global \
                 spec.logging.onlyLogToStdout: true, so this component writes no log files \
                 (logging.dir = \"\")",
                format!("set `dir` under [logging] in {field}.config to the log directory"),
            ));
        }
    }
}

fn initializer(w: &Workload, out: &mut Vec<ResourceFinding>) {
    if w.initializer.is_none() {
        return;
    }
    let overridden: Vec<&str> = ["node_id", "grpc.bind_addr", "grpc.server_addr"]
        .into_iter()
        .filter(|k| dbconfig::has(&w.config.user, k))
        .collect();
    if overridden.is_empty() {
        return;
    }
    out.push(finding(
        "initializer_overrides",
        FindingSeverity::Warning,
        format!("{}.config", w.field),
        format!(
            "{}.config sets {}, which the operator's init container overwrites in every pod \
             (node_id from the pod ordinal, grpc.bind_addr 0.0.0.0:rpcPort, grpc.server_addr \
             the pod IP)",
            w.field,
            overridden.join(", ")
        ),
        format!(
            "remove {} from {}.config; set node ids with {}.startNodeID and the port with \
             {}.rpcPort",
            overridden.join(", "),
            w.field,
            w.field,
            w.field
        ),
    ));
}

/// Where the container's own `args` came from: the component's template or the base.
fn args_field(raw: &ClusterSpec, w: &Workload) -> String {
    let own = |t: &Option<PodTemplate>| {
        t.as_ref()
            .and_then(|t| t.main.as_ref())
            .and_then(|m| m.args.as_ref())
            .is_some_and(|a| !a.is_empty())
    };
    let component_template = match w.field.as_str() {
        "spec.meta" => raw.meta.as_ref().map(|m| &m.template),
        "spec.frontend" => raw.frontend.as_ref().map(|f| &f.template),
        "spec.datanode" => raw.datanode.as_ref().map(|d| &d.template),
        "spec.flownode" => raw.flownode.as_ref().map(|f| &f.template),
        _ => None,
    };
    let from_component = component_template.is_some_and(own)
        || w.field.contains("Groups[")
            && !raw.base.as_ref().is_some_and(|b| {
                b.main
                    .as_ref()
                    .and_then(|m| m.args.as_ref())
                    .is_some_and(|a| !a.is_empty())
            });
    if from_component {
        format!("{}.template.main.args", w.field)
    } else {
        "spec.base.main.args".into()
    }
}

fn args(raw: &ClusterSpec, w: &Workload, out: &mut Vec<ResourceFinding>) {
    let main = w.main.as_ref();
    let own = main
        .and_then(|m| m.args.as_ref())
        .is_some_and(|a| !a.is_empty());
    if own {
        let field = args_field(raw, w);
        if !reads_config_file(&w.args) {
            out.push(finding(
                "args_skip_config_file",
                FindingSeverity::Error,
                field.clone(),
                format!(
                    "template.main.args replaces every flag the operator generates, \
                     --config-file {} included, so {} run without the generated config \
                     (GreptimeDB's defaults: no metadata store, storage or WAL settings from \
                     the resource)",
                    super::super::args::CONFIG_FILE,
                    w.resource
                ),
                format!(
                    "add `--config-file {}` to {field}, or use extraArgs (appended to the \
                     generated flags) instead of args",
                    super::super::args::CONFIG_FILE
                ),
            ));
        }
        if main
            .and_then(|m| m.extra_args.as_ref())
            .is_some_and(|a| !a.is_empty())
        {
            out.push(finding(
                "extra_args_ignored",
                FindingSeverity::Warning,
                format!("{}.template.main.extraArgs", w.field),
                format!(
                    "extraArgs are appended only to the generated flags; with args set ({field}) \
                     the operator drops them for {}",
                    w.resource
                ),
                "move the extra flags into args, or remove args",
            ));
        }
    }
    let command = main.and_then(|m| m.command.clone()).unwrap_or_default();
    if let Some(program) = command.first().filter(|p| !is_greptime(p)) {
        out.push(finding(
            "command_overridden",
            FindingSeverity::Warning,
            format!("{}.template.main.command", w.field),
            format!(
                "the container runs `{program}` instead of the image's `greptime`; the rendered \
                 args are those the operator passes to it, which the check reads as greptime's"
            ),
            "remove command, or make sure it ends by running greptime with these args",
        ));
    }
}

fn env(cx: &Context, w: &Workload, out: &mut Vec<ResourceFinding>) {
    let pod = format!("{}-0", w.resource);
    for u in w.env(&pod, cx.namespace, cx.store).unresolved {
        let fix = match &u.secret {
            Some(secret) => format!(
                "add Secret `{secret}` to the input or pass `--secret {secret}=FILE`, so the \
                 check reads the variable as the pod does"
            ),
            None => "the check runs without this variable; set it with a plain value if it \
                     matters to the config"
                .to_string(),
        };
        out.push(finding(
            "env_not_resolved",
            FindingSeverity::Warning,
            format!("{}.template.main.env", w.field),
            format!(
                "{} gets `{}` from {}, which the render cannot see",
                w.resource, u.name, u.source
            ),
            fix,
        ));
    }
}

/// A `$(NAME)` in the args that names no variable of the container: the kubelet leaves it as
/// written, and greptime reads the literal text.
fn references(cx: &Context, w: &Workload, out: &mut Vec<ResourceFinding>) {
    let pod = format!("{}-0", w.resource);
    let env = w.env(&pod, cx.namespace, cx.store);
    let maybe_defined = |name: &str| {
        env.vars.contains_key(name)
            || env
                .unresolved
                .iter()
                .any(|u| match u.name.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => u.name == name,
                })
    };
    let mut undefined = Vec::new();
    for arg in crate::kubernetes::pods::command_line(w.main.as_ref(), &w.args) {
        let expanded = crate::kubernetes::env::expand(&arg, |n| env.vars.get(n).cloned());
        let mut rest = expanded.as_str();
        while let Some(start) = rest.find("$(") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            let name = &after[..end];
            if !maybe_defined(name) && !undefined.contains(&name.to_string()) {
                undefined.push(name.to_string());
            }
            rest = &after[end + 1..];
        }
    }
    if undefined.is_empty() {
        return;
    }
    let names = undefined
        .iter()
        .map(|n| format!("$({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    out.push(finding(
        "args_undefined_reference",
        FindingSeverity::Warning,
        format!("{}.template.main", w.field),
        format!(
            "the args of {} reference {names}, which is no variable of the container; the \
             kubelet leaves such a reference as written and greptime receives the literal text",
            w.resource
        ),
        "define the variable in template.main.env, or write the value in the args (`$$` \
         escapes a literal `$`)",
    ));
}
