//! One native window: what it shows, how its webview is built (bridge, IPC handler, origin
//! and navigation policy, custom protocol), and the handle other threads hold.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use javascriptcore::ValueExt;
use parking_lot::Mutex;
use webkit2gtk::{
    gio, glib, JavascriptError, LoadEvent, SettingsExt, UserContentManager, WebProcessTerminationReason, WebViewExt,
};
use wry::{
    NewWindowResponse, PageLoadEvent, WebContext, WebView, WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix,
};

use super::bridge;
use super::endpoint::{self, Route, Routes};
use super::error::WebviewError;
use super::gui::{self, Proxy, UserEvent};
use super::page::Page;
use super::security::SecurityReport;
use crate::assets::{AssetSource, DEFAULT_CSP, ORIGIN};
use crate::ipc::{ConnId, ConnInfo, Origin, Receipt, Router};

/// What a window shows.
pub enum Content {
    /// A remote or dev-server URL; its origin is allowed to use IPC.
    Url(String),
    /// Pages served from `auroraview://localhost/` (a folder, or one inline page).
    Assets(AssetSource),
}

/// Everything needed to open a window.
pub struct WindowSpec {
    /// The window's label: its page's connections carry it, and events can target it.
    pub label: String,
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
    /// What the window does when its renderer (WebKit's web process) ends.
    pub on_crash: CrashPolicy,
    /// A native window of another application to live in (X11 window id): the window is
    /// made a child of it, fills it and follows its size, and closes when it is destroyed.
    pub parent: Option<u64>,
    /// The window lives inside another application's window (given as `parent`, or taken
    /// by a host such as a Qt widget through its native id): a click in the page takes
    /// the keyboard focus, as no window manager gives it to an embedded window.
    pub embedded: bool,
    pub router: Arc<Router>,
    pub observer: Arc<dyn WindowObserver>,
}

/// What a window does after its renderer process ended (crashed, killed, out of memory). In
/// every case the page's calls are ended first and `WindowEvent::Crashed` is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPolicy {
    /// Load the page again, at most `MAX_CRASH_RELOADS` times per `CRASH_WINDOW`; past that
    /// the window stays blank (reported as `Crashed { reloading: false }`).
    Reload,
    /// Close the window.
    Close,
    /// Nothing: the app decides (`WindowHandle::reload`, `close`).
    Notify,
}

/// Reloads after crashes allowed within `CRASH_WINDOW` (a page that crashes its renderer
/// on every load must not reload forever).
pub const MAX_CRASH_RELOADS: usize = 3;
pub const CRASH_WINDOW: Duration = Duration::from_secs(60);

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// The script threw (WebKit's message).
    Script(String),
    /// The renderer ended before the evaluation finished.
    Crashed(String),
    /// Never run: the page it waited for did not load (refused, or failed to load).
    Dropped(String),
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
    /// The page's bridge is listening: frames held for it are delivered from now on.
    BridgeReady,
    /// The window is on screen (mapped: by us, or by the host that embeds it).
    Shown,
    /// The window got (true) or lost (false) the keyboard focus.
    Focus(bool),
    /// Result of `eval` number `id`: the value as JSON (as WebKit reports it; empty for
    /// `undefined`), or why it failed.
    EvalResult { id: u64, result: Result<String, EvalError> },
    /// The renderer process ended (`reason`: `crashed`, `exceeded_memory_limit`,
    /// `terminated_by_api`); the page's calls were ended. `reloading`: the window is loading
    /// its page again (`CrashPolicy::Reload`).
    Crashed { reason: String, reloading: bool },
    /// A navigation of the page to `url` was refused (its origin may not be shown here).
    Blocked(String),
    /// The window is gone (closed by the user or by `close`).
    Closed,
}

/// A handle to an open window, usable from any thread.
#[derive(Clone)]
pub struct WindowHandle {
    key: u64,
    page: Arc<Page>,
    /// The renderer ended and no new document has committed since.
    crashed: Arc<AtomicBool>,
    proxy: Proxy,
    native_id: Option<u64>,
}

