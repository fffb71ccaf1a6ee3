//! The only code that touches wry and tao: the GUI thread, windows, assets, the bridge.

mod assets;
mod bridge;
mod host;
mod origin;

pub use assets::{safe_relative, AssetResponse, AssetSource, DEFAULT_CSP, ORIGIN, SCHEME};
pub use bridge::{batch_script, SCRIPT as BRIDGE_SCRIPT};
pub use host::{host, running_host, Content, Host, WindowEvent, WindowHandle, WindowObserver, WindowSpec};
pub use origin::Origin;
