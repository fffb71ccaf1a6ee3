//! Who is on the other end of a connection, and which connections an event is for.
//!
//! Every connection joins the app's one router with its identity: the transport that
//! carries it, the window label when it serves a window's page, the origin it was admitted
//! from, and a peer identity once a transport authenticates one. Access rules and event
//! targeting read it; handlers can ask for it through the call's connection id.

use super::ConnId;

/// The kind of transport a connection came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// A page in a native window (WebKit message handler, custom protocol).
    Window,
    /// An in-process client (`TestClient`, tools, benchmarks).
    InProcess,
    /// A WebSocket client: a browser tab, Node.js, a Python script (`src/net/`).
    Network,
    /// A child process launched by the app, connected back over the network transport with
    /// its own token; its `peer` is its child id.
    Child,
}

impl TransportKind {
    pub const ALL: [TransportKind; 4] =
        [TransportKind::Window, TransportKind::InProcess, TransportKind::Network, TransportKind::Child];

    pub const fn as_str(self) -> &'static str {
        match self {
            TransportKind::Window => "window",
            TransportKind::InProcess => "in_process",
            TransportKind::Network => "network",
            TransportKind::Child => "child",
        }
    }

    pub fn parse(name: &str) -> Option<TransportKind> {
        TransportKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A connection's identity, fixed when it connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub transport: TransportKind,
    /// The label of the window whose page this connection serves.
    pub window: Option<String>,
    /// The origin the connection was admitted from (`auroraview://localhost`, a dev server).
    pub origin: Option<String>,
    /// Who the peer proved to be (a token's subject, a child process id), once a transport
    /// authenticates one.
    pub peer: Option<String>,
}

impl ConnInfo {
    pub fn new(transport: TransportKind) -> ConnInfo {
        ConnInfo { transport, window: None, origin: None, peer: None }
    }

    pub fn window(label: impl Into<String>, origin: impl Into<String>) -> ConnInfo {
        ConnInfo {
            transport: TransportKind::Window,
            window: Some(label.into()),
            origin: Some(origin.into()),
            peer: None,
        }
    }
}

/// Which connections an event is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every open connection.
    All,
    /// One connection; gone means gone (its successor after a reload is another connection).
    Conn(ConnId),
    /// Whichever connection serves the window with this label (survives page reloads).
    Window(String),
    /// Every connection of one transport kind.
    Transport(TransportKind),
    /// Every connection whose authenticated peer is this (a child process's id).
    Peer(String),
}

impl Target {
    pub fn matches(&self, id: ConnId, info: &ConnInfo) -> bool {
        match self {
            Target::All => true,
            Target::Conn(conn) => *conn == id,
            Target::Window(label) => info.window.as_deref() == Some(label.as_str()),
            Target::Transport(kind) => info.transport == *kind,
            Target::Peer(peer) => info.peer.as_deref() == Some(peer.as_str()),
        }
    }

    /// Whether an event for this target is held for a connection that opens later when none
    /// matches now. A connection id never comes back, so events for one are not held.
    pub fn waits_for_connection(&self) -> bool {
        !matches!(self, Target::Conn(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_by_identity() {
        let page = ConnInfo::window("main", "auroraview://localhost");
        let other_page = ConnInfo::window("tools", "auroraview://localhost");
        let client = ConnInfo::new(TransportKind::InProcess);
        let child = ConnInfo { peer: Some("worker-1".into()), ..ConnInfo::new(TransportKind::Child) };
        let table: [(Target, ConnId, &ConnInfo, bool); 13] = [
            (Target::Peer("worker-1".into()), 4, &child, true),
            (Target::Peer("worker-2".into()), 4, &child, false),
            (Target::Peer("worker-1".into()), 2, &client, false),
            (Target::All, 1, &page, true),
            (Target::All, 2, &client, true),
            (Target::Conn(1), 1, &page, true),
            (Target::Conn(1), 2, &page, false),
            (Target::Window("main".into()), 1, &page, true),
            (Target::Window("main".into()), 3, &other_page, false),
            (Target::Window("main".into()), 2, &client, false),
            (Target::Transport(TransportKind::Window), 3, &other_page, true),
            (Target::Transport(TransportKind::Window), 2, &client, false),
            (Target::Transport(TransportKind::InProcess), 2, &client, true),
        ];
        for (target, id, info, expected) in table {
            assert_eq!(target.matches(id, info), expected, "{target:?} vs {id} {info:?}");
        }
    }

    #[test]
    fn transport_names_round_trip() {
        for kind in TransportKind::ALL {
            assert_eq!(TransportKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TransportKind::parse("carrier-pigeon"), None);
    }
}
