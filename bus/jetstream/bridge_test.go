package jetstream

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe/supervisor"
)

func TestPublishServerDownReturnsError(t *testing.T) {
	srv := newBroker(t) // always in-process: the test stops it
	srv.start()
	b := testBridge(t, srv.url)
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, b, OrderCreated{ID: "before"}); err != nil {
		t.Fatalf("Publish while up: %v", err)
	}
	srv.stop()

	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := Publish(pctx, b, OrderCreated{ID: "after"})
	if !errors.Is(err, ErrPublish) {
		t.Fatalf("Publish while down = %v; want ErrPublish", err)
	}
}

// While the broker is down an exporter waits for it instead of spending
// its attempts: an outage does not make dead letters of events the broker
// stores once it is back.
func TestExporterWaitsForTheBroker(t *testing.T) {
	srv := newBroker(t)
	srv.start()
	b := testBridge(t, srv.url, WithStorage(jetstream.FileStorage))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	hook, dead := deadLetters()
	x := NewExporter("export", b, WithDeadLetterHook(hook), WithPublishAttempts(2),
		WithPublishTimeout(50*time.Millisecond), WithBackoff(time.Millisecond, 20*time.Millisecond))
	run(t, x)
	in := NewInbox[OrderCreated](x)
	if err := in.Send(ctx, OrderCreated{ID: "during the outage"}); err != nil {
		t.Fatal(err)
	}
	// Let the exporter fail while the broker is down (more than its
	// attempts allow), then bring the broker back.
	for !x.b.nc.IsReconnecting() {
		runtime.Gosched()
	}
	time.Sleep(200 * time.Millisecond) // the outage itself, not a synchronisation
	srv.start()
	h, got := collect[OrderCreated]()
	run(t, NewImport("after", b, h))
	if o := recv(t, got); o.ID != "during the outage" {
		t.Errorf("imported %q; want the event exported during the outage", o.ID)
	}
	select {
	case dl := <-dead:
		t.Errorf("dead letter %+v; want none", dl)
	default:
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

// A broker that is down when the program starts is waited for: Connect
// returns, and the connection is made once the broker is up.
func TestConnectWaitsForTheBroker(t *testing.T) {
	srv := newBroker(t)
	b, err := Connect(srv.url, WithLogger(testLogger()))
	if err != nil {
		t.Fatalf("Connect with the broker down = %v; want a bridge that waits", err)
	}
	defer b.Close()
	if b.nc.IsConnected() {
		t.Fatal("connected to a broker that is down")
	}
	srv.start()
	deadline := time.Now().Add(testTimeout)
	for !b.nc.IsConnected() && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if err := b.EnsureStream(context.Background()); err != nil {
		t.Fatalf("EnsureStream once the broker is up: %v", err)
	}
	if err := b.js.DeleteStream(context.Background(), b.Stream()); err != nil {
		t.Fatal(err)
	}
}

func TestConnectBadURL(t *testing.T) {
	if _, err := Connect("nats://127.0.0.1:notaport"); err == nil {
		t.Error("Connect with a malformed URL = nil; want an error")
	}
}

// A server that lost its store (here: the stream deleted under a running
// import and publisher) gets its stream and consumer back, made by the
// publisher and the import, and the events published after flow again.
func TestLostStreamAndConsumerAreMadeAgain(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	h, got := collect[OrderCreated]()
	im := NewImport("healed", b, h, WithBackoff(minDelay, 50*time.Millisecond))
	run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "before"}); err != nil {
		t.Fatal(err)
	}
	if o := recv(t, got); o.ID != "before" {
		t.Fatalf("handled %q; want before", o.ID)
	}
	if err := b.js.DeleteStream(ctx, b.Stream()); err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, b, OrderCreated{ID: "after"}); err != nil {
		t.Fatalf("Publish after the stream was lost: %v", err)
	}
	if o := recv(t, got); o.ID != "after" {
		t.Errorf("handled %q; want after", o.ID)
	}
}

// A consumer deleted under a running import is made again.
func TestDeletedConsumerIsMadeAgain(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	h, got := collect[OrderCreated]()
	im := NewImport("deleted", b, h, WithBackoff(minDelay, 50*time.Millisecond))
	if _, err := im.consumer(ctx); err != nil {
		t.Fatal(err)
	}
	run(t, im)
	if err := b.js.DeleteConsumer(ctx, b.Stream(), "deleted"); err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, b, OrderCreated{ID: "after"}); err != nil {
		t.Fatal(err)
	}
	if o := recv(t, got); o.ID != "after" {
		t.Errorf("handled %q; want after", o.ID)
	}
}
