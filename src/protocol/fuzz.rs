//! A mutational fuzz loop over the decoder (RELIABILITY.md case 1: "a fuzz run of the decoder
//! finds 0 panics"). Valid frames are mutated (bit flips, insertions, deletions, truncation,
//! splices, duplicated keys, deep nesting, strings near the size limit, invalid UTF-8, lone
//! surrogate escapes, wrong types for each field) and each result is decoded. Every input must
//! decode or be refused with a code the decoder documents, without panicking, and what it
//! accepts must be what it promises (names within limits, params and detail parseable by a
//! strict JSON parser with no lone surrogate left).
//!
//! Deterministic: `AURORAVIEW_FUZZ_SEED` and `AURORAVIEW_FUZZ_N` override the seed and the
//! number of inputs (default 200,000, well under a second in release). tests/python/
//! test_fuzz_wire.py does the same through the router and the Python runtime.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{decode_keyed, salvage_id, salvage_key, CallId, ErrorCode, Incoming, Limits};

/// xorshift64*: enough for mutations, no crate needed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEY: &str = "k2Yx9_aB-c3Dq7Lm0PzR4s";

fn corpus() -> Vec<Vec<u8>> {
    let frames = [
        r#"{"type":"call","id":1,"method":"echo","params":{"text":"hi"}}"#.to_owned(),
        r#"{"type":"call","id":"c-7","method":"api.rename","params":{"old_name":"a","new_name":"b"}}"#.to_owned(),
        r#"{"type":"call","id":2,"method":"echo_any","params":{"value":{"a":[1,2.5,-3e10,null,true,{"b":[[]]}],"é":"ünï\u00e9\ud83d\ude00","n":9007199254740991}}}"#.to_owned(),
        r#"{"type":"call","id":3,"method":"echo","params":["positional"]}"#.to_owned(),
        r#"{"type":"call","id":4,"method":"noop"}"#.to_owned(),
        r#"{"type":"call","id":5,"method":"echo_any","params":{"value":[9007199254740993,-9007199254740993,1e400]}}"#.to_owned(),
        r#"{"type":"event","event":"note","detail":{"x":[1,{"y":"z"}],"q":"\"\\\/\b\f\n\r\t"}}"#.to_owned(),
        r#"{"type":"event","event":"ping"}"#.to_owned(),
        r#"{"type":"cancel","id":1}"#.to_owned(),
        r#"{"type":"ready"}"#.to_owned(),
        format!(r#"{{"type":"hello","key":"{KEY}"}}"#),
        format!(r#"{{"type":"call","key":"{KEY}","id":6,"method":"echo","params":{{"text":"keyed"}}}}"#),
        r#"{"type":"ping"}"#.to_owned(),
        r#"{"type":"pong"}"#.to_owned(),
        " {\n\t\"type\" : \"call\" , \"id\" : 8 , \"method\" : \"echo\" , \"params\" : { \"text\" : \"\u{2028}</script>\" } } ".to_owned(),
    ];
    frames.into_iter().map(String::into_bytes).collect()
}

const FIELDS: &[&str] = &["type", "id", "method", "params", "event", "detail", "key"];
const VALUES: &[&str] = &[
    "1",
    "-1",
    "0",
    "1.5",
    "1e3",
    "9007199254740992",
    "-99999999999999999999999",
    "\"\"",
    "\"x\"",
    "\"call\"",
    "\"event\"",
    "\"hello\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "[1,[2,[3]]]",
    "{\"id\":1}",
    "NaN",
    "Infinity",
    "-",
    "\"\\u0000\"",
    "\"\\uZZZZ\"",
];
const BYTES: &[u8] = b"{}[]\",:\\u0123456789abcdefABCDEF-+.eE \t\n\rnultrfas";
const SNIPPETS: &[&[u8]] = &[
    br"\ud800",
    br"\udfff",
    br"\uDBFF\uDC00",
    br"\\ud800",
    br"\u",
    br"\",
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    "\u{fffd}".as_bytes(),
    "é".as_bytes(),
    "\u{1f600}".as_bytes(),
    b"\0",
    b"\"id\":7,",
    b"\"type\":\"call\",",
    b"\"method\":\"echo\",",
];

/// The span of a top-level `"field":value` in a frame of the corpus (values with no `,` or
/// `}` inside stop early; that is fine for mutating).
fn field_value(frame: &[u8], field: &str) -> Option<(usize, usize)> {
    let needle = format!("\"{field}\":");
    let start = frame.windows(needle.len()).position(|w| w == needle.as_bytes())? + needle.len();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut i = start;
    while i < frame.len() {
        match frame[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'{' | b'[' if !in_str => depth += 1,
            b'}' | b']' if !in_str && depth == 0 => break,
            b'}' | b']' if !in_str => depth -= 1,
            b',' if !in_str && depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    Some((start, i.min(frame.len())))
}

/// One mutation of `frame` (`other` for splices); `near` is the size limit.
pub(crate) fn mutate(rng: &mut Rng, frame: &[u8], other: &[u8], near: usize) -> Vec<u8> {
    let mut b = frame.to_vec();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let len = b.len();
        match rng.below(13) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                b.insert(i, *rng.pick(BYTES));
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(8));
                b.drain(i..i + n);
            }
            3 => b.truncate(rng.below(len + 1)),
            4 => {
                let (i, j) = (rng.below(len + 1), rng.below(other.len() + 1));
                b.truncate(i);
                b.extend_from_slice(&other[j..]);
            }
            5 => {
                // A duplicated key: the first top-level field again, with another value.
                let field = rng.pick(FIELDS);
                let at = b.iter().position(|&c| c == b'{').map_or(0, |p| p + 1);
                let extra = format!("\"{field}\":{},", rng.pick(VALUES));
                b.splice(at..at, extra.into_bytes());
            }
            6 => {
                // Wrong type (or value) for one field.
                let field = rng.pick(FIELDS);
                if let Some((s, e)) = field_value(&b, field) {
                    b.splice(s..e, rng.pick(VALUES).as_bytes().iter().copied());
                }
            }
            7 => {
                // Deep nesting in params or detail, around the depth limit (64) or far past it.
                let depth = *rng.pick(&[60usize, 62, 63, 64, 65, 100, 5000]);
                let open = if rng.below(2) == 0 { "[" } else { "{\"a\":" };
                let close = if open == "[" { "]" } else { "}" };
                let value = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                let field = if rng.below(2) == 0 { "params" } else { "detail" };
                match field_value(&b, field) {
                    Some((s, e)) => drop(b.splice(s..e, value.into_bytes())),
                    None => {
                        b = format!(r#"{{"type":"call","id":9,"method":"echo_any","params":{value}}}"#).into_bytes()
                    }
                }
            }
            8 => {
                // A string making the frame land just under, at or just over the size limit.
                let target = near.saturating_sub(8) + rng.below(16);
                let pad = target.saturating_sub(len + 3);
                if let Some((s, e)) = field_value(&b, "params").or_else(|| field_value(&b, "detail")) {
                    let filler = *rng.pick(&["x", "é", "\\n", "\\ud800"]);
                    let mut text = String::with_capacity(pad + 2);
                    text.push('"');
                    while text.len() < pad {
                        text.push_str(filler);
                    }
                    text.push('"');
                    b.splice(s..e, text.into_bytes());
                }
            }
            9 | 10 => {
                let i = rng.below(len + 1);
                let snippet = rng.pick(SNIPPETS);
                b.splice(i..i, snippet.iter().copied());
            }
            11 if len > 1 => {
                // Swap two bytes.
                let (i, j) = (rng.below(len), rng.below(len));
                b.swap(i, j);
            }
            _ => {
                // A lone surrogate escape inside a string, where strings are.
                if let Some(q) = b.iter().enumerate().filter(|(_, &c)| c == b'"').map(|(i, _)| i).nth(rng.below(8)) {
                    let s = format!("\\u{}", rng.pick(&["d800", "DBFF", "dc00", "dFfF", "d83d", "de00"]));
                    b.splice(q + 1..q + 1, s.into_bytes());
                }
            }
        }
    }
    b
}

fn seed_and_count(default_n: usize) -> (u64, usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
    let seed = env("AURORAVIEW_FUZZ_SEED").unwrap_or(0x5eed_a1b2_c3d4);
    let n = env("AURORAVIEW_FUZZ_N").map_or(default_n, |n| n as usize);
    (seed, n)
}

/// What the decoder promises about a message it accepted.
fn check_accepted(msg: &Incoming<'_>, key: Option<&str>, limits: &Limits, input: &[u8]) {
    // JSON (numbers of any size: ranges are for pydantic), with no lone surrogate left.
    let strict = |what: &str, raw: &str| {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(raw) {
            panic!("{what} handed on is not JSON ({e}): {raw:?} from {input:?}");
        }
        assert!(super::replace_lone_surrogates(raw.as_bytes()).is_none(), "{what} keeps a lone surrogate: {raw:?}");
    };
    let name_ok = |name: &str| !name.is_empty() && name.len() <= limits.max_name_bytes;
    match msg {
        Incoming::Call { id, method, params, .. } => {
            assert!(name_ok(method), "method {method:?} from {input:?}");
            if let CallId::Str(s) = id {
                assert!(s.len() <= limits.max_id_bytes);
            }
            if let Some(p) = params {
                strict("params", p.get());
            }
        }
        Incoming::Event { event, detail } => {
            assert!(name_ok(event), "event {event:?} from {input:?}");
            if let Some(d) = detail {
                strict("detail", d.get());
            }
        }
        Incoming::Cancel { id: CallId::Str(s) } => assert!(s.len() <= limits.max_id_bytes),
        Incoming::Hello => assert!(key.is_some_and(super::is_page_key)),
        _ => {}
    }
}

#[test]
fn mutated_frames_never_panic_the_decoder() {
    let (seed, n) = seed_and_count(200_000);
    println!("decoder fuzz: seed {seed} (AURORAVIEW_FUZZ_SEED), {n} inputs (AURORAVIEW_FUZZ_N)");
    // A small size limit, so frames near it are cheap to make; depth and names as shipped.
    let limits = Limits { max_message_bytes: 2048, ..Limits::default() };
    let corpus = corpus();
    let mut rng = Rng::new(seed);
    let (mut accepted, mut refused) = (0usize, [0usize; ErrorCode::ALL.len()]);
    for i in 0..n {
        let frame = rng.pick(&corpus).clone();
        let other = rng.pick(&corpus).clone();
        let input = mutate(&mut rng, &frame, &other, limits.max_message_bytes);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _ = salvage_id(&input, &limits);
            let _ = salvage_key(&input, &limits);
            match decode_keyed(&input, &limits) {
                Ok((msg, key)) => {
                    check_accepted(&msg, key.as_deref(), &limits, &input);
                    None
                }
                Err(rej) => Some(rej),
            }
        }));
        match outcome {
            Err(_) => panic!("input {i} (seed {seed}) panicked the decoder: {:?}", String::from_utf8_lossy(&input)),
            Ok(None) => accepted += 1,
            Ok(Some(rej)) => {
                assert!(
                    matches!(rej.code, ErrorCode::InvalidMessage | ErrorCode::PayloadTooLarge),
                    "input {i}: the decoder refuses only with invalid_message or payload_too_large, got {:?}",
                    rej.code
                );
                assert_eq!(rej.code == ErrorCode::PayloadTooLarge, input.len() > limits.max_message_bytes);
                if let Some(CallId::Str(s)) = &rej.id {
                    assert!(s.len() <= limits.max_id_bytes, "input {i}: salvaged id too long");
                }
                refused[ErrorCode::ALL.iter().position(|c| *c == rej.code).unwrap_or(0)] += 1;
            }
        }
    }
    println!("decoder fuzz: {accepted} accepted, refused by code {refused:?}");
    // The mix stays meaningful: most inputs are refused, and some still decode.
    assert!(accepted > n / 50, "only {accepted} of {n} accepted");
    assert!(refused.iter().sum::<usize>() > n / 4);
}
