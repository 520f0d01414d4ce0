// The HTML report as a browser shows it: a real scenario's report loaded in headless Chromium (Debian's
// `chromium`, installed by .ci/run), driven over the DevTools protocol on a pipe. Skipped where Chromium
// is not installed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { it } from "node:test";
import { inflateSync } from "node:zlib";
import { renderReport } from "../../src/cli/report.ts";
import { runScenario } from "../../src/cli/scenarios.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** A PNG as Chromium writes it (8-bit RGB or RGBA, not interlaced): width, height, a pixel's colour. */
function decodePng(png: Buffer): { width: number; height: number; rgb(x: number, y: number): string } {
  assert.equal(png.subarray(0, 8).toString("hex"), "89504e470d0a1a0a", "a PNG");
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString("latin1");
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, "8 bits per channel");
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? px[y * stride + i - channels]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter]!;
      px[y * stride + i] = (v + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    rgb: (x, y) => px.subarray(y * stride + x * channels, y * stride + x * channels + 3).toString("hex"),
  };
}

/** A minimal DevTools-protocol client over `--remote-debugging-pipe` (NUL-delimited JSON on fds 3/4). */
class Cdp {
  private next = 1;
  private buffer = "";
  private readonly waiting = new Map<number, (r: { result?: unknown; error?: unknown }) => void>();
  private readonly out: Writable;
  constructor(out: Writable, input: Readable) {
    this.out = out;
    input.setEncoding("utf8");
    input.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf("\0"); i >= 0; i = this.buffer.indexOf("\0")) {
        const msg = JSON.parse(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 1);
        if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg);
      }
    });
  }
  async send<T>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    const id = this.next++;
    const reply = new Promise<{ result?: unknown; error?: unknown }>((r) => this.waiting.set(id, r));
    this.out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    const r = await reply;
    if (r.error) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
    return r.result as T;
  }
}

/** In the page: for every plot, whether it has a size and whether its marks are what the browser hits there. */
const PROBE = `(() => {
  const hit = (el) => {
    const r = el.getBoundingClientRect();
    const at = (x, y) => document.elementFromPoint(x, y);
    if (el.tagName === "path") {
      const p = el.getPointAtLength(el.getTotalLength() / 2);
      const m = el.getScreenCTM();
      // Lines of members in the same state overlap: the topmost line there counts.
      const top = at(p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f);
      return top !== null && top.classList.contains("series") && top.ownerSVGElement === el.ownerSVGElement;
    }
    return r.width > 0 && r.height > 0 && at(r.left + r.width / 2, r.top + r.height / 2) === el;
  };
  const visible = (e) => e.getBoundingClientRect().width > 0 && document.elementFromPoint(
    e.getBoundingClientRect().left + e.getBoundingClientRect().width / 2,
    e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2) !== null;
  return JSON.stringify(["epochs", "states", "status", "bytes"].map((id) => {
    const svg = document.querySelector("#" + id + " svg");
    const marks = [...svg.querySelectorAll(".series, .status, .state")].filter((e) => e.getBoundingClientRect().width > 1);
    const recoveries = [...svg.querySelectorAll(".recovery")];
    const box0 = svg.getBoundingClientRect();
    const box = svg.getBoundingClientRect();
    const texts = (sel) => [...svg.querySelectorAll(sel)].filter(visible).map((e) => e.textContent);
    // Where each phase mark is drawn on the screen, by its label.
    const phases = Object.fromEntries([...svg.querySelectorAll(".phase-mark")].map((l) =>
      [l.dataset.phase, Math.round(l.getBoundingClientRect().left)]));
    // The screen x of the tick labelled "10" (seconds): the same on every plot if the axis is shared.
    const tick10 = [...svg.querySelectorAll(".tick")].find((e) => e.textContent === "10" && e.getAttribute("text-anchor") === "middle");
    const inGroup = (g) => { const r = g.getBoundingClientRect(); const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); return e !== null && g.contains(e); };
    return { id, width: box.width, height: box.height, marks: marks.length, hit: marks.filter(hit).length,
      recoveries: recoveries.length, recoveriesHit: recoveries.filter(inGroup).length,
      rect: { x: Math.round(box0.left), y: Math.round(box0.top), w: Math.round(box0.width), h: Math.round(box0.height) },
      axisLabels: texts(".axis-label"), ticks: texts(".tick").length, legend: texts(".legend-entry").length,
      phases, tick10: tick10 ? Math.round(tick10.getBoundingClientRect().left + tick10.getBoundingClientRect().width / 2) : null,
      lineTops: id === "epochs" ? marks.map((m) => m.getBBox().y) : [] };
  }).concat([{ id: "resources", count: performance.getEntriesByType("resource").length,
    plan: document.querySelectorAll("#plan li").length }]));
})()`;

