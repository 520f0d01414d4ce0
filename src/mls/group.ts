// The MLS group as an immutable value: create, commit, join, process, encrypt. Every call returns a new
// MlsGroup and leaves its input usable; every rejection is a typed MlsProtocolError.
import {
  type ClientState,
  createApplicationMessage,
  createCommit,
  emptyPskIndex,
  encodeMlsMessage,
  type IncomingMessageCallback,
  joinGroup,
  createGroup as mlsCreateGroup,
  mlsExporter,
  processMessage as mlsProcessMessage,
  type PrivateMessage,
  type Proposal,
} from "ts-mls";
import { unprotectPrivateMessage } from "ts-mls/messageProtection.js";
import { bytesEqual, concatBytes, toHex, u64be } from "../util/bytes.ts";
import { MlsProtocolError } from "./errors.ts";
import { DEFAULT_HISTORY, pushFingerprint } from "./fingerprint.ts";
import { type Identity, type KeyPackageBundle, readKeyPackage } from "./identity.ts";
import { DEFAULT_RETAINED_EPOCHS, retire } from "./retention.ts";
import { leafOf, memberIdAt, membersOf } from "./roster.ts";
import { intern } from "./share.ts";
import { clientConfig, decodeMessage, suite, toProtocolError } from "./suite.ts";
import type { ConsumedSecrets, GroupOptions, MlsGroup, RetainedEpoch } from "./types.ts";

export const DEFAULT_GROUP_OPTIONS: GroupOptions = {
  historySize: DEFAULT_HISTORY,
  retainedEpochs: DEFAULT_RETAINED_EPOCHS,
};

function allConsumed(c: ConsumedSecrets | undefined): Uint8Array[] {
  const batches: (readonly Uint8Array[])[] = [];
  for (let x = c; x !== undefined; x = x.before) batches.push(x.batch);
  return batches.reverse().flat();
}

/** The label and length of the state fingerprint (docs/sync.md). */
export const FINGERPRINT_LABEL = "demls/state-fp";

async function fingerprintOf(state: ClientState): Promise<Uint8Array> {
  return fingerprintFrom(
    state.keySchedule.exporterSecret,
    state.groupContext.groupId,
    state.groupContext.epoch,
  );
}

/**
 * The fingerprint of the epoch whose exporter secret is `exporterSecret`:
 * `MLS-Exporter("demls/state-fp", group_id || u64(epoch), 32)` (docs/spec/recovery.md, section 2).
 */
export async function fingerprintFrom(
  exporterSecret: Uint8Array,
  groupId: Uint8Array,
  epoch: bigint,
): Promise<Uint8Array> {
  return exporterValue(exporterSecret, FINGERPRINT_LABEL, concatBytes(groupId, u64be(epoch)), 32);
}

/** RFC 9420 `MLS-Exporter(label, context, length)` from an epoch's exporter secret (this ciphersuite). */
export async function exporterValue(
  exporterSecret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  return mlsExporter(exporterSecret, label, context, length, await suite());
}

/** Builds the group value for a fresh state (creation or join): empty retention, one-entry history. */
async function fresh(identity: Identity, joined: ClientState, options: GroupOptions): Promise<MlsGroup> {
  const state = intern(joined);
  const fingerprint = await fingerprintOf(state);
  return {
    identity,
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    fingerprint,
    history: pushFingerprint([], { epoch: state.groupContext.epoch, fingerprint }, options.historySize),
    retained: [],
    consumed: undefined,
    options,
    state,
  };
}

/** Moves `group` into the epoch of `next`: the old state becomes a retained epoch. */
async function advance(group: MlsGroup, entered: ClientState, consumed: Uint8Array[]): Promise<MlsGroup> {
  const next = intern(entered);
  const fingerprint = await fingerprintOf(next);
  const leaving: RetainedEpoch = {
    epoch: group.epoch,
    fingerprint: group.fingerprint,
    history: group.history,
    state: group.state,
    consumed: [...allConsumed(group.consumed), ...consumed],
  };
  return {
    ...group,
    epoch: next.groupContext.epoch,
    fingerprint,
    history: pushFingerprint(
      group.history,
      { epoch: next.groupContext.epoch, fingerprint },
      group.options.historySize,
    ),
    retained: retire([...group.retained, leaving], group.options.retainedEpochs),
    consumed: undefined,
    state: next,
  };
}

/** Same epoch, new inner state (after an application message or a proposal). */
function touch(group: MlsGroup, next: ClientState, consumed: Uint8Array[]): MlsGroup {
  return {
    ...group,
    state: next,
    consumed: consumed.length ? { batch: consumed, before: group.consumed } : group.consumed,
  };
}

