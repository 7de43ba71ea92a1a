package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// maxFuzzInput caps fuzz inputs: long enough for real heads, short enough to
// keep the prefix checks (quadratic) fast.
const maxFuzzInput = 4096

// checkErr fails unless err is nil, ErrNeedMore or one of our *Errors.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var he *Error
	if err != nil && err != ErrNeedMore && !errors.As(err, &he) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	if he != nil && he.Status != 400 && he.Status != 413 && he.Status != 431 && he.Status != 501 && he.Status != 505 {
		t.Fatalf("unexpected status %d", he.Status)
	}
}

// prefixes returns the cut points to re-check below n: all of them for
// short inputs, a spread of them otherwise.
func prefixes(n int) []int {
	if n <= 300 {
		ks := make([]int, n)
		for k := range ks {
			ks[k] = k
		}
		return ks
	}
	var ks []int
	for k := 0; k < n; k += n/97 + 1 {
		ks = append(ks, k)
	}
	return append(ks, n-1, n-2, n-3, n-4)
}

func headerTokens(vals []string, tok string) bool {
	for _, v := range vals {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(e, " \t"), tok) {
				return true
			}
		}
	}
	return false
}

// FuzzParse checks Parse against net/http.ReadRequest. Parse may refuse what
// ReadRequest accepts (the documented divergences, see Parse), but whatever
// Parse accepts ReadRequest must accept and read the same way, and where
// Parse needs more, ReadRequest must fail on the same bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{reqChromeUpgrade, reqNodeWSUpgrade, reqPollingGET, reqPollingPOSTHead + reqPollingPOSTBody, reqChunkedPOSTHead + reqChunkedPOSTBody} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		r := new(Request)
		err := Parse(data, r, 1<<20)
		checkErr(t, err)

		src := bytes.NewReader(data)
		br := bufio.NewReader(src)
		req, oerr := http.ReadRequest(br)

		if err == ErrNeedMore {
			if oerr == nil {
				t.Fatalf("Parse needs more, ReadRequest accepted %q", data)
			}
			return
		}
		if err != nil {
			if oerr == nil {
				checkDivergence(t, data, err, req)
			}
			return
		}
		if oerr != nil {
			t.Fatalf("Parse accepted, ReadRequest refused (%v):\n%q", oerr, data)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("input %q:\n"+format, append([]any{data}, args...)...)
		}

		// Request line.
		if string(r.Method) != req.Method || string(r.URI) != req.RequestURI {
			fail("method/URI %q %q vs %q %q", r.Method, r.URI, req.Method, req.RequestURI)
		}
		if req.ProtoMajor != 1 || r.ProtoMinor != req.ProtoMinor {
			fail("version 1.%d vs %d.%d", r.ProtoMinor, req.ProtoMajor, req.ProtoMinor)
		}
		if string(r.RawQuery) != req.URL.RawQuery {
			fail("RawQuery %q vs %q", r.RawQuery, req.URL.RawQuery)
		}
		if p, perr := url.PathUnescape(string(r.Path)); perr != nil || p != req.URL.Path {
			fail("Path %q (unescaped %q, %v) vs %q", r.Path, p, perr, req.URL.Path)
		}
		if string(r.Host) != req.Host {
			fail("Host %q vs %q", r.Host, req.Host)
		}

		// Framing.
		switch {
		case r.Chunked:
			if req.ContentLength != -1 || !slices.Equal(req.TransferEncoding, []string{"chunked"}) {
				fail("chunked vs CL %d TE %q", req.ContentLength, req.TransferEncoding)
			}
		case r.ContentLength == -1:
			if req.ContentLength != 0 || req.TransferEncoding != nil {
				fail("no body vs CL %d TE %q", req.ContentLength, req.TransferEncoding)
			}
		default:
			if req.ContentLength != r.ContentLength || req.TransferEncoding != nil {
				fail("CL %d vs CL %d TE %q", r.ContentLength, req.ContentLength, req.TransferEncoding)
			}
		}
		if r.KeepAlive == req.Close {
			fail("KeepAlive %v vs Close %v", r.KeepAlive, req.Close)
		}
		upg := headerTokens(req.Header["Connection"], "upgrade") && headerTokens(req.Header["Upgrade"], "websocket")
		if r.IsUpgrade != upg {
			fail("IsUpgrade %v vs %v", r.IsUpgrade, upg)
		}
		// Every header, as net/http groups them.
		ours := map[string][]string{}
		for _, h := range r.Headers {
			k := textproto.CanonicalMIMEHeaderKey(string(h.Name))
			ours[k] = append(ours[k], string(h.Value))
		}
		skip := map[string]bool{"Host": true, "Transfer-Encoding": true, "Content-Length": true}
		if r.Chunked {
			skip["Trailer"] = true
		}
		if _, ok := ours["Cache-Control"]; !ok {
			skip["Cache-Control"] = true // fixPragmaCacheControl may add it
		}
		for k, v := range req.Header {
			if !skip[k] && !slices.Equal(ours[k], v) {
				fail("header %s %q vs %q", k, ours[k], v)
			}
		}
		for k, v := range ours {
			if !skip[k] && !slices.Equal(req.Header[k], v) {
				fail("header %s %q vs %q", k, v, req.Header[k])
			}
		}
		if !r.Chunked && r.ContentLength >= 0 {
			if cl := req.Header["Content-Length"]; len(cl) != 1 || cl[0] != ours["Content-Length"][0] {
				fail("Content-Length header %q vs %q", ours["Content-Length"], cl)
			}
		}

		// The picked-out fields are the first value of their header.
		for fname, name := range map[string]string{
			"Origin": "Origin", "Upgrade": "Upgrade", "Connection": "Connection",
			"SecWebSocketKey": "Sec-Websocket-Key", "SecWebSocketVersion": "Sec-Websocket-Version",
			"SecWebSocketProtocol": "Sec-Websocket-Protocol", "SecWebSocketExtensions": "Sec-Websocket-Extensions",
			"ContentType": "Content-Type", "Cookie": "Cookie", "UserAgent": "User-Agent",
			"XForwardedFor": "X-Forwarded-For", "AcceptEncoding": "Accept-Encoding", "Expect": "Expect",
			"AccessControlRequestMethod":  "Access-Control-Request-Method",
			"AccessControlRequestHeaders": "Access-Control-Request-Headers",
		} {
			got, vals := field(r, fname), req.Header[name]
			if len(vals) == 0 && got != "<nil>" || len(vals) > 0 && got != vals[0] {
				fail("%s = %q, header %q", fname, got, vals)
			}
		}

		// HeadLen is what ReadRequest consumed.
		if consumed := len(data) - src.Len() - br.Buffered(); consumed != r.HeadLen {
			fail("HeadLen %d, ReadRequest consumed %d", r.HeadLen, consumed)
		}

		// The head alone parses the same; every prefix of it needs more.
		want := view(r)
		r2 := new(Request)
		if err := Parse(data[:r.HeadLen], r2, r.HeadLen); err != nil || view(r2) != want {
			fail("head alone: %v", err)
		}
		for _, k := range prefixes(r.HeadLen) {
			if err := Parse(data[:k], r2, r.HeadLen); err != ErrNeedMore {
				fail("prefix of %d bytes: %v", k, err)
			}
		}
	})
}

