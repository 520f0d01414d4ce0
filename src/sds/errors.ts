// The SDS layer's error class and its codes.
import { DemlsError } from "../util/errors.ts";

/** The codes of `SdsError`. */
export type SdsErrorCode =
  /** `send` was given empty content (an empty message is a sync message). */
  | "EMPTY"
  /** A message for another channel. */
  | "WRONG_CHANNEL"
  /** A Lamport timestamp more than `maxLamportAheadMs` ahead of our clock. */
  | "LAMPORT_AHEAD"
  /** More than `maxHistoryEntries` causal history entries. */
  | "OVERSIZED_HISTORY"
  /** More than `maxHistoryEntries` repair request entries. */
  | "OVERSIZED_REPAIR"
  /** A message, sender or entry id longer than `maxIdLength`. */
  | "OVERSIZED_ID"
  /**
   * A content message whose id is not the hash of its channel, sender, Lamport time and content
   * (`messageIdOf`): a copy with other content under a genuine id, which would otherwise make the
   * genuine message a duplicate.
   */
  | "ID_MISMATCH"
  /** An `SdsConfig` value out of its range (see `validateSdsConfig`). */
  | "INVALID_CONFIG";

/** A message that is valid protobuf but not for this channel, a bad call, or a config out of range. */
export class SdsError extends DemlsError {
  declare readonly code: SdsErrorCode;

  constructor(code: SdsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
