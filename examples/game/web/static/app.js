// The game page. Plain JavaScript on the global `io` of socket.io-client's
// browser bundle (/socket.io.min.js). The protocol is described in game.go.
//
// The page only says which keys are held ("input"); the server moves
// everyone and sends the authoritative "state" 30 times a second. The page
// draws it, interpolating between the last two states so that motion stays
// smooth at any frame rate.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const ACK_TIMEOUT = 5000;

  // ?room=duel&name=ada pick the game and the name; ?transports=polling (or
  // websocket) the transport.
  const params = new URLSearchParams(location.search);
  const forced = params.get("transports");
  const options = {};
  if (forced === "polling" || forced === "websocket") options.transports = [forced];

  let room = params.get("room") || sessionStorage.getItem("game.room") || "arena";
  let name = params.get("name") || localStorage.getItem("game.name") || "";
  $("room").value = room;
  $("name").value = name;

  const socket = io(options);
  let me = null; // the welcome: {id, name, room, color, arena, tickRate}
  let prev = null, cur = null, curAt = 0; // the last two states, and when cur arrived
  let arrivals = []; // receive times of the last second's states

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
    join(); // a new connection is a new player: join again
  });
  socket.on("disconnect", (reason) => {
    setStatus("disconnected", `disconnected (${reason})`);
    $("transport").textContent = "–";
    me = null;
  });
  socket.on("connect_error", (err) => setStatus("error", `cannot connect: ${err.message}`));

  // ---- joining ----

  function join() {
    $("join-btn").disabled = true;
    socket.timeout(ACK_TIMEOUT).emit("join", { room, name }, (err, res) => {
      $("join-btn").disabled = false;
      if (err || !res.ok) {
        $("join-error").textContent = err ? "the server did not answer" : res.error;
        return;
      }
      $("join-error").textContent = "";
      me = res;
      prev = cur = null;
      room = res.room;
      $("room").value = room;
      $("name").value = res.name;
      $("room-name").textContent = room;
      sessionStorage.setItem("game.room", room);
      if (name) localStorage.setItem("game.name", name);
      const u = new URL(location.href);
      u.searchParams.set("room", room);
      history.replaceState(null, "", u);
      sent = -1;
      sendInput();
    });
  }

  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    room = $("room").value.trim() || "arena";
    name = $("name").value.trim();
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur(); // arrows move again
    if (socket.connected) join();
  });

  // ---- input: the keys held, sent when they change ----

  const held = { up: false, down: false, left: false, right: false };
  const KEYS = {
    ArrowUp: "up", KeyW: "up", ArrowDown: "down", KeyS: "down",
    ArrowLeft: "left", KeyA: "left", ArrowRight: "right", KeyD: "right",
  };
  let sent = -1;

  function sendInput() {
    const bits = (held.up ? 1 : 0) | (held.down ? 2 : 0) | (held.left ? 4 : 0) | (held.right ? 8 : 0);
    if (!me || bits === sent) return;
    sent = bits;
    socket.emit("input", { ...held });
  }

  function onKey(e, down) {
    const k = KEYS[e.code];
    if (!k || e.target instanceof HTMLInputElement) return;
    e.preventDefault();
    held[k] = down;
    sendInput();
  }
  window.addEventListener("keydown", (e) => onKey(e, true));
  window.addEventListener("keyup", (e) => onKey(e, false));
  window.addEventListener("blur", () => {
    for (const k in held) held[k] = false;
    sendInput();
  });

  // ---- state ----

  socket.on("state", (st) => {
    if (cur && st.tick <= cur.tick) return; // never go back in time
    prev = cur;
    cur = st;
    curAt = performance.now();
    arrivals.push(Date.now());
    renderPlayers(st);
  });

  let shownPlayers = "";
  function renderPlayers(st) {
    const key = JSON.stringify(st.players.map((p) => [p.id, p.name, p.color, p.score]));
    if (key === shownPlayers) return;
    shownPlayers = key;
    const sorted = [...st.players].sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
    $("players").replaceChildren(
      ...sorted.map((p) => {
        const li = document.createElement("li");
        li.dataset.id = p.id;
        if (me && p.id === me.id) li.className = "me";
        const dot = document.createElement("span");
        dot.className = "dot";
        dot.style.background = p.color;
        const nm = document.createElement("span");
        nm.className = "name";
        nm.textContent = p.name;
        if (me && p.id === me.id) {
          const you = document.createElement("span");
          you.className = "you";
          you.textContent = " (you)";
          nm.append(you);
        }
        const sc = document.createElement("span");
        sc.className = "score";
        sc.textContent = String(p.score);
        li.append(dot, nm, sc);
        return li;
      }),
    );
    $("count").textContent = `(${st.players.length})`;
  }

  setInterval(() => {
    const since = Date.now() - 1000;
    arrivals = arrivals.filter((t) => t >= since);
    $("tps").textContent = String(arrivals.length);
    if (cur) $("age").textContent = `${Math.max(0, Date.now() - cur.ts)} ms`;
  }, 500);

  // ---- drawing ----

  const cv = $("arena");
  const g = cv.getContext("2d");

  // positions interpolates between the last two states.
  function positions() {
    if (!cur) return [];
    const step = 1000 / ((me && me.tickRate) || 30);
    const a = Math.min(1, (performance.now() - curAt) / step);
    const before = new Map((prev ? prev.players : []).map((p) => [p.id, p]));
    return cur.players.map((p) => {
      const q = before.get(p.id);
      return q ? { ...p, x: q.x + (p.x - q.x) * a, y: q.y + (p.y - q.y) * a } : p;
    });
  }

  function draw() {
    const w = cv.width, h = cv.height;
    g.fillStyle = "#0a0f1a";
    g.fillRect(0, 0, w, h);
    g.strokeStyle = "#141d30";
    g.lineWidth = 1;
    g.beginPath();
    for (let x = 40; x < w; x += 40) { g.moveTo(x + 0.5, 0); g.lineTo(x + 0.5, h); }
    for (let y = 40; y < h; y += 40) { g.moveTo(0, y + 0.5); g.lineTo(w, y + 0.5); }
    g.stroke();

    if (!cur || !me) {
      g.fillStyle = "#8a9ab3";
      g.font = "600 20px system-ui, sans-serif";
      g.textAlign = "center";
      g.fillText(socket.connected ? "joining…" : "connecting…", w / 2, h / 2);
      requestAnimationFrame(draw);
      return;
    }
    const ar = me.arena;
    // The coin.
    const pulse = 1 + 0.12 * Math.sin(performance.now() / 180);
    g.beginPath();
    g.arc(cur.coin.x, cur.coin.y, ar.coinRadius * pulse, 0, Math.PI * 2);
    g.fillStyle = "#facc15";
    g.shadowColor = "#fde047";
    g.shadowBlur = 16;
    g.fill();
    g.shadowBlur = 0;

    // The players; me last, on top.
    const ps = positions().sort((a, b) => (a.id === me.id) - (b.id === me.id));
    for (const p of ps) {
      g.beginPath();
      g.arc(p.x, p.y, ar.playerRadius, 0, Math.PI * 2);
      g.fillStyle = p.color;
      g.fill();
      if (p.id === me.id) {
        g.lineWidth = 3;
        g.strokeStyle = "#ffffff";
        g.stroke();
      }
      g.font = "600 13px system-ui, sans-serif";
      g.textAlign = "center";
      g.fillStyle = "#e2e8f0";
      g.fillText(p.id === me.id ? `${p.name} (you)` : p.name, p.x, p.y - ar.playerRadius - 8);
    }
    requestAnimationFrame(draw);
  }
  requestAnimationFrame(draw);

  // For the curious (and the browser test): the last state and who we are.
  window.game = Object.freeze({
    get state() { return cur; },
    get me() { return me; },
    get socket() { return socket; },
  });
})();
