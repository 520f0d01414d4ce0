// Snapshots saved by older versions of the group core: the fields added since, filled in empty, so a
// member restores from any earlier save (test/node/restore.test.ts).
import { type CommitPulls, type GroupCoreState, newCommitPulls } from "./state.ts";

/** A state saved by an older version, with the fields added since filled in (empty). */
export function migrateGroupState(state: GroupCoreState): GroupCoreState {
  const old = state as {
    chatCopies?: GroupCoreState["chatCopies"];
    deliveredChats?: GroupCoreState["deliveredChats"];
    relayable?: GroupCoreState["relayable"];
    pastGroupIds?: GroupCoreState["pastGroupIds"];
    leaving?: boolean;
    addedTime?: GroupCoreState["addedTime"];
    formerMembers?: GroupCoreState["formerMembers"];
    rejoinsActed?: GroupCoreState["rejoinsActed"];
    rejoinTimes?: GroupCoreState["rejoinTimes"];
    rejoinWaiting?: GroupCoreState["rejoinWaiting"];
    rejoined?: Set<string>;
    chatSequence?: number;
    chatAfter?: GroupCoreState["chatAfter"];
    heldChats?: GroupCoreState["heldChats"];
    chatsFrom?: bigint;
    lastHeard?: GroupCoreState["lastHeard"];
    stewardLists?: GroupCoreState["stewardLists"];
    appliedCommits?: GroupCoreState["appliedCommits"];
    equivocations?: GroupCoreState["equivocations"];
    equivocationForks?: GroupCoreState["equivocationForks"];
    evidenceSent?: GroupCoreState["evidenceSent"];
    peerScores?: GroupCoreState["peerScores"];
    commitPulls?: CommitPulls;
    syncKeyAnchors?: GroupCoreState["syncKeyAnchors"];
    removedAsStale?: boolean;
  };
  old.removedAsStale ??= false;
  // Anchors were not recorded: a rewind below the current key's anchor keeps the current key.
  old.syncKeyAnchors ??= [];
  old.commitPulls ??= newCommitPulls(-1n);
  old.lastHeard ??= new Map();
  old.appliedCommits ??= new Map();
  old.equivocations ??= new Set();
  old.equivocationForks ??= [];
  old.evidenceSent ??= [];
  old.peerScores ??= new Map();
  // Lists were derived per epoch: the current state's is elected again at its epoch (listInForce).
  old.stewardLists ??= new Map();
  old.chatCopies ??= new Map();
  old.chatSequence ??= 0;
  old.chatAfter ??= new Map();
  old.heldChats ??= [];
  old.chatsFrom ??= 0n;
  old.deliveredChats ??= new Set();
  old.relayable ??= [];
  old.pastGroupIds ??= [];
  old.leaving ??= false;
  old.addedTime ??= new Map();
  old.rejoinsActed ??= new Map();
  old.rejoinTimes ??= new Map();
  old.rejoinWaiting ??= new Set();
  if (old.formerMembers === undefined) {
    // How they left and under which key was not recorded: an add of one is a re-admission, and no span of
    // chats is held back from it.
    old.formerMembers = new Map(
      [...(old.rejoined ?? [])].map((id) => [id, [{ how: "reset", from: 0, key: undefined }]]),
    );
    delete old.rejoined;
  }
  return state;
}
