// Every integer a peer controls is bounded (docs/threats.md, "Peer integers"): for each message type of
// each layer, an insider (a member with valid keys) sends it with each numeric field, in turn, absent, 0,
// at the wire bound 2^53-1 and just above it, and at the type's maximum and one below, properly signed,
// sealed or encrypted. No step of any member throws, no honest member's state changes, and afterwards the
// group still commits and chats. The fields come from the schema tables, so a field added to a message
// is covered without touching this file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeGroupFrame,
  encodeGroupFrame,
  type GroupPayload,
  GroupPayloadSchema,
  PROPOSAL_REFRESH,
  type WelcomeFrame,
  WelcomeFrameSchema,
} from "../../src/group/frames.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import type { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { decodeSdsMessage, encodeSdsMessage, type SdsMessage, SdsMessageSchema } from "../../src/sds/wire.ts";
import { type SyncPayload, SyncPayloadSchema } from "../../src/sync/wire.ts";
import { MAX_WIRE_U64 } from "../../src/util/bounds.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import type { Schema } from "../../src/util/schema.ts";
import { formedGroup } from "./harness.ts";

type Msg = Record<string, unknown>;
type Numeric = "u64" | "u32";

const VALUES: Record<Numeric, readonly (bigint | number | undefined)[]> = {
  u64: [undefined, 0n, MAX_WIRE_U64, MAX_WIRE_U64 + 1n, 2n ** 64n - 2n, 2n ** 64n - 1n],
  u32: [undefined, 0, 2 ** 32 - 2, 2 ** 32 - 1],
};

/** Every numeric field of `schema`, nested and repeated messages included, as a path of names. */
function numericFields(schema: Schema, prefix: readonly string[] = []): { path: string[]; type: Numeric }[] {
  return Object.entries(schema).flatMap(([name, f]) => {
    const t = f[1];
    if (typeof t === "object") return numericFields(t, [...prefix, name]);
    return t === "u64" || t === "u32" ? [{ path: [...prefix, name], type: t }] : [];
  });
}

/** `msg` with the field at `path` set to `value` (absent when undefined), in every repeated element. */
function setAt(msg: Msg, schema: Schema, path: readonly string[], value: unknown): Msg {
  const [head, ...rest] = path as [string, ...string[]];
  const f = schema[head]!;
  const out: Msg = { ...msg };
  if (rest.length === 0) {
    if (f[2] === "repeated") out[head] = value === undefined ? [] : [value];
    else if (value === undefined) delete out[head];
    else out[head] = value;
    return out;
  }
  const sub = f[1] as Schema;
  const cur = msg[head];
  out[head] = Array.isArray(cur)
    ? cur.map((e) => setAt(e as Msg, sub, rest, value))
    : setAt((cur ?? {}) as Msg, sub, rest, value);
  return out;
}

/**
 * The message to send for `path`: the template with only the branch of the root that holds the field
 * (the roots are containers read one branch at a time: a payload, a welcome-topic frame) beside the
 * root's scalar fields, and the field set.
 */
function variant(template: Msg, schema: Schema, path: readonly string[], value: unknown): Msg {
  const root: Msg = {};
  for (const [name, f] of Object.entries(schema)) {
    if (name === path[0] || typeof f[1] !== "object") {
      if (template[name] !== undefined) root[name] = template[name];
    } else if (f[2] === "repeated") root[name] = [];
  }
  return setAt(root, schema, path, value);
}

/** One message type: its schema, a valid message of it, and how the insider signs and sends one. */
interface Target {
  readonly layer: string;
  readonly schema: Schema;
  /** Numeric fields, by path from the schema's root, that this target covers. */
  readonly fields: { path: string[]; type: Numeric }[];
  /** Runs first (once): what makes the template's own values unremarkable to the honest members. */
  readonly prepare?: (i: Insider) => Promise<void>;
  readonly template: (i: Insider) => Promise<Msg>;
  readonly send: (i: Insider, m: Msg) => Promise<void>;
}

/** A sync payload from the insider, re-signed where the sync layer signs it, sealed and sent. */
const syncSend = async (i: Insider, m: Msg): Promise<void> => {
  const p = m as SyncPayload;
  await i.sendSync({
    ...p,
    ...(p.info ? { info: await i.signInfo(p.info) } : {}),
    ...(p.catchUp ? { catchUp: await i.signCatchUp(p.catchUp) } : {}),
    ...(p.reset ? { reset: await i.signReset(p.reset) } : {}),
    ...(p.resetVote ? { resetVote: await i.signResetVote(p.resetVote) } : {}),
  });
};

