//! The window layer's one error type (mapped into Python exceptions in `py/errors.rs`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebviewError {
    /// The GUI cannot start here: no display, or the GTK main context is owned elsewhere.
    GuiUnavailable(String),
    /// The GUI thread has stopped (interpreter exit) or did not answer.
    GuiStopped(String),
    /// The window or its webview could not be created.
    Window(String),
    /// `url=` is not an absolute URL with an origin.
    InvalidUrl(String),
    /// The window is closed.
    Closed,
    /// The window's renderer ended and its page has not been loaded again yet.
    Crashed,
}

impl fmt::Display for WebviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebviewError::GuiUnavailable(why) => write!(f, "cannot start the GUI: {why}"),
            WebviewError::GuiStopped(why) => write!(f, "the GUI thread {why}"),
            WebviewError::Window(why) => write!(f, "cannot open the window: {why}"),
            WebviewError::InvalidUrl(url) => write!(f, "url={url:?} is not an absolute URL with an origin"),
            WebviewError::Closed => write!(f, "the window is closed"),
            WebviewError::Crashed => {
                write!(f, "the page's renderer has ended (crashed) and the page is not loaded again yet")
            }
        }
    }
}

impl std::error::Error for WebviewError {}
