// SyncParams ranges: the shipped parameter sets pass, an out-of-range field is a typed error naming it, and
// a SyncCore refuses to start with one.
import assert from "node:assert/strict";
import { it } from "node:test";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { SyncError } from "../../src/sync/codes.ts";
import {
  DEFAULT_SYNC_PARAMS,
  FAST_SYNC_PARAMS,
  type SyncParams,
  validateSyncParams,
} from "../../src/sync/params.ts";
import { scaleTimers } from "../../src/util/scale.ts";

const bad = (field: string) => (e: unknown) =>
  e instanceof SyncError && e.code === "BAD_PARAMS" && e.message.includes(`syncParams.${field} `);

it("the shipped parameter sets and scaled ones are in range", () => {
  for (const p of [DEFAULT_SYNC_PARAMS, FAST_SYNC_PARAMS, scaleTimers(FAST_SYNC_PARAMS, 3)])
    assert.equal(validateSyncParams(p), p);
  // Fractional group sizes stretch the heartbeat in small test groups; an answer of one commit is allowed.
  validateSyncParams({ ...FAST_SYNC_PARAMS, gossipFullRateMembers: 0.2, catchUpMaxBytes: 1 });
});

it("an out-of-range field is BAD_PARAMS naming it", () => {
  const cases: [keyof SyncParams, number][] = [
    ["gossipIntervalMs", 0],
    ["gossipJitter", 1],
    ["viewWindowMs", Number.NaN],
    ["responseDelayMs", -1],
    ["answersPerInterval", 0],
    ["maxAncestry", 1.5],
    ["catchUpResponders", 0],
    ["maxCatchUpCommits", 0],
    ["heardBatches", -1],
    ["resetOperatorTimeoutMs", Number.POSITIVE_INFINITY],
    ["resetWelcomeRepeats", 2.5],
    ["resetKeyPackagesKept", 0],
    ["lineageDepth", -1],
    ["lineageWitnesses", 0],
  ];
  for (const [field, value] of cases)
    assert.throws(() => validateSyncParams({ ...FAST_SYNC_PARAMS, [field]: value }), bad(field), field);
});

it("a member does not start with out-of-range sync parameters", async () => {
  const c = new Cluster({
    seed: 1,
    groupParams: FAST_GROUP_PARAMS,
    syncParams: { ...FAST_SYNC_PARAMS, catchUpRetryMs: -5 },
  });
  await assert.rejects(c.form(2), bad("catchUpRetryMs"));
});