// checkDivergence fails unless Parse refused a head that ReadRequest accepts
// for one of the reasons documented on Parse.
func checkDivergence(t *testing.T, data []byte, err error, req *http.Request) {
	t.Helper()
	ok := false
	switch err {
	case errBareLF:
		for i, c := range data {
			if c == '\n' && (i == 0 || data[i-1] != '\r') {
				ok = true
				break
			}
		}
	case errObsFold:
		ok = bytes.Contains(data, []byte("\n ")) || bytes.Contains(data, []byte("\n\t"))
	case errSpaceBeforeColn:
		for k := range req.Header {
			ok = ok || strings.Contains(k, " ")
		}
	case errCLAndTE:
		ok = req.TransferEncoding != nil || req.ProtoMinor == 0
	case errTEOn10:
		ok = req.ProtoMinor == 0
	case errMissingHost, errHost, errTooManyFields:
		ok = true // net/http's Server checks these, ReadRequest does not
	case ErrVersion:
		ok = req.ProtoMajor != 1 || req.ProtoMinor > 1
	case errTarget:
		ok = req.RequestURI != "*" && !strings.HasPrefix(req.RequestURI, "/")
	}
	if !ok {
		t.Fatalf("Parse refused (%v) what ReadRequest accepts, for no documented reason:\n%q", err, data)
	}
}

