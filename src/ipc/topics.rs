//! Topics (docs/topics.md): per topic, an epoch, the last offset, a bounded history of
//! publications and the connections subscribed. Pure bookkeeping: the router takes a topic's
//! lock, asks it what to send, and sends (`Router::topic_*`).
//!
//! A publication's frame is encoded once and shared (`Bytes`) by every subscriber's queue
//! and the history.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ConnId, Sink};
use crate::protocol;

/// How much of a topic's past is kept for recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSpec {
    /// At most this many publications (0: none, so recovery always fails).
    pub history: usize,
    /// None older than this.
    pub history_ttl: Duration,
    /// At most this many bytes of them (their frames).
    pub history_bytes: usize,
}

impl Default for TopicSpec {
    fn default() -> Self {
        TopicSpec { history: 1000, history_ttl: Duration::from_secs(300), history_bytes: 16 * 1024 * 1024 }
    }
}

/// Where a resubscribing client left off: the epoch and the last offset it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    pub epoch: String,
    pub offset: u64,
}

/// What a subscription could recover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No `since` was given: nothing to recover.
    NotAsked,
    /// Everything after `since` follows the reply (possibly nothing).
    Recovered,
    /// The gap cannot be bridged, for this reason; only newer publications follow.
    Lost(String),
}

/// The answer to a subscribe, and what to send after it.
#[derive(Debug)]
pub struct Subscribed {
    pub epoch: Arc<str>,
    pub offset: u64,
    pub recovery: Recovery,
    /// The publications to replay, in order, right after the reply.
    pub replay: Vec<Bytes>,
    /// The connection was subscribed already.
    pub already: bool,
}

impl Subscribed {
    /// The JSON result of `auroraview.subscribe`.
    pub fn result_json(&self) -> Vec<u8> {
        let mut out = serde_json::json!({"epoch": &*self.epoch, "offset": self.offset});
        match &self.recovery {
            Recovery::NotAsked => {}
            Recovery::Recovered => out["recovered"] = true.into(),
            Recovery::Lost(reason) => {
                out["recovered"] = false.into();
                out["reason"] = reason.clone().into();
            }
        }
        serde_json::to_vec(&out).unwrap_or_default()
    }
}

struct Kept {
    offset: u64,
    at: Instant,
    frame: Bytes,
}

/// One topic's state.
pub struct Topic {
    name: String,
    epoch: Arc<str>,
    last: u64,
    spec: TopicSpec,
    history: VecDeque<Kept>,
    history_bytes: usize,
    subscribers: HashMap<ConnId, Arc<dyn Sink>>,
    /// The app itself subscribed (`App.subscribe`): publications also go to the host.
    pub host: bool,
    /// Declared by the app: kept while idle (undeclared ones may be dropped then).
    pub pinned: bool,
    /// Mirrors a broker's topic (`accept`): its epoch and offsets are the broker's. Until
    /// then, with a broker, it answers no subscription.
    pub followed: bool,
}

impl Topic {
    pub fn new(name: &str, spec: TopicSpec, epoch: Arc<str>) -> Topic {
        Topic {
            name: name.to_owned(),
            epoch,
            last: 0,
            spec,
            history: VecDeque::new(),
            history_bytes: 0,
            subscribers: HashMap::new(),
            host: false,
            pinned: false,
            followed: false,
        }
    }

    pub fn epoch(&self) -> &Arc<str> {
        &self.epoch
    }

    pub fn last(&self) -> u64 {
        self.last
    }

    /// Publication `data` (JSON): its offset and its frame. The caller sends the frame to
    /// `subscribers()`.
    pub fn append(&mut self, data: &[u8], now: Instant) -> (u64, Bytes) {
        let offset = self.last + 1;
        (offset, self.keep(offset, data, now))
    }

    /// Message `offset` of history `epoch`, as a broker ordered it, received `at`: its frame
    /// to send to `subscribers()`, or None for one this topic has had already. A new epoch
    /// starts a new history (subscribers see the epoch change on the frame and report the
    /// gap); an offset beyond the next one leaves a gap nothing here can bridge, so the
    /// history is dropped rather than replayed across it (subscribers see the skip).
    pub fn accept(&mut self, epoch: &str, offset: u64, at: Instant, data: &[u8]) -> Option<Bytes> {
        if *self.epoch != *epoch {
            self.epoch = epoch.into();
            self.forget_history();
            self.last = offset.saturating_sub(1);
        } else if offset <= self.last {
            return None;
        } else if offset > self.last + 1 {
            self.forget_history();
            self.last = offset - 1;
        }
        Some(self.keep(offset, data, at))
    }

