//! A window's page, one document after another: its connection to the router, its frame
//! queue, and the per-document lifecycle. No wry here, so it is tested without WebKit.
//!
//! Lifecycle of one document (every load, reload or navigation repeats it):
//! 1. `Started` (wry's page-load event): a new document is coming. If the current
//!    connection was used, or its page said `ready`, it is replaced by a fresh one (new
//!    generation): replies meant for the old document never reach the new one. A connection
//!    no page has used yet is kept, with the frames queued for it.
//! 2. `Committed` (WebKit's load-changed): the new document exists and the old one is gone;
//!    the connection is armed, so the first `hello` binds the document's key.
//! 3. `hello`: the injected bridge's first message, posted before any page script runs;
//!    from here only messages carrying its key get in (`ipc::gate`), and every delivery to
//!    the document carries that key too (its receiver ignores calls without it).
//! 4. `ready`: the bridge's receiver is installed; frames held until now are delivered,
//!    and from now on every batch of frames becomes one script evaluation.
//!
//! Closing the window disconnects the connection (its calls are cancelled) and drops its
//! frames; nothing is evaluated into a closed webview.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use super::bridge;
use super::upload::Uploads;
use crate::handoff::{must_wake, spin_until};
use crate::ipc::{ConnId, ConnInfo, Receipt, Responder, Router, Sink};

/// Frames held for a page that has not said `ready` yet; past this the oldest are dropped
/// (and counted), so a page that never loads its bridge cannot grow memory without bound.
pub const MAX_HELD_FRAMES: usize = 100_000;

/// How long the IPC handler waits for the reply to a lone call. A no-op call answered by a
/// warm asyncio thread takes ~15 µs here, by a sleeping one ~90 µs (2-core VM).
pub const REPLY_WAIT: Duration = Duration::from_micros(200);
/// After a wait ran out (a slow handler), this many lone calls pass before the next try.
const WAIT_BACKOFF: u32 = 16;

/// Asks the GUI thread to deliver the page's frames (through its event loop).
pub type Wake = Box<dyn Fn() + Send + Sync>;

pub struct Page {
    /// Who the page's connections are: the window's label and the origin allowed to talk.
    info: ConnInfo,
    wake: Wake,
    /// Frames waiting for the next delivery, tagged with the generation they belong to.
    frames: Mutex<VecDeque<(u64, Bytes)>>,
    /// Frames dropped because a page never became ready while `MAX_HELD_FRAMES` piled up.
    dropped: AtomicU64,
    /// Bumped for every new document: frames of an older generation are never delivered.
    generation: AtomicU64,
    conn: AtomicU64,
    /// The generation whose page announced `ready`: frames are held until then.
    ready: AtomicU64,
    /// The key the current generation's document announced in `hello`, which deliveries to
    /// it carry (a page script does not know it, so cannot call the receiver for the host).
    key: Mutex<Option<(u64, Box<str>)>>,
    /// The current connection has received messages (its page may await replies).
    used: AtomicBool,
    closed: AtomicBool,
    /// The GUI thread is waiting in the IPC handler for this page's next frame: a sink need
    /// not wake it through the event loop.
    awaiting: AtomicBool,
    /// Lone calls to let pass without waiting for their reply, after a wait ran out.
    wait_backoff: AtomicU32,
    /// IPC messages refused because they came from an origin that may not use IPC.
    refused: AtomicU64,
    /// Large frames the call endpoint is receiving in parts (`upload.rs`).
    uploads: Mutex<Uploads>,
}

/// The router's sink for one document of one page.
struct PageSink {
    page: Arc<Page>,
    generation: u64,
}

