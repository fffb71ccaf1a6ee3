//! Encoding of host→client frames. Result and payload bytes (already JSON, produced by
//! pydantic) are spliced in verbatim: they are never parsed again on the way out.

use super::{CallId, ErrorCode, PathSeg, UnsafeInt};

/// A framework error about to be sent: name, code, message and optional JSON `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReply {
    pub name: String,
    pub code: String,
    pub message: String,
    /// Raw JSON for `error.data`; `None` encodes as `null`.
    pub data: Option<Vec<u8>>,
}

impl ErrorReply {
    /// An error the framework raises itself, named after its code.
    pub fn framework(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorReply {
            name: code.error_name().to_owned(),
            code: code.as_str().to_owned(),
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Vec<u8>) -> Self {
        self.data = Some(data);
        self
    }
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    // Writing JSON into a Vec cannot fail: serde_json only errors on I/O or non-string keys.
    let _ = serde_json::to_writer(&mut *buf, s);
}

fn push_id(buf: &mut Vec<u8>, id: &CallId) {
    match id {
        CallId::Int(n) => buf.extend_from_slice(n.to_string().as_bytes()),
        CallId::Str(s) => push_str(buf, s),
    }
}

/// `{"type":"call_result","id":…,"ok":true,"result":<result>}`
pub fn call_ok(id: &CallId, result: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(result.len() + 64);
    buf.extend_from_slice(br#"{"type":"call_result","id":"#);
    push_id(&mut buf, id);
    buf.extend_from_slice(br#","ok":true,"result":"#);
    buf.extend_from_slice(if result.is_empty() { b"null" } else { result });
    buf.push(b'}');
    buf
}

/// `{"type":"call_result","id":…,"ok":false,"error":{"name","code","message","data"}}`
pub fn call_err(id: &CallId, err: &ErrorReply) -> Vec<u8> {
    let data_len = err.data.as_ref().map_or(4, Vec::len);
    let mut buf = Vec::with_capacity(err.message.len() + data_len + 128);
    buf.extend_from_slice(br#"{"type":"call_result","id":"#);
    push_id(&mut buf, id);
    buf.extend_from_slice(br#","ok":false,"error":{"name":"#);
    push_str(&mut buf, &err.name);
    buf.extend_from_slice(br#","code":"#);
    push_str(&mut buf, &err.code);
    buf.extend_from_slice(br#","message":"#);
    push_str(&mut buf, &err.message);
    buf.extend_from_slice(br#","data":"#);
    match &err.data {
        Some(d) if !d.is_empty() => buf.extend_from_slice(d),
        _ => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b"}}");
    buf
}

/// `{"type":"item","id":…,"seq":…,"item":<item>}`
pub fn item(id: &CallId, seq: u64, item: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(item.len() + 64);
    buf.extend_from_slice(br#"{"type":"item","id":"#);
    push_id(&mut buf, id);
    buf.extend_from_slice(br#","seq":"#);
    buf.extend_from_slice(seq.to_string().as_bytes());
    buf.extend_from_slice(br#","item":"#);
    buf.extend_from_slice(if item.is_empty() { b"null" } else { item });
    buf.push(b'}');
    buf
}

/// `{"type":"event","event":…,"payload":<payload>}`
pub fn event(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(payload.len() + name.len() + 40);
    buf.extend_from_slice(br#"{"type":"event","event":"#);
    push_str(&mut buf, name);
    buf.extend_from_slice(br#","payload":"#);
    buf.extend_from_slice(if payload.is_empty() { b"null" } else { payload });
    buf.push(b'}');
    buf
}

/// A `publication`: message `offset` of `topic` in history `epoch` (docs/topics.md).
pub fn publication(topic: &str, epoch: &str, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(data.len() + topic.len() + epoch.len() + 72);
    buf.extend_from_slice(br#"{"type":"publication","topic":"#);
    push_str(&mut buf, topic);
    buf.extend_from_slice(br#","epoch":"#);
    push_str(&mut buf, epoch);
    buf.extend_from_slice(br#","offset":"#);
    buf.extend_from_slice(offset.to_string().as_bytes());
    buf.extend_from_slice(br#","data":"#);
    buf.extend_from_slice(if data.is_empty() { b"null" } else { data });
    buf.push(b'}');
    buf
}

/// The `invalid_params` error for integers JavaScript cannot represent, shaped like
/// pydantic's: `data.errors = [{type, loc, msg}]`.
pub fn unsafe_params_error(method: &str, found: &[UnsafeInt]) -> ErrorReply {
    let errors: Vec<serde_json::Value> = found
        .iter()
        .map(|u| {
            let loc: Vec<serde_json::Value> = u
                .path
                .iter()
                .map(|p| match p {
                    PathSeg::Key(k) => k.clone().into(),
                    PathSeg::Index(i) => (*i).into(),
                })
                .collect();
            serde_json::json!({
                "type": "unsafe_integer",
                "loc": loc,
                "msg": format!("Input should be an integer within ±(2^53-1); {} cannot be represented exactly in JavaScript", u.literal),
            })
        })
        .collect();
    let mut message = format!("invalid params for '{method}'");
    if let (Some(first), Some(msg)) = (found.first(), errors.first().and_then(|e| e["msg"].as_str())) {
        message.push_str(&format!(": {}: {msg}", first.dotted_path()));
    }
    if found.len() > 1 {
        message.push_str(&format!(" (and {} more)", found.len() - 1));
    }
    let data = serde_json::to_vec(&serde_json::json!({ "errors": errors })).unwrap_or_default();
    ErrorReply::framework(ErrorCode::InvalidParams, message).with_data(data)
}

/// The `internal` error for a result holding integers JavaScript cannot represent: the page
/// would silently get a different number. `found` is not empty.
pub fn unsafe_result_error(found: &[UnsafeInt]) -> ErrorReply {
    let mut message = match found.first() {
        Some(first) => format!(
            "the command returned the integer {} at {}, outside ±(2^53-1): JavaScript cannot represent it exactly \
             (return it as a string)",
            first.literal,
            first.rooted_path("result")
        ),
        None => "the command returned an integer JavaScript cannot represent".into(),
    };
    if found.len() > 1 {
        message.push_str(&format!(" (and {} more)", found.len() - 1));
    }
    ErrorReply::framework(ErrorCode::Internal, message)
}

/// `{"type":"welcome","conn":…,"heartbeat_ms":…,"protocol":…}` (network transport).
pub fn welcome(conn: u64, heartbeat_ms: u64) -> Vec<u8> {
    format!(
        r#"{{"type":"welcome","conn":{conn},"heartbeat_ms":{heartbeat_ms},"protocol":{}}}"#,
        super::PROTOCOL_VERSION
    )
    .into_bytes()
}

/// Heartbeat frames (network transport).
pub const PING: &[u8] = br#"{"type":"ping"}"#;
pub const PONG: &[u8] = br#"{"type":"pong"}"#;
