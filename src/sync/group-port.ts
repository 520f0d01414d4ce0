// What the sync layer sees of the group core below it and may ask of it. The sync layer depends on this
// interface only; `src/node/group-port.ts` adapts the group core (`GroupMember`) to it.
import type { GroupEffect } from "../group/effects.ts";
import type { StoredKeyPackageSet } from "../group/keypackage-store.ts";
import type { Identity, KeyPackageBundle, MlsGroup } from "../mls/index.ts";
import type { EquivocationFork } from "./tie-break.ts";

/** A commit the group core applied, as its commit log keeps it to serve catch-up. */
export interface LoggedCommit {
  /** The epoch the commit was made in (it moves `epoch` to `epoch + 1`). */
  readonly epoch: bigint;
  readonly commit: Uint8Array;
  /** Fingerprint of the state it leads to. */
  readonly fingerprintAfter: Uint8Array;
}

/**
 * The group core of one member as the sync layer uses it. Every read is live: the group value, the sync
 * keys and the KeyPackages change as the commands below (and the group core's own input) run.
 */
export interface GroupPort {
  /** Our identity (signing key and member id). */
  readonly identity: Identity;
  /** Our member id (the credential identity). */
  readonly memberId: Uint8Array;
  /** The current MLS group; undefined before joining, while waiting to be re-added, and once removed. */
  readonly group: MlsGroup | undefined;
  /** The current sync key; undefined before its share arrived (a joiner) or without a group. */
  readonly syncKey: Uint8Array | undefined;
  /** The sync keys before the current one, newest first: members behind us still use them. */
  readonly previousSyncKeys: readonly Uint8Array[];
  /** A commit is in flight: candidates are frozen for selection (no verdict until it lands). */
  readonly commitInFlight: boolean;
  /** The commits of our chain the group core keeps, oldest first. */
  readonly commitLog: readonly LoggedCommit[];
  /** The conversation's name (it names the topics). */
  readonly conversation: string;
  /** Our own KeyPackages (private parts): the ones we published, for joining a reset group by them. */
  readonly keyPackages: readonly KeyPackageBundle[];
  /**
   * Members (hex ids) proven to have signed two commits for one epoch (src/group/equivocation.ts): the
   * verdict leaves them out of the count. Absent: none.
   */
  readonly equivocators?: ReadonlySet<string>;
  /**
   * Members (hex ids) out of our roster by their own committed leave, not back since: a verdict does not
   * wait for them while they are not heard (verdict.ts). Absent: none.
   */
  readonly leftByOwnLeave?: ReadonlySet<string>;
  /**
   * Whether member `id` (hex), asking for commits from `fromEpoch`, should ask to be re-added: its leaf
   * was removed as stale and it is not back, or our roster holds a leaf of it added after that epoch. Our
   * answer to its catch-up says so (`stale_leaf`, removal-check.ts). Absent: never.
   */
  shouldAskBack?(id: string, fromEpoch: bigint): boolean;
  /** When member `id` (hex) left our roster, if it is out and not back (our clock). Absent: never out. */
  departedAt?(id: string): number | undefined;
  /** The forks of the equivocations this member verified (tie-break.ts). Absent: none. */
  readonly equivocationForks?: readonly EquivocationFork[];
  /** Member ids of the current roster (empty without a group). */
  rosterIds(): Uint8Array[];
  /** The stored KeyPackage set of a member (hex id), if any. */
  keyPackageSet(memberId: string): StoredKeyPackageSet | undefined;

  /**
   * Leaves the current group and asks to be re-added with `keyPackages`: by our group, or by `groupId` (a
   * reset group our roster moved to).
   */
  requestRejoin(keyPackages: KeyPackageBundle[], now: number, groupId?: Uint8Array): Promise<void>;
  /** Replaces the group value by a rewound one of the same group. */
  replaceGroup(group: MlsGroup, now: number): void;
  /**
   * Applies a commit outside freeze and selection (we checked it against the majority's fingerprint);
   * `via` names the path in the `epoch` effect; `approvedOnly`: its adds and removals must be approved by
   * our own tally (the majority is one member's claim). Undefined when it does not apply.
   */
  applyCommit(
    commit: Uint8Array,
    now: number,
    via: string,
    approvedOnly?: boolean,
  ): Promise<GroupEffect[] | undefined>;
  /**
   * Re-sends our chats sent at states no longer in our history, those from `sinceEpoch` on, or (`all`)
   * every one (receivers dedupe by chat id).
   */
  resendAbandoned(now: number, all?: boolean, sinceEpoch?: bigint): Promise<GroupEffect[]>;
  /**
   * Relays the signed chats we keep of senders not in `live` (hex ids), read at `fromEpoch` or later (all
   * when undefined): they cannot send them again themselves (docs/chats.md, "Relays").
   */
  relayChats(now: number, fromEpoch: bigint | undefined, live: ReadonlySet<string>): Promise<GroupEffect[]>;
  /** Our chats sent so far in the conversation: announced in our SyncStateInfo (docs/chats.md, "Pulls"). */
  readonly chatSequence: number;
  /**
   * A member of our group (hex id) announced, signed, that it has sent `sequence` chats; or, with `via`,
   * member `via` (hex) announced it holds `member`'s chats up to `sequence` (a member not heard lately);
   * heard at `now`.
   */
  noteChatSequence(member: string, sequence: number, now: number, via?: string): void;
  /** The newest sequence number of `member`'s (hex) chats that arrived here, if any. */
  chatsHeldOf(member: string): number | undefined;
  /** Out of the group for good: our chats no member acknowledged, reported lost (see GroupMember). */
  abandonChats(): GroupEffect[];
  /** Members (hex) out of our roster since `since` (our clock) or later, and not back. */
  departedSince(since: number): string[];
  /** After we were moved past missed epochs: stop waiting for their SDS history. */
  skipMissedHistory(now: number): Promise<GroupEffect[]>;
  /** The group value a commit removed us from (inactive; its retained states are before the removal). */
  readonly removedGroup: MlsGroup | undefined;
  /** The commit that removed us removed our leaf as stale: the group means to add us again. */
  readonly removedAsStale: boolean;
  /** We asked to leave (a self-leave proposal) and have not been out since. */
  readonly leaving: boolean;
  /** Asks to leave again: a self-leave proposal. */
  leave(now: number): Promise<GroupEffect[]>;
  /**
   * Starts in a new group: a hard reset's, whose sync key is chained from `resetFrom` (`null`: from a key
   * we do not hold, so we start without one and ask the group for it).
   */
  startGroup(group: MlsGroup, now: number, resetFrom?: Uint8Array | null): Promise<GroupEffect[]>;
}
