// Golden vectors and live checks for internal/notepack against the real notepack.io 3.0.1 (the msgpack codec of
// @socket.io/redis-adapter) and socket.io-parser's binary deconstruction.
//
//   node notepack_vectors.js vectors > ../../notepack/testdata/vectors.json   # regenerate the committed vectors
//   node notepack_vectors.js lines                                            # {name, hex} per line
//   echo 92c0c3 | node notepack_vectors.js decode                              # hex lines in, a view per line out
//   node notepack_vectors.js batch requests.json                               # what the Go tests run
//
// A view is a canonical JSON picture of a decoded JS value that Go can rebuild from its own decoded value:
// null and undefined -> null; numbers -> {"$n": String(x)} ("-0" for -0); Buffers and ArrayBuffers ->
// {"$bin": hex}; Dates -> {"$date": String(getTime())}, an Invalid Date -> null; arrays -> arrays; other objects
// -> {"$obj": {key: view}} over Object.keys, leaving out undefined values (as notepack.io and JSON.stringify do).
//
// Each decoded value also gets "json" and "atts": JSON.stringify of its data after socket.io-parser's
// deconstructPacket, and the attachments as hex, i.e. what a Node server sends a client for a packet received
// from the cluster (notepack.ToJSON's job).
//
// Vectors of more than 8 KiB of msgpack are stored as sha256 and length ("sha256", "len", "json_sha256") instead.
"use strict";
process.env.TZ = "UTC"; // Date#toString, for a Date used as an object key
const notepack = require("notepack.io");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
// socket.io-parser (installed with socket.io, pinned by package-lock.json) does not export its binary helpers.
const { deconstructPacket, reconstructPacket } = require(path.join(path.dirname(require.resolve("socket.io-parser")), "binary.js"));

function versionOf(name) {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const f = path.join(dir, "package.json");
    if (fs.existsSync(f)) {
      const pkg = JSON.parse(fs.readFileSync(f));
      if (pkg.name === name && pkg.version) return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return "?";
    dir = up;
  }
}

const hex = (b) => Buffer.from(b).toString("hex");
const sha = (s) => crypto.createHash("sha256").update(s).digest("hex");

function view(v) {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case "boolean":
    case "string":
      return v;
    case "number":
      return { $n: Object.is(v, -0) ? "-0" : String(v) };
  }
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) return { $bin: hex(v) };
  if (v instanceof Date) return isNaN(v.getTime()) ? null : { $date: String(v.getTime()) };
  if (Array.isArray(v)) return v.map(view);
  const o = {};
  for (const k of Object.keys(v)) if (v[k] !== undefined) o[k] = view(v[k]);
  return { $obj: o };
}

function sioJSON(v) {
  const { packet, buffers } = deconstructPacket({ type: 2, nsp: "/", data: v });
  const s = JSON.stringify(packet.data);
  return { json: s === undefined ? "null" : s, atts: buffers.map(hex) };
}

// describe decodes msgpack bytes the way a Node peer does and reports everything the Go tests compare.
function describe(buf) {
  let v;
  try {
    v = notepack.decode(buf);
  } catch (e) {
    return { error: String(e.message) };
  }
  const { json, atts } = sioJSON(v);
  let reencoded;
  try {
    reencoded = hex(notepack.encode(v));
  } catch (e) {
    reencoded = "error: " + e.message;
  }
  return { view: view(v), json, atts, reencoded };
}

// jsonToMsgpack is what the Node adapter puts on the wire for a packet whose data arrived as this JSON text with
// these attachments: socket.io-parser reconstructs the Buffers, the adapter hands the data to notepack.io.
function jsonToMsgpack(text, attsHex) {
  const buffers = attsHex.map((h) => Buffer.from(h, "hex"));
  let data = JSON.parse(text);
  if (buffers.length > 0) data = reconstructPacket({ type: 5, nsp: "/", data }, buffers).data;
  return notepack.encode(data);
}

// ---- the vectors ----

const seq = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const pattern = (n) => Buffer.from(seq(n, (i) => i & 0xff));
const obj = (n) => Object.fromEntries(seq(n, (i) => ["k" + String(i).padStart(5, "0"), i % 128]));

