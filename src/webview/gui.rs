//! The GUI thread: the one thread that runs GTK and WebKit for the whole process, owning
//! every window. It is whichever thread owns GLib's global default main context:
//!
//! - **Own loop** (standalone apps): nobody owns that context when the first window opens,
//!   so we start the `auroraview-gui` thread, which initialises GTK and runs a
//!   `glib::MainLoop` on it for the life of the process.
//! - **Host loop** (inside a Qt application, whose GLib event dispatcher owns the context on
//!   its main thread from the moment the `QApplication` exists): GTK is initialised on that
//!   thread, and the host's own loop (`QApplication.exec()`) runs our windows. Opened from
//!   the host's main thread, this happens inline; from another thread, it is posted to the
//!   host's loop and waited for (a loop that does not run is reported, not waited for forever).
//!
//! GTK may be used on one thread only, and `gtk::init` takes the default context for good:
//! the mode is decided once. The GUI thread never takes the GIL: other threads reach it only
//! through its `Proxy`, which queues events and schedules one idle callback per batch on the
//! default context (`g_idle_add` is thread-safe and always defers, even on the owner thread).
//!
//! One exception keeps a chain of quick calls fast in own-loop mode: after handing the only
//! call in flight to Python, the IPC handler watches the page's frame queue for up to
//! `page::REPLY_WAIT` and delivers the reply itself, sparing a wake-up of this thread through
//! the event loop. In host-loop mode that spin would run on the host's main thread, so it is
//! off.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gtk::glib;
use parking_lot::Mutex;

use super::error::WebviewError;
use super::security::SecurityReport;
use super::window::{self, Shared, Win, WindowHandle, WindowSpec};

/// What other threads ask of the GUI thread.
pub enum UserEvent {
    Open(Box<WindowSpec>, mpsc::Sender<Result<WindowHandle, WebviewError>>),
    Inspect(u64, mpsc::Sender<SecurityReport>),
    Flush(u64),
    Eval(u64, u64, String),
    Reload(u64),
    SetVisible(u64, bool),
    Focus(u64),
    /// Give the keyboard focus back to a host's X11 window (a click in the host's widgets).
    ReleaseFocus(u64),
    Close(u64),
    /// Close every window (and, in own-loop mode, stop the loop); answered once done.
    Shutdown(mpsc::Sender<()>),
}

/// Who runs the GUI's main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Our `auroraview-gui` thread runs a `glib::MainLoop` (standalone apps).
    OwnLoop,
    /// The host application's loop (Qt's GLib dispatcher) runs our windows on its thread.
    HostLoop,
}

/// How long opening waits for a host's loop to run our work before saying it does not run.
const HOST_WAIT: Duration = Duration::from_secs(10);

struct Queue {
    events: Mutex<VecDeque<UserEvent>>,
    /// An idle callback is scheduled to drain `events`.
    scheduled: AtomicBool,
    /// Shut down: nothing more is accepted.
    stopped: AtomicBool,
}

/// The way into the GUI thread, usable from any thread (the owner thread included: the
/// event is handled at the next iteration of the loop, never inline).
#[derive(Clone)]
pub struct Proxy(Arc<Queue>);

impl Proxy {
    fn new() -> Proxy {
        Proxy(Arc::new(Queue {
            events: Mutex::new(VecDeque::new()),
            scheduled: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }))
    }

    /// Queue `event` for the GUI thread. False once the GUI has shut down.
    pub fn send(&self, event: UserEvent) -> bool {
        if self.0.stopped.load(Ordering::Acquire) {
            return false;
        }
        self.0.events.lock().push_back(event);
        if !self.0.scheduled.swap(true, Ordering::AcqRel) {
            let queue = self.0.clone();
            glib::idle_add_full(glib::Priority::DEFAULT, move || {
                drain(&queue);
                glib::ControlFlow::Break
            });
        }
        true
    }

    fn stop(&self) {
        self.0.stopped.store(true, Ordering::Release);
    }
}

thread_local! {
    /// The windows, on the GUI thread. Leaked: never dropped by the thread's exit (GTK and
    /// WebKit objects destroyed there can block on WebKit's helper processes).
    static GUI: &'static RefCell<Option<Gui>> = Box::leak(Box::new(RefCell::new(None)));
}

