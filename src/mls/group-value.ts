// The MLS group as an immutable value: its fingerprint, retained epochs and consumed secrets, and the
// moves between states every operation shares (a fresh state, a new epoch, the same epoch touched).
import { type ClientState, mlsExporter } from "ts-mls";
import { concatBytes, u64be } from "../util/bytes.ts";
import { DEFAULT_HISTORY, pushFingerprint } from "./fingerprint.ts";
import type { Identity } from "./identity.ts";
import { continueOwnChains } from "./reentry.ts";
import { DEFAULT_RETAINED_EPOCHS, retire, zeroRetired } from "./retention.ts";
import { membersOf } from "./roster.ts";
import { intern } from "./share.ts";
import { suite } from "./suite.ts";
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
export async function fresh(
  identity: Identity,
  joined: ClientState,
  options: GroupOptions,
): Promise<MlsGroup> {
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
    leftStates: [],
    state,
  };
}

/**
 * Moves `group` into the epoch of `next`: the old state becomes a retained epoch. `group` is the live
 * state, or a value made from it by one step (a commit built, a candidate staged, a rewound copy): the
 * secrets its making retired are zeroed here, so a value made and never taken must not be advanced.
 */
export async function advance(
  group: MlsGroup,
  entered: ClientState,
  consumed: Uint8Array[],
): Promise<MlsGroup> {
  const fingerprint = await fingerprintOf(entered);
  // A state we held and left before: our own chains go on past what we sent there.
  const continued = await continueOwnChains(group, entered, fingerprint);
  const next = intern(continued.state);
  const leaving: RetainedEpoch = {
    epoch: group.epoch,
    fingerprint: group.fingerprint,
    history: group.history,
    state: group.state,
    consumed: [...allConsumed(group.consumed), ...consumed],
  };
  // `group` is advanced, so it was taken: nothing live retains what its making retired any more.
  zeroRetired(group.retired);
  const { kept, retired } = retire([...group.retained, leaving], group.options.retainedEpochs);
  return {
    ...group,
    epoch: next.groupContext.epoch,
    fingerprint,
    history: pushFingerprint(
      group.history,
      { epoch: next.groupContext.epoch, fingerprint },
      group.options.historySize,
    ),
    retained: kept,
    retired,
    consumed: continued.consumed.length ? { batch: continued.consumed, before: undefined } : undefined,
    state: next,
  };
}

/** Same epoch, new inner state (after an application message or a proposal). */
export function touch(group: MlsGroup, next: ClientState, consumed: Uint8Array[]): MlsGroup {
  return {
    ...group,
    state: next,
    consumed: consumed.length ? { batch: consumed, before: group.consumed } : group.consumed,
  };
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
