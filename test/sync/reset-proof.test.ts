// A hard reset takes effect only with proof of its vote, and only into a group whose every leaf is the
// member we knew (docs/spec/recovery.md, section 7). An insider with valid keys tries: a reset the others
// voted down, with no proof, too few votes, forged votes or a forged proposal; and, in a real no-majority
// split whose vote it saw decided, a group of its own with a leaf "m1" under a fresh identity.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { threeWaySplit } from "../../src/cli/scenarios.ts";
import {
  commit,
  createGroup,
  createIdentity,
  generateKeyPackages,
  type KeyPackageBundle,
  rosterMember,
  sign,
} from "../../src/mls/index.ts";
import type { Member } from "../../src/node/member.ts";
import { resetGroupId, resetProposalId } from "../../src/sync/reset-ids.ts";
import { certificateOf } from "../../src/sync/reset-proof.ts";
import { signWelcome } from "../../src/sync/reset-welcome.ts";
import { keyIdOf, seal } from "../../src/sync/seal.ts";
import type { ResetRound } from "../../src/sync/state.ts";
import {
  encodeSyncPayload,
  type ResetProposal,
  resetBody,
  resetVoteBody,
  type SyncPayload,
} from "../../src/sync/wire.ts";
import { Cluster, runUntilSettled } from "../../src/testing.ts";
import { bytesEqual, fromHex, toHex, utf8 } from "../../src/util/bytes.ts";

/** Publishes a sync payload from member `from`, sealed under its current sync key. */
async function publishSync(c: Cluster, from: string, payload: SyncPayload): Promise<void> {
  const m = c.members.get(from)!;
  const topic = m.group.topics.sync;
  const key = m.group.state.syncKey!.key;
  await c.sim
    .node(from)
    .transport.publish(topic, seal(key, encodeSyncPayload(payload), c.sim.node(from).rng, utf8(topic)));
}

/** A group with the reset's id built by `insider`, adding `keyPackages`; its Welcome. */
async function insiderGroup(insider: Member, oldGroupId: Uint8Array, keyPackages: Uint8Array[]) {
  const [own] = await generateKeyPackages(insider.group.identity, 1);
  const g = await createGroup(insider.group.identity, resetGroupId(oldGroupId), own!);
  return (await commit(g, { adds: keyPackages })).welcome!;
}

const honest = (c: Cluster, insider: string) => [...c.members.values()].filter((m) => m.name !== insider);
const counted = (c: Cluster, insider: string, code: string) =>
  honest(c, insider).every((m) => (m.sync.state.counters as Record<string, number>)[code] === 1);

