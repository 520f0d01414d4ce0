// Recovery figures on the simulator (scenarios of src/cli/scenarios.ts, scaled timers): detection time after
// heal, time and bytes from heal to one state IN_SYNC against the epochs a minority missed, fork re-alignment
// and rejoin, hard-reset time, and SyncStateInfo gossip bytes per member.
// Usage: node bench/recovery.ts [members...] [scenario...]   (default: 10 100, every row of the plan)
//   Scenario names keep only those rows, e.g. `node bench/recovery.ts 1000 three-way-split`;
//   `scenario:epochs` runs that row whatever the plan, e.g. `node bench/recovery.ts 1000 minority-lag:10`.
//   Above 100 members the plan is the 1-epoch lag and the hard reset (a simulated epoch there costs minutes:
//   every member verifies every vote and processes every commit, 83 KB at 1000), so pass 500 or 1000
//   explicitly.
import { type Progress, runScenario, SCENARIOS, type ScenarioName } from "../src/cli/scenarios.ts";
import { DEFAULT_SYNC_PARAMS } from "../src/sync/params.ts";
import { type Row, report } from "./report.ts";

async function run(scenario: ScenarioName, members: number, epochs: number): Promise<Row> {
  const wall = performance.now();
  // Large runs take an hour: a line on stderr at each phase change and every 10 virtual seconds.
  let lastPhase = "";
  let lastAt = 0;
  const onProgress = (p: Progress) => {
    if (members <= 100 || (p.phase === lastPhase && p.timeMs < lastAt + 10_000)) return;
    const states = new Set(Object.values(p.statuses));
    console.error(
      `  ${scenario} ${members}: ${p.phase} at ${p.timeMs / 1000} s virtual, ${((performance.now() - wall) / 1000).toFixed(0)} s wall, statuses ${[...states].join("/")}`,
    );
    lastPhase = p.phase;
    lastAt = p.timeMs;
  };
  const r = await runScenario({ scenario, members, seed: 1, loss: 0, epochs, onProgress });
  // Bytes from the heal to the moment every member was in one state IN_SYNC (samples every virtual second).
  const healed = r.timeline.find((s) => s.phase === "healed");
  const synced =
    healed && r.recoveredMs !== null
      ? r.timeline.find((s) => s.timeMs >= healed.timeMs + r.recoveredMs!)
      : undefined;
  const last = r.timeline.at(-1)!;
  const intervals = last.timeMs / r.gossip.intervalMs;
  const perInterval = r.gossip.bytes / members / intervals;
  return {
    scenario,
    members,
    "epochs split": epochs,
    "detect s": r.detectedMs === null ? "-" : r.detectedMs / 1000,
    "in sync s": r.recoveredMs === null ? "NOT" : r.recoveredMs / 1000,
    "KB heal→sync": healed && synced ? (synced.bytes - healed.bytes) / 1024 : "-",
    "gossip B/member/interval": perInterval,
    // At the spec's 30 s interval (120 s window) a member sends two per minute plus one per epoch change.
    "gossip B/member/min @30s": (perInterval * 60_000) / DEFAULT_SYNC_PARAMS.gossipIntervalMs,
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
// Row selectors: `scenario` keeps that scenario's rows of the plan, `scenario:epochs` asks for that row.
const selectorArgs = process.argv.slice(2).filter((a) => !(Number(a) > 0));
const selectors = selectorArgs.map((a) => {
  const [name, epochs] = a.split(":");
  const known = (SCENARIOS as readonly string[]).includes(name!);
  const e = epochs === undefined ? undefined : Number(epochs);
  if (!known || (e !== undefined && !(Number.isInteger(e) && e > 0))) {
    console.error(
      `unknown argument ${a}: expected group sizes and scenarios (${SCENARIOS.join(", ")}), optionally scenario:epochs`,
    );
    process.exit(2);
  }
  return { scenario: name as ScenarioName, epochs: e };
});
const rows: Row[] = [];
const fullPlan = (n: number): [ScenarioName, number][] =>
  n > 100
    ? [
        ["minority-lag", 1],
        ["three-way-split", 1],
      ]
    : [
        ["minority-lag", 1],
        ["minority-lag", 10],
        ["minority-lag", 100],
        ["minority-fork", 3],
        ["minority-fork", 6],
        ["three-way-split", 1],
      ];
const plan = (n: number): [ScenarioName, number][] =>
  selectors.length === 0
    ? fullPlan(n)
    : selectors.flatMap(({ scenario, epochs }) =>
        epochs !== undefined
          ? [[scenario, epochs] as [ScenarioName, number]]
          : fullPlan(n).filter(([s]) => s === scenario),
      );
const runSizes = sizes.length ? sizes : [10, 100];
for (const n of runSizes)
  for (const [scenario, epochs] of plan(n)) {
    rows.push(await run(scenario, n, epochs));
    console.error(JSON.stringify(rows.at(-1)));
  }
report(`recovery-${[...runSizes, ...selectorArgs].join("-").replaceAll(":", "x")}`, rows, [
  "minority-lag: 30% cut off while the rest commit; minority-fork: 40% commit their own epochs (6 > 4 retained: rejoin);",
  "three-way-split: 40/30/30, every side commits, no majority: voted hard reset.",
  "Times are virtual (scaled timers: gossip every 1 s, every n/20 s above 20 members); KB heal→sync counts",
  "every member's traffic. Groups above 20 members start from one commit.",
]);
