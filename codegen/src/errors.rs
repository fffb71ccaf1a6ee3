//! The errors section: one `InvokeErrorOf<name, code, data>` per declared error and their
//! union, `DeclaredError`, for `switch (err.name)`.

use std::fmt::Write;

use crate::contract::ErrorDecl;
use crate::jsdoc::jsdoc;
use crate::naming::{identifier, Namespace};
use crate::types::{ts_type, Defs};
use crate::CodegenError;

fn error_type(e: &ErrorDecl) -> String {
    format!("{}Error", identifier(&e.name))
}

pub fn claim(ns: &mut Namespace, errors: &[ErrorDecl]) -> Result<(), CodegenError> {
    for e in errors {
        ns.claim(&error_type(e), format!("the error class `{}`", e.name))?;
    }
    Ok(())
}

pub fn emit(out: &mut String, errors: &[ErrorDecl], defs: &Defs<'_>) {
    let _ = writeln!(out, "// ── Errors ────────────────────────────────────────────────────────────────\n");
    let mut names = Vec::new();
    for e in errors {
        let data = e.data.as_ref().filter(|d| !d.is_null()).map_or_else(|| "unknown".to_string(), |d| ts_type(d, defs));
        let tname = error_type(e);
        if let Some(d) = &e.doc {
            jsdoc(out, "", std::slice::from_ref(d));
        }
        let _ = writeln!(
            out,
            "export type {tname} = InvokeErrorOf<{}, {}, {data}>;\n",
            serde_json::to_string(&e.name).unwrap_or_default(),
            serde_json::to_string(&e.code).unwrap_or_default()
        );
        names.push(tname);
    }
    let union = if names.is_empty() { "never".to_string() } else { names.join(" | ") };
    let _ = writeln!(out, "/** Every error a command declares: switch on `name` (or `code`). */");
    let _ = writeln!(out, "export type DeclaredError = {union};");
}
