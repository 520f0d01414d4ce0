// Traffic counters of the simulator: messages and bytes each node sent and received, and the same per
// topic. A transmission counts as sent when it is attempted (dropped or not), as received when it arrives
// at a node that is up, after de-duplication (whether or not the node handles its topic).
import type { Counters, NodeRec, SimMessage } from "./types.ts";

/** Counters at zero. */
export const zeroCounters = (): Counters => ({ msgsOut: 0, bytesOut: 0, msgsIn: 0, bytesIn: 0 });

/** The counters of `topic` in `topics`, created at zero on first use. */
function topicCounters(topics: Map<string, Counters>, topic: string): Counters {
  let c = topics.get(topic);
  if (c === undefined) {
    c = zeroCounters();
    topics.set(topic, c);
  }
  return c;
}

/** Adds one message of `size` bytes to `c`, in direction `dir`. */
function add(c: Counters, dir: "In" | "Out", size: number): void {
  c[`msgs${dir}`]++;
  c[`bytes${dir}`] += size;
}

/** Counts one transmission of `msg` by `from`, on the node and on the message's topic. */
export function countSent(topics: Map<string, Counters>, from: NodeRec, msg: SimMessage): void {
  add(from.counters, "Out", msg.data.length);
  add(topicCounters(topics, msg.topic), "Out", msg.data.length);
}

/** Counts one arrival of `msg` at `to`, on the node and on the message's topic. */
export function countReceived(topics: Map<string, Counters>, to: NodeRec, msg: SimMessage): void {
  add(to.counters, "In", msg.data.length);
  add(topicCounters(topics, msg.topic), "In", msg.data.length);
}