/** Creates a one-member group at epoch 0 from one of the creator's KeyPackages. */
export async function createGroup(
  identity: Identity,
  groupId: Uint8Array,
  keyPackage: KeyPackageBundle,
  options: Partial<GroupOptions> = {},
): Promise<MlsGroup> {
  const { publicPackage, privatePackage } = keyPackage.inner;
  const state = await mlsCreateGroup(groupId, publicPackage, privatePackage, [], await suite(), clientConfig);
  return fresh(identity, state, { ...DEFAULT_GROUP_OPTIONS, ...options });
}

/** A batch of changes for one commit. */
export interface CommitRequest {
  /** Published KeyPackages (as from {@link generateKeyPackages}) of members to add. */
  readonly adds?: readonly Uint8Array[];
  /** Credential identities of members to remove. */
  readonly removes?: readonly Uint8Array[];
  /** Bytes bound to the commit, authenticated but not encrypted (RFC 9420 `authenticated_data`). */
  readonly authenticatedData?: Uint8Array;
}

/** A commit, the group after it, and the Welcome for the added members if any. */
export interface CommitOutput {
  readonly group: MlsGroup;
  /** Encoded `MLSMessage` (private message) to send to the current members. */
  readonly commit: Uint8Array;
  /** Encoded `MLSMessage` Welcome (with the ratchet tree) for the added members. */
  readonly welcome: Uint8Array | undefined;
}

/**
 * Builds a commit of `request`. An empty request (or one with removes) carries an update path, so it
 * also refreshes the committer's own leaf keys: that is how a member updates.
 * @throws {MlsProtocolError} `MALFORMED`/`INVALID_SIGNATURE` for a bad KeyPackage, `NOT_MEMBER` for an
 * unknown remove target, `INVALID` for a batch RFC 9420 rejects.
 */
export async function commit(group: MlsGroup, request: CommitRequest = {}): Promise<CommitOutput> {
  const cs = await suite();
  const proposals: Proposal[] = [];
  for (const kp of request.adds ?? []) {
    proposals.push({ proposalType: "add", add: { keyPackage: (await readKeyPackage(kp)).inner } });
  }
  for (const id of request.removes ?? []) {
    const leaf = leafOf(group.state, id);
    if (leaf === undefined) throw new MlsProtocolError("NOT_MEMBER", "remove target is not a member");
    proposals.push({ proposalType: "remove", remove: { removed: leaf } });
  }
  let result: Awaited<ReturnType<typeof createCommit>>;
  try {
    result = await createCommit(
      // Proposals arrive through de-MLS consensus, never as pending MLS proposals: commit only this batch.
      { state: { ...group.state, unappliedProposals: {} }, cipherSuite: cs },
      {
        extraProposals: proposals,
        ratchetTreeExtension: true,
        ...(request.authenticatedData ? { authenticatedData: request.authenticatedData } : {}),
      },
    );
  } catch (e) {
    throw toProtocolError(e, "commit");
  }
  return {
    group: await advance(group, result.newState, result.consumed),
    commit: encodeMlsMessage(result.commit),
    welcome: result.welcome
      ? encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome })
      : undefined,
  };
}

/**
 * Joins from a Welcome with whichever of `keyPackages` it was made for.
 * @returns the group and the ref of the KeyPackage used (delete it unless it is last-resort).
 * @throws {MlsProtocolError} `MALFORMED`, `NO_MATCHING_KEY_PACKAGE`, `INVALID_SIGNATURE`, `INVALID`.
 */
export async function joinFromWelcome(
  identity: Identity,
  welcomeBytes: Uint8Array,
  keyPackages: readonly KeyPackageBundle[],
  options: Partial<GroupOptions> = {},
): Promise<{ group: MlsGroup; usedKeyPackage: Uint8Array }> {
  const msg = decodeMessage(welcomeBytes, "Welcome");
  if (msg.wireformat !== "mls_welcome")
    throw new MlsProtocolError("MALFORMED", `expected a Welcome, got ${msg.wireformat}`);
  const refs = new Set(msg.welcome.secrets.map((s) => toHex(s.newMember)));
  const kp = keyPackages.find((k) => refs.has(toHex(k.ref)));
  if (kp === undefined)
    throw new MlsProtocolError("NO_MATCHING_KEY_PACKAGE", "no KeyPackage of ours in this Welcome");
  try {
    const cs = await suite();
    const { publicPackage, privatePackage } = kp.inner;
    const state = await joinGroup(
      msg.welcome,
      publicPackage,
      privatePackage,
      emptyPskIndex,
      cs,
      undefined,
      undefined,
      clientConfig,
    );
    return {
      group: await fresh(identity, state, { ...DEFAULT_GROUP_OPTIONS, ...options }),
      usedKeyPackage: kp.ref,
    };
  } catch (e) {
    throw toProtocolError(e, "Welcome");
  }
}

