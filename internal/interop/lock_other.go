//go:build !unix

package interop

import (
	"os"
	"time"
)

// lockFile takes an exclusive lock by creating path exclusively (polling until
// it can), so that concurrent test binaries do not run `npm ci` at once. A lock
// file older than 10 minutes is considered stale.
func lockFile(path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !os.IsExist(err) {
			return nil, err
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > 10*time.Minute {
			_ = os.Remove(path)
			continue
		}
		time.Sleep(200 * time.Millisecond)
	}
}
