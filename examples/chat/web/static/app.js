// The chat page. Plain JavaScript on the global `io` of socket.io-client's
// browser bundle (/socket.io.min.js). The protocol is described in chat.go.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const ACK_TIMEOUT = 8000; // ms to wait for the server's acknowledgement
  const TYPING_EVERY = 1500; // ms between two "typing" hints while typing
  const TYPING_IDLE = 2500; // ms without a key before "stopped typing"
  const TYPING_SHOWN = 4000; // ms a typing hint stays on screen unless renewed

  // ?transports=polling (or websocket) picks the transport; the default is
  // socket.io-client's own: long-polling first, then the upgrade to WebSocket.
  const forced = new URLSearchParams(location.search).get("transports");
  const options = {};
  if (forced === "polling" || forced === "websocket") options.transports = [forced];

  // A per-tab secret: a reloaded tab gets its nickname back even before the
  // server has noticed that the old page is gone. sessionStorage survives a
  // reload but is not shared with other tabs.
  let token = sessionStorage.getItem("chat.token");
  if (!token) {
    const b = crypto.getRandomValues(new Uint8Array(16));
    token = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("chat.token", token);
  }

  const socket = io(options);

  let me = null; // {nick, room} once joined
  let joining = null; // the room a join/switch is in flight for
  let early = []; // events of that room that arrived before its answer
  let usersVersion = -1;
  const seen = new Set(); // ids of the messages on screen
  const typers = new Map(); // nick -> timer

  // ---- connection status and transport ----

  function setStatus(state, text) {
    const el = $("status");
    el.dataset.state = state;
    el.textContent = text || state;
  }

  function showTransport() {
    const eng = socket.io.engine;
    const name = eng && eng.transport ? eng.transport.name : "–";
    const el = $("transport");
    el.textContent = name;
    el.dataset.transport = name;
    el.title = forced ? `Forced with ?transports=${forced}` : "Polling first, then upgraded to WebSocket when possible";
  }

  socket.io.on("open", () => {
    showTransport();
    socket.io.engine.on("upgrade", showTransport);
  });
  socket.io.on("reconnect_attempt", (n) => setStatus("reconnecting", `reconnecting (try ${n})…`));
  socket.on("connect", () => {
    setStatus("connected");
    showTransport();
    updateControls();
    if (me) join(me.nick, me.room, true); // a new connection: take our place again
  });
  socket.on("disconnect", (reason) => {
    // "io server disconnect": the server closed us, because this tab's
    // nickname was taken back by a copy of it; socket.io-client does not
    // reconnect by itself then.
    setStatus("disconnected", reason === "io server disconnect" ? "disconnected by the server (reload to rejoin)" : `disconnected (${reason})`);
    $("transport").textContent = "–";
    updateControls();
  });
  socket.on("connect_error", (err) => setStatus("error", `cannot connect: ${err.message}`));

  function updateControls() {
    const live = socket.connected && me !== null && joining === null;
    $("send-btn").disabled = !live;
    $("leave-btn").disabled = !live || (me && me.room === "lobby");
  }

  // ---- joining and switching rooms ----

  $("nick").value = localStorage.getItem("chat.nick") || "";
  $("room").value = sessionStorage.getItem("chat.room") || "lobby";

  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    join($("nick").value, $("room").value || "lobby", false);
  });

  function join(nick, room, again) {
    $("join-error").textContent = "";
    $("join-btn").disabled = true;
    request("join", { nick, room, token }, room, (err, res) => {
      $("join-btn").disabled = false;
      if (err) {
        if (again) {
          // Someone took our nickname while we were away: back to the form.
          me = null;
          showView("join");
        }
        $("join-error").textContent = err;
        return;
      }
      localStorage.setItem("chat.nick", res.nick);
      showView("chat");
      enterRoom(res, again ? "Reconnected to" : "You joined");
    });
  }

  $("room-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const room = $("new-room").value.trim();
    if (room) switchRoom(room);
  });

  $("leave-btn").addEventListener("click", () => {
    request("leave", {}, "lobby", (err, res) => {
      if (err) return notice(err);
      enterRoom(res, "You are back in");
    });
  });

  function switchRoom(room) {
    request("switch", { room }, room.replace(/^#/, "").toLowerCase(), (err, res) => {
      if (err) return notice(err);
      $("new-room").value = "";
      enterRoom(res, "You joined");
    });
  }

  // request emits a join/switch/leave and holds the events of the target
  // room until the answer (with its history) is on screen.
  let lastRequest = 0;
  function request(event, payload, room, done) {
    const mine = ++lastRequest;
    joining = room;
    early = [];
    updateControls();
    socket.timeout(ACK_TIMEOUT).emit(event, payload, (err, res) => {
      if (mine !== lastRequest) return; // overtaken by a newer request (a reconnection)
      const held = early;
      joining = null;
      early = [];
      if (err) {
        updateControls();
        return done("The server did not answer. Try again.");
      }
      if (!res.ok) {
        updateControls();
        return done(res.error);
      }
      done(null, res);
      for (const [kind, data] of held) if (data.room === res.room) onRoomEvent(kind, data);
      updateControls();
    });
  }

  function enterRoom(res, verb) {
    me = { nick: res.nick, room: res.room };
    sessionStorage.setItem("chat.room", res.room);
    $("me").textContent = res.nick;
    $("room-title").textContent = "#" + res.room;
    $("messages").replaceChildren();
    seen.clear();
    clearTypers();
    for (const m of res.history) addMessage(m);
    notice(`${verb} #${res.room}`);
    usersVersion = -1;
    showUsers(res.users);
    showRooms(res.rooms);
    updateControls();
    $("text").focus();
  }

  function showView(which) {
    $("join-view").hidden = which !== "join";
    $("chat-view").hidden = which !== "chat";
  }

  // ---- events of the current room ----

  for (const kind of ["message", "users", "notice", "typing"]) {
    socket.on(kind, (data) => {
      if (joining !== null) {
        if (data.room === joining) early.push([kind, data]);
        return;
      }
      if (me && data.room === me.room) onRoomEvent(kind, data);
    });
  }
  socket.on("rooms", showRooms);

  function onRoomEvent(kind, data) {
    switch (kind) {
      case "message":
        stopTyper(data.nick);
        addMessage(data);
        break;
      case "users":
        showUsers(data);
        break;
      case "notice":
        notice(data.text);
        break;
      case "typing":
        if (data.typing) startTyper(data.nick);
        else stopTyper(data.nick);
        break;
    }
  }

  // ---- messages ----

  function atBottom() {
    const el = $("messages");
    return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  }

  function append(li) {
    const stick = atBottom();
    $("messages").append(li);
    if (stick) li.scrollIntoView({ block: "end" });
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function clock(ts) {
    return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // addMessage shows a message from the server (live or history) unless it
  // is already on screen.
  function addMessage(m) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const own = me && m.nick === me.nick;
    const li = bubble(m.nick, m.text, m.ts, own);
    li.dataset.id = m.id;
    if (own) setTick(li, "delivered");
    append(li);
  }

  function bubble(nick, text, ts, own) {
    const li = el("li", own ? "msg own" : "msg");
    const meta = el("div", "meta");
    meta.append(el("span", "nick", nick), el("span", "time", clock(ts)));
    if (own) meta.append(el("span", "tick"));
    li.append(meta, el("div", "text", text));
    return li;
  }

  function setTick(li, state, why) {
    li.classList.remove("pending", "delivered", "failed");
    li.classList.add(state);
    const t = li.querySelector(".tick");
    t.textContent = { pending: "…", delivered: "✓", failed: "!" }[state];
    t.title = { pending: "sending", delivered: "delivered", failed: why || "not delivered" }[state];
  }

  function notice(text) {
    append(el("li", "notice", text));
  }

  $("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("text");
    const text = input.value.trim();
    if (!text || !me || !socket.connected) return;
    input.value = "";
    stopTyping();
    const li = bubble(me.nick, text, Date.now(), true);
    setTick(li, "pending");
    append(li);
    socket.timeout(ACK_TIMEOUT).emit("message", { text }, (err, res) => {
      if (err) return setTick(li, "failed", "no answer from the server");
      if (!res.ok) return setTick(li, "failed", res.error);
      li.dataset.id = res.id;
      seen.add(res.id);
      setTick(li, "delivered");
    });
  });

  // ---- users and rooms ----

  function showUsers(u) {
    if (u.v < usersVersion) return; // an older list overtaken by a newer one
    usersVersion = u.v;
    const ul = $("users");
    ul.replaceChildren(
      ...u.users.map((nick) => {
        const li = el("li", me && nick === me.nick ? "self" : "", nick);
        li.dataset.nick = nick;
        return li;
      }),
    );
    $("user-count").textContent = `(${u.users.length})`;
    for (const nick of typers.keys()) if (!u.users.includes(nick)) stopTyper(nick);
  }

  function showRooms(rooms) {
    const ul = $("rooms");
    ul.replaceChildren(
      ...rooms.map((r) => {
        const li = el("li", me && r.name === me.room ? "current" : "");
        li.dataset.room = r.name;
        li.append(el("span", "name", "#" + r.name), el("span", "n", String(r.users)));
        li.addEventListener("click", () => {
          if (!me || r.name === me.room || joining !== null) return;
          switchRoom(r.name);
        });
        return li;
      }),
    );
  }

  // ---- typing indicator ----

  let typingSentAt = 0;
  let typingIdle = null;

  $("text").addEventListener("input", () => {
    if (!me || !socket.connected) return;
    if ($("text").value === "") return stopTyping();
    const now = Date.now();
    if (now - typingSentAt > TYPING_EVERY) {
      socket.emit("typing", true);
      typingSentAt = now;
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE);
  });

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt !== 0 && socket.connected) socket.emit("typing", false);
    typingSentAt = 0;
  }

  function startTyper(nick) {
    clearTimeout(typers.get(nick));
    typers.set(nick, setTimeout(() => stopTyper(nick), TYPING_SHOWN));
    showTypers();
  }

  function stopTyper(nick) {
    if (!typers.has(nick)) return;
    clearTimeout(typers.get(nick));
    typers.delete(nick);
    showTypers();
  }

  function clearTypers() {
    for (const t of typers.values()) clearTimeout(t);
    typers.clear();
    showTypers();
  }

  function showTypers() {
    const names = [...typers.keys()];
    $("typing").textContent =
      names.length === 0 ? "" :
      names.length === 1 ? `${names[0]} is typing…` :
      names.length <= 3 ? `${names.join(", ")} are typing…` :
      "several people are typing…";
  }

  setStatus("connecting", "connecting…");
  updateControls();
})();
