//! The GUI thread: one tao event loop for the whole process, owning every window.
//!
//! Started once, on first use, and kept for the life of the process (a second GTK loop on
//! another thread panics). It runs `run_return` (never `run`, which exits the process) and
//! never takes the GIL: other threads reach it only through its `EventLoopProxy`.
//!
//! One exception keeps a chain of quick calls fast: after handing the only call in flight to
//! Python, the IPC handler watches the window's frame queue for up to `REPLY_WAIT` and
//! delivers the reply itself, sparing a wake-up of this thread through the event loop.

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tao::dpi::LogicalSize;
use tao::event::{Event, WindowEvent as TaoWindowEvent};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy, EventLoopWindowTarget};
use tao::platform::run_return::EventLoopExtRunReturn;
use tao::platform::unix::{EventLoopBuilderExtUnix, WindowExtUnix};
use tao::window::{Window, WindowBuilder, WindowId};
use webkit2gtk::{LoadEvent, SettingsExt, WebViewExt};
use wry::{NewWindowResponse, PageLoadEvent, WebView, WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

use super::assets::{AssetSource, DEFAULT_CSP, ORIGIN, SCHEME};
use super::bridge;
use super::origin::Origin;
use crate::ipc::{must_wake, spin_until, ConnId, Receipt, Router, Sink};

/// What a window shows.
pub enum Content {
    /// A remote or dev-server URL; its origin is allowed to use IPC.
    Url(String),
    /// Pages served from `auroraview://localhost/` (a folder, or one inline page).
    Assets(AssetSource),
}

/// Everything needed to open a window.
pub struct WindowSpec {
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub resizable: bool,
    pub visible: bool,
    /// Devtools and the context menu.
    pub debug: bool,
    pub content: Content,
    /// Content-Security-Policy for served assets; `None` uses `DEFAULT_CSP`.
    pub csp: Option<String>,
    pub router: Arc<Router>,
    pub observer: Arc<dyn WindowObserver>,
}

/// What happens to a window, reported from the GUI thread. Must not block.
pub trait WindowObserver: Send + Sync {
    fn on_event(&self, event: WindowEvent);
}

#[derive(Debug, Clone, PartialEq)]
pub enum WindowEvent {
    /// A page started loading in the window (a new connection serves it).
    PageLoading(String),
    /// The page finished loading.
    PageLoaded(String),
    /// Result of `eval` number `id`: the value as JSON (as WebKit reports it).
    EvalResult { id: u64, result: String },
    /// The window is gone (closed by the user or by `close`).
    Closed,
}

/// What a window's webview is actually configured with, read back from WebKit (RELIABILITY.md
/// case 23), plus the policies this host always installs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SecurityReport {
    /// WebKit's `enable-developer-extras`: devtools and "Inspect Element".
    pub developer_extras: bool,
    pub javascript_can_open_windows_automatically: bool,
    pub allow_file_access_from_file_urls: bool,
    pub allow_universal_access_from_file_urls: bool,
    /// How the page is served: `custom-protocol` (assets, `html=`) or `url`.
    pub served_by: &'static str,
    /// The origin allowed to use IPC and to navigate to.
    pub origin: String,
    /// The Content-Security-Policy header on served pages (`None` for `url=`).
    pub csp: Option<String>,
    /// Navigation (frames included) outside `origin`: always refused.
    pub navigation_outside_origin: &'static str,
    /// `window.open` and `target=_blank`: always refused.
    pub new_windows: &'static str,
    /// Who may talk to the host: the page holding its per-document key.
    pub ipc: &'static str,
}

/// Frames held for a page that has not said `ready` yet; past this the oldest are dropped
/// (and counted), so a page that never loads its bridge cannot grow memory without bound.
const MAX_HELD_FRAMES: usize = 100_000;

enum UserEvent {
    Open(Box<WindowSpec>, mpsc::Sender<Result<WindowHandle, String>>),
    Inspect(u64, mpsc::Sender<SecurityReport>),
    Flush(u64),
    Eval(u64, u64, String),
    Close(u64),
    Shutdown,
}

