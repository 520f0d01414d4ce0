// What of a group core's in-memory state a restarted member needs to go on as it would have, in a form
// the node layer saves with its snapshot: own commits with the states they lead to (MLS values, encoded
// by the MLS layer), the last tick, a decision due, frames that came before a Welcome, Welcome resend
// times, what chat pulls track. Caches (steward rotations, pending proposal ids) are derived again.
import { type MlsGroup, restoreGroup, serializeGroup } from "../mls/index.ts";
import { type GroupVolatile, newGroupVolatile, type SenderChats } from "./volatile.ts";

/** The saved part of {@link GroupVolatile}: plain data (`node:v8` serialisable). */
export interface SavedGroupMemory {
  readonly ownCommits: readonly { hash: string; group: Uint8Array; added: Uint8Array[] }[];
  readonly ownCommit:
    | { bytes: Uint8Array; group: Uint8Array; welcome: Uint8Array | undefined; added: Uint8Array[] }
    | undefined;
  readonly lastTick: number;
  readonly decisionDue: boolean;
  readonly early: readonly Uint8Array[];
  readonly welcomeResentAt: ReadonlyMap<string, number>;
  /** Chat pulls (absent in snapshots of older versions). */
  readonly chatSeqs?: ReadonlyMap<string, SenderChats>;
  readonly nextChatPullAt?: number;
  readonly chatPullServed?: ReadonlyMap<string, { readonly at: number; readonly count: number }>;
  readonly rosterSince?: ReadonlyMap<string, number>;
  readonly enteredAt?: number;
}

/** Encoded group states by value: own commits' states do not change, so each is encoded once. */
const encoded = new WeakMap<MlsGroup, Uint8Array>();

function encode(group: MlsGroup): Uint8Array {
  let bytes = encoded.get(group);
  if (bytes === undefined) {
    bytes = serializeGroup(group);
    encoded.set(group, bytes);
  }
  return bytes;
}

/** The saved form of `vol`. */
export function saveGroupMemory(vol: GroupVolatile): SavedGroupMemory {
  const own = vol.ownCommit;
  return {
    ownCommits: vol.ownCommits.map((o) => ({ hash: o.hash, group: encode(o.group), added: o.added })),
    ownCommit: own && { bytes: own.bytes, group: encode(own.group), welcome: own.welcome, added: own.added },
    lastTick: vol.lastTick,
    decisionDue: vol.decisionDue,
    early: [...vol.early],
    welcomeResentAt: new Map(vol.welcomeResentAt),
    chatSeqs: new Map([...vol.chatSeqs].map(([k, e]) => [k, copySenderChats(e)])),
    nextChatPullAt: vol.nextChatPullAt,
    chatPullServed: new Map(vol.chatPullServed),
    rosterSince: new Map(vol.rosterSince),
    ...(vol.enteredAt !== undefined ? { enteredAt: vol.enteredAt } : {}),
  };
}

/**
 * The in-memory state of a member restored from `saved` (fresh when nothing was saved: a snapshot of an
 * older version).
 * @throws {MlsProtocolError} `MALFORMED` when a saved group state does not decode.
 */
export function restoreGroupMemory(saved: SavedGroupMemory | undefined): GroupVolatile {
  const vol = newGroupVolatile();
  if (saved === undefined) return vol;
  const decode = (bytes: Uint8Array) => {
    const group = restoreGroup(bytes);
    encoded.set(group, bytes);
    return group;
  };
  for (const o of saved.ownCommits)
    vol.ownCommits.push({ hash: o.hash, group: decode(o.group), added: o.added });
  const own = saved.ownCommit;
  vol.ownCommit = own && {
    bytes: own.bytes,
    group: decode(own.group),
    welcome: own.welcome,
    added: own.added,
  };
  vol.lastTick = saved.lastTick;
  vol.decisionDue = saved.decisionDue;
  vol.early = [...saved.early];
  for (const [k, v] of saved.welcomeResentAt) vol.welcomeResentAt.set(k, v);
  for (const [k, e] of saved.chatSeqs ?? []) vol.chatSeqs.set(k, copySenderChats(e));
  vol.nextChatPullAt = saved.nextChatPullAt ?? 0;
  for (const [k, v] of saved.chatPullServed ?? []) vol.chatPullServed.set(k, v);
  for (const [k, v] of saved.rosterSince ?? []) vol.rosterSince.set(k, v);
  vol.enteredAt = saved.enteredAt;
  return vol;
}

function copySenderChats(e: SenderChats): SenderChats {
  return {
    first: e.first,
    high: e.high,
    have: new Set(e.have),
    asked: new Map(e.asked),
    ...(e.holder === undefined ? {} : { holder: e.holder }),
    ...(e.nextPullAt === undefined ? {} : { nextPullAt: e.nextPullAt }),
  };
}
