//! The `auroraview://` custom protocol's rules: every asset response carries the CSP and
//! `nosniff` (RELIABILITY.md case 22), and who may use the call endpoint (docs/binary.md).
//! Pure: the GTK side is `endpoint.rs`; what to serve is `assets.rs`'s concern.

use std::borrow::Cow;

use wry::http::{Request, Response};

use crate::assets::AssetSource;
use crate::ipc::{same_key, Origin};

/// Where a page posts calls in binary frames (docs/binary.md). Assets never shadow it.
pub const CALL_PATH: &str = "/__auroraview/call";
/// The header carrying the document's key on the call endpoint.
pub const KEY_HEADER: &str = "X-AuroraView-Key";

/// Why a request to the call endpoint was refused, before its body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallRefusal {
    /// Not a `POST` (405).
    Method,
    /// From an origin that is not the window's, or without one where one is required (403).
    Origin,
    /// Without the current document's key, or with another (403).
    Key,
}

impl CallRefusal {
    pub fn status(self) -> u16 {
        match self {
            CallRefusal::Method => 405,
            CallRefusal::Origin | CallRefusal::Key => 403,
        }
    }
}

/// Whether a request to the call endpoint may become a call. `origin`: its `Origin` header
/// (WebKit sends none for a same-origin request, so its absence is accepted only in a window
/// serving its own assets at `auroraview://localhost`); `key`: its key header; `page_key`:
/// the key the window's current document bound with its `hello` (none yet: refused).
pub fn admit_call(
    method: &str,
    origin: Option<&str>,
    key: Option<&str>,
    window_origin: &Origin,
    serves_assets: bool,
    page_key: Option<&str>,
) -> Result<(), CallRefusal> {
    if method != "POST" {
        return Err(CallRefusal::Method);
    }
    let origin_ok = match origin {
        Some(o) => Origin::parse(o).as_ref() == Some(window_origin),
        None => serves_assets,
    };
    if !origin_ok {
        return Err(CallRefusal::Origin);
    }
    match (key, page_key) {
        (Some(key), Some(bound)) if same_key(key, bound) => Ok(()),
        _ => Err(CallRefusal::Key),
    }
}

/// Answer one custom-protocol request from `source`.
pub fn respond(source: &AssetSource, csp: &str, request: &Request<Vec<u8>>) -> Response<Cow<'static, [u8]>> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let navigation = crate::assets::is_navigation(header("sec-fetch-mode"), header("accept"));
    let served = source.serve_page(request.uri().path(), navigation);
    Response::builder()
        .status(served.status)
        .header("Content-Type", served.mime)
        .header("Content-Security-Policy", csp)
        .header("X-Content-Type-Options", "nosniff")
        .body(served.body)
        .unwrap_or_else(|_| Response::new(Cow::Borrowed(b"".as_slice())))
}

/// The answer for a request no window's assets serve.
pub fn not_found() -> Response<Cow<'static, [u8]>> {
    Response::builder()
        .status(404)
        .header("Content-Type", "text/plain")
        .header("X-Content-Type-Options", "nosniff")
        .body(Cow::Borrowed(b"not found".as_slice()))
        .unwrap_or_else(|_| Response::new(Cow::Borrowed(b"".as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_endpoint_admits_only_the_current_document_of_the_window_origin() {
        const KEY: &str = "0123456789abcdef0123456789abcdef";
        const OTHER: &str = "fedcba9876543210fedcba9876543210";
        let assets = Origin::parse("auroraview://localhost").unwrap();
        let dev = Origin::parse("http://127.0.0.1:5173").unwrap();
        use CallRefusal::{Key, Method, Origin as BadOrigin};
        type Case<'a> =
            (&'a str, Option<&'a str>, Option<&'a str>, &'a Origin, bool, Option<&'a str>, Result<(), CallRefusal>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("POST", None, Some(KEY), &assets, true, Some(KEY), Ok(())),
            ("POST", Some("auroraview://localhost"), Some(KEY), &assets, true, Some(KEY), Ok(())),
            ("POST", Some("http://127.0.0.1:5173"), Some(KEY), &dev, false, Some(KEY), Ok(())),
            ("GET", None, Some(KEY), &assets, true, Some(KEY), Err(Method)),
            ("OPTIONS", Some("http://127.0.0.1:5173"), None, &dev, false, Some(KEY), Err(Method)),
            ("POST", None, Some(KEY), &dev, false, Some(KEY), Err(BadOrigin)),
            ("POST", Some("http://127.0.0.1:5174"), Some(KEY), &dev, false, Some(KEY), Err(BadOrigin)),
            ("POST", Some("http://evil.example"), Some(KEY), &assets, true, Some(KEY), Err(BadOrigin)),
            ("POST", Some("null"), Some(KEY), &assets, true, Some(KEY), Err(BadOrigin)),
            ("POST", None, None, &assets, true, Some(KEY), Err(Key)),
            ("POST", None, Some(OTHER), &assets, true, Some(KEY), Err(Key)),
            ("POST", None, Some(""), &assets, true, Some(KEY), Err(Key)),
            ("POST", None, Some(KEY), &assets, true, None, Err(Key)),
            ("POST", Some("http://127.0.0.1:5173"), Some(&KEY[1..]), &dev, false, Some(KEY), Err(Key)),
        ];
        for (i, (method, origin, key, window, assets_, page_key, want)) in cases.iter().enumerate() {
            assert_eq!(admit_call(method, *origin, *key, window, *assets_, *page_key), *want, "case {i}");
        }
    }

    #[test]
    fn every_response_carries_the_csp_and_nosniff() {
        let source = AssetSource::Html("<p>hi</p>".into());
        for path in ["/", "/index.html", "/missing.js", "/../etc/passwd"] {
            let request = Request::builder().uri(format!("auroraview://localhost{path}")).body(Vec::new()).unwrap();
            let response = respond(&source, "default-src 'self'", &request);
            assert_eq!(response.headers()["Content-Security-Policy"], "default-src 'self'", "{path}");
            assert_eq!(response.headers()["X-Content-Type-Options"], "nosniff", "{path}");
        }
    }
}