/// On the GUI thread: handle every queued event.
fn drain(queue: &Arc<Queue>) {
    // Cleared before taking the batch: an event queued from now on schedules a new drain.
    queue.scheduled.store(false, Ordering::Release);
    let mut batch = std::mem::take(&mut *queue.events.lock());
    if batch.is_empty() {
        return;
    }
    GUI.with(|cell| {
        let Ok(mut gui) = cell.try_borrow_mut() else {
            // A GTK call of an event being handled ran a nested iteration of the loop: put
            // the batch back in front (keeping the order) and try again shortly.
            let mut events = queue.events.lock();
            while let Some(event) = batch.pop_back() {
                events.push_front(event);
            }
            drop(events);
            let queue = queue.clone();
            glib::timeout_add_local_once(Duration::from_millis(1), move || drain(&queue));
            return;
        };
        let Some(gui) = gui.as_mut() else {
            // Not the GUI thread (cannot happen: only the owner dispatches): dropping the
            // events drops their reply senders, and the callers hear it.
            return;
        };
        for event in batch {
            // A panic must not cross into GTK's C frames; the window layer logs it.
            if catch_unwind(AssertUnwindSafe(|| gui.handle(event))).is_err() {
                eprintln!("auroraview: internal error on the GUI thread (recovered)");
            }
        }
    });
}

/// The process's GUI thread.
pub struct Host {
    proxy: Proxy,
    mode: Mode,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_key: AtomicU64,
}

static HOST: OnceLock<Host> = OnceLock::new();
/// Why the GUI cannot start, for good (no display).
static FAILED: Mutex<Option<WebviewError>> = Mutex::new(None);
/// Held while a start is tried: one at a time.
static STARTING: Mutex<()> = Mutex::new(());

/// Why a start failed.
enum StartError {
    /// For good (no display): every later call fails the same way.
    Permanent(WebviewError),
    /// For now (a host's loop did not run our start-up): a later call tries again.
    Retry(WebviewError),
}

/// The GUI thread, started on first use. Fails every time when no display is available,
/// and this time when a host's loop owns the GLib context but does not run.
pub fn host() -> Result<&'static Host, WebviewError> {
    if let Some(host) = HOST.get() {
        return Ok(host);
    }
    let _starting = loop {
        // The owner of the context keeps it running while another thread starts (that start
        // may be waiting for this very thread to run it).
        if let Some(guard) = STARTING.try_lock_for(Duration::from_millis(1)) {
            break guard;
        }
        if owns_main_context() {
            glib::MainContext::default().iteration(false);
        }
    };
    if let Some(host) = HOST.get() {
        return Ok(host);
    }
    if let Some(why) = FAILED.lock().clone() {
        return Err(why);
    }
    match Host::start() {
        Ok(host) => Ok(HOST.get_or_init(|| host)),
        Err(StartError::Permanent(why)) => {
            *FAILED.lock() = Some(why.clone());
            Err(why)
        }
        Err(StartError::Retry(why)) => Err(why),
    }
}

/// The GUI thread if it was ever started.
pub fn running_host() -> Option<&'static Host> {
    HOST.get()
}

/// The calling thread owns GLib's default main context (it is the GUI thread, or the
/// host's main thread the GUI will run on).
pub fn owns_main_context() -> bool {
    glib::MainContext::default().is_owner()
}

/// When the calling thread owns GLib's default main context: run it for `timeout` (what is
/// ready is dispatched, the rest of the time sleeps in short steps) and return true. Else
/// false at once: another thread runs it (or nobody yet).
pub fn iterate_main_context(timeout: Duration) -> bool {
    let context = glib::MainContext::default();
    if !context.is_owner() {
        return false;
    }
    run_context_until(&context, Instant::now() + timeout, || false);
    true
}

/// Wait up to `timeout` for a reply from the GUI thread. When the caller owns the context
/// (it is the GUI thread), it runs the context meanwhile: else the reply would never come.
pub(super) fn wait<T>(rx: &mpsc::Receiver<T>, timeout: Duration) -> Option<T> {
    let context = glib::MainContext::default();
    if !context.is_owner() {
        return rx.recv_timeout(timeout).ok();
    }
    let mut reply = None;
    run_context_until(&context, Instant::now() + timeout, || match rx.try_recv() {
        Ok(value) => {
            reply = Some(value);
            true
        }
        Err(mpsc::TryRecvError::Disconnected) => true,
        Err(mpsc::TryRecvError::Empty) => false,
    });
    reply
}

/// On the owner of `context`: dispatch what is ready until `done()` or `deadline`, sleeping
/// in short steps when nothing is. True when `done()` said so.
fn run_context_until(context: &glib::MainContext, deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        if !context.iteration(false) {
            std::thread::sleep((deadline - now).min(Duration::from_micros(200)));
        }
    }
}

