//! The only code that touches wry and tao: the GUI thread, windows, assets, the bridge.

mod assets;
mod bridge;
mod host;
mod origin;

pub use assets::{safe_relative, AssetResponse, AssetSource, DEFAULT_CSP, ORIGIN, SCHEME};
pub use bridge::{batch_script, SCRIPT as BRIDGE_SCRIPT};
pub use host::{host, running_host, Content, Host, WindowEvent, WindowHandle, WindowObserver, WindowSpec};
pub use origin::Origin;

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