// [name, JS value]. Object keys are inserted in sorted order (array indexes aside), the order the Go encoder
// writes a map in.
function encodeVectors() {
  const v = [];
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, -32, -33,
    -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1), -(2 ** 53)];
  for (const n of ints) v.push(["int/" + n, n]);
  const nums = [2 ** 53 + 2, 2 ** 63, 2 ** 64 - 2048, -(2 ** 63), 0.5, -0.5, 1.5, 101.25, 0.1, 0.1 + 0.2, 1e-7,
    5e-324, -1e-300, Number.EPSILON, NaN, Infinity, -Infinity, -0,
    // integral but outside [-2^63, 2^64): notepack.io wraps them modulo 2^64 (a deliberate difference in Go)
    1e20, 1e21, 2 ** 64, 1e300, -1e300, -(2 ** 63) - 4096, 1.7976931348623157e308];
  for (const n of nums) v.push(["num/" + (Object.is(n, -0) ? "-0" : String(n)), n]);
  const strs = {
    "empty": "", "a": "a", "x31": "x".repeat(31), "x32": "x".repeat(32), "x33": "x".repeat(33),
    "x255": "x".repeat(255), "x256": "x".repeat(256), "x65535": "x".repeat(65535), "x65536": "x".repeat(65536),
    "e-acute": "é", "euro": "€", "emoji": "😀", "mixed": "héllo wörld ✓ 😀", "e-acute*16": "é".repeat(16),
    "euro*11": "€".repeat(11), "controls": "\u0000\u0001\b\t\n\f\r\"\\/\u001f\u007f\u2028\u2029",
    "lone-long-first": "\ud800" + "x".repeat(40), "lone-long-last": "x".repeat(40) + "\udfff",
  };
  for (const [k, s] of Object.entries(strs)) v.push(["str/" + k, s]);
  for (const n of [0, 1, 255, 256, 65535, 65536]) v.push(["bin/" + n, pattern(n)]);
  v.push(["bin/uint8array", new Uint8Array([1, 2, 3])]);
  v.push(["bin/arraybuffer", new Uint8Array([1, 2, 3]).buffer]);
  v.push(["bin/uint16array", new Uint16Array([1, 2, 0x1ff])]); // Buffer.from keeps the low byte of each element
  for (const n of [0, 1, 15, 16, 65535, 65536]) v.push(["array/" + n, seq(n, (i) => i % 128)]);
  v.push(["array/mixed", [null, true, false, "a", 1.5, [], {}]]);
  for (const n of [0, 1, 15, 16, 65535, 65536]) v.push(["map/" + n, obj(n)]);
  v.push(["map/undefined-and-functions", { a: undefined, b: null, c: () => 1, d: 1 }]);
  v.push(["map/index-keys", { "01": 1, "4294967295": 2, "a": 3, "10": 4, "9": 5, "4294967294": 6 }]);
  v.push(["map/nested", { a: { b: { c: [1, { d: [] }] } } }]);
  v.push(["undefined", undefined]);
  v.push(["array/undefined", [undefined]]);
  v.push(["null", null]);
  v.push(["true", true]);
  v.push(["false", false]);
  const dates = [0, 1, 1.5, 999, 1000, 1700000000000, 1700000000123, -1, -1000, -1500, 2 ** 32 * 1000,
    2 ** 32 * 1000 + 1, (2 ** 34 - 1) * 1000, 2 ** 34 * 1000, 8.64e15, -8.64e15];
  for (const ms of dates) v.push(["date/" + ms, new Date(ms)]);
  // JS values without a Go counterpart (decode checks only)
  v.push(["node-only/invalid-date", new Date(NaN)]);
  v.push(["node-only/map-set", [new Map([[1, 2]]), new Set([1])]]);
  v.push(["node-only/toJSON", { toJSON() { return ["x", 1]; } }]);
  return v;
}

