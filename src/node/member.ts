// A member process: wires the group and sync cores to a Transport, a Clock and a store. Inputs are
// processed one at a time (a promise queue); before any effect is performed the state is saved, so a
// crash loses nothing that was sent, acknowledged or shown, and applies nothing twice (SDS resends what
// was not out). An input with no effect (most gossip, votes, SDS syncs) is saved within `SAVE_LAG_MS`.
import type { GroupEffect } from "../group/effects.ts";
import { GroupError } from "../group/errors.ts";
import type { GroupMember } from "../group/member.ts";
import {
  createGroup,
  createIdentity,
  generateKeyPackages,
  type Identity,
  isActive,
  type KeyPackageBundle,
  type MlsGroup,
} from "../mls/index.ts";
import { PeerRoutes, type SavedRoute } from "../net/routes.ts";
import { WakeTimer } from "../net/wake-timer.ts";
import type { MemberStore } from "../store/sqlite.ts";
import type { SyncStatus } from "../sync/classify.ts";
import type { SyncCore } from "../sync/core.ts";
import type { FaultEvent, SyncEffect } from "../sync/effects.ts";
import { toHex, utf8 } from "../util/bytes.ts";
import { Emitter } from "../util/events.ts";
import { type Logger, logger } from "../util/log.ts";
import { freshCores, messageStep, restoredCores, tickStep } from "./cores.ts";
import { learnRoute, sendEffect } from "./direct-send.ts";
import {
  type ChatMessage,
  emitEvents,
  logEffect,
  type MemberEvents,
  type PendingProposal,
  proposalInfo,
  type RosterWatch,
  type Traffic,
} from "./events.ts";
import { faultOf, type StepInput } from "./faults.ts";
import { linkKeyPackageService } from "./keypackage-link.ts";
import type { MemberOptionsFor } from "./options.ts";
import { newSaveCache, SAVE_LAG_MS, saveDue, saveSnapshot } from "./snapshot.ts";

export type { ChatMessage, MemberEvents, PendingProposal, Traffic };

/** The options of {@link Member.create} and {@link Member.restore}. */
export type MemberOptions = MemberOptionsFor<Member>;

/** One member of one conversation. */
export class Member {
  readonly name: string;
  readonly group: GroupMember;
  readonly sync: SyncCore;
  readonly bytesOut: Traffic = { app: 0, sync: 0, welcome: 0 };
  /** Transmissions sent to one member directly (SDS-R answers to their requesters). */
  directOut = 0;
  /** The nodes other members are reached at, by SDS sender id (saved with the member). */
  private readonly routes: PeerRoutes;
  private readonly opts: MemberOptions;
  private queue: Promise<void> = Promise.resolve();
  private unsubs: (() => void)[] = [];
  private readonly wake: WakeTimer;
  private stopped = true;
  private lastTickAt = Number.NEGATIVE_INFINITY;
  private readonly saveCache = newSaveCache();
  private readonly events = new Emitter<MemberEvents>();
  private readonly rosterWatch: RosterWatch = { known: undefined };
  /** `DEBUG=demls:member:<name>` logs every effect; rejections under `demls:rejected:<name>`. */
  private readonly log: Logger;
  private readonly logRejected: Logger;
  /** Since when inputs that had no effect are processed but not saved (undefined: all saved). */
  private unsavedSince: number | undefined;
  /** No tick before this: a timer's step threw (see `fault`). */
  private retryAt = Number.NEGATIVE_INFINITY;

  private constructor(
    opts: MemberOptions,
    group: GroupMember,
    sync: SyncCore,
    routes: readonly SavedRoute[] = [],
  ) {
    this.opts = opts;
    this.routes = new PeerRoutes(routes);
    this.name = opts.name;
    this.group = group;
    this.sync = sync;
    this.wake = new WakeTimer(opts.clock);
    this.log = logger(`demls:member:${opts.name}`);
    this.logRejected = logger(`demls:rejected:${opts.name}`);
  }

