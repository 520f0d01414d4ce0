// The command line's usage text and the parsing its commands share: numbers in a range, seed lists.
import { PROPOSAL_KINDS } from "../group/vote-policy.ts";
import { FAULT_CLASSES } from "./chaos.ts";
import { NET_PLANS } from "./net.ts";
import { NODE_COMMANDS } from "./node.ts";
import { JOIN_FORMATION_LIMIT, SCENARIOS } from "./scenarios.ts";

/** The usage text of the command line and of each command. */
export const HELP: Record<string, string> = {
  main: `usage: demls <command> [options]

commands:
  simulate   run a partition-and-recovery scenario on the embedded simulator (default)
  node       one real member over libp2p TCP, its state in a sqlite file
  net        a partition-and-recovery run on real libp2p nodes (TCP on loopback) in this process
  chaos      random fault schedules on the simulator, many seeds: how many converge
  demo       the MLS-layer fork-and-realign demo
  bench      run every benchmark under bench/ (tables + bench/results/*.json)

demls <command> --help for the options of a command.`,
  simulate: `usage: demls simulate [--scenario NAME] [--members N] [--seed S] [--loss P] [--epochs E] [--json] [--report FILE.html]

  --scenario   ${SCENARIOS.join(" | ")} (default minority-lag)
  --members    group size, >= 4 (default 10; 'large' defaults to 100); a group of more than
               ${JOIN_FORMATION_LIMIT} starts from one commit instead of a voted join per member
  --seed       simulator seed (default 1)
  --loss       message loss on every link, 0..0.5 (default 0; 'lossy' uses at least 0.2)
  --epochs     epochs committed while split (default 3; 'large' defaults to 20)
  --json       print one JSON object instead of the progress and table
  --quiet      no progress lines, only the summary table
  --report     write a self-contained HTML report with plots
  (DEBUG=demls:* logs every member's effects to stderr: demls:member:<name>, demls:rejected:<name>)

exit code 0 when every member ends in one state, in sync, with no application message lost.`,
  node: `usage: demls node --name NAME [--listen MULTIADDR] [--peer MULTIADDR]... [--create] [--data FILE] [--conversation C] [--auto-yes KINDS] [--verbose | --quiet]

  --name          member name (its credential identity)
  --listen        libp2p listen address (default /ip4/127.0.0.1/tcp/0)
  --peer          a peer to dial (repeatable): the address another node printed after 'listening'
  --create        create the group (the first node); the others join it through votes
  --data          sqlite file of this member's state (default ./<name>.sqlite); restarts resume from it
  --conversation  conversation name (default demo)
  --auto-yes      proposal kinds this node approves by itself, comma-separated: ${PROPOSAL_KINDS.join(", ")}
                  (default: none but leave, refresh and rejoin; adds, re-admissions and removals wait for /vote)
  --verbose       print every rejected input (by default counted, shown by /status; a name clash is printed once)
  --quiet         print only chats, proposals, a removal and errors
  (DEBUG=demls:* logs every member effect to stderr, DEBUG=libp2p:* the network)

${NODE_COMMANDS}`,
  net: `usage: demls net [--plan P] [--members N] [--minority K] [--epochs E] [--transport tcp|memory] [--time-scale X] [--data DIR] [--json]

  --plan       ${NET_PLANS.join(" | ")} (default minority-lag)
  --members    group size, 3..100 (default 6); a group of more than ${JOIN_FORMATION_LIMIT} starts from one commit
               instead of a voted join per member
  --minority   members cut off in the minority plans, 1..members/2 (default 2)
  --epochs     epochs each committing side commits while split (default 2)
  --transport  tcp (loopback sockets, default) or memory
  --time-scale every protocol timer is the simulator's times X (default members/10, at least 1): all
               members share this machine's cores, and their work grows with n^2
  --data       keep each member's sqlite file in DIR
  --json       print one JSON object

exit code 0 when every member ends in one state with no chat lost.`,
  chaos: `usage: demls chaos [--seeds A..B|N,M,...] [--only CLASSES] [--jobs J] [--json]

  --seeds   seeds to run, A..B, one seed, or a comma list of both (default 1..100); each seed is one random fault schedule:
            5-16 members, 1-3 partitions in a row (2-way, 3-way, no majority) with epochs committed on
            each side, 0-30% loss, at most one crash and restart, chats from random members
  --only    fault classes drawn on top of that, comma-separated (default classic: none):
            ${FAULT_CLASSES.join(", ")}, or all
  --jobs    worker threads (default: the machine's cores)
  --json    print one JSON line per seed instead of the failures and the summary

converged = one state, every member of its roster alive is IN_SYNC in it and believes it is a member,
every live member outside it left or was proposed for removal, every chat delivered exactly once to
every final member that was in the group when it was sent, held 3 s, within 300 s of the last heal
(docs/chaos.md). Prints each failure's schedule and 'N/M seeds converged'; exit code 0 when all did.`,
  demo: "usage: demls demo\n\n  ten members fork at the MLS layer and re-align by rewinding to a retained epoch.",
  bench:
    "usage: demls bench\n\n  runs every bench/*.ts (each prints a table and writes bench/results/<name>.json).",
};

/** A command line the commands cannot run: reported with the usage text, exit code 2. */
export class UsageError extends Error {}

/** Option `--name`'s value `v` as a number in `min..max` (an integer unless `int` is false), or `def`. */
export function num(
  name: string,
  v: string | undefined,
  def: number,
  min: number,
  max: number,
  int = true,
): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n)))
    throw new UsageError(
      `--${name}: expected ${int ? "an integer" : "a number"} in ${min}..${max}, got '${v}'`,
    );
  return n;
}

/** `--seeds`: `A..B`, a seed, or a comma-separated list of them. */
export function parseSeeds(spec: string): number[] {
  const seeds: number[] = [];
  for (const part of spec.split(",")) {
    const range = /^(\d+)(?:\.\.(\d+))?$/.exec(part.trim());
    if (!range) throw new UsageError(`--seeds: expected A..B, a seed or a list of them, got '${spec}'`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    if (to < from) throw new UsageError(`--seeds: ${from}..${to} is empty`);
    for (let seed = from; seed <= to; seed++) seeds.push(seed);
  }
  return seeds;
}
