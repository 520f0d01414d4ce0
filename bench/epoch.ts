// One voted epoch at the spec's timers and real link delays, beside the de-MLS reliability study (issue 37).
// The study simulates one commit round under Bernoulli loss (n = 12, links 0.5-2 s); with "primary steward
// first, attest the winner's hash, pull its body from any holder" it reports 158 messages at 10% loss and
// 198 at 20%, convergence 4.7 s and 5.9 s, and no fork up to 50% loss. Here: a group set up in one commit,
// one voted epoch without loss so that an elected steward list (steward and backup) is in force, then one
// member proposes a key refresh; votes (10 s), the steward's commit (60 s after
// approval), freeze (30 s) and selection run on the simulator with links of 0.5-2 s and the given loss.
// Per row (median over the seeds unless said):
//   first→all s   first member at the new epoch → every member in one state at it (max over seeds too);
//   forks         seeds where members took different commits for the epoch (healed later by re-alignment);
//   stalls        seeds not in one state at the new epoch within 10 virtual minutes of the proposal;
//   round msgs    transmissions (one per receiver, dropped ones included) of the round's own messages:
//                 proposal, votes, commits, and the commit resolution's attestations, pulls and answers
//                 (SDS ephemerals: "of which resolution");
//   study msgs    the study's figure for its primary-first round at that loss (interpolated where absent);
//   SDS sync / SDS rebcast / gossip   transmissions of SDS sync messages, SDS re-sent content (resends and
//                 SDS-R repair answers, broadcast or direct), and SyncStateInfo and other sync-topic traffic, from the proposal
//                 until all were in one state; also per member per minute;
//   resends / SDS-R answers   SDS resends and SDS-R repair answers sent (messages; a resend goes to
//                 everyone, an answer to everyone or, "of which direct", to its requesters only: one
//                 transmission each);
//   dup %         SDS content receptions of a message the receiver already had, of all content receptions;
//   KB            bytes of every transmission in that window.
// Usage: node bench/epoch.ts [--n 12,100] [--loss 0,10,20,30] [--seeds 30] [--seeds-large 3] [--verbose]
//   --seeds: seeds per row at n <= 12; --seeds-large: at larger n (a 100-member round takes minutes);
//   --verbose: each seed's figures on stderr (always at larger n).
import { decodeGroupFrame } from "../src/group/frames.ts";
import { DEFAULT_GROUP_PARAMS } from "../src/group/params.ts";
import { topicsOf } from "../src/group/topics.ts";
import { Cluster } from "../src/node/cluster.ts";
import { decodeSdsMessage } from "../src/sds/wire.ts";
import { DEFAULT_SYNC_PARAMS } from "../src/sync/params.ts";
import { median, type Row, report } from "./report.ts";

const list = (name: string, dflt: number[]) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1]!.split(",").map(Number);
};
const SIZES = list("--n", [12, 100]);
const LOSSES = list("--loss", [0, 10, 20, 30]);
const SEEDS = list("--seeds", [30])[0]!;
const SEEDS_LARGE = list("--seeds-large", [3])[0]!;
const STEP_MS = 100;
const DEADLINE_MS = 600_000;

/** The study's primary-first figures: messages and convergence s by loss % (n = 12). */
const STUDY: Record<number, { msgs: number; s: number }> = {
  10: { msgs: 158, s: 4.7 },
  20: { msgs: 198, s: 5.9 },
};

type Kind = "round" | "resolution" | "sdsSync" | "rebroadcast" | "gossip" | "welcome";

interface Seed {
  firstToAllMs: number | undefined;
  fork: boolean;
  stall: boolean;
  windowMs: number;
  tx: Record<Kind, number>;
  bytes: number;
  received: number;
  duplicates: number;
  /** SDS resends and SDS-R answers sent (messages, not transmissions). */
  resends: number;
  repairs: number;
  /** Of those, answers addressed to their requesters only. */
  directRepairs: number;
}