    /// The broker says history `epoch` stands at `last`, and nothing after what this topic
    /// has can be fetched: resubscriptions from before `last` are told it cannot be
    /// recovered.
    pub fn rebase(&mut self, epoch: &str, last: u64) {
        if *self.epoch != *epoch {
            self.epoch = epoch.into();
            self.forget_history();
            self.last = last;
        } else if last > self.last {
            self.forget_history();
            self.last = last;
        }
    }

    fn forget_history(&mut self) {
        self.history.clear();
        self.history_bytes = 0;
    }

    fn keep(&mut self, offset: u64, data: &[u8], at: Instant) -> Bytes {
        self.last = offset;
        let frame = Bytes::from(protocol::publication(&self.name, &self.epoch, offset, data));
        if self.spec.history > 0 && frame.len() <= self.spec.history_bytes {
            self.history_bytes += frame.len();
            self.history.push_back(Kept { offset, at, frame: frame.clone() });
        } else {
            // Not kept: whatever is kept is older, and the gap it leaves must not be bridged.
            self.forget_history();
        }
        self.prune(at);
        frame
    }

    /// Drop what is beyond the history's count, bytes or age.
    pub fn prune(&mut self, now: Instant) {
        while let Some(front) = self.history.front() {
            let too_many = self.history.len() > self.spec.history;
            let too_big = self.history_bytes > self.spec.history_bytes;
            let too_old = now.saturating_duration_since(front.at) > self.spec.history_ttl;
            if !(too_many || too_big || too_old) {
                break;
            }
            self.history_bytes -= front.frame.len();
            self.history.pop_front();
        }
    }

    /// What subscribing `conn` would answer and replay, per `since`; `add` then subscribes it
    /// (the router answers the call in between, under this topic's lock). A connection
    /// already subscribed gets the current position and no replay.
    pub fn position(&mut self, conn: ConnId, since: Option<&Since>, now: Instant) -> Subscribed {
        self.prune(now);
        let already = self.subscribers.contains_key(&conn);
        let (recovery, replay) = match since {
            None => (Recovery::NotAsked, Vec::new()),
            // Receiving all along: nothing to replay, unless it speaks of another history.
            Some(since) if already && *since.epoch == *self.epoch => (Recovery::Recovered, Vec::new()),
            Some(since) if already => (
                Recovery::Lost(format!(
                    "the topic's history is {:?}, not {:?}: this connection has been receiving it all along",
                    &*self.epoch, since.epoch
                )),
                Vec::new(),
            ),
            Some(since) => match self.replay(since) {
                Ok(frames) => (Recovery::Recovered, frames),
                Err(reason) => (Recovery::Lost(reason), Vec::new()),
            },
        };
        Subscribed { epoch: self.epoch.clone(), offset: self.last, recovery, replay, already }
    }

    /// Subscribe `conn`: its publications go to `sink` from now on.
    pub fn add(&mut self, conn: ConnId, sink: Arc<dyn Sink>) {
        self.subscribers.insert(conn, sink);
    }

    #[cfg(test)]
    fn subscribe(&mut self, conn: ConnId, sink: Arc<dyn Sink>, since: Option<&Since>, now: Instant) -> Subscribed {
        let sub = self.position(conn, since, now);
        self.add(conn, sink);
        sub
    }

    /// The publications after `since`, or why they cannot all be given.
    fn replay(&self, since: &Since) -> Result<Vec<Bytes>, String> {
        if *since.epoch != *self.epoch {
            return Err(format!(
                "the topic's history is a new one (epoch {:?}, not {:?}): the process restarted or its history was lost",
                &*self.epoch, since.epoch
            ));
        }
        if since.offset > self.last {
            return Err(format!("offset {} is ahead of the topic, whose last offset is {}", since.offset, self.last));
        }
        if since.offset == self.last {
            return Ok(Vec::new());
        }
        let want = since.offset + 1;
        match self.history.front() {
            Some(oldest) if oldest.offset <= want => {
                // Offsets in history are consecutive: index by distance from the oldest.
                let skip = (want - oldest.offset) as usize;
                Ok(self.history.iter().skip(skip).map(|k| k.frame.clone()).collect())
            }
            oldest => Err(format!(
                "the history no longer holds offset {want}: it keeps {} (the last {} messages, {} s)",
                oldest.map_or_else(|| "none".to_string(), |k| format!("offsets {} to {}", k.offset, self.last)),
                self.spec.history,
                self.spec.history_ttl.as_secs_f64()
            )),
        }
    }

