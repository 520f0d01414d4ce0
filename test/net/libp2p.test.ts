import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Libp2pTransport } from "../../src/net/libp2p.ts";
import { decodeWakuMessage, encodeWakuMessage } from "../../src/net/waku.ts";

const TOPIC = "/demls/1/g/app/proto";

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

describe("libp2p adapter (Waku relay conventions)", () => {
  it("frames payloads as WakuMessages with the content topic", () => {
    const m = decodeWakuMessage(
      encodeWakuMessage({ payload: new Uint8Array([1, 2]), contentTopic: TOPIC, timestamp: 5n }),
    );
    assert.deepEqual([...m.payload], [1, 2]);
    assert.equal(m.contentTopic, TOPIC);
    assert.throws(() => decodeWakuMessage(new Uint8Array([0x0a, 0x01, 0x00])), { code: "MALFORMED" });
  });

  it("over TCP loopback: delivers, and drops and counts frames that are not WakuMessages", async () => {
    const [a, b] = await Promise.all([0, 1].map(() => Libp2pTransport.create({ transport: "tcp" })));
    try {
      assert.match(a!.addresses[0]!, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
      await b!.dial(a!.addresses[0]!);
      assert.ok(await until(() => a!.topicPeers > 0 && b!.topicPeers > 0, 5000));
      const got: number[] = [];
      b!.subscribe(TOPIC, (d) => void got.push(d.data[0]!));
      b!.subscribe("/other/topic", () => assert.fail("wrong content topic"));
      await a!.publishRaw(new Uint8Array([0xff, 0xff, 0xff]));
      await a!.publish(TOPIC, new Uint8Array([42]));
      assert.ok(await until(() => got.length === 1, 5000));
      assert.deepEqual(got, [42]);
      assert.ok(await until(() => b!.stats.malformed === 1, 2000));
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it("a link this node dialled comes back by itself after the other side dropped it", async () => {
    const [a, b] = await Promise.all([0, 1].map(() => Libp2pTransport.create({ transport: "tcp" })));
    try {
      await a!.dial(b!.addresses[0]!);
      assert.ok(await until(() => a!.topicPeers > 0, 5000));
      // b hangs up and refuses a for a while: a's redials fail, then one gets through. b never dials.
      await b!.block([a!.nodeId]);
      assert.ok(await until(() => a!.topicPeers === 0, 5000), "a lost its only peer");
      await new Promise((r) => setTimeout(r, 1500));
      b!.unblock();
      assert.ok(await until(() => a!.topicPeers > 0 && b!.topicPeers > 0, 15_000), "a redialled b");
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it("a node restarted with its identity on its address keeps its peer id, and the node that dialled it reconnects", async () => {
    const identity = new Uint8Array(32).fill(7);
    const b1 = await Libp2pTransport.create({ transport: "tcp", identity });
    const address = b1.addresses[0]!;
    const a = await Libp2pTransport.create({ transport: "tcp" });
    let b2: Libp2pTransport | undefined;
    try {
      await a.dial(address);
      assert.ok(await until(() => a.topicPeers > 0, 5000));
      await b1.close();
      assert.ok(await until(() => a.topicPeers === 0, 5000), "a lost b");
      const listen = address.replace(/\/p2p\/.*$/, "");
      b2 = await Libp2pTransport.create({ transport: "tcp", identity, listen: [listen] });
      assert.equal(b2.nodeId, b1.nodeId, "same identity, same peer id");
      assert.ok(await until(() => a.topicPeers > 0 && b2!.topicPeers > 0, 15_000), "a redialled b by itself");
    } finally {
      await Promise.all([a.close(), b2?.close()]);
    }
  });

  it("bad input to the adapter is a typed error: an identity of the wrong size, an address that is not one", async () => {
    await assert.rejects(Libp2pTransport.create({ transport: "memory", identity: new Uint8Array(5) }), {
      code: "BAD_IDENTITY",
    });
    const a = await Libp2pTransport.create({ transport: "memory" });
    try {
      await assert.rejects(a.dial("not-an-address"), { code: "BAD_ADDRESS" });
      await assert.rejects(a.dial("/memory/nobody-listens-here"), { code: "DIAL_FAILED" });
    } finally {
      await a.close();
    }
  });
});
