//! The `auroraview://` custom-protocol handler: every response it serves carries the CSP
//! and `nosniff` (RELIABILITY.md case 22). What to serve is `assets.rs`'s concern.

use std::borrow::Cow;

use wry::http::{Request, Response};

use crate::assets::AssetSource;

/// Answer one custom-protocol request from `source`.
pub fn respond(source: &AssetSource, csp: &str, request: &Request<Vec<u8>>) -> Response<Cow<'static, [u8]>> {
    let served = source.serve(request.uri().path());
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
