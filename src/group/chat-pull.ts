// Chat pulls (docs/chats.md, "Pulls"): every chat carries its sender's sequence number, and every member
// announces its own last sequence number in its signed SyncStateInfo. A member that sees a sender's
// sequence it never received (a gap below a chat it has, or below the sender's announced last) asks one
// member for it: the sender while it is on our roster and heard lately, else (and on every other attempt)
// the other members in turn, which relay the signed chat they kept. Whatever loss, removal undone, re-alignment or reset made a chat
// miss one member, the sequence numbers show it and the pull brings it, bounded in both directions:
// a member asks each missing sequence `PULL_ATTEMPTS` times at most, and a responder serves one requester
// at most `PULL_SEQUENCES` chats per `chatPullMs`, never one the requester was not on its roster to read.

import { sha256 } from "@noble/hashes/sha2.js";
import { rosterMember } from "../mls/index.ts";
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex } from "../util/bytes.ts";
import { newAnswerKey, sealAnswer } from "./chat-pull-seal.ts";
import { chatSigned, senderKey, signChat } from "./chat-signature.ts";
import { sendEphemeralPayload } from "./commit-pull.ts";
import { count, rosterIds } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { lastAbsence, outAt } from "./former-members.ts";
import type { Chat, ChatPull } from "./frames.ts";
import type { GroupCore } from "./state.ts";
import type { SenderChats } from "./volatile.ts";

export type { SenderChats } from "./volatile.ts";

/** Sequences one pull names at most; also the chats one requester is served per `chatPullMs`. */
export const PULL_SEQUENCES = 16;
/** Times one missing sequence is asked for before it is given up. */
export const PULL_ATTEMPTS = 16;
/** Attempts at `chatPullMs` apart before the wait between pulls of one sender's chats doubles. */
export const PULL_BACKOFF_FROM = 8;
/** Doublings of that wait: at most `chatPullMs` · 2^5 apart. */
export const PULL_BACKOFF_STEPS = 5;
/** Sequences tracked below a sender's newest: an older gap is not pulled. */
export const PULL_WINDOW = 64;
/** Senders tracked (the least recently heard is forgotten first). */
const MAX_SENDERS = 256;

function entry(core: GroupCore, sender: string, first: number): SenderChats {
  const m = core.vol.chatSeqs;
  let e = m.get(sender);
  if (e === undefined) {
    e = { first, high: first - 1, have: new Set(), asked: new Map() };
    if (m.size >= MAX_SENDERS) m.delete(m.keys().next().value!);
  } else m.delete(sender);
  m.set(sender, e);
  return e;
}

/** Forgets what is below the window. */
function prune(e: SenderChats): void {
  const floor = e.high - PULL_WINDOW;
  if (e.first < floor) e.first = floor;
  for (const s of e.have) if (s < floor) e.have.delete(s);
  for (const s of e.asked.keys()) if (s < floor) e.asked.delete(s);
}

/** A chat of `sender` numbered `sequence` arrived at `now` (delivered or held): it is not pulled. */
export function noteChatArrival(core: GroupCore, sender: Uint8Array, sequence: number, now: number): void {
  if (sequence <= 0 || bytesEqual(sender, core.identity.id)) return;
  const id = toHex(sender);
  // The first chat of a sender, arriving long after we entered the group (or back in one we left): what
  // it sent before may be ours too, as for a first count (a split kept its first chat from us, and it
  // died before announcing its count: chaos dead 1473).
  const fromFirst = !core.vol.chatSeqs.has(id) && firstHeardLate(core, now);
  const e = entry(core, id, fromFirst ? windowStart(sequence) : sequence);
  if (sequence < e.first) e.first = sequence;
  e.have.add(sequence);
  e.asked.delete(sequence);
  if (sequence > e.high) {
    e.high = sequence;
    e.arrivedAt = now;
  }
  prune(e);
}

/**
 * `sender` (hex) announced, in a SyncStateInfo it signed, that it has sent `sequence` chats. Taken only
 * from a member of our roster, and at most `PULL_WINDOW` past what arrived of it: a lie costs the liar's
 * own pulls. The first announcement of a sender, heard within `chatFirstCountMs` of entering the group,
 * fixes where what we are owed starts.
 */
