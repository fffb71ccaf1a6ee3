//! The router alone, with a recording dispatcher and sink: RELIABILITY.md cases 1, 2, 3, 5,
//! 8, 9, 10, 11, 13, 14 at the Rust level, and the one-terminal-reply invariant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use _core::ipc::{ConnInfo, Dispatcher, Emitted, Op, Receipt, Router, Sink, Target, TransportKind};
use _core::protocol::{CallId, ErrorReply, Limits};
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value;

#[derive(Default)]
struct Recorder {
    ops: Mutex<Vec<Op>>,
    /// Method id whose dispatch panics (to exercise the panic guard).
    panic_on: Mutex<Option<u32>>,
}

impl Dispatcher for Recorder {
    fn dispatch(&self, op: Op) {
        if let Op::Call { method, .. } = &op {
            if Some(*method) == *self.panic_on.lock() {
                panic!("dispatcher exploded");
            }
        }
        self.ops.lock().push(op);
    }
}

#[derive(Default)]
struct Frames(Mutex<Vec<Bytes>>);

impl Sink for Frames {
    fn send(&self, frame: Bytes) {
        self.0.lock().push(frame);
    }
}

impl Frames {
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock())
            .iter()
            .map(|f| serde_json::from_slice(f).expect("every frame is valid JSON"))
            .collect()
    }
}

struct Harness {
    router: Arc<Router>,
    rec: Arc<Recorder>,
    frames: Arc<Frames>,
    conn: u64,
    noop: u32,
    _rt: Option<tokio::runtime::Runtime>,
}

impl Harness {
    fn new(limits: Limits) -> Self {
        Self::build(limits, None)
    }

    /// With a tokio runtime of its own, so that command timeouts fire.
    fn with_timers(limits: Limits) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build().unwrap();
        Self::build(limits, Some(rt))
    }

    fn build(limits: Limits, rt: Option<tokio::runtime::Runtime>) -> Self {
        let rec = Arc::new(Recorder::default());
        let router = Router::new(limits, rec.clone(), rt.as_ref().map(|r| r.handle().clone()));
        let noop = 0;
        router.register_method("noop", noop, None, Default::default());
        let frames = Arc::new(Frames::default());
        let conn = router.connect(frames.clone(), client());
        Harness { router, rec, frames, conn, noop, _rt: rt }
    }

    fn stat(&self, name: &str) -> u64 {
        stat(&self.router, name)
    }

    fn send(&self, msg: &[u8]) -> Receipt {
        self.router.receive(self.conn, msg)
    }

    fn take_calls(&self) -> Vec<(u64, u32, Vec<u8>)> {
        std::mem::take(&mut *self.rec.ops.lock())
            .into_iter()
            .filter_map(|op| match op {
                Op::Call { key, method, params, .. } => Some((key, method, params)),
                _ => None,
            })
            .collect()
    }

    /// A fresh call to `noop` is accepted, dispatched and answered: the core still serves.
    fn assert_still_serving(&self) {
        self.frames.take();
        self.take_calls();
        assert_eq!(
            self.send(br#"{"type":"call","id":"probe","method":"noop"}"#),
            Receipt::Accepted(CallId::Str("probe".into()))
        );
        let calls = self.take_calls();
        assert_eq!(calls.len(), 1);
        assert!(self.router.complete(calls[0].0, Ok(b"null")));
        let frames = self.frames.take();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["id"], "probe");
        assert_eq!(frames[0]["ok"], true);
    }
}

fn client() -> ConnInfo {
    ConnInfo::new(TransportKind::InProcess)
}

fn page(label: &str) -> ConnInfo {
    ConnInfo::window(label, "auroraview://localhost")
}

fn stat(router: &Router, name: &str) -> u64 {
    router.stats().snapshot().into_iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| v)
}

fn small_limits() -> Limits {
    Limits { max_message_bytes: 256 * 1024, max_container_items: 1000, ..Limits::default() }
}

/// (case, message, expected): expected is `Some((code, id))` for a reply, `None` for a drop.
type Case = (&'static str, Vec<u8>, Option<(&'static str, Value)>);

