// Sending: own content messages (with causal history, bloom filter and due repair requests), ephemeral
// messages, periodic sync messages, and the Lamport clock that orders what we send.
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, toHex, u64be, utf8 } from "../util/bytes.ts";
import { boundKept } from "./acks.ts";
import { rollingAdd, rollingWire } from "./bloom.ts";
import { SdsError } from "./errors.ts";
import { appendLog, bigMax, cachePut } from "./log.ts";
import { requestsDue, requestTargets, takeDueRequests } from "./repair.ts";
import { lowerWake, resendDelay, syncPeriod } from "./schedule.ts";
import type { SdsCore, SdsEffect, SendOptions } from "./types.ts";
import { encodeSdsMessage, type SdsMessage } from "./wire.ts";

/** The id of a content message: 16 bytes of SHA-256 over channel, sender, lamport and content, in hex. */
export function messageIdOf(
  channelId: string,
  senderId: string,
  lamport: bigint,
  content: Uint8Array,
): string {
  const zero = new Uint8Array([0]);
  return idOf(utf8(channelId), zero, utf8(senderId), zero, u64be(lamport), content);
}

/** A message id: the first 16 bytes of SHA-256 over `parts`, in hex. */
function idOf(...parts: Uint8Array[]): string {
  return toHex(sha256(concatBytes(...parts)).subarray(0, 16));
}

/** One draw of `rng` as 8 bytes, which makes the id of a message that is not content unique. */
function nonce(core: SdsCore): Uint8Array {
  return u64be(BigInt(core.rng.int(2 ** 32)));
}

/** Sends `content` as a new message with causal history; returns its id and the effects. */
export function send(
  core: SdsCore,
  content: Uint8Array,
  now: number,
  options: SendOptions = {},
): { messageId: string; effects: SdsEffect[] } {
  if (content.length === 0) throw new SdsError("EMPTY", "content must not be empty (that is a sync message)");
  const s = core.state;
  s.lamport = bigMax(BigInt(Math.floor(now)), s.lamport + 1n);
  const messageId = messageIdOf(s.channelId, s.selfId, s.lamport, content);
  const message = compose(core, messageId, s.lamport, content, now);
  const bytes = encodeSdsMessage(message);
  appendLog(core, { messageId, senderId: s.selfId, lamport: s.lamport });
  rollingAdd(s.bloom, core.shape, core.config.bloomCapacity, messageId);
  cachePut(core, messageId, bytes);
  s.outgoing.set(messageId, {
    bytes,
    lastSentAt: now,
    toReturning: options.resendToReturning ?? false,
    nextResendAt: now + resendDelay(core, 0),
    resends: 0,
    holders: new Set(),
  });
  lowerWake(core, now + resendDelay(core, 0));
  s.stats.sent++;
  const effects: SdsEffect[] = [{ type: "publish", bytes, message }];
  if (options.resendToReturning) boundKept(core, effects);
  return { messageId, effects };
}

/** Sends `content` without ordering, acks or repair (spec: ephemeral message). */
export function sendEphemeral(core: SdsCore, content: Uint8Array, now: number): SdsEffect[] {
  const s = core.state;
  const messageId = idOf(utf8(s.selfId), u64be(BigInt(Math.floor(now))), nonce(core), content);
  const message: SdsMessage = {
    senderId: s.selfId,
    messageId,
    channelId: s.channelId,
    causalHistory: [],
    repairRequest: [],
    content,
  };
  return [{ type: "publish", bytes: encodeSdsMessage(message), message }];
}

/**
 * A message carrying our causal history, bloom filter (our acks) and due repair requests; without
 * `content` a sync message.
 */
function compose(
  core: SdsCore,
  messageId: string,
  lamport: bigint,
  content: Uint8Array | undefined,
  now: number,
): SdsMessage {
  const s = core.state;
  const history = s.recent.slice();
  s.unackedDeliveries = false;
  return {
    senderId: s.selfId,
    messageId,
    channelId: s.channelId,
    lamportTimestamp: lamport,
    causalHistory: history,
    bloomFilter: rollingWire(s.bloom),
    repairRequest: takeDueRequests(core, now),
    ...(content !== undefined ? { content } : {}),
  };
}

/**
 * Due repair requests leave at once in sync messages (`maxRepairEntriesPerMessage` per message);
 * otherwise a periodic sync message carries our acks, skipped when another participant spoke during our
 * random backoff and we have received nothing new to acknowledge since we last spoke.
 */
export function sweepRequestsAndSync(core: SdsCore, now: number, effects: SdsEffect[]): void {
  const s = core.state;
  const c = core.config;
  const syncDue = now >= s.nextSyncAt;
  if (syncDue) s.nextSyncAt = now + syncPeriod(core) + core.rng.int(c.syncJitterMs + 1);
  let sentSync = false;
  while (requestsDue(core, now)) {
    if (publishSync(core, now, effects, true)) sentSync = true;
  }
  if (!syncDue || sentSync) return;
  if (now - s.lastHeardAt <= c.syncJitterMs && !s.unackedDeliveries) {
    s.stats.syncSkipped++;
    return;
  }
  publishSync(core, now, effects);
}

/**
 * A sync message; `forRequests`: sent because repair requests are due, to the members that may answer
 * them where possible (`requestTargets`). Such a one carries our acks to those members only, so what it
 * would have acknowledged is still owed to everyone (a periodic sync due is not skipped for it). Returns
 * whether it went to everyone.
 */
function publishSync(core: SdsCore, now: number, effects: SdsEffect[], forRequests = false): boolean {
  const s = core.state;
  const id = idOf(utf8(s.selfId), u64be(s.lamport), nonce(core));
  const unacked = s.unackedDeliveries;
  const message = compose(core, id, s.lamport, undefined, now);
  const to =
    forRequests && core.config.repairDirectAsks > 0 ? requestTargets(core, message.repairRequest) : undefined;
  s.stats.syncSent++;
  const bytes = encodeSdsMessage(message);
  if (to === undefined) {
    effects.push({ type: "publish", bytes, message });
    return true;
  }
  s.unackedDeliveries = unacked;
  effects.push({ type: "publish", bytes, message, to });
  return false;
}
