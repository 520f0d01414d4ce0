// The one place that picks the ciphersuite and the ts-mls client configuration.
import {
  type CiphersuiteImpl,
  type ClientConfig,
  decodeMlsMessage,
  defaultKeyRetentionConfig,
  type MLSMessage,
} from "ts-mls";
import { defaultClientConfig } from "ts-mls/clientConfig.js";
import {
  CodecError,
  CryptoError,
  CryptoVerificationError,
  DependencyError,
  UsageError,
  ValidationError,
} from "ts-mls/mlsError.js";
import { makeSuite1 } from "./crypto.ts";
import { MlsProtocolError } from "./errors.ts";

/** The ciphersuite every demls group uses: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (RFC 9420 suite 1). */
export const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519" as const;

let cached: Promise<CiphersuiteImpl> | undefined;

/** The ciphersuite implementation (`crypto.ts`), created once per process. */
export function suite(): Promise<CiphersuiteImpl> {
  cached ??= makeSuite1();
  return cached;
}

/**
 * ts-mls client configuration. Past-epoch application keys are kept for 4 epochs (ts-mls default), so
 * late application messages still decrypt; the retained *full* states of `retention.ts` are separate.
 */
export const clientConfig: ClientConfig = {
  ...defaultClientConfig,
  keyRetentionConfig: { ...defaultKeyRetentionConfig, retainKeysForEpochs: 4 },
};

/**
 * Maps whatever ts-mls (or a decoder it calls) threw into a typed {@link MlsProtocolError}.
 * Garbage input can surface as `TypeError`/`RangeError` from deep inside a decoder: that is `MALFORMED`.
 */
export function toProtocolError(e: unknown, what: string): MlsProtocolError {
  if (e instanceof MlsProtocolError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof CryptoVerificationError)
    return new MlsProtocolError("INVALID_SIGNATURE", `${what}: ${msg}`, { cause: e });
  if (e instanceof CryptoError)
    return new MlsProtocolError("INVALID_SIGNATURE", `${what}: decryption failed`, { cause: e });
  if (e instanceof CodecError) return new MlsProtocolError("MALFORMED", `${what}: ${msg}`, { cause: e });
  if (e instanceof ValidationError || e instanceof UsageError || e instanceof DependencyError) {
    if (/\bnot a member\b|non-blank leaf|removed from/i.test(msg))
      return new MlsProtocolError("NOT_MEMBER", `${what}: ${msg}`, { cause: e });
    if (/signature|membership tag|confirmation tag/i.test(msg))
      return new MlsProtocolError("INVALID_SIGNATURE", `${what}: ${msg}`, { cause: e });
    return new MlsProtocolError("INVALID", `${what}: ${msg}`, { cause: e });
  }
  return new MlsProtocolError("MALFORMED", `${what}: ${msg}`, { cause: e });
}

/** Decodes a whole `MLSMessage`; anything else (trailing bytes included) is `MALFORMED`. */
export function decodeMessage(bytes: Uint8Array, what: string): MLSMessage {
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (e) {
    throw toProtocolError(e, what);
  }
  if (decoded === undefined || decoded[1] !== bytes.length)
    throw new MlsProtocolError("MALFORMED", `${what}: undecodable`);
  return decoded[0];
}