/** A group payload from the insider, its votes re-signed, encrypted under its group and sent. */
const groupSend = async (i: Insider, m: Msg): Promise<void> => {
  const p = m as GroupPayload;
  await i.sendPayload({
    ...p,
    ...(p.vote ? { vote: await i.signVote(p.vote) } : {}),
    votes: await Promise.all(p.votes.map((v) => i.signVote(v))),
  });
};

/** A valid SyncPayload with every branch: our info, a request, an answer, a reset round and its vote. */
async function syncTemplate(i: Insider): Promise<Msg> {
  const m = i.member;
  const g = m.group.group!;
  const last = m.group.state.commitLog.at(-1)!;
  const reset = m.sync.state.reset;
  return {
    info: i.stateInfo(),
    catchUp: {
      groupId: g.groupId,
      memberId: m.group.memberId,
      fromEpoch: last.epoch,
      targetEpoch: g.epoch,
      target: g.fingerprint,
      nonce: utf8("insider"),
    },
    commits: {
      groupId: g.groupId,
      responder: m.group.memberId,
      nonce: utf8("nobody asked"),
      commits: [{ epoch: last.epoch, commit: last.commit, fingerprintAfter: last.fingerprintAfter }],
      baseEpoch: last.epoch,
      baseFingerprint: g.history.at(-2)?.fingerprint,
    },
    reset: { oldGroupId: g.groupId, attempt: 0n, proposer: m.group.memberId, roster: m.group.rosterIds() },
    resetVote: { proposalId: reset?.id ?? new Uint8Array(32), voter: m.group.memberId, yes: true },
    resetWelcome: {
      proposalId: reset?.id ?? new Uint8Array(32),
      operator: m.group.memberId,
      welcome: new Uint8Array([1, 2, 3]),
      groupId: g.groupId,
    },
  };
}

/** A valid GroupPayload with every branch: a refresh proposal, a share of the current key, m1's set. */
async function groupTemplate(i: Insider): Promise<Msg> {
  const m = i.member;
  const g = m.group.group!;
  const key = m.group.state.syncKey!;
  const set = m.group.state.keyPackageSets.get(toHex(utf8("m1")))!;
  return {
    chat: {
      id: utf8("bounds"),
      body: utf8("never sent as such"),
      after: [{ id: utf8("before"), epoch: 1n }],
    },
    proposal: { kind: PROPOSAL_REFRESH, target: utf8("insider"), epoch: g.epoch, proposer: m.group.memberId },
    vote: {
      proposalId: utf8("no such proposal"),
      voter: m.group.memberId,
      yes: true,
      prev: new Uint8Array(),
    },
    syncKey: { anchorEpoch: key.anchorEpoch, key: key.key },
    keyPackageSets: [{ ...set, keyPackages: [...set.keyPackages] }],
    votes: [],
    // Another member's chat with a signature that does not verify: refused whatever its numbers.
    relayed: {
      sender: utf8("m1"),
      chat: {
        id: utf8("relayed"),
        body: utf8("never delivered"),
        after: [{ id: utf8("before"), epoch: 1n }],
        signature: new Uint8Array(64),
      },
    },
  };
}

