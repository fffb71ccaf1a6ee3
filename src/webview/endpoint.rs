//! The `auroraview://` scheme on WebKit's context, registered here rather than through wry:
//! wry reads every request body before any handler runs (a `Blob` body crashed the process,
//! tests/e2e/test_scheme_bodies.py), while the call endpoint must refuse a request before it
//! reads a byte of its body. `GET`s serve the window's assets (`scheme::respond`); `POST`s to
//! `scheme::CALL_PATH` carry calls in binary frames, answered in the response body
//! (docs/binary.md). Who may post is `scheme::admit_call`'s (pure) decision.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use webkit2gtk::gio::prelude::{InputStreamExtManual, MemoryInputStreamExt};
use webkit2gtk::glib::prelude::ObjectExt;
use webkit2gtk::{
    gio, glib, SecurityManagerExt, URISchemeRequest, URISchemeRequestExt, URISchemeResponse, URISchemeResponseExt,
    WebContext, WebContextExt,
};
use wry::http::{Request, Response};

use super::page::Page;
use super::scheme::{self, CALL_PATH, KEY_HEADER};
use super::upload::{self, Part, PartRefusal, UPLOAD_HEADER};
use crate::assets::{AssetSource, SCHEME};
use crate::ipc::{Origin, Reply, Router};
use crate::protocol::ErrorCode;

/// What one window's requests reach: its assets (none for a `url=` window) and its page.
pub struct Route {
    pub source: Option<AssetSource>,
    pub csp: String,
    pub page: Arc<Page>,
    pub router: Arc<Router>,
    pub origin: Origin,
}

/// Every window's route, by the id tagged on its webview (`tag`). Used on the GUI thread.
pub type Routes = Arc<Mutex<HashMap<String, Route>>>;

const ROUTE_DATA: &str = "auroraview-route";

/// Mark `view` as window `id`'s: its requests are served from that route.
pub fn tag(view: &webkit2gtk::WebView, id: &str) {
    // SAFETY: the key is ours alone and always holds a `String` (read back in `route_id`).
    unsafe { view.set_data(ROUTE_DATA, id.to_string()) }
}

fn route_id(request: &URISchemeRequest) -> Option<String> {
    let view = request.web_view()?;
    // SAFETY: set by `tag` with a `String`, never with another type.
    unsafe { view.data::<String>(ROUTE_DATA).map(|id| id.as_ref().clone()) }
}

/// Register the scheme on `context`, once per process (every window shares the context).
pub fn register(context: &WebContext, routes: Routes) {
    if let Some(security) = context.security_manager() {
        // Secure (no mixed-content blocking from https pages) and CORS-enabled (a `url=`
        // page may post to the call endpoint; the endpoint itself checks the origin).
        security.register_uri_scheme_as_secure(SCHEME);
        security.register_uri_scheme_as_cors_enabled(SCHEME);
    }
    context.register_uri_scheme(SCHEME, move |request| handle(&routes, request));
}

fn handle(routes: &Routes, request: &URISchemeRequest) {
    let path = request.path().map(|p| p.to_string()).unwrap_or_default();
    let id = route_id(request);
    if path == CALL_PATH {
        let found = id.and_then(|id| {
            routes.lock().get(&id).map(|r| (r.page.clone(), r.router.clone(), r.origin.clone(), r.source.is_some()))
        });
        match found {
            Some((page, router, origin, serves_assets)) => call(request, &page, &router, &origin, serves_assets),
            None => finish(request, status_only(404, None)),
        }
        return;
    }
    let uri = request.uri().map(|u| u.to_string()).unwrap_or_default();
    // What tells a navigation from a subresource (`assets::is_navigation`: SPA routes).
    let mut http = Request::builder().uri(uri);
    if let Some(headers) = request.http_headers() {
        for name in ["Accept", "Sec-Fetch-Mode"] {
            if let Some(value) = headers.one(name) {
                http = http.header(name, value.as_str());
            }
        }
    }
    let response = {
        let routes = routes.lock();
        match (id.and_then(|id| routes.get(&id)), http.body(Vec::new())) {
            (Some(Route { source: Some(source), csp, .. }), Ok(http)) => scheme::respond(source, csp, &http),
            _ => scheme::not_found(),
        }
    };
    finish(request, response);
}

