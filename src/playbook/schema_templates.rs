//! Templates in the playbook schema. The loader renders every string of `step.with`, at any
//! depth ([`Templates::render_value`](super::template::Templates::render_value)): a string that
//! is one `{{ expression }}` becomes the expression's value, of any type; any other string
//! becomes the rendered string. Each step's parameter schema describes the rendered value, so
//! without this an editor rejects `tls: "{{ vars.backend_tls }}"` that the tool runs.
//!
//! Every value position of a parameter schema (each property, array item and map value, also
//! inside the step's `$defs`) becomes `anyOf: [<typed>, <template>]`: the typed branch keeps
//! its enum values, object fields and required keys for completion and validation, and the
//! description stays outside so editors still show it. The template branch is
//! [`EXPRESSION_DEF`] where the typed form takes no string, and the wider [`TEMPLATE_DEF`] where
//! it takes some strings but not all (an enum): there a mixed template such as `"{{ p }}_store"`
//! renders to a string the step checks when it runs. A position that takes every string is
//! left alone. Step types, check fields and vars are not rendered, so they are not widened.

use serde_json::{json, Map, Value};

use super::template::SOLE_EXPRESSION_PATTERN;

/// `$defs` name of a string that is one `{{ expression }}`.
pub const EXPRESSION_DEF: &str = "TemplateExpression";
/// `$defs` name of any string with template syntax.
pub const TEMPLATE_DEF: &str = "TemplateString";

/// Keywords that describe a position without constraining it; they stay outside the `anyOf`.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// The definitions the wrapped positions refer to.
pub fn template_defs() -> Map<String, Value> {
    let mut defs = Map::new();
    defs.insert(
        EXPRESSION_DEF.into(),
        json!({
            "description": "A single `{{ expression }}`: the parameter takes the expression's \
                value with its type (list, number, mapping…), checked when the step runs.",
            "type": "string",
            "pattern": SOLE_EXPRESSION_PATTERN,
            // VS Code's message for a string that fails the pattern, instead of the pattern
            "patternErrorMessage": "not this parameter's type, nor one `{{ expression }}` \
                (text around a template makes the value a string)",
        }),
    );
    defs.insert(
        TEMPLATE_DEF.into(),
        json!({
            "description": "A template (`{{ … }}` or `{% … %}`): rendered when the step runs, \
                then checked against the parameter's type.",
            "type": "string",
            "pattern": r"\{\{|\{%",
        }),
    );
    defs
}

/// Lets every value position of one step's parameter schema (`params`, the schema of `with`,
/// itself always a mapping) and of the step's own `defs` accept a template.
pub fn accept_templates(params: &mut Value, defs: &mut Map<String, Value>) {
    let lookup = defs.clone();
    nested(params, &lookup);
    for def in defs.values_mut() {
        nested(def, &lookup);
    }
}

/// Wraps the value positions below `schema` (not `schema` itself).
fn nested(schema: &mut Value, defs: &Map<String, Value>) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = obj.get_mut(key) {
            props.values_mut().for_each(|p| position(p, defs));
        }
    }
    for key in ["additionalProperties", "items"] {
        if let Some(sub) = obj.get_mut(key) {
            position(sub, defs);
        }
    }
    if let Some(Value::Array(items)) = obj.get_mut("prefixItems") {
        items.iter_mut().for_each(|i| position(i, defs));
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = obj.get_mut(key) {
            branches.iter_mut().for_each(|b| nested(b, defs));
        }
    }
}

/// Makes one value position accept a template, after its own nested positions.
fn position(schema: &mut Value, defs: &Map<String, Value>) {
    nested(schema, defs);
    if takes_every_string(schema, defs) {
        return;
    }
    let branch = if takes_a_string(schema, defs) {
        TEMPLATE_DEF
    } else {
        EXPRESSION_DEF
    };
    let branch = json!({ "$ref": format!("#/$defs/{branch}") });
    let Value::Object(obj) = schema else {
        return; // `false`: nothing is allowed here, not even a template
    };
    let (mut outer, typed): (Map<_, _>, Map<_, _>) = std::mem::take(obj)
        .into_iter()
        .partition(|(k, _)| ANNOTATIONS.contains(&k.as_str()));
    let any_of = match typed.get("anyOf") {
        Some(Value::Array(branches)) if typed.len() == 1 => {
            let mut branches = branches.clone();
            branches.push(branch);
            branches
        }
        _ => vec![Value::Object(typed), branch],
    };
    outer.insert("anyOf".into(), Value::Array(any_of));
    *obj = outer;
}

/// The definition a `$ref` names; generated schemas only refer into their own `$defs`.
fn resolve<'a>(reference: &Value, defs: &'a Map<String, Value>) -> &'a Value {
    reference
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.get(name))
        .unwrap_or_else(|| panic!("step parameter schema refers to {reference}, not in its $defs"))
}

fn type_allows(schema: &Map<String, Value>, name: &str) -> bool {
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => t == name,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == name),
        Some(_) => false,
    }
}

