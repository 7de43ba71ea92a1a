package client

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

// startServer runs a Riptide server in process with a part of the benchmark
// contract (echo, join, bcast, stats), push (emits "msg" with its argument,
// then acks) and bye (the server disconnects the socket).
func startServer(t *testing.T) string {
	t.Helper()
	// Pings every 100 ms, so that every test sees them answered; a 1 s pong
	// deadline, so that a loaded machine (-race, packages in parallel) does
	// not end a connection whose client is merely late.
	srv := riptide.New(riptide.Config{PingInterval: 100 * time.Millisecond, PingTimeout: time.Second})
	srv.OnConnection(func(s *riptide.Socket) {
		s.On("echo", func(args riptide.Args, ack riptide.Ack) {
			vals := make([]any, args.Len())
			for i := range vals {
				vals[i] = riptide.RawJSON(args.Raw(i))
			}
			if ack != nil {
				ack(vals...)
				return
			}
			_ = s.Emit("echo", vals...)
		})
		s.On("join", func(args riptide.Args, ack riptide.Ack) {
			room, _ := riptide.Arg[string](args, 0)
			s.Join(room)
			if ack != nil {
				ack()
			}
		})
		s.On("bcast", func(args riptide.Args, ack riptide.Ack) {
			room, _ := riptide.Arg[string](args, 0)
			_ = srv.To(room).Emit("msg", riptide.RawJSON(args.Raw(1)))
			if ack != nil {
				ack()
			}
		})
		s.On("stats", func(args riptide.Args, ack riptide.Ack) {
			ack(map[string]any{"rss": 1, "heapUsed": 2, "connections": srv.Sockets().Len()})
		})
		s.On("push", func(args riptide.Args, ack riptide.Ack) {
			_ = s.Emit("msg", riptide.RawJSON(args.Raw(0)))
			ack()
		})
		s.On("bye", func(args riptide.Args, ack riptide.Ack) { s.Disconnect(true) })
		s.OnDisconnect(func(reason string) { t.Log("server: disconnect", reason) })
	})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + srv.Addr().String()
}

