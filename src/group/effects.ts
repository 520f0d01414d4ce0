// What the de-MLS group core asks its caller to do (publish) or tells it (chats, epochs, decisions,
// rejections). The core returns these; it performs no I/O itself.
import type { GroupCode } from "./errors.ts";
import type { StoredKeyPackageSet } from "./keypackage-store.ts";
import type { ProposalKind } from "./vote-policy.ts";

/** A chat as received: who sent it, what, at which epoch, and its sender's numbering. */
export interface ChatFields {
  readonly sender: Uint8Array;
  readonly id: Uint8Array;
  readonly body: Uint8Array;
  readonly epoch: bigint;
  /** The sender's sequence number of this chat (0: a sender that does not number its chats). */
  readonly sequence: number;
  /** The sender's clock when it first sent the chat (ms; its claim; 0 when not given). */
  readonly sentAt: number;
}

/** What the caller must do or may show. */
export type GroupEffect =
  | {
      readonly type: "publish";
      readonly topic: string;
      readonly bytes: Uint8Array;
      /** The members (SDS sender ids) it is for, when not everyone: an SDS-R answer to its requesters. */
      readonly to?: readonly string[];
    }
  | ({ readonly type: "chat" } & ChatFields & {
        /** Delivered before a chat it directly follows: lost, or not here within `chatHoldMs`. */
        readonly outOfOrder: boolean;
      })
  | {
      readonly type: "epoch";
      readonly epoch: bigint;
      readonly fingerprint: Uint8Array;
      /** How the commit arrived: `commit` (freeze and selection), `catch-up`, `realign`, ... */
      readonly via: string;
      /** Credential identity of the member whose commit made this epoch. */
      readonly committer: Uint8Array;
      /** Commit candidates selection chose among (0 outside freeze and selection). */
      readonly candidates: number;
    }
  | { readonly type: "joined"; readonly epoch: bigint }
  | { readonly type: "removed" }
  /** This member published a new KeyPackage set (a storage service may keep it too). */
  | { readonly type: "keyPackageSet"; readonly set: StoredKeyPackageSet }
  | { readonly type: "decided"; readonly proposalId: string; readonly decision: "YES" | "NO" }
  /** A proposal waits for the application's vote (its vote policy says `ask`). */
  | {
      readonly type: "proposal";
      readonly proposalId: string;
      readonly kind: ProposalKind;
      /** The member it is about (an add's joiner), absent for a key refresh. */
      readonly target: Uint8Array | undefined;
      readonly proposer: Uint8Array;
    }
  | { readonly type: "rejected"; readonly code: GroupCode; readonly detail: string }
  /** Every member of the group acknowledged our chat `id` (SDS: each holds it). */
  | { readonly type: "chatDelivered"; readonly id: Uint8Array }
  /** Our chat `id` was given up before every member acknowledged it. */
  | { readonly type: "chatLost"; readonly id: Uint8Array }
  /**
   * A group frame from another state than ours: its header (not authenticated) names another epoch, or it
   * does not decrypt at ours. The sync layer announces our state early on it, so that two sides of a
   * healed partition find each other without waiting for a heartbeat. Internal: not an application event.
   */
  | { readonly type: "stateHint"; readonly epoch: bigint };

/** The internal effect saying a peer is at `epoch` (see the `stateHint` variant). */
export const stateHint = (epoch: bigint): GroupEffect => ({ type: "stateHint", epoch });

/** A proposal waiting for the application's vote. */
export type ProposalEffect = Extract<GroupEffect, { type: "proposal" }>;
