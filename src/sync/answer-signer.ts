// Who signed a catch-up answer. An answer's word (a "no path", a confirmed or undone removal, a
// stale-leaf flag) counts only as its responder's: another member, on a roster of one of our recent
// states, whose signature over the answer verifies under the key our directory holds for it. Anyone
// holding an old sync key reads a request's nonce, so the seal alone proves nothing.
import { verify } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import type { SyncCode } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import { requesterKey } from "./requesters.ts";
import { answerBody, type CatchUpResponse } from "./wire.ts";

/** The responder (hex) of a signed answer, or the drop code saying why the answer is not one. */
export type AnswerSigner =
  | { readonly responder: string }
  | { readonly drop: Extract<SyncCode, "MALFORMED" | "UNKNOWN_MEMBER" | "INVALID_SIGNATURE"> };

/**
 * The responder of answer `r` when it is signed by another member of a recent roster of ours; otherwise
 * `MALFORMED` (no responder or signature, or ourselves), `UNKNOWN_MEMBER` (no key, or on no recent
 * roster) or `INVALID_SIGNATURE`.
 */
export async function answerSigner(ctx: SyncContext, r: CatchUpResponse): Promise<AnswerSigner> {
  if (!r.responder || !r.signature) return { drop: "MALFORMED" };
  const responder = toHex(r.responder);
  if (responder === toHex(ctx.port.memberId)) return { drop: "MALFORMED" };
  const key = requesterKey(ctx, responder);
  if (key === undefined) return { drop: "UNKNOWN_MEMBER" };
  if (!(await verify(key, "catch-up-answer", answerBody(r), r.signature)))
    return { drop: "INVALID_SIGNATURE" };
  return { responder };
}
