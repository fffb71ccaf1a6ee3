//! Brokers sharing an app's topics between processes (docs/topics.md, "Across processes"):
//! Redis (`redis://`, `rediss://`) and NATS JetStream (`nats://`), selected by URL.
//!
//! A broker orders each topic's publications (one epoch, consecutive offsets, whichever
//! process published) and feeds what it ordered to every process's router
//! (`Router::mirror_sync`, `Router::mirror_accept`), whose topics then fan out to their
//! subscribers and keep history exactly as they do alone. Each broker has one task that
//! writes to the routers' topics, so a topic's messages reach it in the broker's order.
//!
//! While the broker is down, publishes fail with `unavailable` (nothing is published),
//! subscriptions to topics this process follows already are answered from its own history,
//! and new ones fail with `unavailable`. When it returns, every followed topic is synced
//! again from the broker: what was missed is sent, in order; what cannot be fetched any more
//! (or a broker that lost its data: a new epoch) reaches subscribers as a gap they report.

pub mod nats;
pub mod redis;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::ipc::{Router, TopicBroker};
use crate::protocol::{ErrorCode, ErrorReply};

/// A broker: the topics' `TopicBroker`, and how it is doing.
pub trait Broker: TopicBroker {
    fn health(&self) -> &Health;
    /// Stop its tasks; publishes and follows fail from then on.
    fn close(&self);
}

/// Connect `router`'s topics to the broker at `url` (keys and subjects under `prefix`). The
/// link is made in the background and kept: a broker that is down now is reported down
/// and joined when it comes up.
pub fn connect(url: &str, prefix: &str, router: &Arc<Router>) -> Result<Arc<dyn Broker>, String> {
    if !valid_prefix(prefix) {
        return Err(format!(
            "broker prefix {prefix:?}: 1 to 64 characters of [A-Za-z0-9_-] (it names the broker's keys or streams)"
        ));
    }
    let runtime = crate::runtime::handle()?;
    let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
    let broker: Arc<dyn Broker> = match scheme {
        "redis" | "rediss" | "unix" | "redis+unix" => {
            redis::RedisBroker::start(url, prefix, Arc::downgrade(router), &runtime)?
        }
        "nats" | "tls" => nats::NatsBroker::start(url, prefix, Arc::downgrade(router), &runtime)?,
        _ => return Err(format!("unknown broker URL {:?}: use redis://host:port/db or nats://host:port", redact(url))),
    };
    if !router.set_broker(broker.clone()) {
        broker.close();
        return Err("this app shares its topics through a broker already".into());
    }
    Ok(broker)
}

fn valid_prefix(prefix: &str) -> bool {
    (1..=64).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `url` without its password (for messages and status).
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Whether the broker is reachable, and since when; transitions are logged to stderr.
pub struct Health {
    url: String,
    state: Mutex<HealthState>,
}

#[derive(Clone, Debug)]
struct HealthState {
    up: bool,
    since: SystemTime,
    outages: u64,
    last_error: Option<String>,
}

/// A snapshot of `Health`, for `App.broker_status()` and metrics.
#[derive(Clone, Debug)]
pub struct Status {
    pub url: String,
    pub up: bool,
    /// Seconds since the Unix epoch when it last went up or down.
    pub since: f64,
    /// How many times the link was lost (or could not be made) since it was last up.
    pub outages: u64,
    pub last_error: Option<String>,
}

impl Health {
    pub fn new(url: &str) -> Health {
        Health {
            url: redact(url),
            state: Mutex::new(HealthState { up: false, since: SystemTime::now(), outages: 0, last_error: None }),
        }
    }

    pub fn up(&self) {
        let mut st = self.state.lock();
        if !st.up {
            if st.outages > 0 {
                eprintln!("auroraview: the topics broker {} is back", self.url);
            }
            st.up = true;
            st.since = SystemTime::now();
        }
    }

    pub fn down(&self, why: &str) {
        let mut st = self.state.lock();
        if st.up || st.outages == 0 {
            eprintln!("auroraview: the topics broker {} is down: {why}", self.url);
            st.outages += 1;
            st.since = SystemTime::now();
        }
        st.up = false;
        st.last_error = Some(why.to_owned());
    }

    pub fn is_up(&self) -> bool {
        self.state.lock().up
    }

    pub fn status(&self) -> Status {
        let st = self.state.lock().clone();
        Status {
            url: self.url.clone(),
            up: st.up,
            since: st.since.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            outages: st.outages,
            last_error: st.last_error,
        }
    }

    /// The error a publish or follow gets while the broker is down.
    pub fn unavailable(&self, what: &str) -> ErrorReply {
        let why = self.state.lock().last_error.clone().unwrap_or_else(|| "not connected yet".into());
        ErrorReply::framework(ErrorCode::Unavailable, format!("{what}: the topics broker {} is down ({why})", self.url))
    }
}

/// When a message published at `unix_ms` (the broker's clock) was published, on this
/// process's monotonic clock (for the history's age limit).
pub fn instant_of(unix_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let age = Duration::from_millis(now_ms.saturating_sub(unix_ms));
    Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
}

/// Exponential backoff for re-linking: 50 ms doubling to 2 s.
pub struct Backoff(Duration);

impl Backoff {
    pub fn new() -> Backoff {
        Backoff(Duration::from_millis(50))
    }
    pub fn pause(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(2));
        d
    }
    pub fn reset(&mut self) {
        self.0 = Duration::from_millis(50);
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

/// The router, if the app still exists.
pub fn router(weak: &Weak<Router>) -> Option<Arc<Router>> {
    weak.upgrade()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password_in_messages() {
        #[rustfmt::skip]
        let cases = [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://user:secret@h:1/0", "redis://user:***@h:1/0"),
            ("redis://:secret@h:1", "redis://:***@h:1"),
            ("nats://token@h:4222", "nats://token@h:4222"),
            ("nats://a:b@c@h:4222", "nats://a:***@h:4222"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn prefixes_are_short_and_plain() {
        for good in ["a", "auroraview", "my_app-2", &"x".repeat(64)] {
            assert!(valid_prefix(good), "{good}");
        }
        for bad in ["", "a:b", "a.b", "a b", "a*", &"x".repeat(65)] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }

    #[test]
    fn health_counts_outages_once_each() {
        let h = Health::new("redis://x");
        assert!(!h.is_up());
        h.down("refused");
        h.down("refused again");
        assert_eq!(h.status().outages, 1);
        h.up();
        assert!(h.is_up());
        h.down("reset");
        let st = h.status();
        assert_eq!((st.up, st.outages, st.last_error.as_deref()), (false, 2, Some("reset")));
        assert!(h.unavailable("publish on \"t\"").message.contains("is down (reset)"));
        assert_eq!(h.unavailable("x").code, "unavailable");
    }

    #[test]
    fn backoff_doubles_to_two_seconds_and_resets() {
        let mut b = Backoff::new();
        let got: Vec<u64> = (0..8).map(|_| b.pause().as_millis() as u64).collect();
        assert_eq!(got, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        b.reset();
        assert_eq!(b.pause().as_millis(), 50);
    }
}
