// A hard reset round: with no majority state, a member proposes a reset of the group, every member votes
// (YES unless it is in sync with a majority) with a fresh KeyPackage, and once the vote window closes on a
// YES decision the operators take their turns, best-ranked first.
import { sha256 } from "@noble/hashes/sha2.js";
import { decide } from "../group/consensus.ts";
import { generateKeyPackages, readKeyPackage, sign, verify } from "../mls/index.ts";
import { aheadOfClock } from "../util/bounds.ts";
import { bytesEqual, fromHex, toHex } from "../util/bytes.ts";
import { count, drop, publish, sealingKeys } from "./channel.ts";
import type { Verdict } from "./classify.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { operators, resetGroupId, resetProposalId } from "./reset-ids.ts";
import { operate } from "./reset-operator.ts";
import { noteVoteKey } from "./reset-parent-key.ts";
import { acceptableVoters } from "./reset-proof.ts";
import { repeatWelcome } from "./reset-welcome.ts";
import type { ResetRound, RoundVote } from "./state.ts";
import { type ResetProposal, type ResetVote, resetBody, resetVoteBody, type SyncPayload } from "./wire.ts";

/** When the running round next has something to do (vote close, an operator's turn, a repeat). */
export function nextWake(ctx: SyncContext): number {
  const r = ctx.state.reset;
  const p = ctx.params;
  if (!r) return Number.POSITIVE_INFINITY;
  const j = ctx.state.joinedRound;
  const repeat = (j !== r ? j?.repeat?.repeatAt : undefined) ?? Number.POSITIVE_INFINITY;
  if (r.done) return Math.min(repeat, r.repeat?.repeatAt ?? Number.POSITIVE_INFINITY);
  const closes = r.startedAt + p.resetVoteTimeoutMs;
  const turns =
    r.decidedAt === undefined
      ? 0
      : Math.max(0, Math.floor((r.decidedAt - closes) / p.resetOperatorTimeoutMs) + 1);
  return Math.min(repeat, closes + turns * p.resetOperatorTimeoutMs);
}

/**
 * Whether a lasting HARD may start a round: none about our group yet, or the last one is over (decided
 * NO, or decided YES and never delivered) and we are still in that group.
 */
export function mayPropose(ctx: SyncContext): boolean {
  const r = ctx.state.reset;
  const g = ctx.port.group;
  return (
    g !== undefined &&
    (r === undefined || r.done || !bytesEqual(r.proposal.oldGroupId!, g.groupId)) &&
    !rateLimited(ctx, toHex(ctx.port.memberId))
  );
}

/**
 * Whether `proposer` (hex id) started `resetProposalsPerEpoch` rounds here in our current epoch already.
 * Honest rounds follow one another (a new attempt only once the last is over) and many members propose
 * each attempt (the first copy that arrives starts it), so a limit per proposer delays no honest round;
 * it stops one member from making every member generate a KeyPackage, sign and send a vote per message.
 */
function rateLimited(ctx: SyncContext, proposer: string): boolean {
  const g = ctx.port.group!;
  const s = ctx.volatile.resetsStarted.get(proposer);
  return (
    s !== undefined &&
    s.groupId === toHex(g.groupId) &&
    s.epoch === g.epoch &&
    s.rounds >= ctx.params.resetProposalsPerEpoch
  );
}

/** Counts a round `proposer` (hex id) started in our current epoch. */
function countStarted(ctx: SyncContext, proposer: string): void {
  const g = ctx.port.group!;
  const gid = toHex(g.groupId);
  const s = ctx.volatile.resetsStarted.get(proposer);
  const same = s !== undefined && s.groupId === gid && s.epoch === g.epoch;
  ctx.volatile.resetsStarted.set(proposer, { groupId: gid, epoch: g.epoch, rounds: same ? s.rounds + 1 : 1 });
}

/**
 * Proposes a reset of the group (and votes on it ourselves), as the next attempt after a round of our
 * group that is over. The roster is every member the verdict heard from.
 */
export async function propose(ctx: SyncContext, v: Verdict, now: number): Promise<SyncEffect[]> {
  const port = ctx.port;
  const g = port.group!;
  const r = ctx.state.reset;
  const attempt = r && bytesEqual(r.proposal.oldGroupId!, g.groupId) ? r.proposal.attempt! + 1n : 0n;
  const proposal: ResetProposal = {
    oldGroupId: g.groupId,
    attempt,
    proposer: port.memberId,
    roster: [...new Set(v.states.flatMap((s) => s.members))].sort().map(fromHex),
  };
  const signed = { ...proposal, signature: await sign(port.identity, "reset", resetBody(proposal)) };
  const out: SyncEffect[] = publishAll(ctx, { reset: signed });
  out.push(...(await onProposal(ctx, signed, now)));
  return out;
}

