//! Who may use the server: its tokens, how a request presents one (bearer header, cookie,
//! `?token=`), and which browser origins may open the socket. Pure, table-tested.

use base64::Engine;

use crate::ipc::Origin;

/// A new token: 32 random bytes from the OS, base64url without padding (43 characters).
pub fn generate_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("cannot read random bytes for the token: {e}"))?;
    Ok(token_from(bytes))
}

/// The token of 32 random bytes: base64url, never starting with `-` (a printed token pasted
/// after `--token` must not read as an option; one draw in 64 did).
fn token_from(mut bytes: [u8; 32]) -> String {
    if bytes[0] >> 2 == 62 {
        bytes[0] ^= 0x80; // 62 → 30 (`e`): one value of the first six bits is never drawn
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token's format: that of a page key (22 to 128 characters of `[A-Za-z0-9_-]`), so that
/// it needs no escaping in a header, a subprotocol name, a URL or a cookie.
pub fn is_valid_token(token: &str) -> bool {
    crate::protocol::is_page_key(token)
}

/// Compare without returning early at the first difference (a timing side channel).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The cookie a browser gets when it opens the server's URL with the token. Named after the
/// port: cookies are per host, not per port, and two local servers must not overwrite each
/// other's.
pub fn cookie_name(port: u16) -> String {
    format!("auroraview_token_{port}")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// The WebSocket subprotocol the server selects; a client offers it together with
/// `auroraview.token.TOKEN` (browsers cannot set headers on a WebSocket, but can offer
/// subprotocols; Kubernetes passes bearer tokens the same way).
pub const SUBPROTOCOL: &str = "auroraview";
/// The subprotocol a client offers (before `auroraview`) to receive several messages in one
/// WebSocket message when several are queued: a JSON array of them (docs/network.md).
pub const BATCH_SUBPROTOCOL: &str = "auroraview.batch";
const TOKEN_PROTOCOL: &str = "auroraview.token.";

/// The token offered as an `auroraview.token.…` subprotocol in `Sec-WebSocket-Protocol`.
pub fn subprotocol_token(header: &str) -> Option<&str> {
    header.split(',').map(str::trim).find_map(|p| p.strip_prefix(TOKEN_PROTOCOL))
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The `token` query parameter of a request's query string.
pub fn query_token(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// The query string without its `token` parameter (for the redirect after the cookie is set).
pub fn strip_token(query: &str) -> String {
    query.split('&').filter(|p| !p.starts_with("token=") && !p.is_empty()).collect::<Vec<_>>().join("&")
}

/// Whether a WebSocket upgrade with this `Origin` header may proceed. No header: not a
/// browser (Node, Python), the token alone decides. Otherwise the origin must be one of the
/// server's own or on the allow-list, compared exactly; `null` and unparsable origins never
/// match.
pub fn origin_allowed(origin: Option<&str>, own: &[Origin], allowed: &[Origin]) -> bool {
    let Some(origin) = origin else { return true };
    match Origin::parse(origin) {
        Some(o) => own.contains(&o) || allowed.contains(&o),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(is_valid_token(&a));
        for bad in ["", "short", "has space in it but long enough", "ü-is-not-ascii-but-long-enough", &"x".repeat(129)]
        {
            assert!(!is_valid_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn tokens_never_start_with_a_dash() {
        // 0xF8 = 0b111110_00: the first six bits are 62, base64url's `-`.
        for first in [0xF8u8, 0xF9, 0xFA, 0xFB] {
            let mut bytes = [7u8; 32];
            bytes[0] = first;
            let token = token_from(bytes);
            assert!(!token.starts_with('-'), "{token}");
            assert_eq!(token.len(), 43);
            assert!(is_valid_token(&token));
        }
        let plain = token_from([0u8; 32]);
        assert_eq!(plain, "A".repeat(43), "other tokens are plain base64url");
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        for (a, b) in [("abc", "abd"), ("abc", "ab"), ("", "a"), ("abc", "ABC")] {
            assert!(!same_secret(a, b), "{a} {b}");
        }
    }

    #[test]
    fn tokens_are_read_from_headers_cookies_and_queries() {
        let name = cookie_name(8080);
        assert_eq!(cookie(&format!("a=1; {name}=T0k; b=2"), &name), Some("T0k"));
        assert_eq!(cookie(&format!("{name}=\"T0k\""), &name), Some("T0k"));
        assert_eq!(cookie("auroraview_token_8081=x", &name), None, "another port's cookie");
        assert_eq!(cookie("xauroraview_token_8080=x", &name), None);
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(subprotocol_token("auroraview, auroraview.token.T0k"), Some("T0k"));
        assert_eq!(subprotocol_token("auroraview.token.T0k,auroraview"), Some("T0k"));
        assert_eq!(subprotocol_token("auroraview"), None);
        assert_eq!(subprotocol_token("xauroraview.token.T0k"), None);
        assert_eq!(query_token("a=1&token=xyz&b=2"), Some("xyz"));
        assert_eq!(query_token("mytoken=xyz"), None);
        assert_eq!(strip_token("a=1&token=xyz&b=2"), "a=1&b=2");
        assert_eq!(strip_token("token=xyz"), "");
    }

    #[test]
    fn origins_are_matched_exactly() {
        let own =
            vec![Origin::parse("http://127.0.0.1:8080").unwrap(), Origin::parse("http://localhost:8080").unwrap()];
        let allowed = vec![Origin::parse("https://tools.example.com").unwrap()];
        let table: [(Option<&str>, bool); 10] = [
            (None, true),
            (Some("http://127.0.0.1:8080"), true),
            (Some("http://localhost:8080"), true),
            (Some("https://tools.example.com"), true),
            (Some("https://tools.example.com:443"), true),
            (Some("http://127.0.0.1:8081"), false),
            (Some("https://127.0.0.1:8080"), false),
            (Some("https://tools.example.com.evil.io"), false),
            (Some("null"), false),
            (Some("http://evil.example"), false),
        ];
        for (origin, expected) in table {
            assert_eq!(origin_allowed(origin, &own, &allowed), expected, "{origin:?}");
        }
    }
}
