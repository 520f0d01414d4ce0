// The behaviour safety net: records what `demls simulate --json` prints (with the simulator's trace
// hash) for every scenario at seeds 1-3 (lossy and three-way-split also at --loss 0.2) and what
// `demls chaos --json` prints for seeds 1..50, wall-clock fields removed. A change that must not change
// behaviour (a refactoring) keeps the file byte-identical.
//
//   npm run trace -- --out trace.json              record
//   npm run trace -- --compare trace.json          record again and compare: exit 1 on any difference
//   options: --jobs J (default 2), --only PREFIX (run the entries whose key starts with PREFIX)
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SCENARIOS } from "../src/cli/scenarios.ts";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const CHAOS_SEEDS = "1..50";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    compare: { type: "string" },
    jobs: { type: "string" },
    only: { type: "string" },
  },
});
if (values.out === undefined && values.compare === undefined) {
  console.error("usage: npm run trace -- (--out FILE | --compare FILE) [--jobs J] [--only PREFIX]");
  process.exit(2);
}
const jobs = Math.max(1, Number(values.jobs ?? 2));

interface Entry {
  readonly key: string;
  readonly args: string[];
}

const entries: Entry[] = [];
for (const scenario of SCENARIOS)
  for (const seed of [1, 2, 3]) {
    const args = ["simulate", "--scenario", scenario, "--seed", String(seed), "--json"];
    entries.push({ key: `simulate ${scenario} seed ${seed}`, args });
    if (scenario === "lossy" || scenario === "three-way-split")
      entries.push({ key: `simulate ${scenario} seed ${seed} loss 0.2`, args: [...args, "--loss", "0.2"] });
  }
entries.push({
  key: `chaos ${CHAOS_SEEDS}`,
  args: ["chaos", "--seeds", CHAOS_SEEDS, "--json", "--jobs", "1"],
});
const chosen = entries.filter((e) => values.only === undefined || e.key.startsWith(values.only));

/** Runs one entry; its output lines, parsed, without wall-clock fields, in a stable order. */
function run(e: Entry): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, ...e.args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.on("error", reject);
    p.on("close", () => {
      const lines = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => {
          const { wallMs: _w, ...rest } = JSON.parse(l) as { wallMs?: number; seed?: number };
          return rest;
        })
        .sort((a, b) => ((a as { seed?: number }).seed ?? 0) - ((b as { seed?: number }).seed ?? 0));
      resolve(lines);
    });
  });
}

const started = Date.now();
const results = new Map<string, unknown[]>();
let next = 0;
await Promise.all(
  Array.from({ length: jobs }, async () => {
    while (next < chosen.length) {
      const e = chosen[next++]!;
      const t = Date.now();
      results.set(e.key, await run(e));
      console.error(`${e.key}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  }),
);
const record = Object.fromEntries(chosen.map((e) => [e.key, results.get(e.key)]));
const text = `${JSON.stringify(record, null, 1)}\n`;
console.error(`${chosen.length} entries in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (values.out !== undefined) writeFileSync(values.out, text);
if (values.compare !== undefined) {
  const before = JSON.parse(readFileSync(values.compare, "utf8")) as Record<string, unknown>;
  let differ = 0;
  for (const e of chosen) {
    const a = JSON.stringify(before[e.key]);
    const b = JSON.stringify(record[e.key]);
    if (a === b) continue;
    differ++;
    console.log(`DIFFERS: ${e.key}\n  before ${a?.slice(0, 400)}\n  now    ${b.slice(0, 400)}`);
  }
  console.log(differ === 0 ? `identical: ${chosen.length} entries` : `${differ} of ${chosen.length} differ`);
  process.exit(differ === 0 ? 0 : 1);
}