/// A request to the call endpoint: checked, then read, then routed as a frame.
fn call(request: &URISchemeRequest, page: &Arc<Page>, router: &Arc<Router>, origin: &Origin, serves_assets: bool) {
    let headers = request.http_headers();
    let header = |name: &str| headers.as_ref().and_then(|h| h.one(name)).map(|v| v.to_string());
    let sent_origin = header("Origin");
    // Only the window's own origin may read a response: echoed back when it is the one.
    let allow = sent_origin.clone().filter(|o| Origin::parse(o).as_ref() == Some(origin));
    let method = request.http_method().map(|m| m.to_string()).unwrap_or_default();
    if method == "OPTIONS" {
        // A CORS preflight (a `url=` page's request carries the key header): no side effect.
        finish(request, preflight(allow.as_deref()));
        return;
    }
    let page_key = router.page_key(page.connection());
    let key = header(KEY_HEADER);
    if let Err(why) =
        scheme::admit_call(&method, sent_origin.as_deref(), key.as_deref(), origin, serves_assets, page_key.as_deref())
    {
        page.refuse();
        finish(request, status_only(why.status(), allow.as_deref()));
        return;
    }
    let limits = router.limits();
    let max = limits.max_message_bytes.saturating_add(limits.max_binary_bytes).saturating_add(64 * 1024);
    let announced = header("Content-Length").and_then(|n| n.trim().parse::<usize>().ok());
    if announced.is_some_and(|n| n > max) {
        finish(request, status_only(413, allow.as_deref()));
        return;
    }
    // A part of a large frame (upload.rs): checked against what its upload holds already.
    let part = match header(UPLOAD_HEADER).map(|v| upload::parse_part(&v)) {
        None => None,
        Some(Some(part)) => Some(part),
        Some(None) => {
            finish(request, status_only(400, allow.as_deref()));
            return;
        }
    };
    let conn = page.connection();
    if let Some(part) = part {
        if let Err(why) = page.uploads().admit(conn, part, announced.unwrap_or(0), max) {
            finish(request, status_only(why.status(), allow.as_deref()));
            return;
        }
    }
    let body = match read_body(request, announced, max) {
        Ok(body) => body,
        Err(status) => {
            if let Some(part) = part {
                page.uploads().forget(part.upload);
            }
            finish(request, status_only(status, allow.as_deref()));
            return;
        }
    };
    let frame = match part {
        None => body,
        Some(Part { upload, last: false }) => {
            let kept = page.uploads().keep(conn, upload, body, max);
            finish(request, status_only(kept.map_or_else(PartRefusal::status, |()| 204), allow.as_deref()));
            return;
        }
        Some(Part { upload, last: true }) => match page.uploads().complete(conn, upload, body, max) {
            Ok(frame) => frame,
            Err(why) => {
                finish(request, status_only(why.status(), allow.as_deref()));
                return;
            }
        },
    };
    let responder = CallResponder { request: Some(MainThreadRequest(request.clone())), allow };
    page.receive_frame(router, frame, Box::new(move |reply| responder.send(reply)));
}

/// Large bodies are read in chunks this size: each is its own mapping (over glibc's largest
/// mmap threshold, 32 MiB), so its memory goes back as soon as the host has copied it on
/// (`_core.Core.take`): a 100 MiB upload is held once by us, plus one chunk. The page posts
/// large frames in parts of this size too (`upload.rs`, the SDK's `UPLOAD_PART_BYTES`).
const CHUNK: usize = 33 * 1024 * 1024;

/// The request body, read after the checks, in chunks of at most `CHUNK`: `Err(status)` when
/// over `max` or unreadable.
fn read_body(request: &URISchemeRequest, announced: Option<usize>, max: usize) -> Result<Vec<Bytes>, u16> {
    let Some(stream) = request.http_body() else { return Ok(Vec::new()) };
    let mut chunks = Vec::new();
    let mut total = 0usize;
    // Sized from the announced length when there is one (no reallocation), else grown.
    let mut left = announced.unwrap_or(0);
    loop {
        let size = if left > 0 { left.min(CHUNK) } else { 64 * 1024 };
        let mut chunk = vec![0u8; size];
        let mut filled = 0;
        while filled < chunk.len() {
            match stream.read_all(&mut chunk[filled..], gio::Cancellable::NONE) {
                Ok((0, None)) => break,
                Ok((n, None)) => filled += n,
                _ => return Err(400),
            }
        }
        chunk.truncate(filled);
        total += filled;
        if total > max {
            return Err(413);
        }
        let ended = filled < size;
        if filled > 0 {
            chunks.push(Bytes::from(chunk));
        }
        left = left.saturating_sub(filled);
        if ended {
            return Ok(chunks);
        }
    }
}

