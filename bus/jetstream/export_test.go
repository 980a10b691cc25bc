package jetstream

import (
	"context"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// StartTestServer starts an in-process NATS server with JetStream for the
// examples, or returns $NATS_URL when it is set. stop shuts the server down
// and removes its store.
func StartTestServer() (url string, stop func()) {
	if u := os.Getenv("NATS_URL"); u != "" {
		return u, func() {}
	}
	dir, err := os.MkdirTemp("", "troupe-jetstream-example")
	if err != nil {
		panic(err)
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		panic("nats server not ready")
	}
	return s.ClientURL(), func() {
		s.Shutdown()
		s.WaitForShutdown()
		os.RemoveAll(dir)
	}
}

// DeleteTestStream deletes stream from the server at url, so that examples
// leave nothing behind on a shared server.
func DeleteTestStream(url, stream string) {
	b, err := Connect(url)
	if err != nil {
		return
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.js.DeleteStream(ctx, stream)
}
