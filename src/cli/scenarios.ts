// Partition-and-recovery scenarios on the simulator (the recovery issue's scenarios, by name). Each run
// forms a group through the real join path, splits it, lets sides commit, heals, and measures detection,
// recovery, bytes and application-message delivery.
import { FAST_GROUP_PARAMS } from "../group/params.ts";
import { SIMULATION_VOTE_POLICY } from "../group/vote-policy.ts";
import { sign } from "../mls/index.ts";
import { Cluster } from "../node/cluster.ts";
import type { SyncStatus } from "../sync/classify.ts";
import type { SyncEffect } from "../sync/effects.ts";
import { FAST_SYNC_PARAMS, gossipTiming } from "../sync/params.ts";
import { seal } from "../sync/seal.ts";
import { encodeSyncPayload, infoBody } from "../sync/wire.ts";
import { utf8 } from "../util/bytes.ts";

export const SCENARIOS = [
  "minority-lag",
  "minority-fork",
  "three-way-split",
  "lossy",
  "liar",
  "large",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
  readonly scenario: ScenarioName;
  readonly members: number;
  readonly seed: number;
  /** Message loss on every link, 0-1. */
  readonly loss: number;
  /** Epochs the majority side advances while split. */
  readonly epochs: number;
  /** Called about every virtual second with a progress snapshot. */
  readonly onProgress?: (p: Progress) => void;
}

export interface Progress {
  readonly timeMs: number;
  readonly phase: string;
  readonly epochs: Record<string, number>;
  readonly statuses: Record<string, SyncStatus>;
  readonly bytes: number;
}

/** One sample of the timeline, for the HTML report: a progress snapshot plus what tells states apart. */
export interface Sample extends Progress {
  /** Each member's state: group id prefix, epoch and fingerprint prefix ("-" without a group). */
  readonly states: Record<string, string>;
  /** Bytes on the wire so far, by topic kind, all members. */
  readonly bytesByKind: { app: number; sync: number; welcome: number };
}

/** Where a member healed, and how: a mark on the report's plots. */
export interface RecoveryMark {
  readonly timeMs: number;
  readonly member: string;
  readonly how: string;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  members: number;
  seed: number;
  loss: number;
  plan: string;
  /** Heal → every member that was out of sync knows it (ms of virtual time). */
  detectedMs: number | null;
  /** Heal → all members in one state and IN_SYNC. */
  recoveredMs: number | null;
  allInSync: boolean;
  /** Distinct final states (group/epoch:fingerprint → members). */
  groups: Record<string, string[]>;
  appSent: number;
  appDelivered: number;
  appLost: number;
  appDuplicates: number;
  bytes: number;
  bytesByKind: { app: number; sync: number; welcome: number };
  /** Bytes of SyncStateInfo gossip alone (part of `sync`), and the heartbeat interval at this size. */
  gossip: { bytes: number; intervalMs: number };
  recoveries: Record<string, number>;
  /** Status events of every member over the run, by the status entered (a transient HARD shows here). */
  statusChanges: Partial<Record<SyncStatus, number>>;
  /**
   * Every member's counters summed: dropped input by error code (`INVALID_SIGNATURE`, `REPLAY`, ...) and
   * protocol events (`CATCH_UP_SENT`, `STEPPED_BACK`, ...).
   */
  counters: Record<string, number>;
  /** Who was on which side of the split. */
  sides: string[][];
  /** The simulator's digest of every delivery, drop, partition and crash: equal runs, equal hash. */
  traceHash: string;
  timeline: Sample[];
  /** Every recovery, when and by whom (for the report; not in `--json`). */
  recoveryMarks: RecoveryMark[];
}

const names = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

/**
 * Groups up to this size form through the join path (KeyPackage, vote, commit, Welcome); larger ones start
 * from one commit.
 */
export const JOIN_FORMATION_LIMIT = 20;

/** How long the recovered state must hold before a run counts it as recovered. */
const HOLD_MS = 3_000;

/** The three sides of a split with no majority: 40% / 30% / 30% (4/3/3 at 10 members, 2/2/2 at 6). */
export function threeWaySplit(names: readonly string[]): string[][] {
  // 40/30/30; in small groups thirds instead, so that no side is a single member: a lone member's claim
  // does not count against the majority of the rest (docs/sync.md, "Lone claims"), which would make the
  // split a re-alignment, not a hard reset.
  let a = Math.ceil(names.length * 0.4);
  if (Math.floor((names.length - a) / 2) < 2) a = Math.ceil(names.length / 3);
  const b = Math.floor((names.length - a) / 2);
  return [names.slice(0, a), names.slice(a, a + b), names.slice(a + b)];
}

