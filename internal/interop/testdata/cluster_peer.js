#!/usr/bin/env node
// One node of a Socket.IO cluster built on Node's own Redis adapter
// (@socket.io/redis-adapter 8.3, classic or sharded), driven line by line over
// stdin/stdout, plus socket.io-client sockets it can open against any server
// and a @socket.io/redis-emitter. Go tests run two of these, or one of these
// next to Riptide, to check that both ends speak the same Redis protocol.
//
// usage: node cluster_peer.js --redis redis://127.0.0.1:N [--sharded]
//          [--mode dynamic|static|dynamic-private] [--port P]
//          [--key PREFIX] [--requests-timeout MS] [--specific-response-channel]
//
// cluster_peer.md describes the control protocol precisely; keep the two in sync.

"use strict";

const http = require("http");
const readline = require("readline");
const { Server, Socket: ServerSocket } = require("socket.io");
const { io: ioc } = require("socket.io-client");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");
const { createClient } = require("redis");
const { isBinary, toBuffer } = require("./lib/common");

// ---- arguments -------------------------------------------------------------

function parseArgs(argv) {
  const o = { redis: "", sharded: false, mode: "dynamic", port: 0, key: "socket.io", requestsTimeout: 5000, specific: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--redis":
        o.redis = val();
        break;
      case "--sharded":
        o.sharded = true;
        break;
      case "--mode":
        o.mode = val();
        break;
      case "--port":
        o.port = Number(val());
        break;
      case "--key":
        o.key = val();
        break;
      case "--requests-timeout":
        o.requestsTimeout = Number(val());
        break;
      case "--specific-response-channel":
        o.specific = true;
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  if (!/^rediss?:\/\//.test(o.redis)) usage("--redis redis://HOST:PORT is required");
  if (!["dynamic", "static", "dynamic-private"].includes(o.mode)) usage(`bad --mode ${o.mode}`);
  if (!Number.isInteger(o.port) || o.port < 0) usage("bad --port");
  return o;
}

function usage(msg) {
  process.stderr.write(
    `cluster_peer.js: ${msg}\nusage: node cluster_peer.js --redis redis://127.0.0.1:N [--sharded] [--mode dynamic|static|dynamic-private] [--port P] [--key PREFIX] [--requests-timeout MS] [--specific-response-channel]\n`
  );
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const NAMESPACES = ["/", "/chat"];
const STARTUP_TIMEOUT = 10000; // ms to reach Redis at startup; later outages are retried forever

// ---- output ------------------------------------------------------------------

// print writes one JSON line. stdout on a pipe is synchronous on Linux, so
// lines come out in the order the events happened.
function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function log(...args) {
  process.stderr.write(`[cluster_peer ${process.pid}] ${args.join(" ")}\n`);
}

// toWire turns a value into JSON-safe form: binaries become {"$bin": base64},
// functions (acks) and undefined object fields are dropped, undefined array
// items become null, Sets become arrays.
function toWire(v) {
  if (isBinary(v)) return { $bin: toBuffer(v).toString("base64") };
  if (Array.isArray(v)) return v.map((x) => (x === undefined || typeof x === "function" ? null : toWire(x)));
  if (v instanceof Set) return toWire([...v]);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) {
      if (v[k] === undefined || typeof v[k] === "function") continue;
      o[k] = toWire(v[k]);
    }
    return o;
  }
  return v;
}

// fromWire is the inverse: {"$bin": base64} (exactly that one key) becomes a Buffer.
function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$bin" && typeof v.$bin === "string") return Buffer.from(v.$bin, "base64");
    const o = {};
    for (const k of keys) o[k] = fromWire(v[k]);
    return o;
  }
  return v;
}

function popAck(args) {
  return typeof args[args.length - 1] === "function" ? args.pop() : null;
}

function errMsg(e) {
  return e && e.message ? e.message : String(e);
}

// ---- Redis and the Socket.IO server -------------------------------------------

const pub = createClient({ url: opts.redis });
const sub = pub.duplicate();
for (const [name, c] of [
  ["pub", pub],
  ["sub", sub],
]) {
  c.on("error", (e) => {
    log(`redis ${name} error: ${errMsg(e)}`);
    if (started) print({ event: "redis", client: name, state: "error", error: errMsg(e) });
  });
  for (const state of ["ready", "reconnecting", "end"]) {
    c.on(state, () => {
      if (started) print({ event: "redis", client: name, state });
    });
  }
}
let started = false;

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

const io = new Server(httpServer, { path: "/socket.io/", serveClient: false });

