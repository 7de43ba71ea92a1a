package main

import "testing"

// TestParseTimeWait reads the TIME_WAIT count of /proc/net/sockstat's TCP
// line (sockstat6 has no tw field), and this machine's is readable.
func TestParseTimeWait(t *testing.T) {
	const sockstat = "sockets: used 7\nTCP: inuse 1 orphan 0 tw 3053 alloc 1 mem 43\nUDP: inuse 0 mem 0\n"
	if n, ok := parseTimeWait(sockstat); !ok || n != 3053 {
		t.Errorf("parseTimeWait: %d, %v; want 3053, true", n, ok)
	}
	if _, ok := parseTimeWait("TCP6: inuse 0\nUDP6: inuse 0\n"); ok {
		t.Error("parseTimeWait found a tw field in a sockstat6 without one")
	}
	if n := timeWait(); n < 0 {
		t.Errorf("timeWait: %d: /proc/net/sockstat unreadable", n)
	}
}