/** Runs one scenario to the end; deterministic in event order for a seed. */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const n = o.members;
  const loss = o.scenario === "lossy" ? Math.max(o.loss, 0.2) : o.loss;
  const recoveries: Record<string, number> = {};
  const statusChanges: Partial<Record<SyncStatus, number>> = {};
  const cluster = new Cluster({
    seed: o.seed,
    groupParams: FAST_GROUP_PARAMS,
    // Joins through votes with no application voting (docs/decisions.md, "Votes belong to the application").
    votePolicy: SIMULATION_VOTE_POLICY,
    syncParams: FAST_SYNC_PARAMS,
    onEvent: (e: SyncEffect, m) => {
      if (e.type === "recovered") {
        recoveries[e.how] = (recoveries[e.how] ?? 0) + 1;
        recoveryMarks.push({ timeMs: cluster.sim.now, member: m.name, how: e.how });
      }
      if (e.type === "status") statusChanges[e.status] = (statusChanges[e.status] ?? 0) + 1;
    },
  });
  const timeline: Sample[] = [];
  const recoveryMarks: RecoveryMark[] = [];
  let phase = "forming";
  const bytes = () =>
    [...cluster.members.values()].reduce(
      (a, m) => a + m.bytesOut.app + m.bytesOut.sync + m.bytesOut.welcome,
      0,
    );
  const sample = () => {
    const members = [...cluster.members];
    const p: Sample = {
      timeMs: cluster.sim.now,
      phase,
      epochs: Object.fromEntries(members.map(([k, m]) => [k, Number(m.group.epoch ?? -1n)])),
      statuses: Object.fromEntries(members.map(([k, m]) => [k, m.sync.state.status])),
      bytes: bytes(),
      states: Object.fromEntries(
        members.map(([k, m]) => {
          const sm = m.summary();
          return [k, sm.epoch === undefined ? "-" : `${sm.groupId}/${sm.state}`];
        }),
      ),
      bytesByKind: members.reduce(
        (a, [, m]) => ({
          app: a.app + m.bytesOut.app,
          sync: a.sync + m.bytesOut.sync,
          welcome: a.welcome + m.bytesOut.welcome,
        }),
        { app: 0, sync: 0, welcome: 0 },
      ),
    };
    timeline.push(p);
    o.onProgress?.(p);
  };
  const run = async (ms: number) => {
    const end = cluster.sim.now + ms;
    while (cluster.sim.now < end) {
      await cluster.sim.runFor(Math.min(1000, end - cluster.sim.now));
      sample();
    }
  };

  // Joining is what the smaller runs (and the group tests) exercise; n join rounds, each voted by the whole
  // group, would dominate a large run that is about recovery.
  const joins = n <= JOIN_FORMATION_LIMIT;
  if (joins) await cluster.form(n);
  else {
    await cluster.bootstrap(n);
    await run(3000);
  }
  // Loss applies from here on: forming is setup, not the experiment.
  cluster.sim.setLoss(loss);
  sample();
  const all = names("m", 0, n);
  let sides: string[][];
  let plan: string;
  if (o.scenario === "three-way-split") {
    sides = threeWaySplit(all);
    plan = `split ${sides.map((s) => s.length).join("/")}, each side commits ${o.epochs} epochs, heal`;
  } else if (o.scenario === "minority-fork") {
    const k = Math.max(1, Math.floor(n * 0.4));
    sides = [all.slice(0, n - k), all.slice(n - k)];
    plan = `split ${n - k}/${k}, both sides commit ${o.epochs} epochs, heal`;
  } else {
    const k = Math.max(1, Math.floor(n * 0.3));
    sides = [all.slice(0, n - k), all.slice(n - k)];
    plan = `cut off ${k} of ${n} while the ${n - k} commit ${o.epochs} epochs${loss ? `, ${loss * 100}% loss` : ""}, heal`;
  }
  if (o.scenario === "liar") plan += "; m1 forges fingerprints, replays and impersonates";
  if (!joins) plan = `formed by one commit; ${plan}`;
  phase = "split";
  cluster.sim.partition(sides);
  let liarTimer: (() => void) | undefined;
  if (o.scenario === "liar") liarTimer = startLiar(cluster, "m1");
  // Chats on every side while split.
  for (const side of sides)
    for (const name of side.slice(0, 2)) await cluster.chat(name, `${name} during split`);
  // Each committing side advances `epochs` epochs through voted key-refresh proposals.
  const committing = o.scenario === "minority-fork" || o.scenario === "three-way-split" ? sides : [sides[0]!];
  for (let e = 0; e < o.epochs; e++) {
    const before = committing.map((side) => cluster.epochOf(side[0]!));
    for (const side of committing) await cluster.members.get(side[e % side.length]!)!.proposeRefresh();
    for (let t = 0; t < 40 && committing.some((side, i) => cluster.epochOf(side[0]!) <= before[i]!); t++)
      await run(500);
  }
  await run(2000);
  phase = "healed";
  const healAt = cluster.sim.now;
  cluster.sim.heal();
  cluster.markHealed();
  sample(); // the traffic counters at the heal itself: what follows is the recovery's cost
  for (const name of [all[0]!, all[n - 1]!]) await cluster.chat(name, `${name} after heal`);
  // Recovered = one state, everyone IN_SYNC, every chat delivered, and still so `HOLD_MS` later (a commit
  // still in flight can split the group again); measured from the start of that stretch.
  let since: number | null = null;
  const deadline = healAt + 120_000 + n * 1_000;
  while (cluster.sim.now < deadline && (since === null || cluster.sim.now - since < HOLD_MS)) {
    await run(1000);
    since = cluster.settled() ? (since ?? cluster.sim.now) : null;
  }
  const recoveredAt = since !== null && cluster.sim.now - since >= HOLD_MS ? since : null;
  liarTimer?.();
  phase = "done";
  const missing = cluster.missingChats();
  const expected = [...cluster.chats.sent.values()].reduce((a, s) => a + s.to.length, 0);
  const lost = [...missing.values()].reduce((a, l) => a + l.length, 0);
  const counters: Record<string, number> = {};
  // Both layers count some of the same codes (UNKNOWN_MEMBER, MALFORMED): add, do not overwrite.
  for (const m of cluster.members.values())
    for (const layer of [m.group.state.counters, m.sync.state.counters])
      for (const [k, v] of Object.entries(layer)) counters[k] = (counters[k] ?? 0) + (v ?? 0);
  return {
    scenario: o.scenario,
    members: n,
    seed: o.seed,
    loss,
    plan,
    detectedMs: cluster.detectionMs(),
    recoveredMs: recoveredAt === null ? null : recoveredAt - healAt,
    allInSync: recoveredAt !== null,
    groups: Object.fromEntries(cluster.distinctStates()),
    appSent: cluster.chats.sent.size,
    appDelivered: expected - lost,
    appLost: lost,
    appDuplicates: cluster.duplicateChats(),
    bytes: bytes(),
    bytesByKind: [...cluster.members.values()].reduce(
      (a, m) => ({
        app: a.app + m.bytesOut.app,
        sync: a.sync + m.bytesOut.sync,
        welcome: a.welcome + m.bytesOut.welcome,
      }),
      { app: 0, sync: 0, welcome: 0 },
    ),
    gossip: {
      bytes: [...cluster.members.values()].reduce((a, m) => a + m.sync.gossipBytes, 0),
      intervalMs: gossipTiming(FAST_SYNC_PARAMS, n).intervalMs,
    },
    recoveries,
    statusChanges,
    counters,
    sides,
    traceHash: cluster.sim.traceHash(),
    timeline,
    recoveryMarks,
  };
}

