// The local log (what is delivered or sent here, in (lamport, id) order) and the repair cache of full
// messages, shared by sending and delivery.

import type { LogEntry, SdsCore } from "./types.ts";
import type { SdsMessage } from "./wire.ts";

/**
 * Adds `e` to the log, the known ids and the causal history of our next message; forgets the oldest
 * entries beyond `logLimit`.
 */
export function appendLog(core: SdsCore, e: LogEntry): void {
  const s = core.state;
  s.known.add(e.messageId);
  s.recent.push({ messageId: e.messageId, senderId: e.senderId });
  if (s.recent.length > core.config.causalHistorySize) s.recent.shift();
  if (e.senderId !== s.selfId) s.unackedDeliveries = true;
  // Binary search: in a large group a message often lands far from the end (hundreds of members sending
  // at once), and scanning back with bigint compares is slow.
  s.log.splice(
    upperBound(s.log, (x) => compareEntry(x, e) > 0),
    0,
    e,
  );
  if (s.log.length > core.config.logLimit) {
    const dropped = s.log.splice(0, s.log.length - core.config.logLimit);
    for (const d of dropped) s.known.delete(d.messageId);
  }
}

/** Keeps `bytes` to answer repair requests for `id`; the oldest go beyond `repairCacheSize`. */
export function cachePut(core: SdsCore, id: string, bytes: Uint8Array): void {
  const c = core.state.cache;
  c.set(id, bytes);
  while (c.size > core.config.repairCacheSize) c.delete(c.keys().next().value!);
}

/** The log entry of a content message. */
export function entryOf(m: SdsMessage): LogEntry {
  return { messageId: m.messageId, senderId: m.senderId, lamport: m.lamportTimestamp! };
}

/** The first index of a list ordered so that `after` is false, then true, where `after` holds. */
export function upperBound<T>(list: readonly T[], after: (x: T) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (after(list[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Log order: by Lamport timestamp, ties by message id. */
function compareOrder(la: bigint, ida: string, lb: bigint, idb: string): number {
  if (la !== lb) return la < lb ? -1 : 1;
  return ida < idb ? -1 : ida > idb ? 1 : 0;
}

/** Log order of two content messages. */
export function compareMessages(a: SdsMessage, b: SdsMessage): number {
  return compareOrder(a.lamportTimestamp!, a.messageId, b.lamportTimestamp!, b.messageId);
}

function compareEntry(a: LogEntry, b: LogEntry): number {
  return compareOrder(a.lamport, a.messageId, b.lamport, b.messageId);
}

export function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
