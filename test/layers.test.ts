// Architecture rules (docs/architecture.md): only mls/ imports ts-mls, imports between layers point downwards,
// and no file of src/ imports itself through others (a cycle).
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

// `import ... from "x"`, `import type ... from "x"`, `import "x"`, `export ... from "x"` (not `import("x")`).
const IMPORT = /^\s*(?:import|export)\s(?:[^"';]*?\sfrom\s*)?["']([^"']+)["']/gm;

/** Every file of src/ (relative to src/) with the module specifiers it imports or re-exports. */
const SOURCES: ReadonlyMap<string, readonly string[]> = new Map(
  files(SRC).map((file) => [
    relative(SRC, file),
    [...readFileSync(file, "utf8").matchAll(IMPORT)].map(([, spec]) => spec!),
  ]),
);

/** The file (relative to src/) a relative specifier in `rel` names. */
function target(rel: string, spec: string): string {
  return relative(SRC, join(SRC, rel, "..", spec));
}

it("only src/mls imports ts-mls, and layers import only the layers below them", () => {
  const problems: string[] = [];
  for (const [rel, specs] of SOURCES) {
    const layer = rel.split("/")[0] as string;
    const allowed = new Set([layer, "util", ...(BELOW[layer] ?? [])]);
    for (const spec of specs) {
      if (/^ts-mls(\/|$)/.test(spec) && layer !== "mls") problems.push(`${rel} imports ${spec}`);
      if (spec.startsWith(".")) {
        const to = target(rel, spec).split("/")[0] as string;
        if (!allowed.has(to)) problems.push(`${rel} (${layer}) imports ${to}/`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

/**
 * The groups of files that import each other in a cycle (strongly connected components of the import
 * graph with more than one file, or one file importing itself), each sorted (Tarjan's algorithm).
 */
function cyclicGroups(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || graph.get(v)?.includes(v)) groups.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return groups;
}

/** One cycle through `group`'s first file, as `a -> b -> a` (shortest, found breadth first). */
function cycleThrough(graph: ReadonlyMap<string, readonly string[]>, group: readonly string[]): string {
  const start = group[0]!;
  const inGroup = new Set(group);
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of graph.get(v) ?? []) {
      if (!inGroup.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start].join(" -> ");
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return group.join(", ");
}

it("src/ has no import cycle (import type and export ... from included)", () => {
  const graph = new Map(
    [...SOURCES].map(([rel, specs]) => [
      rel,
      specs.filter((s) => s.startsWith(".")).map((s) => target(rel, s)),
    ]),
  );
  assert.deepEqual(
    cyclicGroups(graph).map((g) => `${cycleThrough(graph, g)} (files: ${g.join(", ")})`),
    [],
  );
});

it("the cycle check finds each group of files in a cycle and names one cycle through it", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts", "d.ts"]],
    ["c.ts", ["a.ts", "e.ts"]],
    ["d.ts", ["d.ts"]],
    ["e.ts", []],
    ["f.ts", ["a.ts"]],
  ]);
  assert.deepEqual(cyclicGroups(graph).sort(), [["a.ts", "b.ts", "c.ts"], ["d.ts"]]);
  assert.equal(cycleThrough(graph, ["a.ts", "b.ts", "c.ts"]), "a.ts -> b.ts -> c.ts -> a.ts");
  assert.equal(cycleThrough(graph, ["d.ts"]), "d.ts -> d.ts");
});
