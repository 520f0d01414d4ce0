// A worker thread of `demls chaos`: runs the seeds it is sent, one at a time (the MLS randomness and the
// shared-state switch are per process, so runs in one thread must not overlap).
import { parentPort } from "node:worker_threads";
import { type ChaosJob, type ChaosResult, chaosSchedule, crashed, runChaos } from "./chaos.ts";

parentPort!.on("message", async (job: ChaosJob) => {
  if (job === null) {
    parentPort!.close();
    return;
  }
  let result: ChaosResult;
  try {
    result = await runChaos(chaosSchedule(job.seed, job.classes));
  } catch (e) {
    // A member threw: that is a failure of this seed, with its stack, not the end of the sweep.
    result = crashed(job.seed, e, job.classes);
  }
  parentPort!.postMessage(result);
});
