#!/usr/bin/env node
// demls command line: `simulate` (default), `node`, `net`, `demo`, `bench`. `--help` on each.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { PROPOSAL_KINDS, type ProposalKind } from "../group/vote-policy.ts";
import { DemlsError } from "../util/errors.ts";
import { HELP, num, parseSeeds, UsageError } from "./args.ts";
import { chaosSchedule, describeSchedule, parseClasses, runChaosSeeds } from "./chaos.ts";
import { runDemo } from "./demo.ts";
import { NET_PLANS, type NetPlan, netTimeScale, runNet } from "./net.ts";
import { runNode } from "./node.ts";
import { renderReport } from "./report.ts";
import { runScenario, SCENARIOS, type ScenarioName } from "./scenarios.ts";

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
      quiet: { type: "boolean" },
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
    epochs: num("epochs", values.epochs, scenario === "large" ? 20 : 3, 1, 100),
  };
  const tty = !values.json && process.stdout.isTTY;
  // Off a terminal a progress line goes out whenever the epochs or the statuses change (a transient HARD
  // or FORKED shows), and at least every 10 s of virtual time.
  let lastShown = "";
  let lastShownAt = Number.NEGATIVE_INFINITY;
  const r = await runScenario({
    ...opts,
    onProgress:
      values.json || values.quiet
        ? undefined
        : (p) => {
            const counts: Record<string, number> = {};
            for (const st of Object.values(p.statuses)) counts[st] = (counts[st] ?? 0) + 1;
            const epochs = [...new Set(Object.values(p.epochs))].sort((a, b) => a - b).join(",");
            const what = `${p.phase.padEnd(7)} epochs {${epochs}}  ${Object.entries(counts)
              .map(([k, v]) => `${k} ${v}`)
              .join("  ")}`;
            const line = `t=${(p.timeMs / 1000).toFixed(0).padStart(4)}s  ${what}`;
            if (tty) process.stdout.write(`\r${line.padEnd(100)}`);
            else if (what !== lastShown || p.timeMs - lastShownAt >= 10_000) {
              console.log(line);
              lastShown = what;
              lastShownAt = p.timeMs;
            }
          },
  });
  if (tty) process.stdout.write("\n");
  if (values.report) writeFileSync(values.report, renderReport(r));
  const ok = r.allInSync && r.appLost === 0;
  const { timeline: _t, recoveryMarks: _m, ...rest } = r;
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
      ["recoveries", tally(r.recoveries)],
      ["status changes", tally(r.statusChanges)],
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

async function chaos(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: "string" },
      only: { type: "string" },
      jobs: { type: "string" },
      json: { type: "boolean" },
    },
  });
  let classes: ReturnType<typeof parseClasses>;
  try {
    classes = parseClasses(values.only ?? "classic");
  } catch (e) {
    throw new UsageError(`--only: ${(e as Error).message}`);
  }
  const seeds = parseSeeds(values.seeds ?? "1..100");
  const jobs = num("jobs", values.jobs, availableParallelism(), 1, 64);
  const started = Date.now();
  let done = 0;
  let failed = 0;
  let shownAt = started;
  const total = seeds.length;
  // Progress: a live line on a terminal; elsewhere a line every 10 s, so a long sweep is seen to move.
  const progress = () =>
    `${done}/${total} run, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`;
  const results = await runChaosSeeds(
    seeds,
    jobs,
    (r) => {
      done++;
      if (!r.converged) failed++;
      if (values.json) console.log(JSON.stringify(r));
      else if (!r.converged)
        console.log(`\nFAILED ${describeSchedule(chaosSchedule(r.seed, classes))}\n  -> ${r.failure}`);
      else if (process.stdout.isTTY) process.stdout.write(`\r${progress()}`);
      else if (Date.now() - shownAt >= 10_000) {
        shownAt = Date.now();
        console.log(progress());
      }
    },
    classes,
  );
  const ok = results.filter((r) => r.converged);
  const times = ok.map((r) => r.convergedMs!).sort((a, b) => a - b);
  const pct = (p: number) =>
    times.length ? (times[Math.floor((times.length - 1) * p)]! / 1000).toFixed(1) : "-";
  if (!values.json) {
    if (process.stdout.isTTY) process.stdout.write("\n");
    console.log(
      `${ok.length}/${results.length} seeds converged (seeds ${values.seeds ?? "1..100"}${classes.length ? `, classes ${classes.join(",")}` : ""}; heal to converged p50 ${pct(0.5)} s, p99 ${pct(0.99)} s, max ${pct(1)} s of virtual time; ${((Date.now() - started) / 1000).toFixed(0)} s wall)`,
    );
    const failed = results.filter((r) => !r.converged).map((r) => r.seed);
    if (failed.length) console.log(`failed seeds: ${failed.join(" ")}`);
  }
  return ok.length === results.length ? 0 : 1;
}

