//! `schemas/playbook.schema.json`, generated from the model types and the step registry, so
//! editors can complete and validate `step.with` per step type.

use serde_json::{json, Map, Value};

use super::model::Playbook;
use crate::plugins::registry;

/// The playbook JSON Schema: the model, plus one `if type == X then with: ParamsOf<X>` rule
/// per registered step type.
pub fn playbook_schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(Playbook);
    let mut rules = Vec::new();
    let mut extra_defs = Map::new();
    for step in registry::all() {
        let mut params = step.params_schema().to_value();
        if let Some(obj) = params.as_object_mut() {
            obj.remove("$schema");
            if let Some(Value::Object(defs)) = obj.remove("$defs") {
                merge_defs(&mut extra_defs, defs, step.name());
            }
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
    #[test]
    fn schema_builds_without_definition_clashes() {
        let schema = super::playbook_schema();
        assert!(schema.get("$defs").and_then(|d| d.get("StepDef")).is_some());
    }
}
