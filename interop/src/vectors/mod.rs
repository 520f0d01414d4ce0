//! Conformance vectors for demls, computed by the reference crates (de-mls 4.0.0,
//! hashgraph-like-consensus 0.5.1). Every value comes from a call into the crates: a public
//! function where the rule is public, and the public API that runs it where it is private (the
//! freeze round, the consensus service). Nothing here re-implements a rule.
//!
//! Each module returns one JSON document; `src/bin/vectors.rs` writes them under
//! `test/vectors/de-mls/`, where `test/conformance/de-mls.test.ts` checks demls against them.

pub mod candidates;
pub mod decision;
pub mod defaults;
pub mod json;
pub mod scores;
pub mod steward;
pub mod votes;

use alloy::signers::local::PrivateKeySigner;
use hashgraph_like_consensus::signing::EthereumConsensusSigner;
use serde_json::Value;

/// The crate versions the vectors come from (they are pinned in Cargo.toml and Cargo.lock).
pub const SOURCES: &str = "de-mls 4.0.0, hashgraph-like-consensus 0.5.1";

/// A member id as the crates' own tests write them: `byte` repeated 20 times (an address length).
pub fn member(byte: u8) -> Vec<u8> {
    vec![byte; 20]
}

/// The consensus signer with the fixed secp256k1 private key `byte` repeated 32 times.
pub fn signer(byte: u8) -> EthereumConsensusSigner {
    let key = PrivateKeySigner::from_slice(&[byte; 32]).expect("a valid secp256k1 scalar");
    EthereumConsensusSigner::new(key)
}

/// Every vector file: its name and its document.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("decision.json", decision::vectors()),
        ("consensus-sessions.json", decision::sessions()),
        ("steward-list.json", steward::vectors()),
        ("candidates.json", candidates::vectors()),
        ("votes.json", votes::vectors()),
        ("scores.json", scores::vectors()),
        ("defaults.json", defaults::vectors()),
    ]
}
