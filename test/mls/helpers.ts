// Test helpers: build groups of members that all hold one MLS group, and deliver commits to them.
import assert from "node:assert/strict";
import * as mls from "../../src/mls/index.ts";
import { toHex } from "../../src/util/bytes.ts";

export interface TestMember {
  identity: mls.Identity;
  keyPackages: mls.KeyPackageBundle[];
  group?: mls.MlsGroup;
}

export async function newMember(name: string): Promise<TestMember> {
  const identity = await mls.createIdentity(name);
  return { identity, keyPackages: await mls.generateKeyPackages(identity, 1, { lastResort: true }) };
}

/** A group of `n` members created by members[0] and joined by the others from one Welcome. */
export async function buildGroup(n: number, groupId = "test-group"): Promise<TestMember[]> {
  // One after another: with seeded randomness, concurrent key generation would draw in the order the
  // thread pool finishes WebCrypto calls, and a seeded script would not replay under load.
  const members: TestMember[] = [];
  for (let i = 0; i < n; i++) members.push(await newMember(`m${i}`));
  const creator = members[0]!;
  creator.group = await mls.createGroup(
    creator.identity,
    new TextEncoder().encode(groupId),
    creator.keyPackages[0]!,
  );
  if (n === 1) return members;
  const out = await mls.commit(creator.group, {
    adds: members.slice(1).map((m) => m.keyPackages[0]!.publicBytes),
  });
  creator.group = out.group;
  for (const m of members.slice(1))
    m.group = (await mls.joinFromWelcome(m.identity, out.welcome!, m.keyPackages)).group;
  return members;
}

/** Applies `commit` to every member in `to`, asserting it processes. */
export async function deliver(commit: Uint8Array, to: TestMember[]): Promise<void> {
  for (const m of to) {
    const r = await mls.processMessage(m.group!, commit);
    assert.equal(r.kind, "commit");
    m.group = r.group;
  }
}

/** Asserts every member is at the same epoch with the same fingerprint; returns it as hex. */
export function assertAgree(members: TestMember[]): string {
  const [first, ...rest] = members;
  for (const m of rest) {
    assert.equal(m.group!.epoch, first!.group!.epoch);
    assert.equal(toHex(m.group!.fingerprint), toHex(first!.group!.fingerprint));
  }
  return toHex(first!.group!.fingerprint);
}
