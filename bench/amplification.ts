// Amplification by one insider (docs/threats.md, "Floods"): a group of 10 members, 60 epochs old, on the
// simulator with the scaled timers; one member (m9, the insider, with its valid keys) floods one kind of
// message for 30 virtual seconds while the others chat and commit a key refresh every 10 s. Each flood
// runs against a baseline with the same seed and the same honest activity but no flood, and the table
// shows what the flood added:
//   insider KB   the bytes the insider put on the wire (every transmission, one per receiver), minus its
//                baseline's;
//   honest KB    the bytes delivered to the 9 honest members, minus the baseline's: the insider's own
//                messages and everything they drew from the others;
//   factor       honest KB / insider KB. At most 3 for every flood.
//   CPU s        the process's CPU time for the 30 s, minus the baseline's (all members and the insider
//                live in one process, and simulated members share signature verdicts: each message is
//                verified once, not once per member).
//   refused      what the honest members counted against the flood, by code.
// Usage: node bench/amplification.ts [--rate N] [--epochs N] [--flood name ...]
//   --rate: messages the insider sends per virtual second (default 50: 1500 in 30 s, 2-5 MB on the wire,
//   the size of the catch-up flood that issue 34 measured, 3.5 MB); --epochs: the group's age (default
//   60); --flood: only the floods whose name contains one of these words.
// The honest response is capped in bytes per window by the mechanisms, not per message, so the factor
// falls as the flood grows and rises as it thins: docs/benchmarks.md has this rate and a fifth of it
// (`--rate 10`).
import type { RejoinRequest } from "../src/group/frames.ts";
import { FAST_GROUP_PARAMS } from "../src/group/params.ts";
import { ancestry, fingerprintAt, generateKeyPackages } from "../src/mls/index.ts";
import { Cluster } from "../src/node/cluster.ts";
import { Insider } from "../src/node/insider.ts";
import { FAST_SYNC_PARAMS } from "../src/sync/params.ts";
import type { CatchUpRequest } from "../src/sync/wire.ts";
import { type Row, report } from "./report.ts";

const MEMBERS = 10;
const INSIDER = `m${MEMBERS - 1}`;
const FLOOD_MS = 30_000;
const SEED = 3;

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const RATE = arg("--rate", 50);
const EPOCHS = arg("--epochs", 60);

/** One flood: what the insider sends at each tick (`i` counts from 0). */
interface Flood {
  readonly name: string;
  /** Runs once before the flood starts (what the messages need, taken while the insider is a member). */
  readonly prepare?: (x: Insider) => Promise<(i: number) => Promise<void>>;
}

/** A request for the whole commit log, to the insider's state (which is the group's). */
function wholeLog(x: Insider, memberId: Uint8Array, i: number): CatchUpRequest {
  const m = x.member;
  const g = m.group.group!;
  return {
    groupId: g.groupId,
    memberId,
    fromEpoch: m.group.state.commitLog[0]?.epoch ?? 0n,
    targetEpoch: g.epoch,
    target: g.fingerprint,
    nonce: new Uint8Array(new Uint32Array([i, 0x5eed]).buffer),
  };
}

const FLOODS: Flood[] = [
  { name: "none (baseline)" },
  {
    // Not a flood: what the group pays for a member that stops answering (SDS resends every message up
    // to `maxResends` times while a participant has not acknowledged it). For comparison.
    name: "silence (sends nothing)",
    prepare: async (x) => {
      x.outgoing = () => "drop";
      return async () => {};
    },
  },
  {
    // Every honest member's id in turn, half signed by the insider's key (a forgery), half unsigned.
    name: "catch-up requests in others' names",
    prepare: async (x) => {
      const others = x.member.group.rosterIds().filter((id) => new TextDecoder().decode(id) !== INSIDER);
      return async (i) => {
        const r = wholeLog(x, others[i % others.length]!, i);
        await x.sendSync({ catchUp: i % 2 === 0 ? await x.signCatchUp(r) : r });
      };
    },
  },
  {
    name: "catch-up requests in its own name",
    prepare: async (x) => async (i) => {
      await x.sendSync({ catchUp: await x.signCatchUp(wholeLog(x, x.member.group.memberId, i)) });
    },
  },
  {
    // Signed infos claiming a state half the group's age back (the real fingerprint there): every member
    // sees a peer behind and answers early.
    name: "SyncStateInfo claiming to lag",
    prepare: async (x) => async () => {
      const info = x.stateInfo();
      const g = x.member.group.group!;
      const back = info.epoch! / 2n;
      const fp = fingerprintAt(g.history, back) ?? info.fingerprint!;
      const anc = ancestry(g.history).filter((a) => a.epoch < back);
      await x.sendSync({ info: await x.signInfo({ ...info, epoch: back, fingerprint: fp, ancestry: anc }) });
    },
  },
  {
    // A new attempt each time (a known one would be ignored).
    name: "reset proposals",
    prepare: async (x) => {
      const m = x.member;
      const g = m.group.group!;
      const roster = m.group.rosterIds();
      return async (i) => {
        const attempt = (m.sync.state.reset?.proposal.attempt ?? 0n) + 1n + BigInt(i);
        await x.sendSync({
          reset: await x.signReset({ oldGroupId: g.groupId, attempt, proposer: m.group.memberId, roster }),
        });
      };
    },
  },
  {
    // The insider rejoins for real whenever it is back in the group (each time the group votes its stale
    // leaf out and its KeyPackage in: two epochs), and between those sends a request with a fresh
    // KeyPackage and time each tick (a request seen before would be ignored). It holds every KeyPackage it
    // sends, so whichever the group adds, it joins: no leaf is left that nobody answers for.
    name: "rejoin requests",
    prepare: async (x) => {
      const groupId = x.member.group.group!.groupId;
      return async () => {
        const m = x.member;
        if (m.group.group !== undefined) return m.requestRejoin();
        const [kp] = await generateKeyPackages(m.identity, 1);
        m.group.keyPackages = [...m.group.keyPackages, kp!];
        const r: RejoinRequest = {
          keyPackage: kp!.publicBytes,
          groupId,
          at: BigInt(Math.floor(x.cluster.now)),
        };
        await x.sendWelcome({ rejoin: await x.signRejoin(r) });
      };
    },
  },
];

