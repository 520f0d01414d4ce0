// A member's SDS-R answers to the members that asked for them: where their nodes are learned from the
// group topic's traffic, and how a publish effect addressed to some members goes out (net/routes.ts).
import { type PeerRoutes, sendAddressed } from "../net/routes.ts";
import type { Delivery, Transport } from "../net/transport.ts";
import { selfSentBy } from "../sds/wire.ts";
import type { SyncEffect } from "../sync/effects.ts";

/** A group-topic delivery: learns where its sender is, when it is a message only its sender sends. */
export function learnRoute(routes: PeerRoutes, d: Delivery): void {
  if (d.from === undefined) return;
  const sender = selfSentBy(d.data);
  if (sender !== undefined) routes.observe(sender, d.from);
}

/**
 * Sends a publish effect: to the members it names directly where each has a route and the transport
 * sends directly (not awaited: a libp2p stream may take a moment to open), else published. Returns the
 * direct transmissions.
 */
export async function sendEffect(
  transport: Transport,
  routes: PeerRoutes,
  e: Extract<SyncEffect, { type: "publish" }>,
): Promise<number> {
  const out = sendAddressed(transport, routes, e.topic, e.bytes, e.to);
  if (out.direct > 0) void out.sent.catch(() => {});
  else await out.sent.catch(() => {});
  return out.direct;
}
