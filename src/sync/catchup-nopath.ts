// "No path": an answer to our catch-up request saying no path of commits leads from our state to the
// majority's (an empty batch, a fork older than we retain, a first commit that does not apply). One
// member's word never decides: answers are signed by their responder, and we rejoin only once two
// distinct responders said so for the same target (or every holder of it, when fewer hold it). A lone
// "no path" is counted and we wait for the other answers, or ask again.
import { bytesEqual, toHex } from "../util/bytes.ts";
import { answerSigner } from "./answer-signer.ts";
import { count, drop } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { forkedBeyondRetained } from "./rejoin.ts";
import type { PendingCatchUp } from "./state.ts";
import type { CatchUpResponse } from "./wire.ts";

/** Distinct responders whose "no path" makes us rejoin, when at least that many hold the target. */
export const NO_PATH_QUORUM = 2;

/**
 * How many distinct responders must say "no path" to the target of `asked`: {@link NO_PATH_QUORUM}, or
 * every other member seen holding the target (its signed state), when fewer do (a group of two).
 */
export function noPathQuorum(ctx: SyncContext, asked: PendingCatchUp): number {
  const gid = ctx.port.group === undefined ? undefined : toHex(ctx.port.group.groupId);
  const me = toHex(ctx.port.memberId);
  let holders = 0;
  for (const [who, v] of ctx.state.views)
    if (
      who !== me &&
      v.groupId === gid &&
      v.epoch === asked.epoch &&
      bytesEqual(v.fingerprint, asked.fingerprint) &&
      ++holders >= NO_PATH_QUORUM
    )
      break;
  return Math.max(1, Math.min(NO_PATH_QUORUM, holders));
}

/**
 * The answer `r` to our request `asked` shows no path (`code` says how). Its responder's signature must
 * verify against its key on a recent roster of ours; then its word is recorded for the target, and we
 * rejoin once the quorum is reached. Before that, the other answers to this request, or our next
 * request (other responders, by its new nonce), decide.
 */
export async function onNoPath(
  ctx: SyncContext,
  r: CatchUpResponse,
  asked: PendingCatchUp,
  code: "NO_PATH_TO_MAJORITY" | "COMMIT_NOT_APPLICABLE" | "FORK_BEYOND_RETAINED",
  now: number,
): Promise<SyncEffect[]> {
  const signer = await answerSigner(ctx, r);
  if ("drop" in signer) return drop(ctx, signer.drop);
  const responder = signer.responder;
  const said = new Set(asked.noPath ?? []);
  said.add(responder);
  if (said.size < noPathQuorum(ctx, asked)) {
    ctx.state.catchUp = { ...asked, noPath: [...said] };
    count(ctx, "NO_PATH_UNCORROBORATED");
    return [];
  }
  if (code !== "FORK_BEYOND_RETAINED") count(ctx, code);
  return forkedBeyondRetained(ctx, now);
}
