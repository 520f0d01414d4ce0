// One writer per data file: a second store on a file in use is refused at once, naming the file and the
// process; a lock left by a process that died is taken over; closing releases it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { SqliteMemberStore } from "../../src/store/sqlite.ts";
import { DemlsError } from "../../src/util/errors.ts";

const file = () => join(mkdtempSync(join(tmpdir(), "demls-lock-")), "m.sqlite");

it("a second store on a data file in use is refused with STORE_LOCKED naming the file and the process", () => {
  const path = file();
  const a = new SqliteMemberStore(path);
  assert.throws(
    () => new SqliteMemberStore(path),
    (e: unknown) =>
      e instanceof DemlsError &&
      e.code === "STORE_LOCKED" &&
      e.message.includes(path) &&
      e.message.includes(String(process.pid)),
  );
  // Another process too, at once.
  const script = `import { SqliteMemberStore } from ${JSON.stringify(join(import.meta.dirname, "../../src/store/sqlite.ts"))};
try { new SqliteMemberStore(${JSON.stringify(path)}); console.log("opened"); } catch (e) { console.log(e.code, e.message); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.match(r.stdout, new RegExp(`STORE_LOCKED .*in use by process ${process.pid}`), r.stderr);
  a.close();
  const b = new SqliteMemberStore(path);
  b.close();
});

it("a lock left by a process that is gone is taken over", () => {
  const path = file();
  // A pid above the kernel's limit (2^22) belongs to no process.
  writeFileSync(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 17, since: "earlier" }));
  const s = new SqliteMemberStore(path);
  s.save(new Uint8Array([1]), [], []);
  s.close();
});
