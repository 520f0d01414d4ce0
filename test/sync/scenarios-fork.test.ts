// Recovery scenarios 2 and 3 of the recovery issue on the simulator (10 members).
import { describe, it } from "node:test";
import { expectRecovery } from "./expect.ts";

describe("fork and hard-reset scenarios", () => {
  it("2. minority-fork: a 4-member side commits its own epochs; it re-aligns to the 6", async () => {
    await expectRecovery("minority-fork", ["realign"]);
  });
  it("2b. minority-fork for 6 epochs (beyond the 4 retained): the 4 rejoin with fresh KeyPackages, nothing lost", async () => {
    await expectRecovery("minority-fork", ["rejoin"], 1, 0, 6);
  });
  it("3. three-way-split 4/3/3: HARD everywhere, one reset, all 10 in one new group", async () => {
    await expectRecovery("three-way-split", ["reset"]);
  });
  it("3b. three-way-split with 20% loss: a Welcome lost on the way still ends in one new group, nothing lost", async () => {
    await expectRecovery("three-way-split", ["reset"], 1, 0.2);
  });
});
