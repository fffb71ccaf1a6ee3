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

// ---- With a broker (`TopicBroker`): the router's side of sharing topics across processes.

use std::time::{Duration, Instant};

use _core::ipc::{BrokerDone, TopicBroker};
use _core::protocol::ErrorReply;

type PublishDone = BrokerDone<(String, u64)>;

/// A broker that records what the router asks of it; the test answers for it.
#[derive(Default)]
struct FakeBroker {
    follows: Mutex<Vec<(String, BrokerDone<()>)>>,
    publishes: Mutex<Vec<(String, Bytes, PublishDone)>>,
}

impl TopicBroker for FakeBroker {
    fn publish(&self, topic: &str, _spec: TopicSpec, data: Bytes, done: PublishDone) {
        self.publishes.lock().push((topic.to_owned(), data, done));
    }
    fn follow(&self, topic: &str, _spec: TopicSpec, done: BrokerDone<()>) {
        self.follows.lock().push((topic.to_owned(), done));
    }
}

impl FakeBroker {
    fn take_follows(&self) -> Vec<(String, BrokerDone<()>)> {
        std::mem::take(&mut *self.follows.lock())
    }
}

fn brokered() -> (Arc<Router>, Arc<Recorder>, Arc<FakeBroker>) {
    let (router, rec) = router();
    let broker = Arc::new(FakeBroker::default());
    assert!(!router.has_broker());
    assert!(router.set_broker(broker.clone()), "the first broker is taken");
    assert!(router.has_broker());
    assert!(!router.set_broker(Arc::new(FakeBroker::default())), "a second one is not");
    (router, rec, broker)
}

fn entries(from: u64, to: u64) -> Vec<(u64, Instant, Bytes)> {
    (from..=to).map(|o| (o, Instant::now(), Bytes::from(o.to_string()))).collect()
}

fn deliveries(router: &Router) -> u64 {
    router.stats().snapshot().into_iter().find(|(n, _)| *n == "deliveries").map_or(0, |(_, v)| v)
}

#[test]
fn with_a_broker_a_topic_is_followed_once_and_subscribers_get_the_brokers_position_and_feed() {
    let (router, rec, broker) = brokered();
    let frames = Arc::new(Frames::default());
    let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
    assert_eq!(router.mirror_position("t"), None, "not followed yet");

    // The first subscribe asks the broker to follow the topic and is answered once it does.
    let key = subscribe_call(&router, &rec, conn, 1);
    assert_eq!(router.topic_subscribe(key, "t", spec(100), None), Ok(true));
    assert!(frames.take().is_empty(), "no reply before the topic is followed");
    let mut follows = broker.take_follows();
    assert_eq!(follows.len(), 1);
    let (topic, done) = follows.pop().unwrap();
    assert_eq!(topic, "t");
    // The broker loads the topic's history (sending nothing: nobody subscribed from before).
    assert!(router.mirror_sync("t", spec(100), "E1", 5, &entries(1, 5)));
    assert!(frames.take().is_empty(), "a first sync sends nothing");
    assert_eq!(router.mirror_position("t"), Some((Arc::from("E1"), 5)));
    done(Ok(()));
    let got = frames.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0]["result"]["epoch"].as_str(), got[0]["result"]["offset"].as_u64()), (Some("E1"), Some(5)));

    // A second subscriber of a followed topic is answered at once, without the broker.
    let other = Arc::new(Frames::default());
    let conn2 = router.connect(other.clone(), ConnInfo::new(TransportKind::InProcess));
    let key = subscribe_call(&router, &rec, conn2, 1);
    assert_eq!(router.topic_subscribe(key, "t", spec(100), None), Ok(true));
    assert!(broker.take_follows().is_empty(), "followed once");
    assert_eq!(other.take()[0]["result"]["offset"], 5);

    // What the broker feeds reaches each subscriber once, in order; a repeat reaches nobody.
    let before = deliveries(&router);
    for offset in 6..=8 {
        assert!(router.mirror_accept("t", "E1", offset, Instant::now(), offset.to_string().as_bytes()));
    }
    assert!(router.mirror_accept("t", "E1", 7, Instant::now(), b"7"), "a repeat is accepted, and dropped");
    assert_eq!(offsets(&frames.take()), vec![6, 7, 8]);
    assert_eq!(offsets(&other.take()), vec![6, 7, 8]);
    assert_eq!(deliveries(&router) - before, 6, "three publications to two subscribers");
    assert_eq!(router.mirror_position("t"), Some((Arc::from("E1"), 8)));

    // A broker link restored: what was missed meanwhile is sent, what was had is not.
    assert!(router.mirror_sync("t", spec(100), "E1", 10, &entries(4, 10)));
    assert_eq!(offsets(&frames.take()), vec![9, 10]);
    assert_eq!(offsets(&other.take()), vec![9, 10]);
    assert_eq!(router.mirror_position("t"), Some((Arc::from("E1"), 10)));
}

