// What a holder of the target knows of each catch-up requester, and what it lets one requester (and all
// of them together) make the group send (docs/spec/recovery.md, section 5; docs/decisions.md, "Catch-up
// requests are signed and budgeted"):
// - who may ask: a member of a roster of one of our recent states, under the key our directory holds;
// - from where: not below the newest state of our chain its signed gossip showed it at;
// - how often: one request per half retry interval, unless it asks only for commits after its last answer;
// - how much: the answer bytes the group sends it, and all requesters together, per budget window.
// Every holder of the target keeps the same books from the same requests: each request acted on is
// charged as the `catchUpResponders` answers it draws, whoever sends them.
import { fingerprintAt, type MlsGroup } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { SyncCode } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import type { LoggedCommit } from "./group-port.ts";
import type { SeenOnChain, Spent } from "./state.ts";
import type { SyncStateInfo } from "./wire.ts";

/** What one commit entry adds to an answer besides the commit and its fingerprint (an upper bound). */
const ENTRY_OVERHEAD_BYTES = 16;
/** An answer's bytes besides its entries: group id, responder, nonce, base state, the seal (upper bound). */
const ANSWER_OVERHEAD_BYTES = 160;

/** The commits of an answer from `from` towards `target` (exclusive), cut at `maxBytes` (at least one). */
export function answerCommits(
  log: readonly LoggedCommit[],
  from: bigint,
  target: bigint,
  maxBytes: number,
): { commits: LoggedCommit[]; bytes: number } {
  const commits: LoggedCommit[] = [];
  let bytes = 0;
  for (const c of log) {
    if (c.epoch < from || c.epoch >= target) continue;
    const size = c.commit.length + c.fingerprintAfter.length + ENTRY_OVERHEAD_BYTES;
    if (commits.length > 0 && bytes + size > maxBytes) break;
    bytes += size;
    commits.push(c);
  }
  return { commits, bytes: bytes + ANSWER_OVERHEAD_BYTES };
}

/**
 * The signature key of `requester` (hex id) when it is a member of a roster of one of our recent states
 * (the rosters of our last `historySize` states): a member that lagged across an add or a removal, or
 * came back by a rejoin, is on the roster of a state we held, even when not on our current one. A member
 * removed longer ago, or one only another branch added, is not.
 */
export function requesterKey(ctx: SyncContext, requester: string): Uint8Array | undefined {
  const key = ctx.state.directory.get(requester);
  if (key === undefined) return undefined;
  // Equal rosters share one array (see `learnRoster`): each distinct one is searched once.
  for (const ids of new Set(ctx.state.rosters.values())) if (sortedHas(ids, requester)) return key;
  return undefined;
}

function sortedHas(ids: readonly string[], id: string): boolean {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return ids[lo] === id;
}

/**
 * A checked SyncStateInfo of `who`: when its state is on our chain and newer than the last we recorded,
 * it becomes the newest state it was seen at. A member never needs commits before that: it holds them
 * (see {@link answerFrom}). The newest, not the last: a later info claiming an older state is no reason,
 * unless the record is no longer of our chain (we rewound or rejoined since).
 */
export function noteSeen(ctx: SyncContext, who: string, i: SyncStateInfo): void {
  const g = ctx.port.group;
  if (g === undefined || !bytesEqual(i.groupId!, g.groupId)) return;
  const ours = fingerprintAt(g.history, i.epoch!);
  if (ours === undefined || !bytesEqual(ours, i.fingerprint!)) return;
  const seen = ctx.volatile.seen;
  const last = seen.get(who);
  if (last !== undefined && last.epoch >= i.epoch! && onOurChain(g, last)) return;
  seen.set(who, { groupId: toHex(g.groupId), epoch: i.epoch!, fingerprint: i.fingerprint! });
}

/** Whether a record is of our group and its state is the one our history holds at its epoch. */
function onOurChain(g: MlsGroup, seen: SeenOnChain): boolean {
  if (seen.groupId !== toHex(g.groupId)) return false;
  const ours = fingerprintAt(g.history, seen.epoch);
  return ours !== undefined && bytesEqual(ours, seen.fingerprint);
}

/**
 * The epoch an answer to `requester` starts at: its `from`, but not below the newest state of our chain
 * its signed gossip showed it at. Every commit before that state it holds; and it never needs them
 * again: an honest member asks from its own epoch (behind) or from below its oldest retained state
 * (forked), and once on our chain at an epoch it rewinds, forked, only to a state of our chain at or
 * after it (the answer's base is that state, so it finds it). Only a record we can still check counts:
 * the state must be in our history at that epoch (we may have rewound or rejoined since).
 */
export function answerFrom(ctx: SyncContext, g: MlsGroup, requester: string, from: bigint): bigint {
  const seen = ctx.volatile.seen.get(requester);
  return seen !== undefined && from < seen.epoch && onOurChain(g, seen) ? seen.epoch : from;
}

/**
 * Why a request of `requester` from epoch `from` gets no answer now, before its signature is checked
 * (only requests that verified were counted, so a forger cannot spend another member's budget):
 * `CATCH_UP_THROTTLED` within half a retry interval of its last answer, unless it asks only for commits
 * after those that answer carried; `CATCH_UP_BUDGET` when its bytes, or everyone's, reached the window's
 * budget.
 */
export function refusal(
  ctx: SyncContext,
  requester: string,
  from: bigint,
  now: number,
): SyncCode | undefined {
  const { params, volatile } = ctx;
  const last = volatile.served.get(requester);
  const onwards = last !== undefined && last.to > last.from && from >= last.to;
  if (last && !onwards && now - last.at < params.catchUpRetryMs / params.catchUpServesPerRetry)
    return "CATCH_UP_THROTTLED";
  if (spentIn(volatile.spent.get(requester), params.catchUpBudgetMs, now) >= params.catchUpRequesterBytes)
    return "CATCH_UP_BUDGET";
  if (spentIn(volatile.spentTotal, params.catchUpBudgetMs, now) >= params.catchUpTotalBytes)
    return "CATCH_UP_BUDGET";
  return undefined;
}

/**
 * A request acted on: `requester` is charged the answers it draws (`catchUpResponders` × `bytes`), and
 * its next request within the throttle window must start at `to`, after the commits this answer carries
 * from `from` (an answer that carries none lets no request through early).
 */
export function charge(
  ctx: SyncContext,
  requester: string,
  bytes: number,
  from: bigint,
  to: bigint,
  now: number,
): void {
  const { params, volatile } = ctx;
  const cost = bytes * params.catchUpResponders;
  volatile.served.set(requester, { at: now, from, to });
  volatile.spent.set(requester, add(volatile.spent.get(requester), cost, params.catchUpBudgetMs, now));
  volatile.spentTotal = add(volatile.spentTotal, cost, params.catchUpBudgetMs, now);
}

/** Bytes charged in the window that `s` began, or 0 once it is over. */
function spentIn(s: Spent | undefined, windowMs: number, now: number): number {
  return s === undefined || now - s.since >= windowMs ? 0 : s.bytes;
}

function add(s: Spent | undefined, bytes: number, windowMs: number, now: number): Spent {
  return s === undefined || now - s.since >= windowMs
    ? { since: now, bytes }
    : { since: s.since, bytes: s.bytes + bytes };
}
