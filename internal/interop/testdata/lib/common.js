// Shared plumbing for the interop client scripts: argument parsing, the hard
// timeout, the single JSON result line, and small async/compare helpers.
"use strict";

const util = require("util");
const http = require("http");

const TRANSPORTS = ["websocket", "polling", "upgrade"];

// W is the generic "this should have happened by now" wait, in ms. It only
// bounds how long a failing scenario takes; timing *assertions* use their own,
// explicit numbers. Generous by default so that a loaded machine does not fail
// the scenarios; override with INTEROP_WAIT_MS.
const W = Number(process.env.INTEROP_WAIT_MS || 10000);

class ScenarioError extends Error {}

// runMain parses `node SCRIPT URL SCENARIO [TRANSPORT]` (or `--list`), runs the
// scenario under a hard timeout and prints exactly one JSON line on stdout:
//   success: {"ok":true,"script":..,"scenario":..,"transport":..,"elapsedMs":..,...details}
//   failure: {"ok":false,...,"error":"..."}  (also written to stderr), exit code 1
// Usage errors exit with code 2.
function runMain(script, scenarios) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--list") {
    const list = Object.entries(scenarios).map(([name, s]) => ({
      name,
      transports: s.transports || TRANSPORTS,
      description: s.description || "",
    }));
    process.stdout.write(JSON.stringify({ script, scenarios: list }) + "\n");
    process.exit(0);
  }
  const [url, scenario, transport = "upgrade"] = argv;
  const usage = `usage: node ${script} URL SCENARIO [${TRANSPORTS.join("|")}]  |  node ${script} --list\nscenarios: ${Object.keys(scenarios).join(", ")}`;
  if (!url || !/^https?:\/\//.test(url) || !scenario) {
    process.stderr.write(usage + "\n");
    process.exit(2);
  }
  const sc = scenarios[scenario];
  if (!sc) {
    process.stderr.write(`unknown scenario "${scenario}"\n${usage}\n`);
    process.exit(2);
  }
  if (!TRANSPORTS.includes(transport)) {
    process.stderr.write(`unknown transport "${transport}"\n${usage}\n`);
    process.exit(2);
  }
  const allowed = sc.transports || TRANSPORTS;
  if (!allowed.includes(transport)) {
    process.stderr.write(`scenario "${scenario}" does not run on transport "${transport}" (only ${allowed.join(", ")})\n`);
    process.exit(2);
  }

  const base = { script, scenario, transport };
  const started = Date.now();
  let finished = false;
  const finish = (code, obj) => {
    if (finished) return;
    finished = true;
    const line = JSON.stringify({ ...base, elapsedMs: Date.now() - started, ...obj }) + "\n";
    if (code !== 0) {
      process.stderr.write(`FAIL ${script} ${scenario} [${transport}]: ${obj.error}\n`);
      if (obj.stack) process.stderr.write(obj.stack + "\n");
    }
    process.stdout.write(line, () => process.exit(code));
    // stdout on a pipe is synchronous on Linux; this is only a safety net.
    setTimeout(() => process.exit(code), 2000).unref();
  };
  const timeoutMs = Number(process.env.INTEROP_TIMEOUT_MS || sc.timeoutMs || 30000);
  const hard = setTimeout(() => {
    finish(1, { ok: false, error: `hard timeout after ${timeoutMs} ms${ctx.step ? ` (at step: ${ctx.step})` : ""}` });
  }, timeoutMs);

  const ctx = {
    url: url.replace(/\/+$/, ""),
    transport,
    step: "",
    // step records what the scenario is doing, for timeout/failure messages.
    at(s) {
      ctx.step = s;
    },
  };
  process.on("uncaughtException", (e) => finish(1, { ok: false, error: `uncaught exception: ${e && e.message}`, stack: e && e.stack }));
  process.on("unhandledRejection", (e) => finish(1, { ok: false, error: `unhandled rejection: ${e && e.message}`, stack: e && e.stack }));

  Promise.resolve()
    .then(() => sc.run(ctx))
    .then(
      (details) => {
        clearTimeout(hard);
        finish(0, { ok: true, ...(details || {}) });
      },
      (e) => {
        clearTimeout(hard);
        const msg = e && e.message ? e.message : String(e);
        finish(1, { ok: false, error: ctx.step ? `${msg} (at step: ${ctx.step})` : msg, stack: e instanceof ScenarioError ? undefined : e && e.stack });
      }
    );
}

