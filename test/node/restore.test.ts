// Every field a member needs after a restart is saved: a run in which every member is saved, stopped and
// restored from its store mid-scenario (mid-split with commits in flight, and during the recovery after
// the heal) replays exactly as the run without those restarts.
import assert from "node:assert/strict";
import { it } from "node:test";
import v8 from "node:v8";
import { Cluster, heal, partition, runUntilSettled } from "../../src/testing.ts";

async function run(seed: number, reloadAt: readonly number[]): Promise<string> {
  const c = new Cluster({ seed, persist: true, link: { loss: 0.1 } });
  await c.form(7);
  const t0 = c.now;
  const names = [...c.members.keys()];
  partition(c, [names.slice(0, 4), names.slice(4)]);
  for (const [at, who] of [
    [300, "m0"],
    [1_700, "m5"],
    [3_100, "m1"],
  ] as const)
    c.sim.at(t0 + at, () => c.members.get(who)!.proposeRefresh());
  for (const [at, who] of [
    [500, "m2"],
    [2_500, "m6"],
    [5_200, "m3"],
  ] as const)
    c.sim.at(t0 + at, async () => void (await c.chat(who, `${who} at ${at}`)));
  for (const at of reloadAt)
    c.sim.at(t0 + at, async () => {
      for (const name of names) await c.reload(name);
    });
  heal(c, t0 + 6_000);
  await c.sim.runUntil(t0 + 6_000);
  const settled = await runUntilSettled(c, { timeoutMs: 60_000 });
  return JSON.stringify({
    trace: c.sim.traceHash(),
    settled,
    states: Object.fromEntries(c.distinctStates()),
    missing: Object.fromEntries(c.missingChats()),
  });
}

it("saving and restoring every member mid-split and mid-recovery leaves the run identical", async () => {
  for (const seed of [3, 4]) {
    const plain = await run(seed, []);
    assert.notEqual(JSON.parse(plain).settled, null, `seed ${seed} recovers: ${plain}`);
    assert.equal(await run(seed, [2_000, 6_400]), plain, `seed ${seed}`);
  }
});

it("a member's new sync key is saved before it acts on it (a crash right after joining keeps it)", async () => {
  const c = new Cluster({ seed: 9, persist: true });
  await c.add("m0", "creator");
  for (let i = 1; i < 6; i++) {
    const name = `m${i}`;
    await c.add(name, "joiner");
    const m = () => c.members.get(name)!;
    for (let t = 0; t < 2_000 && m().group.state.syncKey === undefined; t++) await c.sim.runFor(5);
    const key = m().group.state.syncKey;
    assert.ok(key, `${name} got the sync key`);
    const saved = v8.deserialize(c.stores.get(name)!.load()!) as { core: { syncKey?: { key: Uint8Array } } };
    assert.deepEqual(saved.core.syncKey?.key, key.key, `${name}: the store has the key it uses`);
  }
});
