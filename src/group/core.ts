// Small helpers every rule of the group core uses: counting a rejection, the group it needs, the roster.
import { isActive, type MlsGroup, roster } from "../mls/index.ts";
import type { GroupEffect } from "./effects.ts";
import { type GroupCode, GroupError } from "./errors.ts";
import type { GroupCore } from "./state.ts";

/** Counts `code` without rejecting anything (a notable input). */
export function count(core: GroupCore, code: GroupCode): void {
  core.state.counters[code] = (core.state.counters[code] ?? 0) + 1;
}

/** Counts a rejection and returns its effect. */
export function reject(core: GroupCore, code: GroupCode, detail: string): GroupEffect {
  count(core, code);
  return { type: "rejected", code, detail };
}

/**
 * The member's group.
 * @throws {GroupError} `NO_GROUP` before it joined one.
 */
export function requireGroup(core: GroupCore): MlsGroup {
  if (core.group === undefined) throw new GroupError("NO_GROUP", "not in a group yet");
  return core.group;
}

/**
 * The member's group, to act in: send, vote, propose, commit.
 * @throws {GroupError} `NO_GROUP` before it joined one, `REMOVED` once a commit removed it from it.
 */
export function requireActiveGroup(core: GroupCore): MlsGroup {
  const group = requireGroup(core);
  if (!isActive(group))
    throw new GroupError("REMOVED", "removed from the group: nothing more goes out on its channel");
  return group;
}

/** Member ids of the current roster (empty without a group). */
export function rosterIds(core: GroupCore): Uint8Array[] {
  return core.group ? roster(core.group).map((m) => m.memberId) : [];
}
