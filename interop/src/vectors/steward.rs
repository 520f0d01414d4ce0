//! The steward list: `StewardList::generate` (the SHA-256 order and the list size), the rotation
//! (`epoch_steward`, `epoch_and_backup`, `is_exhausted`) and the size rules of `StewardListConfig`,
//! plus the "settled member" rule of `ConversationQueues` that picks who may be elected.

use de_mls::protos::de_mls::messages::v1::{ConversationUpdateRequest, MemberInvite};
use de_mls::{
    ConversationQueues, DeterministicStewardList, StewardList, StewardListConfig, StewardListPlugin,
};
use serde_json::{Value, json};

use super::{SOURCES, member};

fn hexes(ids: &[Vec<u8>]) -> Vec<String> {
    ids.iter().map(hex::encode).collect()
}

/// Member sets the order cases run over.
fn member_sets() -> Vec<Vec<Vec<u8>>> {
    let mut sets: Vec<Vec<Vec<u8>>> = vec![
        (1..=5).map(member).collect(),
        (1..=3).map(member).collect(),
        vec![member(1)],
        (1..=8).map(member).collect(),
        (1..=20).map(member).collect(),
        vec![member(5), member(3), member(1), member(4), member(2)],
        // Ids of other lengths: demls's are credential identities of any length.
        vec![
            b"alice".to_vec(),
            b"bob".to_vec(),
            b"carol".to_vec(),
            b"dave".to_vec(),
            b"erin".to_vec(),
        ],
        vec![vec![0x00], vec![0x00, 0x00], vec![0xff; 32], b"m".to_vec()],
    ];
    sets.push((0..12).map(|i| vec![i as u8 * 17 + 3; 16]).collect());
    sets
}

/// The full SHA-256 order (a list as long as the member set) and the list a config of
/// (sn_min, sn_max) elects, for several election epochs, retry rounds and conversation ids.
fn orders() -> Vec<Value> {
    let epochs: [u64; 6] = [0, 1, 2, 7, 1 << 32, u64::MAX];
    let retries: [u32; 5] = [0, 1, 2, 255, u32::MAX];
    let conversations: [&[u8]; 3] = [b"conversation", b"test-conversation", b"conv"];
    let mut cases = Vec::new();
    for (s, members) in member_sets().iter().enumerate() {
        for (c, conversation) in conversations.iter().enumerate() {
            for &epoch in &epochs {
                for &retry in &retries {
                    // Keep the file small: the full cross product for the first member set and the
                    // first conversation, a diagonal elsewhere.
                    let everything = s == 0 && c == 0;
                    let diagonal =
                        (epoch % 3 + retry as u64 % 3 + s as u64 + c as u64).is_multiple_of(3);
                    if !everything && !diagonal {
                        continue;
                    }
                    let n = members.len();
                    let full = StewardListConfig::new(1, n).expect("bounds");
                    let order = StewardList::generate(epoch, conversation, members, n, full, retry)
                        .expect("a list");
                    cases.push(json!({
                        "members": hexes(members),
                        "conversation": String::from_utf8(conversation.to_vec()).expect("utf-8"),
                        "electionEpoch": epoch.to_string(),
                        "retryRound": retry,
                        "order": hexes(order.members()),
                    }));
                }
            }
        }
    }
    cases
}

/// `compute_list_size` and `is_valid_size` for several configs and member counts.
fn sizes() -> Vec<Value> {
    let mut cases = Vec::new();
    for (lo, hi) in [(1usize, 2usize), (1, 1), (2, 3), (2, 5), (3, 3), (5, 10)] {
        let config = StewardListConfig::new(lo, hi).expect("bounds");
        for total in 1..=12usize {
            let valid: Vec<usize> = (0..=total + 1)
                .filter(|&s| config.is_valid_size(s, total))
                .collect();
            cases.push(json!({
                "snMin": lo, "snMax": hi, "members": total,
                "listSize": config.compute_list_size(total),
                "validSizes": valid,
                "electionRequired": DeterministicStewardList::empty(config.clone()).election_required(total),
            }));
        }
    }
    cases
}

