//! The one rule for events emitted before anyone they are meant for is connected.
//!
//! An event whose target matches no open connection (a broadcast with nobody connected, a
//! window whose page has not connected yet or is reloading, a transport nobody uses yet) is
//! held, in emit order, and handed to the first connection its target matches when it
//! connects. At most `max_backlog_events` are held; past that the oldest is dropped and
//! counted (the host logs the first drop). An event for one connection id is never held: a
//! connection that is gone never comes back.
//!
//! This is the only such buffer. Past it, frames are the connection's transport's business:
//! a window's page holds them (bounded, dropped and counted past `MAX_HELD_FRAMES`) until
//! its bridge says `ready`; an in-process client's queue is drained by its own loop.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{ConnId, ConnInfo, Target};

pub struct Held {
    events: VecDeque<(Target, Bytes)>,
    limit: usize,
}

impl Held {
    pub fn new(limit: usize) -> Held {
        Held { events: VecDeque::new(), limit }
    }

    /// Hold `frame` for `target`. True when the oldest held event was dropped to make room.
    pub fn push(&mut self, target: Target, frame: Bytes) -> bool {
        if self.limit == 0 {
            return true;
        }
        let dropped = self.events.len() >= self.limit;
        if dropped {
            self.events.pop_front();
        }
        self.events.push_back((target, frame));
        dropped
    }

    /// The held events a new connection matches, in emit order; they are no longer held.
    pub fn take_for(&mut self, id: ConnId, info: &ConnInfo) -> Vec<Bytes> {
        if self.events.is_empty() {
            return Vec::new();
        }
        let mut taken = Vec::new();
        self.events.retain(|(target, frame)| {
            let mine = target.matches(id, info);
            if mine {
                taken.push(frame.clone());
            }
            !mine
        });
        taken
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::TransportKind;

    fn frame(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn held_events_go_to_the_first_matching_connection_in_order() {
        let mut held = Held::new(10);
        held.push(Target::All, frame("a"));
        held.push(Target::Window("main".into()), frame("b"));
        held.push(Target::Transport(TransportKind::InProcess), frame("c"));
        held.push(Target::All, frame("d"));
        let client = ConnInfo::new(TransportKind::InProcess);
        assert_eq!(held.take_for(1, &client), vec![frame("a"), frame("c"), frame("d")]);
        assert_eq!(held.take_for(2, &client), Vec::<Bytes>::new(), "taken once");
        let other = ConnInfo::window("tools", "auroraview://localhost");
        assert!(held.take_for(3, &other).is_empty());
        let main = ConnInfo::window("main", "auroraview://localhost");
        assert_eq!(held.take_for(4, &main), vec![frame("b")]);
        assert_eq!(held.len(), 0);
    }

    #[test]
    fn past_the_limit_the_oldest_is_dropped_and_reported() {
        let mut held = Held::new(2);
        assert!(!held.push(Target::All, frame("1")));
        assert!(!held.push(Target::All, frame("2")));
        assert!(held.push(Target::All, frame("3")));
        assert_eq!(held.len(), 2);
        assert_eq!(held.take_for(1, &ConnInfo::new(TransportKind::InProcess)), vec![frame("2"), frame("3")]);
        let mut none = Held::new(0);
        assert!(none.push(Target::All, frame("x")), "a zero limit holds nothing and says so");
        assert_eq!(none.len(), 0);
    }
}
