// Re-entering a state this member held before (docs/architecture.md, "Re-entering a state"). A member on
// a branch that loses rewinds, and the commit it then applies may lead to a state it held and left
// earlier: the same epoch secrets, so a fresh secret tree whose own sending chains start again at
// generation 0. The members that stayed there already read (and deleted) those generations: a message
// sent again at one of them is unreadable to them ("generation in the past"), and it would reuse a key
// and nonce (only the random reuse guard tells the two apart). So the member remembers, for each state
// it left by rewinding, how far its own two chains (application, handshake) went, and continues past
// that when it enters the same state again.
import type { ClientState } from "ts-mls";
import type { GenerationSecret, SecretTreeNode } from "ts-mls/secretTree.js";
import { ratchetUntil } from "ts-mls/secretTree.js";
import { bytesEqual } from "../util/bytes.ts";
import { suite } from "./suite.ts";
import type { LeftState, MlsGroup } from "./types.ts";

/** How many left states a member remembers (the newest; each is a fingerprint and two numbers). */
export const LEFT_STATES_KEPT = 64;

/** The secret-tree node of this member's own leaf (node index `2 * leafIndex`). */
function ownNode(state: ClientState): SecretTreeNode | undefined {
  return state.secretTree[2 * state.privatePath.leafIndex];
}

/**
 * Adds `states` (left by a rewind) to `kept`: for each, the generations its own chains reached. A state
 * already remembered keeps the larger of the two records; states where we sent nothing are not kept.
 */
export function noteLeftStates(
  kept: readonly LeftState[],
  states: readonly { fingerprint: Uint8Array; state: ClientState }[],
): readonly LeftState[] {
  let out = [...kept];
  for (const s of states) {
    const node = ownNode(s.state);
    if (node === undefined) continue;
    const application = node.application.generation;
    const handshake = node.handshake.generation;
    if (application === 0 && handshake === 0) continue;
    const before = out.find((l) => bytesEqual(l.fingerprint, s.fingerprint));
    out = out.filter((l) => l !== before);
    out.push({
      fingerprint: s.fingerprint,
      application: Math.max(application, before?.application ?? 0),
      handshake: Math.max(handshake, before?.handshake ?? 0),
    });
  }
  return out.slice(-LEFT_STATES_KEPT);
}

/** `state` with our own leaf's sending chains replaced (a new secret tree; `state` is left as it was). */
function withOwnChains(
  state: ClientState,
  application: GenerationSecret,
  handshake: GenerationSecret,
): ClientState {
  const secretTree = state.secretTree.slice();
  secretTree[2 * state.privatePath.leafIndex] = { application, handshake };
  return { ...state, secretTree };
}

async function continueChain(chain: GenerationSecret, to: number): Promise<[GenerationSecret, Uint8Array[]]> {
  if (chain.generation >= to) return [chain, []];
  const config = { retainKeysForGenerations: 0, retainKeysForEpochs: 0, maximumForwardRatchetSteps: to };
  // Keeping no skipped generation: nobody sends on our own chain but us.
  return ratchetUntil(chain, to, config, (await suite()).kdf);
}

/**
 * `state` with its own handshake chain one generation on: the one a commit built at `state` used (ts-mls
 * keeps the commit's secret tree only in the new epoch, so the state the commit was built on would
 * protect the next commit at it with the same generation again).
 */
export async function spendOwnHandshake(
  state: ClientState,
): Promise<{ state: ClientState; consumed: Uint8Array[] }> {
  const node = ownNode(state);
  if (node === undefined) return { state, consumed: [] };
  const [handshake, consumed] = await continueChain(node.handshake, node.handshake.generation + 1);
  return { state: withOwnChains(state, node.application, handshake), consumed };
}

/**
 * `state` (just entered, with fingerprint `fingerprint`) with its own sending chains moved past the
 * generations this member used when it held the same state before; unchanged for a state never left.
 * @returns the state and the secrets the skipped generations consumed (to be zeroed like others).
 */
export async function continueOwnChains(
  group: Pick<MlsGroup, "leftStates">,
  state: ClientState,
  fingerprint: Uint8Array,
): Promise<{ state: ClientState; consumed: Uint8Array[] }> {
  const left = group.leftStates.find((l) => bytesEqual(l.fingerprint, fingerprint));
  const node = ownNode(state);
  if (left === undefined || node === undefined) return { state, consumed: [] };
  const [application, a] = await continueChain(node.application, left.application);
  const [handshake, h] = await continueChain(node.handshake, left.handshake);
  return { state: withOwnChains(state, application, handshake), consumed: [...a, ...h] };
}
