#!/usr/bin/env node
// socket.io-client scenarios against a Socket.IO server implementing the event
// contract in CONTRACT.md (Node twin: sio_ref_server.js).
//
// usage: node sio_client.js URL SCENARIO [websocket|polling|upgrade]
//        node sio_client.js --list
//   URL        server base URL, e.g. http://127.0.0.1:3000 (the client uses /socket.io/)
//   transport  websocket: WebSocket only; polling: long-polling only;
//              upgrade (default): polling first, then the upgrade to WebSocket.
//
// Prints one JSON line on stdout ({"ok":true,...} and exit 0, or {"ok":false,"error":..}
// and exit 1).
//
// Scenarios may run concurrently against one server: every room name and every
// broadcast payload carries a per-run token, and events from other runs are ignored.

"use strict";

const crypto = require("crypto");
const { Manager } = require("socket.io-client");
const C = require("./lib/common");
const { assert, fail, sleep, withTimeout, once, deepEqual, assertDeepEqual, show, W } = C;

const RUN = `r${process.pid}-${crypto.randomBytes(4).toString("hex")}`;

// What the Node reference does (sio_ref_server.js, socket.io 4.8.4 +
// socket.io-client 4.8.4); the Go server must behave the same.
const EXPECT = {
  invalidNamespace: "Invalid namespace",
  refusedMessage: "Not authorized",
  refusedData: { code: 42 },
  serverDisconnectReason: "io server disconnect", // socket.disconnect() / disconnectSockets()
  clientDisconnectReason: "io client disconnect", // client socket.disconnect()
  engineCloseReason: "transport close", // server closes the Engine.IO session
  ackTimeoutMessage: "operation has timed out",
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

const managers = new Set();

// manager makes a fresh Manager (= one Engine.IO connection) for the run's transport.
function manager(ctx, opts = {}) {
  const m = new Manager(ctx.url, {
    path: "/socket.io/",
    ...transportOpts(ctx.transport),
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    randomizationFactor: 0,
    timeout: W,
    extraHeaders: { "x-interop": "yes" },
    ...opts,
  });
  managers.add(m);
  return m;
}

// Client wraps one namespace socket with an event log that scenarios can wait on.
class Client {
  constructor(mgr, nsp, opts = {}) {
    this.mgr = mgr;
    this.nsp = nsp;
    this.sock = mgr.socket(nsp, opts);
    this.log = []; // {event, args, at}
    this.waiters = [];
    this.disconnects = [];
    this.sock.onAny((event, ...args) => {
      this.log.push({ event, args, at: Date.now() });
      this._check();
    });
    this.sock.on("disconnect", (reason, desc) => {
      this.disconnects.push({ reason, description: describe(desc), at: Date.now() });
      this._check();
    });
  }
  _check() {
    for (const w of this.waiters.slice()) {
      const r = w.test();
      if (r !== undefined) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  }
  // until resolves with test()'s first non-undefined result, re-checked on every event.
  until(test, ms, label) {
    const r = test();
    if (r !== undefined) return Promise.resolve(r);
    let w;
    const p = new Promise((resolve) => {
      w = { test, resolve };
      this.waiters.push(w);
    });
    return withTimeout(p, ms, `${label} (${this.nsp} ${this.sock.id || "not connected"})`).finally(() => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
  // event resolves with the args of the n-th (0-based) received `name` event matching pred.
  event(name, ms = W, pred = () => true, n = 0) {
    return this.until(
      () => {
        const m = this.log.filter((e) => e.event === name && pred(e.args));
        return m.length > n ? m[n].args : undefined;
      },
      ms,
      `waiting for event "${name}"`
    );
  }
  disconnected(ms = W, n = 0) {
    return this.until(() => (this.disconnects.length > n ? this.disconnects[n] : undefined), ms, "waiting for disconnect");
  }
  // connect resolves once connected; rejects with the connect_error's message.
  connected(ms = W) {
    return connectResult(this.sock, ms).then((r) => {
      if (r.error) fail(`connect to ${this.nsp} failed: ${r.error.message} ${show(r.error.data)}`);
      return this;
    });
  }
  // ack emits event with args and resolves with ALL the ack's arguments.
  ack(event, ...args) {
    return withTimeout(
      new Promise((resolve) => this.sock.emit(event, ...args, (...res) => resolve(res))),
      W,
      `ack for "${event}" on ${this.nsp}`
    );
  }
  get engine() {
    return this.mgr.engine;
  }
}

// describe turns a disconnect "description" into plain JSON for messages.
function describe(d) {
  if (d == null) return undefined;
  if (d instanceof Error) return { message: d.message, description: d.description };
  if (typeof d === "object") return { description: d.description && String(d.description.message || d.description), code: d.context && d.context.code };
  return String(d);
}

// assertStayedConnected fails if any client lost its connection during the scenario.
function assertStayedConnected(clients) {
  clients.forEach((c, i) => {
    if (c.disconnects.length) fail(`client #${i} (${c.nsp}) was disconnected unexpectedly: ${show(c.disconnects)}`);
  });
}

// connectResult resolves {ok:true} on "connect" or {error} on "connect_error".
function connectResult(sock, ms) {
  if (sock.connected) return Promise.resolve({ ok: true });
  let onC, onE;
  return withTimeout(
    new Promise((resolve) => {
      onC = () => resolve({ ok: true });
      onE = (err) => resolve({ error: err });
      sock.once("connect", onC);
      sock.once("connect_error", onE);
    }),
    ms,
    `connect ${sock.nsp}`
  ).finally(() => {
    sock.off("connect", onC);
    sock.off("connect_error", onE);
  });
}

// client creates a Manager + namespace socket and waits until connected.
async function client(ctx, nsp = "/", { auth, query, mgrOpts, connectMs = W } = {}) {
  const m = manager(ctx, { ...(query ? { query } : {}), timeout: connectMs, ...(mgrOpts || {}) });
  const c = new Client(m, nsp, auth ? { auth } : {});
  await c.connected(connectMs);
  return c;
}

// closeAll disconnects every socket and closes every Engine.IO connection, then
// leaves a short grace period so that the last packets (DISCONNECT, close) leave
// before the process exits.
async function closeAll() {
  for (const m of managers) {
    m.reconnection(false);
    for (const s of Object.values(m.nsps)) s.disconnect();
    if (m.engine) m.engine.close();
  }
  await sleep(100);
}

// waitGone polls fetch(room) through observer until the server reports the
// room empty, i.e. the server has processed the departure of its members.
async function waitGone(observer, room, ms = W) {
  const t0 = Date.now();
  for (;;) {
    const [ids] = await observer.ack("fetch", room);
    if (ids.length === 0) return Date.now() - t0;
    if (Date.now() - t0 > ms) fail(`server still has ${show(ids)} in room ${room} after ${ms} ms`);
    await sleep(30);
  }
}

// tokenized payloads, so events of concurrent runs can be told apart.
const P = (s) => `${RUN}:${s}`;
const mine = (args) => typeof args[0] === "string" && args[0].startsWith(RUN + ":");

// barrier sends a "sentinel" event (through the server's "to" handler) to every
// client's own socket-id room and waits until all of them got it. Per-connection
// ordering then guarantees every earlier emit has been delivered. Returns, per
// client, the events (tokenized ones only) received since the previous barrier.
async function barrier(by, clients) {
  const tok = P(`sentinel-${crypto.randomBytes(3).toString("hex")}`);
  await by.ack("to", clients.map((c) => c.sock.id), "sentinel", tok);
  const out = [];
  for (const c of clients) {
    await c.event("sentinel", W, (a) => a[0] === tok);
    const idx = c.log.findIndex((e) => e.event === "sentinel" && e.args[0] === tok);
    const from = c._cursor || 0;
    out.push(c.log.slice(from, idx).filter((e) => e.event !== "sentinel" && mine(e.args)).map((e) => [e.event, ...e.args]));
    c._cursor = idx + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------

const ARGSETS = [
  ["plain string"],
  ["unicode é ñ ß 日本語 한국어", "emoji 😀👍🏽👨‍👩‍👧‍👦🇫🇷", "record separator \u001e inside", "controls \u0000\u0001\u001f\u007f", 'quote " backslash \\ slash / </script>', "line\nbreak\r\ttab", "astral 𝄞"],
  [0, 1, -1, 42, 3.14159, -0.5, 1e21, 1.5e-10, 9007199254740991, -9007199254740991, 1.7976931348623157e308, 5e-324],
  [true, false, null],
  [{ a: 1, b: { c: [1, 2, { d: "e" }] } }, [[], [{}], [[[]]]]],
  [[], {}],
  ["", 0, false],
  [1, "two", { three: 3 }, [4], null, true, "😀"],
  [{ "key with spaces": 1, "ünïcödé": "ü", "emoji😀": "😀", "": "empty key", "\u001e": "rs key" }],
  [{ deep: { a: { b: { c: { d: { e: { f: { g: [1, [2, [3, [4]]]] } } } } } } } }],
  ["x".repeat(50000)],
  [Array.from({ length: 300 }, (_, i) => ({ i, s: `item-${i}` }))],
  [], // no arguments at all
];

function binsets() {
  return [
    [Buffer.from([1, 2, 3])],
    [{ file: Buffer.from("nested"), meta: { name: "x", deeper: [Buffer.from([0xff, 0x00])] } }],
    [Buffer.from("a"), Buffer.from("b"), { c: Buffer.from("c") }, "text", 1, null],
    [Uint8Array.from([9, 8, 7])],
    [[Buffer.from([1]), [Buffer.from([2]), { x: Buffer.from([3]) }]]],
    [Buffer.from([0x1e, 0x34, 0x62])],
    [crypto.randomBytes(100000)],
    ["before", Buffer.from("😀"), "after"],
  ];
}

const scenarios = {
  connect: {
    description: "connect to / with auth and query; auth echoed after connect; handshake data; socket id is not the engine id",
    async run(ctx) {
      const auth = { token: "abc", n: 1, nested: { emoji: "😀", list: [1, "two"] } };
      const c = await client(ctx, "/", { auth, query: { foo: "bar", "ü": "ö" } });
      ctx.at("auth event");
      const [gotAuth] = await c.event("auth");
      assertDeepEqual(gotAuth, auth, "auth event payload");
      const id = c.sock.id;
      const engineId = c.engine.id;
      assert(typeof id === "string" && id.length > 0, `socket id ${show(id)}`);
      assert(id !== engineId, "namespace socket id equals the Engine.IO session id (must not leak the engine sid)");
      ctx.at("handshake ack");
      const [h] = await c.ack("handshake");
      assertDeepEqual(h.auth, auth, "handshake.auth");
      assert(h.query && h.query.foo === "bar" && h.query["ü"] === "ö", `handshake.query ${show(h.query)}`);
      assert(h.query.EIO === "4", `handshake.query.EIO ${show(h.query.EIO)}`);
      const firstTransport = ctx.transport === "websocket" ? "websocket" : "polling";
      assert(h.query.transport === firstTransport, `handshake.query.transport ${show(h.query.transport)}, want ${firstTransport}`);
      assert(h.headers && h.headers["x-interop"] === "yes", `handshake headers x-interop ${show(h.headers)}`);
      assert(h.nsp === "/", `handshake nsp ${show(h.nsp)}`);
      assert(h.id === id, `handshake id ${show(h.id)} != client id ${id}`);
      ctx.at("connect without auth");
      const c2 = await client(ctx, "/");
      const [auth2] = await c2.event("auth");
      assertDeepEqual(auth2, {}, "auth event without CONNECT payload");
      let finalTransport = c.engine.transport.name;
      if (ctx.transport === "upgrade") {
        ctx.at("upgrade");
        if (finalTransport !== "websocket") await once(c.engine, "upgrade", W, "engine upgrade");
        finalTransport = c.engine.transport.name;
        assert(finalTransport === "websocket", `transport ${finalTransport} after upgrade`);
        const [e] = await c.ack("echo", "after upgrade");
        assert(e === "after upgrade", "echo after upgrade");
      }
      ctx.at("client disconnect");
      const room = P("connect");
      await c.ack("join", room);
      c.sock.disconnect();
      const d = await c.disconnected(1000);
      assert(d.reason === EXPECT.clientDisconnectReason, `client disconnect reason ${show(d.reason)}`);
      ctx.at("server sees the client disconnect");
      await waitGone(c2, room);
      await closeAll();
      return { id, idLength: id.length, ids: { clientDisconnected: id }, finalTransport, handshake: h };
    },
  },

  "connect-custom": {
    description: "/custom and / multiplexed on one Engine.IO connection; leaving /custom keeps /",
    async run(ctx) {
      const m = manager(ctx);
      const root = new Client(m, "/", { auth: { ns: "root" } });
      const custom = new Client(m, "/custom", { auth: { ns: "custom" } });
      await Promise.all([root.connected(), custom.connected()]);
      ctx.at("auth events");
      assertDeepEqual((await root.event("auth"))[0], { ns: "root" }, "/ auth");
      assertDeepEqual((await custom.event("auth"))[0], { ns: "custom" }, "/custom auth");
      assert(root.sock.id !== custom.sock.id, "same socket id on two namespaces");
      const engineId = m.engine.id;
      ctx.at("handshake on /custom");
      const [h] = await custom.ack("handshake");
      assert(h.nsp === "/custom" && h.id === custom.sock.id, `handshake ${show(h)}`);
      const [e] = await custom.ack("echo", "on custom", 1);
      assert(e === "on custom", "echo on /custom");
      custom.sock.emit("echo", "custom emit");
      assertDeepEqual(await custom.event("echo"), ["custom emit"], "emit-back on /custom");
      assert(!root.log.some((x) => x.event === "echo"), "echo for /custom delivered on /");
      ctx.at("leave /custom");
      const customId = custom.sock.id;
      custom.sock.disconnect();
      await sleep(100);
      const [e2] = await root.ack("echo", "root still works");
      assert(e2 === "root still works", "echo on / after leaving /custom");
      assert(m.engine.id === engineId, "engine session changed after leaving /custom");
      const rootId = root.sock.id;
      await closeAll();
      return { ids: { root: rootId, customDisconnected: customId } };
    },
  },

  "connect-dynamic": {
    description: "dynamic namespace /dyn-123 (regex ^/dyn-\\d+$) connects; /dyn-abc is an invalid namespace",
    async run(ctx) {
      const c = await client(ctx, "/dyn-123", { auth: { dyn: true } });
      assertDeepEqual((await c.event("auth"))[0], { dyn: true }, "auth on /dyn-123");
      const [h] = await c.ack("handshake");
      assert(h.nsp === "/dyn-123", `handshake nsp ${show(h.nsp)}`);
      const [e] = await c.ack("echo", "dyn");
      assert(e === "dyn", "echo on dynamic namespace");
      ctx.at("/dyn-abc");
      const bad = new Client(manager(ctx), "/dyn-abc");
      const r = await connectResult(bad.sock, W);
      assert(r.error, "/dyn-abc connected");
      assert(r.error.message === EXPECT.invalidNamespace, `connect_error message ${show(r.error.message)}`);
      const id = c.sock.id;
      await closeAll();
      return { id };
    },
  },

  "invalid-namespace": {
    description: 'unknown namespace: connect_error "Invalid namespace"; the Engine.IO connection and / stay up',
    async run(ctx) {
      const m = manager(ctx);
      const root = new Client(m, "/");
      await root.connected();
      const engineId = m.engine.id;
      ctx.at("connect /random");
      const bad = new Client(m, "/random");
      const r = await connectResult(bad.sock, W);
      assert(r.error, "/random connected");
      assert(r.error.message === EXPECT.invalidNamespace, `connect_error message ${show(r.error.message)}`);
      assert(r.error.data === undefined, `connect_error data ${show(r.error.data)}, want none`);
      assert(!bad.sock.active, "socket still active after Invalid namespace (would retry)");
      ctx.at("/ still works");
      const [e] = await root.ack("echo", "still here");
      assert(e === "still here", "echo on / after invalid namespace");
      assert(m.engine.id === engineId, "engine session changed after invalid namespace");
      await closeAll();
      return { message: r.error.message };
    },
  },

  refused: {
    description: 'middleware refusal: connect_error "Not authorized" with data {code:42}; the connection stays up',
    async run(ctx) {
      const m = manager(ctx);
      const root = new Client(m, "/");
      await root.connected();
      const engineId = m.engine.id;
      ctx.at("connect /refused");
      const bad = new Client(m, "/refused", { auth: { token: "wrong" } });
      const r = await connectResult(bad.sock, W);
      assert(r.error, "/refused connected");
      assert(r.error.message === EXPECT.refusedMessage, `connect_error message ${show(r.error.message)}`);
      assertDeepEqual(r.error.data, EXPECT.refusedData, "connect_error data");
      ctx.at("/ still works");
      const [e] = await root.ack("echo", "still here");
      assert(e === "still here", "echo on / after refusal");
      assert(m.engine.id === engineId, "engine session changed after refusal");
      await closeAll();
      return { message: r.error.message, data: r.error.data };
    },
  },

  args: {
    description: "events with many argument types (unicode, emoji, \\u001e, numbers, bools, null, nested, empty, multi-arg) via ack and via emit-back",
    async run(ctx) {
      const c = await client(ctx);
      ctx.at("emit-back");
      for (const a of ARGSETS) c.sock.emit("echo", ...a);
      for (let i = 0; i < ARGSETS.length; i++) assertDeepEqual(await c.event("echo", W, () => true, i), ARGSETS[i], `emit-back of arg set #${i}`);
      ctx.at("acks");
      const got = await Promise.all(ARGSETS.map((a) => c.ack("echo", ...a)));
      for (let i = 0; i < ARGSETS.length; i++) assertDeepEqual(got[i], ARGSETS[i], `ack of arg set #${i}`);
      await closeAll();
      return { argSets: ARGSETS.length };
    },
  },

  binary: {
    description: "binary both ways: Buffer top level, nested in objects/arrays, several buffers, 100 KB, via ack and emit-back",
    async run(ctx) {
      const c = await client(ctx);
      const sets = binsets();
      ctx.at("emit-back");
      for (const a of sets) c.sock.emit("echo-binary", ...a);
      for (let i = 0; i < sets.length; i++) {
        const got = await c.event("echo-binary", W, () => true, i);
        assertDeepEqual(got, sets[i], `emit-back of binary set #${i}`);
        assertBinaryAt(got, sets[i], `binary set #${i}`);
      }
      ctx.at("acks");
      const got = await Promise.all(sets.map((a) => c.ack("echo-binary", ...a)));
      for (let i = 0; i < sets.length; i++) {
        assertDeepEqual(got[i], sets[i], `ack of binary set #${i}`);
        assertBinaryAt(got[i], sets[i], `ack binary set #${i}`);
      }
      ctx.at("binary ack from the client");
      c.sock.on("ask", (n, cb) => cb(n + 1, { bin: Buffer.from([5, 6]) }, Buffer.from("client bytes")));
      const r = await c.ack("server-ack");
      assertDeepEqual(r, [2, { bin: Buffer.from([5, 6]) }, Buffer.from("client bytes")], "server-ack relaying a binary client ack");
      await closeAll();
      return { binarySets: sets.length };
    },
  },

  acks: {
    description: "acks both ways: client->server (incl. 20 concurrent), client-side ack timeout, server->client ack, server-side ack timeout",
    async run(ctx) {
      const c = await client(ctx);
      ctx.at("client->server ack");
      assertDeepEqual(await c.ack("echo", "a", 1), ["a", 1], "ack args");
      const v = await c.sock.timeout(W).emitWithAck("echo", "withAck");
      assert(v === "withAck", `emitWithAck ${show(v)}`);
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => c.ack("echo", i, `n${i}`)));
      many.forEach((r, i) => assertDeepEqual(r, [i, `n${i}`], `concurrent ack #${i}`));
      ctx.at("client-side ack timeout");
      const t0 = Date.now();
      const err = await withTimeout(
        new Promise((res) => c.sock.timeout(300).emit("no-such-handler", 1, (e) => res(e))),
        W,
        "client ack timeout"
      );
      const clientTimeoutMs = Date.now() - t0;
      assert(err instanceof Error && err.message === EXPECT.ackTimeoutMessage, `ack timeout error ${show(err)}`);
      ctx.at("server->client ack");
      c.sock.on("ask", (n, cb) => cb(n + 1, "ok"));
      assertDeepEqual(await c.ack("server-ack"), [2, "ok"], "server-ack result");
      ctx.at("server-side ack timeout");
      let askedNever = 0;
      c.sock.on("ask-never", () => askedNever++);
      const t1 = Date.now();
      assertDeepEqual(await c.ack("server-ack-timeout"), [{ timedOut: true }], "server-ack-timeout result");
      const serverTimeoutMs = Date.now() - t1;
      assert(askedNever === 1, `ask-never received ${askedNever} times`);
      assert(serverTimeoutMs >= 250, `server ack timed out after ${serverTimeoutMs} ms, want ~300`);
      ctx.at("still usable");
      assertDeepEqual(await c.ack("echo", "after"), ["after"], "echo after timeouts");
      await closeAll();
      return { clientTimeoutMs, serverTimeoutMs };
    },
  },

  rooms: {
    description: "join/leave, to(room), to([a,b]) union without duplicates, except, broadcast (not to sender), socket-id rooms",
    async run(ctx) {
      const [A, B, Cc] = await Promise.all([client(ctx), client(ctx), client(ctx)]);
      const all = [A, B, Cc];
      const ra = P("a"),
        rb = P("b");
      ctx.at("joins");
      await A.ack("join", ra);
      await B.ack("join", rb);
      await Cc.ack("join", ra);
      await Cc.ack("join", rb);
      assertDeepEqual((await Cc.ack("rooms"))[0], [Cc.sock.id, ra, rb].sort(), "rooms of C");
      await barrier(A, all);
      const step = async (label, fn, want) => {
        ctx.at(label);
        await fn();
        const got = await barrier(A, all);
        assertDeepEqual(got, want, `${label}: events received by [A, B, C]`);
      };
      await step("to(a)", () => A.ack("to", [ra], "ev", P("p1")), [[["ev", P("p1")]], [], [["ev", P("p1")]]]);
      await step("to([a,b]) union", () => A.ack("to", [ra, rb], "ev", P("p2")), [[["ev", P("p2")]], [["ev", P("p2")]], [["ev", P("p2")]]]);
      await step("to([a,b,a]) repeated room", () => B.ack("to", [ra, rb, ra], "ev", P("p2b")), [[["ev", P("p2b")]], [["ev", P("p2b")]], [["ev", P("p2b")]]]);
      await step("to([a,b]).except([b])", () => A.ack("except", { to: [ra, rb], except: [rb] }, P("p3")), [[["msg", P("p3")]], [], []]);
      await step("except([a]) (whole namespace)", () => A.ack("except", { to: [], except: [ra] }, P("p4")), [[], [["msg", P("p4")]], []]);
      await step("broadcast from A", () => A.ack("broadcast", P("p5")), [[], [["broadcast", P("p5")]], [["broadcast", P("p5")]]]);
      await step("to(own socket id room)", () => A.ack("to", [B.sock.id], "ev", P("p6")), [[], [["ev", P("p6")]], []]);
      ctx.at("leave");
      await Cc.ack("leave", ra);
      assertDeepEqual((await Cc.ack("rooms"))[0], [Cc.sock.id, rb].sort(), "rooms of C after leave");
      await step("to(a) after C left", () => B.ack("to", [ra], "ev", P("p7")), [[["ev", P("p7")]], [], []]);
      const ids = all.map((c) => c.sock.id);
      await closeAll();
      return { ids };
    },
  },

  volatile: {
    description: "volatile emits reach clients at most once and in order (may be dropped); the connection stays healthy",
    async run(ctx) {
      const [A, B] = await Promise.all([client(ctx), client(ctx)]);
      await barrier(A, [A, B]);
      ctx.at("volatile emits");
      const N = 5;
      for (let i = 0; i < N; i++) await A.ack("volatile", P(`v${i}`));
      const got = await barrier(A, [A, B]);
      const counts = got.map((evs) => {
        const vs = evs.filter((e) => e[0] === "volatile").map((e) => Number(e[1].split(":v")[1]));
        for (let i = 1; i < vs.length; i++) assert(vs[i] > vs[i - 1], `volatile out of order or duplicated: ${show(vs)}`);
        assert(vs.every((v) => v >= 0 && v < N), `unexpected volatile payloads ${show(vs)}`);
        return vs.length;
      });
      if (ctx.transport !== "polling") assert(counts.every((n) => n >= 1), `no volatile packet arrived over websocket: ${show(counts)}`);
      assertDeepEqual(await B.ack("echo", "ok"), ["ok"], "echo after volatile");
      await closeAll();
      return { sent: N, received: counts };
    },
  },

  "server-ops": {
    description: "server-side fetchSockets, socketsJoin, socketsLeave, disconnectSockets on rooms",
    async run(ctx) {
      const [A, B, Cc] = await Promise.all([client(ctx), client(ctx), client(ctx)]);
      const r1 = P("r1"),
        r2 = P("r2");
      ctx.at("fetchSockets");
      await A.ack("join", r1);
      await B.ack("join", r1);
      assertDeepEqual((await Cc.ack("fetch", r1))[0], [A.sock.id, B.sock.id].sort(), "fetch(r1)");
      assertDeepEqual((await Cc.ack("fetch", P("empty")))[0], [], "fetch(empty room)");
      ctx.at("socketsJoin");
      await Cc.ack("sockets-join", r1, r2);
      assertDeepEqual((await Cc.ack("fetch", r2))[0], [A.sock.id, B.sock.id].sort(), "fetch(r2) after socketsJoin");
      assertDeepEqual((await A.ack("rooms"))[0], [A.sock.id, r1, r2].sort(), "rooms of A after socketsJoin");
      await Cc.ack("to", [r2], "ev", P("to-r2"));
      const got = await barrier(Cc, [A, B, Cc]);
      assertDeepEqual(got, [[["ev", P("to-r2")]], [["ev", P("to-r2")]], []], "emit to r2 after socketsJoin");
      ctx.at("socketsLeave");
      await Cc.ack("sockets-leave", r2, r1);
      assertDeepEqual((await Cc.ack("fetch", r1))[0], [], "fetch(r1) after socketsLeave");
      assertDeepEqual((await Cc.ack("fetch", r2))[0], [A.sock.id, B.sock.id].sort(), "fetch(r2) after socketsLeave(r1)");
      ctx.at("disconnectSockets");
      const ids = { A: A.sock.id, B: B.sock.id };
      await Cc.ack("disconnect-room", r2);
      const [da, db] = await Promise.all([A.disconnected(W), B.disconnected(W)]);
      assert(da.reason === EXPECT.serverDisconnectReason && db.reason === EXPECT.serverDisconnectReason, `disconnect reasons ${show([da.reason, db.reason])}`);
      assertDeepEqual((await Cc.ack("fetch", r2))[0], [], "fetch(r2) after disconnectSockets");
      assertDeepEqual(await Cc.ack("echo", "C alive"), ["C alive"], "C unaffected");
      await sleep(300);
      assert(!A.sock.connected && !B.sock.connected && !A.sock.active, "A/B reconnected after server disconnect");
      await closeAll();
      return { ids, disconnectReason: da.reason };
    },
  },

  disconnect: {
    description: 'server socket.disconnect() / disconnect(true) -> client reason "io server disconnect", no auto-reconnect; client disconnect -> "io client disconnect"',
    async run(ctx) {
      const [A, B, Cc] = await Promise.all([client(ctx), client(ctx), client(ctx)]);
      const ids = { serverDisconnect: A.sock.id, serverDisconnectClose: B.sock.id, clientDisconnect: Cc.sock.id };
      let reconnectAttempts = 0;
      for (const c of [A, B]) c.mgr.on("reconnect_attempt", () => reconnectAttempts++);
      ctx.at("disconnect-me(false)");
      A.sock.emit("disconnect-me", false);
      const da = await A.disconnected(W);
      assert(da.reason === EXPECT.serverDisconnectReason, `disconnect(false) reason ${show(da.reason)}`);
      ctx.at("disconnect-me(true)");
      const engineClosed = once(B.engine, "close", W, "engine close after disconnect(true)");
      B.sock.emit("disconnect-me", true);
      const db = await B.disconnected(W);
      assert(db.reason === EXPECT.serverDisconnectReason, `disconnect(true) reason ${show(db.reason)}`);
      await engineClosed;
      ctx.at("client disconnect");
      const room = P("c");
      await Cc.ack("join", room);
      Cc.sock.disconnect();
      const dc = await Cc.disconnected(1000);
      assert(dc.reason === EXPECT.clientDisconnectReason, `client disconnect reason ${show(dc.reason)}`);
      ctx.at("server sees the client disconnect");
      const observer = await client(ctx);
      await waitGone(observer, room);
      await sleep(400);
      assert(reconnectAttempts === 0 && !A.sock.connected && !B.sock.connected, `reconnected after a server disconnect (${reconnectAttempts} attempts)`);
      await closeAll();
      return { ids, reasons: { serverDisconnect: da.reason, serverDisconnectClose: db.reason, clientDisconnect: dc.reason } };
    },
  },

  reconnect: {
    description: 'server closes the Engine.IO connection -> client "transport close", reconnects automatically with a new session and socket id',
    async run(ctx) {
      const c = await client(ctx, "/", { auth: { who: "reconnector" } });
      await c.event("auth");
      if (ctx.transport === "upgrade" && c.engine.transport.name !== "websocket") await once(c.engine, "upgrade", W, "engine upgrade");
      const id1 = c.sock.id;
      const engine1 = c.engine.id;
      let attempts = 0;
      c.mgr.on("reconnect_attempt", () => attempts++);
      const reconnected = once(c.mgr, "reconnect", W, "manager reconnect");
      ctx.at("close-engine");
      c.sock.emit("close-engine");
      const d = await c.disconnected(W);
      assert(d.reason === EXPECT.engineCloseReason, `disconnect reason ${show(d.reason)}`);
      assert(c.sock.active, "socket not active after transport close (will not reconnect)");
      ctx.at("reconnecting");
      await reconnected;
      await c.until(() => (c.sock.connected ? true : undefined), W, "connected again");
      const id2 = c.sock.id;
      assert(id2 && id2 !== id1, `socket id after reconnect ${show(id2)} (before ${id1})`);
      assert(c.engine.id !== engine1, "same engine session after reconnect");
      assertDeepEqual((await c.event("auth", W, () => true, 1))[0], { who: "reconnector" }, "auth re-sent on reconnect");
      assertDeepEqual(await c.ack("echo", "after reconnect"), ["after reconnect"], "echo after reconnect");
      await closeAll();
      return { reason: d.reason, attempts, oldId: id1, newId: id2, reconnectMs: Date.now() - d.at };
    },
  },

  "many-clients": {
    description: "50 clients in one process: all connect, join one room, get exactly one copy of a room emit, acks work",
    timeoutMs: 90000,
    async run(ctx) {
      const N = 50;
      ctx.at(`connecting ${N} clients`);
      // Generous waits: 50 handshakes at once are slow on a loaded machine.
      const cs = await Promise.all(Array.from({ length: N }, (_, i) => client(ctx, "/", { auth: { i }, connectMs: 3 * W })));
      const room = P("many");
      ctx.at("joins");
      await Promise.all(cs.map((c) => c.ack("join", room)));
      assertStayedConnected(cs);
      const ids = cs.map((c) => c.sock.id);
      assert(new Set(ids).size === N, "duplicate socket ids");
      assertDeepEqual((await cs[0].ack("fetch", room))[0], ids.slice().sort(), "fetch(room) of all clients");
      ctx.at("room emit");
      await cs[0].ack("to", [room], "hello", P("hi"));
      const tok = P("end");
      await cs[0].ack("to", [room], "sentinel", tok);
      await Promise.all(cs.map((c) => c.event("sentinel", W, (a) => a[0] === tok)));
      cs.forEach((c, i) => {
        const n = c.log.filter((e) => e.event === "hello" && e.args[0] === P("hi")).length;
        assert(n === 1, `client #${i} got ${n} copies of the room emit`);
      });
      ctx.at("concurrent acks");
      const acks = await Promise.all(cs.map((c, i) => c.ack("echo", i, "😀")));
      acks.forEach((a, i) => assertDeepEqual(a, [i, "😀"], `ack of client #${i}`));
      assertStayedConnected(cs);
      await closeAll();
      return { clients: N };
    },
  },
};

// assertBinaryAt checks that every binary leaf of want is binary in got (and not,
// e.g., a placeholder object or a base64 string).
function assertBinaryAt(got, want, label, path = "") {
  if (C.isBinary(want)) {
    assert(C.isBinary(got), `${label}: ${path || "value"} is ${show(got)}, want binary`);
    return;
  }
  if (want && typeof want === "object") for (const k of Object.keys(want)) assertBinaryAt(got && got[k], want[k], label, `${path}[${k}]`);
}

C.runMain("sio_client.js", scenarios);
