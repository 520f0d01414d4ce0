// The delivery order of chats (docs/chats.md). A chat names its causal predecessors: the sender's
// previous chat and the newest chat of each other sender it delivered since. A receiver delivers a chat
// once every predecessor is delivered (or can no longer arrive), and among chats ready at once by
// (sent at, sender, sequence, id). A chat whose predecessors do not come within `chatHoldMs` is delivered
// anyway, marked out of order: order is never bought with a lost chat.

import { bytesEqual, compareBytes, toHex } from "../util/bytes.ts";
import { noteChatArrival } from "./chat-pull.ts";
import type { GroupEffect } from "./effects.ts";
import type { ChatMark, GroupCore, HeldChat } from "./state.ts";

/** Predecessors one chat may name: a receiver refuses more as malformed. */
export const MAX_CHAT_AFTER = 64;

/** Remembers a chat id, sent or delivered, forgetting the oldest beyond `seenChatLimit`. */
export function rememberChat(core: GroupCore, key: string): void {
  const seen = core.state.seenChats;
  seen.delete(key);
  seen.add(key);
  while (seen.size > core.params.seenChatLimit) seen.delete(seen.values().next().value!);
}

/** Notes `mark` as the newest chat of `sender` (hex) that the next chat we send comes after. */
function noteAfter(core: GroupCore, sender: string, mark: ChatMark): void {
  const after = core.state.chatAfter;
  after.delete(sender);
  after.set(sender, mark);
  while (after.size > MAX_CHAT_AFTER) after.delete(after.keys().next().value!);
}

/**
 * Numbers a new chat of ours and names its predecessors; the next chat comes after this one only. The
 * caller sends the chat with the returned fields.
 */
export function orderNewChat(
  core: GroupCore,
  id: Uint8Array,
  epoch: bigint,
): { sequence: number; after: ChatMark[] } {
  const s = core.state;
  s.chatSequence += 1;
  const after = [...s.chatAfter.values()];
  s.chatAfter.clear();
  noteAfter(core, toHex(core.identity.id), { id, epoch });
  return { sequence: s.chatSequence, after };
}

/** Whether the predecessor `m` is delivered, or can no longer arrive here (docs/chats.md, "Waiting"). */
function arrived(core: GroupCore, m: ChatMark): boolean {
  if (core.state.seenChats.has(toHex(m.id))) return true;
  // Sent before we could read the group (before we joined, or in a group we no longer hold), or at an
  // epoch whose keys we dropped: only a re-send could bring it, and that is a new delivery.
  const epoch = core.group?.epoch ?? 0n;
  return m.epoch < core.state.chatsFrom || m.epoch + BigInt(core.params.retainedKeyEpochs) < epoch;
}

function ready(core: GroupCore, h: HeldChat): boolean {
  return h.after.every((m) => arrived(core, m));
}

/** Order among chats ready at once: sent at, then sender, sequence and id. */
function before(a: HeldChat, b: HeldChat): number {
  return (
    a.sentAt - b.sentAt ||
    compareBytes(a.sender, b.sender) ||
    a.sequence - b.sequence ||
    compareBytes(a.id, b.id)
  );
}

function deliver(core: GroupCore, h: HeldChat, outOfOrder: boolean): GroupEffect {
  rememberChat(core, toHex(h.id));
  noteAfter(core, toHex(h.sender), { id: h.id, epoch: h.epoch });
  const { sender, id, body, epoch, sequence, sentAt } = h;
  return { type: "chat", sender, id, body, epoch, sequence, sentAt, outOfOrder };
}

/**
 * Delivers every held chat that may go now, in order: those whose predecessors all arrived, then those
 * that waited `chatHoldMs` (out of order), and the oldest beyond `heldChatsLimit`.
 */
export function releaseChats(core: GroupCore, now: number): GroupEffect[] {
  const s = core.state;
  const out: GroupEffect[] = [];
  while (s.heldChats.length > 0) {
    let next: HeldChat | undefined;
    let late = false;
    for (const h of s.heldChats) {
      const ok = ready(core, h);
      const due = ok || now >= h.heldAt + core.params.chatHoldMs;
      if (due && (next === undefined || before(h, next) < 0)) {
        next = h;
        late = !ok;
      }
    }
    if (next === undefined && s.heldChats.length > core.params.heldChatsLimit) {
      next = s.heldChats[0];
      late = true;
    }
    if (next === undefined) break;
    s.heldChats = s.heldChats.filter((h) => h !== next);
    out.push(deliver(core, next, late));
  }
  return out;
}

/** A chat read from `sender` at `epoch`: held with the others, then whatever may go now goes. */
export function receiveChat(core: GroupCore, chat: Omit<HeldChat, "heldAt">, now: number): GroupEffect[] {
  const s = core.state;
  noteChatArrival(core, chat.sender, chat.sequence, now);
  if (s.seenChats.has(toHex(chat.id)) || s.heldChats.some((h) => bytesEqual(h.id, chat.id))) return [];
  s.heldChats.push({ ...chat, heldAt: now });
  return releaseChats(core, now);
}

/** When the oldest held chat stops waiting for its predecessors (undefined: none held). */
export function chatHoldDue(core: GroupCore): number | undefined {
  const held = core.state.heldChats;
  if (held.length === 0) return undefined;
  return Math.min(...held.map((h) => h.heldAt)) + core.params.chatHoldMs;
}
