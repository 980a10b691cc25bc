package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A client that sends its headers and part of a body, then nothing, is cut
// off by the server's read timeout instead of holding the connection for
// as long as it likes.
func TestSlowClientIsCutOff(t *testing.T) {
	handled := make(chan struct{}, 1)
	srv := newHTTPServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		handled <- struct{}{}
	}), httpTimeouts{header: 100 * time.Millisecond, read: 200 * time.Millisecond, write: time.Second, idle: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"customer\":"); err != nil {
		t.Fatal(err)
	}
	// The server must close the connection well before the guard.
	if err := c.SetReadDeadline(time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server held a slow client's connection for %v", guard)
	}
	<-handled // the handler's read of the body failed and it returned
}
