// Reading members out of a ratchet tree: leaf index <-> credential identity.
import type { ClientState } from "ts-mls";
import { bytesEqual } from "../util/bytes.ts";
import type { MlsGroup } from "./group.ts";

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

/** Members in leaf order. */
export function membersOf(state: WithTree): RosterMember[] {
  const out: RosterMember[] = [];
  const tree = state.ratchetTree;
  for (let n = 0; n < tree.length; n += 2) {
    const node = tree[n];
    if (node?.nodeType !== "leaf") continue;
    const cred = node.leaf.credential;
    if (cred.credentialType !== "basic") continue;
    out.push({
      leafIndex: n / 2,
      memberId: cred.identity,
      signaturePublicKey: node.leaf.signaturePublicKey,
      encryptionKey: node.leaf.hpkePublicKey,
    });
  }
  return out;
}

/** Credential identity at a leaf, if that leaf is occupied. */
export function memberIdAt(state: WithTree, leafIndex: number): Uint8Array | undefined {
  const node = state.ratchetTree[2 * leafIndex];
  if (node?.nodeType !== "leaf" || node.leaf.credential.credentialType !== "basic") return undefined;
  return node.leaf.credential.identity;
}

/** Leaf index of a member by credential identity. */
export function leafOf(state: WithTree, memberId: Uint8Array): number | undefined {
  return membersOf(state).find((m) => bytesEqual(m.memberId, memberId))?.leafIndex;
}

/** The group's current members in leaf order. */
export function roster(group: MlsGroup): RosterMember[] {
  return membersOf(group.state);
}
