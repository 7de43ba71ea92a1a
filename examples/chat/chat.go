package main

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riptide-io/riptide"
)

// Limits of the chat. Everything the server keeps is bounded by them.
const (
	defaultRoom   = "lobby"
	historySize   = 50  // messages kept per room, replayed on join
	maxRooms      = 100 // rooms kept (with their history); empty ones are evicted first
	maxNickRunes  = 20
	maxRoomRunes  = 24
	maxTextRunes  = 500
	maxTokenBytes = 64
)

// The protocol between the page (web/static/app.js) and the server.
//
// Client to server, each with an acknowledgement:
//
//	"join"    {nick, room, token} -> joined | {ok:false, error}
//	"switch"  {room}              -> joined | {ok:false, error}
//	"leave"   -                   -> joined (back in the lobby)
//	"message" {text}              -> {ok:true, id, ts} | {ok:false, error}
//	"typing"  bool                   (no ack; relayed volatile)
//
// Server to client:
//
//	"message" chatMessage   a message of the current room (not your own)
//	"users"   userList      the members of the current room, versioned
//	"rooms"   []roomInfo    every room and how many are in it
//	"notice"  notice        "bob joined", "bob left"...
//	"typing"  typing        someone in the room is (or stopped) typing

type chatMessage struct {
	ID   uint64 `json:"id"`
	Room string `json:"room"`
	Nick string `json:"nick"`
	Text string `json:"text"`
	TS   int64  `json:"ts"` // Unix milliseconds
}

type userList struct {
	Room  string   `json:"room"`
	Users []string `json:"users"`
	V     uint64   `json:"v"` // grows with every change: the page ignores older lists
}

type roomInfo struct {
	Name  string `json:"name"`
	Users int    `json:"users"`
}

type notice struct {
	Room string `json:"room"`
	Text string `json:"text"`
	TS   int64  `json:"ts"`
}

type typing struct {
	Room   string `json:"room"`
	Nick   string `json:"nick"`
	Typing bool   `json:"typing"`
}

// joined answers join, switch and leave.
type joined struct {
	OK      bool          `json:"ok"`
	Nick    string        `json:"nick"`
	Room    string        `json:"room"`
	Users   userList      `json:"users"`
	Rooms   []roomInfo    `json:"rooms"`
	History []chatMessage `json:"history"`
}

type failure struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// history is a ring of the last historySize messages of a room.
type history struct {
	buf   [historySize]chatMessage
	start int
	n     int
}

func (h *history) add(m chatMessage) {
	if h.n < len(h.buf) {
		h.buf[(h.start+h.n)%len(h.buf)] = m
		h.n++
		return
	}
	h.buf[h.start] = m
	h.start = (h.start + 1) % len(h.buf)
}

// snapshot returns the messages, oldest first, in a new slice.
func (h *history) snapshot() []chatMessage {
	out := make([]chatMessage, 0, h.n)
	for i := range h.n {
		out = append(out, h.buf[(h.start+i)%len(h.buf)])
	}
	return out
}

type room struct {
	name       string
	members    []*member // in joining order
	history    history
	version    uint64 // of the member list
	lastActive time.Time
}

// member is a user: a nickname held by one socket.
type member struct {
	sock  *riptide.Socket
	nick  string
	token string // the page's per-tab secret: lets a reloaded tab take its nickname back
	room  *room
	gone  bool // replaced by a newer socket of the same tab
}

// hub is the chat's shared state. Handlers run on the event loop of their
// connection, several loops at once, so every access goes through mu. Nothing
// under mu blocks: Riptide's Emit, Join, Leave and broadcasts only queue work
// for the loops (and the loops apply it in the order it was queued, so member
// lists and messages reach each page in the order they were decided here).
type hub struct {
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	srv   *riptide.Server
	nicks map[string]*member // by lower-case nickname
	rooms map[string]*room
	seq   uint64 // message ids
}

func newHub(srv *riptide.Server, log *slog.Logger) *hub {
	h := &hub{
		log:   log,
		now:   time.Now,
		srv:   srv,
		nicks: map[string]*member{},
		rooms: map[string]*room{},
	}
	h.rooms[defaultRoom] = &room{name: defaultRoom, lastActive: h.now()}
	return h
}

