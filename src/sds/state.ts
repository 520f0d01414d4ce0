// Fresh state of a channel: the persisted part (`SdsState`) and the volatile part (`SdsVolatile`).
import { newRollingBloom, sdsBloomShape } from "./bloom.ts";
import { type SdsConfig, validateSdsConfig } from "./config.ts";
import type { SdsState, SdsVolatile } from "./types.ts";

/**
 * A fresh channel state for `selfId` on `channelId`.
 * @throws {SdsError} `INVALID_CONFIG` for a config out of range.
 */
export function newSdsState(selfId: string, channelId: string, now: number, config: SdsConfig): SdsState {
  validateSdsConfig(config);
  return {
    selfId,
    channelId,
    lamport: BigInt(Math.max(0, Math.floor(now))),
    log: [],
    recent: [],
    unackedDeliveries: false,
    known: new Set(),
    bloom: newRollingBloom(sdsBloomShape(config)),
    outgoing: new Map(),
    incoming: new Map(),
    repairRequests: new Map(),
    repairResponses: new Map(),
    repairTargets: new Map(),
    repairAsks: new Map(),
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
      repairDirectSent: 0,
      repaired: 0,
      lost: 0,
      unreadableFilters: 0,
    },
  };
}

/** The volatile part of a channel that starts or restarts: nothing known, everything to derive. */
export function newSdsVolatile(): SdsVolatile {
  return { participantIds: undefined, wakeBound: undefined, outgoingIndices: new Map(), waiting: undefined };
}

/**
 * A state saved by an older version, with the fields added since filled in (empty), so a channel restores
 * from any earlier save.
 */
export function migrateSdsState(state: SdsState): SdsState {
  const old = state as {
    repairTargets?: SdsState["repairTargets"];
    repairAsks?: SdsState["repairAsks"];
    stats: Partial<SdsState["stats"]>;
  };
  old.repairTargets ??= new Map();
  old.repairAsks ??= new Map();
  old.stats.repairDirectSent ??= 0;
  return state;
}
