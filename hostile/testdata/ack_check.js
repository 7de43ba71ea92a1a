#!/usr/bin/env node
// ack_check.js: the well-behaved client of the hostile suite.
//
// usage: node ack_check.js URL [websocket,polling,upgrade]
//
// For each transport (all three by default, concurrently) the real npm
// socket.io-client connects to URL + /socket.io/, emits "echo" with a text,
// a number, a nested object and a binary attachment plus an ack callback,
// and checks that the ack returns exactly those arguments. On "upgrade" it
// first waits for the polling -> WebSocket upgrade. Prints one JSON line:
// {"ok":true,...} and exit 0, or {"ok":false,"error":...} and exit 1.
//
// socket.io-client is resolved from the interop harness's node_modules
// (internal/interop/testdata), which interop.Setup installs.

"use strict";

const path = require("path");

const paths = [process.cwd(), path.resolve(__dirname, "../../internal/interop/testdata")];
const { io } = require(require.resolve("socket.io-client", { paths }));

const url = process.argv[2];
const transports = (process.argv[3] || "websocket,polling,upgrade").split(",");
const WAIT_MS = 20000;

function opts(t) {
  switch (t) {
    case "websocket":
      return { transports: ["websocket"], upgrade: false };
    case "polling":
      return { transports: ["polling"], upgrade: false };
    case "upgrade":
      return { transports: ["polling", "websocket"], upgrade: true };
  }
  throw new Error(`unknown transport ${t}`);
}

function check(t) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const sock = io(url, { path: "/socket.io/", forceNew: true, reconnection: false, timeout: WAIT_MS, ...opts(t) });
    let finished = false;
    const done = (err, res) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(new Error(`${t}: ${err}`));
      else resolve(res);
    };
    const timer = setTimeout(() => done(`no ack within ${WAIT_MS} ms`), WAIT_MS);
    sock.on("connect_error", (e) => done(`connect_error: ${e.message}`));
    sock.on("disconnect", (reason) => done(`disconnected: ${reason}`));
    const emit = () => {
      const args = ["hello", 42, { nested: [1, "x", null, true] }, Buffer.from([0, 1, 2, 253, 254, 255])];
      sock.emit("echo", ...args, (...got) => {
        const norm = (v) => JSON.stringify(v, (k, x) => (x && x.type === "Buffer" ? { buf: x.data } : x));
        if (got.length !== args.length || !Buffer.isBuffer(got[3]) || norm(got) !== norm(args)) {
          return done(`ack ${norm(got)}, want ${norm(args)}`);
        }
        done(null, { transport: t, final: sock.io.engine.transport.name, ms: Date.now() - start });
      });
    };
    sock.on("connect", () => {
      if (t !== "upgrade" || sock.io.engine.transport.name === "websocket") return emit();
      sock.io.engine.once("upgrade", emit);
      sock.io.engine.once("upgradeError", (e) => done(`upgradeError: ${e.message}`));
    });
  });
}

Promise.all(transports.map(check)).then(
  (results) => {
    console.log(JSON.stringify({ script: "ack_check", ok: true, results }));
    // Exit once the clients have closed cleanly (a polling client's close
    // packet is a POST still in flight here), or after 5 s at the latest.
    process.exitCode = 0;
    setTimeout(() => process.exit(0), 5000).unref();
  },
  (err) => {
    console.error(err.message);
    console.log(JSON.stringify({ script: "ack_check", ok: false, error: err.message }));
    process.exit(1);
  },
);
