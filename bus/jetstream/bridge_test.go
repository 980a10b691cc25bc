package jetstream

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe/supervisor"
)

func TestPublishServerDownReturnsError(t *testing.T) {
	srv := startServer(t) // always in-process: the test stops it
	b := testBridge(t, srv.ClientURL())
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, b, OrderCreated{ID: "before"}); err != nil {
		t.Fatalf("Publish while up: %v", err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()

	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := Publish(pctx, b, OrderCreated{ID: "after"})
	if !errors.Is(err, ErrPublish) {
		t.Fatalf("Publish while down = %v; want ErrPublish", err)
	}

	// The exporter reports the event as a dead letter after its attempts.
	hook, dead := deadLetters()
	x := NewExporter("export", b, WithDeadLetterHook(hook), WithPublishAttempts(2),
		WithPublishTimeout(50*time.Millisecond), WithBackoff(time.Millisecond, time.Millisecond))
	// The stream was made ready while the server was up: Run goes straight
	// to publishing.
	run(t, x)
	in := NewInbox[OrderCreated](x)
	if err := in.Send(ctx, OrderCreated{ID: "lost?"}); err != nil {
		t.Fatal(err)
	}
	dl := recv(t, dead)
	if !errors.Is(dl.Reason, ErrPublish) || dl.MsgID != "lost?" || dl.Attempts != 2 {
		t.Errorf("dead letter = %+v; want ErrPublish for lost? after 2 attempts", dl)
	}
	if s := x.Stats(); s.Failed != 1 || s.Published != 0 {
		t.Errorf("Failed, Published = %d, %d; want 1, 0", s.Failed, s.Published)
	}
}

func TestBridgeLeavesForeignConnectionOpen(t *testing.T) {
	nc := rawConn(t, serverURL(t))
	b := New(nc)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() {
		t.Error("Close closed a connection the bridge did not open")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewJetStream(b.JetStream()).Run(ctx); err != nil || !nc.IsConnected() {
		t.Errorf("Run = %v, connected %v; want nil, true", err, nc.IsConnected())
	}
}

func TestExistingStreamRequired(t *testing.T) {
	b := testBridge(t, serverURL(t), WithExistingStream())
	err := b.EnsureStream(context.Background())
	if !errors.Is(err, ErrStream) || !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("EnsureStream = %v; want ErrStream wrapping ErrStreamNotFound", err)
	}
	im := NewImport("x", b, func(context.Context, OrderCreated) error { return nil })
	if err := im.Run(context.Background()); !errors.Is(err, ErrStream) {
		t.Errorf("Import.Run = %v; want ErrStream", err)
	}
}

func TestStreamAndConsumerUpdatedFromOptions(t *testing.T) {
	url := serverURL(t)
	b := testBridge(t, url, WithMaxAge(time.Hour))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	// A second bridge on the same stream with another max age updates it.
	b2, err := Connect(url, WithStream(b.Stream()), WithPrefix(b.cfg.prefix), WithStorage(jetstream.MemoryStorage),
		WithMaxAge(2*time.Hour), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if err := b2.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := b.js.Stream(ctx, b.Stream())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 2*time.Hour {
		t.Errorf("MaxAge = %v; want 2h", got)
	}

	h := func(context.Context, OrderCreated) error { return nil }
	for _, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		im := NewImport("upd", b, h, WithAckWait(wait), WithMailbox(4))
		c, err := im.consumer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cfg := c.CachedInfo().Config
		if cfg.AckWait != wait || cfg.MaxAckPending != 64 || cfg.Durable != "upd" || cfg.AckPolicy != jetstream.AckExplicitPolicy {
			t.Errorf("consumer config = AckWait %v, MaxAckPending %d, Durable %q; want %v, 64 (16 mailboxes), upd", cfg.AckWait, cfg.MaxAckPending, cfg.Durable, wait)
		}
	}
}

func TestProgrammerErrorsPanic(t *testing.T) {
	nc := rawConn(t, serverURL(t))
	b := New(nc)
	h := func(context.Context, OrderCreated) error { return nil }
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"New nil", func() { New(nil) }, "jetstream: New: nil connection"},
		{"NewJetStream nil", func() { NewJetStream(nil) }, "jetstream: NewJetStream: nil JetStream"},
		{"WithStream dot", func() { WithStream("a.b") }, `jetstream: WithStream: name "a.b"`},
		{"WithPrefix wildcard", func() { WithPrefix("a.*") }, "jetstream: WithPrefix"},
		{"WithTypeName empty", func() { WithTypeName[OrderCreated]("") }, "jetstream: WithTypeName"},
		{"WithSubject empty token", func() { WithSubject[OrderCreated]("a..b") }, "jetstream: WithSubject"},
		{"WithMailbox 0", func() { WithMailbox(0) }, "jetstream: WithMailbox: n 0 < 1"},
		{"WithBackoff inverted", func() { WithBackoff(2, 1) }, "jetstream: WithBackoff"},
		{"WithMaxDeliver 0", func() { WithMaxDeliver(0) }, "jetstream: WithMaxDeliver"},
		{"NewExporter empty", func() { NewExporter("", b) }, "jetstream: NewExporter: empty name"},
		{"NewExporter nil", func() { NewExporter("x", nil) }, "jetstream: NewExporter(\"x\"): nil bridge"},
		{"NewImport durable", func() { NewImport("a.b", b, h) }, "jetstream: NewImport: durable"},
		{"NewImport nil handler", func() { NewImport[OrderCreated]("d", b, nil) }, "nil handler"},
		{"unnamed type", func() { NewImport("d", b, func(context.Context, struct{}) error { return nil }) }, "has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v := recover()
				s, _ := v.(string)
				if !strings.Contains(s, tt.want) {
					t.Errorf("panic %v; want one containing %q", v, tt.want)
				}
			}()
			tt.f()
		})
	}
}

