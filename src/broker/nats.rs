//! Topics shared through NATS JetStream (docs/topics.md, "Across processes").
//!
//! Each topic is a JetStream stream of its own (`{prefix}_{name}` on subject
//! `{prefix}.{name}`, `name` the topic's name in hex, or a 128-bit hash of it for long
//! names, the real name in the stream's description), so the stream's sequence numbers are
//! the topic's offsets: consecutive, in publish order, whichever process published. The
//! stream keeps the topic's history (count, bytes and age), and never fewer than `LAG_ROOM`
//! messages, so a node that falls behind reads on; its creation time is the epoch (a stream
//! lost with the server's storage comes back with a new one).
//!
//! Each followed topic has one task reading an ordered consumer: first what the stream
//! holds (the history), then every new message, in sequence order; after an interruption it
//! starts again after the last offset the router has.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use super::{instant_of, Backoff, Broker, Health};
use crate::ipc::{BrokerDone, Router, TopicBroker, TopicSpec};
use crate::protocol::{ErrorCode, ErrorReply};

/// The least a topic's stream keeps, in messages and bytes (see `Inner::config`).
const LAG_ROOM: i64 = 100_000;
const LAG_BYTES: i64 = 64 * 1024 * 1024;

/// How long one JetStream request may take before the caller is told it is unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub struct NatsBroker {
    inner: Arc<Inner>,
    publishes: tokio::sync::mpsc::UnboundedSender<Publish>,
    publisher: AbortHandle,
}

struct Publish {
    topic: String,
    spec: TopicSpec,
    data: Bytes,
    done: BrokerDone<(String, u64)>,
}

struct Inner {
    client: async_nats::Client,
    js: jetstream::Context,
    prefix: String,
    health: Arc<Health>,
    router: Weak<Router>,
    runtime: Handle,
    closed: AtomicBool,
    /// Per topic: the epoch of its stream as last seen here (publish answers with it),
    /// forgotten each time the link is made again (the server may have lost its streams).
    epochs: Arc<Mutex<HashMap<String, Arc<str>>>>,
    /// Counts the links made: a follow task starts over when it changes (JetStream may have
    /// forgotten its consumer; waiting for the consumer's own heartbeat to notice takes ~15 s).
    relinks: Arc<tokio::sync::watch::Sender<u64>>,
    /// The topics followed (their tasks), by name.
    followed: Mutex<HashMap<String, AbortHandle>>,
    /// Per topic being loaded: who waits for it (`follow`'s callers).
    waiters: Mutex<HashMap<String, Vec<BrokerDone<()>>>>,
}

impl NatsBroker {
    pub fn start(url: &str, prefix: &str, router: Weak<Router>, runtime: &Handle) -> Result<Arc<NatsBroker>, String> {
        let health = Arc::new(Health::new(url));
        let events = health.clone();
        let epochs: Arc<Mutex<HashMap<String, Arc<str>>>> = Arc::default();
        let relinks = Arc::new(tokio::sync::watch::Sender::new(0u64));
        let (epochs_seen, relinked) = (epochs.clone(), relinks.clone());
        let options = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(1))
            .request_timeout(Some(REQUEST_TIMEOUT))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempt| {
                Duration::from_millis(50 << attempt.min(5) as u32).min(Duration::from_secs(2))
            })
            .event_callback(move |event| {
                let health = events.clone();
                let (epochs, relinks) = (epochs_seen.clone(), relinked.clone());
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            epochs.lock().clear();
                            relinks.send_modify(|n| *n += 1);
                            health.up();
                        }
                        async_nats::Event::Disconnected => health.down("the connection was lost"),
                        async_nats::Event::Closed => health.down("the connection was closed"),
                        _ => {}
                    }
                }
            });
        let url_owned = url.to_owned();
        let client = runtime
            .block_on(async move { options.connect(url_owned).await })
            .map_err(|e| format!("broker {}: {e}", super::redact(url)))?;
        if client.connection_state() == async_nats::connection::State::Connected {
            health.up();
        }
        let js = {
            let _in_runtime = runtime.enter();
            jetstream::new(client.clone())
        };
        let inner = Arc::new(Inner {
            client,
            js,
            prefix: prefix.to_owned(),
            health,
            router,
            runtime: runtime.clone(),
            closed: AtomicBool::new(false),
            epochs,
            relinks,
            followed: Mutex::new(HashMap::new()),
            waiters: Mutex::new(HashMap::new()),
        });
        let (publishes, rx) = tokio::sync::mpsc::unbounded_channel();
        let publisher = runtime.spawn(publisher(inner.clone(), rx)).abort_handle();
        Ok(Arc::new(NatsBroker { inner, publishes, publisher }))
    }
}

