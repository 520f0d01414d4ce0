// A driver for `mls_peer` (interop/src/bin/mls_peer.rs), the OpenMLS client of the interop test: one child
// process per member, one JSON request per line on its stdin, one JSON reply per line on its stdout, in
// order. Bytes travel as hex. The command table is in interop/src/mls_peer/protocol.rs.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fromHex, toHex, utf8 } from "../../src/util/bytes.ts";

/** Where `npm run test:interop` builds the peer: `$MLS_PEER`, else the debug binary under the cargo target dir. */
export function peerBinary(): string {
  if (process.env.MLS_PEER) return process.env.MLS_PEER;
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "demls-interop-target");
  return join(target, "debug", "mls_peer");
}

/** The codes `mls_peer` answers a failed command with (`ErrorCode` in interop/src/mls_peer/error.rs). */
export type PeerErrorCode = "BAD_REQUEST" | "NOT_READY" | "MALFORMED" | "REJECTED" | "INTERNAL";

/** A command the OpenMLS peer refused; its state is unchanged. */
export class PeerError extends Error {
  readonly code: PeerErrorCode;
  constructor(code: PeerErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

type Reply = Record<string, unknown>;

/** What the OpenMLS peer made of a message (`process`). */
export type PeerProcessed =
  | { kind: "commit"; sender: Uint8Array; epoch: bigint }
  | { kind: "application"; sender: Uint8Array; epoch: bigint; plaintext: Uint8Array }
  | { kind: "proposal"; sender: Uint8Array; epoch: bigint };

/** A commit the peer made and merged. */
export interface PeerCommit {
  commit: Uint8Array;
  welcome: Uint8Array | undefined;
  epoch: bigint;
}

function bytesOf(reply: Reply, name: string): Uint8Array {
  const v = reply[name];
  if (typeof v !== "string") throw new Error(`mls_peer reply lacks ${name}: ${JSON.stringify(reply)}`);
  return fromHex(v);
}

function epochOf(reply: Reply): bigint {
  const v = reply.epoch;
  if (typeof v !== "number") throw new Error(`mls_peer reply lacks epoch: ${JSON.stringify(reply)}`);
  return BigInt(v);
}

/** One OpenMLS member in its own process. */
export class MlsPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private stderr = "";
  private exited: Error | undefined;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const next = this.waiting.shift();
      if (next === undefined) return;
      try {
        next.resolve(JSON.parse(line) as Reply);
      } catch {
        next.reject(new Error(`mls_peer answered a line that is not JSON: ${line}`));
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    child.on("exit", (code, signal) => {
      this.exited = new Error(`mls_peer exited (${code ?? signal}): ${this.stderr}`);
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  /** Starts a peer whose basic credential carries `identity`. */
  static async start(identity: string, binary = peerBinary()): Promise<MlsPeer> {
    if (!existsSync(binary))
      throw new Error(`${binary} is missing: run \`npm run test:interop\`, which builds it first`);
    const peer = new MlsPeer(spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] }));
    await peer.call("init", { identity: toHex(utf8(identity)) });
    return peer;
  }

  /** Sends one command and waits for its reply; a refusal throws {@link PeerError}. */
  async call(op: string, fields: Record<string, string | undefined> = {}): Promise<Reply> {
    if (this.exited) throw this.exited;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ op, ...fields })}\n`);
    });
    if (reply.ok !== true) throw new PeerError(reply.code as PeerErrorCode, String(reply.message));
    return reply;
  }

  /** A fresh KeyPackage, encoded as an `MLSMessage`. */
  async keyPackage(): Promise<Uint8Array> {
    return bytesOf(await this.call("key_package"), "key_package");
  }

  async createGroup(groupId: Uint8Array): Promise<bigint> {
    return epochOf(await this.call("create_group", { group_id: toHex(groupId) }));
  }

  /** Adds the owner of `keyPackage` in a commit the peer merges at once. */
  async add(keyPackage: Uint8Array): Promise<PeerCommit> {
    const r = await this.call("add", { key_package: toHex(keyPackage) });
    return { commit: bytesOf(r, "commit"), welcome: bytesOf(r, "welcome"), epoch: epochOf(r) };
  }

  async join(welcome: Uint8Array, ratchetTree?: Uint8Array): Promise<bigint> {
    return epochOf(
      await this.call("join", {
        welcome: toHex(welcome),
        ratchet_tree: ratchetTree ? toHex(ratchetTree) : undefined,
      }),
    );
  }

  /** A commit with an update path (the peer's leaf keys are refreshed), merged at once. */
  async commitUpdate(): Promise<PeerCommit> {
    const r = await this.call("commit_update");
    return { commit: bytesOf(r, "commit"), welcome: undefined, epoch: epochOf(r) };
  }

  async process(message: Uint8Array): Promise<PeerProcessed> {
    const r = await this.call("process", { message: toHex(message) });
    const sender = bytesOf(r, "sender");
    const epoch = epochOf(r);
    if (r.kind === "application")
      return { kind: "application", sender, epoch, plaintext: bytesOf(r, "plaintext") };
    if (r.kind === "commit" || r.kind === "proposal") return { kind: r.kind, sender, epoch };
    throw new Error(`mls_peer: unknown kind ${String(r.kind)}`);
  }

  async send(plaintext: Uint8Array): Promise<Uint8Array> {
    return bytesOf(await this.call("send", { plaintext: toHex(plaintext) }), "message");
  }

  /** demls's state fingerprint computed by OpenMLS's exporter. */
  async fingerprint(): Promise<{ epoch: bigint; value: Uint8Array }> {
    const r = await this.call("fingerprint");
    return { epoch: epochOf(r), value: bytesOf(r, "value") };
  }

  async ratchetTree(): Promise<Uint8Array> {
    return bytesOf(await this.call("ratchet_tree"), "ratchet_tree");
  }

  /** Credential identities of the members, in leaf order. */
  async members(): Promise<Uint8Array[]> {
    const r = await this.call("members");
    return (r.members as string[]).map(fromHex);
  }

  /** Closes stdin and waits for the process to end. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin.end();
    await done;
  }
}