// FuzzDecodeChunked checks DecodeChunked against net/http's chunked reader
// (httputil.NewChunkedReader, for the data) and against a chunked request
// read by http.ReadRequest (for trailers and the bytes consumed).
func FuzzDecodeChunked(f *testing.F) {
	f.Add([]byte(reqChunkedPOSTBody), -1)
	f.Add([]byte("5\r\nhello\r\n0\r\nX: y\r\n\r\n"), 5)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if len(data) > maxFuzzInput {
			return
		}
		if max < -1 {
			max = -1
		}
		body, n, err := DecodeChunked(data, nil, max)
		checkErr(t, err)
		if err != nil && (n != 0 || body != nil) {
			t.Fatalf("on error: %q, %d", body, n)
		}

		d1, e1 := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data)))

		const head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		src := bytes.NewReader(append([]byte(head), data...))
		br := bufio.NewReader(src)
		var d2 []byte
		var e2 error
		consumed2 := -1
		req, e2 := http.ReadRequest(br)
		if e2 != nil {
			t.Fatalf("oracle head refused: %v", e2)
		}
		d2, e2 = io.ReadAll(req.Body)
		if e2 == nil {
			consumed2 = len(data) - br.Buffered() - src.Len()
		}

		switch {
		case err == nil:
			if e1 != nil || !bytes.Equal(d1, body) {
				t.Fatalf("input %q: DecodeChunked %q, NewChunkedReader %q, %v", data, body, d1, e1)
			}
			if e2 != nil || !bytes.Equal(d2, body) || consumed2 != n {
				t.Fatalf("input %q: DecodeChunked %q (%d bytes), ReadRequest %q (%d bytes), %v", data, body, n, d2, consumed2, e2)
			}
			if max >= 0 && len(body) > max {
				t.Fatalf("body of %d bytes over max %d", len(body), max)
			}
			// In place, on the body alone, and every prefix needs more.
			b := bytes.Clone(data[:n])
			if got, m, err := DecodeChunked(b, b[:0], max); err != nil || m != n || !bytes.Equal(got, body) {
				t.Fatalf("in place: %q, %d, %v", got, m, err)
			}
			for _, k := range prefixes(n) {
				if _, _, err := DecodeChunked(data[:k], nil, max); err != ErrNeedMore {
					t.Fatalf("input %q: prefix of %d bytes: %v", data, k, err)
				}
			}
		case err == ErrNeedMore:
			if e2 == nil {
				t.Fatalf("input %q: DecodeChunked needs more, ReadRequest read %q", data, d2)
			}
		case err != ErrBodyTooLarge:
			if e2 != nil {
				break // both refuse
			}
			// Documented divergences only: long or CTL-bearing size lines,
			// lenient trailer syntax.
			ok := false
			switch err {
			case errChunkLine:
				ok = bytes.IndexByte(data[:consumed2], ';') >= 0 || longLine(data[:consumed2], maxChunkLine-2)
			case errBareLF, errObsFold, errSpaceBeforeColn:
				ok = true
			}
			if !ok {
				t.Fatalf("input %q: DecodeChunked refused (%v), ReadRequest read %q", data, err, d2)
			}
		default:
			if max < 0 {
				if e1 == nil {
					t.Fatalf("input %q: too large without a limit, net/http read %d bytes", data, len(d1))
				}
			} else if e1 == nil && len(d1) <= max {
				t.Fatalf("input %q: too large for %d, net/http read %d bytes", data, max, len(d1))
			}
		}
	})
}

func longLine(b []byte, n int) bool {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) > n {
			return true
		}
	}
	return false
}

// FuzzQueryValue checks QueryValue and Unescape against net/url.
func FuzzQueryValue(f *testing.F) {
	f.Add("EIO=4&transport=polling&t=P1a2b3c&sid=abc", "sid")
	f.Add("a=1&a=2&%61=3", "a")
	f.Add("a+b=%20c", "a b")
	f.Fuzz(func(t *testing.T, q, key string) {
		if len(q) > maxFuzzInput || len(key) > maxFuzzInput {
			return
		}
		val, ok := QueryValue([]byte(q), key)
		if ok && !strings.Contains(q, string(val)) {
			t.Fatalf("value %q not from the query", val)
		}

		// Unescape agrees with url.QueryUnescape on any string.
		for _, s := range []string{q, key} {
			got, err := Unescape(nil, []byte(s))
			want, werr := url.QueryUnescape(s)
			if (err == nil) != (werr == nil) || err == nil && string(got) != want {
				t.Fatalf("Unescape(%q) = %q, %v; QueryUnescape %q, %v", s, got, err, want, werr)
			}
		}

		vals, err := url.ParseQuery(q)
		if err != nil {
			return // url skipped some pairs; QueryValue still returns the raw first match
		}
		want, found := vals[key]
		if ok != found {
			t.Fatalf("QueryValue(%q, %q) ok = %v, ParseQuery %q", q, key, ok, vals)
		}
		if !ok {
			return
		}
		got, uerr := Unescape(nil, val)
		if uerr != nil || string(got) != want[0] {
			t.Fatalf("QueryValue(%q, %q) = %q (%q, %v), ParseQuery %q", q, key, val, got, uerr, want)
		}
	})
}
