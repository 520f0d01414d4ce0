// A worker thread of `demls chaos`: runs the seeds it is sent, one at a time (the MLS randomness and the
// shared-state switch are per process, so runs in one thread must not overlap).
import { parentPort } from "node:worker_threads";
import { chaosSchedule, runChaos } from "./chaos.ts";

parentPort!.on("message", async (seed: number | null) => {
  if (seed === null) {
    parentPort!.close();
    return;
  }
  const result = await runChaos(chaosSchedule(seed));
  parentPort!.postMessage(result);
});
