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

// TestHalfTheCores: the riptide server's default loops in a comparison
// leave half the machine to the generator, and never drop to zero (the
// server's own "one per core").
func TestHalfTheCores(t *testing.T) {
	for cores, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 8: 4, 64: 32} {
		if got := halfTheCores(cores); got != want {
			t.Errorf("halfTheCores(%d) = %d, want %d", cores, got, want)
		}
	}
}
