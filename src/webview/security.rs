//! What a window's webview is actually configured with, read back from WebKit
//! (RELIABILITY.md case 23), plus the policies this host always installs.

use webkit2gtk::{SettingsExt, WebViewExt};
use wry::WebViewExtUnix;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SecurityReport {
    /// WebKit's `enable-developer-extras`: devtools and "Inspect Element".
    pub developer_extras: bool,
    pub javascript_can_open_windows_automatically: bool,
    pub allow_file_access_from_file_urls: bool,
    pub allow_universal_access_from_file_urls: bool,
    /// How the page is served: `custom-protocol` (assets, `html=`) or `url`.
    pub served_by: &'static str,
    /// The origin allowed to use IPC and to navigate to.
    pub origin: String,
    /// The Content-Security-Policy header on served pages (`None` for `url=`).
    pub csp: Option<String>,
    /// Navigation (frames included) outside `origin`: always refused.
    pub navigation_outside_origin: &'static str,
    /// `window.open` and `target=_blank`: always refused.
    pub new_windows: &'static str,
    /// Who may talk to the host: the page holding its per-document key.
    pub ipc: &'static str,
}

impl SecurityReport {
    /// Read the report off a live webview (GUI thread).
    pub fn read(
        webview: &wry::WebView,
        served_by: &'static str,
        origin: String,
        csp: Option<String>,
    ) -> SecurityReport {
        let settings = webview.webview().settings();
        let read = |f: fn(&webkit2gtk::Settings) -> bool| settings.as_ref().is_some_and(f);
        SecurityReport {
            developer_extras: read(|s| s.enables_developer_extras()),
            javascript_can_open_windows_automatically: read(|s| s.is_javascript_can_open_windows_automatically()),
            allow_file_access_from_file_urls: read(|s| s.allows_file_access_from_file_urls()),
            allow_universal_access_from_file_urls: read(|s| s.allows_universal_access_from_file_urls()),
            served_by,
            origin,
            csp,
            navigation_outside_origin: "refused",
            new_windows: "refused",
            ipc: "origin and per-document key",
        }
    }
}
