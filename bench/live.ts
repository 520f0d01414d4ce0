// Real libp2p over TCP on loopback, every member in this one process (wall clock, scaled timers): a group
// forms (through votes up to 20 members, else in one commit), 30% of it is cut off while the rest commits
// an epoch, the cut heals, and the run waits for one state with every chat delivered.
// Usage: npm run bench:live -- [members...] (default 10 30 50)
import { runNet } from "../src/cli/net.ts";
import { DemlsError } from "../src/util/errors.ts";
import { type Row, report } from "./report.ts";

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const rows: Row[] = [];
for (const members of sizes.length ? sizes : [10, 30, 50]) {
  const t0 = performance.now();
  let r: Awaited<ReturnType<typeof runNet>>;
  try {
    r = await runNet({
      transport: "tcp",
      members,
      minority: Math.max(1, Math.floor(members * 0.3)),
      epochs: 1,
      timeoutMs: 180_000,
    });
  } catch (e) {
    // A group that did not form is a row too, with its reason.
    if (!(e instanceof DemlsError)) throw e;
    rows.push({ members, plan: e.code, "wall s": (performance.now() - t0) / 1000 });
    console.log(JSON.stringify(rows.at(-1)), e.message.slice(0, 300));
    continue;
  }
  rows.push({
    members,
    plan: r.plan,
    "timers x": r.timeScale,
    "formed s": r.formMs / 1000,
    "detected s": r.detectedMs === null ? "-" : r.detectedMs / 1000,
    "recovered s": r.recoveredMs === null ? "NOT RECOVERED" : r.recoveredMs / 1000,
    paths:
      Object.entries(r.recoveries)
        .map(([k, v]) => `${k} x${v}`)
        .join(", ") || "SDS repair alone",
    states: Object.keys(r.groups).length,
    lost: r.appLost,
    "net errors": r.networkErrors,
    "wall s": (performance.now() - t0) / 1000,
    "RSS MB": process.memoryUsage().rss / 2 ** 20,
  });
  console.log(JSON.stringify(rows.at(-1)));
}
report(`live-tcp-${rows.map((r) => r.members).join("-")}`, rows, [
  "libp2p TCP on loopback (noise, yamux, gossipsub as Waku relay), all members in one process; wall clock from the heal",
  "timers x: the simulator's timers times members/10 (all members share this machine's cores); above 20 members the group starts from one commit",
]);
