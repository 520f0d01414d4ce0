// One harness shape for every Transport implementation, so one conformance suite runs against all.
import { Libp2pTransport } from "../../src/net/libp2p.ts";
import { type DeliveryModel, Simulator } from "../../src/net/sim/simulator.ts";
import type { Transport } from "../../src/net/transport.ts";

export interface NetHarness {
  readonly transports: Transport[];
  partition(sides: number[][]): Promise<void>;
  heal(): Promise<void>;
  crash(i: number): Promise<void>;
  /** Lets the network work until `cond` holds or `ms` (virtual or real) pass; returns `cond()`. */
  waitFor(cond: () => boolean, ms: number): Promise<boolean>;
  close(): Promise<void>;
}

export type HarnessFactory = (n: number) => Promise<NetHarness>;

export function simHarness(delivery: DeliveryModel, seed = 7): HarnessFactory {
  return async (n) => {
    const sim = new Simulator({ seed, delivery });
    const nodes = Array.from({ length: n }, (_, i) => sim.addNode(`n${i}`));
    return {
      transports: nodes.map((x) => x.transport),
      partition: async (sides) => {
        sim.partition(sides.map((s) => s.map((i) => `n${i}`)));
        await sim.runFor(0);
      },
      heal: async () => {
        sim.heal();
        await sim.runFor(0);
      },
      crash: async (i) => {
        sim.crash(`n${i}`);
        await sim.runFor(0);
      },
      waitFor: async (cond, ms) => {
        const end = sim.now + ms;
        while (!cond() && sim.now < end) await sim.runFor(50);
        return cond();
      },
      close: async () => {},
    };
  };
}

export function libp2pHarness(transport: "memory" | "tcp"): HarnessFactory {
  return async (n) => {
    const nodes = await Promise.all(Array.from({ length: n }, () => Libp2pTransport.create({ transport })));
    const links: [number, number][] = [];
    // A ring plus chords to node 0: connected, and every node has 2-3 direct peers.
    for (let i = 1; i < n; i++) links.push([i, i - 1]);
    for (let i = 2; i < n; i++) if (i % 2 === 0) links.push([i, 0]);
    const connect = async () => {
      await Promise.allSettled(links.map(([a, b]) => nodes[a]!.dial(nodes[b]!.addresses[0]!)));
    };
    const waitFor = async (cond: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      return cond();
    };
    const closed = new Set<number>();
    await connect();
    await waitFor(() => nodes.every((x) => x.topicPeers > 0), 5000);
    return {
      transports: nodes,
      partition: async (sides) => {
        const sideOf = new Map<number, number>();
        sides.forEach((s, k) => {
          for (const i of s) sideOf.set(i, k);
        });
        await Promise.all(
          nodes.map((x, i) =>
            x.block(
              nodes.filter((_, j) => (sideOf.get(j) ?? -1) !== (sideOf.get(i) ?? -1)).map((y) => y.nodeId),
            ),
          ),
        );
      },
      heal: async () => {
        for (const x of nodes) x.unblock();
        await connect();
        await waitFor(() => nodes.every((x, i) => closed.has(i) || x.topicPeers > 0), 5000);
      },
      crash: async (i) => {
        closed.add(i);
        await nodes[i]!.close();
      },
      waitFor,
      close: async () => {
        await Promise.all(nodes.map((x) => x.close()));
      },
    };
  };
}