// [name, JSON text, attachments as hex]
function jsonVectors() {
  const v = [
    ["packet", '["tick",{"sym":"ABC","px":101.25,"ts":1700000000000}]', []],
    ["numbers", "[0,-0,1.0,1e0,1E2,-1.5e-7,1e400,-1e400,9007199254740993,18446744073709549568,123456789012345678," +
      "0.1,5e-324,1e-400,-9223372036854775808,-9223372036854775809,2.5e-5]", []],
    ["num/1e20", "1e20", []],
    ["num/1e21", "1e21", []],
    ["num/1e300", "1e300", []],
    ["num/-1e300", "-1e300", []],
    ["num/2^64-1", "18446744073709551615", []],
    ["num/40-digits", "1234567890123456789012345678901234567890", []],
    ["strings", String.raw`["\"\\\/\b\f\n\r\t\u0000\u001f\u00e9\u20AC\ud83d\ude00","héllo ✓ 😀",""]`, []],
    ["lone-surrogate-long", String.raw`["\ud800xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\udc00\ud800\ud800\udc00"]`, []],
    ["lone-surrogate-short", String.raw`"\ud800a"`, []],
    ["lone-surrogate-short-end", String.raw`"a\ud800"`, []],
    ["whitespace", " \t\n\r[ 1 , { \"a\" : [ ] } ]\n ", []],
    ["placeholders", '[{"_placeholder":true,"num":0},{"num":1,"_placeholder":true},{"x":{"_placeholder":true,"num":0}}]', ["0102", "ff"]],
    ["placeholder-extra-keys", '{"_placeholder":true,"num":1,"extra":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}', ["", "ab"]],
    ["placeholder-num-forms", '[{"_placeholder":true,"num":1.0},{"_placeholder":true,"num":-0},{"_placeholder":true,"num":1e0}]', ["aa", "bb"]],
    ["placeholder-escaped-key", String.raw`{"\u005fplaceholder":true,"n\u0075m":0}`, ["cc"]],
    ["placeholder-duplicate-keys", '{"_placeholder":false,"num":5,"_placeholder":true,"num":0}', ["dd"]],
    ["placeholder-no-attachments", '[{"_placeholder":true,"num":0}]', []],
    ["placeholder-false", '{"_placeholder":false,"num":0}', ["ee"]],
    ["placeholder-not-true", '{"_placeholder":1,"num":0}', ["ee"]],
    ["placeholder-big", '{"_placeholder":true,"num":0}', ["ab".repeat(300)]],
    ["placeholder-around-bad-placeholder", '{"num":0,"x":[{"_placeholder":true}],"_placeholder":true}', ["aa"]],
    // JSON.parse drops the first "a", so socket.io-parser never sees its bad placeholder; Go refuses it (as the
    // codec package does)
    ["placeholder-bad-under-duplicate-key", '{"a":[{"_placeholder":true}],"a":0}', ["aa"]],
    ["arrays-16", "[" + seq(16, (i) => "[" + seq(16, (j) => j).join(",") + "]").join(",") + "]", []],
    ["array-65536", "[" + seq(65536, (i) => i % 100).join(",") + "]", []],
    ["object-16", "{" + seq(16, (i) => `"k${String(i).padStart(2, "0")}":{"a":[${seq(17, (j) => j).join(",")}]}`).join(",") + "}", []],
    ["string-widening", JSON.stringify(["\\u00e9".repeat(40), "é".repeat(200), "\n".repeat(300), "x".repeat(70000) + "\\n"]).replace(/\\\\/g, "\\"), []],
    // JSON.parse merges or reorders these: a JS peer decodes the same value from Go's bytes
    ["same-value/duplicate-keys", '{"a":1,"b":2,"a":3}', []],
    ["same-value/index-keys", '{"b":1,"1":2,"a":{"z":0,"0":1}}', []],
    // placeholder errors (socket.io-parser: "illegal attachments")
    ["error/placeholder-num-string", '{"_placeholder":true,"num":"0"}', ["00"]],
    ["error/placeholder-num-range", '{"_placeholder":true,"num":1}', ["00"]],
    ["error/placeholder-num-negative", '{"_placeholder":true,"num":-1}', ["00"]],
    ["error/placeholder-num-missing", '{"_placeholder":true}', ["00"]],
    // socket.io-parser yields undefined for a fraction in range; Go refuses it
    ["placeholder-num-fraction", '[{"_placeholder":true,"num":0.5}]', ["00"]],
  ];
  const invalid = ["", " ", "[1,]", "[1 2]", '{"a"}', '{"a":}', '{"a":1,}', "{1:2}", "01", "1.", ".5", "-", "+1", "1e",
    "1e+", "0x10", "tru", "nul", "True", '"\\x"', '"\t"', '"abc', "[1] x", "NaN", "Infinity", "'a'", '"\\ud80"',
    '"\\u12G4"', "[", "]", "{", "}", "[1}", '{"a":1]', "\u00a0 1"];
  invalid.forEach((t, i) => v.push(["error/invalid-" + i, t, []]));
  return v;
}