    /// Whether `conn` was subscribed (it is not any more).
    pub fn unsubscribe(&mut self, conn: ConnId) -> bool {
        self.subscribers.remove(&conn).is_some()
    }

    pub fn subscribers(&self) -> impl Iterator<Item = &Arc<dyn Sink>> {
        self.subscribers.values()
    }

    pub fn subscriber_ids(&self) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> = self.subscribers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn is_idle(&self) -> bool {
        self.subscribers.is_empty() && !self.host
    }

    /// Whether the topic may be forgotten: not declared, nobody subscribed, and nothing left
    /// in its history that a resubscription could recover (once pruned at `now`).
    pub fn forgettable(&mut self, now: Instant) -> bool {
        self.prune(now);
        !self.pinned && self.is_idle() && self.history.is_empty()
    }
}

/// A new random epoch: 16 hex digits.
pub fn new_epoch() -> Arc<str> {
    let mut raw = [0u8; 8];
    if getrandom::fill(&mut raw).is_err() {
        // No entropy: still unique within this process, and unlike any earlier process's
        // with overwhelming likelihood (the clock).
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        raw = (nanos as u64).to_le_bytes();
    }
    raw.iter().map(|b| format!("{b:02x}")).collect::<String>().into()
}

/// Whether `name` is a topic name: `/`-separated segments of `[A-Za-z0-9_.-]`, 1 to 64
/// each, at most 256 bytes (python/auroraview/topics.py applies the same rule).
pub fn valid_name(name: &str) -> bool {
    name.len() <= 256
        && name.split('/').all(|seg| {
            (1..=64).contains(&seg.len())
                && seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Bytes>>);
    impl Sink for Collect {
        fn send(&self, frame: Bytes) {
            self.0.lock().push(frame);
        }
    }

    fn topic(history: usize) -> Topic {
        Topic::new("a/b", TopicSpec { history, ..TopicSpec::default() }, "e1".into())
    }

    fn offsets(frames: &[Bytes]) -> Vec<u64> {
        frames
            .iter()
            .map(|f| serde_json::from_slice::<serde_json::Value>(f).unwrap()["offset"].as_u64().unwrap())
            .collect()
    }

    fn since(epoch: &str, offset: u64) -> Since {
        Since { epoch: epoch.into(), offset }
    }

    #[test]
    fn offsets_count_from_one_and_frames_say_everything() {
        let mut t = topic(10);
        let now = Instant::now();
        assert_eq!(t.last(), 0);
        let (offset, frame) = t.append(br#"{"x":1}"#, now);
        assert_eq!(offset, 1);
        let v: serde_json::Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "publication", "topic": "a/b", "epoch": "e1", "offset": 1, "data": {"x": 1}})
        );
        assert_eq!(t.append(b"2", now).0, 2);
    }

    #[test]
    fn recovery_replays_exactly_the_gap_or_says_why_not() {
        let now = Instant::now();
        let mut t = topic(3);
        for i in 0..5 {
            t.append(format!("{i}").as_bytes(), now);
        }
        // History keeps 3..=5.
        let sink: Arc<dyn Sink> = Arc::new(Collect::default());
        #[rustfmt::skip]
        let cases: &[(Since, Result<Vec<u64>, &str>)] = &[
            (since("e1", 5), Ok(vec![])),
            (since("e1", 4), Ok(vec![5])),
            (since("e1", 2), Ok(vec![3, 4, 5])),
            (since("e1", 1), Err("no longer holds offset 2")),
            (since("e1", 0), Err("no longer holds offset 1")),
            (since("e1", 6), Err("ahead of the topic")),
            (since("e0", 5), Err("new one")),
        ];
        for (i, (s, want)) in cases.iter().enumerate() {
            let got = t.subscribe(100 + i as u64, sink.clone(), Some(s), now);
            assert_eq!(got.offset, 5, "case {i}");
            assert_eq!(&*got.epoch, "e1");
            match want {
                Ok(want) => {
                    assert_eq!(got.recovery, Recovery::Recovered, "case {i}");
                    assert_eq!(&offsets(&got.replay), want, "case {i}");
                }
                Err(why) => {
                    assert!(
                        matches!(&got.recovery, Recovery::Lost(r) if r.contains(why)),
                        "case {i}: {:?}",
                        got.recovery
                    );
                    assert!(got.replay.is_empty());
                }
            }
        }
    }

    #[test]
    fn without_since_nothing_is_replayed_and_a_second_subscribe_replays_nothing() {
        let now = Instant::now();
        let mut t = topic(10);
        t.append(b"1", now);
        let sink: Arc<dyn Sink> = Arc::new(Collect::default());
        let first = t.subscribe(1, sink.clone(), None, now);
        assert_eq!((first.offset, first.recovery, first.replay.len()), (1, Recovery::NotAsked, 0));
        t.append(b"2", now);
        let again = t.subscribe(1, sink, Some(&since("e1", 0)), now);
        assert_eq!((again.offset, again.recovery, again.replay.len()), (2, Recovery::Recovered, 0));
        assert_eq!(t.subscriber_ids(), [1]);
        assert!(t.unsubscribe(1));
        assert!(!t.unsubscribe(1));
        assert!(t.is_idle());
    }

    #[test]
    fn only_an_undeclared_idle_topic_with_nothing_to_recover_is_forgettable() {
        let now = Instant::now();
        let later = now + Duration::from_secs(301);
        let sink: Arc<dyn Sink> = Arc::new(Collect::default());
        let mut t = topic(10);
        assert!(t.forgettable(now), "never used");
        t.append(b"1", now);
        assert!(!t.forgettable(now), "its history can still be recovered");
        assert!(t.forgettable(later), "... until it expires");
        t.subscribe(1, sink, None, later);
        assert!(!t.forgettable(later), "subscribed");
        t.unsubscribe(1);
        t.host = true;
        assert!(!t.forgettable(later), "the host listens");
        t.host = false;
        t.pinned = true;
        assert!(!t.forgettable(later), "declared");
    }

    #[test]
    fn a_connection_subscribed_already_is_told_when_it_speaks_of_another_history() {
        let now = Instant::now();
        let sink: Arc<dyn Sink> = Arc::new(Collect::default());
        let mut t = topic(10);
        t.subscribe(1, sink.clone(), None, now);
        assert_eq!(t.subscribe(1, sink.clone(), Some(&since("e1", 0)), now).recovery, Recovery::Recovered);
        assert!(
            matches!(t.subscribe(1, sink, Some(&since("e0", 0)), now).recovery, Recovery::Lost(r) if r.contains("all along"))
        );
    }

    #[test]
    fn history_is_bounded_by_count_bytes_and_age() {
        let now = Instant::now();
        let mut by_age =
            Topic::new("t", TopicSpec { history_ttl: Duration::from_secs(10), ..TopicSpec::default() }, "e".into());
        by_age.append(b"1", now);
        by_age.append(b"2", now + Duration::from_secs(6));
        by_age.append(b"3", now + Duration::from_secs(12));
        let sink: Arc<dyn Sink> = Arc::new(Collect::default());
        let got = by_age.subscribe(1, sink.clone(), Some(&since("e", 1)), now + Duration::from_secs(12));
        assert_eq!(offsets(&got.replay), [2, 3], "offset 1 is 12 s old");

        let frame_len = protocol::publication("t", "e", 1, b"1234").len();
        let mut by_bytes =
            Topic::new("t", TopicSpec { history_bytes: 2 * frame_len, ..TopicSpec::default() }, "e".into());
        for _ in 0..3 {
            by_bytes.append(b"1234", now);
        }
        let got = by_bytes.subscribe(1, sink.clone(), Some(&since("e", 1)), now);
        assert_eq!(offsets(&got.replay), [2, 3]);
        let got = by_bytes.subscribe(2, sink.clone(), Some(&since("e", 0)), now);
        assert!(matches!(got.recovery, Recovery::Lost(_)));

        // A publication too big to keep leaves no bridge over itself.
        let mut big = Topic::new("t", TopicSpec { history_bytes: frame_len, ..TopicSpec::default() }, "e".into());
        big.append(b"1234", now);
        big.append(b"123456789", now);
        big.append(b"1234", now);
        let got = big.subscribe(1, sink.clone(), Some(&since("e", 1)), now);
        assert!(matches!(got.recovery, Recovery::Lost(_)), "{:?}", got.recovery);
        let got = big.subscribe(2, sink.clone(), Some(&since("e", 2)), now);
        assert_eq!(offsets(&got.replay), [3]);

        let mut none = topic(0);
        none.append(b"1", now);
        let got = none.subscribe(1, sink, Some(&since("e1", 0)), now);
        assert!(matches!(got.recovery, Recovery::Lost(_)));
    }

    #[test]
    fn a_mirror_takes_the_brokers_offsets_once_each_and_never_bridges_a_gap() {
        let now = Instant::now();
        let mut t = topic(10);
        // (epoch, offset) fed, whether sent, the position after, the offsets history keeps.
        #[rustfmt::skip]
        let steps: &[(&str, u64, bool, u64, &[u64])] = &[
            ("b1", 5, true, 5, &[5]),          // first of a broker history: its offset
            ("b1", 6, true, 6, &[5, 6]),
            ("b1", 6, false, 6, &[5, 6]),      // had already
            ("b1", 3, false, 6, &[5, 6]),      // older
            ("b1", 9, true, 9, &[9]),          // a gap: history cannot bridge it
            ("b2", 1, true, 1, &[1]),          // the broker lost its data: a new history
        ];
        for (i, (epoch, offset, sent, last, kept)) in steps.iter().enumerate() {
            let frame = t.accept(epoch, *offset, now, b"1");
            assert_eq!(frame.is_some(), *sent, "step {i}");
            if let Some(frame) = frame {
                let v: serde_json::Value = serde_json::from_slice(&frame).unwrap();
                assert_eq!((v["epoch"].as_str(), v["offset"].as_u64()), (Some(*epoch), Some(*offset)), "step {i}");
            }
            assert_eq!((&*t.epoch().clone(), t.last()), (*epoch, *last), "step {i}");
            let kept_now: Vec<u64> = t.history.iter().map(|k| k.offset).collect();
            assert_eq!(&kept_now, kept, "step {i}");
        }
        // Recovery within the new history works; across the epoch change it is refused.
        let sink: Arc<dyn Sink> = Arc::new(Collect::default());
        assert_eq!(t.subscribe(1, sink.clone(), Some(&since("b2", 0)), now).recovery, Recovery::Recovered);
        assert!(matches!(t.subscribe(2, sink, Some(&since("b1", 9)), now).recovery, Recovery::Lost(_)));
    }

    #[test]
    fn a_rebase_moves_the_position_and_drops_what_it_cannot_bridge() {
        let now = Instant::now();
        let mut t = topic(10);
        t.accept("b1", 1, now, b"1");
        t.accept("b1", 2, now, b"2");
        t.rebase("b1", 2);
        assert_eq!((t.last(), t.history.len()), (2, 2), "nothing new: unchanged");
        t.rebase("b1", 1);
        assert_eq!((t.last(), t.history.len()), (2, 2), "behind: unchanged");
        t.rebase("b1", 4);
        assert_eq!((t.last(), t.history.len()), (4, 0), "ahead: 3 and 4 are lost here");
        t.rebase("b2", 0);
        assert_eq!((&**t.epoch(), t.last(), t.history.len()), ("b2", 0, 0));
    }

    #[test]
    fn the_subscribe_result_says_what_was_recovered() {
        let s = |recovery| Subscribed { epoch: "e".into(), offset: 7, recovery, replay: vec![], already: false };
        let json = |r| serde_json::from_slice::<serde_json::Value>(&s(r).result_json()).unwrap();
        assert_eq!(json(Recovery::NotAsked), serde_json::json!({"epoch": "e", "offset": 7}));
        assert_eq!(json(Recovery::Recovered), serde_json::json!({"epoch": "e", "offset": 7, "recovered": true}));
        assert_eq!(
            json(Recovery::Lost("gone".into())),
            serde_json::json!({"epoch": "e", "offset": 7, "recovered": false, "reason": "gone"})
        );
    }

    #[test]
    fn names_are_segments_of_a_small_alphabet() {
        for good in ["a", "app/channel", "A-b_c.d/0", &"x".repeat(64), &vec!["y".repeat(64); 3].join("/")] {
            assert!(valid_name(good), "{good}");
        }
        for bad in
            ["", "/", "a/", "/a", "a//b", "a b", "a/*", "a/>", "é", &"x".repeat(65), &vec!["y".repeat(64); 4].join("/")]
        {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn epochs_are_16_hex_digits_and_differ() {
        let (a, b) = (new_epoch(), new_epoch());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
