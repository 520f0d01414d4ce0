// `demls net`: a partition-and-recovery run on real libp2p nodes in this process (TCP on loopback, or the
// in-process memory transport), wall clock: a group forms, a minority is cut off while the majority commits,
// the cut heals, and the run waits for one state with every chat delivered.
import { FAST_GROUP_PARAMS } from "../group/params.ts";
import { LiveCluster } from "../node/live-cluster.ts";
import type { SyncEffect } from "../sync/core.ts";

export interface NetOptions {
  readonly transport: "tcp" | "memory";
  readonly members: number;
  /** Members cut off (the last ones). */
  readonly minority: number;
  /** Epochs the majority commits while the minority is cut off. */
  readonly epochs: number;
  /** Per-member sqlite files go here; in memory when absent. */
  readonly dataDir?: string;
  readonly timeoutMs?: number;
  readonly onLine?: (line: string) => void;
}

export interface NetResult {
  transport: string;
  members: number;
  plan: string;
  /** Wall milliseconds from heal to the first minority member leaving IN_SYNC (null: never seen). */
  detectedMs: number | null;
  /** Wall milliseconds from heal to one state with every chat delivered (null: not within the timeout). */
  recoveredMs: number | null;
  groups: Record<string, string[]>;
  appSent: number;
  appLost: number;
  formMs: number;
}

export async function runNet(o: NetOptions): Promise<NetResult> {
  const log = o.onLine ?? (() => {});
  let healedAt = Number.POSITIVE_INFINITY;
  let detectedAt: number | undefined;
  const minority = Array.from({ length: o.minority }, (_, i) => `m${o.members - o.minority + i}`);
  const c: LiveCluster = new LiveCluster({
    transport: o.transport,
    groupParams: FAST_GROUP_PARAMS,
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    onEvent: (e: SyncEffect, m) => {
      if (e.type === "status") {
        log(`${m.name}: ${e.previous} -> ${e.status}`);
        if (detectedAt === undefined && Date.now() >= healedAt && e.status !== "IN_SYNC")
          detectedAt = Date.now();
      } else if (e.type === "recovered") log(`${m.name}: recovered by ${e.how} (${e.epochs} epochs)`);
    },
  });
  try {
    const t0 = Date.now();
    await c.form(o.members);
    const formMs = Date.now() - t0;
    log(`formed: ${o.members} members in ${formMs} ms over libp2p ${o.transport}`);
    const majority = [...c.members.keys()].filter((n) => !minority.includes(n));
    await c.partition([majority, minority]);
    log(`cut off ${minority.join(" ")}`);
    for (let e = 0; e < o.epochs; e++) {
      const before = c.epochOf(majority[0]!);
      await c.chat(majority[e % majority.length]!, `majority ${e}`);
      await c.chat(minority[e % minority.length]!, `minority ${e}`);
      await c.members.get(majority[e % majority.length]!)!.proposeRefresh();
      const ok = await c.waitFor(() => majority.every((n) => c.epochOf(n) > before), 20_000);
      log(`majority epoch ${c.epochOf(majority[0]!)}${ok ? "" : " (not every majority member)"}`);
    }
    await c.heal();
    healedAt = Date.now();
    log("healed");
    const recovered = await c.waitFor(
      () => c.distinctStates().size === 1 && c.missingChats().size === 0,
      o.timeoutMs ?? 60_000,
    );
    const missing = [...c.missingChats().values()].reduce((a, l) => a + l.length, 0);
    return {
      transport: o.transport,
      members: o.members,
      plan: `${majority.length} | ${minority.length} cut off for ${o.epochs} epochs`,
      detectedMs: detectedAt === undefined ? null : detectedAt - healedAt,
      recoveredMs: recovered ? Date.now() - healedAt : null,
      groups: Object.fromEntries(c.distinctStates()),
      appSent: c.chats.sent.size,
      appLost: missing,
      formMs,
    };
  } finally {
    await c.close();
  }
}
