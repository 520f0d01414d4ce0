// Test vectors of docs/spec/recovery.md, computed by this implementation: `npm run spec-vectors` writes
// docs/spec/vectors/*.json; test/spec/vectors.test.ts computes them again and compares. Inputs are fixed
// (byte patterns, hashes of short strings, and MLS keys from a seeded randomness source), so a second
// implementation can check every deterministic function of the spec against them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { chainSyncKey, syncKeyFrom } from "../src/group/sync-key.ts";
import {
  ancestry,
  createIdentity,
  type EpochFingerprint,
  fingerprintFrom,
  relation,
  seedMlsRandomness,
  sign,
} from "../src/mls/index.ts";
import { classify, type View } from "../src/sync/classify.ts";
import { operatorRank, resetGroupId, resetProposalId } from "../src/sync/reset-ids.ts";
import { responderRank } from "../src/sync/responders.ts";
import { keyIdOf } from "../src/sync/seal.ts";
import type { ResetRound } from "../src/sync/state.ts";
import { catchUpBody, infoBody, resetBody, resetVoteBody } from "../src/sync/wire.ts";
import { compareBytes, toHex, utf8 } from "../src/util/bytes.ts";

const pattern = (byte: number, length = 32) => new Uint8Array(length).fill(byte);
/** The fingerprint a test history uses at `epoch` on `branch` (any 32 bytes would do). */
const fp = (branch: string, epoch: bigint) => sha256(utf8(`${branch}/${epoch}`));
const history = (branch: string, from: bigint, to: bigint, forkAt?: { branch: string; epoch: bigint }) => {
  const out: EpochFingerprint[] = [];
  for (let e = from; e <= to; e++)
    out.push({ epoch: e, fingerprint: forkAt && e > forkAt.epoch ? fp(forkAt.branch, e) : fp(branch, e) });
  return out;
};
const hexPairs = (list: readonly EpochFingerprint[]) =>
  list.map((x) => ({ epoch: Number(x.epoch), fingerprint: toHex(x.fingerprint) }));

async function fingerprints() {
  const cases = [
    { exporterSecret: pattern(0x01), groupId: utf8("demo/0"), epoch: 0n },
    { exporterSecret: pattern(0x02), groupId: utf8("demo/0"), epoch: 7n },
    { exporterSecret: pattern(0x03), groupId: pattern(0xaa, 16), epoch: 2n ** 40n },
  ];
  return {
    description:
      "fingerprint = MLS-Exporter('demls/state-fp', group_id || u64be(epoch), 32), ciphersuite 1 " +
      "(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519), from the epoch's exporter secret",
    cases: await Promise.all(
      cases.map(async (c) => ({
        exporterSecret: toHex(c.exporterSecret),
        groupId: toHex(c.groupId),
        epoch: Number(c.epoch),
        fingerprint: toHex(await fingerprintFrom(c.exporterSecret, c.groupId, c.epoch)),
      })),
    ),
  };
}

async function syncKeys() {
  const derived = await Promise.all(
    [
      { exporterSecret: pattern(0x11), conversation: "demo" },
      { exporterSecret: pattern(0x12), conversation: "team chat" },
    ].map(async (c) => {
      const key = await syncKeyFrom(c.exporterSecret, c.conversation);
      return {
        exporterSecret: toHex(c.exporterSecret),
        conversation: c.conversation,
        syncKey: toHex(key),
        keyId: toHex(keyIdOf(key)),
      };
    }),
  );
  const parent = pattern(0x21);
  const oldGroup = utf8("demo/0");
  const newGroup = resetGroupId(oldGroup);
  const chained = chainSyncKey(parent, newGroup);
  return {
    description:
      "sync_key = MLS-Exporter('demls/sync-key', UTF-8(conversation), 32); key_id = SHA-256(key)[0..8]; " +
      "a reset group's key = HKDF-SHA256(ikm = parent key, salt = new group id, info = 'demls/reset-sync-key', 32)",
    derived,
    chained: {
      parentKey: toHex(parent),
      newGroupId: toHex(newGroup),
      syncKey: toHex(chained),
      keyId: toHex(keyIdOf(chained)),
    },
  };
}

function resetIds() {
  const groups = [utf8("demo/0"), pattern(0x5a, 16)];
  return {
    description:
      "new group id = SHA-256('demls/reset' || old_group_id)[0..16]; vote id = SHA-256(old_group_id || u64be(attempt))",
    cases: groups.flatMap((g) =>
      [0n, 1n, 41n].map((attempt) => ({
        oldGroupId: toHex(g),
        attempt: Number(attempt),
        newGroupId: toHex(resetGroupId(g)),
        voteId: toHex(resetProposalId(g, attempt)),
      })),
    ),
  };
}

