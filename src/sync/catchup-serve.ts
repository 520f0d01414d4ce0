// Answering another member's catch-up request: a holder of the target checks the requester (a member of
// a recent roster of ours whose signature verifies) and its budgets (src/sync/requesters.ts); then it
// re-sends its own chats from the requester's epoch on, and the first `catchUpResponders` holders by hash
// answer with the commits.
import { fingerprintAt, sign, verify } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { count, drop, publish } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { answerCommits, answerFrom, charge, refusal, requesterKey } from "./requesters.ts";
import { ranksAmongFirst } from "./responders.ts";
import { liveMembers } from "./roster.ts";
import type { GroupView } from "./state.ts";
import { answerBody, type CatchUpRequest, type CatchUpResponse, catchUpBody } from "./wire.ts";

/**
 * A catch-up request, opened under `key`. Checked from the cheapest step on: ours to answer (we hold the
 * target), its range, its requester on a recent roster of ours, what it was seen to hold, its throttle
 * and budgets, then its signature; a request refused at any step is counted and gets nothing. Every
 * holder of the target charges the requester for the answers the request draws and re-sends its own
 * chats from the requester's epoch on: once caught up, the requester keeps the keys of only its last few
 * epochs, so what it missed before those it cannot read (receivers dedupe by chat id; a chat re-sent at
 * our epoch is not re-sent again until the epoch moves). Holders that rank among the first
 * `catchUpResponders` by hash also answer with the commits, under `key`: a requester behind a rotation
 * cannot read the current one.
 */
export async function onCatchUp(
  ctx: SyncContext,
  r: CatchUpRequest,
  now: number,
  key: Uint8Array,
): Promise<SyncEffect[]> {
  const { port, state, params } = ctx;
  const g = port.group;
  if (!g || !r.groupId || !bytesEqual(r.groupId, g.groupId) || r.fromEpoch === undefined || !r.target)
    return [];
  const have = fingerprintAt(g.history, r.targetEpoch ?? -1n);
  if (have === undefined || !bytesEqual(have, r.target)) return [];
  const target = r.targetEpoch!;
  // A range that is empty or runs backwards is no request an honest member makes.
  if (r.fromEpoch >= target) return drop(ctx, "OUT_OF_RANGE");
  if (!r.memberId || !r.signature) return drop(ctx, "MALFORMED");
  const requester = toHex(r.memberId);
  const signer = requesterKey(ctx, requester);
  if (signer === undefined) return drop(ctx, "UNKNOWN_MEMBER");
  const from = answerFrom(ctx, g, requester, r.fromEpoch);
  // Seen at the target or past it on our chain: it holds every commit it asks for.
  if (from >= target) return drop(ctx, "CATCH_UP_HELD");
  const refused = refusal(ctx, requester, from, now);
  if (refused !== undefined) return drop(ctx, refused);
  if (!(await verify(signer, "catch-up", catchUpBody(r), r.signature))) return drop(ctx, "INVALID_SIGNATURE");
  const { commits, bytes } = answerCommits(port.commitLog, from, target, params.catchUpMaxBytes);
  charge(ctx, requester, bytes, from, commits.length > 0 ? commits.at(-1)!.epoch + 1n : from, now);
  const out: SyncEffect[] = await port.resendAbandoned(now, false, from);
  const gid = toHex(g.groupId);
  // Members whose view shows them on our chain at the target or later: they hold the commits too.
  const history = g.history;
  function* holders(views: ReadonlyMap<string, GroupView>) {
    for (const [who, v] of views) {
      if (v.groupId !== gid || v.epoch < target) continue;
      const f = fingerprintAt(history, v.epoch);
      if (f !== undefined && bytesEqual(f, v.fingerprint)) yield who;
    }
  }
  const me = toHex(port.memberId);
  const nonce = r.nonce ?? new Uint8Array();
  if (!ranksAmongFirst(me, holders(state.views), nonce, params.catchUpResponders)) return out;
  // The answering holders also relay the chats of senders not heard lately, which nobody else re-sends.
  out.push(...(await port.relayChats(now, from, liveMembers(ctx, now))));
  // None from that range (a group whose first epoch we joined at, or a log that starts later): an
  // empty answer tells the requester that no path leads from its state to ours, so it asks to be
  // re-added at once instead of asking again forever.
  if (commits.length === 0) count(ctx, "CATCH_UP_NO_PATH");
  else count(ctx, "CATCH_UP_SERVED");
  const first = commits[0]?.epoch ?? target;
  const base = fingerprintAt(g.history, first);
  const answer: CatchUpResponse = {
    groupId: g.groupId,
    responder: port.memberId,
    nonce: r.nonce,
    commits: commits.map((c) => ({ epoch: c.epoch, commit: c.commit, fingerprintAfter: c.fingerprintAfter })),
    ...(base ? { baseEpoch: first, baseFingerprint: base } : {}),
    // A member whose leaf we removed as stale, checking its removal (the group means to add it again), or
    // whose leaf in our roster is newer than the state it asks from: it should ask to be re-added.
    ...(port.shouldAskBack?.(requester, r.fromEpoch) ? { staleLeaf: true } : {}),
  };
  // Signed: a requester rejoins on "no path" only when distinct responders say so (catchup-nopath.ts).
  const signature = await sign(port.identity, "catch-up-answer", answerBody(answer));
  return [...out, publish(ctx, { commits: { ...answer, signature } }, key)];
}
