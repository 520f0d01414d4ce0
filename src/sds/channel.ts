// One SDS channel (spec "Scalable Data Sync" + SDS-R) as a sans-I/O state machine: `send`, `receive` and
// `tick` take the current time and return effects; the caller publishes, delivers and calls `tick` again
// at `nextWake()`. All state is plain data (`SdsState`), so it persists with `structuredClone`/`v8`.
import { sha256 } from "@noble/hashes/sha2.js";
import type { Rng } from "../net/transport.ts";
import { concatBytes, toHex, u64be, utf8 } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import {
  type BloomShape,
  bloomHasIndices,
  bloomIndices,
  newRollingBloom,
  type RollingBloom,
  rollingAdd,
  rollingShape,
  rollingWire,
} from "./bloom.ts";
import { DEFAULT_SDS_CONFIG, type SdsConfig } from "./config.ts";
import { inResponseGroup, requestTime, responseTime } from "./repair-timing.ts";
import { decodeSdsMessage, encodeSdsMessage, type HistoryEntry, type SdsMessage } from "./wire.ts";

/** A message that is valid protobuf but not for this channel. */
export class SdsError extends DemlsError {}

/** What the caller must do, in order. */
export type SdsEffect =
  | { readonly type: "publish"; readonly bytes: Uint8Array; readonly message: SdsMessage }
  | {
      readonly type: "deliver";
      readonly messageId: string;
      readonly senderId: string;
      /** Absent for ephemeral messages. */
      readonly lamport?: bigint;
      readonly content: Uint8Array;
    }
  /** An own message is acknowledged (causal history, or bloom filters of enough participants). */
  | { readonly type: "acknowledged"; readonly messageId: string }
  /** An own message was resent `maxResends` times without an ack; it stays in the repair cache. */
  | { readonly type: "unacknowledged"; readonly messageId: string }
  /** A message others depend on could not be obtained; dependents were delivered without it. */
  | { readonly type: "lost"; readonly messageId: string }
  /** A missing message arrived after it had been requested. */
  | { readonly type: "repaired"; readonly messageId: string }
  /**
   * A message arrived and is buffered until its missing dependencies are; delivered later. The layer above
   * may look at the content early (to learn that its sender is somewhere we are not), not act on it.
   */
  | { readonly type: "waiting"; readonly senderId: string; readonly content: Uint8Array };

interface LogEntry {
  readonly messageId: string;
  readonly senderId: string;
  readonly lamport: bigint;
}

interface Outgoing {
  readonly bytes: Uint8Array;
  /** When it last went out (sent or resent). */
  lastSentAt: number;
  /** Resent early to a participant back from silence, and never given up (see `SendOptions`). */
  readonly toReturning: boolean;
  nextResendAt: number;
  resends: number;
  /** Participants seen holding it. */
  readonly holders: Set<string>;
}

interface Buffered {
  readonly message: SdsMessage;
  readonly receivedAt: number;
}

interface RepairRequest {
  readonly entry: HistoryEntry;
  readonly missingSince: number;
  dueAt: number;
  attempts: number;
}

/** Counters for benchmarks and reports. */
export interface SdsStats {
  sent: number;
  resent: number;
  syncSent: number;
  syncSkipped: number;
  received: number;
  duplicates: number;
  repairRequestsSent: number;
  repairResponsesSent: number;
  repaired: number;
  lost: number;
}

/** Everything a channel remembers. Plain data: clone it to persist. */
export interface SdsState {
  readonly selfId: string;
  readonly channelId: string;
  lamport: bigint;
  /** Local log, ascending by (lamport, message id); bounded by `logLimit`. */
  log: LogEntry[];
  /**
   * The newest entries appended to the log, in append order: the causal history of the next message.
   * Append order, not lamport order, so a late message with an old timestamp is still named by the next
   * message and everybody missing it learns it exists.
   */
  recent: HistoryEntry[];
  /** Something was delivered since this participant last spoke (its acks are not out yet). */
  unackedDeliveries: boolean;
  /** Ids of log entries, and ids given up as lost (they satisfy dependencies). */
  readonly known: Set<string>;
  readonly bloom: RollingBloom;
  readonly outgoing: Map<string, Outgoing>;
  readonly incoming: Map<string, Buffered>;
  readonly repairRequests: Map<string, RepairRequest>;
  /** Message id → when to rebroadcast it from the cache. */
  readonly repairResponses: Map<string, number>;
  /** Full messages to answer repairs with, oldest first. */
  readonly cache: Map<string, Uint8Array>;
  /** Recent ephemeral ids, to deliver each once. */
  readonly ephemeralSeen: Set<string>;
  participants: number;
  /**
   * Messages older than this lamport are the channel's history before we joined: their dependencies are
   * neither requested nor waited for (a new member cannot read them anyway).
   */
  horizon: bigint;
  nextSyncAt: number;
  lastHeardAt: number;
  /** When each participant was last heard from, least recent first (bounded: see `HEARD_FROM_SLACK`). */
  readonly heardFrom: Map<string, number>;
  readonly stats: SdsStats;
}

