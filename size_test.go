package riptide

import (
	"testing"
	"unsafe"
)

// An idle connection's memory is mostly its Socket and client: their sizes
// are pinned so that a new field is a decision (rarely used state goes in
// socketExtra or clientExtra, allocated on first use). Each sits at the
// top of its allocator size class (80, 32): one more field costs 16 bytes
// a connection.
func TestSocketSize(t *testing.T) {
	if got := unsafe.Sizeof(Socket{}); got > 80 {
		t.Errorf("Socket is %d bytes, want <= 80 (the 80-byte size class)", got)
	}
	if got := unsafe.Sizeof(client{}); got > 32 {
		t.Errorf("client is %d bytes, want <= 32 (the 32-byte size class)", got)
	}
}
