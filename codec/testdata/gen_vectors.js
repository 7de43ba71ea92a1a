// Generates vectors.json from the real npm parsers (socket.io-parser 4.2.x, engine.io-parser 5.2.x).
//
//   NODE_PATH=/work/conf/node_modules node gen_vectors.js > vectors.json
//
// Value descriptors: plain JSON, except that {"$binary": "<base64>"} stands for a Buffer. Objects are written
// with their keys in sorted order (and no integer-like keys), because Go maps have no insertion order and the Go
// encoder sorts keys; JSON.stringify keeps insertion order.
"use strict";
const sio = require("socket.io-parser");
const eio = require("engine.io-parser");
const fs = require("fs");
const path = require("path");

// The packages' "exports" hide package.json: read it next to the resolved entry point.
function versionOf(name) {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const f = path.join(dir, "package.json");
    if (fs.existsSync(f)) {
      const pkg = JSON.parse(fs.readFileSync(f));
      if (pkg.name === name && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
}

const bin = (bytes) => ({ $binary: Buffer.from(bytes).toString("base64") });

// toJS turns a descriptor into a JS value (Buffers for $binary).
function toJS(d) {
  if (Array.isArray(d)) return d.map(toJS);
  if (d && typeof d === "object") {
    if (typeof d.$binary === "string") return Buffer.from(d.$binary, "base64");
    const o = {};
    for (const k of Object.keys(d).sort()) o[k] = toJS(d[k]);
    return o;
  }
  return d;
}

// toDesc turns a decoded JS value back into a descriptor.
function toDesc(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return bin(Buffer.from(v));
  if (Array.isArray(v)) return v.map(toDesc);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toDesc(v[k]);
    return o;
  }
  return v;
}

const allControls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("");

// ---- Socket.IO encoding -------------------------------------------------------------------------------------
const encodeCases = [
  ["event, no args", { type: 2, nsp: "/", data: ["foo"] }],
  ["event, number arg", { type: 2, nsp: "/", data: ["foo", 1] }],
  ["event, namespace and ack id", { type: 2, nsp: "/admin", id: 13, data: ["foo"] }],
  ["event, ack id 0", { type: 2, nsp: "/", id: 0, data: ["x"] }],
  ["event, scalars", { type: 2, nsp: "/", data: ["s", true, false, null, 0, -1, 42, 3.5, -2.25] }],
  ["event, numbers", { type: 2, nsp: "/", data: ["n", 0.1, 1e21, 1e20, 1e-7, 0.000001, 123e-20, 5e-324, 1.7976931348623157e308, -0, 9007199254740993, 1.5e300, 100, 1234567.125] }],
  ["event, all control characters", { type: 2, nsp: "/", data: ["ctl", allControls] }],
  ["event, 0x1e in strings", { type: 2, nsp: "/", data: ["rs", "a\u001eb", { "k\u001e": "\u001e" }] }],
  ["event, escapes", { type: 2, nsp: "/", data: ["esc", "quote\" backslash\\ slash/ <script>&amp;</script> del\u007f"] }],
  ["event, unicode", { type: 2, nsp: "/", data: ["uni", "é€😀 日本語 \u2028\u2029 \ufeff \u00a0 \uffff"] }],
  ["event, unicode event name", { type: 2, nsp: "/", data: ["événement 😀", "x"] }],
  ["event, event name with quote and newline", { type: 2, nsp: "/", data: ["a\"b\nc", 1] }],
  ["event, nested", { type: 2, nsp: "/", data: ["nested", { a: [1, { b: { c: [[], {}, [null]] } }], z: "end" }, [[[["deep"]]]]] }],
  ["event, empty string and containers", { type: 2, nsp: "/", data: ["", "", [], {}] }],
  ["event, 100-byte string", { type: 2, nsp: "/", data: ["msg", "x".repeat(100)] }],
  ["binary event, one buffer", { type: 2, nsp: "/", data: ["upload", bin([1, 2, 3, 4])] }],
  ["binary event, empty buffer", { type: 2, nsp: "/", data: ["upload", bin([])] }],
  ["binary event, nested buffers", { type: 2, nsp: "/admin", id: 7, data: ["files", { a: bin([1]), list: [bin([2]), { deep: bin([3, 4]) }], name: "f" }, bin([5])] }],
  ["binary event, placeholder order", { type: 2, nsp: "/", data: ["o", [bin([0]), [bin([1]), bin([2])]], { x: bin([3]), y: [bin([4])] }] }],
  ["binary event, ten buffers", { type: 2, nsp: "/", data: ["ten", ...Array.from({ length: 10 }, (_, i) => bin([i]))] }],
  ["binary event, eleven buffers", { type: 2, nsp: "/", data: ["eleven", ...Array.from({ length: 11 }, (_, i) => bin([i, 255]))] }],
  ["ack", { type: 3, nsp: "/", id: 456, data: [1] }],
  ["ack, empty", { type: 3, nsp: "/", id: 0, data: [] }],
  ["ack, namespace", { type: 3, nsp: "/admin", id: 13, data: ["bar", { ok: true }] }],
  ["binary ack", { type: 3, nsp: "/", id: 789, data: [bin([1, 2, 3]), "x"] }],
  ["binary ack, namespace", { type: 3, nsp: "/admin", id: 1, data: [{ file: bin([9]) }] }],
  ["connect reply", { type: 0, nsp: "/", data: { sid: "abcdefghijklmnopqrst" } }],
  ["connect reply, namespace", { type: 0, nsp: "/admin", data: { sid: "a-b_c" } }],
  ["connect reply, pid", { type: 0, nsp: "/", data: { sid: "s1", pid: "p\"1" } }],
  ["connect error", { type: 4, nsp: "/random", data: { message: "Invalid namespace" } }],
  ["connect error, data", { type: 4, nsp: "/", data: { message: "Not authorized", data: { code: 42, reasons: ["a", "b"] } } }],
  ["connect error, null data", { type: 4, nsp: "/", data: { message: "x", data: null } }],
  ["disconnect", { type: 1, nsp: "/" }],
  ["disconnect, namespace", { type: 1, nsp: "/admin" }],
];

// pid must come after sid in the reply, as the server writes it: build those objects in wire order.
function wireData(c) {
  if (c.type === 0 && c.data) {
    const o = { sid: c.data.sid };
    if (c.data.pid !== undefined) o.pid = c.data.pid;
    return o;
  }
  if (c.type === 4 && c.data) {
    const o = { message: c.data.message };
    if ("data" in c.data) o.data = toJS(c.data.data);
    return o;
  }
  return toJS(c.data);
}

const encoder = new sio.Encoder();
const sioEncode = encodeCases.map(([name, c]) => {
  const pkt = { type: c.type, nsp: c.nsp };
  if (c.id !== undefined) pkt.id = c.id;
  if (c.data !== undefined) pkt.data = wireData(c);
  const out = encoder.encode(pkt).map((x) => (typeof x === "string" ? x : Buffer.from(x).toString("base64")));
  const v = { name, type: c.type, nsp: c.nsp, id: c.id === undefined ? -1 : c.id, out };
  if (c.data !== undefined) v.data = c.data;
  return v;
});

// ---- Socket.IO decoding -------------------------------------------------------------------------------------
function decodeFull(str, opts) {
  const d = new sio.Decoder(opts);
  let got = null;
  let attachments = 0;
  d.on("decoded", (p) => (got = p));
  try {
    d.add(str);
    const pending = d.reconstructor && d.reconstructor.reconPack;
    if (pending) {
      attachments = pending.attachments;
      for (let i = 0; i < pending.attachments; i++) d.add(Buffer.from([i]));
    }
  } catch (e) {
    return { ok: false, error: String(e.message) };
  }
  if (!got) return { ok: false, error: "no packet" };
  // The reference reports a reassembled BINARY_EVENT/BINARY_ACK as EVENT/ACK; attachments says which it was.
  const p = { type: got.type, nsp: got.nsp, id: got.id === undefined ? -1 : got.id, attachments };
  // Huge inputs (the bounds cases) keep only the verdict: their data would not survive a recursive copy.
  if (got.data !== undefined && str.length < 4000) p.data = toDesc(got.data);
  return { ok: true, packet: p };
}

const deep = (n) => "[".repeat(n) + "]".repeat(n);
const decodeInputs = [
  // basics (PROTOCOL.md §10 examples)
  "0", "0{\"token\":\"123\"}", "0/admin,", "0/admin", "0/custom", "0/admin,{\"sid\":\"x\"}", "0/,", "0/",
  "2[\"foo\",1]", "2/admin,13[\"foo\"]", "2456[\"message-with-ack\",1]", "3456[1]", "3/admin,13[\"bar\"]",
  "1", "1/admin,", "2[\"a\\u001eb\"]", "2[\"é😀\",{\"k\":[1,2,{\"z\":null}]}]", "2[1]", "2[-1.5e3]", "2[\"x\"] ",
  "2[\"x\"]\n", "3 1[]",
  // S05: invalid CONNECT payloads
  "0[]", "0\"str\"", "01", "0null", "0true", "0{", "0{}x", "0/admin,[]",
  // S08: reserved names (also escaped)
  "2[\"connect\"]", "2[\"connect_error\"]", "2[\"disconnect\"]", "2[\"disconnecting\"]", "2[\"newListener\"]",
  "2[\"removeListener\"]", "2[\"\\u0063onnect\"]", "2[\"connect \"]", "2[\"Connect\"]",
  // S09: numeric event names; S10: empty event array; other element-0 shapes
  "2[0]", "2[-0.5]", "2[]", "2[null]", "2[true]", "2[[\"x\"]]", "2[{}]", "2{}", "2\"x\"", "21", "2",
  // ACKs
  "3[]", "31[]", "3", "31", "3{}", "31{}", "3/admin,", "3/admin,5[null]",
  // S12: attachments
  "51-[\"x\",{\"_placeholder\":true,\"num\":0}]", "510-[\"x\"]", "511-[\"x\"]", "50-[\"x\"]", "5-[\"x\"]",
  "5[\"x\"]", "5a-[\"x\"]", "51[\"x\"]", "501-[\"x\",{\"_placeholder\":true,\"num\":0}]", "51e1-[\"x\"]", "5 1-[\"x\"]",
  "5x1-[\"x\"]", "51-/admin,3[\"x\",{\"_placeholder\":true,\"num\":0}]", "61-1[{\"_placeholder\":true,\"num\":0}]",
  "61-[{\"_placeholder\":true,\"num\":0}]", "62-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
  // placeholders (S19 nested; bad num)
  "51-[\"x\",{\"a\":[{\"b\":{\"_placeholder\":true,\"num\":0}}]}]", "51-[\"x\",{\"_placeholder\":true,\"num\":1}]",
  "51-[\"x\",{\"_placeholder\":true,\"num\":-1}]", "51-[\"x\",{\"_placeholder\":true,\"num\":\"0\"}]",
  "51-[\"x\",{\"_placeholder\":true}]", "51-[\"x\",{\"_placeholder\":false,\"num\":7}]",
  "51-[\"x\",{\"_placeholder\":true,\"num\":0.5}]", "52-[\"x\",{\"_placeholder\":true,\"num\":1e0}]",
  "51-[\"x\"]", "2[\"x\",{\"_placeholder\":true,\"num\":5}]",
  // S15: DISCONNECT with payload
  "1{}", "1[]", "1/admin,{}",
  // ack ids (S18 leading zeros; §15.13)
  "2007[\"x\"]", "2/admin,007[\"x\"]", "29007199254740991[\"x\"]", "29007199254740992[\"x\"]",
  "29007199254740993[\"x\"]", "2" + "9".repeat(30) + "[\"x\"]", "2 [\"x\"]", "2\t[\"x\"]", "2/admin, [\"x\"]",
  "21 [\"x\"]", "2abc[\"x\"]", "2-1[\"x\"]",
  // types (4abc has type 'a' on the Engine.IO wire: socket.io data "abc")
  "", "abc", "7", "9[\"x\"]", " 2[\"x\"]", "-", "4{\"message\":\"x\"}", "4\"str\"", "4/admin,{\"message\":\"x\"}",
  // namespaces
  "2/admin[\"x\"]", "0/a/b,", "0/admin?x=1,", "2/,[\"x\"]", "0/admin,,",
  // JSON validity
  "2[\"x\",]", "2[\"x\" \"y\"]", "2[\"x\"", "2[\"x\"]]", "2[\"x\",01]", "2[\"x\",1.]", "2[\"x\",.5]", "2[\"x\",+1]",
  "2[\"x\",NaN]", "2[\"x\",undefined]", "2[\"x\",'y']", "2[\"x\",\"\\x\"]", "2[\"x\",\"\\u12\"]",
  "2[\"x\",\"a\u0001b\"]", "2[\"x\",\"a\u001eb\"]", "2[\"x\",{\"a\"}]", "2[\"x\",{\"a\":}]", "2[\"x\",{a:1}]",
  "2[\"x\",tru]", "2[\"x\",1e]", "2[\"x\",-]", "2[\"x\",1e400]", "2[\"x\",\"\\ud800\"]", "2[\"x\" , 1 , {\"a\" : [ ]}]",
  // bounds: deep nesting and many arguments (deliberately stricter; see codec_vectors_test.go)
  "2[\"x\"," + deep(63) + "]", "2[\"x\"," + deep(64) + "]", "2[\"x\"," + deep(6000) + "]", "0{\"a\":" + "[".repeat(70) + "]".repeat(70) + "}",
  "2[\"x\"" + ",0".repeat(1023) + "]", "2[\"x\"" + ",0".repeat(2000) + "]",
];
const sioDecode = decodeInputs.map((input) => ({ in: input, ...decodeFull(input) }));

// ---- Engine.IO ----------------------------------------------------------------------------------------------
function eioPacketDesc(p) {
  const o = { type: p.type };
  if (p.data !== undefined) o.data = typeof p.data === "string" ? p.data : bin(Buffer.from(p.data));
  return o;
}
const eioPacketInputs = ["", "0", "1", "2", "2probe", "3probe", "4", "4hello", "4€😀", "5", "6", "7", "x", "b", "bAQIDBA==",
  "bAQID", "bAQ", "bAQ==", "b!!!!", "b AQID", "-1", " 4"];
const eioDecodePacket = eioPacketInputs.map((input) => ({ in: input, out: eioPacketDesc(eio.decodePacket(input, "nodebuffer")) }));

const RS = "\u001e";
const eioPayloadInputs = ["4hello", "4hello" + RS + "2" + RS + "bAQIDBA==", "", "4a" + RS, RS + "4a", "4a" + RS + RS + "4b",
  "4a" + RS + "x" + RS + "4b", "1" + RS + "4after", "451-[\"m\",{\"_placeholder\":true,\"num\":0}]" + RS + "bAQID",
  "4€" + RS + "4\u001f"];
const eioDecodePayload = eioPayloadInputs.map((input) => ({ in: input, out: eio.decodePayload(input, "nodebuffer").map(eioPacketDesc) }));

const eioEncodePayload = [];
function encodePayloadCase(name, packets) {
  const js = packets.map((p) => ({ type: p.type, data: p.data && p.data.$binary !== undefined ? toJS(p.data) : p.data }));
  eio.encodePayload(js, (out) => eioEncodePayload.push({ name, packets, out }));
}
encodePayloadCase("text", [{ type: "message", data: "hello" }]);
encodePayloadCase("text and ping", [{ type: "message", data: "hello" }, { type: "ping" }, { type: "noop" }]);
encodePayloadCase("binary", [{ type: "message", data: bin([1, 2, 3, 4]) }]);
encodePayloadCase("empty binary", [{ type: "message", data: bin([]) }]);
encodePayloadCase("binary event", [{ type: "message", data: "51-[\"m\",{\"_placeholder\":true,\"num\":0}]" }, { type: "message", data: bin([1, 2, 3]) }]);
encodePayloadCase("all bytes", [{ type: "message", data: bin(Array.from({ length: 256 }, (_, i) => i)) }]);

// The open packet as engine.io's socket.ts writes it.
const openCases = [
  { sid: "AAAAAAAAAAAAAAAAAAAA", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
  { sid: "a-b_c", upgrades: [], pingInterval: 300, pingTimeout: 200, maxPayload: 100 },
  { sid: "q\"\\\u001e", upgrades: ["websocket", "webtransport"], pingInterval: 1, pingTimeout: 2, maxPayload: 9007199254740991 },
].map((o) => ({ ...o, out: "0" + JSON.stringify({ sid: o.sid, upgrades: o.upgrades, pingInterval: o.pingInterval, pingTimeout: o.pingTimeout, maxPayload: o.maxPayload }) }));

const out = {
  generator: "codec/testdata/gen_vectors.js",
  versions: {
    "socket.io-parser": versionOf("socket.io-parser"),
    "engine.io-parser": versionOf("engine.io-parser"),
    node: process.version,
  },
  sio_encode: sioEncode,
  sio_decode: sioDecode,
  eio_decode_packet: eioDecodePacket,
  eio_decode_payload: eioDecodePayload,
  eio_encode_payload: eioEncodePayload,
  open: openCases,
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