const TARGETS: Target[] = [
  // The sync layer: one target per payload branch (a message type) that has numeric fields.
  ...Object.keys(SyncPayloadSchema).map((branch) => ({
    layer: `sync ${branch}`,
    schema: SyncPayloadSchema as Schema,
    fields: numericFields(SyncPayloadSchema as Schema).filter((f) => f.path[0] === branch),
    // A round the honest members decided NO on: attempt 0 of the template is then an old one.
    prepare: async (i: Insider) => {
      if (branch === "reset") await syncSend(i, { reset: (await syncTemplate(i)).reset });
    },
    template: syncTemplate,
    send: syncSend,
  })),
  // The group layer: one target per payload branch.
  ...Object.keys(GroupPayloadSchema).map((branch) => ({
    layer: `group ${branch}`,
    schema: GroupPayloadSchema as Schema,
    fields: numericFields(GroupPayloadSchema as Schema).filter((f) => f.path[0] === branch),
    template: groupTemplate,
    send: groupSend,
  })),
  // The welcome topic: a joiner's KeyPackage (ours: already a member), a rejoin request, a Welcome.
  {
    layer: "welcome frame",
    schema: WelcomeFrameSchema as Schema,
    fields: numericFields(WelcomeFrameSchema as Schema),
    template: async (i: Insider) => ({
      keyPackage: await i.keyPackage(),
      welcome: i.member.group.state.commitLog.find((c) => c.welcome)?.welcome,
      sdsLamport: i.member.group.channel!.state.lamport,
      rejoin: { keyPackage: await i.keyPackage(), groupId: i.member.group.group!.groupId, at: 0n },
    }),
    send: async (i: Insider, m: Msg) => {
      const f = m as WelcomeFrame;
      await i.sendWelcome({ ...f, ...(f.rejoin ? { rejoin: await i.signRejoin(f.rejoin) } : {}) });
    },
  },
  // SDS: the insider's own message on the group channel, carrying a harmless group frame.
  {
    layer: "sds message",
    schema: SdsMessageSchema as Schema,
    fields: numericFields(SdsMessageSchema as Schema),
    template: async (i: Insider) => {
      const key = i.member.group.state.syncKey!;
      const frame = await i.encryptPayload({ syncKey: { anchorEpoch: key.anchorEpoch, key: key.key } });
      return { ...decodeSdsMessage(i.sds(frame)) };
    },
    send: (i: Insider, m: Msg) => i.send("app", encodeSdsMessage(m as unknown as SdsMessage)),
  },
].filter((t) => t.fields.length > 0);

/** The insider: the group's creator, so its commit log holds every commit. */
const INSIDER = "m0";
const HONEST = ["m1", "m2", "m3", "m4"];

/** What an honest member holds that no lie may change. */
function stateOf(c: Cluster, name: string): string {
  const m = c.members.get(name)!;
  const g = m.group.group!;
  return JSON.stringify({
    group: toHex(g.groupId),
    epoch: `${g.epoch}`,
    fingerprint: toHex(g.fingerprint),
    roster: m.roster(),
    syncKey: toHex(m.group.state.syncKey!.key),
    sets: [...m.group.state.keyPackageSets].map(([id, s]) => `${id}:${s.version}`).sort(),
    resetAttempt: `${m.sync.state.reset?.proposal.attempt}`,
  });
}

/**
 * Every integer an honest member holds above what a peer may send (2^53-1), by where it is: its group
 * and sync states with their bookkeeping. A peer value that got in unbounded shows here even when it
 * changed nothing yet.
 */
function oversized(c: Cluster, name: string): string[] {
  const m = c.members.get(name)!;
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, at: string): void => {
    if (typeof v === "bigint") {
      if (v > MAX_WIRE_U64 || v < -MAX_WIRE_U64) out.push(`${at} = ${v}`);
    } else if (typeof v === "number") {
      if (Number.isFinite(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER) out.push(`${at} = ${v}`);
    } else if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !seen.has(v)) {
      seen.add(v);
      const entries = v instanceof Map || v instanceof Set ? [...v.entries()] : Object.entries(v);
      for (const [k, x] of entries) {
        // Our own KeyPackages' ts-mls values (a lifetime ends at 2^63-1): the MLS layer's, not a peer's.
        if (k === "inner") continue;
        walk(k, `${at}.<key>`);
        walk(x, `${at}.${String(k)}`);
      }
    }
  };
  walk(m.group.state, `${name}.group`);
  walk(m.group.saveMemory(), `${name}.groupMemory`);
  walk(m.sync.state, `${name}.sync`);
  walk(m.sync.saveMemory(), `${name}.syncMemory`);
  return out;
}

/** No lie was adopted: every honest member's state is `before`, and none holds an oversized integer. */
function assertNothingAdopted(c: Cluster, before: string[]): void {
  assert.deepEqual(
    HONEST.map((n) => stateOf(c, n)),
    before,
    "no honest member's state changed",
  );
  assert.deepEqual(
    HONEST.flatMap((n) => oversized(c, n)),
    [],
    "no honest member holds an unbounded integer",
  );
}

