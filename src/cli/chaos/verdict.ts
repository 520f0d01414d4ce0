// Whether a chaos run has converged, with membership churn and members dead for good (docs/chaos.md,
// "Converged"): the final roster is the roster of the one state every member in a group holds; every
// live member of it holds that state, IN_SYNC, and believes it is a member (no ghost); every live member
// outside it was allowed out (it left, or someone proposed removing it); every chat reached, exactly
// once, every final member that was in the group when it was sent. Without churn and dead members this
// is the classic check: one state, every member IN_SYNC, every chat delivered once.
import type { Cluster } from "../../node/cluster.ts";

/** What a run allows and expects beyond the classic check. */
export interface Expectations {
  /** Members that may end outside the final roster: they left, or someone proposed removing them. */
  readonly mayLeave: ReadonlySet<string>;
  /** Chat → members that were out of the group (removed) when it was sent: not expected to get it. */
  readonly outAtSend: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Member → every member it ever held a state with (on its roster at one of its epochs). A chat is owed
   * only to members that shared a state with its sender: one that never did cannot tell the sender's
   * signature from a forgery (docs/decisions.md, "A chat is owed to its sender's roster"). Absent: all.
   */
  readonly shared?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Chats sent while some member in a group no longer had their sender on its roster, that their sender
   * reported lost (`chatLost`). One of a sender out of the final roster that no other member got is not
   * owed: sent on a branch the group had removed it from, it could reach nobody, and its sender was told
   * (docs/chaos.md, "Converged"). Absent: none.
   */
  readonly lost?: ReadonlySet<string>;
}

export const NO_EXPECTATIONS: Expectations = { mayLeave: new Set(), outAtSend: new Map() };

export interface Verdict {
  readonly ok: boolean;
  /** The final roster (sorted), or undefined while the members in a group hold more than one state. */
  readonly roster: readonly string[] | undefined;
  /** Member → chats it should have and has not. */
  readonly missing: ReadonlyMap<string, string[]>;
  /** What else is wrong: ghosts, members left out, members not IN_SYNC in the final roster. */
  readonly problems: readonly string[];
}

/** The verdict on `cluster` now. */
export function verdictOf(cluster: Cluster, exp: Expectations = NO_EXPECTATIONS): Verdict {
  const live = [...cluster.members.values()];
  const inGroup = live.filter((m) => m.group.group !== undefined && !m.removed);
  const states = new Set(inGroup.map((m) => stateKey(m.group.group!)));
  const roster = states.size === 1 ? [...new Set(inGroup[0]!.roster())].sort() : undefined;
  const final = new Set(roster ?? live.map((m) => m.name));
  const problems: string[] = [];
  if (roster !== undefined) {
    for (const name of roster) {
      if (cluster.dead.has(name)) continue;
      const m = cluster.members.get(name);
      if (m === undefined) problems.push(`${name} in the roster is not running`);
      else if (m.group.group === undefined) problems.push(`${name} in the roster has no group`);
      else if (m.removed) problems.push(`ghost ${name}: in the roster, believes it is out`);
    }
    for (const m of live)
      if (!final.has(m.name) && !exp.mayLeave.has(m.name)) problems.push(`${m.name} left out of the roster`);
  }
  const missing = new Map<string, string[]>();
  for (const m of live) {
    if (!final.has(m.name)) continue;
    const got = new Set(cluster.chats.received.get(m.name) ?? []);
    const miss = [...cluster.chats.sent]
      .filter(([t, s]) => s.to.includes(m.name) && !got.has(t) && !exp.outAtSend.get(t)?.has(m.name))
      .filter(([, s]) => exp.shared === undefined || exp.shared.get(m.name)?.has(s.from) === true)
      .filter(([t, s]) => !exp.lost?.has(t) || final.has(s.from) || heardBySomeone(cluster, t, s.from))
      .filter(([t, s]) => !cluster.dead.has(s.from) || heardBySomeone(cluster, t))
      .map(([t]) => t);
    if (miss.length) missing.set(m.name, miss);
  }
  // With one state, a final member with no group or removed is among the problems already.
  const ok =
    states.size === 1 &&
    problems.length === 0 &&
    live.every((m) => !final.has(m.name) || m.sync.state.status === "IN_SYNC") &&
    missing.size === 0;
  return { ok, roster, missing, problems };
}

/** Whether a member (other than `except`) got chat `text`: it can pass it on, so it is owed to all. */
function heardBySomeone(cluster: Cluster, text: string, except?: string): boolean {
  for (const m of cluster.members.keys())
    if (m !== except && cluster.chats.received.get(m)?.includes(text)) return true;
  return false;
}

function stateKey(g: { groupId: Uint8Array; epoch: bigint; fingerprint: Uint8Array }): string {
  return `${Buffer.from(g.groupId).toString("hex")}/${g.epoch}:${Buffer.from(g.fingerprint).toString("hex")}`;
}
