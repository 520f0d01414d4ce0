//! Conformance tools for demls: binaries that run the reference de-MLS crates (see docs/conformance.md).

/// Conformance vectors computed by the reference crates' own functions (`src/bin/vectors.rs`).
pub mod vectors;
