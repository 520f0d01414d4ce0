// MLS interop with OpenMLS (docs/conformance.md, "MLS interop with OpenMLS"): a demls member and an OpenMLS
// 0.8.1 member (interop/src/bin/mls_peer.rs, configured as de-MLS configures OpenMLS) in one group, both
// ways. Each creates the group and adds the other from its KeyPackage; the other joins from the Welcome;
// both commit, both send and read application messages, and both compute the same state fingerprint (the
// MLS exporter value) at every epoch. Then the joiner adds a third member of the creator's implementation,
// so that each implementation's add commit is processed and its Welcome joined by the other.
// Not part of `npm test` (it needs cargo): `npm run test:interop` builds the peer and runs this file.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { DemlsSide, OpenMlsSide, refusalCode, type Side } from "./sides.ts";

/** The code each implementation refuses a tampered message with. */
const TAMPERED = { demls: "INVALID_SIGNATURE", openmls: "REJECTED" } as const;
/** The code each refuses a second copy of an application message with (its key is gone). */
const REPLAYED = { demls: "INVALID", openmls: "REJECTED" } as const;
/** The code each refuses a commit of a past epoch with. */
const STALE_COMMIT = { demls: "WRONG_EPOCH", openmls: "REJECTED" } as const;

function flipLastByte(message: Uint8Array): Uint8Array {
  const bad = message.slice();
  bad[bad.length - 1]! ^= 0x01;
  return bad;
}

async function refused(reader: Side, message: Uint8Array): Promise<string> {
  const before = await reader.state();
  const code = await reader
    .read(message)
    .then(() => assert.fail(`${reader.name} accepted a message it should refuse`), refusalCode);
  assert.deepEqual(await reader.state(), before, `${reader.name} changed state on a refused message`);
  return code;
}

interface Direction {
  readonly title: string;
  readonly start: () => Promise<{ creator: Side; joiner: Side; third: Side }>;
}

const directions: Direction[] = [
  {
    title: "demls creates the group and adds OpenMLS",
    start: async () => ({
      creator: await DemlsSide.start("demls-alice"),
      joiner: await OpenMlsSide.start("openmls-bob"),
      third: await DemlsSide.start("demls-carol"),
    }),
  },
  {
    title: "OpenMLS creates the group and adds demls",
    start: async () => ({
      creator: await OpenMlsSide.start("openmls-alice"),
      joiner: await DemlsSide.start("demls-bob"),
      third: await OpenMlsSide.start("openmls-carol"),
    }),
  },
];

