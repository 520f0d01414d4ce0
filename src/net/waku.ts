// WakuMessage envelope (proto/waku_message.proto): content topic + payload, carried on a relay pubsub topic.
import { BinaryWriter, DecodeError, readFields, WireType, writeBytes } from "../util/proto.ts";

/** The relay pubsub topic de-MLS uses (static sharding: cluster 15, shard 1). */
export const DEFAULT_PUBSUB_TOPIC = "/waku/2/rs/15/1";
/** Waku relay's gossipsub protocol id. */
export const WAKU_RELAY_PROTOCOL = "/vac/waku/relay/2.0.0";

export interface WakuMessage {
  readonly payload: Uint8Array;
  readonly contentTopic: string;
  /** Unix time in nanoseconds. */
  readonly timestamp?: bigint;
}

export function encodeWakuMessage(m: WakuMessage): Uint8Array {
  const w = new BinaryWriter();
  writeBytes(w, 1, m.payload);
  w.tag(2, WireType.LengthDelimited).string(m.contentTopic);
  if (m.timestamp !== undefined) w.tag(10, WireType.Varint).sint64(m.timestamp);
  return w.finish();
}

/** @throws {DecodeError} for bytes that are not a WakuMessage with a content topic. */
export function decodeWakuMessage(bytes: Uint8Array): WakuMessage {
  let payload: Uint8Array = new Uint8Array();
  let contentTopic = "";
  readFields(bytes, "WakuMessage", (f, r) => {
    if (f === 1) payload = r.bytes();
    else if (f === 2) contentTopic = r.string();
    else return false;
    return true;
  });
  if (contentTopic === "") throw new DecodeError("WakuMessage: no content topic");
  return { payload, contentTopic };
}
