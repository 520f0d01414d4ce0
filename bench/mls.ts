// MLS layer costs by group size: commit creation, commit processing, serialized member state.
// Usage: node bench/mls.ts [sizes...]   (default 10 100 1000)
import * as mls from "../src/mls/index.ts";
import { median, type Row, report } from "./report.ts";

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 1);
const RUNS = 5;

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await f();
  return [performance.now() - t, r];
}

async function measure(n: number): Promise<Row> {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => mls.createIdentity(`m${i}`)));
  const kps = await Promise.all(ids.map((id) => mls.generateKeyPackages(id, 1)));
  const creator = await mls.createGroup(ids[0]!, new TextEncoder().encode(`bench-${n}`), kps[0]![0]!);
  const [buildMs, added] = await time(() =>
    mls.commit(creator, { adds: kps.slice(1).map((k) => k[0]!.publicBytes) }),
  );
  const [joinMs, joined] = await time(() => mls.joinFromWelcome(ids[n - 1]!, added.welcome!, kps[n - 1]!));
  // Self-update commits (with an update path) from the creator; the last member processes each.
  const commitMs: number[] = [];
  const processMs: number[] = [];
  let a = added.group;
  let b = joined.group;
  let commitBytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const [tc, out] = await time(() => mls.commit(a));
    const [tp, r] = await time(() => mls.processMessage(b, out.commit));
    commitMs.push(tc);
    processMs.push(tp);
    commitBytes = out.commit.length;
    a = out.group;
    b = r.group;
  }
  const state = mls.serializeGroup(b);
  const current = mls.serializeGroup({ ...b, retained: [] });
  return {
    members: n,
    "commit ms": median(commitMs),
    "process ms": median(processMs),
    "commit B": commitBytes,
    "add-all ms": buildMs,
    "join ms": joinMs,
    "welcome KB": added.welcome!.length / 1024,
    "state KB": current.length / 1024,
    [`state+K=${b.retained.length} KB`]: state.length / 1024,
  };
}

const rows: Row[] = [];
for (const n of sizes.length ? sizes : [10, 100, 1000]) rows.push(await measure(n));
report("mls", rows, [
  `median of ${RUNS} self-update commits (update path) by one member, processed by another`,
  "add-all: one commit adding n-1 members; join: joining from that Welcome (verifies the whole tree)",
]);
