// Receiving: bounds on what a message may carry, duplicates, causal dependencies, delivery in (lamport, id)
// order, the buffer of messages waiting for their dependencies, and giving up dependencies that stay
// missing. Ephemeral messages are delivered at once, each once.

import { hearFrom } from "./acks.ts";
import { rollingAdd } from "./bloom.ts";
import { SdsError } from "./errors.ts";
import { appendLog, bigMax, cachePut, compareMessages, entryOf, upperBound } from "./log.ts";
import { requestAnswered, requestMissing, responseSeen, scheduleResponses } from "./repair.ts";
import { lowerWake } from "./schedule.ts";
import { messageIdOf } from "./sending.ts";
import type { Buffered, SdsCore, SdsEffect } from "./types.ts";
import { wakuMessageIdOf } from "./waku.ts";
import { decodeSdsMessage, type HistoryEntry, type SdsMessage } from "./wire.ts";

/**
 * Processes a message from the network.
 * @throws {DecodeError} `MALFORMED`; {@link SdsError} `WRONG_CHANNEL`, `ID_MISMATCH`, or a bound of
 * `checkBounds`. Either way nothing changed (a sync message's own fields are not checked against an id).
 */
export function receive(core: SdsCore, bytes: Uint8Array, now: number): SdsEffect[] {
  const m = decodeSdsMessage(bytes);
  const s = core.state;
  if (m.channelId !== s.channelId)
    throw new SdsError("WRONG_CHANNEL", `message for channel ${m.channelId}, not ${s.channelId}`);
  checkBounds(core, m, now);
  // The id is what duplicates, acknowledgements and repairs go by: it must be bound to the content, or
  // a forged copy that arrives first would stand in for the genuine message everywhere.
  const content = m.content !== undefined && m.content.length > 0;
  if (
    content &&
    m.lamportTimestamp !== undefined &&
    m.messageId !== messageIdOf(m.channelId, m.senderId, m.lamportTimestamp, m.content!) &&
    !(core.config.wakuMessageIds && m.messageId === wakuMessageIdOf(m.content!))
  )
    throw new SdsError("ID_MISMATCH", `message ${m.messageId} is not the hash of its content`);
  if (m.senderId === s.selfId) return []; // our own message echoed back
  const effects: SdsEffect[] = [];
  s.stats.received++;
  s.lastHeardAt = now;
  hearFrom(core, m, now, effects);
  scheduleResponses(core, m.senderId, m.repairRequest, now);
  if (m.lamportTimestamp === undefined) {
    receiveEphemeral(core, m, effects);
    return effects;
  }
  s.lamport = bigMax(s.lamport, m.lamportTimestamp);
  if (m.content === undefined || m.content.length === 0) {
    // Sync message: its history tells us what we miss, nothing to deliver.
    requestMissing(core, m.causalHistory, now);
    return effects;
  }
  responseSeen(core, m.messageId);
  if (s.known.has(m.messageId) || s.incoming.has(m.messageId)) {
    s.stats.duplicates++;
    return effects;
  }
  rollingAdd(s.bloom, core.shape, core.config.bloomCapacity, m.messageId);
  cachePut(core, m.messageId, bytes);
  requestAnswered(core, m.messageId, effects);
  const buffered = { message: m, receivedAt: now };
  s.incoming.set(m.messageId, buffered);
  lowerWake(core, now + core.config.lostAfterMs);
  if (m.lamportTimestamp >= s.horizon) requestMissing(core, m.causalHistory, now);
  deliverReady(core, effects, buffered);
  if (s.incoming.has(m.messageId))
    effects.push({ type: "waiting", senderId: m.senderId, content: m.content });
  return effects;
}

/**
 * Every value of a message that we would adopt or iterate is bounded before anything uses it: SDS
 * fields are not authenticated, and one message from anyone on the topic with a Lamport timestamp of
 * 2^64-1 would make every member adopt that clock, after which no member could send again (its next
 * timestamp no longer fits a uint64).
 * @throws {SdsError} `LAMPORT_AHEAD`, `OVERSIZED_HISTORY`, `OVERSIZED_REPAIR`, `OVERSIZED_ID`.
 */
function checkBounds(core: SdsCore, m: SdsMessage, now: number): void {
  const c = core.config;
  if (
    m.lamportTimestamp !== undefined &&
    m.lamportTimestamp > BigInt(Math.floor(now)) + BigInt(c.maxLamportAheadMs)
  )
    throw new SdsError("LAMPORT_AHEAD", `Lamport timestamp ${m.lamportTimestamp} is too far ahead of ${now}`);
  if (m.causalHistory.length > c.maxHistoryEntries)
    throw new SdsError("OVERSIZED_HISTORY", `${m.causalHistory.length} causal history entries`);
  if (m.repairRequest.length > c.maxHistoryEntries)
    throw new SdsError("OVERSIZED_REPAIR", `${m.repairRequest.length} repair request entries`);
  const long = (id: string | undefined) => id !== undefined && id.length > c.maxIdLength;
  if (
    long(m.messageId) ||
    long(m.senderId) ||
    [...m.causalHistory, ...m.repairRequest].some((e) => long(e.messageId) || long(e.senderId))
  )
    throw new SdsError("OVERSIZED_ID", `an id longer than ${c.maxIdLength} characters`);
}

