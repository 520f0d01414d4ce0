//! Conformance tools for demls: binaries that run the reference de-MLS crates (see docs/conformance.md).
pub mod mls_peer;
