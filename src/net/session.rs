//! One WebSocket connection, authenticated at the upgrade (`server.rs`): frames both ways
//! through the router, heartbeats both ways, and every way it can end, each
//! with its documented close code (docs/network.md). The router never waits on the socket:
//! replies and events go through the connection's bounded queue (`sink.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;

use super::close;
use super::metrics::NetStats;
use super::server::Shared;
use super::sink::NetSink;
use crate::ipc::{ConnInfo, Exposure, Receipt, Sink, TransportKind};
use crate::protocol;

/// Who a token makes a connection.
#[derive(Debug, Clone)]
pub struct Grant {
    pub transport: TransportKind,
    pub peer: Option<String>,
    pub exposure: Exposure,
    /// The revocable token it came from (None: the server's own, revoked only by closing).
    pub token: Option<String>,
}

/// Frames written per wake-up before flushing: a burst of replies or events leaves in one
/// write instead of one syscall per frame.
const BATCH: usize = 256;

type Tx = SplitSink<WebSocket, Message>;
type Rx = SplitStream<WebSocket>;

/// How long a close frame may take to leave (a client that stopped reading never takes it).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

async fn close_with(tx: &mut Tx, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        let _ = tx.send(Message::Close(Some(frame))).await;
        let _ = tx.close().await;
    })
    .await;
}

/// Close a socket whose upgrade presented a wrong token (counted by the caller).
pub async fn refuse(socket: WebSocket) {
    let (mut tx, _rx) = socket.split();
    close_with(&mut tx, close::UNAUTHORIZED, "unauthorized").await;
}

/// Serve one socket, authenticated at the upgrade by `grant`, until it ends.
pub async fn run(
    shared: Arc<Shared>,
    socket: WebSocket,
    grant: Grant,
    origin: Option<String>,
    _peer: SocketAddr,
    revocations: watch::Receiver<u64>,
    batched: bool,
) {
    let stats = shared.stats.clone();
    NetStats::bump(&stats.connections_total);
    NetStats::bump(&stats.connections_open);
    let (mut tx, mut rx) = socket.split();
    serve(&shared, &mut tx, &mut rx, grant, origin, revocations, batched).await;
    stats.connections_open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

async fn serve(
    shared: &Arc<Shared>,
    tx: &mut Tx,
    rx: &mut Rx,
    grant: Grant,
    origin: Option<String>,
    mut revocations: watch::Receiver<u64>,
    batched: bool,
) {
    let stats = shared.stats.clone();
    let cfg = &shared.cfg;
    let router = &shared.router;
    let (sink, mut frames) = NetSink::new(cfg.max_outbound_bytes, stats.clone());
    let info = ConnInfo { transport: grant.transport, window: None, origin, peer: grant.peer.clone() };
    let conn = router.connect_exposed(sink.clone(), info, grant.exposure);
    NetStats::bump(&stats.authenticated);
    let heartbeat_ms = u64::try_from(cfg.heartbeat.as_millis()).unwrap_or(u64::MAX);
    let welcome = protocol::welcome(conn, heartbeat_ms);
    let mut last_sent = Instant::now();
    let mut last_heard = Instant::now();
    // Revoked between the upgrade and now (the watch was taken at the upgrade).
    let revoked = |grant: &Grant| grant.token.as_deref().is_some_and(|t| !shared.token_valid(t));
    if revoked(&grant) {
        router.disconnect(conn);
        NetStats::bump(&stats.revoked);
        close_with(tx, close::REVOKED, "token revoked").await;
        return;
    }
    let ended = 'session: {
        let mut shutdown = shared.shutdown.subscribe();
        if tokio::time::timeout(CLOSE_WAIT, tx.send(text(Bytes::from(welcome)))).await.map_or(true, |r| r.is_err()) {
            break 'session None;
        }
        let tick = (cfg.heartbeat / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break 'session Some((close::GOING_AWAY, "server shutting down")),
                _ = sink.overflow.notified() => {
                    NetStats::bump(&stats.slow_consumers);
                    break 'session Some((close::SLOW_CONSUMER, "slow consumer"));
                }
                changed = revocations.changed() => {
                    if changed.is_err() || revoked(&grant) {
                        NetStats::bump(&stats.revoked);
                        break 'session Some((close::REVOKED, "token revoked"));
                    }
                }
                frame = frames.recv() => {
                    let Some(frame) = frame else { break 'session None };
                    // A client that stops reading blocks this write once the socket's buffers
                    // are full: meanwhile the queue overflowing, the server closing or the
                    // client's heartbeat deadline passing still end the session.
                    let deadline = tokio::time::Instant::from_std(last_heard + cfg.heartbeat + cfg.heartbeat_timeout);
                    let write = write_batch(tx, &sink, &stats, frame, &mut frames, batched);
                    tokio::pin!(write);
                    tokio::select! {
                        biased;
                        _ = tokio::time::sleep_until(deadline) => {
                            NetStats::bump(&stats.heartbeat_timeouts);
                            break 'session Some((close::HEARTBEAT_TIMEOUT, "heartbeat timeout"));
                        }
                        _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                            // The frames this write took from the queue are in it alone:
                            // finish it (bounded), the rest of the queue follows below.
                            let _ = tokio::time::timeout(CLOSE_WAIT, &mut write).await;
                            break 'session Some((close::GOING_AWAY, "server shutting down"));
                        }
                        _ = sink.overflow.notified() => {
                            NetStats::bump(&stats.slow_consumers);
                            break 'session Some((close::SLOW_CONSUMER, "slow consumer"));
                        }
                        written = &mut write => {
                            if written.is_err() {
                                break 'session None;
                            }
                        }
                    }
                    last_sent = Instant::now();
                }
                msg = rx.next() => {
                    last_heard = Instant::now();
                    match msg {
                        Some(Ok(Message::Text(text))) => {
                            NetStats::bump(&stats.frames_in);
                            stats.bytes_in.fetch_add(text.len() as u64, std::sync::atomic::Ordering::Relaxed);
                            match router.receive(conn, text.as_bytes()) {
                                // Through the queue like every frame: a direct write would wait
                                // on a client that does not read, outside every bound.
                                Receipt::Ping => sink.send(Bytes::from_static(protocol::PONG)),
                                Receipt::Dropped if text.len() > router.limits().max_message_bytes => {
                                    NetStats::bump(&stats.too_large_frames);
                                    break 'session Some((close::TOO_BIG, "message too big"));
                                }
                                Receipt::Dropped => {
                                    NetStats::bump(&stats.invalid_frames);
                                    break 'session Some((close::INVALID_MESSAGE, "invalid message"));
                                }
                                _ => {}
                            }
                        }
                        Some(Ok(Message::Binary(data))) => {
                            // A call with attachments (docs/binary.md); its reply comes back
                            // as a binary message through the queue.
                            NetStats::bump(&stats.frames_in);
                            stats.bytes_in.fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                            if !protocol::is_frame(&data) {
                                NetStats::bump(&stats.binary_refused);
                                break 'session Some((close::UNSUPPORTED_DATA, "a binary message must be a frame (docs/binary.md)"));
                            }
                            if let Err(protocol::FrameError::TooLarge { .. }) =
                                protocol::frame_header(&data, router.limits().max_binary_bytes)
                            {
                                NetStats::bump(&stats.too_large_frames);
                                break 'session Some((close::TOO_BIG, "message too big"));
                            }
                            if router.receive_frame(conn, data, None) == Receipt::Dropped {
                                NetStats::bump(&stats.invalid_frames);
                                break 'session Some((close::INVALID_MESSAGE, "invalid message"));
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {} // a sign of life; tungstenite answers pings
                        Some(Ok(Message::Close(_))) | None => break 'session None,
                        Some(Err(err)) => {
                            if is_too_big(err) {
                                NetStats::bump(&stats.too_large_frames);
                                break 'session Some((close::TOO_BIG, "message too big"));
                            }
                            break 'session None;
                        }
                    }
                }
                _ = ticker.tick() => {
                    if last_heard.elapsed() > cfg.heartbeat + cfg.heartbeat_timeout {
                        NetStats::bump(&stats.heartbeat_timeouts);
                        break 'session Some((close::HEARTBEAT_TIMEOUT, "heartbeat timeout"));
                    }
                    if last_sent.elapsed() >= cfg.heartbeat {
                        sink.send(Bytes::from_static(protocol::PING));
                        last_sent = Instant::now();
                    }
                }
            }
        }
    };
    // Off the router first: its calls in flight are cancelled and nothing more is queued.
    router.disconnect(conn);
    frames.close();
    if matches!(ended, Some((close::GOING_AWAY, _))) {
        // A graceful stop: what was queued before it (replies to calls answered, events
        // emitted) still leaves, within `CLOSE_WAIT`; a handler that stopped the server still
        // gets its reply to its caller. Other endings (a slow or silent client) drop it.
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Ok(frame) = frames.try_recv() {
                if write_batch(tx, &sink, &stats, frame, &mut frames, batched).await.is_err() {
                    break;
                }
            }
        })
        .await;
    }
    while let Ok(frame) = frames.try_recv() {
        sink.written(frame.len()); // dropped unsent: the queue's bytes are released
    }
    if let Some((code, reason)) = ended {
        close_with(tx, code, reason).await;
    }
}

