/**
 * Base of every error demls raises on purpose. `code` is stable and machine-readable; the message is for
 * people. Layers subclass it so a caller can `instanceof` one layer's errors and `switch` on `code`.
 */
export class DemlsError extends Error {
  /** Stable machine-readable code, e.g. `WRONG_EPOCH`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
