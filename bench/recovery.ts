// Recovery figures on the simulator (scenarios of src/cli/scenarios.ts, scaled timers): detection time after
// heal, time and bytes from heal to one state IN_SYNC against the epochs a minority missed, hard-reset time,
// and sync gossip bytes per member per gossip interval.
// Usage: node bench/recovery.ts [members...]   (default: 10)
import { runScenario, type ScenarioName } from "../src/cli/scenarios.ts";
import { FAST_SYNC_PARAMS } from "../src/sync/core.ts";
import { type Row, report } from "./report.ts";

async function run(scenario: ScenarioName, members: number, epochs: number): Promise<Row> {
  const wall = performance.now();
  const r = await runScenario({ scenario, members, seed: 1, loss: 0, epochs });
  const healed = r.timeline.find((s) => s.phase === "healed");
  const last = r.timeline.at(-1)!;
  const gossipIntervals = last.timeMs / FAST_SYNC_PARAMS.gossipIntervalMs;
  return {
    scenario,
    members,
    "epochs split": epochs,
    "detect s": r.detectedMs === null ? "-" : r.detectedMs / 1000,
    "in sync s": r.recoveredMs === null ? "NOT" : r.recoveredMs / 1000,
    "KB heal→sync": healed ? (last.bytes - healed.bytes) / 1024 : "-",
    "gossip B/member/interval": r.bytesByKind.sync / members / gossipIntervals,
    paths: Object.entries(r.recoveries)
      .map(([k, v]) => `${k}x${v}`)
      .join(" "),
    lost: r.appLost,
    "wall s": (performance.now() - wall) / 1000,
  };
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((x) => x > 0);
const rows: Row[] = [];
for (const n of sizes.length ? sizes : [10]) {
  for (const epochs of [1, 10, 100]) rows.push(await run("minority-lag", n, epochs));
  rows.push(await run("minority-fork", n, 3));
  rows.push(await run("minority-fork", n, 6));
  rows.push(await run("three-way-split", n, 1));
  for (const r of rows.slice(-6)) console.error(JSON.stringify(r));
}
report("recovery", rows, [
  "minority-lag: 30% cut off while the rest commit; minority-fork: 40% commit their own epochs (6 > 4 retained: rejoin);",
  "three-way-split: 40/30/30, every side commits, no majority: voted hard reset.",
  "Times are virtual (scaled timers: gossip every 1 s); KB heal→sync counts every member's traffic.",
]);
