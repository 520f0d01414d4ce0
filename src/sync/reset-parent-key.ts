// Which of the old group's sync keys a reset group's key is chained from (docs/decisions.md, "Reset
// lineage"). Two sides of a split that each removed a member re-anchored their keys apart; only keys from
// before the split are common. Reset traffic goes under every key a member holds, the operator notes under
// which keys each vote arrived, and chains the new group's key from the newest key every voter holds. Its
// Welcome names that key, signed, so every member of the new group derives one key.
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import { keyIdOf } from "./seal.ts";
import type { ResetRound } from "./state.ts";

/** The old group's keys we hold, newest first: the current one, then the previous ones. */
export function heldKeys(ctx: SyncContext): Uint8Array[] {
  const cur = ctx.port.syncKey;
  const out = cur ? [cur] : [];
  for (const k of ctx.port.previousSyncKeys) if (!out.some((o) => bytesEqual(o, k))) out.push(k);
  return out;
}

/** Notes that `voter`'s vote of round `r` arrived under `key` (a voter seals its vote under every key it holds). */
export function noteVoteKey(r: ResetRound, voter: string, key: Uint8Array): void {
  const id = toHex(keyIdOf(key));
  const seen = r.voteKeys.get(voter);
  if (seen === undefined) r.voteKeys.set(voter, [id]);
  else if (!seen.includes(id) && seen.length < 8) seen.push(id);
}

/**
 * As operator of round `r`: the key to chain the new group's key from. The newest key we hold that the
 * vote of every YES voter arrived under; failing one, the newest that the most voters' votes arrived under
 * (the others take the key from a share once in the group); without any noted, the round's parent key.
 */
export function chooseParentKey(ctx: SyncContext, r: ResetRound): Uint8Array {
  const me = toHex(ctx.port.memberId);
  const voters = [...r.votes].filter(([w, v]) => v.yes && w !== me).map(([w]) => r.voteKeys.get(w) ?? []);
  const keys = heldKeys(ctx);
  if (voters.length === 0 || keys.length === 0) return r.parentKey;
  let best: Uint8Array | undefined;
  let bestCount = 0;
  for (const k of keys) {
    const id = toHex(keyIdOf(k));
    const holders = voters.filter((ids) => ids.includes(id)).length;
    if (holders > bestCount) {
      best = k;
      bestCount = holders;
    }
    if (holders === voters.length) return k;
  }
  return best ?? r.parentKey;
}
