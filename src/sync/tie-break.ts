// The tie-break after a proven equivocation (docs/decisions.md, "Equivocation: the lower hash breaks an
// even split"): when no branch holds a majority and every reported state is on one of the two branches of
// an equivocation this member verified itself, the branch of the commit with the lower hash wins. Pure;
// `classify` asks it only where the verdict would otherwise be HARD, so it never overrides a majority, and
// a member without the evidence never applies it.
import type { EpochFingerprint } from "../mls/index.ts";
import { bytesEqual } from "../util/bytes.ts";

/**
 * The two states an equivocation's commits lead to, as the member that verified the evidence computed
 * them: both commits processed at its own state at the equivocated epoch.
 */
export interface EquivocationFork {
  /** The epoch the two commits lead to (the equivocated epoch + 1). */
  readonly epoch: bigint;
  /** The fingerprint the commit with the lower hash (SHA-256 of the message) leads to: its branch wins. */
  readonly winner: Uint8Array;
  /** The fingerprint the other commit leads to. */
  readonly loser: Uint8Array;
}

/** A reported state and who is in it (`StateGroup` of classify.ts). */
interface BranchState {
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
  readonly ancestry: readonly EpochFingerprint[];
  readonly members: readonly string[];
}

/** Whether state `s` is at `fingerprint` at `epoch` or past it (its ancestry names it). */
function onBranch(s: BranchState, epoch: bigint, fingerprint: Uint8Array): boolean {
  if (s.epoch === epoch) return bytesEqual(s.fingerprint, fingerprint);
  return s.ancestry.some((a) => a.epoch === epoch && bytesEqual(a.fingerprint, fingerprint));
}

/**
 * The state the group converges on when `states` (no majority among them) are split between the two
 * branches of one of `forks`, each branch held by someone and no state elsewhere: the winning branch's
 * state held by the most members (the newest on a tie). Undefined when no fork explains the split: any
 * other fork stays the majority rule's (and a reset's) business.
 */
export function tieBreak<S extends BranchState>(
  states: readonly S[],
  forks: readonly EquivocationFork[] | undefined,
): S | undefined {
  for (const f of forks ?? []) {
    const won = states.filter((s) => onBranch(s, f.epoch, f.winner));
    const lost = states.filter((s) => onBranch(s, f.epoch, f.loser));
    if (won.length === 0 || lost.length === 0 || won.length + lost.length !== states.length) continue;
    return won.reduce((best, s) =>
      s.members.length > best.members.length ||
      (s.members.length === best.members.length && s.epoch > best.epoch)
        ? s
        : best,
    );
  }
  return undefined;
}