/** `--seeds`: `A..B`, one seed, or seeds separated by commas (`32,41,72`). */
/** Runs every bench/*.ts, then merges their JSON into bench/results/all.json and all.md. */
function bench(): number {
  // The benchmarks are not part of the package: they run from a clone of the repository.
  if (!existsSync("bench/report.ts"))
    throw new DemlsError(
      "NEEDS_REPOSITORY",
      "demls bench runs the benchmarks of a clone of the demls repository (bench/ is not in the package): run it in the clone",
    );
  const files = readdirSync("bench").filter((f) => f.endsWith(".ts") && f !== "report.ts");
  const started = Date.now();
  for (const b of files) {
    // Large groups keep every member's MLS state (with retained epochs) in one process.
    const r = spawnSync(process.execPath, ["--max-old-space-size=16384", `bench/${b}`], { stdio: "inherit" });
    if (r.status !== 0) return r.status ?? 1;
  }
  // Result files are named by what ran (`group-10-100.json`): merge the ones this invocation wrote.
  const results = readdirSync("bench/results")
    .filter((f) => f.endsWith(".json") && f !== "all.json")
    .map((f) => `bench/results/${f}`)
    .filter((f) => statSync(f).mtimeMs >= started)
    .sort()
    .map((f) => JSON.parse(readFileSync(f, "utf8")) as BenchResult);
  writeFileSync("bench/results/all.json", `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync("bench/results/all.md", results.map(markdownTable).join("\n"));
  console.log("\n-> bench/results/all.json, bench/results/all.md");
  return 0;
}

interface BenchResult {
  bench: string;
  node: string;
  date: string;
  rows: Record<string, string | number>[];
  notes: string[];
}

function markdownTable(r: BenchResult): string {
  const cols = Object.keys(r.rows[0] ?? {});
  const cell = (v: string | number | undefined) =>
    typeof v === "number" ? String(Math.round(v * 100) / 100) : (v ?? "");
  return [
    `## ${r.bench}`,
    "",
    `| ${cols.join(" | ")} |`,
    `|${cols.map(() => "---").join("|")}|`,
    ...r.rows.map((row) => `| ${cols.map((c) => cell(row[c])).join(" | ")} |`),
    "",
    ...r.notes.map((n) => `- ${n}`),
    `- ${r.node}, ${r.date}`,
    "",
  ].join("\n");
}