/** m`liar` floods the sync topic with replays, forged and impersonating SyncStateInfo. */
function startLiar(cluster: Cluster, liar: string): () => void {
  let stopped = false;
  const node = cluster.sim.node(liar);
  const captured: Uint8Array[] = [];
  const topic = cluster.members.get(liar)!.group.topics.sync;
  const unsub = node.transport.subscribe(topic, (d) => {
    if (captured.length < 50) captured.push(d.data);
  });
  const step = async () => {
    if (stopped) return;
    const m = cluster.members.get(liar)!;
    // Replays of others' signed infos, bit-flipped copies (forged), and infos signed by us claiming others.
    for (const c of captured.slice(-5)) {
      await node.transport.publish(topic, c);
      const forged = c.slice();
      forged[forged.length - 1]! ^= 1;
      await node.transport.publish(topic, forged);
    }
    // Lies signed with its own key: a state far ahead that nobody holds, and one claiming to be m0.
    const g = m.group.group;
    const key = m.group.state.syncKey?.key;
    if (g && key) {
      for (const claimed of [m.group.memberId, utf8("m0")]) {
        const info = {
          groupId: g.groupId,
          memberId: claimed,
          epoch: g.epoch + 7n,
          fingerprint: node.rng.int(2) ? new Uint8Array(32).fill(node.rng.int(256)) : g.fingerprint,
          seqnum: BigInt(cluster.sim.now) * 10n,
          ancestry: [],
          quietCounts: [],
        };
        const signature = await sign(m.identity, "sync-state", infoBody(info));
        const bytes = seal(key, encodeSyncPayload({ info: { ...info, signature } }), node.rng, utf8(topic));
        await node.transport.publish(topic, bytes);
      }
    }
    node.clock.setTimeout(step, 300);
  };
  node.clock.setTimeout(step, 300);
  return () => {
    stopped = true;
    unsub();
  };
}
