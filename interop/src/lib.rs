//! Conformance tools for demls: binaries that run the reference de-MLS crates (see docs/conformance.md).
