#!/usr/bin/env node
// engine.io-client scenarios against a bare Engine.IO echo server at /engine.io/
// (contract: CONTRACT.md, "Engine.IO echo server"; Node twin: eio_ref_server.js).
//
// usage: node eio_client.js URL SCENARIO [websocket|polling|upgrade]
//        node eio_client.js --list
//   URL        server base URL, e.g. http://127.0.0.1:3000 (the script adds /engine.io/)
//   transport  websocket: WebSocket only; polling: long-polling only;
//              upgrade (default): polling first, then the upgrade to WebSocket.
//
// Prints one JSON line on stdout ({"ok":true,...} and exit 0, or {"ok":false,"error":..}
// and exit 1). On the "upgrade" transport every scenario also asserts that the
// session really upgraded to websocket.

"use strict";

const crypto = require("crypto");
const { Socket } = require("engine.io-client");
const C = require("./lib/common");
const { assert, fail, sleep, withTimeout, once, isBinary, toBuffer, show, W } = C;

const PATH = "/engine.io/";
// maxPayload required by the contract (checked on every handshake: the limit
// scenarios depend on it). The ping values are read from the handshake: the
// contract's default is 300 / 200 ms, but every check is relative to them.
const MAX_PAYLOAD = 1e6;

// What the Node reference does (eio_ref_server.js, engine.io 6.6.12 +
// engine.io-client 6.6.8); the Go server must behave the same.
const EXPECT = {
  clientCloseReason: "forced close", // client-side reason after socket.close()
  // reason of the client 'close' event when the server closes the session
  // (after "close-me"), on every transport
  serverCloseReason: "transport close",
  pingTimeoutReason: "transport close",
  // reason of the client 'close' event after sending one message over maxPayload:
  overLimitReason: {
    websocket: "transport close", // server closes the WebSocket with code 1009
    polling: "transport error", // server answers the POST with HTTP 413
  },
};

function transportOpts(t) {
  switch (t) {
    case "websocket":
      return { transports: ["websocket"], upgrade: false };
    case "polling":
      return { transports: ["polling"], upgrade: false };
    default:
      return { transports: ["polling", "websocket"], upgrade: true };
  }
}

// describe turns the close event's "description" argument into plain JSON.
function describe(d) {
  if (d == null) return null;
  const out = {};
  if (d instanceof Error) out.message = d.message;
  if (d.type) out.type = d.type;
  if (d.description !== undefined) {
    const x = d.description;
    if (x && typeof x === "object") {
      if (x instanceof Error) out.description = x.message;
      else if ("code" in x) out.description = { code: x.code, reason: x.reason };
      else out.description = String(x);
    } else out.description = x;
  }
  const c = d.context;
  if (c && typeof c === "object") {
    if (c.code !== undefined) out.code = c.code;
    if (c.reason !== undefined && c.reason !== "") out.closeReason = String(c.reason);
    if (c.status !== undefined) out.status = c.status;
  }
  return out;
}

// open creates the client socket and resolves once it is open.
async function open(ctx, extra = {}) {
  ctx.at("open");
  const socket = new Socket(ctx.url, { path: PATH, ...transportOpts(ctx.transport), ...extra });
  const st = {
    socket,
    queue: [],
    waiters: [],
    closed: null,
    pings: [],
    errors: [],
    handshake: null,
    openedAt: 0,
    upgradedAt: 0,
  };
  let onUpgrade;
  st.upgraded = new Promise((r) => (onUpgrade = r));
  socket.on("handshake", (h) => (st.handshake = h));
  socket.on("ping", () => st.pings.push(Date.now()));
  socket.on("upgrade", (t) => {
    st.upgradedAt = Date.now();
    onUpgrade(t.name);
  });
  socket.on("error", (e) => st.errors.push(String((e && e.message) || e)));
  socket.on("message", (data) => {
    const w = st.waiters.shift();
    if (w) w.resolve(data);
    else st.queue.push(data);
  });
  let onClose;
  st.closedP = new Promise((r) => (onClose = r));
  socket.on("close", (reason, desc) => {
    st.closed = { reason, description: describe(desc), at: Date.now() };
    for (const w of st.waiters.splice(0)) w.reject(new C.ScenarioError(`socket closed unexpectedly: ${reason} ${show(st.closed.description)}`));
    onClose(st.closed);
  });
  // next resolves with the next received message.
  st.next = (ms = W, label = "next message") => {
    if (st.queue.length) return Promise.resolve(st.queue.shift());
    if (st.closed) return Promise.reject(new C.ScenarioError(`socket closed: ${st.closed.reason}`));
    return withTimeout(new Promise((resolve, reject) => st.waiters.push({ resolve, reject })), ms, label);
  };
  await withTimeout(
    new Promise((res, rej) => {
      socket.once("open", res);
      socket.once("close", (r, d) => rej(new C.ScenarioError(`closed before open: ${r} ${show(describe(d))}`)));
    }),
    W,
    "engine.io open"
  );
  st.openedAt = Date.now();
  st.sid = socket.id;
  st.openTransport = socket.transport.name;
  const want = ctx.transport === "websocket" ? "websocket" : "polling";
  assert(st.openTransport === want, `opened on ${st.openTransport}, want ${want}`);
  checkHandshake(st.handshake, want);
  // Relax the client's own liveness watchdog (normally: no ping for
  // pingInterval + pingTimeout -> close "ping timeout"). On a loaded machine a
  // late ping would otherwise kill data-path scenarios; whether the server pings
  // on time is what "heartbeat" checks, and closes must come from the server.
  socket._pingTimeout = st.handshake.pingTimeout + W;
  socket._resetPingTimeout();
  return st;
}

