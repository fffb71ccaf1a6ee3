//! Decoding of incoming messages: limits first, then the envelope only.
//!
//! `params` and `detail` are never parsed into values here: they stay borrowed raw JSON
//! and travel to Python as bytes, where pydantic parses them exactly once. Each malformed
//! case is rejected with its own message; the id is kept whenever one can be read, so the
//! caller still gets its one terminal reply.
//!
//! Lone surrogate escapes (`"\ud800"`, which JavaScript strings may hold) become `\ufffd`
//! before anything is read (`surrogate.rs`): names, ids, `params` and `detail` alike, so
//! Python receives the rewritten bytes.

use std::borrow::Cow;

use memchr::memchr2;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::scan::{scan, PathSeg, UnsafeInt};
use super::surrogate::replace_lone_surrogates;
use super::{CallId, ErrorCode, Limits, MAX_SAFE_INTEGER};

/// A decoded message from a client. Borrowed from the input buffer.
#[derive(Debug)]
pub enum Incoming<'a> {
    Call {
        id: CallId,
        method: Cow<'a, str>,
        /// Borrowed from the input, or owned when lone surrogates were replaced.
        params: Option<Cow<'a, RawValue>>,
        /// Integers in `params` that JavaScript cannot represent (paths relative to params).
        unsafe_ints: Vec<UnsafeInt>,
    },
    Event {
        event: Cow<'a, str>,
        detail: Option<Cow<'a, RawValue>>,
    },
    Cancel {
        id: CallId,
    },
    /// The caller consumed the items of stream or channel call `id` up to `seq`.
    Ack {
        id: CallId,
        seq: u64,
    },
    Ready,
    /// Heartbeat: answer with `pong` (network transport; elsewhere ignored).
    Ping,
    /// Heartbeat answer: only a sign of life.
    Pong,
    /// A page announcing its key (see `ClientMessage::Hello`): the envelope's `key`, whose
    /// format `decode_keyed` has checked.
    Hello,
}

impl Incoming<'_> {
    /// The same message, owning everything it holds.
    fn into_owned(self) -> Incoming<'static> {
        let own = |raw: Option<Cow<'_, RawValue>>| raw.map(|r| Cow::Owned(r.into_owned()));
        match self {
            Incoming::Call { id, method, params, unsafe_ints } => {
                Incoming::Call { id, method: Cow::Owned(method.into_owned()), params: own(params), unsafe_ints }
            }
            Incoming::Event { event, detail } => {
                Incoming::Event { event: Cow::Owned(event.into_owned()), detail: own(detail) }
            }
            Incoming::Cancel { id } => Incoming::Cancel { id },
            Incoming::Ack { id, seq } => Incoming::Ack { id, seq },
            Incoming::Ready => Incoming::Ready,
            Incoming::Ping => Incoming::Ping,
            Incoming::Pong => Incoming::Pong,
            Incoming::Hello => Incoming::Hello,
        }
    }
}

/// Why a message was refused, and the id to answer when one could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub id: Option<CallId>,
    pub code: ErrorCode,
    pub message: String,
}

/// How far into an oversized or broken message we look for its id.
const SALVAGE_WINDOW: usize = 64 * 1024;

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    #[serde(borrow, default)]
    key: Option<&'a RawValue>,
    #[serde(borrow, default)]
    seq: Option<&'a RawValue>,
}

/// Decode one message, enforcing `limits` before any parsing.
pub fn decode<'a>(input: &'a [u8], limits: &Limits) -> Result<Incoming<'a>, Rejection> {
    decode_keyed(input, limits).map(|(msg, _)| msg)
}

