// The group's memory of former members (docs/decisions.md, "Votes belong to the application"): who left
// one of our rosters, how (removed, left, its stale leaf removed for a rejoin, a reset group without it),
// under which key and when. It tells a re-admission from a new joiner, and which of our chats a member
// back in the roster must never get again: those we sent while it was out after a removal or a leave.
import { type MlsGroup, roster } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import { rosterIds } from "./core.ts";
import { PROPOSAL_LEAVE, PROPOSAL_REMOVE } from "./frames.ts";
import type { Absence, Departure, GroupCore, ProposalRecord } from "./state.ts";

/** Absences remembered per member, newest last. */
const ABSENCES_KEPT = 8;

/** The newest absence of member `id` (hex), if we remember one. */
export function lastAbsence(core: GroupCore, id: string): Absence | undefined {
  return core.state.formerMembers.get(id)?.at(-1);
}

/**
 * Members (hex) out of our roster by their own leave (a leave proposal is valid only from its target:
 * the member's own signed word) and not back since.
 */
export function leftByOwnLeave(core: GroupCore): Set<string> {
  const out = new Set<string>();
  for (const [id, absences] of core.state.formerMembers) {
    const last = absences.at(-1);
    if (last?.how === "left" && last.to === undefined) out.add(id);
  }
  return out;
}

/**
 * Whether member `id` (hex), asking for commits from `fromEpoch`, should ask to be re-added: it is out of
 * our roster, its leaf removed as stale (a rejoin), and not back; or our roster holds a leaf of it added
 * after that epoch, which it never entered (a re-add from a KeyPackage it had used up since, taking a
 * Welcome that came late: crash-steps 1771). The add must be one our current state holds: `addedAt`
 * outlives a re-alignment that stepped back past it until the next commit settles the roster.
 */
export function shouldAskBack(core: GroupCore, id: string, fromEpoch: bigint): boolean {
  const last = lastAbsence(core, id);
  if (last?.how === "rejoin" && last.to === undefined) return true;
  const added = core.state.addedAt.get(id);
  const g = core.group;
  if (added === undefined || added <= fromEpoch || g === undefined || added > g.epoch) return false;
  return rosterIds(core).some((m) => toHex(m) === id);
}

/**
 * How member `id` (hex) left in the commit we are applying, by the requests and proposals we hold. The
 * removal proposal we hold decides between a stale leaf's removal (flagged `staleLeaf`) and the group's
 * decision, even when we had the member down as asking to rejoin: one proposal id serves both, and the
 * answer to the member's removal check tells it which (`shouldAskBack`).
 */
export function departureOf(core: GroupCore, id: string): Departure {
  const s = core.state;
  let removal: ProposalRecord | undefined;
  for (const r of s.proposals.values()) {
    if (r.proposal.target === undefined || toHex(r.proposal.target) !== id) continue;
    if (r.proposal.kind === PROPOSAL_LEAVE) return "left";
    if (r.proposal.kind === PROPOSAL_REMOVE) removal = r;
  }
  if (removal !== undefined) return removal.proposal.staleLeaf === true ? "rejoin" : "removed";
  if (s.pendingRejoins.has(id)) return "rejoin";
  // Also a removal applied from a catch-up answer, whose proposal we never saw: a decision of the group.
  return "removed";
}

/** When member `id` (hex) left our roster, if it is out and not back (our clock). */
export function departedAt(core: GroupCore, id: string): number | undefined {
  const last = lastAbsence(core, id);
  return last !== undefined && last.to === undefined ? last.from : undefined;
}

/** Members of `before` that `now` does not hold left our roster at `at`, each as `how` says. */
export function recordDepartures(
  core: GroupCore,
  before: MlsGroup,
  now: ReadonlySet<string>,
  at: number,
  how: (id: string) => Departure,
): void {
  const former = core.state.formerMembers;
  for (const m of roster(before)) {
    const id = toHex(m.memberId);
    if (now.has(id)) continue;
    const list = former.get(id) ?? [];
    if (list.at(-1)?.to === undefined && list.length > 0) continue; // already out
    list.push({ how: how(id), from: at, key: m.signaturePublicKey });
    if (list.length > ABSENCES_KEPT) list.shift();
    former.delete(id); // newest last: the oldest memory goes first
    former.set(id, list);
  }
  while (former.size > core.params.formerMembersKept) former.delete(former.keys().next().value!);
}

/**
 * Members of our roster `inRoster` that we remember as out are back at `at`: through an add (`added`),
 * or with a branch or a reset group we moved to. A removal or a leave that an add reverses keeps its span
 * closed (what we sent while the member was out of our roster stays out of its reach). Back with a branch
 * or a reset group, the removal or leave was one branch's, which the group did not keep: the member
 * never left the group, so nothing is kept and it gets what we sent meanwhile. Returns the members an add
 * brought back.
 */
export function recordReturns(
  core: GroupCore,
  inRoster: ReadonlySet<string>,
  added: ReadonlySet<string>,
  at: number,
): string[] {
  const back: string[] = [];
  for (const [id, list] of core.state.formerMembers) {
    const last = list.at(-1);
    if (last === undefined || last.to !== undefined || !inRoster.has(id)) continue;
    if (added.has(id)) back.push(id);
    last.to = at;
    if (last.how === "rejoin" || last.how === "reset" || !added.has(id)) list.pop();
    if (list.length === 0) core.state.formerMembers.delete(id);
  }
  return back;
}

/**
 * Whether member `id` (hex) was out of our roster at `at` (our clock; undefined when not recorded counts
 * as out), after a removal or a leave: what we sent or read then was never its to read.
 */
export function outAt(core: GroupCore, id: string): (at: number | undefined) => boolean {
  const spans = (core.state.formerMembers.get(id) ?? [])
    .filter((a) => a.how === "removed" || a.how === "left")
    .map((a) => ({ from: a.from, to: a.to ?? Infinity }));
  if (spans.length === 0) return (at) => at === undefined;
  return (at) => at === undefined || spans.some((s) => at >= s.from && at < s.to);
}

/**
 * Whether a chat we sent at `at` (our clock; undefined when not recorded) must not go out again: a
 * member of our roster was out of it then, after a removal or a leave, and must not read it now.
 * Members back from a recovery (a rejoin, a reset) were not dropped by anyone and get what they missed.
 */
export function sentWhileOut(core: GroupCore): (at: number | undefined) => boolean {
  const spans: { from: number; to: number }[] = [];
  for (const id of rosterIds(core)) {
    for (const a of core.state.formerMembers.get(toHex(id)) ?? [])
      if (a.how === "removed" || a.how === "left") spans.push({ from: a.from, to: a.to ?? Infinity });
  }
  if (spans.length === 0) return () => false;
  return (at) => at === undefined || spans.some((s) => at >= s.from && at < s.to);
}
