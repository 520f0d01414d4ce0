// Parameters of an SDS channel. Defaults follow the spec where it names one; the rest are chosen so a
// group of up to ~100 members keeps per-message overhead under 1 KB (bench/sds.ts measures it).
import { SdsError } from "./errors.ts";
import { WAKU_CAUSAL_HISTORY_SIZE } from "./waku.ts";

/** How bloom filter ids are hashed and laid out: ours, or @waku/sds's (see `SdsConfig.bloomFormat`). */
export type BloomFormat = "demls" | "waku";

/** Tunables of one {@link SdsChannel}. Times in milliseconds. */
export interface SdsConfig {
  /** Ids of the newest local-log entries put in each message's causal history (spec: 2). */
  readonly causalHistorySize: number;
  /**
   * Ids per bloom generation. The filter covers the newest `capacity`..`2*capacity` received ids; size it
   * to the messages a channel sees while a message can still be waiting for its ack (the resend window).
   */
  readonly bloomCapacity: number;
  /** False-positive rate of the filter holding both generations (`"demls"` format only). */
  readonly bloomFpRate: number;
  /**
   * The filter we send. `"demls"`: sized by `bloomCapacity` and `bloomFpRate` (614 bytes by default).
   * `"waku"`: @waku/sds's fixed filter (18,752 bytes, its hashing), which @waku/sds peers need to take a
   * message at all (they throw on any other). Filters of either format are read whatever this says.
   */
  readonly bloomFormat: BloomFormat;
  /**
   * Also accept a content message whose id is @waku/sds's form (SHA-256 of the content) rather than ours
   * (`messageIdOf`). Both bind the id to the content; @waku/sds's does not bind sender and timestamp, so
   * the same content from two senders is one message. For a channel shared with @waku/sds peers.
   */
  readonly wakuMessageIds: boolean;
  /**
   * Distinct participants that must be seen holding an own message (its id in their causal history or
   * bloom filter) before it counts as acknowledged and stops being resent. 0 = every other participant.
   * The spec's small fixed threshold lets a message that two members hold stop being resent while others
   * still miss it and nothing ever names it to them.
   */
  readonly ackQuorum: number;
  /**
   * First resend of an unacknowledged message after this; doubles with each resend. Above
   * `syncFullRateParticipants` every wait also grows by what the sync period is stretched by: an ack needs
   * each participant to speak after receiving the message, and a quiet one speaks once per sync period
   * (counted from the send alone, every message of a large group would be resent before its acks arrive).
   */
  readonly resendAfterMs: number;
  /**
   * Resends before a message is given up (`unacknowledged` effect); a `resendToReturning` message is
   * resent at the longest wait from then on instead.
   */
  readonly maxResends: number;
  /** `resendToReturning` messages kept unacknowledged at most; beyond, the oldest is given up. */
  readonly keepUnacknowledged: number;
  /** Period of sync messages (acks and repair requests when nobody else speaks). */
  readonly syncIntervalMs: number;
  /** Random backoff added to each sync period; a sync is skipped if another participant spoke within it. */
  readonly syncJitterMs: number;
  /**
   * Up to this many participants a member's sync period is `syncIntervalMs`; above, it stretches by
   * participants / this. Every sync is read by every participant, so the channel carries about this many
   * syncs per interval whatever its size, not n (n² deliveries: at 1000 members and 1 s, a million a
   * second). As the fingerprint gossip's heartbeat (sync/ `gossipFullRateMembers`).
   */
  readonly syncFullRateParticipants: number;
  /** SDS-R `T_min` (spec: at least 30 s). */
  readonly repairTMinMs: number;
  /** SDS-R `T_max` (spec: 120-600 s). */
  readonly repairTMaxMs: number;
  /** Repair requests carried by one outgoing message (spec: 3). */
  readonly maxRepairEntriesPerMessage: number;
  /**
   * A missing message is requested again after `T_max`, then after doubling waits, `repairBackoffSteps`
   * times; from then on at that longest wait, until it arrives or `lostAfterMs` gives it up. Retries never
   * stop earlier: a message that every request and every resend of its sender missed would otherwise stay
   * buffered, with the messages after it, with nothing asking for it.
   */
  readonly repairBackoffSteps: number;
  /** A missing dependency not repaired within this after it was first missed is irretrievably lost. */
  readonly lostAfterMs: number;
  /**
   * Asks of one requester for one message that we answer to the requester only (when our caller can
   * address it); from the next ask on we broadcast the answer, as the spec does. 0: always broadcast.
   * A direct answer reaches no one who has the message already, but nobody else sees it either, so it
   * cancels no other responder: the first ask is answered by the original sender and the responders
   * due early in `T_max` only (docs/decisions.md, "SDS-R answers to the requester").
   */
  readonly repairDirectAsks: number;
  /**
   * When more than this fraction of the other participants wait for one answer of ours, it is broadcast
   * once instead of sent to each: most of its receptions are then wanted, and it also reaches those
   * whose request is still on its timer.
   */
  readonly repairBroadcastFraction: number;
  /** Requesters remembered per message for their ask count; a message asked for by more is broadcast. */
  readonly maxAskersPerMessage: number;
  /**
   * Full messages kept to answer repair requests (own and received). A member can serve any of the last
   * `repairCacheSize` messages of the channel; memory grows with it times the message size.
   */
  readonly repairCacheSize: number;
  /** Local-log entries kept for dedupe and causal history; older ones are forgotten. */
  readonly logLimit: number;
  /**
   * A received Lamport timestamp more than this ahead of our clock (ms) is refused (`LAMPORT_AHEAD`), not
   * adopted. Timestamps are milliseconds that run ahead of the clock only by bursts of sends; the bound
   * leaves room for clocks that disagree by up to an hour.
   */
  readonly maxLamportAheadMs: number;
  /** Causal history or repair request entries one message may carry (more is `OVERSIZED_*`). */
  readonly maxHistoryEntries: number;
  /**
   * Longest message, sender or entry id accepted (more is `OVERSIZED_ID`). Ours are 32 hex characters and
   * a member id is at most 64 bytes.
   */
  readonly maxIdLength: number;
  /**
   * Participants remembered in `heardFrom` beyond the channel's size (members that left, renamed ids), for
   * the resend to a participant back from silence.
   */
  readonly heardFromSlack: number;
  /** Recent ephemeral message ids remembered to deliver each once; the oldest is forgotten beyond. */
  readonly ephemeralSeenLimit: number;
}

