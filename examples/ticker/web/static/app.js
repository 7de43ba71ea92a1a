// The ticker page. Plain JavaScript on the global `io` of socket.io-client's
// browser bundle (/socket.io.min.js). The protocol is described in server.go.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const ACK_TIMEOUT = 5000; // ms to wait for an acknowledgement
  const SPARK = 60; // prices kept per symbol for its sparkline
  const DEFAULT_SUBS = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX"];

  // ?transports=polling (or websocket) picks the transport; ?subs=A,B,C the
  // symbols watched first.
  const params = new URLSearchParams(location.search);
  const forced = params.get("transports");
  const options = {};
  if (forced === "polling" || forced === "websocket") options.transports = [forced];
  const wanted = (params.get("subs") || "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);

  const socket = io(options);

  let market = []; // [{sym, px, open}] as the server listed it
  const rows = new Map(); // sym -> row state, in watchlist order
  const dirty = new Set(); // syms whose row must be redrawn
  let arrivals = []; // receive times of the last second's ticks, all symbols
  let latencies = []; // ms, the last second's ticks

  // ---- connection ----

  function setStatus(state, text) {
    const el = $("status");
    el.dataset.state = state;
    el.textContent = text || state;
  }

  function showTransport() {
    const eng = socket.io.engine;
    $("transport").textContent = eng && eng.transport ? eng.transport.name : "–";
  }

  socket.io.on("open", () => {
    showTransport();
    socket.io.engine.on("upgrade", showTransport);
  });
  socket.io.on("reconnect_attempt", (n) => setStatus("reconnecting", `reconnecting (try ${n})…`));
  socket.on("connect", () => {
    setStatus("connected");
    showTransport();
  });
  socket.on("disconnect", (reason) => {
    setStatus("disconnected", `disconnected (${reason})`);
    $("transport").textContent = "–";
  });
  socket.on("connect_error", (err) => setStatus("error", `cannot connect: ${err.message}`));

  // The server describes the market on every connection: (re)subscribe then.
  socket.on("market", (m) => {
    market = m.symbols;
    $("feed").textContent = `${market.length} symbols · ${Math.round(m.rate)} ticks/s`;
    fillSelect($("add-sym"), market.map((q) => q.sym));
    let subs = [...rows.keys()];
    if (subs.length === 0) {
      const known = new Set(market.map((q) => q.sym));
      subs = (wanted.length ? wanted : DEFAULT_SUBS).filter((s) => known.has(s));
      if (subs.length === 0) subs = market.slice(0, DEFAULT_SUBS.length).map((q) => q.sym);
    }
    subscribe(subs);
  });

  // ---- subscriptions ----

  function subscribe(syms) {
    if (syms.length === 0) return;
    socket.timeout(ACK_TIMEOUT).emit("subscribe", syms, (err, res) => {
      if (err || !res.ok) {
        console.warn("subscribe failed", err || res.error);
        return;
      }
      for (const q of res.quotes) addRow(q);
      for (const sym of [...rows.keys()]) if (!res.subscribed.includes(sym)) removeRow(sym);
      updateSelects();
    });
  }

  function unsubscribe(sym) {
    socket.timeout(ACK_TIMEOUT).emit("unsubscribe", sym, (err, res) => {
      if (err || !res.ok) {
        console.warn("unsubscribe failed", err || res.error);
        return;
      }
      // Ticks that were already on their way are ignored: the row is gone.
      removeRow(sym);
      updateSelects();
    });
  }

  $("add-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const sym = $("add-sym").value;
    if (sym && !rows.has(sym)) subscribe([sym]);
  });

  // ---- ticks ----

  socket.on("tick", (t) => {
    const now = Date.now();
    arrivals.push(now);
    latencies.push(now - t.ts);
    const r = rows.get(t.sym);
    if (!r) return; // unsubscribed meanwhile
    r.dir = t.px > r.px ? "up" : t.px < r.px ? "down" : r.dir;
    r.px = t.px;
    r.ticks++;
    r.times.push(now);
    r.hist.push(t.px);
    if (r.hist.length > SPARK) r.hist.shift();
    dirty.add(t.sym);
  });

  function addRow(q) {
    if (rows.has(q.sym)) return;
    const tr = document.createElement("tr");
    tr.dataset.sym = q.sym;
    tr.dataset.ticks = "0";
    tr.innerHTML =
      '<td class="sym"></td><td class="num px"></td><td class="num chg"></td><td class="num pct"></td>' +
      '<td class="num tps">0</td><td><canvas class="spark" width="140" height="28"></canvas></td>' +
      '<td><button class="remove" type="button" title="Unsubscribe">×</button></td>';
    tr.querySelector(".sym").textContent = q.sym;
    tr.querySelector(".remove").addEventListener("click", () => unsubscribe(q.sym));
    $("rows").appendChild(tr);
    rows.set(q.sym, { sym: q.sym, open: q.open, px: q.px, dir: "", ticks: 0, times: [], hist: [q.px], tr, flash: 0 });
    dirty.add(q.sym);
    $("empty").hidden = true;
  }

  function removeRow(sym) {
    const r = rows.get(sym);
    if (!r) return;
    r.tr.remove();
    rows.delete(sym);
    dirty.delete(sym);
    $("empty").hidden = rows.size > 0;
  }

  function fillSelect(sel, syms) {
    const keep = sel.value;
    sel.replaceChildren(...syms.map((s) => new Option(s, s)));
    if (syms.includes(keep)) sel.value = keep;
  }

  function updateSelects() {
    fillSelect($("add-sym"), market.map((q) => q.sym).filter((s) => !rows.has(s)));
    $("add-btn").disabled = $("add-sym").options.length === 0;
    fillSelect($("order-sym"), [...rows.keys()].length ? [...rows.keys()] : market.map((q) => q.sym));
  }

  // ---- drawing: once per animation frame, whatever the tick rate ----

  const fmt = (x) => x.toFixed(2);
  const signed = (x, d = 2) => (x > 0 ? "+" : x < 0 ? "−" : "") + Math.abs(x).toFixed(d);

  function drawRow(r) {
    const cells = r.tr.children;
    const chg = r.px - r.open;
    cells[1].textContent = fmt(r.px);
    cells[2].textContent = signed(chg);
    cells[3].textContent = signed((100 * chg) / r.open) + "%";
    cells[2].className = cells[3].className = "num " + (chg > 0 ? "pos" : chg < 0 ? "neg" : "");
    if (r.dir) {
      cells[1].classList.remove("up", "down");
      cells[1].classList.add(r.dir);
      r.flash = performance.now();
    }
    r.tr.dataset.ticks = String(r.ticks);
    drawSpark(r.tr.querySelector("canvas"), r.hist, chg >= 0);
  }

  function drawSpark(cv, hist, up) {
    const g = cv.getContext("2d");
    const w = cv.width, h = cv.height;
    g.clearRect(0, 0, w, h);
    if (hist.length < 2) return;
    let lo = Math.min(...hist), hi = Math.max(...hist);
    if (hi - lo < 1e-9) { lo -= 0.01; hi += 0.01; }
    g.beginPath();
    hist.forEach((p, i) => {
      const x = (i / (SPARK - 1)) * (w - 2) + 1;
      const y = h - 2 - ((p - lo) / (hi - lo)) * (h - 4);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.strokeStyle = up ? "#22c55e" : "#ef4444";
    g.lineWidth = 1.5;
    g.stroke();
  }

  function frame() {
    for (const sym of dirty) {
      const r = rows.get(sym);
      if (r) drawRow(r);
    }
    dirty.clear();
    const now = performance.now();
    for (const r of rows.values()) {
      if (r.flash && now - r.flash > 250) {
        r.tr.children[1].classList.remove("up", "down");
        r.flash = 0;
        r.dir = "";
      }
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);

  // Rates and latency, over the last second, refreshed twice a second.
  setInterval(() => {
    const since = Date.now() - 1000;
    const keep = arrivals.findIndex((t) => t >= since);
    const drop = keep < 0 ? arrivals.length : keep;
    arrivals = arrivals.slice(drop);
    latencies = latencies.slice(drop);
    $("rate").textContent = String(arrivals.length);
    if (latencies.length) {
      const s = [...latencies].sort((a, b) => a - b);
      $("latency").textContent = `${Math.max(0, s[s.length >> 1]).toFixed(1)} ms`;
    }
    for (const r of rows.values()) {
      r.times = r.times.filter((t) => t >= since);
      r.tr.children[4].textContent = String(r.times.length);
    }
  }, 500);

  // ---- orders ----

  let side = "buy";
  $("buy-btn").addEventListener("click", () => (side = "buy"));
  $("sell-btn").addEventListener("click", () => (side = "sell"));

  $("order-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (e.submitter && e.submitter.value) side = e.submitter.value;
    const o = { sym: $("order-sym").value, side, qty: Number($("order-qty").value) };
    const li = document.createElement("li");
    li.className = `pending ${o.side}`;
    li.textContent = `${o.side.toUpperCase()} ${o.qty} ${o.sym} … waiting for the ack`;
    $("orders").prepend(li);
    while ($("orders").children.length > 50) $("orders").lastChild.remove();
    const sent = performance.now();
    socket.timeout(ACK_TIMEOUT).emit("order", o, (err, res) => {
      const ms = (performance.now() - sent).toFixed(1);
      li.replaceChildren();
      if (err || !res.ok) {
        li.className = `rejected ${o.side}`;
        li.textContent = `${o.side.toUpperCase()} ${o.qty} ${o.sym}: ${err ? "no acknowledgement" : res.error}`;
        return;
      }
      li.className = `filled ${res.side}`;
      li.dataset.id = res.id;
      const id = document.createElement("span");
      id.className = "id";
      id.textContent = res.id;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = ` · ack in ${ms} ms`;
      li.append(id, ` ${res.side.toUpperCase()} ${res.qty} ${res.sym} @ ${fmt(res.px)}`, meta);
    });
  });
})();
