//! `auroraview._core.Window`: a native window serving a `Core`'s router.
//!
//! Window events (page loads, eval results, closed) reach Python through a wake-up queue
//! the asyncio loop watches, like calls do: the GUI thread never takes the GIL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::core::Core;
use super::errors::webview_err;
use crate::handoff::WakeQueue;
use crate::webview::{
    self, AssetSource, Content, CrashPolicy, EvalError, WindowEvent, WindowHandle, WindowObserver, WindowSpec,
};

struct QueueObserver(Arc<WakeQueue<WindowEvent>>);

impl WindowObserver for QueueObserver {
    fn on_event(&self, event: WindowEvent) {
        self.0.push(event);
    }
}

/// A native window (WebKitGTK on Linux) whose page talks to `core`.
#[pyclass(frozen, module = "auroraview._core")]
pub struct Window {
    handle: WindowHandle,
    events: Arc<WakeQueue<WindowEvent>>,
}

#[pymethods]
impl Window {
    #[new]
    #[pyo3(signature = (core, *, label, title, url=None, assets=None, html=None, width=1024.0, height=768.0, resizable=true, visible=true, debug=false, csp=None, on_crash="reload", parent=None, embedded=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        core: &Core,
        label: String,
        title: String,
        url: Option<String>,
        assets: Option<PathBuf>,
        html: Option<String>,
        width: f64,
        height: f64,
        resizable: bool,
        visible: bool,
        debug: bool,
        csp: Option<String>,
        on_crash: &str,
        parent: Option<u64>,
        embedded: bool,
    ) -> PyResult<Self> {
        let on_crash = match on_crash {
            "reload" => CrashPolicy::Reload,
            "close" => CrashPolicy::Close,
            "notify" => CrashPolicy::Notify,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_crash must be \"reload\", \"close\" or \"notify\", got {other:?}"
                )))
            }
        };
        let content = match (url, assets, html) {
            (Some(url), None, None) => Content::Url(url),
            (None, Some(dir), None) => Content::Assets(
                AssetSource::folder(&dir)
                    .map_err(|e| PyValueError::new_err(format!("assets={}: {e}", dir.display())))?,
            ),
            (None, None, Some(html)) => Content::Assets(AssetSource::Html(html)),
            (None, None, None) => Content::Assets(AssetSource::Html(String::new())),
            _ => return Err(PyValueError::new_err("give at most one of url=, assets= and html=")),
        };
        if !(width > 0.0 && height > 0.0) {
            return Err(PyValueError::new_err(format!("window size must be positive, got {width}x{height}")));
        }
        let events = Arc::new(WakeQueue::new().map_err(|e| PyRuntimeError::new_err(e.to_string()))?);
        let spec = WindowSpec {
            label,
            title,
            width,
            height,
            resizable,
            visible,
            debug,
            content,
            csp,
            on_crash,
            parent,
            embedded,
            router: core.router(),
            observer: Arc::new(QueueObserver(events.clone())),
        };
        // Waits for the GUI thread, which never needs the GIL: release it meanwhile.
        let handle = py.detach(|| webview::host().and_then(|host| host.open(spec))).map_err(webview_err)?;
        Ok(Window { handle, events })
    }

    #[getter]
    fn key(&self) -> u64 {
        self.handle.key()
    }

    /// The connection id currently serving the page (changes when the page reloads).
    #[getter]
    fn connection(&self) -> u64 {
        self.handle.connection()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// IPC messages refused because they came from an origin not allowed to use IPC.
    #[getter]
    fn refused(&self) -> u64 {
        self.handle.refused()
    }

    /// Frames dropped while held for a page that never became ready.
    #[getter]
    fn dropped(&self) -> u64 {
        self.handle.dropped()
    }

    /// Descriptor that becomes readable when `take_events()` has events.
    fn fileno(&self) -> i32 {
        self.events.fileno()
    }

    /// `("loading", url)`, `("loaded", url)`, `("bridge_ready",)`, `("shown",)`, `("eval", id, json, None, None)` or
    /// `("eval", id, None, why, "thrown" | "crashed" | "dropped")`, `("crashed", reason, reloading)`, `("blocked", url)`,
    /// `("closed",)`, in order.
    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for event in self.events.take(usize::MAX) {
            let item = match event {
                WindowEvent::PageLoading(url) => ("loading", url).into_pyobject(py)?.into_any(),
                WindowEvent::PageLoaded(url) => ("loaded", url).into_pyobject(py)?.into_any(),
                WindowEvent::BridgeReady => ("bridge_ready",).into_pyobject(py)?.into_any(),
                WindowEvent::Shown => ("shown",).into_pyobject(py)?.into_any(),
                WindowEvent::Focus(focused) => ("focus", focused).into_pyobject(py)?.into_any(),
                WindowEvent::EvalResult { id, result: Ok(json) } => {
                    ("eval", id, Some(json), None::<String>, None::<&str>).into_pyobject(py)?.into_any()
                }
                WindowEvent::EvalResult { id, result: Err(EvalError::Script(why)) } => {
                    ("eval", id, None::<String>, Some(why), "thrown").into_pyobject(py)?.into_any()
                }
                WindowEvent::EvalResult { id, result: Err(EvalError::Crashed(why)) } => {
                    ("eval", id, None::<String>, Some(why), "crashed").into_pyobject(py)?.into_any()
                }
                WindowEvent::EvalResult { id, result: Err(EvalError::Dropped(why)) } => {
                    ("eval", id, None::<String>, Some(why), "dropped").into_pyobject(py)?.into_any()
                }
                WindowEvent::Crashed { reason, reloading } => {
                    ("crashed", reason, reloading).into_pyobject(py)?.into_any()
                }
                WindowEvent::Blocked(url) => ("blocked", url).into_pyobject(py)?.into_any(),
                WindowEvent::Closed => ("closed",).into_pyobject(py)?.into_any(),
            };
            list.append(item)?;
        }
        Ok(list)
    }

    /// Evaluate `js` in the page; the result arrives as `("eval", id, json)`. Raises
    /// `WindowClosed` when the window is closed.
    fn eval(&self, id: u64, js: String) -> PyResult<()> {
        self.handle.eval(id, js).map_err(webview_err)
    }

    /// The webview's security-relevant configuration as JSON, read back from WebKit.
    fn inspect(&self, py: Python<'_>) -> PyResult<String> {
        let report = py.detach(|| self.handle.inspect(Duration::from_secs(5))).map_err(webview_err)?;
        serde_json::to_string(&report).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Load the page again (from any thread).
    fn reload(&self) -> PyResult<()> {
        self.handle.reload().map_err(webview_err)
    }

    /// The renderer ended and the page has not been loaded again since.
    #[getter]
    fn crashed(&self) -> bool {
        self.handle.is_crashed()
    }

    /// The window's X11 window id (to embed it in a host's window), None off X11.
    #[getter]
    fn native_id(&self) -> Option<u64> {
        self.handle.native_id()
    }

    /// Give the page the keyboard focus (from any thread). Raises `WindowClosed`.
    fn focus(&self) -> PyResult<()> {
        self.handle.focus().map_err(webview_err)
    }

    /// Show or hide the window (from any thread). Raises `WindowClosed` when it is closed.
    fn set_visible(&self, visible: bool) -> PyResult<()> {
        self.handle.set_visible(visible).map_err(webview_err)
    }

    /// Close the window (from any thread). `("closed",)` follows.
    fn close(&self) {
        self.handle.close();
    }
}

