//! The commands section: `*Params`/`*Result` types, the `commands` object of one-line
//! wrappers (over `@auroraview/sdk`'s typed helpers), `CommandMap` and `MockHandlers`.

use std::fmt::Write;

use serde_json::Value;

use crate::contract::Command;
use crate::decls::members;
use crate::jsdoc::jsdoc;
use crate::naming::{camel_case, identifier, pascal_case, Namespace};
use crate::types::{ts_type, Defs};
use crate::CodegenError;

/// How a command's params travel.
#[derive(Clone, Copy)]
enum Params {
    None,
    /// An object; `optional` when no member is required.
    Named {
        optional: bool,
    },
    /// Positional-only parameters, as an array.
    Positional,
}

fn params_of(cmd: &Command) -> Params {
    let p = &cmd.params;
    if p.get("type").and_then(Value::as_str) == Some("array") {
        return Params::Positional;
    }
    if p.get("properties").and_then(Value::as_object).is_none_or(|props| props.is_empty()) {
        return Params::None;
    }
    let optional = p.get("required").and_then(Value::as_array).is_none_or(|r| r.is_empty());
    Params::Named { optional }
}

fn owner(cmd: &Command, what: &str) -> String {
    match &cmd.python {
        Some(py) => format!("the {what} of command `{}` (`{py}`)", cmd.name),
        None => format!("the {what} of command `{}`", cmd.name),
    }
}

/// Claim each command's type names and wrapper key; a clash names both owners.
pub fn claim(ns: &mut Namespace, commands: &[Command]) -> Result<(), CodegenError> {
    let mut keys = Namespace::default();
    for cmd in commands {
        let pascal = pascal_case(&cmd.name);
        if !matches!(params_of(cmd), Params::None) {
            ns.claim(&format!("{pascal}Params"), owner(cmd, "params"))?;
        }
        ns.claim(&format!("{pascal}Result"), owner(cmd, "result"))?;
        keys.claim(&format!("commands.{}", camel_case(&cmd.name)), format!("command `{}`", cmd.name))?;
    }
    Ok(())
}

pub fn emit(out: &mut String, commands: &[Command], defs: &Defs<'_>) {
    let _ = writeln!(out, "// ── Commands ──────────────────────────────────────────────────────────────\n");
    let mut wrappers = String::new();
    let mut map = String::new();
    for cmd in commands {
        let wire = cmd.name.as_str();
        let pascal = pascal_case(wire);
        let params = params_of(cmd);
        match params {
            Params::Positional => {
                jsdoc(out, "", &[format!("Params of `{wire}` (positional).")]);
                let _ = writeln!(out, "export type {pascal}Params = {};\n", ts_type(&cmd.params, defs));
            }
            Params::Named { .. } => {
                jsdoc(out, "", &[format!("Params of `{wire}`.")]);
                let _ = writeln!(out, "export interface {pascal}Params {{");
                members(out, &cmd.params, "  ", false, defs);
                let _ = writeln!(out, "}}\n");
            }
            Params::None => {}
        }
        let _ = writeln!(out, "export type {pascal}Result = {};\n", ts_type(&cmd.result, defs));

        let mut doc = Vec::new();
        if let Some(d) = &cmd.doc {
            doc.push(d.clone());
        }
        doc.push(format!("Calls `{wire}`."));
        for e in &cmd.errors {
            doc.push(format!("@throws {{{}Error}} as a rejected promise", identifier(e)));
        }
        jsdoc(&mut wrappers, "  ", &doc);
        let wire_lit = serde_json::to_string(wire).unwrap_or_default();
        let (helper, params_ty) = match params {
            Params::None => ("commandWithoutParams<", "undefined".to_string()),
            Params::Named { optional: true } => ("commandWithOptionalParams<", format!("{pascal}Params")),
            Params::Named { optional: false } | Params::Positional => ("commandWithParams<", format!("{pascal}Params")),
        };
        let type_args = if matches!(params, Params::None) {
            format!("{pascal}Result")
        } else {
            format!("{params_ty}, {pascal}Result")
        };
        let _ = writeln!(wrappers, "  {}: {helper}{type_args}>({wire_lit}),", camel_case(wire));
        let _ = writeln!(map, "  {wire_lit}: {{ params: {params_ty}; result: {pascal}Result }};");
    }
    let _ = writeln!(out, "/** Typed wrappers over `auroraview.call`, one per command. */");
    let _ = writeln!(out, "export const commands = {{\n{wrappers}}} as const;\n");
    let _ = writeln!(out, "/** Every command by wire name: its params and result types. */");
    let _ = writeln!(out, "export interface CommandMap {{\n{map}}}\n");
    let _ = writeln!(
        out,
        "/** Typed handlers for `mockAuroraView<MockHandlers>({{...}})` in frontend tests. */\nexport type MockHandlers = {{\n  [K in keyof CommandMap]?: (params: CommandMap[K][\"params\"]) => CommandMap[K][\"result\"] | Promise<CommandMap[K][\"result\"]>;\n}};\n"
    );
}

/// The helpers of `@auroraview/sdk` the wrappers of `commands` use.
pub fn helpers(commands: &[Command]) -> Vec<&'static str> {
    let mut used = Vec::new();
    for cmd in commands {
        let h = match params_of(cmd) {
            Params::None => "commandWithoutParams",
            Params::Named { optional: true } => "commandWithOptionalParams",
            _ => "commandWithParams",
        };
        if !used.contains(&h) {
            used.push(h);
        }
    }
    used
}
