package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// redisConn is the few Redis commands the cluster scenario needs (PUBSUB,
// INFO), in RESP2 over one connection: a client library would be the only
// thing it brought to the generator.
type redisConn struct {
	c  net.Conn
	br *bufio.Reader
	// replyBytes is the size on the wire of the last reply read.
	replyBytes int
}

// redisTimeout bounds one command's round trip.
const redisTimeout = 5 * time.Second

// dialRedis connects to the redis-server at addr (host:port).
func dialRedis(addr string) (*redisConn, error) {
	c, err := net.DialTimeout("tcp", addr, redisTimeout)
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	return &redisConn{c: c, br: bufio.NewReader(c)}, nil
}

// Close closes the connection.
func (r *redisConn) Close() error { return r.c.Close() }

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

// do sends one command and reads its reply: a string (simple or bulk; ""
// for a null), an int64, or a []any; a Redis error is returned as an error.
func (r *redisConn) do(args ...string) (any, error) {
	_ = r.c.SetDeadline(time.Now().Add(redisTimeout))
	if _, err := r.c.Write(appendCommand(nil, args...)); err != nil {
		return nil, err
	}
	r.replyBytes = 0
	return r.read()
}

// read reads one RESP2 value.
func (r *redisConn) read() (any, error) {
	line, err := r.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	r.replyBytes += len(line)
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("redis: bad reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return nil, errors.New("redis: " + body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return "", err // -1: null bulk string
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r.br, buf); err != nil {
			return nil, err
		}
		r.replyBytes += len(buf)
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return []any(nil), err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unknown reply type %q", kind)
}

// subscribers returns the number of subscribers of channel: PUBSUB NUMSUB,
// or SHARDNUMSUB when sharded (Redis 7).
func (r *redisConn) subscribers(channel string, sharded bool) (int64, error) {
	sub := "NUMSUB"
	if sharded {
		sub = "SHARDNUMSUB"
	}
	v, err := r.do("PUBSUB", sub, channel)
	if err != nil {
		return 0, err
	}
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		return 0, fmt.Errorf("redis: PUBSUB %s: reply %v", sub, v)
	}
	n, ok := a[1].(int64)
	if !ok {
		return 0, fmt.Errorf("redis: PUBSUB %s: reply %v", sub, v)
	}
	return n, nil
}

// redisInfo is the part of INFO the cluster scenario reads.
type redisInfo struct {
	Commands  int64 // total_commands_processed
	NetInput  int64 // total_net_input_bytes
	NetOutput int64 // total_net_output_bytes
	// Publishes are the calls of PUBLISH plus SPUBLISH, PublishUsec the
	// time Redis spent executing them (commandstats: matching the channel
	// and queueing the message for each subscriber; the writes to the
	// subscribers' sockets come after).
	Publishes   int64
	PublishUsec int64
	// CPUUsec is used_cpu_sys + used_cpu_user (INFO cpu), in µs: all of
	// redis-server's CPU, its periodic housekeeping too.
	CPUUsec int64
	// cost is what this INFO call itself adds to the counters, as the next
	// INFO sees them: one command, its request's and its reply's bytes.
	costIn, costOut int64
}

// info reads INFO stats, cpu and commandstats (several sections in one
// INFO: Redis 7).
func (r *redisConn) info() (redisInfo, error) {
	req := []string{"INFO", "stats", "cpu", "commandstats"}
	v, err := r.do(req...)
	if err != nil {
		return redisInfo{}, err
	}
	text, ok := v.(string)
	if !ok {
		return redisInfo{}, fmt.Errorf("redis: INFO reply %T", v)
	}
	inf := parseInfo(text)
	inf.costIn, inf.costOut = int64(len(appendCommand(nil, req...))), int64(r.replyBytes)
	return inf, nil
}

// parseInfo reads INFO's "key:value" lines.
func parseInfo(text string) redisInfo {
	var inf redisInfo
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		switch k {
		case "total_commands_processed":
			inf.Commands, _ = strconv.ParseInt(v, 10, 64)
		case "total_net_input_bytes":
			inf.NetInput, _ = strconv.ParseInt(v, 10, 64)
		case "total_net_output_bytes":
			inf.NetOutput, _ = strconv.ParseInt(v, 10, 64)
		case "used_cpu_sys", "used_cpu_user":
			f, _ := strconv.ParseFloat(v, 64)
			inf.CPUUsec += int64(f * 1e6)
		case "cmdstat_publish", "cmdstat_spublish":
			// calls=12,usec=34,usec_per_call=2.83,...
			for _, f := range strings.Split(v, ",") {
				if n, ok := strings.CutPrefix(f, "calls="); ok {
					c, _ := strconv.ParseInt(n, 10, 64)
					inf.Publishes += c
				} else if n, ok := strings.CutPrefix(f, "usec="); ok {
					c, _ := strconv.ParseInt(n, 10, 64)
					inf.PublishUsec += c
				}
			}
		}
	}
	return inf
}

// since returns the counters' growth from an earlier snapshot o to i, less
// the INFO calls' own traffic: o's command and reply, and i's request (an
// INFO's figures include its own request, not its command or reply).
func (i redisInfo) since(o redisInfo) redisInfo {
	return redisInfo{
		Commands:    i.Commands - o.Commands - 1,
		NetInput:    i.NetInput - o.NetInput - o.costIn,
		NetOutput:   i.NetOutput - o.NetOutput - o.costOut,
		Publishes:   i.Publishes - o.Publishes,
		PublishUsec: i.PublishUsec - o.PublishUsec,
		CPUUsec:     i.CPUUsec - o.CPUUsec,
	}
}
