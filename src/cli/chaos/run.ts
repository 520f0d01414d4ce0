// Runs one chaos schedule on a simulated cluster to convergence or to the deadline, deterministic for a
// seed: forms the group, lays out the splits, the crash, the chats and whatever the fault classes drew,
// then checks the verdict (verdict.ts) every 500 ms of virtual time after the last heal.
import { FAST_GROUP_PARAMS } from "../../group/params.ts";
import { AUTO_YES, SIMULATION_VOTE_POLICY } from "../../group/vote-policy.ts";
import { Cluster } from "../../node/cluster.ts";
import type { Member } from "../../node/member.ts";
import type { SyncEffect } from "../../sync/effects.ts";
import { FAST_SYNC_PARAMS } from "../../sync/params.ts";
import { toHex } from "../../util/bytes.ts";
import { DemlsError } from "../../util/errors.ts";
import type { ChaosSchedule, StepCrash, StepTrigger } from "./types.ts";
import { verdictOf } from "./verdict.ts";

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
  /** The fault classes of the schedule (absent for a classic one). */
  readonly classes?: string | undefined;
  /** The final roster's size, when the schedule changes membership or kills members. */
  readonly roster?: number | undefined;
  /** How many of the schedule's crashes at a step happened (their event may never come). */
  readonly stepCrashes?: number | undefined;
  /** What duplication and reordering did (`dup-reorder`). */
  readonly injected?: { readonly duplicated: number; readonly delayed: number } | undefined;
}

/** How long the converged state must hold. */
export const CHAOS_HOLD_MS = 3_000;
/** How long after the last heal a schedule may take to converge. */
export const CHAOS_DEADLINE_MS = 300_000;

/** Whether effect `e` is the event a step crash waits for. */
function isTrigger(after: StepTrigger, e: SyncEffect): boolean {
  if (after === "joined") return e.type === "joined";
  if (after === "epoch") return e.type === "epoch";
  if (after === "decided") return e.type === "decided";
  if (after === "hard") return e.type === "status" && e.status === "HARD";
  return false;
}