  /**
   * A new member: `creator` starts the group, `joiner` announces KeyPackages until welcomed.
   * @throws {GroupError} `BAD_PARAMS` (`groupParams` or `votePolicy` out of range).
   */
  static async create(opts: MemberOptions & { role: "creator" | "joiner" }): Promise<Member> {
    const identity = await createIdentity(opts.name);
    const kps = await generateKeyPackages(identity, 3, { lastResort: true });
    if (opts.role === "creator") {
      const group = await createGroup(identity, utf8(`${opts.conversation}/0`), kps[0]!);
      return Member.inGroup(opts, identity, group, kps.slice(1));
    }
    const m = Member.fresh(opts, identity, kps);
    m.persist();
    return m;
  }

  /**
   * A member already in `group`: the creator, or one joined out of band (a benchmark's setup of a large
   * group without n join rounds). It starts the group's SDS channel and sync key.
   */
  static async inGroup(
    opts: MemberOptions,
    identity: Identity,
    group: MlsGroup,
    keyPackages: KeyPackageBundle[],
  ): Promise<Member> {
    const m = Member.fresh(opts, identity, keyPackages);
    const now = opts.clock.now();
    const effects = await m.group.startGroup(group, now);
    await m.perform([...effects, ...(await m.sync.onGroupEffects(effects, now))]);
    m.persist();
    return m;
  }

  /** A member with new core states and no group yet. */
  private static fresh(opts: MemberOptions, identity: Identity, keyPackages: KeyPackageBundle[]): Member {
    const { core, sync } = freshCores(opts, identity, keyPackages);
    return new Member(opts, core, sync);
  }

  /**
   * Restarts a member from its store (after a crash or a restart).
   * @throws {DemlsError} `NO_STORE` (no `store` given), `NO_STATE` (an empty store), `CORRUPT_STATE`
   * (unreadable), `WRONG_MEMBER` (the store is another member's: running as that member would fork its leaf).
   * @throws {GroupError} `BAD_PARAMS` (`groupParams` or `votePolicy` out of range).
   * @throws {SyncError} `BAD_PARAMS` (`syncParams` out of range).
   */
  static async restore(opts: MemberOptions & { store: MemberStore }): Promise<Member> {
    const { core, sync, lastTickAt, routes } = await restoredCores(opts);
    const m = new Member(opts, core, sync, routes);
    m.lastTickAt = lastTickAt;
    return m;
  }

  get identity(): Identity {
    return this.group.identity;
  }

  start(): void {
    this.stopped = false;
    const t = this.group.topics;
    for (const topic of [t.app, t.welcome, t.sync])
      this.unsubs.push(
        this.opts.transport.subscribe(topic, (d) =>
          this.enqueue((now) => {
            if (topic === t.app) learnRoute(this.routes, d);
            return messageStep(this.group, this.sync, topic, d.data, now);
          }, "message"),
        ),
      );
    this.reschedule();
  }

  /** Saves what is not saved yet, after the inputs in progress, and stops: a clean shutdown. */
  async close(): Promise<void> {
    const run = async () => {
      if (!this.stopped && this.unsavedSince !== undefined) this.persist();
    };
    this.queue = this.queue.then(run, run);
    await this.queue;
    this.stop();
  }

  /** Stops at once, as a crash would: inputs of the last `SAVE_LAG_MS` with no effect may not be saved. */
  stop(): void {
    this.stopped = true;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.wake.cancel();
  }

  /**
   * Subscribes to an application event (`message`, `delivered`, `status`, ...); returns the function
   * that unsubscribes. A handler that throws affects neither the member nor the other handlers.
   */
  on<K extends keyof MemberEvents>(event: K, fn: (e: MemberEvents[K]) => void): () => void {
    return this.events.on(event, fn);
  }

  /** Like {@link on}, for the next event only. */
  once<K extends keyof MemberEvents>(event: K, fn: (e: MemberEvents[K]) => void): () => void {
    return this.events.once(event, fn);
  }

  /** Removes a handler added with {@link on}. */
  off<K extends keyof MemberEvents>(event: K, fn: (e: MemberEvents[K]) => void): void {
    this.events.off(event, fn);
  }

  /** Resolves once this member is in a group (at once if it is): after that, `sendChat` works. */
  ready(): Promise<void> {
    if (this.group.group !== undefined && !this.removed) return Promise.resolve();
    return new Promise((resolve) => this.once("joined", () => resolve()));
  }