/** Per-message choices of {@link SdsChannel.send}. */
export interface SendOptions {
  /**
   * Resend it at once to a participant that comes back from silence without it, instead of at its
   * resend time. After a partition heals, SDS-R finds a missed message only through the causal history
   * of what followed it, one step at a time, and the resend time grows with the sync period: a chat sent
   * early in a split reached the cut-off side of 300 members 12 s after the heal (scaled timers). Such a
   * message is also never given up after `maxResends`: it is resent at the longest backoff until every
   * participant holds it (at most `keepUnacknowledged` of them; beyond, the oldest is given up). A chat
   * whose five resends all fell inside a long split was given up at the heal and never reached the other
   * side (chaos seed 37). For messages that must reach everyone; not for ones a later message supersedes
   * (votes, once committed).
   */
  readonly resendToReturning?: boolean;
}

/** Longest message or sender id accepted (ours are 32 hex characters; a member id is at most 64 bytes). */
const MAX_ID_LENGTH = 256;

/** Participants remembered in `heardFrom` beyond the channel's size (members that left, renamed ids). */
const HEARD_FROM_SLACK = 64;

/** A fresh channel state for `selfId` on `channelId`. */
export function newSdsState(selfId: string, channelId: string, now: number, config: SdsConfig): SdsState {
  return {
    selfId,
    channelId,
    lamport: BigInt(Math.max(0, Math.floor(now))),
    log: [],
    recent: [],
    unackedDeliveries: false,
    known: new Set(),
    bloom: newRollingBloom(rollingShape(config.bloomCapacity, config.bloomFpRate)),
    outgoing: new Map(),
    incoming: new Map(),
    repairRequests: new Map(),
    repairResponses: new Map(),
    cache: new Map(),
    ephemeralSeen: new Set(),
    participants: 1,
    horizon: 0n,
    nextSyncAt: now + config.syncIntervalMs,
    lastHeardAt: Number.NEGATIVE_INFINITY,
    heardFrom: new Map(),
    stats: {
      sent: 0,
      resent: 0,
      syncSent: 0,
      syncSkipped: 0,
      received: 0,
      duplicates: 0,
      repairRequestsSent: 0,
      repairResponsesSent: 0,
      repaired: 0,
      lost: 0,
    },
  };
}

/** The id of a content message: 16 bytes of SHA-256 over channel, sender, lamport and content, in hex. */
export function messageIdOf(
  channelId: string,
  senderId: string,
  lamport: bigint,
  content: Uint8Array,
): string {
  const d = sha256(
    concatBytes(
      utf8(channelId),
      new Uint8Array([0]),
      utf8(senderId),
      new Uint8Array([0]),
      u64be(lamport),
      content,
    ),
  );
  return toHex(d.subarray(0, 16));
}

const EPHEMERAL_SEEN_LIMIT = 1024;

/**
 * An SDS channel. Methods mutate `state` and return effects; time comes only from the `now` arguments
 * and randomness only from the injected `rng`, so a run replays exactly from a seed.
 */
export class SdsChannel {
  readonly config: SdsConfig;
  readonly state: SdsState;
  private readonly rng: Rng;
  private readonly shape: BloomShape;

  constructor(state: SdsState, rng: Rng, config: SdsConfig = DEFAULT_SDS_CONFIG) {
    this.state = state;
    this.rng = rng;
    this.config = config;
    this.shape = rollingShape(config.bloomCapacity, config.bloomFpRate);
    if (state.bloom.current.length * 8 !== this.shape.bits)
      throw new RangeError("SDS state was created with another bloom configuration");
  }

