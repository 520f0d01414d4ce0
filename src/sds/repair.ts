// SDS-R: repair requests for missing messages (scheduled, backed off, carried by outgoing messages) and
// repair responses (sent from the cache by the response group, to the requesters first and to everyone
// when they keep asking, cancelled when seen). The timing functions are in repair-timing.ts.
import {
  answersFirstAsk,
  inResponseGroup,
  RESPONSE_GROUP_SIZE,
  requestTime,
  responseTime,
} from "./repair-timing.ts";
import { lowerWake } from "./schedule.ts";
import type { SdsCore, SdsEffect } from "./types.ts";
import { decodeSdsMessage, type HistoryEntry } from "./wire.ts";

/** Schedules a repair request for every history entry we neither have nor hold in the buffer. */
export function requestMissing(core: SdsCore, history: readonly HistoryEntry[], now: number): void {
  const s = core.state;
  const c = core.config;
  for (const e of history) {
    const id = e.messageId;
    if (s.known.has(id) || s.incoming.has(id) || s.repairRequests.has(id)) continue;
    const dueAt = requestTime(s.selfId, id, now, c.repairTMinMs, c.repairTMaxMs);
    s.repairRequests.set(id, {
      entry: { messageId: id, ...(e.senderId !== undefined ? { senderId: e.senderId } : {}) },
      missingSince: now,
      dueAt,
      attempts: 0,
    });
    lowerWake(core, Math.min(dueAt, now + c.lostAfterMs));
  }
}

/** A requested message arrived: no longer asked for, and reported `repaired`. */
export function requestAnswered(core: SdsCore, id: string, effects: SdsEffect[]): void {
  const s = core.state;
  if (!s.repairRequests.delete(id)) return;
  s.stats.repaired++;
  effects.push({ type: "repaired", messageId: id });
}

/** A message was seen on the wire: nobody needs to answer a request for it any more. */
export function responseSeen(core: SdsCore, id: string): void {
  core.state.repairResponses.delete(id);
  core.state.repairTargets.delete(id);
}

/** Whether a repair request is due (then a sync message carries it at once). */
export function requestsDue(core: SdsCore, now: number): boolean {
  return [...core.state.repairRequests.values()].some((r) => r.dueAt <= now);
}

/** Up to `maxRepairEntriesPerMessage` due requests, marked as sent with their next retry time. */
export function takeDueRequests(core: SdsCore, now: number): HistoryEntry[] {
  const c = core.config;
  const out: HistoryEntry[] = [];
  for (const r of core.state.repairRequests.values()) {
    if (out.length >= c.maxRepairEntriesPerMessage) break;
    if (r.dueAt > now) continue;
    out.push(r.entry);
    r.attempts++;
    r.dueAt = now + c.repairTMaxMs * 2 ** (Math.min(r.attempts, c.repairBackoffSteps) - 1);
    core.state.stats.repairRequestsSent++;
  }
  return out;
}

/**
 * Who a sync message that carries due repair requests goes to: the members that may answer them (each
 * entry's sender and response group), when our caller can address them. Undefined (everyone) when the
 * participants' ids are unknown, an entry names no sender, a request was sent `repairDirectAsks` times
 * already (a wrong route costs a retry, not the repair), or the responders are more than half the others.
 * A request broadcast to n members costs n transmissions for the few that answer it; at 20% loss in a
 * group of 100 about 20 members miss each message and each asks, which is what answering them directly
 * would otherwise trade the duplicates of a broadcast answer for.
 */
export function requestTargets(core: SdsCore, entries: readonly HistoryEntry[]): string[] | undefined {
  const s = core.state;
  const ids = core.volatile.participantIds;
  if (ids === undefined || entries.length === 0) return undefined;
  const out = new Set<string>();
  for (const e of entries) {
    const sender = e.senderId;
    const attempts = s.repairRequests.get(e.messageId)?.attempts ?? 0;
    if (sender === undefined || attempts > core.config.repairDirectAsks) return undefined;
    out.add(sender);
    for (const p of ids)
      if (inResponseGroup(p, sender, e.messageId, s.participants, RESPONSE_GROUP_SIZE)) out.add(p);
  }
  out.delete(s.selfId);
  return out.size === 0 || out.size > (s.participants - 1) / 2 ? undefined : [...out];
}