describe("hard reset authority", () => {
  it("a reset the group voted down cannot be forced: no proof, too few, forged votes or a forged proposal are refused; the group goes on", async () => {
    const c = new Cluster({ seed: 31 });
    await c.form(8);
    await c.sim.runFor(5_000);
    for (const m of c.members.values()) assert.equal(m.status, "IN_SYNC", m.name);
    const insider = c.members.get("m7")!;
    const oldGroupId = insider.group.group!.groupId;
    const members = [...c.members.keys()].map(utf8);
    const unsigned: ResetProposal = {
      oldGroupId,
      attempt: 0n,
      proposer: insider.group.memberId,
      roster: members,
    };
    const proposal = {
      ...unsigned,
      signature: await sign(insider.group.identity, "reset", resetBody(unsigned)),
    };
    await publishSync(c, "m7", { reset: proposal });
    await c.sim.runFor(3_000);
    // The honest members voted NO (they are in sync); their votes carry KeyPackages the insider can use.
    const round = c.members.get("m0")!.sync.state.reset!;
    assert.ok(bytesEqual(round.id, resetProposalId(oldGroupId, 0n)));
    assert.ok(
      [...round.votes.values()].every((v) => !v.yes),
      "every honest member voted NO",
    );
    const kps = [...round.votes]
      .filter(([w]) => w !== toHex(insider.group.memberId))
      .map(([, v]) => v.keyPackage!);
    const welcome = await insiderGroup(insider, oldGroupId, kps);
    // The insider operates: its Welcome is signed by itself, naming its sync key as the parent key.
    const base = await signWelcome(insider.group.identity, {
      proposalId: round.id,
      operator: insider.group.memberId,
      welcome,
      groupId: resetGroupId(oldGroupId),
      parentKeyId: keyIdOf(insider.group.state.syncKey!.key),
      votes: [],
    });
    // Its own YES vote, signed, as the only vote of the certificate.
    const ownVote = {
      proposalId: round.id,
      voter: insider.group.memberId,
      yes: true,
      keyPackageHash: new Uint8Array(32),
    };
    const ownSigned = {
      ...ownVote,
      signature: await sign(insider.group.identity, "reset-vote", resetVoteBody(ownVote)),
    };
    // The NO votes turned into YES: their signatures no longer verify.
    const flipped = [...round.votes].map(([who, v]) => ({
      proposalId: round.id,
      voter: fromHex(who),
      yes: true,
      keyPackageHash: v.keyPackageHash,
      signature: v.signature,
    }));
    const attempts: [string, SyncPayload][] = [
      ["RESET_NO_PROOF", { resetWelcome: { ...base, votes: [] } }],
      ["RESET_INSUFFICIENT_VOTES", { resetWelcome: { ...base, proposal, votes: [ownSigned] } }],
      [
        "RESET_FORGED_VOTE",
        { resetWelcome: { ...base, proposal, votes: [ownSigned, ...flipped.slice(0, 6)] } },
      ],
      [
        "RESET_FORGED_PROOF",
        { resetWelcome: { ...base, proposal: { ...proposal, attempt: 5n }, votes: [ownSigned] } },
      ],
    ];
    for (const [code, payload] of attempts) {
      await publishSync(c, "m7", payload);
      await c.sim.runFor(1_000);
      assert.ok(counted(c, "m7", code), `${code} counted once by every honest member`);
    }
    for (const m of honest(c, "m7"))
      assert.ok(bytesEqual(m.group.group!.groupId, oldGroupId), `${m.name} stayed`);
    // The group still commits and chats.
    const before = c.epochOf("m0");
    await c.members.get("m0")!.proposeRefresh();
    await c.chat("m1", "still here");
    assert.notEqual(await runUntilSettled(c, { timeoutMs: 20_000 }), null);
    assert.ok(c.epochOf("m0") > before, "a new epoch");
    assert.equal(c.distinctStates().size, 1);
  });

  it("in a real no-majority split, an insider's reset group with a leaf 'm1' under a fresh identity is refused; the real reset goes on and the fake m1 is in no group", async () => {
    const c = new Cluster({ seed: 12 });
    await c.form(7);
    const insider = c.members.get("m6")!;
    const oldGroupId = insider.group.group!.groupId;
    const sides = threeWaySplit([...c.members.keys()]);
    c.sim.partition(sides);
    for (const side of sides) await c.members.get(side[0]!)!.proposeRefresh();
    await c.sim.runFor(8_000);
    c.sim.heal();
    // Wait until the insider's round is decided YES: the operator acts only once the vote window closes.
    let round: ResetRound | undefined;
    for (let t = 0; t < 2_000 && round === undefined; t++) {
      await c.sim.runFor(20);
      const r = insider.sync.state.reset;
      if (r?.decidedAt !== undefined && !r.done) round = r;
    }
    assert.ok(round, "the insider saw the reset decided");
    const fake = await createIdentity("m1");
    const [fakeKp] = (await generateKeyPackages(fake, 1)) as KeyPackageBundle[];
    const kps = [...round.votes]
      .filter(
        ([w]) =>
          w !== toHex(insider.group.memberId) && w !== toHex(utf8("m1")) && round!.votes.get(w)?.keyPackage,
      )
      .map(([, v]) => v.keyPackage!);
    const welcome = await insiderGroup(insider, oldGroupId, [...kps, fakeKp!.publicBytes]);
    await publishSync(c, "m6", {
      resetWelcome: await signWelcome(insider.group.identity, {
        proposalId: round.id,
        operator: insider.group.memberId,
        welcome,
        groupId: round.groupId,
        parentKeyId: keyIdOf(round.parentKey),
        ...certificateOf(round),
      }),
    });
    await c.sim.runFor(300);
    const refused = honest(c, "m6").filter(
      (m) => ((m.sync.state.counters as Record<string, number>).RESET_UNBOUND_LEAF ?? 0) > 0,
    );
    assert.ok(refused.length >= 4, `members that could open it refused it: ${refused.map((m) => m.name)}`);
    assert.notEqual(await runUntilSettled(c, { timeoutMs: 60_000 }), null, "the real reset completes");
    const states = c.distinctStates();
    assert.equal(states.size, 1);
    const m1Key = c.members.get("m1")!.group.identity.signaturePublicKey;
    for (const m of c.members.values())
      assert.ok(
        bytesEqual(rosterMember(m.group.group!, utf8("m1"))!.signaturePublicKey, m1Key),
        `${m.name}: m1's leaf is the real m1's`,
      );
  });
});
