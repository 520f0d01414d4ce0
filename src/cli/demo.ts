// `npm start` until the simulator-backed CLI lands: a fork-and-realign run on the MLS layer alone.
// Ten members split 6/4, each side commits its own epochs, the fingerprints show the split, and the
// minority rewinds to its retained fork-point state and takes the majority's commits.
import * as mls from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";

interface Member {
  name: string;
  identity: mls.Identity;
  group: mls.MlsGroup;
}

const short = (fp: Uint8Array) => toHex(fp).slice(0, 12);

function table(members: Member[], title: string): void {
  console.log(`\n${title}`);
  console.log("member  epoch  fingerprint   relation to m0");
  const ref = members[0]!.group;
  for (const m of members) {
    const g = m.group;
    const rel = mls.relation(ref.history, g.epoch, g.fingerprint, mls.ancestry(g.history));
    console.log(`${m.name.padEnd(7)} ${String(g.epoch).padStart(5)}  ${short(g.fingerprint)}  ${rel}`);
  }
}

async function deliver(commit: Uint8Array, to: Member[]): Promise<void> {
  for (const m of to) m.group = (await mls.processMessage(m.group, commit)).group;
}

/** Runs the demo with `n` members, `minority` of them forking, `epochs` commits per side. */
export async function runDemo(n = 10, minority = 4, epochs = 3): Promise<boolean> {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => mls.createIdentity(`m${i}`)));
  const kps = await Promise.all(ids.map((id) => mls.generateKeyPackages(id, 1)));
  let creator = await mls.createGroup(ids[0]!, new TextEncoder().encode("demo"), kps[0]![0]!);
  const added = await mls.commit(creator, { adds: kps.slice(1).map((k) => k[0]!.publicBytes) });
  creator = added.group;
  const members: Member[] = [{ name: "m0", identity: ids[0]!, group: creator }];
  for (let i = 1; i < n; i++) {
    const { group } = await mls.joinFromWelcome(ids[i]!, added.welcome!, kps[i]!);
    members.push({ name: `m${i}`, identity: ids[i]!, group });
  }
  table(members, `${n} members joined one group`);

  const major = members.slice(0, n - minority);
  const minor = members.slice(n - minority);
  const forkEpoch = members[0]!.group.epoch;
  const majorityCommits: Uint8Array[] = [];
  for (let e = 0; e < epochs; e++) {
    const [mc, mo] = [major[e % major.length]!, minor[e % minor.length]!];
    const a = await mls.commit(mc.group);
    mc.group = a.group;
    majorityCommits.push(a.commit);
    await deliver(
      a.commit,
      major.filter((m) => m !== mc),
    );
    const b = await mls.commit(mo.group);
    mo.group = b.group;
    await deliver(
      b.commit,
      minor.filter((m) => m !== mo),
    );
  }
  table(members, `partitioned ${n - minority}/${minority}; each side committed ${epochs} epochs`);

  for (const m of minor) {
    m.group = mls.rewind(m.group, forkEpoch);
    await deliver(majorityCommits[0]!, [m]);
    for (const c of majorityCommits.slice(1)) await deliver(c, [m]);
  }
  table(members, `minority rewound to epoch ${forkEpoch} (retained) and applied the majority's commits`);
  const fps = new Set(members.map((m) => toHex(m.group.fingerprint)));
  console.log(`\ndistinct states: ${fps.size} ${fps.size === 1 ? "(all in sync)" : "(still split)"}`);
  return fps.size === 1;
}