// barrier resolves once Redis has processed every command pub had queued before
// it (PING), and then every command sub had queued, in particular the adapters'
// fire-and-forget (S)SUBSCRIBEs: a throwaway (S)SUBSCRIBE + (S)UNSUBSCRIBE on
// the same connection is answered in order. Because the sub round trip starts
// after our own publishes were processed, the messages Redis sent us for them
// (the classic adapter's requests come back to their sender) have been handled
// too when it resolves.
let barrierSeq = 0;
async function barrier() {
  const ch = `cluster-peer-barrier#${process.pid}#${++barrierSeq}#`;
  const noop = () => {};
  await pub.ping();
  if (opts.sharded) {
    await sub.sSubscribe(ch, noop);
    await sub.sUnsubscribe(ch);
  } else {
    await sub.subscribe(ch, noop);
    await sub.unsubscribe(ch);
  }
}

// settle is two barriers: every message Redis sent us before it has been
// handled, and every subscription those handlers made is live. The classic
// adapter applies socketsJoin/socketsLeave/disconnectSockets to its OWN sockets
// only when its request comes back from Redis, so ops that use them settle
// before replying.
async function settle() {
  await barrier();
  await barrier();
}

function installNamespace(name) {
  const nsp = io.of(name);
  // Joining in a middleware (rather than in "connection") puts the socket in its
  // rooms before the client sees CONNECT, and lets us wait for the sharded
  // adapter's dynamic room subscriptions.
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    socket.data = auth.data;
    if (Array.isArray(auth.rooms) && auth.rooms.length) {
      socket.join(auth.rooms);
      barrier().then(
        () => next(),
        (e) => next(new Error(`cluster_peer: subscribe barrier: ${errMsg(e)}`))
      );
      return;
    }
    next();
  });
  nsp.on("connection", (socket) => {
    print({ event: "connection", nsp: name, id: socket.id, rooms: [...socket.rooms].sort() });
    socket.on("disconnect", (reason) => print({ event: "server-disconnect", nsp: name, id: socket.id, reason }));
    socket.on("ping-ack", (...args) => {
      const ack = popAck(args);
      if (ack) ack(...args);
    });
    for (const ev of ["join", "leave"]) {
      socket.on(ev, async (...args) => {
        const ack = popAck(args);
        if (ev === "join") socket.join(args[0]);
        else socket.leave(args[0]);
        try {
          await barrier();
        } catch (e) {
          log(`barrier after ${ev}: ${errMsg(e)}`);
        }
        ack && ack();
      });
    }
  });
  nsp.on("ss-echo", (...args) => {
    const cb = popAck(args);
    print({ event: "serverSideEmit", nsp: name, name: "ss-echo", args: toWire(args), ack: !!cb });
    cb && cb({ from: "node", args });
  });
}

// ---- clients and emitter ------------------------------------------------------

const clients = new Map(); // name -> socket.io-client socket
let emitter = null;

function client(name) {
  const c = clients.get(name);
  if (!c) throw new Error(`unknown client "${name}"`);
  return c;
}

function connectClient(cmd) {
  const name = cmd.client;
  if (!name) throw new Error("connect needs \"client\"");
  if (clients.has(name)) throw new Error(`client "${name}" exists`);
  if (!cmd.url) throw new Error("connect needs \"url\"");
  const nsp = cmd.nsp || "/";
  const socket = ioc(cmd.url.replace(/\/+$/, "") + (nsp === "/" ? "" : nsp), {
    forceNew: true,
    reconnection: false,
    transports: cmd.transports || ["websocket"],
    auth: fromWire(cmd.auth || {}),
    query: cmd.query || {},
    path: cmd.path || "/socket.io/",
  });
  clients.set(name, socket);
  socket.onAny((ev, ...args) => {
    const ack = popAck(args);
    print({ event: "recv", client: name, name: ev, args: toWire(args), ack: !!ack });
    if (ack && ev === "please-ack") ack({ client: name, args });
  });
  socket.on("disconnect", (reason, details) => {
    print({ event: "disconnect", client: name, reason, ...(details && details.description ? { description: errMsg(details.description) } : {}) });
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      clients.delete(name);
      socket.close();
      reject(new Error(`client "${name}" did not connect within ${cmd.timeout || 10000} ms`));
    }, cmd.timeout || 10000);
    socket.once("connect", () => {
      clearTimeout(t);
      resolve({ socketId: socket.id, transport: socket.io.engine.transport.name });
    });
    socket.once("connect_error", (e) => {
      clearTimeout(t);
      clients.delete(name);
      socket.close();
      const err = new Error(`connect_error: ${errMsg(e)}`);
      err.extra = { data: e && e.data !== undefined ? toWire(e.data) : null };
      reject(err);
    });
  });
}

function getEmitter() {
  if (!emitter) emitter = new Emitter(pub, { key: opts.key });
  return emitter;
}

