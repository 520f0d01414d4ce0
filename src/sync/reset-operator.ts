// The operator's part of a hard reset: building the new group from the votes and the KeyPackage store,
// and Welcoming everyone into it.
import { createGroup, generateKeyPackages, commit as mlsCommit } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { afterReset } from "./reset-join.ts";
import { chooseParentKey } from "./reset-parent-key.ts";
import { sendWelcome, signWelcome, welcomeOf } from "./reset-welcome.ts";
import { keyIdOf } from "./seal.ts";
import type { ResetRound } from "./state.ts";
import { agreedRosterOf } from "./verdict.ts";

/**
 * As operator: a new group with every voter, from the KeyPackages their votes carry, and every other
 * member of the proposal's roster and of our group's last agreed roster still on ours, from the
 * KeyPackage store (its last-resort KeyPackage: competing operators may both use it). A member only our
 * side of a split added is left out: members of the other side never saw it and would refuse the group
 * (`RESET_UNBOUND_LEAF`); it follows the reset and asks to be added (docs/decisions.md, "Every leaf of a
 * reset group is a member we knew"). The new group's sync key is chained from the old group's key every
 * voter holds (`chooseParentKey`); the Welcome names it, signed, and goes under it and every key we seal
 * under.
 */
export async function operate(ctx: SyncContext, r: ResetRound, now: number): Promise<SyncEffect[]> {
  const port = ctx.port;
  const old = port.group!;
  const me = toHex(port.memberId);
  const [mine] = await generateKeyPackages(port.identity, 1);
  let group = await createGroup(port.identity, r.groupId, mine!);
  // Everyone who voted comes along (a NO voter is bound by the decision too): no member is orphaned.
  const adds = [...r.votes].filter(([w, v]) => w !== me && v.keyPackage).map(([, v]) => v.keyPackage!);
  // The agreed roster as far as our own roster still has it: a member our branch removed since (a vote
  // the split kept from the others) is not brought back from the store.
  const current = new Set(port.rosterIds().map(toHex));
  const agreed = agreedRosterOf(ctx, old, now).filter((m) => current.has(m));
  const others = new Set([...r.proposal.roster.map(toHex), ...agreed]);
  for (const id of others) {
    if (id === me || r.votes.get(id)?.keyPackage) continue;
    const stored = port.keyPackageSet(id);
    if (stored) adds.push(stored.lastResort);
  }
  const built = await mlsCommit(group, { adds });
  group = built.group;
  r.done = true;
  r.joinedVia = me;
  ctx.state.joinedRound = r;
  const out: SyncEffect[] = [];
  const parentKey = chooseParentKey(ctx, r);
  if (built.welcome) {
    const signed = await signWelcome(port.identity, welcomeOf(ctx, r, built.welcome, keyIdOf(parentKey)));
    out.push(...sendWelcome(ctx, r, signed, parentKey, now));
  }
  out.push(...(await afterReset(ctx, group, old.groupId, parentKey, now)));
  return out;
}
