// Application messages (chats): sent on the SDS channel, encrypted under the current epoch, delivered once
// by id, and re-sent when the branch they went out on is abandoned or the receivers lagged.
import { sha256 } from "@noble/hashes/sha2.js";
import { encrypt } from "../mls/index.ts";
import { bytesEqual, concatBytes, toHex, utf8 } from "../util/bytes.ts";
import { trackChatCopy } from "./chat-delivery.ts";
import { MAX_CHAT_AFTER, orderNewChat, receiveChat, rememberChat } from "./chat-order.ts";
import { keepRelayable, signChat } from "./chat-signature.ts";
import { reject, requireActiveGroup, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { sentWhileOut } from "./former-members.ts";
import { type Chat, encodeGroupFrame, encodePayload } from "./frames.ts";
import { channelEffects } from "./outbound.ts";
import type { GroupCore } from "./state.ts";

/**
 * Sends a chat (a new one, or again under its id `id`); returns its id.
 * @throws {GroupError} `NO_GROUP` before the member is in a group, `REMOVED` once it was removed.
 */
export async function sendChat(
  core: GroupCore,
  body: Uint8Array,
  now: number,
  id?: Uint8Array,
): Promise<{ id: Uint8Array; effects: GroupEffect[] }> {
  const chatId =
    id ?? sha256(concatBytes(core.identity.id, utf8(`${now}/${core.rng.next()}`))).subarray(0, 16);
  const group = requireActiveGroup(core);
  rememberChat(core, toHex(chatId));
  const sent = core.state.sentChats;
  const existing = sent.findIndex((c) => bytesEqual(c.id, chatId));
  // A re-send keeps the time the chat was first sent: who was in our roster then may read it.
  const first = existing >= 0 ? sent[existing]! : undefined;
  const at = first === undefined ? now : first.at;
  // A re-send keeps its number and predecessors; a new chat (or one of an older version's state) gets them.
  const order =
    first?.sequence !== undefined
      ? { sequence: first.sequence, after: first.after ?? [] }
      : orderNewChat(core, chatId, group.epoch);
  if (existing >= 0) sent.splice(existing, 1);
  sent.push({
    id: chatId,
    body,
    epoch: group.epoch,
    fingerprint: group.fingerprint,
    ...(at === undefined ? {} : { at }),
    ...order,
  });
  if (sent.length > core.params.sentChatsKept) sent.shift();
  // Signed by us too, so that members can relay it for us if we cannot send it again (chat-signature.ts).
  const chat = await signChat(core, {
    id: chatId,
    body,
    sequence: BigInt(order.sequence),
    sentAt: BigInt(at ?? now),
    after: [...order.after],
  });
  const r = await encrypt(group, encodePayload({ chat }));
  core.group = r.group;
  // A chat must reach every member: resent at once to one back from a partition without it.
  const out = core.sds!.send(encodeGroupFrame({ application: r.message }), now, { resendToReturning: true });
  trackChatCopy(core, out.messageId, toHex(chatId));
  return { id: chatId, effects: out.effects.flatMap((e) => channelEffects(core, e)) };
}

/**
 * Re-sends chats that went out at states no longer in this member's history (an abandoned branch), at
 * epochs from `sinceEpoch` on (sent while we or a peer lagged: the other side may no longer hold those
 * epochs' keys), or all; never one sent while a member of our roster was out of it after a removal or a
 * leave (a re-send goes out at our current epoch, which every member reads).
 */
export async function resendAbandoned(
  core: GroupCore,
  now: number,
  all = false,
  sinceEpoch?: bigint,
): Promise<GroupEffect[]> {
  const group = requireGroup(core);
  const out: GroupEffect[] = [];
  const mine = new Set(group.history.map((h) => toHex(h.fingerprint)));
  const withheld = sentWhileOut(core);
  for (const c of [...core.state.sentChats]) {
    const lagging = sinceEpoch !== undefined && c.epoch >= sinceEpoch && c.epoch < group.epoch;
    if (!all && !lagging && mine.has(toHex(c.fingerprint))) continue;
    if (withheld(c.at)) continue;
    out.push(...(await sendChat(core, c.body, now, c.id)).effects);
  }
  return out;
}

/**
 * A chat from `sender`, read at `epoch`: delivered once per id, in the order of docs/chats.md.
 * @returns the chats that may be delivered now, or a `MALFORMED` rejection (more than
 * {@link MAX_CHAT_AFTER} predecessors) that changes nothing.
 */
export function onChat(
  core: GroupCore,
  chat: Chat,
  sender: Uint8Array,
  epoch: bigint,
  now: number,
): GroupEffect[] {
  if (chat.id === undefined || chat.body === undefined)
    return [reject(core, "MALFORMED", "chat without an id or a body")];
  if (chat.after.length > MAX_CHAT_AFTER || chat.after.some((m) => m.id === undefined))
    return [
      reject(core, "MALFORMED", `chat naming more than ${MAX_CHAT_AFTER} predecessors, or one without an id`),
    ];
  keepRelayable(core, chat, sender, epoch, now);
  return receiveChat(
    core,
    {
      sender,
      id: chat.id,
      body: chat.body,
      epoch,
      // Both bounded by the decoder (at most 2^53-1): exact as numbers.
      sequence: Number(chat.sequence ?? 0n),
      sentAt: Number(chat.sentAt ?? 0n),
      after: chat.after.map((m) => ({ id: m.id!, epoch: m.epoch ?? 0n })),
    },
    now,
  );
}
