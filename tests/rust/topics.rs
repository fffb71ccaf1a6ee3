//! Topics at the router (docs/topics.md): a subscribe's reply comes before any publication of
//! its topic and its replay before anything newer, under concurrent publishers; a subscribe
//! whose call ended subscribes nobody; connections leave their topics when they go; the host
//! gets its publications in order; what is refused reaches nobody.

use std::sync::Arc;
use std::thread;

use _core::ipc::{ConnInfo, Dispatcher, Op, Router, Since, Sink, TopicSpec, TransportKind, MAX_TOPICS};
use _core::protocol::Limits;
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

#[derive(Default)]
struct Frames(Mutex<Vec<Bytes>>);

impl Sink for Frames {
    fn send(&self, frame: Bytes) {
        self.0.lock().push(frame);
    }
}

impl Frames {
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock()).iter().map(|f| serde_json::from_slice(f).unwrap()).collect()
    }
}

const SUBSCRIBE: u32 = 7;

fn router() -> (Arc<Router>, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let router = Router::new(Limits::default(), rec.clone(), None);
    router.register_method("auroraview.subscribe", SUBSCRIBE, None, Default::default());
    (router, rec)
}

/// A subscribe call from `conn` with `id`: its call key (as the host would get it).
fn subscribe_call(router: &Router, rec: &Recorder, conn: u64, id: i64) -> u64 {
    let msg = format!(r#"{{"type":"call","id":{id},"method":"auroraview.subscribe","params":{{"topic":"t"}}}}"#);
    router.receive(conn, msg.as_bytes());
    let ops = rec.0.lock();
    match ops.last() {
        Some(Op::Call { key, method: SUBSCRIBE, .. }) => *key,
        other => panic!("no subscribe dispatched: {other:?}"),
    }
}

fn spec(history: usize) -> TopicSpec {
    TopicSpec { history, ..TopicSpec::default() }
}

fn offsets(frames: &[Value]) -> Vec<u64> {
    frames.iter().filter(|f| f["type"] == "publication").map(|f| f["offset"].as_u64().unwrap()).collect()
}

#[test]
fn the_reply_comes_first_then_the_replay_then_live_publications_in_order_under_concurrent_publishers() {
    for round in 0..20 {
        let (router, rec) = router();
        for i in 0..50 {
            router.topic_publish("t", spec(10_000), format!("{i}").as_bytes()).unwrap();
        }
        let epoch = router.topic_presence("t").unwrap().1;
        let frames = Arc::new(Frames::default());
        let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
        let key = subscribe_call(&router, &rec, conn, 1);
        // Two publishers race the subscription.
        let publishers: Vec<_> = (0..2)
            .map(|p| {
                let router = router.clone();
                thread::spawn(move || {
                    for i in 0..500 {
                        router.topic_publish("t", spec(10_000), format!("[{p},{i}]").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        let since = Since { epoch: epoch.clone(), offset: 10 };
        assert_eq!(router.topic_subscribe(key, "t", spec(10_000), Some(since)), Ok(true));
        for p in publishers {
            p.join().unwrap();
        }
        let got = frames.take();
        assert_eq!(got[0]["type"], "call_result", "round {round}: the reply is first");
        assert_eq!(got[0]["result"]["recovered"], true);
        let at = got[0]["result"]["offset"].as_u64().unwrap();
        // Everything after offset 10 exactly once, in order: the replay up to `at`, then live.
        assert_eq!(offsets(&got[1..]), (11..=1050).collect::<Vec<_>>(), "round {round} (reply at {at})");
        assert!(got.iter().skip(1).all(|f| f["epoch"] == epoch.as_str()));
    }
}

#[test]
fn a_subscribe_whose_call_ended_subscribes_nobody() {
    let (router, rec) = router();
    let frames = Arc::new(Frames::default());
    let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
    let key = subscribe_call(&router, &rec, conn, 1);
    router.receive(conn, br#"{"type":"cancel","id":1}"#);
    assert_eq!(router.topic_subscribe(key, "t", spec(10), None), Ok(false));
    router.topic_publish("t", spec(10), b"1").unwrap();
    let got = frames.take();
    assert_eq!(got.len(), 1, "only the cancel's reply: {got:?}");
    assert_eq!(got[0]["error"]["code"], "cancelled");
    assert_eq!(router.topic_presence("t").unwrap().0, Vec::<u64>::new());
    // A connection gone before its subscribe was admitted: nothing either.
    let key = subscribe_call(&router, &rec, conn, 2);
    router.disconnect(conn);
    assert_eq!(router.topic_subscribe(key, "t", spec(10), None), Ok(false));
    assert_eq!(router.topic_presence("t").unwrap().0, Vec::<u64>::new());
}

#[test]
fn a_connection_that_goes_leaves_every_topic_and_unsubscribe_is_immediate() {
    let (router, rec) = router();
    let frames = Arc::new(Frames::default());
    let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
    for (i, topic) in ["a", "b", "c"].iter().enumerate() {
        let key = subscribe_call(&router, &rec, conn, i as i64);
        assert_eq!(router.topic_subscribe(key, topic, spec(10), None), Ok(true));
    }
    assert!(router.topic_unsubscribe(conn, "a"));
    assert!(!router.topic_unsubscribe(conn, "a"));
    router.topic_publish("a", spec(10), b"1").unwrap();
    router.topic_publish("b", spec(10), b"1").unwrap();
    assert_eq!(frames.take().iter().filter(|f| f["type"] == "publication").count(), 1);
    router.disconnect(conn);
    for topic in ["a", "b", "c"] {
        assert_eq!(router.topic_presence(topic).unwrap().0, Vec::<u64>::new(), "{topic}");
    }
    router.topic_publish("b", spec(10), b"2").unwrap();
    assert!(frames.take().is_empty());
}

#[test]
fn the_host_gets_its_topics_publications_in_order_and_refusals_reach_nobody() {
    let (router, rec) = router();
    router.topic_host("h", spec(10), true).unwrap();
    for i in 0..100 {
        assert_eq!(router.topic_publish("h", spec(10), format!("{i}").as_bytes()).unwrap().1, i + 1);
    }
    let err = router.topic_publish("h", spec(10), b"[9007199254740993]").unwrap_err();
    assert_eq!(err.code, "invalid_params");
    router.topic_host("h", spec(10), false).unwrap();
    router.topic_publish("h", spec(10), b"0").unwrap();
    let got: Vec<(u64, Vec<u8>)> = rec
        .0
        .lock()
        .iter()
        .filter_map(|op| match op {
            Op::Publication { topic, offset, data, .. } if topic == "h" => Some((*offset, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 100);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, (offset, data))| *offset == i as u64 + 1 && *data == i.to_string().into_bytes()));
    assert_eq!(router.topic_presence("h").unwrap().2, 101, "the refused publish took no offset");
    let stats: std::collections::HashMap<_, _> = router.stats().snapshot().into_iter().collect();
    assert_eq!(stats["publications"], 101);
}

#[test]
fn a_topic_never_used_has_no_presence_and_ids_of_subscribers_are_sorted() {
    let (router, rec) = router();
    assert!(router.topic_presence("never").is_none());
    let sinks: Vec<_> = (0..3).map(|_| Arc::new(Frames::default())).collect();
    let conns: Vec<u64> =
        sinks.iter().map(|s| router.connect(s.clone(), ConnInfo::new(TransportKind::InProcess))).collect();
    for conn in conns.iter().rev() {
        let key = subscribe_call(&router, &rec, *conn, 1);
        router.topic_subscribe(key, "t", spec(10), None).unwrap();
    }
    assert_eq!(router.topic_presence("t").unwrap().0, conns);
}

#[test]
fn below_the_topic_limit_no_topic_is_forgotten() {
    // Forgetting is for when room is needed: a throwaway topic keeps its epoch (its
    // subscribers' positions stay valid) while the app has fewer than MAX_TOPICS.
    let (router, _) = router();
    let none = TopicSpec { history: 0, ..TopicSpec::default() };
    router.topic_publish("throwaway/a", none, b"1").unwrap();
    let epoch = router.topic_presence("throwaway/a").unwrap().1;
    router.topic_publish("throwaway/b", none, b"1").unwrap();
    assert_eq!(router.topic_presence("throwaway/a").map(|p| p.1), Some(epoch));
}

#[test]
fn throwaway_topics_are_forgotten_when_room_is_needed_but_declared_ones_and_history_stay() {
    let (router, _) = router();
    let none = TopicSpec { history: 0, ..TopicSpec::default() };
    router.topic_declare("declared", spec(10));
    router.topic_publish("kept", spec(10), b"1").unwrap(); // its history can be recovered
    let epoch = router.topic_presence("declared").unwrap().1;
    for i in 0..MAX_TOPICS + 500 {
        // A client naming throwaway topics: nothing to recover from any of them.
        router.topic_publish(&format!("throwaway/{i}"), none, b"1").unwrap();
    }
    assert_eq!(router.topic_presence("declared").unwrap().1, epoch, "a declared topic is never forgotten");
    assert_eq!(router.topic_presence("kept").unwrap().2, 1, "history to recover keeps a topic");
    router.topic_publish("declared", spec(10), b"1").unwrap();
    router.topic_publish("another/new/one", spec(10), b"1").unwrap();
}
