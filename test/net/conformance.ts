// The Transport conformance suite: every implementation must pass it unchanged.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HarnessFactory, NetHarness } from "./harness.ts";

const TOPIC = "/demls/1/conformance/app/proto";
const enc = (s: string) => new TextEncoder().encode(s);

/** Records what each node received on TOPIC, as strings. */
function record(h: NetHarness, skip: number[] = []): string[][] {
  return h.transports.map((t, i) => {
    const got: string[] = [];
    if (!skip.includes(i)) t.subscribe(TOPIC, (d) => void got.push(new TextDecoder().decode(d.data)));
    return got;
  });
}

export function conformance(name: string, factory: HarnessFactory, options: { timeoutMs: number }): void {
  const n = 5;
  const wait = options.timeoutMs;
  describe(`Transport conformance: ${name}`, () => {
    let h: NetHarness;
    let got: string[][];
    before(async () => {
      h = await factory(n);
      got = record(h, [4]); // node 4 never subscribes
    });
    after(async () => h.close());

    it("delivers to every other subscriber exactly once, not to the sender or non-subscribers", async () => {
      await h.transports[1]!.publish(TOPIC, enc("a"));
      await h.transports[2]!.publish(TOPIC, enc("b"));
      const all = () => [0, 1, 2, 3].every((i) => got[i]!.length === (i === 1 || i === 2 ? 1 : 2));
      assert.ok(await h.waitFor(all, wait), JSON.stringify(got));
      await h.waitFor(() => false, Math.min(wait, 300)); // room for duplicates to show up
      assert.deepEqual(
        got.map((g) => [...g].sort()),
        [["a", "b"], ["b"], ["a"], ["a", "b"], []],
      );
    });

    it("a direct send reaches its target only, named as from its sender; an unknown node gets a publication", async () => {
      for (const g of got) g.length = 0;
      const [t0, t1] = [h.transports[0]!, h.transports[1]!];
      const froms: (string | undefined)[] = [];
      const stop = t0.subscribe(TOPIC, (d) => void froms.push(d.from));
      try {
        assert.ok(t1.sendDirect, "the transport sends directly");
        await t1.sendDirect(t0.nodeId, TOPIC, enc("direct"));
        assert.ok(await h.waitFor(() => got[0]!.includes("direct"), wait), JSON.stringify(got));
        await h.waitFor(() => false, Math.min(wait, 300)); // room for copies to show up elsewhere
        assert.deepEqual(got, [["direct"], [], [], [], []]);
        assert.deepEqual(froms, [t1.nodeId]);
        await t1.sendDirect(`${t0.nodeId}-not-a-node`, TOPIC, enc("nobody"));
        const all = () => [0, 2, 3].every((i) => got[i]!.includes("nobody"));
        assert.ok(await h.waitFor(all, wait), JSON.stringify(got));
      } finally {
        stop();
      }
    });

    it("a partition isolates the sides", async () => {
      for (const g of got) g.length = 0;
      await h.partition([
        [0, 1],
        [2, 3, 4],
      ]);
      await h.transports[0]!.publish(TOPIC, enc("left"));
      await h.transports[3]!.publish(TOPIC, enc("right"));
      assert.ok(
        await h.waitFor(() => got[1]!.length === 1 && got[2]!.length === 1, wait),
        JSON.stringify(got),
      );
      await h.waitFor(() => false, Math.min(wait, 500));
      assert.deepEqual(
        got.map((g) => [...g].sort()),
        [[], ["left"], ["right"], [], []],
      );
    });

    it("healing restores delivery", async () => {
      await h.heal();
      // Publish (a few times at most: a real mesh takes a moment to re-form) until the cut is crossed.
      let crossed = false;
      for (let k = 0; k < 10 && !crossed; k++) {
        await h.transports[0]!.publish(TOPIC, enc(`healed-${k}`));
        crossed = await h.waitFor(
          () => [2, 3].every((i) => got[i]!.some((m) => m.startsWith("healed"))),
          wait / 10,
        );
      }
      assert.ok(crossed, JSON.stringify(got));
    });

    it("a crashed node stops receiving; the others go on", async () => {
      await h.crash(3);
      await h.waitFor(() => false, Math.min(wait, 300));
      const before3 = got[3]!.length;
      await h.transports[1]!.publish(TOPIC, enc("after-crash"));
      const arrived = () => [0, 2].every((i) => got[i]!.includes("after-crash"));
      assert.ok(await h.waitFor(arrived, wait), JSON.stringify(got));
      assert.equal(got[3]!.length, before3);
    });

    it("a throwing handler does not stop delivery to other handlers", async () => {
      let seen = 0;
      h.transports[0]!.subscribe(TOPIC, () => {
        throw new Error("handler bug");
      });
      h.transports[0]!.subscribe(TOPIC, () => void seen++);
      await h.transports[2]!.publish(TOPIC, enc("x"));
      assert.ok(await h.waitFor(() => seen === 1, wait));
    });
  });
}