/// The publisher: this process's publishes sent to JetStream one after another, in the
/// order they were made (so they get offsets in that order), without waiting for each ack
/// before sending the next; each is answered when its ack comes.
async fn publisher(inner: Arc<Inner>, mut publishes: tokio::sync::mpsc::UnboundedReceiver<Publish>) {
    while let Some(Publish { topic, spec, data, done }) = publishes.recv().await {
        let what = format!("publish on topic {topic:?}");
        let known = inner.epochs.lock().get(&topic).cloned();
        let epoch = match known {
            Some(epoch) => epoch,
            None => match inner.stream(&topic, spec).await {
                Ok((_, epoch)) => epoch,
                Err(err) => {
                    done(Err(err));
                    continue;
                }
            },
        };
        let subject = format!("{}.{}", inner.prefix, token(&topic));
        let url = inner.health.status().url;
        let failed = move |e: String| {
            ErrorReply::framework(
                ErrorCode::Unavailable,
                format!(
                    "{what}: the topics broker {url} did not confirm it ({e}); it was not published, \
                     unless the link broke after JetStream took it"
                ),
            )
        };
        match inner.js.publish(subject, data).await {
            Ok(ack) => {
                inner.runtime.spawn(async move {
                    done(match ack.await {
                        Ok(ack) => Ok((epoch.to_string(), ack.sequence)),
                        Err(e) => Err(failed(e.to_string())),
                    });
                });
            }
            Err(e) => done(Err(failed(e.to_string()))),
        }
    }
}

/// The stream-name part for `topic`: its hex (short names) or two 64-bit FNV-1a hashes.
fn token(topic: &str) -> String {
    if topic.len() <= 60 {
        return topic.bytes().map(|b| format!("{b:02x}")).collect();
    }
    let fnv = |seed: u64| topic.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("h{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
}

/// A stream's creation time as an epoch: nanoseconds since 1970, 16+ hex digits.
fn epoch_of(info: &stream::Info) -> Arc<str> {
    format!("{:016x}", info.created.unix_timestamp_nanos()).into()
}

impl Inner {
    fn config(&self, topic: &str, spec: TopicSpec) -> stream::Config {
        let token = token(topic);
        stream::Config {
            name: format!("{}_{token}", self.prefix),
            subjects: vec![format!("{}.{token}", self.prefix)],
            description: Some(format!("auroraview topic {topic}")),
            // The stream is what every node reads live, not only the history: a node that
            // falls behind (stopped, or slow under load) reads on from where it was, so the
            // stream keeps at least `LAG_ROOM` messages (`LAG_BYTES`) whatever the history.
            // With only the history kept, a node 1,000 behind lost what it had not read yet
            // (told, as skipped offsets). What subscribers recover stays the history's.
            max_messages: (spec.history.max(1) as i64).max(LAG_ROOM),
            max_bytes: (spec.history_bytes as i64).max(LAG_BYTES),
            max_age: spec.history_ttl,
            ..Default::default()
        }
    }

    fn unavailable(&self, what: &str, err: impl std::fmt::Display) -> ErrorReply {
        ErrorReply::framework(
            ErrorCode::Unavailable,
            format!("{what}: the topics broker {} did not answer ({err})", self.health.status().url),
        )
    }

    async fn stream(&self, topic: &str, spec: TopicSpec) -> Result<(stream::Stream, Arc<str>), ErrorReply> {
        let what = format!("topic {topic:?}");
        let mut stream =
            self.js.get_or_create_stream(self.config(topic, spec)).await.map_err(|e| self.unavailable(&what, e))?;
        let info = stream.info().await.map_err(|e| self.unavailable(&what, e))?;
        let epoch = epoch_of(info);
        self.epochs.lock().insert(topic.to_owned(), epoch.clone());
        Ok((stream, epoch))
    }

    /// Follow `topic` until the broker closes: load what its stream holds into the router
    /// (`done` then), then feed it every new message; after an interruption, again from
    /// the router's last offset.
    async fn follow(self: Arc<Self>, topic: String, spec: TopicSpec) {
        let mut backoff = Backoff::new();
        loop {
            if self.closed.load(Ordering::Acquire) {
                self.answer(&topic, Err(self.health.unavailable(&format!("subscribe to topic {topic:?}"))));
                return;
            }
            if let Err(err) = self.run(&topic, spec, &mut backoff).await {
                // Those waiting fail now; the topic is still followed (tried again below).
                self.answer(&topic, Err(err));
            }
            tokio::time::sleep(backoff.pause()).await;
        }
    }

    /// Tell everyone waiting for `topic` to be loaded.
    fn answer(&self, topic: &str, outcome: Result<(), ErrorReply>) {
        let waiting = self.waiters.lock().remove(topic).unwrap_or_default();
        for done in waiting {
            done(outcome.clone());
        }
    }

    async fn run(&self, topic: &str, spec: TopicSpec, backoff: &mut Backoff) -> Result<(), ErrorReply> {
        let mut relinked = self.relinks.subscribe();
        relinked.mark_unchanged();
        let (stream, epoch) = self.stream(topic, spec).await?;
        let state = stream.cached_info().state.clone();
        let Some(router) = super::router(&self.router) else { return Ok(()) };
        let start = match router.mirror_position(topic) {
            Some((have, last)) if *have == *epoch => last + 1,
            // New here: the history's worth of the newest (the stream may hold more).
            _ => state.first_sequence.max(state.last_sequence.saturating_sub(spec.history as u64) + 1).max(1),
        };
        let what = format!("topic {topic:?}");
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
                ..Default::default()
            })
            .await
            .map_err(|e| self.unavailable(&what, e))?;
        let mut messages = consumer.messages().await.map_err(|e| self.unavailable(&what, e))?;
        // What the stream holds up to its last sequence now: the history to load, or (on a
        // restart) what was missed, handed over at once.
        let mut entries: Vec<(u64, std::time::Instant, Bytes)> = Vec::new();
        let relink = |what: &str| self.unavailable(what, "the link was made again: following from the last offset");
        if state.last_sequence >= start {
            loop {
                let msg = tokio::select! {
                    msg = messages.next() => msg,
                    _ = relinked.changed() => return Err(relink(&what)),
                };
                let Some(msg) = msg else { break };
                let msg = msg.map_err(|e| self.unavailable(&what, e))?;
                let info = msg.info().map_err(|e| self.unavailable(&what, e))?;
                let (seq, pending) = (info.stream_sequence, info.pending);
                let at = instant_of((info.published.unix_timestamp_nanos() / 1_000_000).max(0) as u64);
                entries.push((seq, at, msg.payload.clone()));
                if seq >= state.last_sequence || pending == 0 {
                    break;
                }
            }
        }
        if !router.mirror_sync(topic, spec, &epoch, state.last_sequence, &entries) {
            return Err(ErrorReply::framework(
                ErrorCode::Overloaded,
                format!("this app has {} topics already", crate::ipc::MAX_TOPICS),
            ));
        }
        drop(entries);
        self.answer(topic, Ok(()));
        backoff.reset();
        loop {
            let msg = tokio::select! {
                msg = messages.next() => msg,
                _ = relinked.changed() => return Err(relink(&what)),
            };
            let Some(msg) = msg else { break };
            let msg = msg.map_err(|e| self.unavailable(&what, e))?;
            let info = msg.info().map_err(|e| self.unavailable(&what, e))?;
            let at = instant_of((info.published.unix_timestamp_nanos() / 1_000_000).max(0) as u64);
            router.mirror_accept(topic, &epoch, info.stream_sequence, at, &msg.payload);
        }
        Err(self.unavailable(&what, "the consumer ended"))
    }
}