export function noteChatSequence(
  core: GroupCore,
  sender: string,
  sequence: number,
  now: number,
  via?: string,
): void {
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sender === toHex(core.identity.id)) return;
  const g = core.group;
  if (g === undefined) return;
  if (via !== undefined) {
    // Another member's word that the sender's chats went further: for a sender we track, or one on our
    // roster we never heard announce (cut off from it since we joined: chaos dead 117), or one that left
    // our roster since we were in it (its last chats, sent on a branch that still had it, may be ours:
    // chaos churn 702), and that member is asked first. Of a sender we never heard, what predates our add
    // is refused by every responder (`rosterSince`), so at worst we ask in vain.
    if (via === toHex(core.identity.id) || rosterMember(g, fromHex(via)) === undefined) return;
    let e = core.vol.chatSeqs.get(sender);
    const absence = lastAbsence(core, sender);
    const departed = absence !== undefined && absence.to === undefined;
    if (e === undefined && (departed || rosterMember(g, fromHex(sender)) !== undefined))
      e = entry(core, sender, windowStart(sequence));
    if (e === undefined) return;
    if (raise(e, sequence)) e.holder = via;
    return;
  }
  if (rosterMember(g, fromHex(sender)) === undefined) return;
  const known = core.vol.chatSeqs.has(sender);
  // Back in a group we left to be re-added, or first hearing a sender long after we entered (cut off from
  // it since): what it sent since our add may be ours, and responders refuse the rest, by when they saw
  // us added (chaos churn 49, 753). Otherwise a new member's first announcement marks where what it is
  // owed starts: what a sender sent before is not ours, and what it sent since reached us.
  const fromFirst = !known && firstHeardLate(core, now);
  // From the window's start below the count, not from 1: of a sender with more than 64 chats, the ones
  // we may have missed are the newest, and the window holds no more.
  const e = entry(core, sender, known || !fromFirst ? sequence + 1 : windowStart(sequence));
  if (known || fromFirst) raise(e, sequence);
}

/**
 * Whether what we first hear of a sender now may come after chats of it that are ours: we are back in a
 * group we left to be re-added, or entered this one more than `chatFirstCountMs` ago.
 */
function firstHeardLate(core: GroupCore, now: number): boolean {
  const g = core.group;
  if (g === undefined) return false;
  return (
    core.vol.rejoinedGroup === toHex(g.groupId) ||
    now - (core.vol.enteredAt ?? now) > core.params.chatFirstCountMs
  );
}

/** The lowest sequence tracked of a sender that announced `sequence`: `PULL_WINDOW` back, at least 1. */
const windowStart = (sequence: number) => Math.max(1, sequence - PULL_WINDOW + 1);

/** Raises what `e`'s sender is known to have sent, at most `PULL_WINDOW` past what arrived. */
function raise(e: SenderChats, sequence: number): boolean {
  const top = Math.max(...e.have, e.first - 1) + PULL_WINDOW;
  const high = Math.max(e.high, Math.min(sequence, top));
  const raised = high > e.high;
  e.high = high;
  prune(e);
  return raised;
}

/**
 * Whether a chat of `sender` numbered `sequence` arrived here before, or is below the window we track of
 * that sender (a relay of it is then a replay: its id may have left our memory of chat ids).
 */
export function arrivedBefore(core: GroupCore, sender: Uint8Array, sequence: number): boolean {
  const e = core.vol.chatSeqs.get(toHex(sender));
  if (e === undefined || sequence <= 0) return false;
  return e.have.has(sequence) || sequence <= e.high - PULL_WINDOW;
}

/** The newest sequence of `sender`'s (hex) chats that arrived here, if any. */
export function chatsHeldOf(core: GroupCore, sender: string): number | undefined {
  const e = core.vol.chatSeqs.get(sender);
  return e === undefined || e.have.size === 0 ? undefined : Math.max(...e.have);
}

/** The sequences of `e` still owed to us and not given up, oldest first, at most `PULL_SEQUENCES`. */
export function owedSequences(e: SenderChats): number[] {
  const out: number[] = [];
  for (let s = Math.max(e.first, e.high - PULL_WINDOW + 1); s <= e.high; s++) {
    if (e.have.has(s) || (e.asked.get(s) ?? 0) >= PULL_ATTEMPTS) continue;
    out.push(s);
    if (out.length >= PULL_SEQUENCES) break;
  }
  return out;
}

