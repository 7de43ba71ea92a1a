//go:build linux

package listenfd

import (
	"net"
	"testing"
)

func TestFind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	fd, err := Find(port)
	if err != nil {
		t.Fatal(err)
	}
	if fd < 0 {
		t.Fatalf("Find(%d) = %d", port, fd)
	}
	// Closing the listener closes that descriptor: Find no longer finds it.
	defer func() {
		ln.Close()
		if _, err := Find(port); err == nil {
			t.Errorf("Find(%d) found a listener after it closed", port)
		}
	}()
	// A connected socket on another port is not a listener.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Find(c.LocalAddr().(*net.TCPAddr).Port); err == nil {
		t.Errorf("Find found a listener on a connected socket's port")
	}
}