function rankings() {
  const members = ["alice", "bob", "carol", "dave", "erin"].map((n) => toHex(utf8(n)));
  const newGroupId = resetGroupId(utf8("demo/0"));
  const order = (key: (m: string) => Uint8Array) => [...members].sort((a, b) => compareBytes(key(a), key(b)));
  const nonce = pattern(0x07, 8);
  return {
    description:
      "member ids are hex of their credential identity. Reset operators: the YES voters by " +
      "SHA-256(member_id || new_group_id), smallest first. Catch-up responders: holders by " +
      "SHA-256(UTF-8(hex(member_id)) || nonce), smallest first (the first catchUpResponders answer).",
    operators: {
      newGroupId: toHex(newGroupId),
      voters: members,
      // The rank depends on the round's new group id only.
      order: order((m) => operatorRank(m, { groupId: newGroupId } as ResetRound)),
    },
    responders: { nonce: toHex(nonce), holders: members, order: order((m) => responderRank(m, nonce)) },
  };
}

function relations() {
  const mine = history("a", 0n, 10n);
  const cases = [
    { name: "same state", peer: history("a", 0n, 10n) },
    { name: "peer behind", peer: history("a", 0n, 6n) },
    { name: "peer ahead, naming my epoch", peer: history("a", 0n, 14n) },
    { name: "peer forked at 8", peer: history("a", 0n, 12n, { branch: "b", epoch: 8n }) },
  ];
  return {
    description:
      "relation of a peer's (epoch, fingerprint, ancestry) to my history; fingerprints of the example " +
      "histories are SHA-256(UTF-8('<branch>/<epoch>'))",
    myHistory: hexPairs(mine),
    cases: cases.map((c) => {
      const cur = c.peer.at(-1)!;
      const anc = ancestry(c.peer);
      return {
        name: c.name,
        peer: { epoch: Number(cur.epoch), fingerprint: toHex(cur.fingerprint), ancestry: hexPairs(anc) },
        relation: relation(mine, cur.epoch, cur.fingerprint, anc),
      };
    }),
  };
}

function classifications() {
  const now = 100_000;
  const roster = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);
  /** `who`: member → its history. */
  const verdictOf = (self: string, members: string[], who: Record<string, EpochFingerprint[]>) => {
    const views = new Map<string, View>();
    for (const [m, h] of Object.entries(who))
      if (m !== self) {
        const cur = h.at(-1)!;
        views.set(m, {
          epoch: cur.epoch,
          fingerprint: cur.fingerprint,
          ancestry: ancestry(h),
          receivedAt: now,
        });
      }
    const own = who[self]!;
    const v = classify({
      self,
      history: own,
      ancestry: ancestry(own),
      roster: members,
      views,
      now,
      windowMs: 4000,
    });
    return {
      input: {
        self,
        roster: members,
        histories: Object.fromEntries(Object.entries(who).map(([m, h]) => [m, hexPairs(h)])),
      },
      status: v.status,
      majority: v.majority
        ? { epoch: Number(v.majority.epoch), fingerprint: toHex(v.majority.fingerprint) }
        : null,
    };
  };
  const at = (branch: string, to: bigint, fork?: { branch: string; epoch: bigint }) =>
    history(branch, 0n, to, fork);
  const r5 = roster(5);
  const r6 = roster(6);
  const cases: ({ name: string } & ReturnType<typeof verdictOf>)[] = [];
  const add = (name: string, self: string, members: string[], who: Record<string, EpochFingerprint[]>) =>
    cases.push({ name, ...verdictOf(self, members, who) });
  add("all in one state", "m0", r5, Object.fromEntries(r5.map((m) => [m, at("a", 3n)])));
  add("behind the majority", "m4", r5, {
    ...Object.fromEntries(r5.map((m) => [m, at("a", 5n)])),
    m4: at("a", 2n),
  });
  add("alone ahead", "m0", r5, { ...Object.fromEntries(r5.map((m) => [m, at("a", 3n)])), m0: at("a", 4n) });
  add("minority fork", "m4", r5, {
    ...Object.fromEntries(r5.map((m) => [m, at("a", 4n)])),
    m3: at("a", 4n, { branch: "b", epoch: 2n }),
    m4: at("a", 4n, { branch: "b", epoch: 2n }),
  });
  add("three sides, no majority", "m0", r6, {
    m0: at("a", 3n),
    m1: at("a", 3n),
    m2: at("a", 3n, { branch: "b", epoch: 1n }),
    m3: at("a", 3n, { branch: "b", epoch: 1n }),
    m4: at("a", 3n, { branch: "c", epoch: 1n }),
    m5: at("a", 3n, { branch: "c", epoch: 1n }),
  });
  add("too few views", "m0", r6, { m0: at("a", 3n), m1: at("a", 3n) });
  add("branch support: tip and its ancestor make the majority", "m4", r5, {
    m0: at("a", 5n),
    m1: at("a", 5n),
    m2: at("a", 4n),
    m3: at("a", 4n, { branch: "b", epoch: 2n }),
    m4: at("a", 4n, { branch: "b", epoch: 2n }),
  });
  add("one liar on an invented branch grafts nothing", "m0", r5, {
    m0: at("a", 3n),
    m1: at("a", 3n),
    m2: at("a", 9n, { branch: "liar", epoch: 3n }),
    m3: at("a", 3n, { branch: "b", epoch: 1n }),
    m4: at("a", 3n, { branch: "c", epoch: 1n }),
  });
  const r8 = roster(8);
  add("a lone claim does not take the majority away: 4 of the other 7", "m6", r8, {
    ...Object.fromEntries(r8.slice(0, 4).map((m) => [m, at("a", 4n)])),
    ...Object.fromEntries(r8.slice(4, 7).map((m) => [m, at("a", 4n, { branch: "b", epoch: 2n })])),
    m7: at("a", 5n, { branch: "made-up", epoch: 1n }),
  });
  return {
    description:
      "classify(): each member's history (its fingerprints, oldest first) gives its view (last entry, " +
      "ancestry: distances 1..16 then doubling); all views fresh. Fingerprints: SHA-256(UTF-8('<branch>/<epoch>')).",
    cases,
  };
}

