//! Errors for input that cannot be turned into a [`Transaction`](super::Transaction).
//!
//! Every decoder returns these instead of panicking, so a malformed stream entry can be sent to the
//! dead-letter stream with a reason that says what was wrong.

use thiserror::Error;

/// Why an input could not be decoded into a transaction.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}` has the wrong type: expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field `{field}` is not a valid base58 key: {value:?}")]
    InvalidKey { field: &'static str, value: String },
    #[error("field `{field}` must be {expected} bytes, got {got}")]
    InvalidLength {
        field: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("field `{field}` is negative or not an integer: {value}")]
    InvalidAmount { field: &'static str, value: String },
    #[error("`{field}` index {index} is out of range (only {len} accounts)")]
    IndexOutOfRange {
        field: &'static str,
        index: u64,
        len: usize,
    },
    #[error("inconsistent transaction: {0}")]
    Inconsistent(String),
    #[error("unknown wire format version {0}")]
    UnknownWireVersion(u8),
    #[error("empty wire payload")]
    EmptyPayload,
    #[error("malformed wire payload: {0}")]
    Msgpack(String),
    #[error("`transaction` is not valid base64: {0}")]
    Base64(String),
    #[error("malformed binary transaction: {what} at byte {offset}: {reason}")]
    BinaryTransaction {
        what: &'static str,
        offset: usize,
        reason: String,
    },
}
