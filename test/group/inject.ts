// Test helper: a member sends an arbitrary GroupPayload, bypassing its own core's checks (a misbehaving peer).
import { encodeGroupFrame, encodePayload, type GroupPayload } from "../../src/group/frames.ts";
import { encrypt } from "../../src/mls/index.ts";
import type { Cluster } from "../../src/node/cluster.ts";

// `tamper` may change the encrypted MLS message before it is framed (a forged header, say).
export async function injectPayload(
  c: Cluster,
  from: string,
  payload: Partial<GroupPayload>,
  tamper: (message: Uint8Array) => Uint8Array = (m) => m,
): Promise<void> {
  const g = c.members.get(from)!.group;
  const r = await encrypt(g.group!, encodePayload(payload));
  g.group = r.group;
  const { effects } = g.channel!.send(encodeGroupFrame({ application: tamper(r.message) }), c.sim.now);
  for (const e of effects)
    if (e.type === "publish") await c.sim.node(from).transport.publish(g.topics.app, e.bytes);
}
