// A reset operator's Welcome and its repeats. The Welcome goes out on the sync channel, which nothing
// repairs: the operator sends it again while a member of the new roster is not heard in the new group,
// within a budget of `resetWelcomeRepeats`, and beyond it whenever a roster member is heard elsewhere.
import { type Identity, sign } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { count, publish, sealingKeys } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { PublishEffect, SyncEffect } from "./effects.ts";
import { certificateOf } from "./reset-proof.ts";
import type { ResetRound } from "./state.ts";
import { type ResetWelcome, resetWelcomeBody } from "./wire.ts";

/**
 * Round `r`'s Welcome, naming us as the operator and the parent key by id, with the round's certificate:
 * its signed proposal and every signed YES vote we hold (without their KeyPackages). Unsigned.
 */
export function welcomeOf(
  ctx: SyncContext,
  r: ResetRound,
  welcome: Uint8Array,
  parentKeyId: Uint8Array,
): ResetWelcome {
  return {
    proposalId: r.id,
    operator: ctx.port.memberId,
    welcome,
    groupId: r.groupId,
    parentKeyId,
    ...certificateOf(r),
  };
}

/** `w` with its operator's signature (`identity` is the operator's). */
export async function signWelcome(identity: Identity, w: ResetWelcome): Promise<ResetWelcome> {
  return { ...w, operatorSignature: await sign(identity, "reset-welcome", resetWelcomeBody(w)) };
}

/** `payload` under each of `keys`. */
function publishUnder(ctx: SyncContext, payload: ResetWelcome, keys: readonly Uint8Array[]): PublishEffect[] {
  return keys.map((k) => publish(ctx, { resetWelcome: payload }, k));
}

/** How long after a Welcome (or a repeat) the next repeat comes at the earliest. */
function repeatIntervalMs(ctx: SyncContext): number {
  return ctx.params.resetOperatorTimeoutMs / ctx.params.resetWelcomeRepeatsPerTurn;
}

/**
 * As the operator of round `r`'s group: publishes our signed Welcome under `parentKey` (the old group's
 * key the new one is chained from) and every key we seal under (called before we enter the new group), and
 * schedules its repeats.
 */
export function sendWelcome(
  ctx: SyncContext,
  r: ResetRound,
  payload: ResetWelcome,
  parentKey: Uint8Array,
  now: number,
): PublishEffect[] {
  const keys = sealingKeys(ctx, [parentKey]);
  const out = publishUnder(ctx, payload, keys);
  r.repeat = {
    payload,
    keys,
    repeatsLeft: ctx.params.resetWelcomeRepeats,
    repeatAt: now + repeatIntervalMs(ctx),
    lastAt: now,
    asked: false,
  };
  return out;
}

/** The round whose group we are in and whose Welcome we repeat as its operator, if any. */
export function repeatingRound(ctx: SyncContext): ResetRound | undefined {
  const g = ctx.port.group;
  if (g === undefined) return undefined;
  return [ctx.state.joinedRound, ctx.state.reset].find(
    (r) => r?.repeat !== undefined && bytesEqual(r.groupId, g.groupId),
  );
}

/**
 * A roster member is heard in another group than ours (`forked` false), or in a group of our id at a
 * state our history forks from (`forked`: a competing operator's group of our round, or an ordinary fork
 * of ours): as the operator of ours, repeat our Welcome to it soon (at most once per repeat interval;
 * views are signed and fresh, so only a member really elsewhere asks). Beyond the timer's budget for a
 * member elsewhere; within it for a fork, which any insider can claim and honest groups see often (a
 * member of our own group ignores the Welcome).
 */
export function onForeignView(ctx: SyncContext, who: string, now: number, forked = false): void {
  const r = repeatingRound(ctx);
  const rep = r?.repeat;
  if (!r || !rep) return;
  if (!ctx.port.rosterIds().some((id) => toHex(id) === who)) return;
  if (forked && rep.repeatsLeft <= 0) return;
  if (forked) rep.forked = true;
  else rep.asked = true;
  const at = Math.max(now + ctx.params.responseDelayMs * ctx.rng.next(), rep.lastAt + repeatIntervalMs(ctx));
  rep.repeatAt = Math.min(rep.repeatAt ?? Number.POSITIVE_INFINITY, at);
}

/**
 * A Welcome of a worse-ranked operator `op` of our round: it missed ours. As our group's operator, repeat
 * our Welcome soon, within the budget (an insider signing Welcomes as their operator can at most spend
 * it).
 */
export function onWorseWelcome(ctx: SyncContext, round: ResetRound, op: string, now: number): void {
  const rep = round.repeat;
  if (rep && rep.repeatsLeft > 0 && op !== round.joinedVia)
    rep.repeatAt = Math.min(
      rep.repeatAt ?? Number.POSITIVE_INFINITY,
      now + ctx.params.responseDelayMs * ctx.rng.next(),
    );
}

/**
 * As operator of the group we are in: our Welcome again, while some member of its roster has not been
 * heard in it (members that joined gossip at once), within the repeat budget, or when one was heard
 * elsewhere.
 */
export function repeatWelcome(ctx: SyncContext, r: ResetRound, now: number): SyncEffect[] {
  const rep = r.repeat;
  if (rep?.repeatAt === undefined || now < rep.repeatAt) return [];
  // Left out of a better-ranked operator's group, we became its joiner: ours is abandoned.
  const g = ctx.port.group;
  if (g === undefined || !bytesEqual(g.groupId, r.groupId)) {
    r.repeat = undefined;
    return [];
  }
  const gid = toHex(g.groupId);
  const me = toHex(ctx.port.memberId);
  const unheard = ctx.port
    .rosterIds()
    .map(toHex)
    .some((id) => id !== me && ctx.state.views.get(id)?.groupId !== gid);
  if (!rep.asked && ((!unheard && !rep.forked) || rep.repeatsLeft <= 0)) {
    rep.repeatAt = undefined;
    return [];
  }
  if (!rep.asked) rep.repeatsLeft--;
  rep.asked = false;
  rep.forked = false;
  rep.lastAt = now;
  rep.repeatAt = rep.repeatsLeft > 0 ? now + repeatIntervalMs(ctx) : undefined;
  count(ctx, "RESET_WELCOME_REPEATED");
  return publishUnder(ctx, rep.payload, rep.keys);
}
