// Acknowledgements of own messages: taken from the causal history and bloom filter of what participants
// send, resends of what stays unacknowledged (early to a participant back from silence), giving up.
// A filter is read in whichever known format its length says (ours, ours at the default size for a peer
// in the other mode, or @waku/sds's), so a mixed channel acks both ways; any other length is ignored.
import { type BloomShape, bloomHasIndices, bloomIndices, rollingShape, WAKU_BLOOM_SHAPE } from "./bloom.ts";
import { lowerWake, resendDelay } from "./schedule.ts";
import type { SdsCore, SdsEffect } from "./types.ts";
import { decodeSdsMessage, type SdsMessage } from "./wire.ts";

/** Number of participants and, when the layer above knows them, their sender ids (see `SdsVolatile`). */
export function setParticipants(core: SdsCore, n: number, ids?: Iterable<string>): void {
  core.state.participants = Math.max(1, n);
  core.volatile.participantIds = ids === undefined ? undefined : new Set(ids);
}

/**
 * A message from someone else arrived: if its sender is a participant, takes the acks it carries and
 * notes that it spoke (which may resend to it early).
 */
export function hearFrom(core: SdsCore, m: SdsMessage, now: number, effects: SdsEffect[]): void {
  const ids = core.volatile.participantIds;
  if (ids !== undefined && !ids.has(m.senderId)) return;
  takeAcks(core, m, effects);
  resendToReturning(core, m.senderId, now);
}

/**
 * The shape a received filter of `length` bytes is read with: ours; @waku/sds's; or, in `"waku"` format,
 * the small filter a peer with our `bloomCapacity`/`bloomFpRate` in `"demls"` format sends. Undefined for
 * any other length (a peer configured otherwise, or garbage): that filter cannot be tested.
 */
export function readableShape(core: SdsCore, length: number): BloomShape | undefined {
  if (length === core.shape.bytes) return core.shape;
  if (length === WAKU_BLOOM_SHAPE.bytes) return WAKU_BLOOM_SHAPE;
  const demls = rollingShape(core.config.bloomCapacity, core.config.bloomFpRate);
  return length === demls.bytes ? demls : undefined;
}

function indicesOf(core: SdsCore, id: string, shape: BloomShape): Uint32Array {
  if (shape !== core.shape) return bloomIndices(id, shape); // memoized there
  const memo = core.volatile.outgoingIndices;
  let idx = memo.get(id);
  if (idx === undefined) {
    idx = bloomIndices(id, core.shape);
    memo.set(id, idx);
  }
  return idx;
}

function takeAcks(core: SdsCore, m: SdsMessage, effects: SdsEffect[]): void {
  const s = core.state;
  const c = core.config;
  const quorum = Math.max(
    1,
    c.ackQuorum > 0 ? Math.min(c.ackQuorum, s.participants - 1) : s.participants - 1,
  );
  const bloom = m.bloomFilter;
  const shape = bloom === undefined || bloom.length === 0 ? undefined : readableShape(core, bloom.length);
  // `?? 0`: a state saved by an older version has no such counter.
  if (bloom !== undefined && bloom.length > 0 && shape === undefined)
    s.stats.unreadableFilters = (s.stats.unreadableFilters ?? 0) + 1;
  const named = (id: string) => m.causalHistory.some((e) => e.messageId === id); // a few entries
  for (const [id, o] of s.outgoing) {
    // A sender already counted as a holder needs no second look at its filter (while a group is split
    // nothing reaches the quorum, and this runs for every unacknowledged message on every one received).
    if (
      !o.holders.has(m.senderId) &&
      !named(id) &&
      !(shape !== undefined && bloomHasIndices(bloom!, shape, indicesOf(core, id, shape)))
    )
      continue;
    o.holders.add(m.senderId);
    if (o.holders.size >= quorum) {
      s.outgoing.delete(id);
      core.volatile.outgoingIndices.delete(id);
      effects.push({ type: "acknowledged", messageId: id });
    }
  }
}

/**
 * A participant speaking for the first time since we sent a `resendToReturning` message, at least
 * `resendAfterMs` later, without holding it, most likely never got it (cut off, or lost): the message
 * is resent within `syncJitterMs` instead of at its resend time, which grows with the sync period (at
 * 300 participants 15 s scaled, 7.5 min at spec timers). A participant that keeps talking does not
 * qualify again, so one resend serves every participant back at once; it counts as one of `maxResends`.
 */
function resendToReturning(core: SdsCore, sender: string, now: number): void {
  const s = core.state;
  const c = core.config;
  const before = s.heardFrom.get(sender);
  s.heardFrom.delete(sender);
  s.heardFrom.set(sender, now);
  if (s.heardFrom.size > s.participants + c.heardFromSlack)
    s.heardFrom.delete(s.heardFrom.keys().next().value!);
  if (before === undefined || now - before < c.resendAfterMs) return;
  for (const o of s.outgoing.values()) {
    if (
      !o.toReturning ||
      o.lastSentAt <= before ||
      now - o.lastSentAt < c.resendAfterMs ||
      o.holders.has(sender)
    )
      continue;
    const at = now + core.rng.int(c.syncJitterMs + 1);
    if (at < o.nextResendAt) {
      o.nextResendAt = at;
      lowerWake(core, at);
    }
  }
}

/** Kept messages (`resendToReturning`) beyond `keepUnacknowledged`: the oldest are given up. */
export function boundKept(core: SdsCore, effects: SdsEffect[]): void {
  const s = core.state;
  let kept = 0;
  for (const o of s.outgoing.values()) if (o.toReturning) kept++;
  for (const [id, o] of s.outgoing) {
    if (kept <= core.config.keepUnacknowledged) break;
    if (!o.toReturning) continue;
    kept--;
    giveUp(core, id, effects);
  }
}

function giveUp(core: SdsCore, id: string, effects: SdsEffect[]): void {
  core.state.outgoing.delete(id);
  core.volatile.outgoingIndices.delete(id);
  effects.push({ type: "unacknowledged", messageId: id });
}

/** Resends own messages whose resend time has come; gives up those resent `maxResends` times. */
export function sweepResends(core: SdsCore, now: number, effects: SdsEffect[]): void {
  const s = core.state;
  const c = core.config;
  for (const [id, o] of s.outgoing) {
    if (o.nextResendAt > now) continue;
    if (o.resends >= c.maxResends && !o.toReturning) {
      giveUp(core, id, effects);
      continue;
    }
    o.resends++;
    o.lastSentAt = now;
    o.nextResendAt = now + resendDelay(core, Math.min(o.resends, c.maxResends));
    s.stats.resent++;
    effects.push({ type: "publish", bytes: o.bytes, message: decodeSdsMessage(o.bytes) });
  }
}
