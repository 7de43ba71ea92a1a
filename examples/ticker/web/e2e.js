#!/usr/bin/env node
// Browser test of the ticker page: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core.
//
//   node e2e.js URL [SCREENSHOT.png]
//
// The page connects with the real socket.io-client and subscribes to its
// default symbols; every row must then show live ticks. The test subscribes
// to one more symbol and unsubscribes from one, places a buy and a sell order
// and waits for their acknowledgements (an order id and a fill price). Any
// page error or console error fails. The last stdout line is a JSON result;
// the exit code is 0 only when ok.
"use strict";

const { chromium } = require("playwright-core");

const [base, screenshot] = process.argv.slice(2);
if (!base) {
  console.error("usage: node e2e.js URL [SCREENSHOT.png]");
  process.exit(2);
}

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const HARD_TIMEOUT = 40_000; // the whole run
const STEP = 12_000; // one wait
const started = Date.now();
const problems = [];

function log(...args) {
  console.error(`[e2e ticker +${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);
}

function finish(ok, extra) {
  console.log(JSON.stringify({ ok, ms: Date.now() - started, ...extra }));
  process.exit(ok ? 0 : 1);
}

setTimeout(() => {
  log("hard timeout");
  finish(false, { error: `hard timeout after ${HARD_TIMEOUT} ms`, problems });
}, HARD_TIMEOUT).unref();

function assert(cond, what) {
  if (!cond) throw new Error("assertion failed: " + what);
}

// rowTicks returns {sym: ticks received} for the rows on screen.
function rowTicks(page) {
  return page.$$eval("#rows tr", (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.sym, Number(tr.dataset.ticks)])));
}

// waitTicks waits until every row has received at least n ticks.
async function waitTicks(page, n, what) {
  try {
    await page.waitForFunction(
      (n) => {
        const trs = [...document.querySelectorAll("#rows tr")];
        return trs.length > 0 && trs.every((tr) => Number(tr.dataset.ticks) >= n);
      },
      n,
      { polling: 100 },
    );
  } catch (e) {
    throw new Error(`${what}: rows ${JSON.stringify(await rowTicks(page))}, want >= ${n} ticks each`);
  }
}

async function order(page, side, sym, qty) {
  await page.selectOption("#order-sym", sym);
  await page.fill("#order-qty", String(qty));
  const before = await page.locator("#orders li.filled").count();
  await page.click(side === "buy" ? "#buy-btn" : "#sell-btn");
  await page.locator("#orders li.filled").nth(before).waitFor();
  const li = page.locator("#orders li").first();
  const text = await li.textContent();
  const id = await li.getAttribute("data-id");
  assert(/^ORD-\d+$/.test(id || ""), `order id ${id}`);
  assert(new RegExp(`${side.toUpperCase()} ${qty} ${sym} @ \\d+\\.\\d\\d`).test(text), `order line ${JSON.stringify(text)}`);
  assert((await li.getAttribute("class")).includes(side), `order line class for ${side}`);
  log(`order acknowledged: ${text}`);
  return { id, text };
}

(async () => {
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    log("chromium", browser.version(), "launched");
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 640 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(STEP);
    page.on("pageerror", (e) => problems.push(`page error: ${e.stack || e.message}`));
    page.on("console", (m) => {
      // Errors from anywhere; warnings from the page's own script (a failed subscription).
      const own = (m.location().url || "").endsWith("/app.js");
      if (m.type() === "error" || (m.type() === "warning" && own)) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("crash", () => problems.push("page crashed"));

    await page.goto(base + "/");
    log("page loaded");
    await page.locator('#status[data-state="connected"]').waitFor();
    log("connected over", await page.locator("#transport").textContent());

    // The default watchlist, ticking.
    await page.locator("#rows tr").nth(7).waitFor();
    const syms = await page.$$eval("#rows tr", (trs) => trs.map((tr) => tr.dataset.sym));
    assert(JSON.stringify(syms) === JSON.stringify(["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX"]), `default watchlist ${syms}`);
    await waitTicks(page, 3, "default watchlist");
    log("ticking:", JSON.stringify(await rowTicks(page)));

    // Subscribe to one more, unsubscribe from one.
    await page.selectOption("#add-sym", "AMD");
    await page.click("#add-btn");
    await page.locator('#rows tr[data-sym="AMD"]').waitFor();
    await page.click('#rows tr[data-sym="TSLA"] button.remove');
    await page.locator('#rows tr[data-sym="TSLA"]').waitFor({ state: "detached" });
    const options = await page.$$eval("#add-sym option", (os) => os.map((o) => o.value));
    assert(options.includes("TSLA") && !options.includes("AMD"), "the subscribe menu offers what is not watched");
    await waitTicks(page, 2, "after AMD was added");
    const after = await rowTicks(page);
    assert(Object.keys(after).sort().join() === "AAPL,AMD,AMZN,GOOG,META,MSFT,NFLX,NVDA", `watchlist ${JSON.stringify(after)}`);
    log("subscriptions changed:", JSON.stringify(after));

    // Orders, acknowledged with an id and a fill price.
    const buy = await order(page, "buy", "NVDA", 250);
    const sell = await order(page, "sell", "AAPL", 40);
    assert(buy.id !== sell.id, "two orders, two ids");

    // Live header numbers.
    await page.waitForFunction(() => Number(document.getElementById("rate").textContent) > 0);
    const rate = Number(await page.locator("#rate").textContent());
    const latency = await page.locator("#latency").textContent();
    assert(/ms$/.test(latency), `latency ${latency}`);
    const feed = await page.locator("#feed").textContent();
    assert(feed === "50 symbols · 200 ticks/s", `feed ${feed}`);

    // Let the sparklines fill a little for the picture.
    await waitTicks(page, 12, "before the screenshot");
    if (screenshot) {
      await page.screenshot({ path: screenshot });
      log("screenshot saved to", screenshot);
    }
    assert(problems.length === 0, "no page errors");
    await browser.close();
    finish(true, { rows: after, rate, latency, orders: [buy.id, sell.id] });
  } catch (e) {
    log("failed:", e.message);
    for (const p of problems) log(p);
    if (browser) await browser.close().catch(() => {});
    finish(false, { error: e.message, problems });
  }
})();
