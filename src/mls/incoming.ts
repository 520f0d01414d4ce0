// Messages of others for an MLS group value: a header read without keys, commits and application
// messages processed into a new value (the input is never changed; every rejection is a typed
// MlsProtocolError).
import {
  type ClientState,
  emptyPskIndex,
  type IncomingMessageCallback,
  processMessage as mlsProcessMessage,
  type PrivateMessage,
} from "ts-mls";
import { unprotectPrivateMessage } from "ts-mls/messageProtection.js";
import { bytesEqual } from "../util/bytes.ts";
import { MlsProtocolError } from "./errors.ts";
import { advance, touch } from "./group-value.ts";
import { memberIdAt } from "./roster.ts";
import { clientConfig, decodeMessage, suite, toProtocolError } from "./suite.ts";
import type { MlsGroup } from "./types.ts";
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
