//! The router: decodes envelopes, enforces limits, owns the pending-call table and
//! guarantees exactly one terminal reply per accepted call id.
//!
//! Invariant: a call is in `State::pending` from acceptance until its single reply is
//! sent; whoever removes it (complete, timeout, cancel, shutdown) sends that reply, and
//! nobody else can, because removal happens under the lock.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use super::{CallKey, ConnId, Dispatcher, MethodId, Op, Sink, Stats};
use crate::protocol::{self, CallId, ErrorCode, ErrorReply, Incoming, Limits};

/// What `receive` did with a message (used by the test client and by tests).
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
    /// The client announced it is ready for frames (the transport acts on it).
    Ready,
    /// A page announced its key; on an armed keyed connection it is now bound.
    Hello,
    /// A keyed connection refused the message (missing, wrong or stale key, a hello out of
    /// turn); counted, never answered.
    Refused,
    /// The message was dropped and counted: there was no id to answer.
    Dropped,
}

/// Who may talk on a connection.
enum Gate {
    /// Anyone holding the connection (test clients, in-process transports).
    Open,
    /// A page's connection before its document committed: nothing gets in.
    Locked,
    /// The document committed: its first `hello` binds the key.
    Armed,
    /// Only messages carrying this key get in.
    Bound(Box<str>),
}

enum Admission {
    Pass,
    Bound,
    Refused,
}

struct MethodInfo {
    id: MethodId,
    timeout: Option<Duration>,
}

struct Conn {
    sink: Arc<dyn Sink>,
    /// Calls in flight on this connection, by client id.
    ids: HashMap<CallId, CallKey>,
    gate: Gate,
}

struct Pending {
    conn: ConnId,
    id: CallId,
    timer: Option<AbortHandle>,
}

#[derive(Default)]
struct State {
    methods: HashMap<String, MethodInfo>,
    conns: HashMap<ConnId, Conn>,
    pending: HashMap<CallKey, Pending>,
    next_conn: ConnId,
    next_key: CallKey,
    shutting_down: bool,
    /// Event frames emitted while no connection was open, for the first one to connect.
    backlog: VecDeque<Bytes>,
}

pub struct Router {
    limits: Limits,
    dispatcher: Arc<dyn Dispatcher>,
    timers: Option<Handle>,
    state: Mutex<State>,
    stats: Stats,
    this: Weak<Router>,
}

