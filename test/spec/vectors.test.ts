// The test vectors of docs/spec/recovery.md are what this implementation computes: a change of a rule or a
// wire format changes the spec's vectors in the same commit (`npm run spec-vectors` writes them).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { buildVectors, VECTORS_DIR } from "../../scripts/spec-vectors.ts";

it("every spec vector file matches what the implementation computes", async () => {
  const built = await buildVectors();
  assert.ok(Object.keys(built).length >= 7);
  for (const [name, content] of Object.entries(built)) {
    const committed = JSON.parse(readFileSync(join(VECTORS_DIR, name), "utf8"));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(content)), `docs/spec/vectors/${name}`);
  }
});

it("the classification vectors cover every verdict", async () => {
  const c = JSON.parse(readFileSync(join(VECTORS_DIR, "classification.json"), "utf8")) as {
    cases: { name: string; status: string }[];
  };
  const statuses = new Set(c.cases.map((x) => x.status));
  for (const s of ["IN_SYNC", "BEHIND", "AHEAD", "FORKED", "HARD", "UNKNOWN"]) assert.ok(statuses.has(s), s);
});
