package riptide

import (
	"log/slog"
	"time"

	"github.com/riptide-io/riptide/engine"
)

// Config configures a Server. The zero value is valid; every field
// documents its default, which is the Node server's (socket.io 4.8).
type Config struct {
	// Path is the URL prefix of the Socket.IO endpoint. Default "/socket.io/".
	Path string
	// PingInterval, PingTimeout, UpgradeTimeout, MaxHTTPBufferSize,
	// Transports, DisableUpgrades, CORS, AllowRequest, Cookie and
	// MaxHeaderBytes are the Engine.IO options; see engine.Config for
	// their defaults (25s, 20s, 10s, 1e6, both transports, upgrades on).
	PingInterval      time.Duration
	PingTimeout       time.Duration
	UpgradeTimeout    time.Duration
	MaxHTTPBufferSize int64
	Transports        []string
	DisableUpgrades   bool
	CORS              *engine.CORS
	AllowRequest      func(r *engine.Request) error
	Cookie            *engine.Cookie
	MaxHeaderBytes    int

	// Limits (see engine.Config): AllowedOrigins/AllowedOriginFunc (403 to a
	// foreign Origin on every request), MaxSessions (503 past it),
	// MaxBufferedBytes (1 MiB per slow client, then volatile drops and a
	// "slow consumer" close), SlowConsumerGrace (5s), HeadTimeout (10s),
	// IdleTimeout (60s).
	AllowedOrigins    []string
	AllowedOriginFunc func(origin string) bool
	MaxSessions       int
	MaxBufferedBytes  int
	SlowConsumerGrace time.Duration
	HeadTimeout       time.Duration
	IdleTimeout       time.Duration

	// ConnectTimeout closes a connection that has joined no namespace by
	// then. Default 45s.
	ConnectTimeout time.Duration
	// MaxAttachments bounds the binary attachments of one packet. Default 10.
	MaxAttachments int
	// KeepEmptyChildNamespaces keeps a dynamic namespace's child after its
	// last socket leaves. Default false: children are removed when empty,
	// so clients connecting to ever new names cost no lasting state (Node's
	// cleanupEmptyChildNamespaces, on by default here).
	KeepEmptyChildNamespaces bool
	// AckTimeout bounds EmitWithAck without a Timeout: the callback gets
	// ErrAckTimeout after it, so pending acknowledgements always expire.
	// Default 60s.
	AckTimeout time.Duration
	// BinaryTimeout bounds the wait for a packet's binary attachments; a
	// client that does not send them in time is disconnected. Default 10s.
	BinaryTimeout time.Duration

	// Adapter connects the server to a cluster (adapter/redis: the wire
	// format of Node's @socket.io/redis-adapter). Default: MemoryAdapter
	// (a single node). The server closes it on Shutdown when it is an
	// io.Closer.
	Adapter Adapter

	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 60 * time.Second
	}
	if c.BinaryTimeout <= 0 {
		c.BinaryTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Adapter == nil {
		c.Adapter = MemoryAdapter{}
	}
	return c
}

func (c Config) engineConfig() engine.Config {
	return engine.Config{
		Path:              c.Path,
		PingInterval:      c.PingInterval,
		PingTimeout:       c.PingTimeout,
		UpgradeTimeout:    c.UpgradeTimeout,
		MaxHTTPBufferSize: c.MaxHTTPBufferSize,
		Transports:        c.Transports,
		DisableUpgrades:   c.DisableUpgrades,
		CORS:              c.CORS,
		AllowRequest:      c.AllowRequest,
		Cookie:            c.Cookie,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		AllowedOrigins:    c.AllowedOrigins,
		AllowedOriginFunc: c.AllowedOriginFunc,
		MaxSessions:       c.MaxSessions,
		MaxBufferedBytes:  c.MaxBufferedBytes,
		SlowConsumerGrace: c.SlowConsumerGrace,
		HeadTimeout:       c.HeadTimeout,
		IdleTimeout:       c.IdleTimeout,
		Logger:            c.Logger,
	}
}
