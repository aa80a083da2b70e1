//! Reading playbooks: YAML to [`Playbook`], built-ins, and fragment includes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::model::{CheckDef, Playbook, VarDef, FORMAT_VERSION};
use super::source::YamlFile;
use crate::config::Component;
use crate::diag::{Diagnostic, SourceSpan};

/// Built-in playbooks and fragments, embedded in the binary: (name, YAML).
pub const BUILTIN: &[(&str, &str)] = &[
    ("metasrv", include_str!("../../checks/metasrv.yaml")),
    ("frontend", include_str!("../../checks/frontend.yaml")),
    ("datanode", include_str!("../../checks/datanode.yaml")),
    ("flownode", include_str!("../../checks/flownode.yaml")),
    ("standalone", include_str!("../../checks/standalone.yaml")),
    ("cluster", include_str!("../../checks/cluster.yaml")),
    (
        "fragments/config_lint",
        include_str!("../../checks/fragments/config_lint.yaml"),
    ),
    (
        "fragments/metasrv_reachability",
        include_str!("../../checks/fragments/metasrv_reachability.yaml"),
    ),
    (
        "fragments/local_dirs",
        include_str!("../../checks/fragments/local_dirs.yaml"),
    ),
    (
        "fragments/bind_addresses",
        include_str!("../../checks/fragments/bind_addresses.yaml"),
    ),
    (
        "fragments/object_store",
        include_str!("../../checks/fragments/object_store.yaml"),
    ),
    (
        "fragments/kafka_brokers",
        include_str!("../../checks/fragments/kafka_brokers.yaml"),
    ),
];

/// A value and the place in a file it came from.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub def: T,
    pub file: Arc<YamlFile>,
    /// YAML path of the item, e.g. `checks[3]`.
    pub path: String,
}

impl<T> Located<T> {
    /// Span of a field below this item, e.g. `step.type`.
    pub fn span(&self, field: &str) -> Option<SourceSpan> {
        self.file.span(&join(&self.path, field))
    }
    /// Span of the key of a field below this item.
    pub fn key_span(&self, field: &str) -> Option<SourceSpan> {
        self.file.key_span(&join(&self.path, field))
    }
}

fn join(base: &str, field: &str) -> String {
    if field.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// A playbook with its includes resolved, every item tagged with its origin.
#[derive(Debug)]
pub struct LoadedPlaybook {
    pub name: String,
    pub component: Option<Component>,
    pub description: Option<String>,
    pub root: Arc<YamlFile>,
    pub vars: Vec<Located<(String, VarDef)>>,
    pub summary: IndexMap<String, String>,
    pub secrets: Vec<Located<String>>,
    pub checks: Vec<Located<CheckDef>>,
    pub cleanup: Vec<Located<CheckDef>>,
}

/// Loads the built-in playbook of a component.
pub fn load_builtin(component: Component) -> Result<LoadedPlaybook, Diagnostic> {
    let name = component.as_str();
    let text = builtin_text(name).expect("every component has a built-in playbook");
    load_source(YamlFile::new(builtin_path(name), text.to_string()), None)
}

/// Loads a playbook file. A path like `checks/datanode.yaml` that does not exist on disk
/// falls back to the embedded built-in of that name.
pub fn load_file(path: &Path) -> Result<LoadedPlaybook, Diagnostic> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => match builtin_for_path(path) {
            Some(text) => text.to_string(),
            None => {
                return Err(Diagnostic::new(
                    "cannot read playbook",
                    format!("{}: {e}", path.display()),
                )
                .with_hint(
                    "give a playbook file, or a built-in name (see `greptime-self-test list`)",
                ))
            }
        },
    };
    load_source(YamlFile::new(path.to_path_buf(), text), path.parent())
}

fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("checks/{name}.yaml"))
}

fn builtin_for_path(path: &Path) -> Option<&'static str> {
    let name = path
        .to_str()?
        .strip_prefix("checks/")?
        .strip_suffix(".yaml")?;
    builtin_text(name)
}

fn parse(file: &YamlFile) -> Result<Playbook, Diagnostic> {
    let playbook: Playbook = file.parse(
        "invalid playbook",
        "see schemas/playbook.schema.json or `greptime-self-test list`",
    )?;
    if playbook.version != FORMAT_VERSION {
        return Err(Diagnostic::new(
            "unsupported playbook version",
            format!(
                "version {} is not supported; this build reads version {FORMAT_VERSION}",
                playbook.version
            ),
        )
        .at(file.span("version")));
    }
    Ok(playbook)
}

fn load_source(file: YamlFile, dir: Option<&Path>) -> Result<LoadedPlaybook, Diagnostic> {
    let file = Arc::new(file);
    let playbook = parse(&file)?;
    let mut loaded = LoadedPlaybook {
        name: playbook.name.clone(),
        component: playbook.component,
        description: playbook.description.clone(),
        root: file.clone(),
        vars: Vec::new(),
        summary: IndexMap::new(),
        secrets: Vec::new(),
        checks: Vec::new(),
        cleanup: Vec::new(),
    };
    let mut stack = vec![file.name().to_path_buf()];
    merge(&mut loaded, playbook, file, dir, &mut stack)?;
    Ok(loaded)
}