impl Sink for PageSink {
    fn send(&self, frame: Bytes) {
        let page = &self.page;
        if page.closed.load(Ordering::Acquire) {
            return;
        }
        let was_empty = {
            let mut frames = page.frames.lock();
            let was_empty = frames.is_empty();
            if frames.len() >= MAX_HELD_FRAMES {
                frames.pop_front();
                page.dropped.fetch_add(1, Ordering::Relaxed);
            }
            frames.push_back((self.generation, frame));
            was_empty
        };
        if was_empty && must_wake(&page.awaiting) {
            // One wake-up of the GUI thread per batch: everything queued until it runs goes
            // into one script evaluation.
            (page.wake)();
        }
    }
}

impl Page {
    pub fn new(info: ConnInfo, wake: Wake) -> Arc<Page> {
        Arc::new(Page {
            info,
            wake,
            frames: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            conn: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            key: Mutex::new(None),
            used: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            awaiting: AtomicBool::new(false),
            wait_backoff: AtomicU32::new(0),
            refused: AtomicU64::new(0),
            uploads: Mutex::new(Uploads::default()),
        })
    }

    /// Serve a new document: a fresh connection and generation (the old connection's calls
    /// are cancelled).
    pub fn connect(self: &Arc<Self>, router: &Router) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let old = self.conn.load(Ordering::Acquire);
        if old != 0 {
            router.disconnect(old);
        }
        let sink = Arc::new(PageSink { page: self.clone(), generation });
        let conn = router.connect_keyed(sink, self.info.clone());
        self.conn.store(conn, Ordering::Release);
        self.used.store(false, Ordering::Release);
    }

    /// Step 1: a document started loading.
    pub fn started(self: &Arc<Self>, router: &Router) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.used.load(Ordering::Acquire) || self.ready.load(Ordering::Acquire) == generation {
            self.connect(router);
        }
    }

    /// Step 2: the document committed; its first `hello` binds the key.
    pub fn committed(&self, router: &Router) {
        router.arm(self.connection());
    }

    /// A message from the page (already checked for origin). On `hello` (step 3) the key it
    /// bound is kept for deliveries; on `ready` (step 4) the held frames are delivered
    /// through a wake-up.
    pub fn receive(&self, router: &Router, body: &[u8]) -> Receipt {
        self.used.store(true, Ordering::Release);
        let conn = self.connection();
        let receipt = router.receive(conn, body);
        if receipt == Receipt::Hello {
            if let Some(key) = router.page_key(conn) {
                *self.key.lock() = Some((self.generation.load(Ordering::Acquire), key));
            }
        } else if receipt == Receipt::Ready {
            self.ready.store(self.generation.load(Ordering::Acquire), Ordering::Release);
            (self.wake)();
        }
        receipt
    }

    /// A call in a binary frame from the page's call endpoint (already checked for origin
    /// and key, docs/binary.md); its reply goes to `reply`, not through the page's frames.
    pub fn receive_frame(&self, router: &Router, chunks: Vec<Bytes>, reply: Responder) -> Receipt {
        self.used.store(true, Ordering::Release);
        router.receive_chunks(self.connection(), chunks, Some(reply))
    }

    /// The window closed: nothing more reaches the page, its calls are cancelled.
    pub fn close(&self, router: &Router) {
        self.closed.store(true, Ordering::Release);
        router.disconnect(self.connection());
        self.frames.lock().clear();
        self.uploads.lock().clear();
    }

    /// The parts of large frames received so far (`upload.rs`), for the current connection.
    pub fn uploads(&self) -> parking_lot::MutexGuard<'_, Uploads> {
        self.uploads.lock()
    }

    /// The script delivering every frame ready for the current document, if any: frames of
    /// older documents are discarded, and nothing is taken before the page said `ready`.
    pub fn take_script(&self) -> Option<String> {
        let current = self.generation.load(Ordering::Acquire);
        if self.ready.load(Ordering::Acquire) != current || self.closed.load(Ordering::Acquire) {
            return None; // the page's bridge is not listening yet: its `ready` wakes again
        }
        let key = match &*self.key.lock() {
            Some((generation, key)) if *generation == current => key.clone(),
            _ => return None, // no `hello` from this document: nobody to deliver to
        };
        let frames: Vec<Bytes> = std::mem::take(&mut *self.frames.lock())
            .into_iter()
            .filter(|(g, _)| *g == current)
            .map(|(_, f)| f)
            .collect();
        if frames.is_empty() {
            return None;
        }
        Some(bridge::batch_script(&key, &frames))
    }

    /// After handing the app's only call in flight (this page's) to the host: wait (bounded, see
    /// `REPLY_WAIT`) for its reply, so the caller can deliver it without a wake-up through
    /// the event loop. True when a frame is there to deliver. After a wait runs out, the
    /// next `WAIT_BACKOFF` lone calls do not wait (their handler is likely slow too).
    pub fn await_reply(&self) -> bool {
        let backoff = self.wait_backoff.load(Ordering::Relaxed);
        if backoff > 0 {
            self.wait_backoff.store(backoff - 1, Ordering::Relaxed);
            return false;
        }
        let got = spin_until(&self.awaiting, REPLY_WAIT, || !self.frames.lock().is_empty());
        if !got {
            self.wait_backoff.store(WAIT_BACKOFF, Ordering::Relaxed);
        }
        got
    }

    pub fn refuse(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The connection serving the current document.
    pub fn connection(&self) -> ConnId {
        self.conn.load(Ordering::Acquire)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::{Dispatcher, Op, Target};

    struct Nobody;
    impl Dispatcher for Nobody {
        fn dispatch(&self, _: Op) {}
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const NEXT_KEY: &str = "fedcba9876543210fedcba9876543210";

    fn setup() -> (Arc<Router>, Arc<Page>, Arc<AtomicU64>) {
        let router = Router::new(Default::default(), Arc::new(Nobody), None);
        let wakes = Arc::new(AtomicU64::new(0));
        let counter = wakes.clone();
        let page = Page::new(
            ConnInfo::window("main", "auroraview://localhost"),
            Box::new(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            }),
        );
        page.connect(&router);
        (router, page, wakes)
    }

    fn load(page: &Arc<Page>, router: &Router) {
        page.started(router);
        page.committed(router);
        assert_eq!(page.receive(router, format!(r#"{{"type":"hello","key":"{KEY}"}}"#).as_bytes()), Receipt::Hello);
    }

    fn ready(page: &Page, router: &Router) {
        assert_eq!(page.receive(router, format!(r#"{{"type":"ready","key":"{KEY}"}}"#).as_bytes()), Receipt::Ready);
    }

    /// The key a delivery carries and the frames it delivers.
    fn delivered_with_key(page: &Page) -> Option<(String, Vec<serde_json::Value>)> {
        let script = page.take_script()?;
        let start = script.rfind("receive(").unwrap() + "receive(".len();
        let args: Vec<String> = serde_json::from_str(&format!("[{}]", &script[start..script.len() - 1])).unwrap();
        Some((args[0].clone(), serde_json::from_str(&args[1]).unwrap()))
    }

    fn delivered(page: &Page) -> Vec<serde_json::Value> {
        match delivered_with_key(page) {
            Some((key, frames)) => {
                assert_eq!(key, KEY, "delivered with the document's key");
                frames
            }
            None => vec![],
        }
    }

    #[test]
    fn frames_wait_for_ready_and_then_go_in_one_script() {
        let (router, page, wakes) = setup();
        let main = Target::Window("main".into());
        router.emit(&main, "a", b"1");
        router.emit(&main, "b", b"2");
        assert_eq!(wakes.load(Ordering::Relaxed), 1, "one wake-up per batch");
        load(&page, &router);
        assert!(page.take_script().is_none(), "held until the bridge is ready");
        ready(&page, &router);
        let frames = delivered(&page);
        assert_eq!(frames.iter().map(|f| f["event"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(page.take_script().is_none());
    }

    #[test]
    fn a_new_document_gets_a_new_connection_and_never_the_old_frames() {
        let (router, page, _) = setup();
        load(&page, &router);
        ready(&page, &router);
        let first = page.connection();
        router.emit(&Target::Conn(first), "stale", b"0");
        page.started(&router); // reload
        assert_ne!(page.connection(), first);
        assert!(router.conn_info(first).is_none(), "the old connection is closed");
        page.committed(&router);
        ready_after_hello(&page, &router);
        router.emit(&Target::Window("main".into()), "fresh", b"1");
        let frames = delivered(&page);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["event"], "fresh");
    }

    fn ready_after_hello(page: &Page, router: &Router) {
        assert_eq!(page.receive(router, format!(r#"{{"type":"hello","key":"{KEY}"}}"#).as_bytes()), Receipt::Hello);
        ready(page, router);
    }

    #[test]
    fn every_delivery_carries_the_key_of_the_document_it_is_for() {
        let (router, page, _) = setup();
        load(&page, &router);
        ready(&page, &router);
        router.emit(&Target::All, "first", b"1");
        assert_eq!(delivered_with_key(&page).unwrap().0, KEY);
        page.started(&router); // reload: the new document announces its own key
        page.committed(&router);
        let hello = format!(r#"{{"type":"hello","key":"{NEXT_KEY}"}}"#);
        assert_eq!(page.receive(&router, hello.as_bytes()), Receipt::Hello);
        router.emit(&Target::All, "early", b"2");
        assert!(page.take_script().is_none(), "held until the new document is ready");
        let ready = format!(r#"{{"type":"ready","key":"{NEXT_KEY}"}}"#);
        assert_eq!(page.receive(&router, ready.as_bytes()), Receipt::Ready);
        let (key, frames) = delivered_with_key(&page).unwrap();
        assert_eq!(key, NEXT_KEY);
        assert_eq!(frames[0]["event"], "early");
    }

    #[test]
    fn a_refused_hello_binds_no_key() {
        let (router, page, _) = setup();
        load(&page, &router);
        let again = format!(r#"{{"type":"hello","key":"{NEXT_KEY}"}}"#);
        assert_eq!(page.receive(&router, again.as_bytes()), Receipt::Refused, "one hello per document");
        ready(&page, &router);
        router.emit(&Target::All, "e", b"1");
        assert_eq!(delivered_with_key(&page).unwrap().0, KEY);
    }

    #[test]
    fn an_unused_connection_survives_the_first_load_with_its_frames() {
        let (router, page, _) = setup();
        let conn = page.connection();
        router.emit(&Target::Window("main".into()), "early", b"0");
        page.started(&router);
        assert_eq!(page.connection(), conn, "nobody used it: kept");
        page.committed(&router);
        ready_after_hello(&page, &router);
        assert_eq!(delivered(&page)[0]["event"], "early");
    }

    #[test]
    fn a_page_that_never_gets_ready_holds_a_bounded_number_of_frames() {
        let (router, page, _) = setup();
        for i in 0..MAX_HELD_FRAMES + 5 {
            router.emit(&Target::All, "e", i.to_string().as_bytes());
        }
        assert_eq!(page.dropped(), 5);
        assert_eq!(page.frames.lock().len(), MAX_HELD_FRAMES);
    }

    #[test]
    fn a_closed_page_takes_nothing_and_its_connection_is_gone() {
        let (router, page, _) = setup();
        load(&page, &router);
        ready(&page, &router);
        let conn = page.connection();
        page.close(&router);
        assert!(page.is_closed());
        assert!(router.conn_info(conn).is_none());
        router.emit(&Target::All, "late", b"0");
        assert!(page.take_script().is_none());
    }

    #[test]
    fn the_page_connection_carries_the_window_identity() {
        let (router, page, _) = setup();
        let info = router.conn_info(page.connection()).unwrap();
        assert_eq!(info.window.as_deref(), Some("main"));
        assert_eq!(info.origin.as_deref(), Some("auroraview://localhost"));
    }
}
