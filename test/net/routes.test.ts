// Routes from peer ids to transport nodes: settled only by two messages in a row from one node, lost when
// another node claims the peer, bounded; and sending to peers directly, publishing when any has no route.
import assert from "node:assert/strict";
import { it } from "node:test";
import { PeerRoutes, sendAddressed } from "../../src/net/routes.ts";
import type { Transport } from "../../src/net/transport.ts";

it("a route settles after two messages in a row from one node; a message from another node unsettles it", () => {
  const r = new PeerRoutes([], 2);
  r.observe("x", "n1");
  assert.equal(r.nodeOf("x"), undefined, "one message: not yet");
  r.observe("x", "n1");
  assert.equal(r.nodeOf("x"), "n1");
  r.observe("x", "liar"); // a relay, or someone claiming x's id
  assert.equal(r.nodeOf("x"), undefined);
  r.observe("x", "n1");
  r.observe("x", "n1");
  r.observe("y", "n2");
  r.observe("z", "n3"); // beyond the limit of 2: x, seen least recently, goes
  assert.equal(r.size, 2);
  assert.equal(r.nodeOf("x"), undefined);
  const back = new PeerRoutes(new PeerRoutes(r.save()).save());
  back.observe("z", "n3");
  assert.equal(back.nodeOf("z"), "n3", "saved and restored");
});

it("sends to each routed peer directly; publishes once when one has no route or the transport cannot", async () => {
  const log: string[] = [];
  const t: Transport = {
    nodeId: "me",
    publish: async () => void log.push("publish"),
    sendDirect: async (node) => void log.push(`direct ${node}`),
    subscribe: () => () => {},
    close: async () => {},
  };
  const r = new PeerRoutes();
  for (const [peer, node] of [
    ["a", "na"],
    ["a", "na"],
    ["b", "nb"],
    ["b", "nb"],
  ] as const)
    r.observe(peer, node);
  const data = new Uint8Array([1]);
  const send = async (peers: string[] | undefined, transport = t) => {
    log.length = 0;
    const out = sendAddressed(transport, r, "topic", data, peers);
    await out.sent;
    return { log: [...log], direct: out.direct };
  };
  assert.deepEqual(await send(["a", "b"]), { log: ["direct na", "direct nb"], direct: 2 });
  assert.deepEqual(await send(["a", "unknown"]), { log: ["publish"], direct: 0 });
  assert.deepEqual(await send(undefined), { log: ["publish"], direct: 0 });
  const { sendDirect: _, ...plain } = t;
  assert.deepEqual(await send(["a"], plain), { log: ["publish"], direct: 0 });
});
