//! JSON Schema (as pydantic writes it) → a TypeScript type expression.

use serde_json::Value;

use super::naming::{property_key, type_name};

fn literal(v: &Value) -> String {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
            serde_json::to_string(v).unwrap_or_default()
        }
        _ => "unknown".into(),
    }
}

fn union(parts: Vec<String>) -> String {
    let mut seen = Vec::new();
    for p in parts {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    match seen.len() {
        0 => "never".into(),
        1 => seen.remove(0),
        _ => seen.join(" | "),
    }
}

/// Wrap a type that contains a top-level union or function so it can take `[]`.
fn atom(t: String) -> String {
    if t.contains(" | ") || t.contains("=>") {
        format!("({t})")
    } else {
        t
    }
}

fn object_type(schema: &Value) -> String {
    let props = schema.get("properties").and_then(Value::as_object);
    let extra = schema.get("additionalProperties");
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match props {
        Some(props) if !props.is_empty() => {
            let mut members: Vec<String> = props
                .iter()
                .map(|(k, v)| {
                    let opt = if required.contains(&k.as_str()) { "" } else { "?" };
                    format!("{}{opt}: {}", property_key(k), ts_type(v))
                })
                .collect();
            if let Some(e) = extra.filter(|v| v.is_object()) {
                members.push(format!("[key: string]: {}", ts_type(e)));
            }
            format!("{{ {} }}", members.join("; "))
        }
        _ => match extra {
            Some(e) if e.is_object() => format!("Record<string, {}>", ts_type(e)),
            Some(Value::Bool(false)) => "Record<string, never>".into(),
            _ => "Record<string, unknown>".into(),
        },
    }
}

/// The TypeScript type for one schema.
pub fn ts_type(schema: &Value) -> String {
    let Some(obj) = schema.as_object() else {
        return if schema == &Value::Bool(false) { "never".into() } else { "unknown".into() };
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return type_name(r.rsplit('/').next().unwrap_or(r));
    }
    if let Some(c) = obj.get("const") {
        return literal(c);
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return union(values.iter().map(literal).collect());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = obj.get(key).and_then(Value::as_array) {
            return union(options.iter().map(ts_type).collect());
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        return if all.len() == 1 {
            ts_type(&all[0])
        } else {
            all.iter().map(|s| atom(ts_type(s))).collect::<Vec<_>>().join(" & ")
        };
    }
    match obj.get("type") {
        Some(Value::Array(types)) => union(
            types
                .iter()
                .map(|t| {
                    let mut single = obj.clone();
                    single.insert("type".into(), t.clone());
                    ts_type(&Value::Object(single))
                })
                .collect(),
        ),
        Some(Value::String(t)) => match t.as_str() {
            "string" => "string".into(),
            "integer" | "number" => "number".into(),
            "boolean" => "boolean".into(),
            "null" => "null".into(),
            "array" => {
                if let Some(prefix) = obj.get("prefixItems").and_then(Value::as_array) {
                    let mut items: Vec<String> = prefix.iter().map(ts_type).collect();
                    if let Some(rest) = obj.get("items").filter(|i| i.is_object()) {
                        items.push(format!("...{}[]", atom(ts_type(rest))));
                    }
                    format!("[{}]", items.join(", "))
                } else {
                    let item = obj.get("items").map_or_else(|| "unknown".to_string(), ts_type);
                    format!("{}[]", atom(item))
                }
            }
            "object" => object_type(schema),
            _ => "unknown".into(),
        },
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::ts_type;
    use serde_json::json;

    #[test]
    fn types() {
        assert_eq!(ts_type(&json!({"type": "integer"})), "number");
        assert_eq!(ts_type(&json!({"anyOf": [{"type": "string"}, {"type": "null"}]})), "string | null");
        assert_eq!(
            ts_type(&json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}})),
            "(string | null)[]"
        );
        assert_eq!(ts_type(&json!({"enum": ["a", "b"]})), "\"a\" | \"b\"");
        assert_eq!(ts_type(&json!({"const": 3})), "3");
        assert_eq!(ts_type(&json!({"$ref": "#/$defs/Node-Input"})), "NodeInput");
        assert_eq!(
            ts_type(&json!({"type": "object", "additionalProperties": {"type": "number"}})),
            "Record<string, number>"
        );
        assert_eq!(
            ts_type(&json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "maxItems": 2})),
            "[number, string]"
        );
        assert_eq!(ts_type(&json!({})), "unknown");
        assert_eq!(ts_type(&json!({"type": ["string", "null"]})), "string | null");
    }
}
