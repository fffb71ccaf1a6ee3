//! The server: binds, routes, admits HTTP requests and WebSocket upgrades, and shuts down.
//!
//! Routes (docs/network.md): `/__auroraview/ws` (the wire), `/__auroraview/client.js` (the
//! SDK bundle defining `window.auroraview` over this socket, injected into served HTML),
//! `/__auroraview/stats`, `/__auroraview/metrics` (opt-in), and assets for every other path.
//! Everything but `client.js` needs the token.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use axum::routing::get;
use axum::Router as HttpRouter;
use parking_lot::RwLock;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::auth::{self, same_secret};
use super::metrics::{self, NetStats};
use super::session::{self, Grant};
use crate::assets::AssetSource;
use crate::ipc::{Exposure, Origin, Router, TransportKind};

/// The SDK client bundle for pages served over HTTP (built from sdk-ts/src/ws-global.ts).
const CLIENT_JS: &str = include_str!("client.gen.js");
const CLIENT_TAG: &str = r#"<script src="/__auroraview/client.js"></script>"#;

/// How a server is set up (Python's `App.serve` and `auroraview serve` fill it in).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: String,
    /// 0: any free port.
    pub port: u16,
    pub token: String,
    pub assets: Option<AssetSource>,
    pub csp: String,
    /// Browser origins allowed besides the server's own.
    pub origins: Vec<Origin>,
    /// Which commands without access rules network clients may call.
    pub exposure: Exposure,
    pub heartbeat: Duration,
    pub heartbeat_timeout: Duration,
    pub max_outbound_bytes: usize,
    pub max_connections: usize,
    pub metrics: bool,
}

pub(super) struct Shared {
    pub router: Arc<Router>,
    pub cfg: ServerConfig,
    pub stats: Arc<NetStats>,
    /// Tokens besides the server's: a child process's, with its identity.
    pub grants: RwLock<HashMap<String, Grant>>,
    /// Bumped when a token is revoked: sessions re-check theirs.
    pub revocations: watch::Sender<u64>,
    pub shutdown: watch::Sender<bool>,
    own_origins: Vec<Origin>,
    port: u16,
}

impl Shared {
    /// The identity a token grants, if it is one of the server's.
    pub fn grant(&self, token: &str) -> Option<Grant> {
        if same_secret(token, &self.cfg.token) {
            return Some(Grant {
                transport: TransportKind::Network,
                peer: None,
                exposure: self.cfg.exposure,
                token: None,
            });
        }
        // Every grant is compared (no early exit on the map's lookup of a secret).
        let grants = self.grants.read();
        let mut found = None;
        for (t, g) in grants.iter() {
            if same_secret(token, t) {
                found = Some(g.clone());
            }
        }
        found
    }

    pub fn token_valid(&self, token: &str) -> bool {
        self.grants.read().contains_key(token)
    }
}