impl WindowHandle {
    fn send(&self, event: UserEvent) {
        // Fails only after the GUI shut down: the window is gone, nothing left to do.
        let _ = self.proxy.send(event);
    }

    pub fn key(&self) -> u64 {
        self.key
    }

    /// The connection currently serving the window's page.
    pub fn connection(&self) -> ConnId {
        self.page.connection()
    }

    /// Evaluate `js` in the page; the result arrives as `WindowEvent::EvalResult { id }`.
    pub fn eval(&self, id: u64, js: String) -> Result<(), WebviewError> {
        if self.page.is_closed() {
            return Err(WebviewError::Closed);
        }
        if self.crashed.load(Ordering::Acquire) {
            return Err(WebviewError::Crashed);
        }
        self.send(UserEvent::Eval(self.key, id, js));
        Ok(())
    }

    /// Load the page again (after a crash, or any time).
    pub fn reload(&self) -> Result<(), WebviewError> {
        if self.page.is_closed() {
            return Err(WebviewError::Closed);
        }
        self.send(UserEvent::Reload(self.key));
        Ok(())
    }

    /// The renderer ended and the page has not been loaded again since.
    pub fn is_crashed(&self) -> bool {
        self.crashed.load(Ordering::Acquire)
    }

    pub fn close(&self) {
        self.send(UserEvent::Close(self.key));
    }

    /// The window's native id (its X11 window id), for a host to embed it; `None` when the
    /// display is not X11.
    pub fn native_id(&self) -> Option<u64> {
        self.native_id
    }

    /// Give the page the keyboard focus (an embedded window: its host's Tab, say).
    pub fn focus(&self) -> Result<(), WebviewError> {
        if self.page.is_closed() {
            return Err(WebviewError::Closed);
        }
        self.send(UserEvent::Focus(self.key));
        Ok(())
    }

    /// Show or hide the window.
    pub fn set_visible(&self, visible: bool) -> Result<(), WebviewError> {
        if self.page.is_closed() {
            return Err(WebviewError::Closed);
        }
        self.send(UserEvent::SetVisible(self.key, visible));
        Ok(())
    }

    /// The window's security-relevant configuration, read on the GUI thread.
    pub fn inspect(&self, timeout: Duration) -> Result<SecurityReport, WebviewError> {
        if self.page.is_closed() {
            return Err(WebviewError::Closed);
        }
        let (tx, rx) = mpsc::channel();
        self.send(UserEvent::Inspect(self.key, tx));
        // On the GUI thread itself (a Qt host's main thread) the wait runs the loop that answers.
        gui::wait(&rx, timeout).ok_or_else(|| WebviewError::GuiStopped("did not answer (is the window closed?)".into()))
    }

    pub fn is_closed(&self) -> bool {
        self.page.is_closed()
    }

    /// IPC messages refused because of their origin.
    pub fn refused(&self) -> u64 {
        self.page.refused()
    }

    /// Frames dropped while held for a page that never became ready.
    pub fn dropped(&self) -> u64 {
        self.page.dropped()
    }
}

/// What every window of the process shares, on the GUI thread: one WebKit context, so one
/// network process serves every window (a context per window left one ~60 MB process behind
/// per closed window), and the custom protocol, registered once on that context (by us, not
/// wry: `endpoint.rs`) and routed to each window by the id tagged on its webview.
pub struct Shared {
    context: WebContext,
    routes: Routes,
    registered: bool,
}

/// Evaluations waiting for the first document (`None` once it committed).
type EarlyEvals = Rc<RefCell<Option<Vec<(u64, String)>>>>;

impl Default for Shared {
    /// Made on the GUI thread, with the first window.
    fn default() -> Shared {
        Shared { context: WebContext::new(None), routes: Arc::new(Mutex::new(HashMap::new())), registered: false }
    }
}

/// Removes a window's route from the shared custom protocol when the window goes.
struct RouteGuard {
    routes: Routes,
    id: String,
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        self.routes.lock().remove(&self.id);
    }
}

