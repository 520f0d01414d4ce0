// A chaos schedule: what happens to a group when, a pure function of its seed and of the fault classes
// asked for. The classic schedule (no class: splits, loss, a crash, chats) draws exactly what it drew
// before the classes existed; each class adds its faults from a stream of its own (classes.ts).
import { SeededRng } from "../../net/sim/prng.ts";
import { addChurn } from "./churn.ts";
import type { FaultClass } from "./classes.ts";
import { addCrashSteps, addDead, addDupReorder, addOneWay, classRng, drawSize } from "./draws.ts";
import type { ChaosPhase, ChaosSchedule } from "./types.ts";

export type {
  ChaosPhase,
  ChaosSchedule,
  ChurnEvent,
  DeadMember,
  OneWayFault,
  StepCrash,
  StepTrigger,
} from "./types.ts";
export { memberNames } from "./types.ts";

/**
 * The schedule of a seed with the fault classes `classes` (none: the classic schedule): the same seed
 * and classes always give the same schedule.
 */
export function chaosSchedule(seed: number, classes: readonly FaultClass[] = []): ChaosSchedule {
  const rng = new SeededRng(seed ^ 0x5eed);
  const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  let n = int(5, 16);
  if (classes.includes("large")) n = drawSize(classRng(seed, "large"), n);
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const loss = rng.next() < 0.4 ? 0 : Math.round(rng.next() * 30) / 100;
  const phases: ChaosPhase[] = [];
  let t = 1_000;
  for (let p = int(1, 3); p > 0; p--) {
    const { kind, sides } = split(names, rng);
    const durationMs = int(4_000, 15_000);
    const commits: { atMs: number; by: string }[] = [];
    for (const side of sides)
      for (let c = int(0, 2); c > 0; c--)
        commits.push({ atMs: t + int(0, Math.max(0, durationMs - 3_000)), by: side[rng.int(side.length)]! });
    commits.sort((a, b) => a.atMs - b.atMs);
    phases.push({ kind, sides, atMs: t, durationMs, commits });
    // The next split follows at once, or after a short healed stretch.
    t += durationMs + (rng.next() < 0.4 ? 0 : int(500, 6_000));
  }
  const last = phases.at(-1)!;
  const healAtMs = last.atMs + last.durationMs;
  const crash =
    rng.next() < 0.5
      ? { name: names[rng.int(n)]!, atMs: int(0, healAtMs), downMs: int(1_000, 10_000) }
      : undefined;
  const chats = Array.from({ length: int(3, 10) }, () => ({
    atMs: int(0, healAtMs + 3_000),
    from: names[rng.int(n)]!,
  })).sort((a, b) => a.atMs - b.atMs);
  const classic: ChaosSchedule = { seed, members: n, loss, phases, crash, chats, healAtMs };
  if (classes.length === 0) return classic;
  let s: ChaosSchedule = { ...classic, classes: [...classes] };
  if (classes.includes("dup-reorder")) s = addDupReorder(s, classRng(seed, "dup-reorder"));
  if (classes.includes("one-way")) s = addOneWay(s, classRng(seed, "one-way"));
  if (classes.includes("dead")) s = addDead(s, classRng(seed, "dead"));
  if (classes.includes("churn")) s = addChurn(s, classRng(seed, "churn"));
  if (classes.includes("crash-steps")) s = addCrashSteps(s, classRng(seed, "crash-steps"));
  return s;
}

/** Sides of one split: a random cut in two, in three, or one where no side has a majority. */
function split(names: readonly string[], rng: SeededRng): Pick<ChaosPhase, "kind" | "sides"> {
  const n = names.length;
  const shuffled = [...names];
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const cut = (sizes: number[]) => {
    let at = 0;
    return sizes.map((s) => {
      at += s;
      return shuffled.slice(at - s, at);
    });
  };
  const r = rng.next();
  if (r < 0.4) {
    const a = 1 + rng.int(n - 1);
    return { kind: "2-way", sides: cut([a, n - a]) };
  }
  if (r < 0.7) {
    const a = 1 + rng.int(n - 2);
    const b = 1 + rng.int(n - a - 1);
    return { kind: "3-way", sides: cut([a, b, n - a - b]) };
  }
  // No majority: two halves, or three sides of at most n/2 each.
  if (n % 2 === 0 && rng.next() < 0.5) return { kind: "no-majority", sides: cut([n / 2, n / 2]) };
  const half = Math.floor(n / 2);
  const a = 1 + rng.int(half);
  const lo = Math.max(1, n - a - half);
  const b = lo + rng.int(Math.min(half, n - a - 1) - lo + 1);
  return { kind: "no-majority", sides: cut([a, b, n - a - b]) };
}
