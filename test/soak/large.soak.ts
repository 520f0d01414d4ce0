// Recovery scenario 6 of the recovery issue: 100 members, 30% cut off for 20 epochs. About 7 minutes of
// wall time, so it is not part of `npm test`: run it with `npm run test:soak`.
import { it } from "node:test";
import { expectRecovery } from "../sync/expect.ts";

it("6. large: 100 members, 30 cut off while 70 commit 20 epochs; one catch-up each, nothing lost", async () => {
  const r = await expectRecovery("large", ["catch-up"], 1, 0, 20, 100);
  console.log(
    JSON.stringify({
      detectedMs: r.detectedMs,
      recoveredMs: r.recoveredMs,
      bytes: r.bytes,
      bytesByKind: r.bytesByKind,
      recoveries: r.recoveries,
    }),
  );
});