/// Initialise GTK on this thread (the owner of the default context) and make it the GUI
/// thread. Idempotent on that thread.
fn init_here(mode: Mode, main_loop: Option<glib::MainLoop>) -> Result<(), WebviewError> {
    let ready = GUI.with(|cell| cell.try_borrow().map(|gui| gui.is_some()).unwrap_or(true));
    if ready && gtk::is_initialized_main_thread() {
        return Ok(());
    }
    if gtk::is_initialized() && !gtk::is_initialized_main_thread() {
        return Err(WebviewError::GuiUnavailable("GTK was initialised on another thread".into()));
    }
    if !gtk::is_initialized() {
        if mode == Mode::HostLoop {
            // The host set its locale already; GTK must not change it.
            gtk::disable_setlocale();
        }
        let inited = catch_unwind(gtk::init);
        if !matches!(inited, Ok(Ok(()))) {
            return Err(WebviewError::GuiUnavailable("no display? (set DISPLAY, or run under Xvfb)".into()));
        }
    }
    GUI.with(|cell| {
        *cell.borrow_mut() = Some(Gui { mode, windows: HashMap::new(), shared: None, main_loop, shutdown: false });
    });
    Ok(())
}

impl Host {
    fn start() -> Result<Host, StartError> {
        let context = glib::MainContext::default();
        if context.is_owner() {
            // This thread runs the context (a Qt application's main thread): GTK lives here.
            init_here(Mode::HostLoop, None).map_err(StartError::Permanent)?;
            return Ok(Host::new(Mode::HostLoop, None));
        }
        let nobody_owns_it = context.acquire().is_ok(); // released at once
        if nobody_owns_it {
            // A standalone app: our own thread will own it.
            Host::start_own_loop()
        } else {
            Host::start_posted()
        }
    }

    /// Another thread owns the default context (a Qt application's main thread): GTK starts
    /// there, run by its loop.
    fn start_posted() -> Result<Host, StartError> {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(Some(tx));
        glib::idle_add_full(glib::Priority::DEFAULT, move || {
            if let Some(tx) = tx.lock().take() {
                let _ = tx.send(init_here(Mode::HostLoop, None));
            }
            glib::ControlFlow::Break
        });
        match rx.recv_timeout(HOST_WAIT) {
            Ok(Ok(())) => Ok(Host::new(Mode::HostLoop, None)),
            Ok(Err(why)) => Err(StartError::Permanent(why)),
            Err(_) => Err(StartError::Retry(WebviewError::GuiUnavailable(format!(
                "the default GLib main context is owned by another thread whose event loop is not running \
                 (a Qt application's main thread?): nothing ran there for {}s. Open the window from that thread, \
                 or once its loop runs (after QApplication.exec() started)",
                HOST_WAIT.as_secs()
            )))),
        }
    }

