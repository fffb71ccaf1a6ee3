//! `auroraview._core.Core` and `Connection`: an app's router exposed to Python.
//!
//! One `Core` per app (`auroraview/app.py`): every window, in-process client and later
//! server of the app joins its router. The Python runtime (`auroraview/_runtime.py`) drains
//! `Core.take()` when `Core.fileno()` becomes readable, runs handlers on asyncio, and
//! answers with `complete`/`fail`. Nothing here takes the GIL from a Rust thread.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::handoff::WakeQueue;
use crate::ipc::{
    Access, CallKey, ConnId, ConnInfo, Dispatcher, Op, Origin, Receipt, Router, Since, Sink, Target, TopicSpec,
    TransportKind,
};
use crate::protocol::{CallId, ErrorReply, Limits};

/// Messages at least this large are routed with the GIL released.
const DETACH_BYTES: usize = 64 * 1024;

struct QueueDispatcher(Arc<WakeQueue<Op>>);

impl Dispatcher for QueueDispatcher {
    fn dispatch(&self, op: Op) {
        self.0.push(op);
    }
}

struct QueueSink(Arc<WakeQueue<Bytes>>);

impl Sink for QueueSink {
    fn send(&self, frame: Bytes) {
        self.0.push(frame);
    }

    fn carries_binary(&self) -> bool {
        true
    }
}

/// A Python `bytes` object lent to Rust without a copy: its buffer is immutable and lives as
/// long as the reference held here (dropped without the GIL, pyo3 defers the decref).
struct PyBytesOwner {
    _object: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: the buffer of a `bytes` object never changes or moves while a reference to the
// object is held, and `Py<PyBytes>` itself is `Send`.
unsafe impl Send for PyBytesOwner {}
unsafe impl Sync for PyBytesOwner {}

impl AsRef<[u8]> for PyBytesOwner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see above; `ptr`/`len` were read from this very object.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// `bytes` objects as `Bytes`, without copying them.
pub(crate) fn lend(blobs: &[Bound<'_, PyBytes>]) -> Vec<Bytes> {
    blobs
        .iter()
        .map(|b| {
            let data = b.as_bytes();
            Bytes::from_owner(PyBytesOwner { _object: b.clone().unbind(), ptr: data.as_ptr(), len: data.len() })
        })
        .collect()
}

fn blobs_to_py<'py>(py: Python<'py>, blobs: &[Bytes]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, blobs.iter().map(|b| PyBytes::new(py, b)))
}

/// A call's attachments as `bytes` objects, each chunk it was read in dropped as soon as it is
/// copied: the host holds a 100 MiB upload once, plus at most one chunk (docs/binary.md).
fn attachments_to_py(py: Python<'_>, blobs: Vec<Vec<Bytes>>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for segments in blobs {
        let len: usize = segments.iter().map(Bytes::len).sum();
        list.append(bytes_from_segments(py, len, segments)?)?;
    }
    Ok(list)
}

/// A `bytes` object of `len` bytes filled from `segments`, each dropped once copied. Not
/// `PyBytes::new_with`: it zero-fills the whole object first, so all of it would be resident
/// while every segment still is (the peak this avoids).
fn bytes_from_segments(py: Python<'_>, len: usize, segments: Vec<Bytes>) -> PyResult<Bound<'_, PyAny>> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| PyValueError::new_err(format!("an attachment of {len} bytes is too large")))?;
    // SAFETY: a new, uninitialised bytes object of `len` bytes (the C API's documented way to
    // fill one), owned here; every byte is written below before Python sees it.
    unsafe {
        let object = Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size))?;
        let buffer = pyo3::ffi::PyBytes_AsString(object.as_ptr()).cast::<u8>();
        let mut at = 0;
        for segment in segments {
            std::ptr::copy_nonoverlapping(segment.as_ptr(), buffer.add(at), segment.len());
            at += segment.len();
            // `segment` dropped here: its chunk goes once no other view holds it.
        }
        debug_assert_eq!(at, len);
        Ok(object)
    }
}

/// A binary frame of JSON `message` and attachments `blobs` (docs/binary.md).
#[pyfunction]
pub fn encode_frame<'py>(py: Python<'py>, message: &[u8], blobs: Vec<Bound<'py, PyBytes>>) -> Bound<'py, PyBytes> {
    let segments = crate::protocol::encode_frame(Bytes::copy_from_slice(message), &lend(&blobs));
    let len = segments.iter().map(Bytes::len).sum();
    PyBytes::new_with(py, len, |buf| {
        let mut at = 0;
        for s in &segments {
            buf[at..at + s.len()].copy_from_slice(s);
            at += s.len();
        }
        Ok(())
    })
    .expect("filling a new bytes object cannot fail")
}

