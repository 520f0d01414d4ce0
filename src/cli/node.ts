// `demls node`: one real member over libp2p TCP (gossipsub as Waku relay), its state in a sqlite file.
// Several on one machine form a group; stdin commands chat, propose, vote, and cut or heal links.
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { AUTO_YES, type KindPolicy, type ProposalKind } from "../group/vote-policy.ts";
import { Libp2pTransport } from "../net/libp2p.ts";
import { cryptoRng, systemClock } from "../net/transport.ts";
import { describeEffect, describeProposal } from "../node/events.ts";
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
  /** Proposal kinds this node approves by itself (the others of the default policy wait for `/vote`). */
  readonly autoYes?: readonly ProposalKind[];
  /** Print every rejected input (by default they are counted; `/status` shows how many). */
  readonly verbose?: boolean;
  /** Print only chats, proposals, removal and errors. */
  readonly quiet?: boolean;
}

/** Effects `--quiet` still prints. */
const QUIET_SHOWS = new Set<SyncEffect["type"]>(["chat", "proposal", "removed", "fault"]);

export const NODE_COMMANDS = `stdin commands:
  <text>            send a chat message
  /status           epoch, fingerprint, sync status, roster
  /refresh          propose a key refresh (a new epoch)
  /remove NAME      propose removing a member
  /leave            propose leaving the group
  /pending          list the proposals waiting for your vote (each is also printed as it comes)
  /vote ID yes|no   vote on a proposal (a unique prefix of its id is enough); silence counts NO
  /rejoin           drop this state and ask to be re-added (a fresh KeyPackage, voted like a join)
  /block PEERID...  cut this node off from peers (a partition); /unblock lifts every cut
  /dial MULTIADDR   connect to a peer
  /quit             stop (the state stays in the sqlite file)`;

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
  let rejected = 0;
  const clashes = new Set<string>();
  let hint: ReturnType<typeof setInterval> | undefined;
  try {
    const restored = existsSync(o.dataFile) && store.load() !== undefined;
    // The peer id is kept in the data file: nodes that dialled this one find it again after a restart.
    transport = await Libp2pTransport.create({
      transport: "tcp",
      listen: [o.listen],
      identity: store.nodeIdentity(),
    });
    const opts = {
      name: o.name,
      conversation: o.conversation,
      transport,
      clock: systemClock,
      rng: cryptoRng,
      store,
      votePolicy: Object.fromEntries((o.autoYes ?? []).map((k): [ProposalKind, KindPolicy] => [k, AUTO_YES])),
      onEvent: (e: SyncEffect) => {
        if (e.type === "rejected" && !o.verbose) {
          // Rejections are normal after a catch-up (late votes, stale proposals): counted, not printed; a
          // name clash is printed once per joiner, since it needs someone to act.
          rejected++;
          if (e.code !== "NAME_TAKEN" || clashes.has(e.detail)) return;
          clashes.add(e.detail);
        }
        if (o.quiet && !QUIET_SHOWS.has(e.type)) return;
        const line = describeEffect(e);
        if (line) print(line);
      },
    };
    member = restored
      ? await Member.restore(opts)
      : await Member.create({ ...opts, role: o.create ? "creator" : "joiner" });
    if (!o.quiet) {
      member.on("memberJoined", ({ member: name }) => print(`${name} joined`));
      member.on("memberLeft", ({ member: name }) => print(`${name} left`));
      member.on("delivered", ({ id }) => print(`delivered ${id.slice(0, 8)} to every member`));
      member.on("lost", ({ id }) => print(`lost ${id.slice(0, 8)}: not every member acknowledged it`));
    }
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
    await commands(lines, m, t, print, () => rejected);
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

/**
 * The proposal a `/vote` argument names: the one waiting proposal whose id starts with it, or the
 * argument itself (a whole id; the member refuses one it does not know).
 * @throws {Error} when the prefix names more than one waiting proposal.
 */
function proposalIdOf(member: Member, prefix: string): string {
  const matches = member.pendingProposals().filter((p) => p.id.startsWith(prefix.toLowerCase()));
  if (matches.length > 1)
    throw new Error(`'${prefix}' names ${matches.length} proposals: give more of the id`);
  return matches[0]?.id ?? prefix;
}

/** Reads stdin commands until `/quit` or the end of input. */
async function commands(
  lines: AsyncIterable<string>,
  member: Member,
  transport: Libp2pTransport,
  print: (line: string) => void,
  rejected: () => number,
): Promise<void> {
  const status = () => {
    const s = member.summary();
    const peers = transport.topicPeerIds();
    return [
      `${s.name} epoch ${s.epoch ?? "-"} state ${s.state} ${member.status} peers ${peers.length} roster ${member.roster().join(",")}`,
      ...(peers.length > 0 ? [`  peers: ${peers.join(" ")}`] : []),
      ...(rejected() > 0 ? [`  rejected inputs: ${rejected()} (--verbose prints them)`] : []),
    ].join("\n");
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
      else if (cmd === "/pending") {
        const waiting = member.pendingProposals();
        if (waiting.length === 0) print("no proposal waits for your vote");
        for (const p of waiting) print(describeProposal(p));
      } else if (cmd === "/vote" && args[0] && (args[1] === "yes" || args[1] === "no")) {
        const id = proposalIdOf(member, args[0]);
        await member.vote(id, args[1] === "yes");
        print(`voted ${args[1]} on ${id.slice(0, 8)}`);
      } else if (cmd === "/block") await transport.block(args);
      else if (cmd === "/unblock") transport.unblock();
      else if (cmd === "/dial" && args[0]) await transport.dial(args[0]);
      else if (cmd?.startsWith("/")) print(`unknown command ${cmd}\n${NODE_COMMANDS}`);
      else {
        const id = await member.sendChat(line);
        print(`sent ${id.slice(0, 8)}`);
      }
    } catch (e) {
      print(`error: ${(e as Error).message}`);
    }
  }
}
