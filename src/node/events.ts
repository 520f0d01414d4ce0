// What a Member tells the application: the events, and how the cores' effects map onto them.
import type { ProposalEffect } from "../group/effects.ts";
import type { ProposalKind } from "../group/vote-policy.ts";
import type { SyncStatus } from "../sync/classify.ts";
import type { RecoveryHow, SyncEffect } from "../sync/effects.ts";
import { toHex } from "../util/bytes.ts";
import type { Emitter } from "../util/events.ts";
import type { Logger } from "../util/log.ts";

/** A chat another member sent, delivered once. */
export interface ChatMessage {
  /** The chat's id (hex): the same on every member, and what `sendChat` returned to its sender. */
  readonly id: string;
  /** The sender's name (its credential identity). */
  readonly from: string;
  readonly body: Uint8Array;
  /** `body` as UTF-8 text. */
  readonly text: string;
  /** The epoch it was sent in. */
  readonly epoch: bigint;
  /** The sender's number for it: its chats count 1, 2, 3, ... (0 from a sender that does not number them). */
  readonly sequence: number;
  /** When the sender first sent it: its own clock, in ms since 1970 (its claim; 0 when not given). */
  readonly sentAt: number;
  /**
   * Delivered before a chat it directly follows (docs/chats.md): that one was lost, or did not come within
   * `chatHoldMs`; it may still arrive later (then delivered as usual, after this one).
   */
  readonly outOfOrder: boolean;
}

/** A proposal waiting for this member's vote (`Member.vote`). */
export interface PendingProposal {
  /** The proposal's id (hex), the same on every member. */
  readonly id: string;
  readonly kind: ProposalKind;
  /** The member it is about (an add's joiner), absent for a key refresh. */
  readonly target: string | undefined;
  readonly proposer: string;
}

/** What a {@link Member} tells the application; subscribe with {@link Member.on}. */
export interface MemberEvents {
  /** A chat from another member (each at most once, also after resends and recovery). */
  message: ChatMessage;
  /** Our chat left (`sendChat` resolved with this id). */
  sent: { readonly id: string; readonly body: Uint8Array };
  /** Every member of the group acknowledged our chat. */
  delivered: { readonly id: string };
  /** Our chat was given up before every member acknowledged it. */
  lost: { readonly id: string };
  /** The sync verdict changed (`IN_SYNC`, `BEHIND`, `FORKED`, `HARD`, ...). */
  status: { readonly status: SyncStatus; readonly previous: SyncStatus };
  /** This member is in a group: created it, or joined one (a Welcome, a rejoin, a reset). */
  joined: { readonly epoch: bigint };
  /** This member was removed from its group: it can no longer send or read there. */
  removed: Record<string, never>;
  /** A member entered the roster (not sent for the roster we joined with: see {@link Member.roster}). */
  memberJoined: { readonly member: string };
  /** A member left the roster (ourselves, when we were removed). */
  memberLeft: { readonly member: string };
  /** The group healed here: caught up, re-aligned, rejoined or reset. */
  recovered: { readonly how: RecoveryHow; readonly epochs: number };
  /** A new epoch (or a new group, after a join or a reset). */
  epoch: { readonly epoch: bigint; readonly via: string };
  /** A proposal waits for this member's vote: answer with `Member.vote` (silence counts NO by default). */
  proposal: PendingProposal;
  /**
   * A step of the member threw (a bug, or bad input a rule let through): counted under `code` in the sync
   * counters, its effects dropped; the member went on.
   */
  fault: { readonly code: string; readonly detail: string };
}

/** Traffic this member put on the wire, by topic kind. */
export interface Traffic {
  app: number;
  sync: number;
  welcome: number;
}