// ---- commands -------------------------------------------------------------------

// sel builds io.of(nsp).in(rooms).except(except) (no rooms: the whole namespace).
function sel(cmd) {
  let op = io.of(cmd.nsp || "/");
  const rooms = cmd.rooms || [];
  const except = cmd.except || [];
  if (rooms.length) op = op.in(rooms);
  if (except.length) op = op.except(except);
  return op;
}

function withTimeout(p, ms, label) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`peer timeout after ${ms} ms: ${label}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function describeSocket(s) {
  const { sessionStore, ...handshake } = s.handshake || {};
  return {
    id: s.id,
    rooms: [...s.rooms].sort(),
    data: toWire(s.data === undefined ? null : s.data),
    handshake: toWire(handshake),
    local: s instanceof ServerSocket,
  };
}

async function findSocket(cmd) {
  if (!cmd.socketId) throw new Error(`${cmd.op} needs "socketId"`);
  const all = await io.of(cmd.nsp || "/").fetchSockets();
  const s = all.find((x) => x.id === cmd.socketId);
  if (!s) throw new Error(`socket ${cmd.socketId} not found (fetchSockets saw ${all.length})`);
  return s;
}

const ops = {
  async emit(cmd) {
    let op = sel(cmd);
    if (cmd.volatile) op = op.volatile;
    if (cmd.local) op = op.local;
    if (cmd.compress === false) op = op.compress(false);
    op.emit(cmd.event, ...fromWire(cmd.args || []));
    await pub.ping();
    return {};
  },

  async emitWithAck(cmd) {
    let op = sel(cmd).timeout(cmd.timeout || 5000);
    if (cmd.local) op = op.local;
    try {
      const replies = await op.emitWithAck(cmd.event, ...fromWire(cmd.args || []));
      return { replies: toWire(replies) };
    } catch (e) {
      const err = new Error(errMsg(e));
      err.extra = { replies: toWire(e.responses || []) };
      throw err;
    }
  },

  async fetchSockets(cmd) {
    let op = sel(cmd);
    if (cmd.local) op = op.local;
    if (cmd.timeout) op = op.timeout(cmd.timeout);
    const list = await op.fetchSockets();
    return { sockets: list.map(describeSocket) };
  },

  async socketsJoin(cmd) {
    let op = sel(cmd);
    if (cmd.local) op = op.local;
    op.socketsJoin(cmd.join);
    await settle();
    return {};
  },

  async socketsLeave(cmd) {
    let op = sel(cmd);
    if (cmd.local) op = op.local;
    op.socketsLeave(cmd.leave);
    await settle();
    return {};
  },

  async disconnectSockets(cmd) {
    let op = sel(cmd);
    if (cmd.local) op = op.local;
    op.disconnectSockets(!!cmd.close);
    await settle();
    return {};
  },

  async remoteSocketEmit(cmd) {
    const s = await findSocket(cmd);
    const args = fromWire(cmd.args || []);
    if (!cmd.ack) {
      s.emit(cmd.event, ...args);
      await pub.ping();
      return { local: s instanceof ServerSocket };
    }
    const reply = await new Promise((resolve, reject) => {
      s.timeout(cmd.timeout || 5000).emit(cmd.event, ...args, (err, ...res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
    return { local: s instanceof ServerSocket, replies: toWire(reply) };
  },

  async remoteSocketJoin(cmd) {
    const s = await findSocket(cmd);
    s.join(cmd.room);
    await settle();
    return { local: s instanceof ServerSocket };
  },

  async remoteSocketLeave(cmd) {
    const s = await findSocket(cmd);
    s.leave(cmd.room);
    await settle();
    return { local: s instanceof ServerSocket };
  },

  async remoteSocketDisconnect(cmd) {
    const s = await findSocket(cmd);
    s.disconnect(!!cmd.close);
    await settle();
    return { local: s instanceof ServerSocket };
  },

  async serverSideEmit(cmd) {
    const nsp = io.of(cmd.nsp || "/");
    const args = fromWire(cmd.args || []);
    if (!cmd.withAck) {
      nsp.serverSideEmit(cmd.event, ...args);
      await pub.ping();
      return {};
    }
    const p = nsp.serverSideEmitWithAck(cmd.event, ...args);
    try {
      const replies = await (cmd.timeout ? withTimeout(p, cmd.timeout, "serverSideEmitWithAck") : p);
      return { replies: toWire(replies) };
    } catch (e) {
      const err = new Error(errMsg(e));
      err.extra = { replies: toWire(e.responses || []) };
      throw err;
    }
  },

  async serverCount(cmd) {
    return { count: await io.of(cmd.nsp || "/").adapter.serverCount() };
  },

  async sync() {
    await settle();
    return {};
  },

  async info() {
    const uids = {};
    for (const [name, nsp] of io._nsps) uids[name] = nsp.adapter.uid;
    return { uids, clients: [...clients.keys()] };
  },

  async connect(cmd) {
    return connectClient(cmd);
  },

  async clientEmit(cmd) {
    const c = client(cmd.client);
    const args = fromWire(cmd.args || []);
    if (!cmd.ack) {
      c.emit(cmd.event, ...args);
      return {};
    }
    const reply = await new Promise((resolve, reject) => {
      c.timeout(cmd.timeout || 5000).emit(cmd.event, ...args, (err, ...res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
    return { args: toWire(reply) };
  },

  async clientClose(cmd) {
    const c = client(cmd.client);
    clients.delete(cmd.client);
    c.disconnect();
    return {};
  },

  async emitter(cmd) {
    let op = getEmitter().of(cmd.nsp || "/");
    if ((cmd.rooms || []).length) op = op.to(cmd.rooms);
    if ((cmd.except || []).length) op = op.except(cmd.except);
    if (cmd.volatile) op = op.volatile;
    op.emit(cmd.event, ...fromWire(cmd.args || []));
    await pub.ping();
    return {};
  },

  async emitterOp(cmd) {
    let op = getEmitter().of(cmd.nsp || "/");
    if (cmd.action === "serverSideEmit") {
      op.serverSideEmit(cmd.event, ...fromWire(cmd.args || []));
    } else {
      if ((cmd.rooms || []).length) op = op.to(cmd.rooms);
      if ((cmd.except || []).length) op = op.except(cmd.except);
      switch (cmd.action) {
        case "socketsJoin":
          op.socketsJoin(cmd.join);
          break;
        case "socketsLeave":
          op.socketsLeave(cmd.leave);
          break;
        case "disconnectSockets":
          op.disconnectSockets(!!cmd.close);
          break;
        default:
          throw new Error(`unknown emitterOp action "${cmd.action}"`);
      }
    }
    await settle();
    return {};
  },

  async quit() {
    setImmediate(shutdown);
    return {};
  },
};

async function handle(line) {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    print({ id: null, ok: false, error: `bad JSON: ${errMsg(e)}` });
    return;
  }
  const id = cmd && cmd.id !== undefined ? cmd.id : null;
  const fn = cmd && Object.prototype.hasOwnProperty.call(ops, cmd.op) ? ops[cmd.op] : null;
  if (!fn) {
    print({ id, ok: false, error: `unknown op ${JSON.stringify(cmd && cmd.op)}` });
    return;
  }
  try {
    const res = await fn(cmd);
    print({ ...res, id, ok: true }); // "id" and "ok" always win over result fields
  } catch (e) {
    print({ ...(e && e.extra), id, ok: false, error: errMsg(e) });
  }
}

let shuttingDown = false;
function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const c of clients.values()) c.disconnect();
  io.close();
  httpServer.closeAllConnections();
  Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}

async function main() {
  const connectTimer = setTimeout(() => {
    log(`cannot connect to ${opts.redis} within ${STARTUP_TIMEOUT} ms`);
    process.exit(1);
  }, STARTUP_TIMEOUT);
  await Promise.all([pub.connect(), sub.connect()]);
  clearTimeout(connectTimer);
  if (opts.sharded) {
    io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: opts.mode, channelPrefix: opts.key }));
  } else {
    io.adapter(
      createAdapter(pub, sub, {
        key: opts.key,
        requestsTimeout: opts.requestsTimeout,
        publishOnSpecificResponseChannel: opts.specific,
      })
    );
  }
  for (const name of NAMESPACES) installNamespace(name);
  await barrier(); // the adapters' subscriptions are live before we say so
  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(opts.port, "127.0.0.1", resolve);
  });
  const port = httpServer.address().port;
  const uids = {};
  for (const name of NAMESPACES) uids[name] = io.of(name).adapter.uid;
  started = true;
  print({
    event: "listening",
    url: `http://127.0.0.1:${port}`,
    port,
    pid: process.pid,
    adapter: opts.sharded ? "sharded" : "classic",
    subscriptionMode: opts.sharded ? opts.mode : null,
    key: opts.key,
    uids,
  });

  // One command at a time would serialize long waits (emitWithAck); instead each
  // line is handled as soon as it arrives and replies carry the request id.
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", (line) => {
    if (line.trim()) handle(line);
  });
  rl.on("close", shutdown); // the test (our parent) went away
}

process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.on("unhandledRejection", (e) => log(`unhandled rejection: ${errMsg(e)}`));

main().catch((e) => {
  log(`startup failed: ${(e && e.stack) || e}`);
  process.exit(1);
});
