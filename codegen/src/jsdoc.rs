//! JSDoc blocks: from docstrings, field descriptions and what a schema says about a value.

use std::fmt::Write;

use serde_json::Value;

/// A JSDoc block (or nothing) at `indent`, from lines of text.
pub fn jsdoc(out: &mut String, indent: &str, lines: &[String]) {
    let lines: Vec<&str> = lines.iter().flat_map(|l| l.lines()).collect();
    if lines.is_empty() {
        return;
    }
    let clean = |l: &str| l.replace("*/", "*\\/");
    if lines.len() == 1 {
        let _ = writeln!(out, "{indent}/** {} */", clean(lines[0]));
        return;
    }
    let _ = writeln!(out, "{indent}/**");
    for l in lines {
        if l.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {}", clean(l));
        }
    }
    let _ = writeln!(out, "{indent} */");
}

/// The description of a schema, and what its type cannot say (format, integer range).
pub fn doc_lines(schema: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        lines.push(d.to_string());
    }
    match schema.get("format").and_then(Value::as_str) {
        // `bytes`: its type says it all (`Uint8Array`, sent raw: docs/binary.md).
        Some("binary") | None => {}
        Some(f) => lines.push(format!("Format: `{f}` (sent as a string).")),
    }
    if schema.get("type").and_then(Value::as_str) == Some("integer") {
        lines.push("An integer; exact only within ±(2^53-1).".into());
    }
    lines
}