/// The rotation of an elected list: for each epoch around its span, the epoch steward and its backup
/// with every member eligible and with one member not (removed, or its removal approved).
fn rotations() -> Vec<Value> {
    let mut cases = Vec::new();
    let setups: [(u64, usize, usize, u32); 5] = [
        (0, 5, 5, 0),
        (5, 3, 3, 0),
        (7, 4, 2, 1),
        (10, 6, 3, 2),
        (0, 1, 1, 0),
    ];
    for (election, n, sn, retry) in setups {
        let members: Vec<Vec<u8>> = (1..=n as u8).map(member).collect();
        let config = StewardListConfig::new(1, sn.max(1)).expect("bounds");
        let list = StewardList::generate(election, b"conversation", &members, sn, config, retry)
            .expect("a list");
        let excluded = list.members()[0].clone();
        let mut epochs = Vec::new();
        for epoch in election.saturating_sub(1)..=election + sn as u64 + 1 {
            let (steward, backup) = list.epoch_and_backup(epoch, |_| true);
            let (steward_x, backup_x) = list.epoch_and_backup(epoch, |c| c != excluded.as_slice());
            epochs.push(json!({
                "epoch": epoch,
                "exhausted": list.is_exhausted(epoch),
                "steward": steward.map(hex::encode),
                "backup": backup.map(hex::encode),
                "stewardWithoutFirst": steward_x.map(hex::encode),
                "backupWithoutFirst": backup_x.map(hex::encode),
            }));
        }
        cases.push(json!({
            "members": hexes(&members),
            "conversation": "conversation",
            "electionEpoch": election,
            "retryRound": retry,
            "list": hexes(list.members()),
            "first": hex::encode(&excluded),
            "epochs": epochs,
        }));
    }
    cases
}

/// Who is settled (may be elected steward): a member is settled once the epoch has moved past the one
/// whose commit added it; members present before any recorded add are settled.
fn settled() -> Vec<Value> {
    let mut queues = ConversationQueues::new("conversation");
    let invite = |id: Vec<u8>| {
        ConversationUpdateRequest::member_invite(MemberInvite {
            key_package_bytes: vec![0xAA],
            member_id: id,
        })
    };
    queues.note_member_joins(&[invite(member(2))], 1);
    queues.note_member_joins(&[invite(member(3)), invite(member(4))], 3);
    // A second add of a known member keeps its first join epoch.
    queues.note_member_joins(&[invite(member(2))], 4);
    let members: Vec<Vec<u8>> = (1..=4).map(member).collect();
    (0..=5u64)
        .map(|epoch| {
            json!({
                "epoch": epoch,
                "settled": hexes(&queues.settled_members(&members, epoch)),
            })
        })
        .collect()
}

pub fn vectors() -> Value {
    json!({
        "source": SOURCES,
        "description": "Steward list. order: StewardList::generate(election_epoch, conversation_id, members, sn = all, retry_round).members(): the members by SHA-256(u64be(election_epoch) || u32be(retry_round) || member_id || conversation_id), ties by member id. sizes: StewardListConfig::compute_list_size (the list an election makes), is_valid_size, and whether a change of list needs a voted election (more members than sn_max). rotations: for a list elected at electionEpoch, epoch_and_backup(epoch) with every member eligible and with the list's first member not eligible; null once exhausted (epoch outside [election_epoch, election_epoch + len)). settled: ConversationQueues::settled_members after adds of member 02.. at epoch 1 and of 03.., 04.. at epoch 3 (and 02.. again at 4): a member added by the commit of epoch e is settled from e + 1. Member ids are hex; epochs of the order cases are decimal strings (u64).",
        "example": "members 01x20..05x20, conversation \"conversation\", election epoch 0, retry 0: the first order case",
        "order": orders(),
        "sizes": sizes(),
        "rotations": rotations(),
        "settled": {
            "joins": [{"member": hex::encode(member(2)), "epoch": 1}, {"member": hex::encode(member(3)), "epoch": 3}, {"member": hex::encode(member(4)), "epoch": 3}, {"member": hex::encode(member(2)), "epoch": 4}],
            "members": hexes(&(1..=4).map(member).collect::<Vec<_>>()),
            "byEpoch": settled(),
        },
    })
}
