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
});
