// The I/O shell around one SdsChannel: feeds it what the transport delivers, sends what it asks (to the
// participants it names directly where it can, see net/routes.ts), and wakes it when its next sweep is
// due. All decisions stay in the channel.
import { PeerRoutes, sendAddressed } from "../net/routes.ts";
import type { Clock, Transport } from "../net/transport.ts";
import { WakeTimer } from "../net/wake-timer.ts";
import type { SdsChannel } from "./channel.ts";
import type { SdsEffect } from "./types.ts";
import { selfSentBy } from "./wire.ts";

/** Options of {@link SdsEndpoint}. */
export interface SdsEndpointOptions {
  readonly channel: SdsChannel;
  readonly transport: Transport;
  readonly clock: Clock;
  /** Content topic the channel's messages travel on. */
  readonly topic: string;
  /** Every effect except `publish`, in order. */
  readonly onEffect: (effect: SdsEffect) => void;
}

/** Runs a channel on a transport. Malformed or foreign messages are counted in `rejected` and dropped. */
export class SdsEndpoint {
  readonly channel: SdsChannel;
  /** Bytes this endpoint published, by kind. */
  readonly bytesOut = { content: 0, sync: 0, ephemeral: 0, total: 0 };
  rejected = 0;
  /** Transmissions of answers sent to their requesters directly. */
  directOut = 0;
  /** The node each participant is reached at, learned from its sync and ephemeral messages. */
  readonly routes = new PeerRoutes();
  private readonly opts: SdsEndpointOptions;
  private unsubscribe: (() => void) | undefined;
  private readonly wake: WakeTimer;

  constructor(opts: SdsEndpointOptions) {
    this.opts = opts;
    this.channel = opts.channel;
    this.wake = new WakeTimer(opts.clock);
  }

  start(): void {
    this.unsubscribe = this.opts.transport.subscribe(this.opts.topic, (d) => {
      let effects: SdsEffect[];
      try {
        effects = this.channel.receive(d.data, this.opts.clock.now());
      } catch {
        this.rejected++;
        return;
      }
      if (d.from !== undefined) {
        const sender = selfSentBy(d.data);
        if (sender !== undefined) this.routes.observe(sender, d.from);
      }
      this.apply(effects);
    });
    this.reschedule();
  }

  /** Sends `content` on the channel; returns its message id. */
  send(content: Uint8Array): string {
    const { messageId, effects } = this.channel.send(content, this.opts.clock.now());
    this.apply(effects);
    return messageId;
  }

  sendEphemeral(content: Uint8Array): void {
    this.apply(this.channel.sendEphemeral(content, this.opts.clock.now()));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.wake.cancel();
  }

  private apply(effects: readonly SdsEffect[]): void {
    for (const e of effects) {
      if (e.type !== "publish") {
        this.opts.onEffect(e);
        continue;
      }
      const kind =
        e.message.lamportTimestamp === undefined
          ? "ephemeral"
          : e.message.content?.length
            ? "content"
            : "sync";
      this.bytesOut[kind] += e.bytes.length;
      this.bytesOut.total += e.bytes.length;
      const out = sendAddressed(this.opts.transport, this.routes, this.opts.topic, e.bytes, e.to);
      this.directOut += out.direct;
      void out.sent.catch(() => {});
    }
    if (this.unsubscribe !== undefined) this.reschedule();
  }

  /** Keeps exactly one timer, at the channel's next wake-up. */
  private reschedule(): void {
    this.wake.arm(this.channel.nextWake(), () => this.apply(this.channel.tick(this.opts.clock.now())));
  }
}
