// A self-contained HTML report of one scenario run: inline SVG plots (epoch per member, status per
// member, bytes on the wire) and the partition plan. No scripts, no network.
import type { ScenarioResult } from "./scenarios.ts";

const STATUS_COLOR: Record<string, string> = {
  IN_SYNC: "#2e7d32",
  BEHIND: "#f9a825",
  AHEAD: "#0277bd",
  FORKED: "#e65100",
  HARD: "#c62828",
  UNKNOWN: "#9e9e9e",
};

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function linePlot(
  id: string,
  title: string,
  series: Map<string, [number, number][]>,
  yLabel: string,
): string {
  const W = 760;
  const H = 220;
  const pts = [...series.values()].flat();
  const x1 = Math.max(1, ...pts.map((p) => p[0]));
  const y1 = Math.max(1, ...pts.map((p) => p[1]));
  const sx = (x: number) => 40 + (x / x1) * (W - 60);
  const sy = (y: number) => H - 25 - (y / y1) * (H - 45);
  const lines = [...series].map(([name, p], i) => {
    const d = p.map(([x, y], k) => `${k ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    return `<path class="series" data-name="${esc(name)}" d="${d}" fill="none" stroke="hsl(${(i * 47) % 360},60%,45%)" stroke-width="1.5"/>`;
  });
  return `<figure id="${id}"><figcaption>${esc(title)}</figcaption><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<line x1="40" y1="${H - 25}" x2="${W - 20}" y2="${H - 25}" stroke="#333"/><line x1="40" y1="10" x2="40" y2="${H - 25}" stroke="#333"/>
<text x="${W - 20}" y="${H - 8}" text-anchor="end" font-size="11">${(x1 / 1000).toFixed(0)} s</text>
<text x="4" y="16" font-size="11">${esc(yLabel)} ${y1.toFixed(0)}</text>${lines.join("")}</svg></figure>`;
}

function statusPlot(r: ScenarioResult): string {
  const members = Object.keys(r.timeline.at(-1)?.statuses ?? {});
  const W = 760;
  const row = 14;
  const H = members.length * row + 30;
  // The last sample's cell lasts one more second: the time axis ends there, not at the sample.
  const x1 = Math.max(1, ...r.timeline.map((s) => s.timeMs)) + 1000;
  const sx = (x: number) => 60 + (x / x1) * (W - 80);
  const cells: string[] = [];
  members.forEach((m, i) => {
    cells.push(`<text x="4" y="${i * row + 11}" font-size="10">${esc(m)}</text>`);
    r.timeline.forEach((s, k) => {
      const next = r.timeline[k + 1]?.timeMs ?? s.timeMs + 1000;
      const st = s.statuses[m] ?? "UNKNOWN";
      cells.push(
        `<rect class="status" x="${sx(s.timeMs).toFixed(1)}" y="${i * row}" width="${Math.max(1, sx(next) - sx(s.timeMs)).toFixed(1)}" height="${row - 2}" fill="${STATUS_COLOR[st]}"><title>${esc(m)} ${st}</title></rect>`,
      );
    });
  });
  const legend = Object.entries(STATUS_COLOR)
    .map(
      ([k, c], i) =>
        `<rect x="${60 + i * 110}" y="${H - 14}" width="10" height="10" fill="${c}"/><text x="${74 + i * 110}" y="${H - 5}" font-size="10">${k}</text>`,
    )
    .join("");
  return `<figure id="status"><figcaption>Status per member</figcaption><svg width="${W}" height="${H}">${cells.join("")}${legend}</svg></figure>`;
}

/** Renders the report. */
export function renderReport(r: ScenarioResult): string {
  const epochs = new Map<string, [number, number][]>();
  for (const s of r.timeline)
    for (const [m, e] of Object.entries(s.epochs))
      epochs.set(m, [...(epochs.get(m) ?? []), [s.timeMs, Math.max(0, e)]]);
  const bytes = new Map([["bytes", r.timeline.map((s): [number, number] => [s.timeMs, s.bytes / 1024])]]);
  const phases = r.timeline.filter((s, i) => i === 0 || r.timeline[i - 1]!.phase !== s.phase);
  const summary: [string, string][] = [
    ["scenario", r.scenario],
    ["members", String(r.members)],
    ["seed", String(r.seed)],
    ["plan", r.plan],
    ["detected after heal", r.detectedMs === null ? "-" : `${Math.round(r.detectedMs)} ms`],
    ["recovered after heal", r.recoveredMs === null ? "not recovered" : `${Math.round(r.recoveredMs)} ms`],
    ["application messages", `${r.appSent} sent, ${r.appDelivered} deliveries, ${r.appLost} lost`],
    ["bytes on the wire", `${(r.bytes / 1024).toFixed(0)} KB`],
    [
      "final states",
      Object.entries(r.groups)
        .map(([k, v]) => `${k}: ${v.length}`)
        .join("; "),
    ],
  ];
  return `<!doctype html><html><head><meta charset="utf-8"><title>demls ${esc(r.scenario)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:820px}td{padding:2px 10px}figure{margin:1.5em 0}figcaption{font-weight:bold}</style></head><body>
<h1>demls: ${esc(r.scenario)}</h1>
<table id="summary">${summary.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>
<h2>Partition plan</h2><ol id="plan">${phases.map((p) => `<li>${(p.timeMs / 1000).toFixed(1)} s: ${esc(p.phase)}</li>`).join("")}</ol>
${linePlot("epochs", "Epoch per member", epochs, "epoch")}
${statusPlot(r)}
${linePlot("bytes", "Bytes on the wire (cumulative, KB)", bytes, "KB")}
</body></html>
`;
}