/** Spec-default timers. */
export const DEFAULT_SDS_CONFIG: SdsConfig = {
  causalHistorySize: 2,
  bloomCapacity: 256,
  bloomFpRate: 0.01,
  bloomFormat: "demls",
  wakuMessageIds: false,
  ackQuorum: 0,
  resendAfterMs: 30_000,
  maxResends: 5,
  keepUnacknowledged: 256,
  syncIntervalMs: 30_000,
  syncJitterMs: 5_000,
  syncFullRateParticipants: 20,
  repairTMinMs: 30_000,
  repairTMaxMs: 120_000,
  maxRepairEntriesPerMessage: 3,
  repairBackoffSteps: 4,
  lostAfterMs: 30 * 60_000,
  repairDirectAsks: 2,
  repairBroadcastFraction: 0.5,
  maxAskersPerMessage: 1024,
  repairCacheSize: 512,
  logLimit: 10_000,
  maxLamportAheadMs: 3_600_000,
  maxHistoryEntries: 64,
  maxIdLength: 256,
  heardFromSlack: 64,
  ephemeralSeenLimit: 1024,
};

/** Timers scaled down 30x, for simulations and interactive groups. */
export const FAST_SDS_CONFIG: SdsConfig = {
  ...DEFAULT_SDS_CONFIG,
  resendAfterMs: 1_000,
  syncIntervalMs: 1_000,
  syncJitterMs: 200,
  repairTMinMs: 200,
  repairTMaxMs: 1_000,
  lostAfterMs: 60_000,
};