  /** Number of participants, for SDS-R response groups, the ack quorum and the sync period. */
  setParticipants(n: number, ids?: Iterable<string>): void {
    this.state.participants = Math.max(1, n);
    this.participantIds = ids === undefined ? undefined : new Set(ids);
  }

  /**
   * Sender ids of the participants, when the layer above knows them: a message from any other id acks
   * nothing (anyone on the topic can send SDS messages; an all-ones bloom filter under invented ids would
   * otherwise stop every resend). Derived from the roster, not state.
   */
  private participantIds: Set<string> | undefined;

  /** Time between own periodic syncs at the current size (see `syncFullRateParticipants`). */
  syncPeriod(): number {
    const c = this.config;
    return c.syncIntervalMs * Math.max(1, this.state.participants / c.syncFullRateParticipants);
  }

  /**
   * Wait before resend number `resends + 1`: `resendAfterMs`, doubling, plus what the sync period is
   * stretched by (an ack needs every participant to speak after receiving the message, and a quiet one
   * speaks once per sync period).
   */
  private resendDelay(resends: number): number {
    return this.syncPeriod() - this.config.syncIntervalMs + this.config.resendAfterMs * 2 ** resends;
  }

  /** Sends `content` as a new message with causal history; returns its id and the effects. */
  send(
    content: Uint8Array,
    now: number,
    options: SendOptions = {},
  ): { messageId: string; effects: SdsEffect[] } {
    if (content.length === 0)
      throw new SdsError("EMPTY", "content must not be empty (that is a sync message)");
    const s = this.state;
    s.lamport = bigMax(BigInt(Math.floor(now)), s.lamport + 1n);
    const messageId = messageIdOf(s.channelId, s.selfId, s.lamport, content);
    const message = this.compose(messageId, s.lamport, content, now);
    const bytes = encodeSdsMessage(message);
    this.appendLog({ messageId, senderId: s.selfId, lamport: s.lamport });
    rollingAdd(s.bloom, this.shape, this.config.bloomCapacity, messageId);
    this.cachePut(messageId, bytes);
    s.outgoing.set(messageId, {
      bytes,
      lastSentAt: now,
      toReturning: options.resendToReturning ?? false,
      nextResendAt: now + this.resendDelay(0),
      resends: 0,
      holders: new Set(),
    });
    this.lowerWake(now + this.resendDelay(0));
    s.stats.sent++;
    const effects: SdsEffect[] = [{ type: "publish", bytes, message }];
    if (options.resendToReturning) this.boundKept(effects);
    return { messageId, effects };
  }

  /** Kept messages (`resendToReturning`) beyond `keepUnacknowledged`: the oldest are given up. */
  private boundKept(effects: SdsEffect[]): void {
    const s = this.state;
    let kept = 0;
    for (const o of s.outgoing.values()) if (o.toReturning) kept++;
    for (const [id, o] of s.outgoing) {
      if (kept <= this.config.keepUnacknowledged) break;
      if (!o.toReturning) continue;
      kept--;
      this.giveUp(id, effects);
    }
  }

  private giveUp(id: string, effects: SdsEffect[]): void {
    this.state.outgoing.delete(id);
    this.outgoingIndices.delete(id);
    effects.push({ type: "unacknowledged", messageId: id });
  }

