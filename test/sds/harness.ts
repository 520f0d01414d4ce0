// A channel of SDS endpoints on the simulator, recording what each participant delivers. Shared by the
// SDS tests and bench/sds.ts.
import { type LinkModel, Simulator } from "../../src/net/sim/simulator.ts";
import {
  newSdsState,
  SdsChannel,
  type SdsConfig,
  SdsEndpoint,
  type SdsMessage,
} from "../../src/sds/index.ts";

export const TOPIC = "/demls/1/sds-test/proto";
export const CHANNEL = "channel-1";

export interface Participant {
  readonly id: string;
  readonly endpoint: SdsEndpoint;
  /** Delivered message ids, in order. */
  readonly delivered: string[];
  readonly lost: string[];
}

export interface SdsRun {
  readonly sim: Simulator;
  readonly participants: Participant[];
  /** Every content message sent: id → its causal-history ids and sender. */
  readonly sent: Map<string, { sender: string; deps: string[]; at: number }>;
  /** First delivery time of each (receiver, message). */
  readonly deliveredAt: Map<string, number>;
  send(p: Participant, content?: Uint8Array): string;
}

export function sdsRun(n: number, config: SdsConfig, seed: number, link: Partial<LinkModel> = {}): SdsRun {
  const sim = new Simulator({ seed, link: { latencyMs: 40, jitterMs: 40, loss: 0, ...link } });
  const sent = new Map<string, { sender: string; deps: string[]; at: number }>();
  const deliveredAt = new Map<string, number>();
  const participants: Participant[] = [];
  for (let i = 0; i < n; i++) {
    const id = `p${i}`;
    const node = sim.addNode(id);
    const channel = new SdsChannel(newSdsState(id, CHANNEL, 0, config), node.rng, config);
    channel.setParticipants(n);
    const delivered: string[] = [];
    const lost: string[] = [];
    const endpoint = new SdsEndpoint({
      channel,
      transport: node.transport,
      clock: node.clock,
      topic: TOPIC,
      onEffect: (e) => {
        if (e.type === "deliver") {
          delivered.push(e.messageId);
          if (!deliveredAt.has(`${id}/${e.messageId}`)) deliveredAt.set(`${id}/${e.messageId}`, sim.now);
        } else if (e.type === "lost") lost.push(e.messageId);
      },
    });
    endpoint.start();
    participants.push({ id, endpoint, delivered, lost });
  }
  let counter = 0;
  return {
    sim,
    participants,
    sent,
    deliveredAt,
    send(p, content = new TextEncoder().encode(`${p.id}#${counter++}`)) {
      const before = p.endpoint.channel.state.recent.map((e) => e.messageId);
      const id = p.endpoint.send(content);
      sent.set(id, { sender: p.id, deps: before, at: sim.now });
      return id;
    },
  };
}

/** Ids in `delivered` that appear before all of their (delivered) dependencies: causal violations. */
export function causalViolations(run: SdsRun, p: Participant): string[] {
  const pos = new Map(p.delivered.map((id, i) => [id, i]));
  const bad: string[] = [];
  for (const [id, i] of pos) {
    for (const dep of run.sent.get(id)?.deps ?? []) {
      if (run.sent.get(dep)?.sender === p.id) continue;
      const j = pos.get(dep);
      if (j === undefined || j > i) bad.push(id);
    }
  }
  return bad;
}

export type { SdsMessage };
