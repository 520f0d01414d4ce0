// Classification: a pure function of the views, so members that hold the same views reach the same
// verdict.
import { type EpochFingerprint, type FingerprintHistory, relation } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import { type EquivocationFork, tieBreak } from "./tie-break.ts";

export type SyncStatus = "IN_SYNC" | "BEHIND" | "AHEAD" | "FORKED" | "HARD" | "UNKNOWN";

/** The freshest claim of one member. */
export interface View {
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
  readonly ancestry: readonly EpochFingerprint[];
  readonly receivedAt: number;
}

/** One state and who is in it. */
export interface StateGroup {
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
  readonly ancestry: readonly EpochFingerprint[];
  readonly members: string[];
}

export interface Verdict {
  readonly status: SyncStatus;
  /** The state more than half of the roster holds (or whose branch they are on), if any. */
  readonly majority: StateGroup | undefined;
  /** Every state reported, most members first. */
  readonly states: StateGroup[];
  /** Roster members with a fresh view (self included). */
  readonly reporting: number;
  readonly rosterSize: number;
  /** The majority is one member's claim (a roster of 2 or 3): its commits prove no vote. */
  readonly soleClaim?: boolean;
}

export interface ClassifyInput {
  /** Own member id (hex) and own fingerprint history (current last). */
  readonly self: string;
  readonly history: FingerprintHistory;
  readonly ancestry: readonly EpochFingerprint[];
  /** The roster the verdict is about (hex member ids). */
  readonly roster: readonly string[];
  readonly views: ReadonlyMap<string, View>;
  /**
   * Roster members not heard from for long (docs/sync.md, "Long-silent members"): up to ⌊(n − 1)/3⌋ of
   * them (with the lone claims) are left out of the count. Absent: none.
   */
  readonly gone?: ReadonlySet<string>;
  /**
   * Roster members proven to equivocate (src/group/equivocation.ts): their views are ignored and, with
   * the long-silent ones, up to ⌊(n − 1)/3⌋ of them leave the count. Absent: none.
   */
  readonly excluded?: ReadonlySet<string>;
  /**
   * The forks of equivocations this member verified itself: when the reports split between the two
   * branches of one with no majority, the branch of the lower-hash commit wins (tie-break.ts). Absent:
   * none.
   */
  readonly forks?: readonly EquivocationFork[];
  readonly now: number;
  /** Views older than this are ignored. */
  readonly windowMs: number;
}

const keyOf = (epoch: bigint, fp: Uint8Array) => `${epoch}:${toHex(fp)}`;

/**
 * The states each view shows its member at or past: its own and its ancestry's (derived, not state; a
 * view is never changed once made). Asked for every roster member and every history entry on each tick.
 */
const confirmed = new WeakMap<View, Set<string>>();

function confirmedBy(v: View): Set<string> {
  let keys = confirmed.get(v);
  if (keys === undefined) {
    keys = new Set([keyOf(v.epoch, v.fingerprint), ...v.ancestry.map((a) => keyOf(a.epoch, a.fingerprint))]);
    confirmed.set(v, keys);
  }
  return keys;
}

/**
 * The last agreed roster: walking our history forward from its oldest known roster, a state counts as
 * agreed when more than half of the previously agreed roster is at it or past it; the roster of the
 * newest agreed state is returned. Members that only one branch added never decide
 * whether that branch is the majority. `rosterAt` should return one array for equal rosters (faster).
 */
export function agreedRoster(
  self: string,
  history: FingerprintHistory,
  rosterAt: (fingerprintHex: string) => readonly string[] | undefined,
  views: ReadonlyMap<string, View>,
  now: number,
  windowMs: number,
): string[] {
  let agreed: readonly string[] | undefined;
  for (const h of history) {
    const r = rosterAt(toHex(h.fingerprint));
    if (r === undefined) continue;
    // The same roster (the caller hands out one array for equal rosters): agreed or not, it stays. Epochs
    // without membership changes, the common case, cost no count.
    if (agreed === undefined || r === agreed) {
      agreed = r;
      continue;
    }
    const k = keyOf(h.epoch, h.fingerprint);
    let yes = 0;
    for (const m of agreed) {
      if (m === self) {
        yes++;
        continue;
      }
      const v = views.get(m);
      if (v && now - v.receivedAt <= windowMs && confirmedBy(v).has(k)) yes++;
    }
    if (yes * 2 > agreed.length) agreed = r;
  }
  return [...(agreed ?? [])];
}