func TestTypeNameAndSubjectOverrides(t *testing.T) {
	b := testBridge(t, serverURL(t))
	b.cfg.names[typeOf[OrderCreated]()] = "order-created"
	if r := b.routeOf("t", typeOf[OrderCreated]()); r.name != "order-created" || r.subject != b.cfg.prefix+".order-created" {
		t.Errorf("route = %+v", r)
	}
	o := newConfig([]Option{WithSubject[*OrderCreated]("orders.created")})
	b2 := &Bridge{cfg: o}
	if r := b2.routeOf("t", typeOf[*OrderCreated]()); r.name != "OrderCreated" || r.subject != "orders.created" {
		t.Errorf("route = %+v", r)
	}
}

// records is a slog.Handler that passes each record it handles to a
// channel, dropping the record when the channel is full.
type records chan slog.Record

func (r records) Enabled(context.Context, slog.Level) bool { return true }
func (r records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r records) WithGroup(string) slog.Handler            { return r }
func (r records) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r <- rec:
	default:
	}
	return nil
}

func TestConnectLogsAsynchronousErrors(t *testing.T) {
	logged := make(records, 16)
	b := testBridge(t, serverURL(t), WithLogger(slog.New(logged)))
	subject := b.cfg.prefix + ".slow"
	sub, err := b.nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(1, -1); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.nc.Publish(subject, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		rec := recv(t, (<-chan slog.Record)(logged))
		if rec.Message != "nats asynchronous error" {
			continue
		}
		var got error
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				got, _ = a.Value.Any().(error)
			}
			return true
		})
		if !errors.Is(got, nats.ErrSlowConsumer) {
			t.Errorf("logged error %v; want nats.ErrSlowConsumer", got)
		}
		return
	}
}

// An exporter is told when its supervisor will not run it again.
var _ supervisor.Retirer = (*Exporter)(nil)
