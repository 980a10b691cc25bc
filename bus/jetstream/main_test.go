package jetstream

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test, so that a bug fails the test
// instead of hanging it. It is a safety net, not an assertion on time.
const testTimeout = 30 * time.Second

// startServer starts an in-process NATS server with JetStream on a random
// loopback port and a temporary store, stopped at the end of the test.
func startServer(tb testing.TB) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  tb.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		tb.Fatalf("nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		tb.Fatal("nats server not ready")
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// broker is an in-process NATS server with JetStream on a fixed loopback
// port and store, which a test can stop and start again.
type broker struct {
	tb   testing.TB
	opts server.Options
	url  string
	s    *server.Server
}

// newBroker returns a stopped broker; the test's end stops it.
func newBroker(tb testing.TB) *broker {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	b := &broker{tb: tb, opts: server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: tb.TempDir(), NoLog: true, NoSigs: true}}
	b.url = fmt.Sprintf("nats://127.0.0.1:%d", port)
	tb.Cleanup(b.stop)
	return b
}

func (b *broker) start() {
	b.tb.Helper()
	opts := b.opts
	s, err := server.NewServer(&opts)
	if err != nil {
		b.tb.Fatalf("nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		b.tb.Fatal("nats server not ready")
	}
	b.s = s
}

func (b *broker) stop() {
	if b.s != nil {
		b.s.Shutdown()
		b.s.WaitForShutdown()
		b.s = nil
	}
}

// serverURL returns $NATS_URL when set, else the URL of a new in-process
// server.
func serverURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("NATS_URL"); u != "" {
		return u
	}
	return startServer(tb).ClientURL()
}

// testLogger discards the package's logs unless the tests run with -v.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.DiscardHandler)
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

var seq atomic.Int64

// unique returns a name no other test (or test run against a shared
// server) uses.
func unique(tb testing.TB) string {
	n := nonWord.ReplaceAllString(tb.Name(), "_")
	if len(n) > 40 {
		n = n[:40]
	}
	return n + "_" + nuid.Next()[:8] + "_" + string(rune('a'+seq.Add(1)%26))
}

// testBridge connects a bridge to url with a stream and prefix of its own,
// in memory, deleted and closed at the end of the test.
func testBridge(tb testing.TB, url string, opts ...Option) *Bridge {
	tb.Helper()
	name := unique(tb)
	all := append([]Option{WithStream(name), WithPrefix("t." + name), WithStorage(jetstream.MemoryStorage), WithLogger(testLogger())}, opts...)
	b, err := Connect(url, all...)
	if err != nil {
		tb.Fatalf("Connect: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if b.nc.IsConnected() {
			_ = b.js.DeleteStream(ctx, name)
		}
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

// rawConn opens a plain connection to url, closed at the end of the test.
func rawConn(tb testing.TB, url string) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatalf("nats.Connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// recv waits for a value from ch, failing the test after testTimeout.
func recv[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		tb.Fatalf("timed out waiting for %T", *new(T))
		panic("unreachable")
	}
}

// run runs r.Run in a goroutine until the end of the test, which cancels
// it and checks that it returned nil.
func run(tb testing.TB, r interface{ Run(context.Context) error }) context.CancelFunc {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stop := func() {
		cancel()
		if err := recv(tb, done); err != nil {
			tb.Errorf("Run: %v", err)
		}
	}
	var once atomic.Bool
	tb.Cleanup(func() {
		if once.CompareAndSwap(false, true) {
			stop()
		}
	})
	return func() {
		if once.CompareAndSwap(false, true) {
			stop()
		}
	}
}
