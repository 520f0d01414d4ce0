// The sync core of one member: fingerprint gossip, classification and recovery (catch-up, re-alignment,
// rejoin, voted hard reset) for the group core below it, which it sees through a `GroupPort`. Sans-I/O
// like the cores below it: `receive`, `tick` and the commands take `now` and return effects; `nextWake()`
// says when to tick. A facade: the logic is in the functions of this folder, over the context it builds.
import type { GroupEffect } from "../group/effects.ts";
import { topicsOf } from "../group/topics.ts";
import type { Rng } from "../net/transport.ts";
import { count } from "./channel.ts";
import type { Verdict } from "./classify.ts";
import type { SyncCode } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { gossip, onGroupEffects } from "./gossip.ts";
import type { GroupPort } from "./group-port.ts";
import { type SyncParams, validateSyncParams } from "./params.ts";
import { tick } from "./policy.ts";
import { receive } from "./receive.ts";
import { rejoin } from "./rejoin.ts";
import { nextWake as resetNextWake } from "./reset-round.ts";
import { restoreSyncMemory, type SavedSyncMemory, type SyncState, saveSyncMemory } from "./state.ts";

/** The sync core of one member. */
export class SyncCore {
  /** The persisted state (the member saves it with its snapshot). */
  readonly state: SyncState;
  readonly params: SyncParams;
  private readonly ctx: SyncContext;

  /**
   * `state` is a fresh `newSyncState()` or a restored one, `memory` what {@link SyncCore.saveMemory}
   * returned before a restart.
   * @throws {SyncError} `BAD_PARAMS` when a field of `params` is out of its range.
   */
  constructor(port: GroupPort, state: SyncState, rng: Rng, params: SyncParams, memory?: SavedSyncMemory) {
    validateSyncParams(params);
    this.state = state;
    this.params = params;
    const topic = topicsOf(port.conversation).sync;
    this.ctx = {
      port,
      state,
      volatile: restoreSyncMemory(memory),
      params,
      rng,
      topic,
      topicAad: new TextEncoder().encode(topic),
    };
  }

  /** What of the bookkeeping a restart needs (saved with the snapshot beside `state`). */
  saveMemory(): SavedSyncMemory {
    return saveSyncMemory(this.ctx.volatile);
  }

  /** The last verdict (undefined before the first). */
  get lastVerdict(): Verdict | undefined {
    return this.ctx.volatile.verdict;
  }

  /** SyncStateInfo messages this core sent since it was created (for overhead figures). */
  get gossipSent(): number {
    return this.ctx.volatile.gossipSent;
  }

  /** Their bytes. */
  get gossipBytes(): number {
    return this.ctx.volatile.gossipBytes;
  }

  /**
   * Leaves the current state and asks to be re-added with a fresh KeyPackage (by the group `groupId`, or
   * ours): what the layer does for a fork older than the retained epochs, and what an application can do
   * when its state is damaged.
   */
  rejoin(now: number, groupId?: Uint8Array): Promise<SyncEffect[]> {
    return rejoin(this.ctx, now, groupId);
  }

  /** Call with every group effect: epoch changes trigger an immediate gossip, state hints an early one. */
  onGroupEffects(effects: readonly GroupEffect[], now: number): Promise<SyncEffect[]> {
    return onGroupEffects(this.ctx, effects, now);
  }

  /** Sends our SyncStateInfo now. */
  gossip(now: number): Promise<SyncEffect[]> {
    return gossip(this.ctx, now);
  }

  /** Counts `code` in this core's counters (the member counts the faults of its steps here). */
  count(code: SyncCode): void {
    count(this.ctx, code);
  }

  /** A message on the sync topic. Bad input is counted and dropped. */
  receive(bytes: Uint8Array, now: number): Promise<SyncEffect[]> {
    return receive(this.ctx, bytes, now);
  }

  /** Periodic: gossip, the reset round, classify, act on the verdict. */
  tick(now: number): Promise<SyncEffect[]> {
    return tick(this.ctx, now);
  }

  /** The earliest time `tick` has something to do. */
  nextWake(): number {
    return Math.min(this.state.nextGossipAt, this.ctx.volatile.classifyAt, resetNextWake(this.ctx));
  }
}
