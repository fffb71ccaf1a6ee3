//! The core's own tokio runtime: command timers now, network transports and broker links
//! next. Small and named so it is recognisable in `top -H` and a debugger, created on first
//! use, never torn down (its threads end with the process, like the GUI thread).

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Two workers: this machine kind has two cores, and timers plus a few sockets never need
/// more; the threads sleep when there is nothing to do.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// A handle to the core's runtime, starting it on first use.
pub fn handle() -> Result<Handle, String> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .thread_name("auroraview-rt")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the core's tokio runtime: {e}"))
        })
        .as_ref()
        .map(|rt| rt.handle().clone())
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_runtime_runs_timers_on_named_threads() {
        let handle = super::handle().unwrap();
        let name = handle.block_on(async {
            tokio::spawn(async {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                std::thread::current().name().map(str::to_owned)
            })
            .await
            .unwrap()
        });
        assert_eq!(name.as_deref(), Some("auroraview-rt"));
    }
}
