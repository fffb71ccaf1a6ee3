//! A bare WebSocket echo on the server's own stack (axum on the core's runtime): the floor
//! the network benchmark measures the transport against. No router, no Python, no JSON.

use std::net::SocketAddr;

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Handle;
use tokio::sync::watch;

pub struct EchoServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl EchoServer {
    /// Echo every text frame on `ws://host:port/` (port 0: any free one).
    pub fn start(host: &str, port: u16, rt: &Handle) -> Result<EchoServer, String> {
        let std_listener =
            std::net::TcpListener::bind((host, port)).map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
        std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(|e| e.to_string())?
        };
        let app = axum::Router::new().route(
            "/",
            get(|ws: WebSocketUpgrade| async move {
                // The same read chunk as our sessions: the floor is the same stack.
                ws.read_buffer_size(super::server::READ_CHUNK).on_upgrade(|socket| async move {
                    let (mut tx, mut rx) = socket.split();
                    while let Some(Ok(msg)) = rx.next().await {
                        if matches!(msg, Message::Close(_)) {
                            break;
                        }
                        let echo = matches!(msg, Message::Text(_) | Message::Binary(_));
                        if echo && tx.send(msg).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        );
        let (stop, mut stopped) = watch::channel(false);
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(EchoServer { addr, stop })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn close(&self) {
        self.stop.send_replace(true);
    }
}
