//! The wire: envelopes, error codes, limits and the protocol version. No pyo3, no wry.

mod batch;
mod decode;
mod encode;
mod error_code;
mod frame;
#[cfg(test)]
mod fuzz;
mod limits;
mod message;
mod scan;
pub mod schema;
mod surrogate;

pub use batch::{batch, Batcher};
pub use decode::{decode, decode_keyed, is_page_key, salvage_id, salvage_key, truncate, Incoming, Rejection};
pub use encode::{
    call_err, call_ok, event, item, publication, unsafe_params_error, unsafe_result_error, welcome, ErrorReply, PING,
    PONG,
};
pub use error_code::ErrorCode;
pub use frame::{
    concat, decode_chunks, decode_frame, encode_frame, header as frame_header, is_frame, json_frame, ChunkedFrame,
    Frame, FrameError, FRAME_TAG,
};
pub use limits::Limits;
pub use message::{
    CallError, CallId, ClientMessage, HostMessage, ProtocolDocument, MAX_SAFE_INTEGER, PROTOCOL_VERSION,
};
pub use scan::{scan, unsafe_ints, PathSeg, Scan, UnsafeInt};
pub use surrogate::replace_lone_surrogates;
