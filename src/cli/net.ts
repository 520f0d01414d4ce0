// `demls net`: a partition-and-recovery run on real libp2p nodes in this process (TCP on loopback, or the
// in-process memory transport), wall clock: a group forms, a minority is cut off while the majority commits,
// the cut heals, and the run waits for one state with every chat delivered.
import { FAST_GROUP_PARAMS } from "../group/params.ts";
import { LiveCluster } from "../node/live-cluster.ts";
import type { SyncEffect } from "../sync/effects.ts";
import { FAST_SYNC_PARAMS } from "../sync/params.ts";
import { scaleTimers } from "../util/scale.ts";
import { JOIN_FORMATION_LIMIT, threeWaySplit } from "./scenarios.ts";

/** What the cut looks like: who is cut off, and which sides commit while split. */
export const NET_PLANS = ["minority-lag", "minority-fork", "three-way-split"] as const;
export type NetPlan = (typeof NET_PLANS)[number];

export interface NetOptions {
  readonly transport: "tcp" | "memory";
  readonly members: number;
  /** `minority-lag` (default): the minority is cut off while the majority commits. */
  readonly plan?: NetPlan;
  /** Members cut off (the last ones; minority plans only). */
  readonly minority: number;
  /** Epochs each committing side commits while split. */
  readonly epochs: number;
  /** Per-member sqlite files go here; in memory when absent. */
  readonly dataDir?: string;
  /** Wall milliseconds to wait for recovery after the heal (default 60 s times `timeScale`). */
  readonly timeoutMs?: number;
  /**
   * Every protocol timer is the simulator's scaled-down one times this (default {@link netTimeScale}).
   * All members share this process's cores here, and their work grows with n^2: timers tuned for the
   * simulator, which costs nothing for processing, expire before a loaded machine has read the messages.
   */
  readonly timeScale?: number;
  readonly onLine?: (line: string) => void;
}

export interface NetResult {
  transport: string;
  members: number;
  plan: string;
  /** Wall milliseconds from heal to every out-of-sync member knowing its status (null: not all did). */
  detectedMs: number | null;
  /** Wall milliseconds from heal to one state with every chat delivered (null: not within the timeout). */
  recoveredMs: number | null;
  groups: Record<string, string[]>;
  /** Recovery paths taken, by kind (catch-up, realign, rejoin, reset). */
  recoveries: Record<string, number>;
  appSent: number;
  appLost: number;
  formMs: number;
  /** The timer scale used (see {@link NetOptions.timeScale}). */
  timeScale: number;
  /** Errors libp2p raised on its own (a handshake that failed, a reset stream): logged, not fatal. */
  networkErrors: number;
}

/**
 * The timer scale for `members` nodes in one process on this machine: 1 up to 10 members, then growing
 * with n (20 members at the simulator's timers forked into 14 states while forming, the process at 100% CPU;
 * at twice the scale, 19 voted joins formed them in 9 s and two lagging members caught up 2.2 s after the
 * heal; docs/benchmarks.md has 30 and 50).
 */
export function netTimeScale(members: number): number {
  return Math.max(1, members / 10);
}

/**
 * Forms a group on libp2p nodes in this process, cuts it, commits, heals, and measures the recovery.
 * @throws {DemlsError} `NOT_FORMED` when the group does not form in one state.
 */
export async function runNet(o: NetOptions): Promise<NetResult> {
  const log = o.onLine ?? (() => {});
  const scale = o.timeScale ?? netTimeScale(o.members);
  const recoveries: Record<string, number> = {};
  const names = Array.from({ length: o.members }, (_, i) => `m${i}`);
  const plan = o.plan ?? "minority-lag";
  const sides =
    plan === "three-way-split"
      ? threeWaySplit(names)
      : [names.slice(0, o.members - o.minority), names.slice(o.members - o.minority)];
  const committing = plan === "minority-lag" ? [sides[0]!] : sides;
  const c: LiveCluster = new LiveCluster({
    transport: o.transport,
    groupParams: scaleTimers(FAST_GROUP_PARAMS, scale),
    syncParams: scaleTimers(FAST_SYNC_PARAMS, scale),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    onEvent: (e: SyncEffect, m) => {
      if (e.type === "status") log(`${m.name}: ${e.previous} -> ${e.status}`);
      else if (e.type === "recovered") {
        recoveries[e.how] = (recoveries[e.how] ?? 0) + 1;
        log(`${m.name}: recovered by ${e.how} (${e.epochs} epochs)`);
      }
    },
  });
  // A dial or stream that fails inside libp2p must not end the run (or any member): it is counted.
  let networkErrors = 0;
  const onNetworkError = (e: unknown) => {
    networkErrors++;
    log(`network error: ${(e as Error)?.message ?? e}`);
  };
  process.on("unhandledRejection", onNetworkError);
  try {
    const t0 = Date.now();
    // As on the simulator, a group larger than JOIN_FORMATION_LIMIT starts from one commit: the run is
    // about recovery, and n voted joins in one process would take most of it.
    if (o.members > JOIN_FORMATION_LIMIT) await c.bootstrap(o.members);
    else await c.form(o.members, scale);
    // The split starts from a settled group: every member has heard enough to be IN_SYNC.
    await c.waitFor(() => [...c.members.values()].every((m) => m.status === "IN_SYNC"), 30_000 * scale);
    const formMs = Date.now() - t0;
    log(`formed: ${o.members} members in ${formMs} ms over libp2p ${o.transport} (timers x${scale})`);
    await c.partition(sides);
    log(`split ${sides.map((s) => s.join(" ")).join(" | ")}`);
    for (let e = 0; e < o.epochs; e++) {
      const before = committing.map((side) => c.epochOf(side[0]!));
      for (const [k, side] of sides.entries()) await c.chat(side[e % side.length]!, `side ${k} chat ${e}`);
      // A side smaller than the vote quorum decides at the consensus timeout (silent members count YES).
      for (const side of committing) await c.members.get(side[e % side.length]!)!.proposeRefresh();
      const ok = await c.waitFor(
        () => committing.every((side, i) => side.every((n) => c.epochOf(n) > before[i]!)),
        20_000 * scale,
      );
      log(
        `epochs ${committing.map((side) => c.epochOf(side[0]!)).join(", ")}${ok ? "" : " (not every member)"}`,
      );
    }
    // Measured from the moment the cut is lifted, before the redials complete.
    c.markHealed();
    const healedAt = Date.now();
    await c.heal();
    log("healed");
    const recovered = await c.waitFor(
      () => c.distinctStates().size === 1 && c.missingChats().size === 0,
      o.timeoutMs ?? 60_000 * scale,
    );
    const missing = [...c.missingChats().values()].reduce((a, l) => a + l.length, 0);
    return {
      transport: o.transport,
      members: o.members,
      plan: `${plan}: ${sides.map((s) => s.length).join("/")}, ${committing.length === 1 ? "the first side commits" : "every side commits"} ${o.epochs} epochs`,
      detectedMs: c.detectionMs(),
      recoveredMs: recovered ? Date.now() - healedAt : null,
      groups: Object.fromEntries(c.distinctStates()),
      recoveries,
      appSent: c.chats.sent.size,
      appLost: missing,
      formMs,
      timeScale: scale,
      networkErrors,
    };
  } finally {
    await c.close();
    process.off("unhandledRejection", onNetworkError);
  }
}
