#!/usr/bin/env node
// Node reference twin of the Socket.IO server that sio_client.js scenarios
// expect. CONTRACT.md describes the same behaviour for a Go implementer; keep
// the two in sync.
//
// usage: node sio_ref_server.js [PORT]      (PORT 0 or absent: pick a free port)
//
// Prints exactly one line "LISTENING http://127.0.0.1:PORT" on stdout once it
// accepts connections; stops on SIGTERM/SIGINT.
//
// Reference-only extra (NOT part of the contract): GET /_interop/sio-sockets?id=ID
// returns {"known":bool,"connected":bool,"disconnectReason":string|null,"nsp":string}
// for a namespace socket id, so reference_test.go can check what the server saw.

"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const host = "127.0.0.1";

const sockets = new Map(); // socket id -> {connected, disconnectReason, nsp}

const httpServer = http.createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  if (u.pathname === "/_interop/sio-sockets") {
    const s = sockets.get(u.searchParams.get("id") || "");
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(s ? { known: true, ...s } : { known: false }));
    return;
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

const io = new Server(httpServer, {
  path: "/socket.io/",
  serveClient: false,
  // Pings still happen during the longer scenarios; the long pong deadline keeps
  // a starved client (50 polling clients in one process on a loaded machine)
  // from being dropped.
  pingInterval: 3000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  connectTimeout: 10000,
});

// popAck removes and returns a trailing ack function, if the client asked for one.
function popAck(args) {
  return typeof args[args.length - 1] === "function" ? args.pop() : null;
}

// handlers installs the event contract on one namespace socket. Every room
// operation is scoped to the socket's own namespace (socket.nsp), which for "/"
// is the same as io.*.
function handlers(socket) {
  const nsp = socket.nsp;
  const rec = { connected: true, disconnectReason: null, nsp: nsp.name };
  sockets.set(socket.id, rec);
  socket.on("disconnect", (reason) => {
    rec.connected = false;
    rec.disconnectReason = reason;
  });

  // Sent right after the CONNECT reply (the server does that for us).
  socket.emit("auth", socket.handshake.auth);

  const echo = (...args) => {
    const ack = popAck(args);
    if (ack) ack(...args);
    else socket.emit("echo", ...args);
  };
  socket.on("echo", echo);
  socket.on("echo-binary", (...args) => {
    const ack = popAck(args);
    if (ack) ack(...args);
    else socket.emit("echo-binary", ...args);
  });

  socket.on("handshake", (...args) => {
    const ack = popAck(args);
    const h = socket.handshake;
    ack &&
      ack({
        auth: h.auth,
        query: { ...h.query },
        headers: { "x-interop": h.headers["x-interop"] === undefined ? null : h.headers["x-interop"] },
        nsp: nsp.name,
        id: socket.id,
      });
  });

  socket.on("join", (...args) => {
    const ack = popAck(args);
    socket.join(args[0]);
    ack && ack();
  });
  socket.on("leave", (...args) => {
    const ack = popAck(args);
    socket.leave(args[0]);
    ack && ack();
  });
  socket.on("rooms", (...args) => {
    const ack = popAck(args);
    ack && ack([...socket.rooms].sort());
  });

  socket.on("to", (...args) => {
    const ack = popAck(args);
    const [rooms, event, payload] = args;
    nsp.to(rooms).emit(event, payload);
    ack && ack();
  });
  socket.on("except", (...args) => {
    const ack = popAck(args);
    const [{ to, except }, payload] = args;
    let op = nsp;
    if (to && to.length) op = op.to(to);
    op.except(except).emit("msg", payload);
    ack && ack();
  });
  socket.on("broadcast", (...args) => {
    const ack = popAck(args);
    socket.broadcast.emit("broadcast", args[0]);
    ack && ack();
  });
  socket.on("volatile", (...args) => {
    const ack = popAck(args);
    nsp.volatile.emit("volatile", args[0]);
    ack && ack();
  });

  socket.on("server-ack", (...args) => {
    const ack = popAck(args);
    socket.timeout(2000).emit("ask", 1, (err, ...answers) => {
      if (!ack) return;
      if (err) ack({ error: String(err && err.message) });
      else ack(...answers);
    });
  });
  socket.on("server-ack-timeout", (...args) => {
    const ack = popAck(args);
    socket.timeout(300).emit("ask-never", 1, (err) => {
      ack && ack({ timedOut: !!err });
    });
  });

  socket.on("fetch", async (...args) => {
    const ack = popAck(args);
    const room = args[0];
    const list = await (room == null ? nsp.fetchSockets() : nsp.in(room).fetchSockets());
    ack && ack(list.map((s) => s.id).sort());
  });
  socket.on("sockets-join", (...args) => {
    const ack = popAck(args);
    nsp.in(args[0]).socketsJoin(args[1]);
    ack && ack();
  });
  socket.on("sockets-leave", (...args) => {
    const ack = popAck(args);
    nsp.in(args[0]).socketsLeave(args[1]);
    ack && ack();
  });

  socket.on("disconnect-me", (...args) => {
    popAck(args);
    socket.disconnect(args[0] === true);
  });
  socket.on("disconnect-room", (...args) => {
    const ack = popAck(args);
    ack && ack();
    nsp.in(args[0]).disconnectSockets();
  });
  socket.on("close-engine", (...args) => {
    popAck(args);
    socket.conn.close();
  });
}

io.on("connection", handlers);
io.of("/custom").on("connection", handlers);
io.of(/^\/dyn-\d+$/).on("connection", handlers);
io.of("/refused")
  .use((socket, next) => {
    const err = new Error("Not authorized");
    err.data = { code: 42 };
    next(err);
  })
  .on("connection", handlers);

httpServer.listen(port, host, () => {
  console.log(`LISTENING http://${host}:${httpServer.address().port}`);
});

function shutdown() {
  io.close();
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 200).unref();
  httpServer.on("close", () => process.exit(0));
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
