// Package hostile is Riptide's hostile-peer test suite (issue 5).
//
// Its tests start a real server in-process and attack it with raw TCP
// clients: malformed HTTP, illegal WebSocket frames, bad Engine.IO and
// Socket.IO packets, polling abuse, floods and never-reading clients. Each
// case asserts the exact protocol answer (HTTP status, WebSocket close code,
// CONNECT_ERROR) and then checks that service continued: a raw Go
// Socket.IO client gets an ack after every case, and the real npm
// socket.io-client (testdata/ack_check.js, through internal/interop) after
// every group of cases, with the server's heap growth and file descriptors
// checked against generous bounds.
//
// The package has no non-test code: run it with
//
//	go test -race ./hostile/
package hostile
