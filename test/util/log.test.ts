import assert from "node:assert/strict";
import { it } from "node:test";
import { debugEnabled, logger } from "../../src/util/log.ts";

it("DEBUG namespaces: wildcards, lists, and exclusions, the last matching rule winning", () => {
  assert.equal(debugEnabled("demls:member:alice", ""), false);
  assert.equal(debugEnabled("demls:member:alice", "demls:*"), true);
  assert.equal(debugEnabled("demls:member:alice", "libp2p:*"), false);
  assert.equal(debugEnabled("demls:member:alice", "demls:member:bob,demls:member:alice"), true);
  assert.equal(debugEnabled("demls:rejected", "demls:*,-demls:rejected"), false);
  assert.equal(debugEnabled("demls:member:a.b", "demls:member:a?b"), false, "only * is a wildcard");
});

it("a logger writes `namespace +Δms message` only when enabled", () => {
  const lines: string[] = [];
  const before = process.env.DEBUG;
  process.env.DEBUG = "demls:test";
  try {
    logger("demls:test", (l) => lines.push(l))("hello");
    logger("demls:other", (l) => lines.push(l))("not this");
  } finally {
    if (before === undefined) delete process.env.DEBUG;
    else process.env.DEBUG = before;
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^demls:test \+\d+ms hello$/);
});
