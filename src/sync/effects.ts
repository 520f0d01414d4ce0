// What the sync core returns to its caller: the group core's effects it passes on, and its own.
import type { GroupEffect } from "../group/effects.ts";
import type { SyncStatus, Verdict } from "./classify.ts";
import type { SyncCode } from "./codes.ts";

/** How a member got back into the majority's state (a `recovered` effect). */
export type RecoveryHow =
  /** It applied the majority's commits from a catch-up answer (to its own request or one it heard). */
  | "catch-up"
  /** It rewound to a state shared with the majority (and applied the commits from there), or stepped back
   * from a state AHEAD that nobody else holds. */
  | "realign"
  /** It entered the group a hard reset made: as its operator, by the operator's Welcome, or following the
   * reset lineage. */
  | "reset"
  /** It was added back after asking to be re-added (a fork older than the retained epochs, a reset that
   * left it behind, or the application's request). */
  | "rejoin";

/** A status change with its evidence, for the application. */
export interface StatusEvent {
  readonly type: "status";
  readonly status: SyncStatus;
  readonly previous: SyncStatus;
  readonly verdict: Verdict;
}

/** The group healed here; `epochs` is how many commits the recovery applied (0 for a reset or rejoin). */
export interface RecoveredEvent {
  readonly type: "recovered";
  readonly how: RecoveryHow;
  readonly epochs: number;
}

/** We entered the group a hard reset made. */
export interface ResetEvent {
  readonly type: "reset";
  /** The new group's id. */
  readonly groupId: Uint8Array;
  /** Despite its name, the id of the group the reset replaced. */
  readonly operator: Uint8Array;
}

/**
 * A step of the member process threw instead of returning effects (reported by the member, never by a
 * core): counted under `code` (a typed error's own code, `INTERNAL` for anything else), the step's
 * effects dropped; the member goes on with its next input.
 */
export interface FaultEvent {
  readonly type: "fault";
  readonly code: SyncCode;
  /** What threw, and where the input came from (`message`, `timer`, `service`). */
  readonly detail: string;
}

/** A message to publish on a topic (the sync layer publishes on the conversation's sync topic). */
export type PublishEffect = Extract<GroupEffect, { type: "publish" }>;

/** What the sync core asks its caller to do or tells it: every group effect, and its own. */
export type SyncEffect = GroupEffect | StatusEvent | RecoveredEvent | ResetEvent | FaultEvent;
