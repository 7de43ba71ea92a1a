//go:build linux

package riptide

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/riptide-io/riptide/internal/listenfd"
)

// syncBuffer is a bytes.Buffer for a logger written from another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestEngineStopIsLogged: a server started with Listen has no caller
// waiting on it, so when gnet stops its engine by itself (here: its
// listening socket shut down under it; EMFILE on accept would do the same
// without MaxConnections), Config.Logger says so, with gnet's reason.
func TestEngineStopIsLogged(t *testing.T) {
	logs := &syncBuffer{}
	srv := New(Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	port := srv.Addr().(*net.TCPAddr).Port
	fd, err := listenfd.Find(port)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Shutdown(fd, unix.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second); err == nil {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "the server stopped serving") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the engine's stop; logs: %q", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "Accept() failed") {
		t.Errorf("the log does not give gnet's reason: %q", logs.String())
	}
}
