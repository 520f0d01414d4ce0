// Pull answers for one reader (docs/chats.md, "Pulls"): a group payload goes to every member of the
// responder's roster, so a chat re-sent or relayed in the clear of MLS would reach members that were not
// its sender's audience (a member out at the time, one added later). A pull names a fresh X25519 key of
// its requester's (the pull itself is an MLS message, so the key is the requester's); each answer is
// sealed to it with XChaCha20-Poly1305, and only the requester opens it. What it opens is a relayed chat
// like any other: its sender's signature is checked as for a relay.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes, toHex, utf8 } from "../util/bytes.ts";
import { decodeRelayedChat, encodeRelayedChat, type RelayedChat, type SealedRelay } from "./frames.ts";
import type { GroupCore } from "./state.ts";

/** Answer keys a member keeps (newest last): answers to older pulls cannot be opened, and are asked again. */
export const ANSWER_KEYS_KEPT = 4;
const INFO = utf8("demls chat-pull answer");

function randomKey(core: GroupCore): Uint8Array {
  const k = new Uint8Array(32);
  for (let i = 0; i < 32; i++) k[i] = core.rng.int(256);
  return k;
}

function answerCipherKey(core: GroupCore, secret: Uint8Array): Uint8Array {
  return hkdf(sha256, secret, utf8(core.state.conversation), INFO, 32);
}

/** A fresh answer key for this round of pulls: its public half goes in each pull, its private half stays. */
export function newAnswerKey(core: GroupCore): Uint8Array {
  const priv = randomKey(core);
  const pub = x25519.getPublicKey(priv);
  const keys = core.vol.answerKeys;
  keys.set(toHex(pub), priv);
  while (keys.size > ANSWER_KEYS_KEPT) keys.delete(keys.keys().next().value!);
  return pub;
}

/** `relayed` sealed to `requester`'s answer key `answerKey` (32 bytes; undefined for any other length). */
export function sealAnswer(
  core: GroupCore,
  requester: Uint8Array,
  answerKey: Uint8Array,
  relayed: RelayedChat,
): SealedRelay | undefined {
  if (answerKey.length !== 32) return undefined;
  const eph = randomKey(core);
  let secret: Uint8Array;
  try {
    secret = x25519.getSharedSecret(eph, answerKey);
  } catch {
    return undefined; // a low-order point: no key to seal under
  }
  const nonce = randomKey(core).subarray(0, 24);
  const aad = concatBytes(requester, core.identity.id);
  const ciphertext = xchacha20poly1305(answerCipherKey(core, secret), nonce, aad).encrypt(
    encodeRelayedChat(relayed),
  );
  return { to: requester, answerKey, ephemeral: x25519.getPublicKey(eph), nonce, ciphertext };
}

/**
 * Opens an answer `responder` sealed to us: the relayed chat, or undefined when it is not ours (another
 * member's answer: every member sees it), names a key we no longer keep, or does not open.
 */
export function openAnswer(core: GroupCore, s: SealedRelay, responder: Uint8Array): RelayedChat | undefined {
  if (!s.to || !bytesEqual(s.to, core.identity.id) || !s.answerKey || !s.ephemeral || !s.ciphertext)
    return undefined;
  const priv = core.vol.answerKeys.get(toHex(s.answerKey));
  if (priv === undefined || s.nonce?.length !== 24 || s.ephemeral.length !== 32) return undefined;
  try {
    const secret = x25519.getSharedSecret(priv, s.ephemeral);
    const aad = concatBytes(core.identity.id, responder);
    const plain = xchacha20poly1305(answerCipherKey(core, secret), s.nonce, aad).decrypt(s.ciphertext);
    return decodeRelayedChat(plain);
  } catch {
    return undefined;
  }
}
