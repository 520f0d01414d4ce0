// The cryptographic provider behind ts-mls for suite 1 (X25519 / AES-128-GCM / SHA-256 / Ed25519), and
// the one source of MLS randomness.
//
// Why not ts-mls's default provider: it runs every hash, HMAC and HKDF step through WebCrypto, an async
// round trip to the libuv thread pool for a few microseconds of work, and key schedules and secret-tree
// ratchets make thousands of them per commit, so the process would mostly wait. Here HMAC and HKDF are
// @noble (synchronous); SHA-256, AES-GCM and Ed25519 are node:crypto's synchronous OpenSSL binding (far
// faster than pure-JS Ed25519 for the verifications every member repeats), and HPKE stays @hpke/core
// (ts-mls's own choice) with its ephemeral and generated keys drawn from our randomness. Every random byte MLS uses comes from `randomBytes` below, so a simulator run that
// seeds it replays byte for byte.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  hash as nodeHash,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { chacha20 } from "@noble/ciphers/chacha.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { CiphersuiteImpl } from "ts-mls";
import { makeGenericHpke } from "ts-mls/crypto/implementation/hpke.js";
import { concatBytes } from "../util/bytes.ts";
import { sharedExpand, sharedOpen, sharedVerdict } from "./share.ts";

// ---- randomness --------------------------------------------------------------------------------------

let stream: { key: Uint8Array; counter: number } | undefined;

/**
 * Every random byte the MLS layer uses (leaf and path secrets, HPKE and signature keys, reuse guards).
 * Crypto-random unless {@link seedMlsRandomness} made it a seeded stream.
 */
export function randomBytes(n: number): Uint8Array {
  if (stream === undefined) return crypto.getRandomValues(new Uint8Array(n));
  // ChaCha20 keystream blocks under the seed key, one fresh nonce per call.
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(8, stream.counter++);
  return chacha20(stream.key, nonce, new Uint8Array(n));
}

/**
 * FOR SIMULATIONS AND TESTS ONLY: makes all MLS randomness of this process a deterministic stream derived
 * from `seed`, so a seeded simulator run replays byte for byte. Keys made this way are predictable to anyone
 * who knows the seed. `undefined` returns to crypto-random bytes.
 */
export function seedMlsRandomness(seed: Uint8Array | string | undefined): void {
  stream =
    seed === undefined
      ? undefined
      : { key: sha256(typeof seed === "string" ? new TextEncoder().encode(seed) : seed), counter: 0 };
}

// ---- Ed25519 through node:crypto ---------------------------------------------------------------------

const PKCS8_ED25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_ED25519 = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/** A small cache of parsed keys: the same few hundred roster keys verify every message. */
class KeyCache {
  private readonly map = new Map<string, KeyObject>();
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  get(raw: Uint8Array, parse: () => KeyObject): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64");
    let k = this.map.get(id);
    if (k === undefined) {
      k = parse();
      if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value!);
      this.map.set(id, k);
    }
    return k;
  }
}
const publicKeys = new KeyCache(4096);
const privateKeys = new KeyCache(256);

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key]);
}

/** A signing key: the 32-byte seed, or (as ts-mls's WebCrypto provider stores it) its PKCS#8 encoding. */
function privateKeyOf(signKey: Uint8Array): KeyObject {
  return privateKeys.get(signKey, () =>
    createPrivateKey({
      key: signKey.length === 32 ? der(PKCS8_ED25519, signKey) : Buffer.from(signKey),
      format: "der",
      type: "pkcs8",
    }),
  );
}

function publicKeyOf(publicKey: Uint8Array): KeyObject {
  return publicKeys.get(publicKey, () =>
    createPublicKey({ key: der(SPKI_ED25519, publicKey), format: "der", type: "spki" }),
  );
}

