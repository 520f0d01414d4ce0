// Rebuilds test/vectors/de-mls/*.json from the reference de-MLS crates (docs/conformance.md): runs the
// `vectors` binary of interop/ with cargo. `--check` writes them to a temporary directory instead and
// exits 1 if they differ from the committed ones (CI: the crates and the committed vectors agree).
// The cargo build goes to CARGO_TARGET_DIR, by default ~/.cache/demls-interop-target (outside the clone,
// so a second run reuses the build).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const committed = join(root, "test", "vectors", "de-mls");
const check = process.argv.includes("--check");
const out = check ? mkdtempSync(join(tmpdir(), "demls-vectors-")) : committed;

const env = {
  ...process.env,
  CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "demls-interop-target"),
};
const started = Date.now();
const run = spawnSync("cargo", ["run", "--quiet", "--locked", "-j", "2", "--bin", "vectors", "--", out], {
  cwd: join(root, "interop"),
  env,
  stdio: ["ignore", "pipe", "inherit"],
});
if (run.error) {
  console.error(`cargo could not run: ${run.error.message}`);
  process.exit(2);
}
if (run.status !== 0) {
  console.error(`cargo run exited with ${run.status}`);
  process.exit(2);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);

if (!check) {
  console.log(`${readdirSync(out).length} vector files written to ${out} (${seconds} s)`);
  process.exit(0);
}

const names = new Set([...readdirSync(out), ...readdirSync(committed)]);
const differ: string[] = [];
for (const name of [...names].sort()) {
  const read = (dir: string) => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch {
      return undefined;
    }
  };
  const fresh = read(out);
  const kept = read(committed);
  if (fresh === kept) continue;
  differ.push(name);
  if (fresh === undefined) console.error(`${name}: committed, but the crates no longer produce it`);
  else if (kept === undefined) console.error(`${name}: produced by the crates, not committed`);
  else {
    const a = kept.split("\n");
    const b = fresh.split("\n");
    const line = a.findIndex((l, i) => l !== b[i]);
    console.error(`${name}: differs from line ${line + 1}`);
    console.error(`  committed: ${a[line]?.slice(0, 200)}`);
    console.error(`  crates:    ${b[line]?.slice(0, 200)}`);
  }
}
rmSync(out, { recursive: true, force: true });
if (differ.length > 0) {
  console.error(`${differ.length} vector file(s) differ from what the crates produce: run npm run vectors`);
  process.exit(1);
}
console.log(`${names.size} vector files match what the crates produce (${seconds} s)`);