// register installs the handlers of one socket.
func (h *hub) register(s *riptide.Socket) {
	_ = s.Emit("rooms", h.roomList())

	s.On("join", func(args riptide.Args, ack riptide.Ack) {
		var in struct {
			Nick  string `json:"nick"`
			Room  string `json:"room"`
			Token string `json:"token"`
		}
		if err := args.Decode(0, &in); err != nil {
			reply(ack, failure{Error: "bad request"})
			return
		}
		res, old, err := h.join(s, in.Nick, in.Room, in.Token)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		if old != nil {
			// The same tab, reloaded or reconnected before the server saw its
			// old connection go: that one is closed, outside the lock.
			old.Disconnect(true)
		}
		reply(ack, res)
	})

	s.On("switch", func(args riptide.Args, ack riptide.Ack) {
		var in struct {
			Room string `json:"room"`
		}
		if err := args.Decode(0, &in); err != nil {
			reply(ack, failure{Error: "bad request"})
			return
		}
		res, err := h.move(s, in.Room)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		reply(ack, res)
	})

	s.On("leave", func(_ riptide.Args, ack riptide.Ack) {
		res, err := h.move(s, defaultRoom)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		reply(ack, res)
	})

	s.On("message", func(args riptide.Args, ack riptide.Ack) {
		var in struct {
			Text string `json:"text"`
		}
		if err := args.Decode(0, &in); err != nil {
			reply(ack, failure{Error: "bad request"})
			return
		}
		m, err := h.say(s, in.Text)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		reply(ack, map[string]any{"ok": true, "id": m.ID, "ts": m.TS})
	})

	s.On("typing", func(args riptide.Args, _ riptide.Ack) {
		on, _ := riptide.Arg[bool](args, 0)
		h.mu.Lock()
		defer h.mu.Unlock()
		if m := h.memberOf(s); m != nil {
			// Volatile: a typing hint that cannot go out right now is worth
			// nothing later.
			_ = s.To(roomKey(m.room.name)).Volatile().Emit("typing", typing{Room: m.room.name, Nick: m.nick, Typing: on})
		}
	})

	s.OnDisconnect(func(reason string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		m := h.memberOf(s)
		if m == nil {
			return
		}
		h.log.Info("left", "nick", m.nick, "room", m.room.name, "reason", reason)
		delete(h.nicks, strings.ToLower(m.nick))
		h.removeFromRoom(m, m.nick+" left")
		h.broadcastRooms()
	})
}

// roomKey is the Riptide room of a chat room. The prefix keeps chat rooms
// apart from the rooms named by socket ids.
func roomKey(name string) string { return "room:" + name }

func reply(ack riptide.Ack, v any) {
	if ack != nil {
		ack(v)
	}
}

// memberOf returns the socket's member, nil before join (or once replaced).
// Caller holds mu.
func (h *hub) memberOf(s *riptide.Socket) *member {
	m, _ := s.Data.(*member)
	if m == nil || m.gone {
		return nil
	}
	return m
}

var (
	errNickTaken   = errors.New("that nickname is taken")
	errNotJoined   = errors.New("join the chat first")
	errTooManyRoom = errors.New("too many rooms: join an existing one")
)