#[test]
fn a_follow_that_fails_or_does_not_follow_answers_the_subscribe() {
    let (router, rec, broker) = brokered();
    let frames = Arc::new(Frames::default());
    let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
    let key = subscribe_call(&router, &rec, conn, 1);
    assert_eq!(router.topic_subscribe(key, "t", spec(10), None), Ok(true));
    let (_, done) = broker.take_follows().pop().unwrap();
    done(Err(ErrorReply::framework(_core::protocol::ErrorCode::Unavailable, "broker down")));
    let got = frames.take();
    assert_eq!((got.len(), got[0]["error"]["code"].as_str()), (1, Some("unavailable")), "{got:?}");
    assert_eq!(router.topic_presence("t").unwrap().0, Vec::<u64>::new());

    // The broker says done but never loaded the topic: refused, not subscribed to nothing.
    let key = subscribe_call(&router, &rec, conn, 2);
    assert_eq!(router.topic_subscribe(key, "t", spec(10), None), Ok(true));
    let (_, done) = broker.take_follows().pop().unwrap();
    done(Ok(()));
    let got = frames.take();
    assert_eq!(got[0]["error"]["code"], "unavailable", "{got:?}");
    assert!(got[0]["error"]["message"].as_str().unwrap().contains("could not be followed"));
    assert_eq!(router.topic_presence("t").unwrap().0, Vec::<u64>::new());
}

#[test]
fn mirror_accept_feeds_only_followed_topics() {
    let (router, _rec, _broker) = brokered();
    assert!(!router.mirror_accept("never", "E", 1, Instant::now(), b"1"), "an unknown topic");
    router.topic_declare("declared", spec(10));
    assert!(!router.mirror_accept("declared", "E", 1, Instant::now(), b"1"), "known, not followed");
    assert_eq!(router.topic_presence("declared").unwrap().2, 0, "nothing taken");
    assert_eq!(router.mirror_position("declared"), None);
    assert!(router.mirror_sync("declared", spec(10), "E", 0, &[]));
    assert!(router.mirror_accept("declared", "E", 1, Instant::now(), b"1"));
    assert_eq!(router.topic_presence("declared").unwrap().2, 1);
    let stats: std::collections::HashMap<_, _> = router.stats().snapshot().into_iter().collect();
    assert_eq!(stats["publications"], 1);
}

