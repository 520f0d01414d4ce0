// Leaving the current state to be re-added: the recovery when no path of commits leads to the majority.
import { generateKeyPackages } from "../mls/index.ts";
import { count } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";

/**
 * Leaves the current state and asks to be re-added with a fresh KeyPackage, by our group or by the group
 * `groupId` (a reset group our roster moved to): after a fork older than the retained epochs, or when an
 * application finds its state damaged. Our chats of the abandoned branch go out again once we are back.
 */
export async function rejoin(ctx: SyncContext, now: number, groupId?: Uint8Array): Promise<SyncEffect[]> {
  await ctx.port.requestRejoin(
    await generateKeyPackages(ctx.port.identity, 1, { lastResort: true }),
    now,
    groupId,
  );
  const s = ctx.state;
  s.rejoining = true;
  s.catchUp = undefined;
  s.views.clear();
  s.lastSeq.clear();
  return [];
}

/** The majority's branch forked from ours before our retained epochs: we cannot rewind, so we rejoin. */
export function forkedBeyondRetained(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  count(ctx, "FORK_BEYOND_RETAINED");
  return rejoin(ctx, now);
}
