"use strict";
/**
 * The Node.js twin of bench/server (Go): the same benchmark event contract,
 * on socket.io 4.8 with its default options (path /socket.io/, pingInterval
 * 25 s, pingTimeout 20 s, maxHttpBufferSize 1e6). See ../README.md.
 *
 *   node server.js PORT      (PORT 0 picks a free port)
 *
 * Prints one line `listening on 127.0.0.1:PORT` once it listens, and exits
 * cleanly (io.close()) on SIGINT or SIGTERM.
 *
 * Events on namespace "/" (the trailing ack is always optional):
 *   echo (...args, ack)        -> ack(...args); without an ack: emit("echo", ...args)
 *   join (room, ack)           -> socket.join(room); ack()
 *   bcast (room, payload, ack) -> io.to(room).emit("msg", payload); ack()
 *   bcast_burst ({room, count, payload_size}, ack)
 *                              -> count x io.to(room).emit("msg", {seq, ts, data}); ack({sent, us})
 *                                 bad argument: ack({error})
 *   broadcast (...args, ack)   -> socket.broadcast.emit("broadcast", ...args); ack()
 *   stats (ack)                -> ack({rss, heapUsed, connections})
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
function register(io, socket) {
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
    ack({ rss: mem.rss, heapUsed: mem.heapUsed, connections: io.of("/").sockets.size });
  });
}

/** Starts the server on 127.0.0.1:port and handles the shutdown signals. */
function main() {
  const arg = process.argv[2] ?? "3000";
  const port = Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`usage: node server.js PORT (got ${JSON.stringify(arg)})`);
    process.exit(2);
  }
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  io.on("connection", (socket) => register(io, socket));

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    // io.close() disconnects every socket and closes the HTTP server.
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    io.close(() => process.exit(0));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  httpServer.on("error", (err) => {
    console.error(`listen: ${err.message}`);
    process.exit(1);
  });
  httpServer.listen(port, "127.0.0.1", () => {
    console.log(`listening on 127.0.0.1:${httpServer.address().port}`);
  });
}

main();
