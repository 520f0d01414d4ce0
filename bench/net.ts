// Network layer figures: simulator throughput at 1000 nodes; libp2p gossipsub publish->receive latency
// and memory on TCP loopback. Usage: node bench/net.ts [--no-libp2p]
import { Libp2pTransport } from "../src/net/libp2p.ts";
import { type DeliveryModel, Simulator } from "../src/net/sim/simulator.ts";
import { median, type Row, report } from "./report.ts";

async function simRun(
  delivery: DeliveryModel,
  nodes: number,
  topicSize: number,
  publishes: number,
): Promise<Row> {
  const sim = new Simulator({ seed: 1, delivery, link: { latencyMs: 40, jitterMs: 20, loss: 0.01 } });
  let deliveries = 0;
  const handles = Array.from({ length: nodes }, (_, i) => sim.addNode(`n${i}`));
  for (const [i, h] of handles.entries()) {
    h.transport.subscribe(`topic-${Math.floor(i / topicSize)}`, () => void deliveries++);
  }
  const perMs = publishes / 100_000; // spread publishes over 100 s of virtual time
  for (let k = 0; k < publishes; k++) {
    const from = handles[sim.rng.int(nodes)]!;
    sim.at(
      k / perMs,
      () =>
        void from.transport.publish(
          `topic-${Math.floor(Number(from.id.slice(1)) / topicSize)}`,
          new Uint8Array(64),
        ),
    );
  }
  const t = performance.now();
  await sim.runUntil(110_000);
  const s = (performance.now() - t) / 1000;
  return {
    model: delivery,
    nodes,
    "topic size": topicSize,
    publishes,
    deliveries,
    events: sim.events,
    "wall s": s,
    "events/s": Math.round(sim.events / s),
    "RSS MB": process.memoryUsage().rss / 2 ** 20,
  };
}

async function libp2pRun(n: number, perNode: number): Promise<Row> {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const nodes = await Promise.all(
    Array.from({ length: n }, () => Libp2pTransport.create({ transport: "tcp" })),
  );
  // Ring plus chords: each node dials 2-3 others; dial in small batches (parallel noise handshakes are CPU-bound).
  const links: [number, number][] = [];
  for (let i = 1; i < n; i++) links.push([i, i - 1]);
  for (let i = 2; i < n; i++) links.push([i, Math.floor(i / 2)]);
  for (let k = 0; k < links.length; k += 10)
    await Promise.allSettled(links.slice(k, k + 10).map(([a, b]) => nodes[a]!.dial(nodes[b]!.addresses[0]!)));
  const ready = Date.now() + 20_000;
  while (nodes.some((x) => x.topicPeers === 0) && Date.now() < ready)
    await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 2000)); // let the mesh settle for a couple of heartbeats
  const setupS = (performance.now() - t0) / 1000;
  const lat: number[] = [];
  let received = 0;
  for (const x of nodes)
    x.subscribe("/demls/1/bench/app/proto", (d) => {
      received++;
      lat.push(
        performance.timeOrigin +
          performance.now() -
          new DataView(d.data.buffer, d.data.byteOffset).getFloat64(0),
      );
    });
  // One publication every 20 ms, round robin over the nodes: latency without self-inflicted bursts.
  for (let k = 0; k < perNode * n; k++) {
    const buf = new Uint8Array(256);
    new DataView(buf.buffer).setFloat64(0, performance.timeOrigin + performance.now());
    void nodes[k % n]!.publish("/demls/1/bench/app/proto", buf);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const rss = process.memoryUsage().rss;
  await Promise.all(nodes.map((x) => x.close()));
  lat.sort((a, b) => a - b);
  const expected = n * perNode * (n - 1);
  return {
    nodes: n,
    "setup s": setupS,
    "delivered %": (100 * received) / expected,
    "p50 ms": median(lat),
    "p99 ms": lat[Math.floor(lat.length * 0.99)] ?? Number.NaN,
    "RSS MB/node": (rss - rss0) / 2 ** 20 / n,
  };
}

report(
  "net-sim",
  [
    await simRun("broadcast", 1000, 10, 100_000),
    await simRun("gossip", 1000, 10, 100_000),
    await simRun("broadcast", 1000, 1000, 1000),
    await simRun("gossip", 1000, 1000, 1000),
  ],
  ["1% loss, 40+20 ms links; topic size 10 = 100 groups of 10 members; publishes spread over 100 s virtual"],
);

if (!process.argv.includes("--no-libp2p")) {
  report(
    "net-libp2p",
    [await libp2pRun(10, 20), await libp2pRun(50, 10)],
    [
      "TCP loopback, noise + yamux, gossipsub as Waku relay; all nodes in this one process (latency includes event-loop contention)",
    ],
  );
}
