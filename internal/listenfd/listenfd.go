//go:build linux

// Package listenfd finds a listening TCP socket of this process by its
// port, for tests that act on a server's listener from outside it (gnet
// keeps its listener's descriptor in a plain field: reading it through
// gnet while its engine stops is a data race).
package listenfd

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Find returns the descriptor of this process's listening TCP socket on
// port (IPv4 or IPv6), read from /proc/self/fd. The descriptor stays the
// process's: do not close it.
func Find(port int) (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, err
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
			continue
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			continue
		}
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			if a.Port == port {
				return fd, nil
			}
		case *unix.SockaddrInet6:
			if a.Port == port {
				return fd, nil
			}
		}
	}
	return -1, fmt.Errorf("listenfd: no listening socket on port %d", port)
}
