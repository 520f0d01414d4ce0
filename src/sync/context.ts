// What every function of the sync layer works on: one member's sync state, the group core below it and the
// parameters, passed as one value (the sync core builds it once).
import type { Rng } from "../net/transport.ts";
import type { GroupPort } from "./group-port.ts";
import type { SyncParams } from "./params.ts";
import type { SyncState, SyncVolatile } from "./state.ts";

export interface SyncContext {
  /** The group core of the member. */
  readonly port: GroupPort;
  /** Persisted state. */
  readonly state: SyncState;
  /** State that lives as long as the process. */
  readonly volatile: SyncVolatile;
  /** Checked with `validateSyncParams`. */
  readonly params: SyncParams;
  /** Every random draw of the layer: the simulator replays it. */
  readonly rng: Rng;
  /** The conversation's sync topic. */
  readonly topic: string;
  /** The topic's bytes: the associated data of every sealed sync message. */
  readonly topicAad: Uint8Array;
}
