package riptide

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
)

// Server is a Socket.IO server: the Node server's `io`. Create it with New,
// declare namespaces and handlers, then Listen.
//
// Its methods are goroutine-safe. Handlers run on the event loop of their
// connection and must not block (see the package doc, # Concurrency).
type Server struct {
	cfg Config
	eng *engine.Server
	ep  *engine.Endpoint

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	closed  bool

	root  *Namespace
	stats serverStats
	// decodeOpts are the packet limits every client decodes with (one copy
	// here, not one per connection).
	decodeOpts codec.DecodeOptions
}

// New returns a server with the default namespace "/" declared.
func New(cfg Config) *Server {
	srv := &Server{cfg: cfg.withDefaults(), nsps: map[string]*Namespace{}}
	srv.decodeOpts.MaxAttachments = srv.cfg.MaxAttachments
	srv.eng = engine.NewServer()
	srv.ep = srv.eng.Handle(srv.cfg.engineConfig(), (*engineHandler)(srv))
	srv.root = srv.Of("/")
	return srv
}

// Engine is the underlying engine server: mount more Engine.IO endpoints
// on the same port, set a Fallback http.Handler for pages, choose NumLoops
// or ReusePort. Configure it before Listen.
func (srv *Server) Engine() *engine.Server { return srv.eng }

// Listen starts serving on addr ("127.0.0.1:3000"; port 0 picks a free
// one) and returns once the event loops run. Should the server ever stop
// without Close (gnet stops on some accept(2) failures),
// Config.Logger gets an error saying why, as does Engine().Err.
func (srv *Server) Listen(addr string) error {
	if err := srv.eng.Start(addr); err != nil {
		return err
	}
	go srv.watchEngine()
	return nil
}

// watchEngine logs, through Config.Logger, a stop that Close did not ask
// for (engine.Server.Err): a server Listen started has no caller waiting
// to hear it.
func (srv *Server) watchEngine() {
	<-srv.eng.Stopped()
	if err := srv.eng.Err(); err != nil {
		srv.cfg.Logger.Error("riptide: the server stopped serving", "err", err)
	}
}

// Serve is Listen, then blocks until the server stops.
func (srv *Server) Serve(addr string) error { return srv.eng.Serve(addr) }

// Addr is the address Listen bound.
func (srv *Server) Addr() net.Addr { return srv.eng.Addr() }

// Close disconnects every client (reason "server shutting down"), then
// stops the server. It returns when done or after 10 seconds.
func (srv *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// Shutdown disconnects every client with reason "server shutting down",
// lets the loops flush, then stops them. It returns when done or when ctx
// expires.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return nil
	}
	srv.closed = true
	srv.mu.Unlock()
	srv.eng.OnEveryLoop(ctx, func(l *engine.Loop) {
		l.ForEachSession(func(s *engine.Session) {
			clientOf(s).close(ReasonServerShuttingDown)
		})
	})
	srv.closeAdapters()
	return srv.eng.Shutdown(ctx)
}

// Of returns the namespace name, creating it on first use ("/chat").
func (srv *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if n := srv.nsps[name]; n != nil {
		return n
	}
	n := newNamespace(srv, name, nil)
	srv.nsps[name] = n
	return n
}

// OfRegexp declares dynamic namespaces: a client connecting to a name the
// regexp matches gets a child namespace of the returned parent, created on
// first use (Node's io.of(/regex/)).
func (srv *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return srv.OfFunc(func(name string, _ Args) bool { return re.MatchString(name) })
}

// OfFunc declares dynamic namespaces decided by fn, which receives the
// namespace name and the CONNECT auth payload (Node's io.of(fn)). fn runs
// on an event loop: it must not block.
func (srv *Server) OfFunc(fn func(name string, auth Args) bool) *ParentNamespace {
	p := newParentNamespace(srv, fn)
	srv.mu.Lock()
	srv.parents = append(srv.parents, p)
	srv.mu.Unlock()
	return p
}

// lookupNamespace finds or creates (dynamic) the namespace for a CONNECT.
func (srv *Server) lookupNamespace(name string, auth Args) *Namespace {
	srv.mu.RLock()
	n := srv.nsps[name]
	parents := srv.parents
	srv.mu.RUnlock()
	if n != nil {
		return n
	}
	for _, p := range parents {
		if p.match(name, auth) {
			return p.child(name)
		}
	}
	return nil
}

func (srv *Server) removeNamespace(n *Namespace) {
	srv.mu.Lock()
	if srv.nsps[n.name] == n {
		delete(srv.nsps, n.name)
	}
	srv.mu.Unlock()
}

// safely runs user code outside a socket's context (server-side emit
// handlers): a panic is logged, nothing else.
func (srv *Server) safely(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			srv.cfg.Logger.Error("riptide: handler panic", "handler", what, "panic", r)
		}
	}()
	fn()
}

