// The chaos harness: random fault schedules, each a pure function of its seed, run on the simulator.
// A schedule is 1-3 partitions in a row (2-way, 3-way, no majority; sides commit epochs while split),
// 0-30% loss, at most one crash and restart, and chats from random members. A run converges when the
// group ends in one state, everyone IN_SYNC, every chat delivered exactly once to every member it was
// sent to, and that holds for 3 s (docs/chaos.md).
import { FAST_GROUP_PARAMS } from "../group/params.ts";
import { SIMULATION_VOTE_POLICY } from "../group/vote-policy.ts";
import { SeededRng } from "../net/sim/prng.ts";
import { Cluster } from "../node/cluster.ts";
import type { Member } from "../node/member.ts";
import type { SyncEffect } from "../sync/effects.ts";
import { FAST_SYNC_PARAMS } from "../sync/params.ts";

export interface ChaosPhase {
  readonly kind: "2-way" | "3-way" | "no-majority";
  readonly sides: readonly (readonly string[])[];
  /** When the split begins and how long it lasts, ms after the schedule starts. */
  readonly atMs: number;
  readonly durationMs: number;
  /** Key-refresh proposals made while split, each on its proposer's side. */
  readonly commits: readonly { readonly atMs: number; readonly by: string }[];
}

export interface ChaosSchedule {
  readonly seed: number;
  readonly members: number;
  readonly loss: number;
  readonly phases: readonly ChaosPhase[];
  readonly crash?: { readonly name: string; readonly atMs: number; readonly downMs: number } | undefined;
  readonly chats: readonly { readonly atMs: number; readonly from: string }[];
  /** The last heal, ms after the schedule starts. */
  readonly healAtMs: number;
}

export interface ChaosResult {
  readonly seed: number;
  readonly converged: boolean;
  /** Final heal → the converged stretch began (null when it did not converge). */
  readonly convergedMs: number | null;
  /** What was wrong at the deadline (empty when converged). */
  readonly failure: string;
  readonly states: number;
  readonly chatsSent: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly recoveries: Record<string, number>;
  /** The simulator's digest of the run (empty when the run threw): a seed replays to the same hash. */
  readonly traceHash: string;
  readonly wallMs: number;
}

/** How long the converged state must hold. */
export const CHAOS_HOLD_MS = 3_000;
/** How long after the last heal a schedule may take to converge. */
export const CHAOS_DEADLINE_MS = 300_000;

/** The schedule of a seed: the same seed always gives the same schedule. */
export function chaosSchedule(seed: number): ChaosSchedule {
  const rng = new SeededRng(seed ^ 0x5eed);
  const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  const n = int(5, 16);
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const loss = rng.next() < 0.4 ? 0 : Math.round(rng.next() * 30) / 100;
  const phases: ChaosPhase[] = [];
  let t = 1_000;
  for (let p = int(1, 3); p > 0; p--) {
    const { kind, sides } = split(names, rng);
    const durationMs = int(4_000, 15_000);
    const commits: { atMs: number; by: string }[] = [];
    for (const side of sides)
      for (let c = int(0, 2); c > 0; c--)
        commits.push({ atMs: t + int(0, Math.max(0, durationMs - 3_000)), by: side[rng.int(side.length)]! });
    commits.sort((a, b) => a.atMs - b.atMs);
    phases.push({ kind, sides, atMs: t, durationMs, commits });
    // The next split follows at once, or after a short healed stretch.
    t += durationMs + (rng.next() < 0.4 ? 0 : int(500, 6_000));
  }
  const last = phases.at(-1)!;
  const healAtMs = last.atMs + last.durationMs;
  const crash =
    rng.next() < 0.5
      ? { name: names[rng.int(n)]!, atMs: int(0, healAtMs), downMs: int(1_000, 10_000) }
      : undefined;
  const chats = Array.from({ length: int(3, 10) }, () => ({
    atMs: int(0, healAtMs + 3_000),
    from: names[rng.int(n)]!,
  })).sort((a, b) => a.atMs - b.atMs);
  return { seed, members: n, loss, phases, crash, chats, healAtMs };
}

/** Sides of one split: a random cut in two, in three, or one where no side has a majority. */
function split(names: readonly string[], rng: SeededRng): Pick<ChaosPhase, "kind" | "sides"> {
  const n = names.length;
  const shuffled = [...names];
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const cut = (sizes: number[]) => {
    let at = 0;
    return sizes.map((s) => {
      at += s;
      return shuffled.slice(at - s, at);
    });
  };
  const r = rng.next();
  if (r < 0.4) {
    const a = 1 + rng.int(n - 1);
    return { kind: "2-way", sides: cut([a, n - a]) };
  }
  if (r < 0.7) {
    const a = 1 + rng.int(n - 2);
    const b = 1 + rng.int(n - a - 1);
    return { kind: "3-way", sides: cut([a, b, n - a - b]) };
  }
  // No majority: two halves, or three sides of at most n/2 each.
  if (n % 2 === 0 && rng.next() < 0.5) return { kind: "no-majority", sides: cut([n / 2, n / 2]) };
  const half = Math.floor(n / 2);
  const a = 1 + rng.int(half);
  const lo = Math.max(1, n - a - half);
  const b = lo + rng.int(Math.min(half, n - a - 1) - lo + 1);
  return { kind: "no-majority", sides: cut([a, b, n - a - b]) };
}

