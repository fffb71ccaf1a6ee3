//! Limits enforced on every incoming message before anything reaches a handler.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why these defaults: a 1 MiB JSON echo and 10 MiB binary bodies are ordinary for
/// content-creation tools; 64 levels of nesting is far past any real pydantic model while
/// keeping every recursive parser downstream (serde_json, jiter, JS) safe; 100,000 items in
/// one container bounds the Python objects a single message can materialize.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    /// Largest accepted message, in bytes. Larger ones get `payload_too_large` unparsed.
    pub max_message_bytes: usize,
    /// Deepest accepted nesting of arrays/objects, the envelope included.
    pub max_depth: usize,
    /// Most items (array elements or object keys) in any one container.
    pub max_container_items: usize,
    /// Most calls awaiting their reply on one connection; more get `overloaded`.
    pub max_in_flight: usize,
    /// Longest method or event name, in bytes.
    pub max_name_bytes: usize,
    /// Longest string call id, in bytes.
    pub max_id_bytes: usize,
    /// Python→JS events held while no open connection matches their target (oldest dropped
    /// past this, counted; see `ipc/held.rs`).
    pub max_backlog_events: usize,
    /// Most bytes of raw attachments in one binary frame (docs/binary.md), all together.
    pub max_binary_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 32 * 1024 * 1024,
            max_depth: 64,
            max_container_items: 100_000,
            max_in_flight: 10_000,
            max_name_bytes: 256,
            max_id_bytes: 128,
            max_backlog_events: 10_000,
            max_binary_bytes: 512 * 1024 * 1024,
        }
    }
}
