//go:build linux

package riptide

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/riptide-io/riptide/internal/listenfd"
)

// recordCh is a slog.Handler that hands each record to the test (and
// drops it when the test is not reading).
type recordCh chan slog.Record

func (c recordCh) Enabled(context.Context, slog.Level) bool { return true }
func (c recordCh) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c recordCh) WithGroup(string) slog.Handler            { return c }
func (c recordCh) Handle(_ context.Context, r slog.Record) error {
	select {
	case c <- r.Clone():
	default:
	}
	return nil
}

// TestEngineStopIsLogged: a server started with Listen has no caller
// waiting on it, so when gnet stops its engine by itself (here: its
// listening socket shut down under it; EMFILE on accept would do the same
// without MaxConnections), Config.Logger says so, with gnet's reason.
func TestEngineStopIsLogged(t *testing.T) {
	logs := make(recordCh, 64)
	srv := New(Config{Logger: slog.New(logs)})
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
	timeout := time.After(5 * time.Second)
	for {
		select {
		case r := <-logs:
			if r.Message != "riptide: the server stopped serving" {
				continue
			}
			var why string
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" {
					why = a.Value.String()
				}
				return true
			})
			if r.Level != slog.LevelError || !strings.Contains(why, "Accept() failed") {
				t.Errorf("logged at %v with err %q, want an error giving gnet's reason", r.Level, why)
			}
			return
		case <-timeout:
			t.Fatal("no log of the engine's stop")
		}
	}
}