func TestClientAgainstRiptide(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var (
		mu     sync.Mutex
		events []string
		got    = make(chan struct{}, 16)
	)
	onEvent := func(c *Conn, ev *Event) {
		mu.Lock()
		events = append(events, string(ev.Name)+" "+string(ev.Args))
		mu.Unlock()
		got <- struct{}{}
	}
	a, err := Dial(ctx, url, Options{OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// A second connection from another source address.
	b, err := Dial(ctx, url, Options{LocalAddr: "127.0.0.2", OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.SID() == "" || b.SID() == a.SID() {
		t.Fatalf("sids %q %q", a.SID(), b.SID())
	}
	if ip := strings.Split(b.LocalAddr().String(), ":")[0]; ip != "127.0.0.2" {
		t.Fatalf("local address %s, want 127.0.0.2", b.LocalAddr())
	}
	if hs := a.Handshake(); hs.PingInterval != 100 || hs.EngineSID == "" {
		t.Fatalf("handshake %+v", hs)
	}

	// echo with an ack: the arguments come back verbatim.
	reply, err := a.Call(ctx, "echo", []byte(`"hi"`), []byte(`{"n":1}`))
	if err != nil || string(reply) != `"hi",{"n":1}` {
		t.Fatalf("echo ack: %q, %v", reply, err)
	}
	// echo without an ack: an "echo" event.
	if err := a.Emit("echo", []byte(`42`)); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, got, 1)

	// join + bcast: both members receive msg, once.
	for _, c := range []*Conn{a, b} {
		if _, err := c.Call(ctx, "join", []byte(`"r"`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Call(ctx, "bcast", []byte(`"r"`), []byte(`{"seq":7,"ts":123,"data":"x"}`)); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, got, 2)
	mu.Lock()
	want := []string{`echo 42`, `msg {"seq":7,"ts":123,"data":"x"}`, `msg {"seq":7,"ts":123,"data":"x"}`}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", events, want)
	}
	mu.Unlock()

	// Several heartbeats pass: the client answers pings, so it stays up.
	time.Sleep(700 * time.Millisecond)
	reply, err = b.Call(ctx, "stats")
	if err != nil {
		t.Fatalf("stats after heartbeats: %v", err)
	}
	var st struct{ Connections int }
	if err := json.Unmarshal(reply, &st); err != nil || st.Connections != 2 {
		t.Fatalf("stats %s: %v", reply, err)
	}

	// A large argument takes the 16-bit and 64-bit frame lengths both ways.
	for _, n := range []int{200, 70000} {
		big := `"` + strings.Repeat("y", n) + `"`
		reply, err = a.Call(ctx, "echo", []byte(big))
		if err != nil || string(reply) != big {
			t.Fatalf("echo of %d bytes: %d bytes, %v", n, len(reply), err)
		}
	}

	// Close: pending acks and the reader end; Err is nil for our own close.
	_ = a.Close()
	if err := a.Err(); err != nil {
		t.Fatalf("Err after Close: %v", err)
	}
	if err := a.Emit("echo"); err == nil {
		t.Fatal("Emit after Close succeeded")
	}
}

// waitEvents waits for n events.
func waitEvents(t *testing.T, got chan struct{}, n int) {
	t.Helper()
	for range n {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("timed out waiting for an event")
		}
	}
}

func TestParseEvent(t *testing.T) {
	for _, tc := range []struct {
		in, name, args string
		id             int64
		ok             bool
	}{
		{`["msg",{"seq":1}]`, "msg", `{"seq":1}`, -1, true},
		{`12["echo","a",2]`, "echo", `"a",2`, 12, true},
		{`["noargs"]`, "noargs", ``, -1, true},
		{`["we\"ird",1]`, `we"ird`, `1`, -1, true},
		{`/chat,["msg"]`, "", "", 0, false},
		{`["msg"`, "", "", 0, false},
		{`[1,2]`, "", "", 0, false},
	} {
		id, name, args, ok := parseEvent([]byte(tc.in))
		if ok != tc.ok || (ok && (string(name) != tc.name || string(args) != tc.args || id != tc.id)) {
			t.Errorf("parseEvent(%q) = %d %q %q %v", tc.in, id, name, args, ok)
		}
	}
	id, args, ok := parseAck([]byte(`3[{"sent":10}]`))
	if !ok || id != 3 || string(args) != `{"sent":10}` {
		t.Errorf("parseAck: %d %q %v", id, args, ok)
	}
}

func TestParseSeqTS(t *testing.T) {
	for _, tc := range []struct {
		in      string
		seq, ts int64
		ok      bool
	}{
		{`{"seq":12,"ts":1700000000000001,"data":"xxx"}`, 12, 1700000000000001, true},
		{`{"data":"a\"b,}","x":{"y":[1,{"z":2}]},"ts":5,"seq":0}`, 0, 5, true},
		{` { "seq" : 3 , "ts" : 4 }`, 3, 4, true},
		{`{"seq":1}`, 0, 0, false},
		{`{"seq":1.5,"ts":2}`, 0, 0, false},
		{`[1]`, 0, 0, false},
		{`{"seq":1,"ts":`, 0, 0, false},
	} {
		seq, ts, ok := ParseSeqTS([]byte(tc.in))
		if ok != tc.ok || (ok && (seq != tc.seq || ts != tc.ts)) {
			t.Errorf("ParseSeqTS(%q) = %d %d %v", tc.in, seq, ts, ok)
		}
	}
}

func TestFrameInPlace(t *testing.T) {
	for _, n := range []int{1, 125, 126, 65535, 65536} {
		b := make([]byte, maxHeader+n)
		for i := range n {
			b[maxHeader+i] = '6' // an Engine.IO noop, then filler
		}
		f := frameInPlace(b, opText, [4]byte{1, 2, 3, 4})
		wantHdr := map[bool]int{true: 6}[n < 126] + map[bool]int{true: 8}[n >= 126 && n <= 0xffff] + map[bool]int{true: 14}[n > 0xffff]
		if len(f) != wantHdr+n {
			t.Fatalf("n=%d: frame of %d bytes, want header %d", n, len(f), wantHdr)
		}
		// Parse it back (the reader unmasks masked frames too).
		c := &Conn{frameReader: frameReader{buf: append([]byte(nil), f...), w: len(f)}}
		if err := c.parse(0); err != nil || c.r != len(f) {
			t.Fatalf("n=%d: parsed %d of %d bytes, %v", n, c.r, len(f), err)
		}
	}
}

func BenchmarkParseSeqTS(b *testing.B) {
	msg := []byte(`{"seq":123456,"ts":1700000000000001,"data":"` + strings.Repeat("x", 100) + `"}`)
	for b.Loop() {
		if _, _, ok := ParseSeqTS(msg); !ok {
			b.Fatal("parse")
		}
	}
}

// TestParseIntMatchesStrconv checks parseInt against strconv on every
// length around its 18-digit limit, with and without a sign and a suffix.
func TestParseIntMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 20; n++ {
		for range 200 {
			digits := make([]byte, n)
			for i := range digits {
				digits[i] = byte('0' + rng.IntN(10))
			}
			for _, sign := range []string{"", "-"} {
				for _, suffix := range []string{"", ",", "}", "0x", ".5", "e3"} {
					in := sign + string(digits) + suffix
					v, next, ok := parseInt([]byte(in), 0)
					want, err := strconv.ParseInt(sign+string(digits), 10, 64)
					wantOK := err == nil && n <= 18 && (suffix == "" || suffix == "," || suffix == "}")
					if suffix == "0x" { // a digit follows: part of the number
						want, err = strconv.ParseInt(sign+string(digits)+"0", 10, 64)
						wantOK = err == nil && n+1 <= 18
					}
					if ok != wantOK || (ok && v != want) || (ok && in[next:] != strings.TrimPrefix(suffix, "0")) {
						t.Fatalf("parseInt(%q) = %d, %d, %v; want %d, %v", in, v, next, ok, want, wantOK)
					}
				}
			}
		}
	}
}

// FuzzParseSeqTS: ParseSeqTS never panics, and its compact fast path agrees
// with the general walk on every input it accepts.
func FuzzParseSeqTS(f *testing.F) {
	for _, s := range []string{
		`{"seq":12,"ts":1700000000000001,"data":"xxx"}`,
		`{"seq":0,"ts":12345678,"data":""}`,
		`{"data":"a\"b,}","x":{"y":[1,{"z":2}]},"ts":5,"seq":0}`,
		` { "seq" : 3 , "ts" : 4 }`,
		`{"seq":123456789012345678,"ts":-99999999,"x":1}`,
		`{"seq":1.5,"ts":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, ts, ok := ParseSeqTS(b)
		fseq, fts, fok := parseSeqTSCompact(b)
		if fok && (!ok || fseq != seq || fts != ts) {
			t.Fatalf("%q: fast path %d %d, ParseSeqTS %d %d %v", b, fseq, fts, seq, ts, ok)
		}
		if fok {
			// The general walk alone must agree too (ParseSeqTS took the
			// fast path): hide the fast path's prefix behind a space.
			gseq, gts, gok := ParseSeqTS(append([]byte(" "), b...))
			if !gok || gseq != seq || gts != ts {
				t.Fatalf("%q: fast path %d %d, general walk %d %d %v", b, seq, ts, gseq, gts, gok)
			}
		}
	})
}
