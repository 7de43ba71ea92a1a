package main

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// defaultBatch is -batch's default: the most bytes of frames a burst
// gathers before it hands them to the workers, even while they are busy.
const defaultBatch = 64 << 10

// burstCheckEvery is the number of messages between two checks for
// shutdown.
const burstCheckEvery = 1024

// worker is one broadcast writer goroutine and its queue.
type worker struct {
	ch chan job
	// jobs counts the jobs handed to it and not finished yet: 0 when it
	// waits for work.
	jobs atomic.Int32
}

// job is one batch for one worker: write buf to each connection of to,
// then call done.Done. buf is shared by every worker and never changes.
type job struct {
	buf  []byte
	to   []*conn
	done *sync.WaitGroup
}

// work runs one broadcast worker until its channel closes.
func (s *server) work(w *worker) {
	defer s.workWG.Done()
	for j := range w.ch {
		for _, c := range j.to {
			c.send(j.buf)
		}
		w.jobs.Add(-1)
		j.done.Done()
	}
}

// startBurst runs bcast_burst b on its own goroutine (the reader goes on
// reading) and acknowledges {sent, us} to from when id >= 0.
func (s *server) startBurst(b burstArgs, from *conn, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return // closing
	}
	s.bursts.Add(1)
	go func() {
		defer s.bursts.Done()
		sent, d := s.burst(b)
		if id >= 0 {
			from.sendAck(id, fmt.Sprintf(`{"sent":%d,"us":%d}`, sent, d.Microseconds()))
		}
	}()
}

// members returns a snapshot of room's members.
func (s *server) members(room string) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.rooms[room]
	out := make([]*conn, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	return out
}

// share is one worker's part of a burst's receivers.
type share struct {
	w  *worker
	to []*conn
}

// burst sends b.count messages "msg" {seq, ts, data} to the members b.room
// has when it starts, and returns how many it sent and how long it took to
// hand them all to the sockets (written, or queued behind a full socket
// buffer). It stops early when the server closes.
func (s *server) burst(b burstArgs) (sent int, d time.Duration) {
	members := s.members(b.room)
	var shares []share
	for i, w := range s.workers {
		lo, hi := i*len(members)/len(s.workers), (i+1)*len(members)/len(s.workers)
		if hi > lo {
			shares = append(shares, share{w, members[lo:hi]})
		}
	}
	if len(shares) == 0 {
		return b.count, 0 // nobody to send to: nothing to encode
	}
	data := bytes.Repeat([]byte{'x'}, b.payloadSize)
	msgMax := len(msgFrameMax) + b.payloadSize
	var wg sync.WaitGroup
	// newBatch allocates the next batch: a batch is never reused, since a
	// slow connection may still hold it in its queue.
	newBatch := func(left int) []byte {
		return make([]byte, 0, min(s.batch, left*msgMax)+msgMax)
	}
	// idle: every worker of this burst waits for work. While one writes,
	// the messages gather in the next batch (what an event loop does: write
	// what accumulated during its last turn).
	idle := func() bool {
		for _, sh := range shares {
			if sh.w.jobs.Load() > 0 {
				return false
			}
		}
		return true
	}
	flush := func(batch []byte) {
		for _, sh := range shares {
			wg.Add(1)
			sh.w.jobs.Add(1)
			sh.w.ch <- job{batch, sh.to, &wg}
		}
	}
	start := time.Now()
	cur := newBatch(b.count)
	for seq := range b.count {
		if seq%burstCheckEvery == 0 && s.ctx.Err() != nil {
			break
		}
		cur = appendMsg(cur, int64(seq), time.Now().UnixMicro(), data)
		sent++
		if len(cur) >= s.batch || (!s.fill && idle()) {
			flush(cur)
			cur = newBatch(b.count - seq - 1)
		}
	}
	if len(cur) > 0 {
		flush(cur)
	}
	wg.Wait()
	return sent, time.Since(start)
}

// The parts of a msg frame's payload around seq, ts and data.
const (
	msgHead = `42["msg",{"seq":`
	msgTS   = `,"ts":`
	msgData = `,"data":"`
	msgTail = `"}]`
)

// msgFrameMax is the longest frame of a msg without its data: a 10-byte
// header and two 20-digit numbers.
const msgFrameMax = "0123456789" + msgHead + "01234567890123456789" + msgTS + "01234567890123456789" + msgData + msgTail

// appendMsg appends one text frame holding the Socket.IO EVENT
// 42["msg",{"seq":seq,"ts":ts,"data":"<data>"}] to dst. data must need no
// JSON escaping.
func appendMsg(dst []byte, seq, ts int64, data []byte) []byte {
	var num [40]byte
	seqB := strconv.AppendInt(num[:0], seq, 10)
	tsB := strconv.AppendInt(num[len(seqB):len(seqB)], ts, 10)
	n := len(msgHead) + len(seqB) + len(msgTS) + len(tsB) + len(msgData) + len(data) + len(msgTail)
	dst = appendHeader(dst, 0x81, n)
	dst = append(dst, msgHead...)
	dst = append(dst, seqB...)
	dst = append(dst, msgTS...)
	dst = append(dst, tsB...)
	dst = append(dst, msgData...)
	dst = append(dst, data...)
	return append(dst, msgTail...)
}
