import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../../src/net/sim/prng.ts";
import { SeenCache } from "../../src/net/sim/seen-cache.ts";
import { type DeliveryModel, Simulator } from "../../src/net/sim/simulator.ts";

const TOPIC = "t";

/** A busy run: 20 nodes chatting on timers, with loss, jitter, a partition, a crash and a restart. */
async function busyRun(seed: number, delivery: DeliveryModel): Promise<{ hash: string; received: number[] }> {
  const sim = new Simulator({ seed, delivery, link: { latencyMs: 30, jitterMs: 40, loss: 0.1 } });
  const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
  const received = ids.map(() => 0);
  ids.forEach((id, i) => {
    const node = sim.addNode(id);
    node.transport.subscribe(TOPIC, () => void received[i]!++);
    const tick = () => {
      void node.transport.publish(TOPIC, new Uint8Array([i, node.rng.int(256)]));
      node.clock.setTimeout(tick, 200 + node.rng.int(300));
    };
    node.clock.setTimeout(tick, node.rng.int(500));
  });
  sim.partition([ids.slice(0, 7), ids.slice(7, 12)], 2000);
  sim.heal(6000);
  sim.crash("n3", 3000);
  sim.restart("n3", 7000);
  await sim.runUntil(10_000);
  return { hash: sim.traceHash(), received };
}

describe("simulator", () => {
  for (const delivery of ["broadcast", "gossip"] as const) {
    it(`the same seed replays the same trace (${delivery})`, async () => {
      const a = await busyRun(42, delivery);
      const b = await busyRun(42, delivery);
      const c = await busyRun(43, delivery);
      assert.equal(a.hash, b.hash);
      assert.deepEqual(a.received, b.received);
      assert.notEqual(a.hash, c.hash);
    });
  }

  it("applies latency with jitter, loss, and counts bytes per node and topic", async () => {
    const sim = new Simulator({ seed: 3, link: { latencyMs: 100, jitterMs: 50, loss: 0.2 } });
    const a = sim.addNode("a");
    const b = sim.addNode("b");
    const times: number[] = [];
    b.transport.subscribe(TOPIC, () => void times.push(sim.now));
    for (let i = 0; i < 2000; i++) await a.transport.publish(TOPIC, new Uint8Array(10));
    await sim.runFor(1000);
    assert.ok(
      times.every((t) => t >= 100 && t < 150),
      "arrival within latency + jitter",
    );
    const ratio = times.length / 2000;
    assert.ok(ratio > 0.76 && ratio < 0.84, `delivery ratio ${ratio} for loss 0.2`);
    assert.equal(sim.drops.loss, 2000 - times.length);
    assert.equal(sim.counters("a").bytesOut, 20_000);
    assert.equal(sim.counters("b").bytesIn, 10 * times.length);
    assert.equal(sim.topics.get(TOPIC)!.msgsIn, times.length);
  });

  it("gossip: a partition shorter than the gossip window heals by itself, a long one does not", async () => {
    for (const [outage, expectHealed] of [
      [1500, true],
      [8000, false],
    ] as const) {
      const sim = new Simulator({ seed: 5, delivery: "gossip", heartbeatMs: 1000, gossipWindow: 3 });
      const nodes = Array.from({ length: 30 }, (_, i) => sim.addNode(`n${i}`));
      const got = nodes.map(() => new Set<number>());
      for (const [i, n] of nodes.entries()) n.transport.subscribe(TOPIC, (d) => void got[i]!.add(d.data[0]!));
      await sim.runFor(100);
      sim.partition([nodes.slice(0, 10).map((n) => n.id)]);
      await sim.runFor(10);
      await nodes[0]!.transport.publish(TOPIC, new Uint8Array([7]));
      await sim.runFor(outage);
      sim.heal();
      await sim.runFor(10_000);
      const far = got.slice(10).filter((s) => s.has(7)).length;
      if (expectHealed) assert.equal(far, 20, `short outage: all of the far side got it (${far})`);
      else assert.equal(far, 0, `long outage: nothing crossed (${far})`);
    }
  });

  it("partition() and heal() without a time act at once: the next publication already sees them", async () => {
    const sim = new Simulator({ seed: 9 });
    const [a, b] = [sim.addNode("a"), sim.addNode("b")];
    const got: number[] = [];
    b.transport.subscribe(TOPIC, (d) => void got.push(d.data[0]!));
    sim.partition([["a"], ["b"]]);
    await a.transport.publish(TOPIC, new Uint8Array([1]));
    await sim.runFor(500);
    sim.heal();
    await a.transport.publish(TOPIC, new Uint8Array([2]));
    await sim.runFor(500);
    assert.deepEqual(got, [2]);
    assert.equal(sim.drops.partition, 1);
  });

  it("a crashed node loses its timers and subscriptions; a restart gives fresh handles", async () => {
    const sim = new Simulator({ seed: 9 });
    const a = sim.addNode("a");
    const b = sim.addNode("b");
    let fired = 0;
    let got = 0;
    b.clock.setTimeout(() => void fired++, 500);
    b.transport.subscribe(TOPIC, () => void got++);
    sim.crash("b", 100);
    await sim.runFor(1000);
    assert.equal(fired, 0);
    await a.transport.publish(TOPIC, new Uint8Array([1]));
    await sim.runFor(1000);
    assert.equal(got, 0);
    sim.restart("b");
    await sim.runFor(1);
    // The old handles are inert; the new ones work.
    b.transport.subscribe(TOPIC, () => void got++);
    const b2 = sim.node("b");
    let got2 = 0;
    b2.transport.subscribe(TOPIC, () => void got2++);
    await a.transport.publish(TOPIC, new Uint8Array([2]));
    await sim.runFor(1000);
    assert.deepEqual([got, got2], [0, 1]);
  });

  it("awaits asynchronous handlers before the next event", async () => {
    const sim = new Simulator({ seed: 1, link: { latencyMs: 10, jitterMs: 0, loss: 0 } });
    const a = sim.addNode("a");
    const b = sim.addNode("b");
    const log: string[] = [];
    b.transport.subscribe(TOPIC, async (d) => {
      log.push(`start ${d.data[0]}`);
      await new Promise((r) => setTimeout(r, 5)); // real async work (crypto, storage)
      log.push(`end ${d.data[0]}`);
    });
    await a.transport.publish(TOPIC, new Uint8Array([1]));
    b.clock.setTimeout(() => void log.push("timer"), 10); // due at the same instant as both arrivals
    await a.transport.publish(TOPIC, new Uint8Array([2]));
    await sim.runFor(100);
    assert.deepEqual(log, ["start 1", "end 1", "timer", "start 2", "end 2"]);
  });

  it("the PRNG is seeded and uniform enough", () => {
    const a = new SeededRng(1);
    const b = new SeededRng(1);
    const xs = Array.from({ length: 10_000 }, () => a.next());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b.next()),
    );
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02 && xs.every((x) => x >= 0 && x < 1));
  });
});

