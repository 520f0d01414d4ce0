// Our ciphersuite provider must compute exactly what ts-mls's own (WebCrypto) provider computes, and
// interoperate with it both ways: that is what lets it replace the default without changing the protocol.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { getCiphersuiteFromName, getCiphersuiteImpl } from "ts-mls";
import { makeSuite1, randomBytes, seedMlsRandomness } from "../../src/mls/crypto.ts";

const ours = await makeSuite1();
const theirs = await getCiphersuiteImpl(
  getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"),
);
const bytes = (max = 200) => fc.uint8Array({ maxLength: max });

describe("ciphersuite provider (suite 1)", () => {
  it("hash, HMAC and HKDF equal ts-mls's WebCrypto provider on random inputs", async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes(),
        // WebCrypto refuses empty HMAC keys; MLS never uses one (HKDF salts may be empty: covered below).
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        bytes(),
        fc.integer({ min: 1, max: 255 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        async (a, k, info, len, salt) => {
          assert.deepEqual(await ours.hash.digest(a), await theirs.hash.digest(a));
          assert.deepEqual(await ours.hash.mac(k, a), await theirs.hash.mac(k, a));
          const mac = await theirs.hash.mac(k, a);
          assert.equal(await ours.hash.verifyMac(k, mac, a), true);
          mac[0]! ^= 1;
          assert.equal(await ours.hash.verifyMac(k, mac, a), false);
          // ts-mls extracts with 32-byte or empty salts (@hpke/core accepts nothing else).
          const prk = await ours.kdf.extract(salt, a);
          assert.deepEqual(prk, await theirs.kdf.extract(salt, a));
          assert.deepEqual(
            await ours.kdf.extract(new Uint8Array(), a),
            await theirs.kdf.extract(new Uint8Array(), a),
          );
          assert.deepEqual(await ours.kdf.expand(prk, info, len), await theirs.kdf.expand(prk, info, len));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("Ed25519 signatures verify across both providers; a changed message or key does not", async () => {
    for (const [signer, verifier] of [
      [ours, theirs],
      [theirs, ours],
    ] as const) {
      const { signKey, publicKey } = await signer.signature.keygen();
      const msg = randomBytes(100);
      const sig = await signer.signature.sign(signKey, msg);
      assert.equal(await verifier.signature.verify(publicKey, msg, sig), true);
      msg[3]! ^= 1;
      assert.equal(await verifier.signature.verify(publicKey, msg, sig), false);
    }
    // Garbage keys and signatures are a plain `false`, never a throw.
    assert.equal(
      await ours.signature.verify(new Uint8Array(5), new Uint8Array(1), new Uint8Array(64)),
      false,
    );
    assert.equal(
      await ours.signature.verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(3)),
      false,
    );
  });

  it("HPKE seal/open, exporters and AEAD interoperate both ways", async () => {
    for (const [sender, receiver] of [
      [ours, theirs],
      [theirs, ours],
    ] as const) {
      const kp = await receiver.hpke.generateKeyPair();
      const pub = await sender.hpke.importPublicKey(await receiver.hpke.exportPublicKey(kp.publicKey));
      const pt = randomBytes(77);
      const info = randomBytes(9);
      const { ct, enc } = await sender.hpke.seal(pub, pt, info);
      assert.deepEqual(await receiver.hpke.open(kp.privateKey, enc, ct, info), pt);
      const exported = await sender.hpke.exportSecret(pub, info, 32, info);
      assert.deepEqual(
        await receiver.hpke.importSecret(kp.privateKey, info, exported.enc, 32, info),
        exported.secret,
      );
      const [k, n] = [randomBytes(16), randomBytes(12)];
      const sealed = await sender.hpke.encryptAead(k, n, info, pt);
      assert.deepEqual(await receiver.hpke.decryptAead(k, n, info, sealed), pt);
      sealed[0]! ^= 1;
      await assert.rejects(receiver.hpke.decryptAead(k, n, info, sealed));
    }
  });

  it("seeded randomness replays the same bytes and keys; unseeded does not", async () => {
    const run = async () => {
      seedMlsRandomness("replay");
      const r = [randomBytes(8), (await ours.signature.keygen()).publicKey];
      const kp = await ours.hpke.generateKeyPair();
      r.push(await ours.hpke.exportPublicKey(kp.publicKey));
      return r;
    };
    try {
      assert.deepEqual(await run(), await run());
      seedMlsRandomness("another");
      const other = randomBytes(8);
      seedMlsRandomness(undefined);
      assert.notDeepEqual(randomBytes(8), randomBytes(8));
      assert.notDeepEqual(other, (await run())[0]);
    } finally {
      seedMlsRandomness(undefined);
    }
  });
});
