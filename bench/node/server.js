"use strict";
/**
 * The Node.js twin of bench/server (Go): the same benchmark event contract,
 * on socket.io 4.8 with its default options (path /socket.io/, pingInterval
 * 25 s, pingTimeout 20 s, maxHttpBufferSize 1e6). See ../README.md.
 *
 *   node server.js PORT      (PORT 0 picks a free port)
 *   node server.js PORT --redis redis://127.0.0.1:6379/0 [--sharded] [--mode dynamic|static|dynamic-private]
 *
 * Prints one line `listening on 127.0.0.1:PORT` once it listens, and exits
 * cleanly (io.close()) on SIGINT or SIGTERM.
 *
 * With --redis the server joins a cluster through @socket.io/redis-adapter
 * 8.3 (`redis` 4.7 clients): createAdapter(pub, sub), or with --sharded
 * createShardedAdapter(pub, sub, {subscriptionMode: --mode}), Redis 7's
 * SPUBLISH/SSUBSCRIBE. The same flags as bench/server's -redis, -sharded and
 * -mode. The adapter's subscriptions are live before the server listens, and
 * stats then also acks `redis: {published, received, ignored}`: messages the
 * adapter published, messages it received from Redis (every channel), and
 * those of them that delivered nothing here (its own, a room without members
 * here, another namespace). Without --redis nothing changes.
 *
 * Events on namespace "/" (the trailing ack is always optional):
 *   echo (...args, ack)        -> ack(...args); without an ack: emit("echo", ...args)
 *   join (room, ack)           -> socket.join(room); ack()
 *   bcast (room, payload, ack) -> io.to(room).emit("msg", payload); ack()
 *   bcast_burst ({room, count, payload_size}, ack)
 *                              -> count x io.to(room).emit("msg", {seq, ts, data}); ack({sent, us})
 *                                 bad argument: ack({error})
 *   broadcast (...args, ack)   -> socket.broadcast.emit("broadcast", ...args); ack()
 *   stats (ack)                -> ack({rss, heapUsed, connections}), with --redis also redis: {...}
 *
 * A room that is not a string is refused with ack({error}) by join, bcast and
 * bcast_burst alike, as the Go server does (its rooms are strings).
 */

const http = require("node:http");
const { Server } = require("socket.io");

/** Upper bound of bcast_burst's count, as in the Go server. */
const MAX_BURST_COUNT = 10_000_000;
/** Upper bound of bcast_burst's payload_size, as in the Go server. */
const MAX_PAYLOAD_SIZE = 1_000_000;

/**
 * Splits an event's arguments into the client's arguments and its ack
 * callback (null when the client asked for none): socket.io passes the ack
 * as a trailing function.
 */
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, null];
}

/** Wall-clock time in integer microseconds since the Unix epoch. */
function nowMicros() {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** Whether v is an integer in [0, max] (-0 included, as Number.isInteger says). */
function intInRange(v, max) {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
}

/**
 * Validates bcast_burst's argument. Returns {room, count, payloadSize} or
 * {error}; the checks and messages are those of the Go server's parseBurst.
 */
function parseBurst(opts) {
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    return { error: "argument must be an object {room, count, payload_size}" };
  }
  if (typeof opts.room !== "string") {
    return { error: "room must be a string" };
  }
  if (!intInRange(opts.count, MAX_BURST_COUNT)) {
    return { error: `count must be an integer in [0, ${MAX_BURST_COUNT}]` };
  }
  if (!intInRange(opts.payload_size, MAX_PAYLOAD_SIZE)) {
    return { error: `payload_size must be an integer in [0, ${MAX_PAYLOAD_SIZE}]` };
  }
  return { room: opts.room, count: opts.count, payloadSize: opts.payload_size };
}

/**
 * Registers the contract's handlers on one socket.
 *
 * bcast_burst is the straightforward synchronous loop a Node user writes: it
 * holds the event loop for the whole burst (no ping is answered and no other
 * event is handled meanwhile; every message is buffered in the sockets'
 * write queues until the loop is free). That is deliberate, for fidelity with
 * ordinary Node code; the Go server runs its burst on its own goroutine.
 */
function register(io, socket, redisStats) {
  socket.on("echo", (...raw) => {
    const [args, ack] = splitAck(raw);
    if (ack) {
      ack(...args);
    } else {
      socket.emit("echo", ...args);
    }
  });

  socket.on("join", (...raw) => {
    const [args, ack] = splitAck(raw);
    const room = args[0];
    if (typeof room !== "string") {
      if (ack) ack({ error: "room must be a string" });
      return;
    }
    socket.join(room);
    if (ack) ack();
  });

  socket.on("bcast", (...raw) => {
    const [args, ack] = splitAck(raw);
    const room = args[0];
    if (typeof room !== "string") {
      if (ack) ack({ error: "room must be a string" });
      return;
    }
    io.to(room).emit("msg", args[1]);
    if (ack) ack();
  });

  socket.on("bcast_burst", (...raw) => {
    const [args, ack] = splitAck(raw);
    const b = parseBurst(args[0]);
    if (b.error !== undefined) {
      if (ack) ack({ error: b.error });
      return;
    }
    const data = "x".repeat(b.payloadSize);
    const op = io.to(b.room);
    const start = process.hrtime.bigint();
    for (let seq = 0; seq < b.count; seq++) {
      op.emit("msg", { seq, ts: nowMicros(), data });
    }
    const us = Number((process.hrtime.bigint() - start) / 1000n);
    if (ack) ack({ sent: b.count, us });
  });

  socket.on("broadcast", (...raw) => {
    const [args, ack] = splitAck(raw);
    socket.broadcast.emit("broadcast", ...args);
    if (ack) ack();
  });

  socket.on("stats", (...raw) => {
    const [, ack] = splitAck(raw);
    if (!ack) return;
    const mem = process.memoryUsage();
    const st = { rss: mem.rss, heapUsed: mem.heapUsed, connections: io.of("/").sockets.size };
    if (redisStats) st.redis = { ...redisStats };
    ack(st);
  });
}

