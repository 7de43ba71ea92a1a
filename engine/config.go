package engine

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Config configures one Engine.IO endpoint. The zero value is valid: every
// field documents its default, which is the Node reference server's
// (engine.io 6.6, packages/engine.io/lib/server.ts).
type Config struct {
	// Path is the URL prefix the endpoint serves, with its trailing slash
	// (PROTOCOL.md §1: "/socket.io" without the slash is not routed).
	// Default "/engine.io/".
	Path string

	// PingInterval is how often the server pings each session. Default 25s;
	// at most 10 days (a longer one is cut to that).
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the session is closed
	// with reason "ping timeout". Default 20s; at most 10 days.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling→WebSocket upgrade: a probing WebSocket
	// that has not sent "5" by then is closed and polling carries on.
	// Default 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message or polling POST body, in
	// bytes; it is also the maxPayload of the handshake. A larger POST gets
	// 413, a larger WebSocket message close code 1009. Default 1e6.
	MaxHTTPBufferSize int64

	// Transports lists the enabled transports, "polling" and/or "websocket".
	// Default both.
	Transports []string
	// DisableUpgrades turns off polling→WebSocket upgrades (Node's
	// allowUpgrades: false). Default: upgrades allowed.
	DisableUpgrades bool

	// CORS, when set, adds Access-Control-* headers and answers preflight
	// OPTIONS requests. Default: no CORS headers (Node's default).
	CORS *CORS
	// AllowRequest, when set, decides on every handshake. A non-nil error
	// refuses it with HTTP 403 and {"code":4,"message":<err text>}. It runs
	// on an event loop: it must not block.
	AllowRequest func(r *Request) error
	// Cookie, when set, sends the session id in a cookie on the handshake
	// (Node's `cookie` option). Default: no cookie.
	Cookie *Cookie
	// MaxHeaderBytes bounds an HTTP request head; a larger one gets 431.
	// Default 16 KiB.
	MaxHeaderBytes int

	// AllowedOrigins, when set, refuses requests whose Origin header is not
	// listed ("https://app.example"), with 403 {"code":4}: the handshake and
	// every later request of a session (polling GET/POST, the upgrade).
	// Requests without an Origin (non-browser clients) are allowed.
	AllowedOrigins []string
	// AllowedOriginFunc decides instead of AllowedOrigins when set.
	AllowedOriginFunc func(origin string) bool

	// MaxSessions caps the open sessions of the endpoint; a handshake past
	// it gets 503 {"code":4,"message":"Too many sessions"}. Default 0: no cap
	// (the process's file limit is the cap).
	MaxSessions int
	// MaxBufferedBytes caps what may wait for one slow client: queued
	// messages plus bytes the kernel has not taken. Past it volatile
	// packets are dropped (Session.Buffered tells the layer above); a
	// session still over it SlowConsumerGrace later, or ever over four
	// times it, is closed with reason "slow consumer" (WebSocket close code
	// 1008). Default 1 MiB.
	MaxBufferedBytes int
	// SlowConsumerGrace is how long a session may stay over
	// MaxBufferedBytes. Default 5s.
	SlowConsumerGrace time.Duration
	// HeadTimeout bounds the time from a connection's first byte (or the
	// end of its previous request) to the end of a request head: slow or
	// silent clients are closed (slowloris). Default 10s.
	HeadTimeout time.Duration
	// IdleTimeout closes a keep-alive HTTP connection with no request in
	// flight after this long. Default 60s.
	IdleTimeout time.Duration

	// Logger receives the endpoint's diagnostics. Default: discard.
	Logger *slog.Logger
}

// CORS configures cross-origin headers (Node's `cors` option).
type CORS struct {
	// Origins lists the allowed origins exactly ("https://a.example").
	// "*" allows any. Ignored when OriginFunc is set.
	Origins []string
	// OriginFunc decides per request origin.
	OriginFunc func(origin string) bool
	// Credentials sets Access-Control-Allow-Credentials: true.
	Credentials bool
	// Methods answered on preflight. Default "GET,HEAD,PUT,PATCH,POST,DELETE".
	Methods []string
	// Headers allowed on preflight. Default: echo Access-Control-Request-Headers.
	Headers []string
	// MaxAge of a preflight answer, in seconds; 0 omits the header.
	MaxAge int
}

// Cookie configures the session cookie (Node's `cookie` option).
type Cookie struct {
	// Name of the cookie. Default "io".
	Name string
	// Path of the cookie. Default "/".
	Path string
	// HTTPOnly marks the cookie HttpOnly. Default true in Node; set it.
	HTTPOnly bool
	// SameSite attribute, e.g. "Lax". Default "Lax".
	SameSite string
}

// Request is what an AllowRequest hook and the layer above see of a
// handshake request. It is built once per handshake (not on the hot path).
type Request struct {
	Method     string
	URL        *url.URL
	Header     http.Header
	RemoteAddr string
	// Secure reports whether the connection was TLS (always false: Riptide
	// serves plain HTTP; put TLS in front).
	Secure bool
	// Transport is the transport of the handshake request.
	Transport string
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Path == "" {
		d.Path = "/engine.io/"
	}
	if d.Path[len(d.Path)-1] != '/' {
		d.Path += "/"
	}
	if d.PingInterval <= 0 {
		d.PingInterval = 25 * time.Second
	}
	if d.PingTimeout <= 0 {
		d.PingTimeout = 20 * time.Second
	}
	// A session keeps its heartbeat deadline in 32 bits (Session.pingDue).
	d.PingInterval = min(d.PingInterval, maxHeartbeat)
	d.PingTimeout = min(d.PingTimeout, maxHeartbeat)
	if d.UpgradeTimeout <= 0 {
		d.UpgradeTimeout = 10 * time.Second
	}
	if d.MaxHTTPBufferSize <= 0 {
		d.MaxHTTPBufferSize = 1e6
	}
	if len(d.Transports) == 0 {
		d.Transports = []string{"polling", "websocket"}
	}
	if d.MaxHeaderBytes <= 0 {
		d.MaxHeaderBytes = 16 << 10
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBufferedBytes <= 0 {
		d.MaxBufferedBytes = 1 << 20
	}
	if d.SlowConsumerGrace <= 0 {
		d.SlowConsumerGrace = 5 * time.Second
	}
	if d.HeadTimeout <= 0 {
		d.HeadTimeout = 10 * time.Second
	}
	if d.IdleTimeout <= 0 {
		d.IdleTimeout = 60 * time.Second
	}
	if d.Cookie != nil {
		ck := *d.Cookie
		if ck.Name == "" {
			ck.Name = "io"
		}
		if ck.Path == "" {
			ck.Path = "/"
		}
		if ck.SameSite == "" {
			ck.SameSite = "Lax"
		}
		d.Cookie = &ck
	}
	return d
}
