// The examples are what an application copies: each runs as its own process against the built package
// (`import ... from "demls"`, the package's own exports) and must succeed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";

const dir = join(import.meta.dirname, "..", "examples");

function run(file: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(dir, file)], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

it("examples/chat.ts: three members over libp2p form a group; the chat reaches both others and is delivered", () => {
  const r = run("chat.ts");
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /bob got <alice> hello from alice/);
  assert.match(r.out, /carol got <alice> hello from alice/);
  assert.match(r.out, /delivered to alice, bob, carol/);
});

it("examples/partition.ts: two cut-off members catch up after the heal and get the chat they missed", () => {
  const r = run("partition.ts");
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /m4 recovered by catch-up/);
  assert.match(r.out, /m4 got <m1> sent while m3 and m4 were away/);
});

it("the examples as the package ships them (compiled: Node does not strip types under node_modules) run too", () => {
  const r = spawnSync(
    process.execPath,
    [join(import.meta.dirname, "..", "dist", "examples", "partition.js")],
    {
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /m4 recovered by catch-up/);
});
