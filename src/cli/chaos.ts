// The chaos harness: random fault schedules, each a pure function of its seed (and of the fault classes
// asked for), run on the simulator. The classic schedule is 1-3 partitions in a row (2-way, 3-way, no
// majority; sides commit epochs while split), 0-30% loss, at most one crash and restart, and chats from
// random members; the fault classes add membership churn during the splits, members dead for good,
// duplication and reordering, crashes at a step, one-way cuts and groups of up to 40. A run converges
// when the group ends in one state with everyone of its final roster IN_SYNC, every chat delivered
// exactly once to every final member it was sent to, and that holds for 3 s (docs/chaos.md).
//
// One file per concern under chaos/: the classes, the schedule and what each class draws, its
// description, the run, the verdict and the sweep.
export { FAULT_CLASSES, type FaultClass, parseClasses } from "./chaos/classes.ts";
export { describeSchedule } from "./chaos/describe.ts";
export { CHAOS_DEADLINE_MS, CHAOS_HOLD_MS, type ChaosResult, crashed, runChaos } from "./chaos/run.ts";
export {
  type ChaosPhase,
  type ChaosSchedule,
  type ChurnEvent,
  chaosSchedule,
  type DeadMember,
  memberNames,
  type OneWayFault,
  type StepCrash,
  type StepTrigger,
} from "./chaos/schedule.ts";
export { type ChaosJob, runChaosSeeds } from "./chaos/seeds.ts";
export { type Expectations, type Verdict, verdictOf } from "./chaos/verdict.ts";