async function node(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: "string" },
      listen: { type: "string" },
      peer: { type: "string", multiple: true },
      create: { type: "boolean" },
      data: { type: "string" },
      conversation: { type: "string" },
      "auto-yes": { type: "string" },
      verbose: { type: "boolean" },
      quiet: { type: "boolean" },
    },
  });
  if (!values.name || !/^[\w.-]{1,64}$/.test(values.name))
    throw new UsageError(
      `--name: expected 1-64 letters, digits, '.', '-' or '_', got '${values.name ?? ""}'`,
    );
  const listen = values.listen ?? "/ip4/127.0.0.1/tcp/0";
  if (!listen.startsWith("/"))
    throw new UsageError(`--listen: expected a multiaddr like /ip4/127.0.0.1/tcp/9001, got '${listen}'`);
  for (const p of values.peer ?? [])
    if (!p.includes("/p2p/"))
      throw new UsageError(
        `--peer: expected a multiaddr ending in /p2p/<peer id> (as printed by 'listening'), got '${p}'`,
      );
  const autoYes = (values["auto-yes"] ?? "").split(",").filter((k) => k !== "");
  for (const k of autoYes)
    if (!PROPOSAL_KINDS.includes(k as ProposalKind))
      throw new UsageError(`--auto-yes: expected kinds among ${PROPOSAL_KINDS.join(", ")}, got '${k}'`);
  return runNode({
    name: values.name,
    listen,
    peers: values.peer ?? [],
    create: values.create ?? false,
    dataFile: values.data ?? `${values.name}.sqlite`,
    conversation: values.conversation ?? "demo",
    autoYes: autoYes as ProposalKind[],
    verbose: values.verbose ?? false,
    quiet: values.quiet ?? false,
  });
}

async function net(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      plan: { type: "string" },
      members: { type: "string" },
      minority: { type: "string" },
      epochs: { type: "string" },
      transport: { type: "string" },
      data: { type: "string" },
      "time-scale": { type: "string" },
      json: { type: "boolean" },
    },
  });
  const transport = values.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "memory")
    throw new UsageError(`--transport: expected tcp or memory, got '${transport}'`);
  const members = num("members", values.members, 6, 3, 100);
  const plan = (values.plan ?? "minority-lag") as NetPlan;
  if (!NET_PLANS.includes(plan))
    throw new UsageError(`--plan: expected one of ${NET_PLANS.join(", ")}, got '${values.plan}'`);
  const r = await runNet({
    transport,
    plan,
    members,
    minority: num("minority", values.minority, 2, 1, Math.floor(members / 2)),
    epochs: num("epochs", values.epochs, 2, 1, 20),
    timeScale: num("time-scale", values["time-scale"], netTimeScale(members), 0.1, 100, false),
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.json ? {} : { onLine: (l: string) => console.log(`  ${l}`) }),
  });
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(`\nnet (libp2p ${r.transport})`);
    console.log(
      `  members                    ${r.members} (formed in ${(r.formMs / 1000).toFixed(1)} s, timers x${r.timeScale})`,
    );
    console.log(`  partition plan             ${r.plan}`);
    console.log(
      `  detection                  ${r.detectedMs === null ? "-" : `${(r.detectedMs / 1000).toFixed(2)} s after heal`}`,
    );
    console.log(
      `  recovery                   ${r.recoveredMs === null ? "NOT RECOVERED" : `${(r.recoveredMs / 1000).toFixed(2)} s after heal`}`,
    );
    console.log(`  recoveries                 ${tally(r.recoveries)}`);
    console.log(`  app messages               ${r.appSent} sent, ${r.appLost} lost`);
    for (const [k, v] of Object.entries(r.groups))
      console.log(`  final state ${k.padEnd(15)} ${v.join(" ")}`);
  }
  return r.recoveredMs !== null && r.appLost === 0 ? 0 : 1;
}

/** `{ a: 2, b: 1 }` → `a x2, b x1` (`-` when empty). */
function tally(counts: Readonly<Record<string, number | undefined>>): string {
  return (
    Object.entries(counts)
      .map(([k, v]) => `${k} x${v}`)
      .join(", ") || "-"
  );
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
  if (cmd === "node") return node(rest);
  if (cmd === "net") return net(rest);
  if (cmd === "chaos") return chaos(rest);
  throw new UsageError(`unknown command '${cmd}': expected simulate, chaos, node, net, demo or bench`);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof DemlsError) {
    // A data file it cannot run, say: what and why, not a stack trace.
    console.error(`demls: ${e.message} (${e.code})`);
    process.exitCode = 2;
  } else {
    if (!(e instanceof UsageError) && !(e instanceof TypeError && "code" in e)) throw e;
    console.error(`demls: ${e.message}\n\n${HELP.main}`);
    process.exitCode = 2;
  }
}
