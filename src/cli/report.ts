// A self-contained HTML report of one scenario run: inline SVG plots (epoch per member, state per member
// with a colour per state, status per member with each recovery marked where it happened, bytes on the
// wire by topic) on one shared time axis, the split and the heal marked on each, the partition plan and
// who was on which side. No scripts, no network.
import type { Sample, ScenarioResult } from "./scenarios.ts";

const STATUS_COLOR: Record<string, string> = {
  IN_SYNC: "#2e7d32",
  BEHIND: "#f9a825",
  AHEAD: "#0277bd",
  FORKED: "#e65100",
  HARD: "#c62828",
  UNKNOWN: "#9e9e9e",
};

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Plot area, shared by every plot so that one x is one time on all of them. */
const W = 760;
const LEFT = 70;
const RIGHT = 20;
/** Members named in the epoch plot's legend; beyond, the legend names a range. */
const LEGEND_MEMBERS = 24;

const memberColor = (i: number) => `hsl(${(i * 47) % 360},60%,42%)`;

/** The time axis of the whole run: ms → x, and round ticks. */
interface TimeAxis {
  readonly endMs: number;
  x(ms: number): number;
  readonly ticks: number[];
}

function timeAxis(timeline: readonly Sample[]): TimeAxis {
  // The last sample's status cell lasts one more second: the axis ends there.
  const endMs = Math.max(1000, ...timeline.map((s) => s.timeMs)) + 1000;
  const step = niceStep(endMs / 8);
  const ticks: number[] = [];
  for (let t = 0; t <= endMs; t += step) ticks.push(t);
  return { endMs, x: (ms) => LEFT + (ms / endMs) * (W - LEFT - RIGHT), ticks };
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** The x axis with its ticks and label, at `y`. */
function xAxis(t: TimeAxis, y: number): string {
  const ticks = t.ticks
    .map(
      (ms) =>
        `<line x1="${t.x(ms).toFixed(1)}" y1="${y}" x2="${t.x(ms).toFixed(1)}" y2="${y + 4}" stroke="#333"/><text class="tick" x="${t.x(ms).toFixed(1)}" y="${y + 15}" text-anchor="middle" font-size="10">${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)}</text>`,
    )
    .join("");
  return `<line x1="${LEFT}" y1="${y}" x2="${W - RIGHT}" y2="${y}" stroke="#333"/>${ticks}<text class="axis-label" x="${(LEFT + W - RIGHT) / 2}" y="${y + 30}" text-anchor="middle" font-size="11">time since start (s, virtual)</text>`;
}

/** Dashed vertical lines where the run split and healed, labelled, from `top` to `bottom`. */
function phaseMarks(t: TimeAxis, marks: readonly PhaseMark[], top: number, bottom: number): string {
  return marks
    .map(
      (m) =>
        `<line class="phase-mark" data-phase="${esc(m.label)}" x1="${t.x(m.ms).toFixed(1)}" y1="${top}" x2="${t.x(m.ms).toFixed(1)}" y2="${bottom}" stroke="#555" stroke-dasharray="4 3"/><text x="${(t.x(m.ms) + 3).toFixed(1)}" y="${top + 9}" font-size="10" fill="#555">${esc(m.label)}</text>`,
    )
    .join("");
}

interface PhaseMark {
  readonly ms: number;
  readonly label: string;
}

/** Where the partition began and where it healed. */
function phaseMarksOf(timeline: readonly Sample[]): PhaseMark[] {
  const labels: Record<string, string> = { split: "split", healed: "heal" };
  return timeline.flatMap((s, i) =>
    i > 0 && timeline[i - 1]!.phase !== s.phase && labels[s.phase]
      ? [{ ms: s.timeMs, label: labels[s.phase]! }]
      : [],
  );
}

/** The y axis: round ticks from 0 to `max`, and its label. */
function yAxis(max: number, top: number, bottom: number, label: string, integer: boolean): string {
  const step = integer ? Math.max(1, Math.ceil(niceStep(max / 5))) : niceStep(max / 5);
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  let ticks = "";
  for (let v = 0; v <= max + 1e-9; v += step)
    ticks += `<line x1="${LEFT - 4}" y1="${y(v).toFixed(1)}" x2="${LEFT}" y2="${y(v).toFixed(1)}" stroke="#333"/><text class="tick" x="${LEFT - 6}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end" font-size="10">${integer || v === 0 ? v : v.toFixed(v < 10 ? 1 : 0)}</text>`;
  const mid = (top + bottom) / 2;
  return `<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${bottom}" stroke="#333"/>${ticks}<text class="axis-label" x="14" y="${mid}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${mid})">${esc(label)}</text>`;
}

/**
 * Epoch per member. Members at one epoch would draw one line over another and hide a fork: each member's
 * line is shifted by a fraction of an epoch (at most a quarter), and the legend names the colours.
 */
function epochPlot(r: ScenarioResult, t: TimeAxis, marks: readonly PhaseMark[]): string {
  const members = Object.keys(r.timeline.at(-1)?.epochs ?? {});
  const H = 240;
  const top = 10;
  const bottom = H - 45;
  const max = Math.max(1, ...r.timeline.flatMap((s) => Object.values(s.epochs))) + 0.5;
  const y = (e: number) => bottom - (e / max) * (bottom - top);
  const shift = (i: number) => (members.length > 1 ? (i / (members.length - 1) - 0.5) * 0.5 : 0);
  const lines = members.map((m, i) => {
    const d = r.timeline
      .map(
        (s, k) =>
          `${k ? "L" : "M"}${t.x(s.timeMs).toFixed(1)},${y(Math.max(0, s.epochs[m] ?? 0) + shift(i)).toFixed(1)}`,
      )
      .join("");
    return `<path class="series" data-name="${esc(m)}" d="${d}" fill="none" stroke="${memberColor(i)}" stroke-width="1.5"><title>${esc(m)}</title></path>`;
  });
  const shown = members.length <= LEGEND_MEMBERS ? members : [members[0]!, members.at(-1)!];
  const legend = shown
    .map((m, k) => {
      const i = members.indexOf(m);
      const lx = LEFT + (k % 12) * 56;
      const ly = H + 8 + Math.floor(k / 12) * 14;
      return `<g class="legend-entry"><line x1="${lx}" y1="${ly - 3}" x2="${lx + 14}" y2="${ly - 3}" stroke="${memberColor(i)}" stroke-width="3"/><text x="${lx + 17}" y="${ly}" font-size="10">${esc(m)}</text></g>`;
    })
    .join("");
  const range =
    members.length > LEGEND_MEMBERS
      ? `<text x="${LEFT + 130}" y="${H + 8}" font-size="10">… ${members.length} members, colour by index</text>`
      : "";
  const rows = Math.ceil(shown.length / 12);
  return `<figure id="epochs"><figcaption>Epoch per member (each line shifted slightly, so that members on one epoch stay apart)</figcaption><svg width="${W}" height="${H + 10 + rows * 14}">
${yAxis(max, top, bottom, "epoch", true)}${xAxis(t, bottom)}${phaseMarks(t, marks, top, bottom)}${lines.join("")}<g class="legend">${legend}${range}</g></svg></figure>`;
}

/** What one cell of a member's row shows: its attributes, colour and tooltip. */
interface Cell {
  readonly attrs: string;
  readonly fill: string;
  readonly title: string;
}

/** A row per member (its name, then a cell per sample lasting until the next), from `top`, `row` apart. */
function memberRows(
  r: ScenarioResult,
  t: TimeAxis,
  members: readonly string[],
  top: number,
  row: number,
  cell: (s: Sample, member: string) => Cell,
): string[] {
  const out: string[] = [];
  members.forEach((m, i) => {
    out.push(
      `<text x="${LEFT - 6}" y="${top + i * row + 11}" font-size="10" text-anchor="end">${esc(m)}</text>`,
    );
    r.timeline.forEach((s, k) => {
      const next = r.timeline[k + 1]?.timeMs ?? s.timeMs + 1000;
      const c = cell(s, m);
      out.push(
        `<rect ${c.attrs} x="${t.x(s.timeMs).toFixed(1)}" y="${top + i * row}" width="${Math.max(1, t.x(next) - t.x(s.timeMs)).toFixed(1)}" height="${row - 2}" fill="${c.fill}"><title>${esc(c.title)}</title></rect>`,
      );
    });
  });
  return out;
}

/** Status per member: one row per member, one cell per sample, coloured by status. */
function statusPlot(r: ScenarioResult, t: TimeAxis, marks: readonly PhaseMark[]): string {
  const members = Object.keys(r.timeline.at(-1)?.statuses ?? {});
  const row = 14;
  // Room above the rows for the split and heal labels.
  const top = 14;
  const bottom = top + members.length * row + 2;
  const H = bottom + 60;
  const cells = memberRows(r, t, members, top, row, (s, m) => {
    const st = s.statuses[m] ?? "UNKNOWN";
    return { attrs: `class="status"`, fill: STATUS_COLOR[st]!, title: `${m} ${st}` };
  });
  const legend = Object.entries(STATUS_COLOR)
    .map(
      ([k, c], i) =>
        `<g class="legend-entry"><rect x="${LEFT + i * 110}" y="${H - 14}" width="10" height="10" fill="${c}"/><text x="${LEFT + 14 + i * 110}" y="${H - 5}" font-size="10">${k}</text></g>`,
    )
    .join("");
  const recoveryLegend = Object.entries(RECOVERY_MARK)
    .map(
      ([how, k], i) =>
        `<g class="legend-entry"><circle cx="${LEFT + 5 + i * 110}" cy="${H - 23}" r="6" fill="#fff" stroke="${k.color}"/><text x="${LEFT + 5 + i * 110}" y="${H - 20}" font-size="9" font-weight="bold" text-anchor="middle" fill="${k.color}">${k.letter}</text><text x="${LEFT + 15 + i * 110}" y="${H - 20}" font-size="10">${how}</text></g>`,
    )
    .join("");
  return `<figure id="status"><figcaption>Status per member, and where each member healed (C catch-up, R realign, J rejoin, X reset)</figcaption><svg width="${W}" height="${H + 16}">${cells.join("")}${xAxis(t, bottom)}${phaseMarks(t, marks, 0, bottom)}${recoveryMarks(r, t, members, top, row)}<g class="legend" transform="translate(0 16)">${legend}</g><g class="legend">${recoveryLegend}</g></svg></figure>`;
}

const KIND_COLOR = { app: "#37474f", sync: "#6a1b9a", welcome: "#00838f" } as const;

/** Bytes on the wire by topic kind (application, sync, welcome), cumulative. */
function bytesPlot(r: ScenarioResult, t: TimeAxis, marks: readonly PhaseMark[]): string {
  const H = 220;
  const top = 10;
  const bottom = H - 45;
  const kinds = Object.keys(KIND_COLOR) as (keyof typeof KIND_COLOR)[];
  const max = Math.max(1, ...r.timeline.flatMap((s) => kinds.map((k) => s.bytesByKind[k] / 1024)));
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  const lines = kinds.map((k) => {
    const d = r.timeline
      .map((s, i) => `${i ? "L" : "M"}${t.x(s.timeMs).toFixed(1)},${y(s.bytesByKind[k] / 1024).toFixed(1)}`)
      .join("");
    return `<path class="series" data-name="bytes-${k}" d="${d}" fill="none" stroke="${KIND_COLOR[k]}" stroke-width="1.5"><title>${k}</title></path>`;
  });
  const legend = kinds
    .map(
      (k, i) =>
        `<g class="legend-entry"><line x1="${LEFT + i * 110}" y1="${H - 8}" x2="${LEFT + 14 + i * 110}" y2="${H - 8}" stroke="${KIND_COLOR[k]}" stroke-width="3"/><text x="${LEFT + 18 + i * 110}" y="${H - 5}" font-size="10">${k}</text></g>`,
    )
    .join("");
  return `<figure id="bytes"><figcaption>Bytes on the wire by topic, all members (cumulative)</figcaption><svg width="${W}" height="${H}">
${yAxis(max, top, bottom, "KB", false)}${xAxis(t, bottom)}${phaseMarks(t, marks, top, bottom)}${lines.join("")}<g class="legend">${legend}</g></svg></figure>`;
}

/** A colour per distinct state, in order of first appearance ("-": no group, grey). */
function stateColors(timeline: readonly Sample[]): Map<string, string> {
  const colors = new Map<string, string>([["-", "#e0e0e0"]]);
  for (const s of timeline)
    for (const st of Object.values(s.states))
      if (!colors.has(st))
        colors.set(st, `hsl(${((colors.size - 1) * 67) % 360},55%,${colors.size % 2 ? 45 : 62}%)`);
  return colors;
}

/**
 * State per member: one row per member, one cell per sample, one colour per distinct state (group,
 * epoch and fingerprint): two sides at one epoch on different branches show in different colours.
 */
function statePlot(r: ScenarioResult, t: TimeAxis, marks: readonly PhaseMark[]): string {
  const members = Object.keys(r.timeline.at(-1)?.states ?? {});
  const colors = stateColors(r.timeline);
  const row = 14;
  const top = 14;
  const bottom = top + members.length * row + 2;
  const cells = memberRows(r, t, members, top, row, (s, m) => {
    const st = s.states[m] ?? "-";
    return { attrs: `class="state" data-state="${esc(st)}"`, fill: colors.get(st)!, title: `${m} ${st}` };
  });
  const shown = [...colors].filter(([k]) => k !== "-");
  const perRow = 3;
  const legend = shown
    .map(([k, c], i) => {
      const lx = LEFT + (i % perRow) * 230;
      const ly = bottom + 48 + Math.floor(i / perRow) * 14;
      return `<g class="legend-entry"><rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${ly}" font-size="10">${esc(k)}</text></g>`;
    })
    .join("");
  const H = bottom + 52 + Math.ceil(shown.length / perRow) * 14;
  return `<figure id="states"><figcaption>State per member: group/epoch:fingerprint, a colour per state (a fork shows as two colours at one epoch)</figcaption><svg width="${W}" height="${H}">${cells.join("")}${xAxis(t, bottom)}${phaseMarks(t, marks, 0, bottom)}<g class="legend">${legend}</g></svg></figure>`;
}

/** The letter and colour of each recovery path on the status plot. */
const RECOVERY_MARK: Record<string, { letter: string; color: string }> = {
  "catch-up": { letter: "C", color: "#1b5e20" },
  realign: { letter: "R", color: "#0d47a1" },
  rejoin: { letter: "J", color: "#4a148c" },
  reset: { letter: "X", color: "#b71c1c" },
};

/** Each member's recoveries, where they happened, on its row of the status plot. */
function recoveryMarks(
  r: ScenarioResult,
  t: TimeAxis,
  members: readonly string[],
  top: number,
  row: number,
): string {
  return r.recoveryMarks
    .filter((m) => members.includes(m.member))
    .map((m) => {
      const k = RECOVERY_MARK[m.how] ?? { letter: "?", color: "#000" };
      const x = t.x(m.timeMs);
      const y = top + members.indexOf(m.member) * row + (row - 2) / 2;
      return `<g class="recovery" data-how="${esc(m.how)}" data-member="${esc(m.member)}"><circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="6" fill="#fff" stroke="${k.color}" stroke-width="1.5"/><text x="${x.toFixed(1)}" y="${(y + 3.5).toFixed(1)}" font-size="9" font-weight="bold" text-anchor="middle" fill="${k.color}">${k.letter}</text><title>${esc(m.member)} ${esc(m.how)} at ${(m.timeMs / 1000).toFixed(1)} s</title></g>`;
    })
    .join("");
}

/** Renders the report. */
export function renderReport(r: ScenarioResult): string {
  const t = timeAxis(r.timeline);
  const marks = phaseMarksOf(r.timeline);
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
<table id="sides">${r.sides.map((side, i) => `<tr><td>side ${i + 1} (${side.length})</td><td>${esc(side.join(" "))}</td></tr>`).join("")}</table>
<p>All plots share one time axis; the dashed lines mark the split and the heal. Recoveries: ${esc(
    Object.entries(r.recoveries)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "none",
  )}.</p>
${epochPlot(r, t, marks)}
${statePlot(r, t, marks)}
${statusPlot(r, t, marks)}
${bytesPlot(r, t, marks)}
</body></html>
`;
}
