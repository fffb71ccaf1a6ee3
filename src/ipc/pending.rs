//! The pending-call table: every accepted call, from acceptance until its one reply.
//!
//! Invariant: a call is in the table from acceptance until its single terminal reply is
//! sent; whoever removes it (its result, a timeout, a cancel, its connection closing,
//! shutdown) sends that reply, and nobody else can, because removal is `take` and happens
//! under the router's lock. A call's timer is aborted when the call leaves the table.
//! Stream and channel items travel while their call is here (`Router::item`); their credit
//! is the host's to keep (docs/streams.md).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::AbortHandle;

use super::metrics::MethodMetrics;
use super::{CallKey, ConnId, Responder};
use crate::protocol::CallId;

/// A call in flight.
struct Entry {
    conn: ConnId,
    id: CallId,
    timer: Option<AbortHandle>,
    /// The command's metrics and when the call was accepted (recorded at its reply).
    metrics: Option<(Arc<MethodMetrics>, Instant)>,
    /// Where the reply goes when not to the connection's sink (docs/binary.md).
    reply: Option<Responder>,
}

/// A call taken out of the table to be answered.
pub struct Taken {
    pub conn: ConnId,
    pub id: CallId,
    pub metrics: Option<(Arc<MethodMetrics>, Instant)>,
    pub reply: Option<Responder>,
}

/// Why a new call could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its id is already in flight on the connection: answering would settle the caller's
    /// original promise with the wrong reply, so it is dropped (and counted).
    DuplicateId,
    /// The connection already has `max_in_flight` calls in flight.
    Overloaded,
}

#[derive(Default)]
pub struct Pending {
    calls: HashMap<CallKey, Entry>,
    /// Calls in flight per connection, by the client's id.
    by_conn: HashMap<ConnId, HashMap<CallId, CallKey>>,
    next_key: CallKey,
}

impl Pending {
    /// Reserve a key for a new call `id` on `conn` (at most `max_in_flight` per connection).
    /// The call is in the table once `start` gives it its timer.
    pub fn admit(&mut self, conn: ConnId, id: &CallId, max_in_flight: usize) -> Result<CallKey, Refusal> {
        let ids = self.by_conn.entry(conn).or_default();
        if ids.contains_key(id) {
            return Err(Refusal::DuplicateId);
        }
        if ids.len() >= max_in_flight {
            return Err(Refusal::Overloaded);
        }
        self.next_key += 1;
        ids.insert(id.clone(), self.next_key);
        Ok(self.next_key)
    }

    /// Put an admitted call in the table with its timer (if it has a timeout).
    pub fn start(
        &mut self,
        key: CallKey,
        conn: ConnId,
        id: CallId,
        timer: Option<AbortHandle>,
        metrics: Option<(Arc<MethodMetrics>, Instant)>,
        reply: Option<Responder>,
    ) {
        self.calls.insert(key, Entry { conn, id, timer, metrics, reply });
    }

    /// Remove call `key` to answer it: its connection and id, or None when it was answered
    /// already. The one place a call leaves the table.
    pub fn take(&mut self, key: CallKey) -> Option<Taken> {
        let entry = self.calls.remove(&key)?;
        if let Some(timer) = entry.timer {
            timer.abort();
        }
        if let Some(ids) = self.by_conn.get_mut(&entry.conn) {
            ids.remove(&entry.id);
        }
        Some(Taken { conn: entry.conn, id: entry.id, metrics: entry.metrics, reply: entry.reply })
    }

    /// The connection and id of call `key`, while it is in flight.
    pub fn call(&self, key: CallKey) -> Option<(ConnId, &CallId)> {
        self.calls.get(&key).map(|e| (e.conn, &e.id))
    }

    /// The key of call `id` in flight on `conn`.
    pub fn find(&self, conn: ConnId, id: &CallId) -> Option<CallKey> {
        self.by_conn.get(&conn)?.get(id).copied()
    }

    /// Remove every call of `conn` (it closed): their keys, for the host to cancel. Nobody
    /// is answered: there is no one left to answer (a call's `Responder`, dropped, answers
    /// its request on its own).
    pub fn take_conn(&mut self, conn: ConnId) -> Vec<CallKey> {
        let keys: Vec<CallKey> = self.by_conn.remove(&conn).map(|ids| ids.into_values().collect()).unwrap_or_default();
        for key in &keys {
            if let Some(entry) = self.calls.remove(key) {
                if let Some(timer) = entry.timer {
                    timer.abort();
                }
            }
        }
        keys
    }

    /// Every call in flight.
    pub fn keys(&self) -> Vec<CallKey> {
        self.calls.keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> CallId {
        CallId::Int(n)
    }

    #[test]
    fn a_call_leaves_the_table_exactly_once() {
        let mut p = Pending::default();
        let key = p.admit(1, &id(7), 10).unwrap();
        p.start(key, 1, id(7), None, None, None);
        assert_eq!(p.find(1, &id(7)), Some(key));
        assert_eq!(p.take(key).map(|t| (t.conn, t.id)), Some((1, id(7))));
        assert!(p.take(key).is_none(), "a second answer finds nothing to answer");
        assert_eq!(p.find(1, &id(7)), None);
        assert_eq!(p.len(), 0);
        let again = p.admit(1, &id(7), 10).unwrap();
        assert_ne!(again, key, "keys are never reused");
    }

    #[test]
    fn duplicate_ids_and_the_in_flight_limit_are_per_connection() {
        let mut p = Pending::default();
        let a = p.admit(1, &id(1), 2).unwrap();
        p.start(a, 1, id(1), None, None, None);
        assert_eq!(p.admit(1, &id(1), 2), Err(Refusal::DuplicateId));
        let b = p.admit(2, &id(1), 2).unwrap();
        p.start(b, 2, id(1), None, None, None);
        let c = p.admit(1, &CallId::Str("x".into()), 2).unwrap();
        p.start(c, 1, CallId::Str("x".into()), None, None, None);
        assert_eq!(p.admit(1, &id(3), 2), Err(Refusal::Overloaded));
        assert_eq!(p.by_conn[&1].len(), 2);
        assert_eq!(p.by_conn[&2].len(), 1);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn closing_a_connection_takes_only_its_calls() {
        let mut p = Pending::default();
        for (conn, n) in [(1, 1), (1, 2), (2, 1)] {
            let key = p.admit(conn, &id(n), 10).unwrap();
            p.start(key, conn, id(n), None, None, None);
        }
        let mut taken = p.take_conn(1);
        taken.sort_unstable();
        assert_eq!(taken.len(), 2);
        for key in taken {
            assert!(p.take(key).is_none(), "a call of a closed connection cannot be answered");
        }
        assert_eq!(p.len(), 1);
        assert_eq!(p.keys().len(), 1);
        assert!(p.take_conn(1).is_empty());
    }

    #[test]
    fn taking_a_call_aborts_its_timer() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let timer = rt.spawn(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });
        let mut p = Pending::default();
        let key = p.admit(1, &id(1), 10).unwrap();
        p.start(key, 1, id(1), Some(timer.abort_handle()), None, None);
        p.take(key);
        let outcome = rt.block_on(timer);
        assert!(outcome.unwrap_err().is_cancelled());
    }
}
