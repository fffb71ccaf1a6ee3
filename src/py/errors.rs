//! The Python exception hierarchy and the one mapping of the host layers' errors into it.
//!
//! Everything auroraview raises of its own derives from `AuroraViewError`; Python re-exports
//! the classes from `auroraview.errors`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

#[cfg(feature = "window")]
use crate::webview::WebviewError;

create_exception!(_core, AuroraViewError, PyException, "Base class of every error auroraview raises.");
create_exception!(
    _core,
    GuiUnavailable,
    AuroraViewError,
    "The GUI cannot start in this process: no display (set DISPLAY or run under Xvfb), or the \
     GTK main context is owned by another thread."
);
create_exception!(_core, WindowError, AuroraViewError, "A window or its webview could not be created.");
create_exception!(_core, WindowClosed, AuroraViewError, "The window is closed (or was never opened).");
create_exception!(
    _core,
    PageNavigated,
    AuroraViewError,
    "A script evaluation was dropped because the page loaded another document."
);
create_exception!(
    _core,
    PageCrashed,
    AuroraViewError,
    "The page's renderer process ended (crashed, was killed, or ran out of memory) before a \
     script evaluation finished, or the page has not been loaded again since."
);
create_exception!(
    _core,
    JavaScriptError,
    AuroraViewError,
    "A script evaluated in the page threw (the message is WebKit's)."
);

/// The one place a host-layer error becomes a Python exception.
#[cfg(feature = "window")]
pub fn webview_err(e: WebviewError) -> PyErr {
    let message = e.to_string();
    match e {
        WebviewError::GuiUnavailable(_) | WebviewError::GuiStopped(_) => GuiUnavailable::new_err(message),
        WebviewError::Window(_) | WebviewError::InvalidUrl(_) => WindowError::new_err(message),
        WebviewError::Closed => WindowClosed::new_err(message),
        WebviewError::Crashed => PageCrashed::new_err(message),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AuroraViewError", py.get_type::<AuroraViewError>())?;
    m.add("GuiUnavailable", py.get_type::<GuiUnavailable>())?;
    m.add("WindowError", py.get_type::<WindowError>())?;
    m.add("WindowClosed", py.get_type::<WindowClosed>())?;
    m.add("PageNavigated", py.get_type::<PageNavigated>())?;
    m.add("PageCrashed", py.get_type::<PageCrashed>())?;
    m.add("JavaScriptError", py.get_type::<JavaScriptError>())?;
    Ok(())
}