/// A running server. Dropping it does not stop it: call `close`.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    done: parking_lot::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Server {
    /// Bind and start serving on `rt`. Binding happens here, so a taken port or a bad host
    /// is an error now, not later in a background task.
    pub fn start(router: Arc<Router>, cfg: ServerConfig, rt: &Handle) -> Result<Server, String> {
        if !auth::is_valid_token(&cfg.token) {
            return Err("the token must be 22 to 128 characters of [A-Za-z0-9_-]".into());
        }
        let addr = (cfg.host.as_str(), cfg.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve host {:?}: {e}", cfg.host))?
            .next()
            .ok_or_else(|| format!("host {:?} resolves to no address", cfg.host))?;
        let std_listener = std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        std_listener.set_nonblocking(true).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(|e| format!("cannot listen on {addr}: {e}"))?
        };
        let port = addr.port();
        let mut own_origins: Vec<Origin> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .filter_map(|h| Origin::parse(&format!("http://{h}:{port}")))
            .collect();
        let bound = match addr {
            SocketAddr::V4(a) => format!("http://{}:{port}", a.ip()),
            SocketAddr::V6(a) => format!("http://[{}]:{port}", a.ip()),
        };
        if let Some(o) = Origin::parse(&bound) {
            own_origins.push(o);
        }
        if let Some(o) = Origin::parse(&format!("http://{}:{port}", cfg.host)) {
            own_origins.push(o);
        }
        if cfg.metrics {
            router.enable_metrics();
        }
        let (shutdown, _) = watch::channel(false);
        let (revocations, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            router,
            cfg,
            stats: Arc::new(NetStats::default()),
            grants: RwLock::new(HashMap::new()),
            revocations,
            shutdown,
            own_origins,
            port,
        });
        let app = HttpRouter::new()
            .route("/__auroraview/ws", get(upgrade))
            .route("/__auroraview/client.js", get(client_js))
            .route("/__auroraview/stats", get(stats))
            .route("/__auroraview/metrics", get(prometheus))
            .fallback(assets)
            .with_state(shared.clone());
        let mut stop = shared.shutdown.subscribe();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(accepting(listener), service)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            let _ = done_tx.send(());
        });
        Ok(Server { shared, addr, done: parking_lot::Mutex::new(Some(done_rx)) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token(&self) -> &str {
        &self.shared.cfg.token
    }

    pub fn stats(&self) -> &NetStats {
        &self.shared.stats
    }

    pub fn stats_json(&self) -> String {
        metrics::stats_json(&self.shared.stats, &self.shared.router)
    }

    pub fn prometheus(&self) -> String {
        metrics::prometheus(&self.shared.stats, &self.shared.router)
    }

    /// Let connections authenticating with `token` in, as `transport` with identity `peer`
    /// (a child process). Every command without rules is callable by them.
    pub fn add_token(&self, token: &str, transport: TransportKind, peer: Option<String>) -> Result<(), String> {
        if !auth::is_valid_token(token) {
            return Err("the token must be 22 to 128 characters of [A-Za-z0-9_-]".into());
        }
        if same_secret(token, &self.shared.cfg.token) {
            return Err("that is the server's own token".into());
        }
        let grant = Grant { transport, peer, exposure: Exposure::All, token: Some(token.into()) };
        self.shared.grants.write().insert(token.to_owned(), grant);
        Ok(())
    }

    /// Stop accepting `token`; its open connections are closed with 4003. False if unknown.
    pub fn revoke_token(&self, token: &str) -> bool {
        let removed = self.shared.grants.write().remove(token).is_some();
        if removed {
            self.shared.revocations.send_modify(|n| *n += 1);
        }
        removed
    }

    /// Stop: the listener closes and every connection is closed with 1001 (its calls in
    /// flight are cancelled). Waits up to `wait` for the listener to be gone.
    pub fn close(&self, wait: Duration) {
        self.shared.shutdown.send_replace(true);
        let done = self.done.lock().take();
        if let Some(done) = done {
            let _ = done.recv_timeout(wait);
        }
    }

    pub fn is_closed(&self) -> bool {
        *self.shared.shutdown.borrow()
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token a request presents: bearer header, the `auroraview.token.…` subprotocol (what
/// a WHATWG WebSocket can send), then the port's cookie. `None`: none at all.
fn presented_token<'a>(shared: &Shared, headers: &'a HeaderMap) -> Option<&'a str> {
    if let Some(token) = header_str(headers, header::AUTHORIZATION).and_then(auth::bearer) {
        return Some(token);
    }
    if let Some(token) = header_str(headers, header::SEC_WEBSOCKET_PROTOCOL).and_then(auth::subprotocol_token) {
        return Some(token);
    }
    let cookies = header_str(headers, header::COOKIE)?;
    auth::cookie(cookies, &auth::cookie_name(shared.port))
}

fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut res = Response::new(Body::from(message.to_owned()));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response<Body> {
    let stats = &shared.stats;
    if *shared.shutdown.borrow() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down");
    }
    let origin = header_str(&headers, header::ORIGIN);
    if !auth::origin_allowed(origin, &shared.own_origins, &shared.cfg.origins) {
        NetStats::bump(&stats.refused_origin);
        return plain(StatusCode::FORBIDDEN, "origin not allowed");
    }
    // Nothing is read from a socket before it is authenticated (a first-frame `hello` would
    // let anyone make the server buffer a frame of the full size limit). Refusals are
    // accepted, then closed with 4001: a browser sees an HTTP refusal only as 1006 and
    // would retry a stale cookie forever; 4001 tells it to stop.
    let ws = ws.protocols([auth::BATCH_SUBPROTOCOL, auth::SUBPROTOCOL]).max_message_size(1024).max_frame_size(1024);
    let batched = ws.selected_protocol().is_some_and(|p| p == auth::BATCH_SUBPROTOCOL);
    let Some(grant) = presented_token(&shared, &headers).and_then(|t| shared.grant(t)) else {
        NetStats::bump(&stats.auth_failures);
        return ws.on_upgrade(session::refuse);
    };
    if stats.connections_open.load(Ordering::Relaxed) >= shared.cfg.max_connections as u64 {
        NetStats::bump(&stats.refused_capacity);
        return plain(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    }
    let origin = origin.map(str::to_owned);
    let limits = shared.router.limits();
    let max = limits.max_message_bytes;
    // Frames up to twice the message limit are read, so that an oversized call still gets
    // its `payload_too_large` reply; beyond that the connection is closed with 1009. A binary
    // message may also hold `max_binary_bytes` of attachments (docs/binary.md).
    let hard =
        max.saturating_mul(2).max(max.saturating_add(limits.max_binary_bytes).saturating_add(64 * 1024)).max(1024);
    // The revocation watch starts before the welcome, so a token revoked in between is seen.
    let revocations = shared.revocations.subscribe();
    // tungstenite zeroes its read buffer's free space (up to `read_buffer_size`) before every
    // read attempt, and the session polls the socket each time it wakes to write: with the
    // 128 KiB default, zeroing was 28 % of a server's CPU fanning a topic out to 1,000
    // subscribers. A smaller read chunk only means more reads for a large message.
    ws.max_message_size(hard).max_frame_size(hard).read_buffer_size(READ_CHUNK).on_upgrade(move |socket| async move {
        session::run(shared, socket, grant, origin, peer, revocations, batched).await;
    })
}

/// What a session reads from its socket at most at once (see `upgrade`).
pub(super) const READ_CHUNK: usize = 16 * 1024;

async fn client_js() -> Response<Body> {
    let mut res = Response::new(Body::from(CLIENT_JS));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// Whether a plain HTTP request holds the token (bearer, cookie or `?token=`).
fn http_authorized(shared: &Shared, headers: &HeaderMap, uri: &Uri) -> bool {
    let token = presented_token(shared, headers).or_else(|| uri.query().and_then(auth::query_token));
    token.is_some_and(|t| same_secret(t, &shared.cfg.token))
}

async fn stats(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response<Body> {
    if !http_authorized(&shared, &headers, &uri) {
        NetStats::bump(&shared.stats.http_unauthorized);
        return plain(StatusCode::UNAUTHORIZED, "this needs the server's token");
    }
    let mut res = Response::new(Body::from(metrics::stats_json(&shared.stats, &shared.router)));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

async fn prometheus(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response<Body> {
    if !shared.cfg.metrics {
        return plain(StatusCode::NOT_FOUND, "metrics are off (serve with metrics on)");
    }
    if !http_authorized(&shared, &headers, &uri) {
        NetStats::bump(&shared.stats.http_unauthorized);
        return plain(StatusCode::UNAUTHORIZED, "this needs the server's token");
    }
    let mut res = Response::new(Body::from(metrics::prometheus(&shared.stats, &shared.router)));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

async fn assets(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
    let stats = &shared.stats;
    NetStats::bump(&stats.http_requests);
    let uri = req.uri().clone();
    let headers = req.headers();
    let query_token = uri.query().and_then(auth::query_token);
    if let Some(token) = query_token {
        if !same_secret(token, &shared.cfg.token) {
            NetStats::bump(&stats.http_unauthorized);
            return plain(StatusCode::UNAUTHORIZED, "wrong token");
        }
        // Jupyter's way: keep the token in an HttpOnly cookie and take it out of the URL.
        let rest = uri.query().map(auth::strip_token).unwrap_or_default();
        // One leading slash: `//host/x` would send the browser to another host.
        let path = format!("/{}", uri.path().trim_start_matches('/'));
        let location = if rest.is_empty() { path } else { format!("{path}?{rest}") };
        let cookie =
            format!("{}={}; HttpOnly; SameSite=Strict; Path=/", auth::cookie_name(shared.port), shared.cfg.token);
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::SEE_OTHER;
        let h = res.headers_mut();
        if let (Ok(loc), Ok(cookie)) = (HeaderValue::from_str(&location), HeaderValue::from_str(&cookie)) {
            h.insert(header::LOCATION, loc);
            h.insert(header::SET_COOKIE, cookie);
        }
        return res;
    }
    if !presented_token(&shared, headers).is_some_and(|t| same_secret(t, &shared.cfg.token)) {
        NetStats::bump(&stats.http_unauthorized);
        return plain(
            StatusCode::UNAUTHORIZED,
            "this auroraview server needs its token: open the URL it printed (…/?token=…)",
        );
    }
    let Some(source) = &shared.cfg.assets else {
        return plain(StatusCode::NOT_FOUND, "this server has no assets; clients connect to /__auroraview/ws");
    };
    let source = source.clone();
    let path = uri.path().to_owned();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let navigation = crate::assets::is_navigation(header("sec-fetch-mode"), header("accept"));
    let served = match tokio::task::spawn_blocking(move || source.serve_page(&path, navigation)).await {
        Ok(served) => served,
        Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    let mut body = served.body.into_owned();
    if served.status == 200 && served.mime.starts_with("text/html") {
        body = inject_client(&body);
    }
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::from_u16(served.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = res.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&served.mime) {
        h.insert(header::CONTENT_TYPE, mime);
    }
    if let Ok(csp) = HeaderValue::from_str(&shared.cfg.csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// Put the client script first in `<head>` (or first in the document), so that
/// `window.auroraview` exists before any page script runs, as in a window.
fn inject_client(html: &[u8]) -> Vec<u8> {
    let lower: Vec<u8> = html.iter().take(4096).map(u8::to_ascii_lowercase).collect();
    let at = find(&lower, b"<head").and_then(|i| lower[i..].iter().position(|b| *b == b'>').map(|j| i + j + 1));
    let at = at.unwrap_or(0);
    let mut out = Vec::with_capacity(html.len() + CLIENT_TAG.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(CLIENT_TAG.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The listener every connection is accepted through.
fn accepting(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    axum::serve::ListenerExt::tap_io(listener, tune)
}

/// No Nagle delay: replies and events are small writes the client waits for, and a write
/// behind an unacknowledged one otherwise waits for the client's delayed ACK (~40 ms).
fn tune(tcp: &mut tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    /// A reply written right after another small write must leave at once, not wait for the
    /// client's delayed ACK (Nagle's algorithm: a ~40 ms stall after a burst of replies).
    #[tokio::test]
    async fn accepted_connections_have_no_nagle_delay() {
        let bound = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = bound.local_addr().unwrap();
        let mut listener = super::accepting(bound);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (io, _) = Listener::accept(&mut listener).await;
        assert!(io.nodelay().unwrap(), "TCP_NODELAY is set on every accepted connection");
    }

    use super::inject_client;

    mod raw {
        //! A server on a router nobody handles, and a raw WebSocket client of it.
        use std::io::{Read, Write};
        use std::net::TcpStream;
        use std::sync::Arc;
        use std::time::Duration;

        use crate::ipc::{Dispatcher, Exposure, Op, Router};
        use crate::protocol::Limits;

        struct Nobody;
        impl Dispatcher for Nobody {
            fn dispatch(&self, _: Op) {}
        }

        pub const TOKEN: &str = "tttttttttttttttttttttttttttttttt";

        pub fn start() -> (tokio::runtime::Runtime, Arc<Router>, super::super::Server) {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let router = Router::new(Limits::default(), Arc::new(Nobody), Some(rt.handle().clone()));
            let cfg = super::super::ServerConfig {
                host: "127.0.0.1".into(),
                port: 0,
                token: TOKEN.into(),
                assets: None,
                csp: String::new(),
                origins: vec![],
                exposure: Exposure::All,
                heartbeat: Duration::from_secs(15),
                heartbeat_timeout: Duration::from_secs(10),
                max_outbound_bytes: 1 << 20,
                max_connections: 10,
                metrics: false,
            };
            let server = super::super::Server::start(router.clone(), cfg, rt.handle()).unwrap();
            (rt, router, server)
        }

        /// Upgrade (with `extra` header lines) and read the welcome; the upgrade's answer.
        pub fn connect(server: &super::super::Server, extra: &str) -> (TcpStream, String) {
            let mut s = TcpStream::connect(server.local_addr()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                s,
                "GET /__auroraview/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                 Authorization: Bearer {TOKEN}\r\n{extra}\r\n"
            )
            .unwrap();
            let mut response = Vec::new();
            while !response.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                s.read_exact(&mut byte).unwrap();
                response.push(byte[0]);
            }
            let response = String::from_utf8(response).unwrap();
            assert!(response.starts_with("HTTP/1.1 101"), "{response}");
            let (opcode, welcome) = read_frame(&mut s);
            assert_eq!(opcode, 1);
            assert!(String::from_utf8(welcome).unwrap().contains(r#""type":"welcome""#));
            (s, response)
        }

        /// One WebSocket frame: its opcode and payload.
        pub fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
            let mut head = [0u8; 2];
            s.read_exact(&mut head).unwrap();
            let len = match head[1] & 0x7f {
                126 => {
                    let mut n = [0u8; 2];
                    s.read_exact(&mut n).unwrap();
                    u64::from(u16::from_be_bytes(n))
                }
                127 => {
                    let mut n = [0u8; 8];
                    s.read_exact(&mut n).unwrap();
                    u64::from_be_bytes(n)
                }
                n => u64::from(n),
            };
            let mut payload = vec![0u8; usize::try_from(len).unwrap()];
            s.read_exact(&mut payload).unwrap();
            (head[0] & 0x0f, payload)
        }
    }

    /// A client gets through the upgrade (101, then the welcome frame), and a message
    /// larger than one read of the socket (`READ_CHUNK`) arrives whole and is answered.
    #[test]
    fn a_client_is_welcomed_and_a_message_larger_than_one_read_is_answered() {
        use std::io::Write;

        let (_rt, _router, server) = raw::start();
        let (mut s, _) = raw::connect(&server, "");
        // A call of 3 read chunks to a method nobody has: answered as such, so read whole.
        let pad = "x".repeat(3 * super::READ_CHUNK);
        let call = format!(r#"{{"type":"call","id":7,"method":"nope","params":{{"pad":"{pad}"}}}}"#);
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | 127];
        frame.extend_from_slice(&(call.len() as u64).to_be_bytes());
        frame.extend_from_slice(&mask);
        frame.extend(call.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        s.write_all(&frame).unwrap();
        let (opcode, reply) = raw::read_frame(&mut s);
        assert_eq!(opcode, 1);
        let reply = String::from_utf8(reply).unwrap();
        assert!(reply.contains(r#""id":7"#) && reply.contains("method_not_found"), "{reply}");
        server.close(std::time::Duration::from_secs(5));
    }

    /// A client that offers `auroraview.batch` gets it selected, and messages queued together
    /// come as JSON arrays of them, every one once and in order; a client that does not
    /// offer it gets one message per WebSocket message.
    #[test]
    fn messages_queued_together_come_as_one_batch_to_a_client_that_offered_it() {
        let (_rt, router, server) = raw::start();
        for offered in [true, false] {
            let extra = if offered { "Sec-WebSocket-Protocol: auroraview.batch, auroraview\r\n" } else { "" };
            let (mut s, answer) = raw::connect(&server, extra);
            assert_eq!(
                answer.to_ascii_lowercase().contains("sec-websocket-protocol: auroraview.batch"),
                offered,
                "{answer}"
            );
            let n = 2_000;
            for i in 0..n {
                router.emit(&crate::ipc::Target::All, "tick", format!("{i}").as_bytes());
            }
            let (mut seen, mut messages, mut batches) = (Vec::new(), 0, 0);
            while seen.len() < n {
                let (opcode, payload) = raw::read_frame(&mut s);
                assert_eq!(opcode, 1);
                messages += 1;
                let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                let events = match value {
                    serde_json::Value::Array(events) => {
                        assert!(events.len() > 1, "a batch of one is sent as that one");
                        batches += 1;
                        events
                    }
                    event => vec![event],
                };
                seen.extend(events.into_iter().map(|e| e["payload"].as_u64().unwrap()));
            }
            assert_eq!(seen, (0..n as u64).collect::<Vec<_>>(), "every event once, in order");
            if offered {
                assert!(batches > 0 && messages < n, "{messages} messages, {batches} batches");
            } else {
                assert_eq!((messages, batches), (n, 0));
            }
        }
        server.close(std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_client_script_goes_first_in_head() {
        let tag = super::CLIENT_TAG;
        assert_eq!(
            String::from_utf8(inject_client(b"<!doctype html><html><HEAD lang=x><title>t</title></head>")).unwrap(),
            format!("<!doctype html><html><HEAD lang=x>{tag}<title>t</title></head>")
        );
        assert_eq!(String::from_utf8(inject_client(b"<p>hi</p>")).unwrap(), format!("{tag}<p>hi</p>"));
    }
}
