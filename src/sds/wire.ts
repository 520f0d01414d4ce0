// SDS wire format (proto/sds.proto), hand-written over protobuf wire primitives. Field numbers and
// encodings match the spec and @waku/sds, which the tests check both ways.
import { BinaryWriter, DecodeError, readFields, WireType, writeBytes, writeUint64 } from "../util/proto.ts";

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

function writeString(w: BinaryWriter, field: number, s: string | undefined): void {
  if (s !== undefined && s !== "") w.tag(field, WireType.LengthDelimited).string(s);
}

function encodeEntry(e: HistoryEntry): Uint8Array {
  const w = new BinaryWriter();
  writeString(w, 1, e.messageId);
  writeBytes(w, 2, e.retrievalHint);
  if (e.senderId !== undefined) w.tag(3, WireType.LengthDelimited).string(e.senderId);
  return w.finish();
}

function decodeEntry(bytes: Uint8Array): HistoryEntry {
  let messageId = "";
  let retrievalHint: Uint8Array | undefined;
  let senderId: string | undefined;
  readFields(bytes, "HistoryEntry", (f, r) => {
    if (f === 1) messageId = r.string();
    else if (f === 2) retrievalHint = r.bytes();
    else if (f === 3) senderId = r.string();
    else return false;
    return true;
  });
  return {
    messageId,
    ...(retrievalHint !== undefined ? { retrievalHint } : {}),
    ...(senderId !== undefined ? { senderId } : {}),
  };
}

export function encodeSdsMessage(m: SdsMessage): Uint8Array {
  const w = new BinaryWriter();
  writeString(w, 1, m.senderId);
  writeString(w, 2, m.messageId);
  writeString(w, 3, m.channelId);
  writeUint64(w, 10, m.lamportTimestamp);
  for (const e of m.causalHistory) writeBytes(w, 11, encodeEntry(e));
  writeBytes(w, 12, m.bloomFilter);
  for (const e of m.repairRequest) writeBytes(w, 13, encodeEntry(e));
  writeBytes(w, 20, m.content);
  return w.finish();
}

/**
 * Decodes an SDS message. Unknown fields are skipped (forward compatibility).
 * @throws {DecodeError} `MALFORMED` for bytes that are not a protobuf SDS message, or lack a message or
 * sender id.
 */
export function decodeSdsMessage(bytes: Uint8Array): SdsMessage {
  let senderId = "";
  let messageId = "";
  let channelId = "";
  let lamportTimestamp: bigint | undefined;
  const causalHistory: HistoryEntry[] = [];
  let bloomFilter: Uint8Array | undefined;
  const repairRequest: HistoryEntry[] = [];
  let content: Uint8Array | undefined;
  readFields(bytes, "SdsMessage", (f, r) => {
    if (f === 1) senderId = r.string();
    else if (f === 2) messageId = r.string();
    else if (f === 3) channelId = r.string();
    else if (f === 10) lamportTimestamp = r.uint64();
    else if (f === 11) causalHistory.push(decodeEntry(r.message()));
    else if (f === 12) bloomFilter = r.bytes();
    else if (f === 13) repairRequest.push(decodeEntry(r.message()));
    else if (f === 20) content = r.bytes();
    else return false;
    return true;
  });
  if (messageId === "" || senderId === "") throw new DecodeError("SdsMessage: missing message or sender id");
  return {
    senderId,
    messageId,
    channelId,
    ...(lamportTimestamp !== undefined ? { lamportTimestamp } : {}),
    causalHistory,
    ...(bloomFilter !== undefined ? { bloomFilter } : {}),
    repairRequest,
    ...(content !== undefined ? { content } : {}),
  };
}
