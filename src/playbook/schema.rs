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
                extra_defs.extend(defs);
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
    defs.extend(extra_defs);
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
