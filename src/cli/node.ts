// `demls node`: one real member over libp2p TCP (gossipsub as Waku relay), its state in a sqlite file.
// Several on one machine form a group; stdin commands chat, propose, and cut or heal links.
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { Libp2pTransport } from "../net/libp2p.ts";
import { cryptoRng, systemClock } from "../net/transport.ts";
import { Member } from "../node/member.ts";
import { SqliteMemberStore } from "../store/sqlite.ts";
import type { SyncEffect } from "../sync/effects.ts";

export interface NodeOptions {
  readonly name: string;
  readonly conversation: string;
  readonly listen: string;
  readonly peers: readonly string[];
  /** Create the group (otherwise join it by announcing a KeyPackage). Ignored when the file has a state. */
  readonly create: boolean;
  readonly dataFile: string;
}

export const NODE_COMMANDS = `stdin commands:
  <text>            send a chat message
  /status           epoch, fingerprint, sync status, roster
  /refresh          propose a key refresh (a new epoch)
  /remove NAME      propose removing a member
  /leave            propose leaving the group
  /rejoin           drop this state and ask to be re-added (a fresh KeyPackage, voted like a join)
  /block PEERID...  cut this node off from peers (a partition); /unblock lifts every cut
  /dial MULTIADDR   connect to a peer
  /quit             stop (the state stays in the sqlite file)`;

function describe(e: SyncEffect): string | undefined {
  switch (e.type) {
    case "chat":
      return `<${new TextDecoder().decode(e.sender)}> ${new TextDecoder().decode(e.body)}`;
    case "status":
      return `status ${e.previous} -> ${e.status}`;
    case "epoch":
      return `epoch ${e.epoch} (${e.via}, committed by ${new TextDecoder().decode(e.committer)})`;
    case "joined":
      return `joined at epoch ${e.epoch}`;
    case "recovered":
      return `recovered by ${e.how} (${e.epochs} epochs)`;
    case "reset":
      return "group reset: new group joined";
    case "removed":
      return "removed from the group";
    case "rejected":
      return `rejected ${e.code}: ${e.detail}`;
    case "fault":
      return `fault ${e.code}: ${e.detail}`;
    default:
      return undefined;
  }
}

/** How often a node that is not in a group yet says so, with what to check. */
const WAITING_HINT_MS = 15_000;

/**
 * Runs a node until stdin closes, `/quit`, or SIGINT/SIGTERM; resolves with the exit code.
 * @throws {DemlsError} `STORE_UNREADABLE`, `CORRUPT_STATE`, `WRONG_MEMBER` for a data file it cannot run.
 */
export async function runNode(o: NodeOptions, print: (line: string) => void = console.log): Promise<number> {
  const store = new SqliteMemberStore(o.dataFile);
  let transport: Libp2pTransport | undefined;
  const rl = createInterface({ input: process.stdin });
  // Iterate from now: lines that arrive while the node starts (commands piped in) wait for it, not lost.
  const lines = rl[Symbol.asyncIterator]();
  // A network error inside libp2p (a dial that fails its handshake, a reset stream) must not end the
  // member: it is reported and the node goes on.
  const onNetworkError = (e: unknown) => print(`network error: ${(e as Error)?.message ?? e}`);
  process.on("unhandledRejection", onNetworkError);
  const quit = () => rl.close();
  process.once("SIGINT", quit);
  process.once("SIGTERM", quit);
  let member: Member | undefined;
  let hint: ReturnType<typeof setInterval> | undefined;
  try {
    const restored = existsSync(o.dataFile) && store.load() !== undefined;
    transport = await Libp2pTransport.create({ transport: "tcp", listen: [o.listen] });
    const opts = {
      name: o.name,
      conversation: o.conversation,
      transport,
      clock: systemClock,
      rng: cryptoRng,
      store,
      onEvent: (e: SyncEffect) => {
        const line = describe(e);
        if (line) print(line);
      },
    };
    member = restored
      ? await Member.restore(opts)
      : await Member.create({ ...opts, role: o.create ? "creator" : "joiner" });
    member.start();
    for (const a of transport.addresses)
      print(`listening ${a.includes("/p2p/") ? a : `${a}/p2p/${transport.nodeId}`}`);
    print(
      `${o.name}: ${restored ? `restored from ${o.dataFile}` : o.create ? "created the group" : "joining"}`,
    );
    for (const p of o.peers) await transport.dial(p).catch((e) => print(`dial ${p}: ${e.message}`));
    const t = transport;
    const m = member;
    hint = setInterval(() => {
      if (m.group.group !== undefined) return;
      print(
        t.topicPeers === 0
          ? "still waiting to be added: no peer reached yet (check --peer, or /dial an address a member printed)"
          : `still waiting to be added by the ${t.topicPeers} peer(s) reached: is '${o.name}' a name another member already has? (they show NAME_TAKEN)`,
      );
    }, WAITING_HINT_MS);
    hint.unref();
    await commands(lines, m, t, print);
  } finally {
    if (hint) clearInterval(hint);
    rl.close();
    process.stdin.destroy();
    await member?.close();
    await transport?.close();
    store.close();
    process.off("unhandledRejection", onNetworkError);
    process.off("SIGINT", quit);
    process.off("SIGTERM", quit);
  }
  return 0;
}

/** Reads stdin commands until `/quit` or the end of input. */
async function commands(
  lines: AsyncIterable<string>,
  member: Member,
  transport: Libp2pTransport,
  print: (line: string) => void,
): Promise<void> {
  const status = () => {
    const s = member.summary();
    return `${s.name} epoch ${s.epoch ?? "-"} state ${s.state} ${s.status} peers ${transport.topicPeers} roster ${member.roster().join(",")}`;
  };
  for await (const raw of lines) {
    const line = raw.trim();
    const [cmd, ...args] = line.split(/\s+/);
    try {
      if (line === "") continue;
      if (cmd === "/quit") return;
      if (cmd === "/status") print(status());
      else if (cmd === "/refresh") await member.proposeRefresh();
      else if (cmd === "/remove" && args[0]) await member.proposeRemove(args[0]);
      else if (cmd === "/leave") await member.leave();
      else if (cmd === "/rejoin") await member.requestRejoin();
      else if (cmd === "/block") await transport.block(args);
      else if (cmd === "/unblock") transport.unblock();
      else if (cmd === "/dial" && args[0]) await transport.dial(args[0]);
      else if (cmd?.startsWith("/")) print(`unknown command ${cmd}\n${NODE_COMMANDS}`);
      else await member.sendChat(line);
    } catch (e) {
      print(`error: ${(e as Error).message}`);
    }
  }
}
