//! The contract document (what `python/auroraview/contract.py` writes), as typed structs:
//! a malformed document is one clear error before anything is emitted. JSON Schemas stay
//! `serde_json::Value` (pydantic writes an open-ended dialect; `types.rs` reads it).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::CodegenError;

/// The layout version this generator reads. Python's `auroraview.contract.CONTRACT_VERSION`
/// must equal it (`tests/python/test_codegen_names.py` checks the two agree).
pub const CONTRACT_VERSION: u64 = 2;

/// The whole document.
#[derive(Debug)]
pub struct Contract {
    pub contract_version: u64,
    pub protocol_version: Option<Value>,
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub errors: Vec<ErrorDecl>,
    /// Shared schemas, keyed by their TypeScript name; each may carry `x-python`.
    pub defs: Map<String, Value>,
}

/// A command: its wire name, params (validation mode) and result (serialization mode).
#[derive(Debug, Deserialize)]
pub struct Command {
    pub name: String,
    #[serde(default)]
    pub doc: Option<String>,
    pub params: Value,
    pub result: Value,
    /// Names of the declared errors (entries of `Contract::errors`).
    #[serde(default)]
    pub errors: Vec<String>,
    /// The Python function (`module.qualname`), for error messages.
    #[serde(default)]
    pub python: Option<String>,
}

/// Which way an event travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToPage,
    ToHost,
}

/// A declared event and its payload schema.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub name: String,
    pub direction: Direction,
    #[serde(default)]
    pub doc: Option<String>,
    pub payload: Value,
}

/// A declared error: `error.name`, `error.code` and the schema of `error.data`.
#[derive(Debug, Deserialize)]
pub struct ErrorDecl {
    pub name: String,
    pub code: String,
    #[serde(default)]
    pub doc: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
}

/// The document with its lists still raw, so each entry is read (and blamed) on its own.
#[derive(Deserialize)]
struct RawContract {
    contract_version: u64,
    #[serde(default)]
    protocol_version: Option<Value>,
    commands: Vec<Value>,
    #[serde(default)]
    events: Vec<Value>,
    #[serde(default)]
    errors: Vec<Value>,
    #[serde(rename = "$defs", default)]
    defs: Map<String, Value>,
}

/// Each entry of a list, or an error naming the entry: `command #2 ("rename"): missing field `params``.
fn entries<T: DeserializeOwned>(what: &str, raw: Vec<Value>) -> Result<Vec<T>, CodegenError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let label = match v.get("name").and_then(Value::as_str) {
                Some(name) => format!("{what} #{i} ({name:?})"),
                None => format!("{what} #{i}"),
            };
            T::deserialize(v).map_err(|e| CodegenError(format!("contract: {label}: {e}")))
        })
        .collect()
}

impl Contract {
    /// Read a document, checking its version before its shape (so an old document gets
    /// the version error, not a missing field).
    pub fn parse(doc: &Value) -> Result<Contract, CodegenError> {
        let Some(obj) = doc.as_object() else {
            return Err(CodegenError("contract: the document must be a JSON object".into()));
        };
        match obj.get("contract_version") {
            None => return Err(CodegenError("contract: the document has no `contract_version`".into())),
            Some(v) if v.as_u64() != Some(CONTRACT_VERSION) => {
                return Err(CodegenError(format!(
                    "contract version {v} is not supported (expected {CONTRACT_VERSION}): \
                     regenerate with the same auroraview version as this generator"
                )))
            }
            Some(_) => {}
        }
        let raw = RawContract::deserialize(doc).map_err(|e| CodegenError(format!("contract: the document: {e}")))?;
        Ok(Contract {
            contract_version: raw.contract_version,
            protocol_version: raw.protocol_version,
            commands: entries("command", raw.commands)?,
            events: entries("event", raw.events)?,
            errors: entries("error", raw.errors)?,
            defs: raw.defs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_first_then_shape() {
        let old = Contract::parse(&json!({"contract_version": 1, "commands": []})).unwrap_err();
        assert!(old.0.contains("expected 2"), "{}", old.0);
        let bad = Contract::parse(&json!({"contract_version": 2, "commands": [{"name": 3}]})).unwrap_err();
        assert!(bad.0.starts_with("contract: command #0: invalid type: integer `3`"), "{}", bad.0);
        let missing = Contract::parse(&json!({"contract_version": 2, "commands": [{"name": "rename"}]})).unwrap_err();
        assert_eq!(missing.0, "contract: command #0 (\"rename\"): missing field `params`");
        let no_list = Contract::parse(&json!({"contract_version": 2})).unwrap_err();
        assert_eq!(no_list.0, "contract: the document: missing field `commands`");
        let dir = Contract::parse(&json!({"contract_version": 2, "commands": [],
            "events": [{"name": "e", "direction": "sideways", "payload": {}}]}))
        .unwrap_err();
        assert!(dir.0.contains("sideways"), "{}", dir.0);
        assert!(Contract::parse(&json!([])).is_err());
    }
}
