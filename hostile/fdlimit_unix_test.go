//go:build unix

package hostile

import "syscall"

// fdLimit is the process's soft limit on open descriptors (Go raises it
// to the hard limit at startup), or -1 when unknown.
func fdLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return -1
	}
	return int(min(rl.Cur, 1<<30))
}
