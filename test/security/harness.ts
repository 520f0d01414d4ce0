// What the tests that lie through an insider share: a group formed on the simulator with the scaled
// presets, run until every member is IN_SYNC. Every member's faults are in `c.faults`.
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";

/** `n` members formed through the real join path, then run until virtual time `until` (or 3 s more). */
export async function formedGroup(seed: number, n: number, until?: number): Promise<Cluster> {
  const c = new Cluster({ seed, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(n);
  await c.sim.runUntil(Math.max(until ?? 0, c.now + 3_000));
  return c;
}