/// Whether the schema surely takes every string (when unsure: no, and the position is wrapped,
/// which is harmless).
fn takes_every_string(schema: &Value, defs: &Map<String, Value>) -> bool {
    let obj = match schema {
        Value::Bool(b) => return *b,
        Value::Object(obj) => obj,
        _ => return false,
    };
    const LIMITS: &[&str] = &[
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "format",
        "not",
        "oneOf",
        "allOf",
    ];
    type_allows(obj, "string")
        && !LIMITS.iter().any(|k| obj.contains_key(*k))
        && obj
            .get("$ref")
            .is_none_or(|r| takes_every_string(resolve(r, defs), defs))
        && match obj.get("anyOf") {
            Some(Value::Array(branches)) => branches.iter().any(|b| takes_every_string(b, defs)),
            _ => true,
        }
}

/// Whether the schema takes at least one string.
fn takes_a_string(schema: &Value, defs: &Map<String, Value>) -> bool {
    let obj = match schema {
        Value::Bool(b) => return *b,
        Value::Object(obj) => obj,
        _ => return false,
    };
    let branches = |key: &str| obj.get(key).and_then(Value::as_array);
    type_allows(obj, "string")
        && obj.get("const").is_none_or(Value::is_string)
        && obj
            .get("enum")
            .and_then(Value::as_array)
            .is_none_or(|values| values.iter().any(Value::is_string))
        && obj
            .get("$ref")
            .is_none_or(|r| takes_a_string(resolve(r, defs), defs))
        && branches("anyOf").is_none_or(|bs| bs.iter().any(|b| takes_a_string(b, defs)))
        && branches("oneOf").is_none_or(|bs| bs.iter().any(|b| takes_a_string(b, defs)))
        && branches("allOf").is_none_or(|bs| bs.iter().all(|b| takes_a_string(b, defs)))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;

    fn wrapped(params: Value, defs: Value) -> (Value, Map<String, Value>) {
        let mut params = params;
        let Value::Object(mut defs) = defs else {
            panic!("defs is an object")
        };
        accept_templates(&mut params, &mut defs);
        (params, defs)
    }

    fn to(def: &str) -> Value {
        json!({ "$ref": format!("#/$defs/{def}") })
    }

    #[test]
    fn each_kind_of_position_gets_the_template_it_can_take() {
        let (params, defs) = wrapped(
            json!({
                "type": "object",
                "properties": {
                    "count": {"description": "n", "type": "integer", "minimum": 1, "default": 3},
                    "addrs": {"type": "array", "items": {"type": "string"}},
                    "mode": {"description": "m", "$ref": "#/$defs/Mode"},
                    "tls": {"anyOf": [{"$ref": "#/$defs/Tls"}, {"type": "null"}]},
                    "name": {"type": ["string", "null"]},
                    "any": {"description": "anything"},
                    "ports": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
                "additionalProperties": false,
                "required": ["count"],
            }),
            json!({
                "Mode": {"oneOf": [{"const": "a"}, {"const": "b"}]},
                "Tls": {
                    "type": "object",
                    "properties": {"mode": {"$ref": "#/$defs/Mode"}, "ca": {"type": "string"}},
                    "required": ["mode"],
                },
            }),
        );
        let props = &params["properties"];
        // a number: typed or one expression; annotations stay outside
        assert_eq!(
            props["count"],
            json!({"description": "n", "default": 3, "anyOf": [
                {"type": "integer", "minimum": 1}, to(EXPRESSION_DEF)]})
        );
        // a list of strings: the list may be one expression; its items take every string
        assert_eq!(
            props["addrs"],
            json!({"anyOf": [{"type": "array", "items": {"type": "string"}}, to(EXPRESSION_DEF)]})
        );
        // an enum: its values stay, and a template may render to one of them
        assert_eq!(
            props["mode"],
            json!({"description": "m", "anyOf": [{"$ref": "#/$defs/Mode"}, to(TEMPLATE_DEF)]})
        );
        // an existing anyOf (an optional object) gets one more branch
        assert_eq!(
            props["tls"],
            json!({"anyOf": [{"$ref": "#/$defs/Tls"}, {"type": "null"}, to(EXPRESSION_DEF)]})
        );
        // positions that already take every string or anything are left alone
        assert_eq!(props["name"], json!({"type": ["string", "null"]}));
        assert_eq!(props["any"], json!({"description": "anything"}));
        // map values
        assert_eq!(
            props["ports"]["anyOf"][0]["additionalProperties"],
            json!({"anyOf": [{"type": "integer"}, to(EXPRESSION_DEF)]})
        );
        // the mapping itself keeps its closed field list and required keys
        assert_eq!(params["additionalProperties"], json!(false));
        assert_eq!(params["required"], json!(["count"]));
        // inside definitions: fields are wrapped, the definition itself is not
        assert_eq!(
            defs["Tls"]["properties"]["mode"],
            json!({"anyOf": [{"$ref": "#/$defs/Mode"}, to(TEMPLATE_DEF)]})
        );
        assert_eq!(defs["Tls"]["required"], json!(["mode"]));
        assert_eq!(
            defs["Mode"],
            json!({"oneOf": [{"const": "a"}, {"const": "b"}]})
        );
    }

    #[test]
    fn a_position_that_allows_nothing_stays_closed() {
        let (params, _) = wrapped(
            json!({"type": "object", "properties": {"never": false}}),
            json!({}),
        );
        assert_eq!(params["properties"]["never"], json!(false));
    }

    #[test]
    #[should_panic(expected = "not in its $defs")]
    fn a_dangling_reference_is_a_bug() {
        wrapped(
            json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/Gone"}}}),
            json!({}),
        );
    }
}
