// A channel of SDS endpoints on the simulator, recording what each participant delivers. Shared by the
// SDS tests and bench/sds.ts.
import assert from "node:assert/strict";
import fc from "fast-check";
import { SeededRng } from "../../src/net/sim/prng.ts";
import { type LinkModel, Simulator } from "../../src/net/sim/simulator.ts";
import {
  FAST_SDS_CONFIG,
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

/**
 * The SDS delivery property (run by the SDS tests, and with random seeds and many more runs by the soak):
 * with loss up to 30%, jitter reordering and a partition that heals, every message reaches every other
 * participant exactly once, in causal order.
 */
export const sdsDeliveryProperty = fc.asyncProperty(
  fc.integer({ min: 1, max: 1_000_000 }),
  fc.double({ min: 0, max: 0.3, noNaN: true }),
  fc.integer({ min: 3, max: 8 }),
  async (seed, loss, n) => {
    const config = { ...FAST_SDS_CONFIG, lostAfterMs: 1e9 };
    const run = sdsRun(n, config, seed, { loss, jitterMs: 300 });
    const ids = run.participants.map((p) => p.id);
    const cut = 1 + (seed % (n - 1));
    run.sim.partition([ids.slice(0, cut), ids.slice(cut)], 1000);
    run.sim.heal(4000);
    for (let i = 0; i < 30; i++) {
      const p = run.participants[(seed + i * 7) % n]!;
      run.sim.at(i * 200, () => void run.send(p));
    }
    // A channel's cached wake-up may be early, never late: compare it with one computed afresh.
    for (let t = 0; t < 60_000; t += 250)
      run.sim.at(t, () => {
        for (const p of run.participants) {
          const exact = new SdsChannel(p.endpoint.channel.state, new SeededRng(0), config).nextWake();
          assert.ok(p.endpoint.channel.nextWake() <= exact, `${p.id} would wake late at ${t}`);
        }
      });
    await run.sim.runUntil(60_000);
    for (const p of run.participants) {
      const expected = [...run.sent].filter(([, s]) => s.sender !== p.id).map(([id]) => id);
      assert.deepEqual([...p.delivered].sort(), expected.sort(), `${p.id} delivered each once`);
      assert.deepEqual(causalViolations(run, p), [], `${p.id} causal order`);
    }
  },
);

/** Counterexamples found once; every run of the property tries them first. */
export const SDS_DELIVERY_EXAMPLES: [number, number, number][] = [
  // Every request and every resend of one message missed p0 (30% loss): requests used to stop after 4.
  [29611, 0.29926228174008435, 3],
];

export type { SdsMessage };
