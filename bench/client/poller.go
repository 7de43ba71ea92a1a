package client

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// poller is an epoll set with an eventfd in it, through which another
// goroutine wakes the thread waiting on the set: what Loop and
// HandshakeLoop run on. The eventfd's events carry Fd -1.
type poller struct {
	epfd   int
	wakeFD int
}

// newPoller makes the epoll set and its eventfd.
func newPoller() (poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return poller{-1, -1}, fmt.Errorf("client: epoll_create1: %w", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_ = unix.Close(epfd)
		return poller{-1, -1}, fmt.Errorf("client: eventfd: %w", err)
	}
	p := poller{epfd, wfd}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		p.closePoller()
		return poller{-1, -1}, fmt.Errorf("client: epoll_ctl: %w", err)
	}
	return p, nil
}

// wake makes the waiting epoll_wait return. Any goroutine.
func (p *poller) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(p.wakeFD, one[:])
}

// drain consumes a wake-up (an event with Fd -1).
func (p *poller) drain() {
	var b [8]byte
	_, _ = unix.Read(p.wakeFD, b[:])
}

// closePoller closes the eventfd and the epoll set.
func (p *poller) closePoller() {
	_ = unix.Close(p.wakeFD)
	_ = unix.Close(p.epfd)
}
