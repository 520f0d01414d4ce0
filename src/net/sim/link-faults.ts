// What a network does to a transmission beyond latency, jitter and loss: it delivers a copy twice (a
// retransmission whose acknowledgement was lost, a relay that forwarded it twice), and it holds some
// back far longer than the jitter (a congested queue, a slow path), so they arrive after later ones.
// Off by default; when off nothing is drawn, so runs that never turn it on replay as before.
import { DemlsError } from "../../util/errors.ts";
import type { SeededRng } from "./prng.ts";

/** Duplication and reordering of transmissions, on every link. */
export interface LinkFaults {
  /** Probability that a transmission that arrives arrives twice. */
  readonly duplicate: number;
  /** The extra copy arrives uniformly within this many ms after the first. */
  readonly duplicateWithinMs: number;
  /** Fraction of transmissions held back by an extra delay (reordering beyond the jitter). */
  readonly reorder: number;
  /** The extra delay of a held-back transmission is uniform in [`reorderMinMs`, `reorderMaxMs`). */
  readonly reorderMinMs: number;
  readonly reorderMaxMs: number;
}

/** No duplication, no reordering beyond the jitter. */
export const NO_LINK_FAULTS: LinkFaults = {
  duplicate: 0,
  duplicateWithinMs: 0,
  reorder: 0,
  reorderMinMs: 0,
  reorderMaxMs: 0,
};

/**
 * `faults` checked.
 * @throws {DemlsError} `BAD_PARAMS`: a probability outside [0, 1], a negative or non-finite delay, or
 * `reorderMaxMs` below `reorderMinMs`.
 */
export function checkLinkFaults(faults: LinkFaults): LinkFaults {
  const bad = (what: string) => new DemlsError("BAD_PARAMS", `link faults: ${what}`);
  for (const k of ["duplicate", "reorder"] as const)
    if (!(faults[k] >= 0 && faults[k] <= 1)) throw bad(`${k} = ${faults[k]}: expected a probability`);
  for (const k of ["duplicateWithinMs", "reorderMinMs", "reorderMaxMs"] as const)
    if (!(faults[k] >= 0 && Number.isFinite(faults[k]))) throw bad(`${k} = ${faults[k]}: expected ms >= 0`);
  if (faults.reorderMaxMs < faults.reorderMinMs)
    throw bad(`reorderMaxMs ${faults.reorderMaxMs} < reorderMinMs ${faults.reorderMinMs}`);
  return faults;
}

/** What happens to one transmission that arrives: its extra delay, and when its copy follows (if any). */
export interface FaultDraw {
  /** Added to the transmission's latency (0 unless it was held back). */
  readonly extraMs: number;
  /** A second copy arrives this many ms after the first; undefined: no copy. */
  readonly copyAfterMs: number | undefined;
}

const NONE: FaultDraw = { extraMs: 0, copyAfterMs: undefined };

/**
 * Draws the faults of one transmission from `rng`: nothing is drawn for a fault that is off, so turning
 * one on changes no draw of a run that has it off.
 */
export function drawFaults(rng: SeededRng, f: LinkFaults): FaultDraw {
  if (f.reorder === 0 && f.duplicate === 0) return NONE;
  let extraMs = 0;
  if (f.reorder > 0 && rng.next() < f.reorder)
    extraMs = f.reorderMinMs + rng.next() * (f.reorderMaxMs - f.reorderMinMs);
  let copyAfterMs: number | undefined;
  if (f.duplicate > 0 && rng.next() < f.duplicate) copyAfterMs = rng.next() * f.duplicateWithinMs;
  return { extraMs, copyAfterMs };
}