// [name, hex]: inputs notepack.io never writes but decodes.
function decodeVectors() {
  const h = (s) => s.replace(/ /g, "");
  const v = [
    ["float32/1.5", "ca3fc00000"], ["float32/nan", "ca7fc00000"], ["float32/-0.1", "cabdcccccd"], ["float32/-0", "ca80000000"],
    ["float32/inf", "ca7f800000"], ["float64/1.0", "cb3ff0000000000000"], ["float64/-0", "cb8000000000000000"],
    ["float64/nan-payload", "cb7ff0000000000001"],
    ["float64/1e20", "cb4415af1d78b58c40"], ["float64/1.5e20", "cb442043561a882930"], ["float64/1.2345678901234568e20", "cb441ac53a7e04bcda"], ["float64/1e-6", "cb3eb0c6f7a0b5ed8d"], ["float64/1.5e-6", "cb3eb92a737110e454"], ["float64/1e-7", "cb3e7ad7f29abcaf48"], ["float64/1.7976931348623157e308", "cb7fefffffffffffff"], ["float64/123.456", "cb405edd2f1a9fbe77"], ["float64/-2.5e-10", "cbbdf12e0be826d695"], ["float64/4.35", "cb4011666666666666"], ["float64/9007199254740993.5", "cb4340000000000001"], ["float64/-inf", "cbfff0000000000000"], ["float64/1e21", "cb444b1ae4d6e2ef50"],
    ["int8/127", "d07f"], ["int8/-1", "d0ff"], ["int16/1", "d10001"], ["int32/1", "d200000001"], ["int64/1", "d30000000000000001"],
    ["int64/-1", "d3ffffffffffffffff"], ["int64/min", "d38000000000000000"], ["int64/-2^53-1", "d3ffdfffffffffffff"],
    ["int64/2^60+1", "d31000000000000001"],
    ["uint8/5", "cc05"], ["uint16/5", "cd0005"], ["uint32/5", "ce00000005"], ["uint64/5", "cf0000000000000005"],
    ["uint64/max", "cfffffffffffffffff"], ["uint64/2^63", "cf8000000000000000"], ["uint64/2^53+1", "cf0020000000000001"],
    ["str8/empty", "d900"], ["str16/empty", "da0000"], ["str32/empty", "db00000000"], ["str32/a", "db0000000161"],
    ["utf8/ff", "a1ff"], ["utf8/truncated-3", "a2e180"], ["utf8/surrogate", "a3eda080"], ["utf8/above-10ffff", "a4f4908080"],
    ["utf8/overlong", "a3c0af41"], ["utf8/truncated-then-ascii", "a2e141"], ["utf8/emoji-then-bad", "a6f09f9880ff41"],
    ["utf8/f0-truncated", "a3f09f98"], ["utf8/bad-continuation", "a4e180c080"],
    ["bin16/empty", "c50000"], ["bin32/empty", "c600000000"], ["bin32/1", "c60000000101"],
    ["array16/empty", "dc0000"], ["array32/empty", "dd00000000"], ["array16/1", "dc000101"], ["map16/empty", "de0000"],
    ["map32/empty", "df00000000"], ["map16/1", "de0001a16101"],
    ["key/int", "8101a161"], ["key/nil", "81c001"], ["key/true", "81c301"], ["key/1.5", "81cb3ff800000000000001"],
    ["key/1e21", "81cb444b1ae4d6e2ef5001"], ["key/-0", "81cb800000000000000001"], ["key/nan", "81cb7ff800000000000001"],
    ["key/-inf", "81cbfff000000000000001"], ["key/1e-7", "81cb3e7ad7f29abcaf4801"], ["key/uint64-max", "81cfffffffffffffffff01"],
    ["key/array", "8192010201"], ["key/map", "818001"], ["key/map-nested", "8181a161c001"], ["key/bin", "81c402616201"],
    ["key/bin-invalid-utf8", "81c401ff01"], ["key/str-invalid-utf8", "81a1ff01"], ["key/date", "81d6ff0000000001"],
    ["key/date-negative-year", "81c70cff00000000fffffff1829af88001"], ["key/invalid-date", "81c70cff000000007fffffffffffffff01"],
    ["key/undefined", "81d4000001"], ["key/arraybuffer", "81c701004101"], ["key/array-joined", "8193c0920191" + "02a17801"],
    ["key/array-undefined", "8192d40000d4000001"], ["key/ext", "81d5054142" + "01"], ["key/nested-map-in-array", "81928001" + "01"],
    ["map/duplicate", "82a16101a16102"], ["map/duplicate-order", "83a16101a16202a16103"],
    ["map/undefined-value", "82a161d40000a16201"], ["map/only-undefined", "81a161d40000"],
    ["map/duplicate-then-undefined", "82a16101a161d40000"],
    ["undefined/top", "d40000"], ["undefined/array", "92d40000c0"], ["undefined/nonzero-data", "d40007"],
    ["ext/fixext1", "d40541"], ["ext/fixext2", "d5054142"], ["ext/fixext4", "d60500000001"], ["ext/fixext8", "d70500000000000000ff"],
    ["ext/fixext16", "d805" + "00112233445566778899aabbccddeeff"], ["ext/ext8", "c7020541" + "42"], ["ext/ext8-empty", "c70005"],
    ["ext/ext16-type-1", "c80002ff4142"], ["ext/ext32-type-128", "c90000000080"], ["ext/ext16-0", "c8000300010203"],
    ["ext/ext8-0", "c70300010203"], ["ext/ext32-0", "c90000000300010203"], ["ext/fixext4-type-1-in-array", "91d6ff00000001"],
    ["date/ts32-1000", "d6ff00000001"], ["date/ts32-max", "d6ffffffffff"],
    ["date/ts64-ns", "d7ff" + h("1d6f3454 00000005")], ["date/ts64-max", "d7ff" + h("ee6b27ff ffffffff")],
    ["date/ts64-ns-over-1e9", "d7ff" + h("fffffffc 00000000")], ["date/legacy-255", "d70000000000000000ff"],
    ["date/legacy--1", "d700ffffffffffffffff"], ["date/legacy-huge", "d7007fffffffffffffff"],
    ["date/ts96-neg-fraction", "c70cff" + h("00000001 ffffffff ffffffff")], ["date/ts96-huge", "c70cff" + h("00000000 7fffffff ffffffff")],
    ["date/ts96-min", "c70cff00000000fffff82457de8000"], ["date/ts96-below-min", "c70cff00000000fffff82457de7fff"],
    ["date/ts96-rounding", "c70cff3b9ac9ff0000048c27395000"], ["date/ts96-year-10000", "c70cff000000000000003afff44180"],
    ["date/ts96-year-0", "c70cff00000000fffffff1868b8400"], ["date/ts96-year-minus-1", "c70cff00000000fffffff184aa5080"],
    // errors
    ["error/c1", "c1"], ["error/array-truncated", "91"], ["error/array-short", "9201"], ["error/str8-short", "d90541"],
    ["error/array32-huge", "ddffffffff"], ["error/map32-huge", "dfffffffff"], ["error/bin32-huge", "c6ffffffff"],
    // (not c9ffffffff00: notepack.io allocates a 4 GiB ArrayBuffer for it and copies for minutes)
    ["error/ext32-big", "c90010000000"], ["error/fixstr-short", "a541"], ["error/float64-short", "cb00"],
    ["error/map-key-only", "81a161"], ["error/undefined-truncated", "d400"], ["error/c1-in-array", "9201c1"],
    ["error/trailing", "0102"], ["error/empty", ""],
    // notepack.io reads 12 bytes whatever the length says; Go refuses (ErrTimestamp)
    ["error/ts96-length-0", "c700ff" + "00".repeat(12)],
  ];
  return v;
}