const honest = (c: Cluster) => [...c.members.keys()].filter((n) => n !== INSIDER);

/** Sums of the counters that matter, per run. */
interface Measure {
  insiderOut: number;
  honestIn: number;
  cpuS: number;
  wallS: number;
  refused: Map<string, number>;
  states: number;
  sent: number;
}

function counters(c: Cluster): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of honest(c)) {
    const m = c.members.get(n)!;
    for (const [k, v] of [
      ...Object.entries(m.sync.state.counters),
      ...Object.entries(m.group.state.counters),
    ])
      out.set(k, (out.get(k) ?? 0) + (v ?? 0));
  }
  return out;
}

async function run(flood: Flood): Promise<Measure> {
  const c = new Cluster({ seed: SEED, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.bootstrap(MEMBERS);
  await c.sim.runFor(3_000);
  // Age the group: key refreshes by every member in turn.
  for (let e = 0; e < EPOCHS; e++) {
    const before = c.epochOf("m0");
    await c.members.get(`m${e % MEMBERS}`)!.proposeRefresh();
    for (let t = 0; t < 50 && c.epochOf("m0") <= before; t++) await c.sim.runFor(100);
  }
  await c.sim.runFor(5_000);
  if (c.distinctStates().size !== 1) throw new Error(`not in one state before the flood: ${flood.name}`);
  const x = new Insider(c, INSIDER);
  const send = await flood.prepare?.(x);
  const before = counters(c);
  const inOf = () => honest(c).reduce((a, n) => a + c.sim.counters(n).bytesIn, 0);
  const out0 = c.sim.counters(INSIDER).bytesOut;
  const in0 = inOf();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const step = 1000 / RATE;
  let sent = 0;
  const start = c.now;
  // Honest activity, the same in every run: a chat every 2 s, a key refresh every 10 s.
  for (let t = 0; t < FLOOD_MS; t += step) {
    const at = c.now - start;
    if (Math.floor(at / 2_000) !== Math.floor((at - step) / 2_000) || at === 0)
      await c.chat(`m${Math.floor(at / 2_000) % (MEMBERS - 1)}`, `chat at ${at}`);
    if (at > 0 && Math.floor(at / 10_000) !== Math.floor((at - step) / 10_000))
      await c.members.get(`m${Math.floor(at / 10_000)}`)!.proposeRefresh();
    if (send) {
      await send(sent);
      sent++;
    }
    await c.sim.runFor(step);
  }
  const cpu = process.cpuUsage(cpu0);
  const after = counters(c);
  const refused = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) refused.set(k, v - (before.get(k) ?? 0));
  const states = new Set(honest(c).map((n) => c.members.get(n)!.group.group?.fingerprint.join(","))).size;
  return {
    insiderOut: c.sim.counters(INSIDER).bytesOut - out0,
    honestIn: inOf() - in0,
    cpuS: (cpu.user + cpu.system) / 1e6,
    wallS: (performance.now() - wall0) / 1000,
    refused,
    states,
    sent,
  };
}

/** Codes a flood's refusals are counted under (what the table names); the rest is normal traffic. */
const REFUSALS = [
  "MALFORMED",
  "INVALID_SIGNATURE",
  "UNKNOWN_MEMBER",
  "CATCH_UP_HELD",
  "CATCH_UP_THROTTLED",
  "CATCH_UP_BUDGET",
  "RESET_RATE_LIMITED",
  "REJOIN_RATE_LIMITED",
  "OUT_OF_RANGE",
  "REPLAY",
];

const only = process.argv.flatMap((a, i) => (process.argv[i - 1] === "--flood" ? [a] : []));
const base = await run(FLOODS[0]!);
console.error(`baseline: ${JSON.stringify({ ...base, refused: [...base.refused] })}`);
const rows: Row[] = [];
for (const flood of FLOODS.slice(1)) {
  if (only.length > 0 && !only.some((o) => flood.name.includes(o))) continue;
  const m = await run(flood);
  const insider = m.insiderOut - base.insiderOut;
  const honestKb = (m.honestIn - base.honestIn) / 1024;
  rows.push({
    flood: flood.name,
    messages: m.sent,
    "insider KB": insider / 1024,
    "honest KB": honestKb,
    factor: insider > 0 ? honestKb / (insider / 1024) : "-",
    "CPU s": m.cpuS - base.cpuS,
    refused: REFUSALS.filter((k) => m.refused.has(k))
      .map((k) => `${k}x${m.refused.get(k)! - (base.refused.get(k) ?? 0)}`)
      .join(" "),
    "honest states": m.states,
  });
  console.error(JSON.stringify(rows.at(-1)));
}
report(`amplification-${MEMBERS}x${EPOCHS}-rate${RATE}`, rows, [
  `${MEMBERS} members (one insider), ${EPOCHS} epochs old, scaled timers; ${FLOOD_MS / 1000} s of flood at ${RATE} messages/s,`,
  "against a baseline with the same seed and honest activity (a chat every 2 s, a refresh every 10 s).",
  "insider KB: its transmissions (one per receiver); honest KB: delivered to the honest members; factor = honest/insider.",
  `Baseline: honest members received ${(base.honestIn / 1024).toFixed(0)} KB, CPU ${base.cpuS.toFixed(1)} s.`,
]);