/// State of one window shared with other threads (sinks, Python).
struct Shared {
    key: u64,
    proxy: Mutex<EventLoopProxy<UserEvent>>,
    /// Frames waiting for the next flush, tagged with the page generation they belong to.
    frames: Mutex<VecDeque<(u64, Bytes)>>,
    /// Frames dropped because a page never became ready while `MAX_HELD_FRAMES` piled up.
    dropped: AtomicU64,
    /// Bumped at every page load: frames of an older generation are never delivered.
    generation: AtomicU64,
    conn: AtomicU64,
    /// The generation whose page announced `ready`: frames are held until then.
    ready: AtomicU64,
    /// The current connection has received messages (its page may await replies).
    used: AtomicBool,
    closed: AtomicBool,
    /// The GUI thread is waiting in the IPC handler for this window's next frame: a sink need
    /// not wake it through the event loop.
    awaiting: AtomicBool,
    /// Calls to let pass without waiting for their reply, after a wait ran out (GUI thread).
    wait_backoff: AtomicU32,
    /// IPC messages refused because they came from an origin that may not use IPC.
    refused: AtomicU64,
}

impl Shared {
    fn send(&self, event: UserEvent) {
        // Fails only after the loop exited: the window is gone, nothing left to do.
        let _ = self.proxy.lock().send_event(event);
    }
}

/// The router's sink for one page load of one window.
struct PageSink {
    shared: Arc<Shared>,
    generation: u64,
}

impl Sink for PageSink {
    fn send(&self, frame: Bytes) {
        if self.shared.closed.load(Ordering::Acquire) {
            return;
        }
        let was_empty = {
            let mut frames = self.shared.frames.lock();
            let was_empty = frames.is_empty();
            if frames.len() >= MAX_HELD_FRAMES {
                frames.pop_front();
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            frames.push_back((self.generation, frame));
            was_empty
        };
        if was_empty && must_wake(&self.shared.awaiting) {
            // One wake-up of the GUI thread per batch: everything queued until it runs goes
            // into one script evaluation.
            self.shared.send(UserEvent::Flush(self.shared.key));
        }
    }
}

/// A handle to an open window, usable from any thread.
#[derive(Clone)]
pub struct WindowHandle {
    shared: Arc<Shared>,
}

impl WindowHandle {
    pub fn key(&self) -> u64 {
        self.shared.key
    }

    /// The connection currently serving the window's page.
    pub fn connection(&self) -> ConnId {
        self.shared.conn.load(Ordering::Acquire)
    }

    /// Evaluate `js` in the page; the result arrives as `WindowEvent::EvalResult { id }`.
    pub fn eval(&self, id: u64, js: String) {
        self.shared.send(UserEvent::Eval(self.shared.key, id, js));
    }

    pub fn close(&self) {
        self.shared.send(UserEvent::Close(self.shared.key));
    }

    /// The window's security-relevant configuration, read on the GUI thread.
    pub fn inspect(&self, timeout: Duration) -> Result<SecurityReport, String> {
        let (tx, rx) = mpsc::channel();
        self.shared.send(UserEvent::Inspect(self.shared.key, tx));
        rx.recv_timeout(timeout).map_err(|_| "the window is closed or the GUI thread did not answer".to_string())
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// IPC messages refused because of their origin.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Frames dropped while held for a page that never became ready.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// The process's GUI thread.
pub struct Host {
    proxy: Mutex<EventLoopProxy<UserEvent>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_key: AtomicU64,
}

static HOST: OnceLock<Result<Host, String>> = OnceLock::new();

/// The GUI thread, started on first use. Fails (every time) when no display is available.
pub fn host() -> Result<&'static Host, String> {
    HOST.get_or_init(Host::start).as_ref().map_err(Clone::clone)
}

/// The GUI thread if it was ever started.
pub fn running_host() -> Option<&'static Host> {
    HOST.get().and_then(|h| h.as_ref().ok())
}

impl Host {
    fn start() -> Result<Host, String> {
        let (tx, rx) = mpsc::channel::<Result<EventLoopProxy<UserEvent>, String>>();
        let thread = std::thread::Builder::new()
            .name("auroraview-gui".into())
            .spawn(move || {
                let built =
                    catch_unwind(|| EventLoopBuilder::<UserEvent>::with_user_event().with_any_thread(true).build());
                let mut event_loop = match built {
                    Ok(el) => el,
                    Err(_) => {
                        let _ =
                            tx.send(Err("cannot start the GUI: no display? (set DISPLAY, or run under Xvfb)".into()));
                        return;
                    }
                };
                let _ = tx.send(Ok(event_loop.create_proxy()));
                let mut gui = Gui::default();
                event_loop.run_return(move |event, target, flow| {
                    *flow = ControlFlow::Wait;
                    // A panic must not cross into GTK's C frames; the window layer logs it.
                    if catch_unwind(AssertUnwindSafe(|| gui.handle(event, target, flow))).is_err() {
                        eprintln!("auroraview: internal error on the GUI thread (recovered)");
                    }
                });
            })
            .map_err(|e| format!("cannot spawn the GUI thread: {e}"))?;
        let proxy = rx.recv().map_err(|_| "the GUI thread exited during start-up".to_string())??;
        Ok(Host { proxy: Mutex::new(proxy), thread: Mutex::new(Some(thread)), next_key: AtomicU64::new(1) })
    }

