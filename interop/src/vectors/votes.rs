//! Votes: `compute_vote_hash` over fixed fields, the signature of the reference signer
//! (`EthereumConsensusSigner`: EIP-191 personal-message signature by a secp256k1 key over the
//! protobuf-encoded vote without its signature) from fixed keys, and `validate_proposal` on chains of
//! such votes, valid and broken. Timestamps are fixed and the proposal expires in 2096, so the
//! validation results hold until then.

use hashgraph_like_consensus::{
    protos::consensus::v1::{Proposal, Vote},
    signing::{ConsensusSignatureScheme, EthereumConsensusSigner},
    utils::{compute_vote_hash, validate_proposal},
};
use prost::Message;
use serde_json::{Value, json};

use super::{SOURCES, signer};

const PROPOSAL_ID: u32 = 0x0102_0304;
const CREATED: u64 = 1_700_000_000;
const EXPIRES: u64 = 4_000_000_000;

/// A signed vote with fixed fields, chained the way `build_vote` chains (RFC sections 2.2, 2.3).
fn signed(
    voter: &EthereumConsensusSigner,
    vote_id: u32,
    yes: bool,
    ts: u64,
    parent: &[u8],
    received: &[u8],
) -> Vote {
    let mut vote = Vote {
        vote_id,
        vote_owner: voter.identity().to_vec(),
        proposal_id: PROPOSAL_ID,
        timestamp: ts,
        vote: yes,
        parent_hash: parent.to_vec(),
        received_hash: received.to_vec(),
        vote_hash: Vec::new(),
        signature: Vec::new(),
    };
    vote.vote_hash = compute_vote_hash(&vote);
    vote.signature = voter.sign(&vote.encode_to_vec()).expect("signed");
    vote
}

fn vote_json(key: u8, v: &Vote) -> Value {
    let mut unsigned = v.clone();
    unsigned.signature = Vec::new();
    json!({
        "privateKey": hex::encode([key; 32]),
        "voteId": v.vote_id,
        "voteOwner": hex::encode(&v.vote_owner),
        "proposalId": v.proposal_id,
        "timestamp": v.timestamp,
        "vote": v.vote,
        "parentHash": hex::encode(&v.parent_hash),
        "receivedHash": hex::encode(&v.received_hash),
        "voteHash": hex::encode(&v.vote_hash),
        "signedBytes": hex::encode(unsigned.encode_to_vec()),
        "signature": hex::encode(&v.signature),
        "verifies": EthereumConsensusSigner::verify(&v.vote_owner, &unsigned.encode_to_vec(), &v.signature).unwrap_or(false),
    })
}

fn proposal(votes: Vec<Vote>) -> Proposal {
    Proposal {
        name: "vector".into(),
        payload: b"payload".to_vec(),
        proposal_id: PROPOSAL_ID,
        proposal_owner: signer(1).identity().to_vec(),
        votes,
        expected_voters_count: 5,
        round: 2,
        timestamp: CREATED,
        expiration_timestamp: EXPIRES,
        liveness_criteria_yes: true,
    }
}

fn verdict(p: &Proposal) -> String {
    match validate_proposal::<EthereumConsensusSigner>(p) {
        Ok(()) => "OK".into(),
        Err(e) => format!("{e:?}"),
    }
}

pub fn vectors() -> Value {
    let (a, b, c) = (signer(1), signer(2), signer(3));
    // A chain: a votes, b votes (received = a's), c votes, a votes again (parent = a's first).
    let v1 = signed(&a, 11, true, CREATED + 1, &[], &[]);
    let v2 = signed(&b, 22, false, CREATED + 2, &[], &v1.vote_hash);
    let v3 = signed(&c, 33, true, CREATED + 3, &[], &v2.vote_hash);
    let v4 = signed(&a, 44, true, CREATED + 4, &v1.vote_hash, &v3.vote_hash);
    let votes = [(1u8, &v1), (2, &v2), (3, &v3), (1, &v4)];

    let mut tampered = v2.clone();
    tampered.vote = !tampered.vote;
    let mut forged = v2.clone();
    forged.signature = v3.signature.clone();
    let chains = [
        (
            "the chain in order",
            vec![v1.clone(), v2.clone(), v3.clone(), v4.clone()],
        ),
        ("one vote", vec![v1.clone()]),
        (
            "the first two swapped: accepted, a vote without received_hash is not checked against the one before",
            vec![v2.clone(), v1.clone()],
        ),
        (
            "parent_hash naming a later vote",
            vec![v1.clone(), v4.clone(), v2.clone(), v3.clone()],
        ),
        ("a vote changed after signing", vec![v1.clone(), tampered]),
        ("another voter's signature", vec![v1.clone(), forged]),
        (
            "a vote older than the proposal",
            vec![signed(&b, 55, true, CREATED - 1, &[], &[])],
        ),
    ];
    json!({
        "source": SOURCES,
        "function": "hashgraph_like_consensus::utils::{compute_vote_hash, validate_proposal}; signing::EthereumConsensusSigner (alloy PrivateKeySigner::sign_message_sync)",
        "description": "voteHash = SHA-256(u32le(vote_id) || vote_owner || u32le(proposal_id) || u64le(timestamp) || u8(vote) || parent_hash || received_hash). signature = 65-byte r || s || v (v = 27 or 28) of the EIP-191 personal message signature (keccak256(\"\\x19Ethereum Signed Message:\\n\" || decimal length || signedBytes)) by the voter's secp256k1 key, where signedBytes is the protobuf encoding (consensus.v1.Vote) of the vote with its vote_hash and without its signature; voteOwner is the key's Ethereum address. chains: validate_proposal over a proposal created at 1700000000, expiring at 4000000000, carrying these votes in order (OK or the error).",
        "proposal": {"proposalId": PROPOSAL_ID, "timestamp": CREATED, "expirationTimestamp": EXPIRES},
        "votes": votes.iter().map(|(k, v)| vote_json(*k, v)).collect::<Vec<_>>(),
        "chains": chains.iter().map(|(name, vs)| json!({
            "case": name,
            "voteHashes": vs.iter().map(|v| hex::encode(&v.vote_hash)).collect::<Vec<_>>(),
            "result": verdict(&proposal(vs.clone())),
        })).collect::<Vec<_>>(),
    })
}
