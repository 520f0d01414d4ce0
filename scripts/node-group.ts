// Several `demls node` processes on one machine over libp2p TCP: they form a group (each node approves
// joiners by itself, `--auto-yes add`), one is cut off with /block while the others commit an epoch, the
// cut heals, and every node prints its status.
// Usage: npm run node-group -- [members=4]   (npm runs it on the pinned Node 24)
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

const n = Number(process.argv[2] ?? 4);
const dir = mkdtempSync(join(tmpdir(), "demls-nodes-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  name: string;
  p: ChildProcessWithoutNullStreams;
  lines: string[];
  addr?: string;
}

function start(name: string, extra: string[]): Proc {
  const p = spawn(process.execPath, [
    MAIN,
    "node",
    "--name",
    name,
    "--data",
    join(dir, `${name}.sqlite`),
    "--auto-yes",
    "add",
    ...extra,
  ]);
  const proc: Proc = { name, p, lines: [] };
  let buf = "";
  p.stdout.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      proc.lines.push(line);
      if (line.startsWith("listening ") && !proc.addr) proc.addr = line.slice(10);
      console.log(`[${name}] ${line}`);
    }
  });
  p.stderr.on("data", (d) => process.stderr.write(`[${name}] ${d}`));
  return proc;
}

async function waitLine(p: Proc, re: RegExp, ms = 30_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (p.lines.some((l) => re.test(l))) return true;
    await sleep(100);
  }
  return false;
}

const procs: Proc[] = [start("n0", ["--create"])];
while (!procs[0]!.addr) await sleep(100);
for (let i = 1; i < n; i++) procs.push(start(`n${i}`, ["--peer", procs[0]!.addr!]));
for (const p of procs.slice(1)) await waitLine(p, /joined at epoch/);
await sleep(3000);
const send = (p: Proc, line: string) => p.p.stdin.write(`${line}\n`);
const last = procs.at(-1)!;
const peerId = (p: Proc) => p.addr!.split("/p2p/")[1]!;
console.log(`--- cutting ${last.name} off`);
send(last, `/block ${procs.slice(0, -1).map(peerId).join(" ")}`);
for (const p of procs.slice(0, -1)) send(p, `/block ${peerId(last)}`);
await sleep(1000);
send(procs[1]!, "/refresh");
send(procs[0]!, "hello while split");
await sleep(6000);
console.log("--- healing");
for (const p of procs) send(p, "/unblock");
send(last, `/dial ${procs[0]!.addr}`);
const healed = await waitLine(last, /recovered by/, 30_000);
for (const p of procs) send(p, "/status");
await sleep(1000);
// Each node saves and exits on /quit; one that has not within 5 s is stopped.
const exited = (p: Proc) =>
  p.p.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => p.p.once("exit", () => r()));
for (const p of procs) send(p, "/quit");
await Promise.all(procs.map((p) => Promise.race([exited(p), sleep(5000).then(() => p.p.kill("SIGKILL"))])));
console.log(
  healed ? `--- ${last.name} recovered; state files in ${dir}` : `--- ${last.name} did not recover`,
);
process.exitCode = healed ? 0 : 1;
