//! Commit-candidate buffering and ranking, run through the crate's public freeze round:
//! `buffer_commit_candidate` for each candidate, then `finalize_freeze_round`. The ranking itself
//! (`compare_candidate_priority`) is private; the round stages candidates best first and moves to the
//! next when one fails, so an MLS engine that refuses every staging attempt records the whole ranking
//! in the order the round tried the candidates. That engine (`RecordingMls`) stands in for OpenMLS
//! only: it answers wire-kind peeks and refuses to stage; every rule is the crate's.

use std::cell::RefCell;
use std::error::Error as StdError;
use std::rc::Rc;

use de_mls::mls_crypto::{
    CommitCandidate as MlsCommitCandidate, DecryptResult, MlsCommitInput, MlsError, MlsMessageKind,
    MlsService, StagedCandidateResult,
};
use de_mls::protos::de_mls::messages::v1::{
    AppMessage, CommitCandidate, ConversationUpdateRequest, MemberInvite,
};
use de_mls::{
    ConversationQueues, DeterministicStewardList, FreezeOutcome, StewardListConfig,
    StewardListPlugin, buffer_commit_candidate, finalize_freeze_round,
};
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::{
    OpenMlsProvider, crypto::OpenMlsCrypto, signatures::Signer, storage::StorageProvider,
    types::HashType,
};
use serde_json::{Value, json};

use super::{SOURCES, member};

/// First byte of a fake MLS proposal message and of a fake commit message (the engine peeks it).
const PROPOSAL: u8 = 0xB0;
const COMMIT: u8 = 0xC0;

/// An MLS engine for one epoch that refuses every commit and records the order it was asked to stage
/// them in.
struct RecordingMls {
    members: Vec<Vec<u8>>,
    epoch: u64,
    staged: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl MlsService for RecordingMls {
    fn conversation_id(&self) -> &str {
        "conversation"
    }
    fn commit_batch_max(&self) -> usize {
        de_mls::mls_crypto::DEFAULT_COMMIT_BATCH_MAX
    }
    fn delete<Pr>(&mut self, _: &Pr) -> Result<(), MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        Ok(())
    }
    fn members(&self) -> Result<Vec<Vec<u8>>, MlsError> {
        Ok(self.members.clone())
    }
    fn is_member(&self, member_id: &[u8]) -> bool {
        self.members.iter().any(|m| m == member_id)
    }
    fn current_epoch(&self) -> Result<u64, MlsError> {
        Ok(self.epoch)
    }
    fn create_commit_candidate<Pr>(
        &mut self,
        _: &Pr,
        _: &impl Signer,
        _: &[MlsCommitInput],
    ) -> Result<MlsCommitCandidate, MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("the vectors never commit")
    }
    fn merge_own_commit<Pr>(&mut self, _: &Pr) -> Result<(), MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("the vectors never commit")
    }
    fn discard_own_commit<Pr>(&mut self, _: &Pr) -> Result<(), MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        Ok(())
    }
    fn stage_remote_commit<Pr>(
        &mut self,
        _: &Pr,
        _: &[Vec<u8>],
        commit_bytes: &[u8],
    ) -> Result<StagedCandidateResult, MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        self.staged.borrow_mut().push(commit_bytes.to_vec());
        Ok(StagedCandidateResult::Aborted)
    }
    fn merge_staged_commit<Pr>(&mut self, _: &Pr) -> Result<(), MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("nothing is ever staged")
    }
    fn discard_staged_commit<Pr>(&mut self, _: &Pr) -> Result<(), MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        Ok(())
    }
    fn encrypt<Pr>(&mut self, _: &Pr, _: &impl Signer, _: &[u8]) -> Result<Vec<u8>, MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("no application messages")
    }
    fn build_message<Pr>(
        &mut self,
        _: &Pr,
        _: &impl Signer,
        _: &AppMessage,
    ) -> Result<Vec<u8>, MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("no application messages")
    }
    fn decrypt_application_only<Pr>(&mut self, _: &Pr, _: &[u8]) -> Result<DecryptResult, MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("no application messages")
    }
    fn decrypt<Pr>(&mut self, _: &Pr, _: &[u8]) -> Result<DecryptResult, MlsError>
    where
        Pr: OpenMlsProvider,
        <Pr::StorageProvider as StorageProvider<1>>::Error: StdError + Send + Sync + 'static,
    {
        unimplemented!("no application messages")
    }
    fn inspect_message_kind(&self, message_bytes: &[u8]) -> Result<MlsMessageKind, MlsError> {
        Ok(match message_bytes.first() {
            Some(&PROPOSAL) => MlsMessageKind::Proposal,
            Some(&COMMIT) => MlsMessageKind::Commit,
            _ => MlsMessageKind::Other,
        })
    }
}

