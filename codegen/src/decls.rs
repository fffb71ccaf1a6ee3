//! The types section: one `interface` or `type` per shared definition, members with JSDoc.

use std::fmt::Write;

use serde_json::Value;

use crate::jsdoc::{doc_lines, jsdoc};
use crate::naming::{pascal_case, property_key};
use crate::types::{ts_type, Defs};

/// Properties of an object schema as TypeScript members.
pub fn members(out: &mut String, schema: &Value, indent: &str, readonly: bool, defs: &Defs<'_>) {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            jsdoc(out, indent, &doc_lines(prop));
            let optional = if required.contains(&name.as_str()) { "" } else { "?" };
            let ro =
                if readonly || prop.get("readOnly").and_then(Value::as_bool) == Some(true) { "readonly " } else { "" };
            let key = property_key(name);
            let _ = writeln!(out, "{indent}{ro}{key}{optional}: {};", ts_type(prop, defs));
        }
    }
    if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        let _ = writeln!(out, "{indent}[key: string]: {};", ts_type(extra, defs));
    }
}

fn is_plain_object(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object") && schema.get("properties").is_some()
}

/// The doc lines of a definition: its Python type when the name does not say it, a title
/// the user set, its description.
fn def_doc(name: &str, schema: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let python = schema.get("x-python").and_then(Value::as_str);
    let simple = python.map(|p| p.rsplit('.').next().unwrap_or(p));
    if let (Some(python), Some(simple)) = (python, simple) {
        let plain = pascal_case(simple);
        if name != plain && name != format!("{plain}Input") {
            lines.push(format!("`{python}` in Python."));
        }
    }
    if let Some(title) = schema.get("title").and_then(Value::as_str) {
        let expected = simple.map_or_else(|| pascal_case(title) == name, |s| s == title);
        if !expected {
            lines.push(format!("{title}."));
        }
    }
    lines.extend(doc_lines(schema));
    lines
}

/// Emit every definition, in `$defs` order (sorted by name by the contract builder).
pub fn emit(out: &mut String, defs: &Defs<'_>) {
    let Some(schemas) = defs.schemas.filter(|s| !s.is_empty()) else { return };
    let _ = writeln!(out, "// ── Types ─────────────────────────────────────────────────────────────────\n");
    for (key, schema) in schemas {
        let name = &defs.names[key.as_str()];
        jsdoc(out, "", &def_doc(name, schema));
        if is_plain_object(schema) {
            let readonly = schema.get("readOnly").and_then(Value::as_bool) == Some(true);
            let _ = writeln!(out, "export interface {name} {{");
            members(out, schema, "  ", readonly, defs);
            let _ = writeln!(out, "}}\n");
        } else {
            let _ = writeln!(out, "export type {name} = {};\n", ts_type(schema, defs));
        }
    }
}
