//! One native window: what it shows, how its webview is built (bridge, IPC handler, origin
//! and navigation policy, custom protocol), and the handle other threads hold.

use std::cell::OnceCell;
use std::rc::{Rc, Weak};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tao::dpi::LogicalSize;
use tao::event_loop::{EventLoopProxy, EventLoopWindowTarget};
use tao::platform::unix::WindowExtUnix;
use tao::window::{Window, WindowBuilder};
use webkit2gtk::{LoadEvent, SettingsExt, WebViewExt};
use wry::{NewWindowResponse, PageLoadEvent, WebView, WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

use super::error::WebviewError;
use super::gui::UserEvent;
use super::page::Page;
use super::security::SecurityReport;
use super::{bridge, scheme};
use crate::assets::{AssetSource, DEFAULT_CSP, ORIGIN, SCHEME};
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

/// A handle to an open window, usable from any thread.
#[derive(Clone)]
pub struct WindowHandle {
    key: u64,
    page: Arc<Page>,
    proxy: Arc<Mutex<EventLoopProxy<UserEvent>>>,
}

impl WindowHandle {
    fn send(&self, event: UserEvent) {
        // Fails only after the loop exited: the window is gone, nothing left to do.
        let _ = self.proxy.lock().send_event(event);
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
        self.send(UserEvent::Eval(self.key, id, js));
        Ok(())
    }

    pub fn close(&self) {
        self.send(UserEvent::Close(self.key));
    }

    /// The window's security-relevant configuration, read on the GUI thread.
    pub fn inspect(&self, timeout: Duration) -> Result<SecurityReport, WebviewError> {
        if self.page.is_closed() {
            return Err(WebviewError::Closed);
        }
        let (tx, rx) = mpsc::channel();
        self.send(UserEvent::Inspect(self.key, tx));
        rx.recv_timeout(timeout).map_err(|_| WebviewError::GuiStopped("did not answer (is the window closed?)".into()))
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

/// A window on the GUI thread. Field order is drop order: the webview goes before its window.
pub struct Win {
    pub webview: Rc<WebView>,
    pub window: Window,
    served_by: &'static str,
    origin: String,
    csp: Option<String>,
    pub page: Arc<Page>,
    pub router: Arc<Router>,
    pub observer: Arc<dyn WindowObserver>,
}

impl Win {
    pub fn report(&self) -> SecurityReport {
        SecurityReport::read(&self.webview, self.served_by, self.origin.clone(), self.csp.clone())
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

fn deliver(webview: &WebView, page: &Page) {
    if let Some(script) = page.take_script() {
        if let Err(e) = webview.evaluate_script(&script) {
            eprintln!("auroraview: cannot deliver frames to the page: {e}");
        }
    }
}

/// Build window `key` on the GUI thread. Its page connects to the router only once the
/// webview exists, so a failed open leaves nothing behind.
pub fn build(
    key: u64,
    spec: WindowSpec,
    target: &EventLoopWindowTarget<UserEvent>,
    proxy: EventLoopProxy<UserEvent>,
) -> Result<(Win, WindowHandle), WebviewError> {
    let (url, allowed) = match &spec.content {
        Content::Url(url) => (url.clone(), Origin::parse(url).ok_or_else(|| WebviewError::InvalidUrl(url.clone()))?),
        Content::Assets(_) => {
            (format!("{ORIGIN}/"), Origin::parse(ORIGIN).ok_or_else(|| WebviewError::InvalidUrl(ORIGIN.into()))?)
        }
    };
    let window = WindowBuilder::new()
        .with_title(&spec.title)
        .with_inner_size(LogicalSize::new(spec.width, spec.height))
        .with_resizable(spec.resizable)
        .with_visible(spec.visible)
        .build(target)
        .map_err(|e| WebviewError::Window(e.to_string()))?;
    let proxy = Arc::new(Mutex::new(proxy));
    let page = {
        let proxy = proxy.clone();
        Page::new(
            ConnInfo::window(spec.label.clone(), allowed.to_string()),
            Box::new(move || {
                let _ = proxy.lock().send_event(UserEvent::Flush(key));
            }),
        )
    };

    let mut builder =
        WebViewBuilder::new().with_initialization_script(bridge::SCRIPT).with_devtools(spec.debug).with_url(&url);

    let this_view: Rc<OnceCell<Weak<WebView>>> = Rc::new(OnceCell::new());
    {
        let (router, page, allowed, this_view) =
            (spec.router.clone(), page.clone(), allowed.clone(), this_view.clone());
        builder = builder.with_ipc_handler(move |req| {
            // On Linux wry reports the main frame's URL here, even for iframes: the page key
            // is what keeps frames out (ipc::gate).
            if Origin::parse(&req.uri().to_string()).as_ref() != Some(&allowed) {
                page.refuse();
                return;
            }
            // The page awaits this call alone: its reply is likely microseconds away.
            if let Receipt::Accepted(_) = page.receive(&router, req.body().as_bytes()) {
                if router.in_flight() == 1 && page.await_reply() {
                    if let Some(view) = this_view.get().and_then(Weak::upgrade) {
                        deliver(&view, &page);
                    }
                }
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
    if let Content::Assets(source) = spec.content {
        let csp = served_csp.clone().unwrap_or_default();
        builder =
            builder.with_custom_protocol(SCHEME.into(), move |_id, request| scheme::respond(&source, &csp, &request));
    }
    let vbox = window.default_vbox().ok_or_else(|| WebviewError::Window("the window has no GTK container".into()))?;
    let webview = Rc::new(builder.build_gtk(vbox).map_err(|e| WebviewError::Window(format!("the webview: {e}")))?);
    let _ = this_view.set(Rc::downgrade(&webview));
    if let Some(settings) = webview.webview().settings() {
        // Going back must load the page anew: a document restored from the back-forward
        // cache keeps a bridge (and key) the host has let go of, and never says `ready`.
        settings.set_enable_page_cache(false);
    }
    {
        // Step 2 of the page lifecycle (page.rs): the new document exists from here on.
        let (router, page) = (spec.router.clone(), page.clone());
        webview.webview().connect_load_changed(move |_, event| {
            if event == LoadEvent::Committed {
                page.committed(&router);
            }
        });
    }
    page.connect(&spec.router);
    let handle = WindowHandle { key, page: page.clone(), proxy };
    let win = Win {
        webview,
        window,
        served_by,
        origin: allowed.to_string(),
        csp: served_csp,
        page,
        router: spec.router,
        observer: spec.observer,
    };
    Ok((win, handle))
}
