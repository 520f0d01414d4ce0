// Public API of the SDS layer.
export * from "./bloom.ts";
export * from "./channel.ts";
export * from "./config.ts";
export * from "./endpoint.ts";
export * from "./errors.ts";
export * from "./repair-timing.ts";
export { messageIdOf } from "./sending.ts";
export { newSdsState } from "./state.ts";
export type {
  SdsEffect,
  SdsEffectType,
  SdsErrorCode,
  SdsState,
  SdsStats,
  SendOptions,
} from "./types.ts";
export * from "./waku.ts";
export * from "./wire.ts";
