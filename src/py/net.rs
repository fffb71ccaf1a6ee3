//! `auroraview._core.Server` and `EchoServer`: the network transport (`crate::net`) for
//! Python. `auroraview/server.py` wraps `Server` for `App.serve`.

use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::core::{parse_transport, Core};
use crate::assets::{AssetSource, DEFAULT_CSP};
use crate::ipc::{Exposure, Origin};
use crate::net::{self, EchoServer, ServerConfig};

fn secs(name: &str, value: f64) -> PyResult<Duration> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(PyValueError::new_err(format!("{name} must be a positive number of seconds, got {value}")))
    }
}

/// A running WebSocket + HTTP server joined to a core's router.
#[pyclass(frozen, module = "auroraview._core", name = "Server")]
pub struct PyServer {
    server: net::Server,
}

#[pymethods]
impl PyServer {
    #[new]
    #[pyo3(signature = (core, *, host="127.0.0.1", port=0, token=None, assets=None, csp=None, origins=vec![], expose="declared", heartbeat=15.0, heartbeat_timeout=10.0, max_outbound_bytes=8*1024*1024, max_connections=10_000, metrics=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        core: &Core,
        host: &str,
        port: u16,
        token: Option<String>,
        assets: Option<std::path::PathBuf>,
        csp: Option<String>,
        origins: Vec<String>,
        expose: &str,
        heartbeat: f64,
        heartbeat_timeout: f64,
        max_outbound_bytes: usize,
        max_connections: usize,
        metrics: bool,
    ) -> PyResult<Self> {
        let exposure = match expose {
            "all" => Exposure::All,
            "declared" => Exposure::Declared,
            other => {
                return Err(PyValueError::new_err(format!("expose must be \"all\" or \"declared\", got {other:?}")))
            }
        };
        let token = match token {
            Some(t) => t,
            None => net::generate_token().map_err(PyOSError::new_err)?,
        };
        let assets = assets
            .map(|dir| {
                AssetSource::folder(&dir)
                    .map_err(|e| PyValueError::new_err(format!("assets folder {}: {e}", dir.display())))
            })
            .transpose()?;
        let origins = origins
            .iter()
            .map(|u| {
                Origin::parse(u)
                    .ok_or_else(|| PyValueError::new_err(format!("{u:?} is not an origin (scheme://host[:port])")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        if max_outbound_bytes == 0 || max_connections == 0 {
            return Err(PyValueError::new_err("max_outbound_bytes and max_connections must be at least 1"));
        }
        let cfg = ServerConfig {
            host: host.to_owned(),
            port,
            token,
            assets,
            csp: csp.unwrap_or_else(|| DEFAULT_CSP.to_owned()),
            origins,
            exposure,
            heartbeat: secs("heartbeat", heartbeat)?,
            heartbeat_timeout: secs("heartbeat_timeout", heartbeat_timeout)?,
            max_outbound_bytes,
            max_connections,
            metrics,
        };
        let rt = crate::runtime::handle().map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        let router = core.router();
        let server = py.detach(|| net::Server::start(router, cfg, &rt)).map_err(|e| {
            if e.starts_with("cannot listen") || e.starts_with("cannot resolve") {
                PyOSError::new_err(e)
            } else {
                PyValueError::new_err(e)
            }
        })?;
        Ok(PyServer { server })
    }

    #[getter]
    fn host(&self) -> String {
        self.server.local_addr().ip().to_string()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.server.local_addr().port()
    }

    #[getter]
    fn token(&self) -> &str {
        self.server.token()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.server.is_closed()
    }

    /// Let connections presenting `token` in as `transport` (e.g. "child") with identity `peer`.
    #[pyo3(signature = (token, *, transport="child", peer=None))]
    fn add_token(&self, token: &str, transport: &str, peer: Option<String>) -> PyResult<()> {
        self.server.add_token(token, parse_transport(transport)?, peer).map_err(PyValueError::new_err)
    }

    /// Stop accepting `token`; its connections are closed with 4003. False if it was unknown.
    fn revoke_token(&self, token: &str) -> bool {
        self.server.revoke_token(token)
    }

    /// The server's and the router's counters (as served at `/__auroraview/stats`).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, value) in self.server.stats().snapshot() {
            d.set_item(name, value)?;
        }
        Ok(d)
    }

    /// `/__auroraview/stats` as JSON text (server, router, connections, commands).
    fn stats_json(&self) -> String {
        self.server.stats_json()
    }

    /// The Prometheus text served at `/__auroraview/metrics`.
    fn metrics_text(&self) -> String {
        self.server.prometheus()
    }

    /// Stop listening and close every connection (1001); waits up to `wait` seconds.
    #[pyo3(signature = (wait=5.0))]
    fn close(&self, py: Python<'_>, wait: f64) {
        let wait = Duration::from_secs_f64(if wait.is_finite() && wait > 0.0 { wait } else { 0.0 });
        py.detach(|| self.server.close(wait));
    }
}

/// A bare WebSocket echo on the same stack (the network benchmark's floor).
#[pyclass(frozen, module = "auroraview._core", name = "EchoServer")]
pub struct PyEchoServer(EchoServer);

#[pymethods]
impl PyEchoServer {
    #[new]
    #[pyo3(signature = (host="127.0.0.1", port=0))]
    fn new(host: &str, port: u16) -> PyResult<Self> {
        let rt = crate::runtime::handle().map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        EchoServer::start(host, port, &rt).map(PyEchoServer).map_err(PyOSError::new_err)
    }

    #[getter]
    fn port(&self) -> u16 {
        self.0.local_addr().port()
    }

    fn close(&self) {
        self.0.close();
    }
}

/// A new random token (32 bytes, base64url).
#[pyfunction]
pub fn generate_token() -> PyResult<String> {
    net::generate_token().map_err(PyOSError::new_err)
}
