//! The router: one per app, joined by every transport. It decodes envelopes, enforces
//! limits, admits messages through each connection's gate, routes calls and events to the
//! host's dispatcher, sends replies and events to connections by target, and keeps the
//! one-terminal-reply invariant through the pending-call table (`pending.rs`).
//!
//! Everything runs on the caller's thread under one short lock. Events are handed to sinks
//! under it, so every emitter sees one global order of events; a reply is sent just after
//! its call leaves the pending table (removal under the lock is what makes it the only one).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use super::authority::{self, Access, Exposure};
use super::gate::{Admission, Gate};
use super::held::Held;
use super::metrics::{MethodMetrics, MethodSnapshot};
use super::pending::{Pending, Refusal};
use super::topics::{Since, Subscribed, Topic, TopicSpec};
use super::{
    BrokerDone, CallKey, ConnId, ConnInfo, Dispatcher, MethodId, Op, Reply, Responder, Sink, Stats, Target, TopicBroker,
};
use crate::protocol::{self, CallId, ErrorCode, ErrorReply, FrameError, Incoming, Limits};

/// What `receive` did with a message (used by the in-process client and by tests).
#[derive(Debug, Clone, PartialEq)]
pub enum Receipt {
    /// A call was accepted; its reply will follow.
    Accepted(CallId),
    /// The message was answered at once with an error frame for this id.
    Replied(CallId),
    /// An event was handed to the host.
    Event,
    /// A cancel was processed (answered `cancelled` if the call was in flight).
    Cancel,
    /// An acknowledgement of stream items was handed to the host (or counted, for a call
    /// no longer in flight).
    Ack,
    /// The client announced it is ready for frames (the transport acts on it).
    Ready,
    /// A page announced its key; on an armed keyed connection it is now bound.
    Hello,
    /// A heartbeat asking for an answer (the network transport sends `pong`).
    Ping,
    /// A heartbeat answer: a sign of life, nothing to do.
    Pong,
    /// A keyed connection refused the message (missing, wrong or stale key, a hello out of
    /// turn); counted, never answered.
    Refused,
    /// The message was dropped and counted: there was no id to answer.
    Dropped,
}

/// What `emit` did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Emitted {
    /// Connections it was sent to.
    pub delivered: usize,
    /// No connection matched: it is held for the first that will (see `held.rs`).
    pub held: bool,
    /// Holding it dropped the oldest held event.
    pub dropped: bool,
}

struct MethodInfo {
    id: MethodId,
    timeout: Option<Duration>,
    access: Access,
    metrics: Arc<MethodMetrics>,
}

struct Conn {
    sink: Arc<dyn Sink>,
    info: ConnInfo,
    gate: Gate,
    exposure: Exposure,
}

struct State {
    methods: std::collections::HashMap<String, MethodInfo>,
    conns: std::collections::HashMap<ConnId, Conn>,
    pending: Pending,
    held: Held,
    next_conn: ConnId,
    shutting_down: bool,
}

pub struct Router {
    limits: Limits,
    dispatcher: Arc<dyn Dispatcher>,
    timers: Option<Handle>,
    state: Mutex<State>,
    stats: Stats,
    /// Per-command timing is kept only once something will read it (a server with metrics
    /// on): two clock reads and a few shared atomics per call cost the window's pipelined
    /// calls/s measurably (`make bench`, 0.92–1.19× the floor without, 0.68–0.71× with).
    metrics_on: std::sync::atomic::AtomicBool,
    /// Topics by name (docs/topics.md). Each has its own lock, taken before `state`'s and
    /// `subscriptions`' (never the other way round).
    topics: Mutex<std::collections::HashMap<String, Arc<Mutex<Topic>>>>,
    /// The topics each connection is subscribed to, to unsubscribe it when it goes.
    subscriptions: Mutex<std::collections::HashMap<ConnId, std::collections::HashSet<String>>>,
    /// The broker the topics are shared through, when one is configured (set once).
    broker: std::sync::OnceLock<Arc<dyn TopicBroker>>,
    this: Weak<Router>,
}

/// At most this many topics per app (each keeps its history while idle, for recovery): an
/// app with open topics cannot be made to hold unbounded memory by clients naming new ones.
pub const MAX_TOPICS: usize = 10_000;