/// Split a binary frame into its JSON message and attachments; `ValueError` when malformed.
#[pyfunction]
pub fn decode_frame<'py>(
    py: Python<'py>,
    frame: Bound<'py, PyBytes>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
    let frame = lend(std::slice::from_ref(&frame)).remove(0);
    let decoded =
        crate::protocol::decode_frame(&frame, usize::MAX).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((PyBytes::new(py, &decoded.json), blobs_to_py(py, &decoded.blobs)?))
}

/// The longest `take(wait_us=)` spins: a wait is meant to bridge a gap between calls.
const MAX_WAIT_US: u64 = 10_000;

/// A Python str as Unicode text: each lone surrogate (a Python str may hold one; UTF-8
/// cannot encode it) becomes U+FFFD and surrogate pairs are joined, the wire's one rule for
/// strings (RELIABILITY.md case 34). Free for well-formed strings.
fn usv<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if let Ok(text) = s.to_str() {
        return Ok(Cow::Borrowed(text));
    }
    let encoded = s.call_method1("encode", ("utf-16-le", "surrogatepass"))?;
    let units = encoded.cast::<PyBytes>()?.as_bytes().chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    Ok(Cow::Owned(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()))
}

fn io_err(e: std::io::Error) -> PyErr {
    PyOSError::new_err(format!("cannot create the wake-up socket: {e}"))
}

fn call_id_to_py<'py>(py: Python<'py>, id: &CallId) -> PyResult<Bound<'py, PyAny>> {
    Ok(match id {
        CallId::Int(n) => n.into_pyobject(py)?.into_any(),
        CallId::Str(s) => s.into_pyobject(py)?.into_any(),
    })
}

fn receipt_to_py<'py>(py: Python<'py>, receipt: &Receipt) -> PyResult<Bound<'py, PyTuple>> {
    let none = py.None().into_bound(py);
    let (kind, id) = match receipt {
        Receipt::Accepted(id) => ("accepted", call_id_to_py(py, id)?),
        Receipt::Replied(id) => ("replied", call_id_to_py(py, id)?),
        Receipt::Event => ("event", none),
        Receipt::Cancel => ("cancel", none),
        Receipt::Ack => ("ack", none),
        Receipt::Ready => ("ready", none),
        Receipt::Ping => ("ping", none),
        Receipt::Pong => ("pong", none),
        Receipt::Hello => ("hello", none),
        Receipt::Refused => ("refused", none),
        Receipt::Dropped => ("dropped", none),
    };
    PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), id])
}

/// An app's router with its dispatch queue: one per app, shared by all its transports.
#[pyclass(frozen, module = "auroraview._core")]
pub struct Core {
    router: Arc<Router>,
    ops: Arc<WakeQueue<Op>>,
    broker: std::sync::OnceLock<Arc<dyn crate::broker::Broker>>,
}

impl Core {
    pub(crate) fn router(&self) -> Arc<Router> {
        self.router.clone()
    }
}

