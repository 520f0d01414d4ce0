// The package as an application installs it (`npm install demls`): the command, the typed entry, and the
// patched ts-mls it runs on (bundled: the patch fixes an RFC 9420 check and adds the sharing hooks, and
// an install has neither patch-package nor a way to apply it), with no install script that would need
// this project's devDependencies.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

const root = join(import.meta.dirname, "..");

it("the packed package has bin, typed exports and the patched ts-mls bundled, and no install scripts", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const s of ["preinstall", "install", "postinstall"]) assert.equal(pkg.scripts[s], undefined, s);
  assert.equal(pkg.bin.demls, "bin/demls.js");
  assert.equal(pkg.exports["."].types, "./dist/index.d.ts");
  assert.equal(pkg.exports["./testing"].types, "./dist/testing.d.ts");
  assert.deepEqual(pkg.bundleDependencies, ["ts-mls"]);

  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    shell: process.platform === "win32",
  });
  assert.equal(r.status, 0, r.stderr);
  const [packed] = JSON.parse(r.stdout) as { files: { path: string }[]; bundled: string[] }[];
  const files = new Set(packed!.files.map((f) => f.path));
  for (const f of [
    "bin/demls.js",
    "dist/index.js",
    "dist/index.d.ts",
    "dist/testing.js",
    "dist/testing.d.ts",
    "dist/cli/main.js",
    "dist/examples/chat.js",
    "dist/examples/partition.js",
  ])
    assert.ok(files.has(f), f);
  assert.ok(packed!.bundled.includes("ts-mls"));
  const secretTree = "node_modules/ts-mls/dist/src/secretTree.d.ts";
  assert.ok(files.has(secretTree));
  assert.match(
    readFileSync(join(root, secretTree), "utf8"),
    /Patched \(demls\)/,
    "the bundled copy is patched",
  );
});
