#!/usr/bin/env node
// The `demls` command. Plain JavaScript, so it starts on any Node: demls needs Node 24 (node:sqlite,
// type stripping), and where the Node that runs this is older it hands over to the Node 24 that the
// project pins (the `node` devDependency, installed by `npm ci`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// The compiled CLI (`npm run build`, run by `npm ci`), else its TypeScript source.
const built = join(root, "dist", "cli", "main.js");
const entry = existsSync(built) ? built : join(root, "src", "cli", "main.ts");
const major = Number(process.versions.node.split(".")[0]);

if (major >= 24) {
  await import(pathToFileURL(entry).href);
} else {
  const pinned = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(pinned)) {
    console.error(
      `demls: needs Node 24 or newer, this is ${process.version}. Run 'npm ci' in ${root} (it installs the pinned Node 24), or use Node 24.`,
    );
    process.exit(2);
  }
  const r = spawnSync(pinned, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}
