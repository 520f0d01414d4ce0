// Crashes of a simulated node, at a time or between two of its inputs (messages to its handlers, timers
// fired): what a crash at any step of a protocol does (right after joining, mid-commit, mid-reset).
import type { NodeRec } from "./types.ts";

/** Takes `n` down: its timers and subscriptions are gone, its handles go inert, an armed crash disarms. */
export function crashNode(n: NodeRec): void {
  n.up = false;
  n.incarnation++;
  n.crashAfter = undefined;
  for (const ev of n.timers.values()) ev.cancelled = true;
  n.timers.clear();
  n.subs.clear();
}

/**
 * Arms a crash of `n` right after the `inputs`-th input it is handed from now on has run (`crash` takes
 * it down; `onCrash` runs first). Returns the crash to run at once when `inputs` is below 1. One armed
 * crash per node: a new one replaces it.
 */
export function armCrash(
  n: NodeRec,
  inputs: number,
  crash: () => void,
  onCrash?: () => void,
): (() => void) | undefined {
  const fire = () => {
    if (n.crashAfter?.fire !== fire || !n.up) return;
    onCrash?.();
    crash();
  };
  n.crashAfter = { input: n.inputs + Math.max(1, Math.floor(inputs)), fire };
  return inputs < 1 ? fire : undefined;
}

/**
 * Counts an input of `n` that `run` hands it; when it is the one an armed crash waits for, the node
 * crashes as soon as it has run.
 */
export function countInput(
  n: NodeRec,
  run: () => void | Promise<void> | undefined,
): Promise<void> | undefined {
  const number = ++n.inputs;
  const armed = n.crashAfter;
  const r = run();
  const pending = r instanceof Promise ? r : undefined;
  if (armed === undefined || number < armed.input) return pending;
  if (pending === undefined) {
    armed.fire();
    return undefined;
  }
  return pending.then(armed.fire);
}