/** Ids missing right now (requested, not yet repaired). */
export function missingIds(core: SdsCore): string[] {
  return [...core.state.repairRequests.keys()];
}

/**
 * Schedules an answer to each of `requester`'s requests for a message we cache, if we are in its
 * response group. The first `repairDirectAsks` asks of a requester are answered to it only (the first by
 * the original sender and the group's early responders, `answersFirstAsk`), later ones to everyone, as
 * the spec does. Requesters of one pending answer share it; past `repairBroadcastFraction` of the others
 * it goes to everyone.
 */
export function scheduleResponses(
  core: SdsCore,
  requester: string,
  requests: readonly HistoryEntry[],
  now: number,
): void {
  const s = core.state;
  const c = core.config;
  for (const r of requests) {
    const id = r.messageId;
    if (!s.cache.has(id)) continue;
    const sender = r.senderId ?? "";
    const own = sender === s.selfId;
    if (!own && !inResponseGroup(s.selfId, sender, id, s.participants, RESPONSE_GROUP_SIZE)) continue;
    const asks = countAsk(core, id, requester);
    const direct = asks <= c.repairDirectAsks;
    if (direct && asks === 1 && !own && !answersFirstAsk(s.selfId, sender, id, c.repairTMaxMs)) continue;
    const targets = s.repairTargets.get(id);
    if (s.repairResponses.has(id)) {
      // One answer is pending: an ask that wants a broadcast makes it one; a direct one joins it.
      if (targets === undefined) continue;
      if (!direct || manyAsked(core, targets.length + 1)) s.repairTargets.delete(id);
      else if (!targets.includes(requester)) targets.push(requester);
      continue;
    }
    const at = responseTime(s.selfId, sender, id, now, c.repairTMaxMs);
    s.repairResponses.set(id, at);
    if (direct) s.repairTargets.set(id, [requester]);
    lowerWake(core, at);
  }
}

/**
 * Counts an ask of `requester` for `id` and returns how many there were: `Infinity` for a requester
 * beyond `maxAskersPerMessage` (its answer is broadcast). Keeps asks for the newest `repairCacheSize`
 * messages asked for.
 */
function countAsk(core: SdsCore, id: string, requester: string): number {
  const all = core.state.repairAsks;
  let asks = all.get(id);
  if (asks === undefined) {
    asks = new Map();
    all.set(id, asks);
    while (all.size > Math.max(1, core.config.repairCacheSize)) all.delete(all.keys().next().value!);
  }
  const n = (asks.get(requester) ?? 0) + 1;
  if (n === 1 && asks.size >= core.config.maxAskersPerMessage) return Number.POSITIVE_INFINITY;
  asks.set(requester, n);
  return n;
}

/** Whether `k` requesters of one answer are more than `repairBroadcastFraction` of the others (k >= 2). */
function manyAsked(core: SdsCore, k: number): boolean {
  return k >= 2 && k > core.config.repairBroadcastFraction * (core.state.participants - 1);
}

/** Sends the cached messages whose answer time has come: to their requesters, or to everyone. */
export function sweepResponses(core: SdsCore, now: number, effects: SdsEffect[]): void {
  const s = core.state;
  for (const [id, at] of s.repairResponses) {
    if (at > now) continue;
    s.repairResponses.delete(id);
    const to = s.repairTargets.get(id);
    s.repairTargets.delete(id);
    const bytes = s.cache.get(id);
    if (bytes === undefined) continue;
    s.stats.repairResponsesSent++;
    if (to !== undefined) s.stats.repairDirectSent++;
    const message = decodeSdsMessage(bytes);
    effects.push(
      to === undefined ? { type: "publish", bytes, message } : { type: "publish", bytes, message, to },
    );
  }
}