impl Router {
    /// `timers` runs command timeouts; without it, timeouts are not enforced.
    pub fn new(limits: Limits, dispatcher: Arc<dyn Dispatcher>, timers: Option<Handle>) -> Arc<Self> {
        let held = Held::new(limits.max_backlog_events);
        Arc::new_cyclic(|this| Router {
            limits,
            dispatcher,
            timers,
            state: Mutex::new(State {
                methods: Default::default(),
                conns: Default::default(),
                pending: Pending::default(),
                held,
                next_conn: 0,
                shutting_down: false,
            }),
            stats: Stats::default(),
            metrics_on: std::sync::atomic::AtomicBool::new(false),
            topics: Mutex::new(Default::default()),
            subscriptions: Mutex::new(Default::default()),
            broker: std::sync::OnceLock::new(),
            this: this.clone(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Register (or replace) a method name; calls to it are dispatched as `Op::Call` with
    /// `method: id`. The id is the dispatcher's own (its index of handlers), so the dispatcher
    /// knows it before any call can carry it.
    pub fn register_method(&self, name: &str, id: MethodId, timeout: Option<Duration>, access: Access) {
        let mut st = self.state.lock();
        // A replaced method keeps its counters: it is the same name to whoever watches them.
        let metrics = st.methods.get(name).map_or_else(|| Arc::new(MethodMetrics::new(name)), |m| m.metrics.clone());
        st.methods.insert(name.to_owned(), MethodInfo { id, timeout, access, metrics });
    }

    /// Start timing every call per command (see `method_metrics`). Off until asked.
    pub fn enable_metrics(&self) {
        self.metrics_on.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every registered command's metrics, by name (empty counts until `enable_metrics`).
    pub fn method_metrics(&self) -> Vec<MethodSnapshot> {
        let metrics: Vec<Arc<MethodMetrics>> = self.state.lock().methods.values().map(|m| m.metrics.clone()).collect();
        let mut all: Vec<MethodSnapshot> = metrics.iter().map(|m| m.snapshot()).collect();
        all.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Open a connection anyone holding it may talk on. Held events it matches come first.
    pub fn connect(&self, sink: Arc<dyn Sink>, info: ConnInfo) -> ConnId {
        self.open(sink, info, Gate::Open, Exposure::All)
    }

    /// `connect`, for a transport that decides which commands without access rules the
    /// connection may call (a network server exposing only declared commands).
    pub fn connect_exposed(&self, sink: Arc<dyn Sink>, info: ConnInfo, exposure: Exposure) -> ConnId {
        self.open(sink, info, Gate::Open, exposure)
    }

    /// Open a connection for a page: it accepts nothing until `arm` and then one `hello`,
    /// and afterwards only messages carrying that hello's key (RELIABILITY.md case 18).
    pub fn connect_keyed(&self, sink: Arc<dyn Sink>, info: ConnInfo) -> ConnId {
        self.open(sink, info, Gate::Locked, Exposure::All)
    }

    /// A new document now owns the keyed connection `conn`: its first `hello` binds the key,
    /// and any key bound before is stale.
    pub fn arm(&self, conn: ConnId) {
        if let Some(c) = self.state.lock().conns.get_mut(&conn) {
            c.gate.arm();
        }
    }

    fn open(&self, sink: Arc<dyn Sink>, info: ConnInfo, gate: Gate, exposure: Exposure) -> ConnId {
        let mut st = self.state.lock();
        st.next_conn += 1;
        let conn = st.next_conn;
        for frame in st.held.take_for(conn, &info) {
            sink.send(frame);
        }
        st.conns.insert(conn, Conn { sink, info, gate, exposure });
        conn
    }

    /// Close a connection: its calls in flight are cancelled and nothing more reaches it.
    pub fn disconnect(&self, conn: ConnId) {
        let keys = {
            let mut st = self.state.lock();
            if st.conns.remove(&conn).is_none() {
                return;
            }
            st.pending.take_conn(conn)
        };
        for key in keys {
            self.dispatch(Op::Cancel { key });
        }
        let topics = self.subscriptions.lock().remove(&conn).unwrap_or_default();
        for name in topics {
            let topic = self.topics.lock().get(&name).cloned();
            if let Some(topic) = topic {
                topic.lock().unsubscribe(conn);
            }
        }
    }

    /// The identity of an open connection.
    pub fn conn_info(&self, conn: ConnId) -> Option<ConnInfo> {
        self.state.lock().conns.get(&conn).map(|c| c.info.clone())
    }

    /// The key the document on keyed connection `conn` announced in its `hello` (bound by
    /// the gate), if it did: deliveries to that page carry it, so the page's receiver can
    /// tell them from a page script's forgery.
    pub fn page_key(&self, conn: ConnId) -> Option<Box<str>> {
        self.state.lock().conns.get(&conn).and_then(|c| c.gate.key().map(Into::into))
    }

    /// Every open connection with its identity, oldest first.
    pub fn connections(&self) -> Vec<(ConnId, ConnInfo)> {
        let mut all: Vec<_> = self.state.lock().conns.iter().map(|(id, c)| (*id, c.info.clone())).collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    pub fn in_flight(&self) -> usize {
        self.state.lock().pending.len()
    }

    /// Events held for connections that have not connected yet.
    pub fn held(&self) -> usize {
        self.state.lock().held.len()
    }

    /// Handle one raw message from `conn`. Never panics; every accepted call gets one reply.
    pub fn receive(&self, conn: ConnId, input: &[u8]) -> Receipt {
        Stats::bump(&self.stats.received);
        self.receive_guarded(conn, input, None)
    }

    /// Handle one binary frame from `conn` (docs/binary.md): a call whose params may hold
    /// attachments. Its reply goes to `reply` when given (the request waiting for it),
    /// otherwise to the connection's sink, which must carry binary frames. Anything but a
    /// call in a frame is refused as `invalid_message`. Never panics; `reply` is always used
    /// or dropped (and its owner answers a dropped one).
    pub fn receive_frame(&self, conn: ConnId, frame: Bytes, reply: Option<Responder>) -> Receipt {
        self.receive_chunks(conn, vec![frame], reply)
    }

    /// `receive_frame` for a frame read in `chunks` (back to back): each attachment reaches
    /// the host as views of the chunks it spans, so the host can free each chunk as soon as it
    /// has copied it (a 100 MiB upload is then never held twice by us: docs/binary.md).
    pub fn receive_chunks(&self, conn: ConnId, chunks: Vec<Bytes>, reply: Option<Responder>) -> Receipt {
        Stats::bump(&self.stats.received);
        let decoded = protocol::decode_chunks(&chunks, self.limits.max_binary_bytes);
        // Only the views hold the chunks from here: the host frees each as it copies it.
        drop(chunks);
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(e) => {
                let code = match e {
                    FrameError::TooLarge { .. } => {
                        Stats::bump(&self.stats.too_large);
                        ErrorCode::PayloadTooLarge
                    }
                    FrameError::Malformed(_) => {
                        Stats::bump(&self.stats.invalid_messages);
                        ErrorCode::InvalidMessage
                    }
                };
                if let Some(reply) = reply {
                    reply(Reply::Refused(code));
                }
                return Receipt::Dropped;
            }
        };
        let binary = Binary { blobs: decoded.blobs, reply };
        self.receive_guarded(conn, &decoded.json, Some(binary))
    }

    fn receive_guarded(&self, conn: ConnId, input: &[u8], binary: Option<Binary>) -> Receipt {
        match catch_unwind(AssertUnwindSafe(|| self.receive_inner(conn, input, binary))) {
            Ok(receipt) => receipt,
            Err(_) => {
                Stats::bump(&self.stats.panics);
                match protocol::salvage_id(input, &self.limits) {
                    Some(id) => {
                        // If the call was registered before the panic, answer through the table.
                        let key = self.state.lock().pending.find(conn, &id);
                        let err = ErrorReply::framework(ErrorCode::Internal, "internal error while routing the call");
                        match key {
                            Some(key) => {
                                self.finish(key, Err(err));
                            }
                            None => self.reply_now(conn, &id, &err),
                        }
                        Receipt::Replied(id)
                    }
                    None => Receipt::Dropped,
                }
            }
        }
    }

    fn receive_inner(&self, conn: ConnId, input: &[u8], mut binary: Option<Binary>) -> Receipt {
        let decoded = protocol::decode_keyed(input, &self.limits);
        let admission = match self.state.lock().conns.get_mut(&conn) {
            Some(c) => c.gate.admit(input, &decoded, &self.limits),
            None => Admission::Pass, // no connection: dropped below
        };
        match admission {
            Admission::Pass => {}
            Admission::Bound => return Receipt::Hello,
            Admission::Refused => {
                Stats::bump(&self.stats.refused_key);
                if let Some(reply) = binary.and_then(|b| b.reply) {
                    reply(Reply::Refused(ErrorCode::Forbidden));
                }
                return Receipt::Refused;
            }
        }
        let decoded = decoded.map(|(msg, _)| msg);
        if binary.is_some() && !matches!(decoded, Ok(Incoming::Call { .. }) | Err(_)) {
            Stats::bump(&self.stats.invalid_messages);
            if let Some(reply) = binary.and_then(|b| b.reply) {
                reply(Reply::Refused(ErrorCode::InvalidMessage));
            }
            return Receipt::Dropped;
        }
        match decoded {
            Ok(Incoming::Call { id, method, params, unsafe_ints }) => {
                self.accept_call(conn, id, &method, params.as_deref().map(|p| p.get()), &unsafe_ints, binary)
            }
            Ok(Incoming::Event { event, detail }) => {
                let from = self.state.lock().conns.get(&conn).map(|c| {
                    let child = match c.info.transport {
                        super::TransportKind::Child => c.info.peer.clone(),
                        _ => None,
                    };
                    (child, c.exposure)
                });
                let Some((child, exposure)) = from else {
                    Stats::bump(&self.stats.dropped);
                    return Receipt::Dropped;
                };
                if exposure == Exposure::Declared {
                    // Events have no access rules of their own: a connection that sees only
                    // declared commands reaches no event handler either.
                    Stats::bump(&self.stats.forbidden);
                    return Receipt::Refused;
                }
                Stats::bump(&self.stats.events_received);
                let detail = detail.map_or_else(|| b"null".to_vec(), |d| d.get().as_bytes().to_vec());
                self.dispatch(Op::Event { conn, name: event.into_owned(), detail, child });
                Receipt::Event
            }
            Ok(Incoming::Cancel { id }) => {
                let key = self.state.lock().pending.find(conn, &id);
                match key {
                    Some(key) => self.cancel(key, ErrorCode::Cancelled, "the call was cancelled by the caller"),
                    None => Stats::bump(&self.stats.unknown_cancels),
                }
                Receipt::Cancel
            }
            Ok(Incoming::Ack { id, seq }) => {
                let key = self.state.lock().pending.find(conn, &id);
                match key {
                    Some(key) => self.dispatch(Op::Ack { key, seq }),
                    None => Stats::bump(&self.stats.unknown_acks),
                }
                Receipt::Ack
            }
            Ok(Incoming::Ready) => Receipt::Ready,
            Ok(Incoming::Ping) => Receipt::Ping,
            Ok(Incoming::Pong) => Receipt::Pong,
            Ok(Incoming::Hello) => Receipt::Hello, // an open connection needs no key
            Err(rej) => {
                Stats::bump(if rej.code == ErrorCode::PayloadTooLarge {
                    &self.stats.too_large
                } else {
                    &self.stats.invalid_messages
                });
                let reply = binary.as_mut().and_then(|b| b.reply.take());
                match rej.id {
                    Some(id) => {
                        let st = self.state.lock();
                        let err = ErrorReply::framework(rej.code, rej.message);
                        refuse_locked(&st, &self.stats, conn, id, &err, reply)
                    }
                    None => {
                        Stats::bump(&self.stats.dropped);
                        if let Some(reply) = reply {
                            reply(Reply::Refused(rej.code));
                        }
                        Receipt::Dropped
                    }
                }
            }
        }
    }

    fn accept_call(
        &self,
        conn: ConnId,
        id: CallId,
        method: &str,
        params: Option<&str>,
        unsafe_ints: &[protocol::UnsafeInt],
        binary: Option<Binary>,
    ) -> Receipt {
        let (mut blobs, mut reply) = match binary {
            Some(b) => (Some(b.blobs), b.reply),
            None => (None, None),
        };
        let (key, method_id) = {
            let mut st = self.state.lock();
            let st = &mut *st;
            if st.shutting_down {
                let err = ErrorReply::framework(ErrorCode::ShuttingDown, "the host is shutting down");
                return refuse_locked(st, &self.stats, conn, id, &err, reply);
            }
            let Some(info) = st.methods.get(method) else {
                Stats::bump(&self.stats.method_not_found);
                let shown = protocol::truncate(method, 64);
                let err = ErrorReply::framework(
                    ErrorCode::MethodNotFound,
                    format!("no command named {shown:?} is registered"),
                );
                return refuse_locked(st, &self.stats, conn, id, &err, reply);
            };
            if !unsafe_ints.is_empty() {
                let err = protocol::unsafe_params_error(method, unsafe_ints);
                return refuse_locked(st, &self.stats, conn, id, &err, reply);
            }
            let (method_id, timeout) = (info.id, info.timeout);
            let Some(c) = st.conns.get(&conn) else {
                Stats::bump(&self.stats.dropped);
                return Receipt::Dropped;
            };
            if let Err(why) = authority::authorize(method, &info.access, &c.info, c.exposure) {
                Stats::bump(&self.stats.forbidden);
                let err = ErrorReply::framework(ErrorCode::Forbidden, why);
                return refuse_locked(st, &self.stats, conn, id, &err, reply);
            }
            if reply.is_none() {
                if c.sink.carries_binary() {
                    // The reply may carry attachments even when the call has none.
                    blobs.get_or_insert_with(Vec::new);
                } else if blobs.is_some() {
                    // A frame with nowhere to send a binary reply: nothing this transport does.
                    Stats::bump(&self.stats.invalid_messages);
                    let err =
                        ErrorReply::framework(ErrorCode::InvalidMessage, "this connection carries no binary frames");
                    return refuse_locked(st, &self.stats, conn, id, &err, None);
                }
            }
            let metrics = info.metrics.clone();
            let key = match st.pending.admit(conn, &id, self.limits.max_in_flight) {
                Ok(key) => key,
                Err(Refusal::DuplicateId) => {
                    Stats::bump(&self.stats.duplicate_ids);
                    return Receipt::Dropped;
                }
                Err(Refusal::Overloaded) => {
                    Stats::bump(&self.stats.overloaded);
                    let msg = format!("more than {} calls in flight on this connection", self.limits.max_in_flight);
                    let err = ErrorReply::framework(ErrorCode::Overloaded, msg);
                    return refuse_locked(st, &self.stats, conn, id, &err, reply);
                }
            };
            let timer = timeout.and_then(|t| self.start_timer(key, t));
            let timing = self.metrics_on.load(std::sync::atomic::Ordering::Relaxed).then(|| (metrics, Instant::now()));
            st.pending.start(key, conn, id.clone(), timer, timing, reply.take());
            (key, method_id)
        };
        Stats::bump(&self.stats.calls_accepted);
        let params = params.map_or_else(|| b"{}".to_vec(), |p| p.as_bytes().to_vec());
        self.dispatch(Op::Call { key, conn, method: method_id, params, blobs: blobs.take() });
        Receipt::Accepted(id)
    }

    fn start_timer(&self, key: CallKey, timeout: Duration) -> Option<AbortHandle> {
        let rt = self.timers.as_ref()?;
        let this = self.this.clone();
        let task = rt.spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(router) = this.upgrade() {
                Stats::bump(&router.stats.timeouts);
                router.cancel(
                    key,
                    ErrorCode::Timeout,
                    &format!("the command did not finish within {:.3} s", timeout.as_secs_f64()),
                );
            }
        });
        Some(task.abort_handle())
    }

    /// Answer a call in flight with `code` and tell the host to stop it.
    fn cancel(&self, key: CallKey, code: ErrorCode, message: &str) {
        if self.finish(key, Err(ErrorReply::framework(code, message))) {
            if code == ErrorCode::Cancelled {
                Stats::bump(&self.stats.cancelled);
            }
            self.dispatch(Op::Cancel { key });
        }
    }

    /// The host's answer to call `key`: raw JSON result bytes, or an error.
    /// Returns false when the call was already answered (the result is dropped and counted).
    /// A result holding an integer beyond ±(2^53-1) is answered `internal` instead: the page
    /// would otherwise get a different number without notice.
    pub fn complete(&self, key: CallKey, outcome: Result<&[u8], ErrorReply>) -> bool {
        let outcome = match outcome {
            Ok(result) => match protocol::unsafe_ints(result) {
                found if found.is_empty() => Ok(result),
                found => {
                    Stats::bump(&self.stats.unsafe_results);
                    Err(protocol::unsafe_result_error(&found))
                }
            },
            err => err,
        };
        let done = self.finish(key, outcome);
        if !done {
            Stats::bump(&self.stats.late_results);
        }
        done
    }

    /// `complete` with attachments: `result` (JSON) may hold `{"$bin": i}` placeholders for
    /// `blobs[i]` (docs/binary.md). Only for a call dispatched with `blobs: Some(..)`; on any
    /// other it is answered `internal` (its route cannot carry them).
    pub fn complete_binary(&self, key: CallKey, result: &[u8], blobs: Vec<Bytes>) -> bool {
        let found = protocol::unsafe_ints(result);
        let done = if found.is_empty() {
            self.finish_with(key, Ok(result), Some(blobs))
        } else {
            Stats::bump(&self.stats.unsafe_results);
            self.finish(key, Err(protocol::unsafe_result_error(&found)))
        };
        if !done {
            Stats::bump(&self.stats.late_results);
        }
        done
    }

    /// Send item `seq` of stream or channel call `key` (raw JSON) to its caller. False when
    /// the call is no longer in flight (the item is dropped and counted): the host stops
    /// producing. An item holding an integer beyond ±(2^53-1) ends the call `internal`, as
    /// such a result does, and the host is told to stop it.
    pub fn item(&self, key: CallKey, seq: u64, item: &[u8]) -> bool {
        let found = protocol::unsafe_ints(item);
        if !found.is_empty() {
            Stats::bump(&self.stats.unsafe_results);
            if self.finish(key, Err(protocol::unsafe_result_error(&found))) {
                self.dispatch(Op::Cancel { key });
            } else {
                Stats::bump(&self.stats.late_items);
            }
            return false;
        }
        // Sent under the lock: a terminal reply is sent only after `finish` took the call out
        // of the table under it, so no item can follow its call's reply.
        {
            let st = self.state.lock();
            let Some((conn, id)) = st.pending.call(key) else {
                drop(st);
                Stats::bump(&self.stats.late_items);
                return false;
            };
            if let Some(c) = st.conns.get(&conn) {
                c.sink.send(Bytes::from(protocol::item(id, seq, item)));
            }
        }
        Stats::bump(&self.stats.items_sent);
        true
    }

    /// Take `key` out of the table and send its one reply. False if it was already gone.
    fn finish(&self, key: CallKey, outcome: Result<&[u8], ErrorReply>) -> bool {
        self.finish_with(key, outcome, None)
    }

    /// `finish`, the result with attachments when `blobs` is given.
    fn finish_with(&self, key: CallKey, outcome: Result<&[u8], ErrorReply>, blobs: Option<Vec<Bytes>>) -> bool {
        let (id, sink, timing, reply) = {
            let mut st = self.state.lock();
            let Some(taken) = st.pending.take(key) else { return false };
            let sink = st.conns.get(&taken.conn).map(|c| c.sink.clone());
            (taken.id, sink, taken.metrics, taken.reply)
        };
        // Outside the lock: the GUI thread waits on it for every page message.
        if let Some((metrics, started)) = timing {
            metrics.record(outcome.as_ref().map(|_| ()).map_err(|e| e.code.as_str()), started.elapsed());
        }
        let binary_ok = reply.is_some() || sink.as_ref().is_some_and(|s| s.carries_binary());
        let (json, blobs) = match (outcome, blobs) {
            (Ok(result), Some(blobs)) if binary_ok => (protocol::call_ok(&id, result), Some(blobs)),
            (Ok(_), Some(_)) => {
                let err = ErrorReply::framework(ErrorCode::Internal, "a binary reply on a route without binary frames");
                (protocol::call_err(&id, &err), None)
            }
            (Ok(result), None) => (protocol::call_ok(&id, result), None),
            (Err(err), _) => (protocol::call_err(&id, &err), None),
        };
        if let Some(reply) = reply {
            reply(Reply::Frame(protocol::encode_frame(Bytes::from(json), &blobs.unwrap_or_default())));
            return true;
        }
        let Some(sink) = sink else { return true };
        match blobs {
            Some(blobs) => sink.send(protocol::concat(&protocol::encode_frame(Bytes::from(json), &blobs))),
            None => sink.send(Bytes::from(json)),
        }
        true
    }

    fn reply_now(&self, conn: ConnId, id: &CallId, err: &ErrorReply) {
        let sink = self.state.lock().conns.get(&conn).map(|c| c.sink.clone());
        if let Some(sink) = sink {
            sink.send(Bytes::from(protocol::call_err(id, err)));
        }
    }

    fn dispatch(&self, op: Op) {
        let key = match &op {
            Op::Call { key, .. } => Some(*key),
            _ => None,
        };
        if catch_unwind(AssertUnwindSafe(|| self.dispatcher.dispatch(op))).is_err() {
            Stats::bump(&self.stats.panics);
            if let Some(key) = key {
                self.finish(
                    key,
                    Err(ErrorReply::framework(ErrorCode::Internal, "internal error while dispatching the call")),
                );
            }
        }
    }

    /// Topic `name`, made with `spec` and a new epoch on first use; None when `MAX_TOPICS`
    /// exist already.
    fn topic(&self, name: &str, spec: TopicSpec) -> Option<Arc<Mutex<Topic>>> {
        let mut topics = self.topics.lock();
        if let Some(topic) = topics.get(name) {
            return Some(topic.clone());
        }
        if topics.len() >= MAX_TOPICS {
            // Full: forget the undeclared topics nobody uses that have nothing left to recover
            // (a client naming throwaway topics must not lock the app out of new ones).
            let now = Instant::now();
            topics.retain(|_, t| t.try_lock().is_none_or(|mut t| !t.forgettable(now)));
            if topics.len() >= MAX_TOPICS {
                return None;
            }
        }
        let topic = Arc::new(Mutex::new(Topic::new(name, spec, super::topics::new_epoch())));
        topics.insert(name.to_owned(), topic.clone());
        Some(topic)
    }

    /// Topic `name` is declared by the app: made now if it is not (even when `MAX_TOPICS`
    /// exist), and never forgotten.
    pub fn topic_declare(&self, name: &str, spec: TopicSpec) {
        let handle = {
            let mut topics = self.topics.lock();
            topics
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(Mutex::new(Topic::new(name, spec, super::topics::new_epoch()))))
                .clone()
        };
        handle.lock().pinned = true;
    }

    fn too_many_topics() -> ErrorReply {
        ErrorReply::framework(ErrorCode::Overloaded, format!("this app has {MAX_TOPICS} topics already"))
    }

    /// Subscribe the connection of call `key` (an `auroraview.subscribe`) to `topic` and
    /// answer the call with the topic's position (`Subscribed::result_json`), then send the
    /// publications `since` recovers, all under the topic's lock: no publication can come
    /// between, or before the reply. False when the call is no longer in flight (nothing is
    /// subscribed). Errors: too many topics.
    pub fn topic_subscribe(
        &self,
        key: CallKey,
        topic: &str,
        spec: TopicSpec,
        since: Option<Since>,
    ) -> Result<bool, ErrorReply> {
        let (conn, sink) = {
            let st = self.state.lock();
            let Some((conn, _)) = st.pending.call(key) else { return Ok(false) };
            let Some(c) = st.conns.get(&conn) else { return Ok(false) };
            (conn, c.sink.clone())
        };
        let Some(handle) = self.topic(topic, spec) else { return Err(Self::too_many_topics()) };
        if let Some(broker) = self.broker.get() {
            if !handle.lock().followed {
                // Its position and history are the broker's: load them, then subscribe.
                let this = self.this.clone();
                let name = topic.to_owned();
                broker.follow(
                    topic,
                    spec,
                    Box::new(move |outcome| {
                        let Some(router) = this.upgrade() else { return };
                        let outcome = outcome.and_then(|()| {
                            if router.topics.lock().get(&name).is_some_and(|t| t.lock().followed) {
                                router.topic_subscribe(key, &name, spec, since).map(|_| ())
                            } else {
                                Err(ErrorReply::framework(
                                    ErrorCode::Unavailable,
                                    format!("topic {name:?} could not be followed from the broker"),
                                ))
                            }
                        });
                        if let Err(err) = outcome {
                            router.finish(key, Err(err));
                        }
                    }),
                );
                return Ok(true);
            }
        }
        let mut t = handle.lock();
        let Subscribed { replay, already, .. } = {
            let sub = t.position(conn, since.as_ref(), Instant::now());
            // Indexed before the reply: a disconnect from here on finds the topic to leave.
            self.subscriptions.lock().entry(conn).or_default().insert(topic.to_owned());
            if !self.complete(key, Ok(&sub.result_json())) {
                if !sub.already {
                    let mut subscriptions = self.subscriptions.lock();
                    if let Some(set) = subscriptions.get_mut(&conn) {
                        set.remove(topic);
                        if set.is_empty() {
                            // A connection gone meanwhile keeps no entry.
                            subscriptions.remove(&conn);
                        }
                    }
                }
                return Ok(false);
            }
            sub
        };
        self.stats.deliveries.fetch_add(replay.len() as u64, std::sync::atomic::Ordering::Relaxed);
        sink.send_recovered(replay);
        if !already {
            t.add(conn, sink);
        }
        Ok(true)
    }

    /// Unsubscribe `conn` from `topic`: no publication of it reaches the connection after
    /// this returns. Whether it was subscribed.
    pub fn topic_unsubscribe(&self, conn: ConnId, topic: &str) -> bool {
        let Some(handle) = self.topics.lock().get(topic).cloned() else { return false };
        let was = handle.lock().unsubscribe(conn);
        if let Some(set) = self.subscriptions.lock().get_mut(&conn) {
            set.remove(topic);
        }
        was
    }

    /// Publish JSON `data` on `topic`: it gets the next offset and is queued to every
    /// subscriber (and the host, when it subscribed) before this returns. Refused, reaching
    /// nobody, when `data` holds integers JavaScript cannot represent or `MAX_TOPICS` exist.
    pub fn topic_publish(&self, topic: &str, spec: TopicSpec, data: &[u8]) -> Result<(String, u64), ErrorReply> {
        let found = protocol::unsafe_ints(data);
        if !found.is_empty() {
            return Err(Self::unsafe_publication(&found));
        }
        let Some(handle) = self.topic(topic, spec) else { return Err(Self::too_many_topics()) };
        let mut t = handle.lock();
        let (offset, frame) = t.append(data, Instant::now());
        let epoch = t.epoch().to_string();
        self.fan_out(&t, topic, &epoch, offset, frame, data);
        drop(t);
        Stats::bump(&self.stats.publications);
        Ok((epoch, offset))
    }

    /// Send publication `frame` (message `offset` of `topic`, JSON `data`) to the topic's
    /// subscribers and, when it listens, the host; under the topic's lock, so every
    /// subscriber sees one order.
    fn fan_out(&self, t: &Topic, topic: &str, epoch: &str, offset: u64, frame: Bytes, data: &[u8]) {
        let mut sent = 0u64;
        for sink in t.subscribers() {
            sink.send(frame.clone());
            sent += 1;
        }
        if t.host {
            self.dispatch(Op::Publication {
                topic: topic.to_owned(),
                epoch: epoch.to_owned(),
                offset,
                data: data.to_vec(),
            });
        }
        self.stats.deliveries.fetch_add(sent, std::sync::atomic::Ordering::Relaxed);
    }

    /// Share the app's topics through `broker` from now on (once; false when one is set).
    pub fn set_broker(&self, broker: Arc<dyn TopicBroker>) -> bool {
        self.broker.set(broker).is_ok()
    }

    pub fn has_broker(&self) -> bool {
        self.broker.get().is_some()
    }

    /// Publish JSON `data` on `topic`, through the broker when there is one: `done` gets the
    /// epoch and offset (alone: once it is queued to every subscriber; with a broker: once
    /// the broker has ordered it), or why nothing was published.
    pub fn topic_publish_with(&self, topic: &str, spec: TopicSpec, data: &[u8], done: BrokerDone<(String, u64)>) {
        let Some(broker) = self.broker.get() else {
            done(self.topic_publish(topic, spec, data));
            return;
        };
        let found = protocol::unsafe_ints(data);
        if !found.is_empty() {
            done(Err(Self::unsafe_publication(&found)));
            return;
        }
        broker.publish(topic, spec, Bytes::copy_from_slice(data), done);
    }

    fn unsafe_publication(found: &[protocol::UnsafeInt]) -> ErrorReply {
        let mut err = protocol::unsafe_result_error(found);
        err.code = ErrorCode::InvalidParams.as_str().to_owned();
        err.name = ErrorCode::InvalidParams.error_name().to_owned();
        err
    }

    /// A followed topic's position here (epoch, last offset); None when `topic` is not
    /// followed from the broker (not used here, or not loaded yet).
    pub fn mirror_position(&self, topic: &str) -> Option<(Arc<str>, u64)> {
        let handle = self.topics.lock().get(topic).cloned()?;
        let t = handle.lock();
        t.followed.then(|| (t.epoch().clone(), t.last()))
    }

    /// The broker's view of `topic`: history `epoch` stands at `last`, and `entries`
    /// (offset, when it was published, JSON data), in order, are what it still holds. The
    /// first time, they become the topic's position and history (nothing is sent: nobody
    /// subscribed from before); after that (a broker link restored), the ones not had yet
    /// are sent as publications. False when the topic cannot exist (`MAX_TOPICS`).
    pub fn mirror_sync(
        &self,
        topic: &str,
        spec: TopicSpec,
        epoch: &str,
        last: u64,
        entries: &[(u64, Instant, Bytes)],
    ) -> bool {
        let Some(handle) = self.topic(topic, spec) else { return false };
        let mut t = handle.lock();
        let quiet = !t.followed;
        for (offset, at, data) in entries {
            if let Some(frame) = t.accept(epoch, *offset, *at, data) {
                if !quiet {
                    self.fan_out(&t, topic, epoch, *offset, frame, data);
                }
            }
        }
        t.rebase(epoch, last);
        t.followed = true;
        true
    }

    /// Message `offset` of `topic`'s history `epoch`, as the broker fed it: sent to its
    /// subscribers unless it was had already. False when `topic` is not followed here.
    pub fn mirror_accept(&self, topic: &str, epoch: &str, offset: u64, at: Instant, data: &[u8]) -> bool {
        let Some(handle) = self.topics.lock().get(topic).cloned() else { return false };
        let mut t = handle.lock();
        if !t.followed {
            return false;
        }
        if let Some(frame) = t.accept(epoch, offset, at, data) {
            self.fan_out(&t, topic, epoch, offset, frame, data);
            Stats::bump(&self.stats.publications);
        }
        true
    }

    /// The host subscribes to `topic` (`on`) or stops: its publications reach the dispatcher
    /// as `Op::Publication`, in order.
    pub fn topic_host(&self, topic: &str, spec: TopicSpec, on: bool) -> Result<(), ErrorReply> {
        let Some(handle) = self.topic(topic, spec) else { return Err(Self::too_many_topics()) };
        handle.lock().host = on;
        if let (true, Some(broker)) = (on, self.broker.get()) {
            // Publications reach the host once the topic is followed; a broker that is down
            // follows it when it returns (it retries what was asked of it).
            broker.follow(topic, spec, Box::new(|_| {}));
        }
        Ok(())
    }

    /// The connections subscribed to `topic`, oldest first, and its position (epoch, last
    /// offset); None for a topic never used.
    pub fn topic_presence(&self, topic: &str) -> Option<(Vec<ConnId>, String, u64)> {
        let handle = self.topics.lock().get(topic).cloned()?;
        let t = handle.lock();
        Some((t.subscriber_ids(), t.epoch().to_string(), t.last()))
    }

    /// Push an event to the connections `target` matches. With none matching, the event is
    /// held for the first that will (the one buffering rule, `held.rs`), unless the target
    /// is one connection id.
    pub fn emit(&self, target: &Target, name: &str, payload: &[u8]) -> Emitted {
        let frame = Bytes::from(protocol::event(name, payload));
        // Sent under the lock so that all emitters see one global order.
        let mut st = self.state.lock();
        let mut delivered = 0;
        if let Target::Conn(conn) = target {
            if let Some(c) = st.conns.get(conn) {
                c.sink.send(frame);
                return Emitted { delivered: 1, held: false, dropped: false };
            }
        } else {
            for (id, c) in &st.conns {
                if target.matches(*id, &c.info) {
                    c.sink.send(frame.clone());
                    delivered += 1;
                }
            }
        }
        if delivered > 0 || !target.waits_for_connection() {
            if delivered == 0 {
                Stats::bump(&self.stats.events_unrouted);
            }
            return Emitted { delivered, held: false, dropped: false };
        }
        Stats::bump(&self.stats.held_events);
        let dropped = st.held.push(target.clone(), frame);
        if dropped {
            Stats::bump(&self.stats.held_dropped);
        }
        Emitted { delivered: 0, held: true, dropped }
    }

    /// Stop accepting calls; every call in flight is answered `shutting_down` and cancelled.
    pub fn shutdown(&self) {
        let keys = {
            let mut st = self.state.lock();
            st.shutting_down = true;
            st.pending.keys()
        };
        for key in keys {
            if self.finish(key, Err(ErrorReply::framework(ErrorCode::ShuttingDown, "the host is shutting down"))) {
                self.dispatch(Op::Cancel { key });
            }
        }
    }
}

/// Answer a call that is not (and will not be) in the table, while holding the lock. A
/// message reusing the id of a call in flight on its connection gets no reply: one with that
/// id would settle the real call with an error of the sender's making (RELIABILITY.md case
/// 28); it is dropped and counted as a duplicate id, as an accepted-looking duplicate is.
///
/// A call that came with its own `reply` (docs/binary.md) is answered there, as a frame;
/// that reply is never the connection's, so it can settle nothing else.
fn refuse_locked(
    st: &State,
    stats: &Stats,
    conn: ConnId,
    id: CallId,
    err: &ErrorReply,
    reply: Option<Responder>,
) -> Receipt {
    if let Some(reply) = reply {
        reply(Reply::Frame(protocol::json_frame(protocol::call_err(&id, err))));
        return Receipt::Replied(id);
    }
    if st.pending.find(conn, &id).is_some() {
        Stats::bump(&stats.duplicate_ids);
        return Receipt::Dropped;
    }
    if let Some(c) = st.conns.get(&conn) {
        c.sink.send(Bytes::from(protocol::call_err(&id, err)));
    }
    Receipt::Replied(id)
}

/// What a binary frame brought besides its JSON message.
struct Binary {
    blobs: Vec<Vec<Bytes>>,
    reply: Option<Responder>,
}
