//! Access rules: which connections may call a command. Pure (no router, no I/O), table-tested.
//!
//! A command may name the transports it is for and the origins it accepts. A connection
//! comes with an `Exposure` chosen by the transport that accepted it: windows, in-process
//! clients and child processes see every command without rules (`All`); a network server
//! either exposes every command (`auroraview serve MODULE:OBJECT`, whose purpose is to
//! serve that registry to token holders) or only those whose rules name the network
//! (`Declared`, the default of `app.serve()` in a program that also has windows).
//! See docs/network.md, "Which commands network clients may call".

use super::{ConnInfo, Origin, TransportKind};

/// A command's access rules. `None` means no rule of that kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The transports whose connections may call it.
    pub transports: Option<Vec<TransportKind>>,
    /// The origins whose connections may call it (exact scheme, host and port); a connection
    /// without an origin (in-process, Node, Python, child) never matches.
    pub origins: Option<Vec<Origin>>,
}

/// Which commands without rules a connection may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Every command without rules.
    All,
    /// Only commands whose `transports` name this connection's transport.
    Declared,
}

/// Whether a connection may call a command with `rule`; `Err` says why not (the message of
/// the `forbidden` reply, naming no secret).
pub fn authorize(method: &str, rule: &Access, info: &ConnInfo, exposure: Exposure) -> Result<(), String> {
    let transport = info.transport.as_str();
    match &rule.transports {
        Some(allowed) if !allowed.contains(&info.transport) => {
            return Err(format!("command {method:?} is not available to {transport} clients"));
        }
        None if exposure == Exposure::Declared => {
            return Err(format!(
                "command {method:?} is not exposed to {transport} clients (declare transports=(..., \"{transport}\") \
                 on it, or serve with expose=\"all\")"
            ));
        }
        _ => {}
    }
    if let Some(origins) = &rule.origins {
        let from = info.origin.as_deref().and_then(Origin::parse);
        if !from.is_some_and(|o| origins.contains(&o)) {
            let shown = info.origin.as_deref().unwrap_or("no origin");
            return Err(format!("command {method:?} is not available to connections from {shown}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransportKind::*;

    fn info(transport: TransportKind, origin: Option<&str>) -> ConnInfo {
        ConnInfo { origin: origin.map(str::to_owned), ..ConnInfo::new(transport) }
    }

    fn rule(transports: Option<&[TransportKind]>, origins: Option<&[&str]>) -> Access {
        Access {
            transports: transports.map(<[_]>::to_vec),
            origins: origins.map(|o| o.iter().map(|u| Origin::parse(u).unwrap()).collect()),
        }
    }

    #[test]
    fn access_table() {
        use Exposure::*;
        let tools = Some("https://tools.example.com");
        let page = Some("auroraview://localhost");
        let table: [(Access, ConnInfo, Exposure, bool); 18] = [
            // No rules: every connection whose transport exposes everything.
            (rule(None, None), info(Window, page), All, true),
            (rule(None, None), info(InProcess, None), All, true),
            (rule(None, None), info(Child, None), All, true),
            (rule(None, None), info(Network, None), All, true),
            // No rules, a server exposing only declared commands: refused.
            (rule(None, None), info(Network, tools), Declared, false),
            // Transport rules.
            (rule(Some(&[Window]), None), info(Window, page), All, true),
            (rule(Some(&[Window]), None), info(Network, None), All, false),
            (rule(Some(&[Window]), None), info(InProcess, None), All, false),
            (rule(Some(&[Window, Network]), None), info(Network, None), Declared, true),
            (rule(Some(&[Network]), None), info(Window, page), All, false),
            (rule(Some(&[Child]), None), info(Child, None), All, true),
            (rule(Some(&[]), None), info(Window, page), All, false),
            // Origin rules: exact (scheme, host, port); no origin never matches.
            (rule(None, Some(&["https://tools.example.com"])), info(Network, tools), All, true),
            (rule(None, Some(&["https://tools.example.com:443"])), info(Network, tools), All, true),
            (
                rule(None, Some(&["https://tools.example.com"])),
                info(Network, Some("https://tools.example.com.evil.io")),
                All,
                false,
            ),
            (
                rule(None, Some(&["https://tools.example.com"])),
                info(Network, Some("http://tools.example.com")),
                All,
                false,
            ),
            (rule(None, Some(&["https://tools.example.com"])), info(InProcess, None), All, false),
            // Both: both must hold.
            (rule(Some(&[Network]), Some(&["https://tools.example.com"])), info(Window, tools), All, false),
        ];
        for (rule, info, exposure, expected) in table {
            let got = authorize("api.x", &rule, &info, exposure);
            assert_eq!(got.is_ok(), expected, "{rule:?} {info:?} {exposure:?}: {got:?}");
        }
    }

    #[test]
    fn refusals_name_the_command_and_the_way_out() {
        let err = authorize("api.x", &Access::default(), &info(Network, None), Exposure::Declared).unwrap_err();
        assert!(err.contains("\"api.x\"") && err.contains("transports=") && err.contains("network"), "{err}");
        let err = authorize("api.x", &rule(Some(&[Window]), None), &info(Child, None), Exposure::All).unwrap_err();
        assert!(err.contains("child clients"), "{err}");
    }
}
