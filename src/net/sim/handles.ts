// A simulated node's handles: the Clock and Transport a protocol core running on it is given. Each set
// belongs to one incarnation of the node: once it crashes, the old handles go inert (timers never fire,
// publications go nowhere), and a restarted node gets new ones.
import type { Clock, Transport } from "../transport.ts";
import type { SimEvent } from "./queue.ts";
import type { NodeRec, SimNode } from "./types.ts";

/** What the handles need of the simulator. */
export interface HandleHost {
  now(): number;
  /** Queues `run` at virtual time `at`. */
  schedule(at: number, run: () => void | Promise<void> | undefined): SimEvent;
  nextTimerId(): number;
  /** Hands an input (a fired timer) to `rec`, counted for crashes at a step. */
  input(rec: NodeRec, run: () => void | Promise<void>): Promise<void> | undefined;
  publish(rec: NodeRec, topic: string, data: Uint8Array): void;
  /** One transmission to each of `to`, which do not relay it. */
  direct(rec: NodeRec, topic: string, data: Uint8Array, to: readonly NodeRec[]): void;
  node(id: string): NodeRec | undefined;
  /** `rec` subscribed to `topic` for the first time (the gossip model joins it to the topic's mesh). */
  firstSubscription(rec: NodeRec, topic: string): void;
}

/** The handles of `rec`'s current incarnation. */
export function nodeHandles(rec: NodeRec, host: HandleHost): SimNode {
  const incarnation = rec.incarnation;
  const live = () => rec.up && rec.incarnation === incarnation;
  const clock: Clock = {
    now: () => host.now(),
    setTimeout: (fn, ms) => {
      const id = host.nextTimerId();
      if (!live()) return id;
      const ev = host.schedule(host.now() + Math.max(0, ms), () => {
        rec.timers.delete(id);
        return host.input(rec, fn);
      });
      rec.timers.set(id, ev);
      return id;
    },
    clearTimeout: (id) => {
      const ev = rec.timers.get(id);
      if (ev) ev.cancelled = true;
      rec.timers.delete(id);
    },
  };
  const transport: Transport = {
    nodeId: rec.id,
    publish: async (topic, data) => {
      if (live()) host.publish(rec, topic, data);
    },
    // One transmission over the link to the target, which does not relay it; a node id this network
    // does not have gets a publication.
    sendDirect: async (nodeId, topic, data) => {
      if (!live()) return;
      const target = host.node(nodeId);
      if (target === undefined) host.publish(rec, topic, data);
      else host.direct(rec, topic, data, [target]);
    },
    subscribe: (topic, handler) => {
      if (!live()) return () => {};
      let set = rec.subs.get(topic);
      if (set === undefined) {
        set = new Set();
        rec.subs.set(topic, set);
        host.firstSubscription(rec, topic);
      }
      set.add(handler);
      return () => {
        set.delete(handler);
      };
    },
    close: async () => {
      if (live()) rec.subs.clear();
    },
  };
  return { id: rec.id, transport, clock, rng: rec.rng };
}
