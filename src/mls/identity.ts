// Member identity, KeyPackages, and signatures by the member's MLS signature key.
import {
  type Capabilities,
  type Credential,
  ciphersuites,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  type KeyPackage,
  type PrivateKeyPackage,
} from "ts-mls";
import { signWithLabel, verifyWithLabel } from "ts-mls/crypto/signature.js";
import { greaseValues } from "ts-mls/grease.js";
import { makeKeyPackageRef, verifyKeyPackage } from "ts-mls/keyPackage.js";
import { toHex, utf8 } from "../util/bytes.ts";
import { randomBytes } from "./crypto.ts";
import { MlsProtocolError } from "./errors.ts";
import { decodeMessage, suite, toProtocolError } from "./suite.ts";

/**
 * A member's long-term identity: the basic-credential identity bytes (the `member_id` of every demls
 * message) and the Ed25519 signature key pair that signs its leaf, votes and `SyncStateInfo`.
 */
export interface Identity {
  /** Credential identity: stable across groups, forks and resets. */
  readonly id: Uint8Array;
  readonly signaturePublicKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
}

/** A KeyPackage with its private keys, as its owner keeps it. */
export interface KeyPackageBundle {
  /** The KeyPackage as an encoded `MLSMessage` (`mls_key_package`): the bytes that get published. */
  readonly publicBytes: Uint8Array;
  /** KeyPackageRef (RFC 9420 section 5.2): the key under which stores index it. */
  readonly ref: Uint8Array;
  /** A last-resort KeyPackage may be used by several Welcomes and is never deleted after use. */
  readonly lastResort: boolean;
  /** @internal ts-mls values; only `mls/` looks inside. */
  readonly inner: { readonly publicPackage: KeyPackage; readonly privatePackage: PrivateKeyPackage };
}

/** What anyone can learn from a published KeyPackage after verifying it. */
export interface KeyPackageInfo {
  readonly ref: Uint8Array;
  /** Credential identity of the owner. */
  readonly memberId: Uint8Array;
  readonly signaturePublicKey: Uint8Array;
  /** HPKE key of the leaf the KeyPackage becomes when added (see {@link RosterMember.encryptionKey}). */
  readonly encryptionKey: Uint8Array;
  /** @internal */
  readonly inner: KeyPackage;
}

/** Creates a new identity with a fresh Ed25519 signature key pair. */
export async function createIdentity(id: Uint8Array | string): Promise<Identity> {
  const cs = await suite();
  const { publicKey, signKey } = await cs.signature.keygen();
  return {
    id: typeof id === "string" ? utf8(id) : id,
    signaturePublicKey: publicKey,
    signaturePrivateKey: signKey,
  };
}

function credentialOf(identity: Identity): Credential {
  return { credentialType: "basic", identity: identity.id };
}

/**
 * ts-mls's default capabilities, GREASE included (RFC 9420 section 13.5: each reserved value with
 * probability 1/10), but drawn from the MLS randomness instead of `Math.random`, so seeded runs replay.
 */
function capabilities(): Capabilities {
  const grease = () => greaseValues.filter(() => randomBytes(1)[0]! < 26);
  return {
    versions: ["mls10"],
    ciphersuites: [...Object.keys(ciphersuites), ...grease().map(String)] as Capabilities["ciphersuites"],
    extensions: grease(),
    proposals: grease(),
    credentials: ["basic", "x509", ...grease().map(String)] as Capabilities["credentials"],
  };
}

/**
 * Generates `count` single-use KeyPackages, plus one last-resort KeyPackage when `lastResort` is set
 * (it comes last in the result). All are bound to the identity's signature key.
 */
export async function generateKeyPackages(
  identity: Identity,
  count: number,
  options: { lastResort?: boolean } = {},
): Promise<KeyPackageBundle[]> {
  const cs = await suite();
  const out: KeyPackageBundle[] = [];
  const total = count + (options.lastResort ? 1 : 0);
  for (let i = 0; i < total; i++) {
    const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
      credentialOf(identity),
      capabilities(),
      defaultLifetime,
      [],
      { signKey: identity.signaturePrivateKey, publicKey: identity.signaturePublicKey },
      cs,
    );
    out.push(await bundleOf(publicPackage, privatePackage, i >= count));
  }
  return out;
}

