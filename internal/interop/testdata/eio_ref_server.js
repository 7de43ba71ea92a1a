#!/usr/bin/env node
// Node reference twin of the bare Engine.IO echo server that eio_client.js
// scenarios expect (see CONTRACT.md, "Engine.IO echo server").
//
// usage: node eio_ref_server.js [PORT] [--ping-interval MS] [--ping-timeout MS]
//   PORT 0 or absent: pick a free port. Ping defaults: 300 / 200 ms (the
//   contract's and the official suites' values).
//
// Prints exactly one line "LISTENING http://127.0.0.1:PORT" on stdout once it
// accepts connections; stops on SIGTERM/SIGINT.
//
// Behaviour (the contract a Go implementation must match):
//   path /engine.io/, pingInterval 300, pingTimeout 200 (by default),
//   maxHttpBufferSize 1e6,
//   every message is sent back on the same session (text as text, binary as
//   binary), except the text message "close-me", on which the server closes the
//   session (socket.close()).
//
// Reference-only extra (NOT part of the contract, the Go tests use their own
// server hooks instead): GET /_interop/eio-sessions?sid=SID returns
// {"known":bool,"open":bool,"closeReason":string|null} so that reference_test.go
// can check what the server observed for a session.

"use strict";

const http = require("http");
const { Server: EngineServer } = require("engine.io");

const argv = process.argv.slice(2);
const flag = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const port = /^\d+$/.test(argv[0] || "") ? Number(argv[0]) : 0;
const pingInterval = flag("--ping-interval", 300);
const pingTimeout = flag("--ping-timeout", 200);
const host = "127.0.0.1";

const sessions = new Map(); // sid -> {open, closeReason, transport}

const httpServer = http.createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  if (u.pathname === "/_interop/eio-sessions") {
    const s = sessions.get(u.searchParams.get("sid") || "");
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify(
        s
          ? { known: true, open: s.open, closeReason: s.closeReason, transport: s.transport }
          : { known: false, open: false, closeReason: null }
      )
    );
    return;
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

const engine = new EngineServer({
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
});
engine.attach(httpServer, { path: "/engine.io" });

engine.on("connection", (socket) => {
  const rec = { open: true, closeReason: null, transport: socket.transport.name };
  sessions.set(socket.id, rec);
  socket.on("upgrade", (t) => (rec.transport = t.name));
  socket.on("message", (data) => {
    if (data === "close-me") {
      socket.close();
      return;
    }
    socket.send(data);
  });
  socket.on("close", (reason) => {
    rec.open = false;
    rec.closeReason = reason;
  });
});

httpServer.listen(port, host, () => {
  console.log(`LISTENING http://${host}:${httpServer.address().port}`);
});

function shutdown() {
  engine.close();
  httpServer.close();
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 200).unref();
  httpServer.on("close", () => process.exit(0));
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
