// Requests waiting to become proposals: joiners' KeyPackages (an add) and members asking to be re-added
// (the removal of their stale leaf). The epoch steward proposes them at once, any member after a
// consensus timeout (the steward may be unreachable); a request older than `keyPackageEpochs` is dropped.
// The proposer's own vote on them follows its vote policy, like everyone's.
import { fromHex } from "../util/bytes.ts";
import { requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { PROPOSAL_ADD, PROPOSAL_REMOVE } from "./frames.ts";
import { proposalId, propose } from "./proposals.ts";
import type { GroupCore, PendingRequest } from "./state.ts";
import { isEpochSteward } from "./steward-schedule.ts";

/** Proposes what is due among the pending requests (a stale leaf of a rejoin goes first in its round). */
export async function proposeJoiners(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const s = core.state;
  const out: GroupEffect[] = [];
  for (const [k, kp] of s.pendingKeyPackages)
    out.push(...(await proposePending(core, s.pendingKeyPackages, k, kp, PROPOSAL_ADD, kp.bytes, now)));
  // An entry also ends when the stale leaf is gone (see the epoch change).
  for (const [k, r] of s.pendingRejoins)
    out.push(...(await proposePending(core, s.pendingRejoins, k, r, PROPOSAL_REMOVE, fromHex(k), now)));
  return out;
}

async function proposePending<T extends PendingRequest>(
  core: GroupCore,
  pending: Map<string, T>,
  key: string,
  entry: T,
  kind: number,
  target: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  if (entry.epoch + BigInt(core.params.keyPackageEpochs) < requireGroup(core).epoch) {
    pending.delete(key);
    return [];
  }
  const fallback = now >= entry.seenAt + core.params.consensusTimeoutMs;
  if (!fallback && !isEpochSteward(core)) return [];
  if (core.state.proposals.has(proposalId(kind, target))) return [];
  // A stale leaf's removal says so: its target, if it still holds the group, asks to be re-added.
  return propose(core, kind, target, now, false, undefined, kind === PROPOSAL_REMOVE);
}

/** The earliest time `proposeJoiners` acts on a pending request of either kind. */
export function pendingRequestsDue(core: GroupCore): number {
  const s = core.state;
  return Math.min(
    pendingDue(core, s.pendingKeyPackages, PROPOSAL_ADD, (_, kp) => kp.bytes),
    pendingDue(core, s.pendingRejoins, PROPOSAL_REMOVE, (k) => fromHex(k)),
  );
}

/**
 * When `proposePending` would next act on a request not yet proposed: at once on the epoch steward,
 * after the consensus timeout elsewhere. A time already ticked at is not reported again, so a request
 * that cannot be proposed does not keep the member ticking.
 */
function pendingDue<T extends PendingRequest>(
  core: GroupCore,
  pending: ReadonlyMap<string, T>,
  kind: number,
  target: (key: string, entry: T) => Uint8Array,
): number {
  let t = Number.POSITIVE_INFINITY;
  if (pending.size === 0) return t;
  const lastTick = core.vol.lastTick;
  const steward = isEpochSteward(core);
  for (const [k, entry] of pending) {
    // An entry's kind and target never change: its proposal id is computed once.
    let id = core.vol.pendingIds.get(entry);
    if (id === undefined) {
      id = proposalId(kind, target(k, entry));
      core.vol.pendingIds.set(entry, id);
    }
    if (core.state.proposals.has(id)) continue;
    const fallback = entry.seenAt + core.params.consensusTimeoutMs;
    const at = steward && entry.seenAt >= lastTick ? entry.seenAt : fallback;
    if (at >= lastTick) t = Math.min(t, at);
  }
  return t;
}
