//! JSON Schema (as pydantic writes it) → a TypeScript type expression.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::naming::{property_key, type_name};

/// What a type expression may refer to: the shared definitions and their TypeScript names.
#[derive(Default)]
pub struct Defs<'a> {
    /// `$defs` key → TypeScript name.
    pub names: HashMap<&'a str, String>,
    pub schemas: Option<&'a Map<String, Value>>,
}

impl Defs<'_> {
    fn lookup(&self, reference: &str) -> Option<(String, Option<&Value>)> {
        let key = reference.rsplit('/').next().unwrap_or(reference);
        let name = self.names.get(key).cloned().unwrap_or_else(|| type_name(key));
        Some((name, self.schemas.and_then(|s| s.get(key))))
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
            serde_json::to_string(v).unwrap_or_default()
        }
        _ => "unknown".into(),
    }
}

/// Whether `schema` only admits string literals (a `Literal["a", "b"]`, a `str` enum, or a
/// reference to one): next to a plain `string` it names the known values of an open enum.
fn string_literals(schema: &Value, defs: &Defs<'_>, depth: usize) -> bool {
    let Some(obj) = schema.as_object() else { return false };
    if depth > 8 {
        return false;
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return defs.lookup(r).and_then(|(_, s)| s).is_some_and(|s| string_literals(s, defs, depth + 1));
    }
    if let Some(c) = obj.get("const") {
        return c.is_string();
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return !values.is_empty() && values.iter().all(Value::is_string);
    }
    if let Some(options) = obj.get("anyOf").or_else(|| obj.get("oneOf")).and_then(Value::as_array) {
        return !options.is_empty() && options.iter().all(|o| string_literals(o, defs, depth + 1));
    }
    false
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

/// A union of `options`; `string` next to known string values becomes `(string & {})`, last,
/// so editors keep suggesting the known values (TypeScript would collapse them into `string`).
fn union_of(options: &[Value], defs: &Defs<'_>) -> String {
    let mut parts: Vec<String> = options.iter().map(|o| ts_type(o, defs)).collect();
    let open = parts.iter().any(|p| p == "string") && options.iter().any(|o| string_literals(o, defs, 0));
    if open {
        parts.retain(|p| p != "string");
        parts.push("(string & {})".into());
    }
    union(parts)
}

/// Wrap a type that contains a top-level union or function so it can take `[]`.
pub fn atom(t: String) -> String {
    if t.contains(" | ") || t.contains("=>") || t.contains(" & ") {
        format!("({t})")
    } else {
        t
    }
}

/// Whether `schema` refers to a definition anywhere inside it.
fn refers(schema: &Value) -> bool {
    match schema {
        Value::Object(o) => o.contains_key("$ref") || o.values().any(refers),
        Value::Array(a) => a.iter().any(refers),
        _ => false,
    }
}

fn object_type(schema: &Value, defs: &Defs<'_>) -> String {
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
                    format!("{}{opt}: {}", property_key(k), ts_type(v, defs))
                })
                .collect();
            if let Some(e) = extra.filter(|v| v.is_object()) {
                members.push(format!("[key: string]: {}", ts_type(e, defs)));
            }
            format!("{{ {} }}", members.join("; "))
        }
        _ => match extra {
            // `Record<...>` of a named type could be a circular alias (`Json = Record<string, Json> | ...`
            // is an error); an index signature never is.
            Some(e) if e.is_object() && refers(e) => format!("{{ [key: string]: {} }}", ts_type(e, defs)),
            Some(e) if e.is_object() => format!("Record<string, {}>", ts_type(e, defs)),
            Some(Value::Bool(false)) => "Record<string, never>".into(),
            _ => "Record<string, unknown>".into(),
        },
    }
}

