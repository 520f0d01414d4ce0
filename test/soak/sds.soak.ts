// The SDS delivery property with random seeds and 200x the runs of `npm test` (about a minute). A failure
// prints its seed and counterexample: add the counterexample to SDS_DELIVERY_EXAMPLES.
import { it } from "node:test";
import fc from "fast-check";
import { SDS_DELIVERY_EXAMPLES, sdsDeliveryProperty } from "../sds/harness.ts";

it("SDS property: every message reaches every other participant once, in causal order (5000 runs)", async () => {
  await fc.assert(sdsDeliveryProperty, {
    numRuns: Number(process.env.SOAK_RUNS ?? 5000),
    examples: SDS_DELIVERY_EXAMPLES,
  });
});
