//! Defaults and thresholds: the conversation timings, the steward-list bounds, the commit batch bound,
//! the retry bound and the consensus scope defaults, read from the crates' own constants and
//! `Default` impls.

use de_mls::mls_crypto::DEFAULT_COMMIT_BATCH_MAX;
use de_mls::{ConversationConfig, DEFAULT_MAX_RETRIES, StewardListConfig};
use hashgraph_like_consensus::scope_config::ScopeConfig;
use hashgraph_like_consensus::session::ConsensusConfig;
use serde_json::{Value, json};

use super::SOURCES;

pub fn vectors() -> Value {
    let c = ConversationConfig::default();
    let s = StewardListConfig::default();
    let scope = ScopeConfig::default();
    let gossipsub = ConsensusConfig::gossipsub();
    json!({
        "source": SOURCES,
        "description": "Defaults. conversation: ConversationConfig::default() (milliseconds). stewardList: StewardListConfig::default(). commitBatchMax: mls_crypto::DEFAULT_COMMIT_BATCH_MAX (proposals one commit carries). maxRetries: steward_list::DEFAULT_MAX_RETRIES (re-elections after the first before a deadlock emergency). consensus: ScopeConfig::default() and ConsensusConfig::gossipsub(), the session config de-MLS opens proposals with (its timeout replaced by the conversation's consensus timeout).",
        "conversation": {
            "commitInactivityMs": c.commit_inactivity_duration.as_millis() as u64,
            "freezeMs": c.freeze_duration.as_millis() as u64,
            "recoveryInactivityMs": c.recovery_inactivity_duration.as_millis() as u64,
            "proposalExpirationMs": c.proposal_expiration.as_millis() as u64,
            "consensusTimeoutMs": c.consensus_timeout.as_millis() as u64,
            "votingDelayMs": c.voting_delay.as_millis() as u64,
            "electionVotingDelayMs": c.election_voting_delay.as_millis() as u64,
            "livenessCriteriaYes": c.liveness_criteria_yes,
            "pendingUpdateMaxEpochs": c.pending_update_max_epochs,
            "maxReelectionAttempts": c.max_reelection_attempts,
        },
        "stewardList": {"snMin": s.sn_min, "snMax": s.sn_max, "allowSubsetCandidates": s.allow_subset_candidates},
        "commitBatchMax": DEFAULT_COMMIT_BATCH_MAX,
        "maxRetries": DEFAULT_MAX_RETRIES,
        "consensus": {
            "networkType": format!("{:?}", scope.network_type),
            "threshold": scope.default_consensus_threshold,
            "scopeTimeoutMs": scope.default_timeout.as_millis() as u64,
            "livenessCriteriaYes": scope.default_liveness_criteria_yes,
            "gossipsubMaxRounds": gossipsub.max_rounds(),
            "gossipsubRounds": gossipsub.use_gossipsub_rounds(),
        },
    })
}
