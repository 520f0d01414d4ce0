import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { renderReport } from "../../src/cli/report.ts";
import type { ScenarioResult } from "../../src/cli/scenarios.ts";

const result: ScenarioResult = {
  scenario: "minority-lag",
  members: 3,
  seed: 1,
  loss: 0,
  plan: "cut off 1 of 3",
  detectedMs: 500,
  recoveredMs: 2000,
  allInSync: true,
  groups: { "g/2:ab": ["m0", "m1", "m2"] },
  appSent: 2,
  appDelivered: 4,
  appLost: 0,
  appDuplicates: 0,
  bytes: 4096,
  bytesByKind: { app: 3000, sync: 1000, welcome: 96 },
  gossip: { bytes: 600, intervalMs: 1000 },
  recoveries: { "catch-up": 1 },
  statusChanges: { BEHIND: 1, IN_SYNC: 4 },
  counters: {},
  sides: [["m0", "m1"], ["m2"]],
  traceHash: "0123456789abcdef",
  timeline: [0, 1000, 2000].map((t, i) => ({
    timeMs: t,
    phase: i === 0 ? "split" : "healed",
    epochs: { m0: 2, m1: 2, m2: i },
    statuses: { m0: "IN_SYNC", m1: "IN_SYNC", m2: i === 2 ? "IN_SYNC" : "BEHIND" },
    bytes: 1000 * (i + 1),
    // m2 forked at epoch 1 (another fingerprint than the others had there), then caught up.
    states: { m0: "g/2:aa", m1: "g/2:aa", m2: ["g/0:00", "g/1:ff", "g/2:aa"][i]! },
    bytesByKind: { app: 600 * (i + 1), sync: 300 * (i + 1), welcome: 100 * (i + 1) },
  })),
  recoveryMarks: [{ timeMs: 2000, member: "m2", how: "catch-up" }],
};

describe("demls CLI", () => {
  it("the HTML report is self-contained and shows the plots, the plan, the sides, the states and the recoveries", () => {
    const html = renderReport(result);
    assert.ok(!/src=|href=|<script/i.test(html), "no external resources, no scripts");
    for (const id of ['id="epochs"', 'id="states"', 'id="status"', 'id="bytes"', 'id="plan"', 'id="sides"'])
      assert.ok(html.includes(id), id);
    assert.equal(
      (html.match(/class="series"/g) ?? []).length,
      3 + 3,
      "one epoch line per member + bytes by app, sync, welcome",
    );
    assert.ok(html.includes("BEHIND"));
    assert.match(html, /side 1 \(2\)<\/td><td>m0 m1/);
    // Three distinct states are told apart (four with no group: none here), each with its own colour.
    const states = new Set([...html.matchAll(/class="state" data-state="([^"]+)"/g)].map((m) => m[1]));
    assert.deepEqual([...states].sort(), ["g/0:00", "g/1:ff", "g/2:aa"]);
    const fills = new Set(
      [...html.matchAll(/class="state" data-state="([^"]+)"[^>]*fill="([^"]+)"/g)].map(
        (m) => `${m[1]}=${m[2]}`,
      ),
    );
    assert.equal(new Set([...fills].map((f) => f.split("=")[1])).size, 3, "a colour per state");
    assert.match(html, /class="recovery" data-how="catch-up" data-member="m2"/);
  });

  it("bad flags name the flag and the accepted values; --help works", () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ["src/cli/main.ts", ...args], { encoding: "utf8" });
    const bad = run("simulate", "--scenario", "nope");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--scenario: expected one of minority-lag, minority-fork/);
    const loss = run("simulate", "--loss", "2");
    assert.match(loss.stderr, /--loss: expected a number in 0\.\.0\.5/);
    const help = run("simulate", "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--members/);
  });
});
