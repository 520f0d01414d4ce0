// One SDS channel (spec "Scalable Data Sync" + SDS-R) as a sans-I/O state machine: `send`, `receive` and
// `tick` take the current time and return effects; the caller publishes, delivers and calls `tick` again
// at `nextWake()`. The persisted state is plain data (`SdsState`), so it persists with
// `structuredClone`/`v8`. This class is a facade over the functions of the layer's files, each of which
// takes an `SdsCore`: delivery.ts (receiving), acks.ts (acknowledgements and resends), repair.ts
// (SDS-R), sending.ts (sending and sync messages), schedule.ts (when to wake).
import type { Rng } from "../net/transport.ts";
import { setParticipants, sweepResends } from "./acks.ts";
import { sdsBloomShape } from "./bloom.ts";
import { DEFAULT_SDS_CONFIG, type SdsConfig, validateSdsConfig } from "./config.ts";
import { receive, skipMissedHistory, sweepLost } from "./delivery.ts";
import { missingIds, sweepResponses } from "./repair.ts";
import { nextWake, syncPeriod } from "./schedule.ts";
import { send, sendEphemeral, sweepRequestsAndSync } from "./sending.ts";
import { migrateSdsState, newSdsVolatile } from "./state.ts";
import type { SdsCore, SdsEffect, SdsState, SendOptions } from "./types.ts";

/**
 * An SDS channel. Methods mutate `state` and return effects; time comes only from the `now` arguments
 * and randomness only from the injected `rng`, so a run replays exactly from a seed.
 */
export class SdsChannel {
  readonly config: SdsConfig;
  /** What the layer above persists. */
  readonly state: SdsState;
  /** State, volatile state, config, randomness: what the functions of the layer work on. */
  private readonly core: SdsCore;

  /**
   * @throws {SdsError} `INVALID_CONFIG` for a config out of range; {@link RangeError} for a state
   * created with another bloom configuration.
   */
  constructor(state: SdsState, rng: Rng, config: SdsConfig = DEFAULT_SDS_CONFIG) {
    validateSdsConfig(config);
    this.state = migrateSdsState(state);
    this.config = config;
    const shape = sdsBloomShape(config);
    if (state.bloom.current.length !== shape.bytes)
      throw new RangeError("SDS state was created with another bloom configuration");
    this.core = { state, volatile: newSdsVolatile(), config, rng, shape };
  }

  /**
   * Number of participants, for SDS-R response groups, the ack quorum and the sync period; and their
   * sender ids, when the layer above knows them (a message from any other id acks nothing).
   */
  setParticipants(n: number, ids?: Iterable<string>): void {
    setParticipants(this.core, n, ids);
  }

  /** Time between own periodic syncs at the current size (see `syncFullRateParticipants`). */
  syncPeriod(): number {
    return syncPeriod(this.core);
  }

  /** Sends `content` as a new message with causal history; returns its id and the effects. */
  send(
    content: Uint8Array,
    now: number,
    options: SendOptions = {},
  ): { messageId: string; effects: SdsEffect[] } {
    return send(this.core, content, now, options);
  }

  /** Sends `content` without ordering, acks or repair (spec: ephemeral message). */
  sendEphemeral(content: Uint8Array, now: number): SdsEffect[] {
    return sendEphemeral(this.core, content, now);
  }

  /**
   * Processes a message from the network.
   * @throws {DecodeError} `MALFORMED`; {@link SdsError} `WRONG_CHANNEL`, `LAMPORT_AHEAD`,
   * `OVERSIZED_HISTORY`, `OVERSIZED_REPAIR`, `OVERSIZED_ID`. Either way nothing changed.
   */
  receive(bytes: Uint8Array, now: number): SdsEffect[] {
    return receive(this.core, bytes, now);
  }

  /**
   * Stops waiting for the history missed so far: buffered messages no longer wait for their dependencies,
   * those that arrive later with an older timestamp neither, and pending repair requests are dropped
   * (what still arrives is delivered; senders keep resending what we do not acknowledge). For a member the
   * layer above caught up by other means, so the missed messages are no longer needed in causal order.
   */
  skipMissedHistory(): SdsEffect[] {
    return skipMissedHistory(this.core);
  }

  /** Runs every sweep that is due: repair responses and requests, lost deps, resends, sync. */
  tick(now: number): SdsEffect[] {
    this.core.volatile.wakeBound = undefined;
    const effects: SdsEffect[] = [];
    sweepResponses(this.core, now, effects);
    sweepLost(this.core, now, effects);
    sweepResends(this.core, now, effects);
    sweepRequestsAndSync(this.core, now, effects);
    return effects;
  }

  /** The earliest time `tick` has something to do (possibly earlier: then `tick` does nothing). */
  nextWake(): number {
    return nextWake(this.core);
  }

  /** Whether `messageId` is delivered (or sent) here. */
  has(messageId: string): boolean {
    return this.state.known.has(messageId);
  }

  /** Ids missing right now (requested, not yet repaired). */
  missing(): string[] {
    return missingIds(this.core);
  }
}