/** Runs a schedule to convergence or to the deadline; deterministic for a seed. */
export async function runChaos(
  s: ChaosSchedule,
  onEvent?: (e: SyncEffect, m: Member, now: number) => void,
): Promise<ChaosResult> {
  const started = performance.now();
  const recoveries: Record<string, number> = {};
  const stepCrashes = s.stepCrashes ?? [];
  const restarted = new Set([s.crash?.name, ...stepCrashes.map((c) => c.name)]);
  // Crashes at an event, armed once the schedule has started (t0) and its `fromMs` has come.
  const waiting = new Set(stepCrashes.filter((c) => c.after !== "time"));
  let t0: number | undefined;
  let stepCrashed = 0;
  const fire = (c: StepCrash) => {
    waiting.delete(c);
    if (cluster.sim.isUp(c.name) && cluster.members.has(c.name))
      cluster.crashAfterInputs(c.name, c.inputs, c.downMs, () => void stepCrashed++);
  };
  const churning = (s.churn ?? []).some((e) => e.kind === "remove");
  const trace = new Set(process.env.DEMLS_CHAOS_TRACE?.split(",") ?? []);
  // Every member each member held a state with: chats are owed only to those (verdict.ts).
  const shared = new Map<string, Set<string>>();
  // Chats by id (hex); those sent while a member in a group no longer had their sender on its roster (a
  // branch had removed it); of those, the ones their sender was told are lost (verdict.ts).
  const chatText = new Map<string, string>();
  const removedAtSend = new Set<string>();
  const lostChats = new Set<string>();
  const cluster = new Cluster({
    seed: s.seed,
    groupParams: FAST_GROUP_PARAMS,
    // Joins through votes with no application voting (docs/decisions.md, "Votes belong to the application");
    // with churn, the applications also approve every removal a member proposes.
    votePolicy: churning ? { ...SIMULATION_VOTE_POLICY, remove: AUTO_YES } : SIMULATION_VOTE_POLICY,
    syncParams: FAST_SYNC_PARAMS,
    persist: (name) => restarted.has(name),
    onEvent: (e, m) => {
      if (e.type === "recovered") recoveries[e.how] = (recoveries[e.how] ?? 0) + 1;
      if (waiting.size > 0 && t0 !== undefined)
        for (const c of waiting)
          if (c.name === m.name && cluster.now >= t0 + c.fromMs && isTrigger(c.after, e)) fire(c);
      onEvent?.(e, m, cluster.now);
      if (e.type === "chatLost") {
        const text = chatText.get(toHex(e.id));
        if (text !== undefined && removedAtSend.has(text)) lostChats.add(text);
      }
      if (e.type === "epoch" || e.type === "joined") {
        const seen = shared.get(m.name) ?? new Set<string>();
        for (const r of m.roster()) seen.add(r);
        shared.set(m.name, seen);
      }
      if (trace.has(m.name)) traceEvent(e, m.name, cluster.now - (t0 ?? 0));
    },
  });
  await cluster.form(s.members);
  for (const m of cluster.members.values()) shared.set(m.name, new Set(m.roster()));
  const sim = cluster.sim;
  sim.setLoss(s.loss);
  if (s.linkFaults) sim.setLinkFaults(s.linkFaults);
  t0 = sim.now;
  const start = t0;
  const up = (name: string) => sim.isUp(name) && cluster.members.get(name)?.group.group !== undefined;
  // A command the member refuses (it was removed, it has no group yet, it is stopped) is the schedule's
  // bad luck, not a failure: noted for the report.
  const refused: string[] = [];
  const command = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof DemlsError)) throw e;
      refused.push(`${what}: ${e.code}`);
    }
  };
  for (const p of s.phases) {
    sim.partition(p.sides, start + p.atMs);
    for (const c of p.commits)
      sim.at(start + c.atMs, async () => {
        const m = cluster.members.get(c.by);
        if (m !== undefined && up(c.by)) await command(`${c.by} refresh`, () => m.proposeRefresh());
      });
    sim.heal(start + p.atMs + p.durationMs);
  }
  if (s.crash) cluster.crash(s.crash.name, start + s.crash.atMs, start + s.crash.atMs + s.crash.downMs);
  for (const c of s.oneWay ?? []) {
    sim.cutOneWay(c.from, c.to, start + c.atMs);
    sim.restoreOneWay(c.from, c.to, start + c.atMs + c.durationMs);
  }
  for (const d of s.dead ?? []) cluster.kill(d.name, start + d.atMs);
  for (const c of stepCrashes) if (c.after === "time") sim.at(start + c.fromMs, () => fire(c));
  const outAtSend = new Map<string, Set<string>>();
  const mayLeave = new Set<string>();
  for (const e of s.churn ?? []) {
    if (e.kind === "leave") mayLeave.add(e.by);
    if (e.kind === "remove") mayLeave.add(e.target!);
    sim.at(start + e.atMs, async () => {
      if (e.kind === "add") {
        await cluster.add(e.by, "joiner");
        sim.joinSide(e.by, e.target!);
        return;
      }
      const m = cluster.members.get(e.by);
      if (m === undefined || !up(e.by)) return;
      if (e.kind === "remove") await command(`${e.by} remove ${e.target}`, () => m.proposeRemove(e.target!));
      else if (e.kind === "leave") await command(`${e.by} leave`, () => m.leave());
      else await command(`${e.by} rejoin`, () => m.requestRejoin());
    });
  }
  let n = 0;
  for (const c of s.chats)
    sim.at(start + c.atMs, async () => {
      if (!up(c.from)) return;
      const text = `${c.from}#${n++}`;
      const out = [...cluster.members.values()].filter((m) => m.removed).map((m) => m.name);
      if (out.length) outAtSend.set(text, new Set(out));
      const dropped = [...cluster.members.values()].some(
        (m) => m.name !== c.from && m.group.group !== undefined && !m.removed && !m.roster().includes(c.from),
      );
      if (dropped) removedAtSend.add(text);
      await command(`${c.from} chat`, async () => {
        chatText.set(await cluster.chat(c.from, text), text);
      });
    });
  const expect = { mayLeave, outAtSend, shared, lost: lostChats };
  const healAt = start + s.healAtMs;
  await sim.runUntil(healAt);
  const deadline = healAt + CHAOS_DEADLINE_MS;
  let since: number | null = null;
  while (sim.now < deadline && (since === null || sim.now - since < CHAOS_HOLD_MS)) {
    await sim.runFor(500);
    since = verdictOf(cluster, expect).ok && cluster.duplicateChats() === 0 ? (since ?? sim.now) : null;
  }
  // A step of a member that threw is caught and counted by the member; here it fails the seed.
  const faults = cluster.faults.map((f) => `${f.member} ${f.code} (${f.detail})`);
  if (process.env.DEMLS_CHAOS_DUMP) dumpMembers(cluster, process.env.DEMLS_CHAOS_DUMP.split(","));
  const converged = faults.length === 0 && since !== null && sim.now - since >= CHAOS_HOLD_MS;
  const verdict = verdictOf(cluster, expect);
  const lost = [...verdict.missing.values()].reduce((a, l) => a + l.length, 0);
  const states = cluster.distinctStates();
  const statuses = [
    ...cluster.summary().map((m) => `${m.name}:${cluster.members.get(m.name)!.status}`),
    ...[...cluster.dead].map((name) => `${name}:dead`),
  ];
  const changesMembers = (s.churn?.length ?? 0) > 0 || (s.dead?.length ?? 0) > 0;
  const failure = converged
    ? ""
    : [
        `states ${JSON.stringify(Object.fromEntries(states))}`,
        `statuses ${statuses.join(" ")}`,
        changesMembers ? `roster ${verdict.roster?.join(",") ?? "(no single state)"}` : "",
        verdict.problems.join("; "),
        lost ? `missing ${JSON.stringify(Object.fromEntries(verdict.missing))}` : "",
        cluster.duplicateChats() ? `duplicates ${cluster.duplicateChats()}` : "",
        faults.length
          ? `${faults.length} faults, the first: ${faults[0]}${since !== null && sim.now - since >= CHAOS_HOLD_MS ? " (converged otherwise)" : ""}`
          : "",
        refused.length ? `refused commands: ${refused.join(", ")}` : "",
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
    ...(s.classes?.length ? { classes: s.classes.join(",") } : {}),
    ...(changesMembers ? { roster: verdict.roster?.length } : {}),
    ...(stepCrashes.length ? { stepCrashes: stepCrashed } : {}),
    ...(s.linkFaults ? { injected: { ...sim.injected } } : {}),
  };
}

