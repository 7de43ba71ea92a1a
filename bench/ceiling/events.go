package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
)

// Limits of bcast_burst's arguments (those of bench/server and the Node
// twin).
const (
	maxBurstCount  = 10_000_000
	maxPayloadSize = 1_000_000
)

// Error messages acknowledged for bad arguments, word for word the
// contract's (bench/README.md).
var (
	errBurstArg   = errors.New("argument must be an object {room, count, payload_size}")
	errRoom       = errors.New("room must be a string")
	errBurstCount = fmt.Errorf("count must be an integer in [0, %d]", maxBurstCount)
	errBurstSize  = fmt.Errorf("payload_size must be an integer in [0, %d]", maxPayloadSize)
)

// onEvent handles the body of an EVENT packet, `[id]["name",args...]`.
// Events are setup traffic here (join, stats) or one packet per burst:
// encoding/json is fast enough.
func (c *conn) onEvent(p []byte) error {
	id := int64(-1)
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i > 0 {
		v, err := strconv.ParseInt(string(p[:i]), 10, 64)
		if err != nil {
			return errClose
		}
		id = v
	}
	if i < len(p) && p[i] == '/' {
		return nil // another namespace: never connected here
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(p[i:], &arr); err != nil || len(arr) == 0 {
		return errClose
	}
	var name string
	if err := json.Unmarshal(arr[0], &name); err != nil {
		return errClose
	}
	args := arr[1:]
	switch name {
	case "join":
		room, err := roomArg(args)
		if err != nil {
			c.ackError(id, err)
			return nil
		}
		c.join(room)
		if id >= 0 {
			c.sendAck(id, "")
		}
	case "bcast_burst":
		var raw []byte
		if len(args) > 0 {
			raw = args[0]
		}
		b, err := parseBurst(raw)
		if err != nil {
			c.ackError(id, err)
			return nil
		}
		c.srv.startBurst(b, c, id)
	case "stats":
		if id >= 0 {
			c.sendAck(id, c.srv.stats())
		}
	case "echo":
		joined := string(bytes.Join(rawBytes(args), []byte(",")))
		if id >= 0 {
			c.sendAck(id, joined)
		} else if len(args) > 0 {
			c.sendText([]byte(`42["echo",` + joined + `]`))
		} else {
			c.sendText([]byte(`42["echo"]`))
		}
	default:
		c.ackError(id, errors.New("unsupported event"))
	}
	return nil
}

// rawBytes converts raw messages to byte slices.
func rawBytes(args []json.RawMessage) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// ackError answers {error} when the client asked for an ack.
func (c *conn) ackError(id int64, err error) {
	if id < 0 {
		return
	}
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	c.sendAck(id, string(b))
}

// stats is the stats reply: {rss, heapUsed, connections}.
func (s *server) stats() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mu.Lock()
	n := s.connected
	s.mu.Unlock()
	return fmt.Sprintf(`{"rss":%d,"heapUsed":%d,"connections":%d}`, rss(), ms.HeapInuse, n)
}

// roomArg decodes the first argument, a room name: it must be a JSON
// string.
func roomArg(args []json.RawMessage) (string, error) {
	var room string
	if len(args) == 0 {
		return "", errRoom
	}
	raw := bytes.TrimSpace(args[0])
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &room) != nil {
		return "", errRoom
	}
	return room, nil
}

// burstArgs is bcast_burst's validated argument.
type burstArgs struct {
	room        string
	count       int
	payloadSize int
}

// parseBurst validates bcast_burst's argument {room, count, payload_size}
// (raw JSON, nil when missing), in the contract's order and with its
// messages; count and payload_size are integers as JavaScript sees them
// (1e3 and 1000.0 are).
func parseBurst(raw []byte) (burstArgs, error) {
	raw = bytes.TrimSpace(raw)
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return burstArgs{}, errBurstArg
	}
	var b burstArgs
	if r := obj["room"]; len(r) == 0 || r[0] != '"' || json.Unmarshal(r, &b.room) != nil {
		return burstArgs{}, errRoom
	}
	var ok bool
	if b.count, ok = jsonInt(obj["count"], maxBurstCount); !ok {
		return burstArgs{}, errBurstCount
	}
	if b.payloadSize, ok = jsonInt(obj["payload_size"], maxPayloadSize); !ok {
		return burstArgs{}, errBurstSize
	}
	return b, nil
}

// jsonInt decodes a JSON number that holds an integer in [0, max].
func jsonInt(raw json.RawMessage, max int) (int, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > float64(max) {
		return 0, false
	}
	return int(f), true
}

// rss is the process's resident set size in bytes, from /proc/self/statm
// (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