/** What the plaintext header of a message says, read without keys. */
export interface MessageHeader {
  readonly kind: "private" | "public" | "welcome" | "key_package" | "group_info";
  readonly groupId?: Uint8Array;
  readonly epoch?: bigint;
  readonly contentType?: "application" | "proposal" | "commit";
}

/**
 * Reads a message's plaintext header (group id, epoch, content type) without decrypting: lets a caller
 * buffer a commit for a future epoch instead of failing on it.
 * @throws {MlsProtocolError} `MALFORMED`.
 */
export function peek(bytes: Uint8Array): MessageHeader {
  const m = decodeMessage(bytes, "message");
  switch (m.wireformat) {
    case "mls_private_message": {
      const p = m.privateMessage;
      return { kind: "private", groupId: p.groupId, epoch: p.epoch, contentType: p.contentType };
    }
    case "mls_public_message": {
      const c = m.publicMessage.content;
      return { kind: "public", groupId: c.groupId, epoch: c.epoch, contentType: c.contentType };
    }
    case "mls_welcome":
      return { kind: "welcome" };
    case "mls_key_package":
      return { kind: "key_package" };
    default:
      return { kind: "group_info" };
  }
}

/** The outcome of {@link processMessage}. */
export type Processed =
  | {
      readonly kind: "commit";
      readonly group: MlsGroup;
      /** Credential identity of the committer. */
      readonly sender: Uint8Array;
      readonly added: readonly Uint8Array[];
      readonly removed: readonly Uint8Array[];
      /** This member was removed by the commit: the returned group is inactive. */
      readonly removedSelf: boolean;
    }
  | {
      readonly kind: "application";
      readonly group: MlsGroup;
      readonly sender: Uint8Array;
      /** The epoch the message was sent in (may be a recent past epoch). */
      readonly epoch: bigint;
      readonly plaintext: Uint8Array;
    };

/** A commit check a caller can impose (e.g. de-MLS: only approved proposals); `false` rejects with `INVALID`. */
export type CommitPolicy = (commit: {
  sender: Uint8Array;
  added: Uint8Array[];
  removed: Uint8Array[];
}) => boolean;

/**
 * Processes a commit (for the current epoch) or an application message (current or a recent past epoch).
 * The input group is never changed.
 * @throws {MlsProtocolError} `MALFORMED`, `WRONG_GROUP`, `WRONG_EPOCH` (with `expected`/`got`),
 * `INVALID_SIGNATURE`, `NOT_MEMBER`, `INVALID`.
 */
export async function processMessage(
  group: MlsGroup,
  bytes: Uint8Array,
  policy?: CommitPolicy,
): Promise<Processed> {
  const msg = decodeMessage(bytes, "message");
  if (msg.wireformat !== "mls_private_message")
    throw new MlsProtocolError("MALFORMED", `expected a private message, got ${msg.wireformat}`);
  const pm = msg.privateMessage;
  if (!bytesEqual(pm.groupId, group.groupId))
    throw new MlsProtocolError("WRONG_GROUP", "message for another group");
  if (group.state.groupActiveState.kind !== "active")
    throw new MlsProtocolError("NOT_MEMBER", "this member left the group");
  if (pm.contentType === "application") return decryptApplication(group, pm);
  if (pm.contentType !== "commit")
    throw new MlsProtocolError("MALFORMED", "standalone MLS proposals are not used");
  if (pm.epoch !== group.epoch)
    throw new MlsProtocolError("WRONG_EPOCH", `commit for epoch ${pm.epoch}, at ${group.epoch}`, {
      expected: group.epoch,
      got: pm.epoch,
    });
  let info: { sender: Uint8Array; added: Uint8Array[]; removed: Uint8Array[] } | undefined;
  const callback: IncomingMessageCallback = (incoming) => {
    if (incoming.kind !== "commit" || incoming.senderLeafIndex === undefined) return "reject";
    const added: Uint8Array[] = [];
    const removed: Uint8Array[] = [];
    for (const p of incoming.proposals) {
      if (p.proposal.proposalType === "add") {
        const cred = p.proposal.add.keyPackage.leafNode.credential;
        if (cred.credentialType === "basic") added.push(cred.identity);
      } else if (p.proposal.proposalType === "remove") {
        const id = memberIdAt(group.state, p.proposal.remove.removed);
        if (id) removed.push(id);
      }
    }
    info = { sender: memberIdAt(group.state, incoming.senderLeafIndex) ?? new Uint8Array(), added, removed };
    return policy && !policy(info) ? "reject" : "accept";
  };
  let result: Awaited<ReturnType<typeof mlsProcessMessage>>;
  try {
    result = await mlsProcessMessage(msg, group.state, emptyPskIndex, callback, await suite());
  } catch (e) {
    throw toProtocolError(e, "commit");
  }
  if (result.kind !== "newState" || info === undefined)
    throw new MlsProtocolError("MALFORMED", "not a commit");
  if (result.actionTaken === "reject") throw new MlsProtocolError("INVALID", "commit rejected by policy");
  const next = await advance(group, result.newState, result.consumed);
  return {
    kind: "commit",
    group: next,
    ...info,
    removedSelf: result.newState.groupActiveState.kind === "removedFromGroup",
  };
}

