//! The decision rule: `hashgraph_like_consensus::utils::calculate_consensus_result`, the one function
//! the consensus session calls on every vote (`is_timeout = false`) and at the consensus timeout
//! (`is_timeout = true`), over the whole grid of tallies; and whole sessions run through the consensus
//! service exactly as de-MLS opens them (`ConsensusConfig::gossipsub()` with its timeout), to show the
//! service decides at the first vote the grid calls decided and keeps that outcome.

use std::collections::HashMap;
use std::time::Duration;

use de_mls::ConsensusPlugin;
use de_mls::defaults::DefaultConsensusPlugin;
use hashgraph_like_consensus::{
    protos::consensus::v1::Vote,
    service::ConsensusService,
    session::{ConsensusConfig, ConsensusState},
    signing::ConsensusSignatureScheme,
    storage::ConsensusStorage,
    types::CreateProposalRequest,
    utils::{build_vote, calculate_consensus_result},
};
use serde_json::{Value, json};

use super::{SOURCES, signer};

/// The consensus threshold de-MLS uses (the crate default, 2/3).
const THRESHOLD: f64 = 2.0 / 3.0;
/// Expected voters covered by the grid.
const MAX_VOTERS: u32 = 12;

/// A tally of `yes` YES and `no` NO votes from distinct voters (only the count and choice matter).
fn tally(yes: u32, no: u32) -> HashMap<Vec<u8>, Vote> {
    (0..yes + no)
        .map(|i| {
            let owner = i.to_be_bytes().to_vec();
            let vote = Vote {
                vote_owner: owner.clone(),
                vote: i < yes,
                ..Vote::default()
            };
            (owner, vote)
        })
        .collect()
}

/// The outcome name: a decision, still open, or failed (the timeout found no decision; de-MLS applies
/// a failed proposal as rejected).
fn outcome(result: Option<bool>, timed_out: bool) -> &'static str {
    match result {
        Some(true) => "YES",
        Some(false) => "NO",
        None if timed_out => "FAILED",
        None => "PENDING",
    }
}

/// Every tally of 1..=12 expected voters, before and at the timeout, with either liveness value.
pub fn vectors() -> Value {
    let mut cases = Vec::new();
    for n in 1..=MAX_VOTERS {
        for yes in 0..=n {
            for no in 0..=(n - yes) {
                for timed_out in [false, true] {
                    for liveness in [false, true] {
                        let votes = tally(yes, no);
                        let r =
                            calculate_consensus_result(&votes, n, THRESHOLD, liveness, timed_out);
                        cases.push(json!({
                            "n": n, "yes": yes, "no": no, "timedOut": timed_out,
                            "liveness": liveness, "outcome": outcome(r, timed_out),
                        }));
                    }
                }
            }
        }
    }
    json!({
        "source": SOURCES,
        "function": "hashgraph_like_consensus::utils::calculate_consensus_result(votes, n, 2/3, liveness_criteria_yes, is_timeout)",
        "description": "The outcome of a proposal with n expected voters after `yes` YES and `no` NO votes (the rest silent), before the consensus timeout (timedOut false: what a session decides when a vote arrives) and at it (timedOut true: handle_consensus_timeout). liveness is the proposal's liveness_criteria_yes. FAILED: the timeout found no decision; de-MLS applies it as a rejection (consensus/events.rs treats ConsensusFailed as approved = false).",
        "count": cases.len(),
        "cases": cases,
    })
}

type Service = ConsensusService<
    String,
    <DefaultConsensusPlugin as ConsensusPlugin>::ConsensusStorage,
    <DefaultConsensusPlugin as ConsensusPlugin>::EventBus,
    <DefaultConsensusPlugin as ConsensusPlugin>::Signer,
>;

fn state_name(state: &ConsensusState) -> &'static str {
    match state {
        ConsensusState::Active => "PENDING",
        ConsensusState::ConsensusReached(true) => "YES",
        ConsensusState::ConsensusReached(false) => "NO",
        ConsensusState::Failed => "FAILED",
    }
}

