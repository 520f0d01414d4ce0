// When a channel has something to do: the wake bound its caller sleeps until, the sync period and the
// resend backoff, both of which stretch with the channel's size.
import type { SdsCore } from "./types.ts";

/** Time between own periodic syncs at the current size (see `syncFullRateParticipants`). */
export function syncPeriod(core: SdsCore): number {
  const c = core.config;
  return c.syncIntervalMs * Math.max(1, core.state.participants / c.syncFullRateParticipants);
}

/**
 * Wait before resend number `resends + 1`: `resendAfterMs`, doubling, plus what the sync period is
 * stretched by (an ack needs every participant to speak after receiving the message, and a quiet one
 * speaks once per sync period).
 */
export function resendDelay(core: SdsCore, resends: number): number {
  return syncPeriod(core) - core.config.syncIntervalMs + core.config.resendAfterMs * 2 ** resends;
}

/** Something is due at `at`: lowers the wake bound, if one is computed. */
export function lowerWake(core: SdsCore, at: number): void {
  const v = core.volatile;
  if (v.wakeBound !== undefined && at < v.wakeBound) v.wakeBound = at;
}

/** The earliest time `tick` has something to do (possibly earlier: then `tick` does nothing). */
export function nextWake(core: SdsCore): number {
  core.volatile.wakeBound ??= computeWake(core);
  return core.volatile.wakeBound;
}

function computeWake(core: SdsCore): number {
  const s = core.state;
  const lostAfterMs = core.config.lostAfterMs;
  let t = s.nextSyncAt;
  for (const at of s.repairResponses.values()) t = Math.min(t, at);
  for (const r of s.repairRequests.values()) t = Math.min(t, r.dueAt, r.missingSince + lostAfterMs);
  for (const o of s.outgoing.values()) t = Math.min(t, o.nextResendAt);
  for (const b of s.incoming.values()) t = Math.min(t, b.receivedAt + lostAfterMs);
  return t;
}
