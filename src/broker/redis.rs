//! Topics shared through Redis (docs/topics.md, "Across processes").
//!
//! Per topic, under `{prefix}:t:{topic}:`, Redis keeps the epoch (`e`, made once, by
//! whoever publishes or follows first), the last offset (`c`) and the history, a stream
//! (`s`) whose entry ids are the offsets (`{offset}-0`) and whose fields are the time (`t`,
//! Redis's clock, ms) and the JSON data (`d`), capped at the topic's `history` entries. One
//! Lua script publishes: it takes the next offset, appends to the stream and PUBLISHes the
//! message (`epoch \n offset \n ms \n data`) on `{prefix}:p:{topic}`, atomically, so
//! offsets are consecutive and every node's pattern subscription hears them in offset order.
//!
//! Each process has one feed task: its pattern subscription to `{prefix}:p:*` and the topics
//! it follows. A message whose offset skips ahead (the subscription dropped some) is
//! preceded by what the stream still holds of the gap; after the link is restored, every
//! followed topic is synced from the stream before the feed goes on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::{instant_of, Backoff, Broker, Health};
use crate::ipc::{new_epoch, BrokerDone, Router, TopicBroker, TopicSpec};
use crate::protocol::{ErrorCode, ErrorReply};

/// KEYS: epoch, counter, stream. ARGV: a new epoch (used when the topic has none), the data,
/// the history's length (0: none kept), the channel.
const PUBLISH: &str = r#"
local e = redis.call('GET', KEYS[1])
if not e then
  e = ARGV[1]
  redis.call('SET', KEYS[1], e)
end
local o = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[3])
if keep > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', keep, o .. '-0', 't', ms, 'd', ARGV[2])
end
redis.call('PUBLISH', ARGV[4], e .. '\n' .. o .. '\n' .. ms .. '\n' .. ARGV[2])
return {e, o}
"#;

/// How long one command to Redis may take before the caller is told it is unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RedisBroker {
    inner: Arc<Inner>,
    follows: mpsc::UnboundedSender<Follow>,
    publishes: mpsc::UnboundedSender<Publish>,
    tasks: Mutex<Vec<AbortHandle>>,
}

struct Inner {
    client: Client,
    conn: ConnectionManager,
    prefix: String,
    health: Health,
    router: Weak<Router>,
    closed: AtomicBool,
}

struct Follow {
    topic: String,
    spec: TopicSpec,
    done: BrokerDone<()>,
}

struct Publish {
    topic: String,
    spec: TopicSpec,
    data: Bytes,
    done: BrokerDone<(String, u64)>,
}

/// At most this many publishes in one pipeline.
const PUBLISH_BATCH: usize = 256;

type Entry = (u64, std::time::Instant, Bytes);
/// XRANGE's answer: (id, [field, value, ...]) per entry.
type RawEntries = Vec<(String, Vec<Vec<u8>>)>;

impl RedisBroker {
    pub fn start(url: &str, prefix: &str, router: Weak<Router>, runtime: &Handle) -> Result<Arc<RedisBroker>, String> {
        let client = Client::open(url).map_err(|e| format!("broker URL {:?}: {e}", super::redact(url)))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = {
            let _in_runtime = runtime.enter();
            ConnectionManager::new_lazy_with_config(client.clone(), config)
                .map_err(|e| format!("broker {}: {e}", super::redact(url)))?
        };
        let inner = Arc::new(Inner {
            client,
            conn,
            prefix: prefix.to_owned(),
            health: Health::new(url),
            router,
            closed: AtomicBool::new(false),
        });
        let (follows, rx) = mpsc::unbounded_channel();
        let feed = runtime.spawn(feed(inner.clone(), rx)).abort_handle();
        let (publishes, rx) = mpsc::unbounded_channel();
        let publisher = runtime.spawn(publisher(inner.clone(), rx)).abort_handle();
        Ok(Arc::new(RedisBroker { inner, follows, publishes, tasks: Mutex::new(vec![feed, publisher]) }))
    }
}

impl Inner {
    fn key(&self, topic: &str, part: &str) -> String {
        format!("{}:t:{topic}:{part}", self.prefix)
    }

