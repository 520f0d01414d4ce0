// Membership churn during splits: a new joiner on one side, a removal, a leave and a rejoin request
// proposed on any side, so that sides commit different rosters and the group must end with one.
import type { SeededRng } from "../../net/sim/prng.ts";
import type { ChaosPhase, ChaosSchedule, ChurnEvent } from "./types.ts";
import { memberNames } from "./types.ts";

/**
 * 0-2 churn events in each split (at least one in all), at a random time of the split on a random side:
 * an add (30%), a removal of any other member (25%), a leave (25%) or a rejoin request (20%). At most a
 * third of the members are removed or leave; a member that does makes no later change.
 */
export function addChurn(s: ChaosSchedule, rng: SeededRng): ChaosSchedule {
  const names = memberNames(s);
  const gone = new Set<string>();
  const maxGone = Math.max(1, Math.floor(s.members / 3));
  let out: ChaosSchedule = s;
  const events: ChurnEvent[] = [];
  s.phases.forEach((p, i) => {
    let count = rng.int(3);
    if (count === 0 && i === s.phases.length - 1 && events.length === 0) count = 1;
    for (; count > 0; count--) {
      const atMs = p.atMs + rng.int(Math.max(0, p.durationMs - 2_000) + 1);
      const side = p.sides[rng.int(p.sides.length)]!.filter((n) => names.includes(n) && !gone.has(n));
      if (side.length === 0) continue;
      const by = side[rng.int(side.length)]!;
      const r = rng.next();
      let kind: ChurnEvent["kind"] = r < 0.3 ? "add" : r < 0.55 ? "remove" : r < 0.8 ? "leave" : "rejoin";
      if ((kind === "remove" || kind === "leave") && gone.size >= maxGone) kind = "rejoin";
      if (kind === "add") {
        const added = addJoiner(out, atMs, rng, by);
        out = added.schedule;
        continue;
      }
      if (kind === "remove") {
        const targets = names.filter((n) => n !== by && !gone.has(n));
        const target = targets[rng.int(targets.length)]!;
        gone.add(target);
        events.push({ atMs, kind, by, target });
        continue;
      }
      if (kind === "leave") gone.add(by);
      events.push({ atMs, kind, by });
    }
  });
  const churn = [...(out.churn ?? []), ...events].sort((a, b) => a.atMs - b.atMs);
  return { ...out, churn };
}

/**
 * A new joiner (`j0`, `j1`, ...) started at `atMs` on the side of `peer` (a random member if not given),
 * and put on a random side of every split that begins after it.
 */
export function addJoiner(
  s: ChaosSchedule,
  atMs: number,
  rng: SeededRng,
  peer?: string,
): { schedule: ChaosSchedule; name: string } {
  const names = memberNames(s);
  const name = `j${(s.churn ?? []).filter((e) => e.kind === "add").length}`;
  const target = peer ?? names[rng.int(names.length)]!;
  const phases: ChaosPhase[] = s.phases.map((p) => {
    if (p.atMs <= atMs) return p;
    const at = rng.int(p.sides.length);
    return { ...p, sides: p.sides.map((side, i) => (i === at ? [...side, name] : side)) };
  });
  const churn = [...(s.churn ?? []), { atMs, kind: "add" as const, by: name, target }].sort(
    (a, b) => a.atMs - b.atMs,
  );
  return { schedule: { ...s, phases, churn }, name };
}
