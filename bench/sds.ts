// SDS figures on the simulator: overhead bytes per message, delivery ratio and time to repair under loss,
// for 10 and 100 participants, with spec-default SDS-R timers and with tightened ones.
// Usage: node bench/sds.ts
import { DEFAULT_SDS_CONFIG, encodeSdsMessage, FAST_SDS_CONFIG, type SdsConfig } from "../src/sds/index.ts";
import { sdsRun } from "../test/sds/harness.ts";
import { type Row, report } from "./report.ts";

const MESSAGES = 100;
const CONTENT = 200; // bytes of payload, a small MLS application message

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function run(n: number, loss: number, timers: "spec" | "tight"): Promise<Row> {
  const config: SdsConfig = timers === "spec" ? DEFAULT_SDS_CONFIG : FAST_SDS_CONFIG;
  const r = sdsRun(n, config, 7, { latencyMs: 50, jitterMs: 50, loss });
  const gap = 500; // one message every 500 ms from a random participant
  for (let i = 0; i < MESSAGES; i++) {
    const p = r.participants[r.sim.rng.int(n)]!;
    r.sim.at(i * gap, () => void r.send(p, new Uint8Array(CONTENT).fill(i)));
  }
  const horizon = timers === "spec" ? 20 * 60_000 : 60_000;
  const t = performance.now();
  await r.sim.runUntil(MESSAGES * gap + horizon);
  const wall = performance.now() - t;
  const latencies: number[] = [];
  for (const [id, s] of r.sent)
    for (const p of r.participants) {
      if (p.id === s.sender) continue;
      const at = r.deliveredAt.get(`${p.id}/${id}`);
      if (at !== undefined) latencies.push(at - s.at);
    }
  const expected = r.sent.size * (n - 1);
  const late = latencies.filter((l) => l > 1_000);
  const stats = r.participants.map((p) => p.endpoint.channel.state.stats);
  const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((a, s) => a + f(s), 0);
  const bytes = r.participants.reduce((a, p) => a + p.endpoint.bytesOut.total, 0);
  const sample = r.participants[0]!.endpoint.channel;
  const overhead =
    encodeSdsMessage({
      senderId: sample.state.selfId,
      messageId: "0".repeat(32),
      channelId: sample.state.channelId,
      lamportTimestamp: BigInt(Date.now()),
      causalHistory: sample.state.recent,
      bloomFilter: new Uint8Array(sample.state.bloom.current.length),
      repairRequest: [],
      content: new Uint8Array(CONTENT),
    }).length - CONTENT;
  return {
    n,
    loss,
    timers,
    "overhead B/msg": overhead,
    "delivered %": (100 * latencies.length) / expected,
    "p50 ms": percentile(latencies, 0.5),
    "p99 ms": percentile(latencies, 0.99),
    "repaired p50 ms": percentile(late, 0.5),
    "max ms": percentile(latencies, 1),
    "repair req": sum((s) => s.repairRequestsSent),
    "repair resp": sum((s) => s.repairResponsesSent),
    resends: sum((s) => s.resent),
    syncs: sum((s) => s.syncSent),
    "KB on wire/msg": bytes / 1024 / MESSAGES,
    "wall s": wall / 1000,
  };
}

const rows: Row[] = [];
for (const n of [10, 100])
  for (const loss of [0.1, 0.3])
    for (const timers of ["spec", "tight"] as const) {
      const row = await run(n, loss, timers);
      rows.push(row);
      console.error(JSON.stringify(row));
    }
report("sds", rows, [
  `${MESSAGES} messages of ${CONTENT} B, one every 500 ms from a random participant; links 50 + 0-50 ms.`,
  `spec timers: T_min ${DEFAULT_SDS_CONFIG.repairTMinMs / 1000} s, T_max ${DEFAULT_SDS_CONFIG.repairTMaxMs / 1000} s, resend/sync ${DEFAULT_SDS_CONFIG.syncIntervalMs / 1000} s, horizon 20 min.`,
  `tight timers: T_min ${FAST_SDS_CONFIG.repairTMinMs} ms, T_max ${FAST_SDS_CONFIG.repairTMaxMs} ms, resend/sync ${FAST_SDS_CONFIG.syncIntervalMs} ms, horizon 60 s.`,
  "overhead = encoded message minus payload (ids, lamport, causal history, bloom filter of 2x256 ids at 1%).",
  "repaired p50 = median latency of deliveries that took over 1 s (they needed a resend or SDS-R).",
]);
