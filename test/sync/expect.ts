// Shared by the scenario tests: run a recovery scenario and check what a user relies on.
import assert from "node:assert/strict";
import { runScenario, type ScenarioName } from "../../src/cli/scenarios.ts";

/** Runs a scenario and checks the outcome a user relies on; `how` lists acceptable recovery paths. */
export async function expectRecovery(
  scenario: ScenarioName,
  how: string[],
  seed = 1,
  loss = 0,
  epochs = 3,
  members = 10,
) {
  const r = await runScenario({ scenario, members, seed, loss, epochs });
  const summary = JSON.stringify({ ...r, timeline: undefined }, (_k, v) =>
    typeof v === "bigint" ? String(v) : v,
  );
  assert.ok(r.allInSync, `all members in one state and IN_SYNC: ${summary}`);
  assert.equal(Object.keys(r.groups).length, 1, summary);
  assert.equal(Object.values(r.groups)[0]!.length, members, "every member is in the final group");
  assert.equal(r.appLost, 0, `no application message lost: ${summary}`);
  assert.equal(r.appDuplicates, 0, "none delivered twice");
  assert.ok(r.detectedMs !== null, "the out-of-sync members noticed");
  assert.ok(
    how.some((h) => (r.recoveries[h] ?? 0) > 0),
    `recovered by ${how.join(" or ")}: ${JSON.stringify(r.recoveries)}`,
  );
  // HARD starts a reset vote: only a split with no majority may show it, not even for a moment.
  if (!how.includes("reset"))
    assert.equal(r.statusChanges.HARD ?? 0, 0, `no member saw HARD: ${JSON.stringify(r.statusChanges)}`);
  return r;
}
