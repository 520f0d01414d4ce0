// FOR SIMULATIONS: one process hosting many members holds many copies of the same values. Every member
// decodes its own copy of the public ratchet tree, and ts-mls derives every node of an epoch's secret tree
// eagerly, for the current epoch and the `retainKeysForEpochs` before it. Both grow with n per member, so
// n^2 in one process: most of what the members of a large simulation hold.
//
// With sharing on, `intern` swaps equal values for one instance that every member points to. This is
// sound because ts-mls treats state as immutable (it copies an array and replaces the node it changes),
// and because retired secrets are not zeroed while sharing is on (`sharing()`): a shared secret belongs to
// every member of the epoch. That is why it is for simulations only; a real member holds one copy anyway.
//
// Signature checks are shared the same way: every simulated member verifies the same vote, commit and
// SyncStateInfo, n^2 Ed25519 verifications per round at n members. With sharing on, a
// verdict is remembered under a hash of key, signature and message, so each distinct message is verified
// once; a changed byte anywhere is a different entry. HKDF-Expand outputs and AEAD plaintexts are shared
// the same way (each member ratchets its own copy of a sender's chain to decrypt the same message), and
// secret-tree derivation and tree hashing through the memo hooks our ts-mls patch adds (below).
import { hash as nodeHash } from "node:crypto";
import type { ClientState } from "ts-mls";
import { type SecretTreeMemo, setSecretTreeMemo } from "ts-mls/secretTree.js";
import { setTreeHashMemo, type TreeHashMemo } from "ts-mls/treeHash.js";

type Tree = ClientState["ratchetTree"];
type TreeNode = NonNullable<Tree[number]>;
type SecretTree = ClientState["secretTree"];

interface Tables {
  readonly nodes: Map<string, WeakRef<TreeNode>>;
  readonly secretTrees: Map<string, WeakRef<SecretTree>>;
  pruneAt: number;
  readonly verified: Bounded<boolean>;
  readonly derived: Bounded<Uint8Array>;
  readonly opened: Bounded<Uint8Array>;
}

/** Signature verdicts remembered while sharing (oldest dropped first). */
const VERIFIED_LIMIT = 1 << 18;

let tables: Tables | undefined;

/**
 * FOR SIMULATIONS AND BENCHMARKS ONLY: makes members of this process share equal public tree nodes and
 * the secret tree of each epoch, and stops zeroing retired secrets (they are shared). Off by default.
 */
export function shareStateAcrossMembers(on: boolean): void {
  tables = on
    ? {
        nodes: new Map(),
        secretTrees: new Map(),
        pruneAt: 1 << 16,
        verified: new Bounded(VERIFIED_LIMIT, () => 1),
        derived: new Bounded(DERIVED_LIMIT, () => 1),
        opened: new Bounded(OPENED_BYTES_LIMIT, (v) => v.length),
      }
    : undefined;
  setSecretTreeMemo(on ? secretTreeMemo : undefined);
  setTreeHashMemo(on ? treeHashMemo() : undefined);
}

// Every member of an epoch derives the same fresh secret tree (2n-1 nodes, four HKDF steps each) from the
// same encryption secret: the first derivation is handed to the rest (the patched `createSecretTree`).
const secretTreeMemo: SecretTreeMemo = {
  key: (leafWidth, encryptionSecret) => `E${leafWidth}:${key(encryptionSecret)}`,
  get: (k) => tables?.secretTrees.get(k)?.deref(),
  set: (k, tree) => {
    if (tables !== undefined) tables.secretTrees.set(k, new WeakRef(tree));
  },
};

/** Per-node cache entries before a node's map is cleared (a node rarely sees more than one child pair). */
const NODE_HASHES_LIMIT = 16;
/** Blank-node hashes remembered (oldest dropped first). */
const BLANK_HASHES_LIMIT = 1 << 16;