  /** Sends `content` without ordering, acks or repair (spec: ephemeral message). */
  sendEphemeral(content: Uint8Array, now: number): SdsEffect[] {
    const s = this.state;
    const messageId = toHex(
      sha256(
        concatBytes(
          utf8(s.selfId),
          u64be(BigInt(Math.floor(now))),
          u64be(BigInt(this.rng.int(2 ** 32))),
          content,
        ),
      ).subarray(0, 16),
    );
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
   * Processes a message from the network.
   * @throws {DecodeError} `MALFORMED`; {@link SdsError} `WRONG_CHANNEL`. Either way nothing changed.
   */
  receive(bytes: Uint8Array, now: number): SdsEffect[] {
    const m = decodeSdsMessage(bytes);
    const s = this.state;
    if (m.channelId !== s.channelId)
      throw new SdsError("WRONG_CHANNEL", `message for channel ${m.channelId}, not ${s.channelId}`);
    this.checkBounds(m, now);
    if (m.senderId === s.selfId) return []; // our own message echoed back
    const effects: SdsEffect[] = [];
    s.stats.received++;
    s.lastHeardAt = now;
    if (this.participantIds === undefined || this.participantIds.has(m.senderId)) {
      this.takeAcks(m, effects);
      this.resendToReturning(m.senderId, now);
    }
    this.scheduleResponses(m.repairRequest, now);
    if (m.lamportTimestamp === undefined) {
      this.receiveEphemeral(m, effects);
      return effects;
    }
    s.lamport = bigMax(s.lamport, m.lamportTimestamp);
    if (m.content === undefined || m.content.length === 0) {
      // Sync message: its history tells us what we miss, nothing to deliver.
      this.requestMissing(m.causalHistory, now);
      return effects;
    }
    // Seen on the wire: nobody needs to answer for it any more.
    s.repairResponses.delete(m.messageId);
    if (s.known.has(m.messageId) || s.incoming.has(m.messageId)) {
      s.stats.duplicates++;
      return effects;
    }
    rollingAdd(s.bloom, this.shape, this.config.bloomCapacity, m.messageId);
    this.cachePut(m.messageId, bytes);
    if (s.repairRequests.delete(m.messageId)) {
      s.stats.repaired++;
      effects.push({ type: "repaired", messageId: m.messageId });
    }
    const buffered = { message: m, receivedAt: now };
    s.incoming.set(m.messageId, buffered);
    this.lowerWake(now + this.config.lostAfterMs);
    if (m.lamportTimestamp >= s.horizon) this.requestMissing(m.causalHistory, now);
    this.deliverReady(effects, buffered);
    if (s.incoming.has(m.messageId))
      effects.push({ type: "waiting", senderId: m.senderId, content: m.content });
    return effects;
  }

  /**
   * Every value of a message that we would adopt or iterate is bounded before anything uses it: SDS
   * fields are not authenticated, and one message from anyone on the topic with a Lamport timestamp of
   * 2^64-1 made every member adopt that clock, after which no member could send again (its next
   * timestamp no longer fits a uint64).
   * @throws {SdsError} `LAMPORT_AHEAD`, `OVERSIZED_HISTORY`, `OVERSIZED_REPAIR`, `OVERSIZED_ID`.
   */
  private checkBounds(m: SdsMessage, now: number): void {
    const c = this.config;
    if (
      m.lamportTimestamp !== undefined &&
      m.lamportTimestamp > BigInt(Math.floor(now)) + BigInt(c.maxLamportAheadMs)
    )
      throw new SdsError(
        "LAMPORT_AHEAD",
        `Lamport timestamp ${m.lamportTimestamp} is too far ahead of ${now}`,
      );
    if (m.causalHistory.length > c.maxHistoryEntries)
      throw new SdsError("OVERSIZED_HISTORY", `${m.causalHistory.length} causal history entries`);
    if (m.repairRequest.length > c.maxHistoryEntries)
      throw new SdsError("OVERSIZED_REPAIR", `${m.repairRequest.length} repair request entries`);
    const long = (id: string | undefined) => id !== undefined && id.length > MAX_ID_LENGTH;
    if (
      long(m.messageId) ||
      long(m.senderId) ||
      [...m.causalHistory, ...m.repairRequest].some((e) => long(e.messageId) || long(e.senderId))
    )
      throw new SdsError("OVERSIZED_ID", "an id longer than 256 characters");
  }

  /**
   * Stops waiting for the history missed so far: buffered messages no longer wait for their dependencies,
   * those that arrive later with an older timestamp neither, and pending repair requests are dropped
   * (what still arrives is delivered; senders keep resending what we do not acknowledge). For a member the
   * layer above caught up by other means, so the missed messages are no longer needed in causal order.
   */
  skipMissedHistory(): SdsEffect[] {
    const s = this.state;
    s.horizon = bigMax(s.horizon, s.lamport + 1n);
    s.repairRequests.clear();
    const effects: SdsEffect[] = [];
    this.deliverReady(effects);
    return effects;
  }

  /** Runs every sweep that is due: repair responses and requests, lost deps, resends, sync. */
  tick(now: number): SdsEffect[] {
    this.wakeBound = undefined;
    const effects: SdsEffect[] = [];
    this.sweepResponses(now, effects);
    this.sweepLost(now, effects);
    this.sweepResends(now, effects);
    this.sweepRequestsAndSync(now, effects);
    return effects;
  }

  /**
   * A lower bound of `nextWake()` (derived, not state), lowered in O(1) when an entry is added and
   * recomputed only after a tick: it was a walk over every buffer after each message, 13% of a
   * 1000-member run. Removals leave it early, which costs one tick that finds nothing due.
   */
  private wakeBound: number | undefined;

  private lowerWake(at: number): void {
    if (this.wakeBound !== undefined && at < this.wakeBound) this.wakeBound = at;
  }

  /** The earliest time `tick` has something to do (possibly earlier: then `tick` does nothing). */
  nextWake(): number {
    this.wakeBound ??= this.computeWake();
    return this.wakeBound;
  }

  private computeWake(): number {
    const s = this.state;
    let t = s.nextSyncAt;
    for (const at of s.repairResponses.values()) t = Math.min(t, at);
    for (const r of s.repairRequests.values())
      t = Math.min(t, r.dueAt, r.missingSince + this.config.lostAfterMs);
    for (const o of s.outgoing.values()) t = Math.min(t, o.nextResendAt);
    for (const b of s.incoming.values()) t = Math.min(t, b.receivedAt + this.config.lostAfterMs);
    return t;
  }

  /** Whether `messageId` is delivered (or sent) here. */
  has(messageId: string): boolean {
    return this.state.known.has(messageId);
  }

  /** Ids missing right now (requested, not yet repaired). */
  missing(): string[] {
    return [...this.state.repairRequests.keys()];
  }

  private compose(
    messageId: string,
    lamport: bigint,
    content: Uint8Array | undefined,
    now: number,
  ): SdsMessage {
    const s = this.state;
    const history = s.recent.slice();
    s.unackedDeliveries = false;
    return {
      senderId: s.selfId,
      messageId,
      channelId: s.channelId,
      lamportTimestamp: lamport,
      causalHistory: history,
      bloomFilter: rollingWire(s.bloom),
      repairRequest: this.takeDueRequests(now),
      ...(content !== undefined ? { content } : {}),
    };
  }

  /** Up to `maxRepairEntriesPerMessage` due requests, marked as sent with their next retry time. */
  private takeDueRequests(now: number): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (const r of this.state.repairRequests.values()) {
      if (out.length >= this.config.maxRepairEntriesPerMessage) break;
      if (r.dueAt > now) continue;
      out.push(r.entry);
      r.attempts++;
      r.dueAt =
        now + this.config.repairTMaxMs * 2 ** (Math.min(r.attempts, this.config.repairBackoffSteps) - 1);
      this.state.stats.repairRequestsSent++;
    }
    return out;
  }