    /// Standalone: the `auroraview-gui` thread initialises GTK and runs the default context.
    fn start_own_loop() -> Result<Host, StartError> {
        let (tx, rx) = mpsc::channel::<Result<(), WebviewError>>();
        let thread = std::thread::Builder::new()
            .name("auroraview-gui".into())
            .spawn(move || {
                let main_loop = glib::MainLoop::new(None, false);
                let inited = init_here(Mode::OwnLoop, Some(main_loop.clone()));
                let ok = inited.is_ok();
                let _ = tx.send(inited);
                if ok {
                    main_loop.run();
                }
            })
            .map_err(|e| {
                StartError::Permanent(WebviewError::GuiUnavailable(format!("cannot spawn the GUI thread: {e}")))
            })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(Host::new(Mode::OwnLoop, Some(thread))),
            Ok(Err(why)) => Err(StartError::Permanent(why)),
            Err(_) => {
                Err(StartError::Permanent(WebviewError::GuiUnavailable("the GUI thread exited during start-up".into())))
            }
        }
    }

    fn new(mode: Mode, thread: Option<JoinHandle<()>>) -> Host {
        Host { proxy: Proxy::new(), mode, thread: Mutex::new(thread), next_key: AtomicU64::new(1) }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Open a window; returns once it exists (its page loads asynchronously).
    pub fn open(&self, spec: WindowSpec) -> Result<WindowHandle, WebviewError> {
        let (tx, rx) = mpsc::channel();
        if !self.proxy.send(UserEvent::Open(Box::new(spec), tx)) {
            return Err(WebviewError::GuiStopped("has stopped".into()));
        }
        let timeout = match self.mode {
            Mode::HostLoop => HOST_WAIT,
            Mode::OwnLoop => Duration::from_secs(30),
        };
        match wait(&rx, timeout) {
            Some(result) => result,
            None if self.mode == Mode::HostLoop => Err(WebviewError::GuiStopped(format!(
                "did not answer within {}s: the host application's event loop (which runs the windows) \
                 is not running",
                timeout.as_secs()
            ))),
            None => Err(WebviewError::GuiStopped("did not answer".into())),
        }
    }

    /// Give the keyboard focus back to `xid`, a host's X11 window.
    pub fn release_focus(&self, xid: u64) {
        let _ = self.proxy.send(UserEvent::ReleaseFocus(xid));
    }

    /// Close every window and stop the GUI thread (at interpreter exit). Idempotent. In
    /// host-loop mode the host's loop is left alone: only our windows close.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        let sent = self.proxy.send(UserEvent::Shutdown(tx));
        self.proxy.stop();
        let deadline = Instant::now() + timeout;
        if sent && wait(&rx, timeout).is_none() {
            return false;
        }
        let Some(thread) = self.thread.lock().take() else { return true };
        while !thread.is_finished() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The loop has returned. Not joined: the thread's thread-local destructors (GTK and
        // WebKit objects) can block on WebKit's helper processes, and at interpreter exit
        // one of them did, forever (seen once in a few dozen runs of the events bench).
        // The process is ending; dropping the handle detaches the thread.
        drop(thread);
        true
    }

    fn key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    fn proxy(&self) -> Proxy {
        self.proxy.clone()
    }
}

struct Gui {
    mode: Mode,
    windows: HashMap<u64, Win>,
    /// Made with the first window, kept for the life of the process.
    shared: Option<Shared>,
    /// Our own loop (own-loop mode), quit at shutdown.
    main_loop: Option<glib::MainLoop>,
    shutdown: bool,
}

impl Gui {
    fn handle(&mut self, event: UserEvent) {
        match event {
            UserEvent::Open(spec, reply) => {
                let _ = reply.send(self.open(*spec));
            }
            UserEvent::Flush(key) => {
                if let Some(w) = self.windows.get(&key) {
                    w.deliver();
                }
            }
            UserEvent::Inspect(key, reply) => {
                if let Some(w) = self.windows.get(&key) {
                    let _ = reply.send(w.report());
                }
            }
            UserEvent::Eval(key, id, js) => self.eval(key, id, &js),
            UserEvent::Reload(key) => {
                if let Some(w) = self.windows.get(&key) {
                    w.reload();
                }
            }
            UserEvent::SetVisible(key, visible) => {
                if let Some(w) = self.windows.get(&key) {
                    w.set_visible(visible);
                }
            }
            UserEvent::Focus(key) => {
                if let Some(w) = self.windows.get(&key) {
                    w.focus();
                }
            }
            UserEvent::ReleaseFocus(xid) => {
                // Any of our windows reaches the display (the focus is the X server's).
                if let Some(w) = self.windows.values().next() {
                    w.release_focus(xid);
                }
            }
            UserEvent::Close(key) => self.close(key),
            UserEvent::Shutdown(done) => {
                self.shutdown = true;
                let keys: Vec<u64> = self.windows.keys().copied().collect();
                for key in keys {
                    self.close(key);
                }
                if let Some(main_loop) = &self.main_loop {
                    main_loop.quit();
                }
                let _ = done.send(());
            }
        }
    }

    fn open(&mut self, spec: WindowSpec) -> Result<WindowHandle, WebviewError> {
        if self.shutdown {
            return Err(WebviewError::GuiStopped("has stopped".into()));
        }
        let host = running_host().ok_or_else(|| WebviewError::GuiStopped("is not running".into()))?;
        let key = host.key();
        let shared = self.shared.get_or_insert_with(Shared::default);
        let fast_reply = self.mode == Mode::OwnLoop;
        let (win, handle) = window::build(key, spec, host.proxy(), shared, fast_reply)?;
        self.windows.insert(key, win);
        Ok(handle)
    }

    fn eval(&self, key: u64, id: u64, js: &str) {
        let Some(w) = self.windows.get(&key) else {
            // Closed between the request and now: the caller hears it from `Closed`.
            return;
        };
        w.eval(id, js);
    }

    fn close(&mut self, key: u64) {
        let Some(w) = self.windows.remove(&key) else { return };
        w.close();
    }
}