/**
 * Parses `PORT [--redis URL [--sharded] [--mode M]]`; exits with a usage
 * line on anything else.
 */
function parseArgs(argv) {
  const usage = (msg) => {
    console.error(`${msg}\nusage: node server.js PORT [--redis redis://HOST:PORT[/DB] [--sharded] [--mode dynamic|static|dynamic-private]]`);
    process.exit(2);
  };
  const o = { port: 3000, redis: "", sharded: false, mode: "dynamic" };
  let portSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
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
      default: {
        const port = Number(a);
        if (portSeen || a.startsWith("-") || !Number.isInteger(port) || port < 0 || port > 65535) {
          usage(`bad PORT ${JSON.stringify(a)}`);
        }
        o.port = port;
        portSeen = true;
      }
    }
  }
  if (o.redis && !/^rediss?:\/\//.test(o.redis)) usage(`--redis: want redis://HOST:PORT[/DB], got ${JSON.stringify(o.redis)}`);
  if (!["dynamic", "static", "dynamic-private"].includes(o.mode)) {
    usage(`--mode: want dynamic, static or dynamic-private, got ${JSON.stringify(o.mode)}`);
  }
  return o;
}

/**
 * Joins the cluster: connects the pub and sub clients, installs the Redis
 * adapter on io, counts what it publishes and receives (the returned object,
 * updated live), and resolves once its subscriptions are live.
 *
 * Counting costs a counter per message: the adapter's own entry points are
 * wrapped on its instance (the classic adapter's onmessage/onrequest and the
 * sharded one's onRawMessage, which its Redis listeners call through `this`),
 * and a message whose handling reaches the in-memory Adapter's broadcast
 * counts as applied; a broadcast message that did not is ignored.
 */
async function joinCluster(io, opts) {
  const { createClient } = require("redis");
  const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
  const { Adapter } = require("socket.io-adapter");
  const pub = createClient({ url: opts.redis });
  const sub = pub.duplicate();
  for (const [name, c] of [["pub", pub], ["sub", sub]]) {
    c.on("error", (e) => console.error(`redis ${name}: ${e && e.message ? e.message : e}`));
  }
  await Promise.all([pub.connect(), sub.connect()]);

  const stats = { published: 0, received: 0, ignored: 0 };
  for (const m of ["publish", "sPublish"]) {
    const orig = pub[m];
    pub[m] = function (...args) {
      stats.published++;
      return orig.apply(this, args);
    };
  }
  let remote = false; // inside the handling of a message from Redis
  let applied = 0;
  const origBroadcast = Adapter.prototype.broadcast;
  Adapter.prototype.broadcast = function (...args) {
    if (remote) applied++;
    return origBroadcast.apply(this, args);
  };

  io.adapter(opts.sharded ? createShardedAdapter(pub, sub, { subscriptionMode: opts.mode }) : createAdapter(pub, sub));
  const adapter = io.of("/").adapter;
  // Requests and responses (fetchSockets and the like) count as received
  // only; the benchmark sends none.
  const onRequest = adapter.onrequest;
  if (!opts.sharded) {
    adapter.onrequest = function (...args) {
      stats.received++;
      return onRequest.apply(this, args);
    };
  }
  for (const m of [opts.sharded ? "onRawMessage" : "onmessage"]) {
    const orig = adapter[m];
    adapter[m] = function (...args) {
      stats.received++;
      const before = applied;
      remote = true;
      try {
        return orig.apply(this, args);
      } finally {
        remote = false;
        if (applied === before) stats.ignored++;
      }
    };
  }

  // The adapter (P/S)SUBSCRIBEs without waiting; a throwaway subscription on
  // the same connection is answered after them, in order.
  const ch = `riptide-bench-barrier#${process.pid}#`;
  const noop = () => {};
  if (opts.sharded) {
    await sub.sSubscribe(ch, noop);
    await sub.sUnsubscribe(ch);
  } else {
    await sub.subscribe(ch, noop);
    await sub.unsubscribe(ch);
  }
  return stats;
}

/** Starts the server on 127.0.0.1:port and handles the shutdown signals. */
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  let redisStats = null;
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    // io.close() disconnects every socket and closes the HTTP server.
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    io.close(() => {
      if (redisStats) console.log(`redis adapter: ${JSON.stringify(redisStats)}`);
      process.exit(0);
    });
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  if (opts.redis) {
    try {
      redisStats = await joinCluster(io, opts);
    } catch (e) {
      console.error(`redis ${opts.redis}: ${e && e.message ? e.message : e}`);
      process.exit(1);
    }
  }
  io.on("connection", (socket) => register(io, socket, redisStats));

  httpServer.on("error", (err) => {
    console.error(`listen: ${err.message}`);
    process.exit(1);
  });
  httpServer.listen(opts.port, "127.0.0.1", () => {
    console.log(`listening on 127.0.0.1:${httpServer.address().port}`);
  });
}

main();