/** @internal Rebuilds a bundle from its ts-mls parts (used by the codec). */
export async function bundleOf(
  publicPackage: KeyPackage,
  privatePackage: PrivateKeyPackage,
  lastResort: boolean,
): Promise<KeyPackageBundle> {
  const cs = await suite();
  return {
    publicBytes: encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_key_package",
      keyPackage: publicPackage,
    }),
    ref: await makeKeyPackageRef(publicPackage, cs.hash),
    lastResort,
    inner: { publicPackage, privatePackage },
  };
}

/**
 * Decodes and verifies a published KeyPackage (its signature, suite and basic credential).
 * @throws {MlsProtocolError} `MALFORMED`, `INVALID_SIGNATURE`, or `INVALID` for another ciphersuite or a
 * credential that is not basic; never anything else.
 */
export async function readKeyPackage(bytes: Uint8Array): Promise<KeyPackageInfo> {
  // Joiners re-announce the same KeyPackage until welcomed and every member checks it again on each
  // proposal, vote and store sync: remember the verdict for bytes already read (values are immutable).
  const cs = await suite();
  const key = toHex(await cs.hash.digest(bytes));
  const known = readKeyPackages.get(key);
  if (known !== undefined) {
    if (known instanceof MlsProtocolError) throw known;
    return known;
  }
  let result: KeyPackageInfo | MlsProtocolError;
  try {
    result = await verifyKeyPackageBytes(bytes);
  } catch (e) {
    if (!(e instanceof MlsProtocolError)) throw e;
    result = e;
  }
  if (readKeyPackages.size >= READ_KEY_PACKAGES_LIMIT)
    readKeyPackages.delete(readKeyPackages.keys().next().value!);
  readKeyPackages.set(key, result);
  if (result instanceof MlsProtocolError) throw result;
  return result;
}

const READ_KEY_PACKAGES_LIMIT = 4096;
/** Verdicts of {@link readKeyPackage} by SHA-256 of the bytes (oldest dropped first). */
const readKeyPackages = new Map<string, KeyPackageInfo | MlsProtocolError>();

async function verifyKeyPackageBytes(bytes: Uint8Array): Promise<KeyPackageInfo> {
  const cs = await suite();
  const msg = decodeMessage(bytes, "KeyPackage");
  if (msg.wireformat !== "mls_key_package")
    throw new MlsProtocolError("MALFORMED", "not an encoded KeyPackage");
  const kp = msg.keyPackage;
  if (kp.cipherSuite !== cs.name) throw new MlsProtocolError("INVALID", `KeyPackage for ${kp.cipherSuite}`);
  const cred = kp.leafNode.credential;
  if (cred.credentialType !== "basic")
    throw new MlsProtocolError("INVALID", "KeyPackage without a basic credential");
  let valid = false;
  try {
    valid = await verifyKeyPackage(kp, cs.signature);
  } catch (e) {
    throw toProtocolError(e, "KeyPackage");
  }
  if (!valid) throw new MlsProtocolError("INVALID_SIGNATURE", "KeyPackage signature does not verify");
  return {
    ref: await makeKeyPackageRef(kp, cs.hash),
    memberId: cred.identity,
    signaturePublicKey: kp.leafNode.signaturePublicKey,
    encryptionKey: kp.leafNode.hpkePublicKey,
    inner: kp,
  };
}

/**
 * Signs `content` under a demls label with the identity's MLS signature key (RFC 9420 `SignWithLabel`,
 * so a demls signature can never be mistaken for an MLS one with another label).
 */
export async function sign(identity: Identity, label: string, content: Uint8Array): Promise<Uint8Array> {
  return signWithLabel(identity.signaturePrivateKey, `demls ${label}`, content, (await suite()).signature);
}

/** Verifies a {@link sign} signature. Never throws: bad keys or signatures are just `false`. */
export async function verify(
  signaturePublicKey: Uint8Array,
  label: string,
  content: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    return await verifyWithLabel(
      signaturePublicKey,
      `demls ${label}`,
      content,
      signature,
      (await suite()).signature,
    );
  } catch {
    return false;
  }
}
