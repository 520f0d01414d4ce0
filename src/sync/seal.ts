// Sealing sync messages under the sync key: XChaCha20-Poly1305 with a random 24-byte nonce; the key id
// (8 bytes of SHA-256 of the key) lets receivers pick among current and previous keys.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { sharedOpen } from "../mls/index.ts";
import type { Rng } from "../net/transport.ts";
import { bytesEqual } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { decodeEnvelope, encodeEnvelope } from "./wire.ts";

/**
 * The 8-byte id of `key`. Remembered per key object: every member matches each received envelope against
 * its current and previous keys, so each key is hashed once, not once per envelope. Sound while a key's
 * bytes do not change in place, which no sync key's do.
 */
export function keyIdOf(key: Uint8Array): Uint8Array {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = sha256(key).subarray(0, 8);
    keyIds.set(key, id);
  }
  return id;
}

const keyIds = new WeakMap<Uint8Array, Uint8Array>();

/** Seals `plaintext`; the nonce comes from the injected rng so simulator runs replay. */
export function seal(key: Uint8Array, plaintext: Uint8Array, rng: Rng, aad: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(24);
  for (let i = 0; i < 24; i++) nonce[i] = rng.int(256);
  return encodeEnvelope({
    keyId: keyIdOf(key),
    nonce,
    ciphertext: xchacha20poly1305(key, nonce, aad).encrypt(plaintext),
  });
}

/**
 * Opens an envelope with the first of `keys` whose id matches; returns the plaintext and that key.
 * @throws {DemlsError} `MALFORMED`, `UNKNOWN_KEY`, `UNDECRYPTABLE`.
 */
export function open(
  keys: readonly Uint8Array[],
  bytes: Uint8Array,
  aad: Uint8Array,
): { plaintext: Uint8Array; key: Uint8Array } {
  const env = decodeEnvelope(bytes);
  if (env.nonce!.length !== 24) throw new DemlsError("MALFORMED", "nonce must be 24 bytes");
  const key = keys.find((k) => bytesEqual(keyIdOf(k), env.keyId!));
  if (key === undefined) throw new DemlsError("UNKNOWN_KEY", "sealed under a key we do not hold");
  try {
    // Every simulated member opens the same gossip under the same key: shared (simulations only), and
    // not copied: sync payloads are only decoded and read, never written to (`readOnly`).
    const plaintext = sharedOpen(
      "xchacha20-poly1305",
      [key, env.nonce!, aad, env.ciphertext!],
      () => xchacha20poly1305(key, env.nonce!, aad).decrypt(env.ciphertext!),
      true,
    );
    return { plaintext, key };
  } catch {
    throw new DemlsError("UNDECRYPTABLE", "authentication failed");
  }
}