/// Give the keyboard focus to `xid`, a host's X11 window (after a click in the host's own
/// widgets took it back from an embedded page). Nothing when no window was ever opened.
#[pyfunction]
pub fn release_focus(xid: u64) {
    if let Some(host) = webview::running_host() {
        host.release_focus(xid);
    }
}

/// Close every window and stop the GUI thread; True if it stopped within `timeout` seconds.
#[pyfunction]
#[pyo3(signature = (timeout=2.0))]
pub fn shutdown_gui(py: Python<'_>, timeout: f64) -> bool {
    match webview::running_host() {
        Some(host) => py.detach(|| host.shutdown(Duration::from_secs_f64(timeout.max(0.0)))),
        None => true,
    }
}

/// The WebKitGTK version in use.
#[pyfunction]
pub fn webkit_version() -> String {
    webview::webkit_version()
}

/// Whether the GUI thread has been started.
#[pyfunction]
pub fn gui_running() -> bool {
    webview::running_host().is_some()
}

/// Who runs the windows: "own" (our GUI thread's loop), "host" (the host application's GLib
/// loop, e.g. Qt's), or None before the first window.
#[pyfunction]
pub fn gui_mode() -> Option<&'static str> {
    webview::running_host().map(|host| match host.mode() {
        webview::Mode::OwnLoop => "own",
        webview::Mode::HostLoop => "host",
    })
}

/// When this thread owns GLib's default main context (a Qt application's main thread): run
/// it for `timeout` seconds, so the windows make progress while this thread waits, and
/// return True. False at once otherwise (another thread runs it).
#[pyfunction]
pub fn gui_iterate(py: Python<'_>, timeout: f64) -> bool {
    let timeout = Duration::from_secs_f64(if timeout.is_finite() { timeout.max(0.0) } else { 0.0 });
    py.detach(|| webview::iterate_main_context(timeout))
}

/// Whether this thread owns GLib's default main context (a Qt application's main thread, with
/// Qt's GLib event dispatcher): windows then run only while this thread runs that loop.
#[pyfunction]
pub fn gui_context_owned() -> bool {
    webview::owns_main_context()
}
