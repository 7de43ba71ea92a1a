package http1

import (
	"math/rand/v2"
	"testing"
)

// TestScanMatchesTables checks the word-at-a-time scanners against the byte
// tables, for every byte value at every position of a word, and at random.
func TestScanMatchesTables(t *testing.T) {
	slow := func(table *[256]bool, b []byte, i int) int {
		for i < len(b) && table[b[i]] {
			i++
		}
		return i
	}
	check := func(b []byte, i int) {
		if got, want := scanValue(b, i), slow(&valueTable, b, i); got != want {
			t.Fatalf("scanValue(%q, %d) = %d, want %d", b, i, got, want)
		}
		if got, want := scanTarget(b, i), slow(&targetTable, b, i); got != want {
			t.Fatalf("scanTarget(%q, %d) = %d, want %d", b, i, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			b := []byte("abcdefghijklmnopqrstuvwxyz")
			b[pos] = byte(c)
			for i := 0; i < 3; i++ {
				check(b, i)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZ09 \t\r\n\x00\x1f\x7f\x80\xff~!")
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for k := range b {
			if rng.IntN(8) == 0 {
				b[k] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[k] = byte('a' + rng.IntN(26))
			}
		}
		check(b, 0)
	}
}