/** Members at the other reported states that `s`'s ancestry names: its branch below it. */
function named(s: StateGroup, states: readonly StateGroup[]): number {
  const anc = new Set(s.ancestry.map((a) => keyOf(a.epoch, a.fingerprint)));
  return states.reduce(
    (acc, o) => acc + (o !== s && anc.has(keyOf(o.epoch, o.fingerprint)) ? o.members.length : 0),
    0,
  );
}

/** The best state or branch above `n / 2` among `states`: a state alone, or with the states it names. */
function majorityOf(states: readonly StateGroup[], n: number): StateGroup | undefined {
  const alone = states.find((s) => s.members.length * 2 > n);
  if (alone !== undefined) return alone;
  // Branch support: the state plus every reported state its (multiply-claimed) ancestry names.
  let best: { s: StateGroup; support: number } | undefined;
  for (const s of states) {
    if (s.members.length < 2) continue;
    const support = s.members.length + named(s, states);
    if (
      support * 2 > n &&
      (best === undefined || support > best.support || (support === best.support && s.epoch > best.s.epoch))
    )
      best = { s, support };
  }
  return best?.s;
}

/**
 * In a roster of at most 3, where no member is tolerated as faulty (⌊(n − 1)/3⌋ = 0), with every member
 * reporting: the state, claimed by a single member, whose branch (it and the states it names) holds more
 * than `n / 2` and names every other such state (the tip of one chain). A member one commit ahead of
 * the other in a group of two is the branch both are on, not a split into a reset: the reset group whose
 * operator added two rejoined members at its second epoch, while its only other first member had not
 * applied it yet, went `HARD` on both sides for good (chaos churn 1576). States on two branches make
 * none. The claim proves no vote: catch-up to it applies only changes our own tally approved.
 */
function soleBranch(states: readonly StateGroup[], n: number): StateGroup | undefined {
  const over = states.filter((s) => s.members.length === 1 && (1 + named(s, states)) * 2 > n);
  const namesAll = (s: StateGroup) => {
    const anc = new Set(s.ancestry.map((a) => keyOf(a.epoch, a.fingerprint)));
    return over.every((o) => o === s || anc.has(keyOf(o.epoch, o.fingerprint)));
  };
  const tips = over.filter(namesAll);
  return tips.length === 1 ? tips[0] : undefined;
}

/**
 * Lone claims (docs/sync.md, "Lone claims"): states one member claims that no other reported state
 * names as its ancestor. A liar's made-up state is one; so is a member alone on a commit of its own. When
 * there are at most `budget` of them (⌊(n − 1)/3⌋, the faulty members de-MLS tolerates, less the
 * long-silent members already left out), a majority is sought among the others as if their claimers
 * were not on the roster: one member cannot turn the majority of the rest into no majority (a realign
 * into a reset) by claiming a state nobody else holds. More lone claims than that are not explained by
 * liars, and count as they are.
 */
function loneClaims(states: readonly StateGroup[], budget: number): StateGroup[] {
  const lone = loneStates(states);
  return lone.length <= budget ? lone : [];
}

/** Members de-MLS tolerates as faulty among `n`: ⌊(n − 1)/3⌋, the most the count may leave out. */
const faultBound = (n: number) => Math.floor((n - 1) / 3);

/** States one member claims that no other reported state names as its ancestor. */
function loneStates(states: readonly StateGroup[]): StateGroup[] {
  const namedKeys = new Set(states.flatMap((s) => s.ancestry.map((a) => keyOf(a.epoch, a.fingerprint))));
  return states.filter((s) => s.members.length === 1 && !namedKeys.has(keyOf(s.epoch, s.fingerprint)));
}

/**
 * Classifies the group from the freshest view per roster member. A state held by more than n/2 members
 * wins outright. Otherwise a branch may: a state's support counts the members on its ancestors, but only
 * the ancestry claimed by at least two members counts, so one liar cannot graft a branch onto its own claim;
 * and a few lone claims (see {@link loneClaims}) do not stand in the way of the majority of the rest.
 * `HARD` needs no state or branch above n/2 even if every member not heard from joined it; until then, and
 * with views from n/2 members or fewer, `UNKNOWN`.
 */
