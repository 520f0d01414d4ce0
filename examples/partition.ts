// Five members on the seeded simulator (virtual time: this runs in a second or two). Two are cut off
// while the other three commit an epoch and chat; after the heal the two catch up and get every chat.
// Run: node examples/partition.ts
import { Cluster, FAST_GROUP_PARAMS, FAST_SYNC_PARAMS } from "demls";

const group = new Cluster({ seed: 7, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
await group.form(5);
const m4 = group.members.get("m4")!;
m4.on("status", (s) => console.log(`t=${(group.now / 1000).toFixed(2)} s  m4 ${s.previous} -> ${s.status}`));
m4.on("recovered", (r) =>
  console.log(`t=${(group.now / 1000).toFixed(2)} s  m4 recovered by ${r.how} (${r.epochs} epochs)`),
);
m4.on("message", (msg) =>
  console.log(`t=${(group.now / 1000).toFixed(2)} s  m4 got <${msg.from}> ${msg.text}`),
);

group.sim.partition([
  ["m0", "m1", "m2"],
  ["m3", "m4"],
]);
await group.members.get("m0")!.proposeRefresh();
await group.chat("m1", "sent while m3 and m4 were away");
await group.sim.runFor(5_000);
group.sim.heal();
for (let t = 0; t < 30 && !group.settled(); t++) await group.sim.runFor(500);
console.log(group.settled() ? "one state, everyone IN_SYNC, every chat delivered" : "NOT recovered");
process.exitCode = group.settled() ? 0 : 1;
