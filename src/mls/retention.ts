// Retained epochs (docs/architecture.md, "How it heals"): the member's own full state at the end of each of its last K epochs,
// so that a member on a minority branch can rewind to the fork point and take the majority's commit.
//
// Forward-secrecy trade-off: while an epoch is retained, its epoch secrets (init secret, secret tree,
// signature-independent keys) stay in memory and in the stored member state, so a compromise of this
// member exposes the last K epochs instead of only the current one. Beyond K they are dropped and the
// secrets consumed in them are zeroed. K = 0 gives plain MLS forward secrecy and no rewind.
import { zeroOutUint8Array } from "ts-mls";
import { MlsProtocolError } from "./errors.ts";
import { noteLeftStates } from "./reentry.ts";
import { sharing } from "./share.ts";
import type { MlsGroup, RetainedEpoch } from "./types.ts";

/** Default `K`. */
export const DEFAULT_RETAINED_EPOCHS = 4;

/**
 * Keeps the newest `k` entries; what the dropped ones consumed is returned, not zeroed: the value this
 * makes may never be taken (a steward's own commit that loses, a candidate staged), and the live state
 * still retains those epochs. {@link zeroRetired} zeroes it once the value made is advanced in turn.
 */
export function retire(
  entries: RetainedEpoch[],
  k: number,
): { kept: RetainedEpoch[]; retired: Uint8Array[] } {
  const drop = Math.max(0, entries.length - k);
  return { kept: entries.slice(drop), retired: entries.slice(0, drop).flatMap((e) => [...e.consumed]) };
}

/** Zeroes secrets retired from the retention window (not while members share state: another may use them). */
export function zeroRetired(secrets: readonly Uint8Array[] | undefined): void {
  if (secrets !== undefined && !sharing()) for (const s of secrets) zeroOutUint8Array(s);
}

/** Epochs this member can rewind to, oldest first. */
export function retainedEpochs(group: MlsGroup): bigint[] {
  return group.retained.map((r) => r.epoch);
}

/**
 * The group as it was at the end of retained `epoch`, ready to process a competing commit for that epoch.
 * Newer retained epochs and the current state (the abandoned branch) are dropped; they are not zeroed
 * because the rewound state shares secrets with them. How far our own sending chains went in each is
 * remembered, for entering the same state again (`reentry.ts`).
 * @throws {MlsProtocolError} `NOT_RETAINED` if `epoch` is not retained.
 */
export function rewind(group: MlsGroup, epoch: bigint): MlsGroup {
  const i = group.retained.findIndex((r) => r.epoch === epoch);
  const r = group.retained[i];
  if (r === undefined)
    throw new MlsProtocolError(
      "NOT_RETAINED",
      `epoch ${epoch} is not retained (have ${retainedEpochs(group).join(",")})`,
    );
  return {
    ...group,
    epoch: r.epoch,
    fingerprint: r.fingerprint,
    history: r.history,
    retained: group.retained.slice(0, i),
    consumed: undefined,
    leftStates: noteLeftStates(group.leftStates, [...group.retained.slice(i + 1), group]),
    state: r.state,
  };
}
