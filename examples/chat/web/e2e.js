#!/usr/bin/env node
// Browser test of the chat page: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core.
//
//   node e2e.js URL TRANSPORT [SCREENSHOT.png]
//
// URL is the chat server ("http://127.0.0.1:8080"), TRANSPORT "websocket" or
// "polling" (the page is opened with ?transports=TRANSPORT, so the client uses
// that transport only), or "upgrade" (the page's default: long-polling first,
// then the upgrade to WebSocket, which must happen). Two pages join,
// see each other in the user list, exchange messages (each sees the other's,
// and the delivered tick of its own), one sees the other typing, one switches
// room and back, one reloads, rejoins and gets the history. Any page error or
// console error, or any message lost, duplicated or not acknowledged, fails.
// The last stdout line is a JSON result; the exit code is 0 only when ok.
"use strict";

const { chromium } = require("playwright-core");

const [base, transport, screenshot] = process.argv.slice(2);
if (!base || !["websocket", "polling", "upgrade"].includes(transport)) {
  console.error("usage: node e2e.js URL websocket|polling|upgrade [SCREENSHOT.png]");
  process.exit(2);
}
const query = transport === "upgrade" ? "" : `?transports=${transport}`;
const expected = transport === "upgrade" ? "websocket" : transport; // the transport the pages must end on

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const HARD_TIMEOUT = 50_000; // the whole run
const STEP = 10_000; // one wait
const N = 8; // messages each page sends in a burst
const started = Date.now();
const problems = [];

function log(...args) {
  console.error(`[e2e ${transport} +${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);
}

function finish(ok, extra) {
  console.log(JSON.stringify({ ok, transport, ms: Date.now() - started, ...extra }));
  process.exit(ok ? 0 : 1);
}

setTimeout(() => {
  log("hard timeout");
  finish(false, { error: `hard timeout after ${HARD_TIMEOUT} ms`, problems });
}, HARD_TIMEOUT).unref();

function assert(cond, what) {
  if (!cond) throw new Error("assertion failed: " + what);
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// watch records everything a page reports that is an error.
function watch(page, name) {
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.stack || e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") {
      const loc = m.location();
      problems.push(`${name}: console error: ${m.text()} (${loc.url}:${loc.lineNumber})`);
    }
  });
  page.on("crash", () => problems.push(`${name}: page crashed`));
}

async function open(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP);
  watch(page, name);
  await page.goto(`${base}/${query}`);
  await ready(page, name);
  return page;
}

// ready waits for the page to be connected on the transport under test.
async function ready(page, name) {
  await page.locator('#status[data-state="connected"]').waitFor();
  try {
    await page.locator(`#transport[data-transport="${expected}"]`).waitFor({ timeout: 5000 });
  } catch (e) {
    const t = await page.locator("#transport").textContent();
    throw new Error(`${name} shows transport ${JSON.stringify(t)}, want ${expected}`);
  }
}

async function join(page, nick) {
  await page.fill("#nick", nick);
  await page.click("#join-btn");
  await page.locator("#chat-view").waitFor({ state: "visible" });
  await page.locator("#send-btn:enabled").waitFor();
}

