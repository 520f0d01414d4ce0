// Chats signed by their sender (docs/chats.md, "Relays"), besides MLS, which authenticates only the member
// that encrypts a message: so that a member holding a chat of a sender that can no longer send it again
// (dead, silent, out of the group) can relay it, and nobody can forge or alter it on the way. Members keep
// the signed chats they receive, the newest `relayChatsKept`.
import { rosterMember, sign, verify } from "../mls/index.ts";
import { bytesEqual, concatBytes, toHex, utf8 } from "../util/bytes.ts";
import { encode } from "../util/schema.ts";
import { lastAbsence } from "./former-members.ts";
import { type Chat, ChatSchema } from "./frames.ts";
import type { GroupCore } from "./state.ts";

/** The bytes a chat's signature covers: the conversation, a zero byte, the chat without its signature. */
function chatBody(conversation: string, chat: Chat): Uint8Array {
  return concatBytes(
    utf8(conversation),
    new Uint8Array([0]),
    encode(ChatSchema, { ...chat, signature: undefined }),
  );
}

/** `chat` signed by us, its sender (label "demls chat"). */
export async function signChat(core: GroupCore, chat: Chat): Promise<Chat> {
  return { ...chat, signature: await sign(core.identity, "chat", chatBody(core.state.conversation, chat)) };
}

/** The signature key we know for `sender`: on our roster, or as a former member. */
export function senderKey(core: GroupCore, sender: Uint8Array): Uint8Array | undefined {
  return (
    (core.group && rosterMember(core.group, sender)?.signaturePublicKey) ??
    lastAbsence(core, toHex(sender))?.key
  );
}

/** Whether `chat` carries a valid signature of the sender whose signature key is `key`. */
export function chatSigned(core: GroupCore, chat: Chat, key: Uint8Array): Promise<boolean> {
  if (chat.signature === undefined) return Promise.resolve(false);
  return verify(key, "chat", chatBody(core.state.conversation, chat), chat.signature);
}

/** Keeps a signed chat of another sender, read at `epoch` at `now`, to relay it later. */
export function keepRelayable(
  core: GroupCore,
  chat: Chat,
  sender: Uint8Array,
  epoch: bigint,
  now: number,
): void {
  if (chat.signature === undefined || chat.id === undefined) return;
  const kept = core.state.relayable;
  if (kept.some((k) => bytesEqual(k.chat.id!, chat.id!))) return;
  kept.push({ sender, chat, epoch, at: now });
  if (kept.length > core.params.relayChatsKept) kept.shift();
}
