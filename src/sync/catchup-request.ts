// Asking for the commits we miss: one request, signed with our roster key and sealed under every key a
// holder of the target may use, from the newest state we share with the majority to its state; repeated
// after `catchUpRetryMs`.
import { type MlsGroup, retainedEpochs, sign } from "../mls/index.ts";
import { bytesEqual } from "../util/bytes.ts";
import { count, publish, sealingKeys } from "./channel.ts";
import type { Verdict } from "./classify.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { type CatchUpRequest, catchUpBody } from "./wire.ts";

/** Bytes of a catch-up request's nonce. */
const NONCE_BYTES = 8;

/**
 * A request for every epoch we miss of the verdict's majority state, unless one for that state is still
 * waiting for its answer. Behind, from our epoch; forked, from just below our oldest retained state, so
 * the answer shows which retained state we share.
 */
export async function requestCatchUp(ctx: SyncContext, v: Verdict, now: number): Promise<SyncEffect[]> {
  const g = ctx.port.group!;
  const m = v.majority!;
  const c = ctx.state.catchUp;
  const same = c && c.epoch === m.epoch && bytesEqual(c.fingerprint, m.fingerprint);
  if (same && now - c.sentAt < ctx.params.catchUpRetryMs) return [];
  const from = v.status === "BEHIND" ? g.epoch : forkedFrom(g, m.epoch);
  return sendCatchUp(ctx, from, m.epoch, m.fingerprint, now);
}

/**
 * Where a forked member asks from, for a majority state at `target`: just below the oldest state `g`
 * retains, so the answer shows which retained state we share. On a branch longer than the majority's,
 * from the majority's last commit, whose state before tells us (by its base) that we share no retained
 * state with it: a request from the target or above asks for nothing, and holders refuse it.
 */
export function forkedFrom(g: MlsGroup, target: bigint): bigint {
  const oldest = retainedEpochs(g)[0] ?? g.epoch;
  const below = oldest > 0n ? oldest - 1n : 0n;
  return below >= target && target > 0n ? target - 1n : below;
}

/**
 * Sends a request for the commits from epoch `from` to the state (`epoch`, `fingerprint`) of our group (or
 * of `groupId`: the group a commit removed us from), signed: holders answer only a requester whose
 * signature verifies, and budget their answers per requester.
 */
export async function sendCatchUp(
  ctx: SyncContext,
  from: bigint,
  epoch: bigint,
  fingerprint: Uint8Array,
  now: number,
  groupId = ctx.port.group!.groupId,
): Promise<SyncEffect[]> {
  const nonce = new Uint8Array(NONCE_BYTES);
  for (let i = 0; i < NONCE_BYTES; i++) nonce[i] = ctx.rng.int(256);
  const c = ctx.state.catchUp;
  // Who said "no path" to this very state still counts: a new nonce only picks other responders.
  const noPath = c && c.epoch === epoch && bytesEqual(c.fingerprint, fingerprint) ? c.noPath : undefined;
  ctx.state.catchUp = { nonce, sentAt: now, epoch, fingerprint, ...(noPath ? { noPath } : {}) };
  count(ctx, "CATCH_UP_SENT");
  const request: CatchUpRequest = {
    groupId,
    memberId: ctx.port.memberId,
    fromEpoch: from,
    targetEpoch: epoch,
    target: fingerprint,
    nonce,
  };
  const catchUp = { ...request, signature: await sign(ctx.port.identity, "catch-up", catchUpBody(request)) };
  return sealingKeys(ctx, []).map((k) => publish(ctx, { catchUp }, k));
}
