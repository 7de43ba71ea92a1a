#!/usr/bin/env node
// Browser test of the game page: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core.
//
//   node e2e.js URL [SCREENSHOT.png]
//
// Two pages (two browser contexts: two players) join the same game with the
// real socket.io-client. Each holds an arrow key; the other page must see
// that player move in the server's state and draw its dot there, on the
// canvas, in its color. Both scoreboards list both players. Any page error or
// console error fails. The last stdout line is a JSON result; the exit code
// is 0 only when ok.
"use strict";

const { chromium } = require("playwright-core");

const [base, screenshot] = process.argv.slice(2);
if (!base) {
  console.error("usage: node e2e.js URL [SCREENSHOT.png]");
  process.exit(2);
}

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const HARD_TIMEOUT = 40_000; // the whole run
const STEP = 10_000; // one wait
const started = Date.now();
const problems = [];
const room = "e2e-" + Math.random().toString(36).slice(2, 8);

function log(...args) {
  console.error(`[e2e game +${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);
}

function finish(ok, extra) {
  console.log(JSON.stringify({ ok, ms: Date.now() - started, room, ...extra }));
  process.exit(ok ? 0 : 1);
}

setTimeout(() => {
  log("hard timeout");
  finish(false, { error: `hard timeout after ${HARD_TIMEOUT} ms`, problems });
}, HARD_TIMEOUT).unref();

function assert(cond, what) {
  if (!cond) throw new Error("assertion failed: " + what);
}

async function open(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 1260, height: 700 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP);
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.stack || e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on("crash", () => problems.push(`${name}: page crashed`));
  log(`${name}: context open`);
  await page.goto(`${base}/?room=${room}&name=${name}`);
  log(`${name}: page loaded`);
  await page.locator('#status[data-state="connected"]').waitFor();
  await page.waitForFunction(() => window.game && window.game.me && window.game.state);
  const me = await page.evaluate(() => window.game.me);
  assert(me.room === room && me.name === name, `${name} joined ${JSON.stringify(me)}`);
  log(`${name} joined ${room} over ${await page.locator("#transport").textContent()} as ${me.id} (${me.color})`);
  return { page, name, me };
}

// seen returns what page sees of player id in its last state.
function seen(page, id) {
  return page.evaluate((id) => {
    const st = window.game.state;
    return st && st.players.find((p) => p.id === id);
  }, id);
}

// hold presses key on a player's page for ms.
async function hold(p, key, ms) {
  await p.page.keyboard.down(key);
  await p.page.waitForTimeout(ms);
  await p.page.keyboard.up(key);
}

// pixel reads the color drawn at (x, y) on a page's canvas, after a frame.
function pixel(page, x, y) {
  return page.evaluate(
    ([x, y]) =>
      new Promise((resolve) =>
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            const d = document.getElementById("arena").getContext("2d").getImageData(Math.round(x), Math.round(y), 1, 1).data;
            resolve([d[0], d[1], d[2]]);
          }),
        ),
      ),
    [x, y],
  );
}

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// moveAndWatch: mover holds a key; watcher must see it move in the state and
// draw its dot where it stopped.
async function moveAndWatch(mover, watcher, axis) {
  const start = await seen(watcher.page, mover.me.id);
  assert(start, `${watcher.name} sees ${mover.name}`);
  const v = start[axis];
  const max = axis === "x" ? mover.me.arena.w : mover.me.arena.h;
  const forward = v < max / 2;
  const key = { x: forward ? "ArrowRight" : "ArrowLeft", y: forward ? "ArrowDown" : "ArrowUp" }[axis];
  for (let attempt = 1; ; attempt++) {
    await hold(mover, key, 600);
    // Moving at 240 px/s for 0.6 s: ~144 px.
    try {
      await watcher.page.waitForFunction(
        ([id, axis, v, forward]) => {
          const p = window.game.state.players.find((p) => p.id === id);
          return p && (forward ? p[axis] - v : v - p[axis]) > 60;
        },
        [mover.me.id, axis, v, forward],
      );
    } catch (e) {
      throw new Error(`${watcher.name} did not see ${mover.name} move on ${axis} (from ${v}): now ${JSON.stringify(await seen(watcher.page, mover.me.id))}`);
    }
    // Wait for the dot to rest (the key is up), then look at the canvas.
    let a = await seen(watcher.page, mover.me.id), b;
    for (;;) {
      await watcher.page.waitForTimeout(150);
      b = await seen(watcher.page, mover.me.id);
      if (a.x === b.x && a.y === b.y) break;
      a = b;
    }
    const other = await seen(watcher.page, watcher.me.id);
    // The watcher's own dot, ring and name label (drawn on top) must not
    // cover the spot we look at.
    if (Math.hypot(other.x - b.x, other.y - b.y) < 80 && attempt < 3) {
      log(`${mover.name} stopped on top of ${watcher.name}; moving on`);
      continue;
    }
    const got = await pixel(watcher.page, b.x, b.y);
    const want = rgb(mover.me.color);
    assert(
      got.every((c, i) => Math.abs(c - want[i]) <= 10),
      `${watcher.name}'s canvas at ${mover.name}'s position (${b.x}, ${b.y}) is rgb(${got}), want ${mover.me.color} rgb(${want})`,
    );
    log(`${watcher.name} saw ${mover.name} move ${key} from ${axis}=${v} to (${b.x}, ${b.y}) and drew it there in ${mover.me.color}`);
    return b;
  }
}

async function scoreboard(page) {
  return page.$$eval("#players li", (lis) => lis.map((li) => li.querySelector(".name").firstChild.textContent).sort());
}

(async () => {
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    log("chromium", browser.version(), "launched");
    const [alice, bob] = await Promise.all([open(browser, "alice"), open(browser, "bob")]);
    assert(alice.me.color !== bob.me.color, "two colors");

    for (const p of [alice, bob]) {
      await p.page.waitForFunction(() => window.game.state.players.length === 2);
      await p.page.waitForFunction(() => document.querySelectorAll("#players li").length === 2);
      const names = await scoreboard(p.page);
      assert(JSON.stringify(names) === '["alice","bob"]', `${p.name}'s scoreboard ${JSON.stringify(names)}`);
    }
    log("both pages see both players");

    const a = await moveAndWatch(alice, bob, "x");
    const b = await moveAndWatch(bob, alice, "y");

    // The server's loop runs at ~30 Hz: its tick counter against its clock
    // (what a starved browser receives per second may be less, or a burst).
    const rate = await alice.page.evaluate(
      () =>
        new Promise((resolve) => {
          const a = window.game.state;
          const check = () => {
            const b = window.game.state;
            if (b.ts - a.ts >= 1000) resolve(((b.tick - a.tick) * 1000) / (b.ts - a.ts));
            else setTimeout(check, 100);
          };
          setTimeout(check, 1000);
        }),
    );
    assert(rate > 20 && rate < 40, `server tick rate ${rate.toFixed(1)} Hz`);
    const tps = await Promise.all([alice, bob].map((p) => p.page.locator("#tps").textContent().then(Number)));
    assert(tps.every((n) => n > 0), `states per second shown ${tps}`);
    log(`server loop at ${rate.toFixed(1)} Hz; the pages received ${tps} states in the last second`);

    if (screenshot) {
      await alice.page.screenshot({ path: screenshot });
      log("screenshot saved to", screenshot);
    }
    assert(problems.length === 0, "no page errors");
    await browser.close();
    finish(true, { alice: a, bob: b, serverHz: Number(rate.toFixed(1)), statesPerSecond: tps });
  } catch (e) {
    log("failed:", e.message);
    for (const p of problems) log(p);
    if (browser) await browser.close().catch(() => {});
    finish(false, { error: e.message, problems });
  }
})();