    fn channel(&self, topic: &str) -> String {
        format!("{}:p:{topic}", self.prefix)
    }

    fn topic_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel.strip_prefix(&self.prefix)?.strip_prefix(":p:")
    }

    /// The topic's epoch (made now if it has none), last offset and the history Redis holds
    /// from offset `from` on, read atomically.
    async fn position(&self, topic: &str, from: u64) -> redis::RedisResult<(String, u64, Vec<Entry>)> {
        let mut conn = self.conn.clone();
        let (epoch, last, raw): (String, Option<u64>, RawEntries) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.key(topic, "e"))
            .arg(&*new_epoch())
            .arg("NX")
            .ignore()
            .get(self.key(topic, "e"))
            .get(self.key(topic, "c"))
            .cmd("XRANGE")
            .arg(self.key(topic, "s"))
            .arg(format!("{from}-0"))
            .arg("+")
            .query_async(&mut conn)
            .await?;
        Ok((epoch, last.unwrap_or(0), raw.into_iter().filter_map(entry).collect()))
    }

    /// The history Redis holds from offset `from` to `to`.
    async fn range(&self, topic: &str, from: u64, to: u64) -> redis::RedisResult<Vec<Entry>> {
        let mut conn = self.conn.clone();
        let raw: RawEntries = redis::cmd("XRANGE")
            .arg(self.key(topic, "s"))
            .arg(format!("{from}-0"))
            .arg(format!("{to}-0"))
            .query_async(&mut conn)
            .await?;
        Ok(raw.into_iter().filter_map(entry).collect())
    }

    /// Load (or sync again) `topic` into the router from what Redis holds.
    async fn sync(&self, topic: &str, spec: TopicSpec) -> Result<(), ErrorReply> {
        let Some(router) = super::router(&self.router) else { return Ok(()) };
        let from = match router.mirror_position(topic) {
            Some((_, last)) => last + 1,
            None => 0,
        };
        let (epoch, last, mut entries) = self.position(topic, from).await.map_err(|e| self.failed(topic, &e))?;
        if router.mirror_position(topic).is_some_and(|(have, _)| *have != *epoch) && from > 0 {
            // Another history (Redis lost its data): all of it is new here.
            entries = self.position(topic, 0).await.map_err(|e| self.failed(topic, &e))?.2;
        }
        if router.mirror_sync(topic, spec, &epoch, last, &entries) {
            Ok(())
        } else {
            Err(ErrorReply::framework(
                ErrorCode::Overloaded,
                format!("this app has {} topics already", crate::ipc::MAX_TOPICS),
            ))
        }
    }

    fn failed(&self, topic: &str, err: &redis::RedisError) -> ErrorReply {
        ErrorReply::framework(
            ErrorCode::Unavailable,
            format!("topic {topic:?}: the topics broker {} did not answer ({err})", self.health.status().url),
        )
    }

    /// One message from the pattern subscription.
    async fn on_message(&self, channel: &str, payload: &[u8]) {
        let Some(topic) = self.topic_of(channel) else { return };
        let Some((epoch, offset, ms, data)) = parse_message(payload) else {
            eprintln!("auroraview: ignored a malformed message on the broker's channel {channel:?}");
            return;
        };
        let Some(router) = super::router(&self.router) else { return };
        let Some((have, last)) = router.mirror_position(topic) else { return };
        if *have == *epoch && offset > last + 1 {
            // The subscription missed some: what the stream still holds of the gap first
            // (what it does not hold reaches subscribers as a gap they report).
            if let Ok(missed) = self.range(topic, last + 1, offset - 1).await {
                for (o, at, d) in missed {
                    router.mirror_accept(topic, epoch, o, at, &d);
                }
            }
        }
        router.mirror_accept(topic, epoch, offset, instant_of(ms), data);
    }
}

/// A stream entry `{offset}-0` with fields `t` and `d`.
fn entry((id, fields): (String, Vec<Vec<u8>>)) -> Option<Entry> {
    let offset: u64 = id.split_once('-')?.0.parse().ok()?;
    let (mut t, mut d) = (None, None);
    for pair in fields.chunks_exact(2) {
        match pair[0].as_slice() {
            b"t" => t = std::str::from_utf8(&pair[1]).ok()?.parse::<u64>().ok(),
            b"d" => d = Some(Bytes::copy_from_slice(&pair[1])),
            _ => {}
        }
    }
    Some((offset, instant_of(t?), d?))
}