describe("seen cache", () => {
  it("remembers an id for at least its time-to-live and forgets it within twice that", () => {
    const seen = new SeenCache(1000);
    seen.add(1, 0);
    seen.add(2, 900);
    assert.ok(seen.has(1) && seen.has(2));
    seen.add(3, 1000); // rotation: 1 and 2 move to the older generation
    assert.ok(seen.has(1) && seen.has(2) && seen.has(3));
    seen.add(4, 1999);
    assert.ok(seen.has(1), "1 is 1999 ms old, under twice the TTL");
    seen.add(5, 2000); // second rotation: the generation holding 1 and 2 is dropped
    assert.ok(!seen.has(1) && !seen.has(2));
    assert.ok(seen.has(3) && seen.has(4) && seen.has(5));
    assert.equal(seen.size, 3);
  });

  it("keeps memory bounded over a long run: a node holds ids of the last few minutes only", async () => {
    const sim = new Simulator({ seed: 3, delivery: "gossip" });
    const nodes = ["a", "b", "c"].map((id) => sim.addNode(id));
    let received = 0;
    for (const n of nodes) n.transport.subscribe(TOPIC, () => void received++);
    // One publication a second for 20 virtual minutes: 1200 ids, each reaching both other nodes once.
    let sent = 0;
    const tick = () => {
      void nodes[0]!.transport.publish(TOPIC, new Uint8Array([1]));
      if (++sent < 1200) nodes[0]!.clock.setTimeout(tick, 1000);
    };
    tick();
    await sim.runUntil(1_201_000);
    assert.equal(received, 2 * 1200);
    assert.equal(sim.drops.handlerErrors, 0);
    assert.ok(sim.seenSize("b") <= 241, `b remembers ${sim.seenSize("b")} ids, not all 1200`);
  });
});
