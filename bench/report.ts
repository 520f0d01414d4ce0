// Shared by every benchmark: print a table and write the same rows as JSON under bench/results/.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type Row = Record<string, string | number>;

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Prints `rows` as an aligned table and writes `{ bench, node, date, rows }` to bench/results/<name>.json. */
export function report(name: string, rows: Row[], notes: string[] = []): string {
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number | undefined) =>
    typeof v === "number" ? String(Math.round(v * 100) / 100) : (v ?? "");
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(width[i] as number)).join("  ");
  console.log(`\n${name}`);
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
  for (const n of notes) console.log(`  ${n}`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: name, node: process.version, date: new Date().toISOString(), rows, notes }, null, 2)}\n`,
  );
  console.log(`  -> ${file}`);
  return file;
}
