// One member's de-MLS protocol core, as a facade over the rule files of this folder (docs/architecture.md
// has the table "rule → file"). Sans-I/O: `receive`, `tick` and the commands take `now` and return
// effects; `nextWake()` says when to tick.
import type { Identity, KeyPackageBundle, MlsGroup } from "../mls/index.ts";
import type { Rng } from "../net/transport.ts";
import { SdsChannel } from "../sds/index.ts";
import * as adoption from "./adopt.ts";
import * as ballots from "./ballots.ts";
import * as delivery from "./chat-delivery.ts";
import * as pulls from "./chat-pull.ts";
import * as relay from "./chat-relay.ts";
import * as chats from "./chats.ts";
import { rosterIds } from "./core.ts";
import type { GroupEffect, ProposalEffect } from "./effects.ts";
import * as epochChange from "./epoch-change.ts";
import { departedAt, leftByOwnLeave, shouldAskBack } from "./former-members.ts";
import type { KeyPackageSet } from "./frames.ts";
import { PROPOSAL_LEAVE } from "./frames.ts";
import { onSds } from "./inbound.ts";
import type { StoredKeyPackageSet } from "./keypackage-store.ts";
import * as keyPackages from "./keypackages.ts";
import { type GroupParams, validateGroupParams } from "./params.ts";
import { restoreGroupMemory, type SavedGroupMemory, saveGroupMemory } from "./persist.ts";
import { propose } from "./proposals.ts";
import * as receiving from "./receive.ts";
import * as rejoin from "./rejoin.ts";
import { type GroupCore, type GroupCoreState, newGroupState } from "./state.ts";
import { migrateGroupState } from "./state-migrate.ts";
import { stewards } from "./steward-schedule.ts";
import * as timers from "./timers.ts";
import { topicsOf } from "./topics.ts";
import { DEFAULT_VOTE_POLICY, type VotePolicy, votePolicyOf } from "./vote-policy.ts";

/** A member of one conversation. */
export class GroupMember {
  /** The core value every rule works on. */
  readonly core: GroupCore;

  /**
   * @param state persisted state (a fresh one from {@link GroupMember.newState}, or restored)
   * @param group the MLS group (undefined before joining)
   * @param keyPackages own KeyPackages (private parts)
   * @param memory what {@link GroupMember.saveMemory} returned before a restart
   * @param policy how this member votes, per kind of proposal
   * @throws {GroupError} `BAD_PARAMS` when a parameter or the vote policy is out of range.
   */
  constructor(
    identity: Identity,
    state: GroupCoreState,
    group: MlsGroup | undefined,
    keyPackages: KeyPackageBundle[],
    rng: Rng,
    params: GroupParams,
    memory?: SavedGroupMemory,
    policy: VotePolicy = DEFAULT_VOTE_POLICY,
  ) {
    validateGroupParams(params);
    this.core = {
      identity,
      params,
      policy: votePolicyOf(policy),
      rng,
      topics: topicsOf(state.conversation),
      state: migrateGroupState(state),
      vol: restoreGroupMemory(memory),
      group,
      keyPackages,
      sds: state.sds === undefined ? undefined : new SdsChannel(state.sds, rng, params.sds),
    };
    adoption.updateParticipants(this.core);
  }

  /** What of the in-memory state a restart needs (saved with the snapshot beside `state`). */
  saveMemory(): SavedGroupMemory {
    return saveGroupMemory(this.core.vol);
  }

  /** A fresh core state. */
  static newState(conversation: string): GroupCoreState {
    return newGroupState(conversation);
  }

  get identity(): Identity {
    return this.core.identity;
  }
  get params(): GroupParams {
    return this.core.params;
  }
  /** Persisted state. */
  get state(): GroupCoreState {
    return this.core.state;
  }
  get topics(): GroupCore["topics"] {
    return this.core.topics;
  }
  /** The MLS group (undefined before joining). */
  get group(): MlsGroup | undefined {
    return this.core.group;
  }
  set group(g: MlsGroup | undefined) {
    this.core.group = g;
  }
  /** Own KeyPackages (private parts), for joining. */
  get keyPackages(): KeyPackageBundle[] {
    return this.core.keyPackages;
  }
  set keyPackages(k: KeyPackageBundle[]) {
    this.core.keyPackages = k;
  }
  get memberId(): Uint8Array {
    return this.core.identity.id;
  }
  get epoch(): bigint | undefined {
    return this.core.group?.epoch;
  }
  /** The SDS channel of the current group (undefined before joining). */
  get channel(): SdsChannel | undefined {
    return this.core.sds;
  }