// checkHandshake asserts the open packet carries exactly the contract's values.
function checkHandshake(h, transport) {
  assert(h && typeof h === "object", "no handshake");
  assertKeys(h, ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"], "handshake");
  assert(typeof h.sid === "string" && h.sid.length > 0, `handshake sid ${show(h.sid)}`);
  C.assertDeepEqual(h.upgrades, transport === "polling" ? ["websocket"] : [], `handshake upgrades on ${transport}`);
  assert(h.maxPayload === MAX_PAYLOAD, `handshake maxPayload = ${show(h.maxPayload)}, the contract says ${MAX_PAYLOAD}`);
  for (const k of ["pingInterval", "pingTimeout"]) assert(Number.isInteger(h[k]) && h[k] > 0, `handshake ${k} = ${show(h[k])}`);
}

function assertKeys(o, keys, label) {
  const got = Object.keys(o).sort();
  C.assertDeepEqual(got, keys.slice().sort(), `${label} keys`);
}

// waitUpgrade, on the "upgrade" transport, waits for the switch to websocket.
async function waitUpgrade(ctx, st) {
  if (ctx.transport !== "upgrade") return;
  ctx.at("waiting for upgrade");
  await withTimeout(Promise.race([st.upgraded, closedFail(st, "before the upgrade")]), W, "upgrade to websocket");
  assert(st.socket.transport.name === "websocket", `transport is ${st.socket.transport.name} after upgrade`);
}

// closedFail rejects once the socket closes (to race against other waits).
function closedFail(st, when) {
  const p = st.closedP.then((c) => fail(`socket closed ${when}: ${c.reason} ${show(c.description)}`));
  p.catch(() => {}); // a close after the race was decided is not an error
  return p;
}

// finish closes a still-open socket and returns the common result fields.
async function finish(ctx, st, extra = {}) {
  if (ctx.transport === "upgrade") await waitUpgrade(ctx, st);
  const finalTransport = st.socket.transport && st.socket.transport.name;
  if (ctx.transport !== "upgrade") assert(!st.upgradedAt, `unexpected upgrade on transport ${ctx.transport}`);
  if (!st.closed) st.socket.close();
  return {
    sid: st.sid,
    openTransport: st.openTransport,
    finalTransport,
    upgradeMs: st.upgradedAt ? st.upgradedAt - st.openedAt : null,
    handshake: st.handshake,
    ...extra,
  };
}

async function expectText(st, want, label) {
  const got = await st.next(W, label);
  if (want === "" && got === undefined) {
    // An empty message is the bare packet "4" on the wire, both ways; the
    // engine.io-client decoder hands it to the application as undefined.
    return;
  }
  if (typeof got !== "string") fail(`${label}: got non-text ${show(got)}, want text ${show(want)}`);
  if (got !== want) fail(`${label}: got text ${show(got)} (${got.length} chars), want ${show(want)} (${want.length} chars)`);
}

async function expectBinary(st, want, label) {
  const got = await st.next(W, label);
  if (!isBinary(got)) fail(`${label}: got ${typeof got} ${show(got)}, want binary of ${toBuffer(want).length} bytes`);
  const g = toBuffer(got);
  const w = toBuffer(want);
  if (!g.equals(w)) fail(`${label}: binary differs: got ${g.length} bytes ${show(g.subarray(0, 16))}…, want ${w.length} bytes ${show(w.subarray(0, 16))}…`);
}

async function expectEcho(st, v, label) {
  return typeof v === "string" ? expectText(st, v, label) : expectBinary(st, v, label);
}

// expectClose waits for the client 'close' event and checks its reason.
async function expectClose(st, ms, wantReason, label) {
  const c = await withTimeout(st.closedP, ms, label);
  if (wantReason && c.reason !== wantReason) fail(`${label}: close reason ${show(c.reason)} (${show(c.description)}), want ${show(wantReason)}`);
  return c;
}

const TEXTS = [
  "hello",
  "", // empty message: the bare packet "4" both ways (arrives as undefined, see expectText)
  "héllo wörld – ñ ü ß ç",
  "日本語のテキスト 中文 한국어",
  "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷",
  "astral 𝄞 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "  spaces around  ",
  "4looks-like-a-packet",
  "b-not-base64",
  "1",
  "2probe",
  "3probe",
  '{"json":["a",1,null]}',
  "line\nbreak\ttab\r\n",
  "nul\u0000byte",
  "x".repeat(10000),
];

function binaries() {
  const ab = new ArrayBuffer(3);
  new Uint8Array(ab).set([7, 8, 9]);
  return [
    Uint8Array.from({ length: 256 }, (_, i) => i),
    Buffer.from("hello binary"),
    Uint8Array.from([0x1e, 0x34, 0x62, 0x00, 0xff, 0x1e]),
    Uint8Array.from([0]),
    crypto.randomBytes(64 * 1024),
    ab,
    Buffer.from("😀 utf8 bytes as binary"),
  ];
}

const scenarios = {
  text: {
    description: "text round trip: ASCII, empty, multi-byte UTF-8, emoji, control chars",
    async run(ctx) {
      const st = await open(ctx);
      ctx.at("text round trip");
      for (const t of TEXTS) st.socket.send(t);
      for (let i = 0; i < TEXTS.length; i++) await expectText(st, TEXTS[i], `text #${i}`);
      return finish(ctx, st, { messages: TEXTS.length });
    },
  },

  binary: {
    description: "binary round trip (Uint8Array, Buffer, ArrayBuffer, 64 KiB random), byte equality",
    async run(ctx) {
      const st = await open(ctx);
      ctx.at("binary round trip");
      const bins = binaries();
      for (const b of bins) st.socket.send(b);
      for (let i = 0; i < bins.length; i++) await expectBinary(st, bins[i], `binary #${i}`);
      // text and binary interleaved keep their kinds
      const mixed = ["t1", Buffer.from([1, 2, 3]), "t2", Buffer.from([4]), "t3"];
      for (const m of mixed) st.socket.send(m);
      for (let i = 0; i < mixed.length; i++) await expectEcho(st, mixed[i], `mixed #${i}`);
      return finish(ctx, st, { messages: bins.length + mixed.length });
    },
  },

  many: {
    description: "500 mixed text/binary messages sent back to back come back in order",
    async run(ctx) {
      const st = await open(ctx);
      ctx.at("sending 500 messages");
      const N = 500;
      const msgs = [];
      for (let i = 0; i < N; i++) {
        if (i % 3 === 0) {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(i);
          msgs.push(b);
        } else msgs.push(`msg-${i}-é😀`);
      }
      for (const m of msgs) st.socket.send(m);
      ctx.at("receiving 500 messages");
      for (let i = 0; i < N; i++) await expectEcho(st, msgs[i], `message #${i}`);
      return finish(ctx, st, { messages: N });
    },
  },

  large: {
    description: "900 KB text (multi-byte) and large binary echoed; a text of exactly maxPayload bytes (type byte included) is accepted",
    timeoutMs: 45000,
    async run(ctx) {
      const st = await open(ctx);
      await waitUpgrade(ctx, st);
      const tname = st.socket.transport.name;
      ctx.at("large text");
      const prefix = "€😀日本é";
      const text = prefix + "a".repeat(900000 - Buffer.byteLength(prefix));
      assert(Buffer.byteLength(text) === 900000, "bad test text size");
      st.socket.send(text);
      await expectText(st, text, "900 KB text");
      ctx.at("large binary");
      // On polling binary travels as "b" + base64 (4/3 bigger) inside the POST,
      // whose body must stay <= maxPayload, so the binary is smaller there.
      const binSize = tname === "polling" ? 700000 : 900000;
      const bin = crypto.randomBytes(binSize);
      st.socket.send(bin);
      await expectBinary(st, bin, `${binSize} B binary`);
      ctx.at("text at the limit");
      // "4" + 999999 bytes = exactly maxPayload (1e6) bytes on the wire, on both
      // transports (the WebSocket frame / the POST body).
      const atLimit = "z".repeat(MAX_PAYLOAD - 1);
      st.socket.send(atLimit);
      await expectText(st, atLimit, "text of exactly maxPayload bytes");
      return finish(ctx, st, { textBytes: 900000, binaryBytes: binSize, atLimitWireBytes: MAX_PAYLOAD });
    },
  },

  "over-limit": {
    description: "one message 1 byte over maxPayload: the server refuses it and the client sees its session close",
    async run(ctx) {
      const st = await open(ctx);
      await waitUpgrade(ctx, st);
      const tname = st.socket.transport.name;
      ctx.at("warm-up echo");
      st.socket.send("before");
      await expectText(st, "before", "echo before the big message");
      ctx.at("sending maxPayload+1 bytes");
      const t0 = Date.now();
      st.socket.send("o".repeat(MAX_PAYLOAD)); // + type byte "4" = maxPayload+1
      const c = await expectClose(st, W, EXPECT.overLimitReason[tname], "close after oversized message");
      assert(st.queue.length === 0, `oversized message was echoed (${st.queue.length} messages received)`);
      return {
        sid: st.sid,
        openTransport: st.openTransport,
        finalTransport: tname,
        closeReason: c.reason,
        closeDescription: c.description,
        closeAfterMs: c.at - t0,
      };
    },
  },

  upgrade: {
    description: "polling session upgrades to websocket; messages sent before, during and after the upgrade arrive in order",
    transports: ["upgrade"],
    async run(ctx) {
      const st = await open(ctx);
      assert(st.socket.transport.name === "polling", "not on polling at open");
      assert(st.handshake && Array.isArray(st.handshake.upgrades) && st.handshake.upgrades.includes("websocket"), `handshake upgrades: ${show(st.handshake && st.handshake.upgrades)}`);
      const sent = [];
      const send = (m) => {
        sent.push(m);
        st.socket.send(m);
      };
      let sawUpgrading = false;
      st.socket.once("upgrading", () => {
        sawUpgrading = true;
        for (let i = 0; i < 10; i++) send(`mid-${i}`);
      });
      for (let i = 0; i < 20; i++) send(i % 4 === 3 ? Buffer.from([i]) : `pre-${i}`);
      ctx.at("waiting for upgrade");
      await withTimeout(Promise.race([st.upgraded, closedFail(st, "before the upgrade")]), W, "upgrade event");
      assert(st.socket.transport.name === "websocket", `transport ${st.socket.transport.name} after upgrade`);
      for (let i = 0; i < 20; i++) send(i % 4 === 3 ? Buffer.from([100 + i]) : `post-${i}`);
      ctx.at("receiving");
      for (let i = 0; i < sent.length; i++) await expectEcho(st, sent[i], `message #${i} (${typeof sent[i] === "string" ? sent[i] : "binary"})`);
      assert(sawUpgrading, "no 'upgrading' event");
      return finish(ctx, st, { messages: sent.length });
    },
  },

  "client-close": {
    description: "client closes the session (socket.close()); the server drops it (later polls with the sid get 400 code 1)",
    async run(ctx) {
      const st = await open(ctx);
      await waitUpgrade(ctx, st);
      ctx.at("echo before close");
      st.socket.send("bye?");
      await expectText(st, "bye?", "echo before close");
      const finalTransport = st.socket.transport.name;
      ctx.at("closing");
      const t0 = Date.now();
      st.socket.close();
      const c = await expectClose(st, 2000, EXPECT.clientCloseReason, "client close event");
      ctx.at("waiting for the server to drop the session");
      const goneMs = await C.waitEngineSessionGone(ctx.url, PATH, st.sid, W);
      return {
        sid: st.sid,
        openTransport: st.openTransport,
        finalTransport,
        closeReason: c.reason,
        closeAfterMs: c.at - t0,
        serverDroppedWithinMs: Date.now() - t0,
        sessionGoneProbeMs: goneMs,
      };
    },
  },

  "server-close": {
    description: 'client sends "close-me"; the server closes the session; the client sees close "transport close"',
    async run(ctx) {
      const st = await open(ctx);
      await waitUpgrade(ctx, st);
      ctx.at("echo before close-me");
      st.socket.send("hi");
      await expectText(st, "hi", "echo before close-me");
      const finalTransport = st.socket.transport.name;
      ctx.at("close-me");
      const t0 = Date.now();
      st.socket.send("close-me");
      const c = await expectClose(st, W, EXPECT.serverCloseReason, "close after close-me");
      assert(st.queue.length === 0, `"close-me" was echoed`);
      ctx.at("checking the session is gone");
      await C.waitEngineSessionGone(ctx.url, PATH, st.sid, W);
      return {
        sid: st.sid,
        openTransport: st.openTransport,
        finalTransport,
        closeReason: c.reason,
        closeDescription: c.description,
        closeAfterMs: c.at - t0,
      };
    },
  },

  heartbeat: {
    description: "the server pings every pingInterval; answering keeps the session open for 3+ pings",
    async run(ctx) {
      const st = await open(ctx);
      const { pingInterval, pingTimeout } = st.handshake;
      ctx.at("waiting for 3 pings");
      const deadline = Date.now() + 3 * (pingInterval + pingTimeout) + W;
      while (st.pings.length < 3) {
        if (st.closed) fail(`closed while waiting for pings: ${st.closed.reason} ${show(st.closed.description)}`);
        if (Date.now() > deadline) fail(`only ${st.pings.length} pings after ${Date.now() - st.openedAt} ms`);
        await sleep(20);
      }
      const gaps = [st.pings[0] - st.openedAt, st.pings[1] - st.pings[0], st.pings[2] - st.pings[1]];
      // The server sends the next ping pingInterval after each pong, and the pong
      // leaves when the client handles the ping: so the gap between two pings
      // handled by the client is never below pingInterval, and with an answering
      // client not much above it. 10% slack: the client stamps a ping when its
      // handler runs, after the pong left, and on a loaded machine (tests run in
      // parallel under -race) that handler ran ~20 ms late once, shortening the
      // next gap by as much. (The gap from "open" is not checked: the client may
      // see "open" late.)
      for (const i of [1, 2]) {
        const g = gaps[i];
        assert(g >= pingInterval * 0.9 && g <= pingInterval + pingTimeout + 2000, `ping gap #${i} = ${g} ms, want ~${pingInterval} ms (gaps ${show(gaps)})`);
      }
      ctx.at("echo after pings");
      st.socket.send("still alive");
      await expectText(st, "still alive", "echo after 3 pings");
      return finish(ctx, st, { pingInterval, pingTimeout, pingGapsMs: gaps });
    },
  },

  "ping-timeout": {
    description: "client stops answering pings; the server closes the session after pingTimeout; client sees close",
    async run(ctx) {
      const st = await open(ctx);
      await waitUpgrade(ctx, st);
      const { pingInterval, pingTimeout } = st.handshake;
      const finalTransport = st.socket.transport.name;
      // Drop every pong from now on. engine.io-client answers a ping with
      // this._sendPacket("pong"); the upgrade probe does not go through it.
      const orig = st.socket._sendPacket.bind(st.socket);
      const dropped = [];
      st.socket._sendPacket = (type, ...rest) => {
        if (type === "pong") {
          dropped.push(Date.now());
          return;
        }
        return orig(type, ...rest);
      };
      ctx.at("waiting for the server to give up");
      const t0 = Date.now();
      const c = await expectClose(st, pingInterval + pingTimeout + W, EXPECT.pingTimeoutReason, "close after unanswered ping");
      assert(dropped.length >= 1, "closed before any ping was dropped");
      const afterPing = c.at - dropped[0];
      // The server must close ~pingTimeout after its unanswered ping (the
      // client's own watchdog is relaxed in open(), so the close is the server's).
      assert(afterPing >= pingTimeout * 0.5 && afterPing <= pingTimeout + 2000, `closed ${afterPing} ms after the unanswered ping, want ~${pingTimeout} ms`);
      await C.waitEngineSessionGone(ctx.url, PATH, st.sid, W);
      return {
        sid: st.sid,
        openTransport: st.openTransport,
        finalTransport,
        pingInterval,
        pingTimeout,
        droppedPongs: dropped.length,
        closeReason: c.reason,
        closeDescription: c.description,
        closeAfterUnansweredPingMs: afterPing,
        closeAfterStartMs: c.at - t0,
      };
    },
  },
};

C.runMain("eio_client.js", scenarios);
