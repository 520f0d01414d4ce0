// Answering another member's catch-up request: every holder of the target re-sends its own chats from the
// requester's epoch on, and the first `catchUpResponders` holders by hash answer with the commits.
import { fingerprintAt } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { count, drop, publish } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { ranksAmongFirst } from "./responders.ts";
import type { GroupView } from "./state.ts";
import type { CatchUpRequest } from "./wire.ts";

/** What one commit entry adds to an answer besides the commit and its fingerprint (an upper bound). */
const ENTRY_OVERHEAD_BYTES = 16;

/**
 * A catch-up request, opened under `key`. Every holder of the target re-sends its own chats from the
 * requester's epoch on: once caught up, the requester keeps the keys of only its last few epochs, so what
 * it missed before those it cannot read (receivers dedupe by chat id; a chat re-sent at our epoch is not
 * re-sent again until the epoch moves). Holders that rank among the first `catchUpResponders` by hash
 * also answer with the commits, under `key`: a requester behind a rotation cannot read the current one.
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
  // A range that runs backwards is no request an honest member makes.
  if (r.fromEpoch > r.targetEpoch!) return drop(ctx, "OUT_OF_RANGE");
  // Requests are sealed, not signed: bound what one claimed requester can make us send.
  const requester = toHex(r.memberId ?? new Uint8Array());
  if (!state.directory.has(requester)) return drop(ctx, "UNKNOWN_MEMBER");
  const served = ctx.volatile.served;
  const last = served.get(requester);
  if (
    last &&
    r.fromEpoch <= last.from &&
    now - last.at < params.catchUpRetryMs / params.catchUpServesPerRetry
  )
    return drop(ctx, "CATCH_UP_THROTTLED");
  served.set(requester, { at: now, from: r.fromEpoch });
  const out: SyncEffect[] = await port.resendAbandoned(now, false, r.fromEpoch);
  const gid = toHex(g.groupId);
  const target = r.targetEpoch!;
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
  const commits: { epoch: bigint; commit: Uint8Array; fingerprintAfter: Uint8Array }[] = [];
  let bytes = 0;
  for (const c of port.commitLog) {
    if (c.epoch < r.fromEpoch || c.epoch >= r.targetEpoch!) continue;
    bytes += c.commit.length + c.fingerprintAfter.length + ENTRY_OVERHEAD_BYTES;
    if (commits.length > 0 && bytes > params.catchUpMaxBytes) break;
    commits.push({ epoch: c.epoch, commit: c.commit, fingerprintAfter: c.fingerprintAfter });
  }
  // None from that range (a group whose first epoch we joined at, or a log that starts later): an
  // empty answer tells the requester that no path leads from its state to ours, so it asks to be
  // re-added at once instead of asking again forever.
  if (commits.length === 0) count(ctx, "CATCH_UP_NO_PATH");
  else count(ctx, "CATCH_UP_SERVED");
  const first = commits[0]?.epoch ?? target;
  const base = fingerprintAt(g.history, first);
  return [
    ...out,
    publish(
      ctx,
      {
        commits: {
          groupId: g.groupId,
          responder: port.memberId,
          nonce: r.nonce,
          commits,
          ...(base ? { baseEpoch: first, baseFingerprint: base } : {}),
        },
      },
      key,
    ),
  ];
}
