//! The commands section: `*Params`/`*Result`/`*Item` types, the `commands` object of
//! one-line wrappers (over `@auroraview/sdk`'s typed helpers), `CommandMap` and
//! `MockHandlers`.
//!
//! Three kinds of command (docs/streams.md): a call (`commandWith*Params`, a promise of its
//! `*Result`); a stream (`streamWith*Params`, an `ItemStream` of its `*Item`s, no `*Result`:
//! its end is the end of the iteration); a call with a channel parameter
//! (`commandWithChannel`: its params get the channel as a required callback taking `*Item`).

use std::fmt::Write;

use serde_json::Value;

use crate::contract::{ChannelDecl, Command};
use crate::decls::members;
use crate::jsdoc::jsdoc;
use crate::naming::{camel_case, identifier, pascal_case, property_key, Namespace};
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

/// What a command gives back.
#[derive(Clone, Copy)]
enum Kind<'a> {
    /// One result.
    Call,
    /// Items (this schema), then the end.
    Stream(&'a Value),
    /// Items through a channel parameter, then one result.
    Channel(&'a ChannelDecl),
}

fn kind_of(cmd: &Command) -> Kind<'_> {
    match (&cmd.stream, &cmd.channel) {
        (Some(item), _) => Kind::Stream(item),
        (None, Some(channel)) => Kind::Channel(channel),
        (None, None) => Kind::Call,
    }
}

fn params_of(cmd: &Command) -> Params {
    let p = &cmd.params;
    if p.get("type").and_then(Value::as_str) == Some("array") {
        // A channel with positional params is refused by `Contract::parse`.
        return Params::Positional;
    }
    if cmd.channel.is_some() {
        // The callback is a required member, whatever the other params are.
        return Params::Named { optional: false };
    }
    if p.get("properties").and_then(Value::as_object).is_none_or(|props| props.is_empty()) {
        return Params::None;
    }
    let optional = p.get("required").and_then(Value::as_array).is_none_or(|r| r.is_empty());
    Params::Named { optional }
}

fn owner(cmd: &Command, what: &str) -> String {
    format!("the {what} of {}", cmd.label())
}

/// Claim each command's type names and wrapper key; a clash names both owners.
pub fn claim(ns: &mut Namespace, commands: &[Command]) -> Result<(), CodegenError> {
    let mut keys = Namespace::default();
    for cmd in commands {
        let pascal = pascal_case(&cmd.name);
        if !matches!(params_of(cmd), Params::None) {
            ns.claim(&format!("{pascal}Params"), owner(cmd, "params"))?;
        }
        match kind_of(cmd) {
            Kind::Call => ns.claim(&format!("{pascal}Result"), owner(cmd, "result"))?,
            Kind::Stream(_) => ns.claim(&format!("{pascal}Item"), owner(cmd, "stream items"))?,
            Kind::Channel(_) => {
                ns.claim(&format!("{pascal}Result"), owner(cmd, "result"))?;
                ns.claim(&format!("{pascal}Item"), owner(cmd, "channel items"))?;
            }
        }
        keys.claim(&format!("commands.{}", camel_case(&cmd.name)), format!("command `{}`", cmd.name))?;
    }
    Ok(())
}

/// The params interface of a command with named params (and the channel callback).
fn params_interface(out: &mut String, cmd: &Command, pascal: &str, defs: &Defs<'_>) {
    jsdoc(out, "", &[format!("Params of `{}`.", cmd.name)]);
    let _ = writeln!(out, "export interface {pascal}Params {{");
    members(out, &cmd.params, "  ", false, defs);
    if let Some(channel) = &cmd.channel {
        jsdoc(out, "  ", &["Called with each item the command sends, before it returns.".into()]);
        let _ = writeln!(out, "  {}: (item: {pascal}Item) => void;", property_key(&channel.param));
    }
    let _ = writeln!(out, "}}\n");
}