function big(o, buf) {
  if (buf.length > 8192) {
    o.sha256 = sha(buf);
    o.len = buf.length;
  } else {
    o.hex = hex(buf);
  }
}

function fillDescription(o, buf) {
  const d = describe(buf);
  if (d.error !== undefined) {
    o.error = d.error;
    return o;
  }
  if (buf.length > 8192) {
    o.json_sha256 = sha(d.json);
    o.json_len = Buffer.byteLength(d.json);
    o.atts_n = d.atts.length;
  } else {
    o.view = d.view;
    o.json = d.json;
    o.atts = d.atts;
    if (d.reencoded !== hex(buf)) o.reencoded = d.reencoded;
  }
  return o;
}

function buildVectors() {
  const out = [];
  for (const [name, value] of encodeVectors()) {
    const o = { kind: "encode", name };
    const buf = notepack.encode(value);
    big(o, buf);
    out.push(fillDescription(o, buf));
  }
  for (const [name, text, atts] of jsonVectors()) {
    const o = { kind: "json", name };
    if (text.length > 8192) {
      o.text_sha256 = sha(text);
    } else {
      o.text = text;
    }
    o.atts_in = atts.map((a) => (a.length > 64 ? { sha256: sha(Buffer.from(a, "hex")), len: a.length / 2 } : a));
    let buf;
    try {
      buf = jsonToMsgpack(text, atts);
    } catch (e) {
      o.error = String(e.message);
      out.push(o);
      continue;
    }
    big(o, buf);
    out.push(fillDescription(o, buf));
  }
  for (const [name, h] of decodeVectors()) {
    out.push(fillDescription({ kind: "decode", name, hex: h }, Buffer.from(h, "hex")));
  }
  return out;
}

