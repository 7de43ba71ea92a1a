package slots

import "testing"

// TestIDPlace: an id is IDLen characters and names back its loop and
// slot; other lengths and bad base64 name nothing; reading a place
// allocates nothing.
func TestIDPlace(t *testing.T) {
	for _, c := range []struct {
		loop int
		slot uint32
	}{{0, 0}, {1, 255}, {255, 1<<24 - 1}, {7, 70000}} {
		var raw [IDRawLen]byte
		for i := range IDRandomLen {
			raw[i] = byte(i * 37)
		}
		id := AppendID(nil, &raw, c.loop, c.slot)
		if len(id) != IDLen {
			t.Fatalf("id %q is %d characters, want %d", id, len(id), IDLen)
		}
		for _, got := range [][3]any{placeOf(id), placeOf(string(id))} {
			if got != [3]any{c.loop, c.slot, true} {
				t.Fatalf("id %q for %d/%d reads back as %v", id, c.loop, c.slot, got)
			}
		}
	}
	for _, bad := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAA*"} {
		if _, _, ok := Place(bad); ok {
			t.Errorf("%q reads as an id", bad)
		}
	}
	id := string(AppendID(nil, &[IDRawLen]byte{}, 3, 9))
	if a := testing.AllocsPerRun(100, func() { _, _, _ = Place(id) }); a != 0 {
		t.Errorf("Place: %.1f allocations, want 0", a)
	}
}

func placeOf[S string | []byte](id S) [3]any {
	l, s, ok := Place(id)
	return [3]any{l, s, ok}
}