impl TopicBroker for NatsBroker {
    fn publish(&self, topic: &str, spec: TopicSpec, data: Bytes, done: BrokerDone<(String, u64)>) {
        let inner = &self.inner;
        let what = format!("publish on topic {topic:?}");
        if inner.closed.load(Ordering::Acquire)
            || inner.client.connection_state() != async_nats::connection::State::Connected
        {
            // Not handed to the client, which would queue it until the link returns (and
            // publish it after its caller was told it failed).
            done(Err(inner.health.unavailable(&what)));
            return;
        }
        if let Err(tokio::sync::mpsc::error::SendError(p)) =
            self.publishes.send(Publish { topic: topic.to_owned(), spec, data, done })
        {
            (p.done)(Err(inner.health.unavailable(&what)));
        }
    }

    fn follow(&self, topic: &str, spec: TopicSpec, done: BrokerDone<()>) {
        let inner = self.inner.clone();
        if inner.closed.load(Ordering::Acquire) {
            done(Err(inner.health.unavailable(&format!("subscribe to topic {topic:?}"))));
            return;
        }
        let mut tasks = inner.followed.lock();
        let mut waiters = inner.waiters.lock();
        if let Some(task) = tasks.get(topic) {
            if super::router(&inner.router).is_some_and(|r| r.mirror_position(topic).is_some()) {
                drop((tasks, waiters));
                done(Ok(()));
                return;
            }
            if let Some(waiting) = waiters.get_mut(topic) {
                // Being loaded: its task answers once it is.
                waiting.push(done);
                return;
            }
            // Loaded once, then forgotten by the router (idle, nothing to recover): the
            // task feeds nothing any more; start over.
            task.abort();
        }
        waiters.insert(topic.to_owned(), vec![done]);
        drop(waiters);
        let task = inner.runtime.spawn(inner.clone().follow(topic.to_owned(), spec));
        tasks.insert(topic.to_owned(), task.abort_handle());
    }
}

impl Broker for NatsBroker {
    fn health(&self) -> &Health {
        &self.inner.health
    }

    fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.publisher.abort();
        for (_, task) in self.inner.followed.lock().drain() {
            task.abort();
        }
        let waiting: Vec<String> = self.inner.waiters.lock().keys().cloned().collect();
        for topic in waiting {
            self.inner.answer(&topic, Err(self.inner.health.unavailable(&format!("subscribe to topic {topic:?}"))));
        }
    }
}

impl Drop for NatsBroker {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_tokens_are_plain_and_distinct() {
        assert_eq!(token("a/b"), "612f62");
        let long_a = format!("{}/a", "x".repeat(70));
        let long_b = format!("{}/b", "x".repeat(70));
        let (a, b) = (token(&long_a), token(&long_b));
        assert_ne!(a, b);
        assert_eq!(a.len(), 33);
        for t in [token("a.b/c-d_e"), a] {
            assert!(t.bytes().all(|c| c.is_ascii_alphanumeric()), "{t}");
        }
    }
}