async function waitUsers(page, name, want) {
  want = [...want].sort();
  try {
    await page.waitForFunction(
      (w) => JSON.stringify([...document.querySelectorAll("#users li")].map((li) => li.dataset.nick).sort()) === w,
      JSON.stringify(want),
    );
  } catch (e) {
    const got = await page.$$eval("#users li", (lis) => lis.map((li) => li.dataset.nick));
    throw new Error(`${name}: user list ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// messages lists the chat bubbles on a page.
function messages(page) {
  return page.$$eval("#messages li.msg", (lis) =>
    lis.map((li) => ({
      nick: li.querySelector(".nick").textContent,
      text: li.querySelector(".text").textContent,
      own: li.classList.contains("own"),
      state: li.classList.contains("delivered") ? "delivered" : li.classList.contains("failed") ? "failed" : li.classList.contains("own") ? "pending" : "",
    })),
  );
}

// waitMessages waits until a page shows the texts of `from` that `want`
// lists, then checks they are exactly those, in order, once each.
async function waitMessages(page, name, from, want) {
  try {
    await page.waitForFunction(
      ([from, want]) => {
        const got = [...document.querySelectorAll("#messages li.msg")]
          .filter((li) => li.querySelector(".nick").textContent === from)
          .map((li) => li.querySelector(".text").textContent);
        return want.every((t) => got.includes(t));
      },
      [from, want],
    );
  } catch (e) {
    // fall through to the exact comparison, which says what is missing
  }
  const got = (await messages(page)).filter((m) => m.nick === from).map((m) => m.text);
  const sub = got.filter((t) => want.includes(t));
  assert(same(sub, want), `${name} shows ${from}'s messages ${JSON.stringify(sub)}, want ${JSON.stringify(want)} (lost, duplicated or out of order)`);
}

// waitDelivered waits until every own message of a page has its tick.
async function waitDelivered(page, name, count) {
  try {
    await page.waitForFunction((n) => document.querySelectorAll("#messages li.msg.own.delivered").length >= n, count);
  } catch (e) {
    // reported below
  }
  const own = (await messages(page)).filter((m) => m.own);
  const bad = own.filter((m) => m.state !== "delivered");
  assert(bad.length === 0 && own.length >= count, `${name}: own messages not all delivered: ${JSON.stringify(own)}`);
}

async function send(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

async function burst(page, nick) {
  const sent = [];
  for (let i = 1; i <= N; i++) {
    const text = `${nick} #${i}: <b>hi</b> & "quotes" 🌊`;
    sent.push(text);
    await send(page, text);
  }
  return sent;
}

async function typingShown(page, who) {
  return page.locator("#typing").textContent().then((t) => t.includes(`${who} is typing`));
}

async function main() {
  log(`launching ${CHROMIUM}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 20_000,
  });
  try {
    // Two pages, in two browser contexts: two people.
    const a = await open(browser, "alice");
    const b = await open(browser, "bob");
    log("both pages connected");

    await join(a, "alice");
    // Nicknames are unique, without regard to case.
    await b.fill("#nick", "ALICE");
    await b.click("#join-btn");
    await b.locator("#join-error", { hasText: "taken" }).waitFor();
    await join(b, "bob");
    await waitUsers(a, "alice", ["alice", "bob"]);
    await waitUsers(b, "bob", ["alice", "bob"]);
    log("joined; each sees the other in the user list");

    // Typing: the hint is volatile, so keep typing until it shows.
    let shown = false;
    for (let i = 0; i < 6 && !shown; i++) {
      await a.locator("#text").pressSequentially("hey ", { delay: 40 });
      await b.waitForTimeout(300);
      try {
        await b.locator("#typing", { hasText: "alice is typing" }).waitFor({ timeout: 1700 });
        shown = true;
      } catch (e) {
        log(`typing hint not shown yet (try ${i + 1})`);
      }
    }
    assert(shown, "bob never saw 'alice is typing'");
    await a.fill("#text", "");
    await a.dispatchEvent("#text", "input"); // emptied: "stopped typing"
    await b.locator("#typing", { hasText: "alice" }).waitFor({ state: "detached", timeout: 6000 }).catch(() => {});
    assert(!(await typingShown(b, "alice")), "bob still sees 'alice is typing' after she stopped");
    log("typing indicator shown and cleared");

    // Both send a burst at once.
    const [fromA, fromB] = await Promise.all([burst(a, "alice"), burst(b, "bob")]);
    await waitMessages(b, "bob", "alice", fromA);
    await waitMessages(a, "alice", "bob", fromB);
    await waitDelivered(a, "alice", N);
    await waitDelivered(b, "bob", N);
    log(`exchanged ${2 * N} messages, every one delivered and acknowledged`);

    // alice goes to another room and back.
    await a.fill("#new-room", "Riptide");
    await a.press("#new-room", "Enter");
    await a.locator("#room-title", { hasText: "#riptide" }).waitFor();
    await waitUsers(a, "alice", ["alice"]);
    await waitUsers(b, "bob", ["bob"]);
    await b.locator('#rooms li[data-room="riptide"] .n', { hasText: "1" }).waitFor();
    await send(a, "only in #riptide");
    await send(b, "only in #lobby");
    await waitDelivered(a, "alice", 1);
    await waitDelivered(b, "bob", N + 1);
    await a.click("#leave-btn");
    await a.locator("#room-title", { hasText: "#lobby" }).waitFor();
    await waitUsers(a, "alice", ["alice", "bob"]);
    await waitUsers(b, "bob", ["alice", "bob"]);
    await waitMessages(a, "alice", "bob", [...fromB, "only in #lobby"]);
    const bobSees = (await messages(b)).map((m) => m.text);
    assert(!bobSees.includes("only in #riptide"), "a message of #riptide reached #lobby");
    log("switched to #riptide and back; rooms keep their messages apart");

    // bob reloads, rejoins, and gets the history.
    await b.reload();
    await ready(b, "bob (reloaded)");
    assert((await b.inputValue("#nick")) === "bob", "the reloaded page does not offer the nickname back");
    await join(b, "bob");
    const history = [...fromA, ...fromB, "only in #lobby"];
    await waitMessages(b, "bob (reloaded)", "alice", fromA);
    await waitMessages(b, "bob (reloaded)", "bob", [...fromB, "only in #lobby"]);
    const after = await messages(b);
    assert(after.length === history.length, `bob's history has ${after.length} messages, want ${history.length}`);
    assert(after.filter((m) => m.nick === "bob").every((m) => m.own && m.state === "delivered"), "bob's own messages in the history are not his, delivered");
    await waitUsers(a, "alice", ["alice", "bob"]);
    await waitUsers(b, "bob", ["alice", "bob"]);
    log("bob reloaded, rejoined and got the history");

    // And the conversation goes on.
    await send(b, "back again");
    await send(a, "welcome back");
    await waitMessages(a, "alice", "bob", [...fromB, "only in #lobby", "back again"]);
    await waitMessages(b, "bob", "alice", [...fromA, "welcome back"]);
    await waitDelivered(a, "alice", N + 1); // her lobby messages: the burst and "welcome back"
    await waitDelivered(b, "bob", N + 2); // the burst, "only in #lobby", "back again"

    if (screenshot) {
      // A readable conversation for the picture, and bob starting a reply,
      // so that alice's page shows every feature at once.
      const lines = [
        [a, "Hi bob! This page talks to a Go server, through the real socket.io-client."],
        [b, "Nice. And the ✓ next to my messages?"],
        [a, "The server's acknowledgement: your message was delivered."],
        [b, "Rooms, history on join, typing hints… all in one Go program."],
      ];
      for (const [p, text] of lines) {
        await send(p, text);
        await p.locator("#messages li.msg.own.delivered .text", { hasText: text }).waitFor();
      }
      await a.locator("#messages li.msg .text", { hasText: lines[3][1] }).waitFor();
      await b.locator("#text").pressSequentially("Let me try it in", { delay: 20 });
      await a.locator("#typing", { hasText: "bob is typing" }).waitFor({ timeout: 4000 }).catch(() => {});
      await a.screenshot({ path: screenshot });
      log(`screenshot saved to ${screenshot}`);
    }

    for (const [p, name] of [[a, "alice"], [b, "bob"]]) {
      const t = await p.locator("#transport").textContent();
      assert(t === expected, `${name} ended on transport ${t}, want ${expected}`);
    }
    assert(problems.length === 0, "errors in the pages:\n" + problems.join("\n"));
    await browser.close();
    finish(true, { messages: 2 * N + 4 });
  } catch (e) {
    await browser.close().catch(() => {});
    throw e;
  }
}

main().catch((e) => {
  log(e.stack || String(e));
  finish(false, { error: String(e.message || e), problems });
});
