// Relaying chats whose sender cannot send them again (docs/chats.md, "Relays"): it died, went silent or
// left before every member had them. Re-sends after a recovery come from each sender for its own chats
// only; members also relay the signed chats they keep of senders that are not live, and receivers check
// the sender's signature (`chat-signature.ts`).
import { isActive } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { arrivedBefore } from "./chat-pull.ts";
import { chatSigned, senderKey } from "./chat-signature.ts";
import { onChat } from "./chats.ts";
import { reject } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { sentWhileOut } from "./former-members.ts";
import type { RelayedChat } from "./frames.ts";
import { sendPayload } from "./outbound.ts";
import type { GroupCore } from "./state.ts";

/** Relayed chats sent at one recovery at most, and at most per sender (the newest first). */
const RELAYS_PER_CALL = 64;
const RELAYS_PER_SENDER = 16;

/**
 * Relays the chats we keep of senders not in `live` (hex ids), read at `fromEpoch` or later (all when
 * undefined): after we answered a member behind us, or entered a reset group. Never one we received while
 * a member of our roster was out of it after a removal or a leave (as for our own re-sends); only chats
 * whose sender's signature verifies (a member that kept sending junk signatures pushes nothing through
 * us); at most `RELAYS_PER_CALL`, and `RELAYS_PER_SENDER` of one sender, newest first.
 */
export async function relayChats(
  core: GroupCore,
  now: number,
  fromEpoch: bigint | undefined,
  live: ReadonlySet<string>,
): Promise<GroupEffect[]> {
  if (core.group === undefined || !isActive(core.group)) return [];
  const withheld = sentWhileOut(core);
  const me = toHex(core.identity.id);
  const out: GroupEffect[] = [];
  const perSender = new Map<string, number>();
  let sent = 0;
  for (const k of [...core.state.relayable].reverse()) {
    if (sent >= RELAYS_PER_CALL) break;
    const from = toHex(k.sender);
    if (from === me || live.has(from) || (fromEpoch !== undefined && k.epoch < fromEpoch) || withheld(k.at))
      continue;
    if ((perSender.get(from) ?? 0) >= RELAYS_PER_SENDER) continue;
    const key = senderKey(core, k.sender);
    if (key === undefined || !(await chatSigned(core, k.chat, key))) continue;
    perSender.set(from, (perSender.get(from) ?? 0) + 1);
    sent++;
    out.push(...(await sendPayload(core, { relayed: { sender: k.sender, chat: k.chat } }, now)));
  }
  return out;
}

/**
 * A chat relayed by another member, read at `epoch`: taken as its sender's chat once the sender's
 * signature verifies under the key we know for it (on our roster, or as a former member).
 */
export async function onRelayed(
  core: GroupCore,
  r: RelayedChat,
  epoch: bigint,
  now: number,
): Promise<GroupEffect[]> {
  const chat = r.chat;
  if (r.sender === undefined || chat?.id === undefined)
    return [reject(core, "MALFORMED", "relayed chat without a sender or an id")];
  const s = core.state;
  if (s.seenChats.has(toHex(chat.id)) || s.heldChats.some((h) => bytesEqual(h.id, chat.id!))) return [];
  if (bytesEqual(r.sender, core.identity.id)) return [];
  if (now - Number(chat.sentAt ?? 0n) > core.params.relayMaxAgeMs)
    return [reject(core, "STALE_RELAY", "relayed chat sent too long ago")];
  // Its sequence arrived here before (its id since left our memory of ids), or it is older than the
  // window we track of its sender: a replay, not a chat we miss.
  if (arrivedBefore(core, r.sender, Number(chat.sequence ?? 0n)))
    return [reject(core, "STALE_RELAY", "relayed chat of a sequence that arrived before")];
  const key = senderKey(core, r.sender);
  if (key === undefined) return [reject(core, "NOT_MEMBER", "relayed chat of a sender we do not know")];
  if (!(await chatSigned(core, chat, key)))
    return [reject(core, "INVALID_SIGNATURE", "relayed chat without a valid signature of its sender")];
  return onChat(core, chat, r.sender, epoch, now);
}
