// What becomes of the messages a member publishes itself, when a test controls them (an insider: see
// `demls/testing`): each goes out as is, or is dropped, altered, or sent to some members only.
import { topicsOf } from "../group/topics.ts";
import type { Transport } from "../net/transport.ts";

/** The topic a message is on: group traffic, KeyPackages and Welcomes, or the sync channel. */
export type TopicKind = "app" | "welcome" | "sync";

/** One message a member is about to publish. */
export interface OutgoingMessage {
  readonly kind: TopicKind;
  readonly topic: string;
  readonly data: Uint8Array;
  /** The node it is sent to directly (`Transport.sendDirect`); absent: published. */
  readonly direct?: string;
}

/**
 * The fate of one message: sent as is, dropped, or sent with other bytes (`data`) and/or to the named
 * members only (`to`).
 */
export type Outgoing = "send" | "drop" | { readonly data?: Uint8Array; readonly to?: readonly string[] };

/** Decides the fate of each message a member publishes. */
export type OutgoingFilter = (m: OutgoingMessage) => Outgoing;

/**
 * `transport` with every publication and direct send put through the filter `filterOf()` returns at that
 * moment (none: sent as is, the very same call). `sendTo` sends to chosen members only.
 */
export function filteredTransport(
  transport: Transport,
  conversation: string,
  filterOf: () => OutgoingFilter | undefined,
  sendTo: (topic: string, data: Uint8Array, to: readonly string[]) => void,
): Transport {
  const topics = topicsOf(conversation);
  const kindOf = (topic: string): TopicKind =>
    topic === topics.app ? "app" : topic === topics.sync ? "sync" : "welcome";
  /** Sends as the filter says; `send` is how the message goes when the filter leaves it to us. */
  const filtered = (
    topic: string,
    data: Uint8Array,
    direct: string | undefined,
    send: typeof transport.publish,
  ) => {
    const filter = filterOf();
    if (filter === undefined) return send(topic, data);
    const fate = filter({ kind: kindOf(topic), topic, data, ...(direct !== undefined ? { direct } : {}) });
    if (fate === "send") return send(topic, data);
    if (fate === "drop") return Promise.resolve();
    if (fate.to === undefined) return send(topic, fate.data ?? data);
    sendTo(topic, fate.data ?? data, fate.to);
    return Promise.resolve();
  };
  const direct = transport.sendDirect?.bind(transport);
  return {
    nodeId: transport.nodeId,
    subscribe: (topic, handler) => transport.subscribe(topic, handler),
    close: () => transport.close(),
    publish: (topic, data) => filtered(topic, data, undefined, (t, d) => transport.publish(t, d)),
    ...(direct === undefined
      ? {}
      : {
          sendDirect: (nodeId: string, topic: string, data: Uint8Array) =>
            filtered(topic, data, nodeId, (t, d) => direct(nodeId, t, d)),
        }),
  };
}
