//! Binary frames through the router (docs/binary.md): attachments reach the dispatcher, a
//! binary reply goes back as a frame (to the request's own responder, or to a sink that
//! carries frames), and every refusal still answers a responder exactly once.

use std::sync::Arc;

use _core::ipc::{ConnInfo, Dispatcher, Op, Receipt, Reply, Responder, Router, Sink, TransportKind};
use _core::protocol::{self, ErrorCode, Limits};
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value;

#[derive(Default)]
struct Recorder(Mutex<Vec<Op>>);

impl Dispatcher for Recorder {
    fn dispatch(&self, op: Op) {
        self.0.lock().push(op);
    }
}

impl Recorder {
    /// The one call dispatched: its key, params and blobs.
    fn call(&self) -> (u64, String, Option<Vec<Bytes>>) {
        // Each attachment as one buffer (the router hands over the views of its chunks).
        let ops = std::mem::take(&mut *self.0.lock());
        let calls: Vec<_> = ops
            .into_iter()
            .filter_map(|op| match op {
                Op::Call { key, params, blobs, .. } => {
                    let blobs = blobs.map(|b| b.iter().map(|segments| protocol::concat(segments)).collect());
                    Some((key, String::from_utf8(params).unwrap(), blobs))
                }
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 1, "one call dispatched");
        calls.into_iter().next().unwrap()
    }

    fn calls(&self) -> usize {
        self.0.lock().iter().filter(|op| matches!(op, Op::Call { .. })).count()
    }
}

/// A sink; `binary`: whether it carries binary frames (a WebSocket) or not (a page).
struct Frames {
    sent: Mutex<Vec<Bytes>>,
    binary: bool,
}

impl Sink for Frames {
    fn send(&self, frame: Bytes) {
        self.sent.lock().push(frame);
    }

    fn carries_binary(&self) -> bool {
        self.binary
    }
}

/// Records the replies a responder got, and whether one was dropped unanswered.
#[derive(Default)]
struct Replies {
    got: Mutex<Vec<Reply>>,
    dropped: Mutex<usize>,
}

struct Probe {
    replies: Arc<Replies>,
    answered: bool,
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.answered {
            *self.replies.dropped.lock() += 1;
        }
    }
}

fn responder(replies: &Arc<Replies>) -> Responder {
    let mut probe = Probe { replies: replies.clone(), answered: false };
    Box::new(move |reply| {
        probe.answered = true;
        probe.replies.got.lock().push(reply);
    })
}

fn setup(binary_sink: bool, limits: Limits) -> (Arc<Router>, Arc<Recorder>, Arc<Frames>, u64) {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(limits, rec.clone(), None);
    router.register_method("echo", 0, None, Default::default());
    let frames = Arc::new(Frames { sent: Mutex::new(Vec::new()), binary: binary_sink });
    let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
    (router, rec, frames, conn)
}

fn frame(json: &str, blobs: &[&[u8]]) -> Bytes {
    let blobs: Vec<Bytes> = blobs.iter().map(|b| Bytes::copy_from_slice(b)).collect();
    protocol::concat(&protocol::encode_frame(Bytes::copy_from_slice(json.as_bytes()), &blobs))
}

/// The JSON and attachments of a reply frame.
fn open(segments: &[Bytes]) -> (Value, Vec<Vec<u8>>) {
    let whole = protocol::concat(segments);
    let decoded = protocol::decode_frame(&whole, usize::MAX).expect("a well-formed reply frame");
    (serde_json::from_slice(&decoded.json).unwrap(), decoded.blobs.iter().map(|b| b.to_vec()).collect())
}

fn only_reply(replies: &Replies) -> Reply {
    let mut got = std::mem::take(&mut *replies.got.lock());
    assert_eq!(got.len(), 1, "exactly one reply");
    assert_eq!(*replies.dropped.lock(), 0);
    got.pop().unwrap()
}

const CALL: &str = r#"{"type":"call","id":7,"method":"echo","params":{"data":{"$bin":0}}}"#;