async function signedBytes() {
  seedMlsRandomness("demls spec vectors");
  const alice = await createIdentity("alice");
  const info = {
    groupId: utf8("demo/0"),
    memberId: alice.id,
    epoch: 7n,
    fingerprint: pattern(0x42),
    seqnum: 3n,
    ancestry: [
      { epoch: 6n, fingerprint: pattern(0x41) },
      { epoch: 5n, fingerprint: pattern(0x40) },
    ],
    quietCounts: [],
  };
  const catchUp = {
    groupId: utf8("demo/0"),
    memberId: alice.id,
    fromEpoch: 5n,
    targetEpoch: 7n,
    target: pattern(0x42),
    nonce: pattern(0x07, 8),
  };
  const oldGroupId = utf8("demo/0");
  const proposal = {
    oldGroupId,
    attempt: 1n,
    proposer: alice.id,
    roster: ["alice", "bob", "carol"].map((n) => utf8(n)),
  };
  const vote = {
    proposalId: resetProposalId(oldGroupId, 1n),
    voter: alice.id,
    yes: true,
    keyPackage: pattern(0x33, 8),
  };
  const entry = async (label: string, tbs: Uint8Array) => ({
    label: `MLS 1.0 demls ${label}`,
    toBeSigned: toHex(tbs),
    signature: toHex(await sign(alice, label, tbs)),
  });
  return {
    description:
      "SignWithLabel (RFC 9420 section 5.1.2) with Ed25519, label 'MLS 1.0 demls <kind>'; to-be-signed = the " +
      "message's protobuf encoding without its signature field (proto/sync.proto). Signer public key below.",
    signer: { memberId: toHex(alice.id), signaturePublicKey: toHex(alice.signaturePublicKey) },
    syncStateInfo: await entry("sync-state", infoBody(info)),
    catchUpRequest: await entry("catch-up", catchUpBody(catchUp)),
    resetProposal: await entry("reset", resetBody(proposal)),
    resetVote: await entry("reset-vote", resetVoteBody(vote)),
  };
}

/** Every vector file: name → content. */
export async function buildVectors(): Promise<Record<string, unknown>> {
  return {
    "fingerprint.json": await fingerprints(),
    "sync-key.json": await syncKeys(),
    "reset-ids.json": resetIds(),
    "rankings.json": rankings(),
    "relation.json": relations(),
    "classification.json": classifications(),
    "signed-bytes.json": await signedBytes(),
  };
}

export const VECTORS_DIR = join(import.meta.dirname, "..", "docs", "spec", "vectors");

if (import.meta.main) {
  for (const [name, content] of Object.entries(await buildVectors()))
    writeFileSync(join(VECTORS_DIR, name), `${JSON.stringify(content, null, 1)}\n`);
  console.log(`wrote ${VECTORS_DIR}`);
}
