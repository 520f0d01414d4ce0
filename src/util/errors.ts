/**
 * Base of every error demls raises on purpose. `code` is stable and machine-readable; the message is for
 * people. Layers subclass it so a caller can `instanceof` one layer's errors and `switch` on `code`; a
 * layer with a union of codes passes it as `Code`.
 */
export class DemlsError<Code extends string = string> extends Error {
  /** Stable machine-readable code, e.g. `WRONG_EPOCH`. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