for (const direction of directions) {
  describe(direction.title, () => {
    let creator: Side;
    let joiner: Side;
    let third: Side;
    /** Epochs at which every member's fingerprint was compared. */
    const agreedAt: bigint[] = [];

    before(async () => {
      ({ creator, joiner, third } = await direction.start());
    });
    after(async () => {
      await Promise.all([creator, joiner, third].filter(Boolean).map((s) => s.close()));
    });

    /** Every member at one epoch with one fingerprint. */
    async function agree(members: Side[]): Promise<void> {
      const states = await Promise.all(members.map((m) => m.state()));
      for (const [i, s] of states.entries())
        assert.deepEqual(s, states[0], `${members[i]!.name} disagrees with ${members[0]!.name}`);
      const rosters = await Promise.all(members.map((m) => m.members()));
      for (const r of rosters) assert.deepEqual(r, rosters[0]);
      assert.equal(rosters[0]!.length, members.length);
      agreedAt.push(states[0]!.epoch);
    }

    /** `commit` by `committer` processed by every receiver, then agreement at the new epoch. */
    async function deliverCommit(committer: Side, commit: Uint8Array, receivers: Side[]): Promise<void> {
      const { epoch } = await committer.state();
      for (const r of receivers) {
        const read = await r.read(commit);
        assert.equal(read.kind, "commit");
        assert.equal(toHex(read.sender), toHex(committer.id), `${r.name}: committer`);
        assert.equal(read.epoch, epoch, `${r.name}: epoch after the commit`);
      }
      await agree([committer, ...receivers]);
    }

    /** One application message from `from`, read by each of `to`. */
    async function chat(from: Side, to: Side[], text: string): Promise<void> {
      const { epoch } = await from.state();
      const message = await from.send(utf8(text));
      for (const r of to) {
        const read = await r.read(message);
        assert.equal(read.kind, "application");
        if (read.kind !== "application") return;
        assert.equal(new TextDecoder().decode(read.plaintext), text, `${r.name} read`);
        assert.equal(toHex(read.sender), toHex(from.id), `${r.name}: sender`);
        assert.equal(read.epoch, epoch);
      }
    }

    it("the creator adds the joiner from its KeyPackage; the joiner joins from the Welcome", async () => {
      await creator.create(utf8(`interop ${direction.title}`));
      await agree([creator]);
      const { welcome } = await creator.add(await joiner.keyPackage());
      await joiner.join(welcome);
      assert.equal((await joiner.state()).epoch, 1n);
      await agree([creator, joiner]);
    });

    it("both send application messages the other decrypts", async () => {
      await chat(creator, [joiner], `hello from ${creator.name}`);
      await chat(joiner, [creator], `hello from ${joiner.name}`);
      await chat(joiner, [creator], "");
      await chat(creator, [joiner], "x".repeat(5000));
    });

    it("messages read out of order within an epoch decrypt on both sides", async () => {
      for (const [from, to] of [
        [creator, joiner],
        [joiner, creator],
      ] as const) {
        const texts = ["one", "two", "three"].map((t) => `${t} from ${from.name}`);
        const sent: Uint8Array[] = [];
        for (const t of texts) sent.push(await from.send(utf8(t)));
        for (let i = sent.length - 1; i >= 0; i--) {
          const read = await to.read(sent[i]!);
          assert.equal(read.kind === "application" && new TextDecoder().decode(read.plaintext), texts[i]);
        }
      }
    });

    it("each commits a key refresh the other processes; the fingerprints agree at every epoch", async () => {
      await deliverCommit(joiner, await joiner.commitUpdate(), [creator]);
      await chat(creator, [joiner], "after the joiner's commit");
      await chat(joiner, [creator], "after the joiner's commit, back");
      await deliverCommit(creator, await creator.commitUpdate(), [joiner]);
      await chat(joiner, [creator], "after the creator's commit");
      await chat(creator, [joiner], "after the creator's commit, back");
      await deliverCommit(creator, await creator.commitUpdate(), [joiner]);
      await deliverCommit(joiner, await joiner.commitUpdate(), [creator]);
      assert.equal((await creator.state()).epoch, 5n);
    });

    it("a tampered application message or commit is refused; demls then reads the genuine copy", async () => {
      for (const [from, to] of [
        [creator, joiner],
        [joiner, creator],
      ] as const) {
        const message = await from.send(utf8("genuine"));
        assert.equal(await refused(to, flipLastByte(message)), TAMPERED[to.impl]);
        if (to.impl === "demls") {
          const read = await to.read(message);
          assert.equal(read.kind === "application" && new TextDecoder().decode(read.plaintext), "genuine");
          const commit = await from.commitUpdate();
          assert.equal(await refused(to, flipLastByte(commit)), TAMPERED[to.impl]);
          await deliverCommit(from, commit, [to]);
        } else {
          // OpenMLS 0.8.1 takes the message key out of the sender's ratchet before the AEAD check, so
          // the tampered copy used it up (see the last test of this file for a commit).
          await assert.rejects(to.read(message), /SecretReuseError/);
        }
      }
    });

    it("a replayed application message and a commit of a past epoch are refused", async () => {
      for (const [from, to] of [
        [creator, joiner],
        [joiner, creator],
      ] as const) {
        const message = await from.send(utf8("once"));
        await to.read(message);
        assert.equal(await refused(to, message), REPLAYED[to.impl], `${to.name} read a message twice`);
        const commit = await from.commitUpdate();
        await deliverCommit(from, commit, [to]);
        assert.equal(await refused(to, commit), STALE_COMMIT[to.impl]);
      }
    });

    it("a late application message of the previous epoch: demls reads it, OpenMLS configured as de-MLS refuses it", async () => {
      const demls = creator.impl === "demls" ? creator : joiner;
      const openmls = creator.impl === "openmls" ? creator : joiner;
      const { epoch } = await demls.state();
      const fromOpenMls = await openmls.send(utf8("sent before the commit"));
      const fromDemls = await demls.send(utf8("sent before the commit"));
      await deliverCommit(demls, await demls.commitUpdate(), [openmls]);
      const read = await demls.read(fromOpenMls);
      assert.equal(read.kind, "application");
      assert.equal(read.epoch, epoch);
      // de-MLS's OpenMLS configuration keeps no past epoch's keys (max_past_epochs 0, and de-MLS drops
      // messages of other epochs before OpenMLS sees them); demls keeps 4.
      assert.equal(await refused(openmls, fromDemls), "REJECTED");
    });

    it("the joiner adds a third member of the creator's implementation; all three agree", async () => {
      const { commit, welcome } = await joiner.add(await third.keyPackage());
      const read = await creator.read(commit);
      assert.equal(read.kind, "commit");
      await third.join(welcome);
      await agree([creator, joiner, third]);
      await chat(third, [creator, joiner], `hello from ${third.name}`);
      await chat(creator, [joiner, third], `welcome, ${third.name}`);
      await chat(joiner, [creator, third], `welcome from ${joiner.name}`);
    });

    it("every member commits once more and the three fingerprints agree after each", async () => {
      for (const committer of [third, creator, joiner]) {
        const others = [creator, joiner, third].filter((s) => s !== committer);
        await deliverCommit(committer, await committer.commitUpdate(), others);
        await chat(committer, others, `after ${committer.name}'s commit`);
      }
    });

    it("the fingerprints were compared at every epoch from 0 to the last", async () => {
      const last = (await creator.state()).epoch;
      const seen = new Set(agreedAt);
      for (let e = 0n; e <= last; e++) assert.ok(seen.has(e), `epoch ${e} not compared`);
    });
  });
}

describe("OpenMLS 0.8.1 uses up a message key on a tampered copy", () => {
  it("after a tampered commit it cannot process the genuine one and stays an epoch behind", async () => {
    const demls = await DemlsSide.start("demls-dave");
    const openmls = await OpenMlsSide.start("openmls-erin");
    try {
      await demls.create(utf8("interop tampered commit"));
      await openmls.join((await demls.add(await openmls.keyPackage())).welcome);
      const commit = await demls.commitUpdate();
      assert.equal(await refused(openmls, flipLastByte(commit)), "REJECTED");
      await assert.rejects(openmls.read(commit), /SecretReuseError/);
      assert.equal((await openmls.state()).epoch, 1n);
      assert.equal((await demls.state()).epoch, 2n);
    } finally {
      await openmls.close();
    }
  });
});