#[pymethods]
impl Core {
    #[new]
    #[pyo3(signature = (*, max_message_bytes=None, max_depth=None, max_container_items=None, max_in_flight=None, max_name_bytes=None, max_id_bytes=None, max_backlog_events=None, max_binary_bytes=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        max_message_bytes: Option<usize>,
        max_depth: Option<usize>,
        max_container_items: Option<usize>,
        max_in_flight: Option<usize>,
        max_name_bytes: Option<usize>,
        max_id_bytes: Option<usize>,
        max_backlog_events: Option<usize>,
        max_binary_bytes: Option<usize>,
    ) -> PyResult<Self> {
        let d = Limits::default();
        let limits = Limits {
            max_message_bytes: max_message_bytes.unwrap_or(d.max_message_bytes),
            max_depth: max_depth.unwrap_or(d.max_depth),
            max_container_items: max_container_items.unwrap_or(d.max_container_items),
            max_in_flight: max_in_flight.unwrap_or(d.max_in_flight),
            max_name_bytes: max_name_bytes.unwrap_or(d.max_name_bytes),
            max_id_bytes: max_id_bytes.unwrap_or(d.max_id_bytes),
            max_backlog_events: max_backlog_events.unwrap_or(d.max_backlog_events),
            max_binary_bytes: max_binary_bytes.unwrap_or(d.max_binary_bytes),
        };
        if limits.max_depth < 2 || limits.max_message_bytes == 0 || limits.max_in_flight == 0 {
            return Err(PyValueError::new_err(
                "limits too small: max_depth must be >= 2, max_message_bytes and max_in_flight >= 1",
            ));
        }
        let ops = Arc::new(WakeQueue::new().map_err(io_err)?);
        let timers = crate::runtime::handle().map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        let router = Router::new(limits, Arc::new(QueueDispatcher(ops.clone())), Some(timers));
        Ok(Core { router, ops, broker: std::sync::OnceLock::new() })
    }

    /// Descriptor that becomes readable when `take()` has work.
    fn fileno(&self) -> i32 {
        self.ops.fileno()
    }

    /// Register a command name under `method_id`, the id `take()` reports for its calls.
    /// `transports` (names) and `origins` (URLs) are its access rules (`ipc/authority.rs`).
    #[pyo3(signature = (name, method_id, timeout=None, transports=None, origins=None))]
    fn register(
        &self,
        name: &str,
        method_id: u32,
        timeout: Option<f64>,
        transports: Option<Vec<String>>,
        origins: Option<Vec<String>>,
    ) -> PyResult<()> {
        let access = Access {
            transports: transports
                .map(|names| names.iter().map(|n| parse_transport(n)).collect::<PyResult<Vec<_>>>())
                .transpose()?,
            origins: origins
                .map(|urls| {
                    urls.iter()
                        .map(|u| {
                            Origin::parse(u).ok_or_else(|| {
                                PyValueError::new_err(format!("{u:?} is not an origin (scheme://host[:port])"))
                            })
                        })
                        .collect::<PyResult<Vec<_>>>()
                })
                .transpose()?,
        };
        let timeout = match timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => {
                return Err(PyValueError::new_err(format!("timeout must be a positive number of seconds, got {t}")))
            }
        };
        self.router.register_method(name, method_id, timeout, access);
        Ok(())
    }

    /// Up to `max` queued items of work, in order: `(0, key, method_id, params, conn, blobs)`
    /// for a call (`blobs`: None when its reply cannot carry attachments, else its
    /// attachments), `(1, conn, name, detail, child)` for an event (`child`: the sender's child id), `(2, key)` to cancel a call,
    /// `(3, key, seq)` for a stream's ack, `(4, topic, epoch, offset, data)` for a publication
    /// of a topic the host subscribed to (`topic_host`).
    ///
    /// With `wait_us`, an empty queue is watched for up to that many microseconds (spinning,
    /// without the GIL) before returning empty-handed; meanwhile producers skip the wake-up.
    #[pyo3(signature = (max=usize::MAX, wait_us=0))]
    fn take<'py>(&self, py: Python<'py>, max: usize, wait_us: u64) -> PyResult<Bound<'py, PyList>> {
        if wait_us > 0 && !py.detach(|| self.ops.wait(Duration::from_micros(wait_us.min(MAX_WAIT_US)))) {
            return Ok(PyList::empty(py));
        }
        let ops = self.ops.take(max);
        let list = PyList::empty(py);
        for op in ops {
            let item = match op {
                Op::Call { key, conn, method, params, blobs } => {
                    let blobs = blobs.map(|b| attachments_to_py(py, b)).transpose()?;
                    (0u8, key, method, PyBytes::new(py, &params), conn, blobs).into_pyobject(py)?.into_any()
                }
                Op::Event { conn, name, detail, child } => {
                    (1u8, conn, name, PyBytes::new(py, &detail), child).into_pyobject(py)?.into_any()
                }
                Op::Cancel { key } => (2u8, key).into_pyobject(py)?.into_any(),
                Op::Ack { key, seq } => (3u8, key, seq).into_pyobject(py)?.into_any(),
                Op::Publication { topic, epoch, offset, data } => {
                    (4u8, topic, epoch, offset, PyBytes::new(py, &data)).into_pyobject(py)?.into_any()
                }
            };
            list.append(item)?;
        }
        Ok(list)
    }

    /// Answer call `key` with JSON `result` bytes. False if it was already answered. With
    /// `blobs` the reply is a binary frame whose `result` may hold `{"$bin": i}` placeholders
    /// (only for a call whose `take()` tuple had a list of blobs; the bytes are not copied).
    #[pyo3(signature = (key, result, blobs=None))]
    fn complete(&self, py: Python<'_>, key: CallKey, result: &[u8], blobs: Option<Vec<Bound<'_, PyBytes>>>) -> bool {
        if let Some(blobs) = blobs {
            let blobs = lend(&blobs);
            return py.detach(|| self.router.complete_binary(key, result, blobs));
        }
        if result.len() >= DETACH_BYTES {
            py.detach(|| self.router.complete(key, Ok(result)))
        } else {
            self.router.complete(key, Ok(result))
        }
    }

    /// Send item `seq` (JSON bytes) of stream or channel call `key`. False when the call is no
    /// longer in flight (or the item ended it: an unsafe integer): stop producing.
    fn item(&self, py: Python<'_>, key: CallKey, seq: u64, item: &[u8]) -> bool {
        if item.len() >= DETACH_BYTES {
            py.detach(|| self.router.item(key, seq, item))
        } else {
            self.router.item(key, seq, item)
        }
    }

    /// Answer call `key` with an error; `data` is JSON bytes or None.
    #[pyo3(signature = (key, name, code, message, data=None))]
    fn fail(
        &self,
        key: CallKey,
        name: &Bound<'_, PyString>,
        code: &Bound<'_, PyString>,
        message: &Bound<'_, PyString>,
        data: Option<Vec<u8>>,
    ) -> PyResult<bool> {
        let (name, code, message) = (usv(name)?.into_owned(), usv(code)?.into_owned(), usv(message)?.into_owned());
        let err = ErrorReply { name, code, message, data };
        Ok(self.router.complete(key, Err(err)))
    }

    /// Subscribe the caller of call `key` (an `auroraview.subscribe` the host admitted) to
    /// `topic` and answer the call with its position, then replay what `since_epoch` /
    /// `since_offset` recovers (docs/topics.md). False when the call is no longer in flight.
    /// `RuntimeError` when the app has too many topics.
    #[pyo3(signature = (key, topic, history, history_ttl, history_bytes, since_epoch=None, since_offset=None))]
    #[allow(clippy::too_many_arguments)]
    fn topic_subscribe(
        &self,
        key: CallKey,
        topic: &str,
        history: usize,
        history_ttl: f64,
        history_bytes: usize,
        since_epoch: Option<String>,
        since_offset: Option<u64>,
    ) -> PyResult<bool> {
        let spec = topic_spec(history, history_ttl, history_bytes)?;
        let since = match (since_epoch, since_offset) {
            (Some(epoch), Some(offset)) => Some(Since { epoch, offset }),
            (None, None) => None,
            _ => return Err(PyValueError::new_err("since_epoch and since_offset go together")),
        };
        self.router.topic_subscribe(key, topic, spec, since).map_err(|e| PyRuntimeError::new_err(e.message))
    }

    /// Unsubscribe connection `conn` from `topic` (nothing of it reaches the connection after
    /// this returns). Whether it was subscribed.
    fn topic_unsubscribe(&self, conn: ConnId, topic: &str) -> bool {
        self.router.topic_unsubscribe(conn, topic)
    }

    /// Share the app's topics through the broker at `url` (`redis://...`, `nats://...`),
    /// under `prefix`. The link is made in the background and kept (`broker_status`).
    /// `ValueError` for a URL or prefix that is not one; `RuntimeError` when a broker is set.
    fn connect_broker(&self, url: &str, prefix: &str) -> PyResult<()> {
        if self.broker.get().is_some() {
            return Err(PyRuntimeError::new_err("this app shares its topics through a broker already"));
        }
        let broker = crate::broker::connect(url, prefix, &self.router).map_err(PyValueError::new_err)?;
        let _ = self.broker.set(broker);
        Ok(())
    }

    /// The broker link: `{"url", "up", "since", "outages", "last_error"}`; None without one.
    fn broker_status<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(broker) = self.broker.get() else { return Ok(None) };
        let st = broker.health().status();
        let d = PyDict::new(py);
        d.set_item("url", st.url)?;
        d.set_item("up", st.up)?;
        d.set_item("since", st.since)?;
        d.set_item("outages", st.outages)?;
        d.set_item("last_error", st.last_error)?;
        Ok(Some(d))
    }

    /// Stop the broker link (the app is closing).
    fn close_broker(&self) {
        if let Some(broker) = self.broker.get() {
            broker.close();
        }
    }

    /// Publish JSON `data` on `topic` for call `key` (an `auroraview.publish` the host
    /// admitted), through the broker when there is one: the call is answered with `{epoch,
    /// offset}` or the error (`unavailable` while the broker is down), now or later.
    #[allow(clippy::too_many_arguments)]
    fn topic_publish_call(
        &self,
        key: CallKey,
        topic: &str,
        data: &[u8],
        history: usize,
        history_ttl: f64,
        history_bytes: usize,
    ) -> PyResult<()> {
        let spec = topic_spec(history, history_ttl, history_bytes)?;
        let router = self.router.clone();
        self.router.topic_publish_with(
            topic,
            spec,
            data,
            Box::new(move |outcome| {
                let json = outcome.map(|(epoch, offset)| {
                    serde_json::to_vec(&serde_json::json!({"epoch": epoch, "offset": offset})).unwrap_or_default()
                });
                router.complete(key, json.as_deref().map_err(Clone::clone));
            }),
        );
        Ok(())
    }

    /// Publish JSON `data` on `topic`: `(epoch, offset)` once it is queued to every subscriber
    /// (with a broker: once the broker ordered it; this waits for it, without the GIL, at
    /// most 10 s). `ValueError` for integers JavaScript cannot represent, `RuntimeError` when
    /// the app has too many topics, `ConnectionError` when the broker is down or did not
    /// confirm: the message reached nobody (unless the link broke after the broker took it).
    fn topic_publish(
        &self,
        py: Python<'_>,
        topic: &str,
        data: &[u8],
        history: usize,
        history_ttl: f64,
        history_bytes: usize,
    ) -> PyResult<(String, u64)> {
        let spec = topic_spec(history, history_ttl, history_bytes)?;
        let result = if self.router.has_broker() {
            py.detach(|| {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                self.router.topic_publish_with(
                    topic,
                    spec,
                    data,
                    Box::new(move |outcome| {
                        let _ = tx.send(outcome);
                    }),
                );
                rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| {
                    Err(ErrorReply::framework(
                        crate::protocol::ErrorCode::Unavailable,
                        format!("publish on topic {topic:?}: the topics broker did not confirm it within 10 s"),
                    ))
                })
            })
        } else if data.len() >= DETACH_BYTES {
            py.detach(|| self.router.topic_publish(topic, spec, data))
        } else {
            self.router.topic_publish(topic, spec, data)
        };
        result.map_err(|e| {
            if e.code == crate::protocol::ErrorCode::InvalidParams.as_str() {
                PyValueError::new_err(e.message)
            } else if e.code == crate::protocol::ErrorCode::Unavailable.as_str() {
                pyo3::exceptions::PyConnectionError::new_err(e.message)
            } else {
                PyRuntimeError::new_err(e.message)
            }
        })
    }

    /// Topic `topic` is declared by the app: made now, never forgotten while idle.
    fn topic_declare(&self, topic: &str, history: usize, history_ttl: f64, history_bytes: usize) -> PyResult<()> {
        let spec = topic_spec(history, history_ttl, history_bytes)?;
        self.router.topic_declare(topic, spec);
        Ok(())
    }

    /// The host subscribes to `topic` (`on`) or stops: its publications come from `take`.
    fn topic_host(
        &self,
        topic: &str,
        on: bool,
        history: usize,
        history_ttl: f64,
        history_bytes: usize,
    ) -> PyResult<()> {
        let spec = topic_spec(history, history_ttl, history_bytes)?;
        self.router.topic_host(topic, spec, on).map_err(|e| PyRuntimeError::new_err(e.message))
    }

    /// `(connections subscribed, epoch, last offset)` of `topic`; None for a topic never used.
    fn topic_presence(&self, topic: &str) -> Option<(Vec<ConnId>, String, u64)> {
        self.router.topic_presence(topic)
    }

    /// Push an event (payload: JSON bytes) to the connections `target` matches: None for
    /// all, a connection id, `("window", label)`, `("transport", kind)`, or a `Target` made
    /// once (the cheapest: nothing to parse per event). Returns how many connections got it;
    /// 0 means it is held for a connection to come (or was for a connection that is gone).
    ///
    /// Raises `ValueError` for a name the wire refuses (empty, over `max_name_bytes`) and for
    /// a payload holding an integer JavaScript cannot represent: checked here, in the one
    /// call an emit makes into the core, because every extra call shows in the events/s
    /// a window reaches (see `App._send`).
    #[pyo3(signature = (name, payload, target=None))]
    fn emit(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyString>,
        payload: &[u8],
        target: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let name = &*usv(name)?;
        let max = self.router.limits().max_name_bytes;
        if name.is_empty() || name.len() > max {
            return Err(PyValueError::new_err(format!(
                "event name must be a non-empty string of at most {max} bytes; got {name:?}"
            )));
        }
        super::check_js_safe(py, payload, "payload")?;
        if let Some(made) = target.and_then(|t| t.cast::<PyTarget>().ok()) {
            return Ok(self.router.emit(&made.get().0, name, payload).delivered);
        }
        Ok(self.router.emit(&parse_target(target)?, name, payload).delivered)
    }

    /// Held events dropped so far because `max_backlog_events` were held.
    #[getter]
    fn held_dropped(&self) -> u64 {
        self.router.stats().held_dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Open an in-process connection whose frames Python reads with `Connection.take()`.
    /// `window`: the label of a window this client stands in for (it gets that window's
    /// events); `peer`: who is on the other end.
    #[pyo3(signature = (*, window=None, peer=None))]
    fn connect(&self, window: Option<String>, peer: Option<String>) -> PyResult<Connection> {
        let frames = Arc::new(WakeQueue::new().map_err(io_err)?);
        let info = ConnInfo { window, peer, ..ConnInfo::new(TransportKind::InProcess) };
        let conn = self.router.connect(Arc::new(QueueSink(frames.clone())), info);
        Ok(Connection { router: self.router.clone(), conn, frames })
    }

    /// The identity of open connection `conn` (None when it is closed): a dict with
    /// `transport`, `window`, `origin` and `peer`.
    fn conn_info<'py>(&self, py: Python<'py>, conn: ConnId) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.router.conn_info(conn).map(|info| info_dict(py, conn, &info)).transpose()
    }

    /// Every open connection's identity (as `conn_info`, with its `id`), oldest first.
    fn connections<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.router.connections().iter().map(|(id, info)| info_dict(py, *id, info)).collect()
    }

    /// Answer every call in flight `shutting_down` and refuse new ones.
    fn shutdown(&self) {
        self.router.shutdown();
    }

    #[getter]
    fn in_flight(&self) -> usize {
        self.router.in_flight()
    }

    /// Events held for connections that have not connected yet.
    #[getter]
    fn held(&self) -> usize {
        self.router.held()
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, value) in self.router.stats().snapshot() {
            d.set_item(name, value)?;
        }
        Ok(d)
    }

    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        limits_dict(py, self.router.limits())
    }
}

