package pgoutbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/troupe-go/troupe/pgoutbox"
)

// event is what the tests write and relay.
type event struct {
	Key string
	N   int
}

// testTimeout bounds every wait of a test for the relay: far beyond what
// any of them takes, so that a broken relay fails the test instead of
// hanging it.
const testTimeout = 30 * time.Second

// testDB is a schema of its own for one test, dropped when it ends.
type testDB struct {
	t      testing.TB
	conn   *pgx.Conn
	schema string
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// newDB connects and makes a fresh schema for t.
func newDB(t testing.TB) *testDB {
	t.Helper()
	needDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	name := nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_")
	suffix := make([]byte, 4)
	rand.Read(suffix)
	schema := fmt.Sprintf("t_%.40s_%s", name, hex.EncodeToString(suffix))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		conn.Close(ctx)
	})
	return &testDB{t: t, conn: conn, schema: schema}
}

// newConn returns a connection closed when t ends.
func newConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// outbox returns an outbox of events in the test's schema, set up.
func (db *testDB) outbox(opts ...pgoutbox.Option) *pgoutbox.Outbox[event] {
	db.t.Helper()
	opts = append([]pgoutbox.Option{pgoutbox.WithTable(db.schema + ".outbox")}, opts...)
	o := pgoutbox.New[event](opts...)
	if err := o.Setup(context.Background(), db.conn); err != nil {
		db.t.Fatalf("Setup: %v", err)
	}
	return o
}

// write writes events in one committed transaction.
func (db *testDB) write(o *pgoutbox.Outbox[event], events ...event) {
	db.t.Helper()
	writeTx(db.t, db.conn, o, true, events...)
}

// writeTx writes events in one transaction on conn, committed or rolled
// back.
func writeTx(t testing.TB, conn *pgx.Conn, o *pgoutbox.Outbox[event], commit bool, events ...event) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback(ctx)
	for _, e := range events {
		if err := o.Write(ctx, tx, e.Key, e); err != nil {
			t.Fatalf("Write(%v): %v", e, err)
		}
	}
	if commit {
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
}

// count returns the number of rows in o's table, and of those marked as
// dead letters.
func (db *testDB) count(o *pgoutbox.Outbox[event]) (rows, dead int) {
	db.t.Helper()
	err := db.conn.QueryRow(context.Background(),
		"SELECT count(*), count(dead_letter) FROM "+pgx.Identifier(strings.Split(o.Table(), ".")).Sanitize()).Scan(&rows, &dead)
	if err != nil {
		db.t.Fatalf("count: %v", err)
	}
	return rows, dead
}

// sink records what a relay publishes and signals each event.
type sink struct {
	mu     sync.Mutex
	events []event
	got    chan event
}

func newSink() *sink { return &sink{got: make(chan event, 100_000)} }

func (s *sink) publish(_ context.Context, e event) error {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	s.got <- e
	return nil
}

// await returns the next n events published, failing t if they take longer
// than testTimeout.
func (s *sink) await(t testing.TB, n int) []event {
	t.Helper()
	timeout := time.After(testTimeout)
	out := make([]event, 0, n)
	for len(out) < n {
		select {
		case e := <-s.got:
			out = append(out, e)
		case <-timeout:
			t.Fatalf("got %d events within %v; want %d: %v", len(out), testTimeout, n, out)
		}
	}
	return out
}

// all returns every event published so far.
func (s *sink) all() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event(nil), s.events...)
}

// start runs r until the test ends, and checks that Run returned nil.
func start[E any](t testing.TB, r *pgoutbox.Relay[E]) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v; want nil after cancel", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// quiet discards logs.
var quiet = slog.New(slog.DiscardHandler)

// logBuffer is a logger whose records a test can read, and which signals
// each message it is told to watch.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	watch map[string]chan struct{}
}

func newLogBuffer(watch ...string) *logBuffer {
	l := &logBuffer{watch: map[string]chan struct{}{}}
	for _, m := range watch {
		l.watch[m] = make(chan struct{}, 100)
	}
	return l
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(&logHandler{l: l}) }

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type logHandler struct {
	l     *logBuffer
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) WithGroup(string) slog.Handler            { return h }
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	th := slog.NewTextHandler(&h.l.buf, nil).WithAttrs(h.attrs)
	r.Time = time.Time{}
	err := th.Handle(context.Background(), r)
	h.l.mu.Unlock()
	if c, ok := h.l.watch[r.Message]; ok {
		c <- struct{}{}
	}
	return err
}