// The JSON texts of the big json vectors are not stored: the Go test rebuilds them from these recipes.
function main() {
  const mode = process.argv[2] || "lines";
  switch (mode) {
    case "vectors": {
      const vs = buildVectors();
      const head = { generator: "internal/interop/testdata/notepack_vectors.js", "notepack.io": versionOf("notepack.io"),
        "socket.io-parser": versionOf("socket.io-parser") };
      process.stdout.write(JSON.stringify(head).slice(0, -1) + ',"vectors":[\n' +
        vs.map((v) => JSON.stringify(v)).join(",\n") + "\n]}\n");
      break;
    }
    case "lines":
      for (const [name, value] of encodeVectors()) {
        console.log(JSON.stringify({ name, hex: hex(notepack.encode(value)) }));
      }
      break;
    case "decode": {
      const input = fs.readFileSync(0, "utf8");
      for (const line of input.split("\n")) {
        const t = line.trim();
        if (t !== "") console.log(JSON.stringify(describe(Buffer.from(t, "hex"))));
      }
      break;
    }
    case "batch": {
      // A JSON array of requests: {"op":"decode","hex":...} or {"op":"json","text":...,"atts":[hex...]}.
      const reqs = JSON.parse(fs.readFileSync(process.argv[3] === undefined || process.argv[3] === "-" ? 0 : process.argv[3], "utf8"));
      const results = reqs.map((r) => {
        if (r.op === "decode") return describe(Buffer.from(r.hex, "hex"));
        if (r.op === "json") {
          try {
            return { hex: hex(jsonToMsgpack(r.text, r.atts || [])) };
          } catch (e) {
            return { error: String(e.message) };
          }
        }
        return { error: "unknown op " + r.op };
      });
      console.log(JSON.stringify({ ok: true, results }));
      break;
    }
    default:
      console.error("usage: node notepack_vectors.js [vectors|lines|decode|batch <file>]");
      process.exit(2);
  }
}

main();