/** The roster names the last events were about (undefined before the first group, and once removed). */
export interface RosterWatch {
  known: Set<string> | undefined;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** One line for a proposal waiting for a vote, with the command that votes on it. */
export function describeProposal(p: PendingProposal): string {
  return `proposal ${p.id.slice(0, 8)}: ${p.kind} ${p.target ?? ""} by ${p.proposer} (/vote ${p.id.slice(0, 8)} yes|no)`;
}

/** A waiting proposal as the application sees it. */
export function proposalInfo(e: ProposalEffect): PendingProposal {
  return {
    id: e.proposalId,
    kind: e.kind,
    target: e.target === undefined ? undefined : text(e.target),
    proposer: text(e.proposer),
  };
}

/** Emits the application events an effect means; `roster` is the roster now, `self` our name. */
export function emitEvents(
  ev: Emitter<MemberEvents>,
  e: SyncEffect,
  watch: RosterWatch,
  self: string,
  roster: () => string[],
): void {
  if (e.type === "chat") {
    const text = new TextDecoder().decode(e.body);
    const from = new TextDecoder().decode(e.sender);
    const { epoch, sequence, sentAt, outOfOrder } = e;
    ev.emit("message", { id: toHex(e.id), from, body: e.body, text, epoch, sequence, sentAt, outOfOrder });
  } else if (e.type === "chatDelivered") ev.emit("delivered", { id: toHex(e.id) });
  else if (e.type === "chatLost") ev.emit("lost", { id: toHex(e.id) });
  else if (e.type === "status") ev.emit("status", { status: e.status, previous: e.previous });
  else if (e.type === "recovered") ev.emit("recovered", { how: e.how, epochs: e.epochs });
  else if (e.type === "proposal") ev.emit("proposal", proposalInfo(e));
  else if (e.type === "fault") ev.emit("fault", { code: e.code, detail: e.detail });
  else if (e.type === "epoch" || e.type === "joined") {
    ev.emit("epoch", { epoch: e.epoch, via: e.type === "epoch" ? e.via : "join" });
    if (e.type === "joined") ev.emit("joined", { epoch: e.epoch });
    rosterEvents(ev, watch, roster());
  } else if (e.type === "removed") {
    ev.emit("removed", {});
    // The commit's epoch effect may have told it already (a roster without us).
    const told = watch.known !== undefined && !watch.known.has(self);
    watch.known = undefined;
    if (!told) ev.emit("memberLeft", { member: self });
  }
}

/** Roster changes since the last epoch we told the application about. */
function rosterEvents(ev: Emitter<MemberEvents>, watch: RosterWatch, roster: readonly string[]): void {
  const now = new Set(roster);
  const before = watch.known;
  watch.known = now;
  if (before === undefined) return;
  for (const m of now) if (!before.has(m)) ev.emit("memberJoined", { member: m });
  for (const m of before) if (!now.has(m)) ev.emit("memberLeft", { member: m });
}

/** One line saying what an effect means (for logs and the command line); undefined for internal ones. */
export function describeEffect(e: SyncEffect): string | undefined {
  switch (e.type) {
    case "proposal":
      return describeProposal(proposalInfo(e));
    case "decided":
      return `proposal ${e.proposalId.slice(0, 8)} decided ${e.decision}`;
    case "chat":
      return `<${new TextDecoder().decode(e.sender)}> ${new TextDecoder().decode(e.body)}${e.outOfOrder ? "   (out of order)" : ""}`;
    case "status":
      return `status ${e.previous} -> ${e.status}`;
    case "epoch":
      return `epoch ${e.epoch} (${e.via}, committed by ${new TextDecoder().decode(e.committer)})`;
    case "joined":
      return `joined at epoch ${e.epoch}`;
    case "recovered":
      return `recovered by ${e.how} (${e.epochs} epochs)`;
    case "reset":
      return "group reset: new group joined";
    case "removed":
      return "removed from the group";
    case "rejected":
      return `rejected ${e.code}: ${e.detail}`;
    case "fault":
      return `fault ${e.code}: ${e.detail}`;
    case "publish":
      return `publish ${e.bytes.length} bytes on ${e.topic}`;
    default:
      return undefined;
  }
}

/** Logs effect `e` on `log` (when that logger is enabled and the effect has a line). */
export function logEffect(log: Logger, e: SyncEffect): void {
  if (!log.enabled) return;
  const line = describeEffect(e);
  if (line !== undefined) log(line);
}
