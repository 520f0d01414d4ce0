// One timer at the earliest time a protocol core asked to be woken: arming it later than it already is
// does nothing, earlier replaces it. Shared by the SDS endpoint and the member process.
import type { Clock, TimerId } from "./transport.ts";

export class WakeTimer {
  private readonly clock: Clock;
  private timer: TimerId | undefined;
  private at = Number.POSITIVE_INFINITY;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Makes sure `fire` runs at `at` (or now, if `at` has passed) unless an earlier wake-up is armed. */
  arm(at: number, fire: () => void | Promise<void>): void {
    const now = this.clock.now(); // read once: a wall clock moves between two reads
    const when = Math.max(at, now);
    if (this.timer !== undefined && when >= this.at) return;
    this.cancel();
    this.at = when;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.at = Number.POSITIVE_INFINITY;
      return fire();
    }, when - now);
  }

  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }
}