  /** Whether this member was removed from its group (it can no longer send or read there). */
  get removed(): boolean {
    const g = this.group.group;
    return g !== undefined && !isActive(g);
  }

  /** The last sync verdict (`UNKNOWN` until the first); `REMOVED` once this member was removed. */
  get status(): SyncStatus | "REMOVED" {
    return this.removed ? "REMOVED" : this.sync.state.status;
  }

  /** Names of the members of our current group (empty before we joined one). */
  roster(): string[] {
    return this.group.rosterIds().map((id) => new TextDecoder().decode(id));
  }

  /**
   * Sends an application message (text or bytes); resolves with its id once it is handed to SDS (the
   * `delivered` event names it once every member holds it).
   * @throws {GroupError} `NO_GROUP` before the member is in a group; `STOPPED` once it is stopped.
   */
  async sendChat(body: Uint8Array | string): Promise<string> {
    const bytes = typeof body === "string" ? utf8(body) : body;
    let id: string | undefined;
    await this.enqueue(async (now) => {
      const r = await this.group.sendChat(bytes, now);
      id = toHex(r.id);
      return r.effects;
    });
    if (id === undefined) throw new GroupError("STOPPED", "the member is stopped");
    this.events.emit("sent", { id, body: bytes });
    return id;
  }

  /** Proposes removing `memberName` (voted like any proposal). */
  proposeRemove(memberName: string): Promise<void> {
    return this.enqueue((now) => this.group.propose(2, utf8(memberName), now));
  }

  /**
   * Proposals waiting for this member's vote (the vote policy asks the application), oldest first; also
   * after a restart, when their `proposal` events are not repeated.
   */
  pendingProposals(): PendingProposal[] {
    return this.group.waitingProposals().map(proposalInfo);
  }

  /**
   * Votes on proposal `proposalId` (a `proposal` event's id, or any proposal still being voted on that
   * this member has not voted on).
   * @throws {GroupError} `UNKNOWN_PROPOSAL`, `SETTLED_PROPOSAL` (decided already), `DOUBLE_VOTE` (this
   * member voted on it), `NO_GROUP`, `STOPPED`.
   */
  async vote(proposalId: string, yes: boolean): Promise<void> {
    let refused: GroupError | undefined = new GroupError("STOPPED", "the member is stopped");
    await this.enqueue(async (now) => {
      refused = undefined;
      return this.group.vote(proposalId, yes, now).catch((e: unknown) => {
        if (!(e instanceof GroupError)) throw e;
        refused = e;
        return [];
      });
    });
    if (refused) throw refused;
  }

  /** Proposes a key refresh: once approved, the steward commits an update path (a new epoch). */
  proposeRefresh(): Promise<void> {
    return this.enqueue((now) => this.group.propose(4, utf8(`${this.name}/${now}`), now));
  }

  /** Proposes leaving the group. */
  leave(): Promise<void> {
    return this.enqueue((now) => this.group.leave(now));
  }

  /**
   * Abandons the current state and asks the group to re-add this member with a fresh KeyPackage: what the
   * sync layer does for a fork older than the retained epochs, and what an application can do when its
   * state is damaged. The members vote the stale leaf out and the member back in.
   */
  requestRejoin(): Promise<void> {
    return this.enqueue((now) => {
      this.group.stay();
      return this.sync.rejoin(now);
    });
  }

