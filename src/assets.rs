//! What pages are served: a folder of assets or one inline page, for the `auroraview://` custom
//! protocol (windows) and for HTTP (the network transport). Pure request → response logic,
//! tested without a window or a socket (RELIABILITY.md case 22).

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// The scheme pages are served from; their origin is `auroraview://localhost`.
pub const SCHEME: &str = "auroraview";
pub const ORIGIN: &str = "auroraview://localhost";

/// Default Content-Security-Policy: only this app's own origin, no plugins, no framing.
/// `unsafe-inline` for scripts and styles because small tool pages inline them; override
/// it per window for stricter apps.
pub const DEFAULT_CSP: &str = "default-src 'self' auroraview:; script-src 'self' 'unsafe-inline' auroraview:; \
style-src 'self' 'unsafe-inline' auroraview:; img-src 'self' data: blob: auroraview:; \
connect-src 'self' auroraview:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Debug, Clone)]
pub enum AssetSource {
    /// Files under this folder (canonical path).
    Folder(PathBuf),
    /// One page served as `/index.html`.
    Html(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssetResponse {
    pub status: u16,
    pub mime: String,
    pub body: Cow<'static, [u8]>,
}

impl AssetResponse {
    fn error(status: u16, message: &str) -> Self {
        AssetResponse {
            status,
            mime: "text/plain; charset=utf-8".into(),
            body: Cow::Owned(message.as_bytes().to_vec()),
        }
    }
}

impl AssetSource {
    /// A folder source; the folder must exist.
    pub fn folder(path: &Path) -> std::io::Result<Self> {
        let root = path.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a folder", root.display()),
            ));
        }
        Ok(AssetSource::Folder(root))
    }

    /// Serve a page's request: as `serve`, except that a navigation (`is_navigation`) to a
    /// path that is not there and names no file (its last segment has no `.`: an SPA route
    /// such as `/settings/profile`) gets the folder's `index.html`, so the page's router
    /// can take it. Missing scripts, styles and images (not navigations, or with an
    /// extension) stay 404, as do forbidden paths.
    pub fn serve_page(&self, raw_path: &str, navigation: bool) -> AssetResponse {
        let served = self.serve(raw_path);
        if served.status != 404 || !navigation || !is_route(raw_path) {
            return served;
        }
        match self.serve("/") {
            index if index.status == 200 => index,
            _ => served,
        }
    }

    /// Serve the request path (`/a/b.js`, percent-encoded). Never reads outside the root.
    pub fn serve(&self, raw_path: &str) -> AssetResponse {
        let Some(rel) = safe_relative(raw_path) else {
            return AssetResponse::error(403, "forbidden path");
        };
        let rel = if rel.as_os_str().is_empty() { PathBuf::from("index.html") } else { rel };
        match self {
            AssetSource::Html(html) => {
                if rel == Path::new("index.html") {
                    AssetResponse {
                        status: 200,
                        mime: "text/html; charset=utf-8".into(),
                        body: Cow::Owned(html.clone().into_bytes()),
                    }
                } else {
                    AssetResponse::error(404, "not found")
                }
            }
            AssetSource::Folder(root) => {
                let mut path = root.join(&rel);
                if path.is_dir() {
                    path = path.join("index.html");
                }
                // Symlinks may point anywhere: the resolved file must still be under the root.
                let Ok(resolved) = path.canonicalize() else {
                    return AssetResponse::error(404, "not found");
                };
                if !resolved.starts_with(root) {
                    return AssetResponse::error(403, "forbidden path");
                }
                match std::fs::read(&resolved) {
                    Ok(body) => AssetResponse { status: 200, mime: mime_for(&resolved), body: Cow::Owned(body) },
                    Err(_) => AssetResponse::error(404, "not found"),
                }
            }
        }
    }
}

/// Whether a request is a navigation (a document loaded into the window or tab), from its
/// headers: `Sec-Fetch-Mode: navigate` where the engine sends Fetch Metadata; without it,
/// an `Accept` that asks for HTML (what browsers and WebKit send for documents, never for
/// scripts, styles or images).
pub fn is_navigation(sec_fetch_mode: Option<&str>, accept: Option<&str>) -> bool {
    match sec_fetch_mode {
        Some(mode) => mode.eq_ignore_ascii_case("navigate"),
        None => accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html")),
    }
}

/// Whether `raw_path` looks like an SPA route rather than a file: its last segment has no `.`.
fn is_route(raw_path: &str) -> bool {
    let path = raw_path.split(['?', '#']).next().unwrap_or_default();
    !path.rsplit('/').next().unwrap_or_default().contains('.')
}

fn mime_for(path: &Path) -> String {
    let guess = mime_guess::from_path(path).first_or_octet_stream();
    match guess.type_() {
        mime_guess::mime::TEXT => format!("{guess}; charset=utf-8"),
        _ if guess.subtype() == mime_guess::mime::JAVASCRIPT || guess.subtype() == mime_guess::mime::JSON => {
            format!("{guess}; charset=utf-8")
        }
        _ => guess.to_string(),
    }
}

/// Decode the URL path and keep it only if it is a plain relative path: no `..`, no root or
/// drive prefix, no NUL or backslash tricks, after percent-decoding (once; a path that still
/// holds `%` escapes after decoding is refused rather than decoded again).
pub fn safe_relative(raw_path: &str) -> Option<PathBuf> {
    let path = raw_path.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    if decoded.contains(['\0', '\\', '%']) {
        return None;
    }
    let mut out = PathBuf::new();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}