/// A `URISchemeRequest` is a GTK-thread object: it only ever moves to be finished there.
struct MainThreadRequest(URISchemeRequest);

// SAFETY: the request is touched only inside `MainContext::invoke` closures, which run on
// the GUI thread that iterates the default main context (as wry's own responder does).
unsafe impl Send for MainThreadRequest {}

/// The reply of one call from the endpoint. Dropped unanswered (the router had nothing to
/// say: a dropped message, the page gone), it answers 500, so no request ever hangs.
struct CallResponder {
    request: Option<MainThreadRequest>,
    allow: Option<String>,
}

impl CallResponder {
    fn send(mut self, reply: Reply) {
        self.finish(reply);
    }

    fn finish(&mut self, reply: Reply) {
        let Some(request) = self.request.take() else { return };
        let allow = self.allow.take();
        glib::MainContext::default().invoke_with_priority(glib::Priority::DEFAULT, move || {
            let request = request;
            finish_reply(&request.0, reply, allow.as_deref());
        });
    }
}

impl Drop for CallResponder {
    fn drop(&mut self) {
        self.finish(Reply::Refused(ErrorCode::Internal));
    }
}

fn finish_reply(request: &URISchemeRequest, reply: Reply, allow: Option<&str>) {
    match reply {
        Reply::Frame(segments) => {
            let stream = gio::MemoryInputStream::new();
            let mut len = 0;
            for segment in segments {
                len += segment.len();
                stream.add_bytes(&glib::Bytes::from_owned(segment));
            }
            let response = URISchemeResponse::new(&stream, len as i64);
            response.set_status(200, None);
            response.set_content_type("application/octet-stream");
            response.set_http_headers(headers(allow));
            request.finish_with_response(&response);
        }
        Reply::Refused(code) => {
            let status = match code {
                ErrorCode::PayloadTooLarge => 413,
                ErrorCode::InvalidMessage => 400,
                ErrorCode::Forbidden => 403,
                ErrorCode::ShuttingDown => 503,
                _ => 500,
            };
            finish(request, status_only(status, allow));
        }
    }
}

fn headers(allow: Option<&str>) -> soup::MessageHeaders {
    let headers = soup::MessageHeaders::new(soup::MessageHeadersType::Response);
    headers.append("Cache-Control", "no-store");
    headers.append("X-Content-Type-Options", "nosniff");
    if let Some(origin) = allow {
        headers.append("Access-Control-Allow-Origin", origin);
        headers.append("Vary", "Origin");
    }
    headers
}

fn status_only(status: u16, allow: Option<&str>) -> Response<Cow<'static, [u8]>> {
    let mut response = Response::builder().status(status).header("Content-Type", "text/plain");
    if let Some(origin) = allow {
        response = response.header("Access-Control-Allow-Origin", origin).header("Vary", "Origin");
    }
    response
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .body(Cow::Borrowed(b"".as_slice()))
        .unwrap_or_else(|_| Response::new(Cow::Borrowed(b"".as_slice())))
}

fn preflight(allow: Option<&str>) -> Response<Cow<'static, [u8]>> {
    let mut response = Response::builder().status(204);
    if let Some(origin) = allow {
        response = response
            .header("Access-Control-Allow-Origin", origin)
            .header("Access-Control-Allow-Methods", "POST")
            .header("Access-Control-Allow-Headers", format!("{KEY_HEADER}, {UPLOAD_HEADER}"))
            .header("Access-Control-Max-Age", "600")
            .header("Vary", "Origin");
    }
    response.body(Cow::Borrowed(b"".as_slice())).unwrap_or_else(|_| Response::new(Cow::Borrowed(b"".as_slice())))
}

/// Finish `request` with an http response built by `scheme` (assets, refusals).
fn finish(request: &URISchemeRequest, response: Response<Cow<'static, [u8]>>) {
    let body = glib::Bytes::from_owned(response.body().clone().into_owned());
    let stream = gio::MemoryInputStream::from_bytes(&body);
    let reply = URISchemeResponse::new(&stream, body.len() as i64);
    reply.set_status(u32::from(response.status().as_u16()), None);
    if let Some(mime) = response.headers().get("Content-Type").and_then(|v| v.to_str().ok()) {
        reply.set_content_type(mime);
    }
    let headers = soup::MessageHeaders::new(soup::MessageHeadersType::Response);
    for (name, value) in response.headers() {
        headers.append(name.as_str(), value.to_str().unwrap_or(""));
    }
    reply.set_http_headers(headers);
    request.finish_with_response(&reply);
}