/// One candidate as a case gives it: the claimed steward, its proposal count, a tag that makes its
/// commit bytes (and so its hash) distinct.
struct Offer {
    steward: Vec<u8>,
    proposals: usize,
    tag: u8,
}

/// A small deterministic generator (xorshift64), so the generated cases are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Runs one freeze round: `members` at `epoch`, the steward list elected at `election` among
/// `stewards`, `approved` approved membership proposals, the offers buffered in order. Returns the
/// case as JSON.
#[allow(clippy::too_many_arguments)]
fn round(
    provider: &OpenMlsRustCrypto,
    members: &[Vec<u8>],
    stewards: &[Vec<u8>],
    election: u64,
    epoch: u64,
    approved: usize,
    allow_subset: bool,
    offers: &[Offer],
) -> Value {
    let mut queues = ConversationQueues::new("conversation");
    for i in 0..approved {
        let request = if i % 2 == 0 {
            ConversationUpdateRequest::remove_member(member(0xE0 + i as u8))
        } else {
            ConversationUpdateRequest::member_invite(MemberInvite {
                key_package_bytes: vec![0xAA, i as u8],
                member_id: member(0xD0 + i as u8),
            })
        };
        queues.insert_approved_proposal(1000 + i as u32, request);
    }
    let mut list =
        DeterministicStewardList::empty(StewardListConfig::new(1, stewards.len()).expect("bounds"));
    list.set_conversation_id(b"conversation");
    list.install_list(election, stewards, stewards.len(), 0)
        .expect("a list");
    let epoch_steward = list.epoch_steward(epoch, |_| true).map(hex::encode);
    let staged = Rc::new(RefCell::new(Vec::new()));
    let mut mls = RecordingMls {
        members: members.to_vec(),
        epoch,
        staged: Rc::clone(&staged),
    };
    let hash = |bytes: &[u8]| {
        hex::encode(
            provider
                .crypto()
                .hash(HashType::Sha2_256, bytes)
                .expect("sha-256"),
        )
    };

    let mut candidates = Vec::new();
    for offer in offers {
        let commit = vec![
            COMMIT,
            offer.tag,
            0x5A,
            offer.steward.first().copied().unwrap_or(0),
        ];
        let msg = CommitCandidate {
            conversation_id: b"conversation".to_vec(),
            mls_proposals: (0..offer.proposals)
                .map(|i| vec![PROPOSAL, i as u8])
                .collect(),
            commit_message: commit.clone(),
            steward_member_id: offer.steward.clone(),
        };
        let result = buffer_commit_candidate(&mut queues, &mut mls, msg).expect("buffered");
        let outcome = format!("{result:?}");
        let outcome = outcome
            .split([' ', '{'])
            .next()
            .unwrap_or_default()
            .to_string();
        candidates.push(json!({
            "steward": hex::encode(&offer.steward),
            "proposals": offer.proposals,
            "commit": hex::encode(&commit),
            "hash": hash(&commit),
            "buffered": outcome,
        }));
    }
    let self_id = member(0xFE);
    let result = finalize_freeze_round(
        provider,
        &mut queues,
        &mut mls,
        &list,
        false,
        allow_subset,
        &self_id,
    )
    .expect("a round");
    assert!(
        matches!(result.outcome, FreezeOutcome::NoCandidate),
        "every staging attempt is refused"
    );
    let ranking: Vec<String> = staged.borrow().iter().map(|c| hash(c)).collect();
    json!({
        "members": members.len(),
        "stewardList": stewards.iter().map(hex::encode).collect::<Vec<_>>(),
        "electionEpoch": election,
        "epoch": epoch,
        "epochSteward": epoch_steward,
        "approved": approved,
        "allowSubset": allow_subset,
        "candidates": candidates,
        "ranking": ranking,
    })
}

