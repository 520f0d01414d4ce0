// SDS figures on the simulator. "sds": overhead bytes per message, delivery ratio and time to repair under
// loss, for 10 and 100 participants, with spec-default SDS-R timers and with tightened ones. "sds-filter":
// what the @waku/sds-compatible bloom filter costs per message against our small one (bytes, CPU to send
// and to receive, bytes on the wire for a 10-member group), with @waku/sds's own MessageChannel beside.
// Usage: node bench/sds.ts [--loss | --filters]   (both tables without an option)
import { Message, MessageChannel } from "@waku/sds";
import { SeededRng } from "../src/net/sim/prng.ts";
import {
  DEFAULT_SDS_CONFIG,
  encodeSdsMessage,
  FAST_SDS_CONFIG,
  newSdsState,
  SdsChannel,
  type SdsConfig,
  wakuCompatible,
} from "../src/sds/index.ts";
import { sdsRun } from "../test/sds/harness.ts";
import { median, type Row, report } from "./report.ts";

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

async function lossTable(): Promise<void> {
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
}

const FILTER_MESSAGES = 1000;
/** Own messages the receiver waits acks for: each received filter is tested against each of them. */
const PENDING = 16;

/**
 * Time per call of `f(i)` for `i` in 0..count-1, in µs: the median over 10 batches of calls, so a garbage
 * collection or another process on the machine moves one batch, not the figure.
 */
async function perCall(count: number, f: (i: number) => unknown): Promise<number> {
  const batch = Math.ceil(count / 10);
  const times: number[] = [];
  for (let from = 0; from < count; from += batch) {
    const t = performance.now();
    const to = Math.min(count, from + batch);
    for (let i = from; i < to; i++) await f(i);
    times.push(((performance.now() - t) * 1000) / (to - from));
  }
  return median(times);
}

/** Our channel in `config`: bytes of one message's overhead, µs to send one and to receive one. */
async function oursPerMessage(config: SdsConfig): Promise<Row> {
  const start = Date.now();
  const make = (id: string) => {
    const c = new SdsChannel(newSdsState(id, "bench", start, config), new SeededRng(1), config);
    c.setParticipants(10);
    return c;
  };
  const a = make("a");
  const b = make("b");
  for (let i = 0; i < PENDING; i++) b.send(new Uint8Array(CONTENT).fill(i), start);
  const out: Uint8Array[] = [];
  const send = await perCall(FILTER_MESSAGES, (i) => {
    const e = a.send(new Uint8Array(CONTENT).fill(i), start + i).effects[0]!;
    if (e.type === "publish") out.push(e.bytes);
  });
  const receive = await perCall(FILTER_MESSAGES, (i) => b.receive(out[i]!, start + FILTER_MESSAGES));
  return {
    "filter B": a.state.bloom.current.length,
    "overhead B/msg": out.at(-1)!.length - CONTENT,
    "send µs/msg": send,
    "receive µs/msg": receive,
  };
}

/** The same figures for @waku/sds's MessageChannel (its async task queue included). */
async function theirsPerMessage(): Promise<Row> {
  const a = new MessageChannel("bench", "a");
  const b = new MessageChannel("bench", "b");
  const push = async (c: MessageChannel, payload: Uint8Array, sink?: Uint8Array[]) => {
    c.pushOutgoingMessage(payload, async (m) => {
      sink?.push(m.encode());
      return { success: true };
    });
    await c.processTasks();
  };
  for (let i = 0; i < PENDING; i++) await push(b, new Uint8Array(CONTENT).fill(255 - i));
  const out: Uint8Array[] = [];
  const payload = (i: number) => {
    const p = new Uint8Array(CONTENT);
    new DataView(p.buffer).setUint32(0, i); // distinct payloads: its ids are their hashes
    return p;
  };
  const send = await perCall(FILTER_MESSAGES, (i) => push(a, payload(i), out));
  const receive = await perCall(FILTER_MESSAGES, async (i) => {
    b.pushIncomingMessage(Message.decode(out[i]!)!, undefined);
    await b.processTasks();
  });
  return {
    "filter B": Message.decode(out[0]!)!.bloomFilter!.length,
    "overhead B/msg": out.at(-1)!.length - CONTENT,
    "send µs/msg": send,
    "receive µs/msg": receive,
  };
}

/** Bytes on the wire (content, resends, syncs, repairs) for `messages` messages among `n` members. */
async function groupBytes(config: SdsConfig, n: number, messages: number): Promise<Row> {
  const r = sdsRun(n, config, 11, { latencyMs: 50, jitterMs: 50, loss: 0 });
  const gap = 100;
  for (let i = 0; i < messages; i++) {
    const p = r.participants[r.sim.rng.int(n)]!;
    r.sim.at(i * gap, () => void r.send(p, new Uint8Array(CONTENT).fill(i)));
  }
  await r.sim.runUntil(messages * gap + 30_000);
  const out = r.participants.reduce(
    (a, p) => ({ total: a.total + p.endpoint.bytesOut.total, sync: a.sync + p.endpoint.bytesOut.sync }),
    { total: 0, sync: 0 },
  );
  return { "MB on wire": out.total / 2 ** 20, "of which syncs MB": out.sync / 2 ** 20 };
}

async function filterTable(): Promise<void> {
  const n = 10;
  const rows: Row[] = [];
  await oursPerMessage(wakuCompatible(FAST_SDS_CONFIG)); // warm-up: the first row would pay for the JIT
  await oursPerMessage(FAST_SDS_CONFIG);
  for (const [name, config] of [
    ["demls (default)", FAST_SDS_CONFIG],
    ["waku (wakuCompatible)", wakuCompatible(FAST_SDS_CONFIG)],
  ] as const) {
    const row = {
      format: name,
      ...(await oursPerMessage(config)),
      ...(await groupBytes(config, n, FILTER_MESSAGES)),
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  const theirs = { format: "@waku/sds 0.0.8 MessageChannel", ...(await theirsPerMessage()) };
  rows.push({ ...theirs, "MB on wire": "", "of which syncs MB": "" });
  report("sds-filter", rows, [
    `${CONTENT} B payloads; per message: ${FILTER_MESSAGES} sends by one channel, received by another that waits acks for ${PENDING} own messages (each received filter is tested for them).`,
    "overhead = encoded content message minus payload; send = compose + filter + encode; receive = decode + ack check + delivery.",
    `MB on wire: ${FILTER_MESSAGES} messages among ${n} members (one every 100 ms from a random member, FAST_SDS_CONFIG, links 50 + 0-50 ms, no loss, 30 s to settle), every publish counted once.`,
    "@waku/sds: its MessageChannel with defaults (causal history 200), its async task queue included; no group run (it has no simulator).",
  ]);
}

const only = process.argv.includes("--loss") ? "loss" : process.argv.includes("--filters") ? "filters" : "";
if (only !== "filters") await lossTable();
if (only !== "loss") await filterTable();
