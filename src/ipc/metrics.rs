//! Per-command metrics: calls, outcomes by code, and a latency histogram (acceptance to
//! reply), kept with atomics so that recording costs a few increments per call. Rendered
//! as Prometheus text by the network transport (`src/net/metrics.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds of the latency buckets, in seconds (Prometheus `le`); one more bucket is +Inf.
pub const LATENCY_BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Distinct error codes kept per command; past this, codes a handler chose are counted as
/// `other` (a metric must not grow with whatever strings handlers make up).
const MAX_CODES: usize = 32;

/// One command's counters.
#[derive(Debug)]
pub struct MethodMetrics {
    pub name: String,
    calls: AtomicU64,
    ok: AtomicU64,
    errors: Mutex<Vec<(String, u64)>>,
    /// Non-cumulative counts per bucket (the last is +Inf).
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// A read of one command's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodSnapshot {
    pub name: String,
    /// Calls answered (any outcome).
    pub calls: u64,
    pub ok: u64,
    /// Failed calls by error code.
    pub errors: Vec<(String, u64)>,
    /// Cumulative counts per `LATENCY_BUCKETS` bound, then +Inf (= `calls`).
    pub cumulative: Vec<u64>,
    pub sum_seconds: f64,
}

impl MethodMetrics {
    pub fn new(name: &str) -> MethodMetrics {
        MethodMetrics {
            name: name.to_owned(),
            calls: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
            buckets: Default::default(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// One call answered after `elapsed`: `Ok` or the error code it was answered with.
    pub fn record(&self, outcome: Result<(), &str>, elapsed: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(()) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(code) => {
                let mut errors = self.errors.lock();
                if let Some(slot) = errors.iter_mut().find(|(c, _)| c == code) {
                    slot.1 += 1;
                } else if errors.len() < MAX_CODES {
                    errors.push((code.to_owned(), 1));
                } else if let Some(slot) = errors.iter_mut().find(|(c, _)| c == "other") {
                    slot.1 += 1;
                } else {
                    errors.push(("other".to_owned(), 1));
                }
            }
        }
        let secs = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS.iter().position(|le| secs <= *le).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(elapsed.as_micros().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MethodSnapshot {
        let mut running = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        MethodSnapshot {
            name: self.name.clone(),
            calls: self.calls.load(Ordering::Relaxed),
            ok: self.ok.load(Ordering::Relaxed),
            errors: self.errors.lock().clone(),
            cumulative,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_buckets_are_counted() {
        let m = MethodMetrics::new("api.x");
        m.record(Ok(()), Duration::from_micros(50));
        m.record(Ok(()), Duration::from_millis(3));
        m.record(Err("invalid_params"), Duration::from_millis(3));
        m.record(Err("invalid_params"), Duration::from_secs(60));
        let s = m.snapshot();
        assert_eq!((s.calls, s.ok), (4, 2));
        assert_eq!(s.errors, vec![("invalid_params".to_owned(), 2)]);
        assert_eq!(s.cumulative.len(), LATENCY_BUCKETS.len() + 1);
        assert_eq!(s.cumulative[0], 1, "50 µs is under the first bound");
        assert_eq!(s.cumulative[5], 3, "3 ms is under 5 ms");
        assert_eq!(s.cumulative[LATENCY_BUCKETS.len() - 1], 3, "60 s is over the last bound");
        assert_eq!(*s.cumulative.last().unwrap(), 4);
        assert!((s.sum_seconds - 60.00605).abs() < 1e-9, "{}", s.sum_seconds);
    }

    #[test]
    fn made_up_codes_cannot_grow_the_metric() {
        let m = MethodMetrics::new("api.x");
        for i in 0..100 {
            m.record(Err(&format!("code_{i}")), Duration::ZERO);
        }
        let s = m.snapshot();
        assert_eq!(s.errors.len(), MAX_CODES + 1);
        assert_eq!(s.errors.last().unwrap(), &("other".to_owned(), 100 - MAX_CODES as u64));
    }
}
