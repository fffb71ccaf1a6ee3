//! The network transport (docs/network.md): HTTP for assets and one WebSocket endpoint that
//! carries the wire protocol, on the core's tokio runtime, joined to the app's router like a
//! window. The only code that touches axum.
//!
//! - `server`: binding, routes, HTTP admission (token, origin, capacity), shutdown;
//! - `session`: one WebSocket connection, authenticated at the upgrade (heartbeats, frames both
//!   ways, close codes);
//! - `sink`: a connection's outbound queue, bounded in bytes (slow consumers are cut off);
//! - `auth`: tokens, cookies, origins, pure and table-tested;
//! - `metrics`: the server's counters, as JSON and in the Prometheus text format;
//! - `echo`: a bare WebSocket echo on the same stack, the benchmark's floor.

mod auth;
mod echo;
mod metrics;
mod server;
mod session;
mod sink;

pub use auth::{generate_token, is_valid_token};
pub use echo::EchoServer;
pub use metrics::NetStats;
pub use server::{Server, ServerConfig};

/// Close codes (docs/network.md, "Close codes").
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const INVALID_MESSAGE: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const UNAUTHORIZED: u16 = 4001;
    pub const HEARTBEAT_TIMEOUT: u16 = 4002;
    pub const REVOKED: u16 = 4003;
    pub const SLOW_CONSUMER: u16 = 4008;
}
