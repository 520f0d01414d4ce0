// `npm run test:interop`: builds `mls_peer`, the OpenMLS client of interop/, then runs the MLS interop test
// against it (test/interop/*.interop.ts; docs/conformance.md, "MLS interop with OpenMLS"). Kept out of
// `npm test`, which must not need cargo. The build goes to $CARGO_TARGET_DIR, by default
// ~/.cache/demls-interop-target, outside the clone, so a second run rebuilds nothing; `--locked` builds
// exactly interop/Cargo.lock. Cargo's job count follows $CARGO_BUILD_JOBS.
import { spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";

const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "demls-interop-target");
const env = { ...process.env, CARGO_TARGET_DIR: target, MLS_PEER: join(target, "debug", "mls_peer") };

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { stdio: "inherit", env });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const started = performance.now();
run("cargo", ["build", "--locked", "--manifest-path", "interop/Cargo.toml", "--bin", "mls_peer"]);
console.log(`mls_peer built in ${((performance.now() - started) / 1000).toFixed(1)} s (${env.MLS_PEER})`);
run(process.execPath, [
  "--import",
  "./test/fast-check-seed.ts",
  "--test",
  "--test-reporter=spec",
  "--test-reporter-destination=stdout",
  "test/interop/*.interop.ts",
]);
