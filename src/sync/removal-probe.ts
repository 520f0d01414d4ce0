// Probes of a member checking its removal (docs/sync.md, "Removed on a branch that lost"). The removal
// rotated the sync key away from the removed member, so a group that never took the removal, and still
// has it on its roster, sends nothing it can read: nobody sent under its key. While its check lasts, the
// removed member gossips its state before the removal marked as a probe; a member that has it on its roster
// answers under the key the probe came under, and nobody counts the probe as the member's state (chaos
// churn 740: a majority that moved on by another commit, rotating its key, never answered its silent
// ghost; counting the probe as a view instead changed five other churn seeds of 800 for the worse).
import type { MlsGroup } from "../mls/index.ts";
import { answerUnderKey, bringForward } from "./answers.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { beforeRemoval } from "./removal-check.ts";
import { rosterIdSet } from "./roster.ts";

/** Removed, while the removal is checked: the state we held before it, which our probes show. */
export function probeState(ctx: SyncContext): MlsGroup | undefined {
  const c = ctx.volatile.removalCheck;
  return c !== undefined && !c.done ? beforeRemoval(ctx) : undefined;
}

/** A verified probe of `who` under `key`: a member of our roster gets our next info under that key, soon. */
export function onProbe(
  ctx: SyncContext,
  who: string,
  key: Uint8Array,
  seqnum: bigint,
  now: number,
): SyncEffect[] {
  if (ctx.port.group === undefined || !rosterIdSet(ctx)?.has(who)) return [];
  answerUnderKey(ctx, who, key, seqnum);
  bringForward(ctx, now);
  return [];
}