/** When the next pull round is due, if anything is owed. */
export function chatPullDue(core: GroupCore): number | undefined {
  let due: number | undefined;
  for (const e of core.vol.chatSeqs.values())
    if (owedSequences(e).length > 0) {
      const at = Math.max(core.vol.nextChatPullAt, e.nextPullAt ?? 0);
      due = due === undefined ? at : Math.min(due, at);
    }
  return due;
}

/**
 * Asks for what is owed, once per `chatPullMs`: one pull per sender, to the sender itself on even
 * attempts while it is on our roster, else to another member at random (which relays what it kept).
 */
export async function pullChats(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const vol = core.vol;
  if (now < vol.nextChatPullAt) return [];
  vol.nextChatPullAt = now + core.params.chatPullMs;
  const roster = rosterIds(core).filter((m) => !bytesEqual(m, core.identity.id));
  if (roster.length === 0) return [];
  const out: GroupEffect[] = [];
  // One answer key per round, made when the first pull needs it.
  let answerKey: Uint8Array | undefined;
  for (const [sender, e] of vol.chatSeqs) {
    const sequences = owedSequences(e);
    if (sequences.length === 0 || (e.nextPullAt ?? 0) > now) continue;
    const attempt = Math.max(...sequences.map((s) => e.asked.get(s) ?? 0));
    // Backing off, so that the attempts outlast a partition that cuts us from every holder.
    e.nextPullAt =
      now +
      core.params.chatPullMs * 2 ** Math.min(Math.max(0, attempt - PULL_BACKOFF_FROM), PULL_BACKOFF_STEPS);
    for (const s of sequences) e.asked.set(s, (e.asked.get(s) ?? 0) + 1);
    const senderId = fromHex(sender);
    const responder = responderFor(core, roster, senderId, attempt, now, e.holder);
    if (responder === undefined) continue;
    answerKey ??= newAnswerKey(core);
    const pull: ChatPull = { sender: senderId, sequences: sequences.map(BigInt), responder, answerKey };
    count(core, "CHAT_PULL_SENT");
    out.push(...(await sendEphemeralPayload(core, { chatPull: pull }, now)));
  }
  return out;
}

/**
 * Who attempt `attempt` (from 0) of a pull of `sender`'s chats asks: the sender itself on even attempts
 * while it is on our roster and was heard within `chatHoldMs` (a sender gone quiet may be dead), else the
 * other members in turn, in an order of our own (SHA-256 of us, the sender and the member), so that
 * successive attempts reach different holders and requesters spread over them.
 */
function responderFor(
  core: GroupCore,
  roster: readonly Uint8Array[],
  sender: Uint8Array,
  attempt: number,
  now: number,
  holder: string | undefined,
): Uint8Array | undefined {
  const heard = core.state.lastHeard.get(toHex(sender)) ?? Number.NEGATIVE_INFINITY;
  const live = roster.some((m) => bytesEqual(m, sender)) && now - heard <= core.params.chatHoldMs;
  const others = roster
    .filter((m) => !bytesEqual(m, sender))
    .map((m) => ({ m, k: sha256(concatBytes(core.identity.id, sender, m)) }))
    .sort((a, b) => compareBytes(a.k, b.k))
    .map((x) => x.m);
  if (live && (attempt % 2 === 0 || others.length === 0)) return sender;
  // A member that said it holds more of the sender's chats than we do is asked first.
  const h = holder === undefined ? undefined : others.find((m) => toHex(m) === holder);
  const turn = live ? attempt >> 1 : attempt;
  if (h !== undefined) return turn === 0 ? h : others[(turn - 1) % others.length];
  return others[turn % others.length];
}

/**
 * A pull from `requester`: answered only when it names us, at most `PULL_SEQUENCES` chats per
 * requester per `chatPullMs`, each a chat we sent (re-sent) or kept of its sender (relayed), sent or read
 * while the requester was on our roster. Sealed to the pull's answer key, an answer reaches the requester
 * alone. A pull without a valid one is refused (`CHAT_PULL_UNSEALED`): an answer in the clear of MLS
 * reaches every member, also those added after the chat or out when it was sent.
 */
