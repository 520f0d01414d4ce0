// SDS-R timing and responder selection (the SDS spec's SDS-R section). Pure functions of ids and time so
// every participant computes the same schedule. H = first 8 bytes of SHA-256, big-endian, over the
// concatenated strings: the convention of @waku/sds, so mixed deployments agree on who answers first.
import { hash } from "node:crypto";

/**
 * `H(parts...)`: the first 8 bytes of SHA-256 of the concatenated UTF-8 strings, as an unsigned integer.
 * node's one-shot `hash` with hex output: 1.2 µs against 10 through noble with an encoder, and every holder
 * of a message computes this for each repair request entry it receives.
 * The test checks it against the definition with noble.
 */
export function repairHash(...parts: string[]): bigint {
  return BigInt(`0x${hash("sha256", parts.join(""), "hex").slice(0, 16)}`);
}

/** When a participant that misses `messageId` first asks for it: `now + H(self, msg) mod (tMax - tMin) + tMin`. */
export function requestTime(
  selfId: string,
  messageId: string,
  now: number,
  tMinMs: number,
  tMaxMs: number,
): number {
  const range = BigInt(Math.max(1, tMaxMs - tMinMs));
  return now + Number(repairHash(selfId, messageId) % range) + tMinMs;
}

/**
 * When a participant holding `messageId` answers a repair request: `now + (H(self) XOR H(sender)) * H(msg)
 * mod tMax`. The original sender answers at once. Participants "close" to the sender answer earlier, and the
 * product spreads everybody else so that one response usually cancels the rest.
 */
export function responseTime(
  selfId: string,
  senderId: string,
  messageId: string,
  now: number,
  tMaxMs: number,
): number {
  if (selfId === senderId) return now;
  const distance = repairHash(selfId) ^ repairHash(senderId);
  return now + Number((distance * repairHash(messageId)) % BigInt(Math.max(1, tMaxMs)));
}

/** Members per response group in the spec's rule (`num_participants div 128 + 1` groups). */
export const SPEC_RESPONSE_GROUP_SIZE = 128;

/**
 * Members per response group demls answers with. Under the spec's 128, every holder in a group of up to
 * 127 members is a responder: each schedules an answer and cancels it when it sees one, but a holder
 * that misses the first answer (one in five at 20% loss) broadcasts another, so a group of 100 answered
 * one request about 20 times, each to all 99 others. With groups of about 8, a request draws the
 * original sender's answer and the answers of the few group members that missed it (docs/decisions.md,
 * "SDS-R response groups of 8").
 */
export const RESPONSE_GROUP_SIZE = 8;

/** Number of response groups: `num_participants div size + 1` (the spec: size 128). */
export function responseGroups(participants: number): number {
  return responseGroupsOfSize(participants, SPEC_RESPONSE_GROUP_SIZE);
}

/** Number of response groups of about `size` members: `num_participants div size + 1`. */
export function responseGroupsOfSize(participants: number, size: number): number {
  return Math.floor(Math.max(0, participants) / Math.max(1, size)) + 1;
}

/**
 * Whether `selfId` is in the response group for a message from `senderId`:
 * `H(self, msg) mod G == H(sender, msg) mod G` with `G = participants div size + 1` (the spec's size:
 * 128). Only that group answers, so repair traffic stays proportional to the group size, not to the
 * channel's.
 */
export function inResponseGroup(
  selfId: string,
  senderId: string,
  messageId: string,
  participants: number,
  size = SPEC_RESPONSE_GROUP_SIZE,
): boolean {
  const g = BigInt(responseGroupsOfSize(participants, size));
  return repairHash(selfId, messageId) % g === repairHash(senderId, messageId) % g;
}

/**
 * Whether `selfId` answers a requester's first ask for `messageId` when answers go to the requester only:
 * the original sender does, and so do the members of the response group whose answer falls in the first
 * `1 / RESPONSE_GROUP_SIZE` of `T_max` (about one per group). A direct answer cancels no other responder
 * (none of them sees it), so the whole group answering would send the requester one copy per member.
 */
export function answersFirstAsk(
  selfId: string,
  senderId: string,
  messageId: string,
  tMaxMs: number,
): boolean {
  return responseTime(selfId, senderId, messageId, 0, tMaxMs) < tMaxMs / RESPONSE_GROUP_SIZE;
}