/**
 * A reset proposal for our group: vote YES unless we are in sync with a majority; our vote carries a
 * fresh KeyPackage. A later attempt replaces an earlier one.
 */
export async function onProposal(ctx: SyncContext, p: ResetProposal, now: number): Promise<SyncEffect[]> {
  const { port, state } = ctx;
  const g = port.group;
  if (!g) return [];
  if (!p.oldGroupId || !p.proposer || !p.signature || p.attempt === undefined) return drop(ctx, "MALFORMED");
  if (!bytesEqual(p.oldGroupId, g.groupId)) return [];
  // Honest attempts count rounds from 0, one per round of seconds: never ahead of a clock. Bounded by our
  // own clock, not by the last attempt we heard, so one member can neither push the counter out of range
  // nor set members apart (docs/decisions.md, "Peer integers").
  if (aheadOfClock(p.attempt, now)) return drop(ctx, "OUT_OF_RANGE");
  const proposer = toHex(p.proposer);
  const key = state.directory.get(proposer);
  if (key === undefined) return drop(ctx, "UNKNOWN_MEMBER");
  // An attempt we know already (another proposer's copy of it, or an old one): nothing to start.
  const r = state.reset;
  if (r && bytesEqual(r.proposal.oldGroupId!, g.groupId) && p.attempt <= r.proposal.attempt!) return [];
  // Before any signature check, KeyPackage or vote: only verified rounds were counted, so a forger
  // cannot use up another member's rounds.
  if (rateLimited(ctx, proposer)) return drop(ctx, "RESET_RATE_LIMITED");
  if (!(await verify(key, "reset", resetBody(p), p.signature))) return drop(ctx, "INVALID_SIGNATURE");
  // The roster sets how many votes decide (see acceptableVoters).
  if (!acceptableVoters(ctx, p.roster)) return drop(ctx, "RESET_BAD_ROSTER");
  const parentKey = port.syncKey;
  if (parentKey === undefined) return drop(ctx, "NO_SYNC_KEY");
  countStarted(ctx, proposer);
  const id = resetProposalId(p.oldGroupId, p.attempt);
  const yes = state.status !== "IN_SYNC";
  const kps = await generateKeyPackages(port.identity, 1);
  // An earlier attempt's operator may have built its group from our vote there, and a competing operator
  // of the round that made our group may still Welcome us with it: keep those KeyPackages.
  const earlier =
    r && (bytesEqual(r.proposal.oldGroupId!, g.groupId) || bytesEqual(r.groupId, g.groupId))
      ? r.myKeyPackages
      : [];
  state.reset = {
    proposal: p,
    id,
    groupId: resetGroupId(p.oldGroupId),
    parentKey,
    startedAt: now,
    votes: new Map(),
    voteKeys: new Map(),
    myKeyPackages: [...kps, ...earlier].slice(0, ctx.params.resetKeyPackagesKept),
    done: false,
  };
  // Not among the expected voters (the proposer did not hear us): the others drop our vote, and a
  // certificate carrying it would be refused, so we do not vote. The operator adds us from the KeyPackage
  // store, and we join the round's group by its Welcome as any member does.
  if (!p.roster.some((m) => bytesEqual(m, port.memberId))) {
    count(ctx, "RESET_UNEXPECTED_VOTER");
    return [];
  }
  const vote: ResetVote = {
    proposalId: id,
    voter: port.memberId,
    yes,
    keyPackage: kps[0]!.publicBytes,
  };
  const signed = {
    ...vote,
    signature: await sign(port.identity, "reset-vote", resetVoteBody(vote)),
  };
  state.reset.votes.set(toHex(port.memberId), roundVote(signed));
  return publishAll(ctx, { resetVote: signed });
}

/**
 * Reset traffic goes under every key we seal under (all previous keys while out of sync): the sides of
 * a split whose removals rotated their keys apart read each other's rounds only under a key from before.
 */
function publishAll(ctx: SyncContext, payload: SyncPayload): SyncEffect[] {
  return sealingKeys(ctx, []).map((k) => publish(ctx, payload, k));
}

/**
 * A vote in the running round, opened under sync key `under`: checked, tallied, and the round moves on if
 * that decides it. Copies of one vote under other keys only note the key.
 */