#[rustfmt::skip]
fn malformed_cases() -> Vec<Case> {
    use serde_json::json;
    let s = |x: &str| x.as_bytes().to_vec();
    let long_id = format!(r#"{{"type":"call","id":"{}","method":"noop"}}"#, "i".repeat(200));
    let long_method = format!(r#"{{"type":"call","id":1,"method":"{}"}}"#, "m".repeat(300));
    let deep_with_id = format!(
        r#"{{"type":"call","id":"deep","method":"noop","params":{}}}"#,
        "[".repeat(100_000)
    );
    let deep_no_id = "[".repeat(100_000);
    let wide = format!(
        r#"{{"type":"call","id":"wide","method":"noop","params":[{}0]}}"#,
        "0,".repeat(5000)
    );
    let huge = format!(
        r#"{{"type":"call","id":"huge","method":"noop","params":"{}"}}"#,
        "x".repeat(300 * 1024)
    );
    let huge_late_id = format!(
        r#"{{"params":"{}","type":"call","id":"late","method":"noop"}}"#,
        "x".repeat(300 * 1024)
    );
    let mut bad_utf8 = s(r#"{"type":"call","id":"u","method":"noop","params":""#);
    bad_utf8.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
    let mut bad_utf8_no_id = vec![0xff, 0xfe];
    bad_utf8_no_id.extend_from_slice(b"{}");
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(br#"{"type":"call","id":1,"method":"noop"}"#);
    let im = |id: Value| Some(("invalid_message", id));
    let nf = |id: Value| Some(("method_not_found", id));
    vec![
        ("empty input", s(""), None),
        ("whitespace only", s("  \n\t "), None),
        ("not JSON", s("hello"), None),
        ("top-level array", s("[]"), None),
        ("top-level string", s(r#""call""#), None),
        ("top-level number", s("42"), None),
        ("top-level null", s("null"), None),
        ("empty object", s("{}"), None),
        ("call without id", s(r#"{"type":"call","method":"noop"}"#), None),
        ("id is a bool", s(r#"{"type":"call","id":true,"method":"noop"}"#), None),
        ("id is a float", s(r#"{"type":"call","id":1.5,"method":"noop"}"#), None),
        ("id is 2^53", s(r#"{"type":"call","id":9007199254740992,"method":"noop"}"#), None),
        ("id is an object", s(r#"{"type":"call","id":{"a":1},"method":"noop"}"#), None),
        ("id is null", s(r#"{"type":"call","id":null,"method":"noop"}"#), None),
        ("id longer than the limit", s(&long_id), None),
        ("cancel without id", s(r#"{"type":"cancel"}"#), None),
        ("event without name", s(r#"{"type":"event"}"#), None),
        ("event name not a string", s(r#"{"type":"event","event":5}"#), None),
        ("event name empty", s(r#"{"type":"event","event":""}"#), None),
        ("invalid UTF-8, no id", bad_utf8_no_id, None),
        ("byte-order mark", bom, None),
        ("deep nesting without id", s(&deep_no_id), None),
        ("oversized with id past the salvage window", s(&huge_late_id), None),
        ("type is a number", s(r#"{"type":7,"id":1}"#), im(json!(1))),
        ("no type", s(r#"{"id":2}"#), im(json!(2))),
        ("call without method", s(r#"{"type":"call","id":3}"#), im(json!(3))),
        ("method is a number", s(r#"{"type":"call","id":4,"method":5}"#), im(json!(4))),
        ("method is empty", s(r#"{"type":"call","id":5,"method":""}"#), im(json!(5))),
        ("method is null", s(r#"{"type":"call","id":6,"method":null}"#), im(json!(6))),
        ("method longer than the limit", s(&long_method), im(json!(1))),
        ("unknown type", s(r#"{"type":"frobnicate","id":7}"#), im(json!(7))),
        ("type in upper case", s(r#"{"type":"CALL","id":8,"method":"noop"}"#), im(json!(8))),
        ("truncated JSON", s(r#"{"type":"call","id":9,"method":"noop""#), im(json!(9))),
        ("NaN literal in params", s(r#"{"type":"call","id":10,"method":"noop","params":{"a":NaN}}"#), im(json!(10))),
        ("trailing garbage", s(r#"{"type":"call","id":11,"method":"noop"} x"#), im(json!(11))),
        ("duplicate field", s(r#"{"type":"call","id":12,"id":13,"method":"noop"}"#), im(json!(12))),
        ("trailing backslash in a string", s(r#"{"type":"call","id":14,"params":"abc\"#), im(json!(14))),
        ("invalid UTF-8 in params", bad_utf8, im(json!("u"))),
        ("deep nesting (100k levels)", s(&deep_with_id), im(json!("deep"))),
        ("container over the item limit", s(&wide), im(json!("wide"))),
        ("message over the size limit", s(&huge), Some(("payload_too_large", json!("huge")))),
        ("unknown method", s(r#"{"type":"call","id":20,"method":"nope"}"#), nf(json!(20))),
        ("dunder method", s(r#"{"type":"call","id":21,"method":"__class__"}"#), nf(json!(21))),
        ("dotted path", s(r#"{"type":"call","id":22,"method":"a.b"}"#), nf(json!(22))),
        ("path traversal", s(r#"{"type":"call","id":23,"method":"../x"}"#), nf(json!(23))),
        ("method with trailing space", s(r#"{"type":"call","id":24,"method":"noop "}"#), nf(json!(24))),
        ("method in another case", s(r#"{"type":"call","id":25,"method":"NOOP"}"#), nf(json!(25))),
        ("NUL in the id", s(r#"{"type":"call","id":"a\u0000b","method":"nope"}"#), nf(json!("a\u{0}b"))),
        ("a container holding a comma before the id", s(r#"{"type":"call","p":[1,2],"id":26,"x":NaN}"#), im(json!(26))),
    ]
}

#[test]
fn every_malformed_case_gets_its_code_and_the_core_keeps_serving() {
    let cases = malformed_cases();
    assert!(cases.len() >= 40, "RELIABILITY case 1 asks for 40+ cases");
    let h = Harness::new(small_limits());
    for (name, msg, expected) in cases {
        let dropped_before = h.stat("dropped");
        let started = Instant::now();
        let receipt = h.send(&msg);
        assert!(started.elapsed() < Duration::from_secs(1), "{name}: took {:?}", started.elapsed());
        assert!(h.take_calls().is_empty(), "{name}: a handler was dispatched");
        let frames = h.frames.take();
        match expected {
            None => {
                assert_eq!(receipt, Receipt::Dropped, "{name}");
                assert!(frames.is_empty(), "{name}: {frames:?}");
                let dropped = h.stat("dropped");
                assert_eq!(dropped, dropped_before + 1, "{name}: drop not counted");
            }
            Some((code, id)) => {
                assert!(matches!(receipt, Receipt::Replied(_)), "{name}: {receipt:?}");
                assert_eq!(frames.len(), 1, "{name}: {frames:?}");
                let f = &frames[0];
                assert_eq!(f["type"], "call_result", "{name}");
                assert_eq!(f["ok"], false, "{name}");
                assert_eq!(f["id"], id, "{name}");
                assert_eq!(f["error"]["code"], code, "{name}: {f}");
                assert!(!f["error"]["message"].as_str().unwrap().is_empty(), "{name}");
            }
        }
        h.assert_still_serving();
    }
    assert_eq!(h.stat("panics"), 0);
}

#[test]
fn method_not_found_echoes_the_name_truncated() {
    let h = Harness::new(small_limits());
    let name = format!("{}é", "n".repeat(63));
    h.send(format!(r#"{{"type":"call","id":1,"method":"{name}"}}"#).as_bytes());
    let f = &h.frames.take()[0];
    let message = f["error"]["message"].as_str().unwrap();
    assert!(message.contains(&"n".repeat(63)) && !message.contains('é'), "{message}");
}

#[test]
fn exactly_one_reply_per_call() {
    let h = Harness::new(small_limits());
    h.send(br#"{"type":"call","id":1,"method":"noop","params":[1]}"#);
    let calls = h.take_calls();
    assert_eq!(calls, vec![(calls[0].0, h.noop, b"[1]".to_vec())]);
    let key = calls[0].0;
    assert!(h.router.complete(key, Ok(br#"{"x":1}"#)));
    assert!(!h.router.complete(key, Ok(b"2")));
    assert!(!h.router.complete(key, Err(ErrorReply::framework(_core::protocol::ErrorCode::Internal, "late"))));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["result"]["x"], 1);
    assert_eq!(h.stat("late_results"), 2);
    assert_eq!(h.router.in_flight(), 0);
}

#[test]
fn absent_and_null_params_become_an_empty_object() {
    let h = Harness::new(small_limits());
    h.send(br#"{"type":"call","id":1,"method":"noop"}"#);
    h.send(br#"{"type":"call","id":2,"method":"noop","params":null}"#);
    let calls = h.take_calls();
    assert_eq!(calls.iter().map(|c| c.2.clone()).collect::<Vec<_>>(), vec![b"{}".to_vec(), b"{}".to_vec()]);
}

#[test]
fn duplicate_id_in_flight_is_dropped_and_the_original_still_answers() {
    let h = Harness::new(small_limits());
    assert!(matches!(h.send(br#"{"type":"call","id":"d","method":"noop"}"#), Receipt::Accepted(_)));
    assert_eq!(h.send(br#"{"type":"call","id":"d","method":"noop"}"#), Receipt::Dropped);
    let calls = h.take_calls();
    assert_eq!(calls.len(), 1);
    h.router.complete(calls[0].0, Ok(b"1"));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["result"], 1);
    // Once answered, the id may be reused.
    assert!(matches!(h.send(br#"{"type":"call","id":"d","method":"noop"}"#), Receipt::Accepted(_)));
}

#[test]
fn a_refused_message_reusing_an_id_in_flight_gets_no_reply_with_that_id() {
    // RELIABILITY.md case 28: a frame reusing the id of a call in flight must not settle it
    // with an error of the sender's making (unknown method, unsafe integer, malformed, over
    // the in-flight limit): the call's one terminal reply stays the host's.
    let h = Harness::new(Limits { max_in_flight: 1, ..small_limits() });
    assert!(matches!(h.send(br#"{"type":"call","id":"d","method":"noop"}"#), Receipt::Accepted(_)));
    let forged: [&[u8]; 4] = [
        br#"{"type":"call","id":"d","method":"no_such_command"}"#,
        br#"{"type":"call","id":"d","method":"noop","params":{"n":9007199254740993}}"#,
        br#"{"type":"call","id":"d","method":7}"#,
        br#"{"type":"call","id":"d","method":"noop","extra":1} x"#,
    ];
    for msg in forged {
        let before = h.stat("duplicate_ids");
        assert_eq!(h.send(msg), Receipt::Dropped, "{}", String::from_utf8_lossy(msg));
        assert_eq!(h.stat("duplicate_ids"), before + 1, "{}", String::from_utf8_lossy(msg));
        assert!(h.frames.take().is_empty(), "{}: answered with the id in flight", String::from_utf8_lossy(msg));
    }
    let calls = h.take_calls();
    assert_eq!(calls.len(), 1);
    h.router.complete(calls[0].0, Ok(b"1"));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0]["id"].clone(), frames[0]["result"].clone()), ("d".into(), 1.into()));
    // Refusals of ids not in flight are answered as before.
    assert!(matches!(h.send(br#"{"type":"call","id":"e","method":"nope"}"#), Receipt::Replied(_)));
    assert_eq!(h.frames.take()[0]["error"]["code"], "method_not_found");
}

#[test]
fn the_router_reports_the_limits_it_was_built_with() {
    // The transports read them from here (the network's frame and message bounds).
    let limits = Limits { max_binary_bytes: 12_345, ..small_limits() };
    let h = Harness::new(limits.clone());
    assert_eq!(h.router.limits(), &limits);
}

#[test]
fn overloaded_past_the_in_flight_limit() {
    let h = Harness::new(Limits { max_in_flight: 3, ..small_limits() });
    for i in 0..5 {
        h.send(format!(r#"{{"type":"call","id":{i},"method":"noop"}}"#).as_bytes());
    }
    let frames = h.frames.take();
    let codes: Vec<_> = frames.iter().map(|f| (f["id"].clone(), f["error"]["code"].clone())).collect();
    assert_eq!(codes, vec![(3.into(), "overloaded".into()), (4.into(), "overloaded".into())]);
    let calls = h.take_calls();
    assert_eq!(calls.len(), 3);
    h.router.complete(calls[0].0, Ok(b"0"));
    assert!(matches!(h.send(br#"{"type":"call","id":9,"method":"noop"}"#), Receipt::Accepted(_)));
}

#[test]
fn ten_thousand_concurrent_calls_get_one_matching_reply_each() {
    let h = Arc::new(Harness::new(Limits { max_in_flight: 10_000, ..Limits::default() }));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                for i in 0..2_500 {
                    let id = t * 2_500 + i;
                    let r =
                        h.send(format!(r#"{{"type":"call","id":{id},"method":"noop","params":[{id}]}}"#).as_bytes());
                    assert!(matches!(r, Receipt::Accepted(_)));
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(h.router.in_flight(), 10_000);
    // One more is refused.
    h.send(br#"{"type":"call","id":"extra","method":"noop"}"#);
    assert_eq!(h.frames.take()[0]["error"]["code"], "overloaded");
    // Answer from several threads, echoing the params: each reply must carry its own id.
    let calls = h.take_calls();
    let chunks: Vec<Vec<_>> = calls.chunks(2_500).map(|c| c.to_vec()).collect();
    let workers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let h = h.clone();
            std::thread::spawn(move || {
                for (key, _, params) in chunk {
                    let n: Vec<i64> = serde_json::from_slice(&params).unwrap();
                    assert!(h.router.complete(key, Ok(n[0].to_string().as_bytes())));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let frames = h.frames.take();
    assert_eq!(frames.len(), 10_000);
    let mut seen = std::collections::HashSet::new();
    for f in &frames {
        assert_eq!(f["id"], f["result"], "mismatched reply {f}");
        assert!(seen.insert(f["id"].as_i64().unwrap()), "duplicate reply {f}");
    }
    assert_eq!(h.router.in_flight(), 0);
}

#[test]
fn a_panic_while_dispatching_becomes_an_internal_reply() {
    let h = Harness::new(small_limits());
    let boom = 7;
    h.router.register_method("boom", boom, None, Default::default());
    *h.rec.panic_on.lock() = Some(boom);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the test output clean
    let receipt = h.send(br#"{"type":"call","id":"p","method":"boom"}"#);
    std::panic::set_hook(prev);
    assert_eq!(receipt, Receipt::Accepted(CallId::Str("p".into())));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["error"]["code"], "internal");
    assert_eq!(frames[0]["id"], "p");
    assert_eq!(h.stat("panics"), 1);
    assert_eq!(h.router.in_flight(), 0);
    h.assert_still_serving();
}

/// A sink whose `carries_binary` panics: a fault inside the router's admission of a call.
#[derive(Default)]
struct PanickyFrames(Frames);

impl Sink for PanickyFrames {
    fn send(&self, frame: Bytes) {
        self.0.send(frame);
    }
    fn carries_binary(&self) -> bool {
        panic!("sink exploded while the call was admitted");
    }
}

#[test]
fn a_panic_while_routing_before_admission_is_answered_internal_with_the_id() {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(small_limits(), rec.clone(), None);
    router.register_method("noop", 0, None, Default::default());
    let sink = Arc::new(PanickyFrames::default());
    let conn = router.connect(sink.clone(), client());
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let receipt = router.receive(conn, br#"{"type":"call","id":9,"method":"noop"}"#);
    let unanswerable = router.receive(conn, br#"{"type":"call","method":"noop","id":"#);
    std::panic::set_hook(prev);
    // The call was never admitted: it is answered at once, on its connection.
    assert_eq!(receipt, Receipt::Replied(CallId::Int(9)));
    let frames = sink.0.take();
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!((frames[0]["ok"].as_bool(), frames[0]["id"].as_i64()), (Some(false), Some(9)));
    assert_eq!(frames[0]["error"]["code"], "internal");
    assert_eq!(stat(&router, "panics"), 1);
    assert_eq!(router.in_flight(), 0);
    assert!(rec.ops.lock().is_empty(), "nothing reached the host");
    // Malformed, with no id to answer: refused before any admission, no panic.
    assert_eq!(unanswerable, Receipt::Dropped);
}

#[test]
fn cancel_answers_cancelled_and_stops_the_handler() {
    let h = Harness::new(small_limits());
    h.send(br#"{"type":"call","id":"c","method":"noop"}"#);
    let key = h.take_calls()[0].0;
    assert_eq!(h.send(br#"{"type":"cancel","id":"c"}"#), Receipt::Cancel);
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["error"]["code"], "cancelled");
    assert_eq!(h.rec.ops.lock().as_slice(), &[Op::Cancel { key }]);
    assert!(!h.router.complete(key, Ok(b"1")), "a cancelled call must not be answered twice");
    assert!(h.frames.take().is_empty());
    // Cancelling again, or an unknown id, is harmless.
    h.send(br#"{"type":"cancel","id":"c"}"#);
    assert!(h.frames.take().is_empty());
    assert_eq!(h.stat("unknown_cancels"), 1);
}

#[test]
fn timeout_answers_at_the_limit_and_cancels() {
    let h = Harness::with_timers(small_limits());
    h.router.register_method("slow", 1, Some(Duration::from_millis(200)), Default::default());
    let started = Instant::now();
    h.send(br#"{"type":"call","id":"t","method":"slow"}"#);
    let key = h.take_calls()[0].0;
    let frame = loop {
        if let Some(f) = h.frames.take().pop() {
            break f;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "no timeout reply");
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed().as_secs_f64();
    assert!((0.18..0.22 + 0.05).contains(&elapsed), "timeout after {elapsed} s");
    assert_eq!(frame["error"]["code"], "timeout");
    assert!(h.rec.ops.lock().contains(&Op::Cancel { key }));
    assert!(!h.router.complete(key, Ok(b"1")));
    assert!(h.frames.take().is_empty(), "nothing delivered after the timeout");
}

#[test]
fn a_call_answered_in_time_never_times_out() {
    let h = Harness::with_timers(small_limits());
    h.router.register_method("quick", 1, Some(Duration::from_millis(50)), Default::default());
    h.send(br#"{"type":"call","id":1,"method":"quick"}"#);
    h.router.complete(h.take_calls()[0].0, Ok(b"1"));
    std::thread::sleep(Duration::from_millis(120));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["ok"], true);
    assert_eq!(h.stat("timeouts"), 0);
}

#[test]
fn disconnect_cancels_calls_in_flight_and_delivers_nothing_more() {
    let h = Harness::new(small_limits());
    for i in 0..100 {
        h.send(format!(r#"{{"type":"call","id":{i},"method":"noop"}}"#).as_bytes());
    }
    let keys: Vec<u64> = h.take_calls().iter().map(|c| c.0).collect();
    h.router.disconnect(h.conn);
    assert_eq!(h.router.in_flight(), 0);
    let cancels = h.rec.ops.lock().len();
    assert_eq!(cancels, 100);
    for key in keys {
        assert!(!h.router.complete(key, Ok(b"1")));
    }
    assert_eq!(h.router.emit(&Target::Conn(h.conn), "e", b"1"), Emitted::default());
    assert_eq!(h.stat("events_unrouted"), 1);
    assert!(h.frames.take().is_empty());
    assert_eq!(h.send(br#"{"type":"call","id":"x","method":"noop"}"#), Receipt::Dropped);
}

#[test]
fn shutdown_answers_every_call_shutting_down_and_refuses_new_ones() {
    let h = Harness::new(small_limits());
    for i in 0..10 {
        h.send(format!(r#"{{"type":"call","id":{i},"method":"noop"}}"#).as_bytes());
    }
    h.take_calls();
    h.router.shutdown();
    let frames = h.frames.take();
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| f["error"]["code"] == "shutting_down"));
    h.send(br#"{"type":"call","id":"late","method":"noop"}"#);
    assert_eq!(h.frames.take()[0]["error"]["code"], "shutting_down");
    assert!(h.take_calls().is_empty());
}

#[test]
fn events_keep_their_order_and_wait_for_the_first_connection() {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(Limits { max_backlog_events: 3, ..small_limits() }, rec, None);
    let mut dropped = vec![];
    for i in 0..5 {
        let e = router.emit(&Target::All, "tick", i.to_string().as_bytes());
        assert_eq!((e.delivered, e.held), (0, true));
        dropped.push(e.dropped);
    }
    assert_eq!(dropped, [false, false, false, true, true], "each drop is reported to the emitter");
    let frames = Arc::new(Frames::default());
    router.connect(frames.clone(), client());
    router.emit(&Target::All, "tick", b"5");
    let got: Vec<_> = frames.take().iter().map(|f| f["payload"].as_i64().unwrap()).collect();
    assert_eq!(got, vec![2, 3, 4, 5], "oldest held events dropped, order kept");
    assert_eq!(stat(&router, "held_dropped"), 2);
    assert_eq!(stat(&router, "held_events"), 5);
    assert_eq!(router.held(), 0);
}

// -- one router, many transports: connection identity and event targets -----------------

struct Joined {
    router: Arc<Router>,
    rec: Arc<Recorder>,
    main: (u64, Arc<Frames>),
    tools: (u64, Arc<Frames>),
    test: (u64, Arc<Frames>),
}

fn joined() -> Joined {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(small_limits(), rec.clone(), None);
    router.register_method("noop", 0, None, Default::default());
    let open = |info: ConnInfo| {
        let frames = Arc::new(Frames::default());
        (router.connect(frames.clone(), info), frames)
    };
    let (main, tools, test) = (open(page("main")), open(page("tools")), open(client()));
    Joined { router, rec, main, tools, test }
}

fn events(frames: &Frames) -> Vec<String> {
    frames.take().iter().map(|f| f["event"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_connection_carries_its_identity_and_ids_are_never_shared() {
    let j = joined();
    let ids = [j.main.0, j.tools.0, j.test.0];
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{ids:?}");
    assert_eq!(j.router.conn_info(j.main.0), Some(page("main")));
    assert_eq!(j.router.conn_info(j.test.0), Some(client()));
    let all: Vec<u64> = j.router.connections().iter().map(|(id, _)| *id).collect();
    assert_eq!(all, ids.to_vec(), "oldest first");
    j.router.disconnect(j.tools.0);
    assert_eq!(j.router.conn_info(j.tools.0), None);
    let reopened = j.router.connect(Arc::new(Frames::default()), page("tools"));
    assert!(!ids.contains(&reopened), "a connection id is never reused");
}

#[test]
fn calls_from_each_transport_reach_the_dispatcher_with_their_connection() {
    let j = joined();
    for (conn, _) in [&j.main, &j.test] {
        assert!(matches!(j.router.receive(*conn, br#"{"type":"call","id":1,"method":"noop"}"#), Receipt::Accepted(_)));
    }
    let conns: Vec<u64> = j
        .rec
        .ops
        .lock()
        .iter()
        .filter_map(|op| match op {
            Op::Call { conn, .. } => Some(*conn),
            _ => None,
        })
        .collect();
    assert_eq!(conns, vec![j.main.0, j.test.0], "the same id on two connections is two calls");
}

#[test]
fn events_reach_exactly_the_connections_their_target_names() {
    let j = joined();
    let cases: Vec<(Target, [bool; 3])> = vec![
        (Target::All, [true, true, true]),
        (Target::Conn(j.tools.0), [false, true, false]),
        (Target::Window("main".into()), [true, false, false]),
        (Target::Transport(TransportKind::Window), [true, true, false]),
        (Target::Transport(TransportKind::InProcess), [false, false, true]),
    ];
    for (target, expected) in cases {
        let e = j.router.emit(&target, "e", b"null");
        assert_eq!(e.delivered, expected.iter().filter(|x| **x).count(), "{target:?}");
        assert!(!e.held, "{target:?}");
        let got = [&j.main.1, &j.tools.1, &j.test.1].map(|f| !events(f).is_empty());
        assert_eq!(got, expected, "{target:?}");
    }
}

#[test]
fn an_event_for_a_window_not_connected_yet_waits_for_its_page_only() {
    let j = joined();
    let e = j.router.emit(&Target::Window("later".into()), "welcome", b"1");
    assert_eq!(e, Emitted { delivered: 0, held: true, dropped: false });
    j.router.emit(&Target::Window("later".into()), "again", b"2");
    assert_eq!(j.router.held(), 2);
    let other = Arc::new(Frames::default());
    j.router.connect(other.clone(), page("elsewhere"));
    assert!(other.take().is_empty(), "another window does not get it");
    let later = Arc::new(Frames::default());
    j.router.connect_keyed(later.clone(), page("later"));
    assert_eq!(events(&later), ["welcome", "again"], "held events come first, in order");
    assert_eq!(j.router.held(), 0);
    for f in [&j.main.1, &j.tools.1, &j.test.1] {
        assert!(f.take().is_empty());
    }
}

#[test]
fn a_window_reloading_gets_events_emitted_between_its_documents() {
    let j = joined();
    j.router.disconnect(j.main.0); // the old document is gone
    j.router.emit(&Target::Window("main".into()), "between", b"0");
    let next = Arc::new(Frames::default());
    let conn = j.router.connect_keyed(next.clone(), page("main"));
    assert_ne!(conn, j.main.0);
    assert_eq!(events(&next), ["between"]);
}

#[test]
fn events_from_the_client_reach_the_dispatcher_with_raw_detail() {
    let h = Harness::new(small_limits());
    assert_eq!(h.send(br#"{"type":"event","event":"export","detail":{"path":"a"}}"#), Receipt::Event);
    assert_eq!(h.send(br#"{"type":"event","event":"bare"}"#), Receipt::Event);
    let ops = std::mem::take(&mut *h.rec.ops.lock());
    assert_eq!(
        ops,
        vec![
            Op::Event { conn: h.conn, name: "export".into(), detail: br#"{"path":"a"}"#.to_vec(), child: None },
            Op::Event { conn: h.conn, name: "bare".into(), detail: b"null".to_vec(), child: None },
        ]
    );
}

// -- RELIABILITY.md cases 17 and 18 at the router: a page's connection and its key --------

const KEY: &str = "0123456789abcdef0123456789abcdef";
const OTHER: &str = "fedcba9876543210fedcba9876543210";

fn keyed() -> (Harness, u64, Arc<Frames>) {
    let h = Harness::new(Limits::default());
    let frames = Arc::new(Frames::default());
    let conn = h.router.connect_keyed(frames.clone(), page("main"));
    (h, conn, frames)
}

fn keyed_call(key: &str, id: u32) -> Vec<u8> {
    format!(r#"{{"type":"call","key":"{key}","id":{id},"method":"noop"}}"#).into_bytes()
}

fn hello(key: &str) -> Vec<u8> {
    format!(r#"{{"type":"hello","key":"{key}"}}"#).into_bytes()
}

#[test]
fn a_keyed_connection_refuses_everything_before_its_document_commits() {
    let (h, conn, frames) = keyed();
    for msg in [hello(KEY), keyed_call(KEY, 1), br#"{"type":"call","id":2,"method":"noop"}"#.to_vec()] {
        assert_eq!(h.router.receive(conn, &msg), Receipt::Refused);
    }
    assert!(h.take_calls().is_empty() && frames.take().is_empty());
    assert_eq!(h.stat("refused_key"), 3);
}

#[test]
fn once_armed_the_first_hello_binds_and_only_its_key_gets_in() {
    let (h, conn, frames) = keyed();
    h.router.arm(conn);
    assert_eq!(h.router.receive(conn, br#"{"type":"call","id":1,"method":"noop"}"#), Receipt::Refused);
    assert_eq!(h.router.page_key(conn), None, "no key before the page's hello");
    assert_eq!(h.router.receive(conn, &hello(KEY)), Receipt::Hello);
    assert_eq!(h.router.page_key(conn).as_deref(), Some(KEY), "deliveries to the page carry its key");
    let refused = [
        ("missing key", br#"{"type":"call","id":2,"method":"noop"}"#.to_vec()),
        ("forged key", keyed_call(OTHER, 3)),
        ("key of another length", keyed_call(&KEY[1..], 4)),
        ("second hello", hello(OTHER)),
        ("same hello again", hello(KEY)),
        ("event without key", br#"{"type":"event","event":"e"}"#.to_vec()),
        ("cancel with a forged key", format!(r#"{{"type":"cancel","key":"{OTHER}","id":9}}"#).into_bytes()),
        ("ready without key", br#"{"type":"ready"}"#.to_vec()),
        ("malformed, forged key", format!(r#"{{"type":"call","key":"{OTHER}","id":5,"method":}}"#).into_bytes()),
        ("malformed, no key", br#"{"type":"call","id":6,"method":"#.to_vec()),
        ("key not a string", br#"{"type":"call","key":1,"id":7,"method":"noop"}"#.to_vec()),
    ];
    for (name, msg) in &refused {
        assert_eq!(h.router.receive(conn, msg), Receipt::Refused, "{name}");
    }
    assert!(h.take_calls().is_empty(), "a handler ran");
    assert!(frames.take().is_empty(), "a refused message was answered");
    assert_eq!(h.stat("refused_key"), 1 + refused.len() as u64);

    // The page's own messages: served as on any connection, errors answered.
    assert_eq!(h.router.receive(conn, &keyed_call(KEY, 10)), Receipt::Accepted(CallId::Int(10)));
    assert_eq!(h.take_calls().len(), 1);
    let malformed = format!(r#"{{"type":"call","key":"{KEY}","id":11,"method":}}"#);
    assert_eq!(h.router.receive(conn, malformed.as_bytes()), Receipt::Replied(CallId::Int(11)));
    assert_eq!(h.router.receive(conn, format!(r#"{{"type":"ready","key":"{KEY}"}}"#).as_bytes()), Receipt::Ready);
    assert_eq!(frames.take().len(), 1);
}

#[test]
fn a_new_document_makes_the_old_key_stale() {
    let (h, conn, _frames) = keyed();
    h.router.arm(conn);
    assert_eq!(h.router.receive(conn, &hello(KEY)), Receipt::Hello);
    h.router.arm(conn); // the document was replaced without a new connection
    assert_eq!(h.router.receive(conn, &keyed_call(KEY, 1)), Receipt::Refused, "stale key");
    assert_eq!(h.router.receive(conn, &hello(OTHER)), Receipt::Hello);
    assert_eq!(h.router.page_key(conn).as_deref(), Some(OTHER), "the new document's key");
    assert_eq!(h.router.receive(conn, &keyed_call(KEY, 2)), Receipt::Refused, "stale key");
    assert_eq!(h.router.receive(conn, &keyed_call(OTHER, 3)), Receipt::Accepted(CallId::Int(3)));
}

#[test]
fn hello_keys_are_checked_for_format() {
    let (h, conn, _frames) = keyed();
    h.router.arm(conn);
    for bad in ["short", "has space in it 0123456789", "quote\"0123456789abcdef0123", &"a".repeat(129)] {
        let msg = serde_json::json!({"type": "hello", "key": bad}).to_string();
        assert_eq!(h.router.receive(conn, msg.as_bytes()), Receipt::Refused, "{bad}");
    }
    assert_eq!(h.router.receive(conn, &hello(&"k".repeat(22))), Receipt::Hello);
}

#[test]
fn open_connections_ignore_keys() {
    let h = Harness::new(Limits::default());
    assert_eq!(h.send(&hello(KEY)), Receipt::Hello);
    assert_eq!(h.send(&keyed_call(OTHER, 1)), Receipt::Accepted(CallId::Int(1)));
    assert_eq!(h.send(br#"{"type":"call","id":2,"method":"noop"}"#), Receipt::Accepted(CallId::Int(2)));
    assert_eq!(h.stat("refused_key"), 0);
}

// -- access rules and metrics (docs/network.md) --------------------------------------------

#[test]
fn access_rules_answer_forbidden_before_any_dispatch() {
    use _core::ipc::{Access, Exposure};
    let rec = Arc::new(Recorder::default());
    let router = Router::new(small_limits(), rec.clone(), None);
    router.register_method("open", 0, None, Access::default());
    let windows_only = Access { transports: Some(vec![TransportKind::Window]), origins: None };
    router.register_method("local", 1, None, windows_only);
    let net = Access { transports: Some(vec![TransportKind::Network]), origins: None };
    router.register_method("remote", 2, None, net);
    let open = |info: ConnInfo, exposure: Exposure| {
        let frames = Arc::new(Frames::default());
        (router.connect_exposed(frames.clone(), info, exposure), frames)
    };
    let (declared, declared_frames) = open(ConnInfo::new(TransportKind::Network), Exposure::Declared);
    let (all, all_frames) = open(ConnInfo::new(TransportKind::Network), Exposure::All);
    let (window, window_frames) = open(page("main"), Exposure::All);
    // (connection, method, accepted)
    let table: [(u64, &str, bool); 9] = [
        (declared, "open", false),
        (declared, "local", false),
        (declared, "remote", true),
        (all, "open", true),
        (all, "local", false),
        (all, "remote", true),
        (window, "open", true),
        (window, "local", true),
        (window, "remote", false),
    ];
    for (i, (conn, method, accepted)) in table.iter().enumerate() {
        let msg = format!(r#"{{"type":"call","id":{i},"method":"{method}"}}"#);
        let receipt = router.receive(*conn, msg.as_bytes());
        assert_eq!(matches!(receipt, Receipt::Accepted(_)), *accepted, "{method} on {conn}: {receipt:?}");
    }
    let dispatched = rec.ops.lock().len();
    assert_eq!(dispatched, 5, "refused calls never reach the dispatcher");
    assert_eq!(stat(&router, "forbidden"), 4);
    let refused: Vec<Value> = [declared_frames, all_frames, window_frames].iter().flat_map(|f| f.take()).collect();
    assert_eq!(refused.len(), 4);
    for frame in refused {
        assert_eq!(frame["error"]["code"], "forbidden", "{frame}");
        assert_eq!(frame["error"]["name"], "Forbidden");
    }
}

#[test]
fn every_reply_is_recorded_in_its_command_metrics() {
    let h = Harness::new(small_limits());
    h.send(br#"{"type":"call","id":"before","method":"noop"}"#);
    h.router.complete(h.take_calls()[0].0, Ok(b"1"));
    assert_eq!(h.router.method_metrics()[0].calls, 0, "off until enabled");
    h.router.enable_metrics();
    for id in 0..3 {
        h.send(format!(r#"{{"type":"call","id":{id},"method":"noop"}}"#).as_bytes());
    }
    let calls = h.take_calls();
    h.router.complete(calls[0].0, Ok(b"1"));
    h.router.complete(calls[1].0, Err(ErrorReply::framework(_core::protocol::ErrorCode::InvalidParams, "bad")));
    h.send(br#"{"type":"cancel","id":2}"#);
    let noop = h.router.method_metrics().into_iter().find(|m| m.name == "noop").unwrap();
    assert_eq!((noop.calls, noop.ok), (3, 1));
    let mut errors = noop.errors.clone();
    errors.sort();
    assert_eq!(errors, vec![("cancelled".to_owned(), 1), ("invalid_params".to_owned(), 1)]);
    assert_eq!(*noop.cumulative.last().unwrap(), 3);
}

#[test]
fn heartbeats_are_receipts_not_work() {
    let h = Harness::new(small_limits());
    assert_eq!(h.send(br#"{"type":"ping"}"#), Receipt::Ping);
    assert_eq!(h.send(br#"{"type":"pong"}"#), Receipt::Pong);
    assert!(h.rec.ops.lock().is_empty());
    assert!(h.frames.take().is_empty(), "the transport answers pings, not the router");
}

#[test]
fn events_from_a_child_carry_its_id_as_they_arrive() {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(small_limits(), rec.clone(), None);
    let child = ConnInfo { peer: Some("worker-1".into()), ..ConnInfo::new(TransportKind::Child) };
    let other = ConnInfo { peer: Some("worker-1".into()), ..ConnInfo::new(TransportKind::InProcess) };
    let (c, o) =
        (router.connect(Arc::new(Frames::default()), child), router.connect(Arc::new(Frames::default()), other));
    router.receive(c, br#"{"type":"event","event":"status","detail":1}"#);
    router.disconnect(c); // gone before the host looks: the id came with the event
    router.receive(o, br#"{"type":"event","event":"status","detail":2}"#);
    let children: Vec<Option<String>> = rec
        .ops
        .lock()
        .iter()
        .filter_map(|op| match op {
            Op::Event { child, .. } => Some(child.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(children, vec![Some("worker-1".to_owned()), None], "only a child transport names a child");
}

// -- streams and channels: items while the call is in flight, acks to the host ----------

#[test]
fn items_travel_while_the_call_is_in_flight_and_never_after_its_reply() {
    let h = Harness::new(Limits::default());
    assert_eq!(h.send(br#"{"type":"call","id":"s","method":"noop"}"#), Receipt::Accepted(CallId::Str("s".into())));
    let key = h.take_calls()[0].0;
    assert!(h.router.item(key, 1, br#"{"n":1}"#));
    assert!(h.router.item(key, 2, b""));
    assert!(h.router.complete(key, Ok(b"null")));
    assert!(!h.router.item(key, 3, b"3"), "an item after the reply is dropped");
    let frames = h.frames.take();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0], serde_json::json!({"type": "item", "id": "s", "seq": 1, "item": {"n": 1}}));
    assert_eq!(frames[1]["item"], Value::Null);
    assert_eq!(frames[2]["type"], "call_result");
    assert_eq!((h.stat("items_sent"), h.stat("late_items")), (2, 1));
}

#[test]
fn acks_reach_the_host_for_calls_in_flight_only() {
    let h = Harness::new(Limits::default());
    h.send(br#"{"type":"call","id":7,"method":"noop"}"#);
    let key = h.take_calls()[0].0;
    assert_eq!(h.send(br#"{"type":"ack","id":7,"seq":16}"#), Receipt::Ack);
    assert_eq!(h.send(br#"{"type":"ack","id":8,"seq":1}"#), Receipt::Ack);
    assert_eq!(*h.rec.ops.lock(), vec![Op::Ack { key, seq: 16 }]);
    assert_eq!(h.stat("unknown_acks"), 1);
    // A malformed ack is counted and never answered (its id names a stream, not a reply).
    assert_eq!(h.send(br#"{"type":"ack","id":7,"seq":-1}"#), Receipt::Dropped);
    assert!(h.frames.take().is_empty());
    assert_eq!(h.router.in_flight(), 1);
}

#[test]
fn an_item_with_an_unsafe_integer_ends_its_call_and_stops_the_host() {
    let h = Harness::new(Limits::default());
    h.send(br#"{"type":"call","id":1,"method":"noop"}"#);
    let key = h.take_calls()[0].0;
    assert!(!h.router.item(key, 1, b"[9007199254740993]"));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["error"]["code"], "internal");
    assert!(h.rec.ops.lock().contains(&Op::Cancel { key }));
    assert_eq!(h.router.in_flight(), 0);
    assert_eq!(h.stat("unsafe_results"), 1);
}

// -- issue 17: counters and the unsafe-result check, asserted here and not only from Python --

#[test]
fn refusals_are_counted_by_kind_and_cancels_as_cancelled() {
    let h = Harness::new(Limits { max_message_bytes: 128, ..small_limits() });
    let counts = |h: &Harness| [h.stat("too_large"), h.stat("invalid_messages"), h.stat("cancelled")];
    let big = format!(r#"{{"type":"call","id":"big","method":"noop","params":"{}"}}"#, "x".repeat(200));
    assert_eq!(h.send(big.as_bytes()), Receipt::Replied(CallId::Str("big".into())));
    assert_eq!(counts(&h), [1, 0, 0]);
    assert_eq!(h.send(br#"{"type":"call","id":"bad","method":7}"#), Receipt::Replied(CallId::Str("bad".into())));
    assert_eq!(h.send(br#"{"type":"call","method":7}"#), Receipt::Dropped);
    assert_eq!(counts(&h), [1, 2, 0]);
    let codes: Vec<Value> = h.frames.take().iter().map(|f| f["error"]["code"].clone()).collect();
    assert_eq!(codes, ["payload_too_large", "invalid_message"]);

    h.send(br#"{"type":"call","id":"c","method":"noop"}"#);
    h.send(br#"{"type":"cancel","id":"c"}"#);
    h.send(br#"{"type":"cancel","id":"c"}"#); // no longer in flight: not cancelled twice
    assert_eq!(counts(&h), [1, 2, 1]);
    assert_eq!((h.stat("unknown_cancels"), h.stat("timeouts")), (1, 0));
}

#[test]
fn a_result_with_an_unsafe_integer_is_answered_internal_instead() {
    let h = Harness::new(small_limits());
    h.send(br#"{"type":"call","id":1,"method":"noop"}"#);
    let key = h.take_calls()[0].0;
    assert!(h.router.complete(key, Ok(br#"{"n":[1,9007199254740993,-9007199254740994]}"#)));
    let frames = h.frames.take();
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0]["id"].clone(), frames[0]["ok"].clone()), (1.into(), false.into()));
    assert_eq!(frames[0]["error"]["code"], "internal");
    let message = frames[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("9007199254740993 at result.n.1") && message.ends_with("(and 1 more)"), "{message}");
    assert_eq!((h.stat("unsafe_results"), h.stat("late_results")), (1, 0));
    assert_eq!(h.router.in_flight(), 0);
    // The largest safe integers pass untouched.
    h.send(br#"{"type":"call","id":2,"method":"noop"}"#);
    assert!(h.router.complete(h.take_calls()[0].0, Ok(b"[9007199254740991,-9007199254740991]")));
    assert_eq!(h.frames.take()[0]["result"], serde_json::json!([9_007_199_254_740_991i64, -9_007_199_254_740_991i64]));
    assert_eq!(h.stat("unsafe_results"), 1);
}
