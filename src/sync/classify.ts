// Classification (DESIGN section 4): a pure function of the views, so members that hold the same views
// reach the same verdict.
import { type EpochFingerprint, type FingerprintHistory, relation } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";

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
}

export interface ClassifyInput {
  /** Own member id (hex) and own fingerprint history (current last). */
  readonly self: string;
  readonly history: FingerprintHistory;
  readonly ancestry: readonly EpochFingerprint[];
  /** The roster the verdict is about (hex member ids). */
  readonly roster: readonly string[];
  readonly views: ReadonlyMap<string, View>;
  readonly now: number;
  /** Views older than this are ignored. */
  readonly windowMs: number;
}

const keyOf = (epoch: bigint, fp: Uint8Array) => `${epoch}:${toHex(fp)}`;

/**
 * Classifies the group from the freshest view per roster member. A state held by more than n/2 members
 * wins outright. Otherwise a branch may: a state's support counts the members on its ancestors, but only
 * the ancestry claimed by at least two members counts, so one liar cannot graft a branch onto its own claim.
 * `HARD` needs views from more than n/2 members and no state or branch above n/2; fewer views: `UNKNOWN`.
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
  if (mine !== undefined && input.roster.includes(input.self))
    add(input.self, mine.epoch, mine.fingerprint, input.ancestry);
  for (const m of [...input.roster].sort()) {
    if (m === input.self) continue;
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
  if (mine === undefined || n === 0 || reporting * 2 <= n)
    return { status: "UNKNOWN", majority: undefined, ...base };
  let majority = states.find((s) => s.members.length * 2 > n);
  if (majority === undefined) {
    // Branch support: the state plus every reported state its (multiply-claimed) ancestry names.
    let best: { s: StateGroup; support: number } | undefined;
    for (const s of states) {
      if (s.members.length < 2) continue;
      const anc = new Set(s.ancestry.map((a) => keyOf(a.epoch, a.fingerprint)));
      const support = states.reduce(
        (acc, o) => acc + (o === s || anc.has(keyOf(o.epoch, o.fingerprint)) ? o.members.length : 0),
        0,
      );
      if (
        support * 2 > n &&
        (best === undefined || support > best.support || (support === best.support && s.epoch > best.s.epoch))
      )
        best = { s, support };
    }
    majority = best?.s;
  }
  if (majority === undefined) return { status: "HARD", majority: undefined, ...base };
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
  return { status, majority, ...base };
}