// Every member hashes its whole tree several times per commit (new tree hash, parent-hash checks): n nodes
// per member, n^2 per commit. Non-blank nodes are shared objects (`intern`), so their hashes hang off the
// node; blank ones are keyed by position and children alone.
function treeHashMemo(): TreeHashMemo {
  const byNode = new WeakMap<object, Map<string, Uint8Array>>();
  const blank = new Map<string, Uint8Array>();
  const sub = (i: number, l?: Uint8Array, r?: Uint8Array) =>
    l === undefined || r === undefined ? `${i}` : `${i}:${key(l)}${key(r)}`;
  return {
    get: (node, i, l, r) => (node === undefined ? blank : byNode.get(node))?.get(sub(i, l, r)),
    set: (node, i, l, r, hash) => {
      let m = node === undefined ? blank : byNode.get(node);
      if (m === undefined) {
        m = new Map();
        byNode.set(node!, m);
      }
      if (m.size >= (node === undefined ? BLANK_HASHES_LIMIT : NODE_HASHES_LIMIT))
        m.delete(m.keys().next().value!);
      m.set(sub(i, l, r), hash);
    },
  };
}

/** True while {@link shareStateAcrossMembers} is on. */
export function sharing(): boolean {
  return tables !== undefined;
}

/** `verify()`, or its remembered verdict for the same key, signature and message while sharing. */
export function sharedVerdict(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  verify: () => boolean,
): boolean {
  const memo = tables?.verified;
  if (memo === undefined) return verify();
  return remembered(memo, digestKey([publicKey, signature, message]), verify);
}

/** `memo`'s value for `k`, computed and stored if absent (a `compute` that throws stores nothing). */
function remembered<V>(memo: Bounded<V>, k: string, compute: () => V): V {
  let v = memo.get(k);
  if (v === undefined) {
    v = compute();
    memo.set(k, v);
  }
  return v;
}

/** HKDF-Expand outputs remembered while sharing (oldest dropped first). */
const DERIVED_LIMIT = 1 << 17;
/** Bytes of AEAD plaintexts remembered while sharing. */
const OPENED_BYTES_LIMIT = 64 << 20;

/**
 * `expand()`, or while sharing the output it gave for the same secret, label and length. Each member
 * ratchets its own copy of every sender's chain, so n members repeat each HKDF step of each message.
 */
export function sharedExpand(
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
  expand: () => Uint8Array,
): Uint8Array {
  const memo = tables?.derived;
  if (memo === undefined) return expand();
  const k = `${prk.length}:${length}:${key(prk)}${key(info)}`;
  return remembered(memo, k, expand).slice(); // callers may zero or change what they get
}

/**
 * `open()`, or while sharing the plaintext it gave for the same AEAD, key, nonce, associated data and
 * ciphertext (every member decrypts the same group message under the same key). Failures are not
 * remembered. Each caller gets its own copy, unless it passes `readOnly` because it never writes to the
 * plaintext or to views of it: then all share one (the sync layer, where every member opens every catch-up
 * answer, up to 128 KiB, to find whether it is its own: a copy each would be n copies of every answer).
 */
export function sharedOpen(
  aead: string,
  parts: readonly Uint8Array[],
  open: () => Uint8Array,
  readOnly = false,
): Uint8Array {
  const memo = tables?.opened;
  if (memo === undefined) return open();
  const plaintext = remembered(memo, `${aead}:${digestKey(parts)}`, open);
  return readOnly ? plaintext : plaintext.slice();
}

/**
 * SHA-256 over length-prefixed parts (no two different part lists collide by concatenation), as a
 * latin1 string key, asked of `hash` directly: a Buffer digest is made in C++, slow to create and to
 * collect, and this runs for every group message every member opens.
 */
function digestKey(parts: readonly Uint8Array[]): string {
  let total = 0;
  for (const p of parts) total += 4 + (p.length >= LARGE_PART ? 32 : p.length);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    // A large part stands in by its own digest: its length says which form follows.
    const bytes = p.length >= LARGE_PART ? largeDigest(p) : p;
    buf.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return nodeHash("sha256", buf, "binary"); // "binary" is latin1
}

