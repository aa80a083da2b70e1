//! `schemas/playbook.schema.json`, generated from the model types and the step registry, so
//! editors can complete and validate `step.with` per step type, templates included
//! ([`schema_templates`](super::schema_templates)).

use serde_json::{json, Map, Value};

use super::model::Playbook;
use super::schema_templates::{accept_templates, template_defs};
use crate::plugins::registry;

/// The playbook JSON Schema: the model, plus one `if type == X then with: ParamsOf<X>` rule
/// per registered step type, each parameter also taking a template.
pub fn playbook_schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(Playbook);
    let mut rules = Vec::new();
    let mut extra_defs = template_defs();
    for step in registry::all() {
        let mut params = step.params_schema().to_value();
        let mut defs = match params.as_object_mut().and_then(|obj| obj.remove("$defs")) {
            Some(Value::Object(defs)) => defs,
            _ => Map::new(),
        };
        accept_templates(&mut params, &mut defs);
        merge_defs(&mut extra_defs, defs, step.name());
        if let Some(obj) = params.as_object_mut() {
            obj.remove("$schema");
            obj.insert(
                "title".into(),
                json!(format!("Parameters of {}", step.name())),
            );
        }
        rules.push(json!({
            "if": { "properties": { "type": { "const": step.name() } }, "required": ["type"] },
            "then": { "properties": { "with": params } }
        }));
    }
    let root = schema.as_object_mut().expect("schema is an object");
    let defs = root
        .entry("$defs")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("$defs is an object");
    merge_defs(defs, extra_defs, "the playbook model");
    if let Some(Value::Object(step_def)) = defs.get_mut("StepDef") {
        step_def.insert("allOf".into(), Value::Array(rules));
        let names: Vec<&str> = registry::all().map(|s| s.name()).collect();
        if let Some(Value::Object(kind)) = step_def
            .get_mut("properties")
            .and_then(|p| p.get_mut("type"))
        {
            kind.insert("examples".into(), json!(names));
        }
    }
    schema
}

/// Adds step-parameter definitions to the shared `$defs`. Two different types with one name
/// would silently replace each other, so that is a bug in a plugin's type names: panic.
fn merge_defs(into: &mut Map<String, Value>, defs: Map<String, Value>, owner: &str) {
    for (name, def) in defs {
        match into.get(&name) {
            Some(existing) if *existing != def => panic!(
                "JSON Schema definition `{name}` of {owner} clashes with another type of the same \
                 name; give one of the two Rust types a more specific name"
            ),
            _ => {
                into.insert(name, def);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    #[test]
    fn schema_builds_without_definition_clashes() {
        let schema = super::playbook_schema();
        assert!(schema.get("$defs").and_then(|d| d.get("StepDef")).is_some());
    }

    /// Errors of a playbook with one check running `kind` with `with`.
    fn errors(kind: &str, with: Value) -> Vec<String> {
        let schema = super::playbook_schema();
        let validator = jsonschema::validator_for(schema.as_value()).expect("schema compiles");
        let playbook = json!({
            "version": 1,
            "name": "t",
            "checks": [{"id": "a", "title": "a", "step": {"type": kind, "with": with}}],
        });
        validator
            .iter_errors(&playbook)
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn parameters_take_their_typed_form_or_a_template() {
        for (kind, with) in [
            (
                "etcd.probe",
                json!({"endpoints": "{{ config.store_addrs }}", "tls": "{{ vars.backend_tls }}",
                       "max_txn_ops": " {{ config.max_txn_ops }} "}),
            ),
            (
                "etcd.probe",
                json!({"endpoints": ["{{ vars.a }}", "b:2379"], "tls": {"mode": "{{ m }}"},
                       "max_txn_ops": 128}),
            ),
            (
                "sql.connect",
                json!({"backend": "{{ config.backend }}", "store_addr": "postgres://h/db"}),
            ),
            (
                "sql.connect",
                json!({"backend": "{{ kind }}_store", "store_addr": "postgres://h/db"}),
            ),
        ] {
            assert_eq!(errors(kind, with.clone()), Vec::<String>::new(), "{with}");
        }
    }

    #[test]
    fn literal_mistakes_and_misplaced_templates_are_still_rejected() {
        for (kind, with) in [
            // a wrong enum value, a wrong type, a field the step lacks, a missing one
            (
                "etcd.probe",
                json!({"endpoints": ["a:1"], "tls": {"mode": "sometimes"}}),
            ),
            (
                "etcd.probe",
                json!({"endpoints": ["a:1"], "max_txn_ops": "many"}),
            ),
            ("etcd.probe", json!({"endpoints": ["a:1"], "adress": "x"})),
            ("etcd.probe", json!({"tls": {"mode": "require"}})),
            // a template that is not one expression renders to a string, never to a list
            ("etcd.probe", json!({"endpoints": "{{ a }},{{ b }}"})),
            (
                "etcd.probe",
                json!({"endpoints": ["a:1"], "max_txn_ops": "{{ n }}0"}),
            ),
        ] {
            assert!(
                !errors(kind, with.clone()).is_empty(),
                "{kind} {with} passed"
            );
        }
    }
}
