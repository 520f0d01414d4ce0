// Five members on the seeded simulator (virtual time: this runs in a second or two). Two are cut off
// while the other three commit an epoch and chat; after the heal the two catch up and get every chat.
// Run: node examples/partition.ts
import { Cluster, heal, partition, runUntilSettled, SIMULATION_PRESETS } from "demls/testing";

const group = new Cluster({
  seed: 7,
  groupParams: SIMULATION_PRESETS.group,
  syncParams: SIMULATION_PRESETS.sync,
});
await group.form(5);
const m4 = group.members.get("m4")!;
m4.on("status", (s) => console.log(`t=${(group.now / 1000).toFixed(2)} s  m4 ${s.previous} -> ${s.status}`));
m4.on("recovered", (r) =>
  console.log(`t=${(group.now / 1000).toFixed(2)} s  m4 recovered by ${r.how} (${r.epochs} epochs)`),
);
m4.on("message", (msg) =>
  console.log(`t=${(group.now / 1000).toFixed(2)} s  m4 got <${msg.from}> ${msg.text}`),
);

partition(group, [
  ["m0", "m1", "m2"],
  ["m3", "m4"],
]);
await group.members.get("m0")!.proposeRefresh();
await group.chat("m1", "sent while m3 and m4 were away");
await group.sim.runFor(5_000);
heal(group);
const settledAfter = await runUntilSettled(group, { timeoutMs: 15_000 });
console.log(
  settledAfter === null
    ? "NOT recovered"
    : `one state, everyone IN_SYNC, every chat delivered ${(settledAfter / 1000).toFixed(2)} s after the heal (detected in ${((group.detectionMs() ?? 0) / 1000).toFixed(2)} s)`,
);
process.exitCode = settledAfter === null ? 1 : 0;