function fail(msg) {
  throw new ScenarioError(msg);
}

function assert(cond, msg) {
  if (!cond) fail(msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// withTimeout rejects with "timeout after MS ms: LABEL" unless p settles first.
function withTimeout(p, ms, label) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new ScenarioError(`timeout after ${ms} ms: ${label}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// once resolves with the argument array of the next `event` on emitter.
function once(emitter, event, ms, label) {
  let h;
  const p = new Promise((res) => {
    h = (...args) => res(args);
    emitter.once(event, h);
  });
  return withTimeout(p, ms, label || `waiting for "${event}"`).finally(() => emitter.off(event, h));
}

// toBuffer converts any binary value (Buffer, ArrayBuffer, typed array, DataView) to a Buffer.
function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}
function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new Error("not binary");
}

// normalize deep-copies a value turning every binary leaf into a Buffer, so that
// values can be compared with util.isDeepStrictEqual regardless of the binary
// class the client library produced.
function normalize(v) {
  if (isBinary(v)) return Buffer.from(toBuffer(v));
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = normalize(v[k]);
    return o;
  }
  return v;
}

function deepEqual(a, b) {
  return util.isDeepStrictEqual(normalize(a), normalize(b));
}

function show(v, max = 300) {
  const s = util.inspect(v, { depth: 6, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 80 });
  return s.length > max ? s.slice(0, max) + "…" : s;
}

function assertDeepEqual(got, want, label) {
  if (!deepEqual(got, want)) fail(`${label}: got ${show(got)}, want ${show(want)}`);
}

// httpGet does one plain GET (fresh connection) and resolves {status, body}.
function httpGet(url, ms = 3000) {
  return withTimeout(
    new Promise((res, rej) => {
      const req = http.get(url, { agent: false }, (r) => {
        const chunks = [];
        r.on("data", (c) => chunks.push(c));
        r.on("end", () => res({ status: r.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
        r.on("error", rej);
      });
      req.on("error", rej);
    }),
    ms,
    `GET ${url}`
  );
}

// waitEngineSessionGone polls `GET <path>?EIO=4&transport=polling&sid=SID` until
// the server answers 400 {"code":1,...} ("Session ID unknown"), i.e. the server
// has dropped the session. While the session is alive the server answers either
// a poll (polling session) or 400 code 3 (transport mismatch: websocket session).
// Resolves with the number of ms it took; rejects after `ms`.
async function waitEngineSessionGone(baseUrl, path, sid, ms = W) {
  const start = Date.now();
  let last = "";
  while (Date.now() - start < ms) {
    let r;
    try {
      // A live polling session would park this GET for up to pingInterval; keep it short.
      r = await httpGet(`${baseUrl}${path}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, 1500);
    } catch (e) {
      last = e.message;
      await sleep(50);
      continue;
    }
    last = `${r.status} ${r.body.slice(0, 100)}`;
    if (r.status === 400) {
      try {
        if (JSON.parse(r.body).code === 1) return Date.now() - start;
      } catch (_) {
        /* not JSON: keep polling */
      }
    }
    await sleep(50);
  }
  fail(`server did not drop engine session ${sid} within ${ms} ms (last answer: ${last})`);
}

module.exports = {
  TRANSPORTS,
  W,
  ScenarioError,
  runMain,
  fail,
  assert,
  sleep,
  withTimeout,
  once,
  isBinary,
  toBuffer,
  normalize,
  deepEqual,
  assertDeepEqual,
  show,
  httpGet,
  waitEngineSessionGone,
};
