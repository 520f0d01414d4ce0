// The group core's input: a message on one of the conversation's topics. Never throws for bad peer input:
// a typed error is counted and reported as a `rejected` effect.
import { isActive } from "../mls/index.ts";
import { DemlsError } from "../util/errors.ts";
import { keepEarly, onKeyPackage, onWelcome } from "./admission.ts";
import { reconsiderWaiting } from "./ballots.ts";
import { reject } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { groupCodeOf, sdsCodeOf } from "./errors.ts";
import { decodeWelcomeFrame } from "./frames.ts";
import { onSds } from "./inbound.ts";
import { onRejoinRequest } from "./rejoin.ts";
import type { GroupCore } from "./state.ts";

/** Handles a message from one of the conversation's topics. */
export async function receive(
  core: GroupCore,
  topic: string,
  bytes: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  // Removed from the group: its traffic is no longer ours to read, answer (SDS repairs) or act on.
  if (core.group !== undefined && !isActive(core.group)) return [];
  try {
    if (topic === core.topics.welcome) return await receiveWelcomeTopic(core, bytes, now);
    if (topic !== core.topics.app) return [];
    if (core.sds === undefined) {
      keepEarly(core, bytes);
      return [];
    }
    let sdsEffects: ReturnType<typeof core.sds.receive>;
    try {
      sdsEffects = core.sds.receive(bytes, now);
    } catch (e) {
      return [reject(core, e instanceof DemlsError ? sdsCodeOf(e) : "SDS_MALFORMED", String(e))];
    }
    return await onSds(core, sdsEffects, now);
  } catch (e) {
    if (e instanceof DemlsError) return [reject(core, groupCodeOf(e), e.message)];
    throw e;
  }
}

/** The welcome topic carries rejoin requests, joiners' KeyPackages and Welcomes. */
async function receiveWelcomeTopic(core: GroupCore, bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
  const f = decodeWelcomeFrame(bytes);
  if (f.rejoin !== undefined) {
    const out = await onRejoinRequest(core, f.rejoin, now);
    // A removal put to the application may be this request's: then the policy for rejoins applies.
    reconsiderWaiting(core, now);
    return out;
  }
  if (f.keyPackage !== undefined) return onKeyPackage(core, f.keyPackage, now);
  return onWelcome(core, f, now);
}