/// An event target parsed once (see `Core.emit`).
#[pyclass(frozen, module = "auroraview._core", name = "Target")]
pub struct PyTarget(Target);

#[pymethods]
impl PyTarget {
    /// Parse a target as `Core.emit` takes it: None, a connection id, `("window", label)`,
    /// `("transport", kind)` or `("conn", id)`.
    #[new]
    #[pyo3(signature = (target=None))]
    fn new(target: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(PyTarget(parse_target(target)?))
    }

    fn __repr__(&self) -> String {
        format!("Target({:?})", self.0)
    }
}

fn info_dict<'py>(py: Python<'py>, id: ConnId, info: &ConnInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", id)?;
    d.set_item("transport", info.transport.as_str())?;
    d.set_item("window", info.window.as_deref())?;
    d.set_item("origin", info.origin.as_deref())?;
    d.set_item("peer", info.peer.as_deref())?;
    Ok(d)
}

/// None → all; an int → that connection; `("window", label)`, `("transport", kind)`,
/// `("conn", id)`.
fn parse_target(target: Option<&Bound<'_, PyAny>>) -> PyResult<Target> {
    let Some(target) = target else { return Ok(Target::All) };
    // Type checks first: a failed `extract` builds a Python exception, which costs more
    // than the rest of an emit.
    if target.is_instance_of::<PyInt>() {
        return Ok(Target::Conn(target.extract()?));
    }
    if !target.is_instance_of::<PyTuple>() {
        return Err(PyValueError::new_err(format!(
            "an event target is None, a connection id, (\"window\", label), (\"transport\", kind), (\"child\", id) or (\"conn\", id); got {target}"
        )));
    }
    let bad = || {
        PyValueError::new_err(format!(
            "an event target is None, a connection id, (\"window\", label), (\"transport\", kind), (\"child\", id) or (\"conn\", id); got {target}"
        ))
    };
    let (kind, value): (String, Bound<'_, PyAny>) = target.extract().map_err(|_| bad())?;
    match kind.as_str() {
        "window" => Ok(Target::Window(value.extract().map_err(|_| bad())?)),
        "conn" => Ok(Target::Conn(value.extract().map_err(|_| bad())?)),
        "transport" => {
            let name: String = value.extract().map_err(|_| bad())?;
            parse_transport(&name).map(Target::Transport)
        }
        "child" | "peer" => Ok(Target::Peer(value.extract().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

pub(crate) fn parse_transport(name: &str) -> PyResult<TransportKind> {
    TransportKind::parse(name).ok_or_else(|| {
        let known: Vec<&str> = TransportKind::ALL.iter().map(|k| k.as_str()).collect();
        PyValueError::new_err(format!("unknown transport {name:?}; known: {}", known.join(", ")))
    })
}

pub fn limits_dict<'py>(py: Python<'py>, l: &Limits) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("max_message_bytes", l.max_message_bytes)?;
    d.set_item("max_depth", l.max_depth)?;
    d.set_item("max_container_items", l.max_container_items)?;
    d.set_item("max_in_flight", l.max_in_flight)?;
    d.set_item("max_name_bytes", l.max_name_bytes)?;
    d.set_item("max_id_bytes", l.max_id_bytes)?;
    d.set_item("max_backlog_events", l.max_backlog_events)?;
    d.set_item("max_binary_bytes", l.max_binary_bytes)?;
    Ok(d)
}

/// One in-process client connection to a `Core` (what `TestClient` speaks through).
#[pyclass(frozen, module = "auroraview._core")]
pub struct Connection {
    router: Arc<Router>,
    conn: ConnId,
    frames: Arc<WakeQueue<Bytes>>,
}

#[pymethods]
impl Connection {
    #[getter]
    fn id(&self) -> ConnId {
        self.conn
    }

    /// This connection's identity (None once closed).
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.router.conn_info(self.conn).map(|info| info_dict(py, self.conn, &info)).transpose()
    }

    /// Descriptor that becomes readable when `take()` has frames.
    fn fileno(&self) -> i32 {
        self.frames.fileno()
    }

    /// Route one raw message, exactly as a transport would. Returns `(kind, id)` where kind
    /// is "accepted", "replied", "event", "cancel", "ready", "hello", "refused" or "dropped".
    fn send<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
        let receipt = if data.len() >= DETACH_BYTES {
            py.detach(|| self.router.receive(self.conn, data))
        } else {
            self.router.receive(self.conn, data)
        };
        receipt_to_py(py, &receipt)
    }

    /// Route one binary frame (docs/binary.md), as a WebSocket binary message would be; its
    /// reply is a frame in `take()` (a binary frame starts with b"\x00").
    fn send_frame<'py>(&self, py: Python<'py>, frame: Bound<'py, PyBytes>) -> PyResult<Bound<'py, PyTuple>> {
        // Lent, not copied: the attachments the host gets are views of this very object.
        let frame = lend(std::slice::from_ref(&frame)).remove(0);
        let receipt = py.detach(|| self.router.receive_frame(self.conn, frame, None));
        receipt_to_py(py, &receipt)
    }

    /// Up to `max` frames sent to this connection since the last call, oldest first.
    #[pyo3(signature = (max=usize::MAX))]
    fn take<'py>(&self, py: Python<'py>, max: usize) -> PyResult<Bound<'py, PyList>> {
        let frames = self.frames.take(max);
        PyList::new(py, frames.iter().map(|f| PyBytes::new(py, f)))
    }

    /// Disconnect: calls in flight are cancelled and no more frames arrive.
    fn close(&self) {
        self.router.disconnect(self.conn);
    }
}

/// A topic's history bounds, checked.
fn topic_spec(history: usize, history_ttl: f64, history_bytes: usize) -> PyResult<TopicSpec> {
    if !(history_ttl.is_finite() && history_ttl > 0.0) {
        return Err(PyValueError::new_err(format!(
            "history_ttl must be a positive number of seconds, got {history_ttl}"
        )));
    }
    Ok(TopicSpec { history, history_ttl: Duration::from_secs_f64(history_ttl), history_bytes })
}
