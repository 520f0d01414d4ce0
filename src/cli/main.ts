#!/usr/bin/env node
// demls command line: `simulate` (default), `demo`, `bench`. `--help` on each.
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runDemo } from "./demo.ts";
import { renderReport } from "./report.ts";
import { runScenario, SCENARIOS, type ScenarioName } from "./scenarios.ts";

const HELP: Record<string, string> = {
  main: `usage: demls <command> [options]

commands:
  simulate   run a partition-and-recovery scenario on the embedded simulator (default)
  demo       the MLS-layer fork-and-realign demo
  bench      run every benchmark under bench/ (tables + bench/results/*.json)

demls <command> --help for the options of a command.`,
  simulate: `usage: demls simulate [--scenario NAME] [--members N] [--seed S] [--loss P] [--epochs E] [--json] [--report FILE.html]

  --scenario   ${SCENARIOS.join(" | ")} (default minority-lag)
  --members    group size, >= 4 (default 10; 'large' defaults to 100)
  --seed       simulator seed (default 1)
  --loss       message loss on every link, 0..0.5 (default 0; 'lossy' uses at least 0.2)
  --epochs     epochs committed while split (default 3)
  --json       print one JSON object instead of the progress and table
  --report     write a self-contained HTML report with plots

exit code 0 when every member ends in one state, in sync, with no application message lost.`,
  demo: "usage: demls demo\n\n  ten members fork at the MLS layer and re-align by rewinding to a retained epoch.",
  bench:
    "usage: demls bench\n\n  runs every bench/*.ts (each prints a table and writes bench/results/<name>.json).",
};

class UsageError extends Error {}

function num(name: string, v: string | undefined, def: number, min: number, max: number, int = true): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n)))
    throw new UsageError(
      `--${name}: expected ${int ? "an integer" : "a number"} in ${min}..${max}, got '${v}'`,
    );
  return n;
}

async function simulate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string" },
      members: { type: "string" },
      seed: { type: "string" },
      loss: { type: "string" },
      epochs: { type: "string" },
      json: { type: "boolean" },
      report: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(HELP.simulate);
    return 0;
  }
  const scenario = (values.scenario ?? "minority-lag") as ScenarioName;
  if (!SCENARIOS.includes(scenario))
    throw new UsageError(`--scenario: expected one of ${SCENARIOS.join(", ")}, got '${values.scenario}'`);
  const opts = {
    scenario,
    members: num("members", values.members, scenario === "large" ? 100 : 10, 4, 1000),
    seed: num("seed", values.seed, 1, 0, 2 ** 31),
    loss: num("loss", values.loss, 0, 0, 0.5, false),
    epochs: num("epochs", values.epochs, 3, 1, 100),
  };
  const tty = !values.json && process.stdout.isTTY;
  const r = await runScenario({
    ...opts,
    onProgress: values.json
      ? undefined
      : (p) => {
          const counts: Record<string, number> = {};
          for (const s of Object.values(p.statuses)) counts[s] = (counts[s] ?? 0) + 1;
          const epochs = [...new Set(Object.values(p.epochs))].sort((a, b) => a - b).join(",");
          const line = `t=${(p.timeMs / 1000).toFixed(0).padStart(4)}s  ${p.phase.padEnd(7)} epochs {${epochs}}  ${Object.entries(
            counts,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join("  ")}`;
          if (tty) process.stdout.write(`\r${line.padEnd(100)}`);
          else if (p.timeMs % 10_000 < 1000) console.log(line);
        },
  });
  if (tty) process.stdout.write("\n");
  if (values.report) writeFileSync(values.report, renderReport(r));
  const ok = r.allInSync && r.appLost === 0;
  const { timeline: _t, ...rest } = r;
  if (values.json) console.log(JSON.stringify(rest));
  else {
    const rows: [string, string][] = [
      ["members", `${r.members} (seed ${r.seed})`],
      ["partition plan", r.plan],
      ["detection", r.detectedMs === null ? "-" : `${(r.detectedMs / 1000).toFixed(2)} s after heal`],
      [
        "recovery",
        r.recoveredMs === null ? "NOT RECOVERED" : `${(r.recoveredMs / 1000).toFixed(2)} s after heal`,
      ],
      [
        "recoveries",
        Object.entries(r.recoveries)
          .map(([k, v]) => `${k} x${v}`)
          .join(", ") || "-",
      ],
      [
        "bytes",
        `${(r.bytes / 1024).toFixed(0)} KB (app ${(r.bytesByKind.app / 1024).toFixed(0)}, sync ${(r.bytesByKind.sync / 1024).toFixed(0)}, welcome ${(r.bytesByKind.welcome / 1024).toFixed(0)})`,
      ],
      [
        "app messages",
        `${r.appSent} sent, ${r.appDelivered} deliveries, ${r.appLost} lost, ${r.appDuplicates} duplicates`,
      ],
      ...Object.entries(r.groups).map(([k, v]): [string, string] => [`final state ${k}`, v.join(" ")]),
    ];
    console.log(`\n${scenario}`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(26)} ${v}`);
    if (values.report) console.log(`  report                     ${values.report}`);
  }
  return ok ? 0 : 1;
}

function bench(): number {
  const files = readdirSync("bench").filter((f) => f.endsWith(".ts") && f !== "report.ts");
  for (const b of files) {
    const r = spawnSync(process.execPath, [`bench/${b}`], { stdio: "inherit" });
    if (r.status !== 0) return r.status ?? 1;
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd = "simulate", ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    console.log(HELP.main);
    return 0;
  }
  if (rest.includes("--help") && HELP[cmd]) {
    console.log(HELP[cmd]);
    return 0;
  }
  if (cmd === "simulate") return simulate(rest);
  if (cmd.startsWith("--")) return simulate(argv);
  if (cmd === "demo") return (await runDemo()) ? 0 : 1;
  if (cmd === "bench") return bench();
  throw new UsageError(`unknown command '${cmd}': expected simulate, demo or bench`);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError) && !(e instanceof TypeError && "code" in e)) throw e;
  console.error(`demls: ${e.message}\n\n${HELP.main}`);
  process.exitCode = 2;
}
