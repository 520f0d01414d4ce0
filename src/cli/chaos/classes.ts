// The classes of faults a chaos schedule can draw on top of the classic one (splits, loss, a crash,
// chats), each from its own seeded stream so that one class changes nothing another one draws. A sweep
// restricted to one class (`demls chaos --only churn`) judges that class by itself.
import { DemlsError } from "../../util/errors.ts";

/** A class of faults (docs/chaos.md, "Fault classes"). */
export type FaultClass =
  /** Adds (a new joiner), removes, leaves and rejoin requests, proposed on any side during splits. */
  | "churn"
  /** Members crashed for good, before or during the splits. */
  | "dead"
  /** Duplicated transmissions (an extra copy up to 3 s later) and reordering beyond the jitter. */
  | "dup-reorder"
  /** Crashes between two inputs of a member, after an event (joined, a new epoch, a decided proposal,
   * HARD) or a time, and a joiner that crashes right after joining. */
  | "crash-steps"
  /** One-way cuts: one link, a member that hears nobody, a member nobody hears, half of a group. */
  | "one-way"
  /** Groups of 17-40 members for a part of the seeds. */
  | "large";

/** Every class, in the order `describeSchedule` prints them. */
export const FAULT_CLASSES: readonly FaultClass[] = [
  "churn",
  "dead",
  "dup-reorder",
  "crash-steps",
  "one-way",
  "large",
];

/**
 * The classes `--only` names: a comma-separated list of classes, `classic` (none: the schedule of
 * before, the default) or `all`.
 * @throws {DemlsError} `BAD_FAULT_CLASS` for an unknown class.
 */
export function parseClasses(text: string): FaultClass[] {
  const out = new Set<FaultClass>();
  for (const word of text.split(",").map((w) => w.trim())) {
    if (word === "classic" || word === "") continue;
    if (word === "all") for (const c of FAULT_CLASSES) out.add(c);
    else if ((FAULT_CLASSES as readonly string[]).includes(word)) out.add(word as FaultClass);
    else
      throw new DemlsError(
        "BAD_FAULT_CLASS",
        `unknown fault class '${word}': expected classic, all or ${FAULT_CLASSES.join(", ")}`,
      );
  }
  return FAULT_CLASSES.filter((c) => out.has(c));
}

/** Seeds each class's stream apart from the classic one (`seed ^ 0x5eed`) and from each other. */
export const CLASS_SALT: Readonly<Record<FaultClass, number>> = {
  churn: 0xc4a5e1,
  dead: 0xdead01,
  "dup-reorder": 0xd0b1e5,
  "crash-steps": 0xc5a54e,
  "one-way": 0x0e3a71,
  large: 0x1a43e0,
};
