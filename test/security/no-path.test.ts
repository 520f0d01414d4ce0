// One member's word never decides (docs/threats.md): a catch-up answer saying "no path leads from your
// state to ours" makes a lagging member rejoin only when two distinct responders, each signing its
// answer, say so (or the only holder there is). An insider that answers every request of a lagging member
// at once with an empty batch, signed by itself or in another member's name, makes it ask others; it
// catches up from the honest answers, with no rejoin.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { open } from "../../src/sync/seal.ts";
import { decodeSyncPayload } from "../../src/sync/wire.ts";
import { utf8 } from "../../src/util/bytes.ts";

const counter = (c: Cluster, n: string, code: string) => {
  const m = c.members.get(n)!;
  return (
    ((m.sync.state.counters as Record<string, number>)[code] ?? 0) +
    ((m.group.state.counters as Record<string, number>)[code] ?? 0)
  );
};

async function until(c: Cluster, done: () => boolean, limitMs = 20_000): Promise<boolean> {
  for (let t = 0; t < limitMs && !done(); t += 250) await c.sim.runFor(250);
  return done();
}

/**
 * `victim` cut off while the others commit `epochs` refreshes; then, healed, every catch-up request it
 * sends is answered at once by the insider `liar` with an empty batch ("no path"), in its own name or,
 * when `impersonate` is set, in that member's name.
 */
async function attack(seed: number, impersonate?: string) {
  const c = new Cluster({ seed, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(5);
  await c.sim.runFor(3_000);
  const victim = "m4";
  const rest = [...c.members.keys()].filter((n) => n !== victim);
  c.sim.partition([rest, [victim]]);
  for (let e = 0; e < 3; e++) {
    const before = c.epochOf(rest[0]!);
    await c.members.get(rest[e % rest.length]!)!.proposeRefresh();
    assert.ok(await until(c, () => rest.every((n) => c.epochOf(n) > before)), `epoch ${e} committed`);
  }
  await c.sim.runFor(1_000);
  const x = new Insider(c, "m0");
  const v = c.members.get(victim)!;
  let lies = 0;
  c.outgoing.set(victim, (o) => {
    if (o.kind !== "sync") return "send";
    const keys = [v.group.state.syncKey!.key, ...v.group.state.previousSyncKeys];
    let key: Uint8Array | undefined;
    let p: ReturnType<typeof decodeSyncPayload> | undefined;
    for (const k of keys)
      try {
        p = decodeSyncPayload(open([k], o.data, utf8(o.topic)).plaintext);
        key = k;
        break;
      } catch {}
    const r = p?.catchUp;
    if (r === undefined || key === undefined) return "send";
    lies++;
    const responder = impersonate ? c.members.get(impersonate)!.group.memberId : x.member.group.memberId;
    void x
      .noPathAnswer({ groupId: r.groupId, responder, nonce: r.nonce, commits: [] })
      .then((commits) => x.sendSync({ commits }, { key, to: [victim] }));
    return "send";
  });
  c.sim.heal();
  const one = await until(c, () => c.distinctStates().size === 1, 20_000);
  return { c, one, lies, victim };
}

describe("a forged 'no path' answer makes a lagging member ask others, not rejoin", () => {
  // Lies that reached the victim while its request waited (a lie behind the honest answer is only heard).
  let weighed = 0;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    it(`seed ${seed}: the insider answers every request at once with an empty batch`, async () => {
      const { c, one, lies, victim } = await attack(seed);
      assert.ok(lies > 0, "the insider answered");
      assert.ok(one, "the victim caught up");
      assert.equal(counter(c, victim, "FORK_BEYOND_RETAINED"), 0, "no rejoin");
      assert.equal(c.members.get(victim)!.sync.state.rejoining, false);
      weighed += counter(c, victim, "NO_PATH_UNCORROBORATED");
      assert.deepEqual(c.faults, []);
    });

  it("the lies were weighed and counted (NO_PATH_UNCORROBORATED), not ignored", () => {
    assert.ok(weighed >= 5, `${weighed} lies weighed over 10 seeds`);
  });

  it("an empty answer signed by the insider in another member's name is refused (INVALID_SIGNATURE)", async () => {
    const { c, one, victim } = await attack(11, "m1");
    assert.ok(one, "the victim caught up");
    assert.equal(counter(c, victim, "FORK_BEYOND_RETAINED"), 0, "no rejoin");
    assert.ok(counter(c, victim, "INVALID_SIGNATURE") > 0);
    assert.deepEqual(c.faults, []);
  });
});
