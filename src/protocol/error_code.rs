//! The closed set of error codes the framework itself puts in `call_result.error.code`.
//!
//! Handlers may choose their own codes through `InvokeException(code=...)`; these are the
//! ones the framework guarantees. The same list exists in Python (`auroraview.ErrorCode`)
//! and TypeScript; a test fails when they drift apart.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message could not be decoded: not JSON, not an object, a field of the wrong type,
    /// an unknown `type`, nesting or container size over the limits.
    InvalidMessage,
    /// No command is registered under this name.
    MethodNotFound,
    /// The params did not validate against the command's signature (`data.errors` lists why).
    InvalidParams,
    /// The handler raised an `InvokeException` without choosing another code.
    HandlerError,
    /// The handler raised something else, or its result could not be serialized.
    Internal,
    /// The command ran past its timeout; the handler was cancelled.
    Timeout,
    /// The caller cancelled the call.
    Cancelled,
    /// The message is larger than the configured maximum.
    PayloadTooLarge,
    /// The sender is not allowed to call (origin, key or capability checks).
    Forbidden,
    /// Too many calls in flight on this connection.
    Overloaded,
    /// The host is shutting down; the call will not run.
    ShuttingDown,
    /// The connection to the host was lost before the reply arrived. Clients give it to
    /// calls in flight when their transport closes (the host never had a chance to answer).
    Disconnected,
    /// A service the call needs is down: a topic's broker (docs/topics.md). The call did not
    /// take effect (a publish was not published); it may succeed once the service returns.
    Unavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::InvalidMessage,
        ErrorCode::MethodNotFound,
        ErrorCode::InvalidParams,
        ErrorCode::HandlerError,
        ErrorCode::Internal,
        ErrorCode::Timeout,
        ErrorCode::Cancelled,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Forbidden,
        ErrorCode::Overloaded,
        ErrorCode::ShuttingDown,
        ErrorCode::Disconnected,
        ErrorCode::Unavailable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::MethodNotFound => "method_not_found",
            ErrorCode::InvalidParams => "invalid_params",
            ErrorCode::HandlerError => "handler_error",
            ErrorCode::Internal => "internal",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Disconnected => "disconnected",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The `error.name` the framework uses for its own errors of this code.
    pub const fn error_name(self) -> &'static str {
        match self {
            ErrorCode::InvalidMessage => "InvalidMessage",
            ErrorCode::MethodNotFound => "MethodNotFound",
            ErrorCode::InvalidParams => "ValidationError",
            ErrorCode::HandlerError => "InvokeException",
            ErrorCode::Internal => "InternalError",
            ErrorCode::Timeout => "TimeoutError",
            ErrorCode::Cancelled => "CancelledError",
            ErrorCode::PayloadTooLarge => "PayloadTooLarge",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::Overloaded => "Overloaded",
            ErrorCode::ShuttingDown => "ShuttingDown",
            ErrorCode::Disconnected => "Disconnected",
            ErrorCode::Unavailable => "Unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_serde_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn all_is_complete_and_unique() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}