/// One session: `n` expected voters, the votes in order (true = YES), then the timeout. Returns the
/// state after each vote and after the timeout.
fn run_session(n: u32, liveness: bool, votes: &[bool]) -> (Vec<&'static str>, &'static str) {
    let scope = "conversation".to_string();
    let owner = signer(1);
    let service: Service = ConsensusService::new_with_components(
        DefaultConsensusPlugin::new_storage(),
        DefaultConsensusPlugin::new_event_bus(),
        owner.clone(),
        10,
    );
    let request = CreateProposalRequest::new(
        "vector".into(),
        b"payload".to_vec(),
        owner.identity().to_vec(),
        n,
        600,
        liveness,
    )
    .expect("a valid request");
    let config = ConsensusConfig::gossipsub()
        .with_timeout(Duration::from_secs(30))
        .expect("a timeout");
    let proposal = service
        .create_proposal_with_config(&scope, request, Some(config))
        .expect("created");
    let id = proposal.proposal_id;
    let state = |service: &Service| {
        let session = service
            .storage()
            .get_session(&scope, id)
            .expect("storage")
            .expect("a session");
        state_name(&session.state)
    };
    let mut after = Vec::new();
    for (i, &choice) in votes.iter().enumerate() {
        let session = service
            .storage()
            .get_session(&scope, id)
            .expect("storage")
            .expect("a session");
        let voter = signer(2 + i as u8);
        let vote = build_vote(&session.proposal, choice, &voter).expect("a vote");
        // A vote on a decided session is kept out of the tally (the session stays decided).
        let _ = service.process_incoming_vote(&scope, vote);
        after.push(state(&service));
    }
    let _ = service.handle_consensus_timeout(&scope, id);
    (after, state(&service))
}

/// Vote sequences run through the consensus service as de-MLS opens proposals.
pub fn sessions() -> Value {
    let mut sequences: Vec<(u32, Vec<bool>)> = vec![
        (1, vec![]),
        (1, vec![true]),
        (1, vec![false]),
        (2, vec![true]),
        (2, vec![true, true]),
        (2, vec![true, false]),
        (3, vec![true]),
        (3, vec![true, false]),
        (3, vec![false, true]),
        (3, vec![false, false]),
        (3, vec![true, true]),
        (4, vec![true, true, false, false]),
        (4, vec![true, false, true, false]),
        (4, vec![true, false]),
        (4, vec![false, false]),
        (5, vec![true, true, false]),
        (5, vec![true, false, false]),
        (5, vec![false, false, true, true]),
        (6, vec![true, true, true, false]),
        (6, vec![false, false, false, true, true, true]),
        (7, vec![true, true, true, true, false]),
        (7, vec![true, false, true, false, true, false, true]),
        (9, vec![true, true, true, false, false, false]),
        (9, vec![true, true, true, true, false, false, false]),
        (10, vec![true, true, true, true, false, false, false]),
        (12, vec![false, true, false, true, false, true, false, true]),
    ];
    // Every sequence with every voter voting, for small groups.
    for n in 1..=5u32 {
        for mask in 0..(1u32 << n) {
            sequences.push((n, (0..n).map(|i| mask & (1 << i) != 0).collect()));
        }
    }
    let mut cases = Vec::new();
    for (n, votes) in &sequences {
        for liveness in [false, true] {
            let (after, timeout) = run_session(*n, liveness, votes);
            cases.push(json!({
                "n": n, "liveness": liveness, "votes": votes, "afterEachVote": after, "afterTimeout": timeout,
            }));
        }
    }
    json!({
        "source": SOURCES,
        "function": "ConsensusService (de_mls::defaults::DefaultConsensusPlugin types): create_proposal_with_config(gossipsub, 30 s), process_incoming_vote per vote, handle_consensus_timeout",
        "description": "Sessions as de-MLS opens them: n expected voters, the votes in arrival order (true = YES), the session state after each vote and after the timeout. A session decides at the first vote its tally decides (decision.json, timedOut false) and keeps that outcome; votes after it change nothing.",
        "count": cases.len(),
        "cases": cases,
    })
}
