//! Lone UTF-16 surrogates in incoming JSON text (RELIABILITY.md case 34).
//!
//! A JavaScript string may hold a surrogate code unit that is not part of a pair
//! (`"a\ud800b"`); `JSON.stringify` writes it as the escape `\ud800`, and serde_json, jiter
//! (pydantic) and every other UTF-8 JSON parser refuse it. The wire replaces each one with
//! U+FFFD (written `\ufffd`, the same six bytes), as the web platform does whenever a JS
//! string becomes UTF-8 (`TextEncoder`, `WebSocket.send`, WebIDL `USVString`). Valid pairs
//! (a high surrogate escape directly followed by a low one) are kept.
//!
//! Cost: `scan` notes whether any `\u` escape of D800–DFFF appears, on the escapes it
//! already visits; only then does `replace_lone_surrogates` run.

use memchr::memchr;

/// The escape every lone surrogate becomes.
const REPLACEMENT: &[u8; 6] = b"\\ufffd";

/// Whether the four bytes after a `\u` spell a surrogate (D800–DFFF, any case). `hex` is
/// what follows the `u`, possibly short.
pub(crate) fn starts_surrogate(hex: &[u8]) -> bool {
    matches!(hex, [b'd' | b'D', b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F', ..])
}

/// The code unit of a `\uXXXX` escape starting at `b[i]` (the backslash), if it is one.
fn unit_at(b: &[u8], i: usize) -> Option<u16> {
    let esc = b.get(i..i + 6)?;
    if esc[0] != b'\\' || esc[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&esc[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok().filter(|_| hex.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// `input` with every lone surrogate escape replaced by `\ufffd`, or `None` when it has
/// none. Escapes are read in order from each backslash (`\\ud800` is an escaped backslash
/// followed by text, not an escape); the length never changes.
pub fn replace_lone_surrogates(input: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while let Some(off) = memchr(b'\\', &input[i..]) {
        i += off;
        match unit_at(input, i) {
            Some(0xD800..=0xDBFF) if matches!(unit_at(input, i + 6), Some(0xDC00..=0xDFFF)) => i += 12,
            Some(0xD800..=0xDFFF) => {
                out.get_or_insert_with(|| input.to_vec())[i..i + 6].copy_from_slice(REPLACEMENT);
                i += 6;
            }
            // Any other escape is two bytes or more; its tail holds no backslash.
            _ => i += 2,
        }
        if i >= input.len() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        let table: &[(&str, &str)] = &[
            (r#""a\ud800b""#, r#""a\ufffdb""#),                             // lone high
            (r#""a\udc00b""#, r#""a\ufffdb""#),                             // lone low
            (r#""\udc00\ud800""#, r#""\ufffd\ufffd""#),                     // reversed pair
            (r#""ab\udbff""#, r#""ab\ufffd""#),                             // at the end of a string
            (r#""\ud800""#, r#""\ufffd""#),                                 // alone
            (r#""\uD800\uDFFF""#, r#""\uD800\uDFFF""#),                     // a pair, uppercase: kept
            (r#""\ud83d\ude00""#, r#""\ud83d\ude00""#),                     // a pair: kept
            (r#""\ud83d\ud83d\ude00""#, r#""\ufffd\ud83d\ude00""#),         // high, then a pair
            (r#""\ud83d\ude00\ude00""#, r#""\ud83d\ude00\ufffd""#),         // a pair, then low
            (r#""\uDBFFx\uDC00""#, r#""\ufffdx\ufffd""#),                   // not adjacent
            (r#""\ud800\n\udc00""#, r#""\ufffd\n\ufffd""#),                 // another escape between
            (r#""\\ud800""#, r#""\\ud800""#),                               // escaped backslash, then text
            (r#""\\\ud800""#, r#""\\\ufffd""#),                             // escaped backslash, then an escape
            (r#""\\\\ud800""#, r#""\\\\ud800""#),                           // two escaped backslashes
            (r#""\u00e9\ud7ff\ue000""#, r#""\u00e9\ud7ff\ue000""#),         // neighbours of the range
            (r#"{"k\ud800":["\udfff",1]}"#, r#"{"k\ufffd":["\ufffd",1]}"#), // keys and arrays
            (r#""\ud8"#, r#""\ud8"#),                                       // truncated: left to the parser
            (r#""\ud80g""#, r#""\ud80g""#),                                 // not hex: left to the parser
            (r#""\ud800\u"#, r#""\ufffd\u"#),
            ("\\", "\\"),
            ("", ""),
        ];
        for (input, want) in table {
            let got = replace_lone_surrogates(input.as_bytes());
            let got_text = got.as_deref().map(|g| std::str::from_utf8(g).unwrap()).unwrap_or(input);
            assert_eq!(got_text, *want, "input {input}");
            assert_eq!(got.is_some(), input != want, "input {input}: copied only when changed");
            // What is left always parses, where the input was JSON apart from its surrogates.
            if serde_json::from_str::<serde_json::Value>(&input.replace("\\ud", "\\u0").replace("\\uD", "\\u0")).is_ok()
            {
                serde_json::from_str::<serde_json::Value>(got_text).unwrap();
            }
        }
    }

    #[test]
    fn decoding_replaces_them_in_names_ids_params_and_details() {
        use crate::protocol::{decode, decode_keyed, CallId, Incoming, Limits};
        use std::borrow::Cow;
        let limits = Limits::default();
        let call = br#"{"type":"call","id":"i\udc00","method":"m\ud800","params":{"k\uDBFF":"\ud83d\ude00\ud83d"}}"#;
        match decode(call, &limits).unwrap() {
            Incoming::Call { id, method, params, unsafe_ints } => {
                assert_eq!(id, CallId::Str("i\u{fffd}".into()));
                assert_eq!(method, "m\u{fffd}");
                assert_eq!(params.unwrap().get(), r#"{"k\ufffd":"\ud83d\ude00\ufffd"}"#);
                assert!(unsafe_ints.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let event = br#"{"type":"event","event":"e\udfff","detail":["\ud800",9007199254740993]}"#;
        let rej = decode(event, &limits).unwrap_err();
        assert!(rej.message.contains("9007199254740993 at 1"), "{}", rej.message);
        let event = br#"{"type":"event","event":"e\udfff","detail":["\ud800"]}"#;
        match decode(event, &limits).unwrap() {
            Incoming::Event { event, detail } => {
                assert_eq!(event, "e\u{fffd}");
                assert_eq!(detail.unwrap().get(), r#"["\ufffd"]"#);
            }
            other => panic!("{other:?}"),
        }
        let keyed = br#"{"type":"ready","key":"\ud800"}"#;
        assert_eq!(decode_keyed(keyed, &limits).unwrap().1.as_deref(), Some("\u{fffd}"));
        // Well-formed input stays borrowed: nothing is copied.
        match decode(br#"{"type":"call","id":1,"method":"m","params":["\ud83d\ude00"]}"#, &limits).unwrap() {
            Incoming::Call { params: Some(Cow::Borrowed(_)), .. } => {}
            other => panic!("{other:?}"),
        }
        // Unknown types and bad envelopes still carry the (replaced) id.
        let rej = decode(br#"{"type":"nope","id":"\ud800"}"#, &limits).unwrap_err();
        assert_eq!(rej.id, Some(CallId::Str("\u{fffd}".into())));
    }

    #[test]
    fn surrogate_prefixes_are_recognised() {
        for hex in ["d800", "D800", "dbff", "dc00", "DFFF", "dAbc", "d9"] {
            assert!(starts_surrogate(hex.as_bytes()), "{hex}");
        }
        for hex in ["d7ff", "e000", "0d80", "", "d", "c800", "dg00"] {
            assert!(!starts_surrogate(hex.as_bytes()), "{hex}");
        }
    }
}