/// A window on the GUI thread. Field order is drop order: the webview goes before its window.
pub struct Win {
    pub webview: Rc<WebView>,
    _window: toplevel::Toplevel,
    _route: RouteGuard,
    /// The renderer ended and no new document has committed since (shared with the handle).
    crashed: Arc<AtomicBool>,
    /// Evaluations asked for before the first document committed (`None` after): they would
    /// run in the empty initial document, so they wait for the page, as wry's own do.
    early_evals: EarlyEvals,
    /// What the window was opened on (loaded again by `reload` when nothing committed yet).
    url: String,
    served_by: &'static str,
    origin: String,
    csp: Option<String>,
    pub page: Arc<Page>,
    pub router: Arc<Router>,
    pub observer: Arc<dyn WindowObserver>,
}

impl Drop for Win {
    /// Runs before the fields drop, so before wry destroys the webview.
    fn drop(&mut self) {
        release_ipc_handler(&self.webview.webview());
    }
}

/// wry connects its IPC handler to the webview's user content manager with a closure that
/// owns the webview: webview → manager → handler → webview, a cycle that destroying the
/// webview does not break. Every closed window's webview and manager stayed in this process
/// with its WebKit page and its user scripts (the bridge, kept as UTF-16): 0.26 MB a window,
/// RSS growing without bound (RELIABILITY.md case 25). Disconnecting the manager's
/// `script-message-received` handlers drops that reference, and both are finalized.
fn release_ipc_handler(view: &webkit2gtk::WebView) {
    use glib::translate::IntoGlib;
    use glib::{ObjectType, StaticType};

    let Some(manager) = view.user_content_manager() else { return };
    let Some(signal) = glib::subclass::SignalId::lookup("script-message-received", UserContentManager::static_type())
    else {
        return;
    };
    let instance = manager.as_ptr().cast::<glib::gobject_ffi::GObject>();
    // One at a time: `g_signal_handlers_disconnect_matched` ignores a match on the signal id
    // alone (it needs a closure, function or data, and wry's are out of reach).
    loop {
        // SAFETY: `instance` is a live GObject (`manager` holds a reference), used on the GUI
        // thread that owns it, and the handler id disconnected was just found on it.
        unsafe {
            let handler = glib::gobject_ffi::g_signal_handler_find(
                instance,
                glib::gobject_ffi::G_SIGNAL_MATCH_ID,
                signal.into_glib(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            if handler == 0 {
                break;
            }
            glib::gobject_ffi::g_signal_handler_disconnect(instance, handler);
        }
    }
}

impl Win {
    pub fn report(&self) -> SecurityReport {
        SecurityReport::read(&self.webview, self.served_by, self.origin.clone(), self.csp.clone())
    }

    /// Evaluate `js` in the page; the result is reported as `WindowEvent::EvalResult { id }`.
    pub fn eval(&self, id: u64, js: &str) {
        if let Some(early) = self.early_evals.borrow_mut().as_mut() {
            early.push((id, js.to_string()));
            return;
        }
        eval(&self.webview.webview(), &self.observer, &self.crashed, id, js);
    }

    /// Load the page again; before any document committed (a crash during the first load)
    /// there is nothing to reload, so the window's URL is loaded anew.
    pub fn reload(&self) {
        if self.early_evals.borrow().is_some() {
            let _ = self.webview.load_url(&self.url);
        } else {
            self.webview.webview().reload();
        }
    }

    pub fn set_visible(&self, visible: bool) {
        self._window.set_visible(visible);
    }

    pub fn focus(&self) {
        self._window.take_focus();
    }

    pub fn release_focus(&self, xid: u64) {
        self._window.give_focus_to(xid);
    }

    /// Deliver every frame ready for the page in one script evaluation.
    pub fn deliver(&self) {
        deliver(&self.webview, &self.page);
    }

    /// Close: nothing more reaches the page; calls in flight are cancelled.
    pub fn close(self) {
        self.page.close(&self.router);
        let observer = self.observer.clone();
        drop(self);
        observer.on_event(WindowEvent::Closed);
    }
}

/// How long a failed evaluation waits to learn whether its renderer died (WebKit may report
/// the failure before the termination).
const CRASH_SETTLE: Duration = Duration::from_millis(250);

/// WebKit's `run_javascript` directly, not wry's `evaluate_script_with_callback`: that
/// reports a script that threw, or a renderer that died, as an empty result.
fn eval(view: &webkit2gtk::WebView, observer: &Arc<dyn WindowObserver>, crashed: &Arc<AtomicBool>, id: u64, js: &str) {
    let (observer, crashed) = (observer.clone(), crashed.clone());
    #[allow(deprecated)] // evaluate_javascript is the 2.40 name; run_javascript still works
    view.run_javascript(js, None::<&gio::Cancellable>, move |result| {
        let error = match result {
            Ok(value) => {
                let json = value.js_value().and_then(|v| v.to_json(0)).map(String::from).unwrap_or_default();
                observer.on_event(WindowEvent::EvalResult { id, result: Ok(json) });
                return;
            }
            Err(e) => e,
        };
        let message = error.message().to_string();
        if error.kind::<JavascriptError>() == Some(JavascriptError::ScriptFailed) {
            observer.on_event(WindowEvent::EvalResult { id, result: Err(EvalError::Script(message)) });
            return;
        }
        // Anything else comes, among others, from a renderer that just died, whose
        // `web-process-terminated` may follow this callback: tell which once it had time to.
        glib::timeout_add_local_once(CRASH_SETTLE, move || {
            let why =
                if crashed.load(Ordering::Acquire) { EvalError::Crashed(message) } else { EvalError::Script(message) };
            observer.on_event(WindowEvent::EvalResult { id, result: Err(why) });
        });
    });
}

/// Answer the evaluations still waiting for the first document with `why()`; afterwards
/// evaluations run at once (and fail as WebKit reports).
fn fail_early(early: &EarlyEvals, observer: &Arc<dyn WindowObserver>, why: impl Fn() -> EvalError) {
    let Some(waiting) = early.borrow_mut().take() else { return };
    for (id, _) in waiting {
        observer.on_event(WindowEvent::EvalResult { id, result: Err(why()) });
    }
}

fn deliver(webview: &WebView, page: &Page) {
    if let Some(script) = page.take_script() {
        if let Err(e) = webview.evaluate_script(&script) {
            eprintln!("auroraview: cannot deliver frames to the page: {e}");
        }
    }
}

/// The native toplevel window (GTK). Its own module: GTK's prelude brings methods (such as
/// `settings`) that clash with WebKit's on the webview.
mod toplevel {
    use gtk::glib;
    use gtk::prelude::*;

    /// A GTK toplevel window holding a vertical box (the webview's container); destroyed
    /// when dropped.
    pub struct Toplevel {
        window: gtk::Window,
        vbox: gtk::Box,
    }

    impl Toplevel {
        pub fn new(title: &str, width: f64, height: f64, resizable: bool) -> Toplevel {
            let window = gtk::Window::new(gtk::WindowType::Toplevel);
            window.set_title(title);
            window.set_default_size(width.round().max(1.0) as i32, height.round().max(1.0) as i32);
            // Resizability is set once the window is first configured: a window made
            // non-resizable before that is sized to its content's request (a tiny webview),
            // not to its default size (tao does the same).
            let once: std::rc::Rc<std::cell::Cell<Option<glib::SignalHandlerId>>> = Default::default();
            let handler = {
                let once = once.clone();
                window.connect_configure_event(move |window, _| {
                    if let Some(id) = once.take() {
                        window.disconnect(id);
                        window.set_resizable(resizable);
                    }
                    false
                })
            };
            once.set(Some(handler));
            let vbox = gtk::Box::new(gtk::Orientation::Vertical, 0);
            window.add(&vbox);
            Toplevel { window, vbox }
        }

        pub fn vbox(&self) -> &gtk::Box {
            &self.vbox
        }

        /// `on_close` runs when the user asks to close the window (its close button); the
        /// window stays until it is dropped.
        pub fn on_close_request(&self, on_close: impl Fn() + 'static) {
            self.window.connect_delete_event(move |_, _| {
                on_close();
                glib::Propagation::Stop
            });
        }

        /// `on_destroyed` runs when the native window was destroyed by someone else (the
        /// application embedding it destroyed its parent window).
        pub fn on_destroyed(&self, on_destroyed: impl Fn() + 'static) {
            self.window.connect_destroy_event(move |_, _| {
                on_destroyed();
                glib::Propagation::Proceed // GTK destroys the widgets whose window is gone
            });
        }

        /// `on_focus` runs with true when the window gets the keyboard focus, false when it
        /// loses it.
        pub fn on_focus(&self, on_focus: impl Fn(bool) + 'static) {
            let on_focus = std::rc::Rc::new(on_focus);
            let on_out = on_focus.clone();
            self.window.connect_focus_in_event(move |_, _| {
                on_focus(true);
                glib::Propagation::Proceed
            });
            self.window.connect_focus_out_event(move |_, _| {
                on_out(false);
                glib::Propagation::Proceed
            });
        }

        /// A click in `content` gives this window the X keyboard focus. For an embedded
        /// window, which no window manager focuses: without it, keys reach the page only
        /// while the pointer is over it (X sends them to the pointer's window when the
        /// focused one, the host's, is its ancestor).
        pub fn focus_on_click(&self, content: &gtk::Widget) {
            let window = self.window.downgrade();
            content.connect_button_press_event(move |_, _| {
                if let Some(window) = window.upgrade() {
                    set_input_focus(&window, None);
                }
                glib::Propagation::Proceed
            });
        }

        /// Take the X keyboard focus now.
        pub fn take_focus(&self) {
            set_input_focus(&self.window, None);
        }

        /// Give the X keyboard focus to `xid` (a host's window).
        pub fn give_focus_to(&self, xid: u64) {
            set_input_focus(&self.window, Some(xid));
        }

        /// `on_mapped` runs each time the window goes on screen.
        pub fn on_mapped(&self, on_mapped: impl Fn() + 'static) {
            self.window.connect_map_event(move |_, _| {
                on_mapped();
                glib::Propagation::Proceed
            });
        }

        pub fn show(&self) {
            self.window.show_all();
        }

        pub fn set_visible(&self, visible: bool) {
            if visible {
                self.window.show_all();
            } else {
                self.window.hide();
            }
        }

        /// The window's X11 id (the native window is made now if it was not yet); `None`
        /// on another display server.
        pub fn xid(&self) -> Option<u64> {
            self.window.realize();
            let native = self.window.window()?.downcast::<gdkx11::X11Window>().ok()?;
            Some(native.xid())
        }

        /// Make the window a child of `parent`, another application's X11 window: at its
        /// top-left corner, filling it, following its size (read every `FOLLOW_EVERY`). GDK
        /// keeps treating it as a toplevel (focus and keyboard as for any window); when
        /// the parent is destroyed, so is this window (`on_destroyed`).
        pub fn embed_in(&self, parent: u64) -> Result<(), String> {
            use gtk::glib::translate::{from_glib_full, ToGlibPtr};

            self.window.realize();
            let native = self.window.window().ok_or("the window has no native window")?;
            let display = native
                .display()
                .downcast::<gdkx11::X11Display>()
                .map_err(|_| "a parent window handle needs an X11 display".to_string())?;
            let xid =
                std::os::raw::c_ulong::try_from(parent).map_err(|_| format!("{parent} is not an X11 window id"))?;
            display.error_trap_push();
            // SAFETY: a valid display; the result is a new reference, or NULL when there is no
            // such window (the binding's safe wrapper panics on NULL).
            let foreign = unsafe { gdkx11::ffi::gdk_x11_window_foreign_new_for_display(display.to_glib_none().0, xid) };
            if foreign.is_null() {
                display.error_trap_pop_ignored();
                return Err(format!("there is no X11 window {parent:#x}"));
            }
            // SAFETY: non-NULL, and ours (transfer full).
            let foreign: gtk::gdk::Window = unsafe { from_glib_full(foreign.cast::<gtk::gdk::ffi::GdkWindow>()) };
            native.reparent(&foreign, 0, 0);
            let (_, _, width, height) = foreign.geometry();
            if display.error_trap_pop() != 0 {
                return Err(format!("cannot embed into X11 window {parent:#x} (it was destroyed?)"));
            }
            self.window.resize(width.max(1), height.max(1));
            let weak = self.window.downgrade();
            let mut size = (width, height);
            glib::timeout_add_local(FOLLOW_EVERY, move || {
                let Some(window) = weak.upgrade() else { return glib::ControlFlow::Break };
                display.error_trap_push();
                let (_, _, width, height) = foreign.geometry();
                if display.error_trap_pop() != 0 {
                    return glib::ControlFlow::Break; // the parent is gone, and this window with it
                }
                if (width, height) != size && width > 0 && height > 0 {
                    size = (width, height);
                    window.resize(width, height);
                }
                glib::ControlFlow::Continue
            });
            Ok(())
        }
    }

    /// `XSetInputFocus` to `target` (another application's X11 window), or to `window`'s
    /// own; X errors (a window gone meanwhile) are trapped. Not GDK's `focus`, which asks
    /// the window manager (`_NET_ACTIVE_WINDOW`): it ignores an embedded window.
    pub fn set_input_focus(window: &gtk::Window, target: Option<u64>) {
        let Some(native) = window.window() else { return };
        let Ok(display) = native.display().downcast::<gdkx11::X11Display>() else { return };
        let xid = match target {
            Some(xid) => xid as std::os::raw::c_ulong,
            None => match native.downcast_ref::<gdkx11::X11Window>() {
                Some(own) => own.xid(),
                None => return,
            },
        };
        display.error_trap_push();
        // SAFETY: the display is GDK's open X11 connection; errors are trapped.
        unsafe {
            use gtk::glib::translate::ToGlibPtr;
            let xdisplay = gdkx11::ffi::gdk_x11_display_get_xdisplay(display.to_glib_none().0);
            gdkx11::x11::xlib::XSetInputFocus(
                xdisplay,
                xid,
                gdkx11::x11::xlib::RevertToParent,
                gdkx11::x11::xlib::CurrentTime,
            );
        }
        display.error_trap_pop_ignored();
    }

    /// How often an embedded window reads its parent's size.
    const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

    impl Drop for Toplevel {
        fn drop(&mut self) {
            // SAFETY: the window is ours alone (a toplevel nobody else references); nothing
            // uses it after this.
            unsafe { self.window.destroy() };
        }
    }
}

/// Build window `key` on the GUI thread. Its page connects to the router only once the
/// webview exists, so a failed open leaves nothing behind. `fast_reply`: the IPC handler
/// may wait briefly for a lone call's reply (own-loop mode only: it holds the GUI thread).
pub fn build(
    key: u64,
    spec: WindowSpec,
    proxy: Proxy,
    shared: &mut Shared,
    fast_reply: bool,
) -> Result<(Win, WindowHandle), WebviewError> {
    let (url, allowed) = match &spec.content {
        Content::Url(url) => (url.clone(), Origin::parse(url).ok_or_else(|| WebviewError::InvalidUrl(url.clone()))?),
        Content::Assets(_) => {
            (format!("{ORIGIN}/"), Origin::parse(ORIGIN).ok_or_else(|| WebviewError::InvalidUrl(ORIGIN.into()))?)
        }
    };
    let window = toplevel::Toplevel::new(&spec.title, spec.width, spec.height, spec.resizable);
    {
        let proxy = proxy.clone();
        window.on_close_request(move || {
            let _ = proxy.send(UserEvent::Close(key));
        });
    }
    {
        let proxy = proxy.clone();
        window.on_destroyed(move || {
            let _ = proxy.send(UserEvent::Close(key));
        });
    }
    {
        let observer = spec.observer.clone();
        window.on_mapped(move || observer.on_event(WindowEvent::Shown));
    }
    {
        let observer = spec.observer.clone();
        window.on_focus(move |focused| observer.on_event(WindowEvent::Focus(focused)));
    }
    if let Some(parent) = spec.parent {
        window.embed_in(parent).map_err(WebviewError::Window)?;
    }
    let native_id = window.xid();
    let page = {
        let proxy = proxy.clone();
        Page::new(
            ConnInfo::window(spec.label.clone(), allowed.to_string()),
            Box::new(move || {
                let _ = proxy.send(UserEvent::Flush(key));
            }),
        )
    };

    let view_id = format!("window-{key}");
    let routes = shared.routes.clone();
    // No URL yet: it is loaded once the scheme is registered (below), which needs the
    // context's WebKit object, reachable only through a webview.
    let mut builder = WebViewBuilder::new_with_web_context(&mut shared.context)
        .with_id(&view_id)
        .with_initialization_script(bridge::SCRIPT)
        .with_devtools(spec.debug);

    let this_view: Rc<OnceCell<Weak<WebView>>> = Rc::new(OnceCell::new());
    let early_evals: EarlyEvals = Rc::new(RefCell::new(Some(Vec::new())));
    {
        let (router, page, allowed, this_view, observer) =
            (spec.router.clone(), page.clone(), allowed.clone(), this_view.clone(), spec.observer.clone());
        builder = builder.with_ipc_handler(move |req| {
            // On Linux wry reports the main frame's URL here, even for iframes: the page key
            // is what keeps frames out (ipc::gate).
            if Origin::parse(&req.uri().to_string()).as_ref() != Some(&allowed) {
                page.refuse();
                return;
            }
            match page.receive(&router, req.body().as_bytes()) {
                Receipt::Ready => observer.on_event(WindowEvent::BridgeReady),
                // The page awaits this call alone: its reply is likely microseconds away.
                Receipt::Accepted(_) if fast_reply && router.in_flight() == 1 && page.await_reply() => {
                    if let Some(view) = this_view.get().and_then(Weak::upgrade) {
                        deliver(&view, &page);
                    }
                }
                _ => {}
            }
        });
    }
    {
        let (allowed, observer, early) = (allowed.clone(), spec.observer.clone(), early_evals.clone());
        builder = builder
            .with_navigation_handler(move |to| {
                let ok = Origin::parse(&to).as_ref() == Some(&allowed);
                if !ok {
                    // A first load refused (a redirect to another site): nothing will commit,
                    // so the evaluations waiting for it are answered now.
                    fail_early(&early, &observer, || {
                        EvalError::Dropped(format!("the page did not load: {to} was refused"))
                    });
                    observer.on_event(WindowEvent::Blocked(to));
                }
                ok
            })
            .with_new_window_req_handler(|_, _| NewWindowResponse::Deny);
    }
    {
        let (router, page, observer) = (spec.router.clone(), page.clone(), spec.observer.clone());
        builder = builder.with_on_page_load_handler(move |event, url| match event {
            PageLoadEvent::Started => {
                page.started(&router);
                observer.on_event(WindowEvent::PageLoading(url));
            }
            PageLoadEvent::Finished => observer.on_event(WindowEvent::PageLoaded(url)),
        });
    }
    let (served_by, served_csp) = match &spec.content {
        Content::Url(_) => ("url", None),
        Content::Assets(_) => ("custom-protocol", Some(spec.csp.clone().unwrap_or_else(|| DEFAULT_CSP.to_string()))),
    };
    let source = match spec.content {
        Content::Assets(source) => Some(source),
        Content::Url(_) => None,
    };
    let route = Route {
        source,
        csp: served_csp.clone().unwrap_or_default(),
        page: page.clone(),
        router: spec.router.clone(),
        origin: allowed.clone(),
    };
    routes.lock().insert(view_id.clone(), route);
    let route = RouteGuard { routes: routes.clone(), id: view_id.clone() };
    // On failure `route` and `window` drop here, taking the window's route and the window with them.
    let webview =
        Rc::new(builder.build_gtk(window.vbox()).map_err(|e| WebviewError::Window(format!("the webview: {e}")))?);
    let _ = this_view.set(Rc::downgrade(&webview));
    if spec.embedded || spec.parent.is_some() {
        window.focus_on_click(glib::object::Cast::upcast_ref(&webview.webview()));
    }
    endpoint::tag(&webview.webview(), &view_id);
    if !shared.registered {
        let context =
            webview.webview().context().ok_or_else(|| WebviewError::Window("the webview has no context".into()))?;
        endpoint::register(&context, routes.clone());
        shared.registered = true;
    }
    if let Some(settings) = webview.webview().settings() {
        // Going back must load the page anew: a document restored from the back-forward
        // cache keeps a bridge (and key) the host has let go of, and never says `ready`.
        settings.set_enable_page_cache(false);
    }
    let crashed = Arc::new(AtomicBool::new(false));
    {
        // Step 2 of the page lifecycle (page.rs): the new document exists from here on.
        let (router, page, crashed, early, observer) =
            (spec.router.clone(), page.clone(), crashed.clone(), early_evals.clone(), spec.observer.clone());
        webview.webview().connect_load_changed(move |view, event| {
            if event == LoadEvent::Committed {
                crashed.store(false, Ordering::Release);
                page.committed(&router);
                if let Some(early) = early.borrow_mut().take() {
                    for (id, js) in early {
                        eval(view, &observer, &crashed, id, &js);
                    }
                }
            }
        });
    }
    {
        // The first load failed (no server there, say): nothing will commit, so the
        // evaluations waiting for it are answered now. WebKit then shows its error page.
        let (early, observer) = (early_evals.clone(), spec.observer.clone());
        webview.webview().connect_load_failed(move |_, _, uri, error| {
            fail_early(&early, &observer, || EvalError::Dropped(format!("the page did not load: {uri}: {error}")));
            false // WebKit's own handling (its error page) goes on
        });
    }
    {
        // RELIABILITY.md case 24: the renderer ended. Its page's calls end now (a fresh
        // connection serves whatever loads next), Python hears of it, and the policy runs.
        let (router, page, observer, crashed, proxy) =
            (spec.router.clone(), page.clone(), spec.observer.clone(), crashed.clone(), proxy.clone());
        let policy = spec.on_crash;
        let recent: RefCell<VecDeque<Instant>> = RefCell::new(VecDeque::new());
        let early = early_evals.clone();
        webview.webview().connect_web_process_terminated(move |_, reason| {
            if page.is_closed() {
                return; // a late signal for a window already closed: nothing to reconnect
            }
            crashed.store(true, Ordering::Release);
            page.connect(&router);
            fail_early(&early, &observer, || EvalError::Crashed(termination_reason(reason)));
            let reloading = policy == CrashPolicy::Reload && {
                let mut recent = recent.borrow_mut();
                let now = Instant::now();
                recent.retain(|t| now.duration_since(*t) < CRASH_WINDOW);
                recent.push_back(now);
                recent.len() <= MAX_CRASH_RELOADS
            };
            observer.on_event(WindowEvent::Crashed { reason: termination_reason(reason), reloading });
            let next = match policy {
                CrashPolicy::Reload if reloading => Some(UserEvent::Reload(key)),
                CrashPolicy::Close => Some(UserEvent::Close(key)),
                _ => None,
            };
            if let Some(next) = next {
                let _ = proxy.send(next);
            }
        });
    }
    page.connect(&spec.router);
    if let Err(e) = webview.load_url(&url) {
        // Nothing of the window stays: its page leaves the router, the window goes.
        page.close(&spec.router);
        release_ipc_handler(&webview.webview());
        return Err(WebviewError::Window(format!("loading {url}: {e}")));
    }
    if spec.visible {
        window.show();
    }
    let handle = WindowHandle { key, page: page.clone(), crashed: crashed.clone(), proxy, native_id };
    let win = Win {
        webview,
        _window: window,
        _route: route,
        crashed,
        early_evals,
        url: url.clone(),
        served_by,
        origin: allowed.to_string(),
        csp: served_csp,
        page,
        router: spec.router,
        observer: spec.observer,
    };
    Ok((win, handle))
}

fn termination_reason(reason: WebProcessTerminationReason) -> String {
    match reason {
        WebProcessTerminationReason::Crashed => "crashed".into(),
        WebProcessTerminationReason::ExceededMemoryLimit => "exceeded_memory_limit".into(),
        WebProcessTerminationReason::TerminatedByApi => "terminated_by_api".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}