pub fn vectors() -> Value {
    let provider = OpenMlsRustCrypto::default();
    let members: Vec<Vec<u8>> = (1..=8).map(member).collect();
    let mut cases = Vec::new();
    let offer = |s: u8, proposals: usize, tag: u8| Offer {
        steward: member(s),
        proposals,
        tag,
    };

    // Hand-written: each tie-break on its own.
    let stewards: Vec<Vec<u8>> = [3u8, 1, 5].iter().map(|&b| member(b)).collect();
    let hand: Vec<(u64, usize, bool, Vec<Offer>)> = vec![
        // Epoch steward against a backup with a smaller id, same count.
        (
            0,
            2,
            false,
            vec![offer(1, 2, 1), offer(3, 2, 2), offer(5, 2, 3)],
        ),
        (
            1,
            2,
            false,
            vec![offer(1, 2, 1), offer(3, 2, 2), offer(5, 2, 3)],
        ),
        (
            2,
            2,
            false,
            vec![offer(1, 2, 1), offer(3, 2, 2), offer(5, 2, 3)],
        ),
        // Two candidates of one steward: the lower hash first.
        (
            0,
            1,
            false,
            vec![offer(5, 1, 7), offer(5, 1, 8), offer(1, 1, 9)],
        ),
        // Counts that differ from the voted count are not ranked; with allow_subset, fewer are.
        (
            0,
            3,
            false,
            vec![offer(1, 2, 1), offer(3, 3, 2), offer(5, 4, 3)],
        ),
        (
            0,
            3,
            true,
            vec![
                offer(1, 2, 1),
                offer(3, 3, 2),
                offer(5, 4, 3),
                offer(5, 1, 4),
            ],
        ),
        // A candidate from a member that is not on the list is still ranked (it is refused at staging).
        (0, 1, false, vec![offer(2, 1, 1), offer(3, 1, 2)]),
        // Empty proposal lists are never buffered.
        (0, 1, false, vec![offer(1, 0, 1), offer(3, 1, 2)]),
    ];
    for (epoch, approved, subset, offers) in hand {
        cases.push(round(
            &provider, &members, &stewards, 0, epoch, approved, subset, &offers,
        ));
    }
    // No approved proposal yet: candidates wait (stashed), nothing is ranked.
    cases.push(round(
        &provider,
        &members,
        &stewards,
        0,
        0,
        0,
        false,
        &[offer(1, 1, 1)],
    ));
    // More candidates than members: the buffer holds one per member.
    let few: Vec<Vec<u8>> = (1..=3).map(member).collect();
    let few_stewards: Vec<Vec<u8>> = vec![member(1), member(2)];
    cases.push(round(
        &provider,
        &few,
        &few_stewards,
        0,
        0,
        1,
        false,
        &[
            offer(1, 1, 1),
            offer(2, 1, 2),
            offer(3, 1, 3),
            offer(1, 1, 4),
        ],
    ));

    // Generated: random lists, epochs, counts and senders.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..60 {
        let sn = 1 + rng.next(4) as usize;
        let mut pool: Vec<u8> = (1..=8).collect();
        let mut list = Vec::new();
        for _ in 0..sn {
            let i = rng.next(pool.len() as u64) as usize;
            list.push(member(pool.remove(i)));
        }
        let election = rng.next(5);
        let epoch = election + rng.next(sn as u64);
        let approved = 1 + rng.next(4) as usize;
        let subset = rng.next(4) == 0;
        let count = 1 + rng.next(5) as usize;
        let offers: Vec<Offer> = (0..count)
            .map(|i| {
                let from_list = rng.next(5) != 0;
                let steward = if from_list {
                    list[rng.next(sn as u64) as usize].clone()
                } else {
                    member(1 + rng.next(8) as u8)
                };
                let delta = rng.next(5);
                let proposals = match delta {
                    0 => approved.saturating_sub(1).max(1),
                    1 => approved + 1,
                    _ => approved,
                };
                Offer {
                    steward,
                    proposals,
                    tag: 0x40 + i as u8,
                }
            })
            .collect();
        cases.push(round(
            &provider, &members, &list, election, epoch, approved, subset, &offers,
        ));
    }

    json!({
        "source": SOURCES,
        "function": "de_mls::buffer_commit_candidate per candidate, then de_mls::finalize_freeze_round (ranking: the private compare_candidate_priority)",
        "description": "Freeze rounds. Each case: the group's size (members), the steward list elected at electionEpoch, the epoch, its epoch steward, how many membership proposals the member approved, allowSubset (StewardListConfig::allow_subset_candidates), and the candidates in arrival order: claimed steward, number of MLS proposals carried (by reference), commit bytes and their SHA-256, and what buffering did (CommitCandidateReceived: buffered; Noop(reason) otherwise). ranking: the hashes of the buffered candidates in the order the round tried them, best first. Candidates whose proposal count differs from the approved count (or exceeds it, with allowSubset) are not tried. Order: most proposals; then the epoch steward; then the smallest steward id; then the smallest hash. Every other steward shares one tier.",
        "count": cases.len(),
        "cases": cases,
    })
}