pub fn emit(out: &mut String, commands: &[Command], defs: &Defs<'_>) {
    let _ = writeln!(out, "// ── Commands ──────────────────────────────────────────────────────────────\n");
    let mut wrappers = String::new();
    let mut map = String::new();
    // Mock handlers of streams and channel commands (calls share one mapped type).
    let mut special_keys = Vec::new();
    let mut special_mocks = String::new();
    for cmd in commands {
        let wire = cmd.name.as_str();
        let wire_lit = serde_json::to_string(wire).unwrap_or_default();
        let pascal = pascal_case(wire);
        let params = params_of(cmd);
        let kind = kind_of(cmd);
        match params {
            Params::Positional => {
                jsdoc(out, "", &[format!("Params of `{wire}` (positional).")]);
                let _ = writeln!(out, "export type {pascal}Params = {};\n", ts_type(&cmd.params, defs));
            }
            Params::Named { .. } => params_interface(out, cmd, &pascal, defs),
            Params::None => {}
        }
        match kind {
            Kind::Call => {}
            Kind::Stream(item) => {
                jsdoc(out, "", &[format!("An item of the stream `{wire}`.")]);
                let _ = writeln!(out, "export type {pascal}Item = {};\n", ts_type(item, defs));
            }
            Kind::Channel(channel) => {
                jsdoc(out, "", &[format!("An item `{wire}` sends through its `{}` callback.", channel.param)]);
                let _ = writeln!(out, "export type {pascal}Item = {};\n", ts_type(&channel.item, defs));
            }
        }
        if !matches!(kind, Kind::Stream(_)) {
            let _ = writeln!(out, "export type {pascal}Result = {};\n", ts_type(&cmd.result, defs));
        }

        let mut doc = Vec::new();
        if let Some(d) = &cmd.doc {
            doc.push(d.clone());
        }
        let throws = match kind {
            Kind::Call => {
                doc.push(format!("Calls `{wire}`."));
                "as a rejected promise"
            }
            Kind::Stream(_) => {
                doc.push(format!("Streams `{wire}`: iterate with `for await`; `break` or the signal cancels it."));
                doc.push("It has no result: the iteration ends when the command returns.".into());
                "from the `for await` loop, ending the stream"
            }
            Kind::Channel(channel) => {
                doc.push(format!(
                    "Calls `{wire}`; `{}` is called with each item it sends, before the promise resolves.",
                    channel.param
                ));
                "as a rejected promise"
            }
        };
        for e in &cmd.errors {
            doc.push(format!("@throws {{{}Error}} {throws}", identifier(e)));
        }
        jsdoc(&mut wrappers, "  ", &doc);

        let params_ty = match params {
            Params::None => "undefined".to_string(),
            _ => format!("{pascal}Params"),
        };
        let variant = match params {
            Params::None => "WithoutParams",
            Params::Named { optional: true } => "WithOptionalParams",
            Params::Named { optional: false } | Params::Positional => "WithParams",
        };
        let value_ty = match kind {
            Kind::Stream(_) => format!("{pascal}Item"),
            _ => format!("{pascal}Result"),
        };
        let type_args =
            if matches!(params, Params::None) { value_ty.clone() } else { format!("{params_ty}, {value_ty}") };
        let key = camel_case(wire);
        let entry = match kind {
            Kind::Call => {
                let prefix = if cmd.binary { "binaryCommand" } else { "command" };
                let _ = writeln!(wrappers, "  {key}: {prefix}{variant}<{type_args}>({wire_lit}),");
                format!("params: {params_ty}; result: {pascal}Result")
            }
            Kind::Stream(_) => {
                let _ = writeln!(wrappers, "  {key}: stream{variant}<{type_args}>({wire_lit}),");
                let _ = writeln!(
                    special_mocks,
                    "  {wire_lit}?: (params: {params_ty}) => Iterable<{pascal}Item> | AsyncIterable<{pascal}Item>;"
                );
                special_keys.push(wire_lit.clone());
                format!("params: {params_ty}; result: null; item: {pascal}Item")
            }
            Kind::Channel(channel) => {
                let param_lit = serde_json::to_string(&channel.param).unwrap_or_default();
                let _ = writeln!(wrappers, "  {key}: commandWithChannel<{type_args}>({wire_lit}, {param_lit}),");
                let _ = writeln!(
                    special_mocks,
                    "  {wire_lit}?: (params: Omit<{params_ty}, {param_lit}>, channel: (item: {pascal}Item) => void) => \
                     {pascal}Result | Promise<{pascal}Result>;"
                );
                special_keys.push(wire_lit.clone());
                format!("params: {params_ty}; result: {pascal}Result; item: {pascal}Item")
            }
        };
        let _ = writeln!(map, "  {wire_lit}: {{ {entry} }};");
    }
    let _ = writeln!(out, "/** Typed wrappers over `auroraview.call`, one per command. */");
    let _ = writeln!(out, "export const commands = {{\n{wrappers}}} as const;\n");
    if special_keys.is_empty() {
        let _ = writeln!(out, "/** Every command by wire name: its params and result types. */");
    } else {
        let _ = writeln!(
            out,
            "/** Every command by wire name: its params and result types, and the type of the items of a \
             stream or a channel. */"
        );
    }
    let _ = writeln!(out, "export interface CommandMap {{\n{map}}}\n");
    let _ = writeln!(out, "/** Typed handlers for `mockAuroraView<MockHandlers>({{...}})` in frontend tests. */");
    let call_handler =
        "(params: CommandMap[K][\"params\"]) => CommandMap[K][\"result\"] | Promise<CommandMap[K][\"result\"]>";
    if special_keys.is_empty() {
        let _ = writeln!(out, "export type MockHandlers = {{\n  [K in keyof CommandMap]?: {call_handler};\n}};\n");
    } else {
        // A stream's handler returns (or is) a generator; a channel command's gets the
        // channel as its second argument.
        let _ = writeln!(
            out,
            "export type MockHandlers = {{\n  [K in Exclude<keyof CommandMap, {}>]?: {call_handler};\n}} & {{\n{special_mocks}}};\n",
            special_keys.join(" | ")
        );
    }
}

/// The helpers of `@auroraview/sdk` the wrappers of `commands` use, in order of first use.
pub fn helpers(commands: &[Command]) -> Vec<&'static str> {
    let mut used = Vec::new();
    for cmd in commands {
        let params = params_of(cmd);
        let h = match (kind_of(cmd), params) {
            (Kind::Channel(_), _) => "commandWithChannel",
            (Kind::Stream(_), Params::None) => "streamWithoutParams",
            (Kind::Stream(_), Params::Named { optional: true }) => "streamWithOptionalParams",
            (Kind::Stream(_), _) => "streamWithParams",
            (Kind::Call, Params::None) if cmd.binary => "binaryCommandWithoutParams",
            (Kind::Call, Params::Named { optional: true }) if cmd.binary => "binaryCommandWithOptionalParams",
            (Kind::Call, _) if cmd.binary => "binaryCommandWithParams",
            (Kind::Call, Params::None) => "commandWithoutParams",
            (Kind::Call, Params::Named { optional: true }) => "commandWithOptionalParams",
            (Kind::Call, _) => "commandWithParams",
        };
        if !used.contains(&h) {
            used.push(h);
        }
    }
    used
}
