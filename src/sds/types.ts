// The types of the SDS core: its state (persisted and volatile), its effects, its error codes and the
// context every SDS function works on. Types only, so every file of the layer may import it.
import type { Rng } from "../net/transport.ts";
import type { BloomShape, RollingBloom } from "./bloom.ts";
import type { SdsConfig } from "./config.ts";
import type { HistoryEntry, SdsMessage } from "./wire.ts";

/** What the caller must do, in order. */
export type SdsEffect =
  | {
      readonly type: "publish";
      readonly bytes: Uint8Array;
      readonly message: SdsMessage;
      /**
       * The participants (sender ids) it is for: an SDS-R answer to the members that asked for it. Absent:
       * everyone. A caller that cannot address them publishes it; a receiver takes it either way.
       */
      readonly to?: readonly string[];
    }
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
   * may look at the content early (to learn that its sender is somewhere we are not, or to check content
   * that needs no order, as a commit); it is still delivered, in order, once its dependencies are.
   */
  | { readonly type: "waiting"; readonly senderId: string; readonly content: Uint8Array };

/**
 * The kinds of {@link SdsEffect}: `publish` (put bytes on the topic), `deliver` (hand content up),
 * `acknowledged` / `unacknowledged` (fate of an own message), `lost` / `repaired` (fate of a missing
 * dependency), `waiting` (a message buffered for its dependencies).
 */
export type SdsEffectType = SdsEffect["type"];

export type { SdsErrorCode } from "./errors.ts";

/** An entry of the local log. */
export interface LogEntry {
  readonly messageId: string;
  readonly senderId: string;
  readonly lamport: bigint;
}

/** An own message not yet acknowledged. */
export interface Outgoing {
  /** The encoded message, resent as is. */
  readonly bytes: Uint8Array;
  /** When it last went out (sent or resent). */
  lastSentAt: number;
  /** Resent early to a participant back from silence, and never given up (see `SendOptions`). */
  readonly toReturning: boolean;
  /** When it goes out again unless acknowledged first. */
  nextResendAt: number;
  /** Resends so far. */
  resends: number;
  /** Participants seen holding it. */
  readonly holders: Set<string>;
}

/** A received message waiting for its dependencies. */
export interface Buffered {
  readonly message: SdsMessage;
  /** When it arrived: its missing dependencies are given up `lostAfterMs` later. */
  readonly receivedAt: number;
}

/** A missing message we ask for (SDS-R). */
export interface RepairRequest {
  /** What goes into the `repairRequest` field of our messages. */
  readonly entry: HistoryEntry;
  /** When it was first missed: it is given up `lostAfterMs` later. */
  readonly missingSince: number;
  /** When the request goes out next. */
  dueAt: number;
  /** Requests sent so far (they back off). */
  attempts: number;
}

/** Counters for benchmarks and reports. */
export interface SdsStats {
  /** Own content messages sent. */
  sent: number;
  /** Resends of own content messages. */
  resent: number;
  /** Sync messages sent (periodic, or carrying due repair requests). */
  syncSent: number;
  /** Periodic syncs skipped because another participant spoke. */
  syncSkipped: number;
  /** Messages received from others (all kinds). */
  received: number;
  /** Content messages received again. */
  duplicates: number;
  /** Repair request entries sent. */
  repairRequestsSent: number;
  /** Cached messages sent in answer to repair requests (to everyone, or to the requesters). */
  repairResponsesSent: number;
  /** Of those, answers addressed to the requesters only. */
  repairDirectSent: number;
  /** Requested messages that arrived. */
  repaired: number;
  /** Missing messages given up. */
  lost: number;
  /**
   * Received bloom filters of no known shape (neither ours nor @waku/sds's), ignored: the message is
   * taken all the same, its causal history still acks.
   */
  unreadableFilters: number;
}

/**
 * Everything a channel persists: plain data, cloned with `structuredClone`/`node:v8` by the layer above.
 * Every field is persisted; what is not persisted is in {@link SdsVolatile}.
 */
