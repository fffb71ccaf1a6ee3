//! Admission: who may talk on a connection. Pure (no router, no I/O), table-tested.
//!
//! A page's connection opens `Locked`; when its document commits, `Armed`; the document's
//! first `hello` binds its key (`Bound`), and from then on only messages carrying that key
//! get in (RELIABILITY.md cases 17 and 18: an iframe that can reach the message handler
//! cannot read the key kept in the top document's bridge closure). In-process connections
//! are `Open`. Tokens for network clients will be checked here too.

use std::borrow::Cow;

use crate::protocol::{self, Incoming, Limits, Rejection};

/// Who may talk on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Anyone holding the connection (in-process clients).
    Open,
    /// A page's connection before its document committed: nothing gets in.
    Locked,
    /// The document committed: its first `hello` binds the key.
    Armed,
    /// Only messages carrying this key get in.
    Bound(Box<str>),
}

/// What the gate decided about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Route it.
    Pass,
    /// It was the `hello` that bound the connection's key: nothing more to do.
    Bound,
    /// Refuse it, counted, never answered (answering would tell a prober what it hit).
    Refused,
}

/// A decoded message with the key it carried, or why it could not be decoded.
pub type Decoded<'a> = Result<(Incoming<'a>, Option<Cow<'a, str>>), Rejection>;

impl Gate {
    /// Whether this message gets in; binds the key of an armed gate's first `hello`.
    /// `input` is the raw message, read again for the key when it could not be decoded.
    pub fn admit(&mut self, input: &[u8], decoded: &Decoded<'_>, limits: &Limits) -> Admission {
        match self {
            Gate::Open => Admission::Pass,
            Gate::Locked => Admission::Refused,
            Gate::Armed => match decoded {
                Ok((Incoming::Hello, Some(key))) => {
                    *self = Gate::Bound(key.as_ref().into());
                    Admission::Bound
                }
                _ => Admission::Refused,
            },
            Gate::Bound(bound) => {
                let salvaged;
                let key = match decoded {
                    Ok((Incoming::Hello, _)) => return Admission::Refused,
                    Ok((_, key)) => key.as_deref(),
                    Err(_) => {
                        salvaged = protocol::salvage_key(input, limits);
                        salvaged.as_deref()
                    }
                };
                match key {
                    Some(key) if same_key(key, bound) => Admission::Pass,
                    _ => Admission::Refused,
                }
            }
        }
    }

    /// The key bound by the current document's `hello`, if any: the host delivers to that
    /// document's receiver with it (RELIABILITY.md case 28).
    pub fn key(&self) -> Option<&str> {
        match self {
            Gate::Bound(key) => Some(key),
            _ => None,
        }
    }

    /// A new document owns the connection: its first `hello` binds the key; any key bound
    /// before is stale. Open gates stay open.
    pub fn arm(&mut self) {
        if !matches!(self, Gate::Open) {
            *self = Gate::Armed;
        }
    }
}

/// Key comparison in time independent of where the keys differ.
/// Keys compared in constant time (a prober learns nothing from how long a refusal took).
pub fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const OTHER: &str = "fedcba9876543210fedcba9876543210";

    fn admit(gate: &mut Gate, msg: &str) -> Admission {
        let limits = Limits::default();
        let decoded = protocol::decode_keyed(msg.as_bytes(), &limits);
        gate.admit(msg.as_bytes(), &decoded, &limits)
    }

    fn hello(key: &str) -> String {
        format!(r#"{{"type":"hello","key":"{key}"}}"#)
    }

    fn call(key: Option<&str>) -> String {
        match key {
            Some(k) => format!(r#"{{"type":"call","key":"{k}","id":1,"method":"m"}}"#),
            None => r#"{"type":"call","id":1,"method":"m"}"#.to_string(),
        }
    }

    #[test]
    fn admission_table() {
        let bound = || Gate::Bound(KEY.into());
        let cases: Vec<(&str, Gate, String, Admission, Gate)> = vec![
            ("open passes anything", Gate::Open, call(None), Admission::Pass, Gate::Open),
            ("open passes a hello", Gate::Open, hello(KEY), Admission::Pass, Gate::Open),
            ("locked refuses a hello", Gate::Locked, hello(KEY), Admission::Refused, Gate::Locked),
            ("locked refuses a keyed call", Gate::Locked, call(Some(KEY)), Admission::Refused, Gate::Locked),
            ("armed binds the first hello", Gate::Armed, hello(KEY), Admission::Bound, bound()),
            ("armed refuses a call before hello", Gate::Armed, call(Some(KEY)), Admission::Refused, Gate::Armed),
            ("armed refuses garbage", Gate::Armed, "{".into(), Admission::Refused, Gate::Armed),
            ("bound passes its key", bound(), call(Some(KEY)), Admission::Pass, bound()),
            ("bound refuses no key", bound(), call(None), Admission::Refused, bound()),
            ("bound refuses another key", bound(), call(Some(OTHER)), Admission::Refused, bound()),
            ("bound refuses a second hello", bound(), hello(KEY), Admission::Refused, bound()),
            ("bound refuses a rebinding hello", bound(), hello(OTHER), Admission::Refused, bound()),
            (
                "bound passes a broken message with its key (to be answered invalid_message)",
                bound(),
                format!(r#"{{"type":"call","key":"{KEY}","id":1,"method":7}}"#),
                Admission::Pass,
                bound(),
            ),
            (
                "bound refuses a broken message with another key",
                bound(),
                format!(r#"{{"type":"call","key":"{OTHER}","id":1,"method":7}}"#),
                Admission::Refused,
                bound(),
            ),
            ("bound refuses a key that is a prefix", bound(), call(Some(&KEY[..31])), Admission::Refused, bound()),
        ];
        for (what, mut gate, msg, admission, after) in cases {
            assert_eq!(admit(&mut gate, &msg), admission, "{what}");
            assert_eq!(gate, after, "{what}: gate after");
        }
    }

    #[test]
    fn arming_makes_a_bound_key_stale_and_leaves_open_gates_open() {
        let mut gate = Gate::Bound(KEY.into());
        gate.arm();
        assert_eq!(admit(&mut gate, &call(Some(KEY))), Admission::Refused, "the old document's key is stale");
        assert_eq!(admit(&mut gate, &hello(OTHER)), Admission::Bound);
        assert_eq!(admit(&mut gate, &call(Some(OTHER))), Admission::Pass);
        let mut open = Gate::Open;
        open.arm();
        assert_eq!(open, Gate::Open);
    }

    #[test]
    fn only_a_bound_gate_has_a_key() {
        let mut gate = Gate::Armed;
        assert_eq!(gate.key(), None);
        admit(&mut gate, &hello(KEY));
        assert_eq!(gate.key(), Some(KEY));
        gate.arm();
        assert_eq!(gate.key(), None, "a stale key is nobody's");
        assert_eq!(Gate::Open.key(), None);
    }

    #[test]
    fn keys_compare_exactly() {
        assert!(same_key(KEY, KEY));
        assert!(!same_key(KEY, OTHER));
        assert!(!same_key(KEY, &KEY[1..]));
        assert!(!same_key("", KEY));
        assert!(same_key("", ""));
    }
}
