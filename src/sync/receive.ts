// A message on the sync topic: opened with any key we hold, decoded, and handed to the part of the layer
// its payload is for. Bad input is counted and dropped.
import { DemlsError } from "../util/errors.ts";
import { onCommits } from "./catchup-apply.ts";
import { onCatchUp } from "./catchup-serve.ts";
import { count } from "./channel.ts";
import { syncCodeOf } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { onInfo } from "./gossip.ts";
import { openingKeys } from "./lineage.ts";
import { onWelcome } from "./reset-join.ts";
import { onProposal, onVote } from "./reset-round.ts";
import { open } from "./seal.ts";
import { decodeSyncPayload, type SyncPayload } from "./wire.ts";

/** A message on the sync topic. Bad input is counted and dropped. */
export async function receive(ctx: SyncContext, bytes: Uint8Array, now: number): Promise<SyncEffect[]> {
  let payload: SyncPayload;
  let key: Uint8Array;
  try {
    const opened = open(openingKeys(ctx), bytes, ctx.topicAad);
    key = opened.key;
    payload = decodeSyncPayload(opened.plaintext);
  } catch (e) {
    const code = e instanceof DemlsError ? syncCodeOf(e) : "MALFORMED";
    count(ctx, code);
    if (code === "UNKNOWN_KEY") ctx.volatile.unreadableAt = now;
    return [];
  }
  try {
    if (payload.info) return await onInfo(ctx, payload.info, now, key);
    if (payload.catchUp) return await onCatchUp(ctx, payload.catchUp, now, key);
    if (payload.commits) return await onCommits(ctx, payload.commits, now);
    if (payload.reset) return await onProposal(ctx, payload.reset, now);
    if (payload.resetVote) return await onVote(ctx, payload.resetVote, now, key);
    if (payload.resetWelcome) return await onWelcome(ctx, payload.resetWelcome, now);
  } catch (e) {
    if (!(e instanceof DemlsError)) throw e;
    count(ctx, syncCodeOf(e));
  }
  return [];
}
