package supervisor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPServer runs an *http.Server as a child with a start phase: Start
// makes a server with the function given to [NewHTTPServer] (a server that
// was shut down cannot serve again, so each start makes a new one) and
// listens on its Addr, so that the children added after it start
// once it accepts connections (and a taken port fails the start, naming
// the child), and Run serves until its context is done, then shuts the
// server down gracefully: it stops accepting, waits for the requests in
// flight for at most the child's shutdown timeout less a tenth, and closes
// the connections still open.
//
// An HTTPServer is a [Starter]; it may be run again after Run returned,
// but not twice at once. TLS is not served: terminate it in front, or
// write the few lines of a Runner of your own.
type HTTPServer struct {
	newServer func() *http.Server

	mu  sync.Mutex
	srv *http.Server // from Start, taken by Run
	ln  net.Listener
}

// NewHTTPServer returns a child that serves HTTP with the servers that
// newServer makes, one per start, such as
//
//	supervisor.NewHTTPServer(func() *http.Server {
//		return &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
//	})
//
// It panics if newServer is nil; Start fails if it returns nil.
func NewHTTPServer(newServer func() *http.Server) *HTTPServer {
	if newServer == nil {
		panic("supervisor: NewHTTPServer: nil newServer")
	}
	return &HTTPServer{newServer: newServer}
}

// Start makes a server and listens on its Addr (":http" if empty) over TCP.
func (h *HTTPServer) Start(ctx context.Context) error {
	srv := h.newServer()
	if srv == nil {
		return errors.New("supervisor: HTTPServer: newServer returned nil")
	}
	addr := srv.Addr
	if addr == "" {
		addr = ":http"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		h.ln.Close() // a Start without a Run
	}
	h.srv, h.ln = srv, ln
	return nil
}

// Addr returns the address Start listens on, such as "127.0.0.1:8080"
// (useful with port 0), or nil before Start.
func (h *HTTPServer) Addr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln == nil {
		return nil
	}
	return h.ln.Addr()
}

// Run serves on the listener of Start (calling Start first if it was not
// called) until ctx is done, then shuts the server down. It returns nil
// after a shutdown, and Serve's error if serving failed.
func (h *HTTPServer) Run(ctx context.Context) error {
	h.mu.Lock()
	srv, ln := h.srv, h.ln
	h.mu.Unlock()
	if ln == nil {
		if err := h.Start(ctx); err != nil {
			return err
		}
		h.mu.Lock()
		srv, ln = h.srv, h.ln
		h.mu.Unlock()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		h.forget(ln)
		return err
	case <-ctx.Done():
	}
	grace := DefaultShutdown
	if d, ok := ctx.Value(shutdownKey{}).(time.Duration); ok {
		grace = d
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace-grace/10)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	h.forget(ln)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // the connections left were closed: a stop, not a failure
	}
	return err
}

// forget drops ln, which Serve has closed.
func (h *HTTPServer) forget(ln net.Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln == ln {
		h.srv, h.ln = nil, nil
	}
}

// shutdownKey is the context key under which a child's context holds its
// shutdown timeout, for HTTPServer.
type shutdownKey struct{}
