// Architecture rules (DESIGN section 1): only mls/ imports ts-mls, and imports between layers point downwards.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { it } from "node:test";

const SRC = join(import.meta.dirname, "..", "src");
// Each layer may import the layers listed after it (and util/).
const BELOW: Record<string, string[]> = {
  // The package entry (src/index.ts): the library API, everything but the command line.
  "index.ts": ["node", "sync", "group", "sds", "mls", "net", "store"],
  // The simulation kit (src/testing.ts, `demls/testing`): the simulator, the cluster and the presets.
  "testing.ts": ["node", "sync", "group", "sds", "mls", "net", "store"],
  cli: ["node", "sync", "group", "sds", "mls", "net", "store"],
  node: ["sync", "group", "sds", "mls", "net", "store"],
  sync: ["group", "sds", "mls", "net"],
  group: ["sds", "mls", "net"],
  sds: ["mls", "net"],
  store: ["mls"],
  mls: [],
  net: [],
  util: [],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

it("only src/mls imports ts-mls, and layers import only the layers below them", () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const layer = rel.split("/")[0] as string;
    const allowed = new Set([layer, "util", ...(BELOW[layer] ?? [])]);
    for (const [, spec] of readFileSync(file, "utf8").matchAll(
      /^\s*(?:import|export)[^"']*["']([^"']+)["']/gm,
    )) {
      if (spec === undefined) continue;
      if (/^ts-mls(\/|$)/.test(spec) && layer !== "mls") problems.push(`${rel} imports ${spec}`);
      if (spec.startsWith(".")) {
        const target = relative(SRC, join(file, "..", spec)).split("/")[0] as string;
        if (!allowed.has(target)) problems.push(`${rel} (${layer}) imports ${target}/`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