function receiveEphemeral(core: SdsCore, m: SdsMessage, effects: SdsEffect[]): void {
  const seen = core.state.ephemeralSeen;
  if (m.content === undefined || m.content.length === 0 || seen.has(m.messageId)) return;
  seen.add(m.messageId);
  if (seen.size > core.config.ephemeralSeenLimit) seen.delete(seen.values().next().value!);
  effects.push({ type: "deliver", messageId: m.messageId, senderId: m.senderId, content: m.content });
}

/**
 * Delivers every buffered message whose dependencies are all known, oldest (lamport, id) first. After
 * each call no buffered message is ready, so a new `arrived` one that is not ready changes nothing, and
 * one that is wakes only what waits for it; other changes (lost ids, a new horizon) take a full pass.
 */
function deliverReady(core: SdsCore, effects: SdsEffect[], arrived?: Buffered): void {
  const s = core.state;
  const v = core.volatile;
  const missing = (b: Buffered) =>
    b.message.lamportTimestamp! < s.horizon
      ? []
      : b.message.causalHistory.filter((e) => !s.known.has(e.messageId));
  const waiting = arrived && v.waiting ? v.waiting : new Map<string, string[]>();
  const wait = (b: Buffered, deps: readonly HistoryEntry[]) => {
    for (const d of deps) {
      const list = waiting.get(d.messageId);
      if (list) list.push(b.message.messageId);
      else waiting.set(d.messageId, [b.message.messageId]);
    }
  };
  // Ready messages, newest (lamport, id) first so the oldest pops off the end; one arrival can wake
  // hundreds at once in a large group, so they are kept sorted rather than scanned for the oldest.
  const ready: Buffered[] = [];
  const queued = new Set<string>();
  const enqueue = (b: Buffered) => {
    queued.add(b.message.messageId);
    ready.splice(
      upperBound(ready, (x) => compareMessages(x.message, b.message) < 0),
      0,
      b,
    );
  };
  for (const b of arrived && v.waiting ? [arrived] : s.incoming.values()) {
    const deps = missing(b);
    if (deps.length === 0) enqueue(b);
    else wait(b, deps);
  }
  v.waiting = waiting;
  while (ready.length > 0) {
    const m = ready.pop()!.message;
    s.incoming.delete(m.messageId);
    appendLog(core, entryOf(m));
    const woken = waiting.get(m.messageId) ?? [];
    waiting.delete(m.messageId);
    for (const id of woken) {
      const w = s.incoming.get(id);
      // Still waiting for another dependency: it is listed under that one too.
      if (w !== undefined && !queued.has(id) && missing(w).length === 0) enqueue(w);
    }
    effects.push({
      type: "deliver",
      messageId: m.messageId,
      senderId: m.senderId,
      lamport: m.lamportTimestamp!,
      content: m.content!,
    });
  }
}

/** Gives up missing messages past `lostAfterMs`, then delivers what no longer waits for them. */
export function sweepLost(core: SdsCore, now: number, effects: SdsEffect[]): void {
  const s = core.state;
  const lostAfterMs = core.config.lostAfterMs;
  const lost = new Set<string>();
  for (const [id, r] of s.repairRequests) if (r.missingSince + lostAfterMs <= now) lost.add(id);
  for (const b of s.incoming.values()) {
    if (b.receivedAt + lostAfterMs > now) continue;
    for (const e of b.message.causalHistory)
      if (!s.known.has(e.messageId) && !s.incoming.has(e.messageId)) lost.add(e.messageId);
  }
  if (lost.size === 0) return;
  for (const id of lost) {
    s.repairRequests.delete(id);
    s.known.add(id);
    s.stats.lost++;
    effects.push({ type: "lost", messageId: id });
  }
  deliverReady(core, effects);
}

/**
 * Stops waiting for the history missed so far: buffered messages no longer wait for their dependencies,
 * those that arrive later with an older timestamp neither, and pending repair requests are dropped
 * (what still arrives is delivered; senders keep resending what we do not acknowledge).
 */
export function skipMissedHistory(core: SdsCore): SdsEffect[] {
  const s = core.state;
  s.horizon = bigMax(s.horizon, s.lamport + 1n);
  s.repairRequests.clear();
  const effects: SdsEffect[] = [];
  deliverReady(core, effects);
  return effects;
}
