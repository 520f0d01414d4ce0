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
import { renderReport } from "../../src/cli/report.ts";
import { runScenario } from "../../src/cli/scenarios.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

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
  return JSON.stringify(["epochs", "status", "bytes"].map((id) => {
    const svg = document.querySelector("#" + id + " svg");
    const marks = [...svg.querySelectorAll(".series, .status")].filter((e) => e.getBoundingClientRect().width > 1);
    const box = svg.getBoundingClientRect();
    return { id, width: box.width, height: box.height, marks: marks.length, hit: marks.filter(hit).length };
  }).concat([{ id: "resources", count: performance.getEntriesByType("resource").length,
    plan: document.querySelectorAll("#plan li").length }]));
})()`;

it("the HTML report of a real run renders its three plots and the plan in headless Chromium, offline", {
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
    const [epochs, status, bytes, page] = JSON.parse(probe.result.value);
    for (const plot of [epochs, status, bytes]) {
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
    assert.equal(page.count, 0, "nothing fetched: the page is self-contained");
    assert.ok(page.plan >= 3, "the plan lists forming, split and heal");
  } finally {
    browser.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