// join gives s the nickname and puts it in a room. When the nickname is held
// by an older socket of the same tab (same token), the old socket is replaced
// and returned, for the caller to disconnect.
func (h *hub) join(s *riptide.Socket, nick, roomName, token string) (joined, *riptide.Socket, error) {
	nick, err := cleanNick(nick)
	if err != nil {
		return joined{}, nil, err
	}
	if roomName == "" {
		roomName = defaultRoom
	}
	roomName, err = cleanRoom(roomName)
	if err != nil {
		return joined{}, nil, err
	}
	if len(token) > maxTokenBytes {
		token = ""
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur := h.memberOf(s); cur != nil {
		if cur.nick != nick {
			return joined{}, nil, errors.New("already joined as " + cur.nick)
		}
		return h.moveLocked(cur, roomName)
	}
	var old *riptide.Socket
	key := strings.ToLower(nick)
	if prev := h.nicks[key]; prev != nil {
		if token == "" || prev.token != token {
			return joined{}, nil, errNickTaken
		}
		prev.gone = true
		h.removeFromRoom(prev, "")
		old = prev.sock
		delete(h.nicks, key)
	}
	r, err := h.roomLocked(roomName)
	if err != nil {
		return joined{}, nil, err
	}
	m := &member{sock: s, nick: nick, token: token}
	s.Data = m
	h.nicks[key] = m
	res := h.addToRoom(m, r, nick+" joined")
	h.broadcastRooms()
	res.Rooms = h.roomListLocked()
	h.log.Info("joined", "nick", nick, "room", r.name, "transport", s.Transport(), "replaced", old != nil)
	return res, old, nil
}

// move switches s to another room (created on first use).
func (h *hub) move(s *riptide.Socket, roomName string) (joined, error) {
	roomName, err := cleanRoom(roomName)
	if err != nil {
		return joined{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.memberOf(s)
	if m == nil {
		return joined{}, errNotJoined
	}
	res, _, err := h.moveLocked(m, roomName)
	return res, err
}

func (h *hub) moveLocked(m *member, roomName string) (joined, *riptide.Socket, error) {
	if m.room.name == roomName {
		res := h.view(m)
		res.Rooms = h.roomListLocked()
		return res, nil, nil
	}
	r, err := h.roomLocked(roomName)
	if err != nil {
		return joined{}, nil, err
	}
	h.removeFromRoom(m, m.nick+" went to #"+roomName)
	res := h.addToRoom(m, r, m.nick+" joined")
	h.broadcastRooms()
	res.Rooms = h.roomListLocked()
	h.log.Info("switched", "nick", m.nick, "room", r.name)
	return res, nil, nil
}

// say appends a message to the member's room and sends it to the others.
func (h *hub) say(s *riptide.Socket, text string) (chatMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return chatMessage{}, errors.New("empty message")
	}
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxTextRunes {
		return chatMessage{}, errors.New("message too long")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.memberOf(s)
	if m == nil {
		return chatMessage{}, errNotJoined
	}
	h.seq++
	msg := chatMessage{ID: h.seq, Room: m.room.name, Nick: m.nick, Text: text, TS: h.now().UnixMilli()}
	m.room.history.add(msg)
	m.room.lastActive = h.now()
	_ = s.To(roomKey(m.room.name)).Emit("message", msg)
	return msg, nil
}

// roomLocked returns the named room, creating it; past maxRooms the least
// recently active empty room (never the lobby) is forgotten first.
func (h *hub) roomLocked(name string) (*room, error) {
	if r := h.rooms[name]; r != nil {
		return r, nil
	}
	if len(h.rooms) >= maxRooms {
		var victim *room
		for _, r := range h.rooms {
			if r.name != defaultRoom && len(r.members) == 0 && (victim == nil || r.lastActive.Before(victim.lastActive)) {
				victim = r
			}
		}
		if victim == nil {
			return nil, errTooManyRoom
		}
		delete(h.rooms, victim.name)
	}
	r := &room{name: name, lastActive: h.now()}
	h.rooms[name] = r
	return r, nil
}

// addToRoom puts m in r and tells the room. Caller holds mu.
func (h *hub) addToRoom(m *member, r *room, text string) joined {
	m.room = r
	r.members = append(r.members, m)
	r.version++
	r.lastActive = h.now()
	// Join is queued on the socket's loop before the broadcasts below, so
	// the new member gets the member list and every later message.
	m.sock.Join(roomKey(r.name))
	_ = h.srv.To(roomKey(r.name)).Emit("users", h.usersLocked(r))
	if text != "" {
		_ = m.sock.To(roomKey(r.name)).Emit("notice", notice{Room: r.name, Text: text, TS: h.now().UnixMilli()})
	}
	return h.view(m)
}

// removeFromRoom takes m out of its room and tells the others. Caller holds mu.
func (h *hub) removeFromRoom(m *member, text string) {
	r := m.room
	if r == nil {
		return
	}
	r.members = slices.DeleteFunc(r.members, func(o *member) bool { return o == m })
	r.version++
	m.sock.Leave(roomKey(r.name))
	_ = h.srv.To(roomKey(r.name)).Except(m.sock.ID()).Emit("users", h.usersLocked(r))
	if text != "" {
		_ = h.srv.To(roomKey(r.name)).Except(m.sock.ID()).Emit("notice", notice{Room: r.name, Text: text, TS: h.now().UnixMilli()})
	}
	m.room = nil
}

func (h *hub) view(m *member) joined {
	return joined{OK: true, Nick: m.nick, Room: m.room.name, Users: h.usersLocked(m.room), History: m.room.history.snapshot()}
}

func (h *hub) usersLocked(r *room) userList {
	u := userList{Room: r.name, Users: make([]string, 0, len(r.members)), V: r.version}
	for _, m := range r.members {
		u.Users = append(u.Users, m.nick)
	}
	return u
}

func (h *hub) broadcastRooms() { _ = h.srv.Emit("rooms", h.roomListLocked()) }

func (h *hub) roomList() []roomInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.roomListLocked()
}

// roomListLocked lists the lobby first, then rooms with people, then the
// others, by name.
func (h *hub) roomListLocked() []roomInfo {
	out := make([]roomInfo, 0, len(h.rooms))
	for _, r := range h.rooms {
		out = append(out, roomInfo{Name: r.name, Users: len(r.members)})
	}
	slices.SortFunc(out, func(a, b roomInfo) int {
		if (a.Name == defaultRoom) != (b.Name == defaultRoom) {
			if a.Name == defaultRoom {
				return -1
			}
			return 1
		}
		if (a.Users > 0) != (b.Users > 0) {
			if a.Users > 0 {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// cleanNick trims a nickname and checks it: 1 to maxNickRunes letters,
// digits, spaces, '-', '_' or '.'.
func cleanNick(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "", errors.New("choose a nickname")
	}
	if utf8.RuneCountInString(s) > maxNickRunes {
		return "", errors.New("nickname too long (20 characters at most)")
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.", r) {
			return "", errors.New("a nickname has letters, digits, spaces, '-', '_' and '.' only")
		}
	}
	return s, nil
}

// cleanRoom normalises a room name: lower case, 1 to maxRoomRunes letters,
// digits, '-' or '_'; a leading '#' is dropped.
func cleanRoom(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	if s == "" {
		return "", errors.New("choose a room")
	}
	if utf8.RuneCountInString(s) > maxRoomRunes {
		return "", errors.New("room name too long (24 characters at most)")
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' {
			return "", errors.New("a room name has letters, digits, '-' and '_' only")
		}
	}
	return s, nil
}