/// `decode`, also returning the envelope's `key` when it has one.
pub fn decode_keyed<'a>(input: &'a [u8], limits: &Limits) -> Result<(Incoming<'a>, Option<Cow<'a, str>>), Rejection> {
    if input.len() > limits.max_message_bytes {
        return Err(Rejection {
            id: salvage_id(input, limits),
            code: ErrorCode::PayloadTooLarge,
            message: format!(
                "message of {} bytes exceeds the limit of {} bytes",
                input.len(),
                limits.max_message_bytes
            ),
        });
    }
    let invalid =
        |message: String| Rejection { id: salvage_id(input, limits), code: ErrorCode::InvalidMessage, message };
    let text = std::str::from_utf8(input)
        .map_err(|e| invalid(format!("message is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
    let mut scanned = scan(input, limits).map_err(invalid)?;
    if scanned.surrogate_escapes {
        // Rare: decode the rewritten copy (same length, so the same limits hold) and own it.
        // The copy has no lone surrogates left, so this recursion ends at once.
        if let Some(fixed) = replace_lone_surrogates(input) {
            return decode_keyed(&fixed, limits)
                .map(|(msg, key)| (msg.into_owned(), key.map(|k| Cow::Owned(k.into_owned()))));
        }
    }
    let env: RawEnvelope<'a> = serde_json::from_str(text).map_err(|e| {
        invalid(if e.is_data() {
            format!("message must be a JSON object with a string `type`: {e}")
        } else {
            format!("message is not valid JSON: {e}")
        })
    })?;

    let ty = match env.ty {
        None => return Err(invalid("message has no `type` field".into())),
        Some(raw) => str_field(raw).ok_or_else(|| invalid("`type` must be a string".into()))?,
    };
    let key = match env.key {
        None => None,
        Some(raw) => Some(str_field(raw).ok_or_else(|| invalid("`key` must be a string".into()))?),
    };
    match &*ty {
        "call" => {
            let id = required_id(env.id, "call")?;
            let method = name_field(env.method, "method", limits).map_err(|m| Rejection {
                id: Some(id.clone()),
                code: ErrorCode::InvalidMessage,
                message: m,
            })?;
            let unsafe_ints = take_under(&mut scanned.unsafe_ints, "params");
            Ok(Incoming::Call { id, method, params: env.params.map(Cow::Borrowed), unsafe_ints })
        }
        "event" => {
            let event = name_field(env.event, "event", limits).map_err(|m| Rejection {
                id: None,
                code: ErrorCode::InvalidMessage,
                message: m,
            })?;
            if let Some(bad) = take_under(&mut scanned.unsafe_ints, "detail").first() {
                return Err(Rejection {
                    id: None,
                    code: ErrorCode::InvalidMessage,
                    message: format!("event detail holds {}", bad.describe()),
                });
            }
            Ok(Incoming::Event { event, detail: env.detail.map(Cow::Borrowed) })
        }
        "cancel" => Ok(Incoming::Cancel { id: required_id(env.id, "cancel")? }),
        "ack" => {
            let id = required_id(env.id, "ack")?;
            let seq = env.seq.and_then(|raw| raw.get().parse::<u64>().ok()).filter(|n| *n <= MAX_SAFE_INTEGER as u64);
            match seq {
                Some(seq) => Ok(Incoming::Ack { id, seq }),
                None => Err(Rejection {
                    id: None, // an ack is never answered: its id names a stream, not a reply
                    code: ErrorCode::InvalidMessage,
                    message: "`ack` needs a `seq`: an integer from 0 to 2^53-1".into(),
                }),
            }
        }
        "ready" => Ok(Incoming::Ready),
        "ping" => Ok(Incoming::Ping),
        "pong" => Ok(Incoming::Pong),
        "hello" if key.as_deref().is_some_and(is_page_key) => Ok(Incoming::Hello),
        "hello" => Err(invalid("`hello` needs a `key` of 22 to 128 characters from [A-Za-z0-9_-]".into())),
        other => Err(Rejection {
            id: env.id.and_then(|raw| parse_id(raw, limits)),
            code: ErrorCode::InvalidMessage,
            message: format!(
                "unknown message type `{}` (expected `call`, `event`, `cancel`, `ack`, `ready`, `hello`, `ping` or `pong`)",
                truncate(other, 64)
            ),
        }),
    }
    .and_then(|msg| match &msg {
        Incoming::Call { id, .. } | Incoming::Cancel { id } | Incoming::Ack { id, .. } => {
            check_id_len(id, limits)?;
            Ok(msg)
        }
        Incoming::Event { .. } | Incoming::Ready | Incoming::Ping | Incoming::Pong | Incoming::Hello => Ok(msg),
    })
    .map(|msg| (msg, key))
}

/// A page key's format: 22 to 128 characters of `[A-Za-z0-9_-]` (128 random bits at least,
/// in hex or base64url).
pub fn is_page_key(key: &str) -> bool {
    (22..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The unsafe integers found under the top-level field `field`, re-rooted there.
fn take_under(found: &mut Vec<UnsafeInt>, field: &str) -> Vec<UnsafeInt> {
    let (mine, _): (Vec<_>, Vec<_>) =
        std::mem::take(found).into_iter().partition(|u| matches!(u.path.first(), Some(PathSeg::Key(k)) if k == field));
    mine.into_iter()
        .map(|mut u| {
            u.path.remove(0);
            u
        })
        .collect()
}

fn check_id_len(id: &CallId, limits: &Limits) -> Result<(), Rejection> {
    match id {
        CallId::Str(s) if s.len() > limits.max_id_bytes => Err(Rejection {
            id: None,
            code: ErrorCode::InvalidMessage,
            message: format!("call id longer than {} bytes", limits.max_id_bytes),
        }),
        _ => Ok(()),
    }
}

fn required_id(raw: Option<&RawValue>, kind: &str) -> Result<CallId, Rejection> {
    let reject = |message: String| Rejection { id: None, code: ErrorCode::InvalidMessage, message };
    let raw = raw.ok_or_else(|| reject(format!("`{kind}` message has no `id`")))?;
    parse_id_unbounded(raw).ok_or_else(|| {
        reject(format!("`id` must be a string or an integer within ±(2^53-1), got {}", truncate(raw.get(), 32)))
    })
}

fn parse_id(raw: &RawValue, limits: &Limits) -> Option<CallId> {
    parse_id_unbounded(raw).filter(|id| check_id_len(id, limits).is_ok())
}

fn parse_id_unbounded(raw: &RawValue) -> Option<CallId> {
    let text = raw.get();
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).ok().map(CallId::Str);
    }
    // Integers only: `1.0`, `1e3` and anything beyond 2^53 would not round-trip through JS.
    let n: i64 = text.parse().ok()?;
    (n.abs() <= MAX_SAFE_INTEGER).then_some(CallId::Int(n))
}

fn str_field(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    match serde_json::from_str::<&str>(text) {
        Ok(s) => Some(Cow::Borrowed(s)),
        // Escapes inside the string: it cannot be borrowed.
        Err(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

fn name_field<'a>(raw: Option<&'a RawValue>, field: &str, limits: &Limits) -> Result<Cow<'a, str>, String> {
    let raw = raw.ok_or_else(|| format!("message has no `{field}`"))?;
    let name = str_field(raw).ok_or_else(|| format!("`{field}` must be a string"))?;
    if name.is_empty() {
        return Err(format!("`{field}` must not be empty"));
    }
    if name.len() > limits.max_name_bytes {
        return Err(format!("`{field}` is longer than {} bytes", limits.max_name_bytes));
    }
    Ok(name)
}

/// Find a top-level `"id"` in a message that failed to decode, tolerating damage elsewhere.
pub fn salvage_id(input: &[u8], limits: &Limits) -> Option<CallId> {
    let raw = salvage_field(input, limits, b"\"id\"")?;
    let raw: &RawValue = serde_json::from_slice(raw).ok()?;
    parse_id(raw, limits)
}

/// Find a top-level `"key"` string in a message that failed to decode.
pub fn salvage_key(input: &[u8], limits: &Limits) -> Option<String> {
    let raw = salvage_field(input, limits, b"\"key\"")?;
    serde_json::from_slice::<String>(raw).ok()
}

/// The raw value of the first top-level field named `quoted_name` (quotes included, no
/// escapes), read from the first `SALVAGE_WINDOW` bytes.
fn salvage_field<'a>(input: &'a [u8], limits: &Limits, quoted_name: &[u8]) -> Option<&'a [u8]> {
    let mut s = Scanner { b: &input[..input.len().min(SALVAGE_WINDOW)], i: 0 };
    s.ws();
    if !s.eat(b'{') {
        return None;
    }
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        if !s.eat(b':') {
            return None;
        }
        s.ws();
        if key == quoted_name {
            let start = s.i;
            s.skip_value(limits.max_depth)?;
            // A value running into the window's edge may go on past it (`12` of `123`): it
            // counts only when the byte after it, outside the window, ends it.
            if s.i == s.b.len()
                && input.get(s.i).is_some_and(|b| !matches!(b, b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                return None;
            }
            return Some(&s.b[start..s.i]);
        }
        s.skip_value(limits.max_depth)?;
        s.ws();
        if !s.eat(b',') {
            return None;
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// A string token, quotes included.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            let off = memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            if self.b[self.i + off] == b'\\' {
                self.i += off + 2;
            } else {
                self.i += off + 1;
                return Some(&self.b[start..self.i]);
            }
        }
    }

    /// Skip one value of any kind, even a malformed scalar such as `NaN`.
    fn skip_value(&mut self, max_depth: usize) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.string()?;
                }
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max_depth {
                        return None;
                    }
                    self.i += 1;
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    self.i += 1;
                }
                // Inside a container a comma separates its items: only a top-level one ends the value.
                b',' if depth > 0 => self.i += 1,
                b',' | b']' | b'}' => return Some(()),
                _ => self.i += 1,
            }
            if depth == 0 && matches!(self.b.get(self.i), Some(b',' | b'}') | None) {
                return Some(());
            }
        }
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
