// Delivery of own chats: SDS says when every member acknowledged a copy, or when a copy was given up.
import { fromHex, toHex } from "../util/bytes.ts";
import type { GroupEffect } from "./effects.ts";
import type { GroupCore } from "./state.ts";

/**
 * A copy of one of our chats is acknowledged by every member (the chat is delivered), or given up:
 * the chat is lost once no copy of it is in flight and none was acknowledged.
 */
export function chatOutcome(
  core: GroupCore,
  e: { type: "acknowledged" | "unacknowledged"; messageId: string },
): GroupEffect[] {
  const copies = core.state.chatCopies;
  const chat = copies.get(e.messageId);
  if (chat === undefined) return [];
  copies.delete(e.messageId);
  const delivered = core.state.deliveredChats;
  if (delivered.has(chat)) return [];
  if (e.type === "unacknowledged") {
    for (const c of copies.values()) if (c === chat) return [];
    return [{ type: "chatLost", id: fromHex(chat) }];
  }
  delivered.add(chat);
  if (delivered.size > core.params.chatCopiesKept) delivered.delete(delivered.values().next().value!);
  return [{ type: "chatDelivered", id: fromHex(chat) }];
}

/** Tracks an SDS copy of our chat `chatId` (hex) until it is acknowledged or given up. */
export function trackChatCopy(core: GroupCore, messageId: string, chatId: string): void {
  const copies = core.state.chatCopies;
  copies.set(messageId, chatId);
  if (copies.size > core.params.chatCopiesKept) copies.delete(copies.keys().next().value!);
}

/**
 * Out of the group for good (a removal that stood): our chats no member acknowledged can no longer be
 * re-sent or pulled from us, so each is reported lost and forgotten.
 */
export function abandonChats(core: GroupCore): GroupEffect[] {
  const s = core.state;
  const lost = s.sentChats.filter((c) => !s.deliveredChats.has(toHex(c.id)));
  s.sentChats = [];
  return lost.map((c) => ({ type: "chatLost", id: c.id }));
}