async function decryptApplication(group: MlsGroup, pm: PrivateMessage): Promise<Processed> {
  const state = group.state;
  if (pm.epoch > group.epoch)
    throw new MlsProtocolError("WRONG_EPOCH", `message for future epoch ${pm.epoch}`, {
      expected: group.epoch,
      got: pm.epoch,
    });
  // ts-mls's processMessage drops the sender of application messages; unprotect directly to keep it.
  const past = pm.epoch < group.epoch ? state.historicalReceiverData.get(pm.epoch) : undefined;
  if (pm.epoch < group.epoch && past === undefined)
    throw new MlsProtocolError("WRONG_EPOCH", `epoch ${pm.epoch} no longer decryptable`, {
      expected: group.epoch,
      got: pm.epoch,
    });
  const src = past ?? { ...state, senderDataSecret: state.keySchedule.senderDataSecret };
  try {
    const r = await unprotectPrivateMessage(
      src.senderDataSecret,
      pm,
      src.secretTree,
      src.ratchetTree,
      src.groupContext,
      clientConfig.keyRetentionConfig,
      await suite(),
    );
    const content = r.content.content;
    if (content.contentType !== "application" || content.sender.senderType !== "member")
      throw new MlsProtocolError("MALFORMED", "content type mismatch");
    const sender = memberIdAt({ ratchetTree: src.ratchetTree }, content.sender.leafIndex);
    if (sender === undefined) throw new MlsProtocolError("NOT_MEMBER", "sender is not a member");
    const next: ClientState = past
      ? {
          ...state,
          historicalReceiverData: new Map(state.historicalReceiverData).set(pm.epoch, {
            ...past,
            secretTree: r.tree,
          }),
        }
      : { ...state, secretTree: r.tree };
    return {
      kind: "application",
      group: touch(group, next, r.consumed),
      sender,
      epoch: pm.epoch,
      plaintext: content.applicationData,
    };
  } catch (e) {
    throw toProtocolError(e, "application message");
  }
}

/** Encrypts an application message for the current epoch. */
export async function encrypt(
  group: MlsGroup,
  plaintext: Uint8Array,
): Promise<{ group: MlsGroup; message: Uint8Array }> {
  try {
    const r = await createApplicationMessage(group.state, plaintext, await suite());
    const message = encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_private_message",
      privateMessage: r.privateMessage,
    });
    return { group: touch(group, r.newState, r.consumed), message };
  } catch (e) {
    throw toProtocolError(e, "encrypt");
  }
}

/**
 * RFC 9420 exporter of the current epoch, e.g. for the sync key (docs/sync.md).
 * Labels under `demls/` are reserved for demls.
 */
export async function exportSecret(
  group: MlsGroup,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  return exporterValue(group.state.keySchedule.exporterSecret, label, context, length);
}

/** Diagnostics for logs and reports (docs/sync.md): never used to decide anything. */
export function diagnostics(group: MlsGroup): {
  treeHash: Uint8Array;
  transcriptHash: Uint8Array;
  members: number;
} {
  const gc = group.state.groupContext;
  return {
    treeHash: gc.treeHash,
    transcriptHash: gc.confirmedTranscriptHash,
    members: membersOf(group.state).length,
  };
}

/** True while this member is in the group (false once a commit removed it). */
export function isActive(group: MlsGroup): boolean {
  return group.state.groupActiveState.kind === "active";
}
