// A step of a member that threw: what the member counts and reports instead of letting it escape its
// input queue (docs/decisions.md, "No exception escapes a member").
import type { SyncCode } from "../sync/codes.ts";
import type { FaultEvent } from "../sync/effects.ts";
import { DemlsError } from "../util/errors.ts";

/** Where the input of a step came from: a peer's message, a timer, the KeyPackage storage service. */
export type StepInput = "message" | "timer" | "service";

/** The fault a thrown `e` is: a typed error under its own code, anything else under `INTERNAL`. */
export function faultOf(e: unknown, input: StepInput): FaultEvent {
  const code = e instanceof DemlsError ? (e.code as SyncCode) : "INTERNAL";
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { type: "fault", code, detail: `${input}: ${what}` };
}