#[test]
fn the_host_gets_a_followed_topics_feed_but_not_the_history_loaded_by_the_first_sync() {
    let (router, rec, broker) = brokered();
    router.topic_host("h", spec(10), true).unwrap();
    assert_eq!(broker.take_follows().len(), 1, "the host's topic is followed");
    assert!(router.mirror_sync("h", spec(10), "E", 3, &entries(1, 3)));
    assert!(router.mirror_accept("h", "E", 4, Instant::now(), b"4"));
    assert!(router.mirror_sync("h", spec(10), "E", 6, &entries(1, 6)));
    let got: Vec<u64> = rec
        .0
        .lock()
        .iter()
        .filter_map(|op| match op {
            Op::Publication { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![4, 5, 6], "the feed and what a restored link brought, not the history");
}

#[test]
fn publishing_with_a_broker_goes_through_it_and_unsafe_data_reaches_nobody() {
    // Alone, `topic_publish_with` publishes here and answers at once.
    let (alone, _) = router();
    let answer = Arc::new(Mutex::new(None));
    let sink = answer.clone();
    alone.topic_publish_with("t", spec(10), b"1", Box::new(move |r| *sink.lock() = Some(r)));
    let (epoch, offset) = answer.lock().take().unwrap().unwrap();
    assert_eq!((epoch, offset), (alone.topic_presence("t").unwrap().1, 1));

    let (router, _rec, broker) = brokered();
    let sink = answer.clone();
    router.topic_publish_with("t", spec(10), br#"{"n":1}"#, Box::new(move |r| *sink.lock() = Some(r)));
    assert!(answer.lock().is_none(), "answered by the broker, not yet");
    assert!(router.topic_presence("t").is_none(), "nothing published here: the broker orders it");
    let (topic, data, done) = broker.publishes.lock().pop().unwrap();
    assert_eq!((topic.as_str(), &data[..]), ("t", &br#"{"n":1}"#[..]));
    done(Ok(("E".into(), 42)));
    assert_eq!(answer.lock().take().unwrap().unwrap(), ("E".to_string(), 42));

    let sink = answer.clone();
    router.topic_publish_with("t", spec(10), b"[9007199254740993]", Box::new(move |r| *sink.lock() = Some(r)));
    let err = answer.lock().take().unwrap().unwrap_err();
    assert_eq!(err.code, "invalid_params");
    assert!(broker.publishes.lock().is_empty(), "refused before the broker");
}

/// A sink that holds its first frame until released: a publication stalled in fan-out holds
/// its topic's lock.
struct Stalling {
    frames: Frames,
    entered: std::sync::Barrier,
    release: std::sync::Barrier,
    stalled: std::sync::atomic::AtomicBool,
}

impl Sink for Stalling {
    fn send(&self, frame: Bytes) {
        if !self.stalled.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.entered.wait();
            self.release.wait();
        }
        self.frames.send(frame);
    }
}

#[test]
fn a_resubscribe_whose_call_ends_while_it_waits_keeps_the_subscription_it_had() {
    let (router, rec) = router();
    let stalling = Arc::new(Stalling {
        frames: Frames::default(),
        entered: std::sync::Barrier::new(2),
        release: std::sync::Barrier::new(2),
        stalled: false.into(),
    });
    let slow = router.connect(stalling.clone(), ConnInfo::new(TransportKind::InProcess));
    let frames = Arc::new(Frames::default());
    let conn = router.connect(frames.clone(), ConnInfo::new(TransportKind::InProcess));
    let key = subscribe_call(&router, &rec, conn, 1);
    assert_eq!(router.topic_subscribe(key, "t", spec(10), None), Ok(true));
    // The slow connection subscribes (its reply passes), then its sink stalls the next frame.
    stalling.stalled.store(true, std::sync::atomic::Ordering::SeqCst);
    let key = subscribe_call(&router, &rec, slow, 1);
    assert_eq!(router.topic_subscribe(key, "t", spec(10), None), Ok(true));
    stalling.stalled.store(false, std::sync::atomic::Ordering::SeqCst);
    // A publication stalls in fan-out, under the topic's lock.
    let publisher = {
        let router = router.clone();
        thread::spawn(move || router.topic_publish("t", spec(10), b"1").unwrap())
    };
    stalling.entered.wait();
    // `conn` subscribes again (it is subscribed already); its call waits for the topic's lock.
    let key = subscribe_call(&router, &rec, conn, 2);
    let resubscribe = {
        let router = router.clone();
        thread::spawn(move || router.topic_subscribe(key, "t", spec(10), None))
    };
    thread::sleep(Duration::from_millis(200)); // let it reach the lock
    router.receive(conn, br#"{"type":"cancel","id":2}"#);
    stalling.release.wait();
    publisher.join().unwrap();
    assert_eq!(resubscribe.join().unwrap(), Ok(false), "its call had ended");
    // It is still subscribed, and leaves the topic when it goes.
    assert_eq!(router.topic_presence("t").unwrap().0, vec![slow, conn]);
    router.disconnect(conn);
    assert_eq!(router.topic_presence("t").unwrap().0, vec![slow]);
}
