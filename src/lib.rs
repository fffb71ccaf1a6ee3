//! auroraview's Rust core: module wiring only.

pub mod assets;
pub mod broker;
pub mod handoff;
pub mod ipc;
pub mod net;
pub mod protocol;
mod py;
pub mod runtime;
#[cfg(feature = "window")]
pub mod webview;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
