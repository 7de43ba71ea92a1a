package engine

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// ServeHTTP lets a net/http server (or gin, chi, echo through their
// adapters) carry Riptide: mount the Server at an endpoint's path in an
// existing mux and it serves Engine.IO there on the mux's own port.
//
//	mux.Handle("/socket.io/", srv) // srv is the engine Server, or riptide.Server
//
// Each request is hijacked from net/http and handed, with what was already
// read of it, to one of Riptide's event loops (gnet's Enroll), which
// answers it: a WebSocket upgrade then lives on the loop for good; a
// polling request is answered with "Connection: close" so that the
// browser's next, unrelated request on that connection goes back to
// net/http. Requires HTTP/1.1 over plain TCP (TLS terminated in front, or
// use Listen). If the server was not started, ServeHTTP starts its loops
// on an unused loopback port.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 {
		http.Error(w, "Riptide needs HTTP/1.1 (WebSocket and long-polling)", http.StatusHTTPVersionNotSupported)
		return
	}
	if err := srv.ensureStarted(); err != nil {
		http.Error(w, "riptide: "+err.Error(), http.StatusInternalServerError)
		return
	}
	max := int64(1 << 20)
	if ep := srv.route([]byte(r.URL.Path)); ep != nil {
		max = ep.cfg.MaxHTTPBufferSize
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if int64(len(body)) > max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "riptide: the connection cannot be hijacked", http.StatusInternalServerError)
		return
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	replay := replayRequest(r, body)
	if n := brw.Reader.Buffered(); n > 0 {
		extra, _ := brw.Reader.Peek(n)
		replay = append(replay, extra...)
	}
	if _, isTCP := nc.(*net.TCPConn); !isTCP {
		_, _ = io.WriteString(nc, "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		_ = nc.Close()
		return
	}
	loops := srv.Loops()
	if len(loops) == 0 {
		_ = nc.Close()
		return
	}
	l := loops[srv.nextLoop.Add(1)%uint64(len(loops))]
	ch, err := l.el.Enroll(gnet.NewContext(context.Background(), &enrollment{replay: replay}), nc)
	if err != nil {
		_ = nc.Close()
		return
	}
	<-ch // gnet duplicated the descriptor and closed nc
}

// enrollment is what a hijacked request brings to its loop: the request's
// bytes, to be served as if they had just been read.
type enrollment struct{ replay []byte }

// replayRequest rebuilds the raw HTTP/1.1 request net/http already parsed.
func replayRequest(r *http.Request, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(r.RequestURI)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(r.Host)
	b.WriteString("\r\n")
	for k, vs := range r.Header {
		if k == "Content-Length" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	if len(body) > 0 || r.Method == "POST" {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(body)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// serveReplay serves the bytes of a hijacked request on its new loop.
func (cn *conn) serveReplay(buf []byte) gnet.Action {
	for len(buf) > 0 && !cn.ws && !cn.aux.parked && !cn.aux.fallback {
		n, a := cn.serveHTTP(buf)
		if a != gnet.None {
			return a
		}
		if n == 0 {
			return gnet.Close // a partial request cannot complete: net/http had it all
		}
		buf = buf[n:]
	}
	if cn.ws {
		cn.toFrameMode()
		if len(buf) > 0 {
			// Frames sent before the 101 arrived: rare; not supported.
			return gnet.Close
		}
		return gnet.None
	}
	if !cn.aux.parked && !cn.aux.fallback {
		cn.armIdle()
	}
	return gnet.None
}

var startOnce sync.Mutex

// ensureStarted starts the loops on an unused loopback port when ServeHTTP
// is the only way in.
func (srv *Server) ensureStarted() error {
	startOnce.Lock()
	defer startOnce.Unlock()
	if srv.addr != nil {
		return nil
	}
	return srv.Start("127.0.0.1:0")
}
