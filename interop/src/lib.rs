//! Conformance tools for demls: binaries that run the reference de-MLS crates (see docs/conformance.md).

/// The OpenMLS peer of the MLS interop test (`src/bin/mls_peer.rs`).
pub mod mls_peer;

/// Conformance vectors computed by the reference crates' own functions (`src/bin/vectors.rs`).
pub mod vectors;
