// What a Member is made with: its name and conversation, the injected transport, clock and randomness,
// parameters, vote policy, store and storage service.
import type { GroupParams } from "../group/params.ts";
import type { VotePolicy } from "../group/vote-policy.ts";
import type { Clock, Rng, Transport } from "../net/transport.ts";
import type { KeyPackageService } from "../store/keypackage-service.ts";
import type { MemberStore } from "../store/sqlite.ts";
import type { SyncEffect } from "../sync/effects.ts";
import type { SyncParams } from "../sync/params.ts";

/**
 * The options of `Member.create` and `Member.restore` (`MemberOptions`, with `M` the Member class: a
 * parameter so that this file does not import the class that imports it).
 */
export interface MemberOptionsFor<M> {
  readonly name: string;
  readonly conversation: string;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly groupParams?: GroupParams;
  readonly syncParams?: SyncParams;
  /**
   * How this member votes, per kind of proposal, over `DEFAULT_VOTE_POLICY`: by default adds,
   * re-admissions and removals wait for `Member.vote` (`proposal` events), the rest pass.
   */
  readonly votePolicy?: Partial<VotePolicy>;
  /** Persist every processed event here; restart with `Member.restore`. */
  readonly store?: MemberStore;
  /** A storage service backing the KeyPackage store: own sets go to it, roster members' come from it. */
  readonly keyPackageService?: KeyPackageService;
  /** Every effect that is not a publish (chats, epochs, statuses, recoveries, rejections). */
  readonly onEvent?: (e: SyncEffect, member: M) => void;
}
