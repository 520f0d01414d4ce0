// Public API of the SDS layer.
export * from "./bloom.ts";
export * from "./channel.ts";
export * from "./config.ts";
export * from "./endpoint.ts";
export * from "./repair-timing.ts";
export * from "./wire.ts";
