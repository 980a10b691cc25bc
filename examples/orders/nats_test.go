package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/troupe-go/troupe/supervisor"
)

// natsURL returns $NATS_URL when set, else the URL of an in-process
// JetStream server stopped at the end of the test.
func natsURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("NATS_URL"); u != "" {
		return u
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL()
}

// testStream returns a stream name of the test's own, deleted at its end.
func testStream(t *testing.T, url string) string {
	t.Helper()
	name := "ORDERS_TEST_" + nuid.Next()
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, name)
	})
	return name
}

// ids collects order IDs from run's hooks, and tells when a condition on
// them holds.
type ids struct {
	mu   sync.Mutex
	list []string
}

func (s *ids) add(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, id)
	return len(s.list)
}

func (s *ids) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// Orders placed by an API process are emailed by worker processes through
// JetStream: a worker stopped in the middle of the stream, with nothing
// drained, and a new one finish every order, each emailed exactly once.
func TestRunAcrossProcesses(t *testing.T) {
	url := natsURL(t)
	stream := testStream(t, url)
	sent := t.TempDir() + "/sent"
	common := []string{"-nats", url, "-stream", stream, "-email-latency", "0", "-email-timeout", "0", "-email-backoff", "0",
		"-email-failure-rate", "0.2", "-email-panic-rate", "0.05"}
	const n = 60

	// The API: places the orders, exports them, exits.
	var placed ids
	var stdout, stderr bytes.Buffer
	ctx := withHooks(context.Background(), hooks{placed: func(id string) { placed.add(id) }})
	if code := run(ctx, append([]string{"-role", "api", "-orders", "60"}, common...), &stdout, &stderr); code != 0 {
		t.Fatalf("api: exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "stored in JetStream") || strings.Contains(stdout.String(), "MISMATCH") {
		t.Errorf("api summary:\n%s", stdout.String())
	}
	want := placed.get()
	slices.Sort(want)
	if len(want) != n {
		t.Fatalf("api placed %d orders; want %d", len(want), n)
	}

	// Workers: the first is stopped after 20 emails, without draining;
	// the second runs until every order was emailed.
	var emailed ids
	worker := func(name string, done func(count int) bool) {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		ctx = withHooks(ctx, hooks{emailed: func(id string) {
			if done(emailed.add(id)) {
				cancel()
			}
		}})
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"-role", "workers", "-sent", sent, "-drain", "0"}, common...), &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%s: exit %d; stderr:\n%s", name, code, stderr.String())
		}
		t.Logf("%s:\n%s", name, stdout.String())
	}
	worker("worker 1", func(c int) bool { return c >= 20 })
	first := len(emailed.get())
	if first >= n {
		t.Fatalf("worker 1 emailed %d orders before it stopped; want fewer than %d", first, n)
	}
	worker("worker 2", func(c int) bool {
		got := emailed.get()
		slices.Sort(got)
		return slices.Equal(slices.Compact(got), want)
	})

	// Exact accounting, by order ID: the hooks and the idempotence file.
	got := emailed.get()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("emailed %d orders (%d distinct); want each of the %d placed exactly once", len(got), len(slices.Compact(slices.Clone(got))), n)
	}
	data, err := os.ReadFile(sent)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	slices.Sort(lines)
	if !slices.Equal(lines, want) {
		t.Errorf("sent file holds %d lines; want the %d placed orders once each", len(lines), n)
	}
	t.Logf("worker 1 emailed %d, worker 2 the other %d", first, n-first)
}

// A worker process whose email subtree keeps failing exits non-zero, for
// its service manager to restart it, instead of idling with the orders
// pending in JetStream.
func TestWorkerExitsWhenEmailKeepsFailing(t *testing.T) {
	url := natsURL(t)
	stream := testStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	broken := errors.New("email subtree broken")
	ctx = withHooks(ctx, hooks{wrapEmail: func(supervisor.Runner) supervisor.Runner {
		return supervisor.RunnerFunc(func(context.Context) error { return broken })
	}})
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-nats", url, "-stream", stream, "-role", "workers"}, &stdout, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("the worker ran until the test's guard (exit %d); want an exit as soon as the root gave up", code)
	}
	if code != 1 || !strings.Contains(stderr.String(), broken.Error()) {
		t.Errorf("exit %d; want 1 naming %q; stderr:\n%s", code, broken, stderr.String())
	}
}