export async function onVote(
  ctx: SyncContext,
  v: ResetVote,
  now: number,
  under: Uint8Array,
): Promise<SyncEffect[]> {
  const state = ctx.state;
  const r = state.reset;
  if (!v.proposalId || !v.voter || !v.signature) return drop(ctx, "MALFORMED");
  if (!r || !bytesEqual(r.id, v.proposalId)) return [];
  const who = toHex(v.voter);
  const key = state.directory.get(who);
  if (key === undefined) return drop(ctx, "UNKNOWN_MEMBER");
  // Only the proposal's roster votes: a certificate with any other voter is refused by every member
  // (`RESET_FORGED_VOTE`), so one stray vote (a member the proposer did not hear, a removed member still
  // reading an old key) would sink every operator's Welcome of the round.
  if (!r.proposal.roster.some((m) => toHex(m) === who)) return drop(ctx, "RESET_UNEXPECTED_VOTER");
  const had = r.votes.get(who);
  // The same signed vote under another key (the voter seals under every key it holds): only the key counts.
  if (had?.signature !== undefined && bytesEqual(had.signature, v.signature)) {
    noteVoteKey(r, who, under);
    return [];
  }
  if (!(await verify(key, "reset-vote", resetVoteBody(v), v.signature)))
    return drop(ctx, "INVALID_SIGNATURE");
  if (had !== undefined) return drop(ctx, "DOUBLE_VOTE");
  noteVoteKey(r, who, under);
  if (v.keyPackage) {
    const kp = await readKeyPackage(v.keyPackage).catch(() => undefined);
    if (!kp || !bytesEqual(kp.memberId, v.voter)) return drop(ctx, "BAD_KEY_PACKAGE");
  }
  r.votes.set(who, roundVote(v));
  return tick(ctx, now);
}

/** A checked vote as the round keeps it: its choice, KeyPackage, and what a certificate carries of it. */
function roundVote(v: ResetVote): RoundVote {
  return {
    yes: v.yes ?? false,
    ...(v.keyPackage ? { keyPackage: v.keyPackage, keyPackageHash: sha256(v.keyPackage) } : {}),
    ...(v.signature ? { signature: v.signature } : {}),
  };
}

/** The decision and, once the vote window closed, the operator's turn (with fail-over). */
export async function tick(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const r = ctx.state.reset;
  if (!r) return [];
  // As operator of the group we are in, while a later round (a reset of it) runs: our Welcome's repeats.
  const j = ctx.state.joinedRound;
  const ours = j !== undefined && j !== r ? repeatWelcome(ctx, j, now) : [];
  if (r.done) return [...ours, ...repeatWelcome(ctx, r, now)];
  return [...ours, ...(await roundTick(ctx, r, now))];
}

/** Round `r` running: its decision and, once the vote window closed, the operator's turn. */
async function roundTick(ctx: SyncContext, r: ResetRound, now: number): Promise<SyncEffect[]> {
  const p = ctx.params;
  if (r.decidedAt === undefined) {
    const n = r.proposal.roster.length;
    const yes = [...r.votes.values()].filter((v) => v.yes).length;
    const d = decide(n, yes, r.votes.size - yes, now >= r.startedAt + p.resetVoteTimeoutMs, false);
    if (d === "PENDING") return [];
    if (d === "NO") {
      r.done = true;
      return [];
    }
    r.decidedAt = now;
  }
  // The operator acts once the vote window has closed, so every member ranks the same YES set.
  const closesAt = r.startedAt + p.resetVoteTimeoutMs;
  if (now < closesAt) return [];
  const ops = operators(ctx, r);
  const turn = Math.floor((now - closesAt) / p.resetOperatorTimeoutMs);
  // Every operator's turn passed and no Welcome reached us: the round failed here, and a lasting HARD
  // may try again (the groups it makes have the same id as any that did get built).
  if (turn > ops.length) {
    r.done = true;
    count(ctx, "RESET_UNDELIVERED");
    return [];
  }
  const me = toHex(ctx.port.memberId);
  // In a group of the round already (added to it after a rejoin, say): the round is over for us; building
  // another group of its id would compete with the one we are in.
  const g = ctx.port.group;
  if (g !== undefined && bytesEqual(g.groupId, r.groupId)) {
    r.done = true;
    return [];
  }
  // Not in a group any more (we asked to be added to one): there is nothing of ours to reset.
  if (ops[turn % Math.max(1, ops.length)] !== me || g === undefined) return [];
  return operate(ctx, r, now);
}