/// `epoch \n offset \n ms \n data`.
fn parse_message(payload: &[u8]) -> Option<(&str, u64, u64, &[u8])> {
    let mut parts = payload.splitn(4, |&b| b == b'\n');
    let epoch = std::str::from_utf8(parts.next()?).ok()?;
    let offset = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let ms = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let data = parts.next()?;
    (!epoch.is_empty()).then_some((epoch, offset, ms, data))
}

/// The feed: links to Redis (again after every loss), syncs the followed topics, then hands
/// the routers what the pattern subscription hears, and loads topics asked for, one at a
/// time, in order.
async fn feed(inner: Arc<Inner>, mut follows: mpsc::UnboundedReceiver<Follow>) {
    let mut wanted: HashMap<String, TopicSpec> = HashMap::new();
    let mut backoff = Backoff::new();
    let pattern = format!("{}:p:*", inner.prefix);
    loop {
        let linked = async {
            let mut pubsub = inner.client.get_async_pubsub().await?;
            pubsub.psubscribe(&pattern).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let pubsub = match tokio::time::timeout(RESPONSE_TIMEOUT, linked).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(e)) => {
                inner.health.down(&e.to_string());
                if !wait_refusing(&inner, &mut follows, &mut wanted, backoff.pause()).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                inner.health.down("no answer within 5 s");
                if !wait_refusing(&inner, &mut follows, &mut wanted, backoff.pause()).await {
                    return;
                }
                continue;
            }
        };
        // Subscribed first, then synced: nothing published from here on is missed, and what
        // the sync and the subscription both bring is had once (`Topic::accept`).
        let mut synced = true;
        for (topic, spec) in &wanted {
            if let Err(e) = inner.sync(topic, *spec).await {
                inner.health.down(&e.message);
                synced = false;
                break;
            }
        }
        if !synced {
            if !wait_refusing(&inner, &mut follows, &mut wanted, backoff.pause()).await {
                return;
            }
            continue;
        }
        inner.health.up();
        backoff.reset();
        let mut messages = pubsub.into_on_message();
        loop {
            tokio::select! {
                biased;
                msg = messages.next() => match msg {
                    Some(msg) => inner.on_message(msg.get_channel_name(), msg.get_payload_bytes()).await,
                    None => {
                        inner.health.down("the connection was lost");
                        break;
                    }
                },
                follow = follows.recv() => {
                    let Some(Follow { topic, spec, done }) = follow else { return };
                    wanted.insert(topic.clone(), spec);
                    done(inner.sync(&topic, spec).await);
                }
            }
        }
        if !wait_refusing(&inner, &mut follows, &mut wanted, Duration::ZERO).await {
            return;
        }
    }
}

/// Sleep `pause` while the link is down, refusing follows (they are remembered, to be
/// followed when it returns). False when the broker was closed.
async fn wait_refusing(
    inner: &Inner,
    follows: &mut mpsc::UnboundedReceiver<Follow>,
    wanted: &mut HashMap<String, TopicSpec>,
    pause: Duration,
) -> bool {
    let until = tokio::time::Instant::now() + pause;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => return !inner.closed.load(Ordering::Acquire),
            follow = follows.recv() => {
                let Some(Follow { topic, spec, done }) = follow else { return false };
                let followed = super::router(&inner.router).is_some_and(|r| r.mirror_position(&topic).is_some());
                wanted.insert(topic.clone(), spec);
                if followed {
                    done(Ok(()));
                } else {
                    done(Err(inner.health.unavailable(&format!("subscribe to topic {topic:?}"))));
                }
            }
        }
    }
}

