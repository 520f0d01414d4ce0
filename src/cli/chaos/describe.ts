// A schedule in words, one line per event, for failure reports (`demls chaos` prints it for each failed
// seed). A classic schedule reads as it always did; the fault classes add their lines after the splits.
import type { ChaosSchedule, ChurnEvent, StepCrash } from "./types.ts";

const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const pct = (p: number) => `${Math.round(p * 100)}%`;

/** One line per event of a schedule. */
export function describeSchedule(s: ChaosSchedule): string {
  const classes = s.classes?.length ? `; classes ${s.classes.join(",")}` : "";
  const lines = [`seed ${s.seed}: ${s.members} members, ${Math.round(s.loss * 100)}% loss${classes}`];
  for (const p of s.phases) {
    const sides = p.sides.map((x) => x.join(",")).join(" | ");
    lines.push(`  ${sec(p.atMs)} split ${p.kind} for ${sec(p.durationMs)}: ${sides}`);
    for (const c of p.commits) lines.push(`    ${sec(c.atMs)} ${c.by} proposes a key refresh`);
  }
  if (s.crash) lines.push(`  ${sec(s.crash.atMs)} ${s.crash.name} crashes for ${sec(s.crash.downMs)}`);
  const f = s.linkFaults;
  if (f) {
    const parts = [
      f.duplicate > 0 ? `${pct(f.duplicate)} duplicated (a copy within ${sec(f.duplicateWithinMs)})` : "",
      f.reorder > 0 ? `${pct(f.reorder)} held back ${sec(f.reorderMinMs)}-${sec(f.reorderMaxMs)}` : "",
    ].filter(Boolean);
    lines.push(`  from the start, on every link: ${parts.join(", ")}`);
  }
  const timed: [number, string][] = [];
  for (const c of s.oneWay ?? []) {
    // A deaf or mute member's counterpart is everyone else.
    const from = c.kind === "deaf" ? "the others" : c.from.join(",");
    const to = c.kind === "mute" ? "the others" : c.to.join(",");
    timed.push([c.atMs, `one-way cut (${c.kind}) for ${sec(c.durationMs)}: ${from} -/-> ${to}`]);
  }
  for (const d of s.dead ?? []) timed.push([d.atMs, `${d.name} dies for good`]);
  for (const e of s.churn ?? []) timed.push([e.atMs, churnLine(e)]);
  for (const c of s.stepCrashes ?? []) timed.push([c.fromMs, stepLine(c)]);
  for (const [at, line] of timed.sort((a, b) => a[0] - b[0])) lines.push(`  ${sec(at)} ${line}`);
  lines.push(`  chats: ${s.chats.map((c) => `${c.from}@${sec(c.atMs)}`).join(" ")}`);
  lines.push(`  ${sec(s.healAtMs)} final heal`);
  return lines.join("\n");
}

function churnLine(e: ChurnEvent): string {
  if (e.kind === "add") return `${e.by} joins, on ${e.target}'s side`;
  if (e.kind === "remove") return `${e.by} proposes removing ${e.target}`;
  if (e.kind === "leave") return `${e.by} leaves`;
  return `${e.by} requests a rejoin`;
}

function stepLine(c: StepCrash): string {
  const when =
    c.after === "time"
      ? "from now"
      : `after its next ${c.after === "joined" ? "join" : c.after === "epoch" ? "new epoch" : c.after === "decided" ? "decided proposal" : "HARD verdict"}`;
  return `${c.name} crashes ${c.inputs} inputs ${when}, down ${sec(c.downMs)}`;
}
