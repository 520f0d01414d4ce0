//! What the peer answers when a command fails: a code a driver can branch on, and a message for people.

use std::fmt;

/// Why a command failed. A failed command changes nothing of the peer's, except the one thing OpenMLS
/// itself keeps: the message key a message that failed to decrypt has used up (docs/conformance.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not a JSON object, an unknown `op`, or a missing or ill-typed field (hex included).
    BadRequest,
    /// The command needs a state the peer is not in: no identity yet, no group yet, or a group already.
    NotReady,
    /// Bytes that do not decode as the MLS structure the command takes.
    Malformed,
    /// Well-formed input OpenMLS refused: a message that does not decrypt or verify, a commit or Welcome
    /// that does not validate, a KeyPackage it will not add.
    Rejected,
    /// An OpenMLS failure that is not about the input (storage, crypto provider).
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::Malformed => "MALFORMED",
            ErrorCode::Rejected => "REJECTED",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// A failed command: its code and what went wrong.
#[derive(Debug, Clone)]
pub struct PeerError {
    pub code: ErrorCode,
    pub message: String,
}

impl PeerError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A closure mapping any debuggable error to this code, prefixed with what was being done.
    pub fn map<E: fmt::Debug>(code: ErrorCode, what: &'static str) -> impl FnOnce(E) -> Self {
        move |e| Self::new(code, format!("{what}: {e:?}"))
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for PeerError {}