/// The publisher: this process's publishes, in the order they were made, sent to Redis in
/// pipelines of what is waiting (one round trip for many), each answered with its offset.
/// One task, so two publishes from one process reach Redis (and get offsets) in order.
async fn publisher(inner: Arc<Inner>, mut publishes: mpsc::UnboundedReceiver<Publish>) {
    let mut batch: Vec<Publish> = Vec::with_capacity(PUBLISH_BATCH);
    while let Some(first) = publishes.recv().await {
        batch.push(first);
        while batch.len() < PUBLISH_BATCH {
            match publishes.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        for p in &batch {
            pipe.cmd("EVAL")
                .arg(PUBLISH)
                .arg(3)
                .arg(inner.key(&p.topic, "e"))
                .arg(inner.key(&p.topic, "c"))
                .arg(inner.key(&p.topic, "s"))
                .arg(&*new_epoch())
                .arg(&p.data[..])
                .arg(p.spec.history)
                .arg(inner.channel(&p.topic));
        }
        let mut conn = inner.conn.clone();
        let outcome: redis::RedisResult<Vec<(String, u64)>> = pipe.query_async(&mut conn).await;
        match outcome {
            Ok(answers) if answers.len() == batch.len() => {
                for (p, (epoch, offset)) in batch.drain(..).zip(answers) {
                    (p.done)(Ok((epoch, offset)));
                }
            }
            outcome => {
                let why = match outcome {
                    Err(e) => e.to_string(),
                    Ok(answers) => format!("{} answers to {} publishes", answers.len(), batch.len()),
                };
                for p in batch.drain(..) {
                    (p.done)(Err(ErrorReply::framework(
                        ErrorCode::Unavailable,
                        format!(
                            "publish on topic {:?}: the topics broker {} did not confirm it ({why}); \
                             it was not published, unless the link broke after Redis took it",
                            p.topic,
                            inner.health.status().url
                        ),
                    )));
                }
            }
        }
    }
}

impl TopicBroker for RedisBroker {
    fn publish(&self, topic: &str, spec: TopicSpec, data: Bytes, done: BrokerDone<(String, u64)>) {
        let publish = Publish { topic: topic.to_owned(), spec, data, done };
        if self.inner.closed.load(Ordering::Acquire) {
            (publish.done)(Err(self.inner.health.unavailable(&format!("publish on topic {topic:?}"))));
            return;
        }
        if let Err(mpsc::error::SendError(p)) = self.publishes.send(publish) {
            (p.done)(Err(self.inner.health.unavailable(&format!("publish on topic {topic:?}"))));
        }
    }

    fn follow(&self, topic: &str, spec: TopicSpec, done: BrokerDone<()>) {
        if super::router(&self.inner.router).is_some_and(|r| r.mirror_position(topic).is_some()) {
            done(Ok(()));
            return;
        }
        if let Err(mpsc::error::SendError(f)) = self.follows.send(Follow { topic: topic.to_owned(), spec, done }) {
            (f.done)(Err(self.inner.health.unavailable(&format!("subscribe to topic {topic:?}"))));
        }
    }
}

impl Broker for RedisBroker {
    fn health(&self) -> &Health {
        &self.inner.health
    }

    fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_epoch_offset_time_and_data() {
        type Parsed<'a> = Option<(&'a str, u64, u64, &'a [u8])>;
        #[rustfmt::skip]
        let cases: &[(&[u8], Parsed)] = &[
            (b"e1\n7\n1700\n{\"a\":\"x\ny\"}", Some(("e1", 7, 1700, b"{\"a\":\"x\ny\"}"))),
            (b"e1\n7\n1700\n", Some(("e1", 7, 1700, b""))),
            (b"e1\n7\n1700", None),
            (b"\n7\n1700\n1", None),
            (b"e1\nx\n1700\n1", None),
            (b"e1\n-1\n1700\n1", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_message(raw), *want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn stream_entries_carry_their_offset_in_the_id() {
        let got = entry(("12-0".into(), vec![b"t".to_vec(), b"1".to_vec(), b"d".to_vec(), b"[1]".to_vec()])).unwrap();
        assert_eq!((got.0, &got.2[..]), (12, &b"[1]"[..]));
        assert!(entry(("x-0".into(), vec![b"t".to_vec(), b"1".to_vec(), b"d".to_vec(), b"1".to_vec()])).is_none());
        assert!(entry(("3-0".into(), vec![b"d".to_vec(), b"1".to_vec()])).is_none(), "no time");
    }
}
