// The MLS group's own operations: create, commit, join, encrypt. Every call returns a new MlsGroup and
// leaves its input usable; every rejection is a typed MlsProtocolError. Messages of others: incoming.ts.
import {
  createApplicationMessage,
  createCommit,
  emptyPskIndex,
  encodeMlsMessage,
  joinGroup,
  createGroup as mlsCreateGroup,
  type Proposal,
} from "ts-mls";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { MlsProtocolError } from "./errors.ts";
import { fingerprintAt } from "./fingerprint.ts";
import { advance, DEFAULT_GROUP_OPTIONS, fresh, touch } from "./group-value.ts";
import { type Identity, type KeyPackageBundle, readKeyPackage } from "./identity.ts";
import { spendOwnHandshake } from "./reentry.ts";
import { leafOf } from "./roster.ts";
import { clientConfig, decodeMessage, suite, toProtocolError } from "./suite.ts";
import type { GroupOptions, MlsGroup } from "./types.ts";

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
  /**
   * The group still at its epoch, with the handshake generation the commit used spent: the state to keep
   * while the commit is only a candidate (a later commit at this state must not use that generation again).
   */
  readonly sameEpoch: MlsGroup;
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
  const spent = await spendOwnHandshake(group.state);
  const sameEpoch = touch(group, spent.state, spent.consumed);
  return {
    group: await advance(sameEpoch, result.newState, result.consumed),
    sameEpoch,
    commit: encodeMlsMessage(result.commit),
    welcome: result.welcome
      ? encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome })
      : undefined,
  };
}

/** Whether the group `own` after our own commit was built on the state `current` is in (its parent). */
export function builtOn(own: MlsGroup, current: MlsGroup): boolean {
  const parent = fingerprintAt(own.history, current.epoch);
  return own.epoch === current.epoch + 1n && parent !== undefined && bytesEqual(parent, current.fingerprint);
}

/**
 * The group after our own commit `own` (a {@link commit} output's `group`), entered from `current`, the
 * state it was built on as it is now: what we sent there since is what a rewind to it must continue
 * from, and a state we left by rewinding and enter again continues our own chains (`reentry.ts`).
 * @throws {MlsProtocolError} `WRONG_EPOCH` if `own` was not built on `current`'s state.
 */
export async function enterOwnCommit(current: MlsGroup, own: MlsGroup): Promise<MlsGroup> {
  if (!builtOn(own, current))
    throw new MlsProtocolError("WRONG_EPOCH", "our commit was built on another state");
  // What building the commit consumed (with what the state it left had), zeroed when `current` retires,
  // as `commit` files them; a secret filed twice is zeroed twice, harmlessly.
  return advance(current, own.state, [...(own.retained.at(-1)?.consumed ?? [])]);
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
