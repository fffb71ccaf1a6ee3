//! The events section: `events.<name>` as `pageEvent<T>` (on/once/off, Python → page) or
//! `hostEvent<T>` (send, page → Python), one line each over `@auroraview/sdk`'s helpers.

use std::fmt::Write;

use crate::contract::{Direction, Event};
use crate::jsdoc::jsdoc;
use crate::naming::{camel_case, Namespace};
use crate::types::{ts_type, Defs};
use crate::CodegenError;

/// Claim each event's key in `events`; two wire names with one key is an error.
pub fn claim(events: &[Event]) -> Result<(), CodegenError> {
    let mut keys = Namespace::default();
    for e in events {
        keys.claim(&format!("events.{}", camel_case(&e.name)), format!("event `{}`", e.name))?;
    }
    Ok(())
}

pub fn emit(out: &mut String, events: &[Event], defs: &Defs<'_>) {
    let _ = writeln!(out, "// ── Events ────────────────────────────────────────────────────────────────\n");
    let mut ev = String::new();
    for e in events {
        let wire = e.name.as_str();
        let payload = ts_type(&e.payload, defs);
        let wire_lit = serde_json::to_string(wire).unwrap_or_default();
        let mut doc: Vec<String> = e.doc.iter().cloned().collect();
        let helper = match e.direction {
            Direction::ToPage => {
                doc.push(format!("Pushed by Python as `{wire}`."));
                "pageEvent"
            }
            Direction::ToHost => {
                doc.push(format!("Sent to Python's `on({wire_lit})` handlers."));
                "hostEvent"
            }
        };
        jsdoc(&mut ev, "  ", &doc);
        let _ = writeln!(ev, "  {}: {helper}<{payload}>({wire_lit}),", camel_case(wire));
    }
    let _ = writeln!(out, "/** Typed events: `on`/`once`/`off` for Python → page, `send` for page → Python. */");
    let _ = writeln!(out, "export const events = {{\n{ev}}} as const;\n");
}

/// The helpers of `@auroraview/sdk` the entries of `events` use.
pub fn helpers(events: &[Event]) -> Vec<&'static str> {
    let mut used = Vec::new();
    for h in [(Direction::ToPage, "pageEvent"), (Direction::ToHost, "hostEvent")] {
        if events.iter().any(|e| e.direction == h.0) {
            used.push(h.1);
        }
    }
    used
}
