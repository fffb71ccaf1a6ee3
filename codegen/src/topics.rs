//! The topics section (docs/topics.md): a `<Topic>Payload` type per topic (what subscribers
//! receive) and `<Topic>PayloadInput` where clients may publish (what a publish must be), the
//! `topics` object of one-line wrappers over `@auroraview/sdk`'s `pubSubTopic`,
//! `subscribeTopic` and `publishTopic`, and `TopicMap` (wire name → payload type). A topic's
//! key is its wire name in camelCase (`scene/updates` → `topics.sceneUpdates`).

use std::fmt::Write;

use crate::contract::Topic;
use crate::jsdoc::jsdoc;
use crate::naming::{camel_case, pascal_case, Namespace};
use crate::types::{ts_type, Defs};
use crate::CodegenError;

fn owner(t: &Topic, what: &str) -> String {
    format!("the {what} of topic `{}`", t.name)
}

/// The helper a topic's wrapper uses, or none when clients may neither subscribe nor publish.
fn helper(t: &Topic) -> Option<&'static str> {
    match (t.subscribe, t.publish) {
        (true, true) => Some("pubSubTopic"),
        (true, false) => Some("subscribeTopic"),
        (false, true) => Some("publishTopic"),
        (false, false) => None,
    }
}

/// Claim each topic's type names and wrapper key; a clash names both owners.
pub fn claim(ns: &mut Namespace, topics: &[Topic]) -> Result<(), CodegenError> {
    let mut keys = Namespace::default();
    for t in topics {
        let pascal = pascal_case(&t.name);
        ns.claim(&format!("{pascal}Payload"), owner(t, "payload"))?;
        if t.publish {
            ns.claim(&format!("{pascal}PayloadInput"), owner(t, "publish payload"))?;
        }
        keys.claim(&format!("topics.{}", camel_case(&t.name)), format!("topic `{}`", t.name))?;
    }
    Ok(())
}

pub fn emit(out: &mut String, topics: &[Topic], defs: &Defs<'_>) {
    if topics.is_empty() {
        return;
    }
    let _ = writeln!(out, "// ── Topics ────────────────────────────────────────────────────────────────\n");
    let mut wrappers = String::new();
    let mut map = String::new();
    for t in topics {
        let wire = t.name.as_str();
        let wire_lit = serde_json::to_string(wire).unwrap_or_default();
        let pascal = pascal_case(wire);
        jsdoc(out, "", &[format!("A message of topic `{wire}`, as its subscribers receive it.")]);
        let _ = writeln!(out, "export type {pascal}Payload = {};\n", ts_type(&t.payload, defs));
        if t.publish {
            jsdoc(
                out,
                "",
                &[format!("What a publish to topic `{wire}` sends (fields with defaults may be left out).")],
            );
            let _ = writeln!(out, "export type {pascal}PayloadInput = {};\n", ts_type(&t.publish_payload, defs));
        }
        let _ = writeln!(map, "  {wire_lit}: {pascal}Payload;");
        let Some(helper) = helper(t) else { continue };
        let mut doc: Vec<String> = t.doc.iter().cloned().collect();
        doc.push(match (t.subscribe, t.publish) {
            (true, true) => format!("Topic `{wire}`: `subscribe(handler)` to its messages, `publish(data)` to it."),
            (true, false) => format!("Topic `{wire}`: `subscribe(handler)` to its messages (only the app publishes)."),
            _ => format!("Topic `{wire}`: `publish(data)` to it (clients may not subscribe)."),
        });
        jsdoc(&mut wrappers, "  ", &doc);
        let type_args = match (t.subscribe, t.publish) {
            (true, true) => format!("{pascal}Payload, {pascal}PayloadInput"),
            (true, false) => format!("{pascal}Payload"),
            _ => format!("{pascal}PayloadInput"),
        };
        let _ = writeln!(wrappers, "  {}: {helper}<{type_args}>({wire_lit}),", camel_case(wire));
    }
    let _ = writeln!(
        out,
        "/** Typed topics: `subscribe(handler)` where clients may subscribe, `publish(data)` where they may publish. */"
    );
    let _ = writeln!(out, "export const topics = {{\n{wrappers}}} as const;\n");
    let _ = writeln!(
        out,
        "/** Every topic by wire name: the type of its messages (`mockAuroraView<MockHandlers, TopicMap>`). */"
    );
    let _ = writeln!(out, "export interface TopicMap {{\n{map}}}\n");
}

/// The helpers of `@auroraview/sdk` the entries of `topics` use, in order of first use.
pub fn helpers(topics: &[Topic]) -> Vec<&'static str> {
    let mut used = Vec::new();
    for h in topics.iter().filter_map(helper) {
        if !used.contains(&h) {
            used.push(h);
        }
    }
    used
}
