package engine

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/panjf2000/gnet/v2"

	"github.com/riptide-io/riptide/internal/http1"
)

// serveFallback hands a request no endpoint claims to Server.Fallback, on
// its own goroutine, and parks the connection until the answer is written.
func (cn *conn) serveFallback(buf []byte, req *http1.Request) (int, gnet.Action) {
	srv := cn.loop.srv
	a := cn.aux
	if srv.Fallback == nil || req.IsUpgrade {
		b := appendResponse(cn.loop.scratch[:0], 404, "text/plain; charset=utf-8", nil, notFound, a.keepAlive && !req.IsUpgrade)
		cn.loop.scratch = b[:0]
		cn.writeOwn(b)
		if req.IsUpgrade || !a.keepAlive {
			return len(buf), gnet.Close
		}
		return req.HeadLen + bodyLen(req), gnet.None
	}
	max := srv.FallbackMaxBody
	if max <= 0 {
		max = 1 << 20
	}
	var body []byte
	consumed := req.HeadLen
	if req.Chunked {
		b, n, err := http1.DecodeChunked(buf[req.HeadLen:], nil, int(max))
		if err == http1.ErrNeedMore {
			return 0, gnet.None
		}
		if err != nil {
			cn.writeSimple(413, false)
			return len(buf), gnet.Close
		}
		body, consumed = b, consumed+n
	} else if req.ContentLength > 0 {
		if req.ContentLength > max {
			cn.writeSimple(413, false)
			return len(buf), gnet.Close
		}
		if len(buf) < req.HeadLen+int(req.ContentLength) {
			return 0, gnet.None
		}
		body = append([]byte(nil), buf[req.HeadLen:req.HeadLen+int(req.ContentLength)]...)
		consumed += int(req.ContentLength)
	}
	hr := &http.Request{
		Method:     string(req.Method),
		RequestURI: string(req.URI),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(req.Headers)),
		Host:       string(req.Host),
		RemoteAddr: cn.gc.RemoteAddr().String(),
		Body:       io.NopCloser(bytes.NewReader(body)),
	}
	hr.ContentLength = int64(len(body))
	for _, kv := range req.Headers {
		k := http.CanonicalHeaderKey(string(kv.Name))
		hr.Header[k] = append(hr.Header[k], string(kv.Value))
	}
	u, err := url.ParseRequestURI(hr.RequestURI)
	if err != nil {
		cn.writeSimple(400, false)
		return len(buf), gnet.Close
	}
	hr.URL = u
	keep := a.keepAlive
	a.fallback = true
	go func() {
		w := &bufferedWriter{h: http.Header{}}
		func() {
			defer func() {
				if r := recover(); r != nil && w.status == 0 {
					w.status = 500
				}
			}()
			srv.Fallback.ServeHTTP(w, hr)
		}()
		out := w.bytes(keep, hr.Method == "HEAD")
		_ = cn.gc.AsyncWrite(out, func(gnet.Conn, error) error {
			a.fallback = false
			if !keep {
				cn.close(cn.loop)
			} else if !cn.closed {
				cn.armIdle()
				if cn.gc.InboundBuffered() > 0 {
					_ = cn.gc.Wake(nil)
				}
			}
			return nil
		})
	}()
	return consumed, gnet.None
}

var notFound = []byte("404 page not found\n")

// bufferedWriter is the http.ResponseWriter of a Fallback request: the
// whole answer is built in memory, then written by the loop.
type bufferedWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.h }
func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.buf.Write(b)
}

func (w *bufferedWriter) bytes(keep, head bool) []byte {
	if w.status == 0 {
		w.status = 200
	}
	if w.h.Get("Content-Type") == "" && w.buf.Len() > 0 {
		w.h.Set("Content-Type", http.DetectContentType(w.buf.Bytes()))
	}
	var out bytes.Buffer
	out.WriteString("HTTP/1.1 " + strconv.Itoa(w.status) + " " + http.StatusText(w.status) + "\r\n")
	// The length is what the handler wrote, except that a HEAD or 304
	// answer keeps the length the handler declared (RFC 9110 §8.6) and a
	// 204 has none.
	switch {
	case w.status == http.StatusNoContent:
		w.h.Del("Content-Length")
	case w.status == http.StatusNotModified:
	case head && w.h.Get("Content-Length") != "":
	default:
		w.h.Set("Content-Length", strconv.Itoa(w.buf.Len()))
	}
	if !keep {
		w.h.Set("Connection", "close")
	}
	_ = w.h.Write(&out)
	out.WriteString("\r\n")
	if !head {
		out.Write(w.buf.Bytes())
	}
	return out.Bytes()
}