export interface SdsState {
  /** Persisted. Our sender id. */
  readonly selfId: string;
  /** Persisted. The channel's id; messages for others are refused. */
  readonly channelId: string;
  /** Persisted. Our Lamport clock (milliseconds, raised to the highest timestamp seen). */
  lamport: bigint;
  /** Persisted. Local log, ascending by (lamport, message id); bounded by `logLimit`. */
  log: LogEntry[];
  /**
   * Persisted. The newest entries appended to the log, in append order: the causal history of the next
   * message. Append order, not lamport order, so a late message with an old timestamp is still named by the
   * next message and everybody missing it learns it exists.
   */
  recent: HistoryEntry[];
  /** Persisted. Something was delivered since this participant last spoke (its acks are not out yet). */
  unackedDeliveries: boolean;
  /** Persisted. Ids of log entries, and ids given up as lost (they satisfy dependencies). */
  readonly known: Set<string>;
  /** Persisted. Rolling bloom filter of the ids we hold, sent with each message as our acks. */
  readonly bloom: RollingBloom;
  /** Persisted. Own messages not yet acknowledged, oldest first. */
  readonly outgoing: Map<string, Outgoing>;
  /** Persisted. Received messages waiting for their dependencies, by id. */
  readonly incoming: Map<string, Buffered>;
  /** Persisted. Missing messages we ask for, by id. */
  readonly repairRequests: Map<string, RepairRequest>;
  /** Persisted. Message id → when to send it from the cache in answer to a repair request. */
  readonly repairResponses: Map<string, number>;
  /**
   * Persisted. Message id → the requesters a pending answer goes to (sender ids, in the order they
   * asked). An id of `repairResponses` absent here is answered to everyone.
   */
  readonly repairTargets: Map<string, string[]>;
  /**
   * Persisted. Message id → how many times each requester asked us for it (the first ask draws a few
   * direct answers, the next ones more, then broadcasts). Bounded: `repairCacheSize` messages, the oldest
   * forgotten, and `maxAskersPerMessage` requesters each.
   */
  readonly repairAsks: Map<string, Map<string, number>>;
  /** Persisted. Full messages to answer repairs with, oldest first. */
  readonly cache: Map<string, Uint8Array>;
  /** Persisted. Recent ephemeral ids, to deliver each once. */
  readonly ephemeralSeen: Set<string>;
  /** Persisted. Number of participants (see `SdsChannel.setParticipants`). */
  participants: number;
  /**
   * Persisted. Messages older than this lamport are the channel's history before we joined: their
   * dependencies are neither requested nor waited for (a new member cannot read them anyway).
   */
  horizon: bigint;
  /** Persisted. When the next periodic sync message is due. */
  nextSyncAt: number;
  /** Persisted. When another participant was last heard (a sync is skipped if one spoke recently). */
  lastHeardAt: number;
  /**
   * Persisted. When each participant was last heard from, least recent first (bounded: `heardFromSlack`
   * beyond the participants).
   */
  readonly heardFrom: Map<string, number>;
  /** Persisted. Counters. */
  readonly stats: SdsStats;
}

/**
 * What a channel keeps only in memory: derived indexes, rebuilt or recomputed on demand, and the roster's
 * ids, which the layer above sets again after a restart. Never persisted.
 */
export interface SdsVolatile {
  /**
   * Volatile: sender ids of the participants, when the layer above knows them (`setParticipants`). A
   * message from any other id acks nothing: anyone on the topic can send SDS messages, and an all-ones
   * bloom filter under invented ids would otherwise stop every resend. Derived from the roster.
   */
  participantIds: Set<string> | undefined;
  /**
   * Volatile: a lower bound of `nextWake()`, lowered in O(1) when an entry is added and recomputed only
   * after a tick, instead of a walk over every buffer after each message. Removals leave it early, which
   * costs one tick that finds nothing due. Undefined: recompute.
   */
  wakeBound: number | undefined;
  /**
   * Volatile: bloom positions of our unacknowledged ids. Every received message's filter is tested against
   * each of them; this spares hashing the ids again each time.
   */
  readonly outgoingIndices: Map<string, Uint32Array>;
  /**
   * Volatile: buffered message ids by a dependency they wait for, rebuilt by a full pass of `deliverReady`
   * (undefined until then). With it a message that arrives costs its own dependencies, not a pass over a
   * buffer that grows when many members lag.
   */
  waiting: Map<string, string[]> | undefined;
}

/** What every function of the SDS core works on: one channel's state, parameters and randomness. */
export interface SdsCore {
  readonly state: SdsState;
  readonly volatile: SdsVolatile;
  readonly config: SdsConfig;
  /** The only source of randomness, so a run replays exactly from a seed. */
  readonly rng: Rng;
  /** The bloom filter's shape, derived from `config`. */
  readonly shape: BloomShape;
}

/** Per-message choices of `SdsChannel.send`. */
export interface SendOptions {
  /**
   * Resend it at once to a participant that comes back from silence without it, instead of at its
   * resend time: after a partition heals, SDS-R finds a missed message only through the causal history
   * of what followed it, one step at a time, and the resend time grows with the sync period. Such a
   * message is also never given up after `maxResends` (its resends may all fall inside a long split): it
   * is resent at the longest backoff until every participant holds it (at most `keepUnacknowledged` of
   * them; beyond, the oldest is given up). For messages that must reach everyone; not for ones a later
   * message supersedes (votes, once committed).
   */
  readonly resendToReturning?: boolean;
}
