package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// httpServer runs the HTTP API as a supervised Runner: Run serves until its
// context is done, then stops accepting connections and waits, up to
// shutdownTimeout, for the requests in flight, so that every order it
// answered 201 has been published before the bus closes.
type httpServer struct {
	handler         http.Handler
	shutdownTimeout time.Duration
	timeouts        httpTimeouts

	mu   sync.Mutex
	ln   net.Listener // bound but not served yet: the first Run serves it
	addr string       // where a restarted server listens again
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

func newHTTPServer(ln net.Listener, h http.Handler, shutdownTimeout time.Duration) *httpServer {
	return &httpServer{handler: h, shutdownTimeout: shutdownTimeout, timeouts: defaultHTTPTimeouts, ln: ln, addr: ln.Addr().String()}
}

// Addr returns the address the server listens on.
func (s *httpServer) Addr() string { return s.addr }

// Run serves until ctx is done, then shuts the server down gracefully.
func (s *httpServer) Run(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln == nil { // a restart: the previous Serve closed the listener
		var err error
		if ln, err = net.Listen("tcp", s.addr); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.timeouts.header,
		ReadTimeout:       s.timeouts.read,
		WriteTimeout:      s.timeouts.write,
		IdleTimeout:       s.timeouts.idle,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		srv.Close() // cut the connections that did not finish
	}
	return err
}
