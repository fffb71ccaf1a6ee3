//! Everything that touches pyo3: the `auroraview._core` classes and constants.

mod core;
mod wake;
mod window;

use pyo3::prelude::*;

use crate::protocol::{ErrorCode, Limits, MAX_SAFE_INTEGER, PROTOCOL_VERSION};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<core::Core>()?;
    m.add_class::<core::Connection>()?;
    m.add_class::<window::Window>()?;
    m.add_function(wrap_pyfunction!(window::shutdown_gui, m)?)?;
    m.add_function(wrap_pyfunction!(window::gui_running, m)?)?;
    m.add_function(wrap_pyfunction!(window::webkit_version, m)?)?;
    m.add_function(wrap_pyfunction!(generate_typescript, m)?)?;
    m.add("PROTOCOL_VERSION", PROTOCOL_VERSION)?;
    m.add("MAX_SAFE_INTEGER", MAX_SAFE_INTEGER)?;
    m.add("ERROR_CODES", ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())?;
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
