import { DemlsError } from "../util/errors.ts";

/** Codes of {@link MlsProtocolError}: what was wrong with an input, never a crash. */
export type MlsErrorCode =
  /**
   * Not an MLS message we can parse, or of a kind this call does not take; also bytes that are not a stored
   * member state or KeyPackage secret (`restoreGroup`, `restoreKeyPackage`).
   */
  | "MALFORMED"
  /**
   * A commit for another epoch than the current one, or an application message from a future epoch or from
   * a past one whose keys are gone (see `expected`/`got`).
   */
  | "WRONG_EPOCH"
  /** A message for another group. */
  | "WRONG_GROUP"
  /**
   * A signature, membership tag or confirmation tag does not verify, or AEAD decryption failed (tampering
   * or wrong keys).
   */
  | "INVALID_SIGNATURE"
  /** The sender or a remove target is not a member, or this member is no longer in the group. */
  | "NOT_MEMBER"
  /**
   * Well-formed and authentic but not valid under RFC 9420 rules (bad proposal set, bad tree...), or not
   * acceptable to demls: a commit the caller's `CommitPolicy` refuses, a KeyPackage for another ciphersuite
   * or without a basic credential, a stored KeyPackage of another identity.
   */
  | "INVALID"
  /** A Welcome that none of our KeyPackages can open. */
  | "NO_MATCHING_KEY_PACKAGE"
  /** A rewind target outside the retained epochs. */
  | "NOT_RETAINED";

/**
 * A typed rejection of an input by the `mls/` layer. The state the call was given is unchanged and
 * stays usable.
 */
export class MlsProtocolError extends DemlsError {
  declare readonly code: MlsErrorCode;
  /** For `WRONG_EPOCH`: the member's current epoch. */
  readonly expected: bigint | undefined;
  /** For `WRONG_EPOCH`: the epoch the message claims. */
  readonly got: bigint | undefined;

  constructor(
    code: MlsErrorCode,
    message: string,
    options?: { cause?: unknown; expected?: bigint; got?: bigint },
  ) {
    super(code, message, options);
    this.expected = options?.expected;
    this.got = options?.got;
  }
}

/** True when `e` is a `WRONG_EPOCH` error for a message from a *later* epoch (keep it, it may become valid). */
export function isFutureEpoch(e: unknown): e is MlsProtocolError {
  return (
    e instanceof MlsProtocolError &&
    e.code === "WRONG_EPOCH" &&
    e.got !== undefined &&
    e.expected !== undefined &&
    e.got > e.expected
  );
}
