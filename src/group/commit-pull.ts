// Commit resolution in about one round trip (docs/decisions.md, "A lost commit is pulled"): a few members
// (`attesters`) attest each commit candidate they stage by its hash; a member that sees a hash attested
// which it lacks asks two of the attesters for the body, and the next two every `commitPullRetryMs`; a
// holder named answers with the commit frame. Every message here is an SDS ephemeral (no acks, no
// resends, no repair): losing one costs one retry, and the SDS stream still brings the commit itself. An
// attested hash that is still being pulled holds the stewards back: the commit exists, so a backup's own
// would only compete with it. Nothing here adopts anything: a pulled body goes through the same checks
// as any commit frame (MLS validation, steward list, proposals).
import { sha256 } from "@noble/hashes/sha2.js";
import { encrypt } from "../mls/index.ts";
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex } from "../util/bytes.ts";
import { reject, requireActiveGroup, requireGroup, rosterIds } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import {
  type CommitPull,
  type CommitRef,
  encodeGroupFrame,
  encodePayload,
  type GroupPayload,
} from "./frames.ts";
import { channelEffects } from "./outbound.ts";
import { type AttestedCommit, type CommitPulls, type GroupCore, newCommitPulls } from "./state.ts";

/**
 * Pulls of one attested commit before it is given up (each to the next holders): at 30% loss one pull
 * to two holders fails with probability 0.26, eight in a row with 2e-5.
 */
export const MAX_PULLS = 8;
/** Holders one pull names: each answers, so that one lost answer does not cost a retry. */
export const HOLDERS_PER_PULL = 2;
/** Attesters remembered per commit: the holders pulls go to. */
export const MAX_HOLDERS = 8;
/**
 * Members that attest a commit: the first of the roster (but its committer) by SHA-256(hash ‖ id), so
 * that each commit has its own. A member that lost the commit misses all their attestations with
 * probability loss^ATTESTERS (7e-4 at 30% loss); the SDS stream and the sync layer still bring it then.
 */
export const ATTESTERS = 6;
/** Distinct commits one member may attest in an epoch that we pull: an honest one attests one or two. */
export const ATTESTS_PER_MEMBER = 2;

/** The resolution state of the current epoch (a new epoch starts it empty). */
export function resolution(core: GroupCore): CommitPulls {
  const epoch = requireGroup(core).epoch;
  if (core.state.commitPulls.epoch !== epoch) core.state.commitPulls = newCommitPulls(epoch);
  return core.state.commitPulls;
}

/** Encrypts a payload under the current epoch and sends it as an SDS ephemeral. */
export async function sendEphemeralPayload(
  core: GroupCore,
  payload: Partial<GroupPayload>,
  now: number,
): Promise<GroupEffect[]> {
  const r = await encrypt(requireActiveGroup(core), encodePayload(payload));
  core.group = r.group;
  return sendEphemeralFrame(core, encodeGroupFrame({ application: r.message }), now);
}

function sendEphemeralFrame(core: GroupCore, frame: Uint8Array, now: number): GroupEffect[] {
  if (core.sds === undefined) return [];
  return core.sds.sendEphemeral(frame, now).flatMap((e) => channelEffects(core, e));
}

/**
 * A candidate of the current epoch was staged: it is no longer pulled; when another member built it, we
 * attest it (once). Returns what goes out.
 */
export async function attest(
  core: GroupCore,
  hash: Uint8Array,
  sender: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  const r = resolution(core);
  const key = toHex(hash);
  r.attested.delete(key);
  if (bytesEqual(sender, core.identity.id) || r.sent.has(key)) return [];
  r.sent.add(key);
  if (!attesters(core, hash, sender).some((m) => bytesEqual(m, core.identity.id))) return [];
  return sendEphemeralPayload(core, { commitSeen: { epoch: r.epoch, hash } }, now);
}

/** The members that attest commit `hash` of `committer`, in the current roster. */
export function attesters(core: GroupCore, hash: Uint8Array, committer: Uint8Array): Uint8Array[] {
  return rosterIds(core)
    .filter((m) => !bytesEqual(m, committer))
    .map((m) => ({ m, k: sha256(concatBytes(hash, m)) }))
    .sort((a, b) => compareBytes(a.k, b.k) || compareBytes(a.m, b.m))
    .slice(0, ATTESTERS)
    .map((x) => x.m);
}

/**
 * When the candidate `hash` was first seen attested, if it was (its freeze counts from then: the members
 * that attested it started theirs about one link delay before).
 */
export function attestedAt(core: GroupCore, hash: Uint8Array): number | undefined {
  const r = core.state.commitPulls;
  return r.epoch === core.group?.epoch ? r.attested.get(toHex(hash))?.firstAt : undefined;
}

/**
 * We hold the body of `hash` and it did not stage (we lack its proposals, or it is invalid): it is not
 * pulled again, and holds nobody back.
 */
export function bodyRefused(core: GroupCore, hash: Uint8Array): void {
  const a = resolution(core).attested.get(toHex(hash));
  if (a === undefined) return;
  a.pulls = MAX_PULLS + 1;
  a.nextAt = Number.POSITIVE_INFINITY;
}

/** Whether a commit of the current epoch is attested and still being pulled: stewards hold back. */
export function awaitingAttested(core: GroupCore): boolean {
  const r = core.state.commitPulls;
  if (r.epoch !== core.group?.epoch) return false;
  for (const a of r.attested.values()) if (a.pulls <= MAX_PULLS) return true;
  return false;
}

