package redistest

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRedisStartPing(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", s.Addr())
	}
	if want := "redis://" + s.Addr() + "/0"; s.URL() != want {
		t.Fatalf("URL = %q, want %q", s.URL(), want)
	}
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	if got, err := s.Do("SET", "k", "v w\r\nx"); err != nil || got != "OK" {
		t.Fatalf("SET = %q, %v", got, err)
	}
	if got, err := s.Do("GET", "k"); err != nil || got != "v w\r\nx" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if got, err := s.Do("GET", "missing"); err != nil || got != "" {
		t.Fatalf("GET missing = %q, %v", got, err)
	}
	if got, err := s.Do("INCR", "n"); err != nil || got != "1" {
		t.Fatalf("INCR = %q, %v", got, err)
	}
	if got, err := s.Do("PUBSUB", "NUMSUB", "a", "b"); err != nil || got != "a\n0\nb\n0" {
		t.Fatalf("PUBSUB NUMSUB = %q, %v", got, err)
	}
	// Redis 7: sharded pub/sub is there.
	if got, err := s.Do("PUBSUB", "SHARDNUMSUB", "a"); err != nil || got != "a\n0" {
		t.Fatalf("PUBSUB SHARDNUMSUB = %q, %v", got, err)
	}
	var se ServerError
	if _, err := s.Do("NOSUCHCOMMAND"); !errors.As(err, &se) || !strings.HasPrefix(string(se), "ERR") {
		t.Fatalf("unknown command: err = %v, want a ServerError starting with ERR", err)
	}
	// Persistence is off.
	if got, err := s.Do("CONFIG", "GET", "save"); err != nil || got != "save\n" {
		t.Fatalf("CONFIG GET save = %q, %v", got, err)
	}
}

func TestRedisRestartKeepsPort(t *testing.T) {
	t.Parallel()
	s := Start(t)
	addr := s.Addr()
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Addr after Restart = %q, want %q", s.Addr(), addr)
	}
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Restart = %q, %v", got, err)
	}
	if got, err := s.Do("GET", "k"); err != nil || got != "" {
		t.Fatalf("GET after Restart = %q, %v (want empty: no persistence)", got, err)
	}
}

func TestRedisKillThenRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	// A client connection that the crash must reset.
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Kill()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING after Kill succeeded")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection survived Kill")
	}
	s.Kill() // no-op when stopped
	s.Restart()
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Kill+Restart = %q, %v", got, err)
	}
	s.Stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING after Stop succeeded")
	}
	s.Stop() // no-op when stopped
}

func TestRedisTwoServers(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	if _, err := a.Do("SET", "who", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Do("SET", "who", "b"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s    *Server
		want string
	}{{a, "a"}, {b, "b"}} {
		if got, err := c.s.Do("GET", "who"); err != nil || got != c.want {
			t.Fatalf("%s GET who = %q, %v, want %q", c.s.Addr(), got, err, c.want)
		}
	}
}

func TestRedisArgs(t *testing.T) {
	t.Parallel()
	s := Start(t, Args("--maxclients", "77"))
	if got, err := s.Do("CONFIG", "GET", "maxclients"); err != nil || got != "maxclients\n77" {
		t.Fatalf("CONFIG GET maxclients = %q, %v", got, err)
	}
}

func TestRedisRestartWaitsForBusyPort(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Stop()
	// Someone else holds the port for a moment: Restart must retry, not fail.
	l, err := net.Listen("tcp", s.Addr())
	if err != nil {
		t.Fatalf("taking the port: %v", err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		l.Close()
		close(released)
	}()
	s.Restart()
	<-released
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after busy Restart = %q, %v", got, err)
	}
	if !strings.Contains(s.log.String(), "Address already in use") {
		t.Errorf("expected a failed bind in the log; the test did not exercise the retry")
	}
}