export function classify(input: ClassifyInput): Verdict {
  const n = input.roster.length;
  const mine = input.history.at(-1);
  const groups = new Map<string, StateGroup>();
  const add = (
    member: string,
    epoch: bigint,
    fingerprint: Uint8Array,
    ancestry: readonly EpochFingerprint[],
  ) => {
    const k = keyOf(epoch, fingerprint);
    const g = groups.get(k);
    if (g) g.members.push(member);
    else groups.set(k, { epoch, fingerprint, ancestry, members: [member] });
  };
  const bound = faultBound(n);
  const out = new Set(input.roster.filter((m) => m !== input.self && input.excluded?.has(m)).slice(0, bound));
  if (mine !== undefined && input.roster.includes(input.self))
    add(input.self, mine.epoch, mine.fingerprint, input.ancestry);
  for (const m of [...input.roster].sort()) {
    if (m === input.self || out.has(m)) continue;
    const v = input.views.get(m);
    if (v === undefined || input.now - v.receivedAt > input.windowMs) continue;
    add(m, v.epoch, v.fingerprint, v.ancestry);
  }
  const states = [...groups.values()].sort(
    (a, b) =>
      b.members.length - a.members.length ||
      (a.epoch === b.epoch
        ? keyOf(a.epoch, a.fingerprint).localeCompare(keyOf(b.epoch, b.fingerprint))
        : a.epoch > b.epoch
          ? -1
          : 1),
  );
  for (const s of states) s.members.sort();
  const reporting = states.reduce((a, s) => a + s.members.length, 0);
  const base = { states, reporting, rosterSize: n };
  // Long-silent members (not reporting now) leave the count, at most the fault bound of them.
  const heard = new Set(states.flatMap((s) => s.members));
  const goneCount = input.roster.filter((m) => input.gone?.has(m) && !heard.has(m) && !out.has(m)).length;
  const gone = out.size + (out.size + goneCount <= bound ? goneCount : 0);
  const live = n - gone;
  if (mine === undefined || n === 0 || reporting * 2 <= live)
    return { status: "UNKNOWN", majority: undefined, ...base };
  let majority = majorityOf(states, live);
  if (majority === undefined) {
    const lone = loneClaims(states, faultBound(n) - gone);
    if (lone.length > 0)
      majority = majorityOf(
        states.filter((s) => !lone.includes(s)),
        live - lone.length,
      );
  }
  let soleClaim = false;
  if (majority === undefined && faultBound(n) === 0 && reporting === live) {
    majority = soleBranch(states, live);
    soleClaim = majority !== undefined;
  }
  if (majority === undefined) {
    // No majority among the reports. HARD only if the members not heard from could not make one either:
    // each may join any state (a state with two claimers has its ancestry counted), and a state new to us
    // on a chain names, within the dense ancestry, every reported state below it, so no honest completion
    // gives a branch more than this bound. Otherwise wait: a heal's views arrive over a heartbeat.
    // A silent member may also report a lone claim of its own, which takes it off the count (at most
    // ⌊(n − 1)/3⌋ lone claims in all): j of them join the state, the rest claim alone.
    const silent = live - reporting;
    const bound = faultBound(n) - gone;
    const lone = loneStates(states);
    const couldWin = states.some((s) => {
      const otherLone = lone.filter((l) => l !== s).length;
      for (let j = silent; j >= 0; j--) {
        const k = s.members.length + j;
        const excluded = silent > 0 ? Math.min(bound, otherLone + silent - j) : 0;
        if ((k + (k >= 2 ? named(s, states) : 0)) * 2 > live - excluded) return true;
      }
      return false;
    });
    if (couldWin) return { status: "UNKNOWN", majority: undefined, ...base };
    // Final: no completion gives a majority. Split between the two branches of a proven equivocation,
    // the lower-hash commit's branch wins instead of a reset; lone claims (within the fault bound) do not
    // count, so a second liar cannot keep the tie-break off with a made-up state.
    const liars = loneClaims(states, bound);
    majority = tieBreak(
      states.filter((s) => !liars.includes(s)),
      input.forks,
    );
    if (majority === undefined) return { status: "HARD", majority: undefined, ...base };
  }
  // The target is the tip of the majority's branch: the newest state (held by at least two members) that
  // names the majority state in its ancestry. Members on older states of that branch are behind it.
  const majKey = keyOf(majority.epoch, majority.fingerprint);
  let tip = majority;
  for (const s of states)
    if (
      s.members.length >= 2 &&
      s.epoch > tip.epoch &&
      s.ancestry.some((a) => keyOf(a.epoch, a.fingerprint) === majKey)
    )
      tip = s;
  majority = tip;
  const rel = relation(input.history, majority.epoch, majority.fingerprint, majority.ancestry);
  const status: SyncStatus =
    rel === "SAME"
      ? "IN_SYNC"
      : rel === "I_AM_AHEAD"
        ? "AHEAD"
        : rel === "FORKED"
          ? "FORKED"
          : majority.epoch > mine.epoch
            ? "BEHIND"
            : "FORKED";
  return { status, majority, ...base, ...(soleClaim ? { soleClaim } : {}) };
}
