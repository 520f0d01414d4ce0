// The SDS layer's error class.
import { DemlsError } from "../util/errors.ts";
import type { SdsErrorCode } from "./types.ts";

/** A message that is valid protobuf but not for this channel, a bad call, or a config out of range. */
export class SdsError extends DemlsError {
  declare readonly code: SdsErrorCode;

  constructor(code: SdsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