it("the HTML report of a real run renders its four plots on one time axis, with legends, labelled axes, the split and the heal, states told apart and recoveries marked, in headless Chromium, offline", {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed`,
}, async () => {
  const r = await runScenario({ scenario: "minority-lag", members: 5, seed: 2, loss: 0, epochs: 2 });
  const dir = mkdtempSync(join(tmpdir(), "demls-report-"));
  const file = join(dir, "report.html");
  writeFileSync(file, renderReport(r));
  const browser = spawn(
    CHROMIUM,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${join(dir, "profile")}`,
      "--remote-debugging-pipe",
    ],
    { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
  );
  try {
    const cdp = new Cdp(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
    const { targetId } = await cdp.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    await cdp.send("Page.enable", {}, sessionId);
    // A viewport that holds the whole page: elementFromPoint only sees what is inside it.
    await cdp.send(
      "Emulation.setDeviceMetricsOverride",
      { width: 1000, height: 4000, deviceScaleFactor: 1, mobile: false },
      sessionId,
    );
    await cdp.send("Page.navigate", { url: `file://${file}` }, sessionId);
    // Wait for the document to be complete.
    for (let i = 0; i < 100; i++) {
      const s = await cdp.send<{ result: { value: string } }>(
        "Runtime.evaluate",
        { expression: "document.readyState" },
        sessionId,
      );
      if (s.result.value === "complete") break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const probe = await cdp.send<{ result: { value: string } }>(
      "Runtime.evaluate",
      { expression: PROBE },
      sessionId,
    );
    const [epochs, states, status, bytes, page] = JSON.parse(probe.result.value);
    for (const plot of [epochs, states, status, bytes]) {
      assert.ok(plot.width > 300 && plot.height > 50, `${plot.id} has a size: ${JSON.stringify(plot)}`);
      assert.ok(plot.marks > 0, `${plot.id} has marks: ${JSON.stringify(plot)}`);
      assert.equal(
        plot.hit,
        plot.marks,
        `every mark of ${plot.id} is drawn where it is: ${JSON.stringify(plot)}`,
      );
    }
    assert.equal(epochs.marks, 5, "one epoch line per member");
    assert.ok(status.marks >= 5 * 10, "a status cell per member and sample");
    // Legends: every member's colour on the epoch plot, every status on the status plot.
    assert.equal(epochs.legend, 5, JSON.stringify(epochs));
    assert.equal(status.legend, 6 + 4, `statuses and recovery paths: ${JSON.stringify(status)}`);
    assert.equal(bytes.legend, 3, "app, sync, welcome");
    assert.equal(bytes.marks, 3, "a line per topic kind");
    // Every recovery of the run is marked on its member's row, visible.
    assert.equal(
      status.recoveries,
      Object.values(r.recoveries).reduce((a, b) => a + b, 0),
    );
    assert.ok(status.recoveries > 0);
    assert.equal(status.recoveriesHit, status.recoveries, JSON.stringify(status));
    assert.ok(states.marks >= 5 * 10, "a state cell per member and sample");
    // The screenshot: the state plot shows one colour per distinct state of the run.
    const shot = await cdp.send<{ data: string }>("Page.captureScreenshot", { format: "png" }, sessionId);
    const png = Buffer.from(shot.data, "base64");
    writeFileSync(join(dir, "report.png"), png);
    const image = decodePng(png);
    assert.equal(image.width, 1000);
    const distinctStates = new Set(r.timeline.flatMap((x) => Object.values(x.states)));
    // Pixels along the middle of each member's row of cells (rows 14 px apart from 14 px down): one colour
    // per state the run went through. Colours seen only a few times are edges blended by anti-aliasing,
    // the dashed split and heal lines, or the background before the first sample.
    const seen = new Map<string, number>();
    const { x, y, w } = states.rect;
    for (let row = 0; row < 5; row++)
      for (let px = x + 75; px < x + w - 25; px++) {
        const c = image.rgb(px, y + 14 + row * 14 + 6);
        seen.set(c, (seen.get(c) ?? 0) + 1);
      }
    const colours = new Set([...seen].filter(([c, n]) => n >= 20 && c !== "ffffff").map(([c]) => c));
    const cellColours = distinctStates.size;
    assert.ok(cellColours >= 2, "the run had several states");
    assert.ok(
      colours.size >= cellColours && colours.size <= cellColours + 3,
      `the state plot shows its ${cellColours} states in as many colours: ${colours.size}`,
    );
    // Labelled axes with ticks; time on every plot.
    assert.deepEqual(epochs.axisLabels, ["epoch", "time since start (s, virtual)"]);
    assert.deepEqual(status.axisLabels, ["time since start (s, virtual)"]);
    assert.deepEqual(bytes.axisLabels, ["KB", "time since start (s, virtual)"]);
    for (const plot of [epochs, status, bytes]) assert.ok(plot.ticks >= 5, `${plot.id} has ticks`);
    assert.equal(states.tick10, epochs.tick10);
    // One shared time axis: a time is at one x on all three plots, and so are the split and the heal.
    assert.ok(epochs.tick10 !== null, "a 10 s tick");
    assert.equal(status.tick10, epochs.tick10);
    assert.equal(bytes.tick10, epochs.tick10);
    assert.deepEqual(Object.keys(epochs.phases), ["split", "heal"]);
    assert.ok(epochs.phases.split < epochs.phases.heal);
    assert.deepEqual(status.phases, epochs.phases);
    assert.deepEqual(bytes.phases, epochs.phases);
    // Members on one epoch do not hide each other: no two lines are drawn at the same height.
    assert.equal(
      new Set(epochs.lineTops.map((y: number) => y.toFixed(1))).size,
      5,
      JSON.stringify(epochs.lineTops),
    );
    assert.equal(page.count, 0, "nothing fetched: the page is self-contained");
    assert.ok(page.plan >= 3, "the plan lists forming, split and heal");
  } finally {
    browser.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