  /** Handles a message from one of the conversation's topics. Never throws for bad peer input. */
  receive(topic: string, bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
    return receiving.receive(this.core, topic, bytes, now);
  }

  /** Runs what is due: SDS sweeps, votes, decisions, steward commit, selection, KeyPackage announcements. */
  tick(now: number): Promise<GroupEffect[]> {
    return timers.tick(this.core, now);
  }

  /** The earliest time `tick` has something to do. */
  nextWake(): number {
    return timers.nextWake(this.core);
  }

  /**
   * Sends an application message; returns its id.
   * @throws {GroupError} `NO_GROUP` before the member is in a group.
   */
  sendChat(
    body: Uint8Array,
    now: number,
    id?: Uint8Array,
  ): Promise<{ id: Uint8Array; effects: GroupEffect[] }> {
    return chats.sendChat(this.core, body, now, id);
  }

  /** Proposes a change for the application; the proposer votes YES at once. */
  propose(kind: number, target: Uint8Array, now: number): Promise<GroupEffect[]> {
    return propose(this.core, kind, target, now);
  }

  /** Proposals waiting for the application's vote (the vote policy said `ask`), oldest first. */
  waitingProposals(): ProposalEffect[] {
    return ballots.waitingProposals(this.core);
  }

  /**
   * The application's vote on proposal `id`.
   * @throws {GroupError} `UNKNOWN_PROPOSAL`, `SETTLED_PROPOSAL`, `DOUBLE_VOTE`, `NO_GROUP`.
   */
  vote(id: string, yes: boolean, now: number): Promise<GroupEffect[]> {
    return ballots.voteAsApplication(this.core, id, yes, now);
  }

  /** Asks to leave: a self-leave proposal. */
  leave(now: number): Promise<GroupEffect[]> {
    this.core.state.leaving = true;
    return propose(this.core, PROPOSAL_LEAVE, this.memberId, now);
  }

  /**
   * The application wants to be in the group again (it asked to be re-added): a leave it asked for
   * earlier is no longer asked again when a reset or an undone removal brings it back.
   */
  stay(): void {
    this.core.state.leaving = false;
  }

  /**
   * Out of the group for good (a removal that stood): our chats no member acknowledged can no longer be
   * re-sent or pulled from us, so each is reported lost (`chatLost`) and forgotten.
   */
  abandonChats(): GroupEffect[] {
    return delivery.abandonChats(this.core);
  }

  /** Current roster member ids. */
  rosterIds(): Uint8Array[] {
    return rosterIds(this.core);
  }

  /** The steward list (member ids, epoch steward first) of the current epoch in retry round `retry`. */
  stewards(retry = 0): Uint8Array[] {
    return stewards(this.core, retry);
  }

  /** Starts in a new group: as its creator, or a reset's (`resetFrom`: the old group's sync key). */
  startGroup(group: MlsGroup, now: number, resetFrom?: Uint8Array | null): Promise<GroupEffect[]> {
    return adoption.startGroup(this.core, group, now, resetFrom);
  }

  /**
   * Applies a commit outside freeze and selection (catch-up, re-alignment); undefined if it does not apply.
   * `approvedOnly`: its membership changes must be approved by our own tally.
   */
  applyCommit(
    bytes: Uint8Array,
    now: number,
    via: string,
    approvedOnly = false,
  ): Promise<GroupEffect[] | undefined> {
    return epochChange.applyCommit(this.core, bytes, now, via, approvedOnly);
  }

  /** After the sync layer moved us past epochs we missed: their SDS history is no longer waited for. */
  async skipMissedHistory(now: number): Promise<GroupEffect[]> {
    const sds = this.core.sds;
    return sds ? onSds(this.core, sds.skipMissedHistory(), now) : [];
  }

