// Three members of one conversation on real libp2p nodes (in-process memory connections; use
// `transport: "tcp"` for sockets): alice creates the group, bob and carol join through a vote (each
// application approves the joiners it is asked about), and a chat goes to everyone.
// Run: node examples/chat.ts
import { cryptoRng, Libp2pTransport, Member, systemClock } from "demls";

const start = async (name: string, role: "creator" | "joiner", peer?: Libp2pTransport) => {
  const transport = await Libp2pTransport.create({ transport: "memory" });
  if (peer) await transport.dial(peer.addresses[0]!);
  const m = await Member.create({
    name,
    conversation: "demo",
    transport,
    clock: systemClock,
    rng: cryptoRng,
    role,
  });
  m.on("message", (msg) => console.log(`${name} got <${msg.from}> ${msg.text}`));
  // Adds (and removals) wait for the application's vote; silence counts NO.
  m.on("proposal", (p) => {
    if (p.kind === "add") void m.vote(p.id, true).catch(() => {});
  });
  m.start();
  return { m, transport };
};

const alice = await start("alice", "creator");
const members = [
  alice,
  await start("bob", "joiner", alice.transport),
  await start("carol", "joiner", alice.transport),
];
const until = async (ok: () => boolean, ms = 20_000) => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() > end) throw new Error("timed out");
};
await until(() => members.every(({ m }) => m.roster().length === 3 && m.status === "IN_SYNC"));

const delivered = new Set<string>();
alice.m.on("delivered", ({ id }) => delivered.add(id));
const id = await alice.m.sendChat("hello from alice");
await until(() => delivered.has(id));
console.log(`alice: ${id.slice(0, 8)} delivered to ${alice.m.roster().join(", ")}`);
for (const { m, transport } of members) {
  m.stop();
  await transport.close();
}