export async function onChatPull(
  core: GroupCore,
  pull: ChatPull,
  requester: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  if (!pull.responder || !bytesEqual(pull.responder, core.identity.id) || !pull.sender) return [];
  if (pull.sequences.length > PULL_SEQUENCES) return [];
  // Only a member of our roster is served (a removed one may still hold a recent epoch's keys).
  if (core.group === undefined || rosterMember(core.group, requester) === undefined) return [];
  if (pull.answerKey?.length !== 32) {
    count(core, "CHAT_PULL_UNSEALED");
    return [];
  }
  const answerKey = pull.answerKey;
  const who = toHex(requester);
  const served = core.vol.chatPullServed;
  const last = served.get(who);
  const fresh = last === undefined || now - last.at >= core.params.chatPullMs;
  const budget = fresh ? PULL_SEQUENCES : PULL_SEQUENCES - last.count;
  if (budget <= 0) return [];
  const since = core.vol.rosterSince.get(who) ?? Number.NEGATIVE_INFINITY;
  const withheld = outAt(core, who);
  const wanted = new Set(pull.sequences.map(Number));
  const out: GroupEffect[] = [];
  let servedNow = 0;
  // Answers go as SDS ephemerals: a re-send in the SDS stream would name the lost copy in its causal
  // history and wait for it at the requester; the chat's own order (`after`) is kept by the chat layer.
  const relay = async (sender: Uint8Array, chat: Chat): Promise<GroupEffect[]> => {
    const sealedRelay = sealAnswer(core, requester, answerKey, { sender, chat });
    if (sealedRelay === undefined) return [];
    servedNow++;
    count(core, "CHAT_PULL_SERVED");
    return sendEphemeralPayload(core, { sealedRelay }, now);
  };
  if (bytesEqual(pull.sender, core.identity.id)) {
    for (const c of [...core.state.sentChats]) {
      if (servedNow >= budget) break;
      if (c.sequence === undefined || !wanted.has(c.sequence)) continue;
      if (c.at === undefined || c.at < since || withheld(c.at)) continue;
      const chat = await signChat(core, {
        id: c.id,
        body: c.body,
        sequence: BigInt(c.sequence),
        sentAt: BigInt(c.at),
        after: [...(c.after ?? [])],
      });
      out.push(...(await relay(core.identity.id, chat)));
    }
  } else {
    const key = senderKey(core, pull.sender);
    for (const k of core.state.relayable) {
      if (servedNow >= budget || key === undefined) break;
      if (!bytesEqual(k.sender, pull.sender) || !wanted.has(Number(k.chat.sequence ?? 0n))) continue;
      // When we read it, and when its sender says it sent it: a chat that reached us late may still
      // predate the requester's add, or a time a roster member was out.
      const sent = Number(k.chat.sentAt ?? 0n);
      if (k.at < since || sent < since || withheld(k.at) || withheld(sent)) continue;
      if (!(await chatSigned(core, k.chat, key))) continue;
      out.push(...(await relay(k.sender, k.chat)));
    }
  }
  served.set(who, { at: fresh ? now : last!.at, count: (fresh ? 0 : last!.count) + servedNow });
  if (served.size > MAX_SENDERS) served.delete(served.keys().next().value!);
  return out;
}

/**
 * Members a commit added: chats sent before now were never theirs to read. Not a member that was on one
 * of our rosters before (a rejoin, a re-add after a removal; `wasIn`: those the commit brings back and
 * those on the roster it was applied to, whose stale leaf it replaced): what it is owed is what it
 * missed, and the times it was out after a removal or a leave are withheld from it already
 * (`sentWhileOut`).
 */
export function noteAdded(
  core: GroupCore,
  added: readonly Uint8Array[],
  now: number,
  wasIn: ReadonlySet<string>,
): void {
  for (const id of added) {
    const k = toHex(id);
    if (wasIn.has(k) || core.vol.rosterSince.has(k) || core.state.formerMembers.has(k)) continue;
    core.vol.rosterSince.set(k, now);
  }
  const m = core.vol.rosterSince;
  while (m.size > MAX_SENDERS) m.delete(m.keys().next().value!);
}