#[test]
fn attachments_reach_the_host_and_a_binary_reply_reaches_the_responder() {
    let (router, rec, frames, conn) = setup(false, Limits::default());
    let replies = Arc::new(Replies::default());
    let png = b"\x89PNG\r\n\x1a\n\xff\xfe\x00";
    let receipt = router.receive_frame(conn, frame(CALL, &[png]), Some(responder(&replies)));
    assert_eq!(receipt, Receipt::Accepted(protocol::CallId::Int(7)));
    let (key, params, blobs) = rec.call();
    assert_eq!(params, r#"{"data":{"$bin":0}}"#, "the JSON is handed over untouched");
    assert_eq!(blobs.unwrap(), vec![Bytes::from_static(png)]);
    assert!(router.complete_binary(key, br#"{"png":{"$bin":0},"n":1}"#, vec![Bytes::from_static(png)]));
    let Reply::Frame(segments) = only_reply(&replies) else { panic!("a reply frame") };
    let (json, blobs) = open(&segments);
    assert_eq!(json["type"], "call_result");
    assert_eq!(json["id"], 7);
    assert_eq!(json["result"], serde_json::json!({"png": {"$bin": 0}, "n": 1}));
    assert_eq!(blobs, vec![png.to_vec()]);
    assert!(frames.sent.lock().is_empty(), "nothing went through the page's sink");
    let late = |router: &Router| {
        router.stats().snapshot().into_iter().find(|(n, _)| *n == "late_results").map_or(0, |(_, v)| v)
    };
    assert_eq!(late(&router), 0, "the reply in time is not late");
    assert!(!router.complete_binary(key, b"null", vec![]), "one reply only");
    assert_eq!(late(&router), 1, "the second is counted late");
}

#[test]
fn a_frame_read_in_chunks_gives_each_attachment_as_views_of_its_chunks() {
    let (router, rec, _frames, conn) = setup(false, Limits::default());
    let data = frame(CALL, &[b"0123456789"]);
    let cut = data.len() - 4; // the attachment spans both chunks
    let replies = Arc::new(Replies::default());
    let chunks = vec![data.slice(..cut), data.slice(cut..)];
    assert!(matches!(router.receive_chunks(conn, chunks, Some(responder(&replies))), Receipt::Accepted(_)));
    let ops = std::mem::take(&mut *rec.0.lock());
    let Some(Op::Call { blobs: Some(blobs), .. }) = ops.into_iter().next() else { panic!("a call with blobs") };
    assert_eq!(blobs.len(), 1);
    assert_eq!(blobs[0].iter().map(Bytes::len).collect::<Vec<_>>(), vec![6, 4], "two views, no copy");
    assert_eq!(protocol::concat(&blobs[0]), Bytes::from_static(b"0123456789"));
}

#[test]
fn errors_of_a_call_with_a_responder_are_answered_there_as_frames() {
    let (router, rec, frames, conn) = setup(false, Limits::default());
    let cases = [
        (r#"{"type":"call","id":1,"method":"nope","params":{}}"#, "method_not_found"),
        (r#"{"type":"call","id":2,"method":"echo","params":{"n":9007199254740993}}"#, "invalid_params"),
        (r#"{"type":"call","id":3,"method":"echo","params":[1,"#, "invalid_message"),
    ];
    for (json, code) in cases {
        let replies = Arc::new(Replies::default());
        router.receive_frame(conn, frame(json, &[]), Some(responder(&replies)));
        let Reply::Frame(segments) = only_reply(&replies) else { panic!("{code}: a reply frame") };
        let (reply, blobs) = open(&segments);
        assert_eq!(reply["error"]["code"], code, "{json}");
        assert!(blobs.is_empty());
    }
    assert_eq!(rec.calls(), 0);
    assert!(frames.sent.lock().is_empty());
}

#[test]
fn frames_refused_before_they_are_calls_answer_the_responder_with_a_code() {
    let limits = Limits { max_binary_bytes: 4, ..Limits::default() };
    let (router, rec, _frames, conn) = setup(false, limits);
    let too_big = frame(CALL, &[b"12345"]);
    let mut truncated = frame(CALL, &[b"1"]).to_vec();
    truncated.pop();
    let cases: Vec<(&str, Bytes, ErrorCode)> = vec![
        ("attachments over max_binary_bytes", too_big, ErrorCode::PayloadTooLarge),
        ("lengths that do not add up", Bytes::from(truncated), ErrorCode::InvalidMessage),
        ("an event in a frame", frame(r#"{"type":"event","event":"x","detail":1}"#, &[]), ErrorCode::InvalidMessage),
        ("a cancel in a frame", frame(r#"{"type":"cancel","id":1}"#, &[]), ErrorCode::InvalidMessage),
        ("JSON without an id", frame("[1,2", &[]), ErrorCode::InvalidMessage),
    ];
    for (what, data, code) in cases {
        let replies = Arc::new(Replies::default());
        assert_eq!(router.receive_frame(conn, data, Some(responder(&replies))), Receipt::Dropped, "{what}");
        assert_eq!(only_reply(&replies), Reply::Refused(code), "{what}");
    }
    assert_eq!(rec.calls(), 0);
}

#[test]
fn a_keyed_page_refuses_a_frame_without_its_key_before_any_dispatch() {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(Limits::default(), rec.clone(), None);
    router.register_method("echo", 0, None, Default::default());
    let frames = Arc::new(Frames { sent: Mutex::new(Vec::new()), binary: false });
    let conn = router.connect_keyed(frames, ConnInfo::window("main", "auroraview://localhost"));
    router.arm(conn);
    const KEY: &str = "0123456789abcdef0123456789abcdef";
    assert_eq!(router.receive(conn, format!(r#"{{"type":"hello","key":"{KEY}"}}"#).as_bytes()), Receipt::Hello);
    for json in [CALL.to_string(), CALL.replace(r#""id":7"#, r#""key":"fedcba9876543210fedcba9876543210","id":7"#)] {
        let replies = Arc::new(Replies::default());
        assert_eq!(router.receive_frame(conn, frame(&json, &[b"x"]), Some(responder(&replies))), Receipt::Refused);
        assert_eq!(only_reply(&replies), Reply::Refused(ErrorCode::Forbidden));
    }
    assert_eq!(rec.calls(), 0, "no handler ran");
    let keyed = CALL.replace(r#""id":7"#, &format!(r#""key":"{KEY}","id":7"#));
    let replies = Arc::new(Replies::default());
    assert!(matches!(
        router.receive_frame(conn, frame(&keyed, &[b"x"]), Some(responder(&replies))),
        Receipt::Accepted(_)
    ));
}

#[test]
fn a_connection_closing_drops_the_responder_of_its_call_in_flight() {
    let (router, rec, _frames, conn) = setup(false, Limits::default());
    let replies = Arc::new(Replies::default());
    router.receive_frame(conn, frame(CALL, &[b"x"]), Some(responder(&replies)));
    let (key, _, _) = rec.call();
    router.disconnect(conn);
    assert_eq!(*replies.dropped.lock(), 1, "dropped: its owner answers the request (500)");
    assert!(replies.got.lock().is_empty());
    assert!(!router.complete_binary(key, b"null", vec![]));
}

#[test]
fn shutdown_answers_a_responder() {
    let (router, rec, _frames, conn) = setup(false, Limits::default());
    let replies = Arc::new(Replies::default());
    router.receive_frame(conn, frame(CALL, &[b"x"]), Some(responder(&replies)));
    rec.call();
    router.shutdown();
    let Reply::Frame(segments) = only_reply(&replies) else { panic!("a reply frame") };
    assert_eq!(open(&segments).0["error"]["code"], "shutting_down");
}

#[test]
fn a_sink_that_carries_frames_gets_binary_replies_and_text_calls_may_get_one() {
    let (router, rec, frames, conn) = setup(true, Limits::default());
    // A text call on such a connection may be answered with attachments.
    router.receive(conn, br#"{"type":"call","id":1,"method":"echo","params":{}}"#);
    let (key, _, blobs) = rec.call();
    assert_eq!(blobs, Some(vec![]));
    assert!(router.complete_binary(key, br#"{"$bin":0}"#, vec![Bytes::from_static(b"\xff")]));
    // A frame without a responder: answered through the sink.
    router.receive_frame(conn, frame(CALL, &[b"abc"]), None);
    let (key, _, blobs) = rec.call();
    assert_eq!(blobs.unwrap(), vec![Bytes::from_static(b"abc")]);
    assert!(router.complete(key, Ok(b"3")));
    let sent = std::mem::take(&mut *frames.sent.lock());
    assert_eq!(sent.len(), 2);
    assert!(protocol::is_frame(&sent[0]), "the binary reply is a frame");
    let (json, blobs) = open(std::slice::from_ref(&sent[0]));
    assert_eq!((json["id"].clone(), blobs), (Value::from(1), vec![b"\xff".to_vec()]));
    assert!(!protocol::is_frame(&sent[1]), "a plain result stays JSON text");
    assert_eq!(serde_json::from_slice::<Value>(&sent[1]).unwrap()["result"], 3);
}

#[test]
fn a_page_sink_gets_no_blobs_and_a_frame_without_a_responder_is_refused() {
    let (router, rec, frames, conn) = setup(false, Limits::default());
    router.receive(conn, br#"{"type":"call","id":1,"method":"echo","params":{}}"#);
    let (key, _, blobs) = rec.call();
    assert_eq!(blobs, None, "the host must not answer this call with attachments");
    // If it does anyway, the caller gets a clear error, not a frame it cannot read.
    assert!(router.complete_binary(key, b"null", vec![Bytes::from_static(b"x")]));
    router.receive_frame(conn, frame(CALL, &[b"abc"]), None);
    assert_eq!(rec.calls(), 0);
    let sent: Vec<Value> =
        std::mem::take(&mut *frames.sent.lock()).iter().map(|f| serde_json::from_slice(f).unwrap()).collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["error"]["code"], "internal");
    assert_eq!(sent[1]["error"]["code"], "invalid_message");
}
