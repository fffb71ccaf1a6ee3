//! Origins compared exactly: (scheme, host, port), never by prefix or suffix. Used by every
//! transport (a window's page URL, a WebSocket's `Origin` header); no wry here.

/// A URL's origin, normalized: lower-case scheme and host, explicit port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    /// The origin of an absolute URL; `None` for opaque ones (`data:`, `about:blank`, ...).
    pub fn parse(url: &str) -> Option<Origin> {
        let uri: http::Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None; // userinfo: refuse rather than guess which part is the host
        }
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || !host.is_ascii() {
            return None;
        }
        let port = authority.port_u16().or(match scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        });
        Some(Origin { scheme, host, port })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}://{}:{port}", self.scheme, self.host),
            None => write!(f, "{}://{}", self.scheme, self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    #[test]
    fn exact_origin_matching() {
        let app = Origin::parse("https://app.example.com/index.html").unwrap();
        let same =
            ["https://app.example.com", "https://APP.example.com:443/x?y#z", "HTTPS://app.example.com./deep/path"];
        for url in same {
            assert_eq!(Origin::parse(url).as_ref(), Some(&app), "{url}");
        }
        let different = [
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.attacker.com",
            "https://evil-app.example.com",
            "https://app.evil.com",
            "https://example.com",
            "https://user@app.example.com",
            "https://app.example.com@attacker.com",
            "wss://app.example.com",
        ];
        for url in different {
            assert_ne!(Origin::parse(url).as_ref(), Some(&app), "{url}");
        }
        for opaque in ["data:text/html,<p>", "about:blank", "null", "", "/relative", "javascript:alert(1)"] {
            assert_eq!(Origin::parse(opaque), None, "{opaque}");
        }
        let local = Origin::parse("auroraview://localhost/").unwrap();
        assert_eq!(Origin::parse("auroraview://localhost/index.html").as_ref(), Some(&local));
        assert_ne!(Origin::parse("auroraview://localhost.evil/").as_ref(), Some(&local));
        assert_ne!(Origin::parse("http://localhost/").as_ref(), Some(&local));
    }
}
