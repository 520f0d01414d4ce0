// SDS-R: repair requests for missing messages (scheduled, backed off, carried by outgoing messages) and
// repair responses (rebroadcasts from the cache, by the response group, cancelled when seen). The timing
// functions are in repair-timing.ts.
import { inResponseGroup, RESPONSE_GROUP_SIZE, requestTime, responseTime } from "./repair-timing.ts";
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

/** Ids missing right now (requested, not yet repaired). */
export function missingIds(core: SdsCore): string[] {
  return [...core.state.repairRequests.keys()];
}

/** Schedules a response to each request for a message we cache, if we are in its response group. */
export function scheduleResponses(core: SdsCore, requests: readonly HistoryEntry[], now: number): void {
  const s = core.state;
  for (const r of requests) {
    if (!s.cache.has(r.messageId) || s.repairResponses.has(r.messageId)) continue;
    const sender = r.senderId ?? "";
    if (
      sender !== s.selfId &&
      !inResponseGroup(s.selfId, sender, r.messageId, s.participants, RESPONSE_GROUP_SIZE)
    )
      continue;
    const at = responseTime(s.selfId, sender, r.messageId, now, core.config.repairTMaxMs);
    s.repairResponses.set(r.messageId, at);
    lowerWake(core, at);
  }
}

/** Rebroadcasts the cached messages whose response time has come. */
export function sweepResponses(core: SdsCore, now: number, effects: SdsEffect[]): void {
  const s = core.state;
  for (const [id, at] of s.repairResponses) {
    if (at > now) continue;
    s.repairResponses.delete(id);
    const bytes = s.cache.get(id);
    if (bytes === undefined) continue;
    s.stats.repairResponsesSent++;
    effects.push({ type: "publish", bytes, message: decodeSdsMessage(bytes) });
  }
}
