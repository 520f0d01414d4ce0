//! `mls_peer`: an OpenMLS client driven over stdin/stdout, the other side of demls's MLS interop test
//! (`test/interop/openmls.interop.ts`, docs/conformance.md, "MLS interop with OpenMLS").

pub mod error;
pub mod peer;
pub mod protocol;
pub mod signer;

pub use error::{ErrorCode, PeerError};
pub use peer::{CIPHERSUITE, FINGERPRINT_LABEL, Peer, Processed};
pub use protocol::Session;
