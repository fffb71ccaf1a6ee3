//! The server's counters, and the two ways they are read: JSON (`/__auroraview/stats`, for
//! `auroraview monitor` and tests) and the Prometheus text format (`/__auroraview/metrics`,
//! opt-in): per-command calls, errors by code and a latency histogram, connections, queues.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ipc::{Router, LATENCY_BUCKETS};

macro_rules! net_stats {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[derive(Default, Debug)]
        pub struct NetStats { $($(#[$doc])* pub $name: AtomicU64,)* }

        impl NetStats {
            /// Every counter with its name, in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

net_stats! {
    /// WebSocket connections open now (authenticated or not).
    connections_open,
    /// WebSocket connections accepted since the server started.
    connections_total,
    /// Connections that authenticated (received `welcome`).
    authenticated,
    /// Upgrades or first frames refused for a missing or wrong token (401 / close 4001).
    auth_failures,
    /// Upgrades refused for their `Origin` (403).
    refused_origin,
    /// Upgrades refused because `max_connections` were open (503).
    refused_capacity,
    /// Binary messages refused for not being binary frames (docs/binary.md; close 1003).
    binary_refused,
    /// Connections closed for a frame that was not a message and had no id to answer (1007).
    invalid_frames,
    /// Connections closed for a frame over the size limit (1009).
    too_large_frames,
    /// Connections closed because the client stopped answering heartbeats (4002).
    heartbeat_timeouts,
    /// Connections cut off because their outbound queue exceeded `max_outbound_bytes` (4008).
    slow_consumers,
    /// Connections closed because their token was revoked (4003).
    revoked,
    /// Text frames received and sent.
    frames_in,
    frames_out,
    /// Bytes of text frames received and sent.
    bytes_in,
    bytes_out,
    /// Bytes waiting in outbound queues now.
    queued_bytes,
    /// HTTP requests for assets, and those refused for a missing or wrong token.
    http_requests,
    http_unauthorized,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl NetStats {
    pub(super) fn bump(counter: &AtomicU64) {
        bump(counter);
    }
}

/// The server's and the router's counters as one JSON object.
pub fn stats_json(net: &NetStats, router: &Router) -> String {
    let mut obj = serde_json::Map::new();
    let mut server = serde_json::Map::new();
    for (k, v) in net.snapshot() {
        server.insert(k.into(), v.into());
    }
    let mut routing = serde_json::Map::new();
    for (k, v) in router.stats().snapshot() {
        routing.insert(k.into(), v.into());
    }
    routing.insert("in_flight".into(), router.in_flight().into());
    let commands: Vec<serde_json::Value> = router
        .method_metrics()
        .into_iter()
        .map(|m| {
            let errors: serde_json::Map<String, serde_json::Value> =
                m.errors.iter().map(|(c, n)| (c.clone(), (*n).into())).collect();
            serde_json::json!({"name": m.name, "calls": m.calls, "ok": m.ok, "errors": errors, "seconds": m.sum_seconds})
        })
        .collect();
    let mut by_transport = serde_json::Map::new();
    for (_, info) in router.connections() {
        let entry = by_transport.entry(info.transport.as_str()).or_insert(serde_json::Value::from(0u64));
        *entry = (entry.as_u64().unwrap_or(0) + 1).into();
    }
    obj.insert("server".into(), server.into());
    obj.insert("router".into(), routing.into());
    obj.insert("connections".into(), by_transport.into());
    obj.insert("commands".into(), commands.into());
    serde_json::Value::Object(obj).to_string()
}

/// Escape a Prometheus label value.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The Prometheus text exposition format (version 0.0.4).
pub fn prometheus(net: &NetStats, router: &Router) -> String {
    let mut out = String::with_capacity(4096);
    let gauges = ["connections_open", "queued_bytes"];
    for (name, value) in net.snapshot() {
        let kind = if gauges.contains(&name) { "gauge" } else { "counter" };
        let metric = match (kind, name.ends_with("_total")) {
            ("counter", false) => format!("auroraview_net_{name}_total"),
            _ => format!("auroraview_net_{name}"),
        };
        let _ = writeln!(out, "# TYPE {metric} {kind}\n{metric} {value}");
    }
    for (name, value) in router.stats().snapshot() {
        let _ = writeln!(out, "# TYPE auroraview_router_{name}_total counter\nauroraview_router_{name}_total {value}");
    }
    let _ = writeln!(out, "# TYPE auroraview_calls_in_flight gauge\nauroraview_calls_in_flight {}", router.in_flight());
    let _ = writeln!(out, "# TYPE auroraview_connections gauge");
    let mut counts = std::collections::BTreeMap::new();
    for (_, info) in router.connections() {
        *counts.entry(info.transport.as_str()).or_insert(0u64) += 1;
    }
    for (transport, n) in counts {
        let _ = writeln!(out, "auroraview_connections{{transport=\"{transport}\"}} {n}");
    }
    let methods = router.method_metrics();
    let _ = writeln!(out, "# TYPE auroraview_command_calls_total counter");
    for m in &methods {
        let name = label(&m.name);
        let _ = writeln!(out, "auroraview_command_calls_total{{command=\"{name}\",outcome=\"ok\"}} {}", m.ok);
        for (code, n) in &m.errors {
            let _ = writeln!(
                out,
                "auroraview_command_calls_total{{command=\"{name}\",outcome=\"error\",code=\"{}\"}} {n}",
                label(code)
            );
        }
    }
    let _ = writeln!(out, "# TYPE auroraview_command_seconds histogram");
    for m in &methods {
        let name = label(&m.name);
        for (le, count) in LATENCY_BUCKETS.iter().zip(&m.cumulative) {
            let _ = writeln!(out, "auroraview_command_seconds_bucket{{command=\"{name}\",le=\"{le}\"}} {count}");
        }
        let total = m.cumulative.last().copied().unwrap_or(0);
        let _ = writeln!(out, "auroraview_command_seconds_bucket{{command=\"{name}\",le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "auroraview_command_seconds_sum{{command=\"{name}\"}} {}", m.sum_seconds);
        let _ = writeln!(out, "auroraview_command_seconds_count{{command=\"{name}\"}} {total}");
    }
    out
}