  /** Replaces the group value (rewind, reset); keeps the SDS channel unless the group id changed. */
  replaceGroup(group: MlsGroup, now: number, sdsHorizon = 0n): void {
    adoption.adopt(this.core, group, now, sdsHorizon);
  }

  /** Leaves the current group value and becomes a joiner again, announcing `keyPackages`. */
  becomeJoiner(keyPackages: KeyPackageBundle[], now: number): void {
    rejoin.becomeJoiner(this.core, keyPackages, now);
  }

  /** Leaves the branch and asks to be re-added with a fresh KeyPackage (to group `groupId`, or ours). */
  requestRejoin(keyPackages: KeyPackageBundle[], now: number, groupId?: Uint8Array): Promise<void> {
    return rejoin.requestRejoin(this.core, keyPackages, now, groupId);
  }

  /** Re-sends chats of abandoned branches, those from `sinceEpoch` on, or all. */
  resendAbandoned(now: number, all = false, sinceEpoch?: bigint): Promise<GroupEffect[]> {
    return chats.resendAbandoned(this.core, now, all, sinceEpoch);
  }

  /** Our chats sent so far in this conversation: the last sequence number used (announced in our gossip). */
  get chatSequence(): number {
    return this.core.state.chatSequence;
  }

  /** What we know of each sender's chat sequence numbers, by sender (hex): for diagnostics. */
  chatSequences(): ReadonlyMap<string, pulls.SenderChats> {
    return this.core.vol.chatSeqs;
  }

  /**
   * `sender` (hex) announced it has sent `sequence` chats, or `via` that it holds them up to `sequence`:
   * what we lack of them is pulled (chat-pull.ts).
   */
  noteChatSequence(sender: string, sequence: number, now: number, via?: string): void {
    pulls.noteChatSequence(this.core, sender, sequence, now, via);
  }

  /** The newest sequence number of `sender`'s (hex) chats that arrived here, if any. */
  chatsHeldOf(sender: string): number | undefined {
    return pulls.chatsHeldOf(this.core, sender);
  }

  /** When member `id` (hex) left our roster, if it is out and not back (our clock). */
  departedAt(id: string): number | undefined {
    return departedAt(this.core, id);
  }

  /** Whether member `id` (hex), asking for commits from `fromEpoch`, should ask to be re-added. */
  shouldAskBack(id: string, fromEpoch: bigint): boolean {
    return shouldAskBack(this.core, id, fromEpoch);
  }

  /** Members (hex) out of our roster by their own leave, not back since. */
  leftByOwnLeave(): Set<string> {
    return leftByOwnLeave(this.core);
  }

  /**
   * Members (hex) out of our roster and not back, that left it at `since` (our clock) or later, or whose
   * newest chat arrived then (sent on a branch that still had them): departed lately.
   */
  departedSince(since: number): string[] {
    const out: string[] = [];
    for (const [who, absences] of this.core.state.formerMembers) {
      const last = absences.at(-1);
      const arrived = this.core.vol.chatSeqs.get(who)?.arrivedAt ?? Number.NEGATIVE_INFINITY;
      if (last !== undefined && last.to === undefined && Math.max(last.from, arrived) >= since) out.push(who);
    }
    return out;
  }

  /** Relays kept chats of senders not in `live` (hex ids), read at `fromEpoch` or later (all: undefined). */
  relayChats(now: number, fromEpoch: bigint | undefined, live: ReadonlySet<string>): Promise<GroupEffect[]> {
    return relay.relayChats(this.core, now, fromEpoch, live);
  }

  /**
   * Adds checked KeyPackage sets (from a member or a storage service) to the store; `now` (ms) bounds
   * their versions.
   */
  importKeyPackageSets(sets: readonly KeyPackageSet[], now: number): Promise<GroupEffect[]> {
    return keyPackages.importKeyPackageSets(this.core, sets, now);
  }

  /** The stored KeyPackage set of a member (hex id), if any. */
  keyPackageSet(memberId: string): StoredKeyPackageSet | undefined {
    return this.core.state.keyPackageSets.get(memberId);
  }
}
