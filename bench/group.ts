// de-MLS group figures on the simulator: time to commit an epoch (a key refresh: proposal, votes, steward
// commit, freeze and selection) and to admit a member (KeyPackage, add proposal, votes, commit, Welcome),
// and the bytes every member put on the wire for each, at 10 and 100 members, with the spec's timers and
// with the scaled ones. Groups are set up in one MLS commit (Cluster.bootstrap); the measured steps run the
// full protocol. Usage: node bench/group.ts [sizes...] [--scaled | --spec]   (default: 10 100, both)
import { DEFAULT_GROUP_PARAMS, FAST_GROUP_PARAMS } from "../src/group/params.ts";
import { Cluster } from "../src/node/cluster.ts";
import { DEFAULT_SYNC_PARAMS, FAST_SYNC_PARAMS } from "../src/sync/params.ts";
import { type Row, report } from "./report.ts";

const bytesOnWire = (c: Cluster) =>
  [...c.members.values()].reduce((a, m) => a + m.bytesOut.app + m.bytesOut.sync + m.bytesOut.welcome, 0);

/** Runs until `done` or `limitMs` of virtual time; returns the virtual time it took. */
async function until(c: Cluster, done: () => boolean, limitMs: number, stepMs: number): Promise<number> {
  const t0 = c.sim.now;
  while (!done() && c.sim.now - t0 < limitMs) await c.sim.runFor(stepMs);
  if (!done()) throw new Error(`not done after ${limitMs} ms: ${JSON.stringify([...c.distinctStates()])}`);
  return c.sim.now - t0;
}

/** One stderr line per phase: a 1000-member run takes over an hour and the table comes at the end. */
const progress = (n: number, timers: string, phase: string, wallMs: number) =>
  console.error(`[${n} ${timers}] ${phase}, ${(wallMs / 1000).toFixed(0)} s wall`);

async function run(n: number, timers: "spec" | "scaled"): Promise<Row> {
  const spec = timers === "spec";
  const c = new Cluster({
    seed: 5,
    link: { latencyMs: 50, jitterMs: 50 },
    groupParams: spec ? DEFAULT_GROUP_PARAMS : FAST_GROUP_PARAMS,
    syncParams: spec ? DEFAULT_SYNC_PARAMS : FAST_SYNC_PARAMS,
  });
  const step = spec ? 1_000 : 100;
  let wall = performance.now();
  await c.bootstrap(n);
  // Let KeyPackage sets and the first gossip settle before measuring.
  await c.sim.runFor(spec ? 120_000 : 5_000);
  const setupWall = performance.now() - wall;
  progress(n, timers, "set up", setupWall);
  const all = () => [...c.members.keys()];
  const oneState = () => c.distinctStates().size === 1;

  wall = performance.now();
  let bytes = bytesOnWire(c);
  const e0 = c.epochOf("m0");
  await c.members.get("m1")!.proposeRefresh();
  const commitMs = await until(c, () => all().every((m) => c.epochOf(m) > e0) && oneState(), 600_000, step);
  const commitBytes = bytesOnWire(c) - bytes;
  const commitWall = performance.now() - wall;
  progress(n, timers, `committed in ${commitMs / 1000} s virtual`, commitWall);

  wall = performance.now();
  bytes = bytesOnWire(c);
  const e1 = c.epochOf("m0");
  await c.add("joiner", "joiner");
  const admitMs = await until(c, () => c.converged() && oneState() && c.epochOf("m0") > e1, 900_000, step);
  const admitBytes = bytesOnWire(c) - bytes;
  const admitWall = performance.now() - wall;
  return {
    members: n,
    timers,
    "commit s": commitMs / 1000,
    "commit KB": commitBytes / 1024,
    "KB/member": commitBytes / 1024 / n,
    "admit s": admitMs / 1000,
    "admit KB": admitBytes / 1024,
    "setup wall s": setupWall / 1000,
    "commit wall s": commitWall / 1000,
    "admit wall s": admitWall / 1000,
    "heap MB": process.memoryUsage().heapUsed / 2 ** 20,
  };
}

const args = process.argv.slice(2);
const sizes = args.map(Number).filter((x) => x > 0);
// `--scaled` or `--spec` runs one timer set only (a 1000-member run of both takes hours).
const timerSets = (["scaled", "spec"] as const).filter(
  (t) => !args.includes(t === "spec" ? "--scaled" : "--spec"),
);
const rows: Row[] = [];
const runSizes = sizes.length ? sizes : [10, 100];
for (const n of runSizes)
  for (const timers of timerSets) {
    rows.push(await run(n, timers));
    console.error(JSON.stringify(rows.at(-1)));
  }
report(`group-${runSizes.join("-")}${timerSets.length === 1 ? `-${timerSets[0]}` : ""}`, rows, [
  "commit: key-refresh proposal to every member in the new epoch; admit: joiner's KeyPackage to joined, one state.",
  "KB: bytes every member put on the wire (SDS app channel, sync gossip, welcome topic) during that step.",
  "Simulated links 50 + 0-50 ms; times are virtual, wall seconds are this machine's.",
]);