/// The TypeScript type for one schema.
pub fn ts_type(schema: &Value, defs: &Defs<'_>) -> String {
    let Some(obj) = schema.as_object() else {
        return if schema == &Value::Bool(false) { "never".into() } else { "unknown".into() };
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return defs.lookup(r).map(|(n, _)| n).unwrap_or_else(|| "unknown".into());
    }
    if let Some(c) = obj.get("const") {
        return literal(c);
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return union(values.iter().map(literal).collect());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = obj.get(key).and_then(Value::as_array) {
            return union_of(options, defs);
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        return if all.len() == 1 {
            ts_type(&all[0], defs)
        } else {
            all.iter().map(|s| atom(ts_type(s, defs))).collect::<Vec<_>>().join(" & ")
        };
    }
    match obj.get("type") {
        Some(Value::Array(types)) => union(
            types
                .iter()
                .map(|t| {
                    let mut single = obj.clone();
                    single.insert("type".into(), t.clone());
                    ts_type(&Value::Object(single), defs)
                })
                .collect(),
        ),
        Some(Value::String(t)) => match t.as_str() {
            // `bytes`: raw attachments, never a string (docs/binary.md).
            "string" if obj.get("format").and_then(Value::as_str) == Some("binary") => "Uint8Array".into(),
            "string" => "string".into(),
            "integer" | "number" => "number".into(),
            "boolean" => "boolean".into(),
            "null" => "null".into(),
            "array" => {
                if let Some(prefix) = obj.get("prefixItems").and_then(Value::as_array) {
                    let mut items: Vec<String> = prefix.iter().map(|p| ts_type(p, defs)).collect();
                    if let Some(rest) = obj.get("items").filter(|i| i.is_object()) {
                        items.push(format!("...{}[]", atom(ts_type(rest, defs))));
                    }
                    format!("[{}]", items.join(", "))
                } else {
                    let item = obj.get("items").map_or_else(|| "unknown".to_string(), |i| ts_type(i, defs));
                    format!("{}[]", atom(item))
                }
            }
            "object" => object_type(schema, defs),
            _ => "unknown".into(),
        },
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{ts_type, Defs};
    use serde_json::{json, Value};

    fn ts(v: Value) -> String {
        ts_type(&v, &Defs::default())
    }

    #[test]
    fn types() {
        assert_eq!(ts(json!({"type": "integer"})), "number");
        assert_eq!(ts(json!({"anyOf": [{"type": "string"}, {"type": "null"}]})), "string | null");
        assert_eq!(
            ts(json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}})),
            "(string | null)[]"
        );
        assert_eq!(ts(json!({"enum": ["a", "b"]})), "\"a\" | \"b\"");
        assert_eq!(ts(json!({"const": 3})), "3");
        assert_eq!(ts(json!({"$ref": "#/$defs/Node-Input"})), "NodeInput");
        assert_eq!(ts(json!({"type": "object", "additionalProperties": {"type": "number"}})), "Record<string, number>");
        assert_eq!(
            ts(json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "maxItems": 2})),
            "[number, string]"
        );
        assert_eq!(ts(json!({})), "unknown");
        assert_eq!(
            ts(json!({"type": "object", "additionalProperties": {"$ref": "#/$defs/Json"}})),
            "{ [key: string]: Json }"
        );
        assert_eq!(ts(json!({"type": ["string", "null"]})), "string | null");
        assert_eq!(ts(json!({"type": "string", "format": "binary"})), "Uint8Array");
        assert_eq!(
            ts(json!({"anyOf": [{"type": "string", "format": "binary"}, {"type": "null"}]})),
            "Uint8Array | null"
        );
        assert_eq!(ts(json!({"type": "array", "items": {"type": "string", "format": "binary"}})), "Uint8Array[]");
        assert_eq!(ts(json!({"type": "string", "format": "date-time"})), "string");
    }

    #[test]
    fn open_string_enums_keep_their_known_values() {
        // Union[str, Literal["a", "b"]]: pydantic writes the literal after the string.
        let open = json!({"anyOf": [{"type": "string"}, {"enum": ["a", "b"], "type": "string"}]});
        assert_eq!(ts(open), "\"a\" | \"b\" | (string & {})");
        let single = json!({"anyOf": [{"const": "auto", "type": "string"}, {"type": "string"}, {"type": "null"}]});
        assert_eq!(ts(single), "\"auto\" | null | (string & {})");
        let defs = json!({"Size": {"enum": ["s", "m"], "type": "string"}});
        let ctx = Defs { schemas: defs.as_object(), ..Defs::default() };
        let by_ref = json!({"anyOf": [{"$ref": "#/$defs/Size"}, {"type": "string"}]});
        assert_eq!(ts_type(&by_ref, &ctx), "Size | (string & {})");
        let in_array = json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"const": "x"}]}});
        assert_eq!(ts(in_array), "(\"x\" | (string & {}))[]");
        // Numbers next to a string stay a plain union.
        assert_eq!(ts(json!({"anyOf": [{"type": "string"}, {"const": 1}]})), "string | 1");
    }
}
