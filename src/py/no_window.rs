//! The window part's Python surface in the build without it (`--no-default-features`): the
//! same names, so the package imports unchanged, each failing with a clear error naming the
//! system library the full build needs.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::errors::GuiUnavailable;

const MISSING: &str = "this auroraview runs without its window part: the full build needs WebKitGTK 4.1 and GTK 3, \
     which this machine does not have (Debian/Ubuntu: apt install libwebkit2gtk-4.1-0; Fedora: dnf install \
     webkit2gtk4.1). Everything else (commands, codegen, TestClient, the network server) works without them.";

/// Stands in for the native window: constructing one raises `GuiUnavailable`.
#[pyclass(frozen, module = "auroraview._core")]
pub struct Window;

#[pymethods]
impl Window {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Err(GuiUnavailable::new_err(MISSING))
    }
}

/// No GUI thread was ever started: nothing to stop.
#[pyfunction]
#[pyo3(signature = (timeout=2.0))]
pub fn shutdown_gui(timeout: f64) -> bool {
    let _ = timeout;
    true
}

#[pyfunction]
pub fn webkit_version() -> PyResult<String> {
    Err(GuiUnavailable::new_err(MISSING))
}

#[pyfunction]
pub fn gui_running() -> bool {
    false
}

#[pyfunction]
pub fn gui_mode() -> Option<&'static str> {
    None
}

/// No GUI: nothing to run.
#[pyfunction]
pub fn gui_iterate(timeout: f64) -> bool {
    let _ = timeout;
    false
}

#[pyfunction]
pub fn gui_context_owned() -> bool {
    false
}

/// No GUI: no window holds the focus.
#[pyfunction]
pub fn release_focus(xid: u64) {
    let _ = xid;
}
