// What a chaos schedule is made of: the classic splits, crash and chats, and what the fault classes add.
import type { LinkFaults } from "../../net/sim/link-faults.ts";
import type { FaultClass } from "./classes.ts";

export interface ChaosPhase {
  readonly kind: "2-way" | "3-way" | "no-majority";
  /** The sides, by member name (a joiner added before the phase is on one of them). */
  readonly sides: readonly (readonly string[])[];
  /** When the split begins and how long it lasts, ms after the schedule starts. */
  readonly atMs: number;
  readonly durationMs: number;
  /** Key-refresh proposals made while split, each on its proposer's side. */
  readonly commits: readonly { readonly atMs: number; readonly by: string }[];
}

/** A one-way cut: `from`'s transmissions to `to` are dropped for a while, the other direction works. */
export interface OneWayFault {
  /** One link; a member that hears nobody (`deaf`); a member nobody hears (`mute`); a set to the rest. */
  readonly kind: "link" | "deaf" | "mute" | "half";
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly atMs: number;
  readonly durationMs: number;
}

/** A member crashed for good at `atMs`. */
export interface DeadMember {
  readonly name: string;
  readonly atMs: number;
}

/** What arms a crash at a step: a time, or the member's first such event from that time on. */
export type StepTrigger = "time" | "joined" | "epoch" | "decided" | "hard";

/**
 * A crash between two inputs of a member: from `fromMs` on, at its first `after` event (or at once, for
 * `time`), it crashes after `inputs` more inputs (messages, timers) and restarts from its store `downMs`
 * later.
 */
export interface StepCrash {
  readonly name: string;
  readonly after: StepTrigger;
  readonly fromMs: number;
  readonly inputs: number;
  readonly downMs: number;
}

/**
 * A membership change at `atMs`: `add` starts joiner `by` on the side of member `target`; `remove` is
 * `by` proposing to remove `target`; `leave` and `rejoin` are `by`'s own request.
 */
export interface ChurnEvent {
  readonly atMs: number;
  readonly kind: "add" | "remove" | "leave" | "rejoin";
  readonly by: string;
  readonly target?: string | undefined;
}

export interface ChaosSchedule {
  readonly seed: number;
  readonly members: number;
  readonly loss: number;
  readonly phases: readonly ChaosPhase[];
  readonly crash?: { readonly name: string; readonly atMs: number; readonly downMs: number } | undefined;
  readonly chats: readonly { readonly atMs: number; readonly from: string }[];
  /** The last heal, ms after the schedule starts. */
  readonly healAtMs: number;
  /** The fault classes drawn on top of the classic schedule (absent: none). */
  readonly classes?: readonly FaultClass[] | undefined;
  /** Duplication and reordering from the end of formation on (`dup-reorder`). */
  readonly linkFaults?: LinkFaults | undefined;
  readonly oneWay?: readonly OneWayFault[] | undefined;
  readonly dead?: readonly DeadMember[] | undefined;
  readonly stepCrashes?: readonly StepCrash[] | undefined;
  /** In time order. */
  readonly churn?: readonly ChurnEvent[] | undefined;
}

/** The names of the members a schedule forms its group with. */
export function memberNames(s: ChaosSchedule): string[] {
  return Array.from({ length: s.members }, (_, i) => `m${i}`);
}
