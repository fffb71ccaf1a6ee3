//! The contract document (what `python/auroraview/contract.py` writes), as typed structs:
//! a malformed document is one clear error before anything is emitted. JSON Schemas stay
//! `serde_json::Value` (pydantic writes an open-ended dialect; `types.rs` reads it).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::CodegenError;

/// The layout version this generator reads. Python's `auroraview.contract.CONTRACT_VERSION`
/// must equal it (`tests/python/test_codegen_names.py` checks the two agree).
pub const CONTRACT_VERSION: u64 = 5;

/// The whole document.
#[derive(Debug)]
pub struct Contract {
    pub contract_version: u64,
    pub protocol_version: Option<Value>,
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub errors: Vec<ErrorDecl>,
    pub topics: Vec<Topic>,
    /// Shared schemas, keyed by their TypeScript name; each may carry `x-python`.
    pub defs: Map<String, Value>,
}

/// A command: its wire name, params (validation mode) and result (serialization mode); a
/// stream also has the schema of its items, a command with a channel parameter the
/// parameter's name and the schema of the items it sends (docs/streams.md).
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
    /// A stream (a generator command): the schema of its items (serialization mode). Its
    /// `result` is `null`: the stream's end.
    #[serde(default)]
    pub stream: Option<Value>,
    /// A channel parameter (`Channel[T]`), which is not in `params`.
    #[serde(default)]
    pub channel: Option<ChannelDecl>,
    /// Its params or result hold `bytes` (`Uint8Array`): its calls take the raw path
    /// (docs/binary.md).
    #[serde(default)]
    pub binary: bool,
}

/// The channel parameter of a command: its name in the params object and its items' schema.
#[derive(Debug, Deserialize)]
pub struct ChannelDecl {
    pub param: String,
    pub item: Value,
}

impl Command {
    /// `command `export` (`app.export`)`, for error messages.
    pub fn label(&self) -> String {
        match &self.python {
            Some(py) => format!("command `{}` (`{py}`)", self.name),
            None => format!("command `{}`", self.name),
        }
    }

