//! Everything that touches pyo3: the `auroraview._core` classes and constants.

mod core;
mod errors;
mod net;
#[cfg(not(feature = "window"))]
mod no_window;
#[cfg(feature = "window")]
mod window;
#[cfg(not(feature = "window"))]
use no_window as window;

use pyo3::prelude::*;

use crate::protocol::{ErrorCode, Limits, MAX_SAFE_INTEGER, PROTOCOL_VERSION};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<core::Core>()?;
    m.add_class::<core::Connection>()?;
    m.add_class::<core::PyTarget>()?;
    m.add_class::<window::Window>()?;
    m.add_class::<net::PyServer>()?;
    m.add_class::<net::PyEchoServer>()?;
    m.add_function(wrap_pyfunction!(net::generate_token, m)?)?;
    m.add_function(wrap_pyfunction!(window::shutdown_gui, m)?)?;
    m.add_function(wrap_pyfunction!(window::gui_running, m)?)?;
    m.add_function(wrap_pyfunction!(window::gui_mode, m)?)?;
    m.add_function(wrap_pyfunction!(window::gui_iterate, m)?)?;
    m.add_function(wrap_pyfunction!(window::gui_context_owned, m)?)?;
    m.add_function(wrap_pyfunction!(window::release_focus, m)?)?;
    m.add_function(wrap_pyfunction!(window::webkit_version, m)?)?;
    m.add_function(wrap_pyfunction!(generate_typescript, m)?)?;
    m.add_function(wrap_pyfunction!(check_js_safe, m)?)?;
    m.add_function(wrap_pyfunction!(core::encode_frame, m)?)?;
    m.add_function(wrap_pyfunction!(core::decode_frame, m)?)?;
    // False in the build without the window part (on a machine without WebKitGTK).
    m.add("WINDOW_SUPPORT", cfg!(feature = "window"))?;
    m.add("PROTOCOL_VERSION", PROTOCOL_VERSION)?;
    // The contract document's layout version: defined once, by the generator that reads it.
    m.add("CONTRACT_VERSION", auroraview_codegen::CONTRACT_VERSION)?;
    m.add("MAX_SAFE_INTEGER", MAX_SAFE_INTEGER)?;
    m.add("ERROR_CODES", ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())?;
    // The `error.name` of the framework's own errors, chosen once (`ErrorCode::error_name`).
    let names = pyo3::types::PyDict::new(m.py());
    for code in ErrorCode::ALL {
        names.set_item(code.as_str(), code.error_name())?;
    }
    m.add("ERROR_NAMES", names)?;
    m.add("DEFAULT_LIMITS", core::limits_dict(m.py(), &Limits::default())?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// TypeScript bindings for a contract document (JSON text); `source` names it in the header.
#[pyfunction]
fn generate_typescript(contract_json: &str, source: &str) -> PyResult<String> {
    let contract: serde_json::Value = serde_json::from_str(contract_json)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("the contract is not JSON: {e}")))?;
    auroraview_codegen::generate(&contract, source).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))
}

/// Raise `ValueError` when JSON `data` holds an integer JavaScript cannot represent exactly;
/// `root` names the document in the message (`payload` → `payload.items.3`).
#[pyfunction]
pub fn check_js_safe(py: Python<'_>, data: &[u8], root: &str) -> PyResult<()> {
    let found = if data.len() >= 64 * 1024 {
        py.detach(|| crate::protocol::unsafe_ints(data))
    } else {
        crate::protocol::unsafe_ints(data)
    };
    match found.first() {
        None => Ok(()),
        Some(first) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} holds the integer {} at {}, outside ±(2^53-1): JavaScript cannot represent it exactly (send it as a string){}",
            root,
            first.literal,
            first.rooted_path(root),
            if found.len() > 1 { format!(" (and {} more)", found.len() - 1) } else { String::new() }
        ))),
    }
}