/** Parts from this many bytes on are digested once per memory region, not once per member. */
const LARGE_PART = 4096;

/**
 * SHA-256 of large parts by memory region: the simulator hands every member the same message buffer, and
 * every receiver opens each catch-up answer (up to 128 KiB) to see whom it is for, so an answer is hashed
 * once, not once per receiver. Sound while delivered buffers are not changed in place, which nothing does
 * (a tampered message is a copy, another region: the seal test checks it).
 */
const largeDigests = new WeakMap<ArrayBufferLike, Map<string, Uint8Array>>();

function largeDigest(p: Uint8Array): Uint8Array {
  let regions = largeDigests.get(p.buffer);
  if (regions === undefined) {
    regions = new Map();
    largeDigests.set(p.buffer, regions);
  }
  const region = `${p.byteOffset}:${p.byteLength}`;
  let d = regions.get(region);
  if (d === undefined) {
    d = new Uint8Array(nodeHash("sha256", p, "buffer"));
    regions.set(region, d);
  }
  return d;
}

/**
 * A map bounded by the total `size` of its values (1 each: a count), oldest dropped first; a value above a
 * sixteenth of the bound is not kept.
 */
class Bounded<V> {
  private readonly map = new Map<string, V>();
  private total = 0;
  private readonly limit: number;
  private readonly size: (v: V) => number;
  constructor(limit: number, size: (v: V) => number) {
    this.limit = limit;
    this.size = size;
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    const n = this.size(v);
    if (n > this.limit / 16) return;
    for (const [old, ov] of this.map) {
      if (this.total + n <= this.limit) break;
      this.map.delete(old);
      this.total -= this.size(ov);
    }
    this.map.set(k, v);
    this.total += n;
  }
}

const key = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

function canonical<T extends object>(map: Map<string, WeakRef<T>>, k: string, value: T): T {
  const hit = map.get(k)?.deref();
  if (hit !== undefined) return hit;
  map.set(k, new WeakRef(value));
  return value;
}

// A leaf's signature covers all of its content, so equal signatures mean equal leaves; a parent node is
// its public key, parent hash and unmerged leaves.
function nodeKey(n: TreeNode): string {
  if (n.nodeType === "leaf") return `L${key(n.leaf.signature)}`;
  const p = n.parent;
  return `P${key(p.hpkePublicKey)}${key(p.parentHash)}${p.unmergedLeaves.join(",")}`;
}

// An untouched secret tree (every ratchet at generation 0, nothing skipped) is a function of the epoch's
// encryption secret, which any one of its node secrets stands for.
function freshSecretTreeKey(t: SecretTree): string | undefined {
  for (const n of t)
    for (const r of [n.application, n.handshake])
      if (r.generation !== 0 || Object.keys(r.unusedGenerations).length !== 0) return undefined;
  const first = t[0];
  return first === undefined ? undefined : `${t.length}:${key(first.application.secret)}`;
}

function prune(t: Tables): void {
  for (const map of [t.nodes, t.secretTrees] as Map<string, WeakRef<object>>[])
    for (const [k, ref] of map) if (ref.deref() === undefined) map.delete(k);
  t.pruneAt = Math.max(1 << 16, 2 * (t.nodes.size + t.secretTrees.size));
}

/** `state` with its tree nodes and fresh secret tree replaced by shared equal ones (unchanged if off). */
export function intern(state: ClientState): ClientState {
  const t = tables;
  if (t === undefined) return state;
  const ratchetTree = state.ratchetTree.map((n) => (n === undefined ? n : canonical(t.nodes, nodeKey(n), n)));
  const k = freshSecretTreeKey(state.secretTree);
  const secretTree = k === undefined ? state.secretTree : canonical(t.secretTrees, k, state.secretTree);
  if (t.nodes.size + t.secretTrees.size > t.pruneAt) prune(t);
  return { ...state, ratchetTree, secretTree };
}