/** One line per event of a schedule, for failure reports. */
export function describeSchedule(s: ChaosSchedule): string {
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const lines = [`seed ${s.seed}: ${s.members} members, ${Math.round(s.loss * 100)}% loss`];
  for (const p of s.phases) {
    const sides = p.sides.map((x) => x.join(",")).join(" | ");
    lines.push(`  ${sec(p.atMs)} split ${p.kind} for ${sec(p.durationMs)}: ${sides}`);
    for (const c of p.commits) lines.push(`    ${sec(c.atMs)} ${c.by} proposes a key refresh`);
  }
  if (s.crash) lines.push(`  ${sec(s.crash.atMs)} ${s.crash.name} crashes for ${sec(s.crash.downMs)}`);
  lines.push(`  chats: ${s.chats.map((c) => `${c.from}@${sec(c.atMs)}`).join(" ")}`);
  lines.push(`  ${sec(s.healAtMs)} final heal`);
  return lines.join("\n");
}

/** Runs a schedule to convergence or to the deadline; deterministic for a seed. */
export async function runChaos(
  s: ChaosSchedule,
  onEvent?: (e: SyncEffect, m: Member, now: number) => void,
): Promise<ChaosResult> {
  const started = performance.now();
  const recoveries: Record<string, number> = {};
  const cluster = new Cluster({
    seed: s.seed,
    groupParams: FAST_GROUP_PARAMS,
    // Joins through votes with no application voting (docs/decisions.md, "Votes belong to the application").
    votePolicy: SIMULATION_VOTE_POLICY,
    syncParams: FAST_SYNC_PARAMS,
    persist: (name) => name === s.crash?.name,
    onEvent: (e, m) => {
      if (e.type === "recovered") recoveries[e.how] = (recoveries[e.how] ?? 0) + 1;
      onEvent?.(e, m, cluster.now);
    },
  });
  await cluster.form(s.members);
  const sim = cluster.sim;
  sim.setLoss(s.loss);
  const t0 = sim.now;
  const up = (name: string) => sim.isUp(name) && cluster.members.get(name)?.group.group !== undefined;
  for (const p of s.phases) {
    sim.partition(p.sides, t0 + p.atMs);
    for (const c of p.commits)
      sim.at(t0 + c.atMs, async () => {
        if (up(c.by)) await cluster.members.get(c.by)!.proposeRefresh();
      });
    sim.heal(t0 + p.atMs + p.durationMs);
  }
  if (s.crash) cluster.crash(s.crash.name, t0 + s.crash.atMs, t0 + s.crash.atMs + s.crash.downMs);
  let n = 0;
  for (const c of s.chats)
    sim.at(t0 + c.atMs, async () => {
      if (up(c.from)) await cluster.chat(c.from, `${c.from}#${n++}`);
    });
  const healAt = t0 + s.healAtMs;
  await sim.runUntil(healAt);
  const deadline = healAt + CHAOS_DEADLINE_MS;
  let since: number | null = null;
  while (sim.now < deadline && (since === null || sim.now - since < CHAOS_HOLD_MS)) {
    await sim.runFor(500);
    since = cluster.settled() && cluster.duplicateChats() === 0 ? (since ?? sim.now) : null;
  }
  // A step of a member that threw is caught and counted by the member; here it fails the seed.
  const faults = cluster.faults.map((f) => `${f.member} ${f.code} (${f.detail})`);
  const converged = faults.length === 0 && since !== null && sim.now - since >= CHAOS_HOLD_MS;
  const missing = cluster.missingChats();
  const lost = [...missing.values()].reduce((a, l) => a + l.length, 0);
  const states = cluster.distinctStates();
  const statuses = cluster.summary().map((m) => `${m.name}:${m.status}`);
  const failure = converged
    ? ""
    : [
        `states ${JSON.stringify(Object.fromEntries(states))}`,
        `statuses ${statuses.join(" ")}`,
        lost ? `missing ${JSON.stringify(Object.fromEntries(missing))}` : "",
        cluster.duplicateChats() ? `duplicates ${cluster.duplicateChats()}` : "",
        faults.length ? `${faults.length} faults, the first: ${faults[0]}` : "",
      ]
        .filter(Boolean)
        .join("; ");
  return {
    seed: s.seed,
    converged,
    convergedMs: converged ? since! - healAt : null,
    failure,
    states: states.size,
    chatsSent: cluster.chats.sent.size,
    lost,
    duplicates: cluster.duplicateChats(),
    recoveries,
    traceHash: sim.traceHash(),
    wallMs: Math.round(performance.now() - started),
  };
}

/** The result of a seed whose run threw. */
export function crashed(seed: number, e: unknown): ChaosResult {
  return {
    seed,
    converged: false,
    convergedMs: null,
    failure: `crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    states: 0,
    chatsSent: 0,
    lost: 0,
    duplicates: 0,
    recoveries: {},
    traceHash: "",
    wallMs: 0,
  };
}

/**
 * Runs seeds `from`..`to` on `jobs` worker threads; `onResult` sees each result as it comes (in
 * completion order). Resolves with every result, by seed.
 */
export async function runChaosSeeds(
  from: number,
  to: number,
  jobs: number,
  onResult?: (r: ChaosResult) => void,
): Promise<ChaosResult[]> {
  const { Worker } = await import("node:worker_threads");
  const results: ChaosResult[] = [];
  let next = from;
  const work = (w: InstanceType<typeof Worker>) =>
    new Promise<void>((resolve, reject) => {
      const feed = () => w.postMessage(next <= to ? next++ : null);
      w.on("message", (r: ChaosResult) => {
        results.push(r);
        onResult?.(r);
        feed();
      });
      w.on("error", reject);
      w.on("exit", () => resolve());
      feed();
    });
  const workers = Array.from(
    { length: Math.max(1, Math.min(jobs, to - from + 1)) },
    () =>
      new Worker(
        new URL(`./chaos-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
      ),
  );
  await Promise.all(workers.map(work));
  return results.sort((a, b) => a.seed - b.seed);
}
