package riptide

import (
	"testing"
	"unsafe"
)

// An idle connection's memory is mostly its Socket: its size is pinned so
// that a new field is a decision (rarely used state goes in socketExtra,
// allocated on first use). It sits at the top of its allocator size class
// (80): one more field costs 16 bytes a connection. The client is a
// handle on the session (one word): its state costs no allocation of its
// own while a connection has one socket (TestClientStateForms).
func TestSocketSize(t *testing.T) {
	if got := unsafe.Sizeof(Socket{}); got > 80 {
		t.Errorf("Socket is %d bytes, want <= 80 (the 80-byte size class)", got)
	}
	if got := unsafe.Sizeof(client{}); got != unsafe.Sizeof(uintptr(0)) {
		t.Errorf("client is %d bytes, want one word (a handle)", got)
	}
}
