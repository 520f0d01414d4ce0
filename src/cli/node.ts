// `demls node`: one real member over libp2p TCP (gossipsub as Waku relay), its state in a sqlite file.
// Several on one machine form a group; stdin commands chat, propose, and cut or heal links.
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { Libp2pTransport } from "../net/libp2p.ts";
import { cryptoRng, systemClock } from "../net/transport.ts";
import { Member } from "../node/member.ts";
import { SqliteMemberStore } from "../store/sqlite.ts";
import type { SyncEffect } from "../sync/core.ts";

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
    default:
      return undefined;
  }
}

/** Runs a node until stdin closes or `/quit`; resolves with the exit code. */
export async function runNode(o: NodeOptions, print: (line: string) => void = console.log): Promise<number> {
  const transport = await Libp2pTransport.create({ transport: "tcp", listen: [o.listen] });
  const store = new SqliteMemberStore(o.dataFile);
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
  const restored = existsSync(o.dataFile) && store.load() !== undefined;
  const member = restored
    ? await Member.restore(opts)
    : await Member.create({ ...opts, role: o.create ? "creator" : "joiner" });
  member.start();
  for (const a of transport.addresses)
    print(`listening ${a.includes("/p2p/") ? a : `${a}/p2p/${transport.nodeId}`}`);
  print(
    `${o.name}: ${restored ? `restored from ${o.dataFile}` : o.create ? "created the group" : "joining"}`,
  );
  for (const p of o.peers) await transport.dial(p).catch((e) => print(`dial ${p}: ${e.message}`));

  const status = () => {
    const s = member.summary();
    const roster = member.group.group
      ? member.group.rosterIds().map((id) => new TextDecoder().decode(id))
      : [];
    return `${s.name} epoch ${s.epoch ?? "-"} state ${s.state} ${s.status} peers ${transport.topicPeers} roster ${roster.join(",")}`;
  };
  const rl = createInterface({ input: process.stdin });
  for await (const raw of rl) {
    const line = raw.trim();
    const [cmd, ...args] = line.split(/\s+/);
    try {
      if (line === "") continue;
      if (cmd === "/quit") break;
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
  member.stop();
  await transport.close();
  store.close();
  return 0;
}