/// Adds `playbook` (after its own includes) to `into`.
fn merge(
    into: &mut LoadedPlaybook,
    playbook: Playbook,
    file: Arc<YamlFile>,
    dir: Option<&Path>,
    stack: &mut Vec<PathBuf>,
) -> Result<(), Diagnostic> {
    for (i, include) in playbook.include.iter().enumerate() {
        let span = file.span(&format!("include[{i}]"));
        let (fragment, fragment_dir) =
            resolve_include(include, dir).map_err(|d| d.at(span.clone()))?;
        if stack.iter().any(|p| p == fragment.name()) {
            return Err(Diagnostic::new(
                "include cycle",
                format!("`{include}` is already being included"),
            )
            .at(span));
        }
        let fragment = Arc::new(fragment);
        let parsed = parse(&fragment)?;
        stack.push(fragment.name().to_path_buf());
        merge(into, parsed, fragment, fragment_dir.as_deref(), stack)?;
        stack.pop();
    }
    into.vars
        .extend(playbook.vars.into_iter().map(|(name, var)| Located {
            path: format!("vars.{name}"),
            def: (name, var),
            file: file.clone(),
        }));
    into.summary.extend(playbook.summary);
    into.secrets.extend(
        playbook
            .secrets
            .into_iter()
            .enumerate()
            .map(|(i, secret)| Located {
                def: secret,
                file: file.clone(),
                path: format!("secrets[{i}]"),
            }),
    );
    for (list, section, into) in [
        (playbook.checks, "checks", &mut into.checks),
        (playbook.cleanup, "cleanup", &mut into.cleanup),
    ] {
        into.extend(list.into_iter().enumerate().map(|(i, check)| Located {
            def: check,
            file: file.clone(),
            path: format!("{section}[{i}]"),
        }));
    }
    Ok(())
}

fn resolve_include(
    include: &str,
    dir: Option<&Path>,
) -> Result<(YamlFile, Option<PathBuf>), Diagnostic> {
    let is_path = include.contains('/') || include.ends_with(".yaml") || include.ends_with(".yml");
    if is_path {
        let path = dir.map_or_else(|| PathBuf::from(include), |d| d.join(include));
        if let Ok(text) = std::fs::read_to_string(&path) {
            let parent = path.parent().map(Path::to_path_buf);
            return Ok((YamlFile::new(path, text), parent));
        }
    }
    let name = format!(
        "fragments/{}",
        include
            .trim_start_matches("fragments/")
            .trim_end_matches(".yaml")
    );
    match builtin_text(&name) {
        Some(text) => Ok((YamlFile::new(builtin_path(&name), text.to_string()), None)),
        None => Err(Diagnostic::new(
            "unknown include",
            format!("`{include}` is neither a readable file nor a built-in fragment"),
        )
        .with_hint(format!(
            "built-in fragments: {}",
            BUILTIN
                .iter()
                .filter_map(|(n, _)| n.strip_prefix("fragments/"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn load(check: &str) -> Result<LoadedPlaybook, Diagnostic> {
        let text = format!(
            "version: 1\nname: t\nchecks:\n  - id: a\n    title: a\n    step: {{type: net.tcp_connect}}\n{check}"
        );
        load_source(YamlFile::new("t.yaml".into(), text), None)
    }

    #[test]
    fn durations_are_parsed_when_the_playbook_loads() {
        let p = load("    timeout: 1m 30s\n    retry: {attempts: 2, delay: 500ms}\n").unwrap();
        let def = &p.checks[0].def;
        assert_eq!(def.timeout, Some(Duration::from_secs(90)));
        let retry = def.retry.as_ref().unwrap();
        assert_eq!(retry.delay, Some(Duration::from_millis(500)));
        for absent in [
            "",
            "    timeout: null\n    retry: {attempts: 2, delay: ~}\n",
        ] {
            let p = load(absent).unwrap();
            let def = &p.checks[0].def;
            assert_eq!(def.timeout, None, "{absent:?}");
            assert_eq!(def.retry.as_ref().and_then(|r| r.delay), None, "{absent:?}");
        }
    }

    #[test]
    fn a_bad_duration_is_a_load_error_at_its_value() {
        for (check, line, col, text) in [
            (
                "    timeout: 10\n",
                7,
                14,
                "checks[0].timeout: invalid duration `10`",
            ),
            (
                "    retry:\n      attempts: 2\n      delay: soon\n",
                9,
                14,
                "checks[0].retry.delay: invalid duration `soon`",
            ),
        ] {
            let e = load(check).unwrap_err();
            let span = e.span.as_ref().expect("a position");
            assert_eq!((span.line, span.col), (line, col), "{check:?}: {e}");
            assert!(e.message.contains(text), "{check:?}: {e}");
        }
    }
}
