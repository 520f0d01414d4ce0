// What a node does with a data file it cannot run as, and with a second member under a name in use: a
// typed error that names the reason (the CLI prints it and exits 2), never a stack trace or a member
// silently running as someone else.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { deserialize, serialize } from "node:v8";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Simulator } from "../../src/net/sim/simulator.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { Member } from "../../src/node/member.ts";
import { SqliteMemberStore } from "../../src/store/sqlite.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { DemlsError } from "../../src/util/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "demls-store-errors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sim = new Simulator({ seed: 3 });
const optionsFor = (name: string) => ({
  name,
  conversation: "c",
  ...sim.addNode(`${name}-${Math.random()}`),
});
const code = (c: string) => (e: unknown) => e instanceof DemlsError && e.code === c;

/** A store file holding alice's state (a group she created). */
async function aliceFile(): Promise<string> {
  const file = join(dir, `alice-${Math.random()}.sqlite`);
  const store = new SqliteMemberStore(file);
  await Member.create({ ...optionsFor("alice"), role: "creator", store });
  store.close();
  return file;
}

it("a data file is refused with its reason: another member's (WRONG_MEMBER), not a store (STORE_UNREADABLE), empty (NO_STATE)", async () => {
  const file = await aliceFile();
  const store = new SqliteMemberStore(file);
  await assert.rejects(Member.restore({ ...optionsFor("bob"), store }), code("WRONG_MEMBER"));
  const alice = await Member.restore({ ...optionsFor("alice"), store });
  assert.deepEqual(alice.roster(), ["alice"], "her own file still runs as her, untouched by the refusal");
  store.close();

  const junk = join(dir, "junk.sqlite");
  writeFileSync(junk, "not a database, just text");
  assert.throws(() => new SqliteMemberStore(junk), code("STORE_UNREADABLE"));

  const empty = new SqliteMemberStore(join(dir, "empty.sqlite"));
  await assert.rejects(Member.restore({ ...optionsFor("carol"), store: empty }), code("NO_STATE"));
  empty.close();
});

it("a damaged snapshot is CORRUPT_STATE: bytes that are not a snapshot, and a snapshot whose MLS state is garbage", async () => {
  const replaceSnapshot = (file: string, bytes: Uint8Array) => {
    const s = new SqliteMemberStore(file);
    s.db.prepare("UPDATE member SET snapshot = ? WHERE id = 1").run(bytes);
    return s;
  };
  const garbage = replaceSnapshot(await aliceFile(), new Uint8Array([1, 2, 3, 4, 5]));
  await assert.rejects(Member.restore({ ...optionsFor("alice"), store: garbage }), code("CORRUPT_STATE"));
  garbage.close();

  const file = await aliceFile();
  const probe = new SqliteMemberStore(file);
  const snap = deserialize(probe.load()!) as { group: Uint8Array };
  probe.close();
  snap.group = new Uint8Array(200).fill(7);
  const damaged = replaceSnapshot(file, serialize(snap));
  await assert.rejects(Member.restore({ ...optionsFor("alice"), store: damaged }), code("CORRUPT_STATE"));
  damaged.close();
});

it("a second member under a name in use is refused by the members (NAME_TAKEN) and never added", async () => {
  const rejected: string[] = [];
  const c = new Cluster({
    seed: 21,
    groupParams: FAST_GROUP_PARAMS,
    syncParams: FAST_SYNC_PARAMS,
    onEvent: (e, m) => {
      if (e.type === "rejected" && e.code === "NAME_TAKEN") rejected.push(m.name);
    },
  });
  await c.form(3);
  const epoch = c.epochOf("m0");
  const net = c.sim.addNode("impostor");
  const impostor = await Member.create({ name: "m1", conversation: "demo", ...net, role: "joiner" });
  impostor.start();
  await c.sim.runFor(10_000);
  assert.deepEqual([...new Set(rejected)].sort(), ["m0", "m1", "m2"], "every member said why");
  assert.equal(impostor.group.group, undefined, "the impostor has no group");
  assert.equal(c.epochOf("m0"), epoch, "no epoch was spent on it");
  assert.deepEqual(c.members.get("m0")!.roster().sort(), ["m0", "m1", "m2"]);
  assert.equal(c.distinctStates().size, 1);
});