    /// What a well-formed document cannot say with its shape alone.
    fn check(&self) -> Result<(), CodegenError> {
        let fail = |why: String| Err(CodegenError(format!("contract: {}: {why}", self.label())));
        if self.binary && (self.stream.is_some() || self.channel.is_some()) {
            return fail(
                "it is binary (bytes in its params or result) and a stream or a channel command: bytes travel \
                 raw only as the params and result of a plain command (docs/binary.md)"
                    .into(),
            );
        }
        let Some(channel) = &self.channel else { return Ok(()) };
        if self.stream.is_some() {
            return fail(format!(
                "it is a stream and has a channel parameter `{}`: a command is one or the other \
                 (a stream sends its items by `yield`)",
                channel.param
            ));
        }
        if channel.param.is_empty() {
            return fail("its channel parameter has an empty name".into());
        }
        if self.params.get("type").and_then(Value::as_str) == Some("array") {
            return fail(format!(
                "its channel parameter `{}` needs named params, and its params are positional-only: \
                 channels need named params (remove the `/` from the Python signature)",
                channel.param
            ));
        }
        if self.params.get("properties").and_then(Value::as_object).is_some_and(|p| p.contains_key(&channel.param)) {
            return fail(format!("its channel parameter `{}` is also one of its params", channel.param));
        }
        Ok(())
    }
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

/// A declared topic (docs/topics.md): what its subscribers receive (serialization mode), what
/// a publish must be (validation mode), and whether clients may subscribe and publish.
#[derive(Debug, Deserialize)]
pub struct Topic {
    pub name: String,
    #[serde(default)]
    pub doc: Option<String>,
    pub payload: Value,
    pub publish_payload: Value,
    pub subscribe: bool,
    pub publish: bool,
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
    #[serde(default)]
    topics: Vec<Value>,
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
        let commands: Vec<Command> = entries("command", raw.commands)?;
        for cmd in &commands {
            cmd.check()?;
        }
        Ok(Contract {
            contract_version: raw.contract_version,
            protocol_version: raw.protocol_version,
            commands,
            events: entries("event", raw.events)?,
            errors: entries("error", raw.errors)?,
            topics: entries("topic", raw.topics)?,
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
        assert!(old.0.contains("expected 5"), "{}", old.0);
        let bad = Contract::parse(&json!({"contract_version": 5, "commands": [{"name": 3}]})).unwrap_err();
        assert!(bad.0.starts_with("contract: command #0: invalid type: integer `3`"), "{}", bad.0);
        let missing = Contract::parse(&json!({"contract_version": 5, "commands": [{"name": "rename"}]})).unwrap_err();
        assert_eq!(missing.0, "contract: command #0 (\"rename\"): missing field `params`");
        let no_list = Contract::parse(&json!({"contract_version": 5})).unwrap_err();
        assert_eq!(no_list.0, "contract: the document: missing field `commands`");
        let dir = Contract::parse(&json!({"contract_version": 5, "commands": [],
            "events": [{"name": "e", "direction": "sideways", "payload": {}}]}))
        .unwrap_err();
        assert!(dir.0.contains("sideways"), "{}", dir.0);
        assert!(Contract::parse(&json!([])).is_err());
        let v2 = Contract::parse(&json!({"contract_version": 2, "commands": []})).unwrap_err();
        assert!(v2.0.contains("contract version 2 is not supported (expected 5)"), "{}", v2.0);
    }

    #[test]
    fn topics_are_read_and_blamed_by_name() {
        let doc = json!({"contract_version": 5, "commands": [], "topics": [
            {"name": "scene/updates", "payload": {"type": "string"}, "publish_payload": {"type": "string"},
             "subscribe": true, "publish": false}]});
        let c = Contract::parse(&doc).unwrap();
        assert_eq!(
            (c.topics[0].name.as_str(), c.topics[0].subscribe, c.topics[0].publish),
            ("scene/updates", true, false)
        );
        let bad = json!({"contract_version": 5, "commands": [], "topics": [{"name": "chat/lobby", "payload": {}}]});
        let err = Contract::parse(&bad).unwrap_err();
        assert_eq!(err.0, "contract: topic #0 (\"chat/lobby\"): missing field `publish_payload`");
        // A document without topics (an app that declares none) has none.
        assert!(Contract::parse(&json!({"contract_version": 5, "commands": []})).unwrap().topics.is_empty());
    }

    fn command(extra: Value) -> Value {
        let mut cmd = json!({"name": "export", "params": {"type": "object", "properties": {"path": {"type": "string"}}},
            "result": {"type": "null"}, "python": "app.export"});
        for (k, v) in extra.as_object().unwrap() {
            cmd[k] = v.clone();
        }
        json!({"contract_version": 5, "commands": [cmd]})
    }

    #[test]
    fn streams_and_channels() {
        let c = Contract::parse(&command(json!({"stream": {"type": "integer"}}))).unwrap();
        assert_eq!(c.commands[0].stream, Some(json!({"type": "integer"})));
        assert!(c.commands[0].channel.is_none());
        let c =
            Contract::parse(&command(json!({"channel": {"param": "progress", "item": {"type": "string"}}}))).unwrap();
        let channel = c.commands[0].channel.as_ref().unwrap();
        assert_eq!((channel.param.as_str(), &channel.item), ("progress", &json!({"type": "string"})));
        // `null` is "not a stream", as an absent field.
        let c = Contract::parse(&command(json!({"stream": null, "channel": null}))).unwrap();
        assert!(c.commands[0].stream.is_none() && c.commands[0].channel.is_none());
    }

    #[test]
    fn a_malformed_stream_or_channel_is_an_error_naming_the_command() {
        let both = json!({"stream": {"type": "integer"}, "channel": {"param": "progress", "item": {}}});
        let err = Contract::parse(&command(both)).unwrap_err();
        assert_eq!(
            err.0,
            "contract: command `export` (`app.export`): it is a stream and has a channel parameter `progress`: \
             a command is one or the other (a stream sends its items by `yield`)"
        );
        let mut positional = command(json!({"channel": {"param": "progress", "item": {}}}));
        positional["commands"][0]["params"] = json!({"type": "array", "prefixItems": [{"type": "string"}]});
        let err = Contract::parse(&positional).unwrap_err();
        assert!(err.0.starts_with("contract: command `export` (`app.export`): "), "{}", err.0);
        assert!(err.0.contains("channels need named params"), "{}", err.0);
        let twice = command(json!({"channel": {"param": "path", "item": {}}}));
        let err = Contract::parse(&twice).unwrap_err();
        assert!(err.0.contains("channel parameter `path` is also one of its params"), "{}", err.0);
        let no_item = command(json!({"channel": {"param": "progress"}}));
        let err = Contract::parse(&no_item).unwrap_err();
        assert!(err.0.starts_with("contract: command #0 (\"export\"): missing field `item`"), "{}", err.0);
    }
}
