// Application messages (chats): sent on the SDS channel, encrypted under the current epoch, delivered once
// by id, and re-sent when the branch they went out on is abandoned or the receivers lagged.
import { sha256 } from "@noble/hashes/sha2.js";
import { encrypt } from "../mls/index.ts";
import { bytesEqual, concatBytes, toHex, utf8 } from "../util/bytes.ts";
import { trackChatCopy } from "./chat-delivery.ts";
import { requireActiveGroup, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { sentWhileOut } from "./former-members.ts";
import { encodeGroupFrame, encodePayload } from "./frames.ts";
import { channelEffects } from "./outbound.ts";
import type { GroupCore } from "./state.ts";

/** Remembers a chat id, sent or received, forgetting the oldest beyond `seenChatLimit`. */
function rememberChat(core: GroupCore, key: string): void {
  const seen = core.state.seenChats;
  seen.delete(key);
  seen.add(key);
  while (seen.size > core.params.seenChatLimit) seen.delete(seen.values().next().value!);
}

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
  const at = existing >= 0 ? sent[existing]!.at : now;
  if (existing >= 0) sent.splice(existing, 1);
  sent.push({
    id: chatId,
    body,
    epoch: group.epoch,
    fingerprint: group.fingerprint,
    ...(at === undefined ? {} : { at }),
  });
  if (sent.length > core.params.sentChatsKept) sent.shift();
  const r = await encrypt(group, encodePayload({ chat: { id: chatId, body } }));
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

/** A chat from `sender`, read at `epoch`: shown once per id. */
export function onChat(
  core: GroupCore,
  chat: { id: Uint8Array; body: Uint8Array },
  sender: Uint8Array,
  epoch: bigint,
): GroupEffect[] {
  const key = toHex(chat.id);
  if (core.state.seenChats.has(key)) return [];
  rememberChat(core, key);
  return [{ type: "chat", sender, id: chat.id, body: chat.body, epoch }];
}