    /// Open a window; returns once it exists (its page loads asynchronously).
    pub fn open(&self, spec: WindowSpec) -> Result<WindowHandle, String> {
        let (tx, rx) = mpsc::channel();
        self.proxy
            .lock()
            .send_event(UserEvent::Open(Box::new(spec), tx))
            .map_err(|_| "the GUI thread has stopped".to_string())?;
        rx.recv_timeout(Duration::from_secs(30)).map_err(|_| "the GUI thread did not answer".to_string())?
    }

    /// Close every window and stop the GUI thread (at interpreter exit). Idempotent.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let _ = self.proxy.lock().send_event(UserEvent::Shutdown);
        let Some(thread) = self.thread.lock().take() else { return true };
        let deadline = std::time::Instant::now() + timeout;
        while !thread.is_finished() {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().is_ok()
    }

    fn key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }
}

struct Win {
    // Field order is drop order: the webview goes before its window.
    webview: Rc<WebView>,
    window: Window,
    served_by: &'static str,
    origin: String,
    csp: Option<String>,
    shared: Arc<Shared>,
    router: Arc<Router>,
    observer: Arc<dyn WindowObserver>,
}

#[derive(Default)]
struct Gui {
    windows: HashMap<u64, Win>,
    by_id: HashMap<WindowId, u64>,
}

impl Win {
    fn report(&self) -> SecurityReport {
        let settings = self.webview.webview().settings();
        let read = |f: fn(&webkit2gtk::Settings) -> bool| settings.as_ref().is_some_and(f);
        SecurityReport {
            developer_extras: read(|s| s.enables_developer_extras()),
            javascript_can_open_windows_automatically: read(|s| s.is_javascript_can_open_windows_automatically()),
            allow_file_access_from_file_urls: read(|s| s.allows_file_access_from_file_urls()),
            allow_universal_access_from_file_urls: read(|s| s.allows_universal_access_from_file_urls()),
            served_by: self.served_by,
            origin: self.origin.clone(),
            csp: self.csp.clone(),
            navigation_outside_origin: "refused",
            new_windows: "refused",
            ipc: "origin and per-document key",
        }
    }
}

impl Gui {
    fn handle(
        &mut self,
        event: Event<'_, UserEvent>,
        target: &EventLoopWindowTarget<UserEvent>,
        flow: &mut ControlFlow,
    ) {
        match event {
            Event::UserEvent(UserEvent::Open(spec, reply)) => {
                let key = running_host().map_or(0, Host::key);
                let _ = reply.send(self.open(key, *spec, target));
            }
            Event::UserEvent(UserEvent::Flush(key)) => self.flush(key),
            Event::UserEvent(UserEvent::Inspect(key, reply)) => {
                if let Some(w) = self.windows.get(&key) {
                    let _ = reply.send(w.report());
                }
            }
            Event::UserEvent(UserEvent::Eval(key, id, js)) => {
                if let Some(w) = self.windows.get(&key) {
                    let observer = w.observer.clone();
                    let res = w.webview.evaluate_script_with_callback(&js, move |result| {
                        observer.on_event(WindowEvent::EvalResult { id, result });
                    });
                    if let Err(e) = res {
                        w.observer.on_event(WindowEvent::EvalResult {
                            id,
                            result: format!("{{\"error\":{:?}}}", e.to_string()),
                        });
                    }
                }
            }
            Event::UserEvent(UserEvent::Close(key)) => self.close(key),
            Event::UserEvent(UserEvent::Shutdown) => {
                let keys: Vec<u64> = self.windows.keys().copied().collect();
                for key in keys {
                    self.close(key);
                }
                *flow = ControlFlow::Exit;
            }
            Event::WindowEvent { window_id, event: TaoWindowEvent::CloseRequested, .. } => {
                if let Some(key) = self.by_id.get(&window_id).copied() {
                    self.close(key);
                }
            }
            _ => {}
        }
    }