/** A group of five in one state, all IN_SYNC, whose m0 lies. */
async function withInsider(seed: number): Promise<{ c: Cluster; i: Insider }> {
  // Past the time a rejoin request stays fresh: virtual time starts at 0, so a timestamp of 0 would
  // still be a recent one.
  const c = await formedGroup(seed, 5, FAST_GROUP_PARAMS.proposalExpiryMs + 3_000);
  return { c, i: new Insider(c, INSIDER) };
}

/** The group goes on: a key refresh reaches a new epoch at every member, a chat reaches every member. */
async function assertGroupGoesOn(c: Cluster): Promise<void> {
  const epoch = c.epochOf("m1");
  await c.members.get("m1")!.proposeRefresh();
  for (let t = 0; t < 40 && [...c.members.values()].some((m) => m.group.epoch === epoch); t++)
    await c.sim.runFor(250);
  await c.sim.runFor(2_000);
  for (const m of c.members.values())
    assert.equal(m.group.epoch, epoch + 1n, `${m.name} reached the new epoch`);
  assert.equal(c.distinctStates().size, 1, "one state");
  await c.chat("m2", "after the lies");
  for (let t = 0; t < 40 && c.missingChats().size > 0; t++) await c.sim.runFor(250);
  assert.deepEqual([...c.missingChats()], [], "the chat reached every member");
}

describe("every numeric field of every message, from an insider with valid keys", () => {
  it("covers every numeric field of the schemas", () => {
    const covered = TARGETS.flatMap((t) => t.fields.map((f) => `${t.layer}: ${f.path.join(".")}`));
    // Not a list to keep up to date: a sanity check that the walk over the schemas finds fields.
    for (const f of [
      "sync info: info.seqnum",
      "sync reset: reset.attempt",
      "group keyPackageSets: keyPackageSets.version",
    ])
      assert.ok(covered.includes(f), `${f} in ${covered.join(", ")}`);
  });

  for (const [k, target] of TARGETS.entries()) {
    const names = target.fields.map((f) => f.path.join(".")).join(", ");
    it(`${target.layer} (${names}): nothing throws, nothing is adopted, the group goes on`, async () => {
      const { c, i } = await withInsider(100 + k);
      await target.prepare?.(i);
      await c.sim.runFor(3_000);
      const before = HONEST.map((n) => stateOf(c, n));
      for (const field of target.fields)
        for (const value of VALUES[field.type]) {
          const m = variant(await target.template(i), target.schema, field.path, value);
          await target.send(i, m);
          await c.sim.runFor(200);
        }
      await c.sim.runFor(3_000);
      assert.deepEqual(c.faults, [], "no step of any member threw");
      assert.equal(c.sim.drops.handlerErrors, 0);
      assertNothingAdopted(c, before);
      await assertGroupGoesOn(c);
      assert.deepEqual(c.faults, [], "no step of any member threw");
    });
  }

  it("MLS header epochs of an application message and a commit (ts-mls's codec, not a schema table)", async () => {
    const { c, i } = await withInsider(90);
    const before = HONEST.map((n) => stateOf(c, n));
    const g = i.member.group.group!;
    // MLSMessage: version (2), wire format (2), group id (1-byte length + bytes), then the epoch (u64).
    const at = 5 + g.groupId.length;
    const withEpoch = (e: bigint) => (message: Uint8Array) => {
      const f = message.slice();
      new DataView(f.buffer).setBigUint64(at, e);
      return f;
    };
    for (const e of VALUES.u64.filter((v) => v !== undefined) as bigint[]) {
      await i.send(
        "app",
        i.sds(
          await i.encryptPayload({ chat: { id: utf8(`e${e}`), body: utf8("x"), after: [] } }, withEpoch(e)),
        ),
      );
      const commit = decodeGroupFrame((await i.commit()).frame).commit!;
      await i.send("app", i.sds(encodeGroupFrame({ commit: withEpoch(e)(commit) })));
      await c.sim.runFor(200);
    }
    await c.sim.runFor(3_000);
    assert.deepEqual(c.faults, []);
    assertNothingAdopted(c, before);
    const reach = g.epoch + BigInt(FAST_GROUP_PARAMS.commitLogSize);
    for (const n of HONEST) {
      const held = c.members.get(n)!.group.state.heldApplications;
      assert.ok(
        held.every((h) => h.epoch <= reach),
        `${n} holds no frame of an epoch beyond the commit log's reach`,
      );
    }
    await assertGroupGoesOn(c);
    assert.deepEqual(c.faults, []);
  });
});
