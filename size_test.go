package riptide

import (
	"testing"
	"unsafe"
)

// An idle connection's memory is mostly its Socket and client: their sizes
// are pinned so that a new field is a decision (rarely used state goes in
// socketExtra, allocated on first use).
func TestSocketSize(t *testing.T) {
	if got := unsafe.Sizeof(Socket{}); got > 96 {
		t.Errorf("Socket is %d bytes, want <= 96 (the 96-byte size class)", got)
	}
	if got := unsafe.Sizeof(client{}); got > 48 {
		t.Errorf("client is %d bytes, want <= 48 (the 48-byte size class)", got)
	}
}
