// The group value and the types it is made of. Types only: every file of mls/ that takes or returns a
// group imports them from here, and this file imports no other file of mls/ that does, so the layer has
// no import cycle.
import type { ClientState } from "ts-mls";
import type { FingerprintHistory } from "./fingerprint.ts";
import type { Identity } from "./identity.ts";

/** Tunables of a member's MLS group value. */
export interface GroupOptions {
  /** `H`: how many epochs of fingerprints to keep (default 64). */
  readonly historySize: number;
  /** `K`: how many past epochs of full state to keep for rewinding (default 4). See {@link RetainedEpoch}. */
  readonly retainedEpochs: number;
}

/**
 * One member's view of one MLS group. Immutable: every operation returns a new value.
 */
export interface MlsGroup {
  readonly identity: Identity;
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  /** docs/sync.md: `MLS-Exporter("demls/state-fp", group_id || u64(epoch), 32)`. */
  readonly fingerprint: Uint8Array;
  /** Fingerprints of the last `H` epochs, current last. */
  readonly history: FingerprintHistory;
  /** Own full states at the end of each of the last `K` epochs, oldest first. */
  readonly retained: readonly RetainedEpoch[];
  /** Secrets consumed during the current epoch, wiped when this epoch leaves the retention window. */
  readonly consumed: ConsumedSecrets | undefined;
  /**
   * Secrets of the epochs that left the retention window when this value was made: zeroed when this
   * value is advanced in turn (it was taken then), not when made (`retention.ts`, `retire`).
   */
  readonly retired?: readonly Uint8Array[];
  readonly options: GroupOptions;
  /** States this member left by rewinding, with how far its own sending chains went there (`reentry.ts`). */
  readonly leftStates: readonly LeftState[];
  /** @internal ts-mls state; only `mls/` reads it. */
  readonly state: ClientState;
}

/** A state this member held and left by rewinding: the generations its own chains reached there. */
export interface LeftState {
  readonly fingerprint: Uint8Array;
  readonly application: number;
  readonly handshake: number;
}

/**
 * Secrets consumed in an epoch, newest batch first: every message read adds a batch, so appending must not
 * copy what came before (copying would make an epoch quadratic in its messages).
 */
export interface ConsumedSecrets {
  readonly batch: readonly Uint8Array[];
  readonly before: ConsumedSecrets | undefined;
}

/** The member's state as it was when it left `epoch` (see `retention.ts`). */
export interface RetainedEpoch {
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
  readonly history: FingerprintHistory;
  /** @internal */
  readonly state: ClientState;
  /** Secrets consumed in this epoch and by leaving it; zeroed when the entry is retired. */
  readonly consumed: readonly Uint8Array[];
}
