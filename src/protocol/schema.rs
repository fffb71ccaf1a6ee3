//! The generated JSON Schema of the protocol (`schema/protocol.schema.gen.json`).

use super::{ProtocolDocument, PROTOCOL_VERSION};

/// Path of the checked-in schema, relative to the crate root.
pub const SCHEMA_PATH: &str = "schema/protocol.schema.gen.json";

/// Render the schema exactly as it is checked in (pretty JSON, trailing newline).
pub fn render() -> String {
    let mut schema = schemars::schema_for!(ProtocolDocument);
    schema.insert(
        "$comment".into(),
        format!(
            "@generated from src/protocol by `AURORAVIEW_BLESS=1 cargo test` — DO NOT EDIT. Protocol version {PROTOCOL_VERSION}."
        )
        .into(),
    );
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}