async function runSeed(n: number, lossPct: number, seed: number): Promise<Seed> {
  const c = new Cluster({
    seed,
    link: { latencyMs: 500, jitterMs: 1500, loss: 0 },
    groupParams: DEFAULT_GROUP_PARAMS,
    syncParams: DEFAULT_SYNC_PARAMS,
  });
  await c.bootstrap(n);
  await c.sim.runFor(90_000);
  // One voted epoch without loss first: the steward list in force is then an elected one (epoch steward
  // and backup), not the bootstrap's creator alone.
  const e = c.epochOf("m0");
  await c.members.get("m0")!.proposeRefresh();
  for (let t = 0; t < 3_000 && !(c.epochOf("m0") > e && c.distinctStates().size === 1); t++)
    await c.sim.runFor(STEP_MS);
  await c.sim.runFor(60_000);
  const topics = topicsOf("demo");
  const tx: Record<Kind, number> = {
    round: 0,
    resolution: 0,
    sdsSync: 0,
    rebroadcast: 0,
    gossip: 0,
    welcome: 0,
  };
  let bytes = 0;
  const published = new Set<string>();
  let counting = false;
  for (const name of c.members.keys()) {
    c.outgoing.set(name, (m) => {
      if (!counting) return "send";
      const copies = m.direct !== undefined ? 1 : n - 1; // a direct send is one transmission
      bytes += m.data.length * copies;
      let kind: Kind = m.kind === "sync" ? "gossip" : "welcome";
      if (m.kind === "app") {
        const s = decodeSdsMessage(m.data);
        if (s.content === undefined || s.content.length === 0) kind = "sdsSync";
        else if (s.lamportTimestamp === undefined) kind = "resolution";
        else if (published.has(s.messageId)) kind = "rebroadcast";
        else {
          published.add(s.messageId);
          kind = "round";
          decodeGroupFrame(s.content); // every round message is a group frame
        }
      }
      tx[kind] += copies;
      return "send";
    });
  }
  // Receptions of SDS content messages, and those of a message the receiver already had.
  let received = 0;
  let duplicates = 0;
  for (const name of c.members.keys()) {
    const had = new Set<string>();
    c.sim.node(name).transport.subscribe(topics.app, ({ data }) => {
      if (!counting) return;
      const s = decodeSdsMessage(data);
      if (s.content === undefined || s.content.length === 0 || s.lamportTimestamp === undefined) return;
      received++;
      if (had.has(s.messageId)) duplicates++;
      had.add(s.messageId);
    });
  }
  const sdsStats = () =>
    [...c.members.values()].reduce(
      (a, m) => {
        const st = m.group.channel?.state.stats;
        return {
          resent: a.resent + (st?.resent ?? 0),
          repairs: a.repairs + (st?.repairResponsesSent ?? 0),
          direct: a.direct + (st?.repairDirectSent ?? 0),
        };
      },
      { resent: 0, repairs: 0, direct: 0 },
    );
  const stats0 = sdsStats();
  c.sim.setLoss(lossPct / 100);
  counting = true;
  const start = c.now;
  const e0 = c.epochOf("m0");
  await c.members.get("m1")!.proposeRefresh();
  const fingerprints = new Set<string>();
  const reached = new Map<string, number>();
  let first: number | undefined;
  let all: number | undefined;
  while (c.now < start + DEADLINE_MS) {
    await c.sim.runFor(STEP_MS);
    for (const [name, m] of c.members) {
      const g = m.group.group;
      if (g === undefined || g.epoch <= e0) continue;
      if (!reached.has(name)) {
        reached.set(name, c.now);
        first ??= c.now;
        const fp = g.epoch === e0 + 1n ? g.fingerprint : undefined;
        if (fp) fingerprints.add(Buffer.from(fp).toString("hex"));
      }
    }
    if (reached.size === n && c.distinctStates().size === 1) {
      all = c.now;
      break;
    }
  }
  counting = false;
  const stats1 = sdsStats();
  return {
    resends: stats1.resent - stats0.resent,
    repairs: stats1.repairs - stats0.repairs,
    directRepairs: stats1.direct - stats0.direct,
    firstToAllMs: first !== undefined && all !== undefined ? all - first : undefined,
    fork: fingerprints.size > 1,
    stall: all === undefined,
    windowMs: (all ?? c.now) - start,
    tx,
    bytes,
    received,
    duplicates,
  };
}

const rows: Row[] = [];
for (const n of SIZES) {
  for (const loss of LOSSES) {
    const seeds = n <= 12 ? SEEDS : SEEDS_LARGE;
    const runs: Seed[] = [];
    const wall = performance.now();
    for (let seed = 1; seed <= seeds; seed++) {
      runs.push(await runSeed(n, loss, seed));
      if (n > 12 || process.argv.includes("--verbose"))
        console.error(`  n=${n} loss=${loss}% seed ${seed}: ${JSON.stringify(runs.at(-1))}`);
    }
    const done = runs.filter((r) => r.firstToAllMs !== undefined);
    const med = (f: (r: Seed) => number) => median(runs.map(f));
    const perMemberMin = (k: Kind) => med((r) => r.tx[k] / n / (r.windowMs / 60_000));
    const study = STUDY[loss];
    rows.push({
      n,
      "loss %": loss,
      seeds,
      "first→all s": done.length ? median(done.map((r) => r.firstToAllMs!)) / 1000 : "-",
      "max s": done.length ? Math.max(...done.map((r) => r.firstToAllMs!)) / 1000 : "-",
      "study s": study?.s ?? "-",
      forks: runs.filter((r) => r.fork).length,
      stalls: runs.filter((r) => r.stall).length,
      "round msgs": med((r) => r.tx.round + r.tx.resolution),
      "of which resolution": med((r) => r.tx.resolution),
      "study msgs": n === 12 ? (study?.msgs ?? "-") : "-",
      "SDS sync": med((r) => r.tx.sdsSync),
      "SDS rebcast": med((r) => r.tx.rebroadcast),
      resends: med((r) => r.resends),
      "SDS-R answers": med((r) => r.repairs),
      "of which direct": med((r) => r.directRepairs),
      gossip: med((r) => r.tx.gossip),
      "overhead /member/min": perMemberMin("sdsSync") + perMemberMin("rebroadcast") + perMemberMin("gossip"),
      "dup %": med((r) => (100 * r.duplicates) / Math.max(1, r.received)),
      KB: med((r) => r.bytes / 1024),
      "wall s": (performance.now() - wall) / 1000,
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
report("epoch", rows, [
  "spec timers (voting 10 s, commit 60 s after approval, freeze 30 s), links 0.5-2 s, loss on every transmission",
  "study: the de-MLS reliability study's primary-first round at n = 12 (messages; convergence s)",
  "overhead /member/min: SDS syncs, SDS re-broadcasts and gossip each member received per minute of the round",
]);