const ed25519: CiphersuiteImpl["signature"] = {
  async sign(signKey, message) {
    return new Uint8Array(nodeSign(null, message, privateKeyOf(signKey)));
  },
  async verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    return sharedVerdict(publicKey, message, signature, () => {
      try {
        return nodeVerify(null, message, publicKeyOf(publicKey), signature);
      } catch {
        return false;
      }
    });
  },
  async keygen() {
    const signKey = randomBytes(32);
    const spki = createPublicKey(privateKeyOf(signKey)).export({ format: "der", type: "spki" });
    return { signKey, publicKey: new Uint8Array(spki.subarray(SPKI_ED25519.length)) };
  },
};

// ---- HPKE (@hpke/core) with our randomness -----------------------------------------------------------

/** DHKEM(X25519) whose generated key pairs come from {@link randomBytes} (RFC 9180 DeriveKeyPair). */
class X25519Kem extends DhkemX25519HkdfSha256 {
  override generateKeyPair(): ReturnType<DhkemX25519HkdfSha256["generateKeyPair"]> {
    return this.deriveKeyPair(randomBytes(32));
  }
}

type SenderParams = Parameters<CipherSuite["createSenderContext"]>[0];

/** The HPKE suite with each encapsulation's ephemeral key derived from {@link randomBytes} (`seal` too). */
class SeededHpkeSuite extends CipherSuite {
  override createSenderContext(params: SenderParams) {
    return super.createSenderContext({ ...params, ekm: randomBytes(32) });
  }
}

// ---- the suite ---------------------------------------------------------------------------------------

const GCM_TAG = 16;

// AES-128-GCM through node:crypto (OpenSSL, AES-NI), faster than @noble/ciphers' GCM: every member
// decrypts every group message.
const aes128gcm = {
  async encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) {
    const c = createCipheriv("aes-128-gcm", key, nonce);
    c.setAAD(aad);
    const head = c.update(plaintext);
    const tail = c.final();
    return concatBytes(head, tail, c.getAuthTag());
  },
  async decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array) {
    if (ciphertext.length < GCM_TAG) throw new Error("aes-128-gcm: ciphertext shorter than its tag");
    return sharedOpen("aes-128-gcm", [key, nonce, aad, ciphertext], () => {
      const body = ciphertext.subarray(0, ciphertext.length - GCM_TAG);
      const d = createDecipheriv("aes-128-gcm", key, nonce);
      d.setAAD(aad);
      d.setAuthTag(ciphertext.subarray(ciphertext.length - GCM_TAG));
      const head = d.update(body);
      return concatBytes(head, d.final()); // final() throws when the tag does not verify
    });
  },
};

/** Constant-time equality of two MACs. */
function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * SHA-256 through node:crypto's one-shot `hash` (SHA extensions), faster than noble's, most of all on large
 * inputs such as the commits every member hashes into its transcript. The digest comes back as a latin1
 * string and is copied out: a Buffer digest is made in C++ as external memory, slower to create and read.
 */
function sha256Native(data: Uint8Array): Uint8Array {
  const digest = nodeHash("sha256", data, "binary"); // "binary" is latin1: one char per byte
  const out = new Uint8Array(digest.length);
  for (let i = 0; i < digest.length; i++) out[i] = digest.charCodeAt(i);
  return out;
}

/** ts-mls's CiphersuiteImpl for MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. */
export async function makeSuite1(): Promise<CiphersuiteImpl> {
  const hpke = await makeGenericHpke(
    { kem: "DHKEM-X25519-HKDF-SHA256", kdf: "HKDF-SHA256", aead: "AES128GCM" },
    aes128gcm,
    new SeededHpkeSuite({ kem: new X25519Kem(), kdf: new HkdfSha256(), aead: new Aes128Gcm() }),
  );
  return {
    name: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
    hash: {
      async digest(data) {
        return sha256Native(data);
      },
      async mac(key, data) {
        return hmac(sha256, key, data);
      },
      async verifyMac(key, mac, data) {
        return macEqual(mac, hmac(sha256, key, data));
      },
    },
    kdf: {
      async extract(salt, ikm) {
        return extract(sha256, ikm, salt);
      },
      async expand(prk, info, len) {
        return sharedExpand(prk, info, len, () => expand(sha256, prk, info, len));
      },
      size: 32,
    },
    signature: ed25519,
    hpke,
    rng: { randomBytes },
  };
}
