import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../../src/net/sim/prng.ts";
import { SeenCache } from "../../src/net/sim/seen-cache.ts";
import { type DeliveryModel, type LinkFaults, Simulator } from "../../src/net/sim/simulator.ts";
import { DemlsError } from "../../src/util/errors.ts";

const TOPIC = "t";

/** A busy run: 20 nodes chatting on timers, with loss, jitter, a partition, a crash and a restart. */
async function busyRun(
  seed: number,
  delivery: DeliveryModel,
  faults?: LinkFaults,
): Promise<{ hash: string; received: number[] }> {
  const sim = new Simulator({
    seed,
    delivery,
    link: { latencyMs: 30, jitterMs: 40, loss: 0.1 },
    ...(faults ? { faults } : {}),
  });
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

/** A busy run with every fault the simulator draws: duplication, reordering, one-way cuts, a step crash. */
async function faultyRun(
  seed: number,
  delivery: DeliveryModel,
): Promise<{ hash: string; received: number[] }> {
  const sim = new Simulator({
    seed,
    delivery,
    link: { latencyMs: 30, jitterMs: 40, loss: 0.05 },
    faults: { duplicate: 0.2, duplicateWithinMs: 3000, reorder: 0.3, reorderMinMs: 200, reorderMaxMs: 3000 },
  });
  const ids = Array.from({ length: 12 }, (_, i) => `n${i}`);
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
  sim.cutOneWay(["n0"], ids.slice(1), 1000);
  sim.restoreOneWay(["n0"], ids.slice(1), 4000);
  sim.cutOneWay(ids.slice(0, 6), ids.slice(6), 2000);
  sim.restoreOneWay(ids.slice(0, 6), ids.slice(6), 5000);
  sim.at(1500, () => sim.crashAfterInputs("n3", 7));
  sim.restart("n3", 6000);
  sim.crash("n4", 2500); // dead for good
  await sim.runUntil(8_000);
  return { hash: sim.traceHash(), received };
}

/** Two nodes, `b` recording what it gets from `a` and when. */
function pair(faults: Partial<LinkFaults> = {}, seed = 11) {
  const sim = new Simulator({ seed, link: { latencyMs: 50, jitterMs: 10, loss: 0 }, faults });
  const a = sim.addNode("a");
  const b = sim.addNode("b");
  const got: { n: number; at: number }[] = [];
  b.transport.subscribe(TOPIC, (d) => void got.push({ n: (d.data[0]! << 8) | d.data[1]!, at: sim.now }));
  const send = async (count: number) => {
    for (let n = 0; n < count; n++) await a.transport.publish(TOPIC, new Uint8Array([n >> 8, n & 255]));
  };
  return { sim, a, b, got, send };
}

describe("simulator faults", () => {
  for (const delivery of ["broadcast", "gossip"] as const)
    it(`a seed with every fault replays the same trace (${delivery})`, async () => {
      const a = await faultyRun(7, delivery);
      const b = await faultyRun(7, delivery);
      const c = await faultyRun(8, delivery);
      assert.equal(a.hash, b.hash);
      assert.deepEqual(a.received, b.received);
      assert.notEqual(a.hash, c.hash);
    });

  it("faults that are off draw nothing: a run replays the trace it had before they existed", async () => {
    // The hashes of `busyRun(42)` on the simulator before duplication, reordering, one-way cuts and step
    // crashes were added: a run that does not use them is byte for byte the run of before.
    const before = { broadcast: "24873c7e209f6905", gossip: "617c767355c8e0d7" };
    for (const delivery of ["broadcast", "gossip"] as const) {
      assert.equal((await busyRun(42, delivery)).hash, before[delivery]);
      const off = { duplicate: 0, duplicateWithinMs: 3000, reorder: 0, reorderMinMs: 200, reorderMaxMs: 900 };
      assert.equal((await busyRun(42, delivery, off)).hash, before[delivery]);
    }
  });

  it("duplication delivers exactly the drawn extra copies, each within the bound after the first", async () => {
    const { sim, got, send } = pair({ duplicate: 0.3, duplicateWithinMs: 3000 });
    await send(2000);
    await sim.runFor(5000);
    const copies = sim.injected.duplicated;
    assert.ok(copies > 520 && copies < 680, `${copies} copies for 30% of 2000`);
    assert.equal(got.length, 2000 + copies);
    assert.equal(sim.counters("b").msgsIn, 2000 + copies);
    assert.equal(sim.counters("a").msgsOut, 2000, "the sender sent each once");
    const first = new Map<number, number>();
    for (const g of got) {
      const f = first.get(g.n);
      if (f === undefined) first.set(g.n, g.at);
      else assert.ok(g.at - f >= 0 && g.at - f <= 3000, `copy of ${g.n} ${g.at - f} ms after the first`);
    }
    assert.equal(first.size, 2000, "every message arrived at least once");
  });

  it("duplicates meet gossipsub's seen cache in the gossip model: the handler gets each once", async () => {
    const sim = new Simulator({
      seed: 4,
      delivery: "gossip",
      faults: { duplicate: 0.5, duplicateWithinMs: 1000 },
    });
    const [a, b] = [sim.addNode("a"), sim.addNode("b")];
    let got = 0;
    b.transport.subscribe(TOPIC, () => void got++);
    a.transport.subscribe(TOPIC, () => {});
    for (let i = 0; i < 200; i++) await a.transport.publish(TOPIC, new Uint8Array([i]));
    await sim.runFor(3000);
    assert.equal(got, 200);
    assert.ok(sim.injected.duplicated > 60);
    assert.equal(sim.drops.duplicate, sim.injected.duplicated);
  });

  it("reordering holds the drawn fraction back by the drawn extra delay, past later messages", async () => {
    const { sim, got, send } = pair({ reorder: 0.25, reorderMinMs: 200, reorderMaxMs: 3000 });
    await send(2000);
    await sim.runFor(5000);
    const delayed = sim.injected.delayed;
    assert.ok(delayed > 420 && delayed < 580, `${delayed} held back for 25% of 2000`);
    assert.equal(got.length, 2000);
    // Sent at time 0 over a link of 50-60 ms: anything later was held back, by 200 ms to 3 s.
    const late = got.filter((g) => g.at >= 60);
    assert.equal(late.length, delayed);
    assert.ok(late.every((g) => g.at >= 250 && g.at < 3060));
    const order = got.map((g) => g.n);
    assert.notDeepEqual(
      order,
      [...order].sort((x, y) => x - y),
      "arrival order is not sending order",
    );
  });

  it("a one-way cut drops one direction only, overlapping cuts lift one by one, heal() leaves them", async () => {
    const sim = new Simulator({ seed: 9 });
    const [a, b] = [sim.addNode("a"), sim.addNode("b")];
    const atA: number[] = [];
    const atB: number[] = [];
    a.transport.subscribe(TOPIC, (d) => void atA.push(d.data[0]!));
    b.transport.subscribe(TOPIC, (d) => void atB.push(d.data[0]!));
    const both = async (n: number) => {
      await a.transport.publish(TOPIC, new Uint8Array([n]));
      await b.transport.publish(TOPIC, new Uint8Array([n]));
      await sim.runFor(500);
    };
    sim.cutOneWay(["a"], ["b"]);
    await both(1);
    sim.cutOneWay(["a"], ["b"]);
    sim.heal();
    sim.restoreOneWay(["a"], ["b"]);
    await both(2);
    sim.restoreOneWay(["a"], ["b"]);
    await both(3);
    assert.deepEqual(atA, [1, 2, 3], "b to a always worked");
    assert.deepEqual(atB, [3], "a to b only once both cuts were lifted");
    assert.equal(sim.drops.partition, 2);
  });

  it("a one-way cut stops gossip relaying and IWANT retries across it", async () => {
    const sim = new Simulator({ seed: 5, delivery: "gossip" });
    const nodes = Array.from({ length: 10 }, (_, i) => sim.addNode(`n${i}`));
    const got = nodes.map(() => 0);
    for (const [i, n] of nodes.entries()) n.transport.subscribe(TOPIC, () => void got[i]!++);
    await sim.runFor(100);
    const ids = nodes.map((n) => n.id);
    // n9 hears nobody: nothing reaches it, by any path, while it can still send.
    sim.cutOneWay(ids.slice(0, 9), ["n9"]);
    await nodes[0]!.transport.publish(TOPIC, new Uint8Array([1]));
    await nodes[9]!.transport.publish(TOPIC, new Uint8Array([2]));
    await sim.runFor(5000);
    assert.equal(got[9], 0);
    assert.deepEqual(got.slice(0, 9), [1, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  for (const delivery of ["broadcast", "gossip"] as const)
    it(`a direct send goes to its target only, over the link model: loss, one-way cuts, partitions (${delivery})`, async () => {
      const sim = new Simulator({ seed: 4, delivery, link: { latencyMs: 50, jitterMs: 10, loss: 0.25 } });
      const nodes = Array.from({ length: 6 }, (_, i) => sim.addNode(`n${i}`));
      const got = nodes.map(() => [] as string[]);
      for (const [i, n] of nodes.entries())
        n.transport.subscribe(TOPIC, (d) => void got[i]!.push(`${d.data[0]}<${d.from}`));
      await sim.runFor(100);
      const direct = (from: number, to: number, tag: number) =>
        nodes[from]!.transport.sendDirect!(`n${to}`, TOPIC, new Uint8Array([tag]));
      for (let k = 0; k < 400; k++) await direct(0, 1, 1);
      await sim.runFor(1000);
      // One transmission per send, dropped at the link's loss rate; nobody else gets a copy or a relay.
      const ratio = got[1]!.length / 400;
      assert.ok(ratio > 0.68 && ratio < 0.82, `delivery ratio ${ratio} for loss 0.25`);
      assert.ok(got[1]!.every((x) => x === "1<n0"));
      assert.deepEqual(got.filter((_, i) => i !== 1).flat(), []);
      assert.equal(sim.counters("n0").msgsOut, 400);
      sim.setLoss(0);
      sim.cutOneWay(["n2"], ["n3"]);
      sim.partition([["n4"]]);
      await direct(2, 3, 2); // cut this way
      await direct(3, 2, 3); // the other way works
      await direct(5, 4, 4); // across the partition
      await direct(4, 4, 5); // to itself: nothing
      await sim.runFor(1000);
      assert.deepEqual([got[2], got[3], got[4]], [["3<n3"], [], []]);
      assert.deepEqual(got[0], []);
    });

  it("a node added during a split joins the side of the node it is put with", async () => {
    const sim = new Simulator({ seed: 2 });
    const [a, b] = [sim.addNode("a"), sim.addNode("b")];
    sim.partition([["a"], ["b"]]);
    const c = sim.addNode("c");
    sim.joinSide("c", "b");
    let atA = 0;
    let atB = 0;
    a.transport.subscribe(TOPIC, () => void atA++);
    b.transport.subscribe(TOPIC, () => void atB++);
    await c.transport.publish(TOPIC, new Uint8Array([1]));
    await sim.runFor(500);
    assert.deepEqual([atA, atB], [0, 1]);
  });

  it("crashAfterInputs crashes a node right after its k-th input, timers and messages alike", async () => {
    const sim = new Simulator({ seed: 3, link: { latencyMs: 10, jitterMs: 0, loss: 0 } });
    const a = sim.addNode("a");
    const b = sim.addNode("b");
    const log: string[] = [];
    b.transport.subscribe(TOPIC, async (d) => {
      await new Promise((r) => setTimeout(r, 1)); // real async work: the crash waits for it
      log.push(`msg ${d.data[0]}`);
    });
    const tick = () => {
      log.push(`timer ${sim.now}`);
      b.clock.setTimeout(tick, 25);
    };
    b.clock.setTimeout(tick, 25);
    for (let i = 0; i < 10; i++)
      a.clock.setTimeout(() => void a.transport.publish(TOPIC, new Uint8Array([i])), 20 * i);
    const before = sim.inputs("b");
    let stopped = 0;
    sim.crashAfterInputs("b", 5, () => {
      stopped++;
      log.push("crash");
    });
    await sim.runFor(1000);
    assert.equal(stopped, 1);
    assert.equal(log.length, 6);
    assert.equal(log.at(-1), "crash", "nothing after the crash");
    assert.equal(sim.inputs("b") - before, 5);
    assert.equal(sim.isUp("b"), false);
    // Never restarted: dead for good, however long the run.
    await sim.runFor(60_000);
    assert.equal(log.length, 6);
  });

  it("crashAfterInputs with 0 crashes before the next input; a crash by other means disarms it", async () => {
    const sim = new Simulator({ seed: 3 });
    const b = sim.addNode("b");
    let ticks = 0;
    b.clock.setTimeout(() => void ticks++, 0);
    b.clock.setTimeout(() => void ticks++, 5);
    sim.crashAfterInputs("b", 0);
    await sim.runFor(10);
    assert.equal(sim.isUp("b"), false);
    assert.equal(ticks, 1, "the timer queued before the crash ran, the next one did not");
    sim.restart("b");
    await sim.runFor(1);
    let fired = 0;
    sim.crashAfterInputs("b", 2, () => void fired++);
    sim.crash("b");
    sim.restart("b", sim.now + 10);
    await sim.runFor(20);
    const again = sim.node("b");
    for (let i = 0; i < 4; i++) again.clock.setTimeout(() => void ticks++, i);
    await sim.runFor(10);
    assert.equal(fired, 0, "the armed crash went with the crash");
    assert.ok(sim.isUp("b"));
    assert.equal(ticks, 5);
  });

  it("fault settings out of range are refused with BAD_PARAMS", () => {
    const sim = new Simulator({ seed: 1 });
    for (const bad of [
      { duplicate: 1.5 },
      { reorder: -0.1 },
      { reorderMinMs: 500, reorderMaxMs: 100 },
      { duplicateWithinMs: Number.NaN },
    ])
      assert.throws(
        () => sim.setLinkFaults(bad),
        (e) => e instanceof DemlsError && e.code === "BAD_PARAMS",
      );
    assert.throws(() => new Simulator({ faults: { duplicate: 2 } as LinkFaults }), DemlsError);
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
