package main

import (
	"net/http"
	"time"

	"github.com/troupe-go/troupe/supervisor"
)

// newHTTPServer returns the HTTP API as a supervised child: it listens on
// addr in its start phase, so that it is added last and accepts orders only
// once the bus and every consumer have started, and it serves until its
// context is done, then stops accepting connections and waits, within its
// shutdown timeout, for the requests in flight, so that every order it
// answered 201 has been published before the bus closes.
func newHTTPServer(addr string, h http.Handler, t httpTimeouts) *supervisor.HTTPServer {
	return supervisor.NewHTTPServer(func() *http.Server {
		return &http.Server{
			Addr:              addr,
			Handler:           h,
			ReadHeaderTimeout: t.header,
			ReadTimeout:       t.read,
			WriteTimeout:      t.write,
			IdleTimeout:       t.idle,
		}
	})
}

// httpTimeouts bound what a client may hold of the server: a client that
// sends its headers or its body too slowly, or keeps an idle connection
// open, is cut off.
type httpTimeouts struct {
	header, read, write, idle time.Duration
}

// defaultHTTPTimeouts: the write timeout covers the wait for JetStream's
// ack of an order (durableTimeout) with room to answer.
var defaultHTTPTimeouts = httpTimeouts{
	header: 5 * time.Second,
	read:   10 * time.Second,
	write:  durableTimeout + 10*time.Second,
	idle:   60 * time.Second,
}
