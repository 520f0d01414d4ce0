// One copy of a message over one link: what can stop it (the receiver down, a partition, a one-way cut,
// loss), when it arrives (latency, jitter, extra delay and a duplicate from the link faults), and what
// its arrival does (de-duplication by the seen cache under gossip, the counters, relaying, the
// receiver's handlers). The random draws happen in a fixed order per transmission (loss, latency, link
// faults; an IWANT retry draws its extra latency first), so a seed replays a run exactly.
import { dispatch } from "../transport.ts";
import { countInput } from "./crash.ts";
import { drawFaults } from "./link-faults.ts";
import type { OneWayCuts } from "./one-way.ts";
import type { SeededRng } from "./prng.ts";
import type { EventQueue } from "./queue.ts";
import { countReceived, countSent } from "./traffic.ts";
import type { Counters, Drops, Injected, NodeRec, SimMessage, SimOptions } from "./types.ts";

/** What a link needs of the simulator. */
export interface LinkHost {
  now(): number;
  readonly rng: SeededRng;
  readonly options: SimOptions;
  readonly queue: EventQueue;
  readonly oneWay: OneWayCuts;
  readonly drops: Drops;
  readonly injected: Injected;
  readonly topics: Map<string, Counters>;
  /** Mixes an event into the trace hash. */
  mix(a: number, b: number, c: number, d: number): void;
  /** Relays `msg`, which `to` received from `source`, on to its mesh peers (gossip). */
  relay(to: NodeRec, msg: SimMessage, source: NodeRec): void;
}

/** One link's latency: the base plus a uniform jitter. */
export function latency(host: LinkHost): number {
  const { latencyMs, jitterMs } = host.options.link;
  return latencyMs + (jitterMs > 0 ? host.rng.next() * jitterMs : 0);
}

/** Sends one copy over one link; `extra` adds latency (IWANT round trip). Returns false if blocked. */
export function transmit(
  host: LinkHost,
  from: NodeRec,
  to: NodeRec,
  msg: SimMessage,
  extra: number,
): boolean {
  countSent(host.topics, from, msg);
  if (!to.up) return dropped(host, "down", from, to, msg);
  if (from.group !== to.group) return dropped(host, "partition", from, to, msg);
  if (host.oneWay.blocks(from.index, to.index)) return dropped(host, "one-way", from, to, msg);
  if (host.options.link.loss > 0 && host.rng.next() < host.options.link.loss)
    return dropped(host, "loss", from, to, msg);
  const incarnation = to.incarnation;
  const onArrival = () => {
    if (!to.up || to.incarnation !== incarnation) {
      dropped(host, "down", from, to, msg);
      return;
    }
    return arrive(host, from, to, msg);
  };
  const at = host.now() + extra + latency(host);
  const f = drawFaults(host.rng, host.options.faults);
  if (f.extraMs > 0) host.injected.delayed++;
  host.queue.push(at + f.extraMs, onArrival);
  if (f.copyAfterMs !== undefined) {
    host.injected.duplicated++;
    host.queue.push(at + f.extraMs + f.copyAfterMs, onArrival);
  }
  return true;
}

function dropped(
  host: LinkHost,
  kind: "loss" | "partition" | "one-way" | "down",
  from: NodeRec,
  to: NodeRec,
  msg: SimMessage,
): false {
  host.drops[kind === "one-way" ? "partition" : kind]++;
  const tag = kind === "loss" ? 0 : kind === "partition" ? 1 : kind === "down" ? 2 : 3;
  host.mix(10 + tag, from.index, to.index, msg.id);
  return false;
}

function arrive(host: LinkHost, from: NodeRec, to: NodeRec, msg: SimMessage): Promise<void> | undefined {
  const gossip = host.options.delivery === "gossip";
  if (gossip) {
    if (to.seen.has(msg.id)) {
      host.drops.duplicate++;
      return;
    }
    to.seen.add(msg.id, host.now());
  }
  countReceived(host.topics, to, msg);
  host.mix(20, from.index, to.index, msg.id);
  if (gossip && !msg.direct) host.relay(to, msg, from);
  const handlers = to.subs.get(msg.topic);
  if (handlers === undefined) return;
  return countInput(to, () =>
    dispatch(
      handlers,
      { topic: msg.topic, data: msg.data, from: from.id },
      () => void host.drops.handlerErrors++,
    ),
  );
}
