//! The GUI thread: one tao event loop for the whole process, owning every window.
//!
//! Started once, on first use, and kept for the life of the process (a second GTK loop on
//! another thread panics). It runs `run_return` (never `run`, which exits the process) and
//! never takes the GIL: other threads reach it only through its `EventLoopProxy`.
//!
//! One exception keeps a chain of quick calls fast: after handing the only call in flight to
//! Python, the IPC handler watches the page's frame queue for up to `page::REPLY_WAIT` and
//! delivers the reply itself, sparing a wake-up of this thread through the event loop.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tao::event::{Event, WindowEvent as TaoWindowEvent};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy, EventLoopWindowTarget};
use tao::platform::run_return::EventLoopExtRunReturn;
use tao::platform::unix::EventLoopBuilderExtUnix;
use tao::window::WindowId;

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
    Close(u64),
    Shutdown,
}

/// The process's GUI thread.
pub struct Host {
    proxy: Mutex<EventLoopProxy<UserEvent>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_key: AtomicU64,
}

static HOST: OnceLock<Result<Host, WebviewError>> = OnceLock::new();

/// The GUI thread, started on first use. Fails (every time) when no display is available.
pub fn host() -> Result<&'static Host, WebviewError> {
    HOST.get_or_init(Host::start).as_ref().map_err(Clone::clone)
}

/// The GUI thread if it was ever started.
pub fn running_host() -> Option<&'static Host> {
    HOST.get().and_then(|h| h.as_ref().ok())
}

impl Host {
    fn start() -> Result<Host, WebviewError> {
        let (tx, rx) = mpsc::channel::<Result<EventLoopProxy<UserEvent>, WebviewError>>();
        let thread = std::thread::Builder::new()
            .name("auroraview-gui".into())
            .spawn(move || {
                let built =
                    catch_unwind(|| EventLoopBuilder::<UserEvent>::with_user_event().with_any_thread(true).build());
                let mut event_loop = match built {
                    Ok(el) => el,
                    Err(_) => {
                        let why = "no display? (set DISPLAY, or run under Xvfb)".to_string();
                        let _ = tx.send(Err(WebviewError::GuiUnavailable(why)));
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
            .map_err(|e| WebviewError::GuiUnavailable(format!("cannot spawn the GUI thread: {e}")))?;
        let proxy =
            rx.recv().map_err(|_| WebviewError::GuiUnavailable("the GUI thread exited during start-up".into()))??;
        Ok(Host { proxy: Mutex::new(proxy), thread: Mutex::new(Some(thread)), next_key: AtomicU64::new(1) })
    }

    /// Open a window; returns once it exists (its page loads asynchronously).
    pub fn open(&self, spec: WindowSpec) -> Result<WindowHandle, WebviewError> {
        let (tx, rx) = mpsc::channel();
        self.proxy
            .lock()
            .send_event(UserEvent::Open(Box::new(spec), tx))
            .map_err(|_| WebviewError::GuiStopped("has stopped".into()))?;
        rx.recv_timeout(Duration::from_secs(30)).map_err(|_| WebviewError::GuiStopped("did not answer".into()))?
    }

    /// Close every window and stop the GUI thread (at interpreter exit). Idempotent.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let _ = self.proxy.lock().send_event(UserEvent::Shutdown);
        let Some(thread) = self.thread.lock().take() else { return true };
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The event loop has returned. Not joined: the thread's thread-local destructors
        // (GTK and WebKit objects) can block on WebKit's helper processes, and at interpreter
        // exit one of them did, forever (seen once in a few dozen runs of the events bench).
        // The process is ending; dropping the handle detaches the thread.
        drop(thread);
        true
    }

    fn key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    fn proxy(&self) -> EventLoopProxy<UserEvent> {
        self.proxy.lock().clone()
    }
}

#[derive(Default)]
struct Gui {
    windows: HashMap<u64, Win>,
    by_id: HashMap<WindowId, u64>,
    /// Made with the first window, kept for the life of the process.
    shared: Option<Shared>,
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
                let _ = reply.send(self.open(*spec, target));
            }
            Event::UserEvent(UserEvent::Flush(key)) => {
                if let Some(w) = self.windows.get(&key) {
                    w.deliver();
                }
            }
            Event::UserEvent(UserEvent::Inspect(key, reply)) => {
                if let Some(w) = self.windows.get(&key) {
                    let _ = reply.send(w.report());
                }
            }
            Event::UserEvent(UserEvent::Eval(key, id, js)) => self.eval(key, id, &js),
            Event::UserEvent(UserEvent::Reload(key)) => {
                if let Some(w) = self.windows.get(&key) {
                    w.reload();
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
        spec: WindowSpec,
        target: &EventLoopWindowTarget<UserEvent>,
    ) -> Result<WindowHandle, WebviewError> {
        let host = running_host().ok_or_else(|| WebviewError::GuiStopped("is not running".into()))?;
        let key = host.key();
        let shared = self.shared.get_or_insert_with(Shared::default);
        let (win, handle) = window::build(key, spec, target, host.proxy(), shared)?;
        self.by_id.insert(win.window.id(), key);
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
        self.by_id.remove(&w.window.id());
        w.close();
    }
}
