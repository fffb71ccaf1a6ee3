//! The only code that touches wry and GTK: the GUI thread (`gui`), windows (`window`), each
//! window's page lifecycle (`page`), the custom protocol (`endpoint` on WebKit, its rules in `scheme`,
//! serving `crate::assets` and the call endpoint, large frames in parts in `upload`), the injected
//! bridge (`bridge`) and the security report (`security`).

mod bridge;
mod endpoint;
mod error;
mod gui;
mod page;
mod scheme;
mod security;
mod upload;
mod window;

pub use crate::assets::{safe_relative, AssetResponse, AssetSource, DEFAULT_CSP, ORIGIN, SCHEME};
pub use bridge::batch_script;
pub use error::WebviewError;
pub use gui::{host, iterate_main_context, owns_main_context, running_host, Host, Mode};
pub use security::SecurityReport;
pub use window::{Content, CrashPolicy, EvalError, WindowEvent, WindowHandle, WindowObserver, WindowSpec};

/// The WebKitGTK version this process runs (logged when the first window opens).
pub fn webkit_version() -> String {
    // SAFETY: plain getters of compile-time constants of the loaded library; no arguments.
    let (major, minor, micro) = unsafe {
        (
            webkit2gtk_sys::webkit_get_major_version(),
            webkit2gtk_sys::webkit_get_minor_version(),
            webkit2gtk_sys::webkit_get_micro_version(),
        )
    };
    format!("{major}.{minor}.{micro}")
}