    fn open(
        &mut self,
        key: u64,
        spec: WindowSpec,
        target: &EventLoopWindowTarget<UserEvent>,
    ) -> Result<WindowHandle, String> {
        let window = WindowBuilder::new()
            .with_title(&spec.title)
            .with_inner_size(LogicalSize::new(spec.width, spec.height))
            .with_resizable(spec.resizable)
            .with_visible(spec.visible)
            .build(target)
            .map_err(|e| format!("cannot create the window: {e}"))?;
        let proxy = running_host().map(|h| h.proxy.lock().clone()).ok_or("the GUI host is not running")?;
        let shared = Arc::new(Shared {
            key,
            proxy: Mutex::new(proxy),
            frames: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            conn: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            used: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            awaiting: AtomicBool::new(false),
            wait_backoff: AtomicU32::new(0),
            refused: AtomicU64::new(0),
        });
        let (url, allowed) = match &spec.content {
            Content::Url(url) => {
                let origin = Origin::parse(url).ok_or_else(|| format!("not an absolute URL: {url:?}"))?;
                (url.clone(), origin)
            }
            Content::Assets(_) => (format!("{ORIGIN}/"), Origin::parse(ORIGIN).ok_or("bad built-in origin")?),
        };

        let mut builder =
            WebViewBuilder::new().with_initialization_script(bridge::SCRIPT).with_devtools(spec.debug).with_url(&url);

        let this_view: Rc<OnceCell<Weak<WebView>>> = Rc::new(OnceCell::new());
        {
            let (router, shared, allowed, this_view) =
                (spec.router.clone(), shared.clone(), allowed.clone(), this_view.clone());
            builder = builder.with_ipc_handler(move |req| {
                // On Linux wry reports the main frame's URL here, even for iframes.
                let from = Origin::parse(&req.uri().to_string());
                if from.as_ref() != Some(&allowed) {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                shared.used.store(true, Ordering::Release);
                match router.receive(shared.conn.load(Ordering::Acquire), req.body().as_bytes()) {
                    Receipt::Ready => {
                        shared.ready.store(shared.generation.load(Ordering::Acquire), Ordering::Release);
                        shared.send(UserEvent::Flush(shared.key));
                    }
                    // The page awaits this call alone: its reply is likely microseconds away.
                    Receipt::Accepted(_) if router.in_flight() == 1 => {
                        if let Some(view) = this_view.get().and_then(Weak::upgrade) {
                            await_reply(&view, &shared);
                        }
                    }
                    _ => {}
                }
            });
        }
        {
            let allowed = allowed.clone();
            builder = builder
                .with_navigation_handler(move |to| Origin::parse(&to).as_ref() == Some(&allowed))
                .with_new_window_req_handler(|_, _| NewWindowResponse::Deny);
        }
        {
            let (router, shared, observer) = (spec.router.clone(), shared.clone(), spec.observer.clone());
            builder = builder.with_on_page_load_handler(move |event, url| match event {
                PageLoadEvent::Started => {
                    // A new document: replies meant for the old one must never reach it. A
                    // connection no page has used yet is kept, with the events queued for it.
                    let generation = shared.generation.load(Ordering::Acquire);
                    if shared.used.load(Ordering::Acquire) || shared.ready.load(Ordering::Acquire) == generation {
                        new_page(&router, &shared);
                    }
                    observer.on_event(WindowEvent::PageLoading(url));
                }
                PageLoadEvent::Finished => observer.on_event(WindowEvent::PageLoaded(url)),
            });
        }
        let (served_by, served_csp) = match &spec.content {
            Content::Url(_) => ("url", None),
            Content::Assets(_) => {
                ("custom-protocol", Some(spec.csp.clone().unwrap_or_else(|| DEFAULT_CSP.to_string())))
            }
        };
        if let Content::Assets(source) = spec.content {
            let csp = spec.csp.clone().unwrap_or_else(|| DEFAULT_CSP.to_string());
            builder = builder.with_custom_protocol(SCHEME.into(), move |_id, request| {
                let served = source.serve(request.uri().path());
                wry::http::Response::builder()
                    .status(served.status)
                    .header("Content-Type", served.mime)
                    .header("Content-Security-Policy", csp.as_str())
                    .header("X-Content-Type-Options", "nosniff")
                    .body(served.body)
                    .unwrap_or_else(|_| wry::http::Response::new(std::borrow::Cow::Borrowed(b"".as_slice())))
            });
        }
        let vbox = window.default_vbox().ok_or("the window has no GTK container")?;
        let webview = Rc::new(builder.build_gtk(vbox).map_err(|e| format!("cannot create the webview: {e}"))?);
        let _ = this_view.set(Rc::downgrade(&webview));
        if let Some(settings) = webview.webview().settings() {
            // Going back must load the page anew: a document restored from the back-forward
            // cache keeps a bridge (and key) the host has let go of, and never says `ready`.
            settings.set_enable_page_cache(false);
        }
        {
            // The new document exists from here on (the old one and its frames are gone): its
            // bridge's `hello`, posted before any of its own scripts run, binds its key.
            let (router, shared) = (spec.router.clone(), shared.clone());
            webview.webview().connect_load_changed(move |_, event| {
                if event == LoadEvent::Committed {
                    router.arm(shared.conn.load(Ordering::Acquire));
                }
            });
        }
        // Connected only once the webview exists, so a failed open leaves nothing behind.
        new_page(&spec.router, &shared);

        self.by_id.insert(window.id(), key);
        let handle = WindowHandle { shared: shared.clone() };
        let origin = allowed.to_string();
        self.windows.insert(
            key,
            Win {
                webview,
                window,
                served_by,
                origin,
                csp: served_csp,
                shared,
                router: spec.router,
                observer: spec.observer,
            },
        );
        Ok(handle)
    }

    fn flush(&mut self, key: u64) {
        if let Some(w) = self.windows.get(&key) {
            deliver(&w.webview, &w.shared);
        }
    }

    fn close(&mut self, key: u64) {
        let Some(w) = self.windows.remove(&key) else { return };
        w.shared.closed.store(true, Ordering::Release);
        self.by_id.remove(&w.window.id());
        w.router.disconnect(w.shared.conn.load(Ordering::Acquire));
        w.shared.frames.lock().clear();
        let observer = w.observer.clone();
        drop(w);
        observer.on_event(WindowEvent::Closed);
    }
}

/// How long the IPC handler waits for the reply to a lone call. A no-op call answered by a
/// warm asyncio thread takes ~15 µs here, by a sleeping one ~90 µs (2-core VM).
const REPLY_WAIT: Duration = Duration::from_micros(200);
/// After a wait ran out (a slow handler), this many lone calls pass before the next try.
const WAIT_BACKOFF: u32 = 16;

/// Wait, for at most `REPLY_WAIT`, for a frame for the window and deliver what is ready.
/// Frames that arrive later go the usual way (a `Flush` through the event loop).
fn await_reply(webview: &WebView, shared: &Shared) {
    let backoff = shared.wait_backoff.load(Ordering::Relaxed);
    if backoff > 0 {
        shared.wait_backoff.store(backoff - 1, Ordering::Relaxed);
        return;
    }
    if spin_until(&shared.awaiting, REPLY_WAIT, || !shared.frames.lock().is_empty()) {
        deliver(webview, shared);
    } else {
        shared.wait_backoff.store(WAIT_BACKOFF, Ordering::Relaxed);
    }
}

/// Deliver every frame ready for the window's current page in one script evaluation.
fn deliver(webview: &WebView, shared: &Shared) {
    let current = shared.generation.load(Ordering::Acquire);
    if shared.ready.load(Ordering::Acquire) != current {
        return; // the page's bridge is not listening yet: its `ready` flushes again
    }
    let frames: Vec<Bytes> =
        std::mem::take(&mut *shared.frames.lock()).into_iter().filter(|(g, _)| *g == current).map(|(_, f)| f).collect();
    if frames.is_empty() {
        return;
    }
    if let Err(e) = webview.evaluate_script(&bridge::batch_script(&frames)) {
        eprintln!("auroraview: cannot deliver {} frame(s) to the page: {e}", frames.len());
    }
}

/// Serve a new document in the window: a fresh connection and generation.
fn new_page(router: &Arc<Router>, shared: &Arc<Shared>) {
    let generation = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
    let old = shared.conn.load(Ordering::Acquire);
    if old != 0 {
        router.disconnect(old);
    }
    let conn = router.connect_keyed(Arc::new(PageSink { shared: shared.clone(), generation }));
    shared.conn.store(conn, Ordering::Release);
    shared.used.store(false, Ordering::Release);
}
