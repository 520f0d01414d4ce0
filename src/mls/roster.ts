// Reading members out of a ratchet tree: leaf index <-> credential identity.
import type { ClientState } from "ts-mls";
import { toHex } from "../util/bytes.ts";
import type { MlsGroup } from "./types.ts";

/** One current member of a group. Leaf indices are local to one branch of the group; `memberId` is not. */
export interface RosterMember {
  readonly leafIndex: number;
  /** Credential identity. */
  readonly memberId: Uint8Array;
  readonly signaturePublicKey: Uint8Array;
  /**
   * HPKE key of the leaf: the added KeyPackage's until the member commits or updates. Tells which of a
   * member's leaves this is (a member re-added from a fresh KeyPackage keeps its identity and keys).
   */
  readonly encryptionKey: Uint8Array;
}

type WithTree = Pick<ClientState, "ratchetTree">;

interface RosterCache {
  /** The leaf nodes the members were read from, by leaf index (identity-compared to revalidate). */
  readonly leaves: unknown[];
  readonly members: readonly RosterMember[];
  byId?: Map<string, RosterMember>;
}

// Every vote, KeyPackage set and gossip message asks for the roster, and building its n member objects each
// time would allocate n objects per message. Cached per tree array, revalidated leaf by leaf (a reference
// compare each), so a tree changed in place is read again.
const rosterCache = new WeakMap<object, RosterCache>();

function cachedRoster(state: WithTree): RosterCache {
  const tree = state.ratchetTree;
  const c = rosterCache.get(tree);
  if (c !== undefined && c.leaves.length === (tree.length + 1) >> 1) {
    let same = true;
    for (let n = 0; n < tree.length && same; n += 2) same = tree[n] === c.leaves[n / 2];
    if (same) return c;
  }
  const leaves: unknown[] = [];
  const members: RosterMember[] = [];
  for (let n = 0; n < tree.length; n += 2) {
    const node = tree[n];
    leaves.push(node);
    if (node?.nodeType !== "leaf") continue;
    const cred = node.leaf.credential;
    if (cred.credentialType !== "basic") continue;
    members.push({
      leafIndex: n / 2,
      memberId: cred.identity,
      signaturePublicKey: node.leaf.signaturePublicKey,
      encryptionKey: node.leaf.hpkePublicKey,
    });
  }
  const fresh = { leaves, members };
  rosterCache.set(tree, fresh);
  return fresh;
}

/** Members in leaf order (shared: do not modify). */
export function membersOf(state: WithTree): readonly RosterMember[] {
  return cachedRoster(state).members;
}

/** The member with credential identity `memberId`, if it is in the tree. */
export function memberById(state: WithTree, memberId: Uint8Array): RosterMember | undefined {
  const c = cachedRoster(state);
  if (c.byId === undefined) {
    c.byId = new Map();
    // First leaf wins, as a search in leaf order would.
    for (const m of c.members) {
      const id = toHex(m.memberId);
      if (!c.byId.has(id)) c.byId.set(id, m);
    }
  }
  return c.byId.get(toHex(memberId));
}

/** Credential identity at a leaf, if that leaf is occupied. */
export function memberIdAt(state: WithTree, leafIndex: number): Uint8Array | undefined {
  const node = state.ratchetTree[2 * leafIndex];
  if (node?.nodeType !== "leaf" || node.leaf.credential.credentialType !== "basic") return undefined;
  return node.leaf.credential.identity;
}

/** Leaf index of a member by credential identity. */
export function leafOf(state: WithTree, memberId: Uint8Array): number | undefined {
  return memberById(state, memberId)?.leafIndex;
}

/** The group's current members in leaf order (shared: do not modify). */
export function roster(group: MlsGroup): readonly RosterMember[] {
  return membersOf(group.state);
}

/** The group's member with credential identity `memberId`, if any. */
export function rosterMember(group: MlsGroup, memberId: Uint8Array): RosterMember | undefined {
  return memberById(group.state, memberId);
}
