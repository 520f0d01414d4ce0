// A sweep: a list of seeds on worker threads (chaos-worker.ts), each one schedule of the given fault
// classes run to its verdict.
import type { FaultClass } from "./classes.ts";
import type { ChaosResult } from "./run.ts";

/** What the sweep sends a worker: a seed and its classes, or null when there is no more. */
export type ChaosJob = { readonly seed: number; readonly classes: readonly FaultClass[] } | null;

/**
 * Runs `seeds` with the fault classes `classes` (none: the classic schedule) on `jobs` worker threads;
 * `onResult` sees each result as it comes (in completion order). Resolves with every result, by seed.
 */
export async function runChaosSeeds(
  seeds: readonly number[],
  jobs: number,
  onResult?: (r: ChaosResult) => void,
  classes: readonly FaultClass[] = [],
): Promise<ChaosResult[]> {
  const { Worker } = await import("node:worker_threads");
  const results: ChaosResult[] = [];
  let next = 0;
  const work = (w: InstanceType<typeof Worker>) =>
    new Promise<void>((resolve, reject) => {
      const feed = () =>
        w.postMessage((next < seeds.length ? { seed: seeds[next++]!, classes } : null) satisfies ChaosJob);
      w.on("message", (r: ChaosResult) => {
        results.push(r);
        onResult?.(r);
        feed();
      });
      w.on("error", reject);
      w.on("exit", () => resolve());
      feed();
    });
  const workers = Array.from(
    { length: Math.max(1, Math.min(jobs, seeds.length)) },
    () =>
      new Worker(
        new URL(`../chaos-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
      ),
  );
  await Promise.all(workers.map(work));
  return results.sort((a, b) => a.seed - b.seed);
}
