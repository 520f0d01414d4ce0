import type { MlsGroup } from "./group.ts";
import { membersOf, type RosterMember } from "./roster.ts";

/** The group's current members in leaf order. */
export function roster(group: MlsGroup): RosterMember[] {
  return membersOf(group.state);
}