/** The result of a seed whose run threw. */
export function crashed(seed: number, e: unknown, classes?: readonly string[]): ChaosResult {
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
    ...(classes?.length ? { classes: classes.join(",") } : {}),
  };
}

/**
 * `DEMLS_CHAOS_TRACE=m1,j0`: each named member's epochs, statuses, joins, removals, recoveries, resets,
 * decisions and rejections as they happen, with the schedule's time, on stderr.
 */
function traceEvent(e: SyncEffect, who: string, at: number): void {
  const t = `${(at / 1000).toFixed(1)}s ${who}`;
  const hex = (b: Uint8Array) => toHex(b).slice(0, 8);
  if (e.type === "status") console.error(`${t} ${e.previous} -> ${e.status}`);
  else if (e.type === "epoch") console.error(`${t} epoch ${e.epoch}`);
  else if (e.type === "joined") console.error(`${t} joined at ${e.epoch}`);
  else if (e.type === "removed") console.error(`${t} removed`);
  else if (e.type === "recovered") console.error(`${t} recovered by ${e.how} (${e.epochs})`);
  else if (e.type === "reset") console.error(`${t} reset to ${hex(e.groupId)} from ${hex(e.operator)}`);
  else if (e.type === "decided") console.error(`${t} decided ${e.proposalId.slice(0, 8)} ${e.decision}`);
  else if (e.type === "rejected") console.error(`${t} rejected ${e.code} ${e.detail}`);
}

/**
 * `DEMLS_CHAOS_DUMP=m1,j0`: at the deadline, each named member's status, sync keys (current and previous,
 * hex prefixes), counters of both cores, the views it holds (member, group, epoch, when heard), its group
 * (epoch, active or not, roster), whether it is rejoining or in a reset round, its last verdict's states
 * and what it tracks of each sender's chats, on stderr: the first thing to read of a failed seed.
 */
function dumpMembers(cluster: Cluster, names: readonly string[]): void {
  const name = (hex: string) => Buffer.from(hex, "hex").toString();
  const short = (bytes: Uint8Array, n = 6) => toHex(bytes).slice(0, n);
  for (const who of names) {
    const m = cluster.members.get(who);
    if (m === undefined) continue;
    const gs = m.group.state;
    const views = [...m.sync.state.views].map(
      ([w, v]) => `${name(w)}:${v.groupId.slice(0, 8)}/${v.epoch}@${Math.round(v.receivedAt)}`,
    );
    const g = m.group.group;
    const group = g
      ? `${g.epoch} ${g.state.groupActiveState.kind} roster ${m.group.rosterIds().map(toHex).map(name).join(",")}`
      : "none";
    const reset = m.sync.state.reset;
    const last = m.sync.lastVerdict;
    const verdict = `${last?.reporting ?? 0}/${last?.rosterSize ?? 0} ${(last?.states ?? [])
      .map((s) => `${s.epoch}:${short(s.fingerprint, 8)}=${s.members.map(name).join(",")}`)
      .join(" ")}`;
    const seqs = [...m.group.chatSequences()]
      .map(([w, e]) => `${name(w)}:${e.first}..${e.high} have ${[...e.have].sort((a, b) => a - b).join(",")}`)
      .join("; ");
    console.error(
      `${who} ${m.status} at ${Math.round(cluster.now)}, sync key ${gs.syncKey ? short(gs.syncKey.key) : "none"} (previous ${gs.previousSyncKeys.map((k) => short(k)).join(",")})`,
      `\n  sync ${JSON.stringify(m.sync.state.counters)}\n  group ${JSON.stringify(gs.counters)}`,
      `\n  views ${views.join(" ")}`,
      `\n  group ${group}`,
      `\n  rejoining ${m.sync.state.rejoining}, reset ${reset ? `${reset.done ? "done" : "running"} attempt ${reset.proposal.attempt} via ${reset.joinedVia ? name(reset.joinedVia) : "-"}` : "none"}, verdict ${verdict}`,
      `\n  chat sequences ${seqs}`,
      `\n  former ${[...gs.formerMembers].map(([w, a]) => `${name(w)}:${a.map((x) => `${x.how}@${Math.round(x.from)}-${x.to === undefined ? "" : Math.round(x.to)}`).join("/")}`).join(" ")}`,
    );
  }
}