impl Router {
    /// `timers` runs command timeouts; without it, timeouts are not enforced.
    pub fn new(limits: Limits, dispatcher: Arc<dyn Dispatcher>, timers: Option<Handle>) -> Arc<Self> {
        Arc::new_cyclic(|this| Router {
            limits,
            dispatcher,
            timers,
            state: Mutex::new(State::default()),
            stats: Stats::default(),
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
    pub fn register_method(&self, name: &str, id: MethodId, timeout: Option<Duration>) {
        self.state.lock().methods.insert(name.to_owned(), MethodInfo { id, timeout });
    }

    /// Open a connection. Events emitted while none was open are delivered to it first.
    pub fn connect(&self, sink: Arc<dyn Sink>) -> ConnId {
        self.open(sink, Gate::Open)
    }

    /// Open a connection for a page: it accepts nothing until `arm` and then one `hello`,
    /// and afterwards only messages carrying that hello's key (RELIABILITY.md case 18).
    pub fn connect_keyed(&self, sink: Arc<dyn Sink>) -> ConnId {
        self.open(sink, Gate::Locked)
    }

    /// A new document now owns the keyed connection `conn`: its first `hello` binds the key,
    /// and any key bound before is stale.
    pub fn arm(&self, conn: ConnId) {
        if let Some(c) = self.state.lock().conns.get_mut(&conn) {
            if !matches!(c.gate, Gate::Open) {
                c.gate = Gate::Armed;
            }
        }
    }

    fn open(&self, sink: Arc<dyn Sink>, gate: Gate) -> ConnId {
        let mut st = self.state.lock();
        st.next_conn += 1;
        let conn = st.next_conn;
        for frame in st.backlog.drain(..) {
            sink.send(frame);
        }
        st.conns.insert(conn, Conn { sink, ids: HashMap::new(), gate });
        conn
    }

    /// Close a connection: its calls in flight are cancelled and nothing more reaches it.
    pub fn disconnect(&self, conn: ConnId) {
        let keys: Vec<CallKey> = {
            let mut st = self.state.lock();
            let Some(c) = st.conns.remove(&conn) else { return };
            let keys: Vec<CallKey> = c.ids.into_values().collect();
            for key in &keys {
                if let Some(p) = st.pending.remove(key) {
                    abort(p.timer);
                }
            }
            keys
        };
        for key in keys {
            self.dispatch(Op::Cancel { key });
        }
    }

    pub fn in_flight(&self) -> usize {
        self.state.lock().pending.len()
    }

    /// Handle one raw message from `conn`. Never panics; every accepted call gets one reply.
    pub fn receive(&self, conn: ConnId, input: &[u8]) -> Receipt {
        Stats::bump(&self.stats.received);
        match catch_unwind(AssertUnwindSafe(|| self.receive_inner(conn, input))) {
            Ok(receipt) => receipt,
            Err(_) => {
                Stats::bump(&self.stats.panics);
                match protocol::salvage_id(input, &self.limits) {
                    Some(id) => {
                        // If the call was registered before the panic, answer through the table.
                        let key = self.state.lock().conns.get(&conn).and_then(|c| c.ids.get(&id).copied());
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

    /// Whether `conn`'s gate lets this message in; binds the key of an armed connection's
    /// first `hello`.
    fn admit(
        &self,
        conn: ConnId,
        input: &[u8],
        decoded: &Result<(Incoming<'_>, Option<Cow<'_, str>>), protocol::Rejection>,
    ) -> Admission {
        let mut st = self.state.lock();
        let Some(c) = st.conns.get_mut(&conn) else { return Admission::Pass }; // dropped below
        match &c.gate {
            Gate::Open => Admission::Pass,
            Gate::Locked => Admission::Refused,
            Gate::Armed => match decoded {
                Ok((Incoming::Hello, Some(key))) => {
                    c.gate = Gate::Bound(key.as_ref().into());
                    Admission::Bound
                }
                _ => Admission::Refused,
            },
            Gate::Bound(bound) => {
                let salvaged;
                let key = match decoded {
                    Ok((Incoming::Hello, _)) => return Admission::Refused,
                    Ok((_, key)) => key.as_deref(),
                    Err(_) => {
                        salvaged = protocol::salvage_key(input, &self.limits);
                        salvaged.as_deref()
                    }
                };
                match key {
                    Some(key) if same_key(key, bound) => Admission::Pass,
                    _ => Admission::Refused,
                }
            }
        }
    }

    fn receive_inner(&self, conn: ConnId, input: &[u8]) -> Receipt {
        let decoded = protocol::decode_keyed(input, &self.limits);
        match self.admit(conn, input, &decoded) {
            Admission::Pass => {}
            Admission::Bound => return Receipt::Hello,
            Admission::Refused => {
                Stats::bump(&self.stats.refused_key);
                return Receipt::Refused;
            }
        }
        match decoded.map(|(msg, _)| msg) {
            Ok(Incoming::Call { id, method, params, unsafe_ints }) => {
                self.accept_call(conn, id, &method, params.map(|p| p.get()), &unsafe_ints)
            }
            Ok(Incoming::Event { event, detail }) => {
                if !self.state.lock().conns.contains_key(&conn) {
                    Stats::bump(&self.stats.dropped);
                    return Receipt::Dropped;
                }
                Stats::bump(&self.stats.events_received);
                let detail = detail.map_or_else(|| b"null".to_vec(), |d| d.get().as_bytes().to_vec());
                self.dispatch(Op::Event { conn, name: event.into_owned(), detail });
                Receipt::Event
            }
            Ok(Incoming::Cancel { id }) => {
                let key = self.state.lock().conns.get(&conn).and_then(|c| c.ids.get(&id).copied());
                match key {
                    Some(key) => self.cancel(key, ErrorCode::Cancelled, "the call was cancelled by the caller"),
                    None => Stats::bump(&self.stats.unknown_cancels),
                }
                Receipt::Cancel
            }
            Ok(Incoming::Ready) => Receipt::Ready,
            Ok(Incoming::Hello) => Receipt::Hello, // an open connection needs no key
            Err(rej) => {
                Stats::bump(if rej.code == ErrorCode::PayloadTooLarge {
                    &self.stats.too_large
                } else {
                    &self.stats.invalid_messages
                });
                match rej.id {
                    Some(id) => {
                        self.reply_now(conn, &id, &ErrorReply::framework(rej.code, rej.message));
                        Receipt::Replied(id)
                    }
                    None => {
                        Stats::bump(&self.stats.dropped);
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
    ) -> Receipt {
        let (key, method_id) = {
            let mut st = self.state.lock();
            let st = &mut *st;
            if st.shutting_down {
                let err = ErrorReply::framework(ErrorCode::ShuttingDown, "the host is shutting down");
                return self.refuse_locked(st, conn, id, &err);
            }
            let Some(info) = st.methods.get(method) else {
                Stats::bump(&self.stats.method_not_found);
                let shown = protocol::truncate(method, 64);
                let err = ErrorReply::framework(
                    ErrorCode::MethodNotFound,
                    format!("no command named {shown:?} is registered"),
                );
                return self.refuse_locked(st, conn, id, &err);
            };
            if !unsafe_ints.is_empty() {
                return self.refuse_locked(st, conn, id, &protocol::unsafe_params_error(method, unsafe_ints));
            }
            let (method_id, timeout) = (info.id, info.timeout);
            let Some(c) = st.conns.get_mut(&conn) else {
                Stats::bump(&self.stats.dropped);
                return Receipt::Dropped;
            };
            if c.ids.contains_key(&id) {
                // Answering would settle the caller's original promise with the wrong reply.
                Stats::bump(&self.stats.duplicate_ids);
                return Receipt::Dropped;
            }
            if c.ids.len() >= self.limits.max_in_flight {
                Stats::bump(&self.stats.overloaded);
                let msg = format!("more than {} calls in flight on this connection", self.limits.max_in_flight);
                return self.refuse_locked(st, conn, id, &ErrorReply::framework(ErrorCode::Overloaded, msg));
            }
            st.next_key += 1;
            let key = st.next_key;
            c.ids.insert(id.clone(), key);
            let timer = timeout.and_then(|t| self.start_timer(key, t));
            st.pending.insert(key, Pending { conn, id: id.clone(), timer });
            (key, method_id)
        };
        Stats::bump(&self.stats.calls_accepted);
        let params = params.map_or_else(|| b"{}".to_vec(), |p| p.as_bytes().to_vec());
        self.dispatch(Op::Call { key, conn, method: method_id, params });
        Receipt::Accepted(id)
    }

    /// Answer a call that is not (and will not be) in the table, while holding the lock.
    fn refuse_locked(&self, st: &State, conn: ConnId, id: CallId, err: &ErrorReply) -> Receipt {
        if let Some(c) = st.conns.get(&conn) {
            c.sink.send(Bytes::from(protocol::call_err(&id, err)));
        }
        Receipt::Replied(id)
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

    /// Remove `key` from the table and send its one reply. False if it was already gone.
    fn finish(&self, key: CallKey, outcome: Result<&[u8], ErrorReply>) -> bool {
        let (id, sink) = {
            let mut st = self.state.lock();
            let Some(p) = st.pending.remove(&key) else { return false };
            abort(p.timer);
            let Some(c) = st.conns.get_mut(&p.conn) else {
                return true;
            };
            c.ids.remove(&p.id);
            (p.id, c.sink.clone())
        };
        let frame = match outcome {
            Ok(result) => protocol::call_ok(&id, result),
            Err(err) => protocol::call_err(&id, &err),
        };
        sink.send(Bytes::from(frame));
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

    /// Push an event to one connection, or to all. With no connection open, broadcast
    /// events are kept (up to `max_backlog_events`) for the first one to connect.
    /// Returns the number of connections it was sent to.
    pub fn emit(&self, target: Option<ConnId>, name: &str, payload: &[u8]) -> usize {
        let frame = Bytes::from(protocol::event(name, payload));
        // Sent under the lock so that all emitters see one global order.
        let mut st = self.state.lock();
        match target {
            Some(conn) => match st.conns.get(&conn) {
                Some(c) => {
                    c.sink.send(frame);
                    1
                }
                None => 0,
            },
            None if st.conns.is_empty() => {
                Stats::bump(&self.stats.backlogged_events);
                if st.backlog.len() >= self.limits.max_backlog_events {
                    st.backlog.pop_front();
                    Stats::bump(&self.stats.backlog_dropped);
                }
                st.backlog.push_back(frame);
                0
            }
            None => {
                for c in st.conns.values() {
                    c.sink.send(frame.clone());
                }
                st.conns.len()
            }
        }
    }

    /// Stop accepting calls; every call in flight is answered `shutting_down` and cancelled.
    pub fn shutdown(&self) {
        let keys: Vec<CallKey> = {
            let mut st = self.state.lock();
            st.shutting_down = true;
            st.pending.keys().copied().collect()
        };
        for key in keys {
            if self.finish(key, Err(ErrorReply::framework(ErrorCode::ShuttingDown, "the host is shutting down"))) {
                self.dispatch(Op::Cancel { key });
            }
        }
    }
}

fn abort(timer: Option<AbortHandle>) {
    if let Some(t) = timer {
        t.abort();
    }
}

/// Key comparison in time independent of where the keys differ.
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