fn text(frame: Bytes) -> Message {
    if protocol::is_frame(&frame) {
        return Message::Binary(frame); // a reply with attachments (docs/binary.md)
    }
    // Frames are JSON the router built from valid UTF-8 (pydantic's output and our envelopes).
    match Utf8Bytes::try_from(frame) {
        Ok(t) => Message::Text(t),
        Err(_) => Message::Text(Utf8Bytes::from_static(
            r#"{"type":"event","event":"__auroraview_error","payload":"a frame was not UTF-8"}"#,
        )),
    }
}

/// Write `first` and whatever else is queued (up to `BATCH`), then flush once. On a batched
/// connection (`auroraview.batch`), consecutive text messages go out joined
/// (`protocol::Batcher`): the client handles one message event (and in a browser or the SDK
/// one `JSON.parse`) per batch instead of one per message.
async fn write_batch(
    tx: &mut Tx,
    sink: &NetSink,
    stats: &NetStats,
    first: Bytes,
    frames: &mut tokio::sync::mpsc::UnboundedReceiver<Bytes>,
    batched: bool,
) -> Result<(), axum::Error> {
    let mut next = Some(first);
    let mut n = 0;
    let mut batcher = protocol::Batcher::default();
    let mut ready = Vec::new();
    while let Some(frame) = next.take() {
        let len = frame.len();
        if batched {
            batcher.add(frame, &mut ready);
        } else {
            ready.push(frame);
        }
        for message in ready.drain(..) {
            tx.feed(text(message)).await?;
        }
        sink.written(len);
        NetStats::bump(&stats.frames_out);
        stats.bytes_out.fetch_add(len as u64, std::sync::atomic::Ordering::Relaxed);
        n += 1;
        if n < BATCH {
            next = frames.try_recv().ok();
        }
    }
    batcher.finish(&mut ready);
    for message in ready.drain(..) {
        tx.feed(text(message)).await?;
    }
    tx.flush().await
}

fn is_too_big(err: axum::Error) -> bool {
    let inner = err.into_inner();
    matches!(inner.downcast_ref::<tungstenite::Error>(), Some(tungstenite::Error::Capacity(_)))
}
