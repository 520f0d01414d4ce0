// Application frames held for later: from an epoch we have not reached, or unreadable at our state (sent
// on a branch of a fork we have not noticed yet). They are read again after the next epoch change.
import { peek } from "../mls/index.ts";
import { count, reject, requireGroup } from "./core.ts";
import { type GroupEffect, stateHint } from "./effects.ts";
import { decodeGroupFrame } from "./frames.ts";
import type { GroupCore } from "./state.ts";

/**
 * Keeps an application frame for a later epoch change (bounded: the oldest goes first), and says that a
 * peer is at `epoch` (the frame's header). That epoch is not authenticated: one beyond the commit log's
 * reach ahead of ours is refused (`FAR_EPOCH`), as commits are, so forged headers cannot push out the
 * frames we wait for.
 */
export function hold(core: GroupCore, epoch: bigint, frame: Uint8Array): GroupEffect[] {
  const current = requireGroup(core).epoch;
  if (epoch > current + BigInt(core.params.commitLogSize))
    return [
      reject(core, "FAR_EPOCH", `an application frame for epoch ${epoch}, ours is ${current}`),
      stateHint(epoch),
    ];
  const held = core.state.heldApplications;
  held.push({ epoch, frame });
  if (held.length > core.params.heldLimit) {
    held.shift();
    count(core, "HELD_DROPPED");
  }
  return [stateHint(epoch)];
}

/** Takes the held frames of epoch `epoch` or older out of the store, oldest first. */
export function takeHeld(core: GroupCore, epoch: bigint): { epoch: bigint; frame: Uint8Array }[] {
  const s = core.state;
  const due = s.heldApplications.filter((h) => h.epoch <= epoch);
  s.heldApplications = s.heldApplications.filter((h) => h.epoch > epoch);
  return due;
}

/**
 * A frame SDS holds back for missing history (after a partition, everything from the other side): its
 * header may already tell that the sender is at another epoch. Malformed ones are rejected on delivery.
 */
export function hintOfWaiting(core: GroupCore, content: Uint8Array): GroupEffect[] {
  const group = core.group;
  if (group === undefined) return [];
  let epoch: bigint | undefined;
  try {
    const frame = decodeGroupFrame(content);
    const mls = frame.commit ?? frame.application;
    epoch = mls === undefined ? undefined : peek(mls).epoch;
  } catch {
    return [];
  }
  return epoch === undefined || epoch === group.epoch ? [] : [stateHint(epoch)];
}