  /**
   * Runs `step` after every earlier input, then saves and performs its effects. A step of an `input`
   * (a peer's message, a timer, the storage service) that throws is a fault: counted, reported, its
   * effects dropped, and the member goes on; nothing a peer sends can stop it. A command's error goes
   * back to its caller.
   */
  private enqueue(step: (now: number) => Promise<SyncEffect[]>, input?: StepInput): Promise<void> {
    const run = async () => {
      if (this.stopped) return;
      const keyBefore = this.group.state.syncKey;
      let effects: SyncEffect[];
      try {
        effects = await step(this.opts.clock.now());
      } catch (e) {
        if (input === undefined) throw e;
        // Stopped meanwhile: as a crash, nothing more (see below).
        if (!this.stopped) this.fault(faultOf(e, input), input);
        return;
      }
      // Stopped while the step ran: as if it crashed here, nothing is saved or sent (the store may be
      // closed already; the restart resumes from the last save, as after a crash).
      if (this.stopped) return;
      const now = this.opts.clock.now();
      if (saveDue(effects, this.group.state.syncKey !== keyBefore, now, this.unsavedSince))
        this.persist(effects.some((e) => e.type === "epoch"));
      else this.unsavedSince ??= now;
      await this.perform(effects);
      this.reschedule();
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /**
   * A step that threw: counted and reported. Its effects never went out; the state changes it made
   * before it threw stay, saved with the next save (within `SAVE_LAG_MS`). After a timer's fault the next
   * tick waits `FAULT_RETRY_MS`, so a step that throws every time cannot spin the member's loop.
   */
  private fault(f: FaultEvent, input: StepInput): void {
    const now = this.opts.clock.now();
    this.sync.count(f.code);
    this.unsavedSince ??= now;
    if (input === "timer") this.retryAt = now + FAULT_RETRY_MS;
    this.opts.onEvent?.(f, this);
    emitEvents(this.events, f, this.rosterWatch, this.name, () => this.roster());
    this.reschedule();
  }

  private async perform(effects: readonly SyncEffect[]): Promise<void> {
    const t = this.group.topics;
    for (const e of effects) {
      logEffect(e.type === "rejected" ? this.logRejected : this.log, e);
      if (e.type === "keyPackageSet" || e.type === "joined") this.useKeyPackageService(e);
      if (e.type === "stateHint") continue; // the sync layer's, handled
      if (e.type !== "publish") {
        this.opts.onEvent?.(e, this);
        emitEvents(this.events, e, this.rosterWatch, this.name, () => this.roster());
        continue;
      }
      const kind = e.topic === t.app ? "app" : e.topic === t.sync ? "sync" : "welcome";
      this.bytesOut[kind] += e.bytes.length;
      this.directOut += await sendEffect(this.opts.transport, this.routes, e);
    }
  }

  /** Own sets go to the storage service; on joining a group, the roster members' sets come from it. */
  private useKeyPackageService(e: SyncEffect): void {
    const service = this.opts.keyPackageService;
    if (service !== undefined)
      linkKeyPackageService(service, e, this.group, (step) => this.enqueue(step, "service"));
  }

  private reschedule(): void {
    if (this.stopped) return;
    // Never tick twice at one instant: a core that reports a past time as due cannot spin the loop.
    const save = this.unsavedSince === undefined ? Number.POSITIVE_INFINITY : this.unsavedSince + SAVE_LAG_MS;
    const at = Math.max(
      this.lastTickAt + 1,
      this.retryAt,
      Math.min(this.group.nextWake(), this.sync.nextWake(), save),
    );
    this.wake.arm(at, () =>
      this.enqueue((now) => {
        this.lastTickAt = now;
        return tickStep(this.group, this.sync, now);
      }, "timer"),
    );
  }

  /** Saves the whole state (and, `withCommits`, the newest commits to the commit log): nothing is unsaved. */
  private persist(withCommits = false): void {
    this.unsavedSince = undefined;
    const store = this.opts.store;
    if (store === undefined) return;
    saveSnapshot(
      store,
      this.saveCache,
      this.group,
      this.sync,
      this.lastTickAt,
      this.routes.save(),
      withCommits,
    );
  }

  /** For reports: epoch, fingerprint prefix, status. */
  summary(): { name: string; epoch: bigint | undefined; state: string; status: string; groupId: string } {
    const g = this.group.group;
    return {
      name: this.name,
      epoch: g?.epoch,
      state: g ? `${g.epoch}:${toHex(g.fingerprint).slice(0, 8)}` : "-",
      status: this.sync.state.status,
      groupId: g ? toHex(g.groupId).slice(0, 8) : "-",
    };
  }
}

/** After a timer's step threw, the next tick waits this long (a step that always throws must not spin). */
const FAULT_RETRY_MS = 1_000;

export type { GroupEffect };
