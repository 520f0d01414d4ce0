// Sending on the group's SDS channel: an application payload is encrypted under the current epoch and
// goes out as an SDS message; what SDS returns becomes group effects.
import { encrypt } from "../mls/index.ts";
import type { SdsEffect, SendOptions } from "../sds/index.ts";
import { chatOutcome } from "./chat-delivery.ts";
import { requireActiveGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { GroupError } from "./errors.ts";
import { encodeGroupFrame, encodePayload, type GroupPayload } from "./frames.ts";
import { hintOfWaiting } from "./held.ts";
import type { GroupCore } from "./state.ts";

/**
 * The group effects of an SDS effect other than a delivery: a publish on the app topic, the outcome of
 * one of our chats, a hint of another state. Deliveries are the inbound path's (`onSds`); sending never
 * delivers.
 */
export function channelEffects(core: GroupCore, e: SdsEffect): GroupEffect[] {
  if (e.type === "publish")
    return [{ type: "publish", topic: core.topics.app, bytes: e.bytes, ...(e.to ? { to: e.to } : {}) }];
  if (e.type === "acknowledged" || e.type === "unacknowledged") return chatOutcome(core, e);
  if (e.type === "waiting") return hintOfWaiting(core, e.content);
  return [];
}

/**
 * Sends a group frame on the SDS channel.
 * @throws {GroupError} `NO_GROUP` without a channel, `REMOVED` once a commit removed us from the group.
 */
export function sendFrame(
  core: GroupCore,
  frame: Uint8Array,
  now: number,
  options?: SendOptions,
): GroupEffect[] {
  requireActiveGroup(core);
  if (core.sds === undefined) throw new GroupError("NO_GROUP", "no channel");
  return core.sds.send(frame, now, options).effects.flatMap((e) => channelEffects(core, e));
}

/**
 * Encrypts a payload under the current epoch and sends it.
 * @throws {GroupError} `NO_GROUP` before we joined one, `REMOVED` once a commit removed us from it.
 */
export async function sendPayload(
  core: GroupCore,
  payload: Partial<GroupPayload>,
  now: number,
  options?: SendOptions,
): Promise<GroupEffect[]> {
  const r = await encrypt(requireActiveGroup(core), encodePayload(payload));
  core.group = r.group;
  return sendFrame(core, encodeGroupFrame({ application: r.message }), now, options);
}
