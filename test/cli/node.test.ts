// `demls node` as a user runs it, a real process over libp2p TCP: commands piped in before it is up are
// all read, a failed dial (refused, or a peer that is not who the address says) is reported and the node
// goes on, `/quit` saves and exits, a restart resumes, and a data file it cannot run as is refused with
// its reason and exit code 2, without a stack trace; a joiner waits for the member's `/vote`.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";

const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "demls-node-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
/** A valid peer id that no node here has. */
const STRANGER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

function node(args: string[], input: string) {
  const r = spawnSync(process.execPath, [MAIN, "node", ...args], {
    input,
    encoding: "utf8",
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

it("demls node reads every piped command, survives failed dials, exits on /quit, and resumes from its file", async () => {
  const data = join(dir, "alice.sqlite");
  const port = await freePort();
  const first = node(
    ["--name", "alice", "--create", "--data", data, "--listen", `/ip4/127.0.0.1/tcp/${port}`],
    [
      "/status",
      `/dial /ip4/127.0.0.1/tcp/1/p2p/${STRANGER}`, // nothing listens there
      `/dial /ip4/127.0.0.1/tcp/${port}/p2p/${STRANGER}`, // someone listens, with another identity
      "/dial not-an-address",
      "/status",
      "hello, nobody",
      "/quit",
      "",
    ].join("\n"),
  );
  assert.equal(first.status, 0, `${first.out}\n${first.err}`);
  assert.equal(
    first.out.match(/^alice epoch 0 state 0:\w+ \w+ peers 0 roster alice$/gm)?.length,
    2,
    first.out,
  );
  assert.match(first.out, /^sent [0-9a-f]{8}$/m, "a sent mark for our chat");
  const errors = first.out.match(/^error: .*$/gm) ?? [];
  assert.equal(errors.length, 3, first.out);
  assert.match(errors[1]!, /does not match expected remote identity/);
  assert.doesNotMatch(first.err, /\n\s+at /, "no stack trace");

  const second = node(["--name", "alice", "--data", data], "/status\n/quit\n");
  assert.equal(second.status, 0, `${second.out}\n${second.err}`);
  assert.match(second.out, /alice: restored from/);
  const peerId = (out: string) => /^listening .*\/p2p\/(\w+)$/m.exec(out)?.[1];
  assert.ok(peerId(first.out));
  assert.equal(peerId(second.out), peerId(first.out), "the restarted node has the same peer id");
  assert.match(second.out, /^alice epoch 0 state 0:\w+ \w+ peers 0 roster alice$/m);
});

it("demls node refuses another member's data file, a damaged one, and one in use: exit code 2, the reason, no stack trace", () => {
  const data = join(dir, "carol.sqlite");
  assert.equal(node(["--name", "carol", "--create", "--data", data], "/quit\n").status, 0);
  const wrong = node(["--name", "dave", "--data", data], "/quit\n");
  assert.equal(wrong.status, 2);
  assert.match(wrong.err, /belongs to member 'carol', not 'dave' \(WRONG_MEMBER\)/);
  assert.doesNotMatch(wrong.err, /\n\s+at /);

  const junk = join(dir, "junk.sqlite");
  writeFileSync(junk, "garbage, not sqlite");
  const bad = node(["--name", "erin", "--data", junk], "/quit\n");
  assert.equal(bad.status, 2);
  assert.match(bad.err, /is not a readable member store: .*\(STORE_UNREADABLE\)/);
  assert.doesNotMatch(bad.err, /\n\s+at /);

  // A lock file naming a live process (this test's): the data file is in use.
  writeFileSync(`${data}.lock`, JSON.stringify({ pid: process.pid, since: "now" }));
  const busy = node(["--name", "carol", "--data", data], "/quit\n");
  assert.equal(busy.status, 2);
  assert.match(busy.err, new RegExp(`in use by process ${process.pid}.*\\(STORE_LOCKED\\)`));
  assert.doesNotMatch(busy.err, /\n\s+at /);
});

/** A `demls node` process driven line by line. */
function live(args: string[]) {
  const p = spawn(process.execPath, [MAIN, "node", ...args]);
  const lines: string[] = [];
  let buf = "";
  p.stdout.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
  return {
    lines,
    exited,
    send: (line: string) => p.stdin.write(`${line}\n`),
    kill: () => p.kill("SIGKILL"),
    /** The first line (from the `from`th on) matching `re`; fails the test after a minute without one. */
    async line(re: RegExp, from = 0): Promise<RegExpMatchArray> {
      for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
        const m = lines
          .slice(from)
          .find((l) => re.test(l))
          ?.match(re);
        if (m) return m;
      }
      throw new Error(`no line ${re} in:\n${lines.join("\n")}`);
    },
  };
}

it("demls node: a joiner waits for the vote; /pending lists it, /vote with an id prefix approves it", async () => {
  const alice = live(["--name", "alice", "--create", "--data", join(dir, "va.sqlite")]);
  const bob = live(["--name", "bob", "--data", join(dir, "vb.sqlite")]);
  try {
    const [, address] = await alice.line(/^listening (\S+)$/);
    bob.send(`/dial ${address}`);
    const [, prefix] = await alice.line(/^proposal (\w{8}): add bob by alice \(\/vote \w{8} yes\|no\)$/);
    const listed = alice.lines.length;
    alice.send("/pending");
    await alice.line(new RegExp(`^proposal ${prefix}: add bob by alice`), listed);
    assert.equal(bob.lines.filter((l) => /^joined/.test(l)).length, 0, "not in before the vote");
    alice.send("/vote zzzz yes");
    await alice.line(/^error: no proposal zzzz/);
    alice.send(`/vote ${prefix!.slice(0, 5)} yes`);
    await alice.line(new RegExp(`^voted yes on ${prefix}$`));
    await alice.line(new RegExp(`^proposal ${prefix} decided YES$`));
    await bob.line(/^joined at epoch 1$/);
    alice.send("/pending");
    await alice.line(/^no proposal waits for your vote$/);
    for (const n of [alice, bob]) n.send("/quit");
    assert.deepEqual(await Promise.all([alice.exited, bob.exited]), [0, 0]);
  } finally {
    alice.kill();
    bob.kill();
  }
});
