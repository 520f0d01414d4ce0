// What the fault classes other than churn add to a schedule: duplication and reordering, one-way cuts,
// members dead for good, crashes at a step, and the size of large groups. Each draws from its own stream.
import { SeededRng } from "../../net/sim/prng.ts";
import { addJoiner } from "./churn.ts";
import { CLASS_SALT, type FaultClass } from "./classes.ts";
import type { ChaosSchedule, DeadMember, OneWayFault, StepCrash, StepTrigger } from "./types.ts";
import { memberNames } from "./types.ts";

/** The stream a class draws from for a seed. */
export function classRng(seed: number, c: FaultClass): SeededRng {
  return new SeededRng((seed ^ CLASS_SALT[c]) >>> 0);
}

/** `lo`..`hi`, uniform. */
export function intOf(rng: SeededRng): (lo: number, hi: number) => number {
  return (lo, hi) => lo + rng.int(hi - lo + 1);
}

/**
 * A large group for half of the seeds: 17-40 members, most near the low end (the cost of a run grows
 * with n^2: every member classifies every other's views), the classic size otherwise.
 */
export function drawSize(rng: SeededRng, classic: number): number {
  if (rng.next() < 0.5) return classic;
  const u = rng.next();
  return 17 + Math.floor(24 * u * u);
}

/** Duplication (5-30%, a copy up to 3 s later) and reordering (10-50% held back 0.2-3 s), or one of them. */
export function addDupReorder(s: ChaosSchedule, rng: SeededRng): ChaosSchedule {
  const r = rng.next();
  const dup = r < 0.8 ? Math.round(5 + rng.next() * 25) / 100 : 0;
  const reorder = r >= 0.2 ? Math.round(10 + rng.next() * 40) / 100 : 0;
  return {
    ...s,
    linkFaults: {
      duplicate: dup,
      duplicateWithinMs: dup > 0 ? 3_000 : 0,
      reorder,
      reorderMinMs: reorder > 0 ? 200 : 0,
      reorderMaxMs: reorder > 0 ? 3_000 : 0,
    },
  };
}

/** 1-3 one-way cuts before the last heal, each 2-15 s (cut short at the last heal). */
export function addOneWay(s: ChaosSchedule, rng: SeededRng): ChaosSchedule {
  const int = intOf(rng);
  const names = memberNames(s);
  const pick = () => names[rng.int(names.length)]!;
  const cuts: OneWayFault[] = [];
  for (let c = int(1, 3); c > 0; c--) {
    const atMs = int(0, Math.max(0, s.healAtMs - 1_000));
    const durationMs = Math.min(int(2_000, 15_000), s.healAtMs - atMs);
    const who = pick();
    const others = names.filter((n) => n !== who);
    const r = rng.next();
    if (r < 0.3)
      cuts.push({ kind: "link", from: [who], to: [others[rng.int(others.length)]!], atMs, durationMs });
    else if (r < 0.55) cuts.push({ kind: "deaf", from: others, to: [who], atMs, durationMs });
    else if (r < 0.8) cuts.push({ kind: "mute", from: [who], to: others, atMs, durationMs });
    else {
      const shuffled = shuffle(names, rng);
      const k = 1 + rng.int(names.length - 1);
      cuts.push({ kind: "half", from: shuffled.slice(0, k), to: shuffled.slice(k), atMs, durationMs });
    }
  }
  return { ...s, oneWay: cuts.sort((a, b) => a.atMs - b.atMs) };
}

/**
 * One member (two in groups of 12 or more) crashed for good, never the classic crash's: before the
 * first split (30%) or at a random time before the last heal. More than half stay alive.
 */
export function addDead(s: ChaosSchedule, rng: SeededRng): ChaosSchedule {
  const int = intOf(rng);
  const candidates = shuffle(
    memberNames(s).filter((n) => n !== s.crash?.name),
    rng,
  );
  const dead: DeadMember[] = candidates
    .slice(0, s.members >= 12 ? int(1, 2) : 1)
    .map((name) => ({ name, atMs: rng.next() < 0.3 ? 0 : int(0, s.healAtMs) }));
  return { ...s, dead: dead.sort((a, b) => a.atMs - b.atMs) };
}

const TRIGGERS: readonly StepTrigger[] = ["time", "joined", "epoch", "decided", "hard"];

/**
 * 1-2 members (never the classic crash's or a dead one) crash at a step: within 0-25 inputs of a time or
 * of their first event of a kind (joined: a reset or a rejoin; a new epoch; a decided proposal, when a
 * commit follows; HARD, when a reset round follows), down 0.5-8 s. Half of the seeds also add a joiner
 * that crashes within 0-15 inputs of joining.
 */
export function addCrashSteps(s: ChaosSchedule, rng: SeededRng): ChaosSchedule {
  const int = intOf(rng);
  const taken = new Set([s.crash?.name, ...(s.dead ?? []).map((d) => d.name)]);
  const candidates = shuffle(
    memberNames(s).filter((n) => !taken.has(n)),
    rng,
  );
  const crashes: StepCrash[] = candidates.slice(0, int(1, 2)).map((name) => ({
    name,
    after: TRIGGERS[rng.int(TRIGGERS.length)]!,
    fromMs: int(0, s.healAtMs),
    inputs: int(0, 25),
    downMs: int(500, 8_000),
  }));
  let out: ChaosSchedule = s;
  if (rng.next() < 0.5) {
    const atMs = int(0, s.healAtMs);
    const added = addJoiner(out, atMs, rng);
    out = added.schedule;
    crashes.push({
      name: added.name,
      after: "joined",
      fromMs: atMs,
      inputs: int(0, 15),
      downMs: int(500, 8_000),
    });
  }
  return { ...out, stepCrashes: crashes };
}

/** A shuffled copy (Fisher-Yates). */
export function shuffle<T>(items: readonly T[], rng: SeededRng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