// closeAdapters closes every namespace's adapter (at shutdown).
func (srv *Server) closeAdapters() {
	srv.mu.Lock()
	list := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		list = append(list, n)
	}
	srv.mu.Unlock()
	for _, n := range list {
		if err := n.adapter.Close(); err != nil {
			srv.cfg.Logger.Warn("riptide: adapter close", "namespace", n.name, "err", err)
		}
	}
	if c, ok := srv.cfg.Adapter.(io.Closer); ok {
		if err := c.Close(); err != nil {
			srv.cfg.Logger.Warn("riptide: adapter close", "err", err)
		}
	}
}

// Sockets returns the default namespace.
func (srv *Server) Sockets() *Namespace { return srv.root }

// Use adds a middleware to the default namespace.
func (srv *Server) Use(mw Middleware) { srv.root.Use(mw) }

// OnEvent adds a handler for event on every socket of the default namespace
// (see Namespace.OnEvent).
func (srv *Server) OnEvent(event string, fn SocketEventHandler) { srv.root.OnEvent(event, fn) }

// OnConnection adds a connection handler to the default namespace.
func (srv *Server) OnConnection(fn func(s *Socket)) { srv.root.OnConnection(fn) }

// Emit emits to every socket of the default namespace.
func (srv *Server) Emit(event string, args ...any) error { return srv.root.Emit(event, args...) }

// Send emits a "message" event to every socket of the default namespace.
func (srv *Server) Send(args ...any) error { return srv.root.Send(args...) }

// To targets rooms of the default namespace.
func (srv *Server) To(rooms ...string) BroadcastOperator { return srv.root.To(rooms...) }

// In is To.
func (srv *Server) In(rooms ...string) BroadcastOperator { return srv.root.In(rooms...) }

// Except excludes rooms of the default namespace.
func (srv *Server) Except(rooms ...string) BroadcastOperator { return srv.root.Except(rooms...) }

// Volatile broadcasts without guarantee on the default namespace.
func (srv *Server) Volatile() BroadcastOperator { return srv.root.Volatile() }

// Local broadcasts to this node only.
func (srv *Server) Local() BroadcastOperator { return srv.root.Local() }

// Compress is accepted for Node compatibility; see BroadcastOperator.Compress.
func (srv *Server) Compress(c bool) BroadcastOperator { return srv.root.Compress(c) }

// Timeout sets the acknowledgement timeout of a broadcast with ack.
func (srv *Server) Timeout(d time.Duration) BroadcastOperator { return srv.root.Timeout(d) }

// FetchSockets returns the matching sockets of the default namespace.
func (srv *Server) FetchSockets() []*Socket { return srv.root.FetchSockets() }

// SocketsJoin makes every socket of the default namespace join rooms.
func (srv *Server) SocketsJoin(rooms ...string) { srv.root.SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the default namespace leave rooms.
func (srv *Server) SocketsLeave(rooms ...string) { srv.root.SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the default namespace.
func (srv *Server) DisconnectSockets(close bool) { srv.root.DisconnectSockets(close) }

// engineHandler receives the engine's session events.
type engineHandler Server

func (h *engineHandler) OnOpen(s *engine.Session) {
	openClient((*Server)(h), s)
}

func (h *engineHandler) OnMessage(s *engine.Session, data []byte, binary bool) {
	clientOf(s).onMessage(data, binary)
}

func (h *engineHandler) OnClose(s *engine.Session, reason string) {
	clientOf(s).onClose(reason)
}

// ServerSideEmit sends an event to the other nodes' default namespace.
func (srv *Server) ServerSideEmit(event string, args ...any) error {
	return srv.root.ServerSideEmit(event, args...)
}

// ServerSideEmitWithAck is the default namespace's ServerSideEmitWithAck.
func (srv *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	return srv.root.ServerSideEmitWithAck(ctx, event, args...)
}

// OnServerSideEmit is the default namespace's OnServerSideEmit.
func (srv *Server) OnServerSideEmit(event string, fn ServerSideHandler) {
	srv.root.OnServerSideEmit(event, fn)
}

// FetchAllSockets returns the default namespace's sockets, cluster-wide.
func (srv *Server) FetchAllSockets(ctx context.Context) ([]RemoteSocket, error) {
	return srv.root.op().FetchAllSockets(ctx)
}

// ServerCount is the number of nodes of the cluster, this one included.
func (srv *Server) ServerCount(ctx context.Context) (int, error) { return srv.root.ServerCount(ctx) }

// ServeHTTP serves Socket.IO from an existing net/http server: mount the
// Server at Config.Path ("/socket.io/") in your mux and it shares the
// mux's port. See engine.Server.ServeHTTP for how requests are handed to
// the event loops.
//
//	mux.Handle("/socket.io/", srv)
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.eng.ServeHTTP(w, r) }
