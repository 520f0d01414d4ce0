// SDS wire format (proto/sds.proto) as a schema table, like the other layers' codecs: the field numbers in
// one place, and every uint64 bounded by the protobuf reader. Field numbers and encodings match the spec
// and @waku/sds, which the tests check both ways.
import { DecodeError } from "../util/proto.ts";
import { decode, encode } from "../util/schema.ts";

/** An entry of a causal history or of a repair request. */
export interface HistoryEntry {
  readonly messageId: string;
  readonly retrievalHint?: Uint8Array;
  readonly senderId?: string;
}

/** One SDS message. No `lamportTimestamp`: ephemeral. No or empty `content`: sync message. */
export interface SdsMessage {
  readonly senderId: string;
  readonly messageId: string;
  readonly channelId: string;
  readonly lamportTimestamp?: bigint;
  readonly causalHistory: readonly HistoryEntry[];
  readonly bloomFilter?: Uint8Array;
  readonly repairRequest: readonly HistoryEntry[];
  readonly content?: Uint8Array;
}

export const HistoryEntrySchema = {
  messageId: [1, "string"],
  retrievalHint: [2, "bytes"],
  senderId: [3, "string"],
} as const;
export const SdsMessageSchema = {
  senderId: [1, "string"],
  messageId: [2, "string"],
  channelId: [3, "string"],
  lamportTimestamp: [10, "u64"],
  causalHistory: [11, HistoryEntrySchema, "repeated"],
  bloomFilter: [12, "bytes"],
  repairRequest: [13, HistoryEntrySchema, "repeated"],
  content: [20, "bytes"],
} as const;

/** An empty string is proto3's default: not written (as @waku/sds writes it). */
const nonEmpty = (s: string | undefined) => (s === "" ? undefined : s);

const entryOut = (e: HistoryEntry) => ({ ...e, messageId: nonEmpty(e.messageId) });

export function encodeSdsMessage(m: SdsMessage): Uint8Array {
  return encode(SdsMessageSchema, {
    ...m,
    senderId: nonEmpty(m.senderId),
    messageId: nonEmpty(m.messageId),
    channelId: nonEmpty(m.channelId),
    causalHistory: m.causalHistory.map(entryOut),
    repairRequest: m.repairRequest.map(entryOut),
  });
}

function entryIn(e: { messageId?: string; retrievalHint?: Uint8Array; senderId?: string }): HistoryEntry {
  return {
    messageId: e.messageId ?? "",
    ...(e.retrievalHint !== undefined ? { retrievalHint: e.retrievalHint } : {}),
    ...(e.senderId !== undefined ? { senderId: e.senderId } : {}),
  };
}

/**
 * Decodes an SDS message. Unknown fields are skipped (forward compatibility).
 * @throws {DecodeError} `MALFORMED` for bytes that are not a protobuf SDS message, or lack a message or
 * sender id.
 */
export function decodeSdsMessage(bytes: Uint8Array): SdsMessage {
  const m = decode(SdsMessageSchema, bytes, "SdsMessage");
  if (!m.messageId || !m.senderId) throw new DecodeError("SdsMessage: missing message or sender id");
  return {
    senderId: m.senderId,
    messageId: m.messageId,
    channelId: m.channelId ?? "",
    ...(m.lamportTimestamp !== undefined ? { lamportTimestamp: m.lamportTimestamp } : {}),
    causalHistory: m.causalHistory.map(entryIn),
    ...(m.bloomFilter !== undefined ? { bloomFilter: m.bloomFilter } : {}),
    repairRequest: m.repairRequest.map(entryIn),
    ...(m.content !== undefined ? { content: m.content } : {}),
  };
}

/**
 * The sender of `bytes` if it is a message only its sender puts on the wire: a sync or an ephemeral
 * message (content messages are resent, repaired and relayed by others under their sender's id).
 * Undefined for content and for bytes that are not an SDS message. Unauthenticated, as every SDS field.
 */
export function selfSentBy(bytes: Uint8Array): string | undefined {
  let m: SdsMessage;
  try {
    m = decodeSdsMessage(bytes);
  } catch {
    return undefined;
  }
  const content = m.content !== undefined && m.content.length > 0;
  return !content || m.lamportTimestamp === undefined ? m.senderId : undefined;
}