/** `sender` attests a commit: if it is of our epoch and we lack it, we pull it at once. */
export async function onCommitSeen(
  core: GroupCore,
  ref: CommitRef,
  sender: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  const s = core.state;
  if (ref.hash?.length !== 32) return [reject(core, "MALFORMED", "attested hash of a wrong length")];
  const r = resolution(core);
  if (ref.epoch !== r.epoch) return [];
  if (s.candidates.some((c) => bytesEqual(c.hash, ref.hash!))) return [];
  const key = toHex(ref.hash);
  const known = r.attested.get(key);
  if (known !== undefined) {
    if (known.holders.length < MAX_HOLDERS && !known.holders.some((h) => bytesEqual(h, sender)))
      known.holders.push(sender);
    return [];
  }
  const by = toHex(sender);
  const count = r.bySender.get(by) ?? 0;
  if (count >= ATTESTS_PER_MEMBER || r.attested.size >= core.params.observedPerEpoch)
    return [reject(core, "OBSERVED_FULL", `more commits attested for epoch ${r.epoch} than pulled`)];
  r.bySender.set(by, count + 1);
  const nextAt = now + firstPullDelay(core, ref.hash);
  r.attested.set(key, { firstAt: now, holders: [sender], pulls: 0, nextAt });
  return [];
}

/**
 * How long a member waits for the body of an attested commit before it pulls it: a quarter of the retry
 * interval (the body, sent before the attestation, is usually on its way: with links of 0.5-2 s an
 * attestation is 1 s behind the body at least), plus up to another quarter by SHA-256(self ‖ hash), so
 * that the members lacking it do not all pull at once and most see a pull (and its answer) first.
 */
export function firstPullDelay(core: GroupCore, hash: Uint8Array): number {
  const quarter = Math.floor(core.params.commitPullRetryMs / 4);
  const h = sha256(concatBytes(core.identity.id, hash));
  return quarter + (quarter > 0 ? ((h[0]! << 8) | h[1]!) % quarter : 0);
}

/** Sends one pull for an attested commit, to the next `HOLDERS_PER_PULL` holders. */
async function pull(
  core: GroupCore,
  hash: Uint8Array,
  a: AttestedCommit,
  now: number,
): Promise<GroupEffect[]> {
  const n = a.holders.length;
  const holders: Uint8Array[] = [];
  for (let i = 0; i < Math.min(n, HOLDERS_PER_PULL); i++)
    holders.push(a.holders[(a.pulls * HOLDERS_PER_PULL + i) % n]!);
  a.pulls++;
  a.nextAt = now + core.params.commitPullRetryMs;
  const epoch = core.state.commitPulls.epoch;
  return sendEphemeralPayload(core, { commitPull: { epoch, hash, holders } }, now);
}

/** When the next pull is due (infinite: none). */
export function pullsDue(core: GroupCore): number {
  const r = core.state.commitPulls;
  if (r.epoch !== core.group?.epoch) return Number.POSITIVE_INFINITY;
  let t = Number.POSITIVE_INFINITY;
  for (const a of r.attested.values()) t = Math.min(t, a.nextAt);
  return t;
}

/** Pulls due again (the answer or the pull was lost, or the holder is gone), and pulls given up. */
export async function sweepPulls(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const r = core.state.commitPulls;
  if (r.epoch !== core.group?.epoch) return [];
  const out: GroupEffect[] = [];
  for (const [key, a] of r.attested) {
    if (a.nextAt > now) continue;
    if (a.pulls >= MAX_PULLS) {
      // The last pull had its round trip: whoever attested it cannot or will not show it. Kept (not
      // pulled again on a new attestation) but no longer holding the stewards back.
      a.pulls = MAX_PULLS + 1;
      a.nextAt = Number.POSITIVE_INFINITY;
      continue;
    }
    out.push(...(await pull(core, fromHex(key), a, now)));
  }
  return out;
}

/**
 * A pull: only the members named as holders answer, with the commit frame, if it has the commit (a
 * candidate, its own, or one it applied for that epoch), once per retry interval whoever asks.
 */
export function onCommitPull(core: GroupCore, req: CommitPull, now: number): GroupEffect[] {
  if (req.hash?.length !== 32 || req.epoch === undefined || req.holders.length > HOLDERS_PER_PULL)
    return [reject(core, "MALFORMED", "a commit pull without its fields, or to too many holders")];
  if (!req.holders.some((h) => bytesEqual(h, core.identity.id))) {
    // Another member pulls a commit we lack too: its answer is broadcast, so ours waits for it.
    const r = resolution(core);
    const a = req.epoch === r.epoch ? r.attested.get(toHex(req.hash)) : undefined;
    if (a !== undefined && a.pulls < MAX_PULLS)
      a.nextAt = Math.max(a.nextAt, now + core.params.commitPullRetryMs);
    return [];
  }
  const key = toHex(req.hash);
  const r = resolution(core);
  const last = r.answered.get(key);
  if (last !== undefined && now - last < core.params.commitPullRetryMs / 2) return [];
  const body = bodyOf(core, req.epoch, req.hash);
  if (body === undefined) return [];
  r.answered.set(key, now);
  return sendEphemeralFrame(core, encodeGroupFrame({ commit: body }), now);
}

/** The bytes of a commit for `epoch` with SHA-256 `hash`, if we hold it. */
function bodyOf(core: GroupCore, epoch: bigint, hash: Uint8Array): Uint8Array | undefined {
  const s = core.state;
  if (epoch === requireGroup(core).epoch) {
    const c = s.candidates.find((x) => bytesEqual(x.hash, hash));
    if (c !== undefined) return c.bytes;
    const own = core.vol.ownCommit?.bytes;
    if (own !== undefined && bytesEqual(sha256(own), hash)) return own;
  }
  return s.commitLog.find((c) => c.epoch === epoch && bytesEqual(sha256(c.commit), hash))?.commit;
}