/** The numeric fields of {@link SdsConfig}. */
type NumericField = { [K in keyof SdsConfig]: SdsConfig[K] extends number ? K : never }[keyof SdsConfig];

/**
 * `c` for a channel shared with @waku/sds 0.0.8 peers: its bloom filter on every message, its content
 * message ids accepted, and room for the 200 causal history entries its messages carry.
 */
export function wakuCompatible(c: SdsConfig): SdsConfig {
  return {
    ...c,
    bloomFormat: "waku",
    wakuMessageIds: true,
    maxHistoryEntries: Math.max(c.maxHistoryEntries, WAKU_CAUSAL_HISTORY_SIZE),
  };
}

/**
 * `c` if every value is in range, for a channel to take in.
 * @throws {SdsError} `INVALID_CONFIG` naming the first value out of range: a count that is not an integer
 * or below its least useful value, a time that is negative (or zero where a timer would fire at once, again
 * and again), a false-positive rate outside (0, 1), an unknown `bloomFormat`, `repairTMinMs` above
 * `repairTMaxMs`, or fewer `maxHistoryEntries` than our own messages carry.
 */
export function validateSdsConfig(c: SdsConfig): SdsConfig {
  const fail = (field: keyof SdsConfig, range: string): never => {
    throw new SdsError("INVALID_CONFIG", `SdsConfig.${field} = ${String(c[field])}: must be ${range}`);
  };
  const integer = (field: NumericField, min: number) => {
    if (!Number.isSafeInteger(c[field]) || c[field] < min) fail(field, `an integer >= ${min}`);
  };
  /** `positive`: above zero, else at least zero; NaN fails both. */
  const time = (field: NumericField, positive: boolean) => {
    if (!(positive ? c[field] > 0 : c[field] >= 0)) fail(field, positive ? "> 0" : ">= 0");
  };
  integer("causalHistorySize", 0);
  integer("bloomCapacity", 1);
  if (!(c.bloomFpRate > 0 && c.bloomFpRate < 1)) fail("bloomFpRate", "in (0, 1)");
  if (c.bloomFormat !== "demls" && c.bloomFormat !== "waku") fail("bloomFormat", `"demls" or "waku"`);
  if (typeof c.wakuMessageIds !== "boolean") fail("wakuMessageIds", "a boolean");
  integer("ackQuorum", 0);
  time("resendAfterMs", true);
  integer("maxResends", 0);
  integer("keepUnacknowledged", 0);
  time("syncIntervalMs", true);
  integer("syncJitterMs", 0); // a bound of `rng.int`
  if (!(c.syncFullRateParticipants > 0)) fail("syncFullRateParticipants", "> 0");
  time("repairTMinMs", false);
  time("repairTMaxMs", true);
  if (c.repairTMinMs > c.repairTMaxMs) fail("repairTMinMs", `<= repairTMaxMs (${c.repairTMaxMs})`);
  integer("maxRepairEntriesPerMessage", 1); // due requests must leave, or the sweep never ends
  integer("repairBackoffSteps", 1);
  time("lostAfterMs", true);
  integer("repairDirectAsks", 0);
  if (!(c.repairBroadcastFraction >= 0 && c.repairBroadcastFraction <= 1))
    fail("repairBroadcastFraction", "in [0, 1]");
  integer("maxAskersPerMessage", 1);
  integer("repairCacheSize", 0);
  integer("logLimit", 1);
  integer("maxLamportAheadMs", 0); // compared as a bigint
  integer("maxHistoryEntries", Math.max(c.causalHistorySize, c.maxRepairEntriesPerMessage));
  integer("maxIdLength", 32);
  integer("heardFromSlack", 0);
  integer("ephemeralSeenLimit", 0);
  return c;
}
