//! Peer scoring: the reference deltas and thresholds, and a run of `PeerScoringService` showing how
//! scores move, saturate and cross the removal threshold.

use de_mls::defaults::InMemoryPeerScoreStorage;
use de_mls::{
    DEFAULT_PEER_SCORE, DEFAULT_THRESHOLD_PEER_SCORE, PeerScoringPlugin, PeerScoringService,
    ScoreEvent, ScoreOp, ScoringConfig, default_score_deltas, self_leave_proposal_id,
};
use serde_json::{Value, json};

use super::{SOURCES, member};

const EVENTS: [ScoreEvent; 8] = [
    ScoreEvent::BrokenCommit,
    ScoreEvent::BrokenMlsProposal,
    ScoreEvent::CensorshipInactivity,
    ScoreEvent::EmergencyYesCreator,
    ScoreEvent::EmergencyNoCreator,
    ScoreEvent::SuccessfulCommit,
    ScoreEvent::HonestCommitAttempt,
    ScoreEvent::MisbehavingCommit,
];

pub fn vectors() -> Value {
    let deltas = default_score_deltas();
    let mut service = PeerScoringService::new(
        InMemoryPeerScoreStorage::new(),
        deltas.clone(),
        ScoringConfig::default(),
    );
    let target = member(7);
    service.add_member(&target);
    let sequence = [
        ScoreEvent::SuccessfulCommit,
        ScoreEvent::CensorshipInactivity,
        ScoreEvent::MisbehavingCommit,
        ScoreEvent::HonestCommitAttempt,
        ScoreEvent::BrokenCommit,
        ScoreEvent::BrokenCommit,
        ScoreEvent::EmergencyYesCreator,
        ScoreEvent::BrokenMlsProposal,
    ];
    let steps: Vec<Value> = sequence
        .iter()
        .map(|&event| {
            let crossed = service.apply_op(&ScoreOp {
                member_id: target.clone(),
                event,
            });
            json!({
                "event": format!("{event:?}"),
                "score": service.score_for(&target),
                "crossedThreshold": crossed,
                "belowThreshold": service.members_below_threshold().contains(&target),
            })
        })
        .collect();
    let leave_ids: Vec<Value> = [member(1), member(2), b"alice".to_vec()]
        .iter()
        .map(|m| json!({"member": hex::encode(m), "proposalId": self_leave_proposal_id(m)}))
        .collect();
    json!({
        "source": SOURCES,
        "description": "Peer scoring (de_mls::peer_scoring): default_score_deltas(), DEFAULT_PEER_SCORE, DEFAULT_THRESHOLD_PEER_SCORE; steps: PeerScoringService::apply_op on one member added at the default score (crossedThreshold: this op took it from above the threshold to at or below it). selfLeaveProposalIds: self_leave_proposal_id(member) = u32be(SHA-256(member_id)[0..4]), the one deterministic consensus proposal id (every other is random).",
        "deltas": EVENTS.iter().map(|e| json!({"event": format!("{e:?}"), "delta": deltas[e]})).collect::<Vec<_>>(),
        "defaultScore": DEFAULT_PEER_SCORE,
        "threshold": DEFAULT_THRESHOLD_PEER_SCORE,
        "steps": steps,
        "selfLeaveProposalIds": leave_ids,
    })
}