  /**
   * Bloom positions of our unacknowledged ids (derived, not state): every received message's filter is
   * tested against each of them, and hashing the ids again each time was a third of a 100-member run.
   */
  private readonly outgoingIndices = new Map<string, Uint32Array>();

  private indicesOf(id: string): Uint32Array {
    let idx = this.outgoingIndices.get(id);
    if (idx === undefined) {
      idx = bloomIndices(id, this.shape);
      this.outgoingIndices.set(id, idx);
    }
    return idx;
  }

  private takeAcks(m: SdsMessage, effects: SdsEffect[]): void {
    const s = this.state;
    const quorum = Math.max(
      1,
      this.config.ackQuorum > 0 ? Math.min(this.config.ackQuorum, s.participants - 1) : s.participants - 1,
    );
    const bloom = m.bloomFilter;
    const bloomUsable = bloom !== undefined && bloom.length * 8 === this.shape.bits;
    const named = (id: string) => m.causalHistory.some((e) => e.messageId === id); // a few entries
    for (const [id, o] of s.outgoing) {
      // A sender already counted as a holder needs no second look at its filter (while a group is split
      // nothing reaches the quorum, and this ran for every unacknowledged message on every one received).
      if (
        !o.holders.has(m.senderId) &&
        !named(id) &&
        !(bloomUsable && bloomHasIndices(bloom, this.shape, this.indicesOf(id)))
      )
        continue;
      o.holders.add(m.senderId);
      if (o.holders.size >= quorum) {
        s.outgoing.delete(id);
        this.outgoingIndices.delete(id);
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
  private resendToReturning(sender: string, now: number): void {
    const s = this.state;
    const before = s.heardFrom.get(sender);
    s.heardFrom.delete(sender);
    s.heardFrom.set(sender, now);
    if (s.heardFrom.size > s.participants + HEARD_FROM_SLACK)
      s.heardFrom.delete(s.heardFrom.keys().next().value!);
    if (before === undefined || now - before < this.config.resendAfterMs) return;
    for (const o of s.outgoing.values()) {
      if (
        !o.toReturning ||
        o.lastSentAt <= before ||
        now - o.lastSentAt < this.config.resendAfterMs ||
        o.holders.has(sender)
      )
        continue;
      const at = now + this.rng.int(this.config.syncJitterMs + 1);
      if (at < o.nextResendAt) {
        o.nextResendAt = at;
        this.lowerWake(at);
      }
    }
  }

  private scheduleResponses(requests: readonly HistoryEntry[], now: number): void {
    const s = this.state;
    for (const r of requests) {
      if (!s.cache.has(r.messageId) || s.repairResponses.has(r.messageId)) continue;
      const sender = r.senderId ?? "";
      if (sender !== s.selfId && !inResponseGroup(s.selfId, sender, r.messageId, s.participants)) continue;
      const at = responseTime(s.selfId, sender, r.messageId, now, this.config.repairTMaxMs);
      s.repairResponses.set(r.messageId, at);
      this.lowerWake(at);
    }
  }

  private receiveEphemeral(m: SdsMessage, effects: SdsEffect[]): void {
    const s = this.state;
    if (m.content === undefined || m.content.length === 0 || s.ephemeralSeen.has(m.messageId)) return;
    s.ephemeralSeen.add(m.messageId);
    if (s.ephemeralSeen.size > EPHEMERAL_SEEN_LIMIT)
      s.ephemeralSeen.delete(s.ephemeralSeen.values().next().value!);
    effects.push({ type: "deliver", messageId: m.messageId, senderId: m.senderId, content: m.content });
  }

  /** Schedules a repair request for every history entry we neither have nor hold in the buffer. */
  private requestMissing(history: readonly HistoryEntry[], now: number): void {
    const s = this.state;
    for (const e of history) {
      const id = e.messageId;
      if (s.known.has(id) || s.incoming.has(id) || s.repairRequests.has(id)) continue;
      const dueAt = requestTime(s.selfId, id, now, this.config.repairTMinMs, this.config.repairTMaxMs);
      s.repairRequests.set(id, {
        entry: { messageId: id, ...(e.senderId !== undefined ? { senderId: e.senderId } : {}) },
        missingSince: now,
        dueAt,
        attempts: 0,
      });
      this.lowerWake(Math.min(dueAt, now + this.config.lostAfterMs));
    }
  }

  /**
   * Buffered message ids by a dependency they wait for (derived, not state; rebuilt by a full pass). With
   * it a message that arrives costs its own dependencies, not a pass over a buffer that grows when many
   * members lag (it was a third of a 100-member rejoin run).
   */
  private waiting: Map<string, string[]> | undefined;

  /**
   * Delivers every buffered message whose dependencies are all known, oldest (lamport, id) first. After
   * each call no buffered message is ready, so a new `arrived` one that is not ready changes nothing, and
   * one that is wakes only what waits for it; other changes (lost ids, a new horizon) take a full pass.
   */
  private deliverReady(effects: SdsEffect[], arrived?: Buffered): void {
    const s = this.state;
    const missing = (b: Buffered) =>
      b.message.lamportTimestamp! < s.horizon
        ? []
        : b.message.causalHistory.filter((e) => !s.known.has(e.messageId));
    const waiting = arrived && this.waiting ? this.waiting : new Map<string, string[]>();
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
    for (const b of arrived && this.waiting ? [arrived] : s.incoming.values()) {
      const deps = missing(b);
      if (deps.length === 0) enqueue(b);
      else wait(b, deps);
    }
    this.waiting = waiting;
    while (ready.length > 0) {
      const m = ready.pop()!.message;
      s.incoming.delete(m.messageId);
      this.appendLog(entryOf(m));
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

  private appendLog(e: LogEntry): void {
    const s = this.state;
    s.known.add(e.messageId);
    s.recent.push({ messageId: e.messageId, senderId: e.senderId });
    if (s.recent.length > this.config.causalHistorySize) s.recent.shift();
    if (e.senderId !== s.selfId) s.unackedDeliveries = true;
    // Binary search: in a large group a message often lands far from the end (hundreds of members
    // sending at once), and scanning back with bigint compares was most of a 600-member run's SDS time.
    s.log.splice(
      upperBound(s.log, (x) => compareEntry(x, e) > 0),
      0,
      e,
    );
    if (s.log.length > this.config.logLimit) {
      const dropped = s.log.splice(0, s.log.length - this.config.logLimit);
      for (const d of dropped) s.known.delete(d.messageId);
    }
  }

  private cachePut(id: string, bytes: Uint8Array): void {
    const c = this.state.cache;
    c.set(id, bytes);
    while (c.size > this.config.repairCacheSize) c.delete(c.keys().next().value!);
  }

  private sweepResponses(now: number, effects: SdsEffect[]): void {
    const s = this.state;
    for (const [id, at] of s.repairResponses) {
      if (at > now) continue;
      s.repairResponses.delete(id);
      const bytes = s.cache.get(id);
      if (bytes === undefined) continue;
      s.stats.repairResponsesSent++;
      effects.push({ type: "publish", bytes, message: decodeSdsMessage(bytes) });
    }
  }

  /** Gives up missing messages past `lostAfterMs`, then delivers what no longer waits for them. */
  private sweepLost(now: number, effects: SdsEffect[]): void {
    const s = this.state;
    const lost = new Set<string>();
    for (const [id, r] of s.repairRequests) if (r.missingSince + this.config.lostAfterMs <= now) lost.add(id);
    for (const b of s.incoming.values()) {
      if (b.receivedAt + this.config.lostAfterMs > now) continue;
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
    this.deliverReady(effects);
  }

  private sweepResends(now: number, effects: SdsEffect[]): void {
    const s = this.state;
    for (const [id, o] of s.outgoing) {
      if (o.nextResendAt > now) continue;
      if (o.resends >= this.config.maxResends && !o.toReturning) {
        this.giveUp(id, effects);
        continue;
      }
      o.resends++;
      o.lastSentAt = now;
      o.nextResendAt = now + this.resendDelay(Math.min(o.resends, this.config.maxResends));
      s.stats.resent++;
      effects.push({ type: "publish", bytes: o.bytes, message: decodeSdsMessage(o.bytes) });
    }
  }

  /**
   * Due repair requests leave at once in sync messages (3 per message); otherwise a periodic sync message
   * carries our acks, skipped when another participant spoke during our random backoff and we have
   * received nothing new to acknowledge since we last spoke.
   */
  private sweepRequestsAndSync(now: number, effects: SdsEffect[]): void {
    const s = this.state;
    const syncDue = now >= s.nextSyncAt;
    if (syncDue) s.nextSyncAt = now + this.syncPeriod() + this.rng.int(this.config.syncJitterMs + 1);
    let sentSync = false;
    for (;;) {
      const due = [...s.repairRequests.values()].some((r) => r.dueAt <= now);
      if (!due) break;
      this.publishSync(now, effects);
      sentSync = true;
    }
    if (!syncDue || sentSync) return;
    if (now - s.lastHeardAt <= this.config.syncJitterMs && !s.unackedDeliveries) {
      s.stats.syncSkipped++;
      return;
    }
    this.publishSync(now, effects);
  }

  private publishSync(now: number, effects: SdsEffect[]): void {
    const s = this.state;
    const id = toHex(
      sha256(concatBytes(utf8(s.selfId), u64be(s.lamport), u64be(BigInt(this.rng.int(2 ** 32))))).subarray(
        0,
        16,
      ),
    );
    const message = this.compose(id, s.lamport, undefined, now);
    s.stats.syncSent++;
    effects.push({ type: "publish", bytes: encodeSdsMessage(message), message });
  }
}

function entryOf(m: SdsMessage): LogEntry {
  return { messageId: m.messageId, senderId: m.senderId, lamport: m.lamportTimestamp! };
}

/** The first index of a list ordered so that `after` is false, then true, where `after` holds. */
function upperBound<T>(list: readonly T[], after: (x: T) => boolean): number {
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

function compareMessages(a: SdsMessage, b: SdsMessage): number {
  return compareOrder(a.lamportTimestamp!, a.messageId, b.lamportTimestamp!, b.messageId);
}

function compareEntry(a: LogEntry, b: LogEntry): number {
  return compareOrder(a.lamport, a.messageId, b.lamport, b.messageId);
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
